"""train.dtype='bfloat16': bf16 computation, float32 state, same parameters."""

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.experiment import builder as experiment
from jaxgan.run import train
from tests.conftest import tiny_config
from tests.step_test import _batches, _mesh, _run

SPECS = {
    "dcgan": {},
    "mlp": {
        "model.g_width": 32,
        "model.d_width": 16,
        "data.image_size": 28,
        "data.preprocess": "none",
    },
    "began": {"model.g_width": 8, "model.d_width": 8},
    "sngan": {"model.d_spectral_norm": True, "model.attention_res": 16},
    "biggan": {
        "model.conditioning": "projection",
        "model.num_classes": 3,
        "model.g_spectral_norm": True,
        "model.d_spectral_norm": True,
        "model.attention_res": 16,
    },
    "toy_mlp": {
        "data.source": "toy:ring8",
        "model.z_dim": 2,
        "model.g_width": 16,
        "model.d_width": 8,
    },
    "toy_began": {
        "data.source": "toy:ring8",
        "model.z_dim": 2,
        "model.g_width": 16,
        "model.d_width": 8,
    },
}


class _with_labels:
  """A model whose init and apply get these labels."""

  def __init__(self, module, labels):
    self.module, self.labels = module, labels

  def init(self, *args, **kwargs):
    return self.module.init(*args, labels=self.labels, **kwargs)

  def apply(self, *args, **kwargs):
    return self.module.apply(*args, labels=self.labels, **kwargs)


def _config(name, dtype):
  return tiny_config(
      **{"model.name": name, "train.dtype": dtype, **SPECS[name]}
  )


# The ResNet family keeps two products in float32 on purpose: spectral
# norm's power iteration (u^T W v, on the float32 weights) and
# self-attention's logits and softmax-weighted sum (jaxgan/models/resnet.py).
# For them the convolutions, which hold nearly all the FLOPs, are checked.
CHECKED = {
    "sngan": ("conv_general_dilated",),
    "biggan": ("conv_general_dilated",),
}


def _primitive_dtypes(
    fn, *args, names=("dot_general", "conv_general_dilated")
) -> set[str]:
  """Operand dtypes of every dot_general and convolution (or the primitives
  in `names`) in `fn`'s jaxpr."""
  found = set()

  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name in names:
        found.update(str(v.aval.dtype) for v in eqn.invars)
      for sub in jax.extend.core.jaxprs_in_params(eqn.params):
        visit(sub)

  visit(jax.make_jaxpr(fn)(*args).jaxpr)
  return found


@pytest.mark.parametrize("name", sorted(SPECS))
def test_bf16_computes_in_bf16_with_float32_parameters(name):
  g32, d32 = models.get_models(_config(name, "float32"))
  g16, d16 = models.get_models(_config(name, "bfloat16"))
  config = _config(name, "float32")
  z = jax.random.normal(jax.random.PRNGKey(0), (8, config.model.z_dim))
  key = jax.random.PRNGKey(1)
  names = CHECKED.get(name, ("dot_general", "conv_general_dilated"))
  if config.model.conditioning != "none":
    labels = jnp.arange(8) % config.model.num_classes
    g32, d32, g16, d16 = (_with_labels(m, labels) for m in (g32, d32, g16, d16))
  g_vars = g32.init({"params": key, "dropout": key}, z, train=False)
  # Same parameters (names, shapes, float32) whatever the dtype.
  g_vars16 = g16.init({"params": key, "dropout": key}, z, train=False)
  assert jax.tree.map(lambda a: (a.shape, a.dtype), g_vars) == jax.tree.map(
      lambda a: (a.shape, a.dtype), g_vars16
  )
  assert {a.dtype for a in jax.tree.leaves(g_vars)} == {jnp.dtype("float32")}

  x32 = g32.apply(g_vars, z, train=False)
  x16 = g16.apply(g_vars, z, train=False)
  assert x16.dtype == jnp.float32 and x16.shape == x32.shape
  # bf16 keeps 8 significant bits: outputs agree to a few parts in 100.
  scale = float(jnp.abs(x32).max())
  assert float(jnp.abs(x16 - x32).max()) < 0.05 * scale
  assert float(jnp.abs(x16 - x32).max()) > 0  # bf16 really was used.
  assert _primitive_dtypes(
      lambda v: g16.apply(v, z, train=False), g_vars, names=names
  ) == {"bfloat16"}
  assert _primitive_dtypes(
      lambda v: g32.apply(v, z, train=False), g_vars, names=names
  ) == {"float32"}

  d_vars = d32.init({"params": key, "dropout": key}, x32, train=False)
  y32 = d32.apply(d_vars, x32, train=False)
  y16 = d16.apply(d_vars, x32, train=False)
  assert y16.dtype == jnp.float32 and y16.shape == y32.shape == (8,)
  assert float(jnp.abs(y16 - y32).max()) < 0.05 * (
      1 + float(jnp.abs(y32).max())
  )
  assert _primitive_dtypes(
      lambda v: d16.apply(v, x32, train=False), d_vars, names=names
  ) == {"bfloat16"}


def test_bf16_train_state_stays_float32_and_tracks_float32():
  # Three iterations of the DCGAN step on one device: every parameter,
  # batch statistic and optimizer moment is float32, the losses are finite
  # and close to the float32 run's, and the parameters moved alike.
  mesh = _mesh(1)
  cfg32, cfg16 = _config("dcgan", "float32"), _config("dcgan", "bfloat16")
  batches = _batches(cfg32, 3)
  s32, h32 = _run(cfg32, mesh, batches)
  s16, h16 = _run(cfg16, mesh, batches)
  assert {
      np.asarray(a).dtype
      for a in jax.tree.leaves(s16)
      if np.issubdtype(np.asarray(a).dtype, np.floating)
  } == {np.dtype("float32")}
  for m32, m16 in zip(h32, h16):
    for k in ("d_loss", "g_loss"):
      assert np.isfinite(m16[k])
      np.testing.assert_allclose(m16[k], m32[k], rtol=0.05, atol=0.02)
  init = jax.device_get(experiment.build(cfg32, mesh).initial_state())
  flat = lambda tree: np.concatenate(
      [
          np.ravel(a)
          for a in jax.tree.leaves(  # pylint: disable=unnecessary-lambda-assignment
              tree
          )
      ]
  )
  step32 = flat(s32.g_params) - flat(init.g_params)
  step16 = flat(s16.g_params) - flat(init.g_params)
  # Over all of G's parameters: bf16 moved them the same way as float32
  # (Adam's first steps are ~lr times the gradient's sign, so rounding
  # flips only the signs of gradients near zero).
  assert np.corrcoef(step32, step16)[0, 1] > 0.9
  assert np.mean(np.sign(step32) == np.sign(step16)) > 0.9


def test_bf16_toy_run_end_to_end(tmp_path):
  config = _config("toy_mlp", "bfloat16")
  config.train.num_steps = 4
  config.eval.num_samples = 64
  state = train.train_and_evaluate(config, str(tmp_path))
  assert int(state.step) == 4
  assert (tmp_path / "checkpoints" / "4").is_dir()
  rows = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert any('"modes"' in r for r in rows)
