"""What the training loop prints: the start-up lines and the progress lines."""

import math
import time

import jax

from jaxgan.core import fs, runtime
from jaxgan.gan import state as state_lib
from jaxgan.experiment.builder import Experiment


def regularizers(exp: Experiment) -> str:
  """' + r1 penalty x10 + spectral norm ...' for the start-up line: what
  the step applies (exp.options), named as the config names it."""
  o, cond, named = exp.options, exp.cond, exp.summary
  parts = []
  if named.penalty != "none":
    parts.append(
        f"{named.penalty} penalty x{o.penalty_weight:g}"
        + (f" every {o.penalty_every}" if o.penalty_every > 1 else "")
    )
  for value, label in (
      (o.weight_clip, "weight clip"),
      (named.label_smoothing, "label smoothing"),
      (o.feature_matching, "feature matching"),
  ):
    if value:
      parts.append(f"{label} {value:g}")
  if o.recon != "none":
    kind = {"classifier": "classifier-feature"}.get(o.recon, o.recon)
    parts.append(f"{kind} reconstruction x{o.recon_weight:g}")
  if o.adv_weight != 1:
    parts.append(f"adversarial loss x{o.adv_weight:g}")
  if named.d_spectral_norm:
    parts.append("spectral norm")
  if named.d_minibatch_std:
    parts.append("minibatch stddev")
  if cond.labelled:
    parts.append(f"{cond.mode} conditioning on {cond.num_classes} classes")
  if cond.info:
    codes = [
        f"{cond.info_categorical}-way" if cond.info_categorical else "",
        f"{cond.info_continuous} continuous" if cond.info_continuous else "",
    ]
    parts.append(
        f"InfoGAN codes ({' + '.join(c for c in codes if c)}) x"
        f"{o.info_weight:g}"
    )
  return "".join(f" + {p}" for p in parts)


def start(
    exp: Experiment,
    state,
    *,
    workdir: str,
    num_examples: int,
    per_process_batch: int,
    per_device_batch: int,
) -> None:
  """The start-up lines: devices and batches, model and loss, workdir."""
  train, named = exp.train, exp.summary
  runtime.log(
      f"jaxgan: {jax.device_count()} {jax.devices()[0].platform} "
      f"device(s) over {jax.process_count()} process(es); global "
      f"batch {train.batch_size}, per process "
      f"{per_process_batch}, per device {per_device_batch}; "
      f"{train.d_steps} D step(s) per G step"
  )
  shape = "x".join(map(str, exp.data_shape))
  runtime.log(
      f"model {named.model}: G "
      f"{state_lib.param_count(state.g_params):,} params, D "
      f"{state_lib.param_count(state.d_params):,} params; loss "
      f"{named.loss}{regularizers(exp)}; data "
      f"{exp.data.source} ({num_examples:,} examples -> {shape})"
  )
  runtime.log(
      f"workdir {fs.absolute(workdir)}: checkpoints/, samples/, "
      "metrics.jsonl, metrics.png, tensorboard/"
  )
  if exp.schedule is not None:
    runtime.log(f"progressive stages: {exp.schedule.describe()}")


def format_eta(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
  """The progress line of a log step, with the rate since the last one."""

  def __init__(self, exp: Experiment, start_step: int):
    self.num_steps = exp.train.num_steps
    self.images_per_step = exp.train.d_steps * exp.train.batch_size
    # D's outputs are probabilities for the cross-entropy losses only.
    self.labels = (
        ("D(x)", "D(G(z))") if exp.loss.probability else ("D_real", "D_fake")
    )
    self.last_time, self.last_step = None, start_step

  def line(self, step: int, values: dict[str, float]) -> str:
    """Adds img_per_sec and steps_per_sec to `values` (after the first log
    step) and returns the line to print."""
    now = time.perf_counter()
    rate = ""
    if self.last_time is not None:
      seconds = now - self.last_time
      steps_s = (step - self.last_step) / seconds
      img_s = steps_s * self.images_per_step
      values["img_per_sec"], values["steps_per_sec"] = img_s, steps_s
      rate = (
          f" | {img_s:,.0f} img/s, {steps_s:.2f} steps/s | ETA "
          f"{format_eta((self.num_steps - step) / steps_s)}"
      )
    self.last_time, self.last_step = now, step
    get = lambda k: values.get(k, math.nan)
    real, fake = self.labels
    return (
        f"step {step}/{self.num_steps} | d_loss {get('d_loss'):.3f} "
        f"g_loss {get('g_loss'):.3f} {real} {get('d_real'):.2f} {fake} "
        f"{get('d_fake'):.2f}{rate}"
    )
