"""The training iteration: k discriminator updates, then one generator update.

Goodfellow et al. 2014, Algorithm 1, as one jitted, data-parallel function.
The body runs per device under `jax.shard_map` over the 'data' mesh axis:
each device holds a slice of the global batch, gradients and batch-norm
statistics are averaged with `lax.pmean`, and the replicated state comes out
identical on every device. Keys are derived inside from `fold_in(key, step)`;
the noise batch is drawn for the global batch and each device takes its slice,
so the result does not depend on the number of devices (with cross-device
batch norm it equals the single-device step up to float summation order).

The pieces are module-level functions with explicit inputs:
`discriminator_update` and `generator_update` (one optimiser step each),
`head_losses` (ACGAN's and InfoGAN's terms, for real and generated images),
and `train_iteration`, which strings k + 1 of them together with the EMA.
"""

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax
from jax.sharding import Mesh, PartitionSpec as P

from jaxgan import augment as augment_lib
from jaxgan.gan import latent, losses, nonfinite, penalties, regularizers
from jaxgan.models import pairs
from jaxgan.models import conditioning, packing
from jaxgan.core.runtime import AXIS
from jaxgan.gan.state import TrainState


def apply_model(
    module: nn.Module,
    params,
    batch_stats,
    x,
    *,
    train: bool,
    rng=None,
    labels=None,
    collect: tuple[str, ...] | None = None,
    extra: dict[str, Any] | None = None,
):
  """Applies a module; returns (output, new batch_stats[, sown]).

  `labels` go to a class-conditional module, `extra` (e.g. a progressive
  model's fade-in alpha) to any. With `collect` (even empty),
  also returns a dict of what the module (or a submodule) sowed as
  ('intermediates', name) for each name: D's last hidden layer 'features',
  its ACGAN 'class_logits' and InfoGAN 'info' heads.
  """
  variables = {"params": params}
  if batch_stats:
    variables["batch_stats"] = batch_stats
  rngs = {"dropout": rng} if rng is not None else None
  mutable = ["batch_stats"] if train and batch_stats else []
  mutable += ["intermediates"] if collect else []
  kwargs = {"labels": labels} if labels is not None else {}
  kwargs.update(extra or {})
  if mutable:
    out, updates = module.apply(
        variables, x, train=train, rngs=rngs, mutable=mutable, **kwargs
    )
    stats = updates.get("batch_stats", batch_stats)
  else:
    out = module.apply(variables, x, train=train, rngs=rngs, **kwargs)
    updates, stats = {}, batch_stats
  if collect is not None:
    return (
        out,
        stats,
        {name: _sown(updates["intermediates"], name) for name in collect},
    )
  return out, stats


def _sown(tree: dict, name: str):
  """The value sown as `name` anywhere in an 'intermediates' tree."""
  if name in tree:
    return tree[name][0]
  for value in tree.values():
    if isinstance(value, dict):
      found = _sown(value, name)
      if found is not None:
        return found
  return None


def to_model_input(batch: jax.Array) -> jax.Array:
  """uint8 images -> float32 in [-1, 1]; float data (2-D points) as is."""
  if batch.dtype == jnp.uint8:
    return batch.astype(jnp.float32) / 127.5 - 1.0
  return batch.astype(jnp.float32)


def _global_norm(tree) -> jax.Array:
  return optax.tree.norm(tree)


def _per_device(params):
  """Marks replicated params as device-varying before differentiating.

  Under shard_map, the gradient with respect to a replicated (invariant)
  value is implicitly summed over the mesh axis. Differentiating a varying
  copy instead gives each device the gradient of its own loss, which the step
  then averages explicitly with `lax.pmean`.
  """
  return lax.pcast(params, AXIS, to="varying")


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
    skip_nonfinite: an update with a NaN or Inf in a `nonfinite.CHECKED` quantity
      leaves the parameters, optimizer and batch statistics as they were
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


class DState(NamedTuple):
  """What a discriminator update changes (the loss state too: BEGAN's k_t)."""

  params: Any
  batch_stats: Any
  opt_state: Any
  loss_state: Any


class GState(NamedTuple):
  """What a generator update changes."""

  params: Any
  batch_stats: Any
  opt_state: Any


def split_batch(batch):
  """(images or points, labels or None) of a step's batch: an array, or an
  (images, labels) pair for a class-conditional model."""
  return batch if isinstance(batch, tuple) else (batch, None)


def _class_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def head_losses(
    fake_heads: dict,
    g_input: jax.Array,
    labels,
    opts: StepOptions,
    real_heads: dict | None = None,
):
  """(weighted loss, metrics) of ACGAN's and InfoGAN's heads.

  The generator's update passes D's heads on generated images; the
  discriminator's also passes them on real images (`real_heads`). ACGAN: the
  class cross-entropy of generated images, plus that of real ones for D
  (`class_loss` is their sum), and D's accuracy on real images. InfoGAN:
  both subtract lambda * L_I on the generated images' codes.
  """
  total, metrics = jnp.zeros((), jnp.float32), {}
  if "class_logits" in fake_heads:
    class_loss = _class_loss(fake_heads["class_logits"], labels)
    if real_heads is not None:
      real_logits = real_heads["class_logits"]
      class_loss += _class_loss(real_logits, labels)
      metrics["class_accuracy"] = jnp.mean(
          jnp.argmax(real_logits, -1) == labels
      )
    metrics["class_loss"] = class_loss
    total += opts.acgan_weight * class_loss
  if "info" in fake_heads:
    metrics.update(latent.information(fake_heads["info"], g_input, opts.cond))
    total -= opts.info_weight * metrics["info_mi"]
  return total, metrics


def _penalty(opts: StepOptions, d_fn, real, fake, keys):
  """opts.penalty on D's own samples: with packing, the packs (one
  interpolation weight, one input gradient norm per pack; a pack's key is
  that of its first sample)."""
  m = opts.d_pack
  if m == 1:
    return opts.penalty(d_fn, real, fake, keys)
  return opts.penalty(
      lambda x: d_fn(packing.unpack(x, m)),
      packing.pack(real, m),
      packing.pack(fake, m),
      keys[::m],
  )


def reconstruction(
    kind: str, fake: jax.Array, real: jax.Array, content=None
) -> jax.Array:
  """The distance of G's outputs to their targets: the mean per-pixel
  'l1' (pix2pix) or 'mse' (SRResNet-MSE), or 'classifier': the mean
  squared distance of their `content` features (SRGAN's VGG loss with the
  domain classifier for VGG; the targets' features are constants)."""
  fake, real = fake.astype(jnp.float32), real.astype(jnp.float32)
  if kind == "classifier":
    fake, real = content(fake), lax.stop_gradient(content(real))
  diff = fake - real
  return jnp.mean(jnp.abs(diff)) if kind == "l1" else jnp.mean(diff * diff)


def _clip(params, c: float):
  """WGAN's Lipschitz constraint: D's parameters clipped to [-c, c]."""
  return jax.tree.map(lambda p: jnp.clip(p, -c, c), params)


def discriminator_update(
    d: DState,
    g: GState,
    real: jax.Array,
    labels,
    g_input: jax.Array,
    key: jax.Array,
    *,
    nets: Networks,
    opts: StepOptions,
    extra: dict[str, Any] | None = None,
    keys: SampleKeys | None = None,
    source: jax.Array | None = None,
):
  """One discriminator update on a real batch and G(g_input).

  Args:
    d: the discriminator's state before the update.
    g: the generator (only applied; its running statistics are not kept).
    real: this device's real batch, in [-1, 1] (or points).
    labels: their classes, or None.
    g_input: this device's generator inputs (noise and codes).
    key: this device's key for dropout.
    nets: the modules and optimisers.
    opts: what the step applies.
    extra: further inputs of G and D (a progressive model's alpha).
    keys: the per-sample keys of the penalty's, the augmentation's and
      bCR's draws (`sample_keys`), needed when one of them applies.
    source: an image-to-image run's source images (g_input), which a
      pair-judging D also sees.

  Returns:
    (new DState, metrics, non-finite mask).
  """
  discriminator, loss = nets.discriminator, opts.loss
  # G normalises with this batch's statistics (train mode); its running
  # statistics change only in G's own update.
  fake, _ = apply_model(
      nets.generator,
      g.params,
      g.batch_stats,
      g_input,
      train=True,
      rng=opts.g_rng(key),
      labels=labels,
      extra=extra,
  )
  extra = opts.d_extra(extra, source)
  fake = lax.stop_gradient(fake)
  aug = opts.augment
  if aug.enabled:  # D sees only augmented images (reals and fakes).
    p = augment_lib.p_of(aug, d.loss_state)
    real = aug(real, keys.aug_real, p)
    fake = aug(fake, keys.aug_fake, p)

  def loss_fn(params):
    k_real, k_fake, _ = jax.random.split(key, 3)
    # Real and fake batches go through D separately, so batch norm
    # normalises each on its own statistics (as the DCGAN reference does).
    real_out, stats, real_heads = apply_model(
        discriminator,
        params,
        d.batch_stats,
        real,
        train=True,
        rng=k_real,
        labels=labels,
        collect=opts.heads,
        extra=extra,
    )
    fake_out, stats, fake_heads = apply_model(
        discriminator,
        params,
        stats,
        fake,
        train=True,
        rng=k_fake,
        labels=labels,
        collect=opts.heads,
        extra=extra,
    )
    d_loss, _ = loss.fn(real_out, fake_out, d.loss_state)
    # ProGAN's drift term keeps the critic's real outputs near 0.
    drift = jnp.mean(jnp.square(real_out))
    # ACGAN: D classifies reals and fakes; InfoGAN: Q recovers the codes.
    head_loss, head_metrics = head_losses(
        fake_heads, g_input, labels, opts, real_heads=real_heads
    )
    penalty = jnp.zeros((), jnp.float32)
    if opts.applies_penalty:
      # D without batch norm (validated), so its statistics (spectral-norm
      # vectors at most) from this pass are not kept.
      d_fn = lambda x: apply_model(
          discriminator,
          params,
          stats,
          x,
          train=True,
          rng=k_real,
          labels=labels,
          extra=extra,
      )[0]
      penalty = _penalty(opts, d_fn, real, fake, keys.penalty)
    total = (
        d_loss + head_loss + opts.penalty_weight * penalty + opts.drift * drift
    )
    extra_terms = {}
    if opts.bcr_real or opts.bcr_fake:
      # bCR: D's outputs under its transform T; these passes' batch
      # statistics are not kept.
      for name, x, out, weight, k in (
          ("real", real, real_out, opts.bcr_real, keys.bcr_real),
          ("fake", fake, fake_out, opts.bcr_fake, keys.bcr_fake),
      ):
        if weight:
          out_t = apply_model(
              discriminator,
              params,
              stats,
              regularizers.bcr_transform(x, k),
              train=True,
              rng=k_real,
              labels=labels,
              extra=extra,
          )[0]
          term = regularizers.consistency(out, out_t)
          extra_terms[f"bcr_{name}"] = term
          total += weight * term
    if opts.lecam:
      extra_terms["lecam"] = regularizers.lecam(
          real_out, fake_out, d.loss_state
      )
      total += opts.lecam * extra_terms["lecam"]
    aux = (
        stats,
        real_out,
        fake_out,
        d_loss,
        penalty,
        drift,
        head_metrics,
        extra_terms,
    )
    return total, aux

  (_, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      _per_device(d.params)
  )
  (
      stats,
      real_out,
      fake_out,
      d_loss,
      penalty,
      drift,
      head_metrics,
      extra_terms,
  ) = aux
  grads = lax.pmean(grads, AXIS)
  stats = lax.pmean(stats, AXIS)
  updates, opt_state = nets.d_tx.update(grads, d.opt_state, d.params)
  params = optax.apply_updates(d.params, updates)
  if opts.weight_clip > 0:
    params = _clip(params, opts.weight_clip)
  metrics = {"d_loss": d_loss, "d_grad_norm": _global_norm(grads)}
  if loss.probability:  # D(x) and D(G(z)) as probabilities.
    metrics["d_real"] = jax.nn.sigmoid(real_out).mean()
    metrics["d_fake"] = jax.nn.sigmoid(fake_out).mean()
  else:  # Critic values or reconstruction errors.
    metrics["d_real"], metrics["d_fake"] = real_out.mean(), fake_out.mean()
  if opts.applies_penalty:
    metrics["d_penalty"] = penalty
  if opts.drift:
    metrics["d_drift"] = drift
  metrics.update({f"d_{name}": v for name, v in head_metrics.items()})
  metrics.update({f"d_{name}": v for name, v in extra_terms.items()})
  loss_state = d.loss_state
  if loss.update is not None:
    # On the global batch's outputs (equal slices: the mean of per-device
    # means), so every device computes the same new loss state.
    new_state, loss_metrics = loss.update(
        loss_state, lax.pmean(real_out, AXIS), lax.pmean(fake_out, AXIS)
    )
    loss_state = {**loss_state, **new_state}
    metrics.update(loss_metrics)
  if opts.lecam:  # The anchors: moving averages of the global batch's means.
    loss_state = regularizers.lecam_update(
        loss_state,
        lax.pmean(jnp.mean(real_out), AXIS),
        lax.pmean(jnp.mean(fake_out), AXIS),
        opts.lecam_decay,
    )
  if aug.name == "ada":  # D's signs on augmented reals, over all devices.
    loss_state = augment_lib.ada_accumulate(
        loss_state,
        lax.psum(jnp.sum(jnp.sign(real_out)), AXIS),
        lax.psum(real_out.shape[0], AXIS),
    )
  mask = nonfinite.mask(
      {
          "d_loss": d_loss,
          "d_penalty": penalty,
          "d_grad_norm": metrics["d_grad_norm"],
          "d_param_norm": _global_norm(params),
          "d_stats": _global_norm(stats),
          "loss_state": nonfinite.float_norm(loss_state),
      }
  )
  new = DState(params, stats, opt_state, loss_state)
  if opts.skip_nonfinite:
    new = nonfinite.keep_if(mask == 0, new, d)
  return new, metrics, mask


def generator_update(
    g: GState,
    d: DState,
    real: jax.Array,
    labels,
    g_input: jax.Array,
    key: jax.Array,
    *,
    nets: Networks,
    opts: StepOptions,
    extra: dict[str, Any] | None = None,
    keys: SampleKeys | None = None,
    source: jax.Array | None = None,
):
  """One generator update against the discriminator `d`.

  Args:
    g: the generator's state before the update.
    d: the (updated) discriminator, only applied: its batch statistics from
      this pass are not kept, D's state changes only in its own update.
    real: a real batch in [-1, 1]; read by relativistic losses and feature
      matching only.
    labels: the classes asked of G, or None.
    g_input: this device's generator inputs (noise and codes).
    key: this device's key for D's dropout.
    nets, opts, extra: as for `discriminator_update`.
    keys: the per-sample keys of the augmentation (`sample_keys`).
    source: as for `discriminator_update`; `real` is then its target.

  Returns:
    (new GState, metrics, non-finite mask).
  """
  discriminator, loss = nets.discriminator, opts.loss
  matching = opts.feature_matching > 0
  collect = opts.heads + (("features",) if matching else ())
  target = real  # An image-to-image G's target (never augmented).
  g_extra, extra = extra, opts.d_extra(extra, source)
  aug = opts.augment
  if aug.enabled:  # D sees augmented images here too; G's gradient
    # flows through the augmentation of its samples.
    p = augment_lib.p_of(aug, d.loss_state)
    real = aug(real, keys.aug_real, p)

  def loss_fn(params):
    k_real, k_fake = jax.random.split(key)
    fake, stats = apply_model(
        nets.generator,
        params,
        g.batch_stats,
        g_input,
        train=True,
        rng=opts.g_rng(key),
        labels=labels,
        extra=g_extra,
    )
    recon = None
    if opts.recon != "none":
      recon = reconstruction(opts.recon, fake, target, opts.content)
    if aug.enabled:
      fake = aug(fake, keys.aug_fake, p)
    fake_out, d_stats, fake_sown = apply_model(
        discriminator,
        d.params,
        d.batch_stats,
        fake,
        train=True,
        rng=k_fake,
        labels=labels,
        collect=collect,
        extra=extra,
    )
    real_out = real_sown = None
    if loss.g_uses_real or matching:
      real_out, _, real_sown = apply_model(
          discriminator,
          d.params,
          d_stats,
          real,
          train=True,
          rng=k_real,
          labels=labels,
          collect=collect,
          extra=extra,
      )
    _, g_loss = loss.fn(
        real_out if loss.g_uses_real else None, fake_out, d.loss_state
    )
    aux = {"g_adv_loss": g_loss}
    if opts.image_to_image:
      g_loss = opts.adv_weight * g_loss
    if recon is not None:
      aux[f"g_{opts.recon}"] = recon
      g_loss = g_loss + opts.recon_weight * recon
    if matching:
      # Salimans et al. 2016, Sec. 3.1: |E f(x) - E f(G(z))|^2 on D's last
      # hidden layer f.
      fm = jnp.sum(
          (
              jnp.mean(lax.stop_gradient(real_sown["features"]), axis=0)
              - jnp.mean(fake_sown["features"], axis=0)
          )
          ** 2
      )
      aux["g_feature_matching"] = fm
      g_loss = g_loss + opts.feature_matching * fm
    head_loss, head_metrics = head_losses(fake_sown, g_input, labels, opts)
    aux.update({f"g_{name}": v for name, v in head_metrics.items()})
    if opts.ortho_reg:
      aux["g_ortho"] = losses.orthogonal_penalty(params)
      g_loss = g_loss + opts.ortho_reg * aux["g_ortho"]
    return g_loss + head_loss, (stats, aux)

  (g_loss, (stats, aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      _per_device(g.params)
  )
  grads = lax.pmean(grads, AXIS)
  stats = lax.pmean(stats, AXIS)
  updates, opt_state = nets.g_tx.update(grads, g.opt_state, g.params)
  params = optax.apply_updates(g.params, updates)
  metrics = {
      "g_loss": g_loss,
      "g_grad_norm": _global_norm(grads),
      "g_param_norm": _global_norm(params),
  }
  if matching or opts.heads or opts.ortho_reg or opts.image_to_image:
    metrics.update(aux)
  mask = nonfinite.mask(
      {
          "g_loss": g_loss,
          "g_grad_norm": metrics["g_grad_norm"],
          "g_param_norm": metrics["g_param_norm"],
          "g_stats": _global_norm(stats),
      }
  )
  new = GState(params, stats, opt_state)
  if opts.skip_nonfinite:
    new = nonfinite.keep_if(mask == 0, new, g)
  return new, metrics, mask


def ema_update(ema, new, decay: float):
  """decay * ema + (1 - decay) * new, leaf by leaf (decay 0: new)."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, new)


def train_iteration(
    state: TrainState,
    batch,
    *,
    nets: Networks,
    opts: StepOptions,
    num_devices: int,
) -> tuple[TrainState, dict[str, Any]]:
  """Per-device body. batch: (k, local_batch, ...) uint8 images or floats,
  or an (images, labels (k, local_batch)) pair for a labelled model."""
  batch, batch_labels = split_batch(batch)
  k, local_batch = batch.shape[:2]
  device = lax.axis_index(AXIS)
  key = jax.random.fold_in(state.key, state.step)

  def inputs(i):
    """G's inputs for update i: drawn for the global batch, sliced here;
    the key for this device's dropout masks; the keys of this device's
    samples' penalty, augmentation and bCR draws (by global index, as the
    noise)."""
    z_key, device_key = jax.random.split(jax.random.fold_in(key, i))
    z = latent.draw(
        z_key, local_batch * num_devices, opts.z_dim, opts.noise, opts.cond
    )
    z = lax.dynamic_slice_in_dim(z, device * local_batch, local_batch)
    keys = sample_keys(z_key, local_batch, device * local_batch)
    return z, jax.random.fold_in(device_key, device), keys

  def labels_of(i):  # Fakes take the labels of the real batch they meet.
    return None if batch_labels is None else batch_labels[i]

  extra, reals = {}, to_model_input
  if opts.stage is not None:  # A progressive run: this stage's alpha.
    alpha = opts.stage.alpha_traced(state.step)
    extra = {"alpha": alpha}
    reals = lambda x: opts.reals(to_model_input(x), alpha)

  # k discriminator updates, unrolled in Python. Not lax.scan: XLA:CPU runs
  # these convolutions inside a while loop (which scan emits even with
  # unroll=True) ~16x slower; k is small (1 to 5).
  d = DState(
      state.d_params, state.d_batch_stats, state.d_opt_state, state.loss_state
  )
  g = GState(state.g_params, state.g_batch_stats, state.g_opt_state)
  per_update, mask = [], jnp.zeros((), jnp.int32)
  for i in range(k):
    g_input, device_key, keys = inputs(i)
    real = reals(batch[i])
    if opts.image_to_image:  # G's input: the source of each real image.
      g_input = pairs.source_of(opts.pairs, real)
    d, metrics, update_mask = discriminator_update(
        d,
        g,
        real,
        labels_of(i),
        g_input,
        device_key,
        nets=nets,
        opts=opts,
        extra=extra,
        keys=keys,
        source=g_input,
    )
    per_update.append(metrics)
    mask = mask | update_mask
  d_metrics = jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *per_update)

  # One generator update, with fresh noise, against the updated D (an
  # image-to-image G: on the sources of the last real batch).
  g_input, device_key, keys = inputs(k)
  real = reals(batch[-1])
  if opts.image_to_image:
    g_input = pairs.source_of(opts.pairs, real)
  g, g_metrics, g_mask = generator_update(
      g,
      d,
      real,
      labels_of(k - 1),
      g_input,
      device_key,
      nets=nets,
      opts=opts,
      extra=extra,
      keys=keys,
      source=g_input,
  )
  mask = mask | g_mask
  loss_state = d.loss_state
  if opts.augment.adaptive:  # ADA's p, every augment.interval iterations.
    loss_state = augment_lib.ada_update(
        opts.augment,
        loss_state,
        state.step,
        images_per_iteration=k * local_batch * num_devices,
    )

  new_state = state.replace(
      step=state.step + 1,
      data_pos=state.data_pos + k,
      g_params=g.params,
      g_batch_stats=g.batch_stats,
      g_opt_state=g.opt_state,
      d_params=d.params,
      d_batch_stats=d.batch_stats,
      d_opt_state=d.opt_state,
      loss_state=loss_state,
      ema_params=ema_update(state.ema_params, g.params, opts.ema_decay),
      ema_batch_stats=ema_update(
          state.ema_batch_stats, g.batch_stats, opts.ema_decay
      ),
      health=nonfinite.record(state.health, state.step + 1, mask),
  )
  metrics = {**d_metrics, **g_metrics, "d_param_norm": _global_norm(d.params)}
  if opts.augment.name == "ada":
    metrics["ada_p"] = loss_state["ada_p"]
    metrics["ada_rt"] = loss_state["ada_rt"]
  return new_state, lax.pmean(metrics, AXIS)


def _jit_step(opts: StepOptions, mesh: Mesh, nets: Networks) -> Callable:
  """jit(shard_map(iteration)): (state, batch) -> (state, metrics)."""
  body = functools.partial(
      train_iteration, nets=nets, opts=opts, num_devices=mesh.shape[AXIS]
  )
  sharded = jax.shard_map(
      body, mesh=mesh, in_specs=(P(), P(None, AXIS)), out_specs=(P(), P())
  )
  return jax.jit(sharded, donate_argnums=0)


class Program(NamedTuple):
  """A compiled variant of the step: its name, the jitted (state, batch)
  function, and the global batch size it takes."""

  name: str
  fn: Callable
  batch_size: int


def make_train_step(
    opts: StepOptions,
    mesh: Mesh,
    nets: Networks,
    *,
    batch_size: int,
    schedule=None,
    stage_variant: Callable | None = None,
    log: Callable[[str], None] | None = None,
) -> Callable:
  """Returns train_step(state, batch, step) -> (state, metrics).

  `state` is donated; `batch` is a global array (k, global_batch, ...) of
  uint8 images or float points sharded over the batch axis; `step` is the
  host's count of completed iterations (== state.step), which picks the
  compiled variant, each jitted when first needed:

  - with lazy regularisation (`penalty.every` = N > 1, Karras et al. 2020)
    the penalty, weighted N times, is computed only on iterations whose step
    is a multiple of N, in a program of its own, so the others pay nothing
    for it;
  - a progressive run (`schedule`: progressive.Schedule) has a program per
    stage (resolution, fading or not): `stage_variant(stage, opts, nets)`
    returns that stage's options and modules; `log` says when one is made.

  `train_step.programs()` lists every variant (`Program`), for compiling
  ahead of time.
  """
  every = opts.penalty_every
  lazy = opts.penalty is not None and every > 1
  cache = {}

  def variant(stage, with_penalty: bool) -> Program:
    key = (None if stage is None else stage.index, with_penalty)
    if key not in cache:
      o, n, batch, name = opts, nets, batch_size, "step"
      if lazy:
        o = dataclasses.replace(
            o,
            penalty_weight=opts.penalty_weight * every if with_penalty else 0.0,
        )
        name += " with penalty" if with_penalty else " without penalty"
      if stage is not None:
        o, n = stage_variant(stage, o, n)
        batch, name = stage.batch_size, f"{name} at {stage.name}"
        if log is not None:
          log(
              f"stage {stage.name} (batch {stage.batch_size}) from step "
              f"{stage.start}: compiling its step"
          )
      cache[key] = Program(name, _jit_step(o, mesh, n), batch)
    return cache[key]

  def train_step(state, batch, step: int):
    stage = None if schedule is None else schedule.stage_at(step)
    return variant(stage, lazy and step % every == 0).fn(state, batch)

  def programs() -> list[Program]:
    stages = [None] if schedule is None else schedule.stages
    penalties = (True, False) if lazy else (False,)
    return [variant(s, p) for s in stages for p in penalties]

  train_step.programs = programs
  return train_step
