"""The training iteration: k discriminator updates, then one generator update.

Goodfellow et al. 2014, Algorithm 1, as one data-parallel function (compiled
by gan/programs.py). The body runs per device under `jax.shard_map` over the
'data' mesh axis: each device holds a slice of the global batch, gradients
and batch-norm statistics are averaged with `lax.pmean`, and the replicated
state comes out identical on every device. Keys are derived inside from
`fold_in(key, step)`; the noise batch is drawn for the global batch and each
device takes its slice, so the result does not depend on the number of
devices (with cross-device batch norm it equals the single-device step up to
float summation order).

`train_iteration` strings k + 1 updates (gan/updates.py's
`discriminator_update` and `generator_update`, one optimiser step each)
together with the EMA, from the iteration's keys and batch.
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan import augment as augment_lib
from jaxgan.core.runtime import AXIS
from jaxgan.gan import latent, nonfinite
from jaxgan.gan.options import Networks, StepOptions, sample_keys
from jaxgan.gan.state import TrainState
from jaxgan.gan.updates import DState, GState, discriminator_update
from jaxgan.gan.updates import ema_update, generator_update, global_norm
from jaxgan.models import pairs
from jaxgan.models.apply import to_model_input


def split_batch(batch):
  """(images or points, labels or None) of a step's batch: an array, or an
  (images, labels) pair for a class-conditional model."""
  return batch if isinstance(batch, tuple) else (batch, None)


def _update_inputs(key, i, local_batch, num_devices, opts: StepOptions):
  """G's inputs for update i of an iteration whose key is `key`: drawn for
  the global batch, sliced here; the key for this device's dropout masks;
  the keys of this device's samples' penalty, augmentation and bCR draws
  (by global index, as the noise)."""
  device = lax.axis_index(AXIS)
  z_key, device_key = jax.random.split(jax.random.fold_in(key, i))
  z = latent.draw(
      z_key, local_batch * num_devices, opts.z_dim, opts.noise, opts.cond
  )
  z = lax.dynamic_slice_in_dim(z, device * local_batch, local_batch)
  keys = sample_keys(z_key, local_batch, device * local_batch)
  return z, jax.random.fold_in(device_key, device), keys


def _stage_inputs(state: TrainState, opts: StepOptions):
  """(G's and D's further inputs, the real images' conversion): a
  progressive run's alpha at this step and its reals at this stage."""
  if opts.stage is None:
    return {}, to_model_input
  alpha = opts.stage.alpha_traced(state.step)
  return {"alpha": alpha}, lambda x: opts.reals(to_model_input(x), alpha)


def _next_state(
    state: TrainState, d: DState, g: GState, mask, opts: StepOptions, images
) -> TrainState:
  """The train state after one iteration that used `images` images."""
  loss_state = d.loss_state
  if opts.augment.adaptive:  # ADA's p, every augment.interval iterations.
    loss_state = augment_lib.ada_update(
        opts.augment, loss_state, state.step, images_per_iteration=images
    )
  return state.replace(
      step=state.step + 1,
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
  key = jax.random.fold_in(state.key, state.step)
  inputs = functools.partial(
      _update_inputs,
      key,
      local_batch=local_batch,
      num_devices=num_devices,
      opts=opts,
  )

  def labels_of(i):  # Fakes take the labels of the real batch they meet.
    return None if batch_labels is None else batch_labels[i]

  extra, reals = _stage_inputs(state, opts)
  shared = {"nets": nets, "opts": opts, "extra": extra}

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
    shared["source"] = g_input
    d, metrics, update_mask = discriminator_update(
        d, g, real, labels_of(i), g_input, device_key, keys=keys, **shared
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
  shared["source"] = g_input
  g, g_metrics, g_mask = generator_update(
      g, d, real, labels_of(k - 1), g_input, device_key, keys=keys, **shared
  )
  new_state = _next_state(
      state, d, g, mask | g_mask, opts, k * local_batch * num_devices
  ).replace(data_pos=state.data_pos + k)
  metrics = {**d_metrics, **g_metrics, "d_param_norm": global_norm(d.params)}
  if opts.augment.name == "ada":
    metrics["ada_p"] = new_state.loss_state["ada_p"]
    metrics["ada_rt"] = new_state.loss_state["ada_rt"]
  return new_state, lax.pmean(metrics, AXIS)
