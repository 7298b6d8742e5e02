"""Forms of a computation chosen by timing them on the machine that runs them.

A computation with several exact forms (DCGAN's convolutions,
cpu/conv4x4.py) asks `choose(computation, forms, args)` while it is being
traced. The first time a machine sees that computation at those shapes and
dtypes, every form is compiled and timed on the device the run uses, and the
fastest is kept in a JSON file on disk; later traces, later runs and the
tests read the choice from it and pay nothing. Which form is fastest depends
on the CPU (the same DCGAN step measured 1.07x PyTorch on an AVX2-only EPYC
and 0.84x on a Zen 4 with AVX-512), so choices are keyed by the CPU's model,
cpuid and ISA flags (jaxgan/cpu/cpuinfo.py), its usable cores, the backend and
device kind, the jax and jaxlib versions and the XLA flags; a different
machine, upgrade or flag times again.

A caller may name the form it would take without timing (`prefer`) and a
margin: isolated timings can mislead about the whole program (XLA overlaps
its operations), so the preferred form keeps its place unless another is
faster by more than the margin.

The file is $JAXGAN_CACHE_DIR/forms.json, or
${XDG_CACHE_HOME:-~/.cache}/jaxgan/forms.json. Processes that start together
(the hosts of a run, test workers) take a file lock while they choose, so the
first one times and the others read its choice: every process of a run
computes the same forms. Delete the file to time again. Where it cannot be
written, the choice is timed and kept for this process only.

The forms are equal within float rounding, so a choice changes speed, never
results beyond rounding. Timing happens in a thread of its own: JAX's
tracing state is per thread, so the trace that asked is not disturbed.
"""

import concurrent.futures
import contextlib
import hashlib
import json
import os
import pathlib
import statistics
import tempfile
import threading
import time
from typing import Callable, Sequence

import jax
import jaxlib
import numpy as np

from jaxgan.cpu import cpuinfo

ENV = "JAXGAN_CACHE_DIR"
FORMAT = 1  # Bump when what a cached choice means changes.
# Timing: rounds over all forms (interleaved, so drift hits each alike),
# each call repeated until it has run at least MIN_SECONDS; the median of
# the rounds decides.
ROUNDS = 5
MIN_SECONDS = 0.002

# XLA flags that change where work runs, not how fast one device computes:
# left out of the key so a 4-device test process reads a 1-device run's
# choices.
_FLAGS_NOT_IN_KEY = ("--xla_force_host_platform_device_count",)

_lock = threading.Lock()  # Guards _memory and _stats within a process.
_memory: dict[tuple[str, str], dict[str, float]] = {}  # -> ms per form.
_stats = {"timed": 0, "cached": 0, "seconds": 0.0}


def cache_path() -> pathlib.Path:
  root = os.environ.get(ENV) or os.path.join(
      os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
      "jaxgan",
  )
  return pathlib.Path(root) / "forms.json"


def _device() -> jax.Device:
  return jax.local_devices()[0]


def machine_key() -> str:
  """What a choice holds for: this CPU, backend, versions and XLA flags."""
  device = _device()
  flags = sorted(
      f
      for f in os.environ.get("XLA_FLAGS", "").split()
      if not f.startswith(_FLAGS_NOT_IN_KEY)
  )
  ident = cpuinfo.identity()
  fields = {
      "format": FORMAT,
      "cpu": ident["cpu"],
      "cpuid": ident["cpuid"],
      "isa": ident["isa"],
      "cores": ident["cores"],
      "platform": device.platform,
      "device_kind": device.device_kind,
      "jax": jax.__version__,
      "jaxlib": jaxlib.__version__,
      "xla_flags": flags,
  }
  text = json.dumps(fields, sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:16] + " " + text


def _shape_key(computation: str, args: Sequence) -> str:
  shapes = ",".join(
      f"{np.dtype(a.dtype).name}[{'x'.join(map(str, a.shape))}]" for a in args
  )
  return f"{computation}({shapes})"


def time_forms(forms: dict[str, Callable], args: Sequence) -> dict[str, float]:
  """Milliseconds per call of each form on `args`' shapes and dtypes
  (random inputs on this process's first device; median of ROUNDS)."""
  device = _device()
  rng = np.random.default_rng(0)
  inputs = [
      jax.device_put(
          rng.standard_normal(a.shape).astype(np.float32).astype(a.dtype),
          device,
      )
      for a in args
  ]
  compiled = {name: jax.jit(fn) for name, fn in forms.items()}
  calls = {}
  for name, fn in compiled.items():  # Compile, warm up, size the loop.
    jax.block_until_ready(fn(*inputs))
    start = time.perf_counter()
    jax.block_until_ready(fn(*inputs))
    once = time.perf_counter() - start
    calls[name] = max(1, int(MIN_SECONDS / max(once, 1e-9)))
  times = {name: [] for name in forms}
  for _ in range(ROUNDS):
    for name, fn in compiled.items():
      start = time.perf_counter()
      for _ in range(calls[name]):
        out = fn(*inputs)
      jax.block_until_ready(out)
      times[name].append((time.perf_counter() - start) / calls[name])
  return {name: statistics.median(t) * 1000 for name, t in times.items()}


@contextlib.contextmanager
def _file_lock(path: pathlib.Path):
  """An exclusive lock on `path`.lock across processes (where possible)."""
  try:
    import fcntl  # pylint: disable=g-import-not-at-top
  except ImportError:  # Not POSIX: no lock.
    yield
    return
  with open(path.with_name(path.name + ".lock"), "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def _read(path: pathlib.Path) -> dict:
  try:
    with open(path) as f:
      data = json.load(f)
    return data if isinstance(data, dict) else {}
  except (OSError, ValueError):  # Missing, or not JSON: start afresh.
    return {}


def _write(path: pathlib.Path, data: dict) -> None:
  """Replaces `path` atomically, so a reader never sees half a file."""
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
  try:
    with os.fdopen(fd, "w") as f:
      json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
  except BaseException:
    os.unlink(tmp)
    raise


def _time_in_thread(forms, args) -> dict[str, float]:
  # A fresh thread has no trace: the forms run on concrete inputs even while
  # the caller's thread is tracing.
  with concurrent.futures.ThreadPoolExecutor(1) as pool:
    return pool.submit(time_forms, forms, args).result()


def _timings(path, machine, key, forms, args) -> dict[str, float]:
  """The cached timings of `key`'s forms, or timings taken now (written
  back to the file with the fastest form)."""
  entry = _read(path).get(machine, {}).get(key)
  if entry and set(entry.get("ms", {})) == set(forms):
    _stats["cached"] += 1
    return entry["ms"]
  start = time.perf_counter()
  ms = _time_in_thread(forms, args)
  _stats["timed"] += 1
  _stats["seconds"] += time.perf_counter() - start
  data = _read(path)  # Again: another process may have written meanwhile.
  data.setdefault(machine, {})[key] = {"form": min(ms, key=ms.get), "ms": ms}
  _write(path, data)
  return ms


def decide(ms: dict[str, float], prefer: str | None, margin: float) -> str:
  """The fastest form, unless `prefer` is within `margin` (a fraction) of
  it: isolated timings within a few percent are no evidence that the whole
  program runs faster, so a default measured on the whole program keeps
  its place until a form beats it clearly."""
  best = min(ms, key=ms.get)
  if prefer in ms and ms[prefer] <= ms[best] * (1 + margin):
    return prefer
  return best


def choose(
    computation: str,
    forms: dict[str, Callable],
    args: Sequence,
    prefer: str | None = None,
    margin: float = 0.0,
) -> str:
  """The name of the fastest of `forms` (name -> function of `args`) on this
  machine, or `prefer` where it is within `margin` of the fastest (`decide`);
  `args` are arrays or tracers (only shapes and dtypes are read)."""
  machine = machine_key()
  key = _shape_key(computation, args)
  with _lock:
    ms = _memory.get((machine, key))
    if ms is None or set(ms) != set(forms):
      path = cache_path()
      try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(path):
          ms = _timings(path, machine, key, forms, args)
      except OSError:  # Not writable: time it for this process only.
        ms = _time_in_thread(forms, args)
        _stats["timed"] += 1
      _memory[(machine, key)] = ms
    return decide(ms, prefer, margin)


def stats() -> dict:
  """{'timed': choices timed by this process, 'cached': choices read from
  the file, 'seconds': time spent timing}."""
  with _lock:
    return dict(_stats)


def chosen() -> dict[str, dict[str, float]]:
  """The computations this process has timed or read: key -> ms per form."""
  with _lock:
    return {key: dict(ms) for (_, key), ms in _memory.items()}
