"""DCGAN's strided convolution and its gradients through oneDNN, on the CPU.

oneDNN is the library PyTorch's (and TensorFlow's) CPU convolutions run on.
On an AMD Zen 4 it runs the three computations of jaxgan/cpu/conv4x4.py
(`conv`, `conv_t`, `kernel_grad`) at PyTorch's speed, where XLA:CPU's own
kernels and every matmul form reach 45-85% of it (benchmarks/BENCHMARKS.md).
This module calls it from XLA through the FFI: onednn_conv.cc (next to this
file) holds one handler per computation.

The handlers are compiled on first use, once per machine: the C++ compiler
(`$CXX`, else `g++`) against oneDNN's headers and library (the PyPI
packages `onednn-cpu-gomp` and `onednn-devel-cpu-gomp`, oneDNN 3.2, which
`pip install jaxgan` brings on x86-64 Linux into this Python's prefix) and
JAX's FFI headers. The shared library
goes to the cache folder of jaxgan/cpu/autotune.py, named by a digest of
everything it was built from, so later processes load it in milliseconds.
Where any piece is missing, `available()` is False with the reason in
`unavailable_reason()`, and conv4x4 keeps to its XLA forms.

`conv`, `conv_t` and `kernel_grad` differentiate to each other (all three
are bilinear), so gradients of gradients (R1, gradient penalties) work.
"""

import ctypes
import functools
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading

from absl import logging
import jax

from jaxgan.cpu import autotune
from jaxgan.cpu import manual_axes

SOURCE = pathlib.Path(__file__).with_name("onednn_conv.cc")
TARGETS = {
    "conv": "JaxganOnednnConv",
    "conv_t": "JaxganOnednnConvT",
    "kernel_grad": "JaxganOnednnKernelGrad",
}
_HEADER = os.path.join("oneapi", "dnnl", "dnnl.hpp")
_lock = threading.Lock()


def _find() -> tuple[str, str, str] | str:
  """(compiler, include folder, lib folder), or why there are none."""
  if not sys.platform.startswith("linux"):
    return f"oneDNN forms are built on Linux only (this is {sys.platform})"
  compiler = os.environ.get("CXX") or shutil.which("g++")
  if not compiler:
    return "no C++ compiler (install g++, or set CXX)"
  include = os.path.join(sys.prefix, "include")
  lib = os.path.join(sys.prefix, "lib")
  headers = os.path.exists(os.path.join(include, _HEADER))
  if headers and os.path.exists(os.path.join(lib, "libdnnl.so")):
    return compiler, include, lib
  return (
      f"oneDNN 3's headers and library are not in {sys.prefix} (pip install "
      "onednn-cpu-gomp onednn-devel-cpu-gomp)"
  )


@functools.cache
def installed() -> bool:
  """Whether the compiler, oneDNN's headers and its library are here
  (nothing is built or imported)."""
  return not isinstance(_find(), str)


def _library_path(compiler: str, include: str, lib: str) -> pathlib.Path:
  digest = hashlib.sha256()
  for part in (
      SOURCE.read_bytes(),
      jax.ffi.include_dir().encode(),
      jax.__version__.encode(),
      compiler.encode(),
      include.encode(),
      os.path.realpath(os.path.join(lib, "libdnnl.so")).encode(),
  ):
    digest.update(part)
  folder = autotune.cache_path().parent / "onednn"
  return folder / f"onednn_conv_{digest.hexdigest()[:16]}.so"


def _build(compiler: str, include: str, lib: str) -> pathlib.Path:
  """The handlers' shared library, compiled now unless already cached."""
  path = _library_path(compiler, include, lib)
  if path.exists():
    return path
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(suffix=".so", dir=path.parent)
  os.close(fd)
  command = [
      compiler, "-O2", "-std=c++17", "-shared", "-fPIC", "-w",
      f"-I{include}", f"-I{jax.ffi.include_dir()}", str(SOURCE),
      f"-L{lib}", "-ldnnl", f"-Wl,-rpath,{lib}", "-o", tmp,
  ]  # fmt: skip
  try:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
      raise RuntimeError(
          f"compiling {SOURCE.name} failed ({' '.join(command)}): "
          + (done.stderr.strip().splitlines() or ["no output"])[-1]
      )
    os.replace(tmp, path)  # Atomic: processes building together agree.
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


_state = {"loaded": False, "reason": None}


def _load() -> None:
  """Builds (or finds) and loads the library, registers its handlers."""
  with _lock:
    if _state["loaded"] or _state["reason"]:
      return
    found = _find()
    if isinstance(found, str):
      _state["reason"] = found
      return
    try:
      library = ctypes.cdll.LoadLibrary(str(_build(*found)))
    except (OSError, RuntimeError) as e:
      _state["reason"] = str(e)
      logging.warning("oneDNN forms unavailable: %s", e)
      return
    for target in TARGETS.values():
      jax.ffi.register_ffi_target(
          target, jax.ffi.pycapsule(getattr(library, target)), platform="cpu"
      )
    _state["loaded"] = True


def available() -> bool:
  """Whether the oneDNN forms run here: installed, built (now if need be)
  and on the CPU backend."""
  if jax.default_backend() != "cpu":
    return False
  _load()
  return _state["loaded"]


def unavailable_reason() -> str | None:
  """Why `available()` is False (None when it is True)."""
  if jax.default_backend() != "cpu":
    return f"the backend is {jax.default_backend()}, not cpu"
  _load()
  return _state["reason"]


def _call(computation: str, shape: tuple[int, ...], *args: jax.Array):
  for a in args:
    if a.dtype != jax.numpy.float32 or a.ndim != 4:
      raise ValueError(
          f"oneDNN's {computation} takes 4-D float32 arrays, got "
          f"{a.dtype}{list(a.shape)}; use conv_impl='matmul' for other dtypes"
      )
  if not available():
    raise RuntimeError(f"oneDNN's {computation}: {unavailable_reason()}")
  # Under shard_map the result varies over every axis an argument does (JAX
  # types an FFI call's results as invariant).
  axes = frozenset().union(*map(manual_axes.varying, args))
  args = [manual_axes.to_varying(a, axes) for a in args]
  if axes:  # The arguments' manual mesh and its variance; all are 4-D.
    result = jax.typeof(args[0]).update(shape=shape)
  else:
    result = jax.ShapeDtypeStruct(shape, args[0].dtype)
  return jax.ffi.ffi_call(
      TARGETS[computation], result, vmap_method="sequential"
  )(*args)


@jax.custom_vjp
def conv(x: jax.Array, w: jax.Array) -> jax.Array:
  """conv4x4's `conv`: (N, H, W, C), (4, 4, C, O) -> (N, H/2, W/2, O)."""
  n, h, wd, _ = x.shape
  return _call("conv", (n, h // 2, wd // 2, w.shape[3]), x, w)


@jax.custom_vjp
def conv_t(y: jax.Array, w: jax.Array) -> jax.Array:
  """conv4x4's `conv_t`: (N, H/2, W/2, O), (4, 4, C, O) -> (N, H, W, C)."""
  n, h, wd, _ = y.shape
  return _call("conv_t", (n, 2 * h, 2 * wd, w.shape[2]), y, w)


@jax.custom_vjp
def kernel_grad(x: jax.Array, dy: jax.Array) -> jax.Array:
  """conv4x4's `kernel_grad`: (N, H, W, C), (N, H/2, W/2, O) -> (4, 4, C, O)."""
  return _call("kernel_grad", (4, 4, x.shape[3], dy.shape[3]), x, dy)


# <kernel_grad(x, dy), k> = <conv(x, k), dy> = <x, conv_t(dy, k)>: each
# computation's gradients are the other two.
def _cotangents(res, a_ct, b_ct):
  return manual_axes.cotangent(a_ct, res[0]), manual_axes.cotangent(
      b_ct, res[1]
  )


conv.defvjp(
    lambda x, w: (conv(x, w), (x, w)),
    lambda res, dy: _cotangents(
        res, conv_t(dy, res[1]), kernel_grad(res[0], dy)
    ),
)
conv_t.defvjp(
    lambda y, w: (conv_t(y, w), (y, w)),
    lambda res, dx: _cotangents(res, conv(dx, res[1]), kernel_grad(dx, res[0])),
)
kernel_grad.defvjp(
    lambda x, dy: (kernel_grad(x, dy), (x, dy)),
    lambda res, dk: _cotangents(res, conv_t(res[1], dk), conv(res[0], dk)),
)
