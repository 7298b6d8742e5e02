"""How jaxgan's DCGAN step scales: batch, resolution, devices, checkpoints.

  python benchmarks/scaling.py --out=benchmarks/results/scaling
  python benchmarks/scaling.py --parts=devices,checkpoint

- batch: DCGAN-32x1 (the Fashion-MNIST default) at batch 16 to 256;
- resolution: DCGAN 32, 64 and 128 (3 channels, widths 64) at batch 64;
- devices: the same per-device batch (32) on 1 and on 2 fake CPU devices
  (each its own process, `--xla_force_host_platform_device_count`): the
  cost of the data-parallel path when the devices share the same 2 cores;
- checkpoint: the default DCGAN's time for 40 iterations with one
  asynchronous checkpoint save in the middle against 40 without, as a
  fraction of the training time between saves at the default interval
  (checkpoint.every_steps = 1000).
Each figure is the median of `--repeats` timings of `--steps` iterations on
a device-resident batch, after compilation; compile time is reported apart.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(__file__))

import report as report_lib  # pylint: disable=g-import-not-at-top


def _config(resolution=32, channels=1, batch=64):
  from configs import default  # pylint: disable=g-import-not-at-top

  config = default.get_config()
  config.data.image_size, config.data.channels = resolution, channels
  config.data.preprocess = "none"
  config.train.batch_size = batch
  return config


def time_config(config, steps: int, repeats: int) -> dict:
  """Compile time and median steps/s of `config`'s step on a fixed batch."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
  from jaxgan.experiment import builder as experiment

  mesh = runtime.make_mesh()
  exp = experiment.build(config, mesh)
  state, step = exp.initial_state(), exp.train_step
  d = config.data
  per_process, _ = runtime.batch_sizes(config.train.batch_size)
  images = np.random.default_rng(0).integers(
      0, 256, (1, per_process, d.image_size, d.image_size, d.channels), np.uint8
  )
  batch = runtime.global_batch(images, mesh)
  start = time.perf_counter()
  state, metrics = step(state, batch, 0)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - start
  rates = []
  for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(steps):
      state, metrics = step(state, batch, 0)
    jax.block_until_ready(metrics)
    rates.append(steps / (time.perf_counter() - start))
  rate = statistics.median(rates)
  return {
      "batch": config.train.batch_size,
      "resolution": d.image_size,
      "channels": d.channels,
      "devices": jax.device_count(),
      "compile_s": compile_s,
      "steps_per_s": rate,
      "img_per_s": rate * config.train.batch_size,
      "min": min(rates),
      "max": max(rates),
  }


def part_batch(args):
  return [
      time_config(_config(batch=b), max(4, args.steps * 64 // b), args.repeats)
      for b in (16, 32, 64, 128, 256)
  ]


def part_resolution(args):
  steps = {32: args.steps, 64: max(3, args.steps // 6), 128: 2}
  return [
      time_config(_config(resolution=r, channels=3), steps[r], args.repeats)
      for r in (32, 64, 128)
  ]


def part_devices(args):
  results = []
  for n in (1, 2):
    env = dict(
        os.environ,
        JAX_PLATFORMS="cpu",
        XLA_FLAGS=f"--xla_force_host_platform_device_count={n}",
    )
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--_one_device_run",
            str(n),
            "--steps",
            str(args.steps),
            "--repeats",
            str(args.repeats),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    results.append(json.loads(out.strip().splitlines()[-1]))
  return results


def part_checkpoint(args):
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
  from jaxgan.experiment import checkpoint, builder as experiment

  config = _config()
  mesh = runtime.make_mesh()
  exp = experiment.build(config, mesh)
  state, step = exp.initial_state(), exp.train_step
  images = np.random.default_rng(0).integers(
      0, 256, (1, 64, 32, 32, 1), np.uint8
  )
  batch = runtime.global_batch(images, mesh)
  state, metrics = step(state, batch, 0)
  jax.block_until_ready(metrics)
  n = 40
  plain, saving, save_call = [], [], []
  with tempfile.TemporaryDirectory() as tmp:
    ckpt = checkpoint.Checkpointer(
        os.path.join(tmp, "c"), every_steps=1, max_to_keep=2, async_save=True
    )
    for r in range(args.repeats):
      for with_save in (False, True):
        start = time.perf_counter()
        for i in range(n):
          state, metrics = step(state, batch, 0)
          if with_save and i == n // 2:
            t0 = time.perf_counter()
            ckpt.save(1000 + r, state, force=True)
            save_call.append(time.perf_counter() - t0)
        jax.block_until_ready(metrics)
        ckpt.wait()
        (saving if with_save else plain).append(time.perf_counter() - start)
    ckpt.close()
  extra = statistics.median(s - p for s, p in zip(saving, plain))
  step_s = statistics.median(plain) / n
  return [
      {
          "iterations": n,
          "step_s": step_s,
          "save_extra_s": extra,
          # The call waits for the iterations queued before it (the state
          # must exist to be copied), so it is not the save's own cost.
          "save_call_s": statistics.median(save_call),
          "fraction_at_every_1000": extra / (1000 * step_s),
      }
  ]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--parts", default="batch,resolution,devices,checkpoint")
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--out", default="")
  parser.add_argument(
      "--_one_device_run", type=int, default=0, help=argparse.SUPPRESS
  )
  args = parser.parse_args()
  from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
  from jaxgan.cpu import xla_flags
  from jaxgan.experiment import builder as experiment
  # As jaxgan.main, DCGAN's XLA flags before JAX starts (every part is DCGAN).
  runtime.set_xla_flags(xla_flags.for_model(_config().model.name))
  if args._one_device_run:  # pylint: disable=protected-access
    n = args._one_device_run  # pylint: disable=protected-access
    print(
        json.dumps(time_config(_config(batch=32 * n), args.steps, args.repeats))
    )
    return
  parts = {
      "batch": part_batch,
      "resolution": part_resolution,
      "devices": part_devices,
      "checkpoint": part_checkpoint,
  }
  report = {}
  for name in args.parts.split(","):
    report[name] = parts[name](args)
    print(name, json.dumps(report[name]), flush=True)
  lines = []
  for name in ("batch", "resolution", "devices"):
    if name not in report:
      continue
    lines += [
        f"### {name}",
        "",
        "| batch | resolution x channels | devices | steps/s (min-max) "
        "| img/s | compile s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in report[name]:
      lines.append(
          f"| {r['batch']} | {r['resolution']}x{r['channels']} | "
          f"{r['devices']} | {r['steps_per_s']:.2f} ({r['min']:.2f}-"
          f"{r['max']:.2f}) | {r['img_per_s']:.0f} | {r['compile_s']:.1f} |"
      )
    lines.append("")
  if "checkpoint" in report:
    c = report["checkpoint"][0]
    lines += [
        "### checkpoint",
        "",
        f"One asynchronous save of the default DCGAN's state adds "
        f"{c['save_extra_s']:.3f} s to {c['iterations']} iterations "
        f"of {c['step_s'] * 1000:.0f} ms: "
        f"{100 * c['fraction_at_every_1000']:.2f}% of the training "
        "time at checkpoint.every_steps = 1000.",
        "",
    ]
  text = "\n".join(lines)
  print(text)
  if args.out:
    report_lib.write(args.out, report, text)


if __name__ == "__main__":
  main()
