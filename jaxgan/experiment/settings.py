"""What the loop, the outputs and the evaluators read of a config.

Small frozen dataclasses, each made once by experiment.build from the
validated config (`from_config`) and exposed on the Experiment
(`exp.train`, `exp.data`, `exp.eval`, `exp.checkpoint`, `exp.summary`).
They hold only the fields that something after build reads and that no
resolved piece carries: the step's hyper-parameters are in
`exp.options` (gan/options.StepOptions), the loss, the conditioning and the
data's shape are pieces of their own.
"""

import dataclasses

import ml_collections


def _fields_of(cls, section: ml_collections.ConfigDict):
  """`cls` made from the config section's keys of its fields' names."""
  return cls(**{f.name: section[f.name] for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class Train:
  """The loop's schedule and its seed.

  Attributes:
    batch_size: the global batch (train.batch_size; a progressive run's
      stages may have their own, progressive.Stage.batch_size).
    num_steps: iterations to train (train.num_steps).
    d_steps: D updates per iteration (train.d_steps).
    log_every_steps, sample_every_steps: train.*.
    num_sample_images: the fixed-noise grid's size (train.num_sample_images).
    seed: the run's seed (config.seed): state, noise and data order.
    reset_optimizer: a progressive run's new stage starts with fresh
      optimizer states (progan.reset_optimizer).
  """

  batch_size: int
  num_steps: int
  d_steps: int
  log_every_steps: int
  sample_every_steps: int
  num_sample_images: int
  seed: int
  reset_optimizer: bool

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "Train":
    t = config.train
    return cls(
        batch_size=t.batch_size,
        num_steps=t.num_steps,
        d_steps=t.d_steps,
        log_every_steps=t.log_every_steps,
        sample_every_steps=t.sample_every_steps,
        num_sample_images=t.num_sample_images,
        seed=config.seed,
        reset_optimizer=config.progan.reset_optimizer,
    )


@dataclasses.dataclass(frozen=True)
class Data:
  """The data facts read outside the data layer (which reads the frozen
  data section itself, `Experiment.data_config`).

  Attributes:
    source, split: data.source and the training split (data.split).
    image_size: data.image_size.
    num_threads, prefetch: the reader's threads and batches read ahead.
  """

  source: str
  split: str
  image_size: int
  num_threads: int
  prefetch: int

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "Data":
    return _fields_of(cls, config.data)


@dataclasses.dataclass(frozen=True)
class Eval:
  """What evaluation during training measures, and how (eval.*).

  Attributes:
    every_steps: evaluate every N steps (0: only at the end).
    num_samples: generated (and reference) images per evaluation.
    reference_split: the real images' split.
    primary: the metric that picks the best checkpoint.
    extractor, inception_protocol: the feature extractor's kind and the
      Inception's input protocol (its weights: Experiment.extractor_path).
    d_overfitting: log D's outputs on training, held-out and fake images.
  """

  every_steps: int
  num_samples: int
  reference_split: str
  primary: str
  extractor: str
  inception_protocol: str
  d_overfitting: bool

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "Eval":
    return _fields_of(cls, config.eval)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
  """The rolling checkpoints (checkpoint.*): every_steps, the newest
  max_to_keep kept (None: all), saved asynchronously or not."""

  every_steps: int
  max_to_keep: int | None
  async_save: bool

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "Checkpoint":
    return _fields_of(cls, config.checkpoint)


@dataclasses.dataclass(frozen=True)
class Summary:
  """What the start-up lines and the plots name that no resolved piece
  carries (the weights and switches the step applies are in StepOptions).

  Attributes:
    model, loss: model.name and loss.name.
    penalty: penalty.name, the penalty added to the loss ('none'; a loss
      that includes one, such as wgan_gp, says so by its name).
    label_smoothing: loss.label_smoothing (bound into the loss).
    d_spectral_norm, d_minibatch_std: D's switches (model.*).
  """

  model: str
  loss: str
  penalty: str
  label_smoothing: float
  d_spectral_norm: bool
  d_minibatch_std: bool

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "Summary":
    return cls(
        model=config.model.name,
        loss=config.loss.name,
        penalty=config.penalty.name,
        label_smoothing=config.loss.label_smoothing,
        d_spectral_norm=config.model.d_spectral_norm,
        d_minibatch_std=config.model.d_minibatch_std,
    )
