"""Augmentation of every image D sees (`augment.name`), inside the step.

    none | diffaugment (Zhao et al. 2020) | ada (Karras et al. 2020)

An `Augment` is a pure function (images, keys, p) -> images, differentiable
in the images, so G's gradient flows through it; the step applies it to the
real and the generated batch in D's updates and to the generated batch (and
the real one where the loss reads it) in G's. `keys` holds one key per
sample, derived from its index in the global batch, so one device equals N.
ADA's probability p is adaptive state: it lives in the train state's
`loss_state` with its accumulators (`init_state`, `ada_update`) and is
checkpointed and restored with everything else.
"""

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections

from jaxgan.augment import ada, diffaugment
from jaxgan.core.errors import UserError

NAMES = ("none", "diffaugment", "ada")
# ADA pipelines by name: 'bgc' is the paper's default for small datasets.
PIPELINES = {
    "bgc": ada.TRANSFORMS,
    "bg": ada.GEOMETRIC,
    "c": ada.COLOR,
    "b": ("xflip", "rotate90", "xint"),
}
# The loss_state keys of ADA's state.
ADA_KEYS = ("ada_p", "ada_signs", "ada_count", "ada_images", "ada_rt")


@dataclasses.dataclass(frozen=True)
class Augment:
  """The configured augmentation.

  Attributes:
    name: 'none', 'diffaugment' or 'ada'.
    fn: (images (N, H, W, C), keys (N, 2), p) -> images.
    adaptive: p adapts to D's overfitting (ADA with augment.target > 0).
    p: the initial (or fixed) probability.
    target, interval, speed_kimg: ADA's heuristic (augment.*).
  """

  name: str = "none"
  fn: Callable | None = None
  adaptive: bool = False
  p: float = 0.0
  target: float = 0.6
  interval: int = 4
  speed_kimg: float = 500.0

  @property
  def enabled(self) -> bool:
    return self.fn is not None

  def __call__(self, x: jax.Array, keys: jax.Array, p) -> jax.Array:
    return x if self.fn is None else self.fn(x, keys, p)


def from_config(config: ml_collections.ConfigDict) -> Augment:
  """The Augment of `config.augment` (validated by validate.py)."""
  a = config.augment
  if a.name == "none":
    return Augment()
  if a.name == "diffaugment":
    policy = diffaugment.parse_policy(a.policy)
    return Augment(
        "diffaugment",
        lambda x, keys, p: diffaugment.diffaugment(x, keys, policy),
    )
  if a.name == "ada":
    enabled = PIPELINES[a.pipeline]
    return Augment(
        "ada",
        lambda x, keys, p: ada.augment(x, keys, p, enabled),
        adaptive=a.target > 0,
        p=float(a.p),
        target=float(a.target),
        interval=int(a.interval),
        speed_kimg=float(a.speed_kimg),
    )
  raise UserError(f"augment.name={a.name!r} is unknown; use one of {NAMES}")


def init_state(aug: Augment) -> dict[str, jax.Array]:
  """ADA's entries of the initial loss_state (none for the others)."""
  if aug.name != "ada":
    return {}
  return {
      "ada_p": jnp.float32(aug.p),
      "ada_signs": jnp.float32(0.0),  # Sum of sign(D(aug(x))) since update.
      "ada_count": jnp.float32(0.0),  # Number of those outputs.
      "ada_images": jnp.int32(0),  # Real images shown to D in all.
      "ada_rt": jnp.float32(0.0),  # The last update's r_t.
  }


def p_of(aug: Augment, loss_state) -> jax.Array:
  """The probability this step applies (ADA: the state's)."""
  if aug.name == "ada":
    return loss_state["ada_p"]
  return jnp.float32(1.0)


def ada_accumulate(loss_state, signs, count):
  """loss_state after one D update: `signs`, the sum of sign(D(aug(x)))
  over the global batch's `count` reals, added to the accumulators (every
  device adds the same numbers)."""
  return {
      **loss_state,
      "ada_signs": loss_state["ada_signs"] + signs.astype(jnp.float32),
      "ada_count": loss_state["ada_count"] + jnp.asarray(count, jnp.float32),
      "ada_images": loss_state["ada_images"] + jnp.asarray(count, jnp.int32),
  }


def ada_update(aug: Augment, loss_state, step, images_per_iteration: int):
  """After iteration `step` (0-based, traced): every `interval`
  iterations p moves by ADA's heuristic and the accumulators restart."""
  if not aug.adaptive:
    return loss_state
  due = (step + 1) % aug.interval == 0
  p, r_t = ada.update_p(
      loss_state["ada_p"],
      loss_state["ada_signs"],
      loss_state["ada_count"],
      target=aug.target,
      images=images_per_iteration * aug.interval,
      speed_kimg=aug.speed_kimg,
  )
  zero = jnp.float32(0.0)
  return {
      **loss_state,
      "ada_p": jnp.where(due, p, loss_state["ada_p"]),
      "ada_rt": jnp.where(due, r_t, loss_state["ada_rt"]),
      "ada_signs": jnp.where(due, zero, loss_state["ada_signs"]),
      "ada_count": jnp.where(due, zero, loss_state["ada_count"]),
  }
