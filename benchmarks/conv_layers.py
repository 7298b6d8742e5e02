"""Per-layer times of DCGAN-64's convolutions on XLA, in each exact form.

  python benchmarks/conv_layers.py [--batch=64] [--out=benchmarks/results/conv_layers.md]

For every layer of DCGAN-64 (widths 64) at the given batch: milliseconds of
the forward pass and of forward + gradients (input and kernel) of
- D's stride-2 convolutions: `lax.conv_general_dilated` and im2col + matmul;
- G's stride-2 transposed convolutions: the phase form
  (`layers.conv_transpose_4x4s2`, four 2x2 convolutions) and the matmul +
  overlap-add form (`layers.conv_transpose_4x4s2_matmul`), with
  `lax.conv_transpose` (what `nn.ConvTranspose` runs) for reference.
Each form's output is checked against the first one's. This is the
measurement behind `layers.MATMUL_MIN_SIZE`.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
from jax import lax  # pylint: disable=g-import-not-at-top

from jaxgan.models import layers  # pylint: disable=g-import-not-at-top

DN = ("NHWC", "HWIO", "NHWC")


def conv_lax(x, w):
  return lax.conv_general_dilated(x, w, (2, 2), ((1, 1), (1, 1)),
                                  dimension_numbers=DN)


def conv_im2col(x, w):
  n, h, wd, c = x.shape
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  ho, wo = h // 2, wd // 2
  cols = [xp[:, i:i + 2 * ho:2, j:j + 2 * wo:2, :] for i in range(4)
          for j in range(4)]
  patches = jnp.stack(cols, axis=3).reshape(n * ho * wo, 16 * c)
  return (patches @ w.reshape(16 * c, -1)).reshape(n, ho, wo, -1)


def conv_transpose_lax(x, w):
  return lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=DN)


def _ms(fn, *args, n=5):
  jax.block_until_ready(fn(*args))
  start = time.perf_counter()
  for _ in range(n):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - start) / n * 1000


def measure(forms, shape_in, cout):
  key_x, key_w = jax.random.split(jax.random.PRNGKey(0))
  x = jax.random.normal(key_x, shape_in)
  w = 0.02 * jax.random.normal(key_w, (4, 4, shape_in[-1], cout))
  reference = None
  rows = []
  for name, fn in forms:
    out = jax.jit(fn)(x, w)
    if reference is None:
      reference = out
    err = float(jnp.abs(out - reference).max() / jnp.abs(reference).max())
    grad = jax.jit(jax.grad(lambda x, w, fn=fn: jnp.sum(fn(x, w) ** 2),
                            argnums=(0, 1)))
    rows.append((name, _ms(jax.jit(fn), x, w), _ms(grad, x, w), err))
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--out", default="")
  args = parser.parse_args()
  b = args.batch
  lines = [f"XLA:CPU, batch {b}, float32; ms per call (median of 5 after a "
           "warm-up); max relative difference to the first form.", "",
           "| layer | form | forward ms | forward + gradients ms | "
           "rel. diff |", "| --- | --- | --- | --- | --- |"]
  d_forms = [("lax.conv", conv_lax), ("im2col + matmul", conv_im2col)]
  for h, cin, cout in [(64, 3, 64), (32, 64, 128), (16, 128, 256),
                       (8, 256, 512)]:
    for name, fwd, both, err in measure(d_forms, (b, h, h, cin), cout):
      lines.append(f"| D {h}x{h}x{cin} -> {h // 2}x{h // 2}x{cout} | {name} "
                   f"| {fwd:.1f} | {both:.1f} | {err:.0e} |")
  g_forms = [("phase (4 x 2x2 conv)", layers.conv_transpose_4x4s2),
             ("matmul + overlap-add", layers.conv_transpose_4x4s2_matmul),
             ("lax.conv_transpose", conv_transpose_lax)]
  for h, cin, cout in [(4, 512, 256), (8, 256, 128), (16, 128, 64),
                       (32, 64, 3)]:
    for name, fwd, both, err in measure(g_forms, (b, h, h, cin), cout):
      lines.append(f"| G {h}x{h}x{cin} -> {2 * h}x{2 * h}x{cout} | {name} "
                   f"| {fwd:.1f} | {both:.1f} | {err:.0e} |")
  text = "\n".join(lines) + "\n"
  print(text)
  if args.out:
    with open(args.out, "w") as f:
      f.write(text)


if __name__ == "__main__":
  main()
