"""A train state's fingerprint: two 32-bit sums of each leaf's bits.

A plain sum and one weighted by an odd multiplier of the position (mod
2^32), so that both changed and moved words show. checkpoint.py stores it
with every checkpoint and accepts a restore only when it matches.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


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


_WORDS = {4: np.uint32, 2: np.uint16, 1: np.uint8}


def _host_fingerprint(leaves: list[np.ndarray]) -> list[list[int]]:
  """`_fingerprint` in numpy: the same uint32 arithmetic (mod 2^32, so the
  order of the additions does not matter), on arrays in host memory."""
  out = []
  for leaf in leaves:
    leaf = np.ascontiguousarray(leaf).reshape(-1)
    if leaf.dtype.itemsize not in _WORDS:
      raise TypeError(f"no fingerprint for dtype {leaf.dtype}")
    w = leaf.view(_WORDS[leaf.dtype.itemsize]).astype(np.uint32)
    position = np.arange(w.shape[0], dtype=np.uint32)
    weight = position * np.uint32(2654435761) + np.uint32(1)
    out.append(
        [int(w.sum(dtype=np.uint32)), int((w * weight).sum(dtype=np.uint32))]
    )
  return out


def _in_host_memory(leaves: list[Any]) -> bool:
  return all(
      isinstance(x, np.ndarray)
      or (
          isinstance(x, jax.Array)
          and x.is_fully_addressable
          and all(d.platform == "cpu" for d in x.devices())
      )
      for x in leaves
  )


def fingerprint(state: Any) -> list[list[int]]:
  """[[sum, weighted sum], ...] of the bits of each leaf of `state`.

  On the CPU the leaves are in host memory already and numpy sums them
  (the jitted form's compilation took 1-3 s a state layout); elsewhere the
  device does.
  """
  leaves = jax.tree.leaves(state)
  if _in_host_memory(leaves):
    return _host_fingerprint([np.asarray(x) for x in leaves])
  return np.asarray(jax.device_get(_fingerprint(leaves))).tolist()


def warm_up(state: Any) -> None:
  """Compiles the device form for states like `state` now (the host form
  compiles nothing)."""
  leaves = jax.tree.leaves(state)
  if not _in_host_memory(leaves):
    _fingerprint(leaves)
