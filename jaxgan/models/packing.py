"""PacGAN's packed discriminator (Lin et al. 2018): D judges m samples at once.

`model.d_pack = m` wraps any unconditional discriminator in `Packed`: the
batch (N, ..., C) is regrouped into N/m packs of m consecutive samples,
concatenated along the last axis (the channels of images, the coordinates
of 2-D points), and the wrapped D sees the packs, returning one logit per
pack. Real and generated images reach D in separate calls (step.py), so a
pack is all real or all generated, as in the paper's Sec. 3; its 2-D code
builds a fake pack from m independent noise batches and a real pack from m
independent data draws, which for i.i.d. samples is the same distribution as
m consecutive samples of one batch. Packs are formed within each device's
slice of the batch (whose size m divides), so 1 device computes what N do.

The batch keeps counting samples: `train.batch_size = m * B` gives D B packs
per update (the paper's PacGAN-m: B = 100 packs of m samples).
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def pack(x: jax.Array, m: int) -> jax.Array:
  """(N, ..., C) -> (N/m, ..., m*C): pack p concatenates samples p*m, ...,
  p*m + m - 1 along the last axis, in that order."""
  if m == 1:
    return x
  n = x.shape[0]
  if n % m:
    raise ValueError(f"a batch of {n} does not divide into packs of {m}")
  x = x.reshape(n // m, m, *x.shape[1:])
  x = jnp.moveaxis(x, 1, -2)  # (N/m, ..., m, C)
  return x.reshape(*x.shape[:-2], m * x.shape[-1])


def unpack(x: jax.Array, m: int) -> jax.Array:
  """The inverse of `pack`: (N/m, ..., m*C) -> (N, ..., C)."""
  if m == 1:
    return x
  c = x.shape[-1] // m
  x = x.reshape(*x.shape[:-1], m, c)
  x = jnp.moveaxis(x, -2, 1)  # (N/m, m, ..., C)
  return x.reshape(x.shape[0] * m, *x.shape[2:])


class Packed(nn.Module):
  """`inner` applied to packs of `m` samples: (N, ...) -> (N/m,) logits.

  Other keyword inputs (e.g. a progressive model's alpha) pass through; what
  `inner` sows (its last hidden layer for feature matching) is per pack.
  """

  inner: nn.Module
  m: int = 1

  def __call__(self, x: jax.Array, train: bool = True, **kwargs: Any):
    return self.inner(pack(x, self.m), train=train, **kwargs)
