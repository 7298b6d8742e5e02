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

from jaxgan import classifier, runtime, step as step_lib
from jaxgan.data import sources
from jaxgan.errors import UserError
from jaxgan.metrics import fid, inception_score, kid, precision_recall

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


def generate(sample: Callable, state, num: int, config, mesh,
             batch: int = 512) -> np.ndarray:
  """uint8 (num, H, W, C) samples of `sample(state, z)`, batched over devices."""
  z = step_lib.sample_noise(jax.random.PRNGKey(NOISE_SEED), num,
                            config.model.z_dim, config.model.noise)
  devices = mesh.size
  batch = max(devices, batch // devices * devices)
  z = jnp.concatenate([z, jnp.zeros((-num % batch, z.shape[1]), z.dtype)])
  sharding = NamedSharding(mesh, P(step_lib.AXIS))

  def body(state, z):  # Per device: its slice of the batch.
    x = sample(state, z)
    return jnp.clip(jnp.rint((x + 1.0) * 127.5), 0, 255).astype(jnp.uint8)

  run = jax.jit(jax.shard_map(body, mesh=mesh, in_specs=(P(), P(step_lib.AXIS)),
                              out_specs=P(step_lib.AXIS)))
  z = np.asarray(z)
  out = []
  for i in range(0, len(z), batch):
    x = run(state, jax.device_put(z[i:i + batch], sharding))
    out.append(runtime.all_processes(x, tiled=True))  # All samples, everywhere.
  return np.concatenate(out)[:num]


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
    try:
      images, _ = classifier.load_split(config.data, reference_split)
    except UserError as e:
      raise UserError(f"eval.reference_split={reference_split!r}: {e}") from None
    # A fixed subset, the same for every evaluation of every run.
    order = np.random.default_rng(0).permutation(len(images))
    images = images[np.sort(order[:num_samples])]
    self.num_reference = len(images)
    self.real_features, _ = self.extractor(images)
    self.real_stats = fid.FeatureStats(self.real_features.shape[1])
    self.real_stats.update(self.real_features)
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
    stats = fid.FeatureStats(features.shape[1])
    stats.update(features)
    out = {"fd": fid.frechet_distance_of(self.real_stats, stats)}
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
    return out

  def __call__(self, sample: Callable, state, config, mesh) -> dict[str, float]:
    return self.metrics_of(generate(sample, state, self.num_samples, config,
                                    mesh))
