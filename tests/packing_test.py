"""PacGAN's packing (models/packing.py): the regrouping against a hand-built
one, the packed D against its inner D on hand-built packs, and the penalties
taken per pack."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.core import runtime
from jaxgan.experiment import builder as experiment, checks as validate
from jaxgan.gan import penalties, regularizers
from jaxgan.core.errors import UserError
from jaxgan.models import dcgan, packing, toy
from tests.conftest import tiny_config


def _hand_packs(x: np.ndarray, m: int) -> np.ndarray:
  """Pack p: samples p*m .. p*m + m - 1 side by side on the last axis."""
  return np.stack(
      [
          np.concatenate([x[p * m + j] for j in range(m)], axis=-1)
          for p in range(len(x) // m)
      ]
  )


@pytest.mark.parametrize(
    "shape,m", [((6, 4, 5, 3), 3), ((8, 2), 4), ((4, 3, 3, 1), 2), ((5, 2), 1)]
)
def test_pack_regroups_consecutive_samples_along_the_last_axis(shape, m):
  x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
  packed = np.asarray(packing.pack(jnp.asarray(x), m))
  np.testing.assert_array_equal(packed, _hand_packs(x, m))
  np.testing.assert_array_equal(np.asarray(packing.unpack(packed, m)), x)


def test_pack_refuses_a_batch_it_does_not_divide():
  with pytest.raises(ValueError, match="packs of 4"):
    packing.pack(jnp.zeros((6, 2)), 4)


def test_packed_toy_discriminator_scores_hand_built_packs():
  x = np.random.default_rng(1).normal(size=(8, 2)).astype(np.float32)
  d = packing.Packed(toy.Discriminator(width=16), 4)
  variables = d.init(jax.random.PRNGKey(0), jnp.asarray(x), train=False)
  inner = variables["params"]["inner"]
  # D's first layer takes the pack: 4 points of 2 coordinates.
  assert jax.tree.leaves(inner)[1].shape[0] == 8
  out = d.apply(variables, jnp.asarray(x), train=False)
  expected = toy.Discriminator(width=16).apply(
      {"params": inner}, jnp.asarray(_hand_packs(x, 4)), train=False
  )
  assert out.shape == (2,)
  np.testing.assert_array_equal(np.asarray(out), np.asarray(expected))


def test_packed_dcgan_discriminator_sees_packs_as_channels():
  x = np.random.default_rng(2).normal(size=(4, 32, 32, 1)).astype(np.float32)
  inner = dcgan.Discriminator(resolution=32, width=8, norm="none")
  d = packing.Packed(inner, 2)
  variables = d.init(jax.random.PRNGKey(0), jnp.asarray(x), train=False)
  out = d.apply(variables, jnp.asarray(x), train=False)
  expected = inner.apply(
      {"params": variables["params"]["inner"]},
      jnp.asarray(_hand_packs(x, 2)),
      train=False,
  )
  assert out.shape == (2,)
  np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-6)


def test_config_wraps_the_discriminator():
  config = tiny_config(**{"model.d_pack": 2})
  _, d = models.get_models(config)
  assert isinstance(d, packing.Packed) and d.m == 2
  _, d = models.get_models(tiny_config())
  assert not isinstance(d, packing.Packed)


@pytest.mark.parametrize(
    "overrides,devices,expected",
    [
        ({"model.d_pack": 3}, 1, "multiple of 3"),
        ({"model.d_pack": 4}, 4, "multiple of 16"),  # Batch 8: 2 per device.
        ({"model.d_pack": 0}, 1, "model.d_pack=0 must be a positive"),
        (
            {
                "model.d_pack": 2,
                "model.conditioning": "concat",
                "model.num_classes": 10,
            },
            1,
            "model.conditioning='concat'",
        ),
        (
            {"model.d_pack": 2, "model.name": "began", "loss.name": "began"},
            1,
            "BEGAN's autoencoder",
        ),
        (
            {
                "model.d_pack": 2,
                "model.d_minibatch_std": True,
                "train.batch_size": 20,
            },
            1,
            "10 packs of 2",
        ),
    ],
)
def test_validate_refuses_packing_it_cannot_do(overrides, devices, expected):
  with pytest.raises(UserError, match=expected):
    validate.validate_config(tiny_config(**overrides), num_devices=devices)


def test_validate_accepts_packing():
  validate.validate_config(tiny_config(**{"model.d_pack": 2}), num_devices=4)
  validate.validate_config(tiny_config(**{"model.d_pack": 8}), num_devices=1)


# A non-linear critic of packs of m = 2 points of 3 coordinates:
# D(pack) = sum_j w_j pack_j^2 / 2, input gradient w * pack.
W = np.array([0.5, -2.0, 1.5, 1.0, 0.25, -0.75], np.float32)


def _critic_of_samples(x):
  p = packing.pack(x, 2)
  return 0.5 * jnp.sum(W * p * p, axis=-1)


@pytest.fixture
def batch():
  rng = np.random.default_rng(0)
  real = rng.normal(size=(8, 3)).astype(np.float32)
  fake = (rng.normal(size=(8, 3)) * 3 + 1).astype(np.float32)
  return real, fake, penalties.sample_keys(jax.random.PRNGKey(7), 8)


def _penalty(name, real, fake, keys, m):
  return float(
      regularizers.penalty_on_packs(
          penalties.PENALTIES[name],
          m,
          _critic_of_samples,
          jnp.asarray(real),
          jnp.asarray(fake),
          keys,
      )
  )


def test_r1_is_taken_per_pack(batch):
  real, fake, keys = batch
  packs = _hand_packs(real, 2)
  expected = 0.5 * np.mean(np.sum((W * packs) ** 2, axis=-1))
  np.testing.assert_allclose(
      _penalty("r1", real, fake, keys, 2), expected, rtol=1e-5
  )
  # Per sample (no packing in the penalty) it is half that: 8 samples'
  # partial gradients averaged instead of 4 packs' whole ones.
  per_sample = float(penalties.r1(_critic_of_samples, real, fake, keys))
  np.testing.assert_allclose(per_sample, expected / 2, rtol=1e-5)


def test_wgan_gp_interpolates_whole_packs(batch):
  real, fake, keys = batch
  # One weight per pack, from the key of the pack's first sample.
  eps = np.array([[float(jax.random.uniform(k, ()))] for k in keys[::2]])
  x_hat = eps * _hand_packs(real, 2) + (1 - eps) * _hand_packs(fake, 2)
  norms = np.sqrt(np.sum((W * x_hat) ** 2, axis=-1) + 1e-12)
  expected = np.mean((norms - 1) ** 2)
  got = _penalty("wgan_gp", real, fake, keys, 2)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_packed_training_step_runs_and_counts_packs():
  # The toy grid with PacGAN2 and R1: D's first layer takes 4 coordinates,
  # and one iteration gives finite losses and a finite penalty.
  from configs import toy_grid25  # pylint: disable=g-import-not-at-top

  config = toy_grid25.get_config()
  config.model.d_pack = 2
  config.train.batch_size = 8
  config.model.g_width = 16
  config.model.d_width = 16
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), (runtime.AXIS,))
  exp = experiment.build(config, mesh)
  state = exp.initial_state()
  first = jax.tree.leaves(state.d_params)
  assert any(leaf.shape[0] == 4 for leaf in first if leaf.ndim == 2)
  points = np.random.default_rng(0).normal(size=(1, 8, 2)).astype(np.float32)
  points = jax.device_put(points, runtime.batch_sharding(mesh))
  _, metrics = exp.train_step(state, points, 0)
  metrics = jax.device_get(metrics)
  for key in ("d_loss", "g_loss", "d_penalty"):
    assert np.isfinite(metrics[key]), (key, metrics[key])
