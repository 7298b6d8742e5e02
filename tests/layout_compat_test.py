"""A workdir written before the package moved into layers resumes after it.

tests/data/pre_layout_run/ was made by jaxgan at fe7f780 (the flat layout,
made_on.json says how and on which CPU): `workdir/` is configs/tiny.py
stopped at step 3 (its checkpoint, config.json, metrics, samples), and
`uninterrupted_step6.npz` the train state of the same config run straight
to step 6. Resuming the old workdir with today's code must reach that state.
"""

import json
import shutil

import jax
import numpy as np

from jaxgan.cpu import cpuinfo, onednn
from jaxgan.run import train
from tests.conftest import ROOT, tiny_config

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
    tmp_path, idx_dir, one_device  # The data was made on one device.
):
  del one_device
  workdir = tmp_path / "workdir"
  shutil.copytree(DATA / "workdir", workdir)
  config = tiny_config(
      **{
          "data.source": f"idx:{idx_dir}",  # The same images, another path.
          "train.num_steps": 6,
          "train.log_every_steps": 1,
          "checkpoint.every_steps": 100,
          "eval.every_steps": 0,
      }
  )
  resumed = jax.device_get(train.train_and_evaluate(config, str(workdir)))
  assert int(resumed.step) == 6 and int(resumed.data_pos) == 6
  want = np.load(DATA / "uninterrupted_step6.npz")
  got = {
      jax.tree_util.keystr(path): np.asarray(leaf)
      for path, leaf in jax.tree_util.tree_flatten_with_path(resumed)[0]
  }
  assert sorted(got) == sorted(want.files)
  exact = _same_arithmetic(json.loads((DATA / "made_on.json").read_text()))
  for key, value in got.items():
    if exact or not np.issubdtype(value.dtype, np.floating):
      np.testing.assert_array_equal(value, want[key], err_msg=key)
    else:
      # Another CPU kind rounds steps 4-6 (and only those) differently.
      np.testing.assert_allclose(
          value, want[key], rtol=1e-4, atol=1e-6, err_msg=key
      )
