"""Multi-device and multi-host concerns, in one place.

The mesh, which process writes files, the per-process and per-device batch,
and turning a process-local batch into a global array.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxgan.errors import UserError
from jaxgan.step import AXIS


def make_mesh() -> Mesh:
  """A 1-D 'data' mesh over every device of every process."""
  return jax.make_mesh((jax.device_count(),), (AXIS,))


def is_writer() -> bool:
  """Process 0 writes logs, samples and metrics; all processes checkpoint."""
  return jax.process_index() == 0


def batch_sizes(global_batch: int) -> tuple[int, int]:
  """Returns (per_process, per_device) batch sizes, validating divisibility."""
  devices, processes = jax.device_count(), jax.process_count()
  if global_batch <= 0 or global_batch % devices:
    raise UserError(
        f"train.batch_size={global_batch} is not divisible by {devices} "
        f"devices; use a multiple of {devices}")
  return global_batch // processes, global_batch // devices


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """(k, batch, ...) arrays split over the batch axis."""
  return NamedSharding(mesh, P(None, AXIS))


def global_batch(local: np.ndarray, mesh: Mesh) -> jax.Array:
  """Assembles each process's (k, per_process_batch, ...) into a global array."""
  return jax.make_array_from_process_local_data(batch_sharding(mesh), local)


def any_process(flag: bool) -> bool:
  """True on every process when `flag` is True on any (e.g. a SIGTERM that
  reached one host), so all stop and save at the same step."""
  if jax.process_count() == 1:
    return flag
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  return bool(np.any(multihost_utils.process_allgather(np.array(flag))))
