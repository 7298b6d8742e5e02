"""Where the time of one training iteration goes, by op family (XLA profiler).

  python benchmarks/profile_step.py --model=dcgan64 \
      --out=benchmarks/results/profile_dcgan64

Profiles jaxgan's compiled iteration (batch 64, as benchmarks/vs_pytorch.py)
with `jax.profiler.trace` and adds up the XLA:CPU thunks it ran, each
attributed through the compiled HLO's metadata to a network (G, D, or the
rest: optimiser, EMA, metrics), a pass (forward, or backward for ops under
`transpose(jvp(...))`) and an op family (convolution, matmul, fused
elementwise, reduction, data movement: copies, transposes, pads, slices,
concatenations). `--layers=textbook` sets `model.conv_impl='xla'`: XLA's own
convolutions and their autodiff (what flax's `nn.Conv` and `nn.ConvTranspose`
compute) in place of jaxgan/cpu/conv4x4.py's forms, to show where the time
went before those rewrites.

Thunk times are summed over XLA's threads, so their total can exceed the wall
time of an iteration (both are reported).
"""

import argparse
import collections
import glob
import os
import re
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(__file__))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from bench_configs import BENCHMARKS, jaxgan_config  # pylint: disable=g-import-not-at-top
from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
from jaxgan.cpu import xla_flags
from jaxgan.experiment import builder as experiment
import report as report_lib  # pylint: disable=g-import-not-at-top

runtime.quiet_tpu_probe()  # libtpu (the test extra) stays quiet here.

MOVEMENT = (
    "copy",
    "transpose",
    "pad",
    "slice",
    "concatenate",
    "bitcast",
    "broadcast",
    "reshape",
    "dynamic-update-slice",
    "gather",
)
ELEMENTWISE = (
    "add",
    "multiply",
    "subtract",
    "select",
    "divide",
    "exponential",
    "log",
    "maximum",
    "minimum",
    "tanh",
    "compare",
    "negate",
    "sqrt",
    "rsqrt",
    "power",
    "convert",
    "clamp",
    "and",
    "or",
    "abs",
    "sign",
    "logistic",
    "log-plus-one",
)
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = .*? ([\w\-]+)\((.*)$")
_HEADER = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$")


def _family(opcodes: set[str]) -> str:
  """The op family of an instruction or of what a fusion/call computes."""
  if "convolution" in opcodes:
    return "convolution"
  if "dot" in opcodes:
    return "matmul"
  if "reduce" in opcodes or "reduce-window" in opcodes:
    return "reduction"
  if opcodes & set(ELEMENTWISE):
    return "elementwise (fused)"
  if opcodes & set(MOVEMENT):
    return "data movement"
  return "other"


def hlo_attribution(hlo_text: str) -> dict[str, tuple[str, str, str]]:
  """HLO instruction name -> (network, pass, op family).

  A fusion or call is attributed by what its called computations contain
  (a wrapped convolution is a convolution), and by their op_name metadata
  when it has none of its own.
  """
  computations, current = {}, None  # name -> (opcodes, calls, op_names)
  instructions = []
  for line in hlo_text.splitlines():
    header = _HEADER.match(line)
    if header and "=" not in line.split("{")[0]:
      current = header.group(1)
      computations[current] = (set(), set(), [])
      continue
    m = _INSTRUCTION.match(line)
    if not m or current is None:
      continue
    name, opcode, rest = m.groups()
    op_name = re.search(r'op_name="([^"]*)"', rest)
    calls = set(re.findall(r"(?:calls|to_apply)=%([\w.\-]+)", rest))
    opcodes, called, op_names = computations[current]
    opcodes.add(opcode)
    called.update(calls)
    if op_name:
      op_names.append(op_name.group(1))
    instructions.append(
        (name, opcode, op_name.group(1) if op_name else "", calls)
    )

  def contents(comp, seen):
    """Opcodes and op_names of a computation and what it calls."""
    if comp not in computations or comp in seen:
      return set(), []
    seen.add(comp)
    opcodes, called, op_names = computations[comp]
    opcodes, op_names = set(opcodes), list(op_names)
    for c in called:
      more_ops, more_names = contents(c, seen)
      opcodes |= more_ops
      op_names += more_names
    return opcodes, op_names

  out = {}
  for name, opcode, op_name, calls in instructions:
    opcodes, inner_names = {opcode}, []
    for c in calls:
      more_ops, more_names = contents(c, set())
      opcodes |= more_ops
      inner_names += more_names
    op_name = op_name or next(iter(inner_names), "")
    network = (
        "D"
        if "Discriminator" in op_name
        else "G"
        if "Generator" in op_name
        else "other"
    )
    direction = "backward" if "transpose(jvp(" in op_name else "forward"
    out[name] = (
        network,
        direction,
        _family(opcodes - {"fusion", "call", "parameter"}),
    )
  return out


def profile(model: str, layers: str, batch: int, steps: int) -> dict:
  config = jaxgan_config(model, batch)
  if layers == "textbook":  # XLA's convolutions and their autodiff.
    config.model.conv_impl = "xla"
  mesh = runtime.make_mesh()
  exp = experiment.build(config, mesh)
  state = exp.initial_state()
  _, resolution, channels, _ = BENCHMARKS[model]
  images = np.random.default_rng(0).integers(
      0, 256, (1, batch, resolution, resolution, channels), np.uint8
  )
  batch_array = runtime.global_batch(images, mesh)
  compiled = exp.train_step.programs()[0].fn.lower(state, batch_array).compile()
  attribution = hlo_attribution(compiled.as_text())
  for _ in range(2):  # Warm-up.
    state, metrics = compiled(state, batch_array)
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for _ in range(steps):
    state, metrics = compiled(state, batch_array)
  jax.block_until_ready(metrics)
  wall = (time.perf_counter() - start) / steps
  with tempfile.TemporaryDirectory() as tmp:
    with jax.profiler.trace(tmp):
      for _ in range(steps):
        state, metrics = compiled(state, batch_array)
      jax.block_until_ready(metrics)
    [path] = glob.glob(os.path.join(tmp, "**", "*.xplane.pb"), recursive=True)
    data = jax.profiler.ProfileData.from_file(path)
  totals = collections.Counter()
  unattributed = collections.Counter()
  for plane in data.planes:
    if plane.name != "/host:CPU":
      continue
    for line in plane.lines:
      if not line.name.startswith("tf_XLA"):
        continue
      for event in line.events:
        key = attribution.get(event.name)
        if key is None:
          unattributed[event.name] += event.duration_ns
          continue
        totals[key] += event.duration_ns
  per_step = {k: v / steps / 1e6 for k, v in totals.items()}
  return {
      "model": model,
      "layers": layers,
      "batch": batch,
      "steps": steps,
      "wall_ms_per_iteration": wall * 1e3,
      "thunk_ms_per_iteration": sum(per_step.values()),
      "by_group": sorted(
          ([*k, ms] for k, ms in per_step.items()), key=lambda row: -row[3]
      ),
      "unattributed_ms_per_iteration": sum(unattributed.values()) / steps / 1e6,
  }


def table(result: dict, top: int = 14) -> str:
  total = result["thunk_ms_per_iteration"]
  lines = [
      f"### {result['model']}, {result['layers']} convolution layers, "
      f"batch {result['batch']}",
      "",
      f"Wall time per iteration {result['wall_ms_per_iteration']:.1f} "
      f"ms (without the profiler); XLA thunk time "
      f"{total:.1f} ms (summed over threads).",
      "",
      "| network | pass | op family | ms / iteration | share |",
      "| --- | --- | --- | --- | --- |",
  ]
  for network, direction, family, ms in result["by_group"][:top]:
    lines.append(
        f"| {network} | {direction} | {family} | {ms:.1f} | "
        f"{100 * ms / total:.1f}% |"
    )
  rest = sum(row[3] for row in result["by_group"][top:])
  if rest:
    lines.append(f"| (the rest) | | | {rest:.1f} | {100 * rest / total:.1f}% |")
  families = collections.Counter()
  for _, _, family, ms in result["by_group"]:
    families[family] += ms
  lines += [
      "",
      "By op family: "
      + ", ".join(
          f"{family} {100 * ms / total:.0f}%"
          for family, ms in families.most_common()
      )
      + ".",
  ]
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", default="dcgan64", choices=sorted(BENCHMARKS))
  parser.add_argument(
      "--layers", default="jaxgan", choices=("jaxgan", "textbook")
  )
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument(
      "--out", default=None, help="Write OUT.json and OUT.md (else print)."
  )
  args = parser.parse_args()
  # As jaxgan.main, the model's XLA flags before JAX starts.
  runtime.set_xla_flags(
      xla_flags.for_model(jaxgan_config(args.model, 1).model.name)
  )
  result = profile(args.model, args.layers, args.batch, args.steps)
  text = table(result)
  print(text)
  if args.out:
    report_lib.write(args.out, result, text + "\n")


if __name__ == "__main__":
  main()
