"""Checkpoints of the train state; the only module that imports orbax.

A layer over `orbax.checkpoint.CheckpointManager`: asynchronous saves every
`checkpoint.every_steps` (and on demand), the newest `max_to_keep` kept, and a
`wait()` that every exit path calls so no save is lost. On top of Orbax:

- Every checkpoint carries a fingerprint of the state (two 32-bit sums of
  each leaf's bits, `fingerprint`), and a restore is accepted only when the
  restored state has the same fingerprint.
- `restore_latest` tries the steps newest first. A checkpoint that cannot be
  read or fails the fingerprint is reported and skipped in favour of the
  previous one; once one restores, the unreadable newer ones are moved (never
  deleted) to `<workdir>/checkpoints_corrupt/`, so that training can save
  those steps again. A checkpoint of another model (different shapes) is a
  `UserError`, not corruption.
- Interrupted saves (Orbax's `<step>.orbax-checkpoint-tmp` directories, left
  by a kill during a save) are never restored; `interrupted_saves` lists them
  so the caller can report them. Orbax replaces such a directory when it saves
  that step again.
"""

import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from etils import epath
from jax import lax

from jaxgan.core import fs
from jaxgan.core.errors import UserError

_TMP_MARK = ".orbax-checkpoint-tmp"
QUARANTINE = "checkpoints_corrupt"


class CorruptCheckpoint(Exception):
  """A checkpoint that cannot be restored as it was saved."""


def _leaf_words(x: jax.Array) -> jax.Array:
  """A leaf's bits as a flat uint32 vector."""
  x = jnp.asarray(x).reshape(-1)
  size = x.dtype.itemsize
  if size == 4:
    return lax.bitcast_convert_type(x, jnp.uint32)
  if size == 2:
    return lax.bitcast_convert_type(x, jnp.uint16).astype(jnp.uint32)
  if size == 1:
    return lax.bitcast_convert_type(x, jnp.uint8).astype(jnp.uint32)
  raise TypeError(f"no fingerprint for dtype {x.dtype}")


@jax.jit
def _fingerprint(leaves: list[jax.Array]) -> jax.Array:
  sums = []
  for leaf in leaves:
    w = _leaf_words(leaf)
    # A plain sum, and one weighted by an odd multiplier of the position, so
    # that both changed and moved words show (arithmetic mod 2^32).
    position = jnp.arange(w.shape[0], dtype=jnp.uint32)
    weight = position * jnp.uint32(2654435761) + jnp.uint32(1)
    sums.append(
        jnp.stack(
            [
                jnp.sum(w, dtype=jnp.uint32),
                jnp.sum(w * weight, dtype=jnp.uint32),
            ]
        )
    )
  return jnp.stack(sums) if sums else jnp.zeros((0, 2), jnp.uint32)


def fingerprint(state: Any) -> list[list[int]]:
  """[[sum, weighted sum], ...] of the bits of each leaf of `state`."""
  return np.asarray(
      jax.device_get(_fingerprint(jax.tree.leaves(state)))
  ).tolist()


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


def _first_line(e: BaseException) -> str:
  lines = [l.strip() for l in str(e).splitlines() if l.strip()]
  text = lines[0] if lines else ""
  return f"{type(e).__name__}: {text[:200]}"


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
    fingerprint(state)

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
    saved with it and read back by `info(step)`.
    """
    if not self.due(step, force):
      return False
    items = {
        "state": ocp.args.StandardSave(state),
        "fingerprint": ocp.args.JsonSave({"leaves": fingerprint(state)}),
    }
    if info is not None:
      items["info"] = ocp.args.JsonSave(info)
    return self._manager.save(
        step, args=ocp.args.Composite(**items), force=True
    )

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
    if fingerprint(state) != saved:
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
        `checkpoints_corrupt/` (training must, to save those steps again);
        readers leave them in place.

    Returns:
      (state, step, notes): `target` and None when there is no checkpoint;
      notes are one-line reports of interrupted saves and of corrupt
      checkpoints skipped (and where they were moved).

    Raises:
      UserError: there are checkpoints but none restores (nothing is moved),
        or they belong to another model.
    """
    notes = [
        f"{os.path.join(self.directory, n)}: an interrupted save, not "
        "restored (Orbax replaces it when that step is saved again)"
        for n in self.interrupted_saves()
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

  def wait(self) -> None:
    """Blocks until every pending asynchronous save has finished."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
