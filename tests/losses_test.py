"""Losses against hand-computed values on fixed outputs: one row per loss."""

import math

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan.gan import losses
from jaxgan.core.errors import UserError

REAL = jnp.array([2.0, -1.0, 0.0])
FAKE = jnp.array([-3.0, 0.5, 1.0])
R, F = REAL.tolist(), FAKE.tolist()
K = 0.3  # BEGAN's k_t for the table below.


def _sigmoid(x):
  return 1.0 / (1.0 + math.exp(-x))


def _bce_d(real, fake):  # -mean log D(x) - mean log(1 - D(G(z))).
  return -np.mean([math.log(_sigmoid(x)) for x in real]) - np.mean(
      [math.log(1 - _sigmoid(x)) for x in fake]
  )


_MR, _MF = np.mean(R), np.mean(F)
# loss -> (d_loss, g_loss) by hand, on REAL and FAKE (and k_t = K).
EXPECTED = {
    "minimax": (_bce_d(R, F), np.mean([math.log(1 - _sigmoid(x)) for x in F])),
    "non_saturating": (
        _bce_d(R, F),
        -np.mean([math.log(_sigmoid(x)) for x in F]),
    ),
    "dragan": (_bce_d(R, F), -np.mean([math.log(_sigmoid(x)) for x in F])),
    # Critic: mean fake - mean real = (-1.5/3) - (1/3) = -0.8333.
    "wgan": (-1.5 / 3 - 1.0 / 3, 1.5 / 3),
    "wgan_gp": (-1.5 / 3 - 1.0 / 3, 1.5 / 3),
    # real (1, 4, 1)/3 * 0.5 = 1.0; fake (9, .25, 1)/3 * 0.5 = 1.708333.
    "least_squares": (1.0 + 10.25 / 6, 0.5 * (16 + 0.25 + 0) / 3),
    # real: relu(-1)=0, relu(2)=2, relu(1)=1 -> 1; fake: 0, 1.5, 2 -> 7/6.
    "hinge": (1.0 + 3.5 / 3, 1.5 / 3),
    "relativistic_average": (
        -np.mean([math.log(_sigmoid(x - _MF)) for x in R])
        - np.mean([math.log(1 - _sigmoid(x - _MR)) for x in F]),
        -np.mean([math.log(_sigmoid(x - _MR)) for x in F])
        - np.mean([math.log(1 - _sigmoid(x - _MF)) for x in R]),
    ),
    # L(x) - k L(G(z)) and L(G(z)) with outputs read as reconstruction errors.
    "began": (_MR - K * _MF, _MF),
}


def _config(name, **kw):
  c = ml_collections.ConfigDict(
      dict(
          name=name, label_smoothing=0.0, began_gamma=0.75, began_lambda_k=0.001
      )
  )
  c.update(kw)
  return c


def test_every_loss_has_a_row():
  assert sorted(EXPECTED) == sorted(losses.LOSSES)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_loss_values(name):
  loss = losses.get_loss(_config(name))
  state = {"k": jnp.float32(K)} if name == "began" else loss.init_state()
  d_loss, g_loss = loss.fn(REAL, FAKE, state)
  np.testing.assert_allclose((d_loss, g_loss), EXPECTED[name], rtol=1e-6)
  if not loss.g_uses_real:  # The generator step passes real=None.
    d_none, g_only = loss.fn(None, FAKE, state)
    assert d_none is None
    np.testing.assert_allclose(g_only, EXPECTED[name][1], rtol=1e-6)


def test_bce_from_logits_equals_log_loss_table():
  # -log p for p = D(x) = 0.5, 0.9, 0.99 (log-loss table): 0.6931, 0.1054,
  # 0.01005; with fake logit -inf-like (-30) the fake term is ~0.
  for p, expected in ((0.5, 0.693147), (0.9, 0.105361), (0.99, 0.0100503)):
    logit = math.log(p / (1 - p))
    d_loss, _ = losses.non_saturating(
        jnp.array([logit]), jnp.array([-30.0]), {}
    )
    np.testing.assert_allclose(d_loss, expected, rtol=1e-5)


def test_one_sided_label_smoothing():
  # Real target 0.9: -(0.9 log s(r) + 0.1 log(1 - s(r))); fake target stays 0.
  loss = losses.get_loss(_config("non_saturating", label_smoothing=0.1))
  d_loss, g_loss = loss.fn(REAL, FAKE, {})
  real_term = -np.mean(
      [0.9 * math.log(_sigmoid(x)) + 0.1 * math.log(1 - _sigmoid(x)) for x in R]
  )
  fake_term = -np.mean([math.log(1 - _sigmoid(x)) for x in F])
  np.testing.assert_allclose(d_loss, real_term + fake_term, rtol=1e-6)
  np.testing.assert_allclose(g_loss, EXPECTED["non_saturating"][1], rtol=1e-6)


def test_began_k_update_and_convergence_measure():
  loss = losses.get_loss(_config("began", began_gamma=0.5, began_lambda_k=0.1))
  real, fake = jnp.array([0.2, 0.4]), jnp.array([0.05, 0.15])
  state, metrics = loss.update({"k": jnp.float32(0.5)}, real, fake)
  # gamma L(x) - L(G(z)) = 0.5 * 0.3 - 0.1 = 0.05; k = 0.5 + 0.1 * 0.05.
  np.testing.assert_allclose(state["k"], 0.505, rtol=1e-6)
  np.testing.assert_allclose(metrics["began_M"], 0.3 + 0.05, rtol=1e-6)
  # k is clipped to [0, 1].
  state, _ = loss.update({"k": jnp.float32(0.0)}, real, real * 10)
  assert float(state["k"]) == 0.0


def test_at_equilibrium_d_loss_is_log4():
  # D = 1/2 everywhere (logits 0): d_loss = 2 log 2 = log 4 (Goodfellow 2014).
  zeros = jnp.zeros(5)
  d_loss, _ = losses.non_saturating(zeros, zeros, {})
  np.testing.assert_allclose(d_loss, math.log(4.0), rtol=1e-6)


def test_stable_for_extreme_logits():
  big = jnp.array([1e4, -1e4])
  for name in losses.LOSSES:
    loss = losses.get_loss(_config(name))
    state = loss.init_state()
    d_loss, g_loss = loss.fn(big, -big, state)
    assert np.isfinite(d_loss) and np.isfinite(g_loss), name
  # A confident D on fakes: NS keeps a large loss (and gradient), not inf.
  _, g_loss = losses.non_saturating(None, jnp.array([-100.0]), {})
  np.testing.assert_allclose(g_loss, 100.0, rtol=1e-6)


def test_unknown_loss_lists_valid_names():
  with pytest.raises(UserError, match="non_saturating"):
    losses.get_loss(_config("wgan-typo"))
