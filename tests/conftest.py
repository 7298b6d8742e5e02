"""Test setup: 4 fake CPU devices (set before jax is imported anywhere)."""

import atexit
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile

# LLVM's expensive optimisation passes are skipped: they halve the compile
# time of the ~200 small programs the suite compiles (measured: 24 zoo steps
# 103 s -> 57 s). The HLO is unchanged; machine code may round differently
# in the last bits, which no test compares across settings: the processes
# that tests start (CLI runs, process groups) compile the same way
# (`cpu_env`). benchmarks/ and training compile with the defaults.
#
# XLA:CPU's older IR emitters instead of its fusion emitters: they compile
# the same fusions in less time (measured on a 2-core Zen 4 EPYC, cold
# cache: 15 of zoo_test's one-step tests 102 s -> 76 s; eager op-by-op
# dispatch, each op a program, about halves).
FAST_COMPILE = (
    "--xla_backend_optimization_level=0"
    " --xla_llvm_disable_expensive_passes=true"
    " --xla_cpu_use_fusion_emitters=false"
)
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_force_host_platform_device_count=4 "
    + FAST_COMPILE
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = pathlib.Path(__file__).resolve().parents[1]
# JAX's persistent compilation cache, shared by the test processes, the
# training processes the CLI tests start and later runs: many tests compile
# the same programs again (a run and its resume, every host of a process
# group). Its key is the program, the compile options and the jax version, so
# a hit is the program the test would have compiled. `pytest --cache-clear`
# empties it. Measured: tests/train_test.py + sample_test.py 217 s -> 166 s
# on a cold cache.
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR", str(ROOT / ".pytest_cache" / "xla")
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
# The convolution forms timed on this machine (jaxgan/cpu/autotune.py), shared
# the same way: a shape is timed by the first test that traces it.
os.environ.setdefault(
    "JAXGAN_CACHE_DIR", str(ROOT / ".pytest_cache" / "jaxgan")
)
sys.path.insert(0, str(ROOT))  # `configs` and `jaxgan` from this checkout.

import numpy as np  # pylint: disable=g-import-not-at-top
import pytest  # pylint: disable=g-import-not-at-top


def xla_flags(devices: int) -> str:
  """XLA_FLAGS for a process a test starts: `devices` fake CPU devices."""
  return f"--xla_force_host_platform_device_count={devices} {FAST_COMPILE}"


def cpu_env(devices: int = 1) -> dict[str, str]:
  """The environment of a jaxgan process a test starts, on CPU."""
  return dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=xla_flags(devices))


def free_port() -> int:
  """A TCP port on 127.0.0.1 that nothing listens on now."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def write_idx(path: pathlib.Path, array: np.ndarray) -> None:
  """Writes a uint8 array as an (uncompressed) IDX file."""
  header = bytes([0, 0, 0x08, array.ndim])
  header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
  path.write_bytes(header + np.ascontiguousarray(array, np.uint8).tobytes())


def run_process(module: str, args, env: dict[str, str], timeout: float = 300):
  """`python -m module *args` in a new interpreter, from the checkout."""
  return subprocess.run(
      [sys.executable, "-m", module, *args],
      cwd=ROOT,
      env=env,
      capture_output=True,
      text=True,
      timeout=timeout,
  )


class _CliServer:
  """`python -m <module> <args>` through tests/cli_server.py: a forked
  copy of one process that has imported jax and jaxgan, instead of a new
  interpreter that imports them again (~1.3 s each)."""

  def __init__(self, tmp: pathlib.Path):
    self.tmp, self.count = tmp, 0
    self.env = cpu_env()
    self.proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "cli_server.py")],
        cwd=ROOT,
        env=self.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

  def run(self, module, args, env, timeout=300):
    # JAX reads its JAX_* variables when it is imported, in the server.
    jax_vars = lambda e: {k: v for k, v in e.items() if k.startswith("JAX_")}
    assert jax_vars(env) == jax_vars(self.env), "start a real process"
    self.count += 1
    out, err = (self.tmp / f"{self.count}.{n}" for n in ("out", "err"))
    request = dict(
        module=module,
        args=list(args),
        env=dict(env),
        cwd=str(ROOT),
        stdout=str(out),
        stderr=str(err),
        timeout=timeout,
    )
    self.proc.stdin.write(json.dumps(request) + "\n")
    self.proc.stdin.flush()
    line = self.proc.stdout.readline()
    if not line:
      raise RuntimeError(
          f"tests/cli_server.py ended (exit status {self.proc.wait()}); "
          "its error is in this test process's stderr"
      )
    answer = json.loads(line)
    result = subprocess.CompletedProcess(
        [sys.executable, "-m", module, *args],
        answer["returncode"],
        out.read_text(),
        err.read_text(),
    )
    out.unlink()
    err.unlink()
    return result

  def close(self):
    self.proc.stdin.close()
    self.proc.wait(timeout=60)
    shutil.rmtree(self.tmp, ignore_errors=True)


_SERVER: list[_CliServer] = []  # This test process's, started on first use.


def run_command(module: str, args, env: dict[str, str], timeout: float = 300):
  """subprocess.run([python, -m, module, *args], env=env, cwd=ROOT,
  capture_output=True, text=True) for a command that reads no stdin and
  gets no signal, run by this test process's tests/cli_server.py."""
  if not _SERVER:
    _SERVER.append(_CliServer(pathlib.Path(tempfile.mkdtemp("cli_server"))))
    atexit.register(_SERVER[0].close)
  return _SERVER[0].run(module, args, env, timeout)


@pytest.fixture
def one_device(monkeypatch):
  """Training in the test process on one of its four fake devices.

  XLA:CPU runs the fake devices' all-reduces on threads of one pool as
  large as the machine's cores; on 2 loaded cores a rendezvous of four
  devices can wait past XLA's termination timeout, and XLA aborts the
  process (a worker's core dump: abort in AwaitAndLogIfStuck under
  InProcessCommunicator::AllReduce, in a 400-iteration run; five of seven
  full-suite runs, CI's included, lost a worker in that test). Learning
  tests of hundreds of iterations need no second device; the multi-device
  tests stay short.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top

  monkeypatch.setattr(
      runtime,
      "make_mesh",
      lambda: jax.make_mesh((1,), (runtime.AXIS,), devices=jax.devices()[:1]),
  )


@pytest.fixture
def idx_dir(tmp_path) -> pathlib.Path:
  """A small Fashion-MNIST-like IDX dataset: 64 28x28 images, 10 classes."""
  rng = np.random.default_rng(0)
  d = tmp_path / "idx"
  d.mkdir()
  images = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
  write_idx(d / "train-images-idx3-ubyte", images)
  write_idx(
      d / "train-labels-idx1-ubyte", (np.arange(64) % 10).astype(np.uint8)
  )
  return d


def tiny_config(**overrides):
  """configs/tiny.py with dotted-key overrides, e.g. {'train.num_steps': 4}."""
  from configs import tiny  # pylint: disable=g-import-not-at-top

  config = tiny.get_config()
  for key, value in overrides.items():
    node = config
    *parents, leaf = key.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config


# Session scope: built once per test process, not again each time the
# process comes back to this module (pytest-xdist interleaves modules).
@pytest.fixture(scope="session")
def labelled(tmp_path_factory):
  """A two-class IDX dataset (dark and bright noise) and a classifier."""
  root = tmp_path_factory.mktemp("labelled")
  rng = np.random.default_rng(0)
  data = root / "idx"
  data.mkdir()
  for prefix, n in (("train", 96), ("t10k", 40)):
    labels = np.arange(n) % 2
    images = np.where(
        labels[:, None, None] == 1,
        rng.integers(150, 256, (n, 28, 28)),
        rng.integers(0, 100, (n, 28, 28)),
    ).astype(np.uint8)
    write_idx(data / f"{prefix}-images-idx3-ubyte", images)
    write_idx(data / f"{prefix}-labels-idx1-ubyte", labels.astype(np.uint8))
  from jaxgan.metrics import feature_net_training as classifier_training  # pylint: disable=g-import-not-at-top

  config = tiny_config(**{"data.source": f"idx:{data}"})
  meta = classifier_training.train_classifier(
      config.data,
      str(root / "clf"),
      epochs=2,
      batch_size=16,
      log=lambda *a: None,
  )
  return {"root": root, "data": data, "clf": root / "clf", "meta": meta}


# The slowest tests (node id prefixes, slowest first; from `pytest
# --durations`) run first: pytest-xdist hands out tests in collection order,
# so a long test collected late keeps one worker busy after the other has
# run out of work. Order only: every test still runs.
SLOWEST_FIRST = (
    # Builds what the file's other tests share (~70 s; a worker that gets
    # one of them meanwhile waits for it, so they keep their place in the
    # collection order, minutes later).
    "tests/reference_fid_test.py::test_the_converted_file",
    "tests/evaluation_test.py::test_training_logs_metrics",
    "tests/train_test.py::test_resume_equals_uninterrupted[biggan]",
    "tests/reliability_test.py::test_fault_injection_short",
    "tests/multiprocess_test.py::test_group_restarts",
    "tests/train_test.py::test_resume_equals_uninterrupted[pix2pix]",
    "tests/step_test.py::test_four_devices_equal_one_device[ada_bcr_lecam]",
    "tests/aot_test.py::test_biggan_with_attention",
    "tests/resnet_test.py::test_biggan_learns_the_class",
    "tests/train_test.py::test_resume_equals_uninterrupted[srgan]",
    "tests/train_test.py::test_main_cli_on_idx_files",
    "tests/multiprocess_test.py::test_two_processes_equal_one_process",
    "tests/train_test.py::test_resume_equals_uninterrupted[progan]",
    "tests/conditional_test.py::test_infogan_code_aligns",
    "tests/evaluation_test.py::test_truncation_sweep_cli",
)


def pytest_collection_modifyitems(items):
  def rank(item):
    for i, prefix in enumerate(SLOWEST_FIRST):
      if item.nodeid.startswith(prefix):
        return i
    return len(SLOWEST_FIRST)

  items.sort(key=rank)  # Stable: the rest keep their order.
