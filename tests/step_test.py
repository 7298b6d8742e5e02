"""The training iteration: device-count invariance and k:1 update counting."""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from jaxgan.core import runtime
from jaxgan.experiment import builder as experiment
from jaxgan.core.runtime import AXIS
from tests.conftest import tiny_config


def _mesh(n):
  return Mesh(np.array(jax.devices()[:n]), (AXIS,))


def _run(config, mesh, batches):
  exp = experiment.build(config, mesh)
  state, step = exp.initial_state(), exp.train_step
  history = []
  for i, images in enumerate(batches):
    state, metrics = step(
        state, jax.device_put(images, runtime.batch_sharding(mesh)), i
    )
    history.append(jax.device_get(metrics))
  return jax.device_get(state), history


def _batches(config, n):
  rng = np.random.default_rng(0)
  shape = (
      config.train.d_steps,
      config.train.batch_size,
      config.data.image_size,
      config.data.image_size,
      config.data.channels,
  )
  return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        # Augmentation and D-output regularisers: per-sample draws by global
        # index, ADA's p and LeCam's anchors from the global batch.
        {
            "augment.name": "ada",
            "augment.interval": 1,
            # From p = 0.5, steps of at most 0.1: p stays inside (0, 1),
            # whichever way D's outputs move it.
            "augment.p": 0.5,
            "augment.speed_kimg": 0.2,
            "loss.bcr_real": 1.0,
            "loss.bcr_fake": 1.0,
            "loss.lecam": 0.3,
            # With Adam, 1 and 4 devices part after the first step (D's
            # gradient norm 12.459 against 12.467 at the second): Adam scales
            # gradients that are zero but for round-off up to lr-sized steps
            # (ADA, bCR and LeCam each alone, with Adam, stay equal). SGD
            # keeps what this case checks: the draws, p and the anchors.
            "optim.name": "sgd",
            "optim.g_lr": 0.01,
            "optim.d_lr": 0.01,
        },
        {"augment.name": "diffaugment"},
        # PacGAN: packs within each device's slice; the penalty's draws by
        # the pack's first sample's global index.
        {
            "model.d_pack": 2,
            "model.d_norm": "layer_norm",
            "penalty.name": "wgan_gp",
            "penalty.weight": 1.0,
        },
    ],
    ids=["plain", "ada_bcr_lecam", "diffaugment", "packed_gp"],
)
def test_four_devices_equal_one_device(overrides):
  # Cross-device batch norm makes the 4-device step compute the same function
  # as the 1-device step on the same global batch; only the float summation
  # order differs (per-device partial sums + pmean). Tolerance: rtol 1e-4,
  # atol 1e-6 on every parameter, batch statistic and optimizer moment after
  # 3 iterations (Adam steps are ~lr = 2e-4, differences ~1e-8 are seen).
  assert jax.device_count() == 4
  config = tiny_config(
      **{"model.bn_cross_device": True, "train.d_steps": 2, **overrides}
  )
  batches = _batches(config, 3)
  state1, hist1 = _run(config, _mesh(1), batches)
  if overrides.get("augment.name") == "ada":  # p moved: not vacuous.
    p = float(state1.loss_state["ada_p"])
    assert 0.0 < p < 1.0 and p != 0.5, p
  state4, hist4 = _run(config, _mesh(4), batches)
  for a, b in zip(jax.tree.leaves(state1), jax.tree.leaves(state4)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  for m1, m4 in zip(hist1, hist4):
    for key in m1:
      np.testing.assert_allclose(m1[key], m4[key], rtol=1e-4, atol=1e-6)
  # And training moved the parameters (the comparison is not vacuous).
  init = jax.device_get(experiment.build(config, _mesh(1)).initial_state())
  moved = [
      float(np.abs(a - b).max())
      for a, b in zip(
          jax.tree.leaves(init.g_params), jax.tree.leaves(state1.g_params)
      )
  ]
  assert max(moved) > 1e-4


def test_per_device_batch_norm_runs_on_four_devices():
  config = tiny_config(**{"model.bn_cross_device": False})
  state, hist = _run(config, _mesh(4), _batches(config, 2))
  assert int(state.step) == 2
  assert all(np.isfinite(v) for m in hist for v in m.values())


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_updates_per_generator_update(k):
  config = tiny_config(**{"train.d_steps": k})
  state, _ = _run(config, _mesh(2), _batches(config, 2))
  assert int(state.step) == 2
  assert int(state.data_pos) == 2 * k  # Global batches consumed.
  # Adam's step counters: k D updates and 1 G update per iteration.
  d_count = int(state.d_opt_state[0].count)
  g_count = int(state.g_opt_state[0].count)
  assert (d_count, g_count) == (2 * k, 2)


def test_ema_tracks_generator():
  config = tiny_config(**{"model.ema_decay": 0.5})
  state, _ = _run(config, _mesh(1), _batches(config, 1))
  init = jax.device_get(experiment.build(config, _mesh(1)).initial_state())
  for e, p, p0 in zip(
      jax.tree.leaves(state.ema_params),
      jax.tree.leaves(state.g_params),
      jax.tree.leaves(init.g_params),
  ):
    np.testing.assert_allclose(e, 0.5 * p0 + 0.5 * p, rtol=1e-6, atol=1e-7)
