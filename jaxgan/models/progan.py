"""Progressive growing of GANs (Karras et al. 2018): G and D for 4 to 128.

The networks of the paper's code (tkarras/progressive_growing_of_gans,
networks.py G_paper / D_paper), built for the final resolution R = 2**L and
run at any level l <= L (the current resolution 2**l):

- G: z normalised to the unit hypersphere (pixel norm), a dense layer to
  4x4 (gain sqrt(2)/4) and a 3x3 convolution; per level a nearest x2
  upsampling and two 3x3 convolutions; leaky ReLU 0.2 and pixelwise feature
  normalisation after every layer; a linear 1x1 toRGB per level. During the
  fade-in of level l, the image is alpha * toRGB_l(x) + (1 - alpha) *
  up2(toRGB_{l-1}(x_{l-1})).
- D: a 1x1 fromRGB per level (leaky ReLU); per level two 3x3 convolutions
  (the second to the next level's width) and 2x2 average pooling; during the
  fade-in the block's output is blended with fromRGB_{l-1} of the
  downsampled image in the same proportion. The 4x4 block: the
  minibatch-stddev feature (groups of 4), a 3x3 convolution, a dense layer
  (the 4x4 convolution) and a linear output.
- Equalised learning rate everywhere: weights stored N(0, 1) and scaled at
  run time by gain / sqrt(fan_in) (gain sqrt(2) unless said), biases zero.

Widths: width * min(1, 32 / resolution) channels at each resolution (width
512 gives the paper's 512, ..., 512, 256, 128 for 4, ..., 32, 64, 128).

As in the paper's code, G always outputs R x R images (the current level's
image nearest-upsampled) and D always reads R x R images (average-pooled to
the current level first), so data, penalties, samples and evaluation see one
shape at every level; `real_images` brings real images to the current level
and blends them during a fade the same way. Every parameter of every level
exists from initialisation (`init`, at the top level, touches every toRGB and
fromRGB too), so the train state's shapes never change and a checkpoint of
any level restores into the model.
The level and whether it is fading are module attributes (each pair is its
own compiled program); alpha is an input.
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import minibatch_stddev

SQRT2 = math.sqrt(2.0)
MIN_LEVEL = 2  # 4x4.
SUPPORTED_RESOLUTIONS = (8, 16, 32, 64, 128)


def channels_at(resolution: int, width: int) -> int:
  """Feature maps at a resolution: the paper's min(8192 / 2**stage, 512)
  with 512 -> width."""
  return min(width, width * 32 // resolution)


def pixel_norm(x: jax.Array, eps: float = 1e-8) -> jax.Array:
  """x / sqrt(mean over channels of x^2 + eps), at every pixel."""
  return x * jax.lax.rsqrt(
      jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps
  )


def upsample(x: jax.Array, factor: int = 2) -> jax.Array:
  """Nearest-neighbour upsampling of (N, H, W, C) by an integer factor."""
  if factor == 1:
    return x
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def downsample(x: jax.Array, factor: int = 2) -> jax.Array:
  """Average pooling of (N, H, W, C) over factor x factor blocks."""
  if factor == 1:
    return x
  n, h, w, c = x.shape
  x = x.reshape(n, h // factor, factor, w // factor, factor, c)
  return jnp.mean(x, axis=(2, 4))


class EqualizedDense(nn.Module):
  """Dense layer with the equalised learning rate: kernel ~ N(0, 1), used
  as kernel * gain / sqrt(fan_in); bias zero."""

  features: int
  gain: float = SQRT2
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    fan_in = x.shape[-1]
    kernel = self.param(
        "kernel", nn.initializers.normal(1.0), (fan_in, self.features)
    )
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    scale = self.gain / math.sqrt(fan_in)
    dt = self.dtype or jnp.float32
    y = x.astype(dt) @ (kernel * scale).astype(dt)
    return y + bias.astype(dt)


class EqualizedConv(nn.Module):
  """Stride-1 'SAME' convolution with the equalised learning rate."""

  features: int
  kernel_size: int = 3
  gain: float = SQRT2
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, cin = self.kernel_size, x.shape[-1]
    kernel = self.param(
        "kernel", nn.initializers.normal(1.0), (k, k, cin, self.features)
    )
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    scale = self.gain / math.sqrt(k * k * cin)
    dt = self.dtype or jnp.float32
    y = jax.lax.conv_general_dilated(
        x.astype(dt),
        (kernel * scale).astype(dt),
        (1, 1),
        "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    return y + bias.astype(dt)


def _lrelu(x):
  return nn.leaky_relu(x, 0.2)


class Generator(nn.Module):
  """z (N, z_dim) -> images (N, R, R, C) at level `level` (None: the last).

  alpha: the new level's weight during a fade-in (`fading`); traced.
  """

  resolution: int = 32
  channels: int = 1
  width: int = 512
  level: int | None = None
  fading: bool = False
  dtype: Any = None

  def _rgb(self, level: int, x: jax.Array) -> jax.Array:
    return EqualizedConv(
        self.channels,
        1,
        gain=1.0,
        dtype=self.dtype,
        name=f"to_rgb_{2 ** level}",
    )(x)

  def _block(self, level: int, x: jax.Array) -> jax.Array:
    res, dt = 2**level, self.dtype
    ch = channels_at(res, self.width)
    x = upsample(x)
    x = pixel_norm(_lrelu(EqualizedConv(ch, dtype=dt, name=f"conv0_{res}")(x)))
    return pixel_norm(
        _lrelu(EqualizedConv(ch, dtype=dt, name=f"conv1_{res}")(x))
    )

  @nn.compact
  def __call__(
      self, z: jax.Array, train: bool = True, labels=None, alpha=1.0
  ) -> jax.Array:
    del train, labels
    top = int(math.log2(self.resolution))
    level = top if self.level is None else self.level
    ch, dt = channels_at(4, self.width), self.dtype
    x = pixel_norm(z.astype(jnp.float32))
    x = EqualizedDense(16 * ch, gain=SQRT2 / 4, dtype=dt, name="dense")(x)
    x = pixel_norm(_lrelu(x.reshape(z.shape[0], 4, 4, ch)))
    x = pixel_norm(_lrelu(EqualizedConv(ch, dtype=dt, name="conv_4")(x)))
    feats = {MIN_LEVEL: x}
    for l in range(MIN_LEVEL + 1, level + 1):
      x = feats[l] = self._block(l, x)
    out, used = self._rgb(level, x), {level}
    if self.fading and level > MIN_LEVEL:
      old = upsample(self._rgb(level - 1, feats[level - 1]))
      used.add(level - 1)
      out = alpha * out + (1.0 - alpha) * old.astype(out.dtype)
    if self.is_initializing():  # Every level's toRGB (init at the top level).
      for l in range(MIN_LEVEL, level + 1):
        if l not in used:
          self._rgb(l, feats[l])
    out = upsample(out.astype(jnp.float32), 2 ** (top - level))
    return out


class Discriminator(nn.Module):
  """images (N, R, R, C) -> logits (N,) at level `level` (None: the last)."""

  resolution: int = 32
  width: int = 512
  level: int | None = None
  fading: bool = False
  group_size: int = 4
  dtype: Any = None

  def _rgb(self, level: int, image: jax.Array) -> jax.Array:
    ch = channels_at(2**level, self.width)
    return _lrelu(
        EqualizedConv(ch, 1, dtype=self.dtype, name=f"from_rgb_{2 ** level}")(
            image
        )
    )

  def _block(self, level: int, h: jax.Array) -> jax.Array:
    res, dt = 2**level, self.dtype
    h = _lrelu(
        EqualizedConv(
            channels_at(res, self.width), dtype=dt, name=f"conv0_{res}"
        )(h)
    )
    h = _lrelu(
        EqualizedConv(
            channels_at(res // 2, self.width), dtype=dt, name=f"conv1_{res}"
        )(h)
    )
    return downsample(h)

  @nn.compact
  def __call__(
      self, x: jax.Array, train: bool = True, labels=None, alpha=1.0
  ) -> jax.Array:
    del train, labels
    top = int(math.log2(self.resolution))
    level = top if self.level is None else self.level
    full = x.astype(jnp.float32)
    image = downsample(full, 2 ** (top - level))
    h, used = self._rgb(level, image), {level}
    for l in range(level, MIN_LEVEL, -1):
      h = self._block(l, h)
      image = downsample(image)
      if l == level and self.fading:
        h = alpha * h + (1.0 - alpha) * self._rgb(l - 1, image).astype(h.dtype)
        used.add(l - 1)
    if self.is_initializing():  # Every level's fromRGB (init at the top).
      for l in range(MIN_LEVEL, level + 1):
        if l not in used:
          self._rgb(l, downsample(full, 2 ** (top - l)))
    ch, dt = channels_at(4, self.width), self.dtype
    h = minibatch_stddev(h, self.group_size)
    h = _lrelu(EqualizedConv(ch, dtype=dt, name="conv_4")(h))
    h = h.reshape(h.shape[0], -1)
    h = _lrelu(EqualizedDense(ch, dtype=dt, name="dense_4")(h))
    self.sow("intermediates", "features", h)
    out = EqualizedDense(1, gain=1.0, dtype=dt, name="out")(h)
    return out[:, 0].astype(jnp.float32)


def real_images(
    x: jax.Array, resolution: int, level: int, fading: bool, alpha
) -> jax.Array:
  """Real (N, R, R, C) images as level `level` sees them, at R x R.

  Average-pooled to 2**level (and nearest-upsampled back); during a fade
  blended with the previous level's version as G's output is:
  alpha * x_l + (1 - alpha) * up2(x_{l-1}) (the paper's code: process_reals).
  """
  top = int(math.log2(resolution))
  x_l = downsample(x, 2 ** (top - level))
  if fading and level > MIN_LEVEL:
    x_l = alpha * x_l + (1.0 - alpha) * upsample(downsample(x_l))
  return upsample(x_l, 2 ** (top - level))
