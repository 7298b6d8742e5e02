"""The FID Inception weights: conversion from pytorch-fid's file, and loading.

The weights everyone's FID numbers come from are TTUR's
`inception-2015-12-05` graph; pytorch-fid publishes them as a PyTorch state
dict, `pt_inception-2015-12-05-6726825d.pth` (6726825d: the start of its
SHA-256). jaxgan cannot download it here; on a machine that has it:

  pip install torch   # only to read the .pth; a .npz of the same keys needs none
  python -m jaxgan.inception_weights --src=pt_inception-2015-12-05-6726825d.pth \
      --out=inception_fid.msgpack

writes the Flax variables of `jaxgan.models.inception.InceptionV3` (conv kernels
OIHW -> HWIO, batch-norm scale/bias/mean/var, the 2048 x 1008 fc) as a msgpack
file with a `.json` beside it (source file, its SHA-256, the converted file's
SHA-256) with `write`. Point `eval.inception` (or $JAXGAN_INCEPTION) at the
.msgpack and set `eval.extractor='inception'` to log FID and IS.
"""

import hashlib
import json
import os
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization, traverse_util

from jaxgan.core import fs
from jaxgan.core.errors import UserError
from jaxgan.models import inception

PTH_SHA256_PREFIX = "6726825d"


def template() -> dict[str, Any]:
  """Shapes of the model's variables ({'params', 'batch_stats'}), no compute."""
  return jax.eval_shape(
      inception.InceptionV3().init,
      jax.random.PRNGKey(0),
      jnp.zeros((1, 32, 32, 3), jnp.uint8),
  )


# Last part of a torch key -> (collection, flax leaf name, transform).
_LEAVES = {
    ("conv", "weight"): ("params", "kernel", lambda w: w.transpose(2, 3, 1, 0)),
    ("bn", "weight"): ("params", "scale", lambda w: w),
    ("bn", "bias"): ("params", "bias", lambda w: w),
    ("bn", "running_mean"): ("batch_stats", "mean", lambda w: w),
    ("bn", "running_var"): ("batch_stats", "var", lambda w: w),
    ("fc", "weight"): ("params", "kernel", lambda w: w.T),
    ("fc", "bias"): ("params", "bias", lambda w: w),
}


def convert(state_dict: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """pytorch-fid's FID Inception state dict -> Flax variables (float32)."""
  want = traverse_util.flatten_dict(template())
  flat = {}
  for key, value in state_dict.items():
    parts = key.split(".")
    if parts[-1] == "num_batches_tracked" or parts[0] == "AuxLogits":
      continue
    rule = _LEAVES.get(tuple(parts[-2:]))
    if rule is None:
      raise UserError(
          f"unexpected tensor {key!r}: not a FID Inception state "
          "dict (pt_inception-2015-12-05)"
      )
    collection, leaf, transform = rule
    path = (collection, *parts[:-1], leaf)
    if path not in want:
      raise UserError(f"tensor {key!r} has no place in the model ({path})")
    array = np.asarray(transform(np.asarray(value)), np.float32)
    if array.shape != want[path].shape:
      raise UserError(
          f"tensor {key!r} has shape {np.shape(value)}; the model "
          f"needs {want[path].shape} after conversion"
      )
    flat[path] = array
  missing = sorted(set(want) - set(flat))
  if missing:
    raise UserError(
        f"{len(missing)} tensors missing from the state dict, "
        f"e.g. {'.'.join(missing[0][1:])}"
    )
  return traverse_util.unflatten_dict(flat)


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """A .pth (needs torch) or .npz file of the PyTorch tensors by name."""
  if path.endswith(".npz"):
    with np.load(path) as data:
      return {k: data[k] for k in data.files}
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise UserError(
        f"reading {path} needs PyTorch (pip install torch), or "
        "give a .npz of the same tensors"
    ) from None
  state = torch.load(path, map_location="cpu", weights_only=True)
  return {k: v.numpy() for k, v in state.items()}


def sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def write(variables: dict[str, Any], out: str, source: str) -> dict[str, Any]:
  raw = serialization.to_bytes(variables)
  fs.write_bytes(out, raw)
  meta = {
      "source": os.path.basename(source),
      "source_sha256": sha256(source),
      "sha256": hashlib.sha256(raw).hexdigest(),
      "model": "jaxgan.models.inception.InceptionV3",
  }
  fs.write_bytes(out + ".json", json.dumps(meta, indent=2).encode())
  return meta


def load(path: str) -> tuple[dict[str, Any], str]:
  """(variables, sha256) of a converted weights file."""
  if not os.path.isfile(path):
    raise UserError(
        f"no Inception weights at {path}; convert pytorch-fid's "
        "pt_inception-2015-12-05-6726825d.pth with python -m "
        "jaxgan.inception_weights"
    )
  with open(path, "rb") as f:
    raw = f.read()
  shapes = template()
  zeros = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes)
  try:
    variables = serialization.from_bytes(zeros, raw)
  except Exception as e:  # pylint: disable=broad-except
    raise UserError(
        f"{path} is not a converted Inception weights file "
        f"({type(e).__name__}: {e})"
    ) from None
  return variables, hashlib.sha256(raw).hexdigest()
