"""The reference side of tests/reference_fid_test.py, in a process of its own.

  python tests/reference_fid_references.py DIR

DIR holds `state.npz` (random Inception weights with pytorch-fid's names and
layouts), `a/` and `b/` (two folders of PNG images) and `batch.npy` (uint8
images). This writes the weights as pytorch-fid's file where torch hub would
have downloaded it ($TORCH_HOME = DIR/torch), loads them with pytorch-fid and
torch-fidelity as their users do, and writes to DIR: `pool.npy` and
`logits.npy` (pytorch-fid's network on batch.npy) and `metrics.json`
(pytorch-fid's FID of a vs b through `calculate_fid_given_paths`;
torch-fidelity's FID and KID through `calculate_metrics`).

torch runs here, not in the test process: torch and XLA in one process
compete for the same threads and native libraries (a test worker that had
imported torch once aborted inside an XLA step).
"""

import json
import os
import pathlib
import sys

import numpy as np
import torch

WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"


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
          f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
      )
    import torchvision  # pylint: disable=g-import-not-at-top,unused-import

    return lib
  return None


def main(root: pathlib.Path):
  torch.set_num_threads(1)
  keep_alive = _import_torchvision()  # pylint: disable=unused-variable
  hub = root / "torch" / "hub" / "checkpoints"
  hub.mkdir(parents=True, exist_ok=True)
  with np.load(root / "state.npz") as data:
    state = {k: torch.from_numpy(np.asarray(data[k])) for k in data.files}
  torch.save(state, hub / WEIGHTS)
  os.environ["TORCH_HOME"] = str(root / "torch")

  from pytorch_fid import fid_score  # pylint: disable=g-import-not-at-top
  from pytorch_fid import inception as pf  # pylint: disable=g-import-not-at-top
  import torch_fidelity  # pylint: disable=g-import-not-at-top

  blocks = pf.InceptionV3([pf.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
  fc = pf.fid_inception_v3().eval().fc  # The same file, loaded again.
  images = np.load(root / "batch.npy")
  with torch.no_grad():
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    pool = blocks(x)[0][:, :, 0, 0]
    np.save(root / "pool.npy", pool.numpy())
    np.save(root / "logits.npy", fc(pool).numpy())
  a, b = str(root / "a"), str(root / "b")
  fid = fid_score.calculate_fid_given_paths(
      [a, b], batch_size=16, device="cpu", dims=2048, num_workers=0
  )
  count = len(list((root / "a").glob("*.png")))
  fidelity = torch_fidelity.calculate_metrics(
      input1=a,
      input2=b,
      fid=True,
      kid=True,
      kid_subset_size=count,
      feature_extractor_weights_path=str(hub / WEIGHTS),
      cuda=False,
      cache=False,
      save_cpu_ram=True,
      verbose=False,
      batch_size=16,
  )
  (root / "metrics.json").write_text(
      json.dumps(
          {
              "pytorch_fid_fid": float(fid),
              "torch_fidelity_fid": float(
                  fidelity["frechet_inception_distance"]
              ),
              "torch_fidelity_kid": float(
                  fidelity["kernel_inception_distance_mean"]
              ),
          }
      )
  )


if __name__ == "__main__":
  main(pathlib.Path(sys.argv[1]))
