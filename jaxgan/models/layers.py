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
these four small stride-1 convolutions are not. On inputs of 8x8 and more the
layer instead computes the same operator as one matmul followed by an
overlap-add (`conv_transpose_4x4s2_matmul`), which XLA:CPU runs faster there.
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


def conv_transpose_4x4s2_matmul(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """The same operator as `conv_transpose_4x4s2`, as one matmul + overlap-add.

  Every input pixel is multiplied by all 16 taps at once,
  ``Z[p, q, ky, kx] = x[p, q] @ kernel[ky, kx]`` (one (N*H*W, Cin) x
  (Cin, 16*Cout) matmul); output phase (a, b) then sums the four products
  that land on it, ``y[2m+a, 2n+b] = sum_{i,j} Z[m+a+i-1, n+b+j-1, a+2i,
  b+2j]`` (zero outside the input). Its gradients are matmuls too.
  """
  n, h, w, cin = x.shape
  cout = kernel.shape[-1]
  taps = kernel.transpose(2, 0, 1, 3).reshape(cin, 16 * cout)
  z = (x.reshape(n * h * w, cin) @ taps).reshape(n, h, w, 4, 4, cout)
  zp = jnp.pad(z, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0), (0, 0)))
  rows = []
  for a in (0, 1):
    cols = []
    for b in (0, 1):
      cols.append(sum(zp[:, a + i:a + i + h, b + j:b + j + w, a + 2 * i,
                         b + 2 * j, :] for i in (0, 1) for j in (0, 1)))
    rows.append(jnp.stack(cols, axis=3))  # (N, H, W, 2[b], Cout)
  return jnp.stack(rows, axis=2).reshape(n, 2 * h, 2 * w, cout)


# Inputs at least this large (height) use the matmul form: measured on
# XLA:CPU for DCGAN-64's layers at batch 64 (benchmarks/BENCHMARKS.md), the
# phase form's small stride-1 convolutions are faster on 4x4 inputs and up
# to 26x slower on the large, narrow layers (64 -> 3 channels at 32x32).
MATMUL_MIN_SIZE = 8


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
    if x.shape[1] >= MATMUL_MIN_SIZE:
      return conv_transpose_4x4s2_matmul(x, kernel)
    return conv_transpose_4x4s2(x, kernel)


def spectral(layer: nn.Module, enabled: bool, x: jax.Array, train: bool):
  """Applies `layer`, spectrally normalised (Miyato et al. 2018) if enabled.

  Must be called inside a compact module. The power-iteration vector lives in
  the 'batch_stats' collection, so it is updated by the discriminator step
  (one iteration per training-mode call) and checkpointed with the state.
  """
  if not enabled:
    return layer(x)
  return nn.SpectralNorm(layer)(x, update_stats=train)


def minibatch_stddev(x: jax.Array, group_size: int = 4) -> jax.Array:
  """Appends the minibatch standard deviation feature (Karras et al. 2018).

  The batch is split into groups of `group_size` samples (the whole batch
  when smaller); within each group the standard deviation of every feature
  over the samples is averaged to one number, which is appended to each of
  the group's samples as one more channel (a constant map for images).

  Args:
    x: (N, ..., C) activations; N is the per-device batch.
    group_size: samples per group; must divide N when smaller than N.
  """
  n = x.shape[0]
  g = min(group_size, n)
  if n % g:
    raise ValueError(f"minibatch stddev: per-device batch {n} is not "
                     f"divisible by the group size {g}")
  y = x.reshape(g, n // g, *x.shape[1:]).astype(jnp.float32)
  std = jnp.sqrt(jnp.var(y, axis=0) + 1e-8)  # (n/g, ...)
  std = jnp.mean(std, axis=tuple(range(1, std.ndim)))  # (n/g,)
  feature = jnp.tile(std, g).reshape(n, *([1] * (x.ndim - 1)))
  feature = jnp.broadcast_to(feature, (*x.shape[:-1], 1)).astype(x.dtype)
  return jnp.concatenate([x, feature], axis=-1)
