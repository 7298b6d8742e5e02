"""A domain classifier: the offline feature extractor for evaluation.

  python -m jaxgan.classifier --data.source=idx:/usr/share/datasets/fashion-mnist \
      --workdir=runs/classifier_fashion_mnist

trains a small CNN on the `train` split of a labelled image source (images
preprocessed exactly as the GAN sees them: `--data.image_size`,
`--data.preprocess`, ...), reports its accuracy on the `test` split, and
writes `<workdir>/classifier.msgpack` (the parameters) and
`<workdir>/classifier.json` (architecture, data protocol, accuracy, the
weights' SHA-256 and the reference values below). Give that directory to a
GAN run as `--config.eval.classifier=DIR` or to `python -m jaxgan.evaluate`.

Its 128-d penultimate activations are the features of "FD-<dataset>", KID and
precision/recall, and its class probabilities give a classifier score (the
Inception Score formula) and the class coverage. The numbers compare only
with numbers from the same classifier file (the checksum is printed with
every evaluation). The reference values written with it: the FD between
train and test images (what a perfect generator would get) and the FD of
uniform noise images against the test images.
"""

import hashlib
import json
import os
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import flags, logging
from flax import serialization
from ml_collections import config_dict, config_flags

from jaxgan import cli, fs
from jaxgan.errors import UserError

FEATURE_DIM = 128
WEIGHTS, META = "classifier.msgpack", "classifier.json"


class Classifier(nn.Module):
  """Three conv + max-pool stages, a 128-unit feature layer, the logits."""
  num_classes: int

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """x: float images in [-1, 1], (N, H, W, C) -> (features, logits)."""
    for ch in (16, 32, 64):
      x = nn.relu(nn.Conv(ch, (3, 3))(x))
      x = nn.max_pool(x, (2, 2), (2, 2))
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(nn.Dense(FEATURE_DIM)(x))
    return features, nn.Dense(self.num_classes)(features)


def _to_input(images: jax.Array) -> jax.Array:
  return images.astype(jnp.float32) / 127.5 - 1.0


def batched(fn, images, batch: int) -> tuple[np.ndarray, np.ndarray]:
  """fn(batch of images) -> (features, logits), over all images in batches,
  concatenated as numpy arrays."""
  feats, logits = [], []
  for i in range(0, len(images), batch):
    f, l = fn(jnp.asarray(images[i:i + batch]))
    feats.append(np.asarray(f))
    logits.append(np.asarray(l))
  return np.concatenate(feats), np.concatenate(logits)


def load_split(data_config, split: str) -> tuple[np.ndarray, np.ndarray]:
  """All (uint8 images, int32 labels) of a split, preprocessed as for the GAN."""
  from jaxgan.data import pipeline, sources  # pylint: disable=g-import-not-at-top
  cfg = config_dict.ConfigDict(data_config.to_dict())
  cfg.split = split
  source = sources.get_source(cfg)
  fn = pipeline.preprocess_for(cfg)
  examples = [source[i] for i in range(len(source))]
  images = np.stack([fn(e) for e in examples])
  labels = np.array([int(e["label"]) for e in examples], np.int32)
  return images, labels


class Extractor:
  """A trained classifier: features and logits of uint8 or [-1, 1] images."""

  def __init__(self, directory: str):
    meta_path = os.path.join(directory, META)
    weights_path = os.path.join(directory, WEIGHTS)
    if not (os.path.isfile(meta_path) and os.path.isfile(weights_path)):
      raise UserError(
          f"no trained classifier in {directory} ({META} and {WEIGHTS}); "
          "train one with python -m jaxgan.classifier --workdir="
          f"{directory}")
    with open(meta_path) as f:
      self.meta = json.load(f)
    with open(weights_path, "rb") as f:
      raw = f.read()
    self.sha256 = hashlib.sha256(raw).hexdigest()
    if self.sha256 != self.meta["sha256"]:
      raise UserError(f"{weights_path} does not match the checksum in "
                      f"{meta_path}; train the classifier again")
    self.module = Classifier(self.meta["num_classes"])
    shape = (1, self.meta["image_size"], self.meta["image_size"],
             self.meta["channels"])
    template = self.module.init(jax.random.PRNGKey(0),
                                jnp.zeros(shape))["params"]
    self.params = serialization.from_bytes(template, raw)
    self.name = self.meta["dataset"]
    self._apply = jax.jit(lambda p, x: self.module.apply({"params": p}, x))

  def describe(self) -> dict[str, Any]:
    """What the evaluation protocol records about this extractor."""
    m = self.meta
    return {"extractor": f"classifier:{self.name}",
            "extractor_sha256": self.sha256,
            "extractor_test_accuracy": m["test_accuracy"],
            "resize": (f"none: images are compared at {m['image_size']}x"
                       f"{m['image_size']}x{m['channels']}, real ones "
                       f"preprocessed with data.preprocess="
                       f"{m['preprocess']!r}")}

  def check_images(self, shape: tuple[int, ...], what: str) -> None:
    want = (self.meta["image_size"], self.meta["image_size"],
            self.meta["channels"])
    if tuple(shape) != want:
      raise UserError(f"{what} are {shape} but the classifier was trained on "
                      f"{want} images; train one for this data")

  def __call__(self, images: np.ndarray | jax.Array, batch: int = 500
               ) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 128), logits (N, classes)) as float32 numpy arrays.

    images: uint8 (N, H, W, C), or floats already in [-1, 1].
    """
    return batched(lambda x: self._apply(
        self.params, _to_input(x) if x.dtype == jnp.uint8 else x), images,
                   batch)


def train_classifier(data_config, workdir: str, *, epochs: int = 8,
                     batch_size: int = 128, learning_rate: float = 1e-3,
                     seed: int = 0, log=print) -> dict[str, Any]:
  """Trains, evaluates and saves a classifier; returns its metadata."""
  from jaxgan.metrics import fid  # pylint: disable=g-import-not-at-top
  t0 = time.perf_counter()
  train_x, train_y = load_split(data_config, "train")
  test_x, test_y = load_split(data_config, "test")
  num_classes = int(max(train_y.max(), test_y.max())) + 1
  if num_classes < 2:
    raise UserError(f"data.source={data_config.source!r} has no labels (all "
                    "0); the classifier needs a labelled dataset")
  log(f"data: {len(train_x):,} train and {len(test_x):,} test images "
      f"{train_x.shape[1:]}, {num_classes} classes ({time.perf_counter() - t0:.1f} s)")
  model = Classifier(num_classes)
  params = model.init(jax.random.PRNGKey(seed),
                      jnp.zeros((1, *train_x.shape[1:])))["params"]
  steps_per_epoch = len(train_x) // batch_size
  tx = optax.adam(optax.cosine_decay_schedule(learning_rate,
                                              epochs * steps_per_epoch))
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, x, y):
    def loss_fn(p):
      _, logits = model.apply({"params": p}, _to_input(x))
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  predict = jax.jit(lambda p, x: model.apply({"params": p}, _to_input(x)))

  def accuracy(params, x, y):
    logits = batched(lambda b: predict(params, b), x, 1000)[1]
    return int(np.sum(np.argmax(logits, -1) == y)) / len(x)

  rng = np.random.default_rng(seed)
  for epoch in range(epochs):
    order = rng.permutation(len(train_x))
    losses = []
    for i in range(steps_per_epoch):
      idx = order[i * batch_size:(i + 1) * batch_size]
      params, opt_state, loss = step(params, opt_state, train_x[idx],
                                     train_y[idx])
      losses.append(loss)
    acc = accuracy(params, test_x, test_y)
    log(f"epoch {epoch + 1}/{epochs}: loss {float(np.mean(losses)):.4f}, "
        f"test accuracy {acc:.4f} ({time.perf_counter() - t0:.0f} s)")

  os.makedirs(workdir, exist_ok=True)
  raw = serialization.to_bytes(params)
  weights_path = os.path.join(workdir, WEIGHTS)
  fs.write_bytes(weights_path, raw)
  source = data_config.source
  meta = {
      "dataset": _dataset_name(source),
      "source": source, "train_split": "train", "test_split": "test",
      "image_size": int(train_x.shape[1]), "channels": int(train_x.shape[3]),
      "preprocess": data_config.preprocess, "num_classes": num_classes,
      "feature_dim": FEATURE_DIM, "epochs": epochs, "seed": seed,
      "test_accuracy": acc, "sha256": hashlib.sha256(raw).hexdigest(),
  }
  # Reference values: real train vs real test, and noise vs real test, on up
  # to 10,000 images each.
  n = min(10_000, len(train_x), len(test_x))
  apply = lambda x: batched(lambda b: predict(params, b), x, 1000)[0]
  stats = {}
  noise = np.random.default_rng(seed + 1).integers(
      0, 256, (n, *train_x.shape[1:]), dtype=np.uint8)
  for name, x in (("train", train_x[rng.permutation(len(train_x))[:n]]),
                  ("test", test_x[:n]), ("noise", noise)):
    stats[name] = fid.FeatureStats(FEATURE_DIM)
    stats[name].update(apply(x))
  meta["reference"] = {
      "num_images": n,
      "fd_train_vs_test": fid.frechet_distance_of(stats["train"],
                                                  stats["test"]),
      "fd_noise_vs_test": fid.frechet_distance_of(stats["noise"],
                                                  stats["test"]),
  }
  meta_path = os.path.join(workdir, META)
  fs.write_bytes(meta_path, json.dumps(meta, indent=2).encode())
  log(f"saved {weights_path}: test accuracy {acc:.4f}; FD train vs test "
      f"{meta['reference']['fd_train_vs_test']:.3f}, noise vs test "
      f"{meta['reference']['fd_noise_vs_test']:.1f} ({n:,} images each); "
      f"{time.perf_counter() - t0:.0f} s in all")
  return meta


def _dataset_name(source: str) -> str:
  """'idx:/usr/share/datasets/fashion-mnist' -> 'fashion_mnist'."""
  arg = source.partition(":")[2].rstrip("/")
  return os.path.basename(arg).replace("-", "_") or source


def _data_defaults() -> config_dict.ConfigDict:
  from configs import default  # pylint: disable=g-import-not-at-top
  return default.get_config().data


FLAGS = flags.FLAGS


def _define_flags() -> None:
  """The CLI's flags; defined only when run as a program (this module is
  also the library that `jaxgan.evaluation` imports)."""
  flags.DEFINE_string("workdir", None, "Where to write the classifier.")
  flags.DEFINE_integer("epochs", 8, "Training epochs.")
  flags.DEFINE_integer("batch_size", 128, "Batch size.")
  flags.DEFINE_float("learning_rate", 1e-3, "Adam's peak learning rate.")
  flags.DEFINE_integer("seed", 0, "Initialisation and data order.")
  config_flags.DEFINE_config_dict("data", _data_defaults(), "The data, as "
                                  "the GAN configs' data block.")
  flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  for name in ("epochs", "batch_size"):
    if FLAGS[name].value < 1:
      raise UserError(f"--{name}={FLAGS[name].value} must be positive")
  train_classifier(FLAGS.data, FLAGS.workdir, epochs=FLAGS.epochs,
                   batch_size=FLAGS.batch_size,
                   learning_rate=FLAGS.learning_rate, seed=FLAGS.seed)


if __name__ == "__main__":
  _define_flags()
  cli.run(main)
