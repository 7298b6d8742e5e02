"""Config validation, before anything is built or compiled.

Every check raises `UserError` with one line that names the offending value
and the fix. Combinations that cannot work (a gradient penalty through batch
norm, BEGAN without an autoencoder, WGAN without a Lipschitz constraint, ...)
are refused here rather than left to diverge.

`validate_config` resolves each piece of the config once (the model's spec,
the bound loss, the conditioning, the data's shape, the toy mixture, the
augmentation, the feature extractors' weights), checks them together and
returns them (`Pieces`); experiment.build consumes them.
"""

import dataclasses
import math
from typing import Any

import jax
import ml_collections

from jaxgan import augment, metrics, models
from jaxgan.gan import latent, losses
from jaxgan.metrics import extractors
from jaxgan.gan import penalties
from jaxgan.models import pairs as pairs_lib
from jaxgan.core import runtime
from jaxgan.gan import progressive, state as state_lib
from jaxgan.data import pipeline, sources
from jaxgan.core.errors import UserError
from jaxgan.models import conditioning, dcgan, inception, layers, resnet


def _positive_int(name: str, value) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise UserError(f"{name}={value!r} must be a positive integer")


def _count(name: str, value) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < 0:
    raise UserError(f"{name}={value!r} must be an integer >= 0")


def _one_of(name: str, value, choices) -> None:
  if value not in choices:
    raise UserError(
        f"{name}={value!r} is unknown; use one of " f"{sorted(choices)}"
    )


def _in_range(name: str, value, low: float, high: float, note: str = ""):
  if not isinstance(value, (int, float)) or not low <= value <= high:
    raise UserError(f"{name}={value!r} must be in [{low}, {high}]{note}")


@dataclasses.dataclass(frozen=True)
class Pieces:
  """A valid config's pieces, each resolved once.

  Attributes:
    spec: the model's registry entry (models.MODELS).
    loss: the bound loss (losses.get_loss).
    cond: labels and InfoGAN codes (conditioning.from_config).
    data_shape: one example's shape, (H, W, C) or (2,) for the 2-D toys.
    mixture: the 2-D toy's mixture (sources.toy_mixture), or None.
    augmentation: what D's inputs go through (augment.from_config).
    extractor_path: the weights of eval.extractor (extractors.extractor_path),
      or None: no feature-based evaluation.
    classifier_path: loss.recon='classifier''s domain classifier, or None.
  """

  spec: models.ModelSpec
  loss: losses.GanLoss
  cond: conditioning.Conditioning
  data_shape: tuple[int, ...]
  mixture: Any
  augmentation: augment.Augment
  extractor_path: str | None
  classifier_path: str | None


def validate_config(
    config: ml_collections.ConfigDict, num_devices: int | None = None
) -> Pieces:
  """The config's `Pieces`; raises UserError for the first problem found."""
  _check_fields(config)
  validate_data(config.data)
  _check_numbers(config)
  spec = models.get_spec(config.model.name)
  loss = losses.get_loss(config.loss)
  _check_conditioning_fields(config)
  cond = conditioning.from_config(config)
  _check_data_and_model(config, spec)
  _check_conditioning(config, spec, cond)
  _check_loss_and_model(config, loss, spec)
  devices = num_devices or jax.device_count()
  _check_packing(config, spec, cond, devices)
  _check_regularizers(config, loss, spec, devices)
  _check_progressive(config, spec, devices)
  _check_resnet(config, spec, cond)
  _check_little_data(config, loss, spec)
  toy = sources.is_toy(config.data)
  extractor_path = None if toy else extractors.extractor_path(config)
  classifier_path = None
  if config.loss.recon == "classifier":
    classifier_path = extractors.extractor_path(config, "classifier")
  _check_pairs(config, spec, extractor_path, classifier_path)
  return Pieces(
      spec=spec,
      loss=loss,
      cond=cond,
      data_shape=sources.data_shape(config.data),
      mixture=sources.toy_mixture(config.data),
      augmentation=augment.from_config(config),
      extractor_path=extractor_path,
      classifier_path=classifier_path,
  )


def _check_fields(config) -> None:
  """The fields checked on their own."""
  t = config.train
  for name in (
      "batch_size",
      "num_steps",
      "d_steps",
      "log_every_steps",
      "sample_every_steps",
      "num_sample_images",
  ):
    _positive_int(f"train.{name}", t[name])
  _positive_int("checkpoint.every_steps", config.checkpoint.every_steps)
  _positive_int("eval.num_samples", config.eval.num_samples)
  if config.eval.every_steps != 0:
    _positive_int("eval.every_steps", config.eval.every_steps)
  _one_of("eval.primary", config.eval.primary, metrics.PRIMARY)
  _one_of("eval.extractor", config.eval.extractor, extractors.EXTRACTORS)
  _one_of(
      "eval.inception_protocol",
      config.eval.inception_protocol,
      inception.PROTOCOLS,
  )
  if config.eval.classifier and sources.is_toy(config.data):
    raise UserError(
        f"eval.classifier={config.eval.classifier!r} is for "
        "images; the 2-D toys are evaluated by their mode "
        "metrics: leave it empty"
    )
  _one_of("train.on_nonfinite", t.on_nonfinite, ("stop", "skip"))
  _one_of("train.dtype", t.dtype, models.DTYPES)
  if not 0.0 <= config.model.ema_decay < 1.0:
    raise UserError(
        f"model.ema_decay={config.model.ema_decay!r} must be in "
        "[0, 1); 0 turns the EMA off"
    )
  _one_of("model.noise", config.model.noise, latent.NOISE)
  _one_of("model.d_norm", config.model.d_norm, dcgan.D_NORMS)
  _one_of("model.conv_impl", config.model.conv_impl, runtime.CONV_IMPLS)
  _one_of("optim.name", config.optim.name, state_lib.OPTIMIZERS)
  _one_of("optim.schedule", config.optim.schedule, state_lib.SCHEDULES)


def validate_data(data: ml_collections.ConfigDict) -> None:
  """The checks of a config's data block (also the classifier's flags)."""
  if sources.is_toy(data):
    return
  if data.channels not in (1, 3):
    raise UserError(f"data.channels={data.channels!r} must be 1 or 3")
  _one_of("data.preprocess", data.preprocess, pipeline.PREPROCESS)
  _positive_int("data.image_size", data.image_size)
  if (
      isinstance(data.crop_size, bool)
      or not isinstance(data.crop_size, int)
      or data.crop_size < 0
  ):
    raise UserError(
        f"data.crop_size={data.crop_size!r} must be an integer "
        ">= 0 (0 = the shorter side)"
    )


def _number(value) -> bool:
  return (
      isinstance(value, (int, float))
      and not isinstance(value, bool)
      and math.isfinite(value)
  )


def _check_numbers(config) -> None:
  """Types and ranges of the numeric fields the checks below do not cover."""
  if isinstance(config.seed, bool) or not isinstance(config.seed, int):
    raise UserError(f"seed={config.seed!r} must be an integer")
  for name in ("z_dim", "g_width", "d_width"):
    _positive_int(f"model.{name}", config.model[name])
  for name in ("num_threads", "prefetch"):
    _positive_int(f"data.{name}", config.data[name])
  cache = config.data.cache_gb
  if not _number(cache) or cache < 0:
    raise UserError(
        f"data.cache_gb={cache!r} must be a non-negative number of GiB "
        "(0 = decode images on every read)"
    )
  keep = config.checkpoint.max_to_keep
  if keep is not None:
    _positive_int("checkpoint.max_to_keep", keep)
  if not _number(config.model.init_std) or config.model.init_std <= 0:
    raise UserError(
        f"model.init_std={config.model.init_std!r} must be a "
        "positive number (DCGAN: 0.02)"
    )
  o = config.optim
  for name in ("g_lr", "d_lr"):
    if not _number(o[name]) or o[name] <= 0:
      raise UserError(
          f"optim.{name}={o[name]!r} must be a positive number, " "e.g. 2e-4"
      )
  for name in ("b1", "b2", "rmsprop_decay", "momentum"):
    if not _number(o[name]) or not 0.0 <= o[name] < 1.0:
      raise UserError(f"optim.{name}={o[name]!r} must be in [0, 1)")


def _check_progressive(config, spec: models.ModelSpec, num_devices: int):
  """progan.*: the schedule's phase length and per-resolution batches."""
  p = config.progan
  _positive_int("progan.images_per_phase", p.images_per_phase)
  if not isinstance(p.reset_optimizer, bool):
    raise UserError(
        f"progan.reset_optimizer={p.reset_optimizer!r} must be True or False"
    )
  sizes = progressive.parse_batch_sizes(p.batch_sizes)
  if not spec.progressive:
    if sizes:
      raise UserError(
          f"progan.batch_sizes={p.batch_sizes!r} applies to progressive "
          f"models (model.name='progan'), not {config.model.name!r}; leave it "
          "empty"
      )
    return
  ladder = [2**l for l in range(2, int(math.log2(config.data.image_size)) + 1)]
  for res, batch in sizes.items():
    if res not in ladder:
      raise UserError(
          f"progan.batch_sizes={p.batch_sizes!r} names resolution {res}, "
          f"not one of this run's {ladder}"
      )
    _positive_int(f"progan.batch_sizes[{res}]", batch)
  for res in ladder:
    batch = sizes.get(res, config.train.batch_size)
    if batch % num_devices:
      raise UserError(
          f"the {res}x{res} stages' batch {batch} is not divisible by "
          f"{num_devices} devices; use multiples of {num_devices} in "
          "progan.batch_sizes and train.batch_size"
      )
    per_device = batch // num_devices
    if per_device > 4 and per_device % 4:
      raise UserError(
          f"ProGAN's minibatch-stddev layer groups 4 samples, but the "
          f"{res}x{res} stages' per-device batch is {per_device}; use a "
          "batch that gives a multiple of 4 per device"
      )


def _check_resnet(config, spec: models.ModelSpec, cond) -> None:
  """The ResNet family's own fields (sngan, biggan)."""
  m, c = config.model, config.loss
  _in_range("loss.ortho_reg", c.ortho_reg, 0.0, float("inf"))
  _positive_int("model.shared_dim", m.shared_dim)
  if isinstance(m.attention_res, bool) or not isinstance(m.attention_res, int):
    raise UserError(
        f"model.attention_res={m.attention_res!r} must be an "
        "integer (0 = no self-attention)"
    )
  if m.attention_res and m.name in ("sngan", "biggan"):
    ladder = [
        2**l for l in range(3, int(math.log2(config.data.image_size)) + 1)
    ]
    if m.attention_res not in ladder:
      raise UserError(
          f"model.attention_res={m.attention_res} is not a resolution of "
          f"model.name={m.name!r}'s blocks; use one of {ladder} or 0"
      )
  if m.name == "biggan":
    chunks = resnet.num_chunks(config.data.image_size)
    width = latent.input_dim(m.z_dim, cond)
    if width % chunks:
      raise UserError(
          f"BigGAN splits G's input (model.z_dim={m.z_dim} plus InfoGAN "
          f"codes: {width}) into {chunks} equal chunks at "
          f"data.image_size={config.data.image_size}; use a model.z_dim "
          f"that makes it a multiple of {chunks}, e.g. {chunks * 32}"
      )


def _check_little_data(config, loss, spec: models.ModelSpec) -> None:
  """Augmentation, bCR, LeCam, data.num_examples and the D-overfitting
  diagnostic (the limited-data tools)."""
  a, c, d = config.augment, config.loss, config.data
  _one_of("augment.name", a.name, augment.NAMES)
  toy = sources.is_toy(d)
  for key, on in (
      ("augment.name", a.name != "none"),
      ("loss.bcr_real", c.bcr_real != 0),
      ("loss.bcr_fake", c.bcr_fake != 0),
      ("eval.d_overfitting", bool(config.eval.d_overfitting)),
  ):
    if on and toy:
      value = config[key.split(".")[0]][key.split(".")[1]]
      raise UserError(
          f"{key}={value!r} is for images; data.source={d.source!r} is a "
          "2-D toy: leave it at its default"
      )
  if a.name == "diffaugment":
    try:
      augment.diffaugment.parse_policy(a.policy)
    except ValueError as e:
      raise UserError(f"augment.policy={a.policy!r}: {e}") from None
  if a.name == "ada":
    _one_of("augment.pipeline", a.pipeline, augment.PIPELINES)
    _in_range("augment.p", a.p, 0.0, 1.0)
    _in_range("augment.target", a.target, 0.0, 1.0, " (0 keeps p fixed)")
    _positive_int("augment.interval", a.interval)
    if not _number(a.speed_kimg) or a.speed_kimg <= 0:
      raise UserError(
          f"augment.speed_kimg={a.speed_kimg!r} must be positive (the "
          "paper: 500)"
      )
  for name in ("bcr_real", "bcr_fake", "lecam"):
    _in_range(f"loss.{name}", c[name], 0.0, float("inf"))
  _in_range("loss.lecam_decay", c.lecam_decay, 0.0, 0.999999)
  if (c.bcr_real or c.bcr_fake or c.lecam) and loss.autoencoder:
    raise UserError(
        f"loss.bcr_real, loss.bcr_fake and loss.lecam regularise D's "
        f"outputs; loss.name={c.name!r} reads reconstruction errors: "
        "set them to 0"
    )
  if config.eval.d_overfitting and spec.progressive:
    raise UserError(
        "eval.d_overfitting=True reads D at one resolution; a progressive "
        f"model.name={config.model.name!r} changes it: set it to False"
    )
  n = d.num_examples
  if isinstance(n, bool) or not isinstance(n, int) or n < 0:
    raise UserError(
        f"data.num_examples={n!r} must be an integer >= 0 (0 = all)"
    )
  if isinstance(d.subset_seed, bool) or not isinstance(d.subset_seed, int):
    raise UserError(f"data.subset_seed={d.subset_seed!r} must be an integer")
  if n and n < config.train.batch_size:
    raise UserError(
        f"data.num_examples={n} is fewer than one batch "
        f"(train.batch_size={config.train.batch_size}); use at least that"
    )


def _check_packing(config, spec: models.ModelSpec, cond, num_devices: int):
  """model.d_pack: PacGAN's packs of samples (models/packing.py)."""
  m = config.model.d_pack
  _positive_int("model.d_pack", m)
  if m == 1:
    return
  model = config.model.name
  if spec.autoencoder or spec.progressive:
    what = "BEGAN's autoencoder" if spec.autoencoder else "a progressive"
    raise UserError(
        f"model.d_pack={m!r} is for discriminators that score their input; "
        f"model.name={model!r} has {what} discriminator: set model.d_pack=1"
    )
  if cond.labelled or cond.info:
    raise UserError(
        f"model.d_pack={m!r} scores m samples at once, but "
        f"model.conditioning={config.model.conditioning!r} and InfoGAN's "
        "codes are per sample: set model.d_pack=1, or model.conditioning="
        "'none' with model.info_categorical=0 and model.info_continuous=0"
    )
  per_device = config.train.batch_size // max(num_devices, 1)
  if per_device % m:
    raise UserError(
        f"model.d_pack={m!r} does not divide the per-device batch "
        f"{per_device} (train.batch_size={config.train.batch_size} over "
        f"{num_devices} devices); use a train.batch_size that is a multiple "
        f"of {m * num_devices}"
    )


def _check_data_and_model(config, spec: models.ModelSpec) -> None:
  toy = sources.is_toy(config.data)
  size = config.data.image_size
  if not toy and spec.resolutions and size not in spec.resolutions:
    raise UserError(
        f"data.image_size={size!r} is not supported by "
        f"model.name={config.model.name!r}; use one of "
        f"{list(spec.resolutions)}"
    )
  if toy and spec.data != "points":
    raise UserError(
        f"data.source={config.data.source!r} is 2-D points but "
        f"model.name={config.model.name!r} is an image model; use "
        "model.name='toy_mlp' or 'toy_began'"
    )
  if not toy and spec.data == "points":
    raise UserError(
        f"model.name={config.model.name!r} is for the 2-D toys but "
        f"data.source={config.data.source!r}; use data.source='toy:ring8' or "
        "'toy:grid25', or an image model"
    )


def _check_pairs(
    config, spec: models.ModelSpec, extractor_path, classifier_path
) -> None:
  """Image-to-image models and data.pairs go together; the noise-to-image
  machinery (labels, codes, packing, augmentation) does not apply."""
  d, m, c = config.data, config.model, config.loss
  _one_of("data.pairs", d.pairs, pairs_lib.PAIRS)
  _one_of("loss.recon", c.recon, ("none", "l1", "mse", "classifier"))
  _in_range("loss.recon_weight", c.recon_weight, 0.0, float("inf"))
  _in_range("loss.adv_weight", c.adv_weight, 0.0, float("inf"))
  _count("model.res_blocks", m.res_blocks)
  if not spec.pairs:
    if config.eval.primary in ("psnr", "ssim"):
      raise UserError(
          f"eval.primary={config.eval.primary!r} compares outputs with "
          "targets, which only image-to-image models (data.pairs) have; use "
          "'fd'"
      )
    if d.pairs != "none":
      image_to_image = sorted(n for n, s in models.MODELS.items() if s.pairs)
      raise UserError(
          f"data.pairs={d.pairs!r} is for the image-to-image models "
          f"{image_to_image}, not model.name={m.name!r}; set "
          "data.pairs='none' or change the model"
      )
    if c.recon != "none":
      raise UserError(
          f"loss.recon={c.recon!r} compares G's output with a target "
          "image, which only image-to-image models have; set loss.recon="
          "'none'"
      )
    return
  if d.pairs not in spec.pairs:
    raise UserError(
        f"model.name={m.name!r} needs data.pairs in {list(spec.pairs)} "
        f"(the source G is given), not {d.pairs!r}"
    )
  if d.pairs == "sr4x" and d.image_size % pairs_lib.SR_FACTOR:
    raise UserError(
        f"data.pairs='sr4x' needs data.image_size divisible by "
        f"{pairs_lib.SR_FACTOR}, not {d.image_size}"
    )
  unsupported = {
      "model.conditioning": m.conditioning != "none",
      "model.info_categorical": m.info_categorical != 0,
      "model.info_continuous": m.info_continuous != 0,
      "model.d_pack": m.d_pack != 1,
      "augment.name": config.augment.name != "none",
      "loss.feature_matching": c.feature_matching != 0,
  }
  for key, on in unsupported.items():
    if on:
      raise UserError(
          f"{key} is not implemented for the image-to-image model "
          f"model.name={m.name!r}; turn it off"
      )
  if config.eval.primary not in ("psnr", "ssim") and not extractor_path:
    raise UserError(
        f"eval.primary={config.eval.primary!r} needs a feature extractor, "
        f"and there is none for data.source={d.source!r}: set "
        "eval.primary='psnr' or 'ssim', or give eval.classifier"
    )
  if c.recon == "classifier" and not classifier_path:
    raise UserError(
        "loss.recon='classifier' takes its content features from a domain "
        f"classifier, and none is shipped for data.source={d.source!r}: "
        "train one (python -m jaxgan.classifier --workdir=DIR) and give "
        "eval.classifier=DIR, or use loss.recon='mse'"
    )
  if c.recon == "none" and c.adv_weight == 0:
    raise UserError(
        "loss.adv_weight=0 with loss.recon='none' leaves G no loss; set "
        "one of them"
    )


def _check_conditioning_fields(config) -> None:
  """The fields conditioning.from_config reads, before it reads them."""
  m, c = config.model, config.loss
  _one_of("model.conditioning", m.conditioning, conditioning.MODES)
  for name in ("info_categorical", "info_continuous"):
    value = m[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
      raise UserError(
          f"model.{name}={value!r} must be an integer >= 0 "
          "(0 = no such InfoGAN code)"
      )
  if m.info_categorical == 1:
    raise UserError(
        "model.info_categorical=1 is a code with one value; use "
        ">= 2 categories (InfoGAN on MNIST: 10) or 0"
    )
  for name in ("acgan_weight", "info_weight", "drift"):
    _in_range(f"loss.{name}", c[name], 0.0, float("inf"))


def _check_conditioning(config, spec: models.ModelSpec, cond) -> None:
  m = config.model
  if not (cond.labelled or cond.info):
    return
  if not spec.conditioning:
    what = (
        f"model.conditioning={m.conditioning!r}"
        if cond.labelled
        else "the InfoGAN codes (model.info_*)"
    )
    supported = sorted(n for n, s in models.MODELS.items() if s.conditioning)
    raise UserError(
        f"{what} is not implemented by model.name={m.name!r}; "
        f"use model.name in {supported} or turn it off"
    )
  if cond.labelled:
    if (
        isinstance(m.num_classes, bool)
        or not isinstance(m.num_classes, int)
        or m.num_classes < 2
    ):
      raise UserError(
          f"model.num_classes={m.num_classes!r} must be an "
          "integer >= 2 with model.conditioning="
          f"{m.conditioning!r}"
      )
    if m.conditioning not in spec.conditioning_modes:
      why = {
          "projection": "conditions G through its batch norms, which "
          f"model.name={m.name!r} has none of",
          "concat": "joins label maps to D's input, which "
          f"model.name={m.name!r} does not take",
          "acgan": f"needs a class head model.name={m.name!r} has not",
      }[m.conditioning]
      raise UserError(
          f"model.conditioning={m.conditioning!r} {why}; use one of "
          f"{list(spec.conditioning_modes)} with it"
      )


def _check_loss_and_model(
    config, loss: losses.GanLoss, spec: models.ModelSpec
) -> None:
  name, model = config.loss.name, config.model.name
  if loss.autoencoder and not spec.autoencoder:
    raise UserError(
        f"loss.name={name!r} needs an autoencoder discriminator but "
        f"model.name={model!r} has a classifier; use model.name='began' "
        "(images) or 'toy_began' (2-D)"
    )
  if spec.autoencoder and not loss.autoencoder:
    raise UserError(
        f"model.name={model!r} has BEGAN's autoencoder discriminator, which "
        f"only loss.name='began' uses (not {name!r}); change one of them"
    )


def _check_regularizers(
    config, loss: losses.GanLoss, spec: models.ModelSpec, num_devices: int
) -> None:
  c, m, p = config.loss, config.model, config.penalty
  name, model = c.name, m.name
  _one_of("penalty.name", p.name, penalties.PENALTIES)
  if loss.penalty and p.name != "none":
    raise UserError(
        f"loss.name={name!r} includes the {loss.penalty!r} penalty (its "
        f"weight is penalty.weight); penalty.name={p.name!r} would add "
        "another: set penalty.name='none'"
    )
  _positive_int("penalty.every", p.every)
  if not isinstance(p.weight, (int, float)) or p.weight < 0:
    raise UserError(f"penalty.weight={p.weight!r} must be >= 0")
  penalty = loss.penalty or (p.name if p.name != "none" else None)
  if penalty and spec.d_batch_norm(config):
    raise UserError(
        f"the {penalty!r} gradient penalty is per sample, but model.d_norm="
        f"{m.d_norm!r} mixes samples (Gulrajani et al. 2017, Sec. 4): set "
        "model.d_norm='layer_norm' or 'none'"
    )
  _in_range("loss.weight_clip", c.weight_clip, 0.0, float("inf"))
  if c.weight_clip > 0 and spec.equalized_lr:
    raise UserError(
        f"loss.weight_clip={c.weight_clip!r} would clip model.name="
        f"{model!r}'s stored weights, which the equalised learning rate keeps "
        "at N(0, 1) and scales at run time; use loss.name='wgan_gp' (the "
        "paper's) or another Lipschitz constraint"
    )
  if (
      loss.lipschitz
      and c.weight_clip == 0
      and not penalty
      and not m.d_spectral_norm
  ):
    raise UserError(
        f"loss.name={name!r} needs a Lipschitz critic: set "
        "loss.weight_clip=0.01 (Arjovsky et al. 2017), use loss.name="
        "'wgan_gp', or set model.d_spectral_norm=True"
    )
  _in_range("loss.label_smoothing", c.label_smoothing, 0.0, 0.99)
  if c.label_smoothing > 0 and "label_smoothing" not in loss.hparams:
    raise UserError(
        f"loss.label_smoothing={c.label_smoothing!r} applies to the "
        f"cross-entropy losses (minimax, non_saturating, dragan), not "
        f"{name!r}; set it to 0"
    )
  _in_range("loss.feature_matching", c.feature_matching, 0.0, float("inf"))
  _count("model.fc_hidden", m.fc_hidden)
  _in_range("model.d_leaky_slope", m.d_leaky_slope, 0.0, 1.0)
  switches = {
      "loss.feature_matching": ("feature_matching", c.feature_matching > 0),
      "model.d_spectral_norm": ("d_spectral_norm", m.d_spectral_norm),
      "model.d_minibatch_std": ("d_minibatch_std", m.d_minibatch_std),
      "model.g_spectral_norm": ("g_spectral_norm", m.g_spectral_norm),
      "model.attention_res": ("attention", m.attention_res != 0),
      "loss.ortho_reg": ("ortho_reg", c.ortho_reg != 0),
      "model.fc_hidden": ("fc_hidden", m.fc_hidden != 0),
      "model.d_leaky_slope": (
          "d_leaky_slope",
          m.d_leaky_slope != layers.LEAKY_SLOPE,
      ),
      "model.unit_range": ("unit_range", m.unit_range),
  }
  for key, (option, on) in switches.items():
    if on and option not in spec.d_options:
      supported = sorted(
          n for n, s in models.MODELS.items() if option in s.d_options
      )
      off = (
          f"leave it at {layers.LEAKY_SLOPE}"
          if key == "model.d_leaky_slope"
          else "turn it off"
      )
      raise UserError(
          f"{key} is not implemented by model.name={model!r}; "
          f"use one of {supported} or {off}"
      )
  if m.d_norm != "batch_norm" and "d_norm" not in spec.d_options:
    raise UserError(
        f"model.d_norm={m.d_norm!r} applies to model.name="
        f"'dcgan' only; leave it at 'batch_norm' for {model!r}"
    )
  if m.d_minibatch_std:
    # model.d_pack is checked (_check_packing): D's inputs are its packs.
    per_device = config.train.batch_size // max(num_devices, 1) // m.d_pack
    if per_device > 4 and per_device % 4:
      what = f"packs of {m.d_pack}" if m.d_pack > 1 else "samples"
      raise UserError(
          f"model.d_minibatch_std groups 4 of D's inputs, but the per-device "
          f"batch is {per_device} {what}; use a train.batch_size that gives a "
          "multiple of 4 per device"
      )
  _in_range("loss.began_gamma", c.began_gamma, 0.0, 1.0)
  _in_range("loss.began_lambda_k", c.began_lambda_k, 0.0, 1.0)
