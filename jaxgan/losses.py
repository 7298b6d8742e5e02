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


def least_squares(real_logits, fake_logits):
  """LSGAN (Mao et al. 2017), targets a=0 (fake), b=1 (real), c=1 (G)."""
  d_loss = None
  if real_logits is not None:
    d_loss = (0.5 * jnp.mean((real_logits - 1.0) ** 2)
              + 0.5 * jnp.mean(fake_logits ** 2))
  g_loss = 0.5 * jnp.mean((fake_logits - 1.0) ** 2)
  return d_loss, g_loss


def hinge(real_logits, fake_logits):
  """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): G maximises D(G(z))."""
  d_loss = None
  if real_logits is not None:
    d_loss = (jnp.mean(jax.nn.relu(1.0 - real_logits))
              + jnp.mean(jax.nn.relu(1.0 + fake_logits)))
  g_loss = -jnp.mean(fake_logits)
  return d_loss, g_loss


def relativistic_average(real_logits, fake_logits):
  """RaSGAN (Jolicoeur-Martineau 2018): is real more realistic than fake?

  D_ra(x_r) = sigmoid(C(x_r) - mean C(x_f)), D_ra(x_f) = sigmoid(C(x_f) -
  mean C(x_r)); D and G minimise the cross-entropies with swapped targets.
  """
  real_rel = real_logits - jnp.mean(fake_logits)
  fake_rel = fake_logits - jnp.mean(real_logits)
  d_loss = (-jnp.mean(jax.nn.log_sigmoid(real_rel))
            - jnp.mean(jax.nn.log_sigmoid(-fake_rel)))
  g_loss = (-jnp.mean(jax.nn.log_sigmoid(fake_rel))
            - jnp.mean(jax.nn.log_sigmoid(-real_rel)))
  return d_loss, g_loss


LOSSES: dict[str, GanLoss] = {
    "minimax": GanLoss(minimax),
    "non_saturating": GanLoss(non_saturating),
    "least_squares": GanLoss(least_squares),
    "hinge": GanLoss(hinge),
    "relativistic_average": GanLoss(relativistic_average, g_uses_real=True),
}


def get_loss(name: str) -> GanLoss:
  if name not in LOSSES:
    raise UserError(f"loss.name={name!r} is unknown; use one of "
                     f"{sorted(LOSSES)}")
  return LOSSES[name]
