"""Every architecture x loss x regularizer: refused, or trained one step.

The combinations are enumerated from the registries (models.MODELS,
losses.LOSSES, REGULARIZERS below); `validate_config` decides which are
allowed, every refused one is refused with a UserError, and enough allowed
ones train one data-parallel step with finite results that every allowed
pair of architecture, loss and regularizer trains. The pinned counts make a
new model, loss or regularizer show up here.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh

from jaxgan import augment as augment_lib
from jaxgan import models
from jaxgan.core import runtime
from jaxgan.experiment import builder as experiment
from jaxgan.gan import latent, losses
from jaxgan.models import pairs
from jaxgan.gan import options as options_lib
from jaxgan.core.errors import UserError
from jaxgan.core.runtime import AXIS
from jaxgan.models import progan
from jaxgan.experiment.checks import validate_config
from tests.conftest import tiny_config

# Architecture -> overrides of configs/tiny.py that make it small. DCGAN's
# critic comes in its three normalisations, since only layer norm and none
# take gradient penalties.
ARCHITECTURES = {
    # Weights large enough that D's outputs depend visibly on its inputs.
    "dcgan": {
        "model.name": "dcgan",
        "data.image_size": 28,
        "model.init_std": 0.3,
    },
    "dcgan_layer_norm": {
        "model.name": "dcgan",
        "data.image_size": 28,
        "model.d_norm": "layer_norm",
        "model.init_std": 0.3,
    },
    "dcgan_no_norm": {
        "model.name": "dcgan",
        "data.image_size": 28,
        "model.d_norm": "none",
        "model.init_std": 0.3,
    },
    "progan": {
        "model.name": "progan",
        "data.image_size": 8,
        "data.preprocess": "resize",
        "model.g_width": 8,
        "model.d_width": 8,
    },
    # The ResNet family at width 4 (G 16 channels, D 8; BigGAN's D 16).
    "sngan": {"model.name": "sngan", "model.g_width": 4, "model.d_width": 4},
    "biggan": {
        "model.name": "biggan",
        "model.g_width": 4,
        "model.d_width": 4,
        "model.g_spectral_norm": True,
    },
    "mlp": {
        "model.name": "mlp",
        "data.image_size": 28,
        "model.g_width": 16,
        "model.d_width": 8,
    },
    "began": {"model.name": "began", "data.image_size": 32},
    "toy_mlp": {
        "model.name": "toy_mlp",
        "data.source": "toy:ring8",
        "model.g_width": 16,
        "model.d_width": 8,
    },
    "toy_began": {
        "model.name": "toy_began",
        "data.source": "toy:ring8",
        "model.g_width": 16,
        "model.d_width": 8,
    },
    # Image-to-image: G's input is the real batch's source (data.pairs).
    "pix2pix": {
        "model.name": "pix2pix",
        "data.pairs": "edges",
        "loss.recon": "l1",
        "loss.recon_weight": 100.0,
    },
    "srgan": {
        "model.name": "srgan",
        "data.pairs": "sr4x",
        "model.res_blocks": 1,
        "loss.recon": "mse",
        "loss.adv_weight": 1e-3,
    },
}
REGULARIZERS = {
    "none": {},
    "r1": {"penalty.name": "r1"},
    "wgan_gp_penalty": {"penalty.name": "wgan_gp"},
    "dragan_penalty": {"penalty.name": "dragan"},
    "spectral_norm": {"model.d_spectral_norm": True},
    "minibatch_std": {"model.d_minibatch_std": True},
    "label_smoothing": {"loss.label_smoothing": 0.1},
    "feature_matching": {"loss.feature_matching": 1.0},
}
# What a loss needs to be usable at all (WGAN's weight clipping).
LOSS_BASE = {"wgan": {"loss.weight_clip": 0.01}}


def _config(arch, loss, reg):
  overrides = {
      **ARCHITECTURES[arch],
      "loss.name": loss,
      **LOSS_BASE.get(loss, {}),
      **REGULARIZERS[reg],
      "train.batch_size": 8,
  }
  return tiny_config(**overrides)


def _allowed(arch, loss, reg) -> bool:
  try:
    validate_config(_config(arch, loss, reg), num_devices=2)
    return True
  except UserError:
    return False


COMBINATIONS = list(
    itertools.product(ARCHITECTURES, sorted(losses.LOSSES), REGULARIZERS)
)
ALLOWED = [c for c in COMBINATIONS if _allowed(*c)]
REFUSED = [c for c in COMBINATIONS if c not in ALLOWED]
# Allowed combinations train one step until every (architecture, loss),
# (architecture, regularizer) and (loss, regularizer) pair among them has
# trained: picked greedily, each adding the most pairs not trained yet.


def _pairs(arch, loss, reg):
  return {
      ("arch-loss", arch, loss),
      ("arch-reg", arch, reg),
      ("loss-reg", loss, reg),
  }


def _pairwise(allowed):
  chosen, seen, left = [], set(), list(allowed)
  while left:
    best = max(left, key=lambda c: len(_pairs(*c) - seen))
    if not _pairs(*best) - seen:
      break
    chosen.append(best)
    seen |= _pairs(*best)
    left.remove(best)
  return chosen


TRAINED = _pairwise(ALLOWED)


def test_registries_are_covered():
  names = {a["model.name"] for a in ARCHITECTURES.values()}
  assert names == set(models.MODELS)
  assert len(COMBINATIONS) == len(ARCHITECTURES) * 9 * 8
  # Pinned: a new model, loss or regularizer shows up here.
  per_arch = {a: sum(1 for c in ALLOWED if c[0] == a) for a in ARCHITECTURES}
  assert per_arch == {
      "dcgan": 26,
      "dcgan_layer_norm": 53,
      "dcgan_no_norm": 53,
      "progan": 32,
      "sngan": 45,
      "biggan": 45,
      "mlp": 37,
      "began": 4,
      "toy_mlp": 53,
      "toy_began": 4,
      "pix2pix": 8,
      "srgan": 8,
  }, per_arch


def test_every_allowed_pair_trains():
  covered = set().union(*(_pairs(*c) for c in TRAINED))
  assert covered == set().union(*(_pairs(*c) for c in ALLOWED))
  assert len(TRAINED) == 89, len(TRAINED)  # Of 368 allowed.


@pytest.mark.parametrize(
    "combination",
    [
        ("dcgan", "wgan_gp", "none"),  # Gradient penalty through batch norm.
        ("dcgan", "non_saturating", "r1"),
        ("dcgan", "began", "none"),  # BEGAN needs an autoencoder.
        ("began", "non_saturating", "none"),
        ("mlp", "wgan_gp", "r1"),  # Two penalties.
        ("mlp", "hinge", "label_smoothing"),  # Smoothing is for cross-entropy.
        ("toy_began", "began", "spectral_norm"),
        ("mlp", "non_saturating", "spectral_norm"),
    ],
)
def test_impossible_combinations_are_refused(combination):
  assert combination in REFUSED
  with pytest.raises(UserError):
    validate_config(_config(*combination), num_devices=2)


def _d_outside_the_step(config, exp, state, batch, num_devices, augmented=True):
  """The logged d_loss, d_real and d_fake of step 0 recomputed without the
  step's code: per device, G's output on its slice of the global noise and
  D's outputs on the real and the generated slice (augmented as the config
  says, with the per-sample keys of step.sample_keys, unless not
  `augmented`), with the step's keys (fold_in(key, step), then the update
  index, then the device); `config` is the one `exp` was built from."""
  aug = augment_lib.from_config(config)
  key = jax.random.fold_in(state.key, 0)
  z_key, drop_key = jax.random.split(jax.random.fold_in(key, 0))
  z = latent.draw(
      z_key,
      config.train.batch_size,
      config.model.z_dim,
      config.model.noise,
      exp.cond,
  )
  real = np.asarray(batch[0], np.float32)
  if real.ndim == 4:  # uint8 images -> [-1, 1].
    real = real / 127.5 - 1.0
  if exp.image_to_image:  # G translates the real images' sources.
    z = np.asarray(pairs.source_of(config.data.pairs, jnp.asarray(real)))
  local = config.train.batch_size // num_devices
  generator, discriminator, extra = exp.generator, exp.discriminator, {}
  stage = exp.stage_at(0)
  if stage is not None:  # Progressive: the first stage's networks and reals.
    generator, extra = exp.generator_at(1)
    discriminator = discriminator.clone(level=stage.level, fading=False)
    real = np.asarray(
        progan.real_images(
            real, config.data.image_size, stage.level, False, 1.0
        )
    )
  shown = jax.nn.sigmoid if exp.loss.probability else (lambda x: x)
  g_vars = {"params": state.g_params}
  if state.g_batch_stats:
    g_vars["batch_stats"] = state.g_batch_stats
  d_vars = {"params": state.d_params}
  mutable = []
  if state.d_batch_stats:
    d_vars["batch_stats"] = state.d_batch_stats
    mutable = ["batch_stats"]

  # One device's share, compiled once (op-by-op, the same computation took
  # a third of the test's time).
  @jax.jit
  def one_device(z_d, real_d, k_real, k_fake, keys, source):
    d_kwargs = {} if source is None else {"source": source}
    fake = generator.apply(
        g_vars, z_d, train=True, mutable=["batch_stats"], **extra
    )[0]
    if aug.enabled and augmented:
      p = augment_lib.p_of(aug, state.loss_state)
      real_d, fake = aug(real_d, keys.aug_real, p), aug(fake, keys.aug_fake, p)
    real_out, updates = discriminator.apply(
        d_vars,
        real_d,
        train=True,
        rngs={"dropout": k_real},
        mutable=mutable,
        **extra,
        **d_kwargs,
    )
    fake_out, _ = discriminator.apply(
        {**d_vars, **updates} if mutable else d_vars,
        fake,
        train=True,
        rngs={"dropout": k_fake},
        mutable=mutable,
        **extra,
        **d_kwargs,
    )
    return (
        exp.loss.fn(real_out, fake_out, state.loss_state)[0],
        jnp.mean(shown(real_out)),
        jnp.mean(shown(fake_out)),
    )

  losses_ = []
  for d in range(num_devices):
    k_real, k_fake, _ = jax.random.split(jax.random.fold_in(drop_key, d), 3)
    part = slice(d * local, (d + 1) * local)
    keys = options_lib.sample_keys(z_key, local, d * local)
    source = z[part] if exp.image_to_image and exp.spec.d_source else None
    losses_.append(
        one_device(z[part], real[part], k_real, k_fake, keys, source)
    )
  return {
      k: float(np.mean([l[i] for l in losses_]))
      for i, k in enumerate(("d_loss", "d_real", "d_fake"))
  }


@pytest.mark.parametrize("arch,loss,reg", TRAINED)
def test_one_step(arch, loss, reg):
  config = _config(arch, loss, reg)
  mesh = Mesh(np.array(jax.devices()[:2]), (AXIS,))
  exp = experiment.build(config, mesh)
  rng = np.random.default_rng(0)
  if arch.startswith("toy"):
    batch = rng.normal(size=(1, 8, 2)).astype(np.float32)
  else:
    size = config.data.image_size
    batch = rng.integers(0, 256, (1, 8, size, size, 1), dtype=np.uint8)
  before = jax.device_get(exp.initial_state())
  state, metrics = exp.train_step(
      exp.initial_state(),
      jax.device_put(batch, runtime.batch_sharding(mesh)),
      0,
  )
  metrics, state = jax.device_get(metrics), jax.device_get(state)
  assert int(state.step) == 1
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state))
  penalty = REGULARIZERS[reg].get("penalty.name") or losses.LOSSES[loss].penalty
  assert ("d_penalty" in metrics) == bool(penalty)
  # The logged loss and outputs are D's on this batch and this noise.
  for key, value in _d_outside_the_step(config, exp, before, batch, 2).items():
    np.testing.assert_allclose(
        metrics[key], value, rtol=1e-4, atol=1e-6, err_msg=key
    )
  # Both networks took one Adam step: no parameter moved by more than the
  # learning rate (Adam's first update is lr * g / (|g| + eps)), and those
  # with a gradient moved by about it (a fifth at least: maxout units pass
  # the gradient of one piece in five); WGAN's clipped critic stays within
  # [-c, c].
  lr = config.optim.g_lr  # == d_lr in these configs.
  for name in ("g_params", "d_params"):
    delta = np.concatenate(
        [
            np.abs(a - b).ravel()
            for a, b in zip(
                jax.tree.leaves(getattr(state, name)),
                jax.tree.leaves(getattr(before, name)),
            )
        ]
    )
    if name == "d_params" and config.loss.weight_clip:
      c = config.loss.weight_clip
      assert all(
          np.abs(p).max() <= c + 1e-7 for p in jax.tree.leaves(state.d_params)
      )
      continue
    assert delta.max() <= lr * (1 + 1e-3), (name, delta.max())
    if name == "g_params" and loss == "minimax" and arch == "sngan":
      # Minimax's G gradient vanishes where D rejects the samples (Goodfellow
      # 2014, Sec. 3); SNGAN's sum-pooled D does so at once: G's first step
      # is below Adam's eps here (measured: at most 1.6e-5 of lr 2e-4).
      continue
    assert np.mean(delta > 0.5 * lr) > 0.2, (name, np.mean(delta > 0.5 * lr))
