"""Quality metrics of generated samples."""

# The metrics `eval.primary` may name -> True when lower is better (the best
# checkpoint is kept by it).
PRIMARY = {
    "fd": True,
    "kid": True,
    "precision": False,
    "recall": False,
    "classifier_score": False,
    # Image-to-image runs only (data.pairs); no feature extractor needed.
    "psnr": False,
    "ssim": False,
}
