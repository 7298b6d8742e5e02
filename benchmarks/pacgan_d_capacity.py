"""How fast PacGAN's discriminator learns the 25-Gaussian grid's precision.

  python benchmarks/pacgan_d_capacity.py [--packs=1,2,4] [--steps=3000]

D alone (the toy MLP of configs/toy_grid25.py, packed by
models/packing.py) is trained to tell grid samples (std 0.05) from
near-misses: points on a circle of radius `--offset` (0.3 = 6 std) around
a random centre, the samples a generator that is almost right makes.
Adam 2e-4 / beta1 0.5 (the config's), batch 100 packs of each, the
non-saturating D loss. Prints D's accuracy on fresh batches (mean of the
last 5 of every 500 steps): whether D can give G the gradient that pulls
samples into the modes, with and without packing.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import optax  # pylint: disable=g-import-not-at-top

from jaxgan.cpu import cpuinfo  # pylint: disable=g-import-not-at-top
from jaxgan.data import toy as toy_data  # pylint: disable=g-import-not-at-top
from jaxgan.models import packing, toy  # pylint: disable=g-import-not-at-top


def run(
    m: int, steps: int, offset: float, seed: int
) -> list[tuple[int, float]]:
  mixture = toy_data.MIXTURES["grid25"]
  centers = np.asarray(mixture.centres, np.float32)
  rng = np.random.default_rng(seed)

  def real(n):
    i = rng.integers(0, len(centers), n)
    return centers[i] + mixture.std * rng.normal(size=(n, 2)).astype(np.float32)

  def near_miss(n):
    i = rng.integers(0, len(centers), n)
    angle = rng.uniform(0, 2 * np.pi, n)
    ring = np.stack([np.cos(angle), np.sin(angle)], 1).astype(np.float32)
    return centers[i] + offset * ring

  d = packing.Packed(toy.Discriminator(scale=mixture.scale), m)
  params = d.init(jax.random.PRNGKey(seed), jnp.zeros((4 * m, 2)), train=False)
  tx = optax.adam(2e-4, 0.5)
  opt = tx.init(params)

  @jax.jit
  def step(params, opt, r, f):
    def loss(p):
      lr, lf = d.apply(p, r), d.apply(p, f)
      value = jnp.mean(jax.nn.softplus(-lr)) + jnp.mean(jax.nn.softplus(lf))
      return value, 0.5 * (jnp.mean(lr > 0) + jnp.mean(lf < 0))

    (_, acc), grads = jax.value_and_grad(loss, has_aux=True)(params)
    updates, opt = tx.update(grads, opt, params)
    return optax.apply_updates(params, updates), opt, acc

  history, recent = [], []
  for i in range(1, steps + 1):
    params, opt, acc = step(params, opt, real(100 * m), near_miss(100 * m))
    recent = (recent + [float(acc)])[-5:]
    if i % 500 == 0:
      history.append((i, float(np.mean(recent))))
  return history


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--packs", default="1,2,4")
  parser.add_argument("--steps", type=int, default=3000)
  parser.add_argument("--offset", type=float, default=0.3)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  print(f"Machine: {cpuinfo.describe()}; jax {jax.__version__}.")
  results = {
      m: run(m, args.steps, args.offset, args.seed)
      for m in map(int, args.packs.split(","))
  }
  steps = [s for s, _ in next(iter(results.values()))]
  print("| pack m | " + " | ".join(f"step {s}" for s in steps) + " |")
  print("| --- |" + " --- |" * len(steps))
  for m, history in results.items():
    print(f"| {m} | " + " | ".join(f"{a:.2f}" for _, a in history) + " |")


if __name__ == "__main__":
  main()
