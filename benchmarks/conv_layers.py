"""Per-layer times of DCGAN-64's convolutions on XLA, in each exact form.

  python benchmarks/conv_layers.py [--batch=64] [--out=benchmarks/results/conv_layers.md]

D's strided convolutions and G's transposed convolutions are one operator and
its transpose, on the same four shapes (G mirrors D). For each shape at the
given batch, the milliseconds of the three computations that training needs
(jaxgan/cpu/conv4x4.py), in every form:
- conv (D's forward, G's input gradient): XLA's convolution, im2col + matmul;
- conv_t (D's input gradient, G's forward): XLA's gradient of its
  convolution (what autodiff of `nn.Conv` runs; `nn.ConvTranspose` runs the
  same lhs-dilated convolution), one space-to-depth 2x2 convolution, one
  matmul + col2im;
- kernel_grad (both kernel gradients): XLA's gradient of its convolution,
  im2col + matmul, four space-to-depth matmuls, XLA's gradient summed over
  four batch slices;
- and each in oneDNN's kernels where it is installed (jaxgan/cpu/onednn.py).
Each form's output is checked against the first one's. With --torch, each
computation also gets PyTorch's own op on the same values (NCHW; `conv2d`,
`conv_transpose2d` and the weight gradient of `convolution_backward`, on
--threads threads): where jaxgan's best form trails it, the gap is in the
kernel, not in the step around it. This is the measurement behind `conv4x4.IM2COL_MAX_CHANNELS` and `IM2COL_MAX_OUTPUT`.
Isolated timings are a guide only: XLA runs independent operations of the
training step concurrently, so the step is what decides
(benchmarks/vs_pytorch.py).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from jaxgan.cpu import cpuinfo  # pylint: disable=g-import-not-at-top
from jaxgan.cpu import conv4x4, onednn  # pylint: disable=g-import-not-at-top


def conv_t_autodiff(x, w, dy):
  return jax.vjp(lambda x: conv4x4.conv_xla(x, w), x)[1](dy)[0]


def kernel_grad_autodiff(x, w, dy):
  return jax.vjp(lambda w: conv4x4.conv_xla(x, w), w)[1](dy)[0]


COMPUTATIONS = {
    "conv": [
        ("XLA convolution", lambda x, w, dy: conv4x4.conv_xla(x, w)),
        ("im2col + matmul", lambda x, w, dy: conv4x4.conv_im2col(x, w)),
    ],
    "conv_t": [
        ("XLA (autodiff)", conv_t_autodiff),
        (
            "space-to-depth conv",
            lambda x, w, dy: conv4x4.conv_t_space_to_depth(dy, w),
        ),
        ("matmul + col2im", lambda x, w, dy: conv4x4.conv_t_col2im(dy, w)),
    ],
    "kernel_grad": [
        ("XLA (autodiff)", kernel_grad_autodiff),
        ("im2col + matmul", lambda x, w, dy: conv4x4.kernel_grad_im2col(x, dy)),
        (
            "space-to-depth matmuls",
            lambda x, w, dy: conv4x4.kernel_grad_space_to_depth(x, dy),
        ),
        (
            "XLA in 4 batch slices",
            lambda x, w, dy: conv4x4.kernel_grad_xla_chunked(x, dy),
        ),
    ],
}
if "onednn" in conv4x4.FORMS["conv"]:  # Where oneDNN is installed.
  COMPUTATIONS["conv"].append(("oneDNN", lambda x, w, dy: onednn.conv(x, w)))
  COMPUTATIONS["conv_t"].append(
      ("oneDNN", lambda x, w, dy: onednn.conv_t(dy, w))
  )
  COMPUTATIONS["kernel_grad"].append(
      ("oneDNN", lambda x, w, dy: onednn.kernel_grad(x, dy))
  )


def _ms(fn, *args, repeats=5):
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return float(np.median(times)) * 1000


def torch_forms(x, w, dy):
  """PyTorch's op for each computation on the same values, as functions of
  nothing, returning NHWC / HWIO arrays (benchmark-only import)."""
  import torch  # pylint: disable=g-import-not-at-top

  f = torch.nn.functional
  xt = torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy())
  wt = torch.from_numpy(np.asarray(w).transpose(3, 2, 0, 1).copy())
  dyt = torch.from_numpy(np.asarray(dy).transpose(0, 3, 1, 2).copy())
  nhwc = lambda t: t.numpy().transpose(0, 2, 3, 1)

  def kernel_grad():
    dw = torch.ops.aten.convolution_backward(
        dyt,
        xt,
        wt,
        None,
        [2, 2],
        [1, 1],
        [1, 1],
        False,
        [0, 0],
        1,
        [False, True, False],
    )[1]
    return dw.numpy().transpose(2, 3, 1, 0)

  return {
      "conv": lambda: nhwc(f.conv2d(xt, wt, stride=2, padding=1)),
      "conv_t": lambda: nhwc(f.conv_transpose2d(dyt, wt, stride=2, padding=1)),
      "kernel_grad": kernel_grad,
  }


def _torch_ms(fn, repeats=5):
  import torch  # pylint: disable=g-import-not-at-top

  with torch.no_grad():
    fn()
    times = []
    for _ in range(repeats):
      start = time.perf_counter()
      fn()
      times.append(time.perf_counter() - start)
  return float(np.median(times)) * 1000


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument(
      "--torch", action="store_true", help="add PyTorch's op (benchmark-only)"
  )
  parser.add_argument("--threads", type=int, default=os.cpu_count())
  parser.add_argument("--out", default="")
  args = parser.parse_args()
  b = args.batch
  if args.torch:
    import torch  # pylint: disable=g-import-not-at-top

    torch.set_num_threads(args.threads)
  ident = cpuinfo.identity()
  lines = [
      f"{cpuinfo.describe(ident)} ({ident['cpuid']}); jax {jax.__version__}.",
      "",
      f"XLA:CPU, batch {b}, float32; ms per call (median of {args.repeats} "
      "after a warm-up), GFLOP/s, max relative difference to the first "
      "form. D layer = G layer in the other direction.",
      "",
      "| layer (D / G) | computation | form | ms | GFLOP/s | rel. diff |",
      "| --- | --- | --- | --- | --- | --- |",
  ]
  for h, cin, cout in [
      (64, 3, 64),
      (32, 64, 128),
      (16, 128, 256),
      (8, 256, 512),
  ]:
    keys = jax.random.split(jax.random.PRNGKey(h), 3)
    x = jax.random.normal(keys[0], (b, h, h, cin))
    w = 0.02 * jax.random.normal(keys[1], (4, 4, cin, cout))
    dy = jax.random.normal(keys[2], (b, h // 2, h // 2, cout))
    gflop = 2 * b * (h // 2) ** 2 * 16 * cin * cout / 1e9
    layer = (
        f"{h}x{h}x{cin} -> {h // 2}x{h // 2}x{cout} / "
        f"{h // 2}x{h // 2}x{cout} -> {h}x{h}x{cin}"
    )
    timed = torch_forms(x, w, dy) if args.torch else {}
    for computation, forms in COMPUTATIONS.items():
      reference = None
      for name, fn in forms + [("PyTorch", None)] * (computation in timed):
        if fn is None:  # PyTorch's op.
          out = jnp.asarray(timed[computation]())
          ms = _torch_ms(timed[computation], args.repeats)
        else:
          fn = jax.jit(fn)
          out = fn(x, w, dy)
          ms = _ms(fn, x, w, dy, repeats=args.repeats)
        reference = out if reference is None else reference
        err = float(jnp.abs(out - reference).max() / jnp.abs(reference).max())
        lines.append(
            f"| {layer} | {computation} | {name} | {ms:.1f} | "
            f"{gflop / ms * 1000:.0f} | {err:.0e} |"
        )
        print(lines[-1], flush=True)
  text = "\n".join(lines) + "\n"
  if args.out:
    with open(args.out, "w") as f:
      f.write(text)


if __name__ == "__main__":
  main()
