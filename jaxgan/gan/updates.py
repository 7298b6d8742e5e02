"""One optimiser step of each player: `discriminator_update` (on a real
batch and G's samples, with D's extra terms from gan/regularizers.py and
its heads' from gan/heads.py) and `generator_update` (against the updated
D), each returning the new state, its metrics and a non-finite mask; and
the EMA of G's weights. gan/step.py strings them into an iteration.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan import augment as augment_lib
from jaxgan.core.runtime import AXIS
from jaxgan.gan import heads, losses, nonfinite, regularizers
from jaxgan.gan.options import Networks, SampleKeys, StepOptions
from jaxgan.models.apply import apply_model


def global_norm(tree) -> jax.Array:
  """The L2 norm of all leaves of `tree` together."""
  return optax.tree.norm(tree)


def _per_device(params):
  """Marks replicated params as device-varying before differentiating.

  Under shard_map, the gradient with respect to a replicated (invariant)
  value is implicitly summed over the mesh axis. Differentiating a varying
  copy instead gives each device the gradient of its own loss, which the step
  then averages explicitly with `lax.pmean`.
  """
  return lax.pcast(params, AXIS, to="varying")


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


def _clip(params, c: float):
  """WGAN's Lipschitz constraint: D's parameters clipped to [-c, c]."""
  return jax.tree.map(lambda p: jnp.clip(p, -c, c), params)


class _DAux(NamedTuple):
  """What D's loss function computes besides its value."""

  stats: Any
  real_out: jax.Array
  fake_out: jax.Array
  d_loss: jax.Array
  terms: regularizers.DiscriminatorTerms
  head_metrics: dict


def _d_loss(
    params, d, real, fake, labels, g_input, key, keys, *, nets, opts, extra
):
  """(D's total loss, _DAux) with parameters `params`."""
  k_real, k_fake, _ = jax.random.split(key, 3)

  def apply(x, stats, rng, collect=None):
    return apply_model(
        nets.discriminator,
        params,
        stats,
        x,
        train=True,
        rng=rng,
        labels=labels,
        collect=collect,
        extra=extra,
    )

  # Real and fake batches go through D separately, so batch norm
  # normalises each on its own statistics (as the DCGAN reference does).
  real_out, stats, real_heads = apply(real, d.batch_stats, k_real, opts.heads)
  fake_out, stats, fake_heads = apply(fake, stats, k_fake, opts.heads)
  d_loss, _ = opts.loss.fn(real_out, fake_out, d.loss_state)
  # ACGAN: D classifies reals and fakes; InfoGAN: Q recovers the codes.
  head_loss, head_metrics = heads.head_losses(
      fake_heads, g_input, labels, opts, real_heads=real_heads
  )
  # The penalty's and bCR's passes: D without batch norm where a penalty
  # applies (validated), so their statistics (spectral-norm vectors at
  # most) are not kept.
  terms = regularizers.discriminator_terms(
      opts,
      lambda x: apply(x, stats, k_real)[0],
      real,
      fake,
      real_out,
      fake_out,
      d.loss_state,
      keys,
  )
  total = terms.add_to(d_loss + head_loss, opts)
  return total, _DAux(stats, real_out, fake_out, d_loss, terms, head_metrics)


def _d_metrics(aux: _DAux, grads, opts: StepOptions) -> dict[str, jax.Array]:
  """What a D update reports (before the loss state's own metrics)."""
  metrics = {"d_loss": aux.d_loss, "d_grad_norm": global_norm(grads)}
  if opts.loss.probability:  # D(x) and D(G(z)) as probabilities.
    metrics["d_real"] = jax.nn.sigmoid(aux.real_out).mean()
    metrics["d_fake"] = jax.nn.sigmoid(aux.fake_out).mean()
  else:  # Critic values or reconstruction errors.
    metrics["d_real"] = aux.real_out.mean()
    metrics["d_fake"] = aux.fake_out.mean()
  if opts.applies_penalty:
    metrics["d_penalty"] = aux.terms.penalty
  if opts.drift:
    metrics["d_drift"] = aux.terms.drift
  metrics.update({f"d_{name}": v for name, v in aux.head_metrics.items()})
  metrics.update({f"d_{name}": v for name, v in aux.terms.extra.items()})
  return metrics


def _d_loss_state(loss_state, aux: _DAux, opts: StepOptions, metrics: dict):
  """The adaptive state after a D update (the loss's own, e.g. BEGAN's
  k_t, adds its metrics to `metrics`; then the regularisers')."""
  if opts.loss.update is not None:
    # On the global batch's outputs (equal slices: the mean of per-device
    # means), so every device computes the same new loss state.
    new_state, loss_metrics = opts.loss.update(
        loss_state,
        lax.pmean(aux.real_out, AXIS),
        lax.pmean(aux.fake_out, AXIS),
    )
    loss_state = {**loss_state, **new_state}
    metrics.update(loss_metrics)
  return regularizers.update_loss_state(
      opts, loss_state, aux.real_out, aux.fake_out
  )


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
  fake = lax.stop_gradient(fake)
  aug = opts.augment
  if aug.enabled:  # D sees only augmented images (reals and fakes).
    p = augment_lib.p_of(aug, d.loss_state)
    real = aug(real, keys.aug_real, p)
    fake = aug(fake, keys.aug_fake, p)
  loss_fn = functools.partial(
      _d_loss,
      d=d,
      real=real,
      fake=fake,
      labels=labels,
      g_input=g_input,
      key=key,
      keys=keys,
      nets=nets,
      opts=opts,
      extra=opts.d_extra(extra, source),
  )
  (_, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      _per_device(d.params)
  )
  grads = lax.pmean(grads, AXIS)
  stats = lax.pmean(aux.stats, AXIS)
  updates, opt_state = nets.d_tx.update(grads, d.opt_state, d.params)
  params = optax.apply_updates(d.params, updates)
  if opts.weight_clip > 0:
    params = _clip(params, opts.weight_clip)
  metrics = _d_metrics(aux, grads, opts)
  loss_state = _d_loss_state(d.loss_state, aux, opts, metrics)
  mask = nonfinite.mask(
      {
          "d_loss": aux.d_loss,
          "d_penalty": aux.terms.penalty,
          "d_grad_norm": metrics["d_grad_norm"],
          "d_param_norm": global_norm(params),
          "d_stats": global_norm(stats),
          "loss_state": nonfinite.float_norm(loss_state),
      }
  )
  new = DState(params, stats, opt_state, loss_state)
  if opts.skip_nonfinite:
    new = nonfinite.keep_if(mask == 0, new, d)
  return new, metrics, mask


def _g_loss(
    params, g, d, real, target, labels, g_input, key, keys, *, nets, opts, extra
):
  """(G's total loss, (its batch statistics, metrics)) with `params`.

  `real` is what D sees of the real batch (augmented where D's inputs
  are), `target` an image-to-image G's target (never augmented); `extra`
  is (G's, D's) further inputs.
  """
  g_extra, d_extra = extra
  loss, matching = opts.loss, opts.feature_matching > 0
  collect = opts.heads + (("features",) if matching else ())
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
    recon = losses.reconstruction(opts.recon, fake, target, opts.content)
  if opts.augment.enabled:  # G's gradient flows through the augmentation.
    p = augment_lib.p_of(opts.augment, d.loss_state)
    fake = opts.augment(fake, keys.aug_fake, p)

  def apply_d(x, stats, rng):
    return apply_model(
        nets.discriminator,
        d.params,
        stats,
        x,
        train=True,
        rng=rng,
        labels=labels,
        collect=collect,
        extra=d_extra,
    )

  fake_out, d_stats, fake_sown = apply_d(fake, d.batch_stats, k_fake)
  real_out = real_sown = None
  if loss.g_uses_real or matching:
    real_out, _, real_sown = apply_d(real, d_stats, k_real)
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
    fm = regularizers.feature_matching(
        real_sown["features"], fake_sown["features"]
    )
    aux["g_feature_matching"] = fm
    g_loss = g_loss + opts.feature_matching * fm
  head_loss, head_metrics = heads.head_losses(fake_sown, g_input, labels, opts)
  aux.update({f"g_{name}": v for name, v in head_metrics.items()})
  if opts.ortho_reg:
    aux["g_ortho"] = losses.orthogonal_penalty(params)
    g_loss = g_loss + opts.ortho_reg * aux["g_ortho"]
  return g_loss + head_loss, (stats, aux)


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
  target = real  # An image-to-image G's target (never augmented).
  if opts.augment.enabled:  # D sees augmented images here too.
    p = augment_lib.p_of(opts.augment, d.loss_state)
    real = opts.augment(real, keys.aug_real, p)
  loss_fn = functools.partial(
      _g_loss,
      g=g,
      d=d,
      real=real,
      target=target,
      labels=labels,
      g_input=g_input,
      key=key,
      keys=keys,
      nets=nets,
      opts=opts,
      extra=(extra, opts.d_extra(extra, source)),
  )
  (g_loss, (stats, aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      _per_device(g.params)
  )
  grads = lax.pmean(grads, AXIS)
  stats = lax.pmean(stats, AXIS)
  updates, opt_state = nets.g_tx.update(grads, g.opt_state, g.params)
  params = optax.apply_updates(g.params, updates)
  metrics = {
      "g_loss": g_loss,
      "g_grad_norm": global_norm(grads),
      "g_param_norm": global_norm(params),
  }
  matching = opts.feature_matching > 0
  if matching or opts.heads or opts.ortho_reg or opts.image_to_image:
    metrics.update(aux)
  mask = nonfinite.mask(
      {
          "g_loss": g_loss,
          "g_grad_norm": metrics["g_grad_norm"],
          "g_param_norm": metrics["g_param_norm"],
          "g_stats": global_norm(stats),
      }
  )
  new = GState(params, stats, opt_state)
  if opts.skip_nonfinite:
    new = nonfinite.keep_if(mask == 0, new, g)
  return new, metrics, mask


def ema_update(ema, new, decay: float):
  """decay * ema + (1 - decay) * new, leaf by leaf (decay 0: new)."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, new)
