"""Training the domain classifier: jaxgan's own offline feature extractor.

`train_classifier(data_config, workdir)` trains the small CNN of
jaxgan/models/feature_net.py on the `train` split of a labelled image source
(images preprocessed exactly as the GAN sees them: `data.image_size`,
`data.preprocess`, ...), reports its accuracy on the `test` split, and writes
`<workdir>/classifier.msgpack` (the parameters) and `<workdir>/classifier.json`
(architecture, data protocol, accuracy, the weights' SHA-256 and reference
values), which jaxgan/metrics/extractors.py reads. The reference values are the
FD between train and test images (what a perfect generator would get) and the FD
of uniform noise images against the test images. The command line is `python -m
jaxgan.classifier`.
"""

import hashlib
import json
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization

from jaxgan.core import fs
from jaxgan.data import pipeline
from jaxgan.core.errors import UserError
from jaxgan.metrics.extractors import META, WEIGHTS, batched, to_input
from jaxgan.metrics import fid
from jaxgan.models.feature_net import FEATURE_DIM, Classifier


def _load(data_config):
  """(train images, labels, test images, labels, number of classes)."""
  train_x, train_y = pipeline.load_split(data_config, "train")
  test_x, test_y = pipeline.load_split(data_config, "test")
  num_classes = int(max(train_y.max(), test_y.max())) + 1
  if num_classes < 2:
    raise UserError(
        f"data.source={data_config.source!r} has no labels (all "
        "0); the classifier needs a labelled dataset"
    )
  return train_x, train_y, test_x, test_y, num_classes


def _train_step(model, tx):
  """jit((params, opt_state, x, y) -> (params, opt_state, loss)): one
  cross-entropy step of `model` with optimiser `tx`."""

  @jax.jit
  def step(params, opt_state, x, y):
    def loss_fn(p):
      _, logits = model.apply({"params": p}, to_input(x))
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  return step


def _optimise(step, accuracy, data, *, epochs, batch_size, rng, log, t0):
  """`epochs` epochs of `step` over shuffled batches of data's train part;
  returns the parameters and the last epoch's test accuracy."""
  params, opt_state, train_x, train_y, test_x, test_y = data
  steps_per_epoch = len(train_x) // batch_size
  for epoch in range(epochs):
    order = rng.permutation(len(train_x))
    losses = []
    for i in range(steps_per_epoch):
      idx = order[i * batch_size : (i + 1) * batch_size]
      params, opt_state, loss = step(
          params, opt_state, train_x[idx], train_y[idx]
      )
      losses.append(loss)
    acc = accuracy(params, test_x, test_y)
    log(
        f"epoch {epoch + 1}/{epochs}: loss {float(np.mean(losses)):.4f}, "
        f"test accuracy {acc:.4f} ({time.perf_counter() - t0:.0f} s)"
    )
  return params, acc


def _reference(apply, train_x, test_x, rng, seed: int) -> dict[str, Any]:
  """Reference values of the trained classifier's features: FD of real
  train vs real test images, and of uniform noise vs real test, on up to
  10,000 images each (`apply`: images -> features)."""
  n = min(10_000, len(train_x), len(test_x))
  stats = {}
  noise = np.random.default_rng(seed + 1).integers(
      0, 256, (n, *train_x.shape[1:]), dtype=np.uint8
  )
  for name, x in (
      ("train", train_x[rng.permutation(len(train_x))[:n]]),
      ("test", test_x[:n]),
      ("noise", noise),
  ):
    stats[name] = fid.FeatureStats(FEATURE_DIM)
    stats[name].update(apply(x))
  return {
      "num_images": n,
      "fd_train_vs_test": fid.frechet_distance_of(
          stats["train"], stats["test"]
      ),
      "fd_noise_vs_test": fid.frechet_distance_of(
          stats["noise"], stats["test"]
      ),
  }


def train_classifier(
    data_config,
    workdir: str,
    *,
    epochs: int = 8,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
    log=print,
    command: str | None = None,
) -> dict[str, Any]:
  """Trains, evaluates and saves a classifier; returns its metadata.

  `command` (the command line that ran this) is recorded in the metadata.
  """
  t0 = time.perf_counter()
  train_x, train_y, test_x, test_y, num_classes = _load(data_config)
  log(
      f"data: {len(train_x):,} train and {len(test_x):,} test images "
      f"{train_x.shape[1:]}, {num_classes} classes ({time.perf_counter() - t0:.1f} s)"
  )
  model = Classifier(num_classes)
  params = model.init(
      jax.random.PRNGKey(seed), jnp.zeros((1, *train_x.shape[1:]))
  )["params"]
  steps_per_epoch = len(train_x) // batch_size
  tx = optax.adam(
      optax.cosine_decay_schedule(learning_rate, epochs * steps_per_epoch)
  )
  opt_state = tx.init(params)

  step = _train_step(model, tx)
  predict = jax.jit(lambda p, x: model.apply({"params": p}, to_input(x)))

  def accuracy(params, x, y):
    logits = batched(lambda b: predict(params, b), x, 1000)[1]
    return int(np.sum(np.argmax(logits, -1) == y)) / len(x)

  rng = np.random.default_rng(seed)
  params, acc = _optimise(
      step,
      accuracy,
      (params, opt_state, train_x, train_y, test_x, test_y),
      epochs=epochs,
      batch_size=batch_size,
      rng=rng,
      log=log,
      t0=t0,
  )

  os.makedirs(workdir, exist_ok=True)
  raw = serialization.to_bytes(params)
  weights_path = os.path.join(workdir, WEIGHTS)
  fs.write_bytes(weights_path, raw)
  source = data_config.source
  meta = {
      "dataset": _dataset_name(source),
      "source": source,
      "train_split": "train",
      "test_split": "test",
      "image_size": int(train_x.shape[1]),
      "channels": int(train_x.shape[3]),
      "preprocess": data_config.preprocess,
      "num_classes": num_classes,
      "feature_dim": FEATURE_DIM,
      "epochs": epochs,
      "seed": seed,
      "test_accuracy": acc,
      "sha256": hashlib.sha256(raw).hexdigest(),
      "num_train": len(train_x),
      "num_test": len(test_x),
      # Identifies the data this classifier measures (extractors.py).
      "test_fingerprint": pipeline.fingerprint(test_x, test_y),
      "jax_version": jax.__version__,
      "command": command,
  }
  meta["reference"] = _reference(
      lambda x: batched(lambda b: predict(params, b), x, 1000)[0],
      train_x,
      test_x,
      rng,
      seed,
  )
  meta_path = os.path.join(workdir, META)
  fs.write_bytes(meta_path, json.dumps(meta, indent=2).encode())
  log(
      f"saved {weights_path}: test accuracy {acc:.4f}; FD train vs test "
      f"{meta['reference']['fd_train_vs_test']:.3f}, noise vs test "
      f"{meta['reference']['fd_noise_vs_test']:.1f} "
      f"({meta['reference']['num_images']:,} images each); "
      f"{time.perf_counter() - t0:.0f} s in all"
  )
  return meta


def _dataset_name(source: str) -> str:
  """'idx:/usr/share/datasets/fashion-mnist' -> 'fashion_mnist'."""
  arg = source.partition(":")[2].rstrip("/")
  return os.path.basename(arg).replace("-", "_") or source
