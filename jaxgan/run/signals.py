"""Ctrl-C and SIGTERM (preemption) as a request to stop after the step."""

import signal


class StopRequest:
  """Turns SIGINT/SIGTERM into a flag the loop checks after each step.

  Installed until the last checkpoint is written and closed, so a second
  signal during that save only prints a line; kill -9 still ends the
  process, and the previous checkpoints stay restorable.
  """

  def __init__(self):
    self.requested = False
    self._previous = {}

  def __enter__(self):
    for sig in (signal.SIGINT, signal.SIGTERM):
      self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    if self.requested:
      print(
          f"\n{name}: already stopping; waiting for the checkpoint to be "
          "written (kill -9 would keep only the previous one)",
          flush=True,
      )
    else:
      print(
          f"\n{name}: stopping after this step and saving a checkpoint",
          flush=True,
      )
    self.requested = True

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
