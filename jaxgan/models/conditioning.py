"""Class conditioning and InfoGAN heads, shared by the image models.

`model.conditioning` picks how labels enter the models:

- 'concat' (Mirza & Osindero 2014): the one-hot label is joined to z and to
  the discriminator's input (as constant maps beside the image channels, or
  beside the flattened input of an MLP).
- 'projection' (Miyato & Koyama 2018): G's batch norms take a per-class
  scale and shift (conditional batch norm); D adds the inner product of a
  class embedding with its last hidden layer to its logit.
- 'acgan' (Odena et al. 2017): G gets the one-hot label with z; D is
  unconditional but has a second head that classifies its input
  (`class_logits`), trained by the cross-entropy terms of gan/heads.py.

InfoGAN (Chen et al. 2016) needs no labels: G's input carries latent codes
(jaxgan/gan/latent.py) and D has a Q head on its shared trunk (`info`: the
categorical code's logits, then the continuous codes' means).

The heads are sown as ('intermediates', name), like D's 'features', so a
discriminator still returns one logit per example.
"""

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import LEAKY_SLOPE, spectral

MODES = ("none", "concat", "projection", "acgan")


@dataclasses.dataclass(frozen=True)
class Conditioning:
  """What a generator/discriminator pair is conditioned on.

  Attributes:
    mode: one of MODES.
    num_classes: label classes (with a mode other than 'none').
    info_categorical: categories of InfoGAN's categorical code; 0 = none.
    info_continuous: InfoGAN's continuous codes, U(-1, 1) each; 0 = none.
  """

  mode: str = "none"
  num_classes: int = 0
  info_categorical: int = 0
  info_continuous: int = 0

  @property
  def labelled(self) -> bool:
    """Whether the models and the step take class labels."""
    return self.mode != "none"

  @property
  def info(self) -> bool:
    return self.info_categorical + self.info_continuous > 0

  @property
  def code_dim(self) -> int:
    """Width of the InfoGAN codes appended to z (one-hot + continuous)."""
    return self.info_categorical + self.info_continuous


def from_config(config) -> Conditioning:
  """The config's conditioning (computed once, by experiment.build)."""
  m = config.model
  return Conditioning(
      mode=m.conditioning,
      num_classes=m.num_classes if m.conditioning != "none" else 0,
      info_categorical=m.info_categorical,
      info_continuous=m.info_continuous,
  )


def _one_hot(labels: jax.Array, cond: Conditioning, dtype) -> jax.Array:
  return jax.nn.one_hot(labels, cond.num_classes, dtype=dtype)


def generator_input(z: jax.Array, labels, cond: Conditioning) -> jax.Array:
  """z, joined by the one-hot label for 'concat' and 'acgan'."""
  if cond.mode in ("concat", "acgan"):
    return jnp.concatenate([z, _one_hot(labels, cond, z.dtype)], axis=-1)
  return z


def discriminator_input(x: jax.Array, labels, cond: Conditioning) -> jax.Array:
  """x (N, H, W, C) or flattened (N, F), joined by the label for 'concat'."""
  if cond.mode != "concat":
    return x
  y = _one_hot(labels, cond, x.dtype)
  if x.ndim == 4:
    y = jnp.broadcast_to(y[:, None, None, :], (*x.shape[:3], y.shape[-1]))
  return jnp.concatenate([x, y], axis=-1)


class ConditionalBatchNorm(nn.Module):
  """Batch norm whose scale and shift are looked up by class (Dumoulin et
  al. 2017; the projection-discriminator G): scales ~ N(1, init_std), shifts
  0, normalisation statistics shared by all classes."""

  num_classes: int
  init_std: float = 0.02
  axis_name: str | None = None
  dtype: Any = None

  @nn.compact
  def __call__(self, x, labels, train: bool):
    x = nn.BatchNorm(
        use_running_average=not train,
        momentum=0.9,
        epsilon=1e-5,
        use_scale=False,
        use_bias=False,
        dtype=self.dtype,
        axis_name=self.axis_name if train else None,
    )(x)
    ch = x.shape[-1]
    std = self.init_std
    scale = nn.Embed(
        self.num_classes,
        ch,
        name="scale",
        embedding_init=lambda k, s, d=jnp.float32: 1.0
        + std * jax.random.normal(k, s, d),
    )(labels)
    shift = nn.Embed(
        self.num_classes, ch, name="shift", embedding_init=nn.initializers.zeros
    )(labels)
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (ch,)
    return x * scale.reshape(shape).astype(x.dtype) + shift.reshape(
        shape
    ).astype(x.dtype)


class Heads(nn.Module):
  """D's conditional parts on its flattened last hidden layer h (N, F).

  Returns the projection term (N,) to add to the logit ('projection'; zeros
  otherwise) and sows 'class_logits' ('acgan') and 'info' (InfoGAN Q: a
  128-unit LeakyReLU layer, with batch norm if `q_batch_norm`, then the
  categorical logits and the continuous means). With `spectral_norm` (D's
  model.d_spectral_norm) the projection's class embedding is spectrally
  normalised too, as in the SNGAN-projection reference.
  """

  cond: Conditioning
  init_std: float = 0.02
  dtype: Any = None
  spectral_norm: bool = False
  q_batch_norm: bool = False  # Batch norm on Q's hidden layer (InfoGAN's).
  bn_axis_name: str | None = None
  leaky_slope: float = LEAKY_SLOPE  # Of Q's hidden layer.

  @nn.compact
  def __call__(self, h: jax.Array, labels, train: bool = False) -> jax.Array:
    cond, init = self.cond, nn.initializers.normal(self.init_std)
    out = jnp.zeros(h.shape[:1], jnp.float32)
    if cond.mode == "projection":
      embed = spectral(
          nn.Embed(
              cond.num_classes,
              h.shape[-1],
              name="projection",
              embedding_init=init,
          ),
          self.spectral_norm,
          labels,
          train,
      )
      out = jnp.sum(embed.astype(jnp.float32) * h.astype(jnp.float32), -1)
    if cond.mode == "acgan":
      logits = nn.Dense(
          cond.num_classes,
          kernel_init=init,
          dtype=self.dtype,
          name="classifier",
      )(h)
      self.sow("intermediates", "class_logits", logits.astype(jnp.float32))
    if cond.info:
      q = nn.Dense(
          128,
          use_bias=not self.q_batch_norm,
          kernel_init=init,
          dtype=self.dtype,
          name="q_hidden",
      )(h)
      if self.q_batch_norm:
        q = nn.BatchNorm(
            use_running_average=not train,
            momentum=0.9,
            epsilon=1e-5,
            dtype=self.dtype,
            axis_name=self.bn_axis_name if train else None,
            name="q_norm",
        )(q)
      q = nn.leaky_relu(q, self.leaky_slope)
      q = nn.Dense(
          cond.code_dim, kernel_init=init, dtype=self.dtype, name="q_out"
      )(q)
      self.sow("intermediates", "info", q.astype(jnp.float32))
    return out
