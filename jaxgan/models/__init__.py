"""Generator/discriminator pairs, chosen by `model.name` from `MODELS`.

Each entry says what its discriminator is and supports, so that a config
asking for an impossible combination fails at start-up (validate.py):
`data` is 'image' or 'points' (the 2-D toys), `autoencoder` marks BEGAN's
reconstruction-error discriminator, and `d_options` lists the discriminator
switches the model implements (model.d_spectral_norm, model.d_minibatch_std,
model.d_norm other than its default, loss.feature_matching), and
`conditioning` whether it takes labels and InfoGAN codes
(model.conditioning, model.info_*; models/conditioning.py); `progressive`
marks a model that grows by stages (ProGAN; jaxgan/gan/progressive.py);
`pairs` lists the image-to-image tasks (data.pairs, jaxgan/models/pairs.py) of a
model whose G maps a source image to its target, and `d_source` marks a D
that judges (source, image) pairs (pix2pix's) rather than images alone.
`model.d_pack` wraps the discriminator of any other unconditional model in
PacGAN's packing (models/packing.py).

The models know nothing of the data beyond its shape: the builders take the
resolved convolution form (`conv_impl`, 'xla' or 'matmul';
runtime.conv_impl) and, for the 2-D toys, the data's scale as arguments.
"""

import dataclasses
from typing import Callable

import flax.linen as nn
import jax.numpy as jnp
import ml_collections

from jaxgan.core.errors import UserError
from jaxgan.models import began, conditioning, dcgan, mlp, packing, pix2pix
from jaxgan.models import progan, resnet, srgan, toy


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  build: Callable[..., tuple[nn.Module, nn.Module]]
  data: str = "image"
  autoencoder: bool = False
  d_options: tuple[str, ...] = ()
  d_batch_norm: Callable[[ml_collections.ConfigDict], bool] = lambda c: False
  conditioning: bool = False
  # The conditioning modes it implements (with `conditioning`).
  conditioning_modes: tuple[str, ...] = ("concat", "projection", "acgan")
  progressive: bool = False
  equalized_lr: bool = False  # Weights stored N(0, 1), scaled at run time.
  resolutions: tuple[int, ...] | None = None  # data.image_size; None: any.
  pairs: tuple[str, ...] = ()  # data.pairs it takes; () = noise to images.
  d_source: bool = False


@dataclasses.dataclass(frozen=True)
class BuildOptions:
  """What a builder takes beyond the config, resolved by the caller.

  Attributes:
    bn_axis_name: mesh axis to average batch-norm statistics over, or None
      for per-device statistics.
    conv_impl: 'xla', 'matmul' or 'tuned': the form of DCGAN's 4x4 stride-2
      convolutions (cpu/conv4x4.py).
    data_scale: the 2-D toys' data scale (their MLPs work in its units).
  """

  bn_axis_name: str | None = None
  conv_impl: str = "xla"
  data_scale: float = 1.0


# train.dtype -> the models' computation dtype. Parameters, optimizer states,
# batch-norm statistics, losses and gradients' accumulation stay float32;
# with bfloat16 the layers compute in bf16 (no loss scaling: bf16 has
# float32's exponent range) and the models return float32.
DTYPES = {"float32": None, "bfloat16": jnp.bfloat16}


def _dtype(config: ml_collections.ConfigDict):
  return DTYPES[config.train.dtype]


def _dcgan(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  m, d = config.model, config.data
  return (
      dcgan.Generator(
          resolution=d.image_size,
          channels=d.channels,
          width=m.g_width,
          init_std=m.init_std,
          bn_axis_name=o.bn_axis_name,
          dtype=_dtype(config),
          cond=cond,
          conv_impl=o.conv_impl,
          fc_hidden=m.fc_hidden,
          unit_range=m.unit_range,
      ),
      dcgan.Discriminator(
          resolution=d.image_size,
          width=m.d_width,
          init_std=m.init_std,
          bn_axis_name=o.bn_axis_name,
          norm=m.d_norm,
          spectral_norm=m.d_spectral_norm,
          minibatch_std=m.d_minibatch_std,
          dtype=_dtype(config),
          cond=cond,
          conv_impl=o.conv_impl,
          fc_hidden=m.fc_hidden,
          leaky_slope=m.d_leaky_slope,
          unit_range=m.unit_range,
      ),
  )


def _mlp(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  del o  # No batch norm, no convolutions.
  m, d = config.model, config.data
  return (
      mlp.Generator(
          resolution=d.image_size,
          channels=d.channels,
          width=m.g_width,
          dtype=_dtype(config),
          cond=cond,
      ),
      mlp.Discriminator(
          resolution=d.image_size,
          width=m.d_width,
          dtype=_dtype(config),
          cond=cond,
      ),
  )


def _began(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  del cond, o  # Unconditional; no batch norm.
  m, d = config.model, config.data
  return (
      began.Decoder(
          resolution=d.image_size,
          channels=d.channels,
          width=m.g_width,
          dtype=_dtype(config),
      ),
      began.Discriminator(
          resolution=d.image_size,
          channels=d.channels,
          width=m.d_width,
          code_dim=m.z_dim,
          dtype=_dtype(config),
      ),
  )


def _progan(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  del cond, o  # Unconditional; no batch norm; its own convolutions.
  m, d = config.model, config.data
  return (
      progan.Generator(
          resolution=d.image_size,
          channels=d.channels,
          width=m.g_width,
          dtype=_dtype(config),
      ),
      progan.Discriminator(
          resolution=d.image_size, width=m.d_width, dtype=_dtype(config)
      ),
  )


def _sngan(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  m, d = config.model, config.data
  return (
      resnet.Generator(
          resolution=d.image_size,
          channels=d.channels,
          width=m.g_width,
          sn=m.g_spectral_norm,
          attention_res=m.attention_res,
          bn_axis_name=o.bn_axis_name,
          dtype=_dtype(config),
          cond=cond,
      ),
      resnet.Discriminator(
          resolution=d.image_size,
          width=m.d_width,
          sn=m.d_spectral_norm,
          attention_res=m.attention_res,
          dtype=_dtype(config),
          cond=cond,
      ),
  )


def _biggan(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  m, d = config.model, config.data
  return (
      resnet.BigGenerator(
          resolution=d.image_size,
          channels=d.channels,
          width=m.g_width,
          shared_dim=m.shared_dim,
          sn=m.g_spectral_norm,
          attention_res=m.attention_res,
          bn_axis_name=o.bn_axis_name,
          dtype=_dtype(config),
          cond=cond,
      ),
      resnet.Discriminator(
          resolution=d.image_size,
          width=m.d_width,
          sn=m.d_spectral_norm,
          attention_res=m.attention_res,
          dtype=_dtype(config),
          cond=cond,
          big=True,
      ),
  )


def _pix2pix(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  del cond  # Conditioned on the source image only.
  m, d = config.model, config.data
  return (
      pix2pix.UNetGenerator(
          channels=d.channels,
          width=m.g_width,
          init_std=m.init_std,
          bn_axis_name=o.bn_axis_name,
          dtype=_dtype(config),
          conv_impl=o.conv_impl,
      ),
      pix2pix.PatchDiscriminator(
          width=m.d_width,
          n_layers=pix2pix.patch_layers(d.image_size),
          init_std=m.init_std,
          bn_axis_name=o.bn_axis_name,
          dtype=_dtype(config),
      ),
  )


def _srgan(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  del cond  # Conditioned on the source image only.
  m, d = config.model, config.data
  return (
      srgan.SRResNetGenerator(
          channels=d.channels,
          width=m.g_width,
          blocks=m.res_blocks,
          bn_axis_name=o.bn_axis_name,
          dtype=_dtype(config),
      ),
      srgan.SRDiscriminator(
          width=m.d_width, bn_axis_name=o.bn_axis_name, dtype=_dtype(config)
      ),
  )


# The toy MLPs work in units of the data's scale, as if the data were
# standardised (the WGAN-GP toy code divides the grid by its std, 2.828).


def _toy_mlp(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  del cond  # Unconditional.
  m, scale = config.model, o.data_scale
  return (
      toy.Generator(width=m.g_width, scale=scale, dtype=_dtype(config)),
      toy.Discriminator(
          width=m.d_width,
          spectral_norm=m.d_spectral_norm,
          minibatch_std=m.d_minibatch_std,
          scale=scale,
          dtype=_dtype(config),
      ),
  )


def _toy_began(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning,
    o: BuildOptions,
):
  del cond  # Unconditional.
  m, scale = config.model, o.data_scale
  return (
      toy.Generator(width=m.g_width, scale=scale, dtype=_dtype(config)),
      toy.Autoencoder(width=m.d_width, scale=scale, dtype=_dtype(config)),
  )


MODELS: dict[str, ModelSpec] = {
    "dcgan": ModelSpec(
        _dcgan,
        d_options=(
            "d_spectral_norm",
            "d_minibatch_std",
            "d_norm",
            "feature_matching",
            "fc_hidden",
            "d_leaky_slope",
            "unit_range",
        ),
        d_batch_norm=lambda c: c.model.d_norm == "batch_norm",
        conditioning=True,
        resolutions=dcgan.SUPPORTED_RESOLUTIONS,
    ),
    "progan": ModelSpec(
        _progan,
        progressive=True,
        equalized_lr=True,
        d_options=("feature_matching",),
        resolutions=progan.SUPPORTED_RESOLUTIONS,
    ),
    "sngan": ModelSpec(
        _sngan,
        d_options=(
            "d_spectral_norm",
            "feature_matching",
            "g_spectral_norm",
            "attention",
            "ortho_reg",
        ),
        conditioning=True,
        conditioning_modes=("projection", "acgan"),
        resolutions=resnet.SUPPORTED_RESOLUTIONS,
    ),
    "biggan": ModelSpec(
        _biggan,
        d_options=(
            "d_spectral_norm",
            "feature_matching",
            "g_spectral_norm",
            "attention",
            "ortho_reg",
        ),
        conditioning=True,
        conditioning_modes=("projection",),
        resolutions=resnet.SUPPORTED_RESOLUTIONS,
    ),
    "mlp": ModelSpec(
        _mlp,
        d_options=("feature_matching",),
        conditioning=True,
        conditioning_modes=("concat", "acgan"),
    ),
    "began": ModelSpec(
        _began, autoencoder=True, resolutions=began.SUPPORTED_RESOLUTIONS
    ),
    "toy_mlp": ModelSpec(
        _toy_mlp,
        data="points",
        d_options=("d_spectral_norm", "d_minibatch_std", "feature_matching"),
    ),
    "toy_began": ModelSpec(_toy_began, data="points", autoencoder=True),
    # Image-to-image: G maps data.pairs' source images to their targets.
    "pix2pix": ModelSpec(
        _pix2pix,
        d_batch_norm=lambda c: True,
        pairs=("edges", "inpaint", "sr4x"),
        d_source=True,
        resolutions=(32, 64, 128, 256),
    ),
    "srgan": ModelSpec(
        _srgan,
        d_batch_norm=lambda c: True,
        pairs=("sr4x",),
        resolutions=(16, 32, 64, 128, 256),
    ),
}


def get_spec(name: str) -> ModelSpec:
  if name not in MODELS:
    raise UserError(
        f"model.name={name!r} is unknown; use one of " f"{sorted(MODELS)}"
    )
  return MODELS[name]


def get_models(
    config: ml_collections.ConfigDict,
    cond: conditioning.Conditioning | None = None,
    options: BuildOptions = BuildOptions(),
    spec: ModelSpec | None = None,
) -> tuple[nn.Module, nn.Module]:
  """Builds (generator, discriminator) for `config.model.name`.

  Args:
    config: the experiment config (validated).
    cond: its conditioning (`conditioning.from_config(config)` if None).
    options: what the caller resolved (batch-norm axis, convolution form,
      data scale).
    spec: the model's registry entry (`get_spec(config.model.name)` if None).
  """
  cond = conditioning.from_config(config) if cond is None else cond
  spec = get_spec(config.model.name) if spec is None else spec
  generator, discriminator = spec.build(config, cond, options)
  if config.model.d_pack > 1:  # PacGAN (models/packing.py).
    discriminator = packing.Packed(discriminator, config.model.d_pack)
  return generator, discriminator
