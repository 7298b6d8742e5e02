"""D's overfitting, as the ADA paper's Figure 1 shows it (Karras et al. 2020).

With little data D memorises its training images: its output on them
climbs while its output on held-out real images falls towards that on
generated ones. `Overfitting(exp, source)(state)` returns D's mean output
(its logit, critic value or reconstruction error, as the loss reads it) on

- `d_out_train`: a fixed batch of the run's training images,
- `d_out_heldout`: a fixed batch of eval.reference_split (images D never
  trains on),
- `d_out_fake`: G's outputs (the live generator, which D is trained
  against) on fixed inputs,

and `d_out_gap` = train - heldout, with D in inference mode (batch norm's
running statistics), no augmentation, over all devices of the mesh. The
loop logs them every train.log_every_steps when eval.d_overfitting is on.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.core import runtime
from jaxgan.inference import generate
from jaxgan.models.apply import apply_model, to_model_input
from jaxgan.data import pipeline, sources
from jaxgan.experiment.builder import Experiment

NUM_IMAGES = 256  # Per set; a multiple of any device count up to 256.


def _first(source, data_config, num: int):
  """(uint8 images, int32 labels or zeros) of the first `num` examples."""
  images = pipeline.preview(source, data_config, num)
  try:
    labels = np.array([int(source[i]["label"]) for i in range(len(images))])
  except KeyError:
    labels = np.zeros(len(images), np.int64)
  return images, labels.astype(np.int32)


class Overfitting:
  """D's mean outputs on training reals, held-out reals and fakes."""

  def __init__(
      self, exp: Experiment, source, reference_split: str, num=NUM_IMAGES
  ):
    # Whole packs of PacGAN's D on every device.
    devices = exp.mesh.size * exp.options.d_pack
    num = max(devices, num // devices * devices)
    train_x, train_y = _first(source, exp.data_config, num)
    held = pipeline.with_split(exp.data_config, reference_split)
    held_x, held_y = _first(sources.get_source(held), held, num)
    n = min(len(train_x), len(held_x)) // devices * devices
    self.exp, self.num = exp, n  # Images per set.
    self._sharding = NamedSharding(exp.mesh, P(runtime.AXIS))
    put = lambda a: jax.device_put(a[:n], self._sharding)
    self._reals = {
        "train": (put(train_x), put(train_y)),
        "heldout": (put(held_x), put(held_y)),
    }
    z = generate.inputs(exp, generate.EVAL_SEED + 1, n)
    labels = generate.cyclic_labels(n, max(exp.cond.num_classes, 1))
    self._fake_inputs = (put(z), put(labels))
    labelled = exp.cond.labelled
    g, d = exp.generator, exp.discriminator

    def d_mean(state, x, labels):
      out, _ = apply_model(
          d,
          state.d_params,
          state.d_batch_stats,
          x,
          train=False,
          labels=labels if labelled else None,
      )
      return jax.lax.pmean(jnp.mean(out.astype(jnp.float32)), runtime.AXIS)

    def body(state, train_x, train_y, held_x, held_y, z, fake_y):
      fake, _ = apply_model(
          g,
          state.g_params,
          state.g_batch_stats,
          z,
          train=False,
          labels=fake_y if labelled else None,
      )
      return {
          "d_out_train": d_mean(state, to_model_input(train_x), train_y),
          "d_out_heldout": d_mean(state, to_model_input(held_x), held_y),
          "d_out_fake": d_mean(state, fake, fake_y),
      }

    spec = P(runtime.AXIS)
    self._run = jax.jit(
        jax.shard_map(
            body,
            mesh=exp.mesh,
            in_specs=(P(),) + (spec,) * 6,
            out_specs=P(),
        )
    )

  def __call__(self, state) -> dict[str, float]:
    out = jax.device_get(
        self._run(
            state,
            *self._reals["train"],
            *self._reals["heldout"],
            *self._fake_inputs,
        )
    )
    out = {k: float(v) for k, v in out.items()}
    out["d_out_gap"] = out["d_out_train"] - out["d_out_heldout"]
    return out
