"""The host's side of the non-finite checks: reading `TrainState.health`.

The step records, on the device, every iteration with a NaN or Inf in a
checked quantity (nonfinite.CHECKED). `Health` reads that record at log and
checkpoint steps only (no other device-to-host transfer) and acts on new
bad iterations: it stops training with one line (`train.on_nonfinite=
'stop'`) or reports the skipped updates ('skip').
"""

import jax

from jaxgan.core import runtime
from jaxgan.gan import nonfinite


class Health:
  """Reads `TrainState.health` and acts on new non-finite iterations."""

  def __init__(self, state, skip: bool):
    self.skip = skip
    self.seen = int(jax.device_get(state.health["nonfinite_steps"]))
    self.baseline = self.seen
    self.checked_step = int(jax.device_get(state.step))

  def check(self, state, step: int, last_saved: int | None) -> int:
    """Raises FloatingPointError (mode 'stop') or warns (mode 'skip') when
    iterations since the last check had a NaN/Inf; returns the count."""
    h = {k: int(v) for k, v in jax.device_get(state.health).items()}
    new = h["nonfinite_steps"] - self.seen
    since, self.checked_step = self.checked_step, step
    self.seen = h["nonfinite_steps"]
    if new <= 0:
      return h["nonfinite_steps"]
    if self.skip:
      names = ", ".join(nonfinite.describe(h["last_mask"]))
      runtime.log(
          f"warning: {new} iteration(s) in steps {since + 1}-{step} "
          f"had a non-finite {names} (last at step {h['last_step']}); "
          "their updates were skipped (train.on_nonfinite='skip')"
      )
      return h["nonfinite_steps"]
    first = self.baseline == 0
    at = h["first_step"] if first else h["last_step"]
    names = ", ".join(
        nonfinite.describe(h["first_mask"] if first else h["last_mask"])
    )
    kept = (
        f"checkpoint step {last_saved} is kept"
        if last_saved is not None
        else "no checkpoint was written"
    )
    raise FloatingPointError(
        f"non-finite {names} at step {at} (caught at step {step}; {new} bad "
        f"iteration(s) in steps {since + 1}-{step}); training stopped and "
        f"{kept}: lower the learning rates, check the data, or set "
        "--config.train.on_nonfinite=skip"
    )
