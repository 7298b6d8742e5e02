"""DCGAN's 4x4 stride-2 convolution and its transpose as Linen layers.

Both hold the `kernel` parameter (4, 4, in, out) of flax's `nn.Conv` /
`nn.ConvTranspose`, so a checkpoint trained with one form restores into
another. `impl` picks how they compute: 'xla' (the default on every
backend: XLA's convolution and its autodiff, what flax's layers compute), or
the CPU forms of jaxgan/cpu/conv4x4.py, 'matmul' (a fixed rule per kind of
CPU) and 'tuned' (timed on the machine), which `runtime.conv_impl` picks only
on the CPU backend. jaxgan.cpu is imported only when a CPU form is asked
for, so GPU and TPU runs never load it.
"""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

# 'xla' here; 'matmul' and 'tuned' in jaxgan/cpu/conv4x4.py.
IMPLS = ("xla", "matmul", "tuned")
_DN = ("NHWC", "HWIO", "NHWC")


def _cpu_forms():
  from jaxgan.cpu import conv4x4  # pylint: disable=g-import-not-at-top

  return conv4x4


class _Layer(nn.Module):
  """The `kernel` parameter (4, 4, in, out) both layers share with flax's.

  impl: 'xla' (XLA's convolution and its autodiff), 'matmul' (the CPU's
  custom-gradient forms by a fixed rule) or 'tuned' (the same, each
  computation in the form timed fastest on this machine).
  """

  features: int
  kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
  dtype: Any = None
  impl: str = "xla"

  def _input_and_kernel(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    if self.impl not in IMPLS:
      raise ValueError(f"impl={self.impl!r}; use one of {list(IMPLS)}")
    kernel = self.param(
        "kernel",
        self.kernel_init,
        (4, 4, x.shape[-1], self.features),
        jnp.float32,
    )
    if self.dtype is not None:
      return x.astype(self.dtype), kernel.astype(self.dtype)
    return x, kernel


class Conv4x4s2(_Layer):
  """D's down-sampling layer, `nn.Conv(f, (4, 4), 2, ((1, 1), (1, 1)),
  use_bias=False)` with the same `kernel` parameter (4, 4, in, out)."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x, kernel = self._input_and_kernel(x)
    if self.impl == "xla":
      return lax.conv_general_dilated(
          x, kernel, (2, 2), ((1, 1), (1, 1)), dimension_numbers=_DN
      )
    return _cpu_forms().conv4x4s2(x, kernel, self.impl == "tuned")


class ConvTranspose4x4s2(_Layer):
  """G's up-sampling layer, `nn.ConvTranspose(f, (4, 4), (2, 2), 'SAME',
  use_bias=False)` with the same `kernel` parameter (4, 4, in, out).

  flax's transposed convolution does not flip its kernel, so it is the CPU
  forms' `conv_t` with the kernel flipped in space and its channel axes
  swapped.
  """

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x, kernel = self._input_and_kernel(x)
    if self.impl == "xla":
      return lax.conv_transpose(
          x, kernel, (2, 2), "SAME", dimension_numbers=_DN
      )
    return _cpu_forms().conv_transpose4x4s2(
        x, kernel[::-1, ::-1].transpose(0, 1, 3, 2), self.impl == "tuned"
    )
