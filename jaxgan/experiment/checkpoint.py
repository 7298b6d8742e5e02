"""Checkpoints of the train state; the only module that imports orbax.

A layer over `orbax.checkpoint.CheckpointManager`: asynchronous saves every
`checkpoint.every_steps` (and on demand), the newest `max_to_keep` kept, and a
`wait()` that every exit path calls so no save is lost. On top of Orbax:

- Every checkpoint carries a fingerprint of the state (two 32-bit sums of
  each leaf's bits, fingerprint.py), and a restore is accepted only when the
  restored state has the same fingerprint.
- `restore_latest` tries the steps newest first. A checkpoint that cannot be
  read or fails the fingerprint is reported and skipped in favour of the
  previous one; once one restores, the unreadable newer ones are moved (never
  deleted) to `<workdir>/checkpoints_corrupt/`, so that training can save
  those steps again. A checkpoint of another model (different shapes) is a
  `UserError`, not corruption.
- Interrupted saves (Orbax's `<step>.orbax-checkpoint-tmp` directories, left
  by a kill or a full disk during a save) are never restored; training's
  `restore_latest` removes them and notes each.
- A save that fails with an operating-system error (a full disk, a quota, a
  read-only file system) raises `WriteError` naming the step: a synchronous
  save at once, an asynchronous one at the next `check()` (every step),
  `save`, `wait` or `close`. Orbax's own reports of that error (log records
  with tracebacks from its writer threads, and the exceptions of the writes
  it abandoned) are dropped: the command reports it once. `close` then waits
  for Orbax's threads and removes the failed save's half-written directory.
"""

import contextlib
import logging
import os
import re
import sys
import threading
import time
from typing import Any, Iterator

import jax
import numpy as np
import orbax.checkpoint as ocp
from etils import epath

from jaxgan.core import fs
from jaxgan.experiment import fingerprint as fingerprint_lib
from jaxgan.core.errors import UserError, WriteError

_TMP_MARK = ".orbax-checkpoint-tmp"
QUARANTINE = "checkpoints_corrupt"


class CorruptCheckpoint(Exception):
  """A checkpoint that cannot be restored as it was saved."""


def _shapes(tree: Any) -> dict[str, tuple[tuple[int, ...], str]]:
  """{'a.b.c': (shape, dtype)} of a state or Orbax's metadata of one."""
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    key = ".".join(
        str(getattr(p, "key", getattr(p, "name", getattr(p, "idx", p))))
        for p in path
    )
    out[key] = (tuple(leaf.shape), str(np.dtype(leaf.dtype)))
  return out


def _os_error_code(e: BaseException | None) -> int | None:
  """The errno of an operating-system error behind `e`, or None.

  Orbax raises what its writers raise: an OSError, or TensorStore's
  ValueError that quotes the code ("... No space left on device
  [os_error_code='28']"); either may be the cause of another exception.
  """
  seen = set()
  while e is not None and id(e) not in seen:
    seen.add(id(e))
    if isinstance(e, OSError) and e.errno is not None:
      return e.errno
    found = re.search(r"os_error_code='?(\d+)", str(e))
    if found:
      return int(found.group(1))
    e = e.__cause__ or e.__context__
  return None


# Orbax logs with absl's logger.
_QUIETED = ("absl", "asyncio")


class _DropReportedErrors(logging.Filter):
  """Drops the error records of a failed write that Orbax's writer threads
  log (with tracebacks), and asyncio's about the writes Orbax awaited
  together when one of them failed ("exception was never retrieved"):
  `Checkpointer` raises that error as a `WriteError`, which the command
  reports in one line."""

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno < logging.ERROR or record.name not in _QUIETED:
      return True
    error = record.exc_info[1] if record.exc_info else None
    return (
        _os_error_code(error) is None
        and _os_error_code(Exception(record.getMessage())) is None
    )


def _abandoned_write(unraisable) -> bool:
  """Whether an unraisable exception comes from the writes Orbax abandoned
  when a save failed.

  Orbax awaits the writes of a save together and, when one fails, closes
  its event loop with the others still running. As each of them ends,
  TensorStore calls the closed loop from its own thread ("RuntimeError:
  Event loop is closed"); the coroutines left waiting fail when they are
  finalized at exit ("ImportError: sys.meta_path is None"). Python reports
  both through sys.unraisablehook.
  """
  tb = unraisable.exc_traceback
  code = getattr(unraisable.object, "cr_code", None)
  return (
      unraisable.exc_type is RuntimeError
      and str(unraisable.exc_value) == "Event loop is closed"
      and tb is not None
      and tb.tb_frame.f_code.co_name == "call_soon_threadsafe"
  ) or (code is not None and "orbax" in code.co_filename)


def _quiet_failed_saves() -> None:
  """Keeps the report of a failed save to jaxgan's one line: drops the log
  records of that error (`_DropReportedErrors`) and the unraisable
  exceptions of the writes Orbax abandoned (`_abandoned_write`)."""
  for name in _QUIETED:
    logger = logging.getLogger(name)
    if not any(isinstance(f, _DropReportedErrors) for f in logger.filters):
      logger.addFilter(_DropReportedErrors())
  previous = sys.unraisablehook
  if getattr(previous, "jaxgan_quiet", False):
    return

  # Called at exit too, while modules are torn down: it uses no globals.
  def unraisablehook(unraisable, abandoned=_abandoned_write):
    if not abandoned(unraisable):
      previous(unraisable)

  unraisablehook.jaxgan_quiet = True
  sys.unraisablehook = unraisablehook


def _join_orbax_threads(timeout: float = 60.0) -> None:
  """Waits for the threads Orbax started to end: after a save failed, the
  writes of its other items go on, and one cut off by the interpreter's
  exit logs an error of its own ("cannot schedule new futures after
  shutdown")."""
  deadline = time.monotonic() + timeout
  for thread in threading.enumerate():
    if type(thread).__module__.startswith("orbax."):
      thread.join(max(0.0, deadline - time.monotonic()))


def _first_line(e: BaseException) -> str:
  lines = [l.strip() for l in str(e).splitlines() if l.strip()]
  text = lines[0] if lines else ""
  return f"{type(e).__name__}: {text[:200]}"


def last_complete_step(directory: str) -> int | None:
  """The newest step of `directory` whose save finished (never a failed or
  half-written one), read from the disk; None when there is none."""
  return max(ocp.utils.checkpoint_steps(fs.absolute(directory)), default=None)


class Checkpointer:
  """Saves and restores `TrainState`s under `<workdir>/checkpoints`."""

  def __init__(
      self,
      directory: str,
      *,
      every_steps: int,
      max_to_keep: int,
      async_save: bool = True,
  ):
    self.directory = fs.absolute(directory)
    self.every_steps = every_steps
    self._options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        enable_async_checkpointing=async_save,
        create=True,
        # The processes of a multi-process run meet at barriers named by
        # the step; a run saves step N both here and in <workdir>/best, so
        # each directory names its own (a reused name can hang the group).
        multiprocessing_options=ocp.options.MultiprocessingOptions(
            barrier_sync_key_prefix=os.path.basename(self.directory.rstrip("/"))
        ),
    )
    path = fs.path(self.directory)
    if path.exists() and not path.is_dir():
      raise UserError(
          f"{self.directory} is a file, not a checkpoint "
          "directory; move it away or use another --workdir"
      )
    self._manager = self._new_manager()
    # The step of the save that may still be running; the steps whose save
    # failed (`close` removes their half-written directories) and the error.
    self._pending: int | None = None
    self._failed: list[int] = []
    self._error: WriteError | None = None
    _quiet_failed_saves()

  def _new_manager(self) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(
        self.directory,
        options=self._options,
        item_handlers={
            "state": ocp.StandardCheckpointHandler(),
            "fingerprint": ocp.JsonCheckpointHandler(),
            "info": ocp.JsonCheckpointHandler(),
        },
    )

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def interrupted_saves(self) -> list[str]:
    """Names of directories left by saves that did not finish."""
    path = fs.path(self.directory)
    if not path.is_dir():
      return []
    return sorted(p.name for p in path.iterdir() if _TMP_MARK in p.name)

  def due(self, step: int, force: bool = False) -> bool:
    """Whether `save(step, ...)` would write a checkpoint."""
    return (
        force or step % self.every_steps == 0
    ) and step not in self._manager.all_steps()

  def warm_up(self, state) -> None:
    """Compiles the fingerprint of states like `state` now, so that the
    first save (a preemption's, perhaps) does not wait for the compiler."""
    fingerprint_lib.warm_up(state)

  def save(
      self,
      step: int,
      state: Any,
      *,
      force: bool = False,
      info: dict[str, Any] | None = None,
  ) -> bool:
    """Starts a save at `step` if due (every_steps) or forced; non-blocking.

    The device-to-host copy happens before this returns, so the caller may
    donate `state`'s buffers to the next step right away. `info` (JSON) is
    saved with it and read back by `info(step)`. Raises `WriteError` when
    this save, or the previous asynchronous one, failed with an
    operating-system error.
    """
    if self._error is not None:
      raise self._error
    if not self.due(step, force):
      return False
    items = {
        "state": ocp.args.StandardSave(state),
        "fingerprint": ocp.args.JsonSave(
            {"leaves": fingerprint_lib.fingerprint(state)}
        ),
    }
    if info is not None:
      items["info"] = ocp.args.JsonSave(info)
    # Orbax first waits for the previous save (and raises its error).
    with self._reporting(self._pending):
      self._manager.wait_until_finished()
    self._pending = step
    with self._reporting(step):
      return self._manager.save(
          step, args=ocp.args.Composite(**items), force=True
      )

  @contextlib.contextmanager
  def _reporting(self, step: int | None) -> Iterator[None]:
    """Inside, an OS error of the save of `step` (from Orbax) becomes a
    `WriteError` naming the step's directory; `save` and `wait` raise it
    again after that (Orbax would raise the original again)."""
    try:
      yield
    except Exception as e:  # pylint: disable=broad-except
      code = _os_error_code(e)
      if code is None:
        raise
      if self._error is None:
        where = self.directory if step is None else f"{self.directory}/{step}"
        self._error = WriteError(f"checkpoint {where}", code)
        if step is not None:
          self._failed.append(step)
      raise self._error from e

  def info(self, step: int) -> dict[str, Any] | None:
    """The `info` saved with `step`, or None."""
    try:
      return self._manager.restore(
          step, args=ocp.args.Composite(info=ocp.args.JsonRestore())
      )["info"]
    except Exception:  # pylint: disable=broad-except  # None was saved.
      return None

  def _check_shapes(self, target: Any, step: int) -> None:
    """UserError when `step` was saved for other shapes than `target`'s."""
    try:
      saved = _shapes(self._manager.item_metadata(step)["state"])
    except Exception as e:  # pylint: disable=broad-except
      raise CorruptCheckpoint(f"metadata unreadable ({_first_line(e)})") from e
    wanted = _shapes(target)
    if saved == wanted:
      return
    for key in sorted(set(saved) | set(wanted)):
      if saved.get(key) != wanted.get(key):
        have = saved.get(key, "absent")
        want = wanted.get(key, "absent")
        raise UserError(
            f"checkpoint {self.directory}/{step} is of another model: {key} "
            f"is {have} there but {want} in this config; use the run's config "
            "or a new --workdir"
        )

  def restore(self, target: Any, step: int | None = None) -> Any:
    """Restores `step` (default: latest) with the shapes/shardings of target.

    Raises CorruptCheckpoint when the checkpoint cannot be read or its
    fingerprint differs, and UserError when it belongs to another model.

    Args:
      target: a state or a pytree of `jax.ShapeDtypeStruct`s with shardings.
      step: the step to restore; the latest one when None.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {self.directory}")
    self._check_shapes(target, step)
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(
            x.shape, x.dtype, sharding=getattr(x, "sharding", None)
        ),
        target,
    )
    try:
      restored = self._manager.restore(
          step,
          args=ocp.args.Composite(
              state=ocp.args.StandardRestore(abstract),
              fingerprint=ocp.args.JsonRestore(),
          ),
      )
      state, saved = restored["state"], restored["fingerprint"]["leaves"]
    except Exception as e:  # pylint: disable=broad-except
      raise CorruptCheckpoint(f"unreadable ({_first_line(e)})") from e
    if fingerprint_lib.fingerprint(state) != saved:
      raise CorruptCheckpoint(
          "its contents differ from the fingerprint " "written with it"
      )
    return state

  def restore_latest(
      self, target: Any, *, move_corrupt: bool = True
  ) -> tuple[Any, int | None, list[str]]:
    """Restores the newest restorable checkpoint.

    Args:
      target: as for `restore`.
      move_corrupt: move corrupt checkpoints newer than the one restored to
        `checkpoints_corrupt/` (training must, to save those steps again)
        and remove the directories of interrupted saves (whose space a run
        stopped by a full disk needs back); readers leave both in place.

    Returns:
      (state, step, notes): `target` and None when there is no checkpoint;
      notes are one-line reports of interrupted saves (and their removal)
      and of corrupt checkpoints skipped (and where they were moved).

    Raises:
      UserError: there are checkpoints but none restores (nothing is moved),
        or they belong to another model.
    """
    interrupted, removed = self.interrupted_saves(), []
    if move_corrupt:
      removed = self._remove(interrupted)
      if jax.process_count() > 1:
        from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

        multihost_utils.sync_global_devices("jaxgan_remove_interrupted")
    notes = [
        f"{os.path.join(self.directory, n)}: an interrupted save, not "
        f"restored{'; removed' if n in removed else ''}"
        for n in interrupted
    ]
    bad: list[tuple[int, str]] = []
    for step in reversed(self.all_steps()):
      try:
        state = self.restore(target, step)
      except CorruptCheckpoint as e:
        bad.append((step, str(e)))
        continue
      for s, why in bad:
        where = (
            f"moved to {self._quarantine(s)}"
            if move_corrupt
            else "left in place"
        )
        notes.append(
            f"checkpoint {self.directory}/{s} is corrupt ({why}); "
            f"skipped and {where}"
        )
      if bad and move_corrupt:
        self._manager.close()
        self._manager = self._new_manager()
      return state, step, notes
    if bad:
      listed = "; ".join(f"step {s}: {why}" for s, why in bad)
      raise UserError(
          f"no checkpoint in {self.directory} can be restored ({listed}); "
          f"move the directory away to start afresh"
      )
    return target, None, notes

  def _quarantine(self, step: int) -> str:
    """Moves step's directory to <workdir>/checkpoints_corrupt/ (process 0)."""
    parent = os.path.dirname(self.directory)
    dest = os.path.join(
        parent, QUARANTINE, f"{step}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    if jax.process_index() == 0:
      fs.path(dest).parent.mkdir(parents=True, exist_ok=True)
      epath.Path(self.directory, str(step)).rename(dest)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

      multihost_utils.sync_global_devices(f"jaxgan_quarantine_{step}")
    return dest

  def check(self) -> None:
    """Raises `WriteError` when an asynchronous save has failed; never
    waits. Several processes learn of a failure at the next `save` or
    `wait`, where Orbax's processes meet."""
    if (
        self._pending is not None
        and jax.process_count() == 1
        and not self._manager.is_saving_in_progress()
    ):
      self.wait()

  def wait(self) -> None:
    """Blocks until every pending asynchronous save has finished; raises
    `WriteError` when one failed with an operating-system error."""
    if self._error is not None:
      raise self._error
    with self._reporting(self._pending):
      self._manager.wait_until_finished()
    self._pending = None

  def close(self) -> None:
    """Waits for pending saves, then closes; `WriteError` as `wait` unless
    it was raised before. Removes the half-written directory of a failed
    save."""
    reported = self._error is not None
    try:
      with self._reporting(self._pending):
        self._manager.close()  # Raises a failed save's error (again).
    except WriteError:
      if not reported:
        raise
    finally:
      if self._error is not None:
        _join_orbax_threads()
      failed = {str(step) for step in self._failed}
      self._remove(
          [n for n in self.interrupted_saves() if n.split(".")[0] in failed]
      )

  def _remove(self, names: list[str]) -> list[str]:
    """Removes these directories of interrupted or failed saves (on process
    0); returns those removed. One that cannot be removed (yet: the last
    writes of a failed save may still be landing) is left for the next
    run."""
    removed = []
    if jax.process_index() == 0:
      for name in names:
        try:
          (fs.path(self.directory) / name).rmtree(missing_ok=True)
        except OSError:
          continue
        removed.append(name)
    return removed
