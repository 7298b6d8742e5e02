"""Image quality of a generator, measured with a feature extractor.

`Evaluator` holds the extractor (`eval.extractor`: the domain classifier or the
FID Inception; jaxgan/metrics/extractors.py) and the reference statistics of
real images, and turns a train state into metrics:

- `fd`: the Frechet distance between the extractor's features of generated
  and real images ("FD-<dataset>"; FID when the extractor is Inception);
- `kid`, `kid_std`: KID, 100 subsets of up to 1,000;
- `classifier_score`, `classifier_score_std`: the Inception Score formula on
  the extractor's logits, 10 splits (the Inception Score with Inception);
- `precision`, `recall`: improved precision/recall, k = 3;
- `density`, `coverage`: Naeem et al. 2020's robust versions of them, k = 5;
- `class_coverage`: classes that receive at least half of a uniform share of
  the samples' predicted labels, and `class_kl`, the KL divergence of the
  predicted label histogram from uniform.

Class-conditional generators (model.conditioning) are asked for every class
in turn (generate.cyclic_labels), and also get:

- `class_accuracy`: the fraction of samples the domain classifier assigns
  to the class asked for (when the extractor has the model's classes);
- `fd_class_mean` and `fd_class_<c>`: the FD between the samples of class c
  and the reference images labelled c, and its mean over the classes.

The real-data floor (`Evaluator.floor`) is what real images score: as many
images of the other split (train when the reference is test) through the
same extractor and the same protocol; a generator cannot be expected to do
better, so it is printed beside every score.

`CodeAccuracy` measures InfoGAN's categorical code, with or without a
feature extractor: `info_accuracy` is the accuracy of the code as a
classifier of the reference images (argmax of D's Q head) against their
labels, after the best one-to-one code->class matching
(metrics/clustering.py); Chen et al. 2016 report 95% on MNIST.

Samples come from generate.Sampler with the fixed noise seed
generate.EVAL_SEED (the same samples every time for the same state), as
uint8 like the real images. jaxgan/evaluate.py is the command line that
opens a run's checkpoint and evaluates it.
"""

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.inference import generate
from jaxgan.metrics import extractors
from jaxgan.models.apply import apply_model, to_model_input
from jaxgan.data import pipeline
from jaxgan.core.errors import UserError
from jaxgan.experiment.builder import Experiment
from jaxgan.metrics import clustering, fid, inception_score, kid
from jaxgan.metrics import precision_recall, quality

# data.pairs -> what its baseline is (pairs.baseline), for the logs.
BASELINES = {
    "sr4x": "bicubic upsampling",
    "edges": "the edge map itself",
    "inpaint": "the image with its hole",
}

# The metrics of an evaluation line, in order: key -> (label, format).
_LINE = {
    "psnr": ("PSNR", ".2f"),
    "ssim": ("SSIM", ".4f"),
    "fd": (None, ".3f"),
    "kid": ("KID", ".4f"),
    "classifier_score": ("classifier score", ".2f"),
    "precision": ("precision", ".3f"),
    "recall": ("recall", ".3f"),
    "density": ("density", ".3f"),
    "coverage": ("coverage", ".3f"),
    "class_coverage": ("classes", "d"),
}


def describe(
    m: dict[str, float],
    fd_label: str,
    floor: dict[str, float] | None = None,
    floor_name: str = "real",
) -> str:
  """'FD-x 13.7 (real 0.19), KID 0.0123 (real 0.0001), ...' of the
  metrics in m, each followed by the real-data floor's value if given (or
  an image-to-image task's baseline's, `floor_name` 'baseline')."""
  parts = []
  for key, (label, fmt) in _LINE.items():
    if key not in m:
      continue
    value = format(int(m[key]) if fmt == "d" else m[key], fmt)
    real = ""
    if floor and key in floor:
      value_f = format(int(floor[key]) if fmt == "d" else floor[key], fmt)
      real = f" ({floor_name} {value_f})"
    parts.append(f"{label or fd_label} {value}{real}")
  return ", ".join(parts) + describe_extra(m)


def describe_extra(m: dict[str, float]) -> str:
  """', class accuracy 0.912, per-class FD 3.1, ...' for the metrics of
  conditional and InfoGAN models present in m."""
  labels = {
      "class_accuracy": "class accuracy",
      "fd_class_mean": "per-class FD",
      "info_accuracy": "code accuracy",
  }
  return "".join(
      f", {text} {m[key]:.3f}" for key, text in labels.items() if key in m
  )


def pair_targets(exp: Experiment, num: int) -> np.ndarray:
  """uint8 targets of an image-to-image run's sample grids: `num` fixed
  images of eval.reference_split, or of the training split when the source
  has no such split."""
  data, split = exp.data_config, exp.eval.reference_split
  try:
    return reference_images(data, split, num)[0]
  except UserError:
    return reference_images(data, exp.data.split, num)[0]


def reference_images(
    data_config, split: str, num: int
) -> tuple[np.ndarray, np.ndarray]:
  """(uint8 images, labels) of a fixed subset of `num` images of a split,
  the same for every evaluation of every run."""
  try:
    images, labels = pipeline.load_split(data_config, split)
  except UserError as e:
    raise UserError(f"eval.reference_split={split!r}: {e}") from None
  order = np.sort(np.random.default_rng(0).permutation(len(images))[:num])
  return images[order], labels[order]


class Evaluator:
  """Reference statistics of real images and the metrics of generated ones."""

  def __init__(
      self,
      exp: Experiment,
      extractor,
      *,
      num_samples: int,
      reference_split: str,
      log: Callable[[str], None] = print,
  ):
    self.exp, self.extractor = exp, extractor
    self.source = exp.data.source
    if extractor is not None:
      self.extractor.check_images(
          exp.data_shape, "the run's images (data.image_size, channels)"
      )
    elif not exp.image_to_image:
      raise ValueError("only image-to-image runs are evaluated without one")
    self.num_samples = num_samples
    self.reference_split = reference_split
    images, self.real_labels = reference_images(
        exp.data_config, reference_split, num_samples
    )
    self.num_reference = len(images)
    if extractor is not None:
      self.real_features, _ = self.extractor(images)
      self.real_stats = fid.stats_of(self.real_features)
    self._samplers = {}
    self.targets = self.sources = None
    if exp.image_to_image:
      # G translates the reference images' sources; outputs are compared
      # with the images (PSNR, SSIM) and with their distribution (FD...).
      # The floor is the task's trivial baseline (pairs.baseline).
      self.targets = images
      self.sources = generate.sources(exp, images)
      self.floor_name = "baseline"
      self.floor = self.metrics_of(generate.baseline(exp, self.sources))
      self.floor_split = reference_split
      floor = (
          f"; the baseline ({BASELINES[exp.options.pairs]}) scores "
          + describe(self.floor, self.fd_label)
      )
    else:
      self.floor_name = "real"
      self.floor, self.floor_split = self._real_data_floor()
      floor = (
          f"; real data ({self.floor_split} split) scores "
          + describe(self.floor, self.fd_label)
          if self.floor
          else "; no other split for a real-data floor"
      )
    what = (
        f"{self.extractor.describe()['extractor']} "
        f"({self.extractor.sha256[:12]})"
        if extractor is not None
        else "PSNR and SSIM only (no feature extractor for this data)"
    )
    log(
        f"evaluation: {what}, {self.num_reference:,} "
        f"{reference_split} images as reference{floor}"
    )

  def _real_data_floor(self) -> tuple[dict[str, float] | None, str | None]:
    """The unconditional metrics of as many real images of the other split
    as generated ones (None where the source has no other split)."""
    split = "train" if self.reference_split != "train" else "test"
    try:
      images, _ = reference_images(
          self.exp.data_config, split, self.num_samples
      )
    except UserError:
      return None, None
    return self._unconditional(*self.extractor(images)), split

  @property
  def fd_label(self) -> str:
    """'FID' with Inception, 'FD-<dataset>' with a domain classifier."""
    if self.extractor is None:
      return "FD"
    return (
        "FID"
        if self.extractor.name == "inception"
        else f"FD-{self.extractor.name}"
    )

  def protocol(self, *, ema: bool) -> dict[str, Any]:
    return {
        **(self.extractor.describe() if self.extractor is not None else {}),
        "num_generated": self.num_samples,
        "num_reference": self.num_reference,
        "reference": f"{self.source} split {self.reference_split!r}",
        "generator": "EMA" if ema else "raw",
        "noise_seed": generate.EVAL_SEED,
    }

  def metrics_of(self, images: np.ndarray) -> dict[str, float]:
    """All metrics of uint8 images against the reference."""
    if self.extractor is None:  # Image-to-image without an extractor.
      return quality.quality(images, self.targets)
    features, logits = self.extractor(images)
    out = self._unconditional(features, logits)
    if self.exp.cond.labelled:
      out.update(self._conditional(features, logits))
    if self.targets is not None:
      out.update(quality.quality(images, self.targets))
    return out

  def _unconditional(self, features, logits) -> dict[str, float]:
    """The metrics of features and logits of any images."""
    out = {
        "fd": fid.frechet_distance_of(self.real_stats, fid.stats_of(features))
    }
    out["kid"], out["kid_std"] = kid.kid(self.real_features, features)
    out["classifier_score"], out["classifier_score_std"] = (
        inception_score.inception_score(logits)
    )
    out["precision"], out["recall"] = precision_recall.precision_recall(
        self.real_features, features
    )
    out["density"], out["coverage"] = precision_recall.density_coverage(
        self.real_features, features
    )
    num_classes = logits.shape[1]
    counts = np.bincount(np.argmax(logits, axis=1), minlength=num_classes)
    share = counts / counts.sum()
    out["class_coverage"] = int(np.sum(share >= 0.5 / num_classes))
    nonzero = share[share > 0]
    out["class_kl"] = float(np.sum(nonzero * np.log(nonzero * num_classes)))
    return out

  def _conditional(self, features, logits) -> dict[str, float]:
    """Class accuracy and per-class FD of samples asked for cyclic labels."""
    cond = self.exp.cond
    asked = generate.cyclic_labels(len(features), cond.num_classes)
    out = {}
    if logits.shape[1] == cond.num_classes:
      out["class_accuracy"] = float(np.mean(np.argmax(logits, 1) == asked))
    per_class = []
    for c in range(cond.num_classes):
      real, fake = (
          self.real_features[self.real_labels == c],
          features[asked == c],
      )
      if len(real) < 2 or len(fake) < 2:
        continue  # No FD from fewer than two images.
      out[f"fd_class_{c}"] = fid.frechet_distance_of_features(real, fake)
      per_class.append(out[f"fd_class_{c}"])
    if per_class:
      out["fd_class_mean"] = float(np.mean(per_class))
    return out

  def samples(
      self, state, *, ema: bool = True, truncation: float | None = None
  ) -> np.ndarray:
    """The evaluated samples of `state`: uint8 images of EVAL_SEED's
    inputs (truncated at `truncation`, if given; and cyclic labels)."""
    if ema not in self._samplers:
      self._samplers[ema] = generate.Sampler(self.exp, ema=ema, batch_size=512)
    if self.sources is not None:  # Image-to-image: the reference sources.
      return self._samplers[ema](state, self.sources)
    labels = (
        generate.cyclic_labels(self.num_samples, self.exp.cond.num_classes)
        if self.exp.cond.labelled
        else None
    )
    return self._samplers[ema].draw(
        state, generate.EVAL_SEED, self.num_samples, labels, truncation
    )

  def __call__(
      self, state, *, ema: bool = True, truncation: float | None = None
  ) -> dict[str, float]:
    return self.metrics_of(self.samples(state, ema=ema, truncation=truncation))


def code_classifier(exp: Experiment) -> Callable | None:
  """jit(state, uint8 images) -> InfoGAN's categorical code as D's Q head
  reads it from the images (argmax), or None for models without one (or
  with class labels, which D would also see)."""
  cond = exp.cond
  if not cond.info_categorical or cond.labelled:
    return None

  @jax.jit
  def classify(state, images):
    _, _, sown = apply_model(
        exp.discriminator,
        state.d_params,
        state.d_batch_stats,
        to_model_input(images),
        train=False,
        collect=("info",),
    )
    return jnp.argmax(sown["info"][:, : cond.info_categorical], axis=-1)

  return classify


class CodeAccuracy:
  """InfoGAN's `info_accuracy` on the reference images (no extractor)."""

  def __init__(
      self,
      exp: Experiment,
      classify: Callable,
      *,
      num_samples: int,
      reference_split: str,
  ):
    self.classify = classify
    self.images, self.labels = reference_images(
        exp.data_config, reference_split, num_samples
    )

  def __call__(self, state, batch: int = 500) -> float:
    codes = np.concatenate(
        [
            np.asarray(self.classify(state, self.images[i : i + batch]))
            for i in range(0, len(self.images), batch)
        ]
    )
    return clustering.matched_accuracy(codes, self.labels)[0]


def code_accuracy(
    exp: Experiment, *, num_samples: int, reference_split: str
) -> CodeAccuracy | None:
  """InfoGAN's code accuracy for `exp`, or None when it has no such code."""
  classify = code_classifier(exp)
  if classify is None:
    return None
  return CodeAccuracy(
      exp, classify, num_samples=num_samples, reference_split=reference_split
  )


def evaluator_for(
    exp: Experiment,
    *,
    num_samples: int,
    reference_split: str,
    log: Callable[[str], None] = print,
) -> Evaluator | None:
  """The run's configured evaluator, or None without an extractor (an
  image-to-image run is still measured by PSNR and SSIM)."""
  path = exp.extractor_path
  if not path and not exp.image_to_image:
    return None
  extractor = (
      extractors.make_extractor(
          exp.eval.extractor, path, exp.eval.inception_protocol
      )
      if path
      else None
  )
  return Evaluator(
      exp,
      extractor,
      num_samples=num_samples,
      reference_split=reference_split,
      log=log,
  )
