"""The ResNet family (SNGAN, SAGAN attention, BigGAN), by numbers."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from jaxgan.gan import latent, losses
from jaxgan.run import train
from jaxgan.models import resnet
from jaxgan.models.conditioning import Conditioning
from tests.conftest import tiny_config

TEN = Conditioning(mode="projection", num_classes=10)


def _count(tree) -> int:
  return sum(x.size for x in jax.tree.leaves(tree))


def _shapes(module, x, cond):
  kw = {"labels": jnp.zeros((2,), jnp.int32)} if cond.labelled else {}
  return jax.eval_shape(
      lambda: module.init(jax.random.PRNGKey(0), x, train=False, **kw)
  )


@pytest.mark.parametrize(
    "cond,g_count,d_count",
    [
        (Conditioning(), 4_276_739, 1_053_824),
        (TEN, 4_304_387, 1_055_104),
    ],
)
def test_sngan_32_parameter_counts_equal_the_reference(cond, g_count, d_count):
  # pfnet-research/sngan_projection resnet_32 / snresnet_32 (CIFAR-10,
  # ch 256 in G, 128 in D), counted layer by layer:
  # G: l1 128*4096 + 4096 = 528,384; three up-blocks of 2 convs 3x3
  #    256->256 (590,080 each), a 1x1 shortcut (65,792) and 2 BNs (2*512;
  #    conditional: 2 * 2 * 10 * 256 = 10,240): 1,246,976 (1,256,192);
  #    the output BN 512 and conv 3x3 256->3 (6,915).
  # D: optimised block 3,584 + 147,584 + 512 = 151,680; a down block
  #    2 * 147,584 + 16,512 = 311,680; two blocks 2 * 147,584 = 295,168
  #    each; the output linear 128 (no bias); the projection 10 * 128.
  g = resnet.Generator(resolution=32, channels=3, width=64, cond=cond)
  d = resnet.Discriminator(resolution=32, width=64, sn=True, cond=cond)
  assert _count(_shapes(g, jnp.zeros((2, 128)), cond)["params"]) == g_count
  assert _count(_shapes(d, jnp.zeros((2, 32, 32, 3)), cond)["params"]) == (
      d_count
  )


@pytest.mark.parametrize(
    "cond,g_count,d_count",
    [
        (Conditioning(), 3_978_755, 4_204_801),
        (TEN, 4_373_251, 4_207_361),
    ],
)
def test_biggan_32_parameter_counts(cond, g_count, d_count):
  # BigGAN-PyTorch's 32x32 arch with ch 64 (256 channels), hierarchical z
  # (128 = 4 chunks of 32) and a 128-d shared embedding:
  # G: shared 10 * 128 = 1,280; dense 32 -> 4*4*256: 135,168; three blocks
  #    of 2 convs 3x3 (590,080 each), a 1x1 shortcut (65,792) and 2
  #    conditional BNs whose gain and bias are linear maps of the 160-d
  #    (shared + chunk) input without bias (2 * 2 * 160 * 256 = 163,840):
  #    1,409,792; the output BN 512 and conv 3x3 256->3 (6,915). Without
  #    classes the BNs read the 32-d chunk only (2 * 2 * 32 * 256 = 32,768).
  # D: first block 7,168 + 590,080 + 1,024; a down block 2 * 590,080 +
  #    65,792; two blocks 2 * 590,080 each; the output linear 257; the
  #    projection 10 * 256.
  g = resnet.BigGenerator(resolution=32, channels=3, width=64, cond=cond)
  d = resnet.Discriminator(
      resolution=32, width=64, sn=True, cond=cond, big=True
  )
  assert _count(_shapes(g, jnp.zeros((2, 128)), cond)["params"]) == g_count
  assert _count(_shapes(d, jnp.zeros((2, 32, 32, 3)), cond)["params"]) == (
      d_count
  )


def _sn_kernels(variables) -> list[tuple[str, np.ndarray, float]]:
  """(name, kernel, sigma) of every spectrally normalised weight."""
  params = traverse_util.flatten_dict(variables["params"], sep="/")
  stats = traverse_util.flatten_dict(variables.get("batch_stats", {}), sep="/")
  out = []
  for key, sigma in stats.items():
    if not key.endswith("/sigma"):
      continue
    # The stats sit under the wrappers' scopes (_SN_i, <name>_sn,
    # SpectralNorm_0); the weight under the same path without them.
    path = "/".join(
        c
        for c in key.split("/")[:-1]
        if not c.startswith(("_SN", "SpectralNorm")) and not c.endswith("_sn")
    )
    assert path in params, (key, path)
    out.append((key, np.asarray(params[path]), float(sigma)))
  return out


@pytest.mark.parametrize("which", ["generator", "discriminator"])
def test_spectral_norm_makes_the_top_singular_value_one(which):
  cond = Conditioning(mode="projection", num_classes=3)
  if which == "generator":
    module = resnet.BigGenerator(resolution=32, channels=1, width=4, cond=cond)
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 32))
  else:
    module = resnet.Discriminator(resolution=32, width=4, sn=True, cond=cond)
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 32, 32, 1))
  labels = jnp.array([0, 1, 2, 0])
  variables = module.init(jax.random.PRNGKey(1), x, train=False, labels=labels)
  for _ in range(40):  # One power iteration per training call.
    _, updates = module.apply(
        variables, x, train=True, labels=labels, mutable=["batch_stats"]
    )
    variables = {**variables, **updates}
  kernels = _sn_kernels(variables)
  # Every conv, linear and embedding (projection, G's class BN maps) of it.
  assert len(kernels) >= (15 if which == "generator" else 10)
  for _, kernel, sigma in kernels:
    # The paper's matrix: (out, in * kh * kw); an embedding as stored.
    w = kernel.reshape(-1, kernel.shape[-1]) / sigma
    top = np.linalg.svd(w, compute_uv=False)[0]
    np.testing.assert_allclose(top, 1.0, rtol=2e-2)


def test_attention_with_gate_zero_is_the_identity_and_by_hand_otherwise():
  att = resnet.Attention(sn=False)
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 16))
  variables = att.init(jax.random.PRNGKey(1), x, train=False)
  assert float(variables["params"]["gamma"]) == 0.0
  np.testing.assert_array_equal(att.apply(variables, x, train=False), x)
  # 1.25 C^2 + 1 parameters (no biases): the count of the reference.
  assert _count(variables["params"]) == 1.25 * 16**2 + 1
  p = jax.tree.map(np.asarray, variables["params"])
  p["gamma"] = np.float32(0.7)
  out = att.apply({"params": p}, x, train=False)
  # NumPy: theta, phi, g 1x1 convs; phi and g max-pooled 2x2; softmax over
  # the pooled positions; the output conv; x + gamma * o.
  xn = np.asarray(x)
  conv = lambda name, v: v @ p[name]["kernel"][0, 0]  # pylint: disable=g-long-lambda
  pool = lambda v: v.reshape(2, 2, 2, 2, 2, -1).max(axis=(2, 4))  # pylint: disable=g-long-lambda
  theta = conv("theta", xn).reshape(2, 16, 2)
  phi = pool(conv("phi", xn)).reshape(2, 4, 2)
  g = pool(conv("g", xn)).reshape(2, 4, 8)
  logits = np.einsum("nqc,nkc->nqk", theta, phi)
  beta = np.exp(logits - logits.max(-1, keepdims=True))
  beta /= beta.sum(-1, keepdims=True)
  o = conv("o", np.einsum("nqk,nkc->nqc", beta, g).reshape(2, 4, 4, 8))
  np.testing.assert_allclose(out, xn + 0.7 * o, rtol=1e-4, atol=1e-5)


def test_orthogonal_penalty_by_hand():
  w = np.array([[1.0, 2.0], [3.0, 0.5], [0.0, 1.0]], np.float32)  # (in, out)
  conv = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2) / 4  # (1,2,2,2)
  params = {
      "dense": {"kernel": w, "bias": np.ones(2, np.float32)},
      "conv": {"kernel": conv},
      "shared": {"kernel": np.ones((3, 3), np.float32)},
  }
  # Dense: W = kernel^T (2 x 3): the one off-diagonal product of its rows,
  # (1*2 + 3*0.5 + 0*1) = 3.5, appears twice: 2 * 3.5^2.
  dense = 2 * 3.5**2
  m = conv.reshape(-1, 2).T  # (out 2, kh*kw*in 4)
  off = float(m[0] @ m[1])
  expected = dense + 2 * off**2  # 'shared' is left out, as the paper does.
  np.testing.assert_allclose(
      losses.orthogonal_penalty(params), expected, rtol=1e-6
  )
  # Orthonormal rows cost nothing; scaling a row does not either.
  q = np.linalg.qr(np.random.default_rng(0).normal(size=(5, 5)))[0]
  q[0] *= 3
  assert float(losses.orthogonal_penalty({"d": {"kernel": q.T}})) < 1e-9


def test_truncated_noise_stays_within_t_and_is_normal_inside():
  z = np.asarray(
      latent.sample_noise(jax.random.PRNGKey(0), 20_000, 16, truncation=0.5)
  )
  assert np.abs(z).max() <= 0.5
  # Inside [-T, T] the density is the normal's, renormalised: for T = 0.5
  # E[z^2] = 1 - 2 T phi(T) / (2 Phi(T) - 1) = 0.0797 (by hand).
  t, phi = 0.5, np.exp(-0.125) / np.sqrt(2 * np.pi)
  from math import erf, sqrt  # pylint: disable=g-import-not-at-top

  mass = erf(t / sqrt(2))
  np.testing.assert_allclose(np.mean(z**2), 1 - 2 * t * phi / mass, rtol=0.02)
  # Relative frequencies inside follow the normal's density ratio.
  hist, edges = np.histogram(z, bins=4, range=(-0.5, 0.5))
  centres = (edges[:-1] + edges[1:]) / 2
  expected = np.exp(-(centres**2) / 2)
  np.testing.assert_allclose(
      hist / hist.sum(), expected / expected.sum(), atol=0.01
  )


def test_class_batch_norm_gain_is_one_plus_a_linear_map_by_hand():
  bn = resnet.LinearBatchNorm(sn=False)
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 2, 2, 3))
  y = jax.random.normal(jax.random.PRNGKey(1), (4, 5))
  variables = bn.init(jax.random.PRNGKey(2), x, y, train=True)
  out = bn.apply(variables, x, y, train=True, mutable=["batch_stats"])[0]
  p = jax.tree.map(np.asarray, variables["params"])
  xn = np.asarray(x)
  mean, var = xn.mean((0, 1, 2)), xn.var((0, 1, 2))
  normal = (xn - mean) / np.sqrt(var + 1e-5)
  gain = 1 + np.asarray(y) @ p["gain"]["kernel"]
  bias = np.asarray(y) @ p["bias"]["kernel"]
  expected = normal * gain[:, None, None, :] + bias[:, None, None, :]
  # One channel, by hand: sample 1, pixel (0, 1), channel 2.
  np.testing.assert_allclose(out[1, 0, 1, 2], expected[1, 0, 1, 2], rtol=1e-4)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_biggan_learns_the_class(labelled, one_device, tmp_path):
  # The two-class set of conftest (dark vs bright noise) with BigGAN's
  # class-conditional G (shared embedding, conditional BNs) and projection
  # D: samples asked for class c are classified as c.
  config = tiny_config(
      **{
          "data.source": f"idx:{labelled['data']}",
          "model.name": "biggan",
          "model.conditioning": "projection",
          "model.num_classes": 2,
          "model.z_dim": 32,
          "model.g_width": 4,
          "model.d_width": 4,
          "model.d_spectral_norm": True,
          "model.g_spectral_norm": True,
          "model.shared_dim": 16,
          "loss.name": "hinge",
          "optim.b1": 0.0,
          "optim.b2": 0.999,
          "optim.g_lr": 1e-3,
          "optim.d_lr": 2e-3,
          "train.num_steps": 300,
          "train.log_every_steps": 100,
          "train.sample_every_steps": 300,
          "checkpoint.every_steps": 300,
          "eval.classifier": str(labelled["clf"]),
          "eval.num_samples": 200,
      }
  )
  workdir = tmp_path / "run"
  train.train_and_evaluate(config, str(workdir))
  rows = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  final = [r for r in rows if "class_accuracy" in r][-1]
  assert final["class_accuracy"] >= 0.9, final


@pytest.mark.parametrize("sn", [False, True])
def test_projection_embedding_is_normalised_with_d_spectral_norm(sn):
  # The fix of this wave: DCGAN's projection D normalised its layers but not
  # its class embedding; the SNGAN-projection reference normalises both.
  from jaxgan.models import dcgan  # pylint: disable=g-import-not-at-top

  cond = Conditioning(mode="projection", num_classes=4)
  d = dcgan.Discriminator(
      resolution=32, width=4, spectral_norm=sn, norm="none", cond=cond
  )
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 32, 32, 1))
  labels = jnp.arange(4)
  variables = d.init(jax.random.PRNGKey(1), x, train=False, labels=labels)
  for _ in range(40):
    _, updates = d.apply(
        variables, x, train=True, labels=labels, mutable=["batch_stats"]
    )
    variables = {**variables, **updates}
  projection = [
      (kernel, sigma)
      for key, kernel, sigma in _sn_kernels(variables)
      if "projection" in key
  ]
  assert len(projection) == (1 if sn else 0)
  if sn:
    [(kernel, sigma)] = projection
    top = np.linalg.svd(kernel / sigma, compute_uv=False)[0]
    np.testing.assert_allclose(top, 1.0, rtol=2e-2)
