"""Compiles the train step for a TPU pod without the pod (ahead of time).

  python -m jaxgan.aot --config=configs/dcgan_celeba.py --topology=v5e:4x4 \
      [--config.a.b=v ...]

Builds the same models, state and data-parallel step as `jaxgan.main`, with
the state as shapes only, over the devices of a TPU topology described by
libtpu (`jax.experimental.topologies`, as maxtext's train_compile.py does),
and compiles it with XLA:TPU. Prints one JSON line: the topology, its
devices and hosts, the global/per-host/per-device batch, and per program the
compile time, the memory XLA plans per device (arguments, outputs,
temporaries, code) and its FLOP count per iteration. A config that does not
fit, does not divide over the devices or does not compile fails here, on a
CPU machine, before a pod is paid for. Needs the libtpu paired with the
installed jax (`pip install 'jax[tpu]'`; jax 0.10.2: libtpu 0.0.42.*); no
TPU and no network.
"""

import json
import os
import time

from absl import flags, logging
from ml_collections import config_flags

from jaxgan import cli
from jaxgan.errors import UserError

FLAGS = flags.FLAGS


def _define_flags():
  config_flags.DEFINE_config_file(
      "config", None, "Path to an experiment config (configs/*.py).",
      lock_config=True)
  flags.DEFINE_string("topology", None, "TPU topology, e.g. v5e:4x4 "
                      "(16 chips), v4:2x2x4 (v4-32), v5p:2x2x2.")
  flags.mark_flags_as_required(["config", "topology"])


def topology_devices(name: str) -> list:
  """The devices of TPU topology `name` (needs libtpu; no TPU)."""
  if not os.path.exists("/dev/accel0") and not os.path.exists("/dev/vfio"):
    # Not a TPU VM: libtpu would look for the VM's worker list and host
    # bounds in the environment and print warnings about them; the topology
    # asked for is described all the same. Several compiling processes may
    # load libtpu at once (it takes a lock meant for a TPU VM's chips).
    os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
    os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")
    os.environ.setdefault("TPU_HOST_BOUNDS", "1,1,1")
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top
  try:
    topology = topologies.get_topology_desc(platform="tpu",
                                            topology_name=name)
  except Exception as e:  # pylint: disable=broad-except
    first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
    raise UserError(
        f"--topology={name!r} could not be described ({first}); give one "
        "such as v5e:4x4 or v4:2x2x4, with libtpu installed (pip install "
        "'jax[tpu]' installs the release paired with your jax)") from None
  return list(topology.devices)


def compile_for(config, devices: list) -> dict:
  """Compiles every train-step program of `config` for `devices`."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jax.sharding import Mesh  # pylint: disable=g-import-not-at-top
  from jaxgan import runtime, train, step as step_lib  # pylint: disable=g-import-not-at-top
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
  from jaxgan.models import conditioning  # pylint: disable=g-import-not-at-top
  from jaxgan.validate import validate_config  # pylint: disable=g-import-not-at-top

  count = len(devices)
  hosts = len({d.process_index for d in devices})
  validate_config(config, count)
  batch = config.train.batch_size
  per_host, per_device = runtime.batch_sizes(batch, count, hosts)
  mesh = Mesh(np.array(devices), (step_lib.AXIS,))
  built = train.build(config, mesh, abstract=True)
  shape = sources.data_shape(config.data)
  dtype = np.float32 if sources.is_toy(config.data) else np.uint8
  sharding = runtime.batch_sharding(mesh)
  batch_spec = jax.ShapeDtypeStruct((config.train.d_steps, batch, *shape),
                                    dtype, sharding=sharding)
  if conditioning.from_config(config).labelled:
    batch_spec = (batch_spec, jax.ShapeDtypeStruct(
        (config.train.d_steps, batch), np.int32, sharding=sharding))
  programs = []
  for program in built["train_step"].programs:
    start = time.perf_counter()
    try:
      compiled = program.lower(built["state"], batch_spec).compile()
    except jax.errors.JaxRuntimeError as e:
      if "RESOURCE_EXHAUSTED" not in str(e):
        raise
      why = str(e).splitlines()[0].rstrip(".")
      raise UserError(
          f"train.batch_size={batch} ({per_device} per device) does not "
          f"fit on {devices[0].device_kind}: {why}; lower train.batch_size "
          "or the model widths") from None
    seconds = time.perf_counter() - start
    memory = compiled.memory_analysis()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    programs.append({
        "compile_s": round(seconds, 2),
        "memory_per_device_bytes": {
            k: int(getattr(memory, f"{k}_size_in_bytes"))
            for k in ("argument", "output", "temp", "generated_code", "alias")
        },
        "flops_per_iteration": float(cost.get("flops", float("nan"))),
        "bytes_accessed": float(cost.get("bytes accessed", float("nan"))),
    })
  return {
      "platform": devices[0].platform,
      "device_kind": devices[0].device_kind,
      "devices": count,
      "hosts": hosts,
      "global_batch": batch,
      "per_host_batch": per_host,
      "per_device_batch": per_device,
      "programs": programs,
  }


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  devices = topology_devices(FLAGS.topology)
  result = {"topology": FLAGS.topology, **compile_for(FLAGS.config, devices)}
  print(json.dumps(result))


if __name__ == "__main__":
  _define_flags()
  cli.run(main)
