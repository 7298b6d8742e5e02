"""Feature extractors for evaluation: a domain classifier, or FID's Inception.

`eval.extractor` picks one:

- 'classifier': a domain classifier trained by jaxgan itself
  (`python -m jaxgan.classifier`; jaxgan/metrics/feature_net_training.py), read
  from a directory holding `classifier.msgpack` (its parameters) and
  `classifier.json` (architecture, data protocol, accuracy, the weights' SHA-256
  and reference values). Its 128-d penultimate activations are the features of
  "FD-<dataset>"; its logits give the classifier score. The package ships the
  classifiers in `jaxgan/assets/classifiers/` (Fashion-MNIST at 32x32,
  zero-padded): a run whose data is the one a shipped classifier was trained for
  (the same preprocessing, and the same test split by fingerprint) uses it when
  it names none.
- 'inception': the FID Inception (jaxgan/models/inception.py) with weights
  converted from pytorch-fid's file (jaxgan/metrics/inception_port.py).

Every extractor maps uint8 (N, H, W, C) images to (features, logits) numpy
arrays, says what protocol it measures with (`describe`), and checks that it
can read a run's images (`check_images`).
"""

import functools
import hashlib
import json
import os
import pathlib
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxgan.metrics import inception_port
from jaxgan.data import pipeline, sources
from jaxgan.core.errors import UserError
from jaxgan.models import feature_net as classifier_model
from jaxgan.models import inception

WEIGHTS, META = "classifier.msgpack", "classifier.json"
ENV_CLASSIFIER = "JAXGAN_CLASSIFIER"
ENV_INCEPTION = "JAXGAN_INCEPTION"
# eval.extractor -> (config field, environment variable) naming its weights.
EXTRACTORS = {
    "classifier": ("classifier", ENV_CLASSIFIER),
    "inception": ("inception", ENV_INCEPTION),
}


def batched(fn, images, batch: int) -> tuple[np.ndarray, np.ndarray]:
  """fn(batch of images) -> (features, logits), over all images in batches,
  concatenated as numpy arrays."""
  feats, logits = [], []
  for i in range(0, len(images), batch):
    f, l = fn(jnp.asarray(images[i : i + batch]))
    feats.append(np.asarray(f))
    logits.append(np.asarray(l))
  return np.concatenate(feats), np.concatenate(logits)


def to_input(images: jax.Array) -> jax.Array:
  """uint8 images -> float32 in [-1, 1], as the classifier was trained."""
  return images.astype(jnp.float32) / 127.5 - 1.0


class ClassifierExtractor:
  """A trained domain classifier: features and logits of uint8 or [-1, 1]
  images."""

  def __init__(self, directory: str):
    meta_path = os.path.join(directory, META)
    weights_path = os.path.join(directory, WEIGHTS)
    if not (os.path.isfile(meta_path) and os.path.isfile(weights_path)):
      raise UserError(
          f"no trained classifier in {directory} ({META} and {WEIGHTS}); "
          "train one with python -m jaxgan.classifier --workdir="
          f"{directory}"
      )
    with open(meta_path) as f:
      self.meta = json.load(f)
    with open(weights_path, "rb") as f:
      raw = f.read()
    self.sha256 = hashlib.sha256(raw).hexdigest()
    if self.sha256 != self.meta["sha256"]:
      raise UserError(
          f"{weights_path} does not match the checksum in "
          f"{meta_path}; train the classifier again"
      )
    self.module = classifier_model.Classifier(self.meta["num_classes"])
    shape = (
        1,
        self.meta["image_size"],
        self.meta["image_size"],
        self.meta["channels"],
    )
    template = self.module.init(jax.random.PRNGKey(0), jnp.zeros(shape))[
        "params"
    ]
    self.params = serialization.from_bytes(template, raw)
    self.name = self.meta["dataset"]
    self._apply = jax.jit(lambda p, x: self.module.apply({"params": p}, x))

  def describe(self) -> dict[str, Any]:
    """What the evaluation protocol records about this extractor."""
    m = self.meta
    return {
        "extractor": f"classifier:{self.name}",
        "extractor_sha256": self.sha256,
        "extractor_test_accuracy": m["test_accuracy"],
        "resize": (
            f"none: images are compared at {m['image_size']}x"
            f"{m['image_size']}x{m['channels']}, real ones "
            f"preprocessed with data.preprocess="
            f"{m['preprocess']!r}"
        ),
    }

  def check_images(self, shape: tuple[int, ...], what: str) -> None:
    want = (
        self.meta["image_size"],
        self.meta["image_size"],
        self.meta["channels"],
    )
    if tuple(shape) != want:
      raise UserError(
          f"{what} are {shape} but the classifier was trained on "
          f"{want} images; train one for this data"
      )

  def content(self) -> Callable[[jax.Array], jax.Array]:
    """A pure function: float images in [-1, 1] (N, H, W, C) -> the
    activations of the classifier's last conv stage (before its pooling;
    (N, H/4, W/4, 64)), with these weights as constants. SRGAN's content
    features (Ledig et al. 2017 use VGG19's last conv stage) when the
    domain classifier stands in for VGG (loss.recon='classifier')."""
    module, params = self.module, self.params

    def features(x: jax.Array) -> jax.Array:
      _, sown = module.apply({"params": params}, x, mutable=["intermediates"])
      return sown["intermediates"][classifier_model.CONTENT][0]

    return features

  def __call__(
      self, images: np.ndarray | jax.Array, batch: int = 500
  ) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 128), logits (N, classes)) as float32 numpy arrays.

    images: uint8 (N, H, W, C), or floats already in [-1, 1].
    """
    return batched(
        lambda x: self._apply(
            self.params, to_input(x) if x.dtype == jnp.uint8 else x
        ),
        images,
        batch,
    )


class InceptionExtractor:
  """The FID Inception: pool3 features and logits of uint8 images.

  protocol: how images are resized and scaled (models/inception.py):
  'pytorch_fid' or 'torch_fidelity' (TensorFlow 1's, as TTUR's FID code).
  """

  name = "inception"

  def __init__(self, path: str, protocol: str = "pytorch_fid"):
    self.path, self.protocol = path, protocol
    self.variables, self.sha256 = inception_port.load(path)
    model = inception.InceptionV3(protocol=protocol)
    self._apply = jax.jit(model.apply)

  def check_images(self, shape: tuple[int, ...], what: str) -> None:
    if len(shape) != 3 or shape[-1] not in (1, 3):
      raise UserError(f"{what} are {shape}; Inception needs images")

  def describe(self) -> dict[str, Any]:
    resize = {
        "pytorch_fid": (
            "bilinear to 299x299 (half-pixel centres, no antialiasing), "
            "then 2x - 1 from [0, 1]: pytorch-fid's protocol"
        ),
        "torch_fidelity": (
            "bilinear to 299x299 with TensorFlow 1's coordinates, then "
            "(x - 128) / 128: torch-fidelity's (TTUR's) protocol"
        ),
    }[self.protocol]
    return {
        "extractor": "inception:pt_inception-2015-12-05 (FID)",
        "extractor_sha256": self.sha256,
        "resize": f"{resize}; grayscale repeated to 3 channels",
    }

  def __call__(self, images, batch: int = 100):
    return batched(lambda x: self._apply(self.variables, x), images, batch)


def shipped_classifiers() -> list[str]:
  """Directories of the classifiers that come with the package."""
  root = pathlib.Path(__file__).parents[1] / "assets" / "classifiers"
  if not root.is_dir():
    return []
  return sorted(str(d) for d in root.iterdir() if (d / META).is_file())


@functools.lru_cache(maxsize=16)
def _split_fingerprint(data_json: str, split: str) -> str | None:
  from ml_collections import config_dict  # pylint: disable=g-import-not-at-top

  data = config_dict.ConfigDict(json.loads(data_json))
  try:
    images, labels = pipeline.load_split(data, split)
  except (UserError, OSError):  # Unreadable data is reported where it is read.
    return None
  return pipeline.fingerprint(images, labels)


def shipped_classifier(data_config) -> str | None:
  """The shipped classifier trained for this data, or None.

  It must match the run's preprocessing (size, channels, `data.preprocess`)
  and the fingerprint of its test split (pipeline.fingerprint), so another
  dataset in the same shape never gets it.
  """
  for directory in shipped_classifiers():
    with open(os.path.join(directory, META)) as f:
      meta = json.load(f)
    if (meta["image_size"], meta["channels"], meta["preprocess"]) != (
        data_config.image_size,
        data_config.channels,
        data_config.preprocess,
    ):
      continue
    found = _split_fingerprint(
        data_config.to_json_best_effort(sort_keys=True), meta["test_split"]
    )
    if found == meta["test_fingerprint"]:
      return directory
  return None


def extractor_path(config, kind: str | None = None) -> str | None:
  """Where the weights of extractor `kind` (default eval.extractor) are:
  eval.<classifier|inception>, else the environment variable, else a
  shipped classifier trained for the run's data, else None (no image
  evaluation; always None for the 2-D toys)."""
  kind = kind or config.eval.extractor
  if sources.is_toy(config.data):
    return None
  field, env = EXTRACTORS[kind]
  explicit = config.eval[field] or os.environ.get(env)
  if explicit:
    return explicit
  if kind == "classifier":
    return shipped_classifier(config.data)
  return None


def make_extractor(kind: str, path: str, protocol: str = "pytorch_fid"):
  """The feature extractor `kind` ('classifier' or 'inception') from path;
  `protocol` is the Inception's input protocol (eval.inception_protocol)."""
  if kind == "inception":
    return InceptionExtractor(path, protocol)
  return ClassifierExtractor(path)
