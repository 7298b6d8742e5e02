"""A run's curves as one picture: <workdir>/metrics.png (matplotlib, Agg).

`metrics_png(rows)` draws what metrics.jsonl holds against the step: the
losses, D's outputs on real and generated data, the gradient norms, and one
panel per evaluated metric (FD, KID, classifier score, precision/recall,
density/coverage, the 2-D toys' mode metrics, ...). A step logged twice (a
run resumed from a checkpoint older than its last log line) keeps its last
row. Evaluated metrics get the real-data floor (what real images of the
other split score; evaluation.Evaluator.floor) as a dashed line; a metric's
spread over subsets or splits (`*_std`) is not drawn.
"""

import io
import math
from typing import Any, Iterable

import matplotlib

matplotlib.use("Agg")  # No display; set before pyplot could be imported.
from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top

# Panels of training curves: title -> keys drawn together.
TRAINING = {
    "losses": ("d_loss", "g_loss", "g_adv_loss", "d_penalty"),
    "D on real and generated data": ("d_real", "d_fake"),
    "gradient norms": ("d_grad_norm", "g_grad_norm"),
}
# Keys that are bookkeeping, not curves.
SKIPPED = {
    "step",
    "img_per_sec",
    "steps_per_sec",
    "elapsed_s",
    "cpu_s",
    "nonfinite_steps",
    "d_param_norm",
    "g_param_norm",
}
# Evaluated metrics drawn on one panel each, then any other evaluated key.
EVALUATED = (
    "fd",
    "kid",
    "classifier_score",
    "precision",
    "recall",
    "density",
    "coverage",
    "class_coverage",
    "class_accuracy",
    "fd_class_mean",
    "info_accuracy",
    "modes",
    "high_quality",
    "reverse_kl",
)


def _series(rows: Iterable[dict[str, Any]]) -> dict[str, tuple[list, list]]:
  """key -> (steps, values), the last row of each step winning."""
  by_step: dict[str, dict[int, float]] = {}
  for row in rows:
    step = int(row["step"])
    for key, value in row.items():
      if key in SKIPPED or not isinstance(value, (int, float)):
        continue
      if math.isfinite(value):
        by_step.setdefault(key, {})[step] = float(value)
  return {k: (sorted(v), [v[s] for s in sorted(v)]) for k, v in by_step.items()}


def panels(rows: Iterable[dict[str, Any]]) -> list[tuple[str, list[str]]]:
  """(title, keys) of every panel the rows fill, in drawing order."""
  series = _series(rows)
  out, used = [], set()
  for title, keys in TRAINING.items():
    present = [k for k in keys if k in series]
    if present:
      out.append((title, present))
      used.update(present)
  others = [k for k in series if k not in used and k not in TRAINING]
  evaluated = [k for k in EVALUATED if k in others]
  evaluated += sorted(
      k
      for k in others
      if k not in EVALUATED
      and not k.startswith("fd_class_")
      and not k.startswith(("d_", "g_"))
      and not k.endswith("_std")
  )
  out.extend((k, [k]) for k in evaluated)
  return out


def metrics_png(
    rows: list[dict[str, Any]],
    title: str = "",
    floor: dict[str, float] | None = None,
) -> bytes:
  """`metrics_figure(rows, title, floor)` as PNG file contents."""
  buffer = io.BytesIO()
  metrics_figure(rows, title, floor).savefig(buffer, format="png")
  return buffer.getvalue()


def metrics_figure(
    rows: list[dict[str, Any]],
    title: str = "",
    floor: dict[str, float] | None = None,
) -> Figure:
  """The curves of metrics.jsonl rows, one panel per `panels` entry;
  `floor`: the real-data values of evaluated metrics, drawn as dashed
  lines."""
  series = _series(rows)
  layout = panels(rows)
  cols = 3
  nrows = max(1, math.ceil(len(layout) / cols))
  fig = Figure(figsize=(4.2 * cols, 2.8 * nrows), dpi=80)
  if title:
    fig.suptitle(title)
  for i, (name, keys) in enumerate(layout):
    ax = fig.add_subplot(nrows, cols, i + 1)
    for key in keys:
      steps, values = series[key]
      ax.plot(steps, values, label=key, marker="o" if len(steps) < 20 else "")
    if floor and len(keys) == 1 and keys[0] in floor:
      ax.axhline(
          floor[keys[0]],
          color="gray",
          linestyle="--",
          linewidth=1,
          label="real data",
      )
      ax.legend(fontsize=7)
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if len(keys) > 1:
      ax.legend(fontsize=7)
  fig.tight_layout()
  return fig


def sweep_png(rows: list[dict[str, Any]], floor=None) -> bytes:
  """FD and classifier score against the truncation (rows of
  evaluation.truncation_sweep; the untruncated row drawn at the right, as
  'none'): BigGAN's fidelity/variety trade-off."""
  values = [r["truncation"] for r in rows]
  finite = [v for v in values if v is not None]
  right = (max(finite) * 1.25) if finite else 1.0
  xs = [v if v is not None else right for v in values]
  order = sorted(range(len(xs)), key=xs.__getitem__)
  fig = Figure(figsize=(9, 3.4), dpi=80)
  for i, (key, label) in enumerate(
      (("fd", "FD"), ("classifier_score", "classifier score"))
  ):
    ax = fig.add_subplot(1, 2, i + 1)
    ax.plot([xs[j] for j in order], [rows[j][key] for j in order], marker="o")
    if floor and key in floor:
      ax.axhline(
          floor[key],
          color="gray",
          linestyle="--",
          linewidth=1,
          label="real data",
      )
      ax.legend(fontsize=7)
    ax.set_xticks([xs[j] for j in order])
    ax.set_xticklabels(
        [("none" if values[j] is None else f"{values[j]:g}") for j in order],
        fontsize=8,
    )
    ax.set_xlabel("truncation T", fontsize=9)
    ax.set_title(label, fontsize=10)
    ax.grid(alpha=0.3)
  fig.tight_layout()
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png")
  return buffer.getvalue()
