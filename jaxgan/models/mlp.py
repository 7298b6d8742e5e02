"""The MLP GAN of Goodfellow et al. 2014 (its MNIST model).

G: z -> 1200 ReLU -> 1200 ReLU -> H*W*C, tanh (the paper used a sigmoid
output on [0, 1] pixels; jaxgan scales all images to [-1, 1]).
Conditioning ('concat', as Mirza & Osindero's MNIST MLPs, or 'acgan'; G
has no batch norm for 'projection') and the InfoGAN Q head come from
models/conditioning.py.
D: maxout(240 units, 5 pieces) -> maxout(240, 5) -> 1 logit, with dropout
(0.2 on the input, 0.5 on hidden units) as in the paper's MNIST setup.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import conditioning
from jaxgan.models.conditioning import Conditioning


class Maxout(nn.Module):
  units: int
  pieces: int
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    y = nn.Dense(self.units * self.pieces, dtype=self.dtype)(x)
    return y.reshape(*y.shape[:-1], self.units, self.pieces).max(axis=-1)


class Generator(nn.Module):
  resolution: int = 28
  channels: int = 1
  width: int = 1200
  dtype: Any = None  # Computation dtype (train.dtype); parameters float32.
  cond: Conditioning = Conditioning()

  @nn.compact
  def __call__(
      self, z: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    del train
    x = conditioning.generator_input(z, labels, self.cond)
    x = nn.relu(nn.Dense(self.width, dtype=self.dtype)(x))
    x = nn.relu(nn.Dense(self.width, dtype=self.dtype)(x))
    x = nn.Dense(
        self.resolution * self.resolution * self.channels, dtype=self.dtype
    )(x)
    x = jnp.tanh(x.astype(jnp.float32))
    return x.reshape(
        z.shape[0], self.resolution, self.resolution, self.channels
    )


class Discriminator(nn.Module):
  resolution: int = 28
  width: int = 240
  pieces: int = 5
  input_dropout: float = 0.2
  dropout: float = 0.5
  dtype: Any = None
  cond: Conditioning = Conditioning()

  @nn.compact
  def __call__(
      self, x: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    x = x.reshape(x.shape[0], -1)
    x = conditioning.discriminator_input(x, labels, self.cond)
    x = nn.Dropout(self.input_dropout, deterministic=not train)(x)
    x = Maxout(self.width, self.pieces, self.dtype)(x)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    x = Maxout(self.width, self.pieces, self.dtype)(x)
    self.sow("intermediates", "features", x)  # For feature matching.
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    extra = conditioning.Heads(self.cond, dtype=self.dtype)(x, labels)
    return nn.Dense(1, dtype=self.dtype)(x)[:, 0].astype(jnp.float32) + extra
