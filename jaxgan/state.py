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
    d_params, d_batch_stats, d_opt_state: the discriminator.
    ema_params, ema_batch_stats: exponential moving average of the generator
      (`model.ema_decay`; with 0 they equal the live generator).
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
  ema_params: Params
  ema_batch_stats: Params


def make_optimizers(config) -> tuple[optax.GradientTransformation,
                                     optax.GradientTransformation]:
  """Adam for G and D with their own learning rates (TTUR when they differ)."""
  o = config.optim
  g_tx = optax.adam(o.g_lr, b1=o.b1, b2=o.b2)
  d_tx = optax.adam(o.d_lr, b1=o.b1, b2=o.b2)
  return g_tx, d_tx


def init_state(key: jax.Array, generator: nn.Module,
               discriminator: nn.Module, g_tx, d_tx, *, z_dim: int,
               image_shape: tuple[int, int, int]) -> TrainState:
  """Initialises all variables from `key` (call under jit)."""
  init_key, g_key, d_key = jax.random.split(key, 3)
  z = jnp.zeros((2, z_dim), jnp.float32)
  x = jnp.zeros((2, *image_shape), jnp.float32)
  g_vars = generator.init(g_key, z, train=False)
  d_vars = discriminator.init(d_key, x, train=False)
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
      ema_params=g_params,
      ema_batch_stats=g_stats,
  )


def param_count(params: Params) -> int:
  return sum(x.size for x in jax.tree.leaves(params))
