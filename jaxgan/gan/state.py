"""The train state: everything that training reads and writes, in one pytree."""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

Params = Any


@struct.dataclass
class TrainState:
  """Immutable state of a GAN run; replaced, never mutated, by the step.

  Attributes:
    step: completed training iterations (k D updates + 1 G update each).
    data_pos: global batches consumed; the input pipeline resumes from it.
    key: raw PRNG key (uint32[2]); the step folds in `step` to get its keys.
    g_params, g_batch_stats, g_opt_state: the generator.
    d_params, d_batch_stats, d_opt_state: the discriminator (its
      'batch_stats' also hold spectral-norm power-iteration vectors).
    loss_state: adaptive state of the losses and regularisers: BEGAN's k_t,
      ADA's probability p, its accumulators and image count, LeCam's
      anchors (empty when none applies).
    ema_params, ema_batch_stats: exponential moving average of the generator
      (`model.ema_decay`; with 0 they equal the live generator).
    health: non-finite bookkeeping, int32 scalars (see `nonfinite.CHECKED`):
      `nonfinite_steps` (iterations with a NaN or Inf in a checked
      quantity), `first_step`/`first_mask` and `last_step`/`last_mask` (the
      iteration, 1-based like the logged step, and a bit mask over
      `nonfinite.CHECKED`; step -1 = none yet).
  """

  step: jax.Array
  data_pos: jax.Array
  key: jax.Array
  g_params: Params
  g_batch_stats: Params
  g_opt_state: optax.OptState
  d_params: Params
  d_batch_stats: Params
  d_opt_state: optax.OptState
  loss_state: dict[str, jax.Array]
  ema_params: Params
  ema_batch_stats: Params
  health: dict[str, jax.Array]


# optim.schedule -> (peak lr, number of updates) -> learning rate or schedule.
SCHEDULES = {
    "constant": lambda lr, n: lr,
    "linear": lambda lr, n: optax.linear_schedule(lr, 0.0, n),
    "cosine": lambda lr, n: optax.cosine_decay_schedule(lr, n),
}

# optim.name -> (learning_rate, config.optim) -> transformation.
OPTIMIZERS = {
    "adam": lambda lr, o: optax.adam(lr, b1=o.b1, b2=o.b2),
    # WGAN (Arjovsky et al. 2017, Alg. 1): momentum-free RMSProp.
    "rmsprop": lambda lr, o: optax.rmsprop(lr, decay=o.rmsprop_decay),
    "sgd": lambda lr, o: optax.sgd(lr, momentum=o.momentum or None),
}


def make_optimizers(
    config,
) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
  """G and D optimisers with their own learning rates (TTUR when they
  differ, Heusel et al. 2017)."""
  o = config.optim  # optim.name and optim.schedule: checked by validate.py.
  # The schedules run over the whole training: num_steps G updates and
  # num_steps * d_steps D updates (the optimiser's own step counter, which
  # is checkpointed, drives them).
  n = config.train.num_steps
  g_lr = SCHEDULES[o.schedule](o.g_lr, n)
  d_lr = SCHEDULES[o.schedule](o.d_lr, n * config.train.d_steps)
  return OPTIMIZERS[o.name](g_lr, o), OPTIMIZERS[o.name](d_lr, o)


def init_state(
    key: jax.Array,
    generator: nn.Module,
    discriminator: nn.Module,
    g_tx,
    d_tx,
    *,
    g_input_shape: tuple[int, ...],
    data_shape: tuple[int, ...],
    loss_state: dict[str, jax.Array],
    labelled: bool = False,
    d_pack: int = 1,
    d_source_shape: tuple[int, ...] | None = None,
) -> TrainState:
  """Initialises all variables from `key` (call under jit).

  g_input_shape: one generator input's shape: (width of noise and InfoGAN
    codes,), or an image-to-image model's source image.
  data_shape: one example's shape, (H, W, C) for images or (2,) for points.
  labelled: the models take class labels.
  d_pack: D's pack size (models/packing.py): D is initialised on 4 packs.
  d_source_shape: the source's shape for a D that judges (source, image)
    pairs (pix2pix), else None.
  """
  init_key, g_key, d_key = jax.random.split(key, 3)
  z = jnp.zeros((4, *g_input_shape), jnp.float32)
  x = jnp.zeros((4 * d_pack, *data_shape), jnp.float32)
  kwargs = {"labels": jnp.zeros((4,), jnp.int32)} if labelled else {}
  d_kwargs = dict(kwargs)
  if d_source_shape is not None:
    d_kwargs["source"] = jnp.zeros((4, *d_source_shape), jnp.float32)
  g_vars = generator.init(g_key, z, train=False, **kwargs)
  d_vars = discriminator.init(d_key, x, train=False, **d_kwargs)
  g_params, d_params = g_vars["params"], d_vars["params"]
  g_stats = g_vars.get("batch_stats", {})
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      data_pos=jnp.zeros((), jnp.int32),
      key=init_key,
      g_params=g_params,
      g_batch_stats=g_stats,
      g_opt_state=g_tx.init(g_params),
      d_params=d_params,
      d_batch_stats=d_vars.get("batch_stats", {}),
      d_opt_state=d_tx.init(d_params),
      loss_state=loss_state,
      ema_params=g_params,
      ema_batch_stats=g_stats,
      health=initial_health(),
  )


def initial_health() -> dict[str, jax.Array]:
  zero, none = jnp.zeros((), jnp.int32), jnp.full((), -1, jnp.int32)
  return {
      "nonfinite_steps": zero,
      "first_step": none,
      "first_mask": zero,
      "last_step": none,
      "last_mask": zero,
  }


def param_count(params: Params) -> int:
  return sum(x.size for x in jax.tree.leaves(params))
