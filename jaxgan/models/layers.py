"""Layers that XLA:CPU computes well, equal to their textbook counterparts.

`ConvTranspose4x4s2` is the DCGAN fractionally-strided convolution (kernel 4,
stride 2, output twice the input; PyTorch's `ConvTranspose2d(k=4, s=2, p=1)`).
Its parameter is the same `kernel` of shape (4, 4, in, out) that
`flax.linen.ConvTranspose(features, (4, 4), strides=(2, 2), padding='SAME')`
holds, and it computes the same function (tests/layers_test.py checks this on
random inputs and kernels). It is evaluated as the exact phase decomposition of
the stride-2 transposed convolution: each of the four output phases
``y[2m+a, 2n+b]`` is a 2x2 stride-1 convolution of the input padded by one
with the taps ``kernel[a::2, b::2]``; the phases are then interleaved
(depth-to-space). XLA:CPU's gradient of the lhs-dilated convolution behind
`nn.ConvTranspose` is ~25x slower than its forward pass; the gradients of
these four small stride-1 convolutions are not.
"""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax


def conv_transpose_4x4s2(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """Phase-decomposed `lax.conv_transpose(x, kernel, (2, 2), 'SAME')`.

  Args:
    x: (N, H, W, Cin) input.
    kernel: (4, 4, Cin, Cout) kernel in flax ConvTranspose layout (not flipped).

  Returns:
    (N, 2H, 2W, Cout) output.
  """
  n, h, w, _ = x.shape
  cout = kernel.shape[-1]
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  dn = ("NHWC", "HWIO", "NHWC")
  rows = []
  for a in (0, 1):
    cols = []
    for b in (0, 1):
      window = xp[:, a:a + h + 1, b:b + w + 1, :]
      cols.append(lax.conv_general_dilated(
          window, kernel[a::2, b::2], (1, 1), "VALID", dimension_numbers=dn))
    rows.append(jnp.stack(cols, axis=3))  # (N, H, W, 2[b], Cout)
  y = jnp.stack(rows, axis=2)  # (N, H, 2[a], W, 2[b], Cout)
  return y.reshape(n, 2 * h, 2 * w, cout)


class ConvTranspose4x4s2(nn.Module):
  """DCGAN up-sampling layer: transposed conv, kernel 4, stride 2, no bias."""
  features: int
  kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param("kernel", self.kernel_init,
                        (4, 4, x.shape[-1], self.features), jnp.float32)
    if self.dtype is not None:
      x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    return conv_transpose_4x4s2(x, kernel)
