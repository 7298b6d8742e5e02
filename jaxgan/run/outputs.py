"""What the training loop writes besides checkpoints and progress lines.

Sample grids of fixed generator inputs (scatter plots over the true centres
for the 2-D toys), the grid of real images at the start, and evaluations:
image metrics with a feature extractor, InfoGAN's code accuracy, or the 2-D
toys' mode metrics, with the best checkpoint by `eval.primary`.
"""

import dataclasses
import math
import os
from typing import Any, Callable

import numpy as np

from jaxgan.inference import evaluator as evaluation, generate
from jaxgan.run import best as best_lib
from jaxgan.core import images as image_lib, runtime
from jaxgan.experiment import workdir as workdir_lib
from jaxgan.run import writers
from jaxgan.data import pipeline
from jaxgan.experiment.builder import Experiment
from jaxgan.metrics import modes


@dataclasses.dataclass
class Outputs:
  """What the loop writes besides checkpoints: sample grids (scatter plots
  for the 2-D toys) of fixed inputs, and evaluations, with the best
  checkpoint by `eval.primary`."""

  exp: Experiment
  writer: writers.Writer
  sampler: generate.Sampler
  fixed_z: np.ndarray
  fixed_labels: np.ndarray | None
  evaluator: evaluation.Evaluator | None
  codes: evaluation.CodeAccuracy | None
  best: best_lib.BestCheckpoint | None
  overfitting: Any = None  # overfitting.Overfitting (eval.d_overfitting).
  # Image-to-image: the uint8 targets of the fixed sources (fixed_z).
  fixed_targets: np.ndarray | None = None

  def diagnostics(self, state) -> dict[str, float]:
    """What the loop logs beside the step's metrics: D's outputs on
    training, held-out and generated images (eval.d_overfitting)."""
    return self.overfitting(state) if self.overfitting else {}

  def real_grid(self, source) -> None:
    if self.exp.points:
      mixture = self.exp.mixture
      self.writer.image(
          0,
          "real",
          image_lib.scatter_plot(
              source.points[: len(self.fixed_z)], mixture.centres
          ),
          "real.png",
      )
    else:
      self.writer.image_grid(
          0,
          "real",
          pipeline.preview(source, self.exp.data_config, len(self.fixed_z)),
          "real.png",
      )

  def samples(self, state, step: int) -> None:
    out = self.sampler(state, self.fixed_z, self.fixed_labels)
    if self.fixed_targets is not None:  # (source, output, target) rows.
      grid = generate.pair_grid(self.exp, self.fixed_z, out, self.fixed_targets)
      self.writer.image(step, "samples", grid, f"step_{step:07d}.png")
    elif self.exp.points:
      mixture = self.exp.mixture
      self.writer.image(
          step,
          "samples",
          image_lib.scatter_plot(out, mixture.centres),
          f"step_{step:07d}.png",
      )
    else:
      self.writer.image_grid(step, "samples", out, f"step_{step:07d}.png")

  def evaluate(
      self, state, step: int, check_state: Callable[[Any, int], Any]
  ) -> None:
    """Image metrics (with an extractor), InfoGAN's code accuracy, or the
    2-D toys' mode metrics; `check_state(state, step)` raises for a
    non-finite state before it could become the best checkpoint."""
    values = {}
    if self.codes is not None:
      values["info_accuracy"] = self.codes(state)
    if self.evaluator is not None:
      values.update(self.evaluator(state, ema=self.sampler.ema))
      self.writer.scalars(step, values)
      runtime.log(
          f"eval step {step}: "
          + evaluation.describe(
              values,
              self.evaluator.fd_label,
              self.evaluator.floor,
              self.evaluator.floor_name,
          )
      )
      if runtime.first_process(self.best.improves(values)):
        check_state(state, step)  # Never keep a bad state.
        self.best.save(step, state, values)
    elif values:  # InfoGAN without a feature extractor.
      self.writer.scalars(step, values)
      runtime.log(
          f"eval step {step}: code accuracy {values['info_accuracy']:.3f}"
      )
    if self.exp.points:
      m = modes.mode_metrics(
          self.sampler(state, self.fixed_z),
          self.exp.mixture,
      )
      # reverse_kl is undefined (inf) without any high-quality sample.
      self.writer.scalars(
          step,
          {
              k: m[k]
              for k in ("modes", "high_quality", "reverse_kl")
              if math.isfinite(m[k])
          },
      )
      runtime.log(
          f"eval step {step}: {m['modes']}/{m['num_modes']} modes, "
          f"{100 * m['high_quality']:.1f}% high quality, reverse KL "
          f"{m['reverse_kl']:.3f}"
      )
    name = os.path.basename(os.path.normpath(self.writer.workdir))
    floor = self.evaluator.floor if self.evaluator is not None else None
    self.writer.curves(f"{name} ({self.exp.summary.model})", floor)

  def close(self) -> None:
    if self.best is not None:
      self.best.close()


def make_outputs(
    exp: Experiment,
    workdir: str,
    writer: writers.Writer,
    evaluator,
    codes,
    overfitting=None,
) -> Outputs:
  # Toys: a scatter of eval.num_samples points; images: a grid.
  num = exp.eval.num_samples if exp.points else exp.train.num_sample_images
  fixed_z, fixed_targets = generate.inputs(exp, exp.train.seed + 1, num), None
  if exp.image_to_image:  # Held-out images' sources, and the images.
    fixed_targets = evaluation.pair_targets(exp, num)
    fixed_z = generate.sources(exp, fixed_targets)
  return Outputs(
      exp=exp,
      writer=writer,
      sampler=generate.Sampler(exp, ema=exp.has_ema),
      fixed_z=fixed_z,
      fixed_targets=fixed_targets,
      fixed_labels=(
          generate.grid_labels(num, exp.cond.num_classes)
          if exp.cond.labelled
          else None
      ),
      evaluator=evaluator,
      codes=codes,
      best=(
          best_lib.BestCheckpoint(
              workdir_lib.checkpoints_dir(workdir, workdir_lib.BEST),
              exp.eval.primary,
          )
          if evaluator is not None
          else None
      ),
      overfitting=overfitting,
  )
