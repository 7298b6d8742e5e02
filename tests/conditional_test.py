"""Class-conditional GANs and InfoGAN: models, terms, step, data, training."""

import functools
import json
import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.experiment import builder as experiment
from jaxgan.gan import latent
from jaxgan.run import train
from jaxgan.data import pipeline, sources
from jaxgan.core.errors import UserError
from jaxgan.metrics import clustering
from jaxgan.models.conditioning import Conditioning
from jaxgan.experiment.checks import validate_config
from tests.conftest import ROOT, cpu_env, tiny_config, write_idx
from tests.step_test import _batches, _mesh, _run

LABELLED = [
    ("dcgan", "concat"),
    ("dcgan", "projection"),
    ("dcgan", "acgan"),
    ("mlp", "concat"),
    ("mlp", "acgan"),
    ("sngan", "projection"),
    ("sngan", "acgan"),
    ("biggan", "projection"),
]


def _config(model="dcgan", mode="none", **overrides):
  extra = {"model.g_width": 16, "model.d_width": 8} if model == "mlp" else {}
  return tiny_config(
      **{
          "model.name": model,
          "model.conditioning": mode,
          "model.num_classes": 3,
          **extra,
          **overrides,
      }
  )


def _init(config):
  exp = experiment.build(config, _mesh(1))
  return exp, jax.device_get(exp.initial_state())


@pytest.mark.parametrize("model,mode", LABELLED)
def test_labels_change_what_the_models_compute(model, mode):
  config = _config(model, mode)
  built, state = _init(config)
  g, d = built.generator, built.discriminator
  z = jax.random.normal(jax.random.PRNGKey(0), (4, config.model.z_dim))
  # SNGAN's class-conditional batch norm starts as plain batch norm (scales
  # 1, shifts 0, as in the reference code), so the labels act only once the
  # parameters have moved: nudge every parameter as a training step would.
  leaves, tree = jax.tree_util.tree_flatten(state.g_params)
  keys = jax.random.split(jax.random.PRNGKey(2), len(leaves))
  moved = [
      p + 0.02 * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)
  ]
  g_params = jax.tree_util.tree_unflatten(tree, moved)
  g_vars = {"params": g_params, "batch_stats": state.g_batch_stats}
  a = g.apply(g_vars, z, train=False, labels=jnp.zeros(4, jnp.int32))
  b = g.apply(g_vars, z, train=False, labels=jnp.full(4, 2, jnp.int32))
  # Relative to the output (tiny at init).
  assert float(jnp.abs(a - b).max()) > 1e-3 * float(jnp.abs(a).max())
  d_vars = {"params": state.d_params, "batch_stats": state.d_batch_stats}
  rngs = {"dropout": jax.random.PRNGKey(1)}
  out, sown = d.apply(
      d_vars,
      a,
      train=False,
      labels=jnp.zeros(4, jnp.int32),
      mutable=["intermediates"],
      rngs=rngs,
  )
  other = d.apply(
      d_vars, a, train=False, labels=jnp.full(4, 2, jnp.int32), rngs=rngs
  )
  assert out.shape == (4,)
  if mode == "acgan":  # D is unconditional; its second head classifies.
    np.testing.assert_array_equal(out, other)
    logits = sown["intermediates"]["Heads_0"]["class_logits"][0]
    assert logits.shape == (4, 3)
  else:
    assert float(jnp.abs(out - other).max()) > 1e-3 * float(jnp.abs(out).max())


def test_unconditional_models_have_no_conditioning_parameters():
  _, plain = _init(_config())
  _, info = _init(
      _config(**{"model.info_categorical": 4, "model.info_continuous": 2})
  )
  assert "Heads_0" not in plain.d_params
  assert set(info.d_params) - set(plain.d_params) == {"Heads_0"}
  assert set(info.d_params["Heads_0"]) == {"q_hidden", "q_out"}
  # G's input grew by the codes: 8 noise + 4 one-hot + 2 continuous.
  assert info.g_params["Dense_0"]["kernel"].shape[0] == 8 + 4 + 2


def test_information_equals_hand_computed_values():
  cond = Conditioning(info_categorical=3, info_continuous=2)
  g_input = np.array(
      [[0.5, 0.0, 1.0, 0.0, 0.2, -0.6], [-1.0, 1.0, 0.0, 0.0, -0.9, 0.4]],
      np.float32,
  )
  q = np.array(
      [[1.0, 2.0, 0.0, 0.0, -0.5], [0.0, 0.0, 0.0, 1.0, 0.4]], np.float32
  )
  out = jax.device_get(
      latent.information(jnp.asarray(q), jnp.asarray(g_input), cond)
  )
  # Categorical: log softmax of the true code's logit, + log 3.
  lse0 = math.log(math.e**1 + math.e**2 + 1)
  cat = 0.5 * ((2.0 - lse0) + (0.0 - math.log(3))) + math.log(3)
  # Continuous: unit-variance Gaussian log density (summed over the 2
  # codes, averaged over the 2 rows), + log 2 per code.
  sq = (
      0.5
      * (
          (0.2 - 0.0) ** 2
          + (-0.6 + 0.5) ** 2
          + (-0.9 - 1.0) ** 2
          + (0.4 - 0.4) ** 2
      )
      / 2
  )
  cont = -sq - 2 * 0.5 * math.log(2 * math.pi) + 2 * math.log(2)
  np.testing.assert_allclose(out["info_categorical"], cat, rtol=1e-5)
  np.testing.assert_allclose(out["info_continuous"], cont, rtol=1e-5)
  np.testing.assert_allclose(out["info_mi"], cat + cont, rtol=1e-5)
  # A perfect categorical Q reaches the bound's maximum, H(c1) = log 3.
  perfect = jnp.asarray(np.where(g_input[:, 1:4] > 0, 50.0, -50.0))
  only_cat = Conditioning(info_categorical=3)
  value = latent.information(perfect, jnp.asarray(g_input[:, :4]), only_cat)
  np.testing.assert_allclose(value["info_mi"], math.log(3), rtol=1e-6)


def test_matched_accuracy_equals_hand_computed_values():
  labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 1])
  # A relabelling of the classes is matched back exactly.
  permuted = np.array([2, 0, 1])[labels]
  acc, mapping = clustering.matched_accuracy(permuted, labels)
  assert acc == 1.0 and list(mapping) == [1, 2, 0]
  # Counts (cluster x class): c0 = {0: 2, 2: 1}, c1 = {1: 3, 0: 1},
  # c2 = {2: 3}: the best one-to-one map is c0->0, c1->1, c2->2, 8 of 10.
  clusters = np.array([0, 0, 1, 1, 1, 2, 2, 2, 0, 1])
  acc, mapping = clustering.matched_accuracy(clusters, labels)
  assert acc == pytest.approx(0.8) and list(mapping) == [0, 1, 2]
  # More clusters than classes: one cluster stays unmatched.
  acc, mapping = clustering.matched_accuracy(np.arange(10) % 4, labels)
  assert sorted(mapping) == [-1, 0, 1, 2]


# Conditional batch norm (statistics over devices, per-class scales) and the
# heads; 'concat' only changes the inputs and trains in the test below.
# BigGAN's convolutions before batch norm have biases (as the reference's),
# whose gradient is zero but for round-off, which differs between 1 and 4
# devices; Adam scales it up to lr-sized steps (measured: 7e-4 apart after
# two steps), so BigGAN's case uses SGD.
@pytest.mark.parametrize(
    "model,mode,info,extra",
    [
        ("dcgan", "projection", 0, {}),
        ("dcgan", "acgan", 4, {}),
        (
            "biggan",
            "projection",
            0,
            {"optim.name": "sgd", "optim.g_lr": 1e-3, "optim.d_lr": 1e-3},
        ),
    ],
)
def test_conditional_step_on_four_devices_equals_one(model, mode, info, extra):
  config = _config(
      model,
      mode,
      **{
          "model.bn_cross_device": True,
          "train.d_steps": 2,
          "model.info_categorical": info,
          "model.info_continuous": min(info, 1),
          **extra,
      },
  )
  rng = np.random.default_rng(1)
  batches = [
      (images, rng.integers(0, 3, images.shape[:2]).astype(np.int32))
      for images in _batches(config, 2)
  ]
  state1, hist1 = _run(config, _mesh(1), batches)
  state4, hist4 = _run(config, _mesh(4), batches)
  for a, b in zip(jax.tree.leaves(state1), jax.tree.leaves(state4)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  for key in hist1[-1]:
    np.testing.assert_allclose(
        hist1[-1][key], hist4[-1][key], rtol=1e-4, atol=1e-6
    )
  if mode == "acgan":
    assert {
        "d_class_loss",
        "d_class_accuracy",
        "g_class_loss",
        "g_info_mi",
        "d_info_categorical",
        "g_info_continuous",
    } <= set(hist1[-1])
  if mode != "projection":
    return
  # The labels matter: other labels give other parameters.
  other = [(images, (labels + 1) % 3) for images, labels in batches]
  state_other, _ = _run(config, _mesh(1), other)
  assert any(
      float(np.abs(a - b).max()) > 1e-7
      for a, b in zip(
          jax.tree.leaves(state1.g_params),
          jax.tree.leaves(state_other.g_params),
      )
  )


def test_labels_flow_through_the_pipeline_per_process(labelled):
  config = tiny_config(**{"data.source": f"idx:{labelled['data']}"})
  source = sources.get_source(config.data)
  parts = []
  for p in range(2):
    ds = pipeline.make_dataset(source, config.data, seed=0, labels=True)
    images, labels = next(
        pipeline.make_iterator(
            ds,
            start_example=3 * 8,
            per_process_batch=4,
            process_index=p,
            process_count=2,
            steps_per_iteration=2,
        )
    )
    assert images.shape == (2, 4, 32, 32, 1) and labels.shape == (2, 4)
    assert labels.dtype == np.int32
    parts.append((images, labels))
  # Every label belongs to its image: bright images are class 1.
  for images, labels in parts:
    np.testing.assert_array_equal(
        images[:, :, 2:30, 2:30].mean((2, 3, 4)) > 128, labels == 1
    )
  # The two processes read different examples of the same global batches.
  assert not np.array_equal(parts[0][0], parts[1][0])


def _pairs_match_source(source, data_config, images, labels):
  """Every (image, label) of a batch is an example of the source."""
  preprocess = pipeline.preprocess_for(data_config)
  truth = {
      preprocess(source[i]).tobytes(): int(source[i]["label"])
      for i in range(len(source))
  }
  for image, label in zip(
      images.reshape(-1, *images.shape[2:]), labels.reshape(-1)
  ):
    assert truth[image.tobytes()] == label


def test_labels_flow_from_tfds_and_class_folders(tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  for cls in ("cats", "dogs", "owls"):
    (tmp_path / cls).mkdir()
    for i in range(4):
      Image.fromarray(rng.integers(0, 256, (32, 32, 1), np.uint8)[..., 0]).save(
          tmp_path / cls / f"{i}.png"
      )
  for source_name, shape in ((f"folder:{tmp_path}", 32), ("tfds:mnist", 28)):
    config = tiny_config(
        **{
            "data.source": source_name,
            "data.image_size": shape,
            "data.preprocess": "none",
        }
    )
    with tfds.testing.mock_data(num_examples=12):
      source = sources.get_source(config.data)
      pipeline.check_source(source, config.data, 8, num_classes=10)
      ds = pipeline.make_dataset(source, config.data, seed=0, labels=True)
      images, labels = next(
          pipeline.make_iterator(
              ds,
              start_example=0,
              per_process_batch=4,
              process_index=0,
              process_count=1,
              steps_per_iteration=2,
          )
      )
      _pairs_match_source(source, config.data, images, labels)
    if source_name.startswith("folder"):
      assert sorted(set(source.labels)) == [0, 1, 2]


def test_label_errors(labelled, tmp_path):
  config = tiny_config(**{"data.source": f"idx:{labelled['data']}"})
  source = sources.get_source(config.data)
  with pytest.raises(
      UserError,
      match=r"has label 1, outside "
      r"model.num_classes=1 .*set model.num_classes=2",
  ):
    pipeline.check_source(source, config.data, 8, num_classes=1)
  unlabelled = tmp_path / "unlabelled"
  unlabelled.mkdir()
  (unlabelled / "train-images-idx3-ubyte").write_bytes(
      (labelled["data"] / "train-images-idx3-ubyte").read_bytes()
  )
  config = tiny_config(**{"data.source": f"idx:{unlabelled}"})
  with pytest.raises(UserError, match="has no labels"):
    pipeline.check_source(
        sources.get_source(config.data), config.data, 8, num_classes=2
    )


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            {"model.conditioning": "onehot"},
            "model.conditioning='onehot' is " "unknown; use one of",
        ),
        (
            {"model.conditioning": "concat", "model.num_classes": 1},
            "model.num_classes=1 must be an integer >= 2",
        ),
        (
            {"model.conditioning": "projection", "model.name": "mlp"},
            "'projection' conditions G through its batch norms",
        ),
        (
            {
                "model.conditioning": "concat",
                "model.name": "began",
                "loss.name": "began",
            },
            "model.conditioning='concat' is not "
            "implemented by model.name='began'",
        ),
        ({"model.info_categorical": 1}, "model.info_categorical=1 is a code"),
        (
            {"model.info_continuous": -1},
            "model.info_continuous=-1 must be an " "integer >= 0",
        ),
        ({"loss.info_weight": -1.0}, r"loss.info_weight=-1.0 must be in"),
        (
            {"model.d_leaky_slope": 0.1, "model.name": "mlp"},
            r"model.d_leaky_slope is not implemented by model.name='mlp'; "
            r"use one of \['dcgan'\] or leave it at 0.2$",
        ),
        (
            {"model.d_leaky_slope": -0.1},
            r"model.d_leaky_slope=-0.1 must be in \[0.0, 1.0\]",
        ),
        (
            {"model.unit_range": True, "model.name": "mlp"},
            r"model.unit_range is not implemented by model.name='mlp'; "
            r"use one of \['dcgan'\] or turn it off$",
        ),
    ],
)
def test_bad_conditioning_configs_are_refused(overrides, message):
  with pytest.raises(UserError, match=message):
    validate_config(tiny_config(**overrides), 1)


@pytest.mark.parametrize(
    "mode,steps", [("concat", 300), ("projection", 800), ("acgan", 400)]
)
def test_conditioned_generator_draws_the_requested_class(
    labelled, one_device, tmp_path, mode, steps
):
  # The two-class set (dark vs bright noise) and its fixed classifier: after
  # brief training, samples asked for class c are classified as c (an
  # unconditional or untrained generator scores 0.5). Measured (class
  # accuracy every 100 iterations): concat 0.975 after 250, 1.0 after 400;
  # projection 0.5 up to 400 (its class embedding starts at N(0, 0.02^2)),
  # 0.995 at 500, 1.0 from 600 with the AVX2 rule's forms; with the Zen 4
  # rule's kernel gradient (float rounding only) 0.5 up to 500, 0.835 at
  # 600, 1.0 from 700, hence 800; ACGAN 0.5, 0.56, 0.9, 1.0 at 100-400.
  config = tiny_config(
      **{
          "data.source": f"idx:{labelled['data']}",
          "model.conditioning": mode,
          "model.num_classes": 2,
          "model.bn_cross_device": True,
          "train.num_steps": steps,
          "train.log_every_steps": 100,
          "train.sample_every_steps": steps,
          "checkpoint.every_steps": steps,
          "eval.classifier": str(labelled["clf"]),
          "eval.num_samples": 200,
          "model.g_width": 16,
          "model.d_width": 16,
      }
  )
  workdir = tmp_path / "run"
  train.train_and_evaluate(config, str(workdir))
  lines = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  final = [l for l in lines if "class_accuracy" in l][-1]
  assert final["class_accuracy"] >= 0.9, final
  assert {"fd_class_0", "fd_class_1", "fd_class_mean"} <= set(final)
  assert final["fd_class_mean"] == pytest.approx(
      (final["fd_class_0"] + final["fd_class_1"]) / 2
  )


def test_infogan_config_has_the_papers_mnist_networks():
  """configs/infogan_mnist.py: Chen et al. 2016's MNIST networks, counted
  layer by layer (no biases before batch norm)."""
  import math  # pylint: disable=g-import-not-at-top,reimported

  from configs import infogan_mnist  # pylint: disable=g-import-not-at-top
  from jaxgan import models  # pylint: disable=g-import-not-at-top

  config = infogan_mnist.get_config()
  g, d = models.get_models(config)
  z = jnp.zeros((2, 62 + 10 + 2))
  x = jnp.zeros((2, 28, 28, 1))
  count = lambda m, a: sum(
      math.prod(p.shape)
      for p in jax.tree.leaves(
          jax.eval_shape(lambda: m.init(jax.random.PRNGKey(0), a, train=False))[
              "params"
          ]
      )
  )
  bn = lambda c: 2 * c
  g_want = (
      74 * 1024
      + bn(1024)  # FC 1024 + BN
      + 1024 * 7 * 7 * 128
      + bn(128)  # FC 7x7x128 + BN
      + 4 * 4 * 128 * 64
      + bn(64)  # 4x4 up-convolution to 64 + BN
      + 4 * 4 * 64 * 1  # 4x4 up-convolution to the image
  )
  d_want = (
      4 * 4 * 1 * 64  # 4x4 conv 64
      + 4 * 4 * 64 * 128
      + bn(128)  # 4x4 conv 128 + BN
      + 7 * 7 * 128 * 1024
      + bn(1024)  # FC 1024 + BN
      + 1024  # D's output
      + 1024 * 128
      + bn(128)  # Q: FC 128 + BN
      + 128 * 12
      + 12  # Q's 10 logits and 2 means
  )
  assert (count(g, z), count(d, x)) == (g_want, d_want)


def _d_and_q(d, variables, x):
  """D's logits and the InfoGAN Q head's outputs on images x."""
  logit, sown = d.apply(variables, x, train=False, mutable="intermediates")
  return logit, sown["intermediates"]["Heads_0"]["info"][0]


@pytest.mark.parametrize("slope", [1.0, 0.2])
def test_d_leaky_slope_reaches_every_activation_of_d_and_q(slope):
  """With slope 1 every LeakyReLU of DCGAN's D (convolutions, FC layer) and
  of Q is the identity: without normalisation, D and Q are then affine in
  the image. The default 0.2 is not."""
  from jaxgan import models  # pylint: disable=g-import-not-at-top

  config = _config(
      **{
          "model.d_norm": "none",
          "model.fc_hidden": 16,
          "model.info_categorical": 3,
          "model.d_leaky_slope": slope,
      }
  )
  _, d = models.get_models(config)
  x1, x2 = jax.random.normal(jax.random.PRNGKey(1), (2, 2, 16, 16, 1))
  variables = d.init(jax.random.PRNGKey(0), x1, train=False)
  outputs = functools.partial(_d_and_q, d, variables)
  mixed = outputs(0.3 * x1 + 0.7 * x2)
  combined = [0.3 * a + 0.7 * b for a, b in zip(outputs(x1), outputs(x2))]
  for got, want in zip(mixed, combined):
    off = np.abs(got - want).max() / np.abs(want).max()
    assert off < 1e-4 if slope == 1.0 else off > 1e-2, off


def test_unit_range_is_sigmoid_out_of_g_and_unit_pixels_into_d():
  """model.unit_range: G's output is 2 sigmoid(a) - 1 where the default is
  tanh(a) for the same pre-activation a (same parameters), and D (with Q)
  reads image x as the default D reads (x + 1) / 2."""
  from jaxgan import models  # pylint: disable=g-import-not-at-top

  # Weights ~ N(0, 0.3): pre-activations of order 1, not DCGAN's ~1e-8.
  over = {
      "model.fc_hidden": 16,
      "model.info_categorical": 3,
      "model.init_std": 0.3,
  }
  config = _config(**over)
  g0, d0 = models.get_models(config)
  g1, d1 = models.get_models(_config(**over, **{"model.unit_range": True}))
  z = jax.random.uniform(
      jax.random.PRNGKey(1), (4, config.model.z_dim), minval=-1.0
  )
  gv = g0.init(jax.random.PRNGKey(0), z, train=False)
  a = np.arctanh(np.asarray(g0.apply(gv, z, train=False), np.float64))
  got = g1.apply(gv, z, train=False)
  assert np.abs(a).max() > 1.0
  np.testing.assert_allclose(got, 2.0 / (1.0 + np.exp(-a)) - 1.0, atol=1e-4)
  assert np.abs(got - np.tanh(a)).max() > 0.1

  size, channels = config.data.image_size, config.data.channels
  x = jax.random.uniform(
      jax.random.PRNGKey(2), (4, size, size, channels), minval=-1.0
  )
  dv = d0.init(jax.random.PRNGKey(0), x, train=False)
  for got, want, default in zip(
      _d_and_q(d1, dv, x),
      _d_and_q(d0, dv, (x + 1.0) / 2.0),
      _d_and_q(d0, dv, x),
  ):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.abs(got - default).max() > 1e-3


def _quadrants(root, classes=4):
  """IDX train/test splits of `classes` fixed images: a white 10x10 square
  in quadrant k of a black 28x28 image for class k (no other variation)."""
  root.mkdir()
  for split, n in (("train", 64), ("t10k", 200)):
    labels = (np.arange(n) % classes).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, k in enumerate(labels):
      r, c = divmod(int(k), 2)
      images[i, 2 + 14 * r : 12 + 14 * r, 2 + 14 * c : 12 + 14 * c] = 255
    write_idx(root / f"{split}-images-idx3-ubyte", images)
    write_idx(root / f"{split}-labels-idx1-ubyte", labels)


def test_infogan_code_aligns_with_the_classes_of_a_small_case(tmp_path):
  # Four classes that differ only in where their square is: G can only draw
  # those four images, Q must tell c1's four values apart from them, so each
  # value comes to draw one class and Q reads the class from real images
  # (info_accuracy 1.0). Measured with this command, 600 iterations (LR
  # decayed linearly to 0; without the decay the accuracy wanders between
  # 0.75 and 1.0): seeds 0-3 end at 1.0; with loss.info_weight=0 (Q not
  # trained) they end at 0.5, 0.5, 0.5, 0.75.
  _quadrants(tmp_path / "idx")
  workdir = tmp_path / "run"
  command = [
      sys.executable,
      "-m",
      "jaxgan.main",
      "--config=configs/infogan_mnist.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{tmp_path / 'idx'}",
      "--config.data.split=test",
      "--config.model.info_categorical=4",
      "--config.model.info_continuous=0",
      "--config.model.fc_hidden=0",
      "--config.model.d_leaky_slope=0.2",
      "--config.model.unit_range=False",
      "--config.model.g_width=16",
      "--config.model.d_width=16",
      "--config.model.z_dim=8",
      "--config.optim.schedule=linear",
      "--config.train.num_steps=600",
      "--config.train.log_every_steps=100",
      "--config.train.sample_every_steps=600",
      "--config.checkpoint.every_steps=600",
      "--config.eval.every_steps=600",
      "--config.eval.num_samples=200",
  ]
  # XLA's default optimisation, not the suite's FAST_COMPILE: 600
  # iterations run longer than they compile (measured: 31 s -> 26 s).
  env = dict(cpu_env(1), XLA_FLAGS="--xla_force_host_platform_device_count=1")
  result = subprocess.run(
      command, cwd=ROOT, env=env, capture_output=True, text=True
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "eval step 600: code accuracy 1.000" in result.stdout, result.stdout[
      -2000:
  ]
  rows = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  assert [r["info_accuracy"] for r in rows if "info_accuracy" in r] == [1.0]
