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
