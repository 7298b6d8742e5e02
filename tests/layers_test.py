"""Layers: the phase-decomposed transposed convolution equals
nn.ConvTranspose; minibatch stddev and spectral norm by hand."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models import layers


@pytest.mark.parametrize("shape,cout", [((2, 4, 4, 3), 5), ((3, 7, 7, 8), 4),
                                        ((1, 8, 6, 16), 1),
                                        ((2, 16, 16, 8), 3)])
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


@pytest.mark.parametrize("size", [4, 8])  # The phase and the matmul form.
def test_gradients_equal_flax_conv_transpose(size):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size, 6))
  reference = nn.ConvTranspose(3, (4, 4), strides=(2, 2), padding="SAME",
                               use_bias=False)
  params = reference.init(jax.random.PRNGKey(1), x)
  target = jax.random.normal(jax.random.PRNGKey(2), (2, 2 * size, 2 * size, 3))

  def loss(module, params, x):
    return jnp.sum((module.apply(params, x) - target) ** 2)

  g_ref = jax.grad(loss, argnums=(1, 2))(reference, params, x)
  g = jax.grad(loss, argnums=(1, 2))(layers.ConvTranspose4x4s2(3), params, x)
  for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape,cout", [((2, 3, 5, 4), 2), ((1, 9, 9, 3), 7)])
def test_matmul_form_equals_phase_form(shape, cout):
  kx, kk = jax.random.split(jax.random.PRNGKey(7))
  x = jax.random.normal(kx, shape)
  kernel = jax.random.normal(kk, (4, 4, shape[-1], cout))
  np.testing.assert_allclose(layers.conv_transpose_4x4s2_matmul(x, kernel),
                             layers.conv_transpose_4x4s2(x, kernel),
                             atol=1e-5, rtol=1e-5)


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


def test_minibatch_stddev_by_hand():
  # 4 samples, 2 features, groups of 2: sample i is in group i % 2.
  x = jnp.array([[0.0, 2.0], [1.0, 1.0], [2.0, 4.0], [3.0, 1.0]])
  y = layers.minibatch_stddev(x, group_size=2)
  # Group 0 = samples 0, 2: stds (1, 1) -> 1. Group 1 = samples 1, 3: (1, 0).
  expected = jnp.array([1.0, 0.5, 1.0, 0.5])
  np.testing.assert_allclose(y[:, 2], expected, atol=1e-4)
  np.testing.assert_array_equal(y[:, :2], x)
  # Images: a constant extra channel per sample.
  images = jax.random.normal(jax.random.PRNGKey(0), (8, 3, 3, 2))
  out = layers.minibatch_stddev(images, group_size=4)
  assert out.shape == (8, 3, 3, 3)
  assert float(jnp.ptp(out[0, :, :, 2])) == 0.0


def test_spectral_norm_bounds_the_largest_singular_value():

  class Net(nn.Module):
    @nn.compact
    def __call__(self, x, train):
      return layers.spectral(nn.Dense(6, use_bias=False), True, x, train)

  net = Net()
  x = jax.random.normal(jax.random.PRNGKey(1), (5, 4))
  variables = net.init(jax.random.PRNGKey(0), x, train=False)
  kernel = variables["params"]["Dense_0"]["kernel"]
  kernel = kernel * 3.0  # A kernel with a large top singular value.
  variables = {"params": {"Dense_0": {"kernel": kernel}},
               "batch_stats": variables["batch_stats"]}
  for _ in range(30):  # Power iteration, one step per training call.
    _, updates = net.apply(variables, x, train=True, mutable=["batch_stats"])
    variables = {**variables, **updates}
  y = net.apply(variables, x, train=False)
  sigma = np.linalg.svd(np.asarray(kernel), compute_uv=False)[0]
  # The layer computes x @ (W / sigma_hat) with sigma_hat -> sigma.
  np.testing.assert_allclose(y, x @ kernel / sigma, rtol=1e-3, atol=1e-5)
