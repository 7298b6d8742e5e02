"""Where a run executes, in one place: devices, processes and backends.

The mesh and its axis name, which process writes files, the per-process and
per-device batch, turning a process-local batch into a global array, and the
backend-specific choices of a run: whether the CPU runs it, which form of
DCGAN's convolutions a backend gets (`conv_impl`), and keeping libtpu quiet on
machines without a TPU.
"""

import glob
import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxgan.core.errors import UserError

AXIS = "data"  # The mesh axis the batch is split over.


def set_xla_flags(flags: dict[str, str]) -> None:
  """Adds XLA flags (name -> value) to $XLA_FLAGS, each unless it names it.

  XLA reads the variable when JAX starts its first backend, so this runs before
  that: in jaxgan.main with the model's flags (jaxgan/cpu/xla_flags.py), and in
  the benchmarks. To keep XLA's own choice, name the flag in $XLA_FLAGS.
  """
  current = os.environ.get("XLA_FLAGS", "")
  extra = [
      f"--{name}={value}"
      for name, value in flags.items()
      if f"--{name}=" not in current
  ]
  if extra:
    os.environ["XLA_FLAGS"] = " ".join([current, *extra]).strip()


def has_tpu_hardware() -> bool:
  """Whether this machine has TPU chips (a Cloud TPU VM's device files)."""
  return bool(glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def has_gpu_hardware() -> bool:
  """Whether this machine has an NVIDIA or AMD GPU (their device files)."""
  return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd"))


def runs_on_cpu() -> bool:
  """Whether JAX's default backend here will be the CPU, told before JAX
  starts one: $JAX_PLATFORMS names the CPU first, or names nothing and
  the machine has no TPU or GPU. CPU-only code (jaxgan/cpu/) is imported
  only when this holds or the backend in use is the CPU."""
  chosen = os.environ.get("JAX_PLATFORMS", "").strip()
  if chosen:
    return chosen.split(",")[0].strip() == "cpu"
  return not (has_tpu_hardware() or has_gpu_hardware())


def quiet_tpu_probe() -> None:
  """Keeps libtpu's start-up warnings off a machine without a TPU.

  With libtpu installed (the test extra; `jaxgan.aot` needs it), JAX tries
  the TPU backend first; libtpu then looks for a TPU VM's worker list and
  host bounds in the environment and prints five lines of errors when they
  are missing, before falling back to the CPU. Naming this one host makes it
  give up quietly. Call before JAX starts a backend; on a TPU VM (or when
  the variables are set) it changes nothing.
  """
  if has_tpu_hardware():
    return
  os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
  os.environ.setdefault("TPU_HOST_BOUNDS", "1,1,1")


# model.conv_impl -> the form of DCGAN's 4x4 stride-2 convolutions
# (cpu/conv4x4.py): 'matmul' = the custom-gradient forms by a rule per
# kind of CPU (measured on an AVX2-only EPYC; oneDNN's kernels on a Zen 4),
# 'tuned' = each computation in the form timed
# fastest on the machine that runs it, the rule's unless another is more
# than 20% faster (jaxgan/cpu/autotune.py), 'xla' = XLA's own convolutions and
# their autodiff.
CONV_IMPLS = ("auto", "xla", "matmul", "tuned")


def conv_impl(choice: str, platform: str) -> str:
  """'xla', 'matmul' or 'tuned' for `model.conv_impl=choice` on devices of
  `platform`.

  'auto' takes the rule's matmul forms on the CPU backend and XLA's
  convolutions elsewhere (on TPU their cost analysis favours them:
  benchmarks/BENCHMARKS.md). 'tuned' is not the CPU default: its choices
  depend on each device's batch, so the same samples drawn on 1 and on 4
  devices (or by `jaxgan.sample` and in a process with other devices) can
  differ in the last bit, and on the one AVX-512 CPU measured it was not
  faster than the rule for DCGAN-64.
  """
  if choice == "auto":
    return "matmul" if platform == "cpu" else "xla"
  return choice


def platform(mesh: Mesh) -> str:
  """The backend of `mesh`'s devices: 'cpu', 'gpu' or 'tpu'."""
  return mesh.devices.flat[0].platform


def make_mesh() -> Mesh:
  """A 1-D 'data' mesh over every device of every process."""
  return jax.make_mesh((jax.device_count(),), (AXIS,))


def is_writer() -> bool:
  """Process 0 writes logs, samples and metrics; all processes checkpoint."""
  return jax.process_index() == 0


def log(message: str) -> None:
  """Prints a progress line on process 0 only (every process computes the
  same values; N hosts would print N copies). Errors are not logged through
  this: each process reports its own."""
  if is_writer():
    print(message, flush=True)


def batch_sizes(
    global_batch: int, devices: int | None = None, processes: int | None = None
) -> tuple[int, int]:
  """Returns (per_process, per_device) batch sizes, validating divisibility.

  The counts default to this run's (`jax.device_count()`,
  `jax.process_count()`); jaxgan/aot.py passes a TPU topology's.
  """
  devices = devices or jax.device_count()
  processes = processes or jax.process_count()
  if global_batch <= 0 or global_batch % devices:
    raise UserError(
        f"train.batch_size={global_batch} is not divisible by {devices} "
        f"devices; use a multiple of {devices}"
    )
  return global_batch // processes, global_batch // devices


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """(k, batch, ...) arrays split over the batch axis."""
  return NamedSharding(mesh, P(None, AXIS))


def global_batch(local, mesh: Mesh):
  """Assembles each process's (k, per_process_batch, ...) arrays (one, or a
  tuple of images and labels) into global arrays."""
  sharding = batch_sharding(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, x), local
  )


def all_processes(x, *, tiled: bool = False) -> np.ndarray:
  """`x` from every process, as numpy on each: stacked on a new first axis,
  or with `tiled` concatenated along the first (a global array's pieces).
  With one process, `x` itself (stacked: with a leading axis of 1)."""
  if jax.process_count() == 1:
    return np.asarray(x) if tiled else np.asarray(x)[None]
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

  return np.asarray(multihost_utils.process_allgather(x, tiled=tiled))


def any_process(flag: bool) -> bool:
  """True on every process when `flag` is True on any (e.g. a SIGTERM that
  reached one host), so all stop and save at the same step."""
  return bool(np.any(all_processes(np.array(flag))))


def first_process(flag: bool) -> bool:
  """Process 0's `flag` on every process: for decisions that every process
  must take alike (saving a checkpoint is collective) but that rest on
  values each computes for itself (float metrics need not agree to the bit
  across hosts of different CPUs)."""
  return bool(all_processes(np.array(flag))[0])


def initialize(
    *,
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    auto: bool = False,
) -> None:
  """Starts `jax.distributed` when asked, and only then.

  With `coordinator_address`, `num_processes` and `process_id` (all three;
  e.g. several processes on one machine, or GPU nodes) they are used as
  given; with `auto` they are discovered (Cloud TPU VMs, SLURM). Call it
  before anything asks JAX for its devices. A single-host run calls nothing.
  """
  explicit = [coordinator_address, num_processes, process_id]
  if any(v is not None for v in explicit):
    if any(v is None for v in explicit):
      raise UserError(
          "multi-process runs need all of --coordinator_address, "
          "--num_processes and --process_id (or --distributed to "
          "discover them)"
      )
    if num_processes < 1 or not 0 <= process_id < num_processes:
      raise UserError(
          f"--process_id={process_id} must be in [0, "
          f"--num_processes={num_processes})"
      )
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
  elif auto:
    jax.distributed.initialize()
