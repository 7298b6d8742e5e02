"""Every architecture x loss x regularizer: refused, or trained one step.

The combinations are enumerated from the registries (models.MODELS,
losses.LOSSES, REGULARIZERS below); `validate_config` decides which are
allowed, every refused one is refused with a UserError, and enough allowed
ones train one data-parallel step with finite results that every allowed
pair of architecture, loss and regularizer trains. The pinned counts make a
new model, loss or regularizer show up here.
"""

import itertools

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from jaxgan import experiment, losses, models, runtime
from jaxgan.errors import UserError
from jaxgan.runtime import AXIS
from jaxgan.validate import validate_config
from tests.conftest import tiny_config

# Architecture -> overrides of configs/tiny.py that make it small.
ARCHITECTURES = {
    "dcgan": {"model.name": "dcgan", "data.image_size": 28},
    "mlp": {
        "model.name": "mlp",
        "data.image_size": 28,
        "model.g_width": 16,
        "model.d_width": 8,
    },
    "began": {"model.name": "began", "data.image_size": 32},
    "toy_mlp": {
        "model.name": "toy_mlp",
        "data.source": "toy:ring8",
        "model.g_width": 16,
        "model.d_width": 8,
    },
    "toy_began": {
        "model.name": "toy_began",
        "data.source": "toy:ring8",
        "model.g_width": 16,
        "model.d_width": 8,
    },
}
REGULARIZERS = {
    "none": {},
    "r1": {"penalty.name": "r1"},
    "wgan_gp_penalty": {"penalty.name": "wgan_gp"},
    "dragan_penalty": {"penalty.name": "dragan"},
    "spectral_norm": {"model.d_spectral_norm": True},
    "minibatch_std": {"model.d_minibatch_std": True},
    "label_smoothing": {"loss.label_smoothing": 0.1},
    "feature_matching": {"loss.feature_matching": 1.0},
}
# What a loss needs to be usable at all (WGAN's weight clipping).
LOSS_BASE = {"wgan": {"loss.weight_clip": 0.01}}


def _config(arch, loss, reg):
  overrides = {
      **ARCHITECTURES[arch],
      "loss.name": loss,
      **LOSS_BASE.get(loss, {}),
      **REGULARIZERS[reg],
      "train.batch_size": 8,
  }
  return tiny_config(**overrides)


def _allowed(arch, loss, reg) -> bool:
  try:
    validate_config(_config(arch, loss, reg), num_devices=2)
    return True
  except UserError:
    return False


COMBINATIONS = list(
    itertools.product(ARCHITECTURES, sorted(losses.LOSSES), REGULARIZERS)
)
ALLOWED = [c for c in COMBINATIONS if _allowed(*c)]
REFUSED = [c for c in COMBINATIONS if c not in ALLOWED]
# Allowed combinations train one step until every (architecture, loss),
# (architecture, regularizer) and (loss, regularizer) pair among them has
# trained: picked greedily, each adding the most pairs not trained yet.


def _pairs(arch, loss, reg):
  return {
      ("arch-loss", arch, loss),
      ("arch-reg", arch, reg),
      ("loss-reg", loss, reg),
  }


def _pairwise(allowed):
  chosen, seen, left = [], set(), list(allowed)
  while left:
    best = max(left, key=lambda c: len(_pairs(*c) - seen))
    if not _pairs(*best) - seen:
      break
    chosen.append(best)
    seen |= _pairs(*best)
    left.remove(best)
  return chosen


TRAINED = _pairwise(ALLOWED)


def test_registries_are_covered():
  assert set(ARCHITECTURES) == set(models.MODELS)
  assert len(COMBINATIONS) == 5 * 9 * 8
  # Pinned: dcgan 26, mlp 37, began 4, toy_mlp 53, toy_began 4.
  per_arch = {a: sum(1 for c in ALLOWED if c[0] == a) for a in ARCHITECTURES}
  assert per_arch == {
      "dcgan": 26,
      "mlp": 37,
      "began": 4,
      "toy_mlp": 53,
      "toy_began": 4,
  }, per_arch


def test_every_allowed_pair_trains():
  covered = set().union(*(_pairs(*c) for c in TRAINED))
  assert covered == set().union(*(_pairs(*c) for c in ALLOWED))
  assert len(TRAINED) == 61, len(TRAINED)  # Of 124 allowed.


@pytest.mark.parametrize(
    "combination",
    [
        ("dcgan", "wgan_gp", "none"),  # Gradient penalty through batch norm.
        ("dcgan", "non_saturating", "r1"),
        ("dcgan", "began", "none"),  # BEGAN needs an autoencoder.
        ("began", "non_saturating", "none"),
        ("mlp", "wgan_gp", "r1"),  # Two penalties.
        ("mlp", "hinge", "label_smoothing"),  # Smoothing is for cross-entropy.
        ("toy_began", "began", "spectral_norm"),
        ("mlp", "non_saturating", "spectral_norm"),
    ],
)
def test_impossible_combinations_are_refused(combination):
  assert combination in REFUSED
  with pytest.raises(UserError):
    validate_config(_config(*combination), num_devices=2)


@pytest.mark.parametrize("arch,loss,reg", TRAINED)
def test_one_step(arch, loss, reg):
  config = _config(arch, loss, reg)
  mesh = Mesh(np.array(jax.devices()[:2]), (AXIS,))
  exp = experiment.build(config, mesh)
  rng = np.random.default_rng(0)
  if arch.startswith("toy"):
    batch = rng.normal(size=(1, 8, 2)).astype(np.float32)
  else:
    size = config.data.image_size
    batch = rng.integers(0, 256, (1, 8, size, size, 1), dtype=np.uint8)
  state, metrics = exp.train_step(
      exp.initial_state(),
      jax.device_put(batch, runtime.batch_sharding(mesh)),
      0,
  )
  metrics = jax.device_get(metrics)
  assert int(state.step) == 1
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state))
  if REGULARIZERS[reg].get("penalty.name") or losses.LOSSES[loss].penalty:
    assert "d_penalty" in metrics
