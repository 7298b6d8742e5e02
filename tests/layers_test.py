"""Layers: minibatch stddev and spectral norm by hand."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.models import layers


def test_minibatch_stddev_by_hand():
  # 4 samples, 2 features, groups of 2 consecutive samples: sample i is in
  # group i // 2 (as one device's slice of a batch split over devices).
  x = jnp.array([[0.0, 2.0], [2.0, 4.0], [1.0, 1.0], [3.0, 1.0]])
  y = layers.minibatch_stddev(x, group_size=2)
  # Group 0 = samples 0, 1: stds (1, 1) -> 1. Group 1 = samples 2, 3: (1, 0).
  expected = jnp.array([1.0, 1.0, 0.5, 0.5])
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
  variables = {
      "params": {"Dense_0": {"kernel": kernel}},
      "batch_stats": variables["batch_stats"],
  }
  for _ in range(30):  # Power iteration, one step per training call.
    _, updates = net.apply(variables, x, train=True, mutable=["batch_stats"])
    variables = {**variables, **updates}
  y = net.apply(variables, x, train=False)
  sigma = np.linalg.svd(np.asarray(kernel), compute_uv=False)[0]
  # The layer computes x @ (W / sigma_hat) with sigma_hat -> sigma.
  np.testing.assert_allclose(y, x @ kernel / sigma, rtol=1e-3, atol=1e-5)
