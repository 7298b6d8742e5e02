"""A run's directory: its config, its checkpoints, and loading it back.

The one module that knows the workdir's layout and the compatibility of a
saved config with the current code:

- `config.json` holds the config a run started with; `load_config` lays it
  over the current defaults (jaxgan/experiment/defaults.py), so keys added since
  the run was saved take their default and nobody needs
  `config.get(key, default)`.
- `check` compares a resuming run's config (its JSON,
  `Experiment.config_json`) with the saved one: changed keys
  are reported, and a change to a key that fixes the shapes of the saved state
  (`SHAPE_KEYS`) is refused, since its checkpoints could not be restored.
- `load_run` rebuilds a run's experiment and restores a checkpoint, for
  `jaxgan.sample`, `jaxgan.evaluate` and the tests; the saved config is
  read here and by experiment.build only.
"""

import dataclasses
import json
import os
import sys
from typing import Any

import ml_collections

from jaxgan.core import fs, runtime
from jaxgan.experiment import checkpoint, defaults, builder as experiment
from jaxgan.experiment import settings
from jaxgan.core.errors import UserError, os_errors, writing

CONFIG = "config.json"
CHECKPOINTS = "checkpoints"
BEST = "best"

# Config keys that fix the shapes of the saved state: a run cannot resume
# from a checkpoint written with other values.
SHAPE_KEYS = (
    "model.name",
    "model.z_dim",
    "model.g_width",
    "model.d_width",
    "model.fc_hidden",
    "model.d_norm",
    "model.d_spectral_norm",
    "model.d_minibatch_std",
    "model.d_pack",
    "model.g_spectral_norm",
    "model.attention_res",
    "model.shared_dim",
    "optim.name",
    "optim.schedule",
    "data.image_size",
    "data.channels",
    "model.conditioning",
    "model.num_classes",
    "model.info_categorical",
    "model.info_continuous",
)


def checkpoints_dir(workdir: str, subdir: str = CHECKPOINTS) -> str:
  return os.path.join(workdir, subdir)


def overlay(
    base: ml_collections.ConfigDict, saved: dict[str, Any]
) -> ml_collections.ConfigDict:
  """`base` with every value of the nested dict `saved` laid over it."""
  for key, value in saved.items():
    node = base.get(key) if key in base else None
    if isinstance(value, dict) and isinstance(node, ml_collections.ConfigDict):
      overlay(node, value)
      continue
    with base.ignore_type():
      base[key] = value
  return base


def _read_saved(path) -> dict[str, Any]:
  try:
    saved = json.loads(path.read_text())
    if not isinstance(saved, dict):
      raise ValueError("not a JSON object")
  except (OSError, ValueError) as e:
    raise UserError(
        f"{path} is not a readable config ({e}); restore it or "
        "use a new --workdir"
    ) from None
  return saved


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config saved in <workdir>/config.json, over the current defaults."""
  with os_errors(f"--workdir={workdir}"):
    path = fs.path(workdir) / CONFIG
    if not path.is_file():
      raise UserError(
          f"--workdir={workdir} has no {CONFIG}; give the workdir "
          "of a jaxgan training run"
      )
    return overlay(defaults.get_config(), _read_saved(path))


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


def _as_dict(config: ml_collections.ConfigDict) -> dict[str, Any]:
  return json.loads(config.to_json_best_effort())


def check(config_json: str, workdir: str) -> bool:
  """Checks `workdir` for the config of JSON `config_json`
  (Experiment.config_json) without writing; returns whether config.json
  is new.

  On resume, changed keys are reported; changed shape keys are refused,
  since the checkpoints could not be restored into this model.
  """
  if not workdir:
    raise UserError(
        "--workdir is empty; give a directory, e.g. " "--workdir=runs/NAME"
    )
  with os_errors(f"--workdir={workdir}"):
    root = fs.path(workdir)
    if root.exists() and not root.is_dir():
      raise UserError(f"--workdir={workdir} is a file; give a directory")
    if not fs.is_remote(workdir):
      parent = os.path.dirname(os.path.abspath(workdir))
      while not os.path.exists(parent):
        parent = os.path.dirname(parent)
      if not os.path.isdir(parent):
        raise UserError(
            f"--workdir={workdir} cannot be created: {parent} is "
            "a file; give another directory"
        )
    path = root / CONFIG
    if not path.exists():
      return True
    previous = _as_dict(overlay(defaults.get_config(), _read_saved(path)))
  current = json.loads(config_json)
  changed = sorted(_diff(previous, current))
  shape_changes = [k for k in changed if k in SHAPE_KEYS]
  if shape_changes:
    k = shape_changes[0]
    raise UserError(
        f"--workdir={workdir} holds a run with {k}={_get(previous, k)!r}, "
        f"this config has {k}={_get(current, k)!r} (changed: "
        f"{', '.join(shape_changes)}); its checkpoints cannot be restored "
        "into this model: use a new --workdir or the run's values"
    )
  if changed:
    runtime.log(
        f"note: config differs from {path} in: {', '.join(changed)} "
        "(the saved config is kept)"
    )
  return False


def create(workdir: str) -> None:
  """Makes the workdir (and its parents); a one-line error if it cannot."""
  with os_errors(f"--workdir={workdir} cannot be created"):
    fs.path(workdir).mkdir(parents=True, exist_ok=True)


def write_config(config_json: str, workdir: str) -> None:
  """<workdir>/config.json of the config of JSON `config_json`
  (Experiment.config_json)."""
  with writing(os.path.join(workdir, CONFIG)):
    fs.write_bytes(
        os.path.join(workdir, CONFIG),
        json.dumps(json.loads(config_json), indent=2, sort_keys=True).encode(),
    )


def make_checkpointer(
    checkpoints: settings.Checkpoint, workdir: str
) -> checkpoint.Checkpointer:
  """The run's rolling checkpoints, as `checkpoint.*` says."""
  with os_errors(f"--workdir={workdir}"):
    return checkpoint.Checkpointer(
        checkpoints_dir(workdir),
        every_steps=checkpoints.every_steps,
        max_to_keep=checkpoints.max_to_keep,
        async_save=checkpoints.async_save,
    )


@dataclasses.dataclass(frozen=True)
class Run:
  """A run loaded back: its experiment and a restored state."""

  experiment: experiment.Experiment
  state: Any
  step: int


def load_run(
    workdir: str, step: int | None = None, *, subdir: str = CHECKPOINTS
) -> Run:
  """A run's experiment (on all devices) and checkpoint state.

  Args:
    workdir: the run's directory.
    step: the checkpoint step; None: the newest that restores (corrupt newer
      ones are reported and left in place).
    subdir: 'checkpoints', or 'best' for the best checkpoint.
  """
  exp = experiment.build(load_config(workdir), runtime.make_mesh())
  with os_errors(f"--workdir={workdir}"):
    ckpt = checkpoint.Checkpointer(
        checkpoints_dir(workdir, subdir), every_steps=1, max_to_keep=None
    )
  try:
    steps = ckpt.all_steps()
    if not steps:
      raise UserError(
          f"--workdir={workdir} has no checkpoint yet; train " "first"
      )
    if step is not None and step not in steps:
      raise UserError(f"--step={step} is not among the checkpoints {steps}")
    if step is None:
      state, step, notes = ckpt.restore_latest(
          exp.abstract_state, move_corrupt=False
      )
      for note in notes:
        print(f"note: {note}", file=sys.stderr)
    else:
      state = ckpt.restore(exp.abstract_state, step)
  except checkpoint.CorruptCheckpoint as e:
    raise UserError(
        f"checkpoint {ckpt.directory}/{step} is corrupt ({e}); "
        "give another --step"
    ) from None
  finally:
    ckpt.close()
  return Run(exp, state, step)


def untrained_run(workdir: str) -> Run:
  """A run's experiment with the generator as initialised."""
  exp = experiment.build(load_config(workdir), runtime.make_mesh())
  return Run(exp, exp.initial_state(), 0)
