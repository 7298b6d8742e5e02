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
"""

import jax
import jax.numpy as jnp

from jaxgan.augment import ada

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
