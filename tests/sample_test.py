"""The sampling CLI on a tiny trained run."""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from jaxgan import sample, train
from jaxgan.data import toy
from jaxgan.metrics import modes
from tests.conftest import ROOT, tiny_config


def _sample_cli(*args):
  env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="")
  return subprocess.run([sys.executable, "-m", "jaxgan.sample", *args],
                        cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=300)


def test_sample_cli_writes_npy_and_png(tmp_path, idx_dir):
  workdir = tmp_path / "run"
  train.train_and_evaluate(
      tiny_config(**{"data.source": f"idx:{idx_dir}", "train.num_steps": 2}),
      str(workdir))
  npy = tmp_path / "s.npy"
  result = _sample_cli(f"--workdir={workdir}", "--num=10", f"--out={npy}")
  assert result.returncode == 0, result.stderr[-2000:]
  samples = np.load(npy)
  assert samples.shape == (10, 32, 32, 1) and samples.dtype == np.uint8
  # Same seed, same samples; the library function agrees with the CLI. Sample
  # i depends only on (seed, i); another batch size changes XLA's summation
  # order, so pixels may differ by one grey level after rounding.
  np.testing.assert_array_equal(sample.generate(str(workdir), 10)[1], samples)
  other = sample.generate(str(workdir), 10, batch_size=4)[1].astype(int)
  assert np.abs(other - samples).max() <= 1
  png = tmp_path / "grid.png"
  result = _sample_cli(f"--workdir={workdir}", "--num=9", f"--out={png}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert Image.open(png).size == (3 * 34 + 2, 3 * 34 + 2)


def test_sample_cli_errors(tmp_path):
  result = _sample_cli(f"--workdir={tmp_path}", f"--out={tmp_path / 'x.npy'}")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f"error: --workdir={tmp_path} has no config.json; give the workdir of a "
      "jaxgan training run"]


def test_sample_cli_on_a_toy_run_writes_points_plot_and_metrics(tmp_path):
  workdir = tmp_path / "toy"
  train.train_and_evaluate(
      tiny_config(**{"data.source": "toy:ring8", "model.name": "toy_mlp",
                     "model.z_dim": 2, "model.g_width": 16,
                     "model.d_width": 8, "train.num_steps": 2}),
      str(workdir))
  assert (workdir / "samples" / "real.png").is_file()
  npy = tmp_path / "points.npy"
  result = _sample_cli(f"--workdir={workdir}", "--num=2500", f"--out={npy}")
  assert result.returncode == 0, result.stderr[-2000:]
  points = np.load(npy)
  assert points.shape == (2500, 2) and points.dtype == np.float32
  metrics = json.loads(result.stdout.strip().splitlines()[-1])
  assert metrics["num_samples"] == 2500 and metrics["num_modes"] == 8
  # The printed metrics are those of the written points.
  expected = modes.mode_metrics(points, toy.MIXTURES["ring8"])
  assert metrics["modes"] == expected["modes"]
  assert metrics["counts"] == expected["counts"]
  png = tmp_path / "points.png"
  result = _sample_cli(f"--workdir={workdir}", "--num=100", f"--out={png}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert Image.open(png).size == (480, 480)
