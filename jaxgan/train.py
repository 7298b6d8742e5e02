"""Training loop: state, data, compiled step, logs, samples and checkpoints.

`train_and_evaluate(config, workdir)` is the whole program behind
`python -m jaxgan.main`. It restores the latest checkpoint of `workdir` when
there is one, so running the same command again continues a stopped run with
the same step count and data order.
"""

import dataclasses
import math

import jax
import ml_collections
import numpy as np

from jaxgan import best as best_lib, evaluation, experiment, fs, generate
from jaxgan import health as health_lib, images as image_lib, report
from jaxgan import runtime, state as state_lib, workdir as workdir_lib
from jaxgan import writers
from jaxgan.checkpoint import Checkpointer
from jaxgan.data import pipeline, sources
from jaxgan.errors import UserError, os_errors
from jaxgan.experiment import Experiment
from jaxgan.metrics import modes
from jaxgan.signals import StopRequest
from jaxgan.validate import validate_config


class _Saver:
  """Rolling checkpoints, each written only after the state is checked
  finite (health.Health)."""

  def __init__(self, checkpointer: Checkpointer, health: health_lib.Health,
               last_saved: int | None):
    self.checkpointer, self.health, self.last_saved = (checkpointer, health,
                                                       last_saved)

  def check(self, state, step: int) -> int:
    return self.health.check(state, step, self.last_saved)

  def save(self, state, step: int, force: bool = False) -> None:
    """Saves `step` when due (or forced), after checking the state."""
    if self.checkpointer.due(step, force):
      self.check(state, step)
      self.checkpointer.save(step, state, force=force)
      self.last_saved = step


@dataclasses.dataclass
class _Outputs:
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

  def real_grid(self, source) -> None:
    data = self.exp.config.data
    if self.exp.points:
      mixture = sources.toy_mixture(data)
      self.writer.image(0, "real", image_lib.scatter_plot(
          source.points[:len(self.fixed_z)], mixture.centres), "real.png")
    else:
      self.writer.image_grid(0, "real", pipeline.preview(
          source, data, len(self.fixed_z)), "real.png")

  def samples(self, state, step: int) -> None:
    out = self.sampler(state, self.fixed_z, self.fixed_labels)
    if self.exp.points:
      mixture = sources.toy_mixture(self.exp.config.data)
      self.writer.image(step, "samples", image_lib.scatter_plot(
          out, mixture.centres), f"step_{step:07d}.png")
    else:
      self.writer.image_grid(step, "samples", out, f"step_{step:07d}.png")

  def evaluate(self, state, step: int, saver: _Saver) -> None:
    """Image metrics (with an extractor), InfoGAN's code accuracy, or the
    2-D toys' mode metrics."""
    values = {}
    if self.codes is not None:
      values["info_accuracy"] = self.codes(state)
    if self.evaluator is not None:
      values.update(self.evaluator(state, ema=self.sampler.ema))
      self.writer.scalars(step, values)
      runtime.log(f"eval step {step}: {self.evaluator.fd_label} "
                  f"{values['fd']:.3f}, KID {values['kid']:.4f}, classifier "
                  f"score {values['classifier_score']:.2f}, precision "
                  f"{values['precision']:.3f}, recall {values['recall']:.3f}, "
                  f"{values['class_coverage']} classes"
                  + evaluation.describe_extra(values))
      if self.best.improves(values):
        saver.check(state, step)  # Never keep a bad state.
        self.best.save(step, state, values)
    elif values:  # InfoGAN without a feature extractor.
      self.writer.scalars(step, values)
      runtime.log(f"eval step {step}: code accuracy "
                  f"{values['info_accuracy']:.3f}")
    if self.exp.points:
      m = modes.mode_metrics(self.sampler(state, self.fixed_z),
                             sources.toy_mixture(self.exp.config.data))
      # reverse_kl is undefined (inf) without any high-quality sample.
      self.writer.scalars(step, {k: m[k] for k in ("modes", "high_quality",
                                                   "reverse_kl")
                                 if math.isfinite(m[k])})
      runtime.log(f"eval step {step}: {m['modes']}/{m['num_modes']} modes, "
                  f"{100 * m['high_quality']:.1f}% high quality, reverse KL "
                  f"{m['reverse_kl']:.3f}")

  def close(self) -> None:
    if self.best is not None:
      self.best.close()


def _outputs(exp: Experiment, workdir: str, writer: writers.Writer,
             evaluator, codes) -> _Outputs:
  config = exp.config
  # Toys: a scatter of eval.num_samples points; images: a grid.
  num = (config.eval.num_samples if exp.points
         else config.train.num_sample_images)
  return _Outputs(
      exp=exp, writer=writer,
      sampler=generate.Sampler(exp, ema=config.model.ema_decay > 0),
      fixed_z=generate.inputs(exp, config.seed + 1, num),
      fixed_labels=(generate.grid_labels(num, exp.cond.num_classes)
                    if exp.cond.labelled else None),
      evaluator=evaluator, codes=codes,
      best=(best_lib.BestCheckpoint(
          workdir_lib.checkpoints_dir(workdir, workdir_lib.BEST),
          config.eval.primary) if evaluator is not None else None))


def train_and_evaluate(config: ml_collections.ConfigDict,
                       workdir: str) -> state_lib.TrainState:
  """Trains until `config.train.num_steps`; returns the final state.

  Everything that can be wrong with the config, the data, the workdir or its
  checkpoints is found (`UserError`) before anything in the workdir is
  written.
  """
  validate_config(config, jax.device_count())
  per_process_batch, per_device_batch = runtime.batch_sizes(
      config.train.batch_size)
  exp = experiment.build(config, runtime.make_mesh())
  with os_errors(f"data.source={config.data.source}"):
    source = sources.get_source(config.data)
    pipeline.check_source(source, config.data, config.train.batch_size,
                          exp.cond.num_classes)
  new_config = workdir_lib.check(config, workdir)
  evaluator = evaluation.evaluator_for(
      exp, num_samples=config.eval.num_samples,
      reference_split=config.eval.reference_split, log=runtime.log)
  codes = evaluation.code_accuracy(exp, num_samples=config.eval.num_samples,
                                   reference_split=config.eval.reference_split)
  notes, restored_step, checkpointer = [], None, None
  with os_errors(f"--workdir={workdir}"):
    has_checkpoints = fs.path(workdir_lib.checkpoints_dir(workdir)).exists()
  if has_checkpoints:
    checkpointer = workdir_lib.make_checkpointer(config, workdir)
    state, restored_step, notes = checkpointer.restore_latest(
        exp.abstract_state)
  if restored_step is None:
    state = exp.initial_state()
  # Nothing in the workdir has been written before this point.
  workdir_lib.create(workdir)
  if new_config and runtime.is_writer():
    workdir_lib.write_config(config, workdir)
  if checkpointer is None:
    checkpointer = workdir_lib.make_checkpointer(config, workdir)
  report.start(exp, state, workdir=workdir, num_examples=len(source),
               per_process_batch=per_process_batch,
               per_device_batch=per_device_batch)
  for note in notes:
    runtime.log(f"note: {note}")
  if restored_step is not None:
    runtime.log(f"resumed from checkpoint at step {restored_step}")
  writer = writers.Writer(workdir, enabled=runtime.is_writer())
  outputs = _outputs(exp, workdir, writer, evaluator, codes)
  saver = _Saver(checkpointer, health_lib.Health(
      state, skip=config.train.on_nonfinite == "skip"), restored_step)
  with StopRequest() as stop:
    try:
      return _loop(exp, state, source, saver, outputs, stop,
                   per_process_batch)
    finally:
      checkpointer.close()
      outputs.close()
      writer.close()


def _loop(exp: Experiment, state, source, saver: _Saver, outputs: _Outputs,
          stop: StopRequest, per_process_batch: int) -> state_lib.TrainState:
  """Steps from the state's step to `train.num_steps`, logging, drawing,
  evaluating and saving as the config says; stops early on a signal."""
  config, train = exp.config, exp.config.train
  step = start_step = int(jax.device_get(state.step))
  if start_step >= train.num_steps:
    runtime.log(f"nothing to do: step {start_step} >= train.num_steps="
                f"{train.num_steps}")
    return state
  dataset = pipeline.make_dataset(
      source, config.data, seed=config.seed,
      per_process_batch=per_process_batch,
      process_index=jax.process_index(), process_count=jax.process_count(),
      labels=exp.cond.labelled)
  batches = pipeline.make_iterator(
      dataset, start=int(jax.device_get(state.data_pos)),
      steps_per_iteration=train.d_steps, num_threads=config.data.num_threads,
      prefetch=config.data.prefetch)
  if start_step == 0:
    outputs.real_grid(source)
  progress = report.Progress(exp, start_step)
  every = lambda n: n and (step % n == 0 or step == train.num_steps)
  while step < train.num_steps:
    try:
      batch = runtime.global_batch(next(batches), exp.mesh)
    except UserError:
      # A bad example (e.g. an unreadable image): keep the work done so far.
      saver.save(state, step, force=True)
      saver.checkpointer.wait()
      raise
    state, metrics = exp.train_step(state, batch, step)
    step += 1
    if every(train.log_every_steps):
      values = {k: float(v) for k, v in jax.device_get(metrics).items()}
      values["nonfinite_steps"] = saver.check(state, step)
      values = {k: v for k, v in values.items() if math.isfinite(v)}
      line = progress.line(step, values)
      outputs.writer.scalars(step, values)
      runtime.log(line)
    if every(train.sample_every_steps):
      outputs.samples(state, step)
    if every(config.eval.every_steps) or step == train.num_steps:
      outputs.evaluate(state, step, saver)
    saver.save(state, step)
    if runtime.any_process(stop.requested):
      break
  saver.save(state, step, force=True)
  saver.checkpointer.wait()
  if step < train.num_steps:
    runtime.log(f"stopped at step {step}; checkpoint saved. Run the same "
                "command to continue.")
  else:
    runtime.log(f"done: {step} steps; checkpoints in "
                f"{saver.checkpointer.directory}")
  return state
