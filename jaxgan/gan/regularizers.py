"""Regularisers of D's outputs for training with little data.

- bCR, balanced consistency regularisation (Zhao et al. 2021, "Improved
  consistency regularization for GANs", Alg. 1): D's outputs should not
  change under a semantics-preserving augmentation T,
      lambda_real E||D(x) - D(T(x))||^2 + lambda_fake E||D(G(z)) - D(T(G(z)))||^2,
  added to D's loss; T flips left-right with probability 1/2 and
  translates by whole pixels, up to 1/8 of the image, reflecting at the
  borders (the paper's CIFAR-10 T), from the sample's own key.
- LeCam (Tseng et al. 2021, Eq. 3): D's outputs are pulled towards anchors,
  exponential moving averages of its mean output on real (a_R) and
  generated (a_F) images,
      R_LC = E[relu(D(x) - a_F)^2] + E[relu(a_R - D(G(z)))^2],
  weighted by `loss.lecam` in D's loss; the anchors (decay `loss.lecam_decay`,
  the reference's 0.99) are adaptive state in the train state's
  `loss_state` ('lecam_real', 'lecam_fake'), updated after each D update
  from the global batch's means, so every device keeps the same.

`discriminator_terms` computes every term D's loss adds to the adversarial
one besides the class/code heads (the gradient penalty, on packs with
PacGAN; ProGAN's drift; bCR; LeCam), and `update_loss_state` the adaptive
state D's update moves (LeCam's anchors, ADA's sign accumulators).
`feature_matching` is G's term of Salimans et al. 2016.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan import augment as augment_lib
from jaxgan.augment import ada
from jaxgan.core.runtime import AXIS
from jaxgan.models import packing

# bCR's T: x-flip and integer translation of ADA's pipeline, always on.
BCR_TRANSFORMS = ("xflip", "xint")
LECAM_KEYS = ("lecam_real", "lecam_fake")


def bcr_transform(x: jax.Array, keys: jax.Array) -> jax.Array:
  """bCR's T on a batch (N, H, W, C), sample i from keys[i]."""
  return ada.augment(x, keys, 1.0, BCR_TRANSFORMS)


def consistency(out: jax.Array, out_t: jax.Array) -> jax.Array:
  """E ||D(x) - D(T(x))||^2 over the batch (outputs (N,) or (N, ...))."""
  diff = (out - out_t).reshape(out.shape[0], -1)
  return jnp.mean(jnp.sum(jnp.square(diff), axis=-1))


def lecam_init() -> dict[str, jax.Array]:
  """The anchors' initial values (0, as the reference's)."""
  return {"lecam_real": jnp.float32(0.0), "lecam_fake": jnp.float32(0.0)}


def lecam(real_out: jax.Array, fake_out: jax.Array, loss_state) -> jax.Array:
  """R_LC of this batch against the state's anchors (held constant)."""
  a_real = jax.lax.stop_gradient(loss_state["lecam_real"])
  a_fake = jax.lax.stop_gradient(loss_state["lecam_fake"])
  return jnp.mean(jnp.square(jax.nn.relu(real_out - a_fake))) + jnp.mean(
      jnp.square(jax.nn.relu(a_real - fake_out))
  )


def lecam_update(loss_state, real_mean, fake_mean, decay: float):
  """The anchors after one D update: a <- decay a + (1 - decay) mean."""
  return {
      **loss_state,
      "lecam_real": decay * loss_state["lecam_real"]
      + (1.0 - decay) * real_mean,
      "lecam_fake": decay * loss_state["lecam_fake"]
      + (1.0 - decay) * fake_mean,
  }


def penalty_on_packs(penalty: Callable, d_pack: int, d_fn, real, fake, keys):
  """`penalty` on D's own samples: with packing (d_pack > 1), the packs (one
  interpolation weight, one input gradient norm per pack; a pack's key is
  that of its first sample)."""
  m = d_pack
  if m == 1:
    return penalty(d_fn, real, fake, keys)
  return penalty(
      lambda x: d_fn(packing.unpack(x, m)),
      packing.pack(real, m),
      packing.pack(fake, m),
      keys[::m],
  )


class DiscriminatorTerms(NamedTuple):
  """D's extra terms, unweighted: the gradient penalty (0 when off), ProGAN's
  drift E[D(x)^2] (always computed; weighted by `loss.drift`), and `extra`
  (bCR's 'bcr_real' / 'bcr_fake', 'lecam': only those that apply), with
  their weights in `weights`."""

  penalty: jax.Array
  drift: jax.Array
  extra: dict
  weights: dict

  def add_to(self, total: jax.Array, opts) -> jax.Array:
    """`total` plus each weighted term, in this order: penalty, drift,
    extras."""
    total = total + opts.penalty_weight * self.penalty + opts.drift * self.drift
    for name, value in self.extra.items():
      total += self.weights[name] * value
    return total


def discriminator_terms(
    opts, d_fn, real, fake, real_out, fake_out, loss_state, keys
) -> DiscriminatorTerms:
  """The terms of `DiscriminatorTerms` for one D update.

  Args:
    opts: the step's options (gan/options.py `StepOptions`).
    d_fn: images -> D's outputs with the parameters being differentiated
      (batch statistics from these extra passes are not kept).
    real, fake: the images D judged (augmented where D's inputs are).
    real_out, fake_out: D's outputs on them.
    loss_state: the adaptive state before the update (LeCam's anchors).
    keys: the update's per-sample keys (options.SampleKeys).
  """
  drift = jnp.mean(jnp.square(real_out))
  penalty = jnp.zeros((), jnp.float32)
  if opts.applies_penalty:
    penalty = penalty_on_packs(
        opts.penalty, opts.d_pack, d_fn, real, fake, keys.penalty
    )
  extra, weights = {}, {}
  if opts.bcr_real or opts.bcr_fake:
    for name, x, out, weight, k in (
        ("real", real, real_out, opts.bcr_real, keys.bcr_real),
        ("fake", fake, fake_out, opts.bcr_fake, keys.bcr_fake),
    ):
      if weight:
        out_t = d_fn(bcr_transform(x, k))
        extra[f"bcr_{name}"] = consistency(out, out_t)
        weights[f"bcr_{name}"] = weight
  if opts.lecam:
    extra["lecam"] = lecam(real_out, fake_out, loss_state)
    weights["lecam"] = opts.lecam
  return DiscriminatorTerms(penalty, drift, extra, weights)


def update_loss_state(opts, loss_state, real_out, fake_out):
  """The adaptive state after a D update, from the global batch (per-device
  means averaged, so every device computes the same): LeCam's anchors and
  ADA's count of D's signs on augmented reals."""
  if opts.lecam:
    loss_state = lecam_update(
        loss_state,
        lax.pmean(jnp.mean(real_out), AXIS),
        lax.pmean(jnp.mean(fake_out), AXIS),
        opts.lecam_decay,
    )
  if opts.augment.name == "ada":
    loss_state = augment_lib.ada_accumulate(
        loss_state,
        lax.psum(jnp.sum(jnp.sign(real_out)), AXIS),
        lax.psum(real_out.shape[0], AXIS),
    )
  return loss_state


def feature_matching(real_features, fake_features) -> jax.Array:
  """Salimans et al. 2016, Sec. 3.1: |E f(x) - E f(G(z))|^2 on D's last
  hidden layer f (the real side held constant)."""
  return jnp.sum(
      (
          jnp.mean(lax.stop_gradient(real_features), axis=0)
          - jnp.mean(fake_features, axis=0)
      )
      ** 2
  )
