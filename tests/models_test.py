"""Model shapes, value ranges and pinned parameter counts."""

import jax
import jax.numpy as jnp
import pytest

from jaxgan import models
from jaxgan.gan import state as state_lib
from jaxgan.data import sources
from jaxgan.core.errors import UserError
from jaxgan.experiment.checks import validate_config
from tests.conftest import tiny_config

# (name, resolution, channels, g_width, d_width) -> (G params, D params),
# counted by hand (kernels 4x4, no biases, batch norm scale + bias):
# - DCGAN-64x3: exactly the PyTorch DCGAN example (3,576,704 / 2,765,568).
#   G: 100*16*512 + 16*(512*256 + 256*128 + 128*64 + 64*3) + 2*(512+256+128+64)
#   D: 16*(3*64 + 64*128 + 128*256 + 256*512) + 2*(128+256+512) + 16*512.
# - DCGAN-32x1: G 100*16*256 + 16*(256*128 + 128*64 + 64*1) + 2*(256+128+64);
#   D 16*(1*64 + 64*128 + 128*256) + 2*(128+256) + 16*256.
# - DCGAN-28x1 (base 7): G 100*49*128 + 16*(128*64 + 64) + 2*(128+64);
#   D 16*(64 + 64*128) + 2*128 + 49*128.
# - DCGAN-128x3: G 100*16*1024 + 16*(1024*512 + 512*256 + 256*128 + 128*64
#   + 64*3) + 2*(1024+512+256+128+64); D 16*(3*64 + 64*128 + 128*256 +
#   256*512 + 512*1024) + 2*(128+256+512+1024) + 16*1024.
# - MLP (Goodfellow 2014): G 101*1200 + 1201*1200 + 1201*784;
#   D 785*1200 + 241*1200 + 241 (maxout: 240 units x 5 pieces).
# - BEGAN-32x1, n = 64, h = z = 100 (3x3 convs with biases): G, the
#   decoder, and D, encoder + decoder, as written out in the entry.
# - toy_mlp (PacGAN 2-D, without batch norm in G): G 3*400 + 3*401*400 +
#   401*2; D 3*1000 + 2*(201*1000) + 201.
PINNED = {
    ("dcgan", 64, 3, 64, 64): (3_576_704, 2_765_568),
    ("dcgan", 32, 1, 64, 64): (1_066_880, 661_248),
    ("dcgan", 28, 1, 64, 64): (759_680, 138_624),
    ("dcgan", 128, 3, 64, 64): (12_786_560, 11_164_416),
    ("mlp", 28, 1, 1200, 240): (2_503_984, 1_231_441),
    ("toy_mlp", 0, 0, 400, 200): (3 * 400 + 3 * 401 * 400 + 802, 405_201),
    ("began", 32, 1, 64, 64): (
        _BEGAN_G := 101 * 64 * 64 + 6 * (9 * 64 * 64 + 64) + 9 * 64 + 1,
        (9 * 1 * 64 + 64)  # Input conv.
        + 2 * (9 * 64 * 64 + 64)
        + (9 * 64 * 128 + 128)  # Scale 0.
        + 2 * (9 * 128 * 128 + 128)
        + (9 * 128 * 192 + 192)  # Scale 1.
        + 2 * (9 * 192 * 192 + 192)  # Scale 2 (8x8).
        + (8 * 8 * 192 * 100 + 100)  # Embedding h.
        + _BEGAN_G,
    ),  # The decoder.
}


def _config(name, resolution, channels, g_width, d_width):
  overrides = {
      "model.name": name,
      "model.g_width": g_width,
      "model.d_width": d_width,
      "model.z_dim": 100,
  }
  if name.startswith("toy"):
    overrides.update({"data.source": "toy:ring8", "model.z_dim": 2})
  else:
    overrides.update({"data.image_size": resolution, "data.channels": channels})
  return tiny_config(**overrides)


def _build(*spec):
  return models.get_models(_config(*spec))


@pytest.mark.parametrize("spec", sorted(PINNED))
def test_parameter_counts_and_shapes(spec):
  config = _config(*spec)
  generator, discriminator = models.get_models(config)
  z = jax.random.normal(jax.random.PRNGKey(0), (3, config.model.z_dim))
  g_vars = jax.eval_shape(
      lambda: generator.init(jax.random.PRNGKey(1), z, train=False)
  )
  x = jnp.zeros((3, *sources.data_shape(config.data)))
  d_vars = jax.eval_shape(
      lambda: discriminator.init(jax.random.PRNGKey(2), x, train=False)
  )
  counts = (
      state_lib.param_count(g_vars["params"]),
      state_lib.param_count(d_vars["params"]),
  )
  assert counts == PINNED[spec]


@pytest.mark.parametrize(
    "name,resolution,channels",
    [("dcgan", 28, 1), ("dcgan", 32, 1), ("dcgan", 64, 3), ("mlp", 28, 1)],
)
def test_outputs_in_range(name, resolution, channels):
  generator, discriminator = _build(name, resolution, channels, 8, 8)
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 100))
  g_vars = generator.init(jax.random.PRNGKey(1), z, train=False)
  images = generator.apply(g_vars, z, train=False)
  assert images.shape == (4, resolution, resolution, channels)
  assert float(jnp.abs(images).max()) <= 1.0
  assert float(images.std()) > 0.0
  d_vars = discriminator.init(jax.random.PRNGKey(2), images, train=False)
  logits = discriminator.apply(d_vars, images, train=False)
  assert logits.shape == (4,) and bool(jnp.isfinite(logits).all())


def test_dcgan_init_follows_the_paper():
  generator, _ = _build("dcgan", 64, 3, 64, 64)
  variables = generator.init(
      jax.random.PRNGKey(0), jnp.zeros((2, 100)), train=False
  )
  kernels = [
      v
      for p, v in jax.tree_util.tree_leaves_with_path(variables)
      if "kernel" in jax.tree_util.keystr(p)
  ]
  scales = [
      v
      for p, v in jax.tree_util.tree_leaves_with_path(variables)
      if "scale" in jax.tree_util.keystr(p)
  ]
  big = max(kernels, key=lambda v: v.size)
  assert abs(float(big.std()) - 0.02) < 0.001 and abs(float(big.mean())) < 1e-3
  assert (
      abs(float(jnp.concatenate([s.ravel() for s in scales]).mean()) - 1) < 0.01
  )


def test_unsupported_resolution_and_unknown_model():
  # validate.py checks every model's resolutions (the registry's list).
  with pytest.raises(
      UserError,
      match="data.image_size=48 is not supported "
      r"by model.name='dcgan'; use one of \[28, 32, 64, 128\]",
  ):
    validate_config(_config("dcgan", 48, 1, 8, 8))
  with pytest.raises(UserError, match=r"use one of \[32, 64, 128\]"):
    validate_config(_config("began", 28, 1, 8, 8))
  with pytest.raises(UserError, match="'dcgan'"):
    models.get_models(tiny_config(**{"model.name": "resnet"}))
