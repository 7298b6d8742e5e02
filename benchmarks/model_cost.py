"""What a model costs: parameters, FLOPs and time per iteration here, and
XLA:TPU's cost analysis for a topology.

  python benchmarks/model_cost.py --configs configs/sngan_fashion_mnist.py \
      configs/biggan_fashion_mnist.py [--topology=v5e:2x2] \
      [--out=benchmarks/results/resnet_cost]

Per config: G's and D's parameter counts; XLA:CPU's cost analysis of the
compiled iteration (FLOPs per iteration, k D updates + 1 G update); the
iteration's time on one device-resident batch (median of --repeats runs of
--steps iterations, after a warm-up) and the GFLOP/s that makes; with
--topology (libtpu installed: the test extra), the same config compiled
ahead of time for that TPU topology (jaxgan.run.topologies): FLOPs, bytes
accessed and temporary memory per device. Each config runs in its own
process with the XLA flags jaxgan.main sets for its model.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top
from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
from jaxgan.cpu import xla_flags
from jaxgan.cpu import cpuinfo
from jaxgan.experiment import builder as experiment
import child  # pylint: disable=g-import-not-at-top
import report as report_lib  # pylint: disable=g-import-not-at-top
from step_time import load_config  # pylint: disable=g-import-not-at-top

runtime.quiet_tpu_probe()


def _count(tree) -> int:
  return int(sum(np.size(x) for x in jax.tree.leaves(tree)))


def measure(path: str, steps: int, repeats: int, topology: str) -> dict:
  config = load_config(path)
  cpu = aot.compile_for(config, jax.devices()[:1])
  [program] = cpu["programs"][-1:]
  mesh = runtime.make_mesh()
  exp = experiment.build(config, mesh)
  state = exp.initial_state()
  shape = (config.train.d_steps, config.train.batch_size, *exp.data_shape)
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, shape, dtype=np.uint8)
  batch = runtime.global_batch(
      (images, rng.integers(0, 10, shape[:2]).astype(np.int32))
      if exp.cond.labelled
      else images,
      mesh,
  )
  start = time.perf_counter()
  state, metrics = exp.train_step(state, batch, 0)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - start
  times = []
  for r in range(repeats):
    start = time.perf_counter()
    for i in range(steps):
      state, metrics = exp.train_step(state, batch, 1 + r * steps + i)
    jax.block_until_ready(metrics)
    times.append((time.perf_counter() - start) / steps)
  seconds = statistics.median(times)
  flops = program["flops_per_iteration"]
  out = {
      "config": path,
      "g_params": _count(state.g_params),
      "d_params": _count(state.d_params),
      "batch": config.train.batch_size,
      "d_steps": config.train.d_steps,
      "cpu_gflop_per_iteration": flops / 1e9,
      "compile_s": round(compile_s, 1),
      "ms_per_iteration": round(1000 * seconds, 1),
      "ms_min_max": [round(1000 * min(times), 1), round(1000 * max(times), 1)],
      "gflops_per_s": round(flops / 1e9 / seconds, 1),
  }
  if topology:
    tpu = aot.compile_for(config, aot.topology_devices(topology))
    [p] = tpu["programs"][-1:]
    out["tpu"] = {
        "topology": topology,
        "device_kind": tpu["device_kind"],
        "per_device_batch": tpu["per_device_batch"],
        "gflop_per_iteration_per_device": p["flops_per_iteration"] / 1e9,
        "gb_accessed_per_device": p.get("bytes_accessed", 0) / 1e9,
        "temp_mb_per_device": p["memory_per_device_bytes"]["temp"] / 1e6,
        "compile_s": p["compile_s"],
    }
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--configs", nargs="+", required=True)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--topology", default="")
  parser.add_argument("--out", default="")
  parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args._child:  # pylint: disable=protected-access
    [path] = args.configs
    runtime.set_xla_flags(xla_flags.for_model(load_config(path).model.name))
    print(json.dumps(measure(path, args.steps, args.repeats, args.topology)))
    return
  rows = []
  for path in args.configs:
    rows.append(
        child.run(
            __file__,
            [
                "--_child",
                f"--configs={path}",
                f"--steps={args.steps}",
                f"--repeats={args.repeats}",
                f"--topology={args.topology}",
            ],
        )
    )
    print(json.dumps(rows[-1]), flush=True)
  lines = [
      f"Machine: {cpuinfo.describe()}; jax {jax.__version__}; 1 CPU device.",
      "",
      "| config | G params | D params | batch x k | GFLOP/iteration (XLA:CPU) "
      "| ms/iteration (min-max) | GFLOP/s | compile s |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ]
  for r in rows:
    lines.append(
        f"| {r['config']} | {r['g_params']:,} | {r['d_params']:,} | "
        f"{r['batch']} x {r['d_steps']} | {r['cpu_gflop_per_iteration']:.1f} "
        f"| {r['ms_per_iteration']} ({r['ms_min_max'][0]}-{r['ms_min_max'][1]})"
        f" | {r['gflops_per_s']} | {r['compile_s']} |"
    )
  if any("tpu" in r for r in rows):
    lines += [
        "",
        "| config | TPU | per-device batch | GFLOP/iteration/device | GB "
        "accessed/device | temp MB/device | compile s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
      t = r.get("tpu")
      if t:
        lines.append(
            f"| {r['config']} | {t['topology']} ({t['device_kind']}) | "
            f"{t['per_device_batch']} | "
            f"{t['gflop_per_iteration_per_device']:.1f} | "
            f"{t['gb_accessed_per_device']:.2f} | "
            f"{t['temp_mb_per_device']:.1f} | {t['compile_s']} |"
        )
  table = "\n".join(lines) + "\n"
  print(table)
  if args.out:
    report_lib.write(
        args.out,
        {"machine": cpuinfo.identity(), "jax": jax.__version__, "rows": rows},
        table,
    )


if __name__ == "__main__":
  main()
