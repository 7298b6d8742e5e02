"""DCGAN's strided and transposed convolutions, in forms XLA:CPU runs well.

D's convolution (kernel 4, stride 2, padding 1: PyTorch's
`Conv2d(k=4, s=2, p=1)`, flax's `nn.Conv(f, (4, 4), 2, ((1, 1), (1, 1)))`)
and G's transposed convolution (flax's `nn.ConvTranspose(f, (4, 4), 2,
'SAME')`, PyTorch's `ConvTranspose2d(k=4, s=2, p=1)`) are one linear operator
and its transpose. Training them needs three computations, here written for
the convolution's kernel ``w`` of shape (4, 4, C, O), input ``x`` (N, H, W, C)
and output ``y`` (N, H/2, W/2, O):

- `conv(x, w) -> y`: D's forward; the input gradient of G's layer.
- `conv_t(y, w) -> x`: D's input gradient; G's forward.
- `kernel_grad(x, dy) -> dw`: the kernel gradient of both.

Autodiff of `lax.conv_general_dilated` and `lax.conv_transpose` gives the
same functions, but XLA:CPU runs the gradient convolutions (lhs- and
rhs-dilated) up to 25x slower than a forward convolution of the same size. Here
each of the three is computed in an exact form chosen per shape by
measurement on XLA:CPU (`benchmarks/conv_layers.py`, then the whole training
step; benchmarks/BENCHMARKS.md):

- where the convolution's input has few channels (the image layer) or its
  output is at most 4x4: one matmul each, `conv` and `kernel_grad` over
  im2col patches, `conv_t` followed by col2im (the overlap-add of its
  per-pixel products);
- otherwise `conv` is XLA's forward convolution, `conv_t` one stride-1 2x2
  convolution over the output's space-to-depth grid (the (py, px, c)
  phases of each 2x2 output block are its 4C channels), then
  depth-to-space, and `kernel_grad` four matmuls over shifted windows of the
  input's space-to-depth grid; on an AMD Zen 4, where a whole-step A/B
  measured it 8-9% faster, XLA's kernel gradient summed over four slices of
  the batch instead (`KERNEL_GRAD_BY_CPU`);
- on an AMD Zen 4, where the XLA forms above reach 45-85% of PyTorch's
  speed, all three run in oneDNN's kernels (jaxgan/cpu/onednn.py, the
  library PyTorch's CPU convolutions use), except `conv_t` where the rule
  above takes col2im (`ONEDNN_BY_CPU`).

`conv4x4s2` and `conv_transpose4x4s2` attach these as custom VJPs. Every form
equals the textbook operator within float32 rounding (tests/conv4x4_test.py).

That rule was measured on an AVX2-only EPYC (and, for the kernel gradient,
on a Zen 4) and does not carry over to other CPUs. `FORMS` names every form
of each computation (XLA's own, autodiff's for the two gradients, and the
ones above); with
`tuned=True` each computation takes the form jaxgan/cpu/autotune.py timed
fastest at its shapes on the machine that runs it (once per machine, cached
on disk), unless the rule's form is within `TUNED_MARGIN` of it.

The layers `Conv4x4s2` and `ConvTranspose4x4s2` take `impl`: 'matmul' for
the custom-gradient forms by the rule above, 'tuned' for them by timing,
'xla' for XLA's own convolution and its autodiff (what flax's layers
compute). All hold the same `kernel` parameter, so a checkpoint trained
with one restores into another; `runtime.conv_impl` picks 'matmul' on the
CPU backend and 'xla' elsewhere.
"""

import functools
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.cpu import autotune, cpuinfo
from jaxgan.cpu import manual_axes, onednn

_DN = ("NHWC", "HWIO", "NHWC")
# conv, conv_t and kernel_grad use their matmul forms (im2col, col2im) when
# the convolution's input has at most this many channels or its output at
# most this height.
IM2COL_MAX_CHANNELS = 4
IM2COL_MAX_OUTPUT = 4
# `tuned` leaves the rule's form only for one timed faster by more than this
# fraction: on an AVX-512 Xeon, taking every form that timed fastest in
# isolation made the DCGAN-64 step 5-7% slower than the rule, this margin
# 2% (one run; benchmarks/BENCHMARKS.md).
TUNED_MARGIN = 0.2


def _check_even(x: jax.Array):
  if x.shape[1] % 2 or x.shape[2] % 2:
    raise ValueError(
        f"4x4 stride-2 convolution needs an even input size, "
        f"got {x.shape[1]}x{x.shape[2]}"
    )


def _im2col(x: jax.Array) -> jax.Array:
  """(N, H, W, C) -> (N * H/2 * W/2, 16 * C) patches, taps (ky, kx, c)."""
  n, h, w, c = x.shape
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  ho, wo = h // 2, w // 2
  taps = [
      xp[:, i : i + 2 * ho : 2, j : j + 2 * wo : 2, :]
      for i in range(4)
      for j in range(4)
  ]
  return jnp.stack(taps, axis=3).reshape(n * ho * wo, 16 * c)


def _space_to_depth(x: jax.Array) -> jax.Array:
  """Pads by one and folds 2x2 blocks: (N, H, W, C) -> (N, H/2+1, W/2+1, 4C)."""
  n, h, w, c = x.shape
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  hb, wb = h // 2 + 1, w // 2 + 1
  xs = xp.reshape(n, hb, 2, wb, 2, c).transpose(0, 1, 3, 2, 4, 5)
  return xs.reshape(n, hb, wb, 4 * c)


def _kernel_to_depth(w: jax.Array) -> jax.Array:
  """(4, 4, C, O) -> (2, 2, 4C, O): tap (2qy+py, 2qx+px) to [qy, qx, (py, px, c)]."""
  _, _, c, o = w.shape
  return (
      w.reshape(2, 2, 2, 2, c, o)
      .transpose(0, 2, 1, 3, 4, 5)
      .reshape(2, 2, 4 * c, o)
  )


def _uses_im2col(c: int, ho: int) -> bool:
  return c <= IM2COL_MAX_CHANNELS or ho <= IM2COL_MAX_OUTPUT


def conv_xla(x: jax.Array, w: jax.Array) -> jax.Array:
  """`conv` as XLA's own convolution."""
  return lax.conv_general_dilated(
      x, w, (2, 2), ((1, 1), (1, 1)), dimension_numbers=_DN
  )


def conv_im2col(x: jax.Array, w: jax.Array) -> jax.Array:
  """`conv` as im2col + one (N*Ho*Wo, 16C) x (16C, O) matmul."""
  n, h, wd, c = x.shape
  y = _im2col(x) @ w.reshape(16 * c, -1)
  return y.reshape(n, h // 2, wd // 2, -1)


def conv(x: jax.Array, w: jax.Array, tuned: bool = False) -> jax.Array:
  """y = conv(x, w, stride 2, padding 1): (N, H, W, C) -> (N, H/2, W/2, O).

  tuned: the form timed fastest here (autotune); else the rule above.
  """
  _check_even(x)
  return _form("conv", tuned, x, w)


def conv_t_space_to_depth(y: jax.Array, w: jax.Array) -> jax.Array:
  """`conv_t` as one 2x2 convolution on the space-to-depth grid.

  `conv` is a 2x2 stride-1 convolution of the input's space-to-depth grid
  (`_space_to_depth`) with `_kernel_to_depth(w)`; its transpose is the full
  2x2 convolution of y (padded by one) with that kernel flipped and
  transposed, giving the grid's (Ho+1, Wo+1, 4C) values, which
  depth-to-space unfolds and the padding crop removes. The grid's border
  blocks are half cropped: (Ho+1)^2 / Ho^2 times the operator's FLOPs.
  """
  n, ho, wo, _ = y.shape
  c = w.shape[2]
  k = _kernel_to_depth(w)[::-1, ::-1].transpose(0, 1, 3, 2)  # (2, 2, O, 4C)
  g = lax.conv_general_dilated(
      y, k, (1, 1), ((1, 1), (1, 1)), dimension_numbers=_DN
  )
  g = g.reshape(n, ho + 1, wo + 1, 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
  g = g.reshape(n, 2 * ho + 2, 2 * wo + 2, c)
  return g[:, 1:-1, 1:-1, :]


def conv_t_col2im(y: jax.Array, w: jax.Array) -> jax.Array:
  """`conv_t` as one (N*Ho*Wo, O) x (O, 16C) matmul, then col2im.

  The transpose of `conv_im2col`: input pixel (i, j) adds y[i, j] w[ky, kx]^T
  to output pixel (2i + ky - 1, 2j + kx - 1). With ky = 2qy + py, that is
  phase (py, px) of 2x2 block (i + qy, j + qx) of the output padded by one,
  so col2im adds the four (qy, qx) slices of the products, shifted by
  (qy, qx) blocks, then depth-to-space unfolds the blocks and the crop
  removes the padding. Exactly the operator's FLOPs in one matmul.
  """
  n, ho, wo, o = y.shape
  c = w.shape[2]
  p = y.reshape(n * ho * wo, o) @ w.reshape(16 * c, o).T
  p = p.reshape(n, ho, wo, 2, 2, 2, 2, c)  # [n, i, j, qy, py, qx, px, c].
  blocks = sum(
      jnp.pad(
          p[:, :, :, qy, :, qx],
          ((0, 0), (qy, 1 - qy), (qx, 1 - qx), (0, 0), (0, 0), (0, 0)),
      )
      for qy in (0, 1)
      for qx in (0, 1)
  )  # [n, bi, bj, py, px, c].
  x = blocks.transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * ho + 2, 2 * wo + 2, c)
  return x[:, 1:-1, 1:-1, :]


def conv_t_xla(y: jax.Array, w: jax.Array) -> jax.Array:
  """`conv_t` as XLA's autodiff of its convolution computes it (and
  `nn.ConvTranspose` too): the lhs-dilated convolution of y with w flipped
  in space, its channel axes swapped, padded by 4 - 1 - 1 = 2."""
  return lax.conv_transpose(
      y,
      w,
      (2, 2),
      ((2, 2), (2, 2)),
      dimension_numbers=_DN,
      transpose_kernel=True,
  )


def conv_t(y: jax.Array, w: jax.Array, tuned: bool = False) -> jax.Array:
  """The transpose of `conv` in x: (N, Ho, Wo, O) -> (N, 2Ho, 2Wo, C)."""
  return _form("conv_t", tuned, y, w)


def kernel_grad_im2col(x: jax.Array, dy: jax.Array) -> jax.Array:
  """`kernel_grad` as one (16C, N*Ho*Wo) x (N*Ho*Wo, O) matmul."""
  n, ho, wo, o = dy.shape
  c = x.shape[-1]
  return (_im2col(x).T @ dy.reshape(n * ho * wo, o)).reshape(4, 4, c, o)


def kernel_grad_space_to_depth(x: jax.Array, dy: jax.Array) -> jax.Array:
  """`kernel_grad` as four (4C, N*Ho*Wo) x (N*Ho*Wo, O) matmuls, one per
  2x2 block of taps, over shifted windows of the space-to-depth grid."""
  n, ho, wo, o = dy.shape
  c = x.shape[-1]
  xs = _space_to_depth(x)
  dyf = dy.reshape(n * ho * wo, o)
  parts = [
      xs[:, qy : qy + ho, qx : qx + wo, :].reshape(n * ho * wo, 4 * c).T @ dyf
      for qy in (0, 1)
      for qx in (0, 1)
  ]
  # [qy, qx, py, px, c, o] -> [(qy, py), (qx, px), c, o].
  dw = jnp.stack(parts).reshape(2, 2, 2, 2, c, o).transpose(0, 2, 1, 3, 4, 5)
  return dw.reshape(4, 4, c, o)


def kernel_grad_xla(x: jax.Array, dy: jax.Array) -> jax.Array:
  """`kernel_grad` as XLA's autodiff of its convolution computes it: an
  rhs-dilated convolution of x (batch and channel axes swapped) with dy
  dilated by the stride, dw[ky, kx, c, o] = sum x_pad[n, 2i+ky, 2j+kx, c]
  dy[n, i, j, o]."""
  return lax.conv_general_dilated(
      x,
      dy,
      (1, 1),
      ((1, 1), (1, 1)),
      rhs_dilation=(2, 2),
      dimension_numbers=("CHWN", "IHWO", "HWNC"),
  )


# kernel_grad_xla_chunked's number of batch slices (fewer where the batch
# has no such divisor).
KERNEL_GRAD_CHUNKS = 4


def kernel_grad_xla_chunked(x: jax.Array, dy: jax.Array) -> jax.Array:
  """`kernel_grad_xla` summed over KERNEL_GRAD_CHUNKS slices of the batch:
  the same sum in another order. On a Zen 4 EPYC faster than one call and
  than the space-to-depth matmuls on DCGAN-64's inner layers
  (benchmarks/BENCHMARKS.md)."""
  n = x.shape[0]
  k = max(d for d in range(1, KERNEL_GRAD_CHUNKS + 1) if n % d == 0)
  m = n // k
  return sum(
      kernel_grad_xla(x[i * m : (i + 1) * m], dy[i * m : (i + 1) * m])
      for i in range(k)
  )


def kernel_grad(x: jax.Array, dy: jax.Array, tuned: bool = False) -> jax.Array:
  """d<conv(x, w), dy>/dw: (N, H, W, C), (N, H/2, W/2, O) -> (4, 4, C, O)."""
  return _form("kernel_grad", tuned, x, dy)


# Every exact form of each computation, by name: what `tuned` chooses from.
# 'onednn' (oneDNN's kernels, jaxgan/cpu/onednn.py) is there where its
# compiler, headers and library are installed.
FORMS = {
    "conv": {"xla": conv_xla, "im2col": conv_im2col},
    "conv_t": {
        "xla": conv_t_xla,
        "space_to_depth": conv_t_space_to_depth,
        "col2im": conv_t_col2im,
    },
    "kernel_grad": {
        "xla": kernel_grad_xla,
        "xla_chunked": kernel_grad_xla_chunked,
        "im2col": kernel_grad_im2col,
        "space_to_depth": kernel_grad_space_to_depth,
    },
}
if onednn.installed():
  FORMS["conv"]["onednn"] = onednn.conv
  FORMS["conv_t"]["onednn"] = onednn.conv_t
  FORMS["kernel_grad"]["onednn"] = onednn.kernel_grad


def _forms(computation: str, *args: jax.Array) -> dict[str, Callable]:
  """FORMS[computation] less the forms that cannot run on `args` here
  (oneDNN's off float32, where it could not be built, or off the CPU)."""
  forms = FORMS[computation]
  f32 = all(a.dtype == jnp.float32 for a in args)
  if "onednn" in forms and not (f32 and onednn.available()):
    forms = {k: v for k, v in forms.items() if k != "onednn"}
  return forms


# The rule's kernel gradient for the inner layers on the CPU kinds where a
# whole-step A/B chose another form than the AVX2 EPYC's space-to-depth
# matmuls: (cpuinfo test, form). Zen 4: the DCGAN-64 / DCGAN-32 iteration
# 7.8% / 9.4% faster with XLA's gradient in batch chunks (7 alternating
# repeats, every one faster), 4.3% / 8.1% in a second run (5 of 7 faster;
# benchmarks/rule_ab.py, benchmarks/BENCHMARKS.md).
KERNEL_GRAD_BY_CPU = ((cpuinfo.is_zen4, "xla_chunked"),)

# The CPU kinds where the rule runs every computation in oneDNN's form
# (where it is available), except `conv_t` where the XLA rule takes col2im
# (into an input of few channels, from an output of at most 4x4). Zen 4:
# the DCGAN-64 iteration 1.19x PyTorch eager against the XLA forms' 0.94x in
# the same run, DCGAN-32 1.24x against 1.10x (benchmarks/BENCHMARKS.md).
ONEDNN_BY_CPU = (cpuinfo.is_zen4,)


def _rule_takes_onednn(computation: str, form: str, *args: jax.Array) -> bool:
  if computation == "conv_t" and form == "col2im":
    return False
  if not any(test() for test in ONEDNN_BY_CPU):
    return False
  return "onednn" in _forms(computation, *args)


def _inner_kernel_grad() -> str:
  for test, form in KERNEL_GRAD_BY_CPU:
    if test():
      return form
  return "space_to_depth"


def rule_form(computation: str, a: jax.Array, b: jax.Array) -> str:
  """The form the fixed rule ('matmul') takes for `computation`'s arguments:
  on the CPU kinds of ONEDNN_BY_CPU, oneDNN's (`_rule_takes_onednn`); else
  the matmul forms for an input of few channels or an output of at most
  4x4, else XLA's convolution for `conv`, the space-to-depth form for
  `conv_t` and for `kernel_grad` the space-to-depth matmuls or, on the CPU
  kinds of KERNEL_GRAD_BY_CPU, their form."""
  form = _xla_rule_form(computation, a, b)
  return "onednn" if _rule_takes_onednn(computation, form, a, b) else form


def _xla_rule_form(computation: str, a: jax.Array, b: jax.Array) -> str:
  if computation == "conv":  # (x, w)
    small = _uses_im2col(a.shape[-1], a.shape[1] // 2)
    return "im2col" if small else "xla"
  if computation == "conv_t":  # (y, w)
    small = _uses_im2col(b.shape[2], a.shape[1])
    return "col2im" if small else "space_to_depth"
  small = _uses_im2col(a.shape[-1], b.shape[1])  # kernel_grad: (x, dy)
  return "im2col" if small else _inner_kernel_grad()


def tuned_form(computation: str, *args: jax.Array) -> str:
  """The form `tuned` takes: the one timed fastest here (autotune), unless
  the rule's form is within TUNED_MARGIN of it."""
  return autotune.choose(
      f"conv4x4s2.{computation}",
      _forms(computation, *args),
      args,
      prefer=rule_form(computation, *args),
      margin=TUNED_MARGIN,
  )


def _form(computation: str, tuned: bool, *args: jax.Array) -> jax.Array:
  if tuned:
    name = tuned_form(computation, *args)
  else:
    name = rule_form(computation, *args)
  return FORMS[computation][name](*args)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv4x4s2(x: jax.Array, w: jax.Array, tuned: bool = False) -> jax.Array:
  """D's convolution `conv(x, w)` with the gradients `conv_t`, `kernel_grad`;
  tuned: each in the form timed fastest here."""
  return conv(x, w, tuned)


def _conv_fwd(x, w, tuned):
  return conv(x, w, tuned), (x, w)


def _conv_bwd(tuned, res, dy):
  x, w = res
  return (
      manual_axes.cotangent(conv_t(dy, w, tuned), x),
      manual_axes.cotangent(kernel_grad(x, dy, tuned), w),
  )


conv4x4s2.defvjp(_conv_fwd, _conv_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_transpose4x4s2(
    y: jax.Array, w: jax.Array, tuned: bool = False
) -> jax.Array:
  """G's transposed convolution `conv_t(y, w)`; w is in `conv`'s layout."""
  return conv_t(y, w, tuned)


def _conv_t_fwd(y, w, tuned):
  return conv_t(y, w, tuned), (y, w)


def _conv_t_bwd(tuned, res, dx):
  y, w = res
  # conv_t is linear in y with transpose conv; its kernel gradient is
  # conv's with the roles of input and output gradient swapped.
  return (
      manual_axes.cotangent(conv(dx, w, tuned), y),
      manual_axes.cotangent(kernel_grad(dx, y, tuned), w),
  )


conv_transpose4x4s2.defvjp(_conv_t_fwd, _conv_t_bwd)
