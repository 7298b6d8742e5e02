"""jaxgan's FID Inception, FID and KID against the reference implementations.

The real Inception weights cannot be downloaded here, so the weights are
random, written in the reference's own format (pytorch-fid's state dict,
which torch-fidelity's InceptionV3 loads too). The references load that file
as they would load the real one: pytorch-fid from torch hub's cache
($TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth, where it
would have downloaded it), torch-fidelity from `feature_extractor_weights_path`;
jaxgan converts the same file with `python -m jaxgan.inception_weights`.
Then:

- pool3 features and logits of one batch of uint8 images agree with
  pytorch-fid's network to a relative difference of 1e-4;
- FID between two folders of PNG images, through pytorch-fid's whole path
  (`calculate_fid_given_paths`), and FID and KID through torch-fidelity's
  (`calculate_metrics`, which resizes as TensorFlow 1 did), agree with
  jaxgan's (`eval.inception_protocol` 'pytorch_fid' and 'torch_fidelity')
  to 1e-3 relative.

The references run in a process of their own (tests/reference_fid_references.py)
and are installed by `bash scripts/setup.sh --test`
(scripts/reference-requirements.txt), outside jaxgan's dependencies.
"""

import fcntl
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jaxgan.metrics import extractors, inception_port
from jaxgan.metrics import fid, kid
from tests.conftest import ROOT, cpu_env
from tests.inception_test import _torch_state_dict

# Not skipped where they are missing: CI must run these comparisons.
for _name in ("torch", "pytorch_fid", "torch_fidelity"):
  if importlib.util.find_spec(_name) is None:
    raise ImportError(
        f"{_name} is not installed: bash scripts/setup.sh --test installs the "
        "reference FID implementations (scripts/reference-requirements.txt)"
    )

# Meant to keep the tests in one worker; pytest-xdist 3.8 under pytest 9.2
# does not (its loadgroup suffix to the node id is lost: the tests spread over
# the workers), so `reference` also shares its one build between workers.
pytestmark = pytest.mark.xdist_group("reference_fid")
# Per set: 16 images agree as closely as 32 did (FID 9e-7 relative, features
# 8e-7) and halve the work of both sides.
NUM_IMAGES = 16
SETS = {"a": (0, 0.0), "b": (1, 0.2)}  # name: (seed, brightness shift).
PROTOCOLS = ("pytorch_fid", "torch_fidelity")  # eval.inception_protocol


def _images(seed: int, shift: float) -> np.ndarray:
  """uint8 (N, 32, 32, 3): smooth random colour fields plus noise, brighter
  by `shift` (two sets of different statistics)."""
  rng = np.random.default_rng(seed)
  coarse = rng.uniform(0, 1, (NUM_IMAGES, 4, 4, 3))
  field = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)
  noise = rng.normal(0, 0.15, field.shape)
  return np.clip((field * 0.7 + shift + noise) * 255, 0, 255).astype(np.uint8)


def _build(root) -> None:
  """Writes into `root` the random weights, two folders of PNGs, the
  references' numbers (from their own process) and jaxgan's conversion of
  the weights; 'done' last."""
  state = _torch_state_dict(seed=3, gain=np.sqrt(2.0))
  np.savez(root / "state.npz", **state)
  for name, (seed, shift) in SETS.items():
    (root / name).mkdir(exist_ok=True)
    for i, image in enumerate(_images(seed, shift)):
      Image.fromarray(image).save(root / name / f"{i:03d}.png")
  np.save(root / "batch.npy", _images(*SETS["a"])[:16])
  result = subprocess.run(
      [
          sys.executable,
          str(ROOT / "tests" / "reference_fid_references.py"),
          str(root),
      ],
      cwd=ROOT,
      capture_output=True,
      text=True,
      timeout=900,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  result = subprocess.run(
      [
          sys.executable,
          "-m",
          "jaxgan.inception_weights",
          f"--src={root / 'state.npz'}",
          f"--out={root / 'inception.msgpack'}",
      ],
      cwd=ROOT,
      env=cpu_env(),
      capture_output=True,
      text=True,
      timeout=300,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  # jaxgan's side, computed here once for every test and worker: each
  # extraction of a set is seconds of Inception at 299x299 on a core.
  for protocol in PROTOCOLS:
    extractor = extractors.InceptionExtractor(
        str(root / "inception.msgpack"), protocol
    )
    for name, (seed, shift) in SETS.items():
      features, logits = extractor(_images(seed, shift))
      np.save(root / f"ours_{protocol}_{name}.npy", features)
      if protocol == "pytorch_fid" and name == "a":
        np.save(root / "ours_logits.npy", logits)
  (root / "done").touch()


# Session scope: built once per test process, not again each time the
# process comes back to this module (pytest-xdist interleaves modules).
@pytest.fixture(scope="session")
def reference(tmp_path_factory):
  """`_build`'s files, built once per run: under pytest-xdist the first
  worker to get here builds them in the run's shared temporary directory
  while the others wait on a lock, then read them."""
  if os.environ.get("PYTEST_XDIST_WORKER") is None:
    root = tmp_path_factory.mktemp("reference")
    _build(root)
  else:
    shared = tmp_path_factory.getbasetemp().parent  # pytest-N, this run's.
    root = shared / "reference"
    with open(shared / "reference.lock", "w") as lock:
      fcntl.flock(lock, fcntl.LOCK_EX)
      if not (root / "done").exists():
        root.mkdir(exist_ok=True)
        _build(root)
  return {
      "root": root,
      "converted": root / "inception.msgpack",
      "metrics": json.loads((root / "metrics.json").read_text()),
  }


def _relative(ours: np.ndarray, theirs: np.ndarray) -> float:
  return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def _ours(reference, protocol: str) -> tuple[np.ndarray, np.ndarray]:
  """jaxgan's pool3 features of both sets (computed once, by `_build`)."""
  root = reference["root"]
  return tuple(np.load(root / f"ours_{protocol}_{k}.npy") for k in "ab")


def test_the_converted_file_is_the_reference_file(reference):
  # The .npz the references saved as .pth and the converted .msgpack hold
  # the same tensors (the converter's layout changes undone).
  variables, _ = inception_port.load(str(reference["converted"]))
  with np.load(reference["root"] / "state.npz") as state:
    np.testing.assert_array_equal(
        variables["params"]["fc"]["kernel"], state["fc.weight"].T
    )


def test_features_and_logits_equal_pytorch_fids(reference):
  pool = np.load(reference["root"] / "pool.npy")
  logits = np.load(reference["root"] / "logits.npy")
  # jaxgan's on the whole set a, of which batch.npy is the first rows.
  features = _ours(reference, "pytorch_fid")[0][: len(pool)]
  our_logits = np.load(reference["root"] / "ours_logits.npy")[: len(pool)]
  assert np.abs(pool).max() > 1e-3  # Not vanishing activations.
  print(
      f"relative difference: features {_relative(features, pool):.2e}, "
      f"logits {_relative(our_logits, logits):.2e}"
  )
  assert _relative(features, pool) <= 1e-4
  assert _relative(our_logits, logits) <= 1e-4


def test_fid_equals_pytorch_fids_whole_path(reference):
  theirs = reference["metrics"]["pytorch_fid_fid"]
  a, b = _ours(reference, "pytorch_fid")
  ours = fid.frechet_distance_of_features(a, b)
  print(f"FID pytorch-fid {theirs:.6f}, jaxgan {ours:.6f}")
  assert theirs > 1.0  # Two different sets: the comparison is not at 0.
  assert abs(ours - theirs) <= 1e-3 * theirs, (ours, theirs)


def test_fid_and_kid_equal_torch_fidelitys_whole_path(reference):
  fid_ref = reference["metrics"]["torch_fidelity_fid"]
  kid_ref = reference["metrics"]["torch_fidelity_kid"]
  a, b = _ours(reference, "torch_fidelity")
  ours_fid = fid.frechet_distance_of_features(a, b)
  # Subsets of all samples: every subset is the whole set, so the mean is
  # the unbiased MMD^2 of the sets whatever either library's random draws.
  ours_kid, _ = kid.kid(a, b, subset_size=NUM_IMAGES, num_subsets=3)
  print(
      f"torch-fidelity FID {fid_ref:.6f} KID {kid_ref:.8f}; jaxgan FID "
      f"{ours_fid:.6f} KID {ours_kid:.8f}"
  )
  assert fid_ref > 1.0 and kid_ref > 1e-3
  assert abs(ours_fid - fid_ref) <= 1e-3 * fid_ref, (ours_fid, fid_ref)
  assert abs(ours_kid - kid_ref) <= 1e-3 * kid_ref, (ours_kid, kid_ref)


def test_the_protocols_differ_where_the_references_do(reference):
  # torch-fidelity resizes as TensorFlow 1 did, pytorch-fid with half-pixel
  # centres: on 32x32 inputs the features differ, so matching each reference
  # with its own protocol is a real check of both resizes.
  a_fid, _ = _ours(reference, "pytorch_fid")
  a_tf, _ = _ours(reference, "torch_fidelity")
  assert _relative(a_fid, a_tf) > 1e-3
