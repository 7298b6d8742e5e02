"""Losses against hand-computed values on fixed logits."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses
from jaxgan.errors import UserError

REAL = jnp.array([2.0, -1.0, 0.0])
FAKE = jnp.array([-3.0, 0.5, 1.0])


def _sigmoid(x):
  return 1.0 / (1.0 + math.exp(-x))


def test_d_loss_is_binary_cross_entropy():
  # -mean(log D(x)) - mean(log(1 - D(G(z)))), computed by hand.
  expected = (-np.mean([math.log(_sigmoid(x)) for x in REAL.tolist()])
              - np.mean([math.log(1 - _sigmoid(x)) for x in FAKE.tolist()]))
  for name in ("minimax", "non_saturating"):
    d_loss, _ = losses.LOSSES[name].fn(REAL, FAKE)
    np.testing.assert_allclose(d_loss, expected, rtol=1e-6)


def test_minimax_g_loss():
  expected = np.mean([math.log(1 - _sigmoid(x)) for x in FAKE.tolist()])
  _, g_loss = losses.minimax(REAL, FAKE)
  np.testing.assert_allclose(g_loss, expected, rtol=1e-6)


def test_non_saturating_g_loss():
  expected = -np.mean([math.log(_sigmoid(x)) for x in FAKE.tolist()])
  _, g_loss = losses.non_saturating(REAL, FAKE)
  np.testing.assert_allclose(g_loss, expected, rtol=1e-6)


def test_least_squares():
  r, f = REAL.tolist(), FAKE.tolist()
  d = 0.5 * np.mean([(x - 1) ** 2 for x in r]) + 0.5 * np.mean(
      [x ** 2 for x in f])
  g = 0.5 * np.mean([(x - 1) ** 2 for x in f])
  d_loss, g_loss = losses.least_squares(REAL, FAKE)
  np.testing.assert_allclose((d_loss, g_loss), (d, g), rtol=1e-6)
  # By hand: real (1, 4, 1)/3 * 0.5 = 1.0; fake (9, .25, 1)/3 * 0.5 = 1.708333.
  np.testing.assert_allclose(d_loss, 1.0 + 10.25 / 6, rtol=1e-6)


def test_hinge():
  # real: relu(1-2)=0, relu(1+1)=2, relu(1-0)=1 -> mean 1;
  # fake: relu(1-3)=0, relu(1.5)=1.5, relu(2)=2 -> mean 7/6.
  d_loss, g_loss = losses.hinge(REAL, FAKE)
  np.testing.assert_allclose(d_loss, 1.0 + 3.5 / 3, rtol=1e-6)
  np.testing.assert_allclose(g_loss, -(-3.0 + 0.5 + 1.0) / 3, rtol=1e-6)


def test_relativistic_average():
  r, f = REAL.tolist(), FAKE.tolist()
  mr, mf = np.mean(r), np.mean(f)
  d = (-np.mean([math.log(_sigmoid(x - mf)) for x in r])
       - np.mean([math.log(1 - _sigmoid(x - mr)) for x in f]))
  g = (-np.mean([math.log(_sigmoid(x - mr)) for x in f])
       - np.mean([math.log(1 - _sigmoid(x - mf)) for x in r]))
  d_loss, g_loss = losses.relativistic_average(REAL, FAKE)
  np.testing.assert_allclose((d_loss, g_loss), (d, g), rtol=1e-6)
  assert losses.LOSSES["relativistic_average"].g_uses_real


def test_at_equilibrium_d_loss_is_log4():
  # D = 1/2 everywhere (logits 0): d_loss = 2 log 2 = log 4 (Goodfellow 2014).
  zeros = jnp.zeros(5)
  d_loss, _ = losses.non_saturating(zeros, zeros)
  np.testing.assert_allclose(d_loss, math.log(4.0), rtol=1e-6)


def test_stable_for_extreme_logits():
  big = jnp.array([1e4, -1e4])
  for name in losses.LOSSES:
    d_loss, g_loss = losses.LOSSES[name].fn(big, -big)
    assert np.isfinite(d_loss) and np.isfinite(g_loss), name
  # A confident D on fakes: NS keeps a large loss (and gradient), not inf.
  _, g_loss = losses.non_saturating(None, jnp.array([-100.0]))
  np.testing.assert_allclose(g_loss, 100.0, rtol=1e-6)


def test_unknown_loss_lists_valid_names():
  with pytest.raises(UserError, match="non_saturating"):
    losses.get_loss("wgan-typo")
