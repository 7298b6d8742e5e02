"""The compiled variants of the train step: jit(shard_map(iteration)) per
lazy-regularisation phase and progressive stage, made when first needed."""

import dataclasses
import functools
from typing import Callable, NamedTuple

import jax
from jax.sharding import Mesh, PartitionSpec as P

from jaxgan.core.runtime import AXIS
from jaxgan.gan.options import Networks, StepOptions
from jaxgan.gan.step import train_iteration


def _jit_step(opts: StepOptions, mesh: Mesh, nets: Networks) -> Callable:
  """jit(shard_map(iteration)): (state, batch) -> (state, metrics)."""
  body = functools.partial(
      train_iteration, nets=nets, opts=opts, num_devices=mesh.shape[AXIS]
  )
  sharded = jax.shard_map(
      body, mesh=mesh, in_specs=(P(), P(None, AXIS)), out_specs=(P(), P())
  )
  return jax.jit(sharded, donate_argnums=0)


class Program(NamedTuple):
  """A compiled variant of the step: its name, the jitted (state, batch)
  function, and the global batch size it takes."""

  name: str
  fn: Callable
  batch_size: int


def make_train_step(
    opts: StepOptions,
    mesh: Mesh,
    nets: Networks,
    *,
    batch_size: int,
    schedule=None,
    stage_variant: Callable | None = None,
    log: Callable[[str], None] | None = None,
) -> Callable:
  """Returns train_step(state, batch, step) -> (state, metrics).

  `state` is donated; `batch` is a global array (k, global_batch, ...) of
  uint8 images or float points sharded over the batch axis; `step` is the
  host's count of completed iterations (== state.step), which picks the
  compiled variant, each jitted when first needed:

  - with lazy regularisation (`penalty.every` = N > 1, Karras et al. 2020)
    the penalty, weighted N times, is computed only on iterations whose step
    is a multiple of N, in a program of its own, so the others pay nothing
    for it;
  - a progressive run (`schedule`: progressive.Schedule) has a program per
    stage (resolution, fading or not): `stage_variant(stage, opts, nets)`
    returns that stage's options and modules; `log` says when one is made.

  `train_step.programs()` lists every variant (`Program`), for compiling
  ahead of time.
  """
  every = opts.penalty_every
  lazy = opts.penalty is not None and every > 1
  cache = {}

  def variant(stage, with_penalty: bool) -> Program:
    key = (None if stage is None else stage.index, with_penalty)
    if key not in cache:
      o, n, batch, name = opts, nets, batch_size, "step"
      if lazy:
        o = dataclasses.replace(
            o,
            penalty_weight=opts.penalty_weight * every if with_penalty else 0.0,
        )
        name += " with penalty" if with_penalty else " without penalty"
      if stage is not None:
        o, n = stage_variant(stage, o, n)
        batch, name = stage.batch_size, f"{name} at {stage.name}"
        if log is not None:
          log(
              f"stage {stage.name} (batch {stage.batch_size}) from step "
              f"{stage.start}: compiling its step"
          )
      cache[key] = Program(name, _jit_step(o, mesh, n), batch)
    return cache[key]

  def train_step(state, batch, step: int):
    stage = None if schedule is None else schedule.stage_at(step)
    return variant(stage, lazy and step % every == 0).fn(state, batch)

  def programs() -> list[Program]:
    stages = [None] if schedule is None else schedule.stages
    penalties = (True, False) if lazy else (False,)
    return [variant(s, p) for s in stages for p in penalties]

  train_step.programs = programs
  return train_step
