"""Checkpoints of the train state; the only module that imports orbax.

A thin layer over `orbax.checkpoint.CheckpointManager`: asynchronous saves
every `checkpoint.every_steps` (and on demand), the newest `max_to_keep`
kept, restore of the latest step into the shardings of a target state, and a
`wait()` that every exit path calls so no save is lost.
"""

import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class Checkpointer:
  """Saves and restores `TrainState`s under `<workdir>/checkpoints`."""

  def __init__(self, directory: str, *, every_steps: int, max_to_keep: int,
               async_save: bool = True):
    self.directory = os.path.abspath(directory)
    self.every_steps = every_steps
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        enable_async_checkpointing=async_save,
        create=True,
    )
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("state",))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state: Any, *, force: bool = False) -> bool:
    """Starts a save at `step` if due (every_steps) or forced; non-blocking.

    The device-to-host copy happens before this returns, so the caller may
    donate `state`'s buffers to the next step right away.
    """
    if not (force or step % self.every_steps == 0):
      return False
    if step in self._manager.all_steps():
      return False
    return self._manager.save(
        step, args=ocp.args.Composite(state=ocp.args.StandardSave(state)),
        force=True)

  def restore(self, target: Any, step: int | None = None) -> Any:
    """Restores `step` (default: latest) with the shapes/shardings of target.

    Args:
      target: a state or a pytree of `jax.ShapeDtypeStruct`s with shardings.
      step: the step to restore; the latest one when None.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {self.directory}")
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype,
                                       sharding=getattr(x, "sharding", None)),
        target)
    restored = self._manager.restore(
        step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
    return restored["state"]

  def wait(self) -> None:
    """Blocks until every pending asynchronous save has finished."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
