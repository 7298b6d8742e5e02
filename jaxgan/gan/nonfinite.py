"""The device's side of the non-finite checks: which quantities, as bit masks.

Every update of the training step (jaxgan/gan/updates.py) checks the quantities
in CHECKED for NaN or Inf, as one int32 bit mask agreed by all devices (`mask`);
`record` keeps the first and last bad iterations in `TrainState.health`, and
with `train.on_nonfinite='skip'` `keep_if` leaves the state as it was.
jaxgan/run/health.py reads the record on the host.
"""

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan.core.runtime import AXIS


def float_norm(tree) -> jax.Array:
  """The norm of a tree's floating-point leaves (counters are integers)."""
  leaves = [
      x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)
  ]
  return optax.tree.norm(leaves)


# The quantities checked for NaN/Inf after every update, in the bit order of
# the masks in `TrainState.health`. Norms cover whole trees: a non-finite
# parameter, optimizer input (gradient) or batch statistic shows in its norm.
CHECKED = (
    "d_loss",
    "d_penalty",
    "d_grad_norm",
    "d_param_norm",
    "d_stats",
    "loss_state",
    "g_loss",
    "g_grad_norm",
    "g_param_norm",
    "g_stats",
)


def mask(values: dict[str, jax.Array]) -> jax.Array:
  """int32 bit mask over CHECKED of the non-finite `values`, OR-ed over all
  devices (so every device takes the same decision)."""
  flags = jnp.stack(
      [
          jnp.logical_not(jnp.isfinite(v)).astype(jnp.int32)
          for v in values.values()
      ]
  )
  flags = lax.pmax(flags, AXIS)
  bits = jnp.array([1 << CHECKED.index(k) for k in values], jnp.int32)
  return jnp.sum(flags * bits)


def describe(bits: int) -> list[str]:
  """The CHECKED names whose bits are set in `bits` (a mask)."""
  return [name for i, name in enumerate(CHECKED) if bits & (1 << i)]


def keep_if(ok: jax.Array, new, old):
  """`new` where ok, else `old` (a skipped update), leaf by leaf."""
  return jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)


def record(
    health: dict[str, jax.Array], step: jax.Array, bits: jax.Array
) -> dict[str, jax.Array]:
  """Health after an iteration (1-based `step`) whose non-finite mask is
  `bits`."""
  bad = bits != 0
  first = bad & (health["first_step"] < 0)
  return {
      "nonfinite_steps": health["nonfinite_steps"] + bad.astype(jnp.int32),
      "first_step": jnp.where(first, step, health["first_step"]),
      "first_mask": jnp.where(first, bits, health["first_mask"]),
      "last_step": jnp.where(bad, step, health["last_step"]),
      "last_mask": jnp.where(bad, bits, health["last_mask"]),
  }
