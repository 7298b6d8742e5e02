"""DCGAN's convolutions (cpu/conv4x4.py) equal flax's nn.Conv and
nn.ConvTranspose: values and both gradients, in every form and with every
implementation (model.conv_impl 'matmul', 'tuned' or 'xla'), on 1 and 4
devices."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import PartitionSpec as P

from jaxgan.cpu import cpuinfo
from jaxgan.cpu import conv4x4, onednn
from jaxgan.models import dcgan, strided


def _flax_conv(features):
  return nn.Conv(
      features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False
  )


def _flax_conv_transpose(features):
  return nn.ConvTranspose(
      features, (4, 4), strides=(2, 2), padding="SAME", use_bias=False
  )


def _assert_same_function(ours, reference, x):
  """Same parameter tree, outputs and gradients (input and kernel)."""
  params = reference.init(jax.random.PRNGKey(1), x)
  assert jax.tree.structure(params) == jax.tree.structure(
      ours.init(jax.random.PRNGKey(1), x)
  )
  y_ref = reference.apply(params, x)
  # A loss whose output gradient differs at every position.
  weights = jax.random.normal(jax.random.PRNGKey(2), y_ref.shape)

  def loss(module, params, x):
    return jnp.sum(jnp.sin(module.apply(params, x)) * weights)

  np.testing.assert_allclose(ours.apply(params, x), y_ref, atol=1e-5, rtol=1e-5)
  g = jax.grad(loss, argnums=(1, 2))(ours, params, x)
  g_ref = jax.grad(loss, argnums=(1, 2))(reference, params, x)
  for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, atol=1e-4 * float(jnp.abs(b).max()))
  return y_ref.shape


@pytest.mark.parametrize(
    "shape,features",
    [
        ((3, 16, 16, 3), 5),  # Few input channels: im2col forms.
        ((2, 16, 16, 6), 4),  # Convolution + space-to-depth kernel gradient.
        ((2, 8, 8, 6), 7),  # 4x4 output: im2col forms.
        ((2, 14, 14, 6), 3),  # 7x7 output (DCGAN at 28x28).
        ((1, 12, 6, 8), 2),  # Not square.
    ],
)
@pytest.mark.parametrize("impl", strided.IMPLS)
def test_conv_equals_flax_conv(shape, features, impl):
  out = _assert_same_function(
      strided.Conv4x4s2(features, impl=impl),
      _flax_conv(features),
      jax.random.normal(jax.random.PRNGKey(0), shape),
  )
  assert out == (shape[0], shape[1] // 2, shape[2] // 2, features)


@pytest.mark.parametrize(
    "shape,features",
    [
        # col2im (<= 4 output channels or a <= 4x4 input), odd and not square:
        ((2, 4, 4, 6), 5),
        ((3, 7, 7, 8), 4),
        ((1, 8, 6, 16), 1),
        ((2, 8, 8, 8), 3),
        ((2, 2, 2, 3), 6),
        ((2, 6, 6, 8), 6),
    ],
)  # Space-to-depth convolution.
@pytest.mark.parametrize("impl", strided.IMPLS)
def test_conv_transpose_equals_flax_conv_transpose(shape, features, impl):
  out = _assert_same_function(
      strided.ConvTranspose4x4s2(features, impl=impl),
      _flax_conv_transpose(features),
      jax.random.normal(jax.random.PRNGKey(0), shape),
  )
  assert out == (shape[0], 2 * shape[1], 2 * shape[2], features)


def test_conv_t_is_the_adjoint_of_conv():
  kx, ky, kw = jax.random.split(jax.random.PRNGKey(3), 3)
  x = jax.random.normal(kx, (2, 10, 6, 6))
  y = jax.random.normal(ky, (2, 5, 3, 4))
  w = jax.random.normal(kw, (4, 4, 6, 4))
  lhs = jnp.vdot(conv4x4.conv(x, w), y)
  rhs = jnp.vdot(x, conv4x4.conv_t(y, w))
  np.testing.assert_allclose(lhs, rhs, rtol=1e-5)


@pytest.mark.parametrize("shape", [(2, 4, 4, 6), (1, 3, 5, 4), (2, 8, 8, 3)])
def test_conv_t_forms_agree(shape):
  ky, kw = jax.random.split(jax.random.PRNGKey(4))
  y = jax.random.normal(ky, shape)
  w = jax.random.normal(kw, (4, 4, 5, shape[-1]))
  np.testing.assert_allclose(
      conv4x4.conv_t_col2im(y, w),
      conv4x4.conv_t_space_to_depth(y, w),
      atol=1e-4,
      rtol=1e-5,
  )


@pytest.mark.parametrize(
    "x_shape,out_channels",
    [
        ((2, 8, 8, 3), 5),
        ((2, 16, 12, 6), 4),
        ((1, 14, 14, 8), 8),
        ((12, 8, 8, 4), 6),  # Batch chunks of 3.
    ],
)
def test_every_form_of_each_computation_agrees(x_shape, out_channels):
  # What 'tuned' may choose among: each form equals XLA's convolution or
  # JAX's autodiff of it within float rounding, so a choice changes only
  # speed.
  kx, ky, kw = jax.random.split(jax.random.PRNGKey(5), 3)
  n, h, w_, c = x_shape
  x = jax.random.normal(kx, x_shape)
  y = jax.random.normal(ky, (n, h // 2, w_ // 2, out_channels))
  w = jax.random.normal(kw, (4, 4, c, out_channels))
  args = {"conv": (x, w), "conv_t": (y, w), "kernel_grad": (x, y)}
  # The references: XLA's convolution and JAX's autodiff of it.
  _, vjp = jax.vjp(conv4x4.conv_xla, x, w)
  conv_t_ref, kernel_grad_ref = vjp(y)
  references = {
      "conv": conv4x4.conv_xla(x, w),
      "conv_t": conv_t_ref,
      "kernel_grad": kernel_grad_ref,
  }
  assert set(args) == set(conv4x4.FORMS)
  for computation, forms in conv4x4.FORMS.items():
    assert len(forms) >= 2 and "xla" in forms
    reference = references[computation]
    for name, form in forms.items():
      np.testing.assert_allclose(
          form(*args[computation]),
          reference,
          atol=1e-4 * float(jnp.abs(reference).max()),
          err_msg=f"{computation} {name}",
      )


_CPUS = {  # cpuid as cpuinfo writes it: the Zen 4 and the Xeon measured in
    # BENCHMARKS.md; a Zen 3 (family 25, no AVX-512) and a Zen 2 EPYC (AVX2).
    "zen4": ("AuthenticAMD cpu family 25 model 17 stepping 1", "avx512f"),
    "zen3": ("AuthenticAMD cpu family 25 model 1 stepping 1", "avx2"),
    "avx2_epyc": ("AuthenticAMD cpu family 23 model 49 stepping 0", "avx2"),
    "xeon": ("GenuineIntel cpu family 6 model 167 stepping 1", "avx512f"),
}


@pytest.mark.parametrize("cpu", _CPUS)
def test_the_rule_takes_the_forms_measured_for_the_cpu(monkeypatch, cpu):
  cpuid, isa = _CPUS[cpu]
  monkeypatch.setattr(
      cpuinfo,
      "identity",
      lambda: {"cpu": "x", "cpuid": cpuid, "isa": ["avx2", isa], "cores": 2},
  )
  spec = lambda *shape: jax.ShapeDtypeStruct(shape, jnp.float32)
  inner = (spec(64, 32, 32, 64), spec(64, 16, 16, 128))
  image = (spec(64, 64, 64, 3), spec(64, 32, 32, 64))
  w = spec(4, 4, 64, 128)
  w_image = spec(4, 4, 3, 64)
  if cpu == "zen4" and onednn.available():
    # oneDNN's forms, but G's last layer (into 3 channels) by col2im.
    assert conv4x4.rule_form("kernel_grad", *inner) == "onednn"
    assert conv4x4.rule_form("kernel_grad", *image) == "onednn"
    assert conv4x4.rule_form("conv", image[0], w_image) == "onednn"
    assert conv4x4.rule_form("conv", inner[0], w) == "onednn"
    assert conv4x4.rule_form("conv_t", inner[1], w) == "onednn"
    assert conv4x4.rule_form("conv_t", image[1], w_image) == "col2im"
    return
  inner_form = "xla_chunked" if cpu == "zen4" else "space_to_depth"
  assert conv4x4.rule_form("kernel_grad", *inner) == inner_form
  assert conv4x4.rule_form("kernel_grad", *image) == "im2col"
  assert conv4x4.rule_form("conv", image[0], w_image) == "im2col"
  assert conv4x4.rule_form("conv", inner[0], w) == "xla"
  assert conv4x4.rule_form("conv_t", inner[1], w) == "space_to_depth"
  assert conv4x4.rule_form("conv_t", image[1], w_image) == "col2im"


def test_transposed_conv_by_hand():
  # 1-D check on one channel: flax's 'SAME' stride-2 kernel-4 transposed
  # conv gives y[2m] = x[m-1] w0 + x[m] w2 and y[2m+1] = x[m] w1 + x[m+1] w3.
  x = jnp.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1)
  w1d = jnp.array([1.0, 10.0, 100.0, 1000.0])
  kernel = jnp.zeros((4, 4, 1, 1)).at[1, :, 0, 0].set(w1d)  # Row tap 1 only.
  y = strided.ConvTranspose4x4s2(1).apply({"params": {"kernel": kernel}}, x)
  xs = [0.0, 1.0, 2.0, 3.0, 0.0]  # x padded: xs[m + 1] = x[m].
  expected = []
  for m in range(3):
    expected += [xs[m] * 1 + xs[m + 1] * 100, xs[m + 1] * 10 + xs[m + 2] * 1000]
  # Row tap 1 reaches the odd output rows 2m + 1 from input row m only.
  np.testing.assert_allclose(y[0, 1, :, 0], expected)
  np.testing.assert_allclose(y[0, 0, :, 0], 0.0)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_keeps_the_parameter_tree_of_nn_conv(spectral_norm):
  # Checkpoints written while D used nn.Conv restore into it unchanged.
  d = dcgan.Discriminator(resolution=32, width=8, spectral_norm=spectral_norm)
  variables = jax.eval_shape(
      lambda: d.init(jax.random.PRNGKey(0), jnp.zeros((2, 32, 32, 1)))
  )
  params = variables["params"]
  for i, (cin, cout) in enumerate([(1, 8), (8, 16), (16, 32)]):
    assert params[f"Conv_{i}"]["kernel"].shape == (4, 4, cin, cout)
  if spectral_norm:
    assert "Conv_0/kernel/u" in variables["batch_stats"]["SpectralNorm_0"]


def test_dcgan_is_the_same_function_with_either_implementation():
  # One parameter tree: a run trained with one form restores into the other
  # (e.g. trained on a TPU with 'xla', sampled on a CPU with 'matmul').
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 32, 32, 1))
  z = jax.random.normal(jax.random.PRNGKey(1), (4, 8))
  for make, inputs in (
      (
          lambda impl: dcgan.Discriminator(
              resolution=32, width=8, conv_impl=impl
          ),
          x,
      ),
      (
          lambda impl: dcgan.Generator(
              resolution=32, channels=1, width=8, conv_impl=impl
          ),
          z,
      ),
  ):
    matmul, xla = make("matmul"), make("xla")
    variables = matmul.init(jax.random.PRNGKey(2), inputs, train=False)
    assert jax.tree.structure(variables) == jax.tree.structure(
        xla.init(jax.random.PRNGKey(2), inputs, train=False)
    )
    np.testing.assert_allclose(
        matmul.apply(variables, inputs, train=False),
        xla.apply(variables, inputs, train=False),
        atol=1e-5,
        rtol=1e-4,
    )


def test_odd_input_is_refused():
  with pytest.raises(ValueError, match="even input size, got 7x8"):
    strided.Conv4x4s2(2, impl="matmul").init(
        jax.random.PRNGKey(0), jnp.zeros((1, 7, 8, 3))
    )


@pytest.mark.parametrize("tuned", [False, True])
@pytest.mark.parametrize("fn", [conv4x4.conv4x4s2, conv4x4.conv_transpose4x4s2])
def test_replicated_kernel_gradient_on_4_devices(fn, tuned):
  # Under shard_map, the gradient for a replicated kernel is summed over
  # devices, as JAX's own differentiation of the textbook operator does.
  mesh = jax.make_mesh((4,), ("data",))
  shape = (8, 8, 8, 6) if fn is conv4x4.conv4x4s2 else (8, 4, 4, 6)
  x = jax.device_put(
      jax.random.normal(jax.random.PRNGKey(0), shape),
      jax.NamedSharding(mesh, P("data")),
  )
  w = jax.random.normal(jax.random.PRNGKey(1), (4, 4, 6, 6))
  textbook = {
      conv4x4.conv4x4s2: lambda x, w: lax.conv_general_dilated(
          x,
          w,
          (2, 2),
          ((1, 1), (1, 1)),
          dimension_numbers=("NHWC", "HWIO", "NHWC"),
      ),
      # flax's nn.ConvTranspose kernel is w flipped, its channels swapped.
      conv4x4.conv_transpose4x4s2: lambda y, w: lax.conv_transpose(
          y,
          w[::-1, ::-1].transpose(0, 1, 3, 2),
          (2, 2),
          "SAME",
          dimension_numbers=("NHWC", "HWIO", "NHWC"),
      ),
  }

  def grads(f):
    def body(x, w):
      return jax.grad(lambda x, w: jnp.sum(jnp.sin(f(x, w))), (0, 1))(x, w)

    return jax.jit(
        jax.shard_map(
            body,
            mesh=mesh,
            in_specs=(P("data"), P()),
            out_specs=(P("data"), P()),
        )
    )(x, w)

  ours = lambda x, w: fn(x, w, tuned)
  for a, b in zip(grads(ours), grads(textbook[fn])):
    np.testing.assert_allclose(a, b, atol=1e-4 * float(jnp.abs(b).max()))
