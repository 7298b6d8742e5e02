"""Applying a generator or discriminator: variables, mutable collections,
sown heads, and the images' conversion to the networks' input."""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def apply_model(
    module: nn.Module,
    params,
    batch_stats,
    x,
    *,
    train: bool,
    rng=None,
    labels=None,
    collect: tuple[str, ...] | None = None,
    extra: dict[str, Any] | None = None,
):
  """Applies a module; returns (output, new batch_stats[, sown]).

  `labels` go to a class-conditional module, `extra` (e.g. a progressive
  model's fade-in alpha) to any. With `collect` (even empty),
  also returns a dict of what the module (or a submodule) sowed as
  ('intermediates', name) for each name: D's last hidden layer 'features',
  its ACGAN 'class_logits' and InfoGAN 'info' heads.
  """
  variables = {"params": params}
  if batch_stats:
    variables["batch_stats"] = batch_stats
  rngs = {"dropout": rng} if rng is not None else None
  mutable = ["batch_stats"] if train and batch_stats else []
  mutable += ["intermediates"] if collect else []
  kwargs = {"labels": labels} if labels is not None else {}
  kwargs.update(extra or {})
  if mutable:
    out, updates = module.apply(
        variables, x, train=train, rngs=rngs, mutable=mutable, **kwargs
    )
    stats = updates.get("batch_stats", batch_stats)
  else:
    out = module.apply(variables, x, train=train, rngs=rngs, **kwargs)
    updates, stats = {}, batch_stats
  if collect is not None:
    return (
        out,
        stats,
        {name: _sown(updates["intermediates"], name) for name in collect},
    )
  return out, stats


def _sown(tree: dict, name: str):
  """The value sown as `name` anywhere in an 'intermediates' tree."""
  if name in tree:
    return tree[name][0]
  for value in tree.values():
    if isinstance(value, dict):
      found = _sown(value, name)
      if found is not None:
        return found
  return None


def to_model_input(batch: jax.Array) -> jax.Array:
  """uint8 images -> float32 in [-1, 1]; float data (2-D points) as is."""
  if batch.dtype == jnp.uint8:
    return batch.astype(jnp.float32) / 127.5 - 1.0
  return batch.astype(jnp.float32)
