"""SRGAN (Ledig et al. 2017): the SRResNet generator and SRGAN's discriminator.

- G (the paper's Figure 4): a 9x9 convolution of `width` (64) channels and
  PReLU; `blocks` (16) residual blocks (3x3 conv, batch norm, PReLU, 3x3
  conv, batch norm, plus the block's input); a 3x3 convolution with batch
  norm plus the first layer's output (the long skip); two upsampling stages
  (3x3 convolution to 4x the channels, sub-pixel shuffle by 2, PReLU); a
  9x9 convolution to the image's channels, tanh (the paper's images are in
  [-1, 1] at the output too).
- D: 3x3 convolutions of width, width, 2w, 2w, 4w, 4w, 8w, 8w channels with
  strides 1, 2, 1, 2, ... (batch norm on all but the first), LeakyReLU(0.2),
  then dense 1024, LeakyReLU, dense 1. It sees the image only (the paper's
  D is not conditioned on the low-resolution input).

PReLU is flax's (one slope per layer, starting at 0.25 as PyTorch's).
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import pairs
from jaxgan.models.dcgan import BatchNorm


def pixel_shuffle(x: jax.Array, r: int) -> jax.Array:
  """(N, H, W, C r^2) -> (N, H r, W r, C), as PyTorch's PixelShuffle does
  to channel c r^2 + i r + j (output pixel offset (i, j), channel c)."""
  n, h, w, crr = x.shape
  c = crr // (r * r)
  x = x.reshape(n, h, w, c, r, r)
  x = x.transpose(0, 1, 4, 2, 5, 3)
  return x.reshape(n, h * r, w * r, c)


class SRResNetGenerator(nn.Module):
  """low-resolution (N, s, s, C) -> images (N, 4s, 4s, channels)."""

  channels: int = 3
  width: int = 64
  blocks: int = 16
  bn_axis_name: str | None = None
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    conv = lambda ch, k, bias=True: nn.Conv(
        ch, (k, k), padding="SAME", use_bias=bias, dtype=self.dtype
    )
    norm = lambda h: BatchNorm(0.0, self.bn_axis_name, self.dtype)(h, train)
    prelu = lambda h: nn.PReLU(negative_slope_init=0.25)(h)
    h = prelu(conv(self.width, 9)(x.astype(self.dtype or jnp.float32)))
    first = h
    for _ in range(self.blocks):
      r = prelu(norm(conv(self.width, 3, False)(h)))
      h = h + norm(conv(self.width, 3, False)(r))
    h = first + norm(conv(self.width, 3, False)(h))
    for _ in range(2):  # 2 x 2 = pairs.SR_FACTOR.
      h = prelu(pixel_shuffle(conv(self.width * 4, 3)(h), 2))
    h = conv(self.channels, 9)(h)
    return jnp.tanh(h.astype(jnp.float32))


assert pairs.SR_FACTOR == 4  # Two shuffles by 2 above.


class SRDiscriminator(nn.Module):
  """images (N, S, S, C) -> logits (N,)."""

  width: int = 64
  bn_axis_name: str | None = None
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    h = x.astype(self.dtype or jnp.float32)
    for i in range(8):
      ch, stride = self.width * 2 ** (i // 2), 1 + i % 2
      h = nn.Conv(
          ch,
          (3, 3),
          (stride, stride),
          padding=((1, 1), (1, 1)),
          use_bias=i == 0,
          dtype=self.dtype,
      )(h)
      if i > 0:
        h = BatchNorm(0.0, self.bn_axis_name, self.dtype)(h, train)
      h = nn.leaky_relu(h, 0.2)
    h = h.reshape(h.shape[0], -1)
    h = nn.leaky_relu(nn.Dense(1024, dtype=self.dtype)(h), 0.2)
    self.sow("intermediates", "features", h)
    return nn.Dense(1, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)
