"""The training iteration: k discriminator updates, then one generator update.

Goodfellow et al. 2014, Algorithm 1, as one jitted, data-parallel function.
The body runs per device under `jax.shard_map` over the 'data' mesh axis:
each device holds a slice of the global batch, gradients and batch-norm
statistics are averaged with `lax.pmean`, and the replicated state comes out
identical on every device. Keys are derived inside from `fold_in(key, step)`;
the noise batch is drawn for the global batch and each device takes its slice,
so the result does not depend on the number of devices (with cross-device
batch norm it equals the single-device step up to float summation order).
"""

import dataclasses
import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax
from jax.sharding import Mesh, PartitionSpec as P

from jaxgan import latent, losses, penalties
from jaxgan.models import conditioning
from jaxgan.state import TrainState

AXIS = "data"


def apply_model(module: nn.Module, params, batch_stats, x, *, train: bool,
                rng=None, labels=None,
                collect: tuple[str, ...] | None = None):
  """Applies a module; returns (output, new batch_stats[, sown]).

  `labels` go to a class-conditional module. With `collect` (even empty),
  also returns a dict of what the module (or a submodule) sowed as
  ('intermediates', name) for each name: D's last hidden layer 'features',
  its ACGAN 'class_logits' and InfoGAN 'info' heads.
  """
  variables = {"params": params}
  if batch_stats:
    variables["batch_stats"] = batch_stats
  rngs = {"dropout": rng} if rng is not None else None
  mutable = (["batch_stats"] if train and batch_stats else [])
  mutable += ["intermediates"] if collect else []
  kwargs = {"labels": labels} if labels is not None else {}
  if mutable:
    out, updates = module.apply(variables, x, train=train, rngs=rngs,
                                mutable=mutable, **kwargs)
    stats = updates.get("batch_stats", batch_stats)
  else:
    out = module.apply(variables, x, train=train, rngs=rngs, **kwargs)
    updates, stats = {}, batch_stats
  if collect is not None:
    return out, stats, {name: _sown(updates["intermediates"], name)
                        for name in collect}
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


# The quantities checked for NaN/Inf after every update, in the bit order of
# the masks in `TrainState.health`. Norms cover whole trees: a non-finite
# parameter, optimizer input (gradient) or batch statistic shows in its norm.
CHECKED = ("d_loss", "d_penalty", "d_grad_norm", "d_param_norm", "d_stats",
           "loss_state", "g_loss", "g_grad_norm", "g_param_norm", "g_stats")


def nonfinite_mask(values: dict[str, jax.Array]) -> jax.Array:
  """int32 bit mask over CHECKED of the non-finite `values`, OR-ed over all
  devices (so every device takes the same decision)."""
  flags = jnp.stack([jnp.logical_not(jnp.isfinite(v)).astype(jnp.int32)
                     for v in values.values()])
  flags = lax.pmax(flags, AXIS)
  bits = jnp.array([1 << CHECKED.index(k) for k in values], jnp.int32)
  return jnp.sum(flags * bits)


def describe_mask(mask: int) -> list[str]:
  """The CHECKED names whose bits are set in `mask`."""
  return [name for i, name in enumerate(CHECKED) if mask & (1 << i)]


def _keep_if(ok: jax.Array, new, old):
  """`new` where ok, else `old` (a skipped update), leaf by leaf."""
  return jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)


def _record(health: dict[str, jax.Array], step: jax.Array,
            mask: jax.Array) -> dict[str, jax.Array]:
  """Health after an iteration (1-based `step`) whose non-finite mask is mask."""
  bad = mask != 0
  first = bad & (health["first_step"] < 0)
  return {
      "nonfinite_steps": health["nonfinite_steps"] + bad.astype(jnp.int32),
      "first_step": jnp.where(first, step, health["first_step"]),
      "first_mask": jnp.where(first, mask, health["first_mask"]),
      "last_step": jnp.where(bad, step, health["last_step"]),
      "last_mask": jnp.where(bad, mask, health["last_mask"]),
  }


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
  """What the iteration applies, resolved from the config by `options_from`.

  Attributes:
    loss: the bound `losses.GanLoss`.
    penalty: a `penalties.PENALTIES` function, or None.
    penalty_weight: its weight in this compiled step (the lazy variant
      multiplies `penalty.weight` by `penalty.every`; 0 skips it).
    weight_clip: WGAN clips D's parameters to [-c, c] after each update; 0
      = off.
    feature_matching: weight of Salimans et al.'s feature-matching term in
      G's loss; 0 = off.
    z_dim, noise, ema_decay: the generator's input and EMA.
    cond: labels and InfoGAN codes (models/conditioning.py).
    acgan_weight: weight of ACGAN's class cross-entropy in both losses.
    info_weight: InfoGAN's lambda: D (its Q head) and G both subtract
      lambda * L_I (latent.information) from their losses.
    skip_nonfinite: an update with a NaN or Inf in a `CHECKED` quantity
      leaves the parameters, optimizer and batch statistics as they were
      (`train.on_nonfinite='skip'`); by default it is applied and the host
      stops training at the next log or checkpoint step.
  """
  loss: losses.GanLoss
  penalty: Callable | None = None
  penalty_weight: float = 0.0
  weight_clip: float = 0.0
  feature_matching: float = 0.0
  z_dim: int = 100
  noise: str = "normal"
  ema_decay: float = 0.0
  skip_nonfinite: bool = False
  cond: conditioning.Conditioning = conditioning.Conditioning()
  acgan_weight: float = 1.0
  info_weight: float = 1.0

  @property
  def heads(self) -> tuple[str, ...]:
    """D's sown heads the losses read."""
    return ((("class_logits",) if self.cond.mode == "acgan" else ())
            + (("info",) if self.cond.info else ()))

  @property
  def applies_penalty(self) -> bool:
    return self.penalty is not None and self.penalty_weight > 0


def options_from(config, loss: losses.GanLoss | None = None) -> StepOptions:
  """StepOptions for a validated `config` (and its bound loss, if built)."""
  loss = loss or losses.get_loss(config.loss)
  penalty = penalties.PENALTIES[loss.penalty or config.penalty.name]
  return StepOptions(
      loss=loss, penalty=penalty,
      penalty_weight=float(config.penalty.weight) if penalty else 0.0,
      weight_clip=float(config.loss.weight_clip),
      feature_matching=float(config.loss.feature_matching),
      z_dim=config.model.z_dim, noise=config.model.noise,
      ema_decay=float(config.model.ema_decay),
      skip_nonfinite=config.train.on_nonfinite == "skip",
      cond=conditioning.from_config(config),
      acgan_weight=float(config.loss.get("acgan_weight", 1.0)),
      info_weight=float(config.loss.get("info_weight", 1.0)))


def split_batch(batch):
  """(images or points, labels or None) of a step's batch: an array, or an
  (images, labels) pair for a class-conditional model."""
  return batch if isinstance(batch, tuple) else (batch, None)


def _class_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def _head_losses(heads: dict, g_input: jax.Array, labels, opts: StepOptions):
  """(weighted loss, metrics) of ACGAN's and InfoGAN's heads on fakes."""
  total, metrics = jnp.zeros((), jnp.float32), {}
  if "class_logits" in heads:
    metrics["class_loss"] = _class_loss(heads["class_logits"], labels)
    total += opts.acgan_weight * metrics["class_loss"]
  if "info" in heads:
    metrics.update(latent.information(heads["info"], g_input, opts.cond))
    total -= opts.info_weight * metrics["info_mi"]
  return total, metrics


def _train_iteration(state: TrainState, batch: jax.Array, *,
                     generator: nn.Module, discriminator: nn.Module,
                     g_tx: optax.GradientTransformation,
                     d_tx: optax.GradientTransformation, opts: StepOptions,
                     num_devices: int) -> tuple[TrainState, dict[str, Any]]:
  """Per-device body. batch: (k, local_batch, ...) uint8 images or floats,
  or an (images, labels (k, local_batch)) pair for a labelled model."""
  batch, batch_labels = split_batch(batch)
  k, local_batch = batch.shape[:2]
  global_batch = local_batch * num_devices
  device = lax.axis_index(AXIS)
  key = jax.random.fold_in(state.key, state.step)
  loss = opts.loss
  heads = opts.heads

  def local_input(key):
    z = latent.draw(key, global_batch, opts.z_dim, opts.noise, opts.cond)
    return lax.dynamic_slice_in_dim(z, device * local_batch, local_batch)

  def labels_of(i):  # Fakes take the labels of the real batch they meet.
    return None if batch_labels is None else batch_labels[i]

  def per_device(key):  # Dropout masks and penalty draws differ per slice.
    return jax.random.fold_in(key, device)

  def d_update(carry, i):
    """One discriminator update on real batch i and fresh noise."""
    d_params, d_stats, d_opt_state, loss_state = carry
    z_key, drop_key = jax.random.split(jax.random.fold_in(key, i))
    real, labels = to_model_input(batch[i]), labels_of(i)
    g_input = local_input(z_key)
    # G normalises with this batch's statistics (train mode); its running
    # statistics change only in G's own update below.
    fake, _ = apply_model(generator, state.g_params, state.g_batch_stats,
                          g_input, train=True, labels=labels)
    fake = lax.stop_gradient(fake)

    def d_loss_fn(d_params):
      k_real, k_fake, k_pen = jax.random.split(per_device(drop_key), 3)
      # Real and fake batches go through D separately, so batch norm
      # normalises each on its own statistics (as the DCGAN reference does).
      real_out, stats, real_heads = apply_model(
          discriminator, d_params, d_stats, real, train=True, rng=k_real,
          labels=labels, collect=heads)
      fake_out, stats, fake_heads = apply_model(
          discriminator, d_params, stats, fake, train=True, rng=k_fake,
          labels=labels, collect=heads)
      d_loss, _ = loss.fn(real_out, fake_out, loss_state)
      # ACGAN: D classifies reals and fakes; InfoGAN: Q recovers the codes.
      head_loss, head_metrics = _head_losses(fake_heads, g_input, labels,
                                             opts)
      if "class_logits" in heads:
        real_logits = real_heads["class_logits"]
        real_class_loss = _class_loss(real_logits, labels)
        head_metrics["class_loss"] += real_class_loss
        head_loss += opts.acgan_weight * real_class_loss
        head_metrics["class_accuracy"] = jnp.mean(
            jnp.argmax(real_logits, -1) == labels)
      penalty = jnp.zeros((), jnp.float32)
      if opts.applies_penalty:
        # D without batch norm (validated), so its statistics (spectral-norm
        # vectors at most) from this pass are not kept.
        d_fn = lambda x: apply_model(discriminator, d_params, stats, x,
                                     train=True, rng=k_real,
                                     labels=labels)[0]
        penalty = opts.penalty(d_fn, real, fake, k_pen)
      total = d_loss + head_loss + opts.penalty_weight * penalty
      return total, (stats, real_out, fake_out, d_loss, penalty, head_metrics)

    (_, (stats, real_out, fake_out, d_loss, penalty, head_metrics)), grads = (
        jax.value_and_grad(d_loss_fn, has_aux=True)(_per_device(d_params)))
    grads = lax.pmean(grads, AXIS)
    stats = lax.pmean(stats, AXIS)
    old = carry
    updates, d_opt_state = d_tx.update(grads, d_opt_state, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if opts.weight_clip > 0:  # WGAN's Lipschitz constraint.
      c = opts.weight_clip
      d_params = jax.tree.map(lambda p: jnp.clip(p, -c, c), d_params)
    metrics = {"d_loss": d_loss, "d_grad_norm": _global_norm(grads)}
    if loss.probability:  # D(x) and D(G(z)) as probabilities.
      metrics["d_real"] = jax.nn.sigmoid(real_out).mean()
      metrics["d_fake"] = jax.nn.sigmoid(fake_out).mean()
    else:  # Critic values or reconstruction errors.
      metrics["d_real"], metrics["d_fake"] = real_out.mean(), fake_out.mean()
    if opts.applies_penalty:
      metrics["d_penalty"] = penalty
    metrics.update({f"d_{name}": v for name, v in head_metrics.items()})
    if loss.update is not None:
      # On the global batch's outputs (equal slices: the mean of per-device
      # means), so every device computes the same new loss state.
      loss_state, loss_metrics = loss.update(
          loss_state, lax.pmean(real_out, AXIS), lax.pmean(fake_out, AXIS))
      metrics.update(loss_metrics)
    mask = nonfinite_mask({
        "d_loss": d_loss, "d_penalty": penalty,
        "d_grad_norm": metrics["d_grad_norm"],
        "d_param_norm": _global_norm(d_params), "d_stats": _global_norm(stats),
        "loss_state": _global_norm(loss_state)})
    new = (d_params, stats, d_opt_state, loss_state)
    if opts.skip_nonfinite:
      new = _keep_if(mask == 0, new, old)
    return new, (metrics, mask)

  # --- k discriminator updates, unrolled in Python. Not lax.scan: XLA:CPU
  # runs these convolutions inside a while loop (which scan emits even with
  # unroll=True) ~16x slower (measured: 850 ms vs 51 ms for the
  # Fashion-MNIST DCGAN iteration); k is small (1 to 5).
  carry = (state.d_params, state.d_batch_stats, state.d_opt_state,
           state.loss_state)
  per_update, mask = [], jnp.zeros((), jnp.int32)
  for i in range(k):
    carry, (m, update_mask) = d_update(carry, i)
    per_update.append(m)
    mask = mask | update_mask
  d_params, d_stats, d_opt_state, loss_state = carry
  d_metrics = jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *per_update)

  # --- one generator update, with fresh noise, against the updated D.
  z_key, drop_key = jax.random.split(jax.random.fold_in(key, k))
  g_input, labels = local_input(z_key), labels_of(k - 1)

  def g_loss_fn(g_params):
    k_real, k_fake = jax.random.split(per_device(drop_key))
    fake, g_stats = apply_model(generator, g_params, state.g_batch_stats,
                                g_input, train=True, labels=labels)
    # D's batch statistics from this pass are not kept: D's state changes only
    # in its own update.
    fm = opts.feature_matching > 0
    collect = heads + (("features",) if fm else ())
    fake_out, d_stats_g, fake_sown = apply_model(
        discriminator, d_params, d_stats, fake, train=True, rng=k_fake,
        labels=labels, collect=collect)
    real_out = None
    if loss.g_uses_real or fm:
      real_out, _, real_sown = apply_model(
          discriminator, d_params, d_stats_g, to_model_input(batch[-1]),
          train=True, rng=k_real, labels=labels, collect=collect)
    _, g_loss = loss.fn(real_out if loss.g_uses_real else None, fake_out,
                        loss_state)
    aux = {"g_adv_loss": g_loss}
    if fm:
      # Salimans et al. 2016, Sec. 3.1: |E f(x) - E f(G(z))|^2 on D's last
      # hidden layer f.
      fm = jnp.sum((jnp.mean(lax.stop_gradient(real_sown["features"]), axis=0)
                    - jnp.mean(fake_sown["features"], axis=0)) ** 2)
      aux["g_feature_matching"] = fm
      g_loss = g_loss + opts.feature_matching * fm
    head_loss, head_metrics = _head_losses(fake_sown, g_input, labels, opts)
    aux.update({f"g_{name}": v for name, v in head_metrics.items()})
    return g_loss + head_loss, (g_stats, aux)

  (g_loss, (g_stats, g_aux)), g_grads = jax.value_and_grad(
      g_loss_fn, has_aux=True)(_per_device(state.g_params))
  g_grads = lax.pmean(g_grads, AXIS)
  g_stats = lax.pmean(g_stats, AXIS)
  updates, g_opt_state = g_tx.update(g_grads, state.g_opt_state,
                                     state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  g_mask = nonfinite_mask({"g_loss": g_loss,
                           "g_grad_norm": _global_norm(g_grads),
                           "g_param_norm": _global_norm(g_params),
                           "g_stats": _global_norm(g_stats)})
  if opts.skip_nonfinite:
    g_params, g_stats, g_opt_state = _keep_if(
        g_mask == 0, (g_params, g_stats, g_opt_state),
        (state.g_params, state.g_batch_stats, state.g_opt_state))
  mask = mask | g_mask

  decay = opts.ema_decay
  ema = lambda e, p: decay * e + (1.0 - decay) * p
  new_state = state.replace(
      step=state.step + 1,
      data_pos=state.data_pos + k,
      g_params=g_params, g_batch_stats=g_stats, g_opt_state=g_opt_state,
      d_params=d_params, d_batch_stats=d_stats, d_opt_state=d_opt_state,
      loss_state=loss_state,
      ema_params=jax.tree.map(ema, state.ema_params, g_params),
      ema_batch_stats=jax.tree.map(ema, state.ema_batch_stats, g_stats),
      health=_record(state.health, state.step + 1, mask),
  )
  metrics = {
      **d_metrics,
      "g_loss": g_loss,
      "g_grad_norm": _global_norm(g_grads),
      "g_param_norm": _global_norm(g_params),
      "d_param_norm": _global_norm(d_params),
  }
  if opts.feature_matching > 0 or heads:
    metrics.update(g_aux)
  metrics = lax.pmean(metrics, AXIS)
  return new_state, metrics


def _jit_step(opts: StepOptions, mesh: Mesh, generator: nn.Module,
             discriminator: nn.Module, g_tx, d_tx) -> Callable:
  """jit(shard_map(iteration)): (state, batch) -> (state, metrics)."""
  body = functools.partial(
      _train_iteration, generator=generator, discriminator=discriminator,
      g_tx=g_tx, d_tx=d_tx, opts=opts, num_devices=mesh.shape[AXIS])
  sharded = jax.shard_map(body, mesh=mesh, in_specs=(P(), P(None, AXIS)),
                          out_specs=(P(), P()))
  return jax.jit(sharded, donate_argnums=0)


def make_train_step(config, mesh: Mesh, generator: nn.Module,
                    discriminator: nn.Module, g_tx, d_tx,
                    loss: losses.GanLoss | None = None) -> Callable:
  """Returns train_step(state, batch, step) -> (state, metrics).

  `state` is donated; `batch` is a global array (k, global_batch, ...) of
  uint8 images or float points sharded over the batch axis; `step` is the
  host's count of completed iterations (== state.step), which picks the
  compiled variant: with lazy regularisation (`penalty.every` = N > 1,
  Karras et al. 2020) the penalty, weighted N times, is computed only on
  iterations whose step is a multiple of N, in a second compiled program, so
  the others pay nothing for it. `train_step.programs` holds the jitted
  (state, batch) functions, for compiling ahead of time.
  """
  opts = options_from(config, loss)
  every = int(config.penalty.every)
  if opts.penalty is None or every == 1:
    step_fn = _jit_step(opts, mesh, generator, discriminator, g_tx, d_tx)
    train_step = lambda state, batch, step: step_fn(state, batch)  # pylint: disable=unnecessary-lambda-assignment
    train_step.programs = (step_fn,)
    return train_step
  with_penalty = _jit_step(
      dataclasses.replace(opts, penalty_weight=opts.penalty_weight * every),
      mesh, generator, discriminator, g_tx, d_tx)
  without = _jit_step(dataclasses.replace(opts, penalty_weight=0.0), mesh,
                     generator, discriminator, g_tx, d_tx)

  def train_step(state, batch, step: int):
    return (with_penalty if step % every == 0 else without)(state, batch)
  train_step.programs = (with_penalty, without)
  return train_step
