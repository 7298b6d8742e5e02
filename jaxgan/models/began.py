"""BEGAN (Berthelot et al. 2017) generator and autoencoder discriminator.

The paper's architecture (Fig. 1): the decoder, which is also the generator,
maps h (the z vector) through a dense layer to an 8x8xn map, then repeats
[3x3 conv + ELU, 3x3 conv + ELU, nearest-neighbour 2x upsampling] until the
output resolution and ends with a 3x3 conv to the image channels. The
encoder mirrors it: a 3x3 conv, then per scale two 3x3 convs + ELU and a
stride-2 3x3 conv whose channels grow linearly (n, 2n, 3n, ...), then a dense
layer to the h-dimensional embedding. No batch norm anywhere. D's output is
each image's L1 reconstruction error, mean |x - Dec(Enc(x))|, shape (N,).
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

SUPPORTED_RESOLUTIONS = (32, 64, 128)
BASE = 8


def _num_scales(resolution: int) -> int:
  """Down-sampling stages; validate.py refuses other resolutions."""
  return {32: 2, 64: 3, 128: 4}[resolution]


def _conv(features: int, strides: int = 1, dtype: Any = None) -> nn.Conv:
  return nn.Conv(
      features, (3, 3), strides=(strides, strides), padding=1, dtype=dtype
  )


class Decoder(nn.Module):
  """h (N, code) -> images (N, R, R, C); BEGAN's generator."""

  resolution: int = 64
  channels: int = 3
  width: int = 64
  dtype: Any = None  # Computation dtype (train.dtype); parameters float32.

  @nn.compact
  def __call__(
      self, h: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    del train, labels
    n, dt = self.width, self.dtype
    x = nn.Dense(BASE * BASE * n, dtype=dt)(h).reshape(
        h.shape[0], BASE, BASE, n
    )
    for i in range(_num_scales(self.resolution) + 1):
      x = nn.elu(_conv(n, dtype=dt)(x))
      x = nn.elu(_conv(n, dtype=dt)(x))
      if i < _num_scales(self.resolution):
        b, hh, ww, c = x.shape
        x = jax.image.resize(x, (b, 2 * hh, 2 * ww, c), "nearest")
    return _conv(self.channels, dtype=dt)(x).astype(jnp.float32)


class Discriminator(nn.Module):
  """images (N, R, R, C) -> L1 reconstruction errors (N,)."""

  resolution: int = 64
  channels: int = 3
  width: int = 64
  code_dim: int = 64
  dtype: Any = None

  @nn.compact
  def __call__(
      self, x: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    del train, labels
    n, scales, dt = self.width, _num_scales(self.resolution), self.dtype
    h = nn.elu(_conv(n, dtype=dt)(x))
    for i in range(scales + 1):
      h = nn.elu(_conv(n * (i + 1), dtype=dt)(h))
      h = nn.elu(_conv(n * (i + 1), dtype=dt)(h))
      if i < scales:
        h = nn.elu(_conv(n * (i + 2), strides=2, dtype=dt)(h))
    code = nn.Dense(self.code_dim, dtype=dt)(h.reshape(h.shape[0], -1))
    reconstruction = Decoder(self.resolution, self.channels, n, dt)(code)
    return jnp.mean(jnp.abs(x - reconstruction), axis=(1, 2, 3))
