"""Image-to-image GANs: paired data, PSNR/SSIM, pix2pix's and SRGAN's
networks, and the commands on a run (train, evaluate, sample)."""

import json
import math
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.gan import losses
from jaxgan.inference import generate
from jaxgan.models import pairs
from jaxgan.metrics import quality
from jaxgan.models import pix2pix, srgan
from tests.conftest import ROOT, cpu_env, write_idx


def test_edges_mark_both_sides_of_a_step_with_sobels_value():
  x = -np.ones((1, 8, 8, 1), np.float32)
  x[:, :, 4:] = 1.0  # A vertical step between columns 3 and 4.
  mag = np.asarray(pairs.sobel_magnitude(jnp.asarray(x)))
  # (1 - (-1)) * (1 + 2 + 1) on both sides of the step, 0 elsewhere.
  np.testing.assert_allclose(mag[0, :, 3:5], 8.0)
  np.testing.assert_allclose(np.delete(mag[0], [3, 4], axis=1), 0.0)
  e = np.asarray(pairs.edges(jnp.asarray(np.repeat(x, 3, -1))))
  assert e.shape == (1, 8, 8, 3)
  np.testing.assert_array_equal(e[0, :, 3:5], -1.0)  # Black lines,
  np.testing.assert_array_equal(np.delete(e[0], [3, 4], axis=1), 1.0)  # white.


def test_sr4x_is_4x_smaller_keeps_flat_images_and_local_means():
  flat = jnp.full((2, 32, 32, 1), 0.25)
  np.testing.assert_allclose(pairs.downsample(flat), 0.25, atol=1e-6)
  assert pairs.source_shape("sr4x", (32, 32, 3)) == (8, 8, 3)
  # Four quadrants of different grey: each 8x8 quadrant of the 16x16 result
  # keeps its grey away from the borders between them (antialiased).
  x = np.zeros((1, 64, 64, 1), np.float32)
  x[:, :32, 32:], x[:, 32:, :32], x[:, 32:, 32:] = 0.5, -0.5, 1.0
  small = np.asarray(pairs.downsample(jnp.asarray(x)))
  assert small.shape == (1, 16, 16, 1)
  np.testing.assert_allclose(small[0, 2:6, 2:6], 0.0, atol=1e-6)
  np.testing.assert_allclose(small[0, 10:14, 10:14], 1.0, atol=1e-6)
  np.testing.assert_allclose(small[0, 2:6, 10:14], 0.5, atol=1e-6)
  # The baseline brings it back to the target's size, near the target.
  back = np.asarray(pairs.baseline("sr4x", jnp.asarray(small), 64))
  assert back.shape == x.shape
  np.testing.assert_allclose(back[0, 8:24, 40:56], 0.5, atol=1e-2)


def test_psnr_by_hand():
  t = np.zeros((2, 4, 4, 1), np.uint8)
  o = t.copy()
  o[0] += 10  # MSE 100.
  got = quality.psnr(o, t)
  np.testing.assert_allclose(got[0], 10 * math.log10(255**2 / 100))
  assert got[1] == quality.PSNR_CAP  # Exact.


def _ssim_by_loops(x, y):
  """Wang et al. 2004, Eq. 13 at every valid window position, one channel."""
  g = quality.gaussian_window()
  w = np.outer(g, g)
  c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
  n = quality.WINDOW
  values = []
  for i in range(x.shape[0] - n + 1):
    for j in range(x.shape[1] - n + 1):
      a, b = x[i : i + n, j : j + n], y[i : i + n, j : j + n]
      ma, mb = np.sum(w * a), np.sum(w * b)
      va, vb = np.sum(w * (a - ma) ** 2), np.sum(w * (b - mb) ** 2)
      cov = np.sum(w * (a - ma) * (b - mb))
      values.append(
          (2 * ma * mb + c1)
          * (2 * cov + c2)
          / ((ma * ma + mb * mb + c1) * (va + vb + c2))
      )
  return np.mean(values)


def test_ssim_equals_the_formula_window_by_window():
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (2, 16, 14, 2), dtype=np.uint8)
  y = np.clip(x.astype(int) + rng.integers(-40, 40, x.shape), 0, 255).astype(
      np.uint8
  )
  got = quality.ssim(y, x)
  for n in range(2):
    want = np.mean(
        [
            _ssim_by_loops(
                y[n, ..., c].astype(np.float64), x[n, ..., c].astype(np.float64)
            )
            for c in range(2)
        ]
    )
    np.testing.assert_allclose(got[n], want, rtol=1e-4)
  np.testing.assert_allclose(quality.ssim(x, x), 1.0, rtol=1e-6)
  assert 0.0 < got.max() < 0.999


def test_pixel_shuffle_follows_pytorchs_channel_order():
  # Channel c * r^2 + i * r + j goes to pixel offset (i, j) of channel c.
  x = jnp.arange(8.0).reshape(1, 1, 1, 8)  # r = 2, 2 channels.
  y = np.asarray(srgan.pixel_shuffle(x, 2))
  np.testing.assert_array_equal(y[0, :, :, 0], [[0, 1], [2, 3]])
  np.testing.assert_array_equal(y[0, :, :, 1], [[4, 5], [6, 7]])


def _count(module, x, **kwargs):
  v = jax.eval_shape(
      lambda: module.init(jax.random.PRNGKey(0), x, train=False, **kwargs)
  )
  return sum(math.prod(a.shape) for a in jax.tree.leaves(v["params"]))


def test_pix2pix_networks_have_the_references_parameter_counts():
  # The authors' code prints 54.414 M for unet_256 and 2.769 M for the
  # basic (70x70) PatchGAN on 3 + 3 channels (ngf = ndf = 64, batch norm).
  x = jnp.zeros((1, 256, 256, 3))
  g = _count(pix2pix.UNetGenerator(channels=3), x)
  d = _count(
      pix2pix.PatchDiscriminator(n_layers=pix2pix.patch_layers(256)),
      x,
      source=x,
  )
  assert round(g / 1e6, 3) == 54.414, g
  assert round(d / 1e6, 3) == 2.769, d


def test_unet_forms_agree_with_xla_down_to_1x1_and_use_the_skips():
  x = jax.random.normal(jax.random.PRNGKey(1), (3, 32, 32, 2))
  xla = pix2pix.UNetGenerator(channels=2, width=8, conv_impl="xla")
  v = xla.init(jax.random.PRNGKey(0), x, train=False)
  y = xla.apply(v, x, train=False)
  z = xla.clone(conv_impl="matmul").apply(v, x, train=False)
  np.testing.assert_allclose(y, z, atol=2e-5)
  # Changing one input pixel changes the output there through the
  # outermost skip even with the 1x1 bottleneck.
  x2 = x.at[0, 5, 5, 0].add(3.0)
  diff = np.abs(np.asarray(xla.apply(v, x2, train=False) - y))[0, ..., 0]
  assert diff[4:7, 4:7].max() > 1e-3 and diff[20:, 20:].max() < diff.max()


def test_64x64_unet_drops_out_in_training_only():
  g = pix2pix.UNetGenerator(channels=1, width=4)
  x = jnp.ones((2, 64, 64, 1))
  v = g.init(jax.random.PRNGKey(0), x, train=False)
  run = lambda k: g.apply(
      v, x, train=True, rngs={"dropout": k}, mutable=["batch_stats"]
  )[0]
  a, b = run(jax.random.PRNGKey(1)), run(jax.random.PRNGKey(2))
  assert float(jnp.max(jnp.abs(a - b))) > 1e-4  # One dropout block at 64.
  np.testing.assert_array_equal(
      g.apply(v, x, train=False), g.apply(v, x, train=False)
  )


def test_reconstruction_terms():
  f, t = jnp.array([[1.0, -1.0]]), jnp.array([[0.0, 0.0]])
  assert float(losses.reconstruction("l1", f, t)) == 1.0
  assert float(losses.reconstruction("mse", 2 * f, t)) == 4.0


def test_classifier_content_features_and_loss_by_hand(labelled):
  """loss.recon='classifier': the classifier's third conv stage (ReLU, no
  pooling) computed with lax's convolutions from its weights, and the loss
  as the mean squared distance of those features, the target's constant."""
  from jaxgan.metrics import extractors  # pylint: disable=g-import-not-at-top

  clf = extractors.ClassifierExtractor(str(labelled["clf"]))
  content = clf.content()
  rng = np.random.default_rng(1)
  fake, real = (
      jnp.asarray(rng.uniform(-1, 1, (3, 32, 32, 1)), jnp.float32)
      for _ in range(2)
  )

  def by_hand(x):
    for i in range(3):
      layer = clf.params[f"Conv_{i}"]
      x = jax.lax.conv_general_dilated(
          x,
          layer["kernel"],
          (1, 1),
          "SAME",
          dimension_numbers=("NHWC", "HWIO", "NHWC"),
          precision="highest",
      )
      x = jnp.maximum(x + layer["bias"], 0)
      if i < 2:
        n, h, w, c = x.shape
        x = x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
    return x

  want = by_hand(fake)
  assert want.shape == (3, 8, 8, 64) and float(jnp.std(want)) > 0
  np.testing.assert_allclose(content(fake), want, rtol=1e-4, atol=1e-5)
  loss = losses.reconstruction("classifier", fake, real, content)
  np.testing.assert_allclose(
      loss, jnp.mean((want - by_hand(real)) ** 2), rtol=1e-4
  )
  g_fake, g_real = jax.grad(
      lambda f, r: losses.reconstruction("classifier", f, r, content),
      argnums=(0, 1),
  )(fake, real)
  assert float(jnp.max(jnp.abs(g_fake))) > 0
  assert float(jnp.max(jnp.abs(g_real))) == 0


def test_srgan_trains_on_the_classifiers_content_loss(tmp_path, labelled):
  """SRGAN with the domain classifier's features as its content loss, from
  the command line: the content distance falls as G trains."""
  workdir = tmp_path / "run"
  run = _run(
      "jaxgan.main",
      "--config=configs/srgan_fashion_mnist.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{labelled['data']}",
      f"--config.eval.classifier={labelled['clf']}",
      "--config.loss.recon=classifier",
      "--config.model.g_width=8",
      "--config.model.d_width=8",
      "--config.model.res_blocks=2",
      "--config.train.batch_size=8",
      "--config.train.num_steps=40",
      "--config.train.log_every_steps=5",
      "--config.train.sample_every_steps=40",
      "--config.train.num_sample_images=4",
      "--config.eval.every_steps=0",
      "--config.eval.num_samples=40",
      "--config.optim.g_lr=2e-3",
  )
  assert run.returncode == 0, run.stderr[-3000:]
  assert (
      "classifier-feature reconstruction x1 + adversarial loss x0.001"
      in run.stdout
  ), run.stdout
  content = [
      json.loads(l)["g_classifier"]
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
      if "g_classifier" in l
  ]
  assert len(content) == 8, content
  # Measured 0.052 -> 0.018 at steps 5 and 40; 0.127 -> 0.183 with the
  # features' gradient stopped (G then has only the 1e-3 adversarial term).
  assert content[-1] < 0.5 * content[0], content


def _run(module, *args, timeout=400):
  return subprocess.run(
      [sys.executable, "-m", module, *args],
      cwd=ROOT,
      env=cpu_env(1),
      capture_output=True,
      text=True,
      timeout=timeout,
  )


@pytest.fixture(scope="module")
def garments(tmp_path_factory):
  """An IDX dataset of 48 train and 32 test 28x28 'garments': bright
  rectangles of random sizes on black, with labels."""
  root = tmp_path_factory.mktemp("garments")
  rng = np.random.default_rng(0)
  for split, n in (("train", 48), ("t10k", 32)):
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
      t, l = rng.integers(2, 10, 2)
      b, r = rng.integers(18, 26, 2)
      x[i, t:b, l:r] = rng.integers(120, 255)
    write_idx(root / f"{split}-images-idx3-ubyte", x)
    write_idx(
        root / f"{split}-labels-idx1-ubyte",
        (np.arange(n) % 10).astype(np.uint8),
    )
  return root


def test_pix2pix_trains_evaluates_and_samples_triples(tmp_path, garments):
  workdir = tmp_path / "run"
  run = _run(
      "jaxgan.main",
      "--config=configs/pix2pix_fashion_mnist.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{garments}",
      "--config.model.g_width=8",
      "--config.model.d_width=8",
      "--config.train.batch_size=8",
      "--config.train.num_steps=60",
      "--config.train.sample_every_steps=60",
      "--config.train.num_sample_images=4",
      "--config.eval.every_steps=0",
      "--config.eval.num_samples=32",
      "--config.optim.g_lr=2e-3",
      "--config.eval.primary=psnr",
  )
  assert run.returncode == 0, run.stderr[-3000:]
  # No classifier for these images: PSNR and SSIM only, beside the
  # baseline's.
  assert "PSNR and SSIM only" in run.stdout, run.stdout
  assert "the baseline (the edge map itself) scores PSNR" in run.stdout
  rows = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  assert all("g_l1" in r for r in rows if "g_loss" in r)
  [final] = [r for r in rows if "psnr" in r]
  # The edge map (white background) is far from the garments (black).
  # Measured 16.2 dB / 0.51 here, and 14.4 dB / 0.32 with the L1 term
  # taken out of G's loss.
  assert final["psnr"] > 15.3 and final["ssim"] > 0.42, final
  # The test split's triples; the outputs' PSNR against their targets is the
  # evaluation's (the same 32 reference images, in order).
  out = tmp_path / "t.npy"
  s = _run("jaxgan.sample", f"--workdir={workdir}", "--num=32", f"--out={out}")
  assert s.returncode == 0 and "32 translations (triples)" in s.stdout, s.stderr
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top

  targets = np.stack(
      [
          np.pad(
              np.reshape(
                  sources.IdxSource(str(garments), "test")[i]["image"], (28, 28)
              ),
              2,
          )
          for i in range(32)
      ]
  )[..., None]
  outputs = np.load(out)
  np.testing.assert_allclose(
      np.mean(quality.psnr(outputs, targets)), final["psnr"], rtol=1e-5
  )
  png = _run(
      "jaxgan.sample",
      f"--workdir={workdir}",
      "--num=4",
      f"--out={tmp_path / 't.png'}",
  )
  assert png.returncode == 0 and (tmp_path / "t.png").exists()
  # The same sources given as images (edge maps are exactly 0 or 255) are
  # translated into the same outputs.
  edges = np.asarray(
      generate.to_uint8(pairs.edges(jnp.asarray(targets[:3] / 127.5 - 1.0)))
  )
  np.save(tmp_path / "edges.npy", edges)
  given = _run(
      "jaxgan.sample",
      f"--workdir={workdir}",
      f"--inputs={tmp_path / 'edges.npy'}",
      f"--out={tmp_path / 'o.npy'}",
  )
  assert given.returncode == 0 and "(input, output) pairs" in given.stdout
  np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), outputs[:3])
  # Given sources of the wrong shape: one line naming the shape expected.
  np.save(tmp_path / "bad.npy", np.zeros((2, 8, 8, 1), np.uint8))
  bad = _run(
      "jaxgan.sample",
      f"--workdir={workdir}",
      f"--inputs={tmp_path / 'bad.npy'}",
      f"--out={tmp_path / 'o.npy'}",
  )
  assert bad.returncode == 2
  assert "this model's inputs are uint8 (32, 32, 1)" in bad.stderr
  assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"data.pairs": "none"},
            "needs data.pairs in ['edges', 'inpaint', 'sr4x']",
        ),
        ({"model.d_pack": 2}, "model.d_pack is not implemented for the"),
        ({"model.res_blocks": -1}, "model.res_blocks=-1 must be an integer"),
        (
            {
                "model.name": "dcgan",
                "data.pairs": "none",
                "loss.recon": "none",
                "model.fc_hidden": -1,
            },
            "model.fc_hidden=-1 must be an integer >= 0",
        ),
        ({"data.image_size": 30, "data.pairs": "sr4x"}, "data.image_size=30"),
        (
            {
                "data.source": "idx:/nowhere",
                "eval.primary": "psnr",
                "loss.recon": "classifier",
            },
            "loss.recon='classifier' takes its content features from a",
        ),
        (
            {"data.source": "idx:/nowhere"},
            "eval.primary='fd' needs a feature extractor",
        ),
        (
            {"model.name": "dcgan", "data.pairs": "none"},
            "loss.recon='l1' compares G's output with a target",
        ),
        (
            {
                "model.name": "dcgan",
                "data.pairs": "edges",
                "loss.recon": "none",
            },
            "data.pairs='edges' is for the image-to-image models",
        ),
    ],
)
def test_refusals(overrides, message):
  from configs import pix2pix_fashion_mnist  # pylint: disable=g-import-not-at-top
  from jaxgan.experiment import checks as validate  # pylint: disable=g-import-not-at-top
  from jaxgan.core.errors import UserError  # pylint: disable=g-import-not-at-top

  config = pix2pix_fashion_mnist.get_config()
  for key, value in overrides.items():
    section, leaf = key.split(".")
    config[section][leaf] = value
  with pytest.raises(UserError, match=re.escape(message)):
    validate.validate_config(config, num_devices=1)


def test_inpaint_hole_is_a_function_of_the_image():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.uniform(0.2, 1.0, (64, 16, 16, 1)), jnp.float32)
  a, b = pairs.inpaint(x), pairs.inpaint(x[::-1])
  np.testing.assert_array_equal(a[::-1], b)  # Per image, not per position.
  zero = np.asarray(a[..., 0] == 0.0)
  corners = np.asarray(pairs.hole_corners(x))
  for n in range(64):  # One 8x8 hole at the drawn corner, the rest kept.
    t, l = corners[n]
    assert zero[n].sum() == 64 and zero[n, t : t + 8, l : l + 8].all()
    np.testing.assert_array_equal(
        np.asarray(a)[n][~zero[n]], np.asarray(x)[n][~zero[n]]
    )
  assert corners.min() >= 0 and corners.max() <= 8
  assert len({tuple(c) for c in corners}) > 20  # Spread over the image.
  # A changed pixel moves the hole (almost surely).
  y = x.at[:, 0, 0, 0].add(0.01)
  assert (np.asarray(pairs.hole_corners(y)) != corners).any(axis=1).mean() > 0.8
