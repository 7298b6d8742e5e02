"""Image quality of a generator, measured with a feature extractor.

`Evaluator` holds the extractor (`eval.extractor`: the domain classifier of
`jaxgan/classifier.py`, or the FID Inception of `jaxgan/models/inception.py`
with converted weights) and the reference statistics of real images, and
turns a train state into metrics:

- `fd`: the Frechet distance between the extractor's features of generated
  and real images ("FD-<dataset>"; FID when the extractor is Inception);
- `kid`, `kid_std`: KID, 100 subsets of up to 1,000;
- `classifier_score`, `classifier_score_std`: the Inception Score formula on
  the extractor's logits, 10 splits (the Inception Score with Inception);
- `precision`, `recall`: improved precision/recall, k = 3;
- `class_coverage`: classes that receive at least half of a uniform share of
  the samples' predicted labels, and `class_kl`, the KL divergence of the
  predicted label histogram from uniform.

Class-conditional generators (model.conditioning) are asked for every class
in turn (0, 1, ..., K-1, 0, ...), and also get:

- `class_accuracy`: the fraction of samples the domain classifier assigns
  to the class asked for (when the extractor has the model's classes);
- `fd_class_mean` and `fd_class_<c>`: the FD between the samples of class c
  and the reference images labelled c, and its mean over the classes.

`CodeAccuracy` measures InfoGAN's categorical code, with or without a
feature extractor: `info_accuracy` is the accuracy of the code as a
classifier of the reference images (argmax of D's Q head) against their
labels, after the best one-to-one code->class matching
(metrics/clustering.py); Chen et al. 2016 report 95% on MNIST.

Samples are generated jitted, in batches split over all devices, from a fixed
noise seed (the same samples every time for the same state), and quantised
to uint8 like the real images before feature extraction.
"""

import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan import classifier, latent, runtime, step as step_lib
from jaxgan.data import sources
from jaxgan.errors import UserError
from jaxgan.metrics import clustering, fid, inception_score, kid
from jaxgan.metrics import precision_recall
from jaxgan.models import conditioning

ENV_CLASSIFIER = "JAXGAN_CLASSIFIER"
ENV_INCEPTION = "JAXGAN_INCEPTION"
# eval.primary -> True when lower is better.
PRIMARY = {"fd": True, "kid": True, "precision": False, "recall": False,
           "classifier_score": False}
NOISE_SEED = 12345  # Evaluation noise, apart from training's.


# eval.extractor -> (config field, environment variable) naming its weights.
EXTRACTORS = {"classifier": ("classifier", ENV_CLASSIFIER),
              "inception": ("inception", ENV_INCEPTION)}


def extractor_path(config) -> str | None:
  """Where eval.extractor's weights are: eval.<classifier|inception>, else
  the environment variable, else None (no image evaluation; always None for
  the 2-D toys)."""
  if sources.is_toy(config.data):
    return None
  field, env = EXTRACTORS[config.eval.get("extractor", "classifier")]
  return config.eval.get(field) or os.environ.get(env) or None


def make_extractor(kind: str, path: str):
  """The feature extractor `kind` ('classifier' or 'inception') from path."""
  if kind == "inception":
    from jaxgan import inception_weights  # pylint: disable=g-import-not-at-top
    return inception_weights.InceptionExtractor(path)
  return classifier.Extractor(path)


def eval_labels(num: int, cond: conditioning.Conditioning) -> np.ndarray | None:
  """The classes asked of a conditional generator: 0, 1, ..., K-1, 0, ..."""
  return np.arange(num) % cond.num_classes if cond.labelled else None


def generate(sample: Callable, state, num: int, config, mesh,
             batch: int = 512) -> np.ndarray:
  """uint8 (num, H, W, C) samples of `sample(state, z[, labels])` (labels
  `eval_labels`), batched over devices."""
  cond = conditioning.from_config(config)
  z = np.asarray(latent.draw(jax.random.PRNGKey(NOISE_SEED), num,
                             config.model.z_dim, config.model.noise, cond))
  labels = eval_labels(num, cond)
  labels = np.zeros(num, np.int32) if labels is None else labels
  devices = mesh.size
  batch = max(devices, batch // devices * devices)
  z = np.concatenate([z, np.zeros((-num % batch, z.shape[1]), z.dtype)])
  labels = np.concatenate([labels, np.zeros(-num % batch, labels.dtype)])
  sharding = NamedSharding(mesh, P(step_lib.AXIS))

  def body(state, z, labels):  # Per device: its slice of the batch.
    x = sample(state, z, labels if cond.labelled else None)
    return jnp.clip(jnp.rint((x + 1.0) * 127.5), 0, 255).astype(jnp.uint8)

  spec = P(step_lib.AXIS)
  run = jax.jit(jax.shard_map(body, mesh=mesh, in_specs=(P(), spec, spec),
                              out_specs=spec))
  out = []
  for i in range(0, len(z), batch):
    x = run(state, jax.device_put(z[i:i + batch], sharding),
            jax.device_put(labels[i:i + batch], sharding))
    out.append(runtime.all_processes(x, tiled=True))  # All samples, everywhere.
  return np.concatenate(out)[:num]


def describe_extra(m: dict[str, float]) -> str:
  """', class accuracy 0.912, per-class FD 3.1, ...' for the metrics of
  conditional and InfoGAN models present in m."""
  labels = {"class_accuracy": "class accuracy", "fd_class_mean": "per-class FD",
            "info_accuracy": "code accuracy"}
  return "".join(f", {text} {m[key]:.3f}" for key, text in labels.items()
                 if key in m)


class Evaluator:
  """Reference statistics of real images and the metrics of generated ones."""

  def __init__(self, config, path: str, *, num_samples: int,
               reference_split: str, kind: str = "classifier", log=print):
    self.extractor = make_extractor(kind, path)
    self.source = config.data.source
    self.extractor.check_images(sources.data_shape(config.data),
                                "the run's images (data.image_size, channels)")
    self.num_samples = num_samples
    self.reference_split = reference_split
    images, self.real_labels = reference_images(config, reference_split,
                                                num_samples)
    self.num_reference = len(images)
    self.real_features, _ = self.extractor(images)
    self.real_stats = fid.stats_of(self.real_features)
    self.cond = conditioning.from_config(config)
    log(f"evaluation: {self.extractor.describe()['extractor']} "
        f"({self.extractor.sha256[:12]}), {self.num_reference:,} "
        f"{reference_split} images as reference")

  @property
  def fd_label(self) -> str:
    """'FID' with Inception, 'FD-<dataset>' with a domain classifier."""
    return ("FID" if self.extractor.name == "inception"
            else f"FD-{self.extractor.name}")

  def protocol(self, *, ema: bool) -> dict[str, Any]:
    return {
        **self.extractor.describe(),
        "num_generated": self.num_samples,
        "num_reference": self.num_reference,
        "reference": f"{self.source} split {self.reference_split!r}",
        "generator": "EMA" if ema else "raw",
        "noise_seed": NOISE_SEED,
    }

  def metrics_of(self, images: np.ndarray) -> dict[str, float]:
    """All metrics of uint8 images against the reference."""
    features, logits = self.extractor(images)
    out = {"fd": fid.frechet_distance_of(self.real_stats,
                                         fid.stats_of(features))}
    out["kid"], out["kid_std"] = kid.kid(self.real_features, features)
    out["classifier_score"], out["classifier_score_std"] = (
        inception_score.inception_score(logits))
    out["precision"], out["recall"] = precision_recall.precision_recall(
        self.real_features, features)
    num_classes = logits.shape[1]
    counts = np.bincount(np.argmax(logits, axis=1), minlength=num_classes)
    share = counts / counts.sum()
    out["class_coverage"] = int(np.sum(share >= 0.5 / num_classes))
    nonzero = share[share > 0]
    out["class_kl"] = float(np.sum(nonzero * np.log(nonzero * num_classes)))
    if self.cond.labelled:
      out.update(self._conditional(features, logits))
    return out

  def _conditional(self, features, logits) -> dict[str, float]:
    """Class accuracy and per-class FD of samples asked for eval_labels."""
    asked = eval_labels(len(features), self.cond)
    out = {}
    if logits.shape[1] == self.cond.num_classes:
      out["class_accuracy"] = float(np.mean(np.argmax(logits, 1) == asked))
    per_class = []
    for c in range(self.cond.num_classes):
      real, fake = (self.real_features[self.real_labels == c],
                    features[asked == c])
      if len(real) < 2 or len(fake) < 2:
        continue  # No FD from fewer than two images.
      out[f"fd_class_{c}"] = fid.frechet_distance_of_features(real, fake)
      per_class.append(out[f"fd_class_{c}"])
    if per_class:
      out["fd_class_mean"] = float(np.mean(per_class))
    return out

  def __call__(self, sample: Callable, state, config, mesh) -> dict[str, float]:
    return self.metrics_of(generate(sample, state, self.num_samples, config,
                                    mesh))


def reference_images(config, split: str, num: int) -> tuple[np.ndarray,
                                                            np.ndarray]:
  """(uint8 images, labels) of a fixed subset of `num` images of a split,
  the same for every evaluation of every run."""
  try:
    images, labels = classifier.load_split(config.data, split)
  except UserError as e:
    raise UserError(f"eval.reference_split={split!r}: {e}") from None
  order = np.sort(np.random.default_rng(0).permutation(len(images))[:num])
  return images[order], labels[order]


class CodeAccuracy:
  """InfoGAN's `info_accuracy` on the reference images (no extractor)."""

  def __init__(self, config, *, num_samples: int, reference_split: str):
    self.images, self.labels = reference_images(config, reference_split,
                                                num_samples)

  def __call__(self, classify_code: Callable, state,
               batch: int = 500) -> float:
    """classify_code(state, uint8 images) -> the categorical code of each."""
    codes = np.concatenate([
        np.asarray(classify_code(state, self.images[i:i + batch]))
        for i in range(0, len(self.images), batch)])
    return clustering.matched_accuracy(codes, self.labels)[0]
