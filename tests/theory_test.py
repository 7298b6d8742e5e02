"""Goodfellow et al. 2014's results and the penalties' algebra, numerically.

- Prop. 1: for fixed G the optimal discriminator is D*(x) = p_data(x) /
  (p_data(x) + p_g(x)); Thm. 1: the value at D* is C(G) = -log 4 + 2 JSD(
  p_data || p_g), minimal (-log 4) exactly when p_g = p_data. Checked by
  training a free discriminator (one logit per support point) with the
  library's minimax loss on discrete distributions whose samples are listed
  in proportion to their probabilities, so batch means are expectations.
- Sec. 3: the minimax generator's gradient vanishes as D(G(z)) -> 0 while
  the non-saturating one's does not.
- WGAN-GP/DRAGAN/R1 on a linear critic D(x) = w.x, whose input gradient is w
  everywhere: lambda (|w| - 1)^2 and 0.5 |w|^2 exactly.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan.gan import losses, penalties


def _samples(probs_in_tenths):
  """Support indices repeated by their probability (in tenths)."""
  return jnp.array([i for i, c in enumerate(probs_in_tenths) for _ in range(c)])


def _jsd(p, q):
  m = 0.5 * (p + q)
  kl = lambda a, b: np.sum(np.where(a > 0, a * np.log(a / b), 0.0))
  return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def _train_optimal_d(p_data, p_g, steps=4000):
  real, fake = _samples(p_data), _samples(p_g)
  logits = jnp.zeros(len(p_data))
  tx = optax.adam(0.05)
  opt_state = tx.init(logits)

  def d_loss(logits):
    return losses.minimax(logits[real], logits[fake], {})[0]

  @jax.jit
  def update(logits, opt_state):
    grads = jax.grad(d_loss)(logits)
    updates, opt_state = tx.update(grads, opt_state)
    return optax.apply_updates(logits, updates), opt_state

  for _ in range(steps):
    logits, opt_state = update(logits, opt_state)
  return logits, float(d_loss(logits))


@pytest.mark.parametrize(
    "p_data,p_g",
    [
        ((1, 2, 3, 4), (4, 3, 2, 1)),
        ((5, 3, 1, 1), (2, 2, 3, 3)),
    ],
)
def test_optimal_discriminator_and_jsd(p_data, p_g):
  logits, d_loss = _train_optimal_d(p_data, p_g)
  pd, pg = np.array(p_data) / 10, np.array(p_g) / 10
  d_star = pd / (pd + pg)
  np.testing.assert_allclose(jax.nn.sigmoid(logits), d_star, atol=2e-3)
  # V(D*, G) = -d_loss = C(G) = 2 JSD - log 4.
  c_g = -d_loss
  np.testing.assert_allclose(c_g, 2 * _jsd(pd, pg) - math.log(4), atol=1e-4)
  assert c_g > -math.log(4)


def test_value_is_minus_log4_when_p_g_equals_p_data():
  logits, d_loss = _train_optimal_d((1, 2, 3, 4), (1, 2, 3, 4), steps=500)
  np.testing.assert_allclose(jax.nn.sigmoid(logits), 0.5, atol=1e-4)
  np.testing.assert_allclose(-d_loss, -math.log(4), atol=1e-6)


def test_minimax_generator_gradient_vanishes_non_saturating_does_not():
  def g_grad(name, logit):
    loss = losses.LOSSES[name].fn
    return float(jax.grad(lambda l: loss(None, jnp.array([l]), {})[1])(logit))

  # D(G(z)) = sigmoid(logit) -> 0 as the logit -> -inf (D rejects fakes).
  for logit in (-5.0, -10.0, -20.0):
    d = 1.0 / (1.0 + math.exp(-logit))
    # minimax: d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0.
    np.testing.assert_allclose(g_grad("minimax", logit), -d, rtol=1e-4)
    # non-saturating: d/dl -log sigmoid(l) = -(1 - sigmoid(l)) -> -1.
    np.testing.assert_allclose(
        g_grad("non_saturating", logit), -(1 - d), rtol=1e-4
    )
  assert abs(g_grad("minimax", -20.0)) < 1e-8
  assert abs(g_grad("non_saturating", -20.0)) > 0.99


@pytest.mark.parametrize("w", [[0.3, -0.4], [3.0, 4.0], [0.6, 0.8]])
def test_gradient_penalties_of_a_linear_critic(w):
  w = jnp.array(w)
  critic = lambda x: x @ w
  key = jax.random.PRNGKey(0)
  real = jax.random.normal(key, (16, 2))
  fake = jax.random.normal(jax.random.PRNGKey(1), (16, 2)) + 3.0
  norm = float(jnp.linalg.norm(w))
  keys = penalties.sample_keys(key, 16)
  for name in ("wgan_gp", "dragan"):
    penalty = penalties.PENALTIES[name](critic, real, fake, keys)
    np.testing.assert_allclose(
        10.0 * penalty, 10.0 * (norm - 1.0) ** 2, rtol=1e-5, atol=1e-9
    )
  r1 = penalties.PENALTIES["r1"](critic, real, fake, keys)
  np.testing.assert_allclose(r1, 0.5 * norm**2, rtol=1e-6)


def test_wgan_critic_loss_is_negative_mean_difference():
  w = jnp.array([0.5, -2.0])
  real = jnp.array([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]])
  fake = jnp.array([[0.0, 1.0], [1.0, 1.0]])
  d_loss, g_loss = losses.wasserstein(real @ w, fake @ w, {})
  # D(real) = 0.5, -1, 2 -> mean 0.5; D(fake) = -2, -1.5 -> mean -1.75.
  np.testing.assert_allclose(d_loss, -(0.5 - (-1.75)), rtol=1e-6)
  np.testing.assert_allclose(g_loss, 1.75, rtol=1e-6)
