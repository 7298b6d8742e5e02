"""Each gradient penalty is taken at its own points, and through DCGAN's
custom-gradient convolutions it equals the same penalty through XLA's.

A non-linear critic D(x) = sum_j w_j x_j^2 / 2 has the input gradient w * x,
which differs from point to point, so a penalty evaluated at the wrong points
(reals for WGAN-GP's interpolates, say) gives another number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.gan import penalties
from jaxgan.models import dcgan

W = jnp.array([0.5, -2.0, 1.5])


def _critic(x):
  return 0.5 * jnp.sum(W * x * x, axis=-1)


def _norms(points):
  return np.sqrt(np.sum((np.asarray(W) * points) ** 2, axis=-1) + 1e-12)


@pytest.fixture
def batch():
  rng = np.random.default_rng(0)
  real = jnp.asarray(rng.normal(size=(6, 3)), jnp.float32)
  fake = jnp.asarray(rng.normal(size=(6, 3)) * 3 + 1, jnp.float32)
  return real, fake, penalties.sample_keys(jax.random.PRNGKey(7), 6)


def test_wgan_gp_is_taken_at_the_interpolates(batch):
  real, fake, keys = batch
  # One draw per sample, from the sample's own key.
  eps = np.array([[float(jax.random.uniform(k, ()))] for k in keys])
  x_hat = eps * np.asarray(real) + (1 - eps) * np.asarray(fake)
  expected = np.mean((_norms(x_hat) - 1) ** 2)
  got = float(penalties.wgan_gp(_critic, real, fake, keys))
  np.testing.assert_allclose(got, expected, rtol=1e-5)
  # At the reals or the fakes the number is another one.
  for points in (real, fake):
    assert abs(np.mean((_norms(np.asarray(points)) - 1) ** 2) - got) > 0.1


def test_dragan_is_taken_at_perturbed_reals(batch):
  real, fake, keys = batch
  r = np.asarray(real)
  u = np.stack([jax.random.uniform(jax.random.split(k)[0], (3,)) for k in keys])
  alpha = np.array(
      [[float(jax.random.uniform(jax.random.split(k)[1], ()))] for k in keys]
  )
  perturbed = r + 0.5 * r.std() * u
  x_hat = r + alpha * (perturbed - r)
  expected = np.mean((_norms(x_hat) - 1) ** 2)
  got = float(penalties.dragan(_critic, real, fake, keys))
  np.testing.assert_allclose(got, expected, rtol=1e-5)
  # `fake` does not enter it.
  assert float(penalties.dragan(_critic, real, fake * 100, keys)) == got
  assert abs(np.mean((_norms(r) - 1) ** 2) - got) > 1e-3


def test_r1_is_taken_at_the_reals(batch):
  real, fake, keys = batch
  expected = 0.5 * np.mean(
      np.sum((np.asarray(W) * np.asarray(real)) ** 2, axis=-1)
  )
  got = float(penalties.r1(_critic, real, fake, keys))
  np.testing.assert_allclose(got, expected, rtol=1e-5)
  assert float(penalties.r1(_critic, real, fake * 100, keys)) == got
  fake_r1 = 0.5 * np.mean(np.sum((np.asarray(W) * np.asarray(fake)) ** 2, -1))
  assert abs(fake_r1 - got) > 1.0


@pytest.mark.parametrize("name", ["wgan_gp", "dragan", "r1"])
@pytest.mark.parametrize("norm", ["layer_norm", "none"])
def test_penalty_through_custom_gradient_convolutions_equals_xla(name, norm):
  # The penalty differentiates D's input gradient again (double backprop)
  # through conv4x4.py's custom VJPs; with conv_impl='xla' it goes through
  # XLA's own convolutions. Values and parameter gradients agree.
  rng = np.random.default_rng(1)
  real = jnp.asarray(rng.uniform(-1, 1, (4, 32, 32, 1)), jnp.float32)
  fake = jnp.asarray(rng.uniform(-1, 1, (4, 32, 32, 1)), jnp.float32)
  keys = penalties.sample_keys(jax.random.PRNGKey(3), 4)
  make = lambda impl: dcgan.Discriminator(  # pylint: disable=g-long-lambda
      resolution=32, width=8, norm=norm, conv_impl=impl
  )
  params = make("xla").init(jax.random.PRNGKey(0), real, train=False)

  def penalty(impl, params):
    d = make(impl)
    d_fn = lambda x: d.apply(params, x, train=False)
    return penalties.PENALTIES[name](d_fn, real, fake, keys)

  values = {
      impl: jax.value_and_grad(penalty, argnums=1)(impl, params)
      for impl in ("matmul", "xla")
  }
  (v_m, g_m), (v_x, g_x) = values["matmul"], values["xla"]
  np.testing.assert_allclose(v_m, v_x, rtol=1e-4)
  assert float(v_x) > 0
  for a, b in zip(jax.tree.leaves(g_m), jax.tree.leaves(g_x)):
    np.testing.assert_allclose(a, b, atol=1e-4 * float(jnp.abs(b).max()) + 1e-9)
  assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(g_x)) > 0
