"""Device variance under shard_map, for functions with hand-written VJPs.

Inside `jax.shard_map` every value is typed as varying over some of the
mesh's manual axes (a per-device value) or invariant (the same on every
device). JAX's own differentiation keeps these types consistent; a
`jax.custom_vjp` rule or an FFI call (whose results JAX types as invariant)
has to do it by hand, with these helpers.
"""

import jax
from jax import lax


def varying(a: jax.Array) -> frozenset:
  """The manual mesh axes `a` varies over (empty outside shard_map)."""
  return jax.typeof(a).manual_axis_type.varying  # jax >= 0.8.


def to_varying(a: jax.Array, axes: frozenset) -> jax.Array:
  """`a` typed as varying over `axes` too (its transpose sums over them)."""
  missing = tuple(sorted(axes - varying(a)))
  return lax.pcast(a, missing, to="varying") if missing else a


def cotangent(ct: jax.Array, primal: jax.Array) -> jax.Array:
  """Gives a cotangent the primal's dtype and device variance.

  Under shard_map, the cotangent of a replicated (invariant) input is the sum
  of every device's contribution, as JAX's own differentiation makes it; one
  for a device-varying input varies too.
  """
  extra = tuple(sorted(varying(ct) - varying(primal)))
  if extra:
    ct = lax.psum(ct, extra)
  return to_varying(ct, varying(primal)).astype(primal.dtype)
