"""jaxgan's training iteration against the same GAN in PyTorch, one run.

  pip install /opt/wheels/torch-2.13.0+cpu-*.whl   # benchmark-only
  python benchmarks/vs_pytorch.py --out=benchmarks/results/vs_pytorch
  python benchmarks/vs_pytorch.py --models=mlp --repeats=3 --torch_compile

For DCGAN-64 (3 channels), DCGAN-32 (1 channel) and the MLP GAN, batch 64,
float32, k = 1, non-saturating loss, Adam: jaxgan's compiled iteration (its
own step, batch already on the device) and benchmarks/torch_gan.py's (the
same architecture, initialisation and update) in PyTorch eager and, with
--torch_compile, torch.compile. Repeats alternate between the two so drift
hits both alike; each model runs in a process of its own with the XLA flags
jaxgan.main sets for it (benchmarks/child.py). Reports steps/s and img/s (min/median/max over repeats),
compile time, achieved GFLOP/s against a measured float32 matmul peak, and
the jaxgan/PyTorch ratio of steps/s (per repeat pair: min/median/max).

FLOPs are counted analytically: 2 x multiply-adds of the convolutions and
dense layers (batch norm, activations and the optimiser not counted); per
image and iteration 4 F_G + 8 F_D, where F is a network's forward count: the
D update runs G forward and D forward + backward (2x forward: data and
weight gradients) on the real and the fake batch; the G update runs G
forward + backward and D forward + data gradient.
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(__file__))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import torch  # pylint: disable=g-import-not-at-top

from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top

from jaxgan.cpu import xla_flags
from jaxgan.cpu import autotune, cpuinfo
from jaxgan.experiment import builder as experiment
from jaxgan.gan import state as state_lib
from jaxgan.cpu import conv4x4  # pylint: disable=g-import-not-at-top
import child  # pylint: disable=g-import-not-at-top
import report as report_lib  # pylint: disable=g-import-not-at-top
from bench_configs import BENCHMARKS, jaxgan_config  # pylint: disable=g-import-not-at-top
import torch_gan  # pylint: disable=g-import-not-at-top

runtime.quiet_tpu_probe()  # libtpu (the test extra) stays quiet here.


def forward_flops(name: str) -> tuple[int, int]:
  """(F_G, F_D): forward FLOPs per image (2 x multiply-adds)."""
  model, resolution, channels, _ = BENCHMARKS[name]
  z = 100
  if model == "mlp":
    pixels = resolution * resolution * channels
    g = z * 1200 + 1200 * 1200 + 1200 * pixels
    d = pixels * 1200 + 240 * 1200 + 240
    return 2 * g, 2 * d
  n = int(np.log2(resolution // 4))
  ch = 64 * 2 ** (n - 1)
  g = z * 16 * ch  # Projection to 4x4xC0.
  size = 4
  for i in range(n):
    out = channels if i == n - 1 else ch // 2
    size *= 2
    g += size * size * out * ch * 4  # 2x2 of the 4x4 taps per output pixel.
    ch = out
  d, cin, ch, size = 0, channels, 64, resolution
  for _ in range(n):
    size //= 2
    d += size * size * ch * cin * 16
    cin, ch = ch, ch * 2
  d += 16 * cin  # Dense to one logit.
  return 2 * g, 2 * d


def matmul_peak(threads: int) -> dict:
  """float32 GFLOP/s of a 2048^3 matmul, best of 5, in PyTorch and XLA."""
  n = 2048
  a = torch.randn(n, n)
  b = torch.randn(n, n)
  torch.set_num_threads(threads)
  torch.mm(a, b)
  best = min(_timed(lambda: torch.mm(a, b)) for _ in range(5))
  ja, jb = jnp.asarray(a.numpy()), jnp.asarray(b.numpy())
  mm = jax.jit(jnp.dot)
  mm(ja, jb).block_until_ready()
  best_jax = min(
      _timed(lambda: mm(ja, jb).block_until_ready()) for _ in range(5)
  )
  flops = 2 * n**3
  return {
      "torch_gflops": flops / best / 1e9,
      "xla_gflops": flops / best_jax / 1e9,
  }


def _timed(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


class JaxRunner:
  """jaxgan's own step on one device-resident batch, DCGAN's convolutions in
  `conv_impl`'s forms."""

  def __init__(self, name: str, batch: int, conv_impl: str = "auto"):
    config = jaxgan_config(name, batch)
    config.model.conv_impl = conv_impl
    mesh = runtime.make_mesh()
    exp = experiment.build(config, mesh)
    self.conv_impl = exp.conv_impl
    timing_before = autotune.stats()["seconds"]
    self.state, self.step = exp.initial_state(), exp.train_step
    _, resolution, channels, _ = BENCHMARKS[name]
    images = np.random.default_rng(0).integers(
        0, 256, (1, batch, resolution, resolution, channels), np.uint8
    )
    self.batch = runtime.global_batch(images, mesh)
    start = time.perf_counter()
    self.compiled = (
        self.step.programs()[0].fn.lower(self.state, self.batch).compile()
    )
    self.compile_s = time.perf_counter() - start
    # Timing the forms (first use on this machine only) is part of that.
    self.tuning_s = autotune.stats()["seconds"] - timing_before
    self.params = (
        state_lib.param_count(self.state.g_params),
        state_lib.param_count(self.state.d_params),
    )
    self.i = 0
    self.run(2)  # Warm-up.

  def run(self, steps: int) -> float:
    """Seconds per iteration over `steps` iterations."""
    start = time.perf_counter()
    for _ in range(steps):
      self.state, metrics = self.compiled(self.state, self.batch)
      self.i += 1
    jax.block_until_ready(metrics)
    return (time.perf_counter() - start) / steps


class TorchRunner:
  """benchmarks/torch_gan.py's step on one batch."""

  def __init__(
      self, name: str, batch: int, threads: int, compile_step: bool = False
  ):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, resolution, channels, noise = BENCHMARKS[name]
    self.gan = torch_gan.Gan(
        model, resolution, channels, noise=noise, compile_step=compile_step
    )
    self.real = torch.rand(batch, channels, resolution, resolution) * 2 - 1
    start = time.perf_counter()
    self.gan.step(self.real)  # torch.compile compiles here.
    self.compile_s = time.perf_counter() - start if compile_step else 0.0
    self.params = (
        torch_gan.param_count(self.gan.g),
        torch_gan.param_count(self.gan.d),
    )
    self.run(2)  # Warm-up.

  def run(self, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
      losses = self.gan.step(self.real)
    float(losses[0])
    return (time.perf_counter() - start) / steps


def _stats(values):
  return {
      "min": min(values),
      "median": statistics.median(values),
      "max": max(values),
  }


def bench(name: str, args, peak: float) -> dict:
  batch = args.batch
  runners = {}
  for i, impl in enumerate(args.conv_impls.split(",")):
    runners["jaxgan" if i == 0 else f"jaxgan_{impl}"] = JaxRunner(
        name, batch, impl
    )
  jax_keys = list(runners)
  runners["torch_eager"] = TorchRunner(name, batch, args.threads)
  if args.torch_compile:
    runners["torch_compile"] = TorchRunner(
        name, batch, args.threads, compile_step=True
    )
  assert len({r.params for r in runners.values()}) == 1, {
      k: r.params for k, r in runners.items()
  }
  steps = args.steps or (
      8 if name == "dcgan64" else 30 if name == "dcgan32" else 200
  )
  times = {k: [] for k in runners}
  for _ in range(args.repeats):
    for key, runner in runners.items():
      times[key].append(runner.run(steps))
  f_g, f_d = forward_flops(name)
  flops = batch * (4 * f_g + 8 * f_d)
  result = {
      "benchmark": name,
      "batch": batch,
      "steps_per_repeat": steps,
      "params": runners["jaxgan"].params,
      "flops_per_iteration": flops,
  }
  for key, runner in runners.items():
    rates = [1 / t for t in times[key]]
    result[key] = {
        "steps_per_s": _stats(rates),
        "img_per_s": _stats([batch * r for r in rates]),
        "gflops": statistics.median(rates) * flops / 1e9,
        "fraction_of_peak": statistics.median(rates) * flops / 1e9 / peak,
        "compile_s": runner.compile_s,
    }
    if key in jax_keys:
      result[key].update(conv_impl=runner.conv_impl, tuning_s=runner.tuning_s)
      for other in ("torch_eager", "torch_compile"):
        if other in runners:
          ratios = [b / a for a, b in zip(times[key], times[other])]
          suffix = "" if key == "jaxgan" else key[len("jaxgan") :]
          result[f"ratio{suffix}_vs_{other}"] = _stats(ratios)
  result["conv_forms"] = conv_forms()
  return result


def conv_forms() -> list[dict]:
  """The convolution forms this process took by timing, beside the fixed
  rule's ('matmul', by the kind of CPU), with their times."""
  out = []
  for key, ms in sorted(autotune.chosen().items()):
    match = re.fullmatch(r"conv4x4s2\.(\w+)\((.*)\)", key)
    if not match:
      continue
    computation, arg_text = match.groups()
    args = [
        jax.ShapeDtypeStruct(tuple(map(int, dims.split("x"))), dtype)
        for dtype, dims in re.findall(r"(\w+)\[([\dx]+)\]", arg_text)
    ]
    out.append(
        {
            "computation": computation,
            "shapes": [list(a.shape) for a in args],
            "tuned": conv4x4.tuned_form(computation, *args),
            "fastest": min(ms, key=ms.get),
            "rule": conv4x4.rule_form(computation, *args),
            "ms": ms,
        }
    )
  return out


def machine() -> dict:
  """The CPU (model, cpuid, ISA flags: jaxgan/cpu/cpuinfo.py) and versions."""
  return {
      **cpuinfo.identity(),
      "python": platform.python_version(),
      "jax": jax.__version__,
      "torch": torch.__version__,
  }


def _describe(m: dict) -> str:
  """The CPU line; records made before the ISA flags were kept have none."""
  if "isa" not in m:
    return f"{m['cpu']}, {m['cores']} cores (ISA flags not recorded)"
  return f"{cpuinfo.describe(m)} ({m['cpuid']})"


def table(report: dict) -> str:
  m = report["machine"]
  lines = [
      f"Machine: {_describe(m)}; Python {m['python']}, jax "
      f"{m['jax']}, torch {m['torch']} ({report['threads']} threads). "
      f"float32 matmul peak (2048^3, best of 5): "
      f"{report['peak']['torch_gflops']:.0f} GFLOP/s in PyTorch, "
      f"{report['peak']['xla_gflops']:.0f} in XLA; fractions of peak use "
      f"the larger. Batch {report['batch']}, k = 1, {report['repeats']} "
      "repeats; median (min-max).",
      "",
      "| model | implementation | steps/s | img/s | GFLOP/s (% of peak) | "
      "compile s | / torch eager | / torch.compile |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ]

  def ratio_text(ratio):
    if not ratio:
      return "-"
    return f"{ratio['median']:.2f}x ({ratio['min']:.2f}-{ratio['max']:.2f})"

  for r in report["results"]:
    keys = [k for k, v in r.items() if isinstance(v, dict) and "img_per_s" in v]
    for key in keys:
      v = r[key]
      s, i = v["steps_per_s"], v["img_per_s"]
      name = key
      if "conv_impl" in v and r["benchmark"] != "mlp":
        name += f" (conv {v['conv_impl']})"
      suffix = key[len("jaxgan") :] if key.startswith("jaxgan") else None
      ratios = [
          ratio_text(r.get(f"ratio{suffix}_vs_{other}"))
          if suffix is not None
          else "-"
          for other in ("torch_eager", "torch_compile")
      ]
      lines.append(
          f"| {r['benchmark']} | {name} | {s['median']:.2f} ({s['min']:.2f}-"
          f"{s['max']:.2f}) | {i['median']:.0f} | {v['gflops']:.1f} "
          f"({100 * v['fraction_of_peak']:.0f}%) | "
          f"{v['compile_s']:.1f} | {' | '.join(ratios)} |"
      )
  lines.append("")
  lines.append(
      "FLOPs per iteration (analytic): "
      + ", ".join(
          f"{r['benchmark']} {r['flops_per_iteration'] / 1e9:.2f} GFLOP"
          for r in report["results"]
      )
      + "."
  )
  forms = [
      (r["benchmark"], f)
      for r in report["results"]
      for f in r.get("conv_forms", [])
  ]
  if forms:
    lines += [
        "",
        "DCGAN's convolution forms timed on this machine (`conv_impl` "
        "'tuned', jaxgan/cpu/autotune.py) against the fixed rule ('matmul', "
        "for this kind of CPU); ms per call of each form:",
        "",
        "| model | computation | arguments | tuned | rule | ms per form |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for bench_name, f in forms:
      args = ", ".join("x".join(map(str, shape)) for shape in f["shapes"])
      ms = ", ".join(
          f"{k} {v:.2f}"
          for k, v in sorted(f["ms"].items(), key=lambda kv: kv[1])
      )
      differs = "" if f["tuned"] == f["rule"] else " *"
      lines.append(
          f"| {bench_name} | {f['computation']} | {args} | {f['tuned']}{differs} | {f['rule']} | {ms} |"
      )
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", default=",".join(BENCHMARKS))
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=7)
  parser.add_argument(
      "--steps",
      type=int,
      default=0,
      help="iterations per repeat (0: per model default)",
  )
  parser.add_argument("--threads", type=int, default=os.cpu_count())
  parser.add_argument("--torch_compile", action="store_true")
  parser.add_argument(
      "--conv_impls",
      default="auto",
      help="model.conv_impl values to time jaxgan with, comma-separated; "
      "the first is 'jaxgan' in the table, others 'jaxgan_<value>'",
  )
  parser.add_argument("--out", default="")
  parser.add_argument(
      "--_peak", type=float, default=0.0, help=argparse.SUPPRESS
  )  # Set: time one model here.
  args = parser.parse_args()
  if args._peak:  # pylint: disable=protected-access
    # A child process (benchmarks/child.py): one model, with the XLA flags
    # jaxgan.main sets for it, before JAX starts.
    [name] = args.models.split(",")
    runtime.set_xla_flags(
        xla_flags.for_model(jaxgan_config(name, 1).model.name)
    )
    print(json.dumps(bench(name, args, args._peak)))  # pylint: disable=protected-access
    return
  peak = matmul_peak(args.threads)
  report = {
      "machine": machine(),
      "threads": args.threads,
      "peak": peak,
      "batch": args.batch,
      "repeats": args.repeats,
      "results": [],
  }
  for name in args.models.split(","):
    result = child.run(
        __file__,
        [
            f"--models={name}",
            f"--batch={args.batch}",
            f"--repeats={args.repeats}",
            f"--steps={args.steps}",
            f"--threads={args.threads}",
            f"--_peak={max(peak.values())}",
        ]
        + [f"--conv_impls={args.conv_impls}"]
        + (["--torch_compile"] if args.torch_compile else []),
    )
    report["results"].append(result)
    print(json.dumps(result), flush=True)
  text = table(report)
  print(text)
  if args.out:
    report_lib.write(args.out, report, text)


if __name__ == "__main__":
  main()
