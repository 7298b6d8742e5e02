"""Every config in configs/ loads, validates and builds its models."""

import importlib.util

import jax
import jax.numpy as jnp
import pytest

from configs import paper_losses
from jaxgan import models
from jaxgan.experiment import builder as experiment
from jaxgan.data import sources
from jaxgan.experiment.checks import validate_config
from tests.conftest import ROOT

# Every experiment config (paper_losses.py is a helper, not a config).
CONFIGS = sorted(
    p
    for p in (ROOT / "configs").glob("*.py")
    if p.name not in ("__init__.py", "paper_losses.py")
)
# Configs that take a loss name as their argument (path:loss).
LOSS_CONFIGS = ("dcgan_fashion_mnist", "toy_ring8", "toy_grid25")


def test_expected_configs_exist():
  names = {p.stem for p in CONFIGS}
  assert {
      "default",
      "dcgan_fashion_mnist",
      "dcgan_celeba",
      "gan_mnist",
      "tiny",
      "toy_ring8",
      "toy_grid25",
      "cgan_fashion_mnist",
      "acgan_fashion_mnist",
      "infogan_mnist",
  } <= names


def _load(path, arg=None):
  spec = importlib.util.spec_from_file_location(f"cfg_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


@pytest.mark.parametrize(
    "path,arg",
    [(p, None) for p in CONFIGS]
    + [
        (ROOT / "configs" / f"{name}.py", loss)
        for name in LOSS_CONFIGS
        for loss in sorted(paper_losses.PAPER_SETTINGS)
    ],
    ids=lambda v: getattr(v, "stem", v),
)
def test_config_loads_and_validates(path, arg):
  config = _load(path, arg)
  if arg:
    assert config.loss.name == arg
  for key in (
      "seed",
      "data.source",
      "model.name",
      "loss.name",
      "train.batch_size",
      "train.num_steps",
      "train.d_steps",
      "checkpoint.every_steps",
  ):
    node = config
    for part in key.split("."):
      node = node[part]
  # As on one device (the toy configs' batch of 100 gives minibatch-stddev
  # groups of 4 there; on 4 devices validate_config asks for another batch).
  pieces = validate_config(config, num_devices=1)
  assert path.read_text().count("python -m jaxgan.main") >= 1  # Launch line.
  cond = pieces.cond
  generator, _ = models.get_models(config, cond, spec=pieces.spec)
  # Noise and codes, or an image-to-image model's source image.
  z = jnp.zeros((1, *experiment.g_input_shape(config, cond, pieces.data_shape)))
  kwargs = {"labels": jnp.zeros((1,), jnp.int32)} if cond.labelled else {}
  shape = jax.eval_shape(
      lambda: generator.apply(
          generator.init(jax.random.PRNGKey(0), z, train=False, **kwargs),
          z,
          train=False,
          **kwargs,
      )
  )
  assert shape.shape == (1, *sources.data_shape(config.data))


def test_paper_settings_cover_every_loss():
  from jaxgan.gan import losses  # pylint: disable=g-import-not-at-top

  assert sorted(paper_losses.PAPER_SETTINGS) == sorted(losses.LOSSES)
  c = _load(ROOT / "configs" / "toy_ring8.py", "wgan")
  assert (c.optim.name, c.optim.d_lr, c.loss.weight_clip, c.train.d_steps) == (
      "rmsprop",
      5e-5,
      0.01,
      5,
  )
  c = _load(ROOT / "configs" / "dcgan_fashion_mnist.py", "wgan_gp")
  assert (c.optim.b1, c.optim.b2, c.penalty.weight, c.model.d_norm) == (
      0.0,
      0.9,
      10.0,
      "layer_norm",
  )


def test_celeba_config_has_the_dcgan_paper_hyperparameters():
  from configs import dcgan_celeba  # pylint: disable=g-import-not-at-top

  c = dcgan_celeba.get_config()
  assert (c.optim.g_lr, c.optim.d_lr, c.optim.b1) == (2e-4, 2e-4, 0.5)
  assert (c.train.batch_size, c.model.z_dim, c.model.init_std) == (
      128,
      100,
      0.02,
  )
  assert (c.data.image_size, c.data.preprocess) == (64, "center_crop_resize")
