"""The limited-data experiment's table and curves, from its runs' workdirs.

The runs (the default DCGAN, the same 800 iterations each, one per
training-set size N and augmentation A):

  python -m jaxgan.main --config=configs/dcgan_fashion_mnist.py \
      --workdir=runs/little_N_A --config.data.num_examples=N \
      --config.augment.name=A --config.augment.speed_kimg=20 \
      --config.train.num_steps=800 --config.eval.every_steps=0 \
      --config.eval.d_overfitting=true

then

  python benchmarks/little_data.py --runs='runs/little_{n}_{a}' \
      --sizes=600,6000,60000 [--png=docs/little_data_curves.png]

prints, per run, the final evaluation (FD, classifier score, precision,
recall against the test split), D's train-minus-held-out output gap and
ADA's p at the end, and draws D's gap and ADA's p against the iteration.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from jaxgan.run import plots  # pylint: disable=g-import-not-at-top,unused-import
from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top

AUGMENTS = ("none", "diffaugment", "ada")


def _rows(workdir: str) -> list[dict]:
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f if line.strip()]


def summary(rows: list[dict]) -> dict:
  final = [r for r in rows if "fd" in r][-1]
  gaps = [r["d_out_gap"] for r in rows if "d_out_gap" in r]
  ps = [r["ada_p"] for r in rows if "ada_p" in r]
  return {
      "step": final["step"],
      "fd": final["fd"],
      "classifier_score": final["classifier_score"],
      "precision": final["precision"],
      "recall": final["recall"],
      "d_out_gap": gaps[-1] if gaps else None,
      "ada_p": ps[-1] if ps else None,
  }


def curves_png(runs: dict, path: str) -> None:
  fig = Figure(figsize=(11, 4))
  gap_ax, p_ax = fig.subplots(1, 2)
  sizes = sorted({n for n, _ in runs})
  styles = dict(zip(sizes, ("-", "--", ":")))
  colors = dict(zip(AUGMENTS, ("C0", "C1", "C2")))
  for (n, a), rows in sorted(runs.items()):
    steps = [r["step"] for r in rows if "d_out_gap" in r]
    gaps = [r["d_out_gap"] for r in rows if "d_out_gap" in r]
    gap_ax.plot(
        steps, gaps, styles[n], color=colors[a], label=f"{n:,} images, {a}"
    )
    if a == "ada":
      p_steps = [r["step"] for r in rows if "ada_p" in r]
      p_ax.plot(
          p_steps,
          [r["ada_p"] for r in rows if "ada_p" in r],
          styles[n],
          color=colors[a],
          label=f"{n:,} images",
      )
  gap_ax.set_title("D(train reals) - D(held-out reals)")
  p_ax.set_title("ADA's p")
  for ax in (gap_ax, p_ax):
    ax.set_xlabel("iteration")
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=90)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", required=True, help="e.g. runs/little_{n}_{a}")
  parser.add_argument("--sizes", default="600,6000,60000")
  parser.add_argument("--png", default="")
  args = parser.parse_args()
  runs = {}
  for n in map(int, args.sizes.split(",")):
    for a in AUGMENTS:
      workdir = args.runs.format(n=n, a=a)
      if os.path.exists(os.path.join(workdir, "metrics.jsonl")):
        runs[(n, a)] = _rows(workdir)
  print(
      "| training images | augment | FD | classifier score | precision | "
      "recall | D gap at the end (train - held-out) | ADA p at the end |"
  )
  print("| --- | --- | --- | --- | --- | --- | --- | --- |")
  for (n, a), rows in runs.items():
    s = summary(rows)
    gap = "" if s["d_out_gap"] is None else f"{s['d_out_gap']:.3f}"
    p = "" if s["ada_p"] is None else f"{s['ada_p']:.2f}"
    print(
        f"| {n:,} | {a} | {s['fd']:.1f} | {s['classifier_score']:.2f} | "
        f"{s['precision']:.3f} | {s['recall']:.3f} | {gap} | {p} |"
    )
  if args.png:
    curves_png(runs, args.png)


if __name__ == "__main__":
  main()
