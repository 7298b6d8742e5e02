"""The FID InceptionV3 in Flax and the converter of pytorch-fid's weights.

The real weights cannot be downloaded here: the architecture is tested with
random weights, and the golden test (against pytorch-fid's own model) runs
when JAXGAN_INCEPTION_PTH names pt_inception-2015-12-05-6726825d.pth and
torch and pytorch-fid are installed.
"""

import os

import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from jaxgan.metrics import extractors, inception_port
from jaxgan.core.errors import UserError
from jaxgan.models import inception

_TORCH_NAMES = {
    "kernel": "weight",
    "scale": "weight",
    "bias": "bias",
    "mean": "running_mean",
    "var": "running_var",
}


def _torch_state_dict(seed=0, gain=1.0) -> dict[str, np.ndarray]:
  """A random state dict with pytorch-fid's names and layouts; conv kernels
  ~ N(0, gain^2 / fan_in)."""
  rng = np.random.default_rng(seed)
  out = {}
  for path, s in traverse_util.flatten_dict(inception_port.template()).items():
    _, *modules, leaf = path
    # Scaled so that activations stay finite through 94 layers.
    scale = gain / np.sqrt(np.prod(s.shape[:-1])) if leaf == "kernel" else 0.1
    value = (rng.normal(size=s.shape) * scale).astype(np.float32)
    if leaf in ("var", "scale"):
      value = value + 1.0
    if leaf == "kernel":
      value = value.T if modules == ["fc"] else value.transpose(3, 2, 0, 1)
    out[".".join(modules + [_TORCH_NAMES[leaf]])] = value
    if leaf == "mean":
      out[".".join(modules + ["num_batches_tracked"])] = np.array(0)
  return out


def test_converter_places_every_tensor():
  state = _torch_state_dict()
  # 94 conv + batch-norm layers (5 tensors each) and the fc layer.
  assert len([k for k in state if "num_batches" not in k]) == 94 * 5 + 2
  variables = inception_port.convert(state)
  flat = traverse_util.flatten_dict(variables)
  np.testing.assert_array_equal(
      flat[("params", "Mixed_7c", "branch3x3_2a", "conv", "kernel")],
      state["Mixed_7c.branch3x3_2a.conv.weight"].transpose(2, 3, 1, 0),
  )
  np.testing.assert_array_equal(
      flat[("params", "fc", "kernel")], state["fc.weight"].T
  )
  np.testing.assert_array_equal(
      flat[("batch_stats", "Conv2d_4a_3x3", "bn", "var")],
      state["Conv2d_4a_3x3.bn.running_var"],
  )
  with pytest.raises(UserError, match="missing"):
    inception_port.convert(
        {k: v for k, v in state.items() if k != "Mixed_6b.branch_pool.bn.bias"}
    )
  bad = dict(state, **{"fc.bias": np.zeros(1000, np.float32)})
  with pytest.raises(UserError, match="fc.bias"):
    inception_port.convert(bad)


def test_basic_conv_matches_pytorch_semantics():
  # Conv2d(2, 3, kernel_size=(1, 3), padding=(0, 1), bias=False) + BN(eps
  # 1e-3, running statistics) + ReLU, computed by hand in PyTorch's layout.
  rng = np.random.default_rng(1)
  w = rng.normal(size=(3, 2, 1, 3)).astype(np.float32)  # OIHW
  gamma, beta = rng.normal(size=3), rng.normal(size=3)
  mean, var = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
  x = rng.normal(size=(1, 4, 5, 2)).astype(np.float32)  # NHWC
  padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
  conv = np.zeros((1, 4, 5, 3))
  for o in range(3):
    for i in range(4):
      for j in range(5):
        conv[0, i, j, o] = np.sum(padded[0, i, j : j + 3, :] * w[o, :, 0, :].T)
  expected = np.maximum((conv - mean) / np.sqrt(var + 1e-3) * gamma + beta, 0)
  module = inception.BasicConv(3, (1, 3), padding=(0, 1))
  variables = {
      "params": {
          "conv": {"kernel": w.transpose(2, 3, 1, 0)},
          "bn": {"scale": gamma, "bias": beta},
      },
      "batch_stats": {"bn": {"mean": mean, "var": var}},
  }
  np.testing.assert_allclose(
      module.apply(variables, jnp.asarray(x)), expected, rtol=1e-5, atol=1e-5
  )


def test_tf_average_pool_excludes_padding():
  x = jnp.ones((1, 3, 3, 1))
  # Counting the zero padding, a corner would average 4/9; TF's pool gives 1.
  np.testing.assert_allclose(inception._avg_pool(x), np.ones((1, 3, 3, 1)))


def test_full_network_with_random_weights(tmp_path):
  variables = inception_port.convert(_torch_state_dict())
  source = tmp_path / "fake.npz"
  np.savez(source, **_torch_state_dict())
  out = tmp_path / "inception.msgpack"
  meta = inception_port.write(variables, str(out), str(source))
  extractor = extractors.InceptionExtractor(str(out))
  assert extractor.sha256 == meta["sha256"]
  images = np.random.default_rng(2).integers(
      0, 256, (2, 32, 32, 1), dtype=np.uint8
  )
  features, logits = extractor(images)
  assert features.shape == (2, 2048) and logits.shape == (2, 1008)
  assert features.dtype == np.float32 and np.isfinite(features).all()
  again, _ = extractor(images)
  np.testing.assert_array_equal(features, again)  # Deterministic.
  # Grayscale is repeated to RGB, so the RGB image of the same grey gives
  # the same features.
  rgb, _ = extractor(np.repeat(images, 3, axis=-1))
  np.testing.assert_allclose(rgb, features, rtol=1e-5, atol=1e-5)


PTH = os.environ.get("JAXGAN_INCEPTION_PTH")


@pytest.mark.skipif(
    not PTH,
    reason="needs pt_inception-2015-12-05-6726825d."
    "pth (cannot be downloaded here): set JAXGAN_INCEPTION_PTH",
)
def test_golden_against_pytorch_fid(tmp_path):
  torch = pytest.importorskip(
      "torch",
      reason="the golden test compares with " "PyTorch: pip install torch",
  )
  fid_inception = pytest.importorskip(
      "pytorch_fid.inception", reason="pip install pytorch-fid"
  )
  assert inception_port.sha256(PTH).startswith(inception_port.PTH_SHA256_PREFIX)
  out = tmp_path / "inception.msgpack"
  inception_port.write(
      inception_port.convert(inception_port.read_state_dict(PTH)), str(out), PTH
  )
  extractor = extractors.InceptionExtractor(str(out))
  reference = fid_inception._inception_v3(
      num_classes=1008, aux_logits=False, weights=None
  )
  for name, block in (
      ("Mixed_5b", fid_inception.FIDInceptionA(192, 32)),
      ("Mixed_5c", fid_inception.FIDInceptionA(256, 64)),
      ("Mixed_5d", fid_inception.FIDInceptionA(288, 64)),
      ("Mixed_6b", fid_inception.FIDInceptionC(768, 128)),
      ("Mixed_6c", fid_inception.FIDInceptionC(768, 160)),
      ("Mixed_6d", fid_inception.FIDInceptionC(768, 160)),
      ("Mixed_6e", fid_inception.FIDInceptionC(768, 192)),
      ("Mixed_7b", fid_inception.FIDInceptionE_1(1280)),
      ("Mixed_7c", fid_inception.FIDInceptionE_2(2048)),
  ):
    setattr(reference, name, block)
  reference.load_state_dict(torch.load(PTH, map_location="cpu"))
  reference.eval()
  images = np.random.default_rng(3).integers(
      0, 256, (4, 64, 64, 3), dtype=np.uint8
  )
  x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
  x = torch.nn.functional.interpolate(
      x, size=(299, 299), mode="bilinear", align_corners=False
  )
  with torch.no_grad():
    want_logits = reference(2 * x - 1).numpy()
  features, logits = extractor(images)
  np.testing.assert_allclose(logits, want_logits, rtol=1e-3, atol=1e-3)
  assert features.shape == (4, 2048)
