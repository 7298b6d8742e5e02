"""Generator/discriminator pairs, chosen by `model.name` from `MODELS`.

Each entry says what its discriminator is and supports, so that a config
asking for an impossible combination fails at start-up (validate.py):
`data` is 'image' or 'points' (the 2-D toys), `autoencoder` marks BEGAN's
reconstruction-error discriminator, and `d_options` lists the discriminator
switches the model implements (model.d_spectral_norm, model.d_minibatch_std,
model.d_norm other than its default, loss.feature_matching), and
`conditioning` whether it takes labels and InfoGAN codes
(model.conditioning, model.info_*; models/conditioning.py). `xla_cpu_flags`
are XLA flags its training runs faster with on CPU, which jaxgan.main sets
before JAX starts (runtime.set_cpu_flags).
"""

import dataclasses
from typing import Callable

import flax.linen as nn
import jax.numpy as jnp
import ml_collections

from jaxgan.errors import UserError

from jaxgan.data import sources
from jaxgan.models import began, conditioning, dcgan, mlp, toy


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  build: Callable[..., tuple[nn.Module, nn.Module]]
  data: str = "image"
  autoencoder: bool = False
  d_options: tuple[str, ...] = ()
  d_batch_norm: Callable[[ml_collections.ConfigDict], bool] = lambda c: False
  conditioning: bool = False
  xla_cpu_flags: tuple[tuple[str, str], ...] = ()


# XLA:CPU's concurrency-optimised scheduler lets independent operations run
# side by side. For DCGAN these are convolutions (D's passes over the real and
# the fake batch) that then compete for the same cores and caches: off, its
# iteration measured 5-12% faster on 2 cores; the MLP GAN's small matmuls
# gain from it (8-15% slower without; benchmarks/BENCHMARKS.md).
_SEQUENTIAL_CONVOLUTIONS = (
    ("xla_cpu_enable_concurrency_optimized_scheduler", "false"),)


# train.dtype -> the models' computation dtype. Parameters, optimizer states,
# batch-norm statistics, losses and gradients' accumulation stay float32;
# with bfloat16 the layers compute in bf16 (no loss scaling: bf16 has
# float32's exponent range) and the models return float32.
DTYPES = {"float32": None, "bfloat16": jnp.bfloat16}


def _dtype(config: ml_collections.ConfigDict):
  return DTYPES[config.train.get("dtype", "float32")]


def _dcgan(config: ml_collections.ConfigDict, bn_axis_name):
  m, d = config.model, config.data
  return (
      dcgan.Generator(resolution=d.image_size, channels=d.channels,
                      width=m.g_width, init_std=m.init_std,
                      bn_axis_name=bn_axis_name, dtype=_dtype(config),
                      cond=conditioning.from_config(config)),
      dcgan.Discriminator(resolution=d.image_size, width=m.d_width,
                          init_std=m.init_std, bn_axis_name=bn_axis_name,
                          norm=m.d_norm, spectral_norm=m.d_spectral_norm,
                          minibatch_std=m.d_minibatch_std,
                          dtype=_dtype(config),
                          cond=conditioning.from_config(config)),
  )


def _mlp(config: ml_collections.ConfigDict, bn_axis_name):
  del bn_axis_name  # No batch norm.
  m, d = config.model, config.data
  return (
      mlp.Generator(resolution=d.image_size, channels=d.channels,
                    width=m.g_width, dtype=_dtype(config),
                    cond=conditioning.from_config(config)),
      mlp.Discriminator(resolution=d.image_size, width=m.d_width,
                        dtype=_dtype(config),
                        cond=conditioning.from_config(config)),
  )


def _began(config: ml_collections.ConfigDict, bn_axis_name):
  del bn_axis_name  # No batch norm.
  m, d = config.model, config.data
  return (
      began.Decoder(resolution=d.image_size, channels=d.channels,
                    width=m.g_width, dtype=_dtype(config)),
      began.Discriminator(resolution=d.image_size, channels=d.channels,
                          width=m.d_width, code_dim=m.z_dim,
                          dtype=_dtype(config)),
  )


def _toy_scale(config: ml_collections.ConfigDict) -> float:
  # The toy MLPs work in units of the data's scale, as if the data were
  # standardised (the WGAN-GP toy code divides the grid by its std, 2.828).
  mixture = sources.toy_mixture(config.data)
  # No mixture is refused by validate.py; the models still build.
  return mixture.scale if mixture else 1.0


def _toy_mlp(config: ml_collections.ConfigDict, bn_axis_name):
  del bn_axis_name  # No batch norm.
  m, scale = config.model, _toy_scale(config)
  return (
      toy.Generator(width=m.g_width, scale=scale, dtype=_dtype(config)),
      toy.Discriminator(width=m.d_width, spectral_norm=m.d_spectral_norm,
                        minibatch_std=m.d_minibatch_std, scale=scale,
                        dtype=_dtype(config)),
  )


def _toy_began(config: ml_collections.ConfigDict, bn_axis_name):
  del bn_axis_name  # No batch norm.
  m, scale = config.model, _toy_scale(config)
  return (
      toy.Generator(width=m.g_width, scale=scale, dtype=_dtype(config)),
      toy.Autoencoder(width=m.d_width, scale=scale, dtype=_dtype(config)),
  )


MODELS: dict[str, ModelSpec] = {
    "dcgan": ModelSpec(
        _dcgan, d_options=("d_spectral_norm", "d_minibatch_std", "d_norm",
                           "feature_matching"),
        d_batch_norm=lambda c: c.model.d_norm == "batch_norm",
        conditioning=True, xla_cpu_flags=_SEQUENTIAL_CONVOLUTIONS),
    "mlp": ModelSpec(_mlp, d_options=("feature_matching",), conditioning=True),
    "began": ModelSpec(_began, autoencoder=True),
    "toy_mlp": ModelSpec(_toy_mlp, data="points",
                         d_options=("d_spectral_norm", "d_minibatch_std",
                                    "feature_matching")),
    "toy_began": ModelSpec(_toy_began, data="points", autoencoder=True),
}


def get_spec(name: str) -> ModelSpec:
  if name not in MODELS:
    raise UserError(f"model.name={name!r} is unknown; use one of "
                    f"{sorted(MODELS)}")
  return MODELS[name]


def xla_cpu_flags(config: ml_collections.ConfigDict) -> dict[str, str]:
  """The XLA flags (name -> value) `config`'s model trains with on CPU."""
  return dict(get_spec(config.model.name).xla_cpu_flags)


def get_models(config: ml_collections.ConfigDict,
               bn_axis_name: str | None = None) -> tuple[nn.Module, nn.Module]:
  """Builds (generator, discriminator) for `config.model.name`.

  Args:
    config: the experiment config.
    bn_axis_name: mesh axis to average batch-norm statistics over, or None for
      per-device statistics.
  """
  return get_spec(config.model.name).build(config, bn_axis_name)
