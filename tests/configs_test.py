"""Every config in configs/ loads, validates and builds its models."""

import importlib.util

import jax
import jax.numpy as jnp
import pytest

from jaxgan import models, train
from tests.conftest import ROOT

CONFIGS = sorted(p for p in (ROOT / "configs").glob("*.py")
                 if p.name != "__init__.py")


def test_expected_configs_exist():
  names = {p.stem for p in CONFIGS}
  assert {"default", "dcgan_fashion_mnist", "dcgan_celeba", "gan_mnist",
          "tiny"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_loads_and_validates(path):
  spec = importlib.util.spec_from_file_location(f"cfg_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  for key in ("seed", "data.source", "model.name", "loss.name",
              "train.batch_size", "train.num_steps", "train.d_steps",
              "checkpoint.every_steps"):
    node = config
    for part in key.split("."):
      node = node[part]
  train.validate_config(config)
  assert path.read_text().count("python -m jaxgan.main") >= 1  # Launch line.
  generator, _ = models.get_models(config)
  shape = jax.eval_shape(
      lambda: generator.apply(
          generator.init(jax.random.PRNGKey(0),
                         jnp.zeros((1, config.model.z_dim)), train=False),
          jnp.zeros((1, config.model.z_dim)), train=False))
  size = config.data.image_size
  assert shape.shape == (1, size, size, config.data.channels)


def test_celeba_config_has_the_dcgan_paper_hyperparameters():
  from configs import dcgan_celeba  # pylint: disable=g-import-not-at-top
  c = dcgan_celeba.get_config()
  assert (c.optim.g_lr, c.optim.d_lr, c.optim.b1) == (2e-4, 2e-4, 0.5)
  assert (c.train.batch_size, c.model.z_dim, c.model.init_std) == (128, 100,
                                                                   0.02)
  assert (c.data.image_size, c.data.preprocess) == (64, "center_crop_resize")
