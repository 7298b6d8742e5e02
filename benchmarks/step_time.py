"""Times jaxgan's training iteration, with device-resident and real batches.

  python benchmarks/step_time.py                     # the default configs
  python benchmarks/step_time.py --configs=configs/tiny.py --repeats=3
  python benchmarks/step_time.py --configs=configs/dcgan_fashion_mnist.py \
      --variants "" augment.name=diffaugment augment.name=ada,augment.p=0.5

For each config: compile time, then iterations/s and img/s of the compiled
step on one batch already on the device, and of the same step fed by the real
input pipeline (its config's data.source), with min/median/max over repeats.
Ratios, not absolute numbers, are what compare between machines.
`--variants` times each config once per comma list of overrides (`""`: as
it is), each in a process of its own, one after the other.
"""

import argparse
import ast
import importlib.util
import itertools
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import jax  # pylint: disable=g-import-not-at-top

from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top

from jaxgan.cpu import xla_flags
from jaxgan.cpu import cpuinfo
from jaxgan.experiment import builder as experiment
from jaxgan.data import pipeline, sources  # pylint: disable=g-import-not-at-top
import child  # pylint: disable=g-import-not-at-top

runtime.quiet_tpu_probe()  # libtpu (the test extra) stays quiet here.

DEFAULT_CONFIGS = (
    "configs/dcgan_fashion_mnist.py",
    "configs/gan_mnist.py",
    "configs/toy_ring8.py",
)


def _override(config, assignment: str) -> None:
  """config[a.b] = v for 'a.b=v' (v a Python literal, or else a string)."""
  key, value = assignment.split("=", 1)
  try:
    value = ast.literal_eval(value)
  except (ValueError, SyntaxError):
    pass
  node = config
  *parents, leaf = key.split(".")
  for name in parents:
    node = node[name]
  node[leaf] = type(node[leaf])(value) if node[leaf] is not None else value


def load_config(path: str, variant: str = ""):
  spec = importlib.util.spec_from_file_location("bench_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  for assignment in filter(None, variant.split(",")):
    _override(config, assignment)
  if config.data.source.startswith("tfds:"):  # Offline: same shapes, IDX data.
    config.data.source = f"idx:{sources.FASHION_MNIST_DIR}"
    config.data.preprocess = "pad" if config.data.image_size == 32 else "none"
  return config


def time_steps(step, state, next_batch, n):
  """Returns (seconds per iteration, state) over n iterations."""
  first = int(state.step)  # The host's step count picks the step variant.
  start = time.perf_counter()
  for i in range(n):
    state, metrics = step(state, next_batch(), first + i)
  jax.block_until_ready(metrics)
  return (time.perf_counter() - start) / n, state


def bench(path: str, steps: int, repeats: int, variant: str = "") -> dict:
  config = load_config(path, variant)
  mesh = runtime.make_mesh()
  exp = experiment.build(config, mesh)
  state, step = exp.initial_state(), exp.train_step
  k, batch = config.train.d_steps, config.train.batch_size
  source = sources.get_source(config.data)
  per_process, _ = runtime.batch_sizes(batch)
  ds = pipeline.make_dataset(source, config.data, seed=0)
  it = pipeline.make_iterator(
      ds,
      start_example=0,
      per_process_batch=per_process,
      process_index=0,
      process_count=1,
      steps_per_iteration=k,
      num_threads=config.data.num_threads,
      prefetch=config.data.prefetch,
  )
  resident = runtime.global_batch(next(it), mesh)
  t0 = time.perf_counter()
  state, metrics = step(state, resident, 0)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - t0
  device, real = [], []
  for _ in range(repeats):  # Interleaved, so drift hits both alike.
    dt, state = time_steps(step, state, lambda: resident, steps)
    device.append(dt)
    dt, state = time_steps(
        step, state, lambda: runtime.global_batch(next(it), mesh), steps
    )
    real.append(dt)
  return dict(
      config=path,
      compile_s=compile_s,
      batch=batch,
      k=k,
      device=device,
      real=real,
  )


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
  parser.add_argument("--steps", type=int, default=30)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--variants", nargs="+", default=[""])
  parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args._child:  # pylint: disable=protected-access
    # A child process (benchmarks/child.py): one config, with the XLA flags
    # jaxgan.main sets for its model, before JAX starts.
    [path], [variant] = args.configs, args.variants
    runtime.set_xla_flags(xla_flags.for_model(load_config(path).model.name))
    print(json.dumps(bench(path, args.steps, args.repeats, variant)))
    return
  print(
      f"{jax.device_count()} {jax.devices()[0].platform} device(s), "
      f"{os.cpu_count()} CPUs, jax {jax.__version__}; {cpuinfo.describe()}"
  )
  print(
      "| config | variant | compile s | it/s device-resident (min/med/max) | "
      "it/s real data (min/med/max) | img/s real | real/resident |"
  )
  print("| --- | --- | --- | --- | --- | --- | --- |")
  for path, variant in itertools.product(args.configs, args.variants):
    r = child.run(
        __file__,
        [
            "--_child",
            f"--configs={path}",
            f"--steps={args.steps}",
            f"--repeats={args.repeats}",
            f"--variants={variant}",
        ],
    )
    rate = lambda ts: [1.0 / t for t in ts]
    dev, real = rate(r["device"]), rate(r["real"])
    fmt = lambda v: (
        f"{min(v):.2f} / {statistics.median(v):.2f} / " f"{max(v):.2f}"
    )
    img_s = statistics.median(real) * r["batch"] * r["k"]
    ratio = statistics.median(real) / statistics.median(dev)
    print(
        f"| {r['config']} | {variant or '-'} | {r['compile_s']:.1f} | "
        f"{fmt(dev)} | "
        f"{fmt(real)} | {img_s:,.0f} | {ratio:.3f} |",
        flush=True,
    )


if __name__ == "__main__":
  main()
