"""pix2pix (Isola et al. 2017): U-Net generator and PatchGAN discriminator.

As the authors' PyTorch code (`networks.py`, `UnetGenerator`,
`NLayerDiscriminator`):

- G: a U-Net of log2(size) 4x4 stride-2 convolutions down to 1x1 and
  transposed convolutions back up, with skip connections concatenating each
  down-path map to the up-path map of the same size. Widths ngf, 2 ngf,
  4 ngf, then 8 ngf; LeakyReLU(0.2) before each down convolution but the
  first, ReLU before each up convolution; batch norm after every
  convolution except the outermost and the innermost down convolution (no
  biases but on the output layer, as the reference with batch norm);
  dropout 0.5 after the up convolutions of the blocks between the 8 ngf
  ones (log2(size) - 5 of them: none below 64x64); tanh output. The skips
  carry the down-path maps before the next block's LeakyReLU (the
  reference's in-place activations also change the skipped copy). The
  strided layers compute in models/strided.py (`conv_impl`).
- D: a PatchGAN on the source and the image concatenated along channels:
  4x4 convolutions, `n_layers` of stride 2 (64, 128, 256, ... capped at
  8x), one more of stride 1, then a 1-channel stride-1 output; batch norm
  on all but the first and the last, LeakyReLU(0.2). Its output is a map
  of logits, one per overlapping patch, flattened to (N, P); the losses
  average over patches. `patch_layers(size)` scales the patch to about a
  quarter of the image, as the paper's 70x70 patches are of 256x256.

Weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02).
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import pairs
from jaxgan.models.strided import Conv4x4s2, ConvTranspose4x4s2
from jaxgan.models.dcgan import BatchNorm


def patch_layers(size: int) -> int:
  """PatchGAN's stride-2 layers for size x size images: 3 at 256 (70x70
  patches, as the paper), 2 at 128 (34x34), 1 below (16x16)."""
  return max(1, int(math.log2(size)) - 5)


class _Strided(nn.Module):
  """4x4 stride-2 convolution with padding 1 (`up`: the transposed one that
  doubles the size, PyTorch's ConvTranspose2d(k=4, s=2, p=1)) in
  models/strided.py, with an optional bias."""

  features: int
  kernel_init: Any
  bias: bool
  dtype: Any
  impl: str
  up: bool = False

  @nn.compact
  def __call__(self, x):
    layer = ConvTranspose4x4s2 if self.up else Conv4x4s2
    y = layer(
        self.features,
        kernel_init=self.kernel_init,
        dtype=self.dtype,
        impl=self.impl,
    )(x)
    if not self.bias:
      return y
    b = self.param("bias", nn.initializers.zeros, (self.features,))
    return y + b.astype(y.dtype)


def _conv(ch, stride, init, bias, dtype, name=None):
  return nn.Conv(
      ch,
      (4, 4),
      (stride, stride),
      padding=((1, 1), (1, 1)),
      use_bias=bias,
      kernel_init=init,
      dtype=dtype,
      name=name,
  )


class UNetGenerator(nn.Module):
  """source (N, S, S, C) -> images (N, S, S, channels) in [-1, 1]."""

  channels: int = 3
  width: int = 64  # ngf
  init_std: float = 0.02
  bn_axis_name: str | None = None
  dropout: float = 0.5
  dtype: Any = None
  conv_impl: str = "xla"  # models/strided.py: an IMPLS name.

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    size = x.shape[1]
    depth = int(math.log2(size))
    init = nn.initializers.normal(self.init_std)
    widths = [self.width * min(2**i, 8) for i in range(depth)]
    norm = lambda h: BatchNorm(self.init_std, self.bn_axis_name, self.dtype)(
        h, train
    )
    skips = []
    h = x.astype(self.dtype or jnp.float32)
    for i, ch in enumerate(widths):  # Down: 2^depth -> 1.
      if i > 0:
        h = nn.leaky_relu(h, 0.2)
      h = _Strided(ch, init, False, self.dtype, self.conv_impl)(h)
      if 0 < i < depth - 1:
        h = norm(h)
      skips.append(h)
    # Dropout after the up convolutions of the 8 ngf blocks between the
    # innermost and the first ones whose widths grow (the reference's
    # num_downs - 5 middle blocks).
    num_dropout = max(0, depth - 5)
    for i in reversed(range(depth)):  # Up: 1 -> 2^depth.
      if i < depth - 1:
        h = jnp.concatenate([skips[i], h], axis=-1)
      h = nn.relu(h)
      if i == 0:
        h = _Strided(
            self.channels, init, True, self.dtype, self.conv_impl, up=True
        )(h)
        return jnp.tanh(h.astype(jnp.float32))
      h = norm(
          _Strided(
              widths[i - 1], init, False, self.dtype, self.conv_impl, up=True
          )(h)
      )
      if depth - 1 - num_dropout <= i < depth - 1:
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
    raise AssertionError("unreachable")


class PatchDiscriminator(nn.Module):
  """(images (N, S, S, C), source) -> patch logits (N, P).

  The source is brought to the image's size (pairs.to_target_size) and
  concatenated along channels, so D judges the pair.
  """

  width: int = 64  # ndf
  n_layers: int = 3
  init_std: float = 0.02
  bn_axis_name: str | None = None
  dtype: Any = None

  @nn.compact
  def __call__(
      self, x: jax.Array, train: bool = True, source=None
  ) -> jax.Array:
    init = nn.initializers.normal(self.init_std)
    source = pairs.to_target_size(source, x.shape[1]).astype(x.dtype)
    h = jnp.concatenate([source, x], axis=-1)
    h = nn.leaky_relu(_conv(self.width, 2, init, True, self.dtype)(h), 0.2)
    for i in range(1, self.n_layers + 1):
      stride = 2 if i < self.n_layers else 1
      h = _conv(self.width * min(2**i, 8), stride, init, False, self.dtype)(h)
      h = BatchNorm(self.init_std, self.bn_axis_name, self.dtype)(h, train)
      h = nn.leaky_relu(h, 0.2)
    self.sow("intermediates", "features", h)
    h = _conv(1, 1, init, True, self.dtype)(h)
    return h.reshape(h.shape[0], -1).astype(jnp.float32)
