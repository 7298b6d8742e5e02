"""GAN losses from discriminator logits, chosen by `loss.name` from `LOSSES`.

Every loss has one signature, `fn(real_logits, fake_logits) -> (d_loss,
g_loss)`, with logits of shape (N,) and scalar losses (means over the batch).
The discriminator step minimises d_loss; the generator step minimises g_loss.
`GanLoss.g_uses_real` says whether g_loss depends on real logits (relativistic
losses); when it does not, the generator step skips D on real images and
passes `real_logits=None`.
"""

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from jaxgan.errors import UserError

LossFn = Callable[[jax.Array | None, jax.Array], tuple[jax.Array, jax.Array]]


@dataclasses.dataclass(frozen=True)
class GanLoss:
  fn: LossFn
  g_uses_real: bool = False


def _d_cross_entropy(real_logits, fake_logits):
  # -log D(x) - log(1 - D(G(z))), with D = sigmoid; log(1 - sigmoid(l)) =
  # log_sigmoid(-l), both computed without overflow.
  return (-jax.nn.log_sigmoid(real_logits).mean()
          - jax.nn.log_sigmoid(-fake_logits).mean())


def minimax(real_logits, fake_logits):
  """Goodfellow et al. 2014, Eq. 1: G minimises log(1 - D(G(z)))."""
  d_loss = (_d_cross_entropy(real_logits, fake_logits)
            if real_logits is not None else None)
  g_loss = jax.nn.log_sigmoid(-fake_logits).mean()
  return d_loss, g_loss


def non_saturating(real_logits, fake_logits):
  """Goodfellow et al. 2014, Sec. 3: G maximises log D(G(z)) instead."""
  d_loss = (_d_cross_entropy(real_logits, fake_logits)
            if real_logits is not None else None)
  g_loss = -jax.nn.log_sigmoid(fake_logits).mean()
  return d_loss, g_loss


LOSSES: dict[str, GanLoss] = {
    "minimax": GanLoss(minimax),
    "non_saturating": GanLoss(non_saturating),
}


def get_loss(name: str) -> GanLoss:
  if name not in LOSSES:
    raise UserError(f"loss.name={name!r} is unknown; use one of "
                     f"{sorted(LOSSES)}")
  return LOSSES[name]
