"""Training loop: state, data, compiled step, logs, samples and checkpoints.

`train_and_evaluate(config, workdir)` is the whole program behind
`python -m jaxgan.main`. It restores the latest checkpoint of `workdir` when
there is one, so running the same command again continues a stopped run with
the same step count and data order.
"""

import contextlib
import math
import sys

import jax
import ml_collections

from jaxgan.core import fs
from jaxgan.experiment import builder as experiment
from jaxgan.inference import evaluator as evaluation
from jaxgan.run import health as health_lib, report
from jaxgan.core import runtime
from jaxgan.experiment import lock as lock_lib
from jaxgan.experiment import workdir as workdir_lib
from jaxgan.gan import state as state_lib
from jaxgan.inference import overfitting
from jaxgan.run import writers
from jaxgan.experiment.checkpoint import Checkpointer, last_complete_step
from jaxgan.data import pipeline
from jaxgan.core.errors import UserError, WriteError, os_errors
from jaxgan.experiment.builder import Experiment
from jaxgan.run.outputs import Outputs, make_outputs
from jaxgan.run.signals import StopRequest


class _Saver:
  """Rolling checkpoints, each written only after the state is checked
  finite (health.Health)."""

  def __init__(
      self,
      checkpointer: Checkpointer,
      health: health_lib.Health,
      last_saved: int | None,
  ):
    self.checkpointer, self.health, self.last_saved = (
        checkpointer,
        health,
        last_saved,
    )

  def check(self, state, step: int) -> int:
    return self.health.check(state, step, self.last_saved)

  def save(self, state, step: int, force: bool = False) -> None:
    """Saves `step` when due (or forced), after checking the state; first
    raises `WriteError` when an asynchronous save has failed."""
    self.checkpointer.check()
    if self.checkpointer.due(step, force):
      self.check(state, step)
      self.checkpointer.save(step, state, force=force)
      self.last_saved = step


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str
) -> state_lib.TrainState:
  """Trains until `config.train.num_steps`; returns the final state.

  Everything that can be wrong with the config, the data, the workdir or its
  checkpoints is found (`UserError`) before anything in the workdir is
  written.
  """
  # build reads the config; everything below reads the experiment only.
  exp = experiment.build(config, runtime.make_mesh(), log=runtime.log)
  with os_errors(f"--workdir={workdir}"):
    lock_lib.check_free(workdir)
  per_process_batch, per_device_batch = runtime.batch_sizes(
      exp.train.batch_size
  )
  with os_errors(f"data.source={exp.data.source}"):
    source = pipeline.training_source(exp.data_config)
    largest = max(
        [exp.train.batch_size]
        + [s.batch_size for s in (exp.schedule.stages if exp.schedule else [])]
    )
    pipeline.check_source(
        source, exp.data_config, largest, exp.cond.num_classes
    )
  new_config = workdir_lib.check(exp.config_json, workdir)
  split = exp.eval.reference_split
  evaluator = evaluation.evaluator_for(
      exp,
      num_samples=exp.eval.num_samples,
      reference_split=split,
      log=runtime.log,
  )
  codes = evaluation.code_accuracy(
      exp, num_samples=exp.eval.num_samples, reference_split=split
  )
  overfit = None
  if exp.eval.d_overfitting:
    with os_errors(f"eval.reference_split={split}"):
      overfit = overfitting.Overfitting(exp, source, split)
  notes, restored_step, checkpointer = [], None, None
  with os_errors(f"--workdir={workdir}"):
    has_checkpoints = fs.path(workdir_lib.checkpoints_dir(workdir)).exists()
  if has_checkpoints:
    checkpointer = workdir_lib.make_checkpointer(exp.checkpoint, workdir)
    state, restored_step, notes = checkpointer.restore_latest(
        exp.abstract_state
    )
  if restored_step is None:
    state = exp.initial_state()
  # Nothing in the workdir has been written before this point.
  workdir_lib.create(workdir)
  with _resumable(workdir), _workdir_lock(workdir):
    if new_config and runtime.is_writer():
      workdir_lib.write_config(exp.config_json, workdir)
    if checkpointer is None:
      checkpointer = workdir_lib.make_checkpointer(exp.checkpoint, workdir)
    report.start(
        exp,
        state,
        workdir=workdir,
        num_examples=len(source),
        per_process_batch=per_process_batch,
        per_device_batch=per_device_batch,
    )
    for note in notes:
      runtime.log(f"note: {note}")
    if restored_step is not None:
      runtime.log(f"resumed from checkpoint at step {restored_step}")
    writer = writers.Writer(workdir, enabled=runtime.is_writer())
    outputs = make_outputs(exp, workdir, writer, evaluator, codes, overfit)
    saver = _Saver(
        checkpointer,
        health_lib.Health(state, skip=exp.options.skip_nonfinite),
        restored_step,
    )
    checkpointer.warm_up(state)
    with StopRequest() as stop:
      try:
        return _loop(exp, state, source, saver, outputs, stop)
      finally:
        _close_all(checkpointer.close, outputs.close, writer.close)


@contextlib.contextmanager
def _resumable(workdir: str):
  """A `WriteError` inside (an output that could not be written) gets the
  complete checkpoint that the same command resumes from."""
  try:
    yield
  except WriteError as e:
    directory = workdir_lib.checkpoints_dir(workdir)
    raise e.resuming(last_complete_step(directory)) from None


def _close_all(*closers) -> None:
  """Calls every closer, even after one fails, so that no file is left to
  be flushed (and fail again) at exit; the first error is raised unless
  another is already on its way out (the first error wins)."""
  leaving = sys.exc_info()[1]
  first = None
  for close in closers:
    try:
      close()
    except Exception as e:  # pylint: disable=broad-except
      first = first or e
  if first is not None and leaving is None:
    raise first


@contextlib.contextmanager
def _workdir_lock(workdir: str):
  """Process 0 holds the lock on `workdir` inside (no lock for gs://
  workdirs); every process raises the UserError when another run holds
  it."""
  if fs.is_remote(workdir):
    yield
    return
  lock, error = None, None
  if runtime.is_writer():
    lock = lock_lib.WorkdirLock(workdir)
    try:
      note = lock.acquire()
    except UserError as e:
      lock, error = None, e
    else:
      if note:
        runtime.log(f"note: {note}")
  if runtime.any_process(error is not None):
    raise error or UserError(
        f"--workdir={workdir} is in use by another run (process 0 says "
        "which); wait for it to end or use another --workdir"
    )
  try:
    yield
  finally:
    if lock is not None:
      lock.release()


class _Batches:
  """The global batch of each step, from a data iterator started at the
  step's example; a progressive run starts a new one when its batch size
  changes with the stage (progressive.Schedule.examples_before)."""

  def __init__(self, exp: Experiment, source, data_pos: int):
    self.exp, self.data_pos = exp, data_pos
    self.dataset = pipeline.make_dataset(
        source, exp.data_config, seed=exp.train.seed, labels=exp.cond.labelled
    )
    self._key, self._it = None, None

  def next(self, step: int):
    exp = self.exp
    stage = exp.stage_at(step)
    key = None if stage is None else stage.index
    if self._it is None or key != self._key:
      if stage is None:
        batch = exp.train.batch_size
        start = self.data_pos * batch
      else:
        batch = stage.batch_size
        start = exp.schedule.examples_before(step)
      self._it = pipeline.make_iterator(
          self.dataset,
          start_example=start,
          per_process_batch=batch // jax.process_count(),
          process_index=jax.process_index(),
          process_count=jax.process_count(),
          steps_per_iteration=exp.train.d_steps,
          num_threads=exp.data.num_threads,
          prefetch=exp.data.prefetch,
      )
      self._key = key
    return runtime.global_batch(next(self._it), exp.mesh)


def _tuning_stats(exp: Experiment) -> dict | None:
  """The autotuner's counts where this run times convolution forms
  (`model.conv_impl='tuned'`, on the CPU only), else None."""
  if exp.conv_impl != "tuned":
    return None
  from jaxgan.cpu import autotune  # pylint: disable=g-import-not-at-top

  return autotune.stats()


def _log_tuning(exp: Experiment, before: dict | None) -> None:
  """Says so when the first step timed convolution forms
  (jaxgan/cpu/autotune.py): the first run on a machine compiles longer,
  later runs do not."""
  if before is None:
    return
  from jaxgan.cpu import autotune  # pylint: disable=g-import-not-at-top

  now = autotune.stats()
  timed = now["timed"] - before["timed"]
  if timed:
    runtime.log(
        f"timed the convolution forms at {timed} shapes on this machine "
        f"({now['seconds'] - before['seconds']:.0f} s, once); the choices "
        f"are kept in {autotune.cache_path()}"
    )


def _loop(
    exp: Experiment,
    state,
    source,
    saver: _Saver,
    outputs: Outputs,
    stop: StopRequest,
) -> state_lib.TrainState:
  """Steps from the state's step to `train.num_steps`, logging, drawing,
  evaluating and saving as the config says; stops early on a signal."""
  train = exp.train
  step = start_step = int(jax.device_get(state.step))
  if start_step >= train.num_steps:
    runtime.log(
        f"nothing to do: step {start_step} >= train.num_steps="
        f"{train.num_steps}"
    )
    return state
  batches = _Batches(exp, source, int(jax.device_get(state.data_pos)))
  kept = pipeline.kept_bytes(source, exp.data_config)
  if kept:
    runtime.log(
        f"keeping the decoded images in memory after their first read "
        f"({kept / 1e9:.2g} GB; data.cache_gb=0 decodes every read)"
    )
  tuned_before = _tuning_stats(exp)
  if start_step == 0:
    outputs.real_grid(source)
  progress = report.Progress(exp, start_step)
  every = lambda n: n and (step % n == 0 or step == train.num_steps)
  in_flight = None
  while step < train.num_steps:
    stage = exp.stage_at(step)
    if (
        stage is not None
        and step == stage.start
        and step > 0
        and train.reset_optimizer
    ):
      state = exp.reset_optimizers(state)  # A new stage: fresh Adam.
    try:
      batch = batches.next(step)
    except UserError:
      # A bad example (e.g. an unreadable image): keep the work done so far.
      saver.save(state, step, force=True)
      saver.checkpointer.wait()
      raise
    # The host fetched this batch while the previous step ran; now it waits
    # for that step before dispatching another, so a stop request (SIGTERM:
    # a preemption notice) is honoured within the step that is running
    # instead of after every step the host had dispatched ahead.
    if in_flight is not None:
      jax.block_until_ready(in_flight)
    if runtime.any_process(stop.requested):
      runtime.log(f"stop requested: saving a checkpoint of step {step}")
      break
    state, metrics = exp.train_step(state, batch, step)
    in_flight = metrics
    step += 1
    if step == start_step + 1:
      _log_tuning(exp, tuned_before)
    if every(train.log_every_steps):
      values = {k: float(v) for k, v in jax.device_get(metrics).items()}
      values["nonfinite_steps"] = saver.check(state, step)
      values.update(outputs.diagnostics(state))
      values = {k: v for k, v in values.items() if math.isfinite(v)}
      if stage is not None:  # Where the growing is: TensorBoard shows it.
        values["resolution"] = stage.resolution
        values["alpha"] = stage.alpha(step - 1)
      line = progress.line(step, values)
      outputs.writer.scalars(step, values)
      runtime.log(line)
    if every(train.sample_every_steps):
      outputs.samples(state, step)
    if every(exp.eval.every_steps) or step == train.num_steps:
      outputs.evaluate(state, step, saver.check)
    saver.save(state, step)
  saver.save(state, step, force=True)
  saver.checkpointer.wait()
  if step < train.num_steps:
    runtime.log(
        f"stopped at step {step}; checkpoint saved. Run the same "
        "command to continue."
    )
  else:
    runtime.log(
        f"done: {step} steps; checkpoints in {saver.checkpointer.directory}"
    )
  return state
