"""A workdir written before the package moved into layers resumes after it.

tests/data/pre_layout_run/ was made by jaxgan at fe7f780 (the flat layout,
made_on.json says how and on which CPU): `workdir/` is configs/tiny.py
stopped at step 3 (its checkpoint, config.json, metrics, samples), and
`uninterrupted_step6.npz` the train state of the same config run straight
to step 6. Resuming the old workdir with today's command must reach that
state: bit-identical on the CPU kind that made it, with the XLA flags it was
made with (made_on.json's `xla_flags`; the suite's own compile flags have
changed since), within float rounding on another.
"""

import json
import shutil

import jax
import numpy as np

from jaxgan.cpu import cpuinfo, onednn
from jaxgan.experiment import workdir as workdir_lib
from tests.conftest import ROOT, cpu_env, run_process

DATA = ROOT / "tests" / "data" / "pre_layout_run"


def _same_arithmetic(made_on: dict) -> bool:
  """Whether this machine computes the steps with the same kernels as the
  one that made the data: the CPU kind picks DCGAN's convolution forms and
  XLA's kernels, and oneDNN's presence its forms."""
  ident = cpuinfo.identity()
  return (
      ident["cpuid"] == made_on["cpuid"]
      and ident["isa"] == made_on["isa"]
      and onednn.available() == made_on["onednn"]
  )


def test_a_pre_layout_workdir_resumes_to_the_uninterrupted_state(
    tmp_path, idx_dir
):
  made_on = json.loads((DATA / "made_on.json").read_text())
  workdir = tmp_path / "workdir"
  shutil.copytree(DATA / "workdir", workdir)
  env = cpu_env(1)  # The data was made on one device ...
  env["XLA_FLAGS"] = f"{made_on['xla_flags']} " + (  # ... compiled so.
      "--xla_force_host_platform_device_count=1"
  )
  result = run_process(
      "jaxgan.main",
      [
          "--config=configs/tiny.py",
          f"--workdir={workdir}",
          f"--config.data.source=idx:{idx_dir}",  # The same images.
          "--config.train.num_steps=6",
          "--config.train.log_every_steps=1",
          "--config.checkpoint.every_steps=100",
          "--config.eval.every_steps=0",
      ],
      env,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "resumed from checkpoint at step 3" in result.stdout, result.stdout
  resumed = jax.device_get(workdir_lib.load_run(str(workdir)).state)
  assert int(resumed.step) == 6 and int(resumed.data_pos) == 6
  want = np.load(DATA / "uninterrupted_step6.npz")
  got = {
      jax.tree_util.keystr(path): np.asarray(leaf)
      for path, leaf in jax.tree_util.tree_flatten_with_path(resumed)[0]
  }
  assert sorted(got) == sorted(want.files)
  exact = _same_arithmetic(made_on)
  for key, value in got.items():
    if exact or not np.issubdtype(value.dtype, np.floating):
      np.testing.assert_array_equal(value, want[key], err_msg=key)
    else:
      # Another CPU kind rounds steps 4-6 (and only those) differently.
      np.testing.assert_allclose(
          value, want[key], rtol=1e-4, atol=1e-6, err_msg=key
      )
