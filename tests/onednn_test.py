"""oneDNN's forms of DCGAN's convolution (cpu/onednn.py): built and
loaded here, equal to XLA's convolution and its autodiff in values, first and
second gradients, under vmap and on 4 devices; refused clearly off float32;
left out of conv4x4's choices where they cannot run."""

import platform
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from jaxgan.cpu import conv4x4, onednn


def _close(a, b, what=""):
  np.testing.assert_allclose(
      a, b, atol=1e-4 * float(jnp.abs(b).max()), err_msg=what
  )


def _arrays(x_shape=(3, 12, 8, 5), out_channels=7):
  kx, ky, kw = jax.random.split(jax.random.PRNGKey(0), 3)
  n, h, w, _ = x_shape
  x = jax.random.normal(kx, x_shape)
  y = jax.random.normal(ky, (n, h // 2, w // 2, out_channels))
  w = jax.random.normal(kw, (4, 4, x_shape[-1], out_channels))
  return x, y, w


def _xla(computation):
  """XLA's form of `computation` (tests/conv4x4_test.py checks each against
  XLA's convolution and JAX's autodiff of it)."""
  return conv4x4.FORMS[computation]["xla"]


def _args(computation, x, y, w):
  return {"conv": (x, w), "conv_t": (y, w), "kernel_grad": (x, y)}[computation]


def test_built_and_loaded_where_installed():
  # A declared dependency on x86-64 Linux: there the forms must run (a
  # broken build would otherwise fall back to XLA's forms unnoticed).
  if sys.platform.startswith("linux") and platform.machine() == "x86_64":
    assert onednn.installed()
  if onednn.installed():
    assert onednn.available(), onednn.unavailable_reason()
    assert onednn.unavailable_reason() is None
    assert all("onednn" in forms for forms in conv4x4.FORMS.values())


needs_onednn = pytest.mark.skipif(
    not onednn.installed(), reason="oneDNN is not installed here"
)


@needs_onednn
@pytest.mark.parametrize("computation", ["conv", "conv_t", "kernel_grad"])
def test_values_and_two_orders_of_gradients_equal_xla(computation):
  x, y, w = _arrays()
  args = _args(computation, x, y, w)
  ours = getattr(onednn, computation)
  ref = _xla(computation)
  _close(jax.jit(ours)(*args), ref(*args), computation)
  weights = jax.random.normal(jax.random.PRNGKey(1), ref(*args).shape)

  def first(f):  # Gradient of a non-linear loss in both arguments.
    return jax.grad(lambda a, b: jnp.sum(jnp.sin(f(a, b)) * weights), (0, 1))

  def second(f):  # ... and of a loss of that gradient (R1's shape).
    return jax.grad(
        lambda a, b: sum(jnp.sum(g**2) for g in first(f)(a, b)), (0, 1)
    )

  for order, make in (("first", first), ("second", second)):
    for i, (a, b) in enumerate(zip(make(ours)(*args), make(ref)(*args))):
      _close(a, b, f"{computation}: {order} gradient, argument {i}")


@needs_onednn
def test_vmap_and_a_batch_of_one():
  x, y, w = _arrays((1, 8, 8, 3), 4)
  xs = jnp.stack([x, -2 * x])
  _close(
      jax.vmap(onednn.conv, (0, None))(xs, w),
      jax.vmap(conv4x4.conv_xla, (0, None))(xs, w),
  )
  _close(onednn.kernel_grad(x, y), _xla("kernel_grad")(x, y))


@needs_onednn
def test_replicated_kernel_gradient_on_4_devices():
  # Four devices call the handlers at once; the kernel's gradient is summed
  # over them as JAX's differentiation of XLA's convolution does.
  mesh = jax.make_mesh((4,), ("data",))
  x = jax.device_put(
      jax.random.normal(jax.random.PRNGKey(0), (8, 8, 8, 6)),
      jax.NamedSharding(mesh, P("data")),
  )
  w = jax.random.normal(jax.random.PRNGKey(1), (4, 4, 6, 6))

  def grads(f):
    def body(x, w):
      def loss(x, w):
        return jnp.sum(jnp.sin(f(f(x, w).repeat(2, 1).repeat(2, 2), w)))

      return jax.grad(loss, (0, 1))(x, w)

    spec = dict(in_specs=(P("data"), P()), out_specs=(P("data"), P()))
    return jax.jit(jax.shard_map(body, mesh=mesh, **spec))(x, w)

  for a, b in zip(grads(onednn.conv), grads(conv4x4.conv_xla)):
    _close(a, b)


@needs_onednn
def test_other_dtypes_are_refused_with_the_fix():
  x, _, w = _arrays()
  with pytest.raises(ValueError, match=r"bfloat16.*conv_impl='matmul'"):
    onednn.conv(x.astype(jnp.bfloat16), w.astype(jnp.bfloat16))
  # conv4x4 never offers it there: neither the rule nor `tuned`.
  xb, wb = x.astype(jnp.bfloat16), w.astype(jnp.bfloat16)
  assert "onednn" not in conv4x4._forms("conv", xb, wb)  # pylint: disable=protected-access


def test_the_rule_keeps_to_xla_forms_where_onednn_cannot_run(monkeypatch):
  monkeypatch.setattr(conv4x4, "ONEDNN_BY_CPU", (lambda: True,))
  spec = lambda *shape: jax.ShapeDtypeStruct(shape, jnp.float32)
  x, w = spec(64, 32, 32, 64), spec(4, 4, 64, 128)
  monkeypatch.setattr(onednn, "available", lambda: False)
  assert conv4x4.rule_form("conv", x, w) == "xla"
  assert "onednn" not in conv4x4._forms("conv", x, w)  # pylint: disable=protected-access
  monkeypatch.setattr(onednn, "available", lambda: True)
  assert conv4x4.rule_form("conv", x, w) == "onednn"


def test_a_failed_build_says_why_and_leaves_the_xla_forms(
    monkeypatch, tmp_path
):
  monkeypatch.setattr(onednn, "_state", {"loaded": False, "reason": None})
  monkeypatch.setenv("JAXGAN_CACHE_DIR", str(tmp_path))
  monkeypatch.setenv("CXX", "/bin/false")  # A compiler that always fails.
  if isinstance(onednn._find(), str):  # pylint: disable=protected-access
    pytest.skip("oneDNN is not installed here: nothing to build")
  assert not onednn.available()
  assert "compiling onednn_conv.cc failed (/bin/false" in (
      onednn.unavailable_reason()
  )
  spec = jax.ShapeDtypeStruct((2, 8, 8, 4), jnp.float32)
  w = jax.ShapeDtypeStruct((4, 4, 4, 4), jnp.float32)
  assert "onednn" not in conv4x4._forms("conv", spec, w)  # pylint: disable=protected-access
  assert not list(tmp_path.rglob("*.so"))  # No half-written library left.
