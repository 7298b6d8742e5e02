"""D's passes over the real and the fake batch: two calls or one?

  python benchmarks/d_one_call.py [--models=dcgan64,dcgan32] [--repeats=7]

The D update runs D forward and backward on the real batch and on the fake
batch in two calls, so batch norm normalises each on its own statistics
(jaxgan/gan/step.py). One call on their concatenation does the same
convolutions on a batch twice the size, which some CPUs run faster; batch
norm would then need per-half statistics. This times the gradient of D's
summed outputs with respect to its parameters both ways, in one process,
alternating (median of --repeats, --steps calls each, compiled first),
with the model's XLA flags and convolution forms as `jaxgan.main` uses
them. One call's whole-batch statistics cost no more than per-half ones,
so if it is not faster, building per-half statistics cannot be either.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top

from jaxgan.cpu import xla_flags
from jaxgan.cpu import cpuinfo

runtime.set_xla_flags(xla_flags.for_model("dcgan"))
runtime.quiet_tpu_probe()

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from jaxgan.experiment import builder as experiment  # pylint: disable=g-import-not-at-top
from jaxgan.models import apply
import bench_configs  # pylint: disable=g-import-not-at-top


def timed(name: str, batch: int, steps: int, repeats: int) -> dict:
  exp = experiment.build(
      bench_configs.jaxgan_config(name, batch), runtime.make_mesh()
  )
  state = exp.initial_state()
  d, params, stats = exp.discriminator, state.d_params, state.d_batch_stats
  rng = np.random.default_rng(0)
  real, fake = (
      jnp.asarray(rng.uniform(-1, 1, (batch, *exp.data_shape)), jnp.float32)
      for _ in range(2)
  )

  def out_sum(p, x):
    return jnp.sum(apply.apply_model(d, p, stats, x, train=True)[0])

  two = jax.jit(jax.grad(lambda p, r, f: out_sum(p, r) + out_sum(p, f)))
  one = jax.jit(jax.grad(lambda p, r, f: out_sum(p, jnp.concatenate([r, f]))))
  times = {"two calls": [], "one call": []}
  fns = {"two calls": two, "one call": one}
  for fn in fns.values():
    jax.block_until_ready(fn(params, real, fake))
  for _ in range(repeats):
    for label, fn in fns.items():
      start = time.perf_counter()
      for _ in range(steps):
        grads = fn(params, real, fake)
      jax.block_until_ready(grads)
      times[label].append((time.perf_counter() - start) / steps)
  ratios = [o / t for o, t in zip(times["one call"], times["two calls"])]
  return {
      "conv_impl": exp.conv_impl,
      **{k: statistics.median(v) for k, v in times.items()},
      "ratio": statistics.median(ratios),
      "ratio_range": (min(ratios), max(ratios)),
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", default="dcgan64,dcgan32")
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--steps", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=7)
  args = parser.parse_args()
  print(cpuinfo.describe())
  for name in args.models.split(","):
    r = timed(name, args.batch, args.steps, args.repeats)
    lo, hi = r["ratio_range"]
    print(
        f"{name} (conv_impl {r['conv_impl']}, batch {args.batch} real + "
        f"{args.batch} fake): two calls {1e3 * r['two calls']:.0f} ms, one "
        f"call {1e3 * r['one call']:.0f} ms; one / two {r['ratio']:.3f} "
        f"({lo:.3f}-{hi:.3f}, median of {args.repeats})"
    )


if __name__ == "__main__":
  main()
