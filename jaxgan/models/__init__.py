"""Generator/discriminator pairs, chosen by `model.name` from `MODELS`."""

from typing import Callable

import flax.linen as nn
import ml_collections

from jaxgan.errors import UserError

from jaxgan.models import dcgan, mlp


def _dcgan(config: ml_collections.ConfigDict, bn_axis_name):
  m, d = config.model, config.data
  return (
      dcgan.Generator(resolution=d.image_size, channels=d.channels,
                      width=m.g_width, init_std=m.init_std,
                      bn_axis_name=bn_axis_name),
      dcgan.Discriminator(resolution=d.image_size, width=m.d_width,
                          init_std=m.init_std, bn_axis_name=bn_axis_name),
  )


def _mlp(config: ml_collections.ConfigDict, bn_axis_name):
  del bn_axis_name  # No batch norm.
  m, d = config.model, config.data
  return (
      mlp.Generator(resolution=d.image_size, channels=d.channels,
                    width=m.g_width),
      mlp.Discriminator(resolution=d.image_size, width=m.d_width),
  )


# model.name -> builder(config, bn_axis_name) -> (generator, discriminator).
MODELS: dict[str, Callable[..., tuple[nn.Module, nn.Module]]] = {
    "dcgan": _dcgan,
    "mlp": _mlp,
}


def get_models(config: ml_collections.ConfigDict,
               bn_axis_name: str | None = None) -> tuple[nn.Module, nn.Module]:
  """Builds (generator, discriminator) for `config.model.name`.

  Args:
    config: the experiment config.
    bn_axis_name: mesh axis to average batch-norm statistics over, or None for
      per-device statistics.
  """
  name = config.model.name
  if name not in MODELS:
    raise UserError(f"model.name={name!r} is unknown; use one of "
                     f"{sorted(MODELS)}")
  return MODELS[name](config, bn_axis_name)
