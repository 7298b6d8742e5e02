"""Compiling the train step for TPU topologies this machine does not have.

`topology_devices(name)` describes the devices of a TPU topology with libtpu
(`jax.experimental.topologies`, as maxtext's train_compile.py does), and
`compile_for(config, devices)` builds the same experiment and data-parallel
step as `jaxgan.main` with the state as shapes only, compiles it with
XLA:TPU and reports, per program, the compile time, the memory XLA plans per
device (arguments, outputs, temporaries, code) and its cost analysis (FLOPs
and bytes accessed per iteration). Needs the libtpu paired with the
installed jax (`pip install 'jax[tpu]'`); no TPU and no network. The
command line is `python -m jaxgan.aot`.
"""

import os
import time

import jax
import numpy as np
from jax.sharding import Mesh

from jaxgan.core import runtime
from jaxgan.experiment import builder as experiment
from jaxgan.core.errors import UserError


def topology_devices(name: str) -> list:
  """The devices of TPU topology `name` (needs libtpu; no TPU)."""
  if not runtime.has_tpu_hardware():
    # Not a TPU VM: libtpu would look for the VM's worker list and host
    # bounds in the environment and print warnings about them; the topology
    # asked for is described all the same. Several compiling processes may
    # load libtpu at once (it takes a lock meant for a TPU VM's chips).
    runtime.quiet_tpu_probe()
    os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top

  try:
    topology = topologies.get_topology_desc(platform="tpu", topology_name=name)
  except Exception as e:  # pylint: disable=broad-except
    first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
    raise UserError(
        f"--topology={name!r} could not be described ({first}); give one "
        "such as v5e:4x4 or v4:2x2x4, with libtpu installed (pip install "
        "'jax[tpu]' installs the release paired with your jax)"
    ) from None
  return list(topology.devices)


def compile_for(config, devices: list) -> dict:
  """Compiles every train-step program of `config` for `devices`."""
  count = len(devices)
  hosts = len({d.process_index for d in devices})
  mesh = Mesh(np.array(devices), (runtime.AXIS,))
  exp = experiment.build(config, mesh)
  batch, d_steps = exp.train.batch_size, exp.train.d_steps
  per_host, per_device = runtime.batch_sizes(batch, count, hosts)
  dtype = np.float32 if exp.points else np.uint8
  sharding = runtime.batch_sharding(mesh)

  def batch_spec(global_batch: int):
    images = jax.ShapeDtypeStruct(
        (d_steps, global_batch, *exp.data_shape),
        dtype,
        sharding=sharding,
    )
    if not exp.cond.labelled:
      return images
    return images, jax.ShapeDtypeStruct(
        (d_steps, global_batch), np.int32, sharding=sharding
    )

  programs = []
  for program in exp.train_step.programs():
    # A progressive run's stages may have batch sizes of their own.
    runtime.batch_sizes(program.batch_size, count, hosts)
    per_device_here = program.batch_size // count
    start = time.perf_counter()
    try:
      compiled = program.fn.lower(
          exp.abstract_state, batch_spec(program.batch_size)
      ).compile()
    except jax.errors.JaxRuntimeError as e:
      if "RESOURCE_EXHAUSTED" not in str(e):
        raise
      why = str(e).splitlines()[0].rstrip(".")
      raise UserError(
          f"train.batch_size={program.batch_size} ({per_device_here} per "
          f"device, {program.name}) does not fit on "
          f"{devices[0].device_kind}: {why}; lower the batch size or the "
          "model widths"
      ) from None
    seconds = time.perf_counter() - start
    memory = compiled.memory_analysis()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    programs.append(
        {
            "name": program.name,
            "global_batch": program.batch_size,
            "compile_s": round(seconds, 2),
            "memory_per_device_bytes": {
                k: int(getattr(memory, f"{k}_size_in_bytes"))
                for k in (
                    "argument",
                    "output",
                    "temp",
                    "generated_code",
                    "alias",
                )
            },
            "flops_per_iteration": float(cost.get("flops", float("nan"))),
            "bytes_accessed": float(cost.get("bytes accessed", float("nan"))),
        }
    )
  largest = max(
      programs,
      key=lambda p: sum(
          p["memory_per_device_bytes"][k]
          for k in ("argument", "output", "temp")
      ),
  )
  return {
      "platform": devices[0].platform,
      "device_kind": devices[0].device_kind,
      "devices": count,
      "hosts": hosts,
      "conv_impl": exp.conv_impl,
      "global_batch": batch,
      "per_host_batch": per_host,
      "per_device_batch": per_device,
      "programs": programs,
      # The program that needs the most memory (a progressive run's stages
      # differ): what must fit.
      "largest_memory_program": largest["name"],
  }
