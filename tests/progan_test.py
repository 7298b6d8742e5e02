"""Progressive growing: fade-ins, equalised learning rate, pixel norm, the
schedule, the drift term, and device-count invariance during a fade."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import traverse_util

from jaxgan.core import runtime
from jaxgan.experiment import builder as experiment
from jaxgan.gan import progressive
from jaxgan.models import progan
from tests.conftest import tiny_config
from tests.step_test import _mesh

R, C = 32, 1


@pytest.fixture(scope="module")
def nets():
  g = progan.Generator(resolution=R, channels=C, width=32)
  d = progan.Discriminator(resolution=R, width=32)
  z = jax.random.normal(jax.random.PRNGKey(0), (8, 16))
  x = jax.random.uniform(jax.random.PRNGKey(1), (8, R, R, C), minval=-1)
  return {
      "g": g,
      "d": d,
      "z": z,
      "x": x,
      "g_vars": g.init(jax.random.PRNGKey(2), z),
      "d_vars": d.init(jax.random.PRNGKey(3), x),
  }


@pytest.mark.parametrize("level", [3, 4, 5])
def test_alpha_zero_is_the_previous_stage(nets, level):
  g, d, z, x = nets["g"], nets["d"], nets["z"], nets["x"]
  fading = g.clone(level=level, fading=True).apply(nets["g_vars"], z, alpha=0.0)
  previous = g.clone(level=level - 1).apply(nets["g_vars"], z)
  # The previous stage's image, nearest-upsampled (both are at R x R).
  np.testing.assert_allclose(fading, previous, rtol=1e-5, atol=1e-6)
  assert float(jnp.abs(previous).max()) > 1e-3
  d_fading = d.clone(level=level, fading=True).apply(
      nets["d_vars"], x, alpha=0.0
  )
  d_previous = d.clone(level=level - 1).apply(nets["d_vars"], x)
  np.testing.assert_allclose(d_fading, d_previous, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("level", [3, 5])
def test_alpha_one_leaves_the_old_path_without_influence(nets, level):
  g, d, z, x = nets["g"], nets["d"], nets["z"], nets["x"]
  old = 2 ** (level - 1)

  def g_out(params):
    return jnp.sum(
        g.clone(level=level, fading=True).apply(
            {"params": params}, z, alpha=1.0
        )
        ** 2
    )

  grads = jax.grad(g_out)(nets["g_vars"]["params"])
  assert all(
      float(jnp.abs(v).max()) == 0.0
      for v in jax.tree.leaves(grads[f"to_rgb_{old}"])
  )
  assert float(jnp.abs(grads[f"to_rgb_{2 ** level}"]["kernel"]).max()) > 0
  full = g.clone(level=level).apply(nets["g_vars"], z)
  np.testing.assert_allclose(
      g.clone(level=level, fading=True).apply(nets["g_vars"], z, alpha=1.0),
      full,
      rtol=1e-6,
  )

  def d_out(params):
    return jnp.sum(
        d.clone(level=level, fading=True).apply(
            {"params": params}, x, alpha=1.0
        )
    )

  grads = jax.grad(d_out)(nets["d_vars"]["params"])
  assert all(
      float(jnp.abs(v).max()) == 0.0
      for v in jax.tree.leaves(grads[f"from_rgb_{old}"])
  )


def test_every_level_has_its_parameters_from_the_start(nets):
  names = set(nets["g_vars"]["params"])
  assert {f"to_rgb_{r}" for r in (4, 8, 16, 32)} <= names
  assert {f"conv0_{r}" for r in (8, 16, 32)} <= names
  d_names = set(nets["d_vars"]["params"])
  assert {f"from_rgb_{r}" for r in (4, 8, 16, 32)} <= d_names
  # Any level applies with the one parameter tree.
  for level in (2, 3, 4, 5):
    out = nets["g"].clone(level=level).apply(nets["g_vars"], nets["z"])
    assert out.shape == (8, R, R, C)


def test_widths_follow_the_paper():
  assert [progan.channels_at(r, 512) for r in (4, 8, 16, 32, 64, 128)] == [
      512,
      512,
      512,
      512,
      256,
      128,
  ]


def test_equalized_learning_rate_scales_at_run_time():
  layer = progan.EqualizedDense(5)
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 7))
  variables = layer.init(jax.random.PRNGKey(1), x)
  w, b = variables["params"]["kernel"], variables["params"]["bias"]
  assert float(jnp.abs(b).max()) == 0.0
  assert abs(float(jnp.std(w)) - 1.0) < 0.5  # Stored ~ N(0, 1).
  np.testing.assert_allclose(
      layer.apply(variables, x), x @ (w * math.sqrt(2 / 7)), rtol=1e-5
  )
  conv = progan.EqualizedConv(4, kernel_size=3, gain=1.0)
  img = jax.random.normal(jax.random.PRNGKey(2), (2, 5, 5, 6))
  cv = conv.init(jax.random.PRNGKey(3), img)
  expected = jax.lax.conv_general_dilated(
      img,
      cv["params"]["kernel"] / math.sqrt(54),
      (1, 1),
      "SAME",
      dimension_numbers=("NHWC", "HWIO", "NHWC"),
  )
  np.testing.assert_allclose(
      conv.apply(cv, img), expected, rtol=1e-5, atol=1e-6
  )


def test_one_adam_step_changes_effective_weights_alike_at_any_fan_in():
  # The point of the equalised learning rate: Adam's steps are ~lr in the
  # stored weights, so relative to each layer's effective scale the change
  # is the same whatever the fan-in (He init would change a wide layer's
  # weights relatively more).
  lr, changes = 1e-3, []
  for fan_in in (8, 512):
    layer = progan.EqualizedDense(16)
    x = jax.random.normal(jax.random.PRNGKey(fan_in), (32, fan_in))
    params = layer.init(jax.random.PRNGKey(1), x)["params"]
    loss = lambda p: jnp.mean(layer.apply({"params": p}, x) ** 2)  # pylint: disable=cell-var-from-loop
    tx = optax.adam(lr, b1=0.0, b2=0.99, eps=1e-8)
    updates, _ = tx.update(jax.grad(loss)(params), tx.init(params), params)
    scale = math.sqrt(2 / fan_in)
    effective_change = np.asarray(updates["kernel"]) * scale
    effective = np.asarray(params["kernel"]) * scale
    changes.append(np.std(effective_change) / np.std(effective))
  np.testing.assert_allclose(changes[0], changes[1], rtol=0.1)
  np.testing.assert_allclose(changes[0], lr, rtol=0.1)


def test_pixel_norm_gives_unit_mean_square_at_every_pixel():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 8)) * 5 + 1
  y = progan.pixel_norm(x)
  np.testing.assert_allclose(jnp.mean(y**2, axis=-1), 1.0, rtol=1e-5)


def test_real_images_are_blended_like_the_generator_output():
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 8, 8, 1))
  at8 = progan.real_images(x, 8, 3, fading=False, alpha=1.0)
  np.testing.assert_allclose(at8, x, rtol=1e-6)
  at4 = progan.real_images(x, 8, 2, fading=False, alpha=1.0)
  block = np.asarray(x).reshape(2, 4, 2, 4, 2, 1).mean(axis=(2, 4))
  np.testing.assert_allclose(at4[:, ::2, ::2], block, rtol=1e-6)
  half = progan.real_images(x, 8, 3, fading=True, alpha=0.25)
  np.testing.assert_allclose(half, 0.25 * x + 0.75 * at4, rtol=1e-5)


def _schedule(**overrides):
  return progressive.Schedule(
      tiny_config(
          **{
              "model.name": "progan",
              "data.image_size": 16,
              "progan.images_per_phase": 100,
              "train.batch_size": 8,
              "train.d_steps": 2,
              **overrides,
          }
      )
  )


def test_stages_and_alpha_against_a_hand_computed_schedule():
  # 100 images per phase at 2 x 8 images per step: ceil(100 / 16) = 7 steps.
  s = _schedule()
  assert [(t.resolution, t.fading, t.start, t.steps) for t in s.stages] == [
      (4, False, 0, 7),
      (8, True, 7, 7),
      (8, False, 14, 7),
      (16, True, 21, 7),
      (16, False, 28, None),
  ]
  assert s.stage_at(6).resolution == 4 and s.stage_at(7).fading
  assert s.stage_at(10**6).resolution == 16
  fade = s.stage_at(7)
  assert [fade.alpha(t) for t in (7, 8, 13)] == [0.0, 1 / 7, 6 / 7]
  assert s.stage_at(14).alpha(14) == 1.0
  assert float(fade.alpha_traced(jnp.int32(10))) == pytest.approx(3 / 7)
  # With per-resolution batches the lengths and the data position follow.
  s = _schedule(**{"progan.batch_sizes": "16:4"})
  assert [t.steps for t in s.stages] == [7, 7, 7, 13, None]
  assert s.examples_before(21) == 3 * 7 * 16
  assert s.examples_before(25) == 3 * 7 * 16 + 4 * 2 * 4


def test_drift_term_against_a_hand_computation():
  config = tiny_config(
      **{
          "model.name": "progan",
          "data.image_size": 8,
          "data.preprocess": "resize",
          "model.g_width": 8,
          "model.d_width": 8,
          "loss.name": "wgan_gp",
          "loss.drift": 0.001,
          "progan.images_per_phase": 16,
      }
  )
  exp = experiment.build(config, _mesh(1))
  state = exp.initial_state()
  images = np.random.default_rng(0).integers(0, 256, (1, 8, 8, 8, 1), np.uint8)
  _, metrics = exp.train_step(
      jax.tree.map(jnp.copy, state), jax.device_put(images), 0
  )
  # D at the first stage (4x4) on the real batch brought to 4x4.
  real = progan.real_images(
      images[0].astype(np.float32) / 127.5 - 1, 8, 2, fading=False, alpha=1.0
  )
  d = exp.discriminator.clone(level=2, fading=False)
  out = d.apply({"params": state.d_params}, real, alpha=1.0)
  np.testing.assert_allclose(
      metrics["d_drift"], np.mean(np.square(out)), rtol=1e-4
  )
  assert float(metrics["d_drift"]) > 0


def test_four_devices_equal_one_device_during_a_fade():
  config = tiny_config(
      **{
          "model.name": "progan",
          "data.image_size": 8,
          "data.preprocess": "resize",
          "model.g_width": 8,
          "model.d_width": 8,
          "loss.name": "wgan_gp",
          "loss.drift": 0.001,
          "train.batch_size": 16,
          "progan.images_per_phase": 32,
      }
  )
  images = np.random.default_rng(0).integers(0, 256, (1, 16, 8, 8, 1), np.uint8)
  results = []
  for n in (1, 4):
    mesh = _mesh(n)
    exp = experiment.build(config, mesh)
    # Steps 0-1 at 4x4, then the 8x8 fade-in: step 3 runs at alpha 0.5.
    assert exp.stage_at(3).fading and exp.stage_at(3).alpha(3) == 0.5
    state = exp.initial_state()
    batch = jax.device_put(images, runtime.batch_sharding(mesh))
    for step in range(4):
      state, metrics = exp.train_step(state, batch, step)
    results.append((jax.device_get(state), jax.device_get(metrics)))
  (s1, m1), (s4, m4) = results
  for a, b in zip(jax.tree.leaves(s1), jax.tree.leaves(s4)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  for key in m1:
    np.testing.assert_allclose(m1[key], m4[key], rtol=1e-4, atol=1e-6)
  moved = [
      float(np.abs(a - b).max())
      for a, b in zip(
          jax.tree.leaves(s1.g_params),
          jax.tree.leaves(jax.device_get(exp.initial_state().g_params)),
      )
  ]
  assert max(moved) > 1e-4
