"""Runs compared at equal wall-clock time: evaluation at the same moments.

  python benchmarks/equal_time.py --runs=runs/progan,runs/dcgan \
      [--points=4] [--num_samples=10000] [--out=benchmarks/results/NAME]

Each run is a jaxgan workdir trained on the same machine (one after the
other, nothing else running) with checkpoints kept often enough
(--config.checkpoint.every_steps, --config.checkpoint.max_to_keep). Every
metrics.jsonl row carries the training seconds since the process started
(`elapsed_s`); the checkpoint steps' seconds are interpolated between the
logged rows. For `--points` moments evenly spaced up to the shortest run's
end (T/4, T/2, 3T/4, T for 4), each run's last checkpoint at or before the
moment is evaluated with `python -m jaxgan.evaluate --step=S` (the domain
classifier of the run's data, EVAL_SEED's samples; class accuracy and
per-class FD for a conditional run), and its sample grid written with
`python -m jaxgan.sample` to <out>_grids/<run>_<seconds>s.png.
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from jaxgan.cpu import cpuinfo  # pylint: disable=g-import-not-at-top
import report as report_lib  # pylint: disable=g-import-not-at-top

ROOT = os.path.join(os.path.dirname(__file__), "..")
KEYS = (
    "fd",
    "classifier_score",
    "kid",
    "precision",
    "recall",
    "class_accuracy",
    "fd_class_mean",
)


def seconds_at(rows: list[dict], step: int) -> float:
  """Training seconds at `step`, interpolated between logged rows."""
  timed = sorted(
      (r["step"], r["elapsed_s"])
      for r in rows
      if "elapsed_s" in r and "d_loss" in r
  )
  before = [t for t in timed if t[0] <= step]
  after = [t for t in timed if t[0] >= step]
  if not before or not after:
    return (before or after)[-1 if before else 0][1]
  (s0, t0), (s1, t1) = before[-1], after[0]
  return t0 if s1 == s0 else t0 + (t1 - t0) * (step - s0) / (s1 - s0)


def checkpoints(workdir: str) -> list[int]:
  d = os.path.join(workdir, "checkpoints")
  return sorted(int(n) for n in os.listdir(d) if n.isdigit())


def _cli(module: str, *args: str) -> str:
  result = subprocess.run(
      [sys.executable, "-m", module, *args],
      cwd=ROOT,
      capture_output=True,
      text=True,
      check=False,
  )
  if result.returncode:
    raise SystemExit(
        f"{module} {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    )
  return result.stdout


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", required=True, help="Comma-separated workdirs.")
  parser.add_argument("--points", type=int, default=4)
  parser.add_argument("--num_samples", type=int, default=10_000)
  parser.add_argument("--out", required=True)
  args = parser.parse_args()
  runs = args.runs.split(",")
  timing = {}
  for run in runs:
    with open(os.path.join(run, "metrics.jsonl")) as f:
      rows = [json.loads(l) for l in f if l.strip()]
    timing[run] = {s: seconds_at(rows, s) for s in checkpoints(run)}
  end = min(max(t.values()) for t in timing.values())
  moments = [end * (i + 1) / args.points for i in range(args.points)]
  grids = args.out + "_grids"
  os.makedirs(grids, exist_ok=True)
  results = []
  for run in runs:
    name = os.path.basename(os.path.normpath(run))
    for moment in moments:
      steps = [s for s, t in timing[run].items() if t <= moment + 1e-6]
      if not steps:  # No checkpoint of this run that early.
        print(f"{name}: no checkpoint by {moment:.0f} s", flush=True)
        continue
      step = max(steps)
      out = json.loads(
          _cli(
              "jaxgan.evaluate",
              f"--workdir={run}",
              f"--step={step}",
              f"--num_samples={args.num_samples}",
          )
          .strip()
          .splitlines()[-1]
      )
      row = {
          "run": name,
          "moment_s": round(moment),
          "step": step,
          "seconds": round(timing[run][step], 1),
          **{k: out[k] for k in KEYS if k in out},
      }
      grid = os.path.join(grids, f"{name}_{round(moment)}s.png")
      _cli(
          "jaxgan.sample",
          f"--workdir={run}",
          f"--step={step}",
          "--num=100",
          f"--out={grid}",
      )
      results.append(row)
      print(json.dumps(row), flush=True)
  keys = [k for k in KEYS if any(k in r for r in results)]
  lines = [
      f"Machine: {cpuinfo.describe()}. {args.num_samples} samples, "
      "the shipped domain classifier.",
      "",
      "| run | seconds | step | " + " | ".join(keys) + " |",
      "| --- | --- | --- | " + " | ".join("---" for _ in keys) + " |",
  ]
  for r in results:
    lines.append(
        f"| {r['run']} | {r['seconds']:.0f} | {r['step']} | "
        + " | ".join(f"{r[k]:.4g}" if k in r else "" for k in keys)
        + " |"
    )
  table = "\n".join(lines) + "\n"
  print(table)
  report_lib.write(
      args.out,
      {"machine": cpuinfo.identity(), "moments": moments, "rows": results},
      table,
  )


if __name__ == "__main__":
  main()
