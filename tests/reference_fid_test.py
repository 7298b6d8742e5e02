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

The references are installed by `bash scripts/setup.sh --test`
(scripts/reference-requirements.txt), outside jaxgan's dependencies.
"""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jaxgan import extractors
from jaxgan.metrics import fid, kid
from tests.conftest import ROOT, cpu_env
from tests.inception_test import _torch_state_dict

try:
  import torch  # pylint: disable=g-import-not-at-top
except ImportError as e:  # Not skipped: CI must run these comparisons.
  raise ImportError(
      "the reference FID implementations are not installed: bash "
      "scripts/setup.sh --test installs them "
      "(scripts/reference-requirements.txt)"
  ) from e


def _import_torchvision():
  """Imports torchvision, which pytorch-fid and torch-fidelity build on.

  PyPI's torchvision is a CUDA build: against torch's CPU build (what the
  project's machines install) its C++ ops do not load, and torchvision then
  fails on import where it registers fake kernels for two of them (nms and
  qnms) without checking. Declaring those two schemas first lets it import;
  the Inception path never calls them. With a matching build nothing is
  declared.
  """
  try:
    import torchvision  # pylint: disable=g-import-not-at-top,unused-import
  except RuntimeError as e:
    if "torchvision::nms does not exist" not in str(e):
      raise
    for name in [m for m in sys.modules if m.startswith("torchvision")]:
      del sys.modules[name]
    lib = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
      lib.define(
          f"{op}(Tensor dets, Tensor scores, float iou_threshold) " "-> Tensor"
      )
    import torchvision  # pylint: disable=g-import-not-at-top,unused-import

    globals()["_TORCHVISION_OPS"] = lib  # Kept alive with the module.


_import_torchvision()
# One worker runs them all: the weights, images and features are made once.
pytestmark = pytest.mark.xdist_group("reference_fid")
NUM_IMAGES = 48  # Per set.
WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"


def _images(seed: int, shift: float) -> np.ndarray:
  """uint8 (N, 32, 32, 3): smooth random colour fields plus noise, brighter
  by `shift` (two sets of different statistics)."""
  rng = np.random.default_rng(seed)
  coarse = rng.uniform(0, 1, (NUM_IMAGES, 4, 4, 3))
  field = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)
  noise = rng.normal(0, 0.15, field.shape)
  return np.clip((field * 0.7 + shift + noise) * 255, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """The random weights in the reference format, jaxgan's conversion of
  them, and two folders of PNG images."""
  root = tmp_path_factory.mktemp("reference")
  state = {
      k: torch.from_numpy(np.asarray(v))
      for k, v in _torch_state_dict(seed=3, gain=np.sqrt(2.0)).items()
  }
  hub = root / "torch" / "hub" / "checkpoints"
  hub.mkdir(parents=True)
  torch.save(state, hub / WEIGHTS)
  converted = root / "inception.msgpack"
  result = subprocess.run(
      [
          sys.executable,
          "-m",
          "jaxgan.inception_weights",
          f"--src={hub / WEIGHTS}",
          f"--out={converted}",
      ],
      cwd=ROOT,
      env=cpu_env(),
      capture_output=True,
      text=True,
      timeout=300,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  sets = {}
  for name, (seed, shift) in {"a": (0, 0.0), "b": (1, 0.2)}.items():
    images = _images(seed, shift)
    folder = root / name
    folder.mkdir()
    for i, image in enumerate(images):
      Image.fromarray(image).save(folder / f"{i:03d}.png")
    sets[name] = (folder, images)
  return {
      "root": root,
      "pth": hub / WEIGHTS,
      "converted": converted,
      "sets": sets,
  }


def _relative(ours: np.ndarray, theirs: np.ndarray) -> float:
  return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def test_features_and_logits_equal_pytorch_fids(reference, monkeypatch):
  from pytorch_fid import inception as pf  # pylint: disable=g-import-not-at-top

  monkeypatch.setenv("TORCH_HOME", str(reference["root"] / "torch"))
  blocks = pf.InceptionV3([pf.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
  fc = pf.fid_inception_v3().eval().fc  # The same file, loaded again.
  images = reference["sets"]["a"][1][:16]
  with torch.no_grad():
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    pool = blocks(x)[0][:, :, 0, 0]
    logits = fc(pool)
  ours = extractors.InceptionExtractor(str(reference["converted"]))
  features, our_logits = ours(images)
  assert np.abs(pool.numpy()).max() > 1e-3  # Not vanishing activations.
  print(
      f"relative difference: features {_relative(features, pool.numpy()):.2e}"
      f", logits {_relative(our_logits, logits.numpy()):.2e}"
  )
  assert _relative(features, pool.numpy()) <= 1e-4
  assert _relative(our_logits, logits.numpy()) <= 1e-4


def _ours(reference, protocol: str) -> tuple[np.ndarray, np.ndarray]:
  """jaxgan's pool3 features of both sets (computed once per protocol)."""
  cache = reference.setdefault("features", {})
  if protocol not in cache:
    extractor = extractors.InceptionExtractor(
        str(reference["converted"]), protocol
    )
    cache[protocol] = tuple(
        extractor(reference["sets"][k][1])[0] for k in ("a", "b")
    )
  return cache[protocol]


def test_fid_equals_pytorch_fids_whole_path(reference, monkeypatch):
  from pytorch_fid import fid_score  # pylint: disable=g-import-not-at-top

  monkeypatch.setenv("TORCH_HOME", str(reference["root"] / "torch"))
  theirs = fid_score.calculate_fid_given_paths(
      [str(reference["sets"][k][0]) for k in ("a", "b")],
      batch_size=16,
      device="cpu",
      dims=2048,
      num_workers=0,
  )
  a, b = _ours(reference, "pytorch_fid")
  ours = fid.frechet_distance_of_features(a, b)
  assert theirs > 1.0  # Two different sets: the comparison is not at 0.
  print(f"FID pytorch-fid {theirs:.6f}, jaxgan {ours:.6f}")
  assert abs(ours - theirs) <= 1e-3 * theirs, (ours, theirs)


def test_fid_and_kid_equal_torch_fidelitys_whole_path(reference):
  import torch_fidelity  # pylint: disable=g-import-not-at-top

  theirs = torch_fidelity.calculate_metrics(
      input1=str(reference["sets"]["a"][0]),
      input2=str(reference["sets"]["b"][0]),
      fid=True,
      kid=True,
      kid_subset_size=NUM_IMAGES,
      feature_extractor_weights_path=str(reference["pth"]),
      cuda=False,
      cache=False,
      save_cpu_ram=True,  # No worker processes forked from a JAX process.
      verbose=False,
      batch_size=16,
  )
  a, b = _ours(reference, "torch_fidelity")
  ours_fid = fid.frechet_distance_of_features(a, b)
  # Subsets of all samples: every subset is the whole set, so the mean is
  # the unbiased MMD^2 of the sets whatever either library's random draws.
  ours_kid, _ = kid.kid(a, b, subset_size=NUM_IMAGES, num_subsets=3)
  fid_ref = theirs["frechet_inception_distance"]
  kid_ref = theirs["kernel_inception_distance_mean"]
  assert fid_ref > 1.0 and kid_ref > 1e-3
  print(
      f"torch-fidelity FID {fid_ref:.6f} KID {kid_ref:.8f}; jaxgan FID "
      f"{ours_fid:.6f} KID {ours_kid:.8f}"
  )
  assert abs(ours_fid - fid_ref) <= 1e-3 * fid_ref, (ours_fid, fid_ref)
  assert abs(ours_kid - kid_ref) <= 1e-3 * kid_ref, (ours_kid, kid_ref)


def test_the_protocols_differ_where_the_references_do(reference):
  # torch-fidelity resizes as TensorFlow 1 did, pytorch-fid with half-pixel
  # centres: on 32x32 inputs the features differ, so matching each reference
  # with its own protocol is a real check of both resizes.
  a_fid, _ = _ours(reference, "pytorch_fid")
  a_tf, _ = _ours(reference, "torch_fidelity")
  assert _relative(a_fid, a_tf) > 1e-3
