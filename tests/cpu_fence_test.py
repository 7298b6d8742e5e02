"""jaxgan/cpu/ is fenced off: a run on another backend never loads it."""

import json
import subprocess
import sys

from tests.conftest import ROOT, cpu_env

# A whole jaxgan.main run (2 steps of configs/tiny.py, a DCGAN) in a process
# whose mesh reports the 'gpu' backend and whose machine is not taken for a
# CPU one; it prints the jaxgan.cpu modules loaded when the run is over.
_RUN_AS_GPU = """
import json, sys
from jaxgan.core import runtime
runtime.platform = lambda mesh: "gpu"
runtime.runs_on_cpu = lambda: False
from jaxgan import cli, main
sys.argv = ["jaxgan.main", *sys.argv[1:]]
try:
  cli.run(main.main)
except SystemExit as e:
  assert not e.code, e.code
print(json.dumps(sorted(m for m in sys.modules if m.startswith("jaxgan.cpu"))))
"""


def _cpu_modules_after_a_run(tmp_path, idx_dir, code: str) -> list[str]:
  out = subprocess.run(
      [
          sys.executable,
          "-c",
          code,
          "--config=configs/tiny.py",
          f"--workdir={tmp_path / 'run'}",
          f"--config.data.source=idx:{idx_dir}",
          "--config.train.num_steps=2",
          "--config.eval.every_steps=0",
      ],
      cwd=ROOT,
      env=cpu_env(),
      capture_output=True,
      text=True,
  )
  assert out.returncode == 0, out.stderr[-3000:]
  assert "done: 2 steps" in out.stdout
  return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_gpu_run_loads_nothing_from_jaxgan_cpu(tmp_path, idx_dir):
  assert _cpu_modules_after_a_run(tmp_path, idx_dir, _RUN_AS_GPU) == []


def test_a_cpu_run_takes_the_cpu_forms(tmp_path, idx_dir):
  # The same run on the CPU backend, as it is: the check above can see a
  # loaded module.
  code = _RUN_AS_GPU.replace('runtime.platform = lambda mesh: "gpu"', "")
  code = code.replace("runtime.runs_on_cpu = lambda: False", "")
  loaded = _cpu_modules_after_a_run(tmp_path, idx_dir, code)
  assert {"jaxgan.cpu.conv4x4", "jaxgan.cpu.xla_flags"} <= set(loaded)
