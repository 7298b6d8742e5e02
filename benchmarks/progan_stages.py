"""Times a progressive run's step at every stage, and its compilation.

  python benchmarks/progan_stages.py [--config=configs/progan_fashion_mnist.py]
      [--steps=20] [--out=benchmarks/results/progan_stages]

For each stage of the config's schedule (resolution, fading or not):
seconds to compile its step, then milliseconds per iteration (median of 3 x
--steps iterations on one device-resident batch of the stage's size) and
images per second; and the whole schedule's estimated training time (the
stages' iterations x their step times, the last stage as long as
train.num_steps makes it).
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

from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top

from jaxgan.cpu import xla_flags
from jaxgan.cpu import cpuinfo
from jaxgan.experiment import builder as experiment
import report as report_lib  # pylint: disable=g-import-not-at-top
from step_time import load_config  # pylint: disable=g-import-not-at-top

runtime.quiet_tpu_probe()  # libtpu (the test extra) stays quiet here.


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/progan_fashion_mnist.py")
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--out", default="")
  args = parser.parse_args()
  config = load_config(args.config)
  runtime.set_xla_flags(xla_flags.for_model(config.model.name))
  exp = experiment.build(config, runtime.make_mesh())
  state = exp.initial_state()
  rows, total = [], 0.0
  for stage in exp.schedule.stages:
    images = np.random.default_rng(0).integers(
        0,
        256,
        (config.train.d_steps, stage.batch_size, *exp.data_shape),
        np.uint8,
    )
    batch = runtime.global_batch(images, exp.mesh)
    program = [
        p
        for p in exp.train_step.programs()
        if p.name.endswith(f"at {stage.name}")
    ][0]
    start = time.perf_counter()
    compiled = program.fn.lower(state, batch).compile()
    compile_s = time.perf_counter() - start
    state, metrics = compiled(state, batch)  # Warm-up.
    jax.block_until_ready(metrics)
    times = []
    for _ in range(3):
      start = time.perf_counter()
      for _ in range(args.steps):
        state, metrics = compiled(state, batch)
      jax.block_until_ready(metrics)
      times.append((time.perf_counter() - start) / args.steps)
    ms = 1000 * statistics.median(times)
    steps = stage.steps or max(config.train.num_steps - stage.start, 0)
    total += steps * ms / 1000
    rows.append(
        {
            "stage": stage.name,
            "batch": stage.batch_size,
            "compile_s": round(compile_s, 1),
            "ms_per_step": round(ms, 1),
            "img_per_s": round(
                stage.batch_size * config.train.d_steps / (ms / 1000)
            ),
            "steps": steps,
        }
    )
    print(json.dumps(rows[-1]), flush=True)
  lines = [
      f"{args.config} on {jax.device_count()} "
      f"{jax.devices()[0].platform} device(s) ({cpuinfo.describe()}), jax "
      f"{jax.__version__}; "
      f"estimated training time {total / 60:.1f} min",
      "",
      "| stage | batch | compile s | ms per step | img/s | steps |",
      "| --- | --- | --- | --- | --- | --- |",
  ]
  lines += [
      f"| {r['stage']} | {r['batch']} | {r['compile_s']} | "
      f"{r['ms_per_step']} | {r['img_per_s']} | {r['steps']} |"
      for r in rows
  ]
  text = "\n".join(lines) + "\n"
  print(text)
  if args.out:
    report_lib.write(
        args.out,
        {
            "config": args.config,
            "machine": cpuinfo.identity(),
            "jax": jax.__version__,
            "stages": rows,
            "estimated_minutes": total / 60,
        },
        text,
    )


if __name__ == "__main__":
  main()
