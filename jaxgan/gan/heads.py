"""The losses of D's extra heads: ACGAN's class cross-entropy and InfoGAN's
mutual-information term, for real and generated images."""

import jax
import jax.numpy as jnp
import optax

from jaxgan.gan import latent


def _class_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def head_losses(
    fake_heads: dict,
    g_input: jax.Array,
    labels,
    opts,
    real_heads: dict | None = None,
):
  """(weighted loss, metrics) of ACGAN's and InfoGAN's heads.

  The generator's update passes D's heads on generated images; the
  discriminator's also passes them on real images (`real_heads`). ACGAN: the
  class cross-entropy of generated images, plus that of real ones for D
  (`class_loss` is their sum), and D's accuracy on real images. InfoGAN:
  both subtract lambda * L_I on the generated images' codes.
  """
  total, metrics = jnp.zeros((), jnp.float32), {}
  if "class_logits" in fake_heads:
    class_loss = _class_loss(fake_heads["class_logits"], labels)
    if real_heads is not None:
      real_logits = real_heads["class_logits"]
      class_loss += _class_loss(real_logits, labels)
      metrics["class_accuracy"] = jnp.mean(
          jnp.argmax(real_logits, -1) == labels
      )
    metrics["class_loss"] = class_loss
    total += opts.acgan_weight * class_loss
  if "info" in fake_heads:
    metrics.update(latent.information(fake_heads["info"], g_input, opts.cond))
    total -= opts.info_weight * metrics["info_mi"]
  return total, metrics
