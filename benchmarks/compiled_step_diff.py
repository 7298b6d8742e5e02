"""Whether two checkouts of jaxgan compile the same train step.

  python benchmarks/compiled_step_diff.py OLD_ROOT NEW_ROOT \
      [--config=configs/dcgan_fashion_mnist.py]

Each checkout compiles its step for `--config` on one CPU device in a process
of its own (its own `jaxgan` and `configs` first on the path; the flat layout
before the layer packages and today's both work), and the optimised HLO
instructions are compared as multisets, with instruction names, ids and
source locations left out. Equal multisets mean a refactoring changed no
computation, so no speed figure can have moved with it.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

_CHILD = r"""
import re, sys
import jax, numpy as np
sys.path.insert(0, sys.argv[1])
import importlib.util
spec = importlib.util.spec_from_file_location("cfg", sys.argv[2])
cfg = importlib.util.module_from_spec(spec); spec.loader.exec_module(cfg)
try:
  from jaxgan.experiment import builder as experiment
  from jaxgan.core import runtime
except ImportError:  # The flat layout.
  from jaxgan import experiment, runtime
config = cfg.get_config()
mesh = jax.make_mesh((1,), (runtime.AXIS,))
exp = experiment.build(config, mesh)
shape = (config.train.d_steps, config.train.batch_size, *exp.data_shape)
batch = jax.ShapeDtypeStruct(
    shape, np.uint8, sharding=runtime.batch_sharding(mesh))
if exp.cond.labelled:
  batch = (batch, jax.ShapeDtypeStruct(
      shape[:2], np.int32, sharding=runtime.batch_sharding(mesh)))
text = "\n".join(
    p.fn.lower(exp.abstract_state, batch).compile().as_text()
    for p in exp.train_step.programs())
open(sys.argv[3], "w").write(text)
"""


def instructions(text: str) -> collections.Counter:
  out = collections.Counter()
  for line in text.splitlines():
    if " = " not in line or line.strip().startswith("//"):
      continue
    line = re.sub(r",? metadata=\{[^}]*\}", "", line)
    line = re.sub(r"stack_frame_id=\d+", "", line)
    line = re.sub(r"%[\w.-]+", "%x", line)
    out[line.strip()] += 1
  return out


def compiled(root: str, config: str) -> str:
  with tempfile.NamedTemporaryFile("r", suffix=".hlo") as f:
    subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            root,
            os.path.join(root, config),
            f.name,
        ],
        cwd=root,
        env=dict(os.environ, JAX_PLATFORMS="cpu"),
        check=True,
    )
    return f.read()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("old")
  parser.add_argument("new")
  parser.add_argument("--config", default="configs/dcgan_fashion_mnist.py")
  args = parser.parse_args()
  a = instructions(compiled(args.old, args.config))
  b = instructions(compiled(args.new, args.config))
  only_old, only_new = a - b, b - a
  print(
      f"{args.config}: {sum(a.values())} instructions in {args.old}, "
      f"{sum(b.values())} in {args.new}; only in the first: "
      f"{sum(only_old.values())}, only in the second: "
      f"{sum(only_new.values())}"
  )
  for line in list(only_old.elements())[:10]:
    print("-", line[:160])
  for line in list(only_new.elements())[:10]:
    print("+", line[:160])
  sys.exit(1 if only_old or only_new else 0)


if __name__ == "__main__":
  main()
