"""Training loop: state, data, compiled step, logs, samples and checkpoints.

`train_and_evaluate(config, workdir)` is the whole program behind
`python -m jaxgan.main`. It restores the latest checkpoint of `workdir` when
there is one, so running the same command again continues a stopped run with
the same step count and data order.
"""

import functools
import json
import math
from math import nan
import os
import signal
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from jaxgan import checkpoint as ckpt_lib
from jaxgan import evaluation, fs
from jaxgan import images as image_lib
from jaxgan import latent, losses, models, runtime, state as state_lib
from jaxgan import step as step_lib
from jaxgan import writers
from jaxgan.data import pipeline, sources
from jaxgan.errors import UserError
from jaxgan.metrics import modes
from jaxgan.models import conditioning
from jaxgan.validate import validate_config


def build(config: ml_collections.ConfigDict, mesh, *,
          abstract: bool = False) -> dict[str, Any]:
  """Models, optimisers, the initial (replicated) state and the step.

  With `abstract`, the state is only its shapes, dtypes and shardings
  (`jax.ShapeDtypeStruct`s; nothing is computed), e.g. for compiling ahead
  of time for devices this machine does not have (jaxgan/aot.py).
  """
  bn_axis = step_lib.AXIS if config.model.bn_cross_device else None
  generator, discriminator = models.get_models(config, bn_axis_name=bn_axis)
  g_tx, d_tx = state_lib.make_optimizers(config)
  loss = losses.get_loss(config.loss)
  cond = conditioning.from_config(config)
  init = jax.jit(
      functools.partial(state_lib.init_state, generator=generator,
                        discriminator=discriminator, g_tx=g_tx, d_tx=d_tx,
                        z_dim=latent.input_dim(config.model.z_dim, cond),
                        data_shape=sources.data_shape(config.data),
                        loss_state=loss.init_state(), labelled=cond.labelled),
      out_shardings=runtime.replicated(mesh))
  key = jax.random.PRNGKey(config.seed)
  state = init.eval_shape(key) if abstract else init(key)
  train_step = step_lib.make_train_step(config, mesh, generator, discriminator,
                                        g_tx, d_tx, loss)
  return dict(generator=generator, discriminator=discriminator, state=state,
              train_step=train_step, loss=loss)


def make_sampler(generator, config) -> Any:
  """jit(state, z, labels=None) -> [-1, 1] images from the EMA (or live)
  generator; z carries the InfoGAN codes, labels (N,) the classes of a
  class-conditional model (required there)."""
  use_ema = config.model.ema_decay > 0

  @jax.jit
  def sample(state, z, labels=None):
    params = state.ema_params if use_ema else state.g_params
    stats = state.ema_batch_stats if use_ema else state.g_batch_stats
    variables = {"params": params}
    if stats:
      variables["batch_stats"] = stats
    kwargs = {"labels": labels} if labels is not None else {}
    return generator.apply(variables, z, train=False, **kwargs)
  return sample


def make_code_classifier(discriminator, config) -> Any:
  """jit(state, uint8 images) -> InfoGAN's categorical code as D's Q head
  reads it from the images (argmax), or None for models without one (or
  with class labels, which D would also see)."""
  cond = conditioning.from_config(config)
  if not cond.info_categorical or cond.labelled:
    return None

  @jax.jit
  def classify(state, images):
    _, _, sown = step_lib.apply_model(
        discriminator, state.d_params, state.d_batch_stats,
        step_lib.to_model_input(images), train=False, collect=("info",))
    return jnp.argmax(sown["info"][:, :cond.info_categorical], axis=-1)
  return classify


# Config keys that fix the shapes of the saved state: a run cannot resume
# from a checkpoint written with other values.
SHAPE_KEYS = ("model.name", "model.z_dim", "model.g_width", "model.d_width",
              "model.d_norm", "model.d_spectral_norm", "model.d_minibatch_std",
              "optim.name", "optim.schedule", "data.image_size",
              "data.channels", "model.conditioning", "model.num_classes",
              "model.info_categorical", "model.info_continuous")
# Shape keys added after the first release, with the value older runs had.
ADDED_KEYS = {"model.conditioning": "none", "model.num_classes": 10,
              "model.info_categorical": 0, "model.info_continuous": 0}


def _check_workdir(config, workdir: str) -> bool:
  """Checks `workdir` without writing; returns whether config.json is new.

  On resume, changed keys are reported; changed shape keys are refused,
  since the checkpoints could not be restored into this model.
  """
  if not workdir:
    raise UserError("--workdir is empty; give a directory, e.g. "
                    "--workdir=runs/NAME")
  root = fs.path(workdir)
  if root.exists() and not root.is_dir():
    raise UserError(f"--workdir={workdir} is a file; give a directory")
  if not fs.is_remote(workdir):
    parent = os.path.dirname(os.path.abspath(workdir))
    while not os.path.exists(parent):
      parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
      raise UserError(f"--workdir={workdir} cannot be created: {parent} is "
                      "a file; give another directory")
  path = root / "config.json"
  if not path.exists():
    return True
  try:
    previous = json.loads(path.read_text())
    if not isinstance(previous, dict):
      raise ValueError("not a JSON object")
    for key, value in ADDED_KEYS.items():  # Runs saved before these keys.
      node = previous.get(key.split(".")[0])
      if isinstance(node, dict):
        node.setdefault(key.split(".")[1], value)
  except (OSError, ValueError) as e:
    raise UserError(f"{path} is not a readable config ({e}); restore it or "
                    "use a new --workdir") from None
  current = json.loads(config.to_json_best_effort())
  changed = sorted(_diff(previous, current))
  shape_changes = [k for k in changed if k in SHAPE_KEYS]
  if shape_changes:
    k = shape_changes[0]
    raise UserError(
        f"--workdir={workdir} holds a run with {k}={_get(previous, k)!r}, "
        f"this config has {k}={_get(current, k)!r} (changed: "
        f"{', '.join(shape_changes)}); its checkpoints cannot be restored "
        "into this model: use a new --workdir or the run's values")
  if changed:
    runtime.log(f"note: config differs from {path} in: {', '.join(changed)} "
                "(the saved config is kept)")
  return False


def _write_config(config, workdir: str) -> None:
  fs.write_bytes(os.path.join(workdir, "config.json"), json.dumps(
      json.loads(config.to_json_best_effort()), indent=2,
      sort_keys=True).encode())


def _get(tree: dict, dotted: str):
  for part in dotted.split("."):
    tree = tree.get(part) if isinstance(tree, dict) else None
  return tree


def _diff(a, b, prefix=""):
  if isinstance(a, dict) and isinstance(b, dict):
    for k in set(a) | set(b):
      yield from _diff(a.get(k), b.get(k), f"{prefix}{k}.")
  elif a != b:
    yield prefix[:-1]


class _StopRequest:
  """Turns SIGINT/SIGTERM into a flag the loop checks after each step.

  Installed until the last checkpoint is written and closed, so a second
  signal during that save only prints a line; kill -9 still ends the
  process, and the previous checkpoints stay restorable.
  """

  def __init__(self):
    self.requested = False
    self._previous = {}

  def __enter__(self):
    for sig in (signal.SIGINT, signal.SIGTERM):
      self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    if self.requested:
      print(f"\n{name}: already stopping; waiting for the checkpoint to be "
            "written (kill -9 would keep only the previous one)", flush=True)
    else:
      print(f"\n{name}: stopping after this step and saving a checkpoint",
            flush=True)
    self.requested = True

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


class _Health:
  """Reads `TrainState.health` at log and checkpoint steps (no other
  device-to-host transfer) and acts on new non-finite iterations."""

  def __init__(self, state, skip: bool):
    self.skip = skip
    self.seen = int(jax.device_get(state.health["nonfinite_steps"]))
    self.baseline = self.seen
    self.checked_step = int(jax.device_get(state.step))

  def check(self, state, step: int, last_saved: int | None) -> int:
    """Raises FloatingPointError (mode 'stop') or warns (mode 'skip') when
    iterations since the last check had a NaN/Inf; returns the count."""
    h = {k: int(v) for k, v in jax.device_get(state.health).items()}
    new = h["nonfinite_steps"] - self.seen
    since, self.checked_step = self.checked_step, step
    self.seen = h["nonfinite_steps"]
    if new <= 0:
      return h["nonfinite_steps"]
    if self.skip:
      names = ", ".join(step_lib.describe_mask(h["last_mask"]))
      runtime.log(f"warning: {new} iteration(s) in steps {since + 1}-{step} had a "
                  f"non-finite {names} (last at step {h['last_step']}); their "
                  "updates were skipped (train.on_nonfinite='skip')")
      return h["nonfinite_steps"]
    first = self.baseline == 0
    at = h["first_step"] if first else h["last_step"]
    names = ", ".join(step_lib.describe_mask(
        h["first_mask"] if first else h["last_mask"]))
    kept = (f"checkpoint step {last_saved} is kept" if last_saved is not None
            else "no checkpoint was written")
    raise FloatingPointError(
        f"non-finite {names} at step {at} (caught at step {step}; {new} bad "
        f"iteration(s) in steps {since + 1}-{step}); training stopped and "
        f"{kept}: lower the learning rates, check the data, or set "
        "--config.train.on_nonfinite=skip")


def _regularizers(config) -> str:
  """' + r1 + spectral norm ...' for the start-up line."""
  parts = []
  if config.penalty.name != "none":
    parts.append(f"{config.penalty.name} penalty x{config.penalty.weight:g}"
                 + (f" every {config.penalty.every}"
                    if config.penalty.every > 1 else ""))
  for key, label in (("weight_clip", "weight clip"),
                     ("label_smoothing", "label smoothing"),
                     ("feature_matching", "feature matching")):
    if config.loss[key]:
      parts.append(f"{label} {config.loss[key]:g}")
  if config.model.d_spectral_norm:
    parts.append("spectral norm")
  if config.model.d_minibatch_std:
    parts.append("minibatch stddev")
  cond = conditioning.from_config(config)
  if cond.labelled:
    parts.append(f"{cond.mode} conditioning on {cond.num_classes} classes")
  if cond.info:
    codes = [f"{cond.info_categorical}-way" if cond.info_categorical else "",
             f"{cond.info_continuous} continuous"
             if cond.info_continuous else ""]
    parts.append(f"InfoGAN codes ({' + '.join(c for c in codes if c)}) x"
                 f"{config.loss.info_weight:g}")
  return "".join(f" + {p}" for p in parts)


def _format_eta(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def train_and_evaluate(config: ml_collections.ConfigDict,
                       workdir: str) -> state_lib.TrainState:
  """Trains until `config.train.num_steps`; returns the final state.

  Everything that can be wrong with the config, the data, the workdir or its
  checkpoints is found (`UserError`) before anything in the workdir is
  written.
  """
  validate_config(config, jax.device_count())
  mesh = runtime.make_mesh()
  per_process_batch, per_device_batch = runtime.batch_sizes(
      config.train.batch_size)
  source = sources.get_source(config.data)
  pipeline.check_source(source, config.data, config.train.batch_size,
                        conditioning.from_config(config).num_classes)
  new_config = _check_workdir(config, workdir)
  ckpt_dir = os.path.join(workdir, "checkpoints")
  evaluator, extractor_path = None, evaluation.extractor_path(config)
  if extractor_path:
    evaluator = evaluation.Evaluator(
        config, extractor_path,
        num_samples=config.eval.num_samples,
        reference_split=config.eval.reference_split,
        kind=config.eval.extractor)

  built = build(config, mesh)
  state, train_step = built["state"], built["train_step"]
  notes, restored_step, checkpointer = [], None, None
  if fs.path(ckpt_dir).exists():
    checkpointer = _make_checkpointer(config, ckpt_dir)
    state, restored_step, notes = checkpointer.restore_latest(state)
  # Nothing in the workdir has been written before this point.
  fs.path(workdir).mkdir(parents=True, exist_ok=True)
  if new_config and runtime.is_writer():
    _write_config(config, workdir)
  if checkpointer is None:
    checkpointer = _make_checkpointer(config, ckpt_dir)
  writer = writers.Writer(workdir, enabled=runtime.is_writer())
  with _StopRequest() as stop:
    try:
      return _train(config, workdir, state, train_step, built, source, mesh,
                    checkpointer, writer, stop, restored_step, notes,
                    per_process_batch, per_device_batch, evaluator)
    finally:
      checkpointer.close()
      writer.close()


class _Best:
  """The best checkpoint by `eval.primary`, kept in <workdir>/best/.

  The best value so far is read back from that checkpoint on resume, so an
  interrupted run keeps the same best checkpoint as an uninterrupted one.
  """

  def __init__(self, config, workdir: str, evaluator):
    self.key = config.eval.primary
    self.lower = evaluation.PRIMARY[self.key]
    self.value = None
    self._ckpt = None
    if evaluator is None:
      return
    self._ckpt = ckpt_lib.Checkpointer(os.path.join(workdir, "best"),
                                       every_steps=1, max_to_keep=1)
    step = self._ckpt.latest_step()
    info = self._ckpt.info(step) if step is not None else None
    if info is not None:
      self.value = info[self.key]

  def improves(self, metrics: dict[str, float]) -> bool:
    value = metrics[self.key]
    return self.value is None or (value < self.value if self.lower
                                  else value > self.value)

  def save(self, step: int, state, metrics: dict[str, float]) -> None:
    self.value = metrics[self.key]
    self._ckpt.save(step, state, force=True, info={"step": step, **metrics})
    self._ckpt.wait()
    runtime.log(f"best {self.key} so far ({self.value:.4f}): saved to "
                f"{self._ckpt.directory}")

  def close(self) -> None:
    if self._ckpt is not None:
      self._ckpt.close()


def _make_checkpointer(config, directory: str) -> ckpt_lib.Checkpointer:
  return ckpt_lib.Checkpointer(
      directory, every_steps=config.checkpoint.every_steps,
      max_to_keep=config.checkpoint.max_to_keep,
      async_save=config.checkpoint.async_save)


def _train(config, workdir, state, train_step, built, source, mesh,
           checkpointer, writer, stop, restored_step, notes,
           per_process_batch, per_device_batch,
           evaluator) -> state_lib.TrainState:
  """The loop of `train_and_evaluate`, from a built (or restored) state."""
  start_step = int(jax.device_get(state.step))
  k = config.train.d_steps
  num_steps = config.train.num_steps

  runtime.log(f"jaxgan: {jax.device_count()} {jax.devices()[0].platform} device(s) "
              f"over {jax.process_count()} process(es); global batch "
              f"{config.train.batch_size}, per process {per_process_batch}, per "
              f"device {per_device_batch}; {k} D step(s) per G step")
  shape = "x".join(map(str, sources.data_shape(config.data)))
  runtime.log(f"model {config.model.name}: G {state_lib.param_count(state.g_params):,}"
              f" params, D {state_lib.param_count(state.d_params):,} params; loss "
              f"{config.loss.name}{_regularizers(config)}; data {config.data.source} "
              f"({len(source):,} examples -> {shape})")
  runtime.log(f"workdir {fs.absolute(workdir)}: checkpoints/, samples/, "
              "metrics.jsonl, tensorboard/")
  for note in notes:
    runtime.log(f"note: {note}")
  if restored_step is not None:
    runtime.log(f"resumed from checkpoint at step {restored_step}")
  if start_step >= num_steps:
    runtime.log(f"nothing to do: step {start_step} >= train.num_steps={num_steps}")
    return state

  cond = conditioning.from_config(config)
  dataset = pipeline.make_dataset(
      source, config.data, seed=config.seed,
      per_process_batch=per_process_batch,
      process_index=jax.process_index(), process_count=jax.process_count(),
      labels=cond.labelled)
  batches = pipeline.make_iterator(
      dataset, start=int(jax.device_get(state.data_pos)),
      steps_per_iteration=k, num_threads=config.data.num_threads,
      prefetch=config.data.prefetch)

  sample = make_sampler(built["generator"], config)
  points = sources.is_toy(config.data)
  mixture = sources.toy_mixture(config.data)
  # Toys: a scatter of eval.num_samples points; images: a grid.
  num_samples = (config.eval.num_samples if points
                 else config.train.num_sample_images)
  fixed_z = jax.device_put(
      latent.draw(jax.random.PRNGKey(config.seed + 1), num_samples,
                  config.model.z_dim, config.model.noise, cond),
      runtime.replicated(mesh))
  # Class-conditional grids: one class per row.
  fixed_labels = None
  if cond.labelled:
    fixed_labels = jax.device_put(
        latent.grid_labels(num_samples, cond.num_classes),
        runtime.replicated(mesh))

  def write_samples(state, step, name, filename):
    out = jax.device_get(sample(state, fixed_z, fixed_labels))
    if points:
      writer.image(step, name, image_lib.scatter_plot(out, mixture.centres),
                   filename)
    else:
      writer.image_grid(step, name, image_lib.to_uint8(out), filename)

  best = _Best(config, workdir, evaluator)
  classify_code = make_code_classifier(built["discriminator"], config)
  code_accuracy = None
  if classify_code is not None:
    code_accuracy = evaluation.CodeAccuracy(
        config, num_samples=config.eval.num_samples,
        reference_split=config.eval.reference_split)

  def evaluate(state, step):
    """Image metrics (with a classifier) or the 2-D toys' mode metrics."""
    if evaluator is not None:
      m = evaluator(sample, state, config, mesh)
      if code_accuracy is not None:
        m["info_accuracy"] = code_accuracy(classify_code, state)
      writer.scalars(step, m)
      runtime.log(f"eval step {step}: {evaluator.fd_label} {m['fd']:.3f}, "
                  f"KID {m['kid']:.4f}, classifier score "
                  f"{m['classifier_score']:.2f}, precision "
                  f"{m['precision']:.3f}, recall {m['recall']:.3f}, "
                  f"{m['class_coverage']} classes"
                  + evaluation.describe_extra(m))
      if best.improves(m):
        health.check(state, step, last_saved)  # Never keep a bad state.
        best.save(step, state, m)
      return
    if code_accuracy is not None:  # InfoGAN without a feature extractor.
      m = {"info_accuracy": code_accuracy(classify_code, state)}
      writer.scalars(step, m)
      runtime.log(f"eval step {step}: code accuracy {m['info_accuracy']:.3f}")
    if not points:
      return
    m = modes.mode_metrics(jax.device_get(sample(state, fixed_z, fixed_labels)),
                           mixture)
    # reverse_kl is undefined (inf) without any high-quality sample.
    writer.scalars(step, {k_: m[k_] for k_ in ("modes", "high_quality",
                                               "reverse_kl")
                          if math.isfinite(m[k_])})
    runtime.log(f"eval step {step}: {m['modes']}/{m['num_modes']} modes, "
                f"{100 * m['high_quality']:.1f}% high quality, reverse KL "
                f"{m['reverse_kl']:.3f}")

  if start_step == 0:
    if points:
      writer.image(0, "real", image_lib.scatter_plot(
          source.points[:num_samples], mixture.centres), "real.png")
    else:
      writer.image_grid(0, "real", pipeline.preview(source, config.data,
                                                    num_samples), "real.png")

  health = _Health(state, skip=config.train.on_nonfinite == "skip")
  last_saved = restored_step

  def save(state, step, force=False):
    """Saves `step` when due, after checking the state is finite."""
    nonlocal last_saved
    if checkpointer.due(step, force):
      health.check(state, step, last_saved)
      checkpointer.save(step, state, force=force)
      last_saved = step

  # D's outputs are probabilities for the cross-entropy losses only.
  real_label, fake_label = (
      ("D(x)", "D(G(z))") if built["loss"].probability
      else ("D_real", "D_fake"))
  last_log_time, last_log_step = None, start_step
  step = start_step
  while step < num_steps:
    try:
      batch = runtime.global_batch(next(batches), mesh)
    except UserError:
      # A bad example (e.g. an unreadable image): keep the work done so far.
      save(state, step, force=True)
      checkpointer.wait()
      raise
    state, metrics = train_step(state, batch, step)
    step += 1
    if step % config.train.log_every_steps == 0 or step == num_steps:
      values = {k_: float(v) for k_, v in jax.device_get(metrics).items()}
      values["nonfinite_steps"] = health.check(state, step, last_saved)
      values = {k_: v for k_, v in values.items() if math.isfinite(v)}
      now = time.perf_counter()
      rate = ""
      if last_log_time is not None:
        img_s = ((step - last_log_step) * k * config.train.batch_size
                 / (now - last_log_time))
        steps_s = (step - last_log_step) / (now - last_log_time)
        values["img_per_sec"], values["steps_per_sec"] = img_s, steps_s
        rate = (f" | {img_s:,.0f} img/s, {steps_s:.2f} steps/s | ETA "
                f"{_format_eta((num_steps - step) / steps_s)}")
      writer.scalars(step, values)
      runtime.log(f"step {step}/{num_steps} | d_loss {values.get('d_loss', nan):.3f}"
                  f" g_loss {values.get('g_loss', nan):.3f} {real_label} "
                  f"{values.get('d_real', nan):.2f} {fake_label} "
                  f"{values.get('d_fake', nan):.2f}{rate}")
      last_log_time, last_log_step = time.perf_counter(), step
    if step % config.train.sample_every_steps == 0 or step == num_steps:
      write_samples(state, step, "samples", f"step_{step:07d}.png")
    if ((config.eval.every_steps and step % config.eval.every_steps == 0)
        or step == num_steps):
      evaluate(state, step)
    save(state, step)
    if runtime.any_process(stop.requested):
      break
  save(state, step, force=True)
  checkpointer.wait()
  best.close()
  if step < num_steps:
    runtime.log(f"stopped at step {step}; checkpoint saved. Run the same command "
                "to continue.")
  else:
    runtime.log(f"done: {step} steps; checkpoints in {checkpointer.directory}")
  return state
