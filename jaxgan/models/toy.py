"""MLPs for the 2-D mode-collapse benchmark (data/toy.py).

The networks of PacGAN's 2-D experiments (Lin et al. 2018, Sec. 5.1, after
VEEGAN and ALI): G has four hidden layers of 400 ReLU units and a linear 2-D
output; D has three hidden layers of 200 linear-maxout units with 5 pieces.
One change: PacGAN's G has batch norm; without it the grid was learnt faster
here (measured with the non-saturating loss on toy:grid25 at step 5,000: 20
modes without against 13 with). Both networks work in units of the data's
scale (G's output is multiplied by it, D's input divided), as if the data
were standardised, as the WGAN-GP toy code does. BEGAN's discriminator is an autoencoder
(`Autoencoder`): it returns each sample's L1 reconstruction error instead of
a logit.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import minibatch_stddev, spectral


class Generator(nn.Module):
  """z (N, z_dim) -> points (N, dim), in units of `scale`."""

  width: int = 400
  depth: int = 4
  dim: int = 2
  scale: float = 1.0
  dtype: Any = None  # Computation dtype (train.dtype); parameters float32.

  @nn.compact
  def __call__(
      self, z: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    del train, labels
    x = z
    for _ in range(self.depth):
      x = nn.relu(nn.Dense(self.width, dtype=self.dtype)(x))
    return self.scale * nn.Dense(self.dim, dtype=self.dtype)(x).astype(
        jnp.float32
    )


class Discriminator(nn.Module):
  """points (N, dim) -> logits (N,); linear-maxout hidden layers."""

  width: int = 200
  depth: int = 3
  pieces: int = 5
  spectral_norm: bool = False
  minibatch_std: bool = False
  scale: float = 1.0
  dtype: Any = None

  @nn.compact
  def __call__(
      self, x: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    del labels
    x = x / self.scale
    for i in range(self.depth):
      if self.minibatch_std and i == self.depth - 1:
        x = minibatch_stddev(x)
      y = spectral(
          nn.Dense(self.width * self.pieces, dtype=self.dtype),
          self.spectral_norm,
          x,
          train,
      )
      x = y.reshape(*y.shape[:-1], self.width, self.pieces).max(axis=-1)
    # Feature matching (Salimans et al. 2016) reads D's last hidden layer.
    self.sow("intermediates", "features", x)
    return spectral(
        nn.Dense(1, dtype=self.dtype), self.spectral_norm, x, train
    )[:, 0].astype(jnp.float32)


class Autoencoder(nn.Module):
  """BEGAN's discriminator for points: per-sample L1 reconstruction error.

  An ELU MLP encoder to a `code_dim` embedding and a mirrored decoder
  (Berthelot et al. 2017 use ELU convolutions for images); the output is
  mean |x - Dec(Enc(x))| over the coordinates, shape (N,). The code must be
  narrower than the data (1 < 2): an autoencoder with a wider code learns the
  identity, reconstructs every point equally well and gives G no signal
  (measured: 0/8 ring modes with an 8-d code).
  """

  width: int = 200
  depth: int = 2
  code_dim: int = 1
  scale: float = 1.0
  dtype: Any = None

  @nn.compact
  def __call__(
      self, x: jax.Array, train: bool = True, labels=None
  ) -> jax.Array:
    del train, labels
    x = x / self.scale
    dense = lambda n: nn.Dense(n, dtype=self.dtype)  # pylint: disable=unnecessary-lambda-assignment
    h = x
    for _ in range(self.depth):
      h = nn.elu(dense(self.width)(h))
    h = dense(self.code_dim)(h)
    for _ in range(self.depth):
      h = nn.elu(dense(self.width)(h))
    reconstruction = dense(x.shape[-1])(h).astype(jnp.float32)
    return jnp.mean(jnp.abs(x - reconstruction), axis=-1)
