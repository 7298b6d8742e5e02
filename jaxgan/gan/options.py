"""What the train step applies (`StepOptions`, made by `from_config` from
the config and its resolved pieces in experiment.build), the networks it
trains, and the per-sample keys of one update."""

import dataclasses
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import optax

from jaxgan import augment as augment_lib
from jaxgan.gan import losses, penalties
from jaxgan.models import conditioning


@dataclasses.dataclass(frozen=True)
class StepOptions:
  """What the iteration applies, resolved once from the config
  (experiment.build).

  Attributes:
    loss: the bound `losses.GanLoss`.
    penalty: a `penalties.PENALTIES` function, or None.
    penalty_weight: its weight in this compiled step (the lazy variant
      multiplies `penalty.weight` by `penalty.every`; 0 skips it).
    penalty_every: lazy regularisation's interval N (`penalty.every`).
    weight_clip: WGAN clips D's parameters to [-c, c] after each update; 0
      = off.
    feature_matching: weight of Salimans et al.'s feature-matching term in
      G's loss; 0 = off.
    z_dim, noise, ema_decay: the generator's input and EMA.
    cond: labels and InfoGAN codes (models/conditioning.py).
    acgan_weight: weight of ACGAN's class cross-entropy in both losses.
    info_weight: InfoGAN's lambda: D (its Q head) and G both subtract
      lambda * L_I (latent.information) from their losses.
    skip_nonfinite: an update with a NaN or Inf in a `nonfinite.CHECKED`
      quantity leaves the parameters, optimizer and batch statistics as they were
      (`train.on_nonfinite='skip'`); by default it is applied and the host
      stops training at the next log or checkpoint step.
    drift: weight of ProGAN's drift term, drift * E[D(x)^2] on real
      outputs, added to D's loss (`loss.drift`); 0 = off.
    ortho_reg: BigGAN's orthogonal regulariser on G's kernels, added to G's
      loss with this weight (`loss.ortho_reg`; losses.orthogonal_penalty).
    augment: the augmentation of every image D sees (augment.Augment).
    bcr_real, bcr_fake: bCR's weights (regularizers.py); 0 = off.
    lecam, lecam_decay: LeCam's weight (0 = off) and its anchors' decay.
    stage: a progressive run's stage (progressive.Stage), or None: its
      alpha (a function of the step) goes to G and D as `alpha`, and real
      images pass through `reals(x, alpha)` before D sees them.
    reals: see `stage`.
    d_pack: PacGAN's pack size (models/packing.py; 1 = off): D wraps the
      packing itself; a penalty treats each pack as one sample of D.
    pairs: an image-to-image run's task (jaxgan/models/pairs.py; 'none' for
      noise-to-image): G's input is the source of the real batch.
    d_source: D judges (source, image) pairs: it is given `source=`.
    recon, recon_weight, adv_weight: G's loss is adv_weight * adversarial
      + recon_weight * ('l1' | 'mse' | 'classifier') distance of G's output
      to the target ('none': no such term).
    content: loss.recon='classifier''s features (images in [-1, 1] -> the
      domain classifier's last conv stage; extractors.ClassifierExtractor).
  """

  loss: losses.GanLoss
  penalty: Callable | None = None
  penalty_weight: float = 0.0
  penalty_every: int = 1
  weight_clip: float = 0.0
  feature_matching: float = 0.0
  z_dim: int = 100
  noise: str = "normal"
  ema_decay: float = 0.0
  skip_nonfinite: bool = False
  cond: conditioning.Conditioning = conditioning.Conditioning()
  acgan_weight: float = 1.0
  info_weight: float = 1.0
  drift: float = 0.0
  ortho_reg: float = 0.0
  augment: augment_lib.Augment = augment_lib.Augment()
  bcr_real: float = 0.0
  bcr_fake: float = 0.0
  lecam: float = 0.0
  lecam_decay: float = 0.99
  stage: Any = None
  reals: Callable | None = None
  d_pack: int = 1
  pairs: str = "none"
  d_source: bool = False
  recon: str = "none"
  recon_weight: float = 0.0
  adv_weight: float = 1.0
  content: Callable | None = None

  @property
  def image_to_image(self) -> bool:
    return self.pairs != "none"

  def d_extra(self, extra, source):
    """D's keyword inputs: `extra`, and the source for a pair-judging D."""
    if not self.d_source:
      return extra
    return {**(extra or {}), "source": source}

  def g_rng(self, key: jax.Array):
    """G's dropout key (pix2pix's U-Net) in an image-to-image run, else
    None (other generators have no dropout)."""
    return jax.random.fold_in(key, 7) if self.image_to_image else None

  @property
  def heads(self) -> tuple[str, ...]:
    """D's sown heads the losses read."""
    return (("class_logits",) if self.cond.mode == "acgan" else ()) + (
        ("info",) if self.cond.info else ()
    )

  @property
  def applies_penalty(self) -> bool:
    return self.penalty is not None and self.penalty_weight > 0


class SampleKeys(NamedTuple):
  """(local batch, 2) keys, one per sample by its index in the global batch
  (penalties.sample_keys), for one update's per-sample draws."""

  penalty: jax.Array
  aug_real: jax.Array
  aug_fake: jax.Array
  bcr_real: jax.Array
  bcr_fake: jax.Array


def sample_keys(z_key: jax.Array, local_batch: int, offset) -> SampleKeys:
  """The SampleKeys of samples offset .. offset + local_batch - 1 of the
  update whose noise key is z_key: field i from fold_in(z_key, i + 1)."""
  return SampleKeys(
      *(
          penalties.sample_keys(
              jax.random.fold_in(z_key, i + 1), local_batch, offset
          )
          for i in range(len(SampleKeys._fields))
      )
  )


class Networks(NamedTuple):
  """The two modules and their optimisers (experiment.build makes them)."""

  generator: nn.Module
  discriminator: nn.Module
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation


def from_config(
    config,
    *,
    loss: losses.GanLoss,
    cond: conditioning.Conditioning,
    augmentation: augment_lib.Augment,
    d_source: bool,
    content: Callable | None,
) -> StepOptions:
  """What the iteration applies, from a validated config and the pieces
  checks.validate_config resolved (`d_source`: the model's D judges
  (source, image) pairs; `content`: loss.recon='classifier''s features)."""
  penalty = penalties.PENALTIES[loss.penalty or config.penalty.name]
  return StepOptions(
      loss=loss,
      penalty=penalty,
      penalty_weight=float(config.penalty.weight) if penalty else 0.0,
      penalty_every=int(config.penalty.every),
      weight_clip=float(config.loss.weight_clip),
      feature_matching=float(config.loss.feature_matching),
      z_dim=config.model.z_dim,
      noise=config.model.noise,
      ema_decay=float(config.model.ema_decay),
      skip_nonfinite=config.train.on_nonfinite == "skip",
      cond=cond,
      acgan_weight=float(config.loss.acgan_weight),
      info_weight=float(config.loss.info_weight),
      drift=float(config.loss.drift),
      ortho_reg=float(config.loss.ortho_reg),
      augment=augmentation,
      bcr_real=float(config.loss.bcr_real),
      bcr_fake=float(config.loss.bcr_fake),
      lecam=float(config.loss.lecam),
      lecam_decay=float(config.loss.lecam_decay),
      d_pack=int(config.model.d_pack),
      pairs=config.data.pairs,
      d_source=d_source,
      recon=config.loss.recon,
      recon_weight=float(config.loss.recon_weight),
      adv_weight=float(config.loss.adv_weight),
      content=content,
  )
