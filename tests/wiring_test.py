"""Each optional term reaches the step's loss, with its weight.

A term computed and logged but left out of the loss would pass the tests of
its function; here one iteration with plain SGD (new = old - lr * gradient)
runs with the term's weight at 0, w and 2w from the same state and batch:
the parameters the term regularises must move by an amount proportional to
the weight (so neither zero nor a constant).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh

from jaxgan.core import runtime
from jaxgan.experiment import builder as experiment
from jaxgan.models.apply import apply_model
from tests.conftest import tiny_config

PROGAN = {
    "model.name": "progan",
    "data.image_size": 8,
    "data.preprocess": "resize",
    "model.g_width": 8,
    "model.d_width": 8,
}
BIGGAN = {
    "model.name": "biggan",
    "model.g_width": 4,
    "model.d_width": 4,
    "model.g_spectral_norm": True,
}
# term -> (the run's overrides, the weight's key and value, the parameters
# it regularises).
TERMS = {
    "progan_drift": (PROGAN, "loss.drift", 0.5, "d_params"),
    "biggan_orthogonal": (BIGGAN, "loss.ortho_reg", 1e-2, "g_params"),
    "bcr": ({}, "loss.bcr_real", 1.0, "d_params"),
    "lecam": ({}, "loss.lecam", 0.5, "d_params"),
}


def _one_device():
  return Mesh(np.array(jax.devices()[:1]), (runtime.AXIS,))


def _batch(exp, config):
  rng = np.random.default_rng(0)
  c = config.data
  shape = (config.train.d_steps, config.train.batch_size)
  images = rng.integers(
      0, 256, shape + (c.image_size, c.image_size, c.channels), np.uint8
  )
  if exp.cond.labelled:
    return images, (np.arange(np.prod(shape)) % 10).reshape(shape)
  return images


def _after_one_step(overrides: dict, which: str) -> list[np.ndarray]:
  config = tiny_config(
      **{
          "optim.name": "sgd",
          "optim.g_lr": 0.05,
          "optim.d_lr": 0.05,
          **overrides,
      }
  )
  mesh = _one_device()
  exp = experiment.build(config, mesh)
  batch = jax.device_put(_batch(exp, config), runtime.batch_sharding(mesh))
  state, _ = exp.train_step(exp.initial_state(), batch, 0)
  return [np.asarray(x) for x in jax.tree.leaves(getattr(state, which))]


@pytest.mark.parametrize("term", sorted(TERMS))
def test_the_term_moves_its_parameters_in_proportion_to_its_weight(term):
  base, key, weight, which = TERMS[term]
  off = _after_one_step({**base, key: 0.0}, which)
  once = _after_one_step({**base, key: weight}, which)
  twice = _after_one_step({**base, key: 2 * weight}, which)
  moved = [a - o for a, o in zip(once, off)]
  moved2 = [b - o for b, o in zip(twice, off)]
  size = max(float(np.max(np.abs(m))) for m in moved)
  assert size > 1e-6, f"{key}={weight} did not change {which}"
  for m, m2 in zip(moved, moved2):
    np.testing.assert_allclose(m2, 2 * m, rtol=1e-3, atol=1e-3 * size)


def test_progans_d_sees_its_minibatch_statistics():
  # ProGAN's D ends in the minibatch-stddev layer: a sample's output
  # depends on the other samples of its group (4), which a D without the
  # layer never does.
  config = tiny_config(**PROGAN)
  exp = experiment.build(config, _one_device())
  state = exp.initial_state()
  x = jax.random.uniform(jax.random.PRNGKey(0), (4, 8, 8, 1), minval=-1)
  changed = x.at[1].set(-x[1])

  def d(images):
    return apply_model(
        exp.discriminator,
        state.d_params,
        state.d_batch_stats,
        images,
        train=False,
        extra={"alpha": jnp.float32(1.0)},
    )[0]

  out, out_changed = d(x), d(changed)
  assert abs(float(out[0] - out_changed[0])) > 1e-6
