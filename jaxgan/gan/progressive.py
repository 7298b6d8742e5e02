"""Progressive growing's schedule: which resolution, fading or not, at a step.

Karras et al. 2018 train at 4x4 first, then alternate two phases per
resolution: a fade-in, in which the new resolution's layers blend in with
alpha growing linearly from 0 to 1 with the images shown, and a
stabilisation at alpha 1. Each phase shows `progan.images_per_phase` real
images to D (the paper: 800k); the last stabilisation lasts until
`train.num_steps`. A phase at resolution r runs the batch size given for r
(`progan.batch_sizes`, else `train.batch_size`), so its length in steps is
ceil(images_per_phase / (d_steps x batch)).

Everything here is a pure function of the step: the stage, alpha, and the
number of examples the data pipeline has delivered before it (with batch
sizes that change between stages), so a run resumes exactly anywhere, in
the middle of a fade included.
"""

import dataclasses
import math

import jax.numpy as jnp

from jaxgan.core.errors import UserError

MIN_LEVEL = 2  # 4x4.


@dataclasses.dataclass(frozen=True)
class Stage:
  """One phase of the schedule.

  Attributes:
    index: its position in the schedule.
    level: log2 of its resolution.
    fading: the resolution's new layers are fading in (alpha 0 -> 1).
    start: its first step.
    steps: its length in steps (None: the last stage, open-ended).
    batch_size: the global batch of its steps.
    start_example: examples delivered before `start` (d_steps x batch per
      step of every earlier stage).
  """

  index: int
  level: int
  fading: bool
  start: int
  steps: int | None
  batch_size: int
  start_example: int

  @property
  def resolution(self) -> int:
    return 2**self.level

  @property
  def name(self) -> str:
    return f"{self.resolution}x{self.resolution}" + (
        " fade-in" if self.fading else ""
    )

  def alpha(self, step) -> float:
    """The new layers' weight at `step` (host): (step - start) / steps
    during a fade, else 1."""
    if not self.fading:
      return 1.0
    return min(max((step - self.start) / self.steps, 0.0), 1.0)

  def alpha_traced(self, step):
    """`alpha` of a traced step (inside the compiled step)."""
    if not self.fading:
      return jnp.ones((), jnp.float32)
    t = (step.astype(jnp.float32) - self.start) / self.steps
    return jnp.clip(t, 0.0, 1.0)


def parse_batch_sizes(text: str) -> dict[int, int]:
  """'4:128,8:128,32:64' -> {4: 128, 8: 128, 32: 64}."""
  out = {}
  for part in filter(None, (p.strip() for p in text.split(","))):
    try:
      res, batch = (int(v) for v in part.split(":"))
    except ValueError:
      raise UserError(
          f"progan.batch_sizes={text!r}: {part!r} is not "
          "<resolution>:<batch>; e.g. '4:128,8:128,16:128,32:64'"
      ) from None
    out[res] = batch
  return out


class Schedule:
  """The stages of a progressive run, from a validated config."""

  def __init__(self, config):
    top = int(math.log2(config.data.image_size))
    k = config.train.d_steps
    per_phase = config.progan.images_per_phase
    sizes = parse_batch_sizes(config.progan.batch_sizes)
    self.stages: list[Stage] = []
    step, example = 0, 0
    phases = [(MIN_LEVEL, False)] + [
        (l, fading)
        for l in range(MIN_LEVEL + 1, top + 1)
        for fading in (True, False)
    ]
    for i, (level, fading) in enumerate(phases):
      batch = sizes.get(2**level, config.train.batch_size)
      last = i == len(phases) - 1
      steps = None if last else math.ceil(per_phase / (k * batch))
      self.stages.append(Stage(i, level, fading, step, steps, batch, example))
      if not last:
        step += steps
        example += steps * k * batch
    self.d_steps = k

  def stage_at(self, step: int) -> Stage:
    """The stage that step `step` (0-based) runs in."""
    for stage in reversed(self.stages):
      if step >= stage.start:
        return stage
    return self.stages[0]

  def examples_before(self, step: int) -> int:
    """Examples the pipeline has delivered before step `step`."""
    stage = self.stage_at(step)
    return (
        stage.start_example
        + (step - stage.start) * self.d_steps * stage.batch_size
    )

  def describe(self) -> str:
    """'4x4 0-1562, 8x8 fade-in 1563-3124, ...' for the start-up line."""
    parts = []
    for s in self.stages:
      end = f"{s.start + s.steps - 1}" if s.steps else "end"
      parts.append(f"{s.name} steps {s.start}-{end} (batch {s.batch_size})")
    return "; ".join(parts)
