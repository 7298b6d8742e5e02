"""The ResNet family: SNGAN (Miyato et al. 2018), SAGAN's self-attention
(Zhang et al. 2019) and BigGAN (Brock et al. 2019), for 32, 64 and 128.

SNGAN (`Generator`, `Discriminator`; pfnet-research/sngan_projection):
- G: z -> dense to 4x4 -> up-blocks (BN, ReLU, nearest x2, conv 3x3, BN,
  ReLU, conv 3x3; shortcut: x2 then conv 1x1) -> BN, ReLU, conv 3x3, tanh.
  A class-conditional G ('projection') has categorical conditional batch
  norm in the blocks (per-class scale starting at 1, shift at 0).
- D: an optimised first block (conv, ReLU, conv, average pool; shortcut:
  pool then conv 1x1), then pre-activation blocks (ReLU, conv, ReLU, conv,
  pool when down-sampling; shortcut conv 1x1 then pool where the shape
  changes), ReLU, global sum pooling, a linear output; spectral norm on every
  layer; the projection term <embed(y), h> with a spectrally normalised
  embedding.
- Widths for `width` = 64 as the reference: 32x32 G 256 channels, D 128;
  64 and 128 G 1024 -> 64, D 64 -> 1024.
- Initialisation as the Chainer reference: Glorot-uniform with scale
  sqrt(2) in the blocks' 3x3 convolutions, scale 1 elsewhere; BN eps 2e-5.

BigGAN (`BigGenerator`, `BigDiscriminator`; ajbrock/BigGAN-PyTorch):
- G: a shared class embedding (128-d) and a hierarchical latent: z is split
  into one chunk per block plus one; the first chunk goes through a dense
  layer to 4x4, block i gets its chunk joined to the shared embedding,
  which gives its class-conditional batch norms their gains (1 + linear)
  and biases (linear), both spectrally normalised linear maps; spectral
  norm on every layer of G too; a plain BN, ReLU, conv 3x3 and tanh at the
  end. Unconditional, the chunks alone drive the batch norms.
- D: BigGAN's blocks (pre-activation after the first, width = out), ReLU,
  sum pooling, a linear output plus the projection with a spectrally
  normalised embedding.
- Orthogonal initialisation; the orthogonal regulariser of the paper is in
  jaxgan/gan/losses.py (`orthogonal_penalty`), applied by the step.

Self-attention (`Attention`, SAGAN's non-local block): theta, phi, g 1x1
convolutions (C/8, C/8, C/2 channels, spectrally normalised), phi and g
max-pooled 2x2, softmax over the pooled positions, an output 1x1
convolution back to C, scaled by a learned gate gamma that starts at 0, so
the block starts as the identity. `attention_res` places it after the block
(of G or D) that works at that resolution (0 = none).

D's last hidden layer is sown as 'features' (feature matching), and the
ACGAN and InfoGAN heads of models/conditioning.py read it.
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import conditioning
from jaxgan.models.conditioning import Conditioning
from jaxgan.models.layers import spectral

SUPPORTED_RESOLUTIONS = (32, 64, 128)
BN_EPS = 2e-5  # Chainer's, as the SNGAN reference.

# Glorot-uniform (Chainer's GlorotUniform(scale)): the blocks' 3x3
# convolutions use scale sqrt(2), i.e. variance 2 / fan_avg.
_GLOROT = nn.initializers.variance_scaling(1.0, "fan_avg", "uniform")
_GLOROT_SQRT2 = nn.initializers.variance_scaling(2.0, "fan_avg", "uniform")
_ORTHO = nn.initializers.orthogonal()

# (channel multipliers of `width`): G's input width, then each block's out.
SNGAN_G = {32: (4, 4, 4, 4), 64: (16, 8, 4, 2, 1), 128: (16, 16, 8, 4, 2, 1)}
# D: each block's out channels; the last blocks that keep the resolution.
SNGAN_D = {
    32: ((2, 2, 2, 2), 2),
    64: ((1, 2, 4, 8, 16), 0),
    128: ((1, 2, 4, 8, 16, 16), 1),
}
BIGGAN_G = {32: (4, 4, 4, 4), 64: (16, 16, 8, 4, 2), 128: (16, 16, 8, 4, 2, 1)}
BIGGAN_D = {
    32: ((4, 4, 4, 4), 2),
    64: ((1, 2, 4, 8, 16), 1),
    128: ((1, 2, 4, 8, 16, 16), 1),
}


def _upsample(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _pool(x):
  return nn.avg_pool(x, (2, 2), (2, 2))


class _SN(nn.Module):
  """A layer, spectrally normalised if `enabled` (its u vector in
  'batch_stats', updated in training calls; models/layers.py)."""

  layer: nn.Module
  enabled: bool = True

  @nn.compact
  def __call__(self, x, train: bool):
    return spectral(self.layer, self.enabled, x, train)


def _conv(features, kernel, init, dtype, name, use_bias=True):
  return nn.Conv(
      features,
      (kernel, kernel),
      padding="SAME",
      use_bias=use_bias,
      kernel_init=init,
      dtype=dtype,
      name=name,
  )


class Attention(nn.Module):
  """SAGAN's self-attention block; the identity while gamma is 0."""

  sn: bool = True
  kernel_init: Any = _GLOROT
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    n, h, w, c = x.shape
    conv = lambda f, name: _SN(  # pylint: disable=g-long-lambda
        _conv(f, 1, self.kernel_init, self.dtype, name, use_bias=False),
        self.sn,
        name=f"{name}_sn",
    )
    theta = conv(c // 8, "theta")(x, train).reshape(n, h * w, c // 8)
    phi = nn.max_pool(conv(c // 8, "phi")(x, train), (2, 2), (2, 2))
    phi = phi.reshape(n, -1, c // 8)
    g = nn.max_pool(conv(c // 2, "g")(x, train), (2, 2), (2, 2))
    g = g.reshape(n, -1, c // 2)
    beta = jax.nn.softmax(
        jnp.einsum(
            "nqc,nkc->nqk", theta.astype(jnp.float32), phi.astype(jnp.float32)
        ),
        axis=-1,
    )
    o = jnp.einsum("nqk,nkc->nqc", beta, g.astype(jnp.float32))
    o = conv(c, "o")(o.reshape(n, h, w, c // 2).astype(x.dtype), train)
    gamma = self.param("gamma", nn.initializers.zeros, ())
    return x + gamma.astype(x.dtype) * o


class ClassBatchNorm(nn.Module):
  """Categorical conditional batch norm (SNGAN's G): statistics shared,
  scale (from 1) and shift (from 0) looked up by class."""

  num_classes: int
  axis_name: str | None = None
  dtype: Any = None

  @nn.compact
  def __call__(self, x, labels, train: bool):
    x = nn.BatchNorm(
        use_running_average=not train,
        momentum=0.9,
        epsilon=BN_EPS,
        use_scale=False,
        use_bias=False,
        dtype=self.dtype,
        axis_name=self.axis_name if train else None,
    )(x)
    c = x.shape[-1]
    scale = nn.Embed(
        self.num_classes, c, name="scale", embedding_init=nn.initializers.ones
    )(labels)
    shift = nn.Embed(
        self.num_classes, c, name="shift", embedding_init=nn.initializers.zeros
    )(labels)
    return x * scale[:, None, None, :].astype(x.dtype) + shift[
        :, None, None, :
    ].astype(x.dtype)


class LinearBatchNorm(nn.Module):
  """BigGAN's conditional batch norm: out = BN(x) (1 + gain(y)) + bias(y),
  gain and bias spectrally normalised linear maps (no bias) of the block's
  input y (shared class embedding and its latent chunk)."""

  sn: bool = True
  axis_name: str | None = None
  dtype: Any = None

  @nn.compact
  def __call__(self, x, y, train: bool):
    c = x.shape[-1]
    out = nn.BatchNorm(
        use_running_average=not train,
        momentum=0.9,
        epsilon=1e-5,
        use_scale=False,
        use_bias=False,
        dtype=self.dtype,
        axis_name=self.axis_name if train else None,
    )(x)
    dense = lambda name: _SN(  # pylint: disable=g-long-lambda
        nn.Dense(
            c, use_bias=False, kernel_init=_ORTHO, dtype=self.dtype, name=name
        ),
        self.sn,
        name=f"{name}_sn",
    )
    gain = 1.0 + dense("gain")(y, train)
    bias = dense("bias")(y, train)
    return out * gain[:, None, None, :].astype(out.dtype) + bias[
        :, None, None, :
    ].astype(out.dtype)


def _plain_bn(axis_name, dtype, train, name=None):
  return nn.BatchNorm(
      use_running_average=not train,
      momentum=0.9,
      epsilon=BN_EPS,
      dtype=dtype,
      axis_name=axis_name if train else None,
      name=name,
  )


class Generator(nn.Module):
  """SNGAN's ResNet generator: z (N, z_dim) [and labels] -> (N, R, R, C)."""

  resolution: int = 32
  channels: int = 3
  width: int = 64
  sn: bool = False
  attention_res: int = 0
  bn_axis_name: str | None = None
  dtype: Any = None
  cond: Conditioning = Conditioning()

  def _norm(self, x, labels, train, name):
    if self.cond.mode == "projection":
      return ClassBatchNorm(
          self.cond.num_classes, self.bn_axis_name, self.dtype, name=name
      )(x, labels, train)
    return _plain_bn(self.bn_axis_name, self.dtype, train, name)(x)

  @nn.compact
  def __call__(self, z, train: bool = True, labels=None) -> jax.Array:
    mult, dt = SNGAN_G[self.resolution], self.dtype
    sn = lambda layer: _SN(layer, self.sn)  # pylint: disable=unnecessary-lambda-assignment
    ch = self.width * mult[0]
    x = conditioning.generator_input(z, labels, self.cond)
    x = sn(nn.Dense(16 * ch, kernel_init=_GLOROT, dtype=dt))(x, train)
    x = x.reshape(z.shape[0], 4, 4, ch)
    res = 4
    for i, m in enumerate(mult[1:]):
      out = self.width * m
      h = nn.relu(self._norm(x, labels, train, f"block{i}_bn1"))
      h = _upsample(h)
      h = sn(_conv(out, 3, _GLOROT_SQRT2, dt, f"block{i}_conv1"))(h, train)
      h = nn.relu(self._norm(h, labels, train, f"block{i}_bn2"))
      h = sn(_conv(out, 3, _GLOROT_SQRT2, dt, f"block{i}_conv2"))(h, train)
      x = sn(_conv(out, 1, _GLOROT, dt, f"block{i}_sc"))(_upsample(x), train)
      x, res = x + h, res * 2
      if res == self.attention_res:
        x = Attention(self.sn, _GLOROT, dt, name=f"attention_{res}")(x, train)
    x = nn.relu(_plain_bn(self.bn_axis_name, dt, train, "bn_out")(x))
    x = sn(_conv(self.channels, 3, _GLOROT, dt, "conv_out"))(x, train)
    return jnp.tanh(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """SNGAN's ResNet discriminator: images -> logits (N,)."""

  resolution: int = 32
  width: int = 64
  sn: bool = True
  attention_res: int = 0
  dtype: Any = None
  cond: Conditioning = Conditioning()
  big: bool = False  # BigGAN's blocks and widths (BigDiscriminator).

  @nn.compact
  def __call__(self, x, train: bool = True, labels=None) -> jax.Array:
    table = BIGGAN_D if self.big else SNGAN_D
    mults, keep = table[self.resolution]
    dt = self.dtype
    init3 = _ORTHO if self.big else _GLOROT_SQRT2
    init1 = _ORTHO if self.big else _GLOROT
    sn = lambda layer: _SN(layer, self.sn)  # pylint: disable=unnecessary-lambda-assignment
    res = self.resolution
    for i, m in enumerate(mults):
      out, cin = self.width * m, x.shape[-1]
      down = i < len(mults) - keep
      # SNGAN's blocks widen at their first conv only after the first
      # block; BigGAN's ('wide') at their first conv always.
      hidden = out if (self.big or i == 0) else cin
      h = x if i == 0 else nn.relu(x)
      h = sn(_conv(hidden, 3, init3, dt, f"block{i}_conv1"))(h, train)
      h = sn(_conv(out, 3, init3, dt, f"block{i}_conv2"))(nn.relu(h), train)
      if down:
        h = _pool(h)
      if i == 0:  # Optimised block: pool, then the 1x1 shortcut.
        x = sn(_conv(out, 1, init1, dt, "block0_sc"))(_pool(x), train)
      elif down or cin != out:
        x = sn(_conv(out, 1, init1, dt, f"block{i}_sc"))(x, train)
        x = _pool(x) if down else x
      x = x + h
      res = res // 2 if down else res
      if (
          self.attention_res
          and res == self.attention_res
          and i < len(mults) - 1
      ):
        x = Attention(self.sn, init1, dt, name=f"attention_{i}")(x, train)
    h = jnp.sum(nn.relu(x), axis=(1, 2))  # Global sum pooling.
    self.sow("intermediates", "features", h)
    out = sn(
        nn.Dense(
            1,
            use_bias=self.big or self.resolution > 32,
            kernel_init=init1,
            dtype=dt,
            name="out",
        )
    )(h, train)
    out = out[:, 0].astype(jnp.float32)
    if self.cond.mode == "projection":
      embed = _SN(
          nn.Embed(
              self.cond.num_classes,
              h.shape[-1],
              embedding_init=init1,
              name="projection",
          ),
          self.sn,
          name="projection_sn",
      )
      e = embed(labels, train)
      out = out + jnp.sum(e.astype(jnp.float32) * h.astype(jnp.float32), -1)
    heads = Conditioning(
        info_categorical=self.cond.info_categorical,
        info_continuous=self.cond.info_continuous,
        mode="acgan" if self.cond.mode == "acgan" else "none",
        num_classes=self.cond.num_classes,
    )
    return out + conditioning.Heads(heads, dtype=dt)(h, labels)


class BigGenerator(nn.Module):
  """BigGAN's generator: hierarchical z and a shared class embedding."""

  resolution: int = 32
  channels: int = 3
  width: int = 64
  shared_dim: int = 128
  sn: bool = True
  attention_res: int = 0
  bn_axis_name: str | None = None
  dtype: Any = None
  cond: Conditioning = Conditioning()

  @nn.compact
  def __call__(self, z, train: bool = True, labels=None) -> jax.Array:
    mult, dt = BIGGAN_G[self.resolution], self.dtype
    sn = lambda layer: _SN(layer, self.sn)  # pylint: disable=unnecessary-lambda-assignment
    blocks = len(mult) - 1
    chunk = z.shape[-1] // (blocks + 1)
    chunks = [z[:, i * chunk : (i + 1) * chunk] for i in range(blocks + 1)]
    if self.cond.labelled:
      shared = nn.Embed(
          self.cond.num_classes,
          self.shared_dim,
          embedding_init=_ORTHO,
          name="shared",
      )(labels)
      ys = [
          jnp.concatenate([shared.astype(c.dtype), c], -1) for c in chunks[1:]
      ]
    else:
      ys = chunks[1:]
    ch = self.width * mult[0]
    x = sn(nn.Dense(16 * ch, kernel_init=_ORTHO, dtype=dt))(chunks[0], train)
    x = x.reshape(z.shape[0], 4, 4, ch)
    res = 4
    for i, m in enumerate(mult[1:]):
      out = self.width * m
      bn = lambda name: LinearBatchNorm(  # pylint: disable=g-long-lambda
          self.sn, self.bn_axis_name, dt, name=name
      )
      h = nn.relu(bn(f"block{i}_bn1")(x, ys[i], train))
      h = _upsample(h)
      h = sn(_conv(out, 3, _ORTHO, dt, f"block{i}_conv1"))(h, train)
      h = nn.relu(bn(f"block{i}_bn2")(h, ys[i], train))
      h = sn(_conv(out, 3, _ORTHO, dt, f"block{i}_conv2"))(h, train)
      x = sn(_conv(out, 1, _ORTHO, dt, f"block{i}_sc"))(_upsample(x), train)
      x, res = x + h, res * 2
      if res == self.attention_res:
        x = Attention(self.sn, _ORTHO, dt, name=f"attention_{res}")(x, train)
    x = nn.relu(
        nn.BatchNorm(
            use_running_average=not train,
            momentum=0.9,
            epsilon=1e-5,
            dtype=dt,
            axis_name=self.bn_axis_name if train else None,
            name="bn_out",
        )(x)
    )
    x = sn(_conv(self.channels, 3, _ORTHO, dt, "conv_out"))(x, train)
    return jnp.tanh(x.astype(jnp.float32))


def num_chunks(resolution: int) -> int:
  """BigGAN's z chunks: one per G block, plus one for the dense layer."""
  return len(BIGGAN_G[resolution])
