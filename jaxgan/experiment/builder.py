"""An experiment, built once from a config: models, optimisers, loss, step.

`build(config, mesh)` checks the config (checks.validate_config, which
resolves each of its pieces once) and returns one frozen `Experiment` that
every caller shares (the training loop, sampling, evaluation, ahead-of-time
compilation, the tests and the benchmarks): the pieces are computed once,
and nobody reads a result by key.
"""

import dataclasses
import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import ml_collections
import optax
from jax.sharding import Mesh

from jaxgan import augment, models
from jaxgan.gan import latent, losses
from jaxgan.metrics import extractors
from jaxgan.models import pairs
from jaxgan.gan import progressive
from jaxgan.core import runtime
from jaxgan.gan import regularizers
from jaxgan.core.errors import UserError
from jaxgan.experiment import checks, settings
from jaxgan.gan import state as state_lib
from jaxgan.gan import options as options_lib
from jaxgan.gan import programs
from jaxgan.models import conditioning, progan


@dataclasses.dataclass(frozen=True)
class Experiment:
  """Everything a config makes, computed once.

  Nothing after build reads the raw config: its pieces are resolved here,
  and the few fields the loop, the outputs and the evaluators read are the
  settings (jaxgan/experiment/settings.py).

  Attributes:
    config_json: the (validated) config it was built from, as JSON: what
      the workdir's config.json holds (experiment/workdir.py).
    mesh: the devices it runs on.
    spec: the model's registry entry (models.MODELS).
    generator, discriminator: the Linen modules.
    g_tx, d_tx: their optimisers.
    loss: the loss with its hyper-parameters bound.
    cond: the conditioning (labels, InfoGAN codes).
    options: what the train step applies (step.StepOptions).
    conv_impl: DCGAN's convolution form on this mesh's backend ('xla',
      'matmul' or 'tuned'; runtime.conv_impl).
    data_shape: one example's shape, (H, W, C) or (2,) for the 2-D toys.
    mixture: the 2-D toy's mixture (sources.toy_mixture), or None.
    augmentation: what D's inputs go through (augment.Augment).
    extractor_path: the weights of eval.extractor, or None (no feature-based
      evaluation).
    data_config: the config's data block, frozen: what the data layer
      (jaxgan/data/) reads; nothing else reads its fields.
    train, data, eval, checkpoint, summary: the settings
      (experiment/settings.py) of the loop, the data, evaluation, the
      checkpoints and the start-up lines.
    abstract_state: the train state's shapes, dtypes and shardings
      (`jax.ShapeDtypeStruct`s; nothing computed): a restore target, and
      what ahead-of-time compilation needs.
    train_step: (state, batch, step) -> (state, metrics); see
      `step.make_train_step` (`.programs()` lists its compiled variants).
    schedule: a progressive run's stages (progressive.Schedule), or None.
  """

  config_json: str
  mesh: Mesh
  spec: models.ModelSpec
  generator: nn.Module
  discriminator: nn.Module
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  loss: losses.GanLoss
  cond: conditioning.Conditioning
  options: options_lib.StepOptions
  conv_impl: str
  data_shape: tuple[int, ...]
  mixture: Any
  augmentation: augment.Augment
  extractor_path: str | None
  data_config: ml_collections.FrozenConfigDict
  train: settings.Train
  data: settings.Data
  eval: settings.Eval
  checkpoint: settings.Checkpoint
  summary: settings.Summary
  abstract_state: Any
  train_step: Callable
  schedule: progressive.Schedule | None
  _init: Callable = dataclasses.field(repr=False)

  @property
  def points(self) -> bool:
    """The 2-D toys: G draws points, not images."""
    return self.mixture is not None

  @property
  def input_dim(self) -> int:
    """Width of G's input: noise and InfoGAN codes."""
    return latent.input_dim(self.options.z_dim, self.cond)

  @property
  def has_ema(self) -> bool:
    """G's parameters have an EMA (model.ema_decay > 0; else the EMA equals
    the raw generator)."""
    return self.options.ema_decay > 0

  @property
  def image_to_image(self) -> bool:
    """G maps source images (data.pairs) to targets, not noise to images."""
    return self.options.image_to_image

  @property
  def nets(self) -> options_lib.Networks:
    return options_lib.Networks(
        self.generator, self.discriminator, self.g_tx, self.d_tx
    )

  def initial_state(self) -> state_lib.TrainState:
    """The train state of step 0 from `config.seed`, replicated on the mesh."""
    return self._init(jax.random.PRNGKey(self.train.seed))

  def stage_at(self, step: int):
    """A progressive run's stage at `step` (None for other runs)."""
    return None if self.schedule is None else self.schedule.stage_at(step)

  def generator_at(self, step: int) -> tuple[nn.Module, dict[str, Any]]:
    """G as a state that has completed `step` iterations draws: a
    progressive G at the stage and alpha of its last iteration, with the
    inputs that stage takes; others as built."""
    if self.schedule is None:
      return self.generator, {}
    last = max(step - 1, 0)
    stage = self.schedule.stage_at(last)
    module = self.generator.clone(level=stage.level, fading=stage.fading)
    return module, {"alpha": stage.alpha(last)}

  def reset_optimizers(self, state) -> state_lib.TrainState:
    """`state` with fresh optimizer states (a progressive run's new stage,
    as the paper's code does), replicated on the mesh."""
    return _reset(state, self.g_tx, self.d_tx)


@functools.partial(jax.jit, static_argnums=(1, 2), donate_argnums=0)
def _reset(state, g_tx, d_tx):
  return state.replace(
      g_opt_state=g_tx.init(state.g_params),
      d_opt_state=d_tx.init(state.d_params),
  )


def g_input_shape(
    config, cond: conditioning.Conditioning, data_shape: tuple[int, ...]
) -> tuple[int, ...]:
  """One generator input's shape: (noise and codes,), or an image-to-image
  run's source image (h, w, c)."""
  if config.data.pairs != "none":
    return pairs.source_shape(config.data.pairs, data_shape)
  return (latent.input_dim(config.model.z_dim, cond),)


def content_features(path: str | None, data_shape) -> Callable | None:
  """loss.recon='classifier''s content features: the domain classifier's at
  `path`, checked against the data's shape; None for other losses."""
  if path is None:
    return None
  classifier = extractors.ClassifierExtractor(path)
  classifier.check_images(data_shape, "loss.recon='classifier''s targets")
  return classifier.content()


def initial_loss_state(
    config, loss: losses.GanLoss, augmentation: augment.Augment
) -> dict:
  """The adaptive state of a run's losses and regularisers: the loss's
  own (BEGAN's k_t), ADA's p and accumulators, LeCam's anchors."""
  state = dict(loss.init_state())
  state.update(augment.init_state(augmentation))
  if config.loss.lecam:
    state.update(regularizers.lecam_init())
  return state


def _stage_variant(resolution: int):
  """The options and modules of a progressive run's stage: G and D at its
  level (fading or not), real images brought to it (models/progan.py)."""

  def variant(stage, opts, nets):
    reals = functools.partial(
        progan.real_images,
        resolution=resolution,
        level=stage.level,
        fading=stage.fading,
    )
    at = dict(level=stage.level, fading=stage.fading)
    return (
        dataclasses.replace(
            opts, stage=stage, reals=lambda x, alpha: reals(x, alpha=alpha)
        ),
        nets._replace(
            generator=nets.generator.clone(**at),
            discriminator=nets.discriminator.clone(**at),
        ),
    )

  return variant


def _conv_impl(name: str, mesh: Mesh) -> str:
  """model.conv_impl `name` resolved for `mesh`'s backend
  (runtime.conv_impl); 'tuned' times the forms here, so only on this
  machine's devices."""
  platform = runtime.platform(mesh)
  conv_impl = runtime.conv_impl(name, platform)
  if conv_impl == "tuned" and platform != jax.local_devices()[0].platform:
    raise UserError(
        f"model.conv_impl='tuned' times the forms on this machine's "
        f"{jax.local_devices()[0].platform} devices, not on {platform}; use "
        f"model.conv_impl='auto' or 'xla'"
    )
  return conv_impl


def build(
    config: ml_collections.ConfigDict,
    mesh: Mesh,
    log: Callable[[str], None] | None = None,
) -> Experiment:
  """The experiment of `config` on `mesh`'s devices.

  The config is checked first (checks.validate_config: a `UserError` names
  the first problem) and its pieces resolved there, once. Nothing is
  computed on the devices: the state is only its shapes
  (`Experiment.initial_state()` computes it), so this also serves devices
  this machine does not have (jaxgan/run/topologies.py). `log` reports the
  compilation of a progressive run's stages as they come.
  """
  pieces = checks.validate_config(config, mesh.size)
  spec, cond, loss = pieces.spec, pieces.cond, pieces.loss
  conv_impl = _conv_impl(config.model.conv_impl, mesh)
  build_options = models.BuildOptions(
      bn_axis_name=runtime.AXIS if config.model.bn_cross_device else None,
      conv_impl=conv_impl,
      data_scale=pieces.mixture.scale if pieces.mixture else 1.0,
  )
  generator, discriminator = models.get_models(
      config, cond, build_options, spec
  )
  g_tx, d_tx = state_lib.make_optimizers(config)
  data_shape = pieces.data_shape
  init = jax.jit(
      functools.partial(
          state_lib.init_state,
          generator=generator,
          discriminator=discriminator,
          g_tx=g_tx,
          d_tx=d_tx,
          g_input_shape=g_input_shape(config, cond, data_shape),
          data_shape=data_shape,
          d_source_shape=(
              pairs.source_shape(config.data.pairs, data_shape)
              if spec.d_source
              else None
          ),
          loss_state=initial_loss_state(config, loss, pieces.augmentation),
          labelled=cond.labelled,
          d_pack=config.model.d_pack,
      ),
      out_shardings=runtime.replicated(mesh),
  )
  abstract_state = init.eval_shape(jax.random.PRNGKey(config.seed))
  options = options_lib.from_config(
      config,
      loss=loss,
      cond=cond,
      augmentation=pieces.augmentation,
      d_source=spec.d_source,
      content=content_features(pieces.classifier_path, data_shape),
  )
  nets = options_lib.Networks(generator, discriminator, g_tx, d_tx)
  schedule = progressive.Schedule(config) if spec.progressive else None
  train_step = programs.make_train_step(
      options,
      mesh,
      nets,
      batch_size=config.train.batch_size,
      schedule=schedule,
      stage_variant=_stage_variant(config.data.image_size),
      log=log,
  )
  return Experiment(
      config_json=config.to_json_best_effort(),
      mesh=mesh,
      spec=spec,
      generator=generator,
      discriminator=discriminator,
      g_tx=g_tx,
      d_tx=d_tx,
      loss=loss,
      cond=cond,
      options=options,
      conv_impl=conv_impl,
      data_shape=data_shape,
      mixture=pieces.mixture,
      augmentation=pieces.augmentation,
      extractor_path=pieces.extractor_path,
      data_config=ml_collections.FrozenConfigDict(config.data),
      train=settings.Train.from_config(config),
      data=settings.Data.from_config(config),
      eval=settings.Eval.from_config(config),
      checkpoint=settings.Checkpoint.from_config(config),
      summary=settings.Summary.from_config(config),
      abstract_state=abstract_state,
      train_step=train_step,
      schedule=schedule,
      _init=init,
  )
