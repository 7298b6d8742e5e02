"""The 'matmul' rule's whole DCGAN iteration against the same rule with one
computation in another form, alternating in one process.

  python benchmarks/rule_ab.py --model=dcgan64 --computation=kernel_grad \
      --form=space_to_depth [--repeats=7]

How a form of jaxgan/cpu/conv4x4.py becomes the rule's choice on a kind
of CPU: isolated timings (benchmarks/conv_layers.py, `conv_impl='tuned'`)
do not predict the whole step, so the step decides. Variant A is the rule
as it is on this machine; variant B takes `--form` for `--computation`
wherever the rule takes a form other than im2col / col2im (the inner
layers). Both steps are compiled in this process with the XLA flags
jaxgan.main sets for DCGAN, then timed in alternation with PyTorch's
(benchmarks/torch_gan.py) so drift hits all three alike. Prints iterations/s,
each against PyTorch, and B's time over A's per repeat (above 1: B slower).
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top

from jaxgan.cpu import xla_flags
from jaxgan.cpu import cpuinfo

runtime.set_xla_flags(xla_flags.for_model("dcgan"))  # Before JAX starts.

from jaxgan.cpu import conv4x4  # pylint: disable=g-import-not-at-top
import vs_pytorch  # pylint: disable=g-import-not-at-top


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", default="dcgan64")
  parser.add_argument(
      "--computation", default="kernel_grad", choices=sorted(conv4x4.FORMS)
  )
  parser.add_argument("--form", default="space_to_depth")
  parser.add_argument("--repeats", type=int, default=7)
  parser.add_argument("--steps", type=int, default=0)
  parser.add_argument("--threads", type=int, default=os.cpu_count())
  args = parser.parse_args()
  if args.form not in conv4x4.FORMS[args.computation]:
    raise SystemExit(
        f"--form={args.form!r} is not a form of {args.computation}; use one "
        f"of {sorted(conv4x4.FORMS[args.computation])}"
    )
  rule = conv4x4.rule_form

  def variant(computation, a, b):
    form = rule(computation, a, b)
    if computation == args.computation and form not in ("im2col", "col2im"):
      return args.form
    return form

  runners = {"A (rule)": vs_pytorch.JaxRunner(args.model, 64, "matmul")}
  conv4x4.rule_form = variant  # Read while B's step is traced.
  try:
    runners[f"B ({args.computation}: {args.form})"] = vs_pytorch.JaxRunner(
        args.model, 64, "matmul"
    )
  finally:
    conv4x4.rule_form = rule
  runners["PyTorch eager"] = vs_pytorch.TorchRunner(
      args.model, 64, args.threads
  )
  steps = args.steps or (8 if args.model == "dcgan64" else 30)
  times = {k: [] for k in runners}
  for _ in range(args.repeats):
    for key, runner in runners.items():
      times[key].append(runner.run(steps))
  print(f"{cpuinfo.describe()} ({cpuinfo.identity()['cpuid']}); {args.model}")
  torch_times = times["PyTorch eager"]
  for key, t in times.items():
    vs = statistics.median(b / a for a, b in zip(t, torch_times))
    print(f"{key}: {1 / statistics.median(t):.3f} it/s, {vs:.3f}x PyTorch")
  a_times, b_times = list(times.values())[:2]
  ratios = [b / a for a, b in zip(a_times, b_times)]
  print(
      f"B / A time: median {statistics.median(ratios):.3f} "
      f"({', '.join(f'{r:.3f}' for r in ratios)})"
  )


if __name__ == "__main__":
  main()
