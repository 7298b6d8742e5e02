"""Small layers shared by the models: spectral normalisation and the
minibatch-stddev feature. DCGAN's convolutions are in conv4x4.py."""

import flax.linen as nn
import jax
import jax.numpy as jnp

# The negative slope of DCGAN's LeakyReLUs (Radford et al. 2016) in D and in
# the heads on D's features; `model.d_leaky_slope` changes it (InfoGAN's
# authors used 0.01).
LEAKY_SLOPE = 0.2


def spectral(layer: nn.Module, enabled: bool, x: jax.Array, train: bool):
  """Applies `layer`, spectrally normalised (Miyato et al. 2018) if enabled.

  Must be called inside a compact module. The power-iteration vector lives in
  the 'batch_stats' collection, so it is updated by the discriminator step
  (one iteration per training-mode call) and checkpointed with the state.
  """
  if not enabled:
    return layer(x)
  return nn.SpectralNorm(layer)(x, update_stats=train)


def minibatch_stddev(x: jax.Array, group_size: int = 4) -> jax.Array:
  """Appends the minibatch standard deviation feature (Karras et al. 2018).

  The batch is split into groups of `group_size` consecutive samples (the
  whole batch when smaller); within each group the standard deviation of
  every feature over the samples is averaged to one number, which is
  appended to each of the group's samples as one more channel (a constant
  map for images). The paper's code groups samples m, m + N/G, ... instead;
  for a shuffled batch the two are the same in distribution, and
  consecutive groups are the same on one device and on several (each
  device's slice of the batch holds whole groups), so the step does not
  depend on the device count.

  Args:
    x: (N, ..., C) activations; N is the per-device batch.
    group_size: samples per group; must divide N when smaller than N.
  """
  n = x.shape[0]
  g = min(group_size, n)
  if n % g:
    raise ValueError(
        f"minibatch stddev: per-device batch {n} is not "
        f"divisible by the group size {g}"
    )
  y = x.reshape(n // g, g, *x.shape[1:]).astype(jnp.float32)
  std = jnp.sqrt(jnp.var(y, axis=1) + 1e-8)  # (n/g, ...)
  std = jnp.mean(std, axis=tuple(range(1, std.ndim)))  # (n/g,)
  feature = jnp.repeat(std, g).reshape(n, *([1] * (x.ndim - 1)))
  feature = jnp.broadcast_to(feature, (*x.shape[:-1], 1)).astype(x.dtype)
  return jnp.concatenate([x, feature], axis=-1)
