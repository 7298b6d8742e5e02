"""The phase-decomposed transposed convolution equals nn.ConvTranspose."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models import layers


@pytest.mark.parametrize("shape,cout", [((2, 4, 4, 3), 5), ((3, 7, 7, 8), 4),
                                        ((1, 8, 6, 16), 1)])
def test_equals_flax_conv_transpose(shape, cout):
  kx, kk = jax.random.split(jax.random.PRNGKey(shape[1]))
  x = jax.random.normal(kx, shape)
  reference = nn.ConvTranspose(cout, (4, 4), strides=(2, 2), padding="SAME",
                               use_bias=False)
  params = reference.init(kk, x)
  ours = layers.ConvTranspose4x4s2(cout)
  # Same parameter tree, so either module can load the other's weights.
  assert jax.tree.structure(params) == jax.tree.structure(ours.init(kk, x))
  y_ref = reference.apply(params, x)
  y = ours.apply(params, x)
  assert y.shape == (shape[0], 2 * shape[1], 2 * shape[2], cout)
  np.testing.assert_allclose(y, y_ref, atol=1e-5, rtol=1e-5)


def test_gradients_equal_flax_conv_transpose():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 6))
  reference = nn.ConvTranspose(3, (4, 4), strides=(2, 2), padding="SAME",
                               use_bias=False)
  params = reference.init(jax.random.PRNGKey(1), x)
  target = jax.random.normal(jax.random.PRNGKey(2), (2, 8, 8, 3))

  def loss(module, params, x):
    return jnp.sum((module.apply(params, x) - target) ** 2)

  g_ref = jax.grad(loss, argnums=(1, 2))(reference, params, x)
  g = jax.grad(loss, argnums=(1, 2))(layers.ConvTranspose4x4s2(3), params, x)
  for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_matches_pytorch_convention_by_hand():
  # 1-D check of the phase formulas on a single channel: flax's 'SAME'
  # stride-2 kernel-4 transposed conv gives y[2m] = x[m-1] w0 + x[m] w2 and
  # y[2m+1] = x[m] w1 + x[m+1] w3 (PyTorch's k=4, s=2, p=1 with w flipped).
  x = jnp.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1)
  w1d = jnp.array([1.0, 10.0, 100.0, 1000.0])
  kernel = jnp.zeros((4, 4, 1, 1)).at[1, :, 0, 0].set(w1d)  # Row tap 1 only.
  y = layers.conv_transpose_4x4s2(x, kernel)[0, :, :, 0]
  xs = [0.0, 1.0, 2.0, 3.0, 0.0]  # x padded: xs[m + 1] = x[m].
  expected = []
  for m in range(3):
    expected += [xs[m] * 1 + xs[m + 1] * 100, xs[m + 1] * 10 + xs[m + 2] * 1000]
  # Row tap 1 contributes to odd output rows from input row m = r.
  np.testing.assert_allclose(y[1], expected)
  np.testing.assert_allclose(y[0], 0.0)
