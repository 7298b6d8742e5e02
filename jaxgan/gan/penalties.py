"""Discriminator penalties on input gradients, chosen from `PENALTIES`.

Every penalty has one signature,

    fn(d_fn, real, fake, keys) -> scalar,

where `d_fn(x) -> (N,)` is the discriminator with its current parameters,
`real` and `fake` are (N, ...) batches and `keys` (N, 2) a PRNG key per
sample. The discriminator step adds `penalty.weight * fn(...)` to its loss
(the penalty is differentiated through, i.e. double backpropagation).
Gradients are per sample, so a discriminator with batch norm is refused
(validate.py): its outputs would depend on the other samples of the batch.
The step derives sample i's key from its index in the global batch, so a
penalty draws the same numbers on one device and on several.
"""

from typing import Callable

import jax
import jax.numpy as jnp

PenaltyFn = Callable[[Callable, jax.Array, jax.Array, jax.Array], jax.Array]


def _input_gradients(d_fn, x: jax.Array) -> jax.Array:
  """dD(x_i)/dx_i for every sample i (D's samples are independent)."""
  return jax.grad(lambda x: jnp.sum(d_fn(x)))(x)


def _norms(grads: jax.Array) -> jax.Array:
  flat = grads.reshape(grads.shape[0], -1)
  # The epsilon keeps the gradient of the norm finite at 0.
  return jnp.sqrt(jnp.sum(flat * flat, axis=1) + 1e-12)


def sample_keys(key: jax.Array, num: int, offset=0) -> jax.Array:
  """(num, 2) keys of samples offset, ..., offset + num - 1 of a batch."""
  return jax.vmap(lambda i: jax.random.fold_in(key, i))(
      offset + jnp.arange(num)
  )


def _uniform_per_sample(keys, x: jax.Array, shape=()) -> jax.Array:
  """U[0, 1) draws of `shape` per sample, broadcastable against x."""
  draws = jax.vmap(lambda k: jax.random.uniform(k, shape, x.dtype))(keys)
  return draws.reshape(x.shape[0], *shape, *([1] * (x.ndim - 1 - len(shape))))


def wgan_gp(d_fn, real, fake, keys):
  """Gulrajani et al. 2017, Alg. 1: E (|grad D(x_hat)| - 1)^2 with
  x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample."""
  eps = _uniform_per_sample(keys, real)
  x_hat = eps * real + (1.0 - eps) * fake
  return jnp.mean((_norms(_input_gradients(d_fn, x_hat)) - 1.0) ** 2)


def dragan(d_fn, real, fake, keys):
  """Kodali et al. 2017 (reference code): the WGAN-GP penalty around the
  data, x_hat = x + alpha (x_p - x) with x_p = x + 0.5 std(x) u, u ~
  U[0, 1]^d and alpha ~ U[0, 1] per sample; `fake` is not used. std(x) is
  that of this device's slice of the batch."""
  del fake
  u_keys, a_keys = jnp.split(jax.vmap(jax.random.split)(keys), 2, axis=1)
  u_keys, a_keys = u_keys[:, 0], a_keys[:, 0]
  perturbed = real + 0.5 * jnp.std(real) * _uniform_per_sample(
      u_keys, real, real.shape[1:]
  )
  x_hat = real + _uniform_per_sample(a_keys, real) * (perturbed - real)
  return jnp.mean((_norms(_input_gradients(d_fn, x_hat)) - 1.0) ** 2)


def r1(d_fn, real, fake, keys):
  """Mescheder et al. 2018, Eq. 9: 0.5 E |grad D(x)|^2 on real data
  (weight = gamma)."""
  del fake, keys
  grads = _input_gradients(d_fn, real)
  return 0.5 * jnp.mean(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=1))


# penalty.name -> fn; 'none' adds nothing. Losses that include a penalty
# (wgan_gp, dragan) name it in losses.LOSSES.
PENALTIES: dict[str, PenaltyFn | None] = {
    "none": None,
    "wgan_gp": wgan_gp,
    "dragan": dragan,
    "r1": r1,
}
