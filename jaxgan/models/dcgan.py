"""DCGAN (Radford et al. 2015) generator and discriminator.

Architecture guidelines of the paper, as in the reference PyTorch DCGAN:
fractionally-strided convolutions (kernel 4, stride 2) in G and strided
convolutions (kernel 4, stride 2, padding 1) in D, no pooling, no biases,
batch norm in G except the output layer and in D except the input layer,
ReLU + tanh in G, LeakyReLU(0.2) in D, weights ~ N(0, 0.02) and batch-norm
scales ~ N(1, 0.02).

G projects z to a (base x base x C0) map (base 4, or 7 for 28x28 images) and
doubles the resolution per layer while halving the channels; D mirrors it.
For 64x64 with widths 64 this is exactly the PyTorch DCGAN example: the
projection `Dense(z -> 4*4*512)` is the 1x1-input `ConvTranspose2d(z, 512, 4)`
and D's final `Dense` is the 4x4 valid `Conv2d(512, 1, 4)`.

`fc_hidden` > 0 adds one fully connected layer of that many units with batch
norm before G's projection and after D's convolutions, and batch norm in the
InfoGAN Q head: at 28x28 with fc_hidden 1024 these are InfoGAN's MNIST
networks (Chen et al. 2016, Appendix C.1; G FC 1024 - FC 7x7x128 - two
transposed convolutions, D two convolutions - FC 1024, Q FC 128 on D's
FC 1024, batch norm as listed there).
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import conditioning
from jaxgan.models.conditioning import Conditioning
from jaxgan.models.strided import Conv4x4s2, ConvTranspose4x4s2
from jaxgan.models.layers import LEAKY_SLOPE, minibatch_stddev, spectral

SUPPORTED_RESOLUTIONS = (28, 32, 64, 128)
# model.d_norm: D's normalisation after every conv but the first.
D_NORMS = ("batch_norm", "layer_norm", "none")


def _scale_init(std: float):
  def init(key, shape, dtype=jnp.float32):
    return 1.0 + std * jax.random.normal(key, shape, dtype)

  return init


def num_upsamplings(resolution: int) -> tuple[int, int]:
  """Returns (base, n) with base * 2**n == resolution (one of
  SUPPORTED_RESOLUTIONS; validate.py refuses the others)."""
  if resolution not in SUPPORTED_RESOLUTIONS:
    raise ValueError(
        f"DCGAN resolution {resolution} is not one of "
        f"{SUPPORTED_RESOLUTIONS}"
    )
  base = 7 if resolution == 28 else 4
  return base, int(math.log2(resolution // base))


class BatchNorm(nn.Module):
  """Batch norm with the DCGAN init; per-device or cross-device statistics."""

  init_std: float = 0.02
  axis_name: str | None = None
  dtype: Any = None  # Output dtype; statistics are reduced in float32.

  @nn.compact
  def __call__(self, x, train: bool):
    return nn.BatchNorm(
        use_running_average=not train,
        momentum=0.9,
        epsilon=1e-5,
        dtype=self.dtype,
        scale_init=_scale_init(self.init_std),
        axis_name=self.axis_name if train else None,
    )(x)


class Generator(nn.Module):
  """z (N, z_dim) [and labels (N,)] -> images (N, R, R, C) in [-1, 1].

  `cond` (models/conditioning.py): the one-hot label joins z ('concat',
  'acgan') or every batch norm becomes class-conditional ('projection').
  """

  resolution: int = 64
  channels: int = 3
  width: int = 64
  init_std: float = 0.02
  bn_axis_name: str | None = None
  dtype: Any = None
  cond: Conditioning = Conditioning()
  conv_impl: str = "xla"  # models/strided.py: an IMPLS name.
  fc_hidden: int = 0  # > 0: a hidden FC layer before the projection.
  # True: a sigmoid output for [0, 1] pixels (InfoGAN's code), returned as
  # 2 sigmoid - 1 so that images stay in [-1, 1] outside the networks.
  unit_range: bool = False

  def _norm(self, x, labels, train):
    if self.cond.mode == "projection":
      return conditioning.ConditionalBatchNorm(
          self.cond.num_classes, self.init_std, self.bn_axis_name, self.dtype
      )(x, labels, train)
    return BatchNorm(self.init_std, self.bn_axis_name, self.dtype)(x, train)

  @nn.compact
  def __call__(
      self, z: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    base, n_up = num_upsamplings(self.resolution)
    init = nn.initializers.normal(self.init_std)
    ch = self.width * 2 ** (n_up - 1)
    x = conditioning.generator_input(z, labels, self.cond)
    if self.fc_hidden:
      x = nn.Dense(
          self.fc_hidden, use_bias=False, kernel_init=init, dtype=self.dtype
      )(x)
      x = nn.relu(self._norm(x, labels, train))
    x = nn.Dense(
        base * base * ch, use_bias=False, kernel_init=init, dtype=self.dtype
    )(x)
    x = x.reshape(z.shape[0], base, base, ch)
    x = nn.relu(self._norm(x, labels, train))
    for _ in range(n_up - 1):
      ch //= 2
      x = ConvTranspose4x4s2(
          ch, kernel_init=init, dtype=self.dtype, impl=self.conv_impl
      )(x)
      x = nn.relu(self._norm(x, labels, train))
    x = ConvTranspose4x4s2(
        self.channels, kernel_init=init, dtype=self.dtype, impl=self.conv_impl
    )(x)
    if self.unit_range:
      return 2.0 * nn.sigmoid(x.astype(jnp.float32)) - 1.0
    return jnp.tanh(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """images (N, R, R, C) -> logits (N,).

  Options for the regularizer zoo: `norm` replaces batch norm by layer norm
  (the WGAN-GP critic, Gulrajani et al. 2017) or nothing; `spectral_norm`
  normalises every conv and the output layer (Miyato et al. 2018);
  `minibatch_std` appends the minibatch-stddev map before the output layer
  (Karras et al. 2018). The last hidden map is sown as 'features' for
  feature matching. `cond` adds the label maps to the input ('concat'), the
  projection term, the ACGAN classifier or the InfoGAN Q head
  (conditioning.Heads; with `spectral_norm` the projection's class
  embedding is normalised too).
  """

  resolution: int = 64
  width: int = 64
  init_std: float = 0.02
  bn_axis_name: str | None = None
  norm: str = "batch_norm"
  spectral_norm: bool = False
  minibatch_std: bool = False
  dtype: Any = None
  cond: Conditioning = Conditioning()
  conv_impl: str = "xla"  # models/strided.py: an IMPLS name.
  fc_hidden: int = 0  # > 0: a hidden FC layer after the convolutions.
  leaky_slope: float = LEAKY_SLOPE  # LeakyReLU's negative slope (D and Q).
  unit_range: bool = False  # True: D reads (x + 1) / 2, pixels in [0, 1].

  @nn.compact
  def __call__(
      self, x: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    _, n_down = num_upsamplings(self.resolution)
    init = nn.initializers.normal(self.init_std)
    ch = self.width
    if self.unit_range:
      x = (x + 1.0) * 0.5
    x = conditioning.discriminator_input(x, labels, self.cond)
    for i in range(n_down):
      # Named as the nn.Conv it computes, so parameter trees keep their keys.
      conv = Conv4x4s2(
          ch,
          kernel_init=init,
          dtype=self.dtype,
          impl=self.conv_impl,
          name=f"Conv_{i}",
      )
      x = spectral(conv, self.spectral_norm, x, train)
      if i > 0 and self.norm == "batch_norm":  # None on the input layer.
        x = BatchNorm(self.init_std, self.bn_axis_name, self.dtype)(x, train)
      elif i > 0 and self.norm == "layer_norm":
        # Over (H, W, C) with a scale per channel, as the WGAN-GP code does.
        x = nn.LayerNorm(reduction_axes=(1, 2, 3), dtype=self.dtype)(x)
      x = nn.leaky_relu(x, self.leaky_slope)
      ch *= 2
    if not self.fc_hidden:
      self.sow("intermediates", "features", x)
    if self.minibatch_std:
      x = minibatch_stddev(x)
    h = x.reshape(x.shape[0], -1)
    batch_norm = self.norm == "batch_norm"
    if self.fc_hidden:
      h = spectral(
          nn.Dense(
              self.fc_hidden,
              use_bias=self.norm == "none",  # Normalisations shift.
              kernel_init=init,
              dtype=self.dtype,
          ),
          self.spectral_norm,
          h,
          train,
      )
      if batch_norm:
        h = BatchNorm(self.init_std, self.bn_axis_name, self.dtype)(h, train)
      elif self.norm == "layer_norm":
        h = nn.LayerNorm(dtype=self.dtype)(h)
      h = nn.leaky_relu(h, self.leaky_slope)
      self.sow("intermediates", "features", h)
    x = spectral(
        nn.Dense(1, use_bias=False, kernel_init=init, dtype=self.dtype),
        self.spectral_norm,
        h,
        train,
    )
    extra = conditioning.Heads(
        self.cond,
        self.init_std,
        self.dtype,
        self.spectral_norm,
        q_batch_norm=batch_norm and self.fc_hidden > 0,
        bn_axis_name=self.bn_axis_name,
        leaky_slope=self.leaky_slope,
    )(h, labels, train)
    return x[:, 0].astype(jnp.float32) + extra
