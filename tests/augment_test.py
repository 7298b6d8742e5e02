"""DiffAugment, ADA, bCR and LeCam by numbers (jaxgan/augment/,
jaxgan/gan/regularizers.py)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import augment
from jaxgan.gan import penalties, regularizers
from jaxgan.augment import ada, diffaugment

H = W = 8


def _images(n=16, c=3, seed=0):
  return jax.random.uniform(
      jax.random.PRNGKey(seed), (n, H, W, c), jnp.float32, -1.0, 1.0
  )


def _keys(n, seed=1):
  return penalties.sample_keys(jax.random.PRNGKey(seed), n)


def _np_shift(x, ty, tx, mode):
  """out[i, j] = x[i + ty, j + tx]: zero ('constant') or mirrored
  ('reflect') outside, by NumPy's padding."""
  p = max(abs(ty), abs(tx))
  pad = np.pad(x, ((p, p), (p, p), (0, 0)), mode=mode)
  return pad[p + ty : p + ty + x.shape[0], p + tx : p + tx + x.shape[1]]


# --- DiffAugment -----------------------------------------------------------


def test_diffaugment_translation_is_a_zero_padded_integer_shift():
  x = np.asarray(_images(64))
  out = np.asarray(diffaugment.diffaugment(x, _keys(64), ("translation",)))
  s = int(H * 0.125 + 0.5)  # 1 pixel at 8x8.
  seen = set()
  for xi, oi in zip(x, out):
    matches = [
        (ty, tx)
        for ty in range(-s, s + 1)
        for tx in range(-s, s + 1)
        if np.array_equal(oi, _np_shift(xi, ty, tx, "constant"))
    ]
    assert len(matches) == 1, matches
    seen.add(matches[0])
  assert len(seen) == (2 * s + 1) ** 2  # Every shift occurs.


def test_diffaugment_cutout_zeroes_one_square_of_half_the_size():
  x = np.asarray(_images(64)) + 3.0  # No zero pixel before the cutout.
  out = np.asarray(diffaugment.diffaugment(x, _keys(64), ("cutout",)))
  size = int(H * 0.5 + 0.5)
  for xi, oi in zip(x, out):
    zero = np.all(oi == 0, axis=-1)
    np.testing.assert_array_equal(oi[~zero], xi[~zero])
    rows, cols = np.nonzero(zero)
    # One axis-aligned rectangle, size x size unless cut by the border.
    assert zero.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert np.ptp(rows) + 1 <= size and np.ptp(cols) + 1 <= size
    for lo, hi in ((rows.min(), rows.max()), (cols.min(), cols.max())):
      assert hi - lo + 1 == size or lo == 0 or hi == H - 1


def test_diffaugment_color_by_its_formulas():
  x = np.asarray(_images(1)[0])
  u = np.array([0.9, 0.3, 0.2], np.float32)
  y = x + (u[0] - 0.5)
  y = (y - y.mean(-1, keepdims=True)) * (2 * u[1]) + y.mean(-1, keepdims=True)
  y = (y - y.mean()) * (u[2] + 0.5) + y.mean()
  np.testing.assert_allclose(
      diffaugment.color_with(x, jnp.asarray(u)), y, rtol=1e-5, atol=1e-6
  )
  # The batch function uses a sample's own draws.
  keys = _keys(2)
  out = diffaugment.diffaugment(_images(2), keys, ("color",))
  k0 = jax.random.fold_in(keys[0], 0)
  np.testing.assert_allclose(
      out[0], diffaugment.color(_images(2)[0], k0), rtol=1e-6
  )


def test_unknown_policy_is_named():
  with pytest.raises(ValueError, match="'flip'"):
    diffaugment.parse_policy("color,flip")


# --- ADA --------------------------------------------------------------------


def _ada(x, transform, p=1.0, seed=1):
  return np.asarray(ada.augment(x, _keys(len(x), seed), p, (transform,)))


def test_ada_p_zero_is_the_identity():
  x = _images(8)
  np.testing.assert_array_equal(ada.augment(x, _keys(8), 0.0), x)


def test_ada_xflip_and_rotate90_are_exact_pixel_maps():
  x = np.asarray(_images(64))
  flips = _ada(x, "xflip")
  kinds = [
      0
      if np.array_equal(o, xi)
      else 1
      if np.array_equal(o, xi[:, ::-1])
      else -1
      for xi, o in zip(x, flips)
  ]
  assert -1 not in kinds and 0 < sum(kinds) < 64  # Flipped half the time.
  rots = _ada(x, "rotate90")
  found = []
  for xi, o in zip(x, rots):
    ks = [k for k in range(4) if np.array_equal(o, np.rot90(xi, k))]
    assert len(ks) == 1
    found.append(ks[0])
  assert set(found) == {0, 1, 2, 3}


def test_ada_integer_translation_is_a_reflected_shift():
  x = np.asarray(_images(64))
  out = _ada(x, "xint")
  s = round(0.125 * W)
  for xi, o in zip(x, out):
    matches = [
        (ty, tx)
        for ty in range(-s, s + 1)
        for tx in range(-s, s + 1)
        if np.allclose(o, _np_shift(xi, ty, tx, "reflect"), atol=1e-6)
    ]
    assert len(matches) == 1, matches


def _np_bilinear(img, g_inv):
  """NumPy reference of ada.warp: output pixel (i, j) reads the input at
  G_inv (j - c, i - c, 1) + c, bilinearly, reflected at the borders."""
  h, w, _ = img.shape
  c = (w - 1) / 2
  out = np.zeros_like(img)

  def refl(v, n):
    v = abs(v) % (2 * (n - 1))
    return int(2 * (n - 1) - v if v > n - 1 else v)

  for i in range(h):
    for j in range(w):
      sx, sy, _ = g_inv @ np.array([j - c, i - c, 1.0])
      sx, sy = sx + c, sy + c
      x0, y0 = math.floor(sx), math.floor(sy)
      fx, fy = sx - x0, sy - y0
      for yy, xx, wt in (
          (y0, x0, (1 - fx) * (1 - fy)),
          (y0, x0 + 1, fx * (1 - fy)),
          (y0 + 1, x0, (1 - fx) * fy),
          (y0 + 1, x0 + 1, fx * fy),
      ):
        out[i, j] += wt * img[refl(yy, h), refl(xx, w)]
  return out


@pytest.mark.parametrize("transform", ["rotate", "scale", "aniso", "xfrac"])
def test_ada_geometric_transforms_against_numpy(transform):
  x = np.asarray(_images(4, c=1))
  keys = _keys(4, seed=3)
  out = np.asarray(ada.augment(x, keys, 1.0, (transform,)))
  for xi, o, k in zip(x, out, keys):
    g_inv, _ = ada.matrices(k, 1.0, H, W, (transform,))
    g_inv = np.asarray(g_inv, np.float64)
    np.testing.assert_allclose(o, _np_bilinear(xi, g_inv), atol=2e-5)
    a, b = g_inv[:2, :2], g_inv[:2, 2]
    if transform == "rotate":  # Two rotations: orthogonal, det 1.
      np.testing.assert_allclose(a @ a.T, np.eye(2), atol=1e-6)
      np.testing.assert_allclose(np.linalg.det(a), 1.0, atol=1e-6)
    if transform == "scale":  # Isotropic 1/s.
      assert a[0, 0] == pytest.approx(a[1, 1]) and a[0, 1] == 0
    if transform == "aniso":  # diag(1/s, s).
      assert a[0, 0] * a[1, 1] == pytest.approx(1.0) and a[0, 1] == 0
    if transform == "xfrac":  # A translation only, in pixels.
      np.testing.assert_array_equal(a, np.eye(2))
      assert np.abs(b).max() > 0
    if transform != "xfrac":
      np.testing.assert_array_equal(b, 0)


def test_ada_color_transforms_by_their_formulas():
  x = np.asarray(_images(8))
  keys = _keys(8, seed=5)
  v = np.ones(3) / np.sqrt(3)
  for name in ada.COLOR:
    out = np.asarray(ada.augment(x, keys, 1.0, (name,)))
    for xi, o, k in zip(x, out, keys):
      _, c = ada.matrices(k, 1.0, H, W, (name,))
      c = np.asarray(c, np.float64)
      np.testing.assert_allclose(
          o, xi @ c[:3, :3].T + c[:3, 3], rtol=1e-5, atol=1e-5
      )
      m, t = c[:3, :3], c[:3, 3]
      if name == "brightness":  # x + b, b ~ 0.2 N(0, 1).
        np.testing.assert_allclose(m, np.eye(3), atol=1e-7)
        assert t[0] == t[1] == t[2] != 0
      elif name == "contrast":  # x * 2^(0.5 n).
        assert m[0, 0] == m[1, 1] == m[2, 2] != 1 and not t.any()
      elif name == "lumaflip":  # I or the reflection I - 2 v v^T.
        flip = np.eye(3) - 2 * np.outer(v, v)
        assert np.allclose(m, np.eye(3)) or np.allclose(m, flip, atol=1e-6)
      elif name == "hue":  # A rotation about the grey axis.
        np.testing.assert_allclose(m @ v, v, atol=1e-6)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-6)
      elif name == "saturation":  # Grey kept, chroma scaled by 2^n.
        np.testing.assert_allclose(m @ v, v, atol=1e-6)
        chroma = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
        s = (m @ chroma) @ chroma
        np.testing.assert_allclose(m @ chroma, s * chroma, atol=1e-6)
        assert s > 0 and s != pytest.approx(1.0)


def test_ada_grey_images_use_the_mean_colour_row():
  x = np.asarray(_images(4, c=1))
  keys = _keys(4, seed=6)
  out = np.asarray(ada.augment(x, keys, 1.0, ada.COLOR))
  for xi, o, k in zip(x, out, keys):
    _, c = ada.matrices(k, 1.0, H, W, ada.COLOR)
    row = np.asarray(c)[:3].mean(0)
    np.testing.assert_allclose(o, xi * row[:3].sum() + row[3], rtol=1e-5)


def test_ada_p_one_applies_every_transform_and_p_gates_per_sample():
  keys = _keys(200, seed=7)
  gi, c = jax.vmap(lambda k: ada.matrices(k, 1.0, H, W))(keys)
  # With p = 1 every gate is open: brightness and contrast always move
  # (the others can draw their identity, e.g. no flip).
  assert np.all(np.asarray(c)[:, 0, 3] != 0)
  gi, c = jax.vmap(lambda k: ada.matrices(k, 0.3, H, W, ("brightness",)))(keys)
  moved = np.mean(np.asarray(c)[:, 0, 3] != 0)
  assert 0.2 < moved < 0.4  # ~p of the samples.


def test_gradients_flow_through_the_augmentations():
  # d/dw sum(aug(w * x)^2) by autodiff equals central finite differences,
  # and is not zero: G's gradient reaches it through D's input.
  x, keys = _images(4), _keys(4, seed=8)
  fns = {
      "diffaugment": lambda y: diffaugment.diffaugment(
          y, keys, ("color", "translation", "cutout")
      ),
      "ada": lambda y: ada.augment(y, keys, 1.0),
  }
  for name, fn in fns.items():
    f = lambda w: jnp.sum(jnp.square(fn(w * x)))
    g = float(jax.grad(f)(0.7))
    h = 1e-2
    numeric = (float(f(0.7 + h)) - float(f(0.7 - h))) / (2 * h)
    assert g != 0.0, name
    np.testing.assert_allclose(g, numeric, rtol=2e-3, err_msg=name)


# --- ADA's p -----------------------------------------------------------------


def test_ada_p_update_by_hand():
  aug = augment.Augment(
      "ada",
      lambda x, k, p: x,
      adaptive=True,
      target=0.6,
      interval=2,
      speed_kimg=0.1,  # p moves by images / 100 per update.
  )
  state = augment.init_state(aug)
  batch = 8  # Global batch; one D update per iteration.
  history = []
  # Iterations 0-1: all signs +1 (r_t = 1 > 0.6): p += 16 / 100.
  # Iterations 2-3: 2 of 8 positive (r_t = -0.5): p -= 0.16, clamped at 0.
  # Iterations 4-5: r_t = 1 again.
  outputs = [np.ones(batch)] * 2 + [np.r_[np.ones(2), -np.ones(6)]] * 2
  outputs += [np.ones(batch)] * 2
  for step, out in enumerate(outputs):
    out = jnp.asarray(out)
    state = augment.ada_accumulate(state, jnp.sum(jnp.sign(out)), out.size)
    state = augment.ada_update(aug, state, step, images_per_iteration=batch)
    history.append((float(state["ada_p"]), float(state["ada_rt"])))
  expected_p = [0.0, 0.16, 0.16, 0.0, 0.0, 0.16]
  np.testing.assert_allclose([p for p, _ in history], expected_p, atol=1e-6)
  assert history[1][1] == 1.0 and history[3][1] == -0.5
  assert int(state["ada_images"]) == 6 * batch
  # Clamped at 1 too.
  high = dict(
      state,
      ada_p=jnp.float32(0.95),
      ada_signs=jnp.float32(8),
      ada_count=jnp.float32(8),
  )
  high = augment.ada_update(aug, high, 1, images_per_iteration=batch)
  assert float(high["ada_p"]) == 1.0


# --- bCR and LeCam -------------------------------------------------------------


def test_bcr_by_hand():
  out = jnp.array([1.0, -2.0, 0.5])
  out_t = jnp.array([-1.0, -1.0, 0.5])  # Differences 2, -1, 0.
  assert float(regularizers.consistency(out, out_t)) == pytest.approx(5 / 3)
  # T: a flip or not, and a reflected integer shift of up to 1/8.
  x = np.asarray(_images(32))
  t = np.asarray(regularizers.bcr_transform(x, _keys(32, seed=9)))
  for xi, ti in zip(x, t):
    options = [
        _np_shift(f, ty, tx, "reflect")
        for f in (xi, xi[:, ::-1])
        for ty in (-1, 0, 1)
        for tx in (-1, 0, 1)
    ]
    assert any(np.allclose(ti, o, atol=1e-6) for o in options)


def test_lecam_by_hand_and_its_anchors():
  state = {"lecam_real": jnp.float32(0.5), "lecam_fake": jnp.float32(-0.5)}
  real = jnp.array([1.0, -1.0])  # relu(real - a_F): 1.5, 0.
  fake = jnp.array([0.0, 1.0])  # relu(a_R - fake): 0.5, 0.
  expected = (1.5**2 + 0) / 2 + (0.5**2 + 0) / 2
  assert float(regularizers.lecam(real, fake, state)) == pytest.approx(expected)
  new = regularizers.lecam_update(state, 2.0, -2.0, 0.9)
  assert float(new["lecam_real"]) == pytest.approx(0.9 * 0.5 + 0.1 * 2.0)
  assert float(new["lecam_fake"]) == pytest.approx(0.9 * -0.5 + 0.1 * -2.0)
  # The anchors are constants for the gradient.
  g = jax.grad(lambda s: regularizers.lecam(real, fake, s))(state)
  assert float(g["lecam_real"]) == 0.0 and float(g["lecam_fake"]) == 0.0


# --- Limited data: the subset and the D-overfitting diagnostic ----------------


def test_num_examples_takes_a_fixed_subset(idx_dir):
  from jaxgan.data import pipeline, sources  # pylint: disable=g-import-not-at-top
  from tests.conftest import tiny_config  # pylint: disable=g-import-not-at-top

  config = tiny_config(**{"data.source": f"idx:{idx_dir}"})
  full = sources.get_source(config.data)
  config.data.num_examples = 10
  sub = pipeline.training_source(config.data)
  assert len(sub) == 10
  picked = [np.asarray(sub[i]["image"]) for i in range(10)]
  order = np.random.default_rng(0).permutation(len(full))[:10]
  for image, i in zip(picked, sorted(order)):
    np.testing.assert_array_equal(image, np.asarray(full[int(i)]["image"]))
  config.seed = 7  # The run's seed does not change the subset...
  assert [int(sub[i]["label"]) for i in range(10)] == [
      int(s["label"]) for s in pipeline.training_source(config.data)
  ]
  config.data.subset_seed = 1  # ...its own seed does.
  other = pipeline.training_source(config.data)
  assert any(
      not np.array_equal(np.asarray(other[i]["image"]), picked[i])
      for i in range(10)
  )
  config.data.num_examples = 65
  with pytest.raises(sources.DataError, match="data.num_examples=65"):
    pipeline.training_source(config.data)


def test_d_overfitting_diagnostic_is_d_on_fixed_batches(labelled, tmp_path):
  import json  # pylint: disable=g-import-not-at-top

  from jaxgan.inference import overfitting  # pylint: disable=g-import-not-at-top
  from jaxgan.run import train
  from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
  from jaxgan.experiment import builder as experiment
  from jaxgan.models import apply as step_lib  # pylint: disable=g-import-not-at-top
  from jaxgan.data import pipeline  # pylint: disable=g-import-not-at-top
  from tests.conftest import tiny_config  # pylint: disable=g-import-not-at-top

  config = tiny_config(
      **{
          "data.source": f"idx:{labelled['data']}",
          "eval.d_overfitting": True,
          "eval.reference_split": "test",
          "train.num_steps": 4,
          "augment.name": "diffaugment",
      }
  )
  state = train.train_and_evaluate(config, str(tmp_path / "run"))
  rows = [
      json.loads(l)
      for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
  ]
  logged = [r for r in rows if "d_out_train" in r]
  assert [r["step"] for r in logged] == [2, 4]
  # Recomputed by hand: D (inference mode) on the first training and test
  # images, their mean.
  exp = experiment.build(config, runtime.make_mesh())
  source = pipeline.training_source(config.data)
  diagnostic = overfitting.Overfitting(exp, source, "test")
  assert diagnostic.num == 40  # The test split's size here.
  out = diagnostic(state)
  assert out["d_out_train"] == pytest.approx(logged[-1]["d_out_train"])
  held = config.data.copy_and_resolve_references()
  held.split = "test"
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top

  for name, src, cfg in (
      ("d_out_train", source, config.data),
      ("d_out_heldout", sources.get_source(held), held),
  ):
    x = pipeline.preview(src, cfg, diagnostic.num)
    d, _ = step_lib.apply_model(
        exp.discriminator,
        state.d_params,
        state.d_batch_stats,
        step_lib.to_model_input(jnp.asarray(x)),
        train=False,
    )
    assert out[name] == pytest.approx(float(jnp.mean(d)), rel=1e-5)
  assert out["d_out_gap"] == pytest.approx(
      out["d_out_train"] - out["d_out_heldout"]
  )


@pytest.mark.parametrize(
    "overrides",
    [
        {"augment.name": "diffaugment"},
        {"augment.name": "ada", "augment.p": 1.0, "augment.target": 0.0},
    ],
    ids=["diffaugment", "ada"],
)
def test_the_step_shows_d_augmented_reals_and_fakes(overrides):
  # The step's logged D outputs and loss are D's on the images augmented
  # with each sample's keys (recomputed outside the step, on 2 devices),
  # and differ from D's on the plain images.
  from jax.sharding import Mesh  # pylint: disable=g-import-not-at-top
  from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
  from jaxgan.experiment import builder as experiment
  from tests import zoo_test  # pylint: disable=g-import-not-at-top
  from tests.conftest import tiny_config  # pylint: disable=g-import-not-at-top

  config = tiny_config(**{"train.batch_size": 8, **overrides})
  mesh = Mesh(np.array(jax.devices()[:2]), (runtime.AXIS,))
  exp = experiment.build(config, mesh)
  size = config.data.image_size
  batch = np.random.default_rng(0).integers(
      0, 256, (1, 8, size, size, 1), dtype=np.uint8
  )
  before = jax.device_get(exp.initial_state())
  _, metrics = exp.train_step(
      exp.initial_state(),
      jax.device_put(batch, runtime.batch_sharding(mesh)),
      0,
  )
  metrics = jax.device_get(metrics)
  want = zoo_test._d_outside_the_step(config, exp, before, batch, 2)  # pylint: disable=protected-access
  plain = zoo_test._d_outside_the_step(config, exp, before, batch, 2, augmented=False)  # pylint: disable=protected-access
  for key, value in want.items():
    np.testing.assert_allclose(
        metrics[key], value, rtol=1e-4, atol=1e-6, err_msg=key
    )
    assert abs(plain[key] - value) > 1e-4 * (1 + abs(value)), key
