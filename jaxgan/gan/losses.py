"""GAN losses from discriminator outputs, chosen by `loss.name` from `LOSSES`.

Every loss has one signature,

    fn(real_out, fake_out, loss_state, **hparams) -> (d_loss, g_loss),

with D's outputs of shape (N,) (logits, critic values, or BEGAN's
reconstruction errors), `loss_state` a dict of the loss's own training state
(empty except for BEGAN's k_t) and scalar losses (means over the batch). The
discriminator step minimises d_loss; the generator step minimises g_loss.
`real_out` is None in the generator step unless `GanLoss.g_uses_real`
(relativistic losses); d_loss is then None.

The entries also say what each loss needs from the rest of the step: a
gradient penalty (WGAN-GP, DRAGAN, from penalties.py), a Lipschitz
constraint (WGAN), an autoencoder discriminator (BEGAN), and which
`config.loss` fields are its hyper-parameters (`get_loss` binds them).
"""

import dataclasses
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.core.errors import UserError

LossFn = Callable[..., tuple[jax.Array | None, jax.Array]]


@dataclasses.dataclass(frozen=True)
class GanLoss:
  """A loss and what it requires.

  Attributes:
    fn: the loss (signature in the module docstring).
    g_uses_real: g_loss depends on real outputs (relativistic losses).
    probability: D's outputs are logits of P(real), so sigmoid(out) is the
      D(x) of Goodfellow et al. (logged as d_real/d_fake); else raw outputs.
    penalty: name of the penalty (penalties.PENALTIES) the loss includes.
    lipschitz: the critic needs a Lipschitz constraint (weight clipping,
      spectral norm or a gradient penalty) or the loss is unbounded.
    autoencoder: D must be an autoencoder returning reconstruction errors.
    hparams: `config.loss` fields passed to fn and update as keywords.
    init_state: () -> the initial loss_state dict.
    update: (loss_state, real_out, fake_out, **hparams) -> (loss_state,
      metrics), called after every discriminator update; None if stateless.
  """

  fn: LossFn
  g_uses_real: bool = False
  probability: bool = False
  penalty: str | None = None
  lipschitz: bool = False
  autoencoder: bool = False
  hparams: tuple[str, ...] = ()
  init_state: Callable[[], dict[str, Any]] = dict
  update: Callable[..., tuple[dict[str, Any], dict[str, jax.Array]]] | None = (
      None
  )


def _d_cross_entropy(real_logits, fake_logits, label_smoothing=0.0):
  # -log D(x) - log(1 - D(G(z))), with D = sigmoid; log(1 - sigmoid(l)) =
  # log_sigmoid(-l), both computed without overflow. One-sided label
  # smoothing (Salimans et al. 2016, Sec. 3.4) sets the real target to
  # 1 - label_smoothing and leaves the fake target at 0.
  s = label_smoothing
  real_term = -(
      (1.0 - s) * jax.nn.log_sigmoid(real_logits)
      + s * jax.nn.log_sigmoid(-real_logits)
  ).mean()
  return real_term - jax.nn.log_sigmoid(-fake_logits).mean()


def minimax(real_logits, fake_logits, loss_state, label_smoothing=0.0):
  """Goodfellow et al. 2014, Eq. 1: G minimises log(1 - D(G(z)))."""
  del loss_state
  d_loss = (
      _d_cross_entropy(real_logits, fake_logits, label_smoothing)
      if real_logits is not None
      else None
  )
  g_loss = jax.nn.log_sigmoid(-fake_logits).mean()
  return d_loss, g_loss


def non_saturating(real_logits, fake_logits, loss_state, label_smoothing=0.0):
  """Goodfellow et al. 2014, Sec. 3: G maximises log D(G(z)) instead."""
  del loss_state
  d_loss = (
      _d_cross_entropy(real_logits, fake_logits, label_smoothing)
      if real_logits is not None
      else None
  )
  g_loss = -jax.nn.log_sigmoid(fake_logits).mean()
  return d_loss, g_loss


def wasserstein(real_out, fake_out, loss_state):
  """WGAN (Arjovsky et al. 2017): the critic maximises E D(x) - E D(G(z))."""
  del loss_state
  d_loss = (
      jnp.mean(fake_out) - jnp.mean(real_out) if real_out is not None else None
  )
  return d_loss, -jnp.mean(fake_out)


def least_squares(real_logits, fake_logits, loss_state):
  """LSGAN (Mao et al. 2017), targets a=0 (fake), b=1 (real), c=1 (G)."""
  del loss_state
  d_loss = None
  if real_logits is not None:
    d_loss = 0.5 * jnp.mean((real_logits - 1.0) ** 2) + 0.5 * jnp.mean(
        fake_logits**2
    )
  g_loss = 0.5 * jnp.mean((fake_logits - 1.0) ** 2)
  return d_loss, g_loss


def hinge(real_logits, fake_logits, loss_state):
  """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): G maximises D(G(z))."""
  del loss_state
  d_loss = None
  if real_logits is not None:
    d_loss = jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(
        jax.nn.relu(1.0 + fake_logits)
    )
  g_loss = -jnp.mean(fake_logits)
  return d_loss, g_loss


def relativistic_average(real_logits, fake_logits, loss_state):
  """RaSGAN (Jolicoeur-Martineau 2018): is real more realistic than fake?

  D_ra(x_r) = sigmoid(C(x_r) - mean C(x_f)), D_ra(x_f) = sigmoid(C(x_f) -
  mean C(x_r)); D and G minimise the cross-entropies with swapped targets.
  """
  del loss_state
  real_rel = real_logits - jnp.mean(fake_logits)
  fake_rel = fake_logits - jnp.mean(real_logits)
  d_loss = -jnp.mean(jax.nn.log_sigmoid(real_rel)) - jnp.mean(
      jax.nn.log_sigmoid(-fake_rel)
  )
  g_loss = -jnp.mean(jax.nn.log_sigmoid(fake_rel)) - jnp.mean(
      jax.nn.log_sigmoid(-real_rel)
  )
  return d_loss, g_loss


def began(
    real_errors, fake_errors, loss_state, began_gamma=0.75, began_lambda_k=0.001
):
  """BEGAN (Berthelot et al. 2017, Eq. 4) on reconstruction errors L(.).

  L_D = L(x) - k_t L(G(z)), L_G = L(G(z)); k_t is `loss_state['k']`.
  """
  del began_gamma, began_lambda_k  # Used by began_update.
  d_loss = (
      jnp.mean(real_errors) - loss_state["k"] * jnp.mean(fake_errors)
      if real_errors is not None
      else None
  )
  return d_loss, jnp.mean(fake_errors)


def began_update(
    loss_state, real_errors, fake_errors, began_gamma=0.75, began_lambda_k=0.001
):
  """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1).

  Also returns the convergence measure M = L(x) + |gamma L(x) - L(G(z))|
  (Berthelot et al. 2017, Sec. 3.4.1).
  """
  real, fake = jnp.mean(real_errors), jnp.mean(fake_errors)
  balance = began_gamma * real - fake
  k = jnp.clip(loss_state["k"] + began_lambda_k * balance, 0.0, 1.0)
  return {"k": k}, {"began_k": k, "began_M": real + jnp.abs(balance)}


def orthogonal_penalty(params, skip: tuple[str, ...] = ("shared",)):
  """BigGAN's orthogonal regulariser (Brock et al. 2019, Sec. 3.1):
  sum over weight matrices W of ||W W^T * (1 - I)||_F^2.

  Every `kernel` of `params` with two or more dimensions counts, as a
  (outputs, inputs) matrix (a conv kernel (kh, kw, in, out) reshaped to
  (out, kh kw in)); the paper leaves the shared class embedding out, and so
  do parameters under a name in `skip`. Only the off-diagonal inner products
  are penalised: the rows' norms are free.
  """
  total = jnp.zeros((), jnp.float32)
  flat = jax.tree_util.tree_flatten_with_path(params)[0]
  for path, leaf in flat:
    names = [str(getattr(p, "key", p)) for p in path]
    if names[-1] != "kernel" or leaf.ndim < 2 or set(names) & set(skip):
      continue
    w = leaf.reshape(-1, leaf.shape[-1]).T.astype(jnp.float32)
    gram = w @ w.T
    total += jnp.sum(jnp.square(gram * (1.0 - jnp.eye(gram.shape[0]))))
  return total


LOSSES: dict[str, GanLoss] = {
    "minimax": GanLoss(minimax, probability=True, hparams=("label_smoothing",)),
    "non_saturating": GanLoss(
        non_saturating, probability=True, hparams=("label_smoothing",)
    ),
    "wgan": GanLoss(wasserstein, lipschitz=True),
    "wgan_gp": GanLoss(wasserstein, penalty="wgan_gp", lipschitz=True),
    "least_squares": GanLoss(least_squares),
    "dragan": GanLoss(
        non_saturating,
        probability=True,
        penalty="dragan",
        hparams=("label_smoothing",),
    ),
    "hinge": GanLoss(hinge),
    "relativistic_average": GanLoss(relativistic_average, g_uses_real=True),
    "began": GanLoss(
        began,
        autoencoder=True,
        hparams=("began_gamma", "began_lambda_k"),
        init_state=lambda: {"k": jnp.zeros((), jnp.float32)},
        update=began_update,
    ),
}


def get_loss(loss_config) -> GanLoss:
  """The `LOSSES` entry for `loss_config.name`, hyper-parameters bound."""
  name = loss_config.name
  if name not in LOSSES:
    raise UserError(
        f"loss.name={name!r} is unknown; use one of " f"{sorted(LOSSES)}"
    )
  loss = LOSSES[name]
  hparams = {k: loss_config[k] for k in loss.hparams}
  return dataclasses.replace(
      loss,
      fn=functools.partial(loss.fn, **hparams),
      update=(
          functools.partial(loss.update, **hparams) if loss.update else None
      ),
  )


def reconstruction(
    kind: str, fake: jax.Array, real: jax.Array, content=None
) -> jax.Array:
  """The distance of G's outputs to their targets: the mean per-pixel
  'l1' (pix2pix) or 'mse' (SRResNet-MSE), or 'classifier': the mean
  squared distance of their `content` features (SRGAN's VGG loss with the
  domain classifier for VGG; the targets' features are constants)."""
  fake, real = fake.astype(jnp.float32), real.astype(jnp.float32)
  if kind == "classifier":
    fake, real = content(fake), lax.stop_gradient(content(real))
  diff = fake - real
  return jnp.mean(jnp.abs(diff)) if kind == "l1" else jnp.mean(diff * diff)
