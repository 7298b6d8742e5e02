"""Every loss on both 2-D mixtures, several seeds: the mode-collapse table.

  python benchmarks/toy_losses.py                      # 9 losses x 2 x 3 seeds
  python benchmarks/toy_losses.py --losses=hinge,wgan_gp --seeds=1 --steps=2000
  python benchmarks/toy_losses.py --steps=4000 --merge a.json b.json  # one table
  python benchmarks/toy_losses.py --dtypes=float32,bfloat16 --out=...  # bf16

Each run is what `python -m jaxgan.main --config=configs/toy_<mixture>.py:<loss>`
runs (the toy config with the loss's paper settings, configs/paper_losses.py)
with config.seed and config.train.num_steps set, called in this process
(`train.train_and_evaluate`) to save the start-up; the final evaluation on
2,500 samples (metrics/modes.py) is read from the run's metrics.jsonl. A run
that stops on non-finite values counts as failed. Writes benchmarks/results/toy_losses.{json,md}: per loss and
mixture, the mean and min/max over seeds of modes covered, high-quality
percentage, reverse KL and wall time.
"""

import argparse
import contextlib
import importlib
import io
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

from configs import paper_losses  # pylint: disable=g-import-not-at-top
from jaxgan.run import train  # pylint: disable=g-import-not-at-top

MIXTURES = ("ring8", "grid25")
# PacGAN (Lin et al. 2018), Table 1, its best row, for comparison: modes,
# high quality %, reverse KL (their released ring config is radius 1, std
# 0.01: the same shape as ours). Their runs: 400 epochs of 100,000 points.
PUBLISHED = {
    ("ring8", "PacGAN4"): (7.8, 95.9, 0.07),
    ("grid25", "PacGAN4"): (24.8, 93.6, 0.04),
}


def run_one(
    mixture: str, loss: str, seed: int, steps: int, dtype: str = "float32"
) -> dict:
  config = importlib.import_module(f"configs.toy_{mixture}").get_config(loss)
  config.seed = seed
  config.train.dtype = dtype
  config.train.num_steps = steps
  for key in (
      "train.log_every_steps",
      "train.sample_every_steps",
      "eval.every_steps",
      "checkpoint.every_steps",
  ):
    section, field = key.split(".")
    config[section][field] = steps
  with tempfile.TemporaryDirectory() as workdir:
    start = time.perf_counter()
    try:
      with contextlib.redirect_stdout(io.StringIO()):
        train.train_and_evaluate(config, workdir)
    except FloatingPointError as e:  # Diverged: reported, not fatal.
      return dict(
          mixture=mixture,
          loss=loss,
          seed=seed,
          dtype=dtype,
          wall_s=time.perf_counter() - start,
          error=str(e),
      )
    wall = time.perf_counter() - start
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      rows = [json.loads(line) for line in f]
  final = [r for r in rows if "modes" in r][-1]
  return dict(
      mixture=mixture,
      loss=loss,
      seed=seed,
      dtype=dtype,
      wall_s=wall,
      modes=final["modes"],
      high_quality=final["high_quality"],
      # Not logged when undefined (no high-quality sample).
      reverse_kl=final.get("reverse_kl", float("inf")),
  )


def _stat(values, fmt):
  if not values:
    return "-"
  if len(values) == 1:
    return fmt.format(values[0])
  return (
      fmt.format(statistics.mean(values))
      + " ("
      + fmt.format(min(values))
      + "-"
      + fmt.format(max(values))
      + ")"
  )


def table(results: list[dict], steps: int, seeds: int) -> str:
  lines = [
      f"Final evaluation on 2,500 samples after {steps:,} iterations "
      "(learning rates decayed to 0 over them), "
      f"mean (min-max) over {seeds} seed(s); wall time per run "
      "includes compilation. Each loss runs with its paper's settings "
      "(configs/paper_losses.py) inside the toy configs (EMA, "
      "minibatch stddev; R1 with gamma 1 on the grid).",
      "",
      "| mixture | loss | dtype | modes | high quality % | reverse KL | "
      "wall s |",
      "| --- | --- | --- | --- | --- | --- | --- |",
  ]
  dtypes = [
      d
      for d in ("float32", "bfloat16")
      if any(r.get("dtype", "float32") == d for r in results)
  ]
  for mixture in [
      m for m in MIXTURES if any(r["mixture"] == m for r in results)
  ]:
    for loss, dtype in [
        (l, d) for l in sorted({r["loss"] for r in results}) for d in dtypes
    ]:
      rs = [
          r
          for r in results
          if r["mixture"] == mixture
          and r["loss"] == loss
          and r.get("dtype", "float32") == dtype
      ]
      if not rs:
        continue
      ok = [r for r in rs if "error" not in r]
      failed = len(rs) - len(ok)
      note = f" ({failed} failed)" if failed else ""
      lines.append(
          f"| {mixture} | {loss}{note} | {dtype} | "
          f"{_stat([r['modes'] for r in ok], '{:.1f}')} | "
          f"{_stat([100 * r['high_quality'] for r in ok], '{:.1f}')} | "
          f"{_stat([r['reverse_kl'] for r in ok], '{:.3f}')} | "
          f"{_stat([r['wall_s'] for r in rs], '{:.0f}')} |"
      )
    for (m, name), (modes, hq, kl) in PUBLISHED.items():
      if m == mixture:
        lines.append(
            f"| {mixture} | PacGAN paper: {name} | float32 | {modes}"
            f" | {hq} | {kl} | - |"
        )
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument(
      "--losses", default=",".join(sorted(paper_losses.PAPER_SETTINGS))
  )
  parser.add_argument("--mixtures", default=",".join(MIXTURES))
  parser.add_argument("--seeds", type=int, default=3)
  parser.add_argument(
      "--dtypes",
      default="float32",
      help="train.dtype values, e.g. float32,bfloat16",
  )
  parser.add_argument(
      "--steps",
      type=int,
      default=20_000,
      help="iterations per run (the toy configs' default)",
  )
  parser.add_argument(
      "--out", default=os.path.join(ROOT, "benchmarks", "results", "toy_losses")
  )
  parser.add_argument(
      "--merge",
      nargs="*",
      default=None,
      help="write the table of these earlier .json results "
      "(same --steps and --seeds; a later file's run of the "
      "same mixture, loss and seed replaces an earlier one) "
      "instead of running",
  )
  args = parser.parse_args()
  merged = {}  # A later file's run replaces an earlier one's.
  for path in args.merge or ():
    with open(path) as f:
      for r in json.load(f)["results"]:
        merged[
            r["mixture"], r["loss"], r["seed"], r.get("dtype", "float32")
        ] = r
  results = list(merged.values())
  for mixture in args.mixtures.split(",") if args.merge is None else ():
    for loss in args.losses.split(","):
      for seed in range(args.seeds):
        for dtype in args.dtypes.split(","):
          r = run_one(mixture, loss, seed, args.steps, dtype)
          results.append(r)
          print(json.dumps(r), flush=True)
  os.makedirs(os.path.dirname(args.out), exist_ok=True)
  with open(args.out + ".json", "w") as f:
    json.dump(
        dict(steps=args.steps, seeds=args.seeds, results=results), f, indent=1
    )
  with open(args.out + ".md", "w") as f:
    f.write(table(results, args.steps, args.seeds))
  print(table(results, args.steps, args.seeds))


if __name__ == "__main__":
  main()
