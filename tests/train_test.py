"""End to end: the real main path on configs/tiny.py, outputs and resume."""

import importlib.util
import json
import pathlib

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxgan.experiment import checkpoint
from jaxgan.run import train
from tests.conftest import cpu_env, run_command, run_process, tiny_config


def _main(*args, env_devices=1, fork=False, **env_vars):
  """`python -m jaxgan.main *args`: a new interpreter, or with `fork` one
  forked from tests/cli_server.py (conftest.run_command)."""
  env = dict(cpu_env(env_devices), **env_vars)
  if fork:
    return run_command("jaxgan.main", args, env)
  return run_process("jaxgan.main", args, env)


def test_main_cli_on_idx_files(tmp_path, idx_dir):
  workdir = tmp_path / "run"
  forms = tmp_path / "forms"  # A machine that has timed no convolution.
  result = _main(
      "--config=configs/tiny.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{idx_dir}",
      "--config.model.conv_impl=tuned",
      env_devices=2,
      JAXGAN_CACHE_DIR=str(forms),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  out = result.stdout
  assert "2 cpu device(s) over 1 process(es); global batch 8" in out
  # DCGAN's convolution forms were timed (D's 2 and G's 2 layers: 3
  # computations each in training, forward-only at initialisation) and kept.
  assert "timed the convolution forms at" in out, out
  assert f"kept in {forms / 'forms.json'}" in out
  [chosen] = json.loads((forms / "forms.json").read_text()).values()
  assert len(chosen) >= 6
  assert "per device 4" in out and "G 4,728 params, D 2,928 params" in out
  assert "done: 6 steps" in out
  rows = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  assert [r["step"] for r in rows] == [2, 4, 6]
  for r in rows:
    assert {
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "d_grad_norm",
        "g_grad_norm",
    } <= set(r)
    assert all(np.isfinite(v) for v in r.values())
  assert "img_per_sec" in rows[-1]
  samples = sorted(p.name for p in (workdir / "samples").iterdir())
  assert samples == ["real.png", "step_0000003.png", "step_0000006.png"]
  assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
  assert json.loads((workdir / "config.json").read_text())["seed"] == 0
  ckpt = checkpoint.Checkpointer(
      str(workdir / "checkpoints"), every_steps=1, max_to_keep=None
  )
  assert ckpt.all_steps() == [3, 6]
  # Running the same command again has nothing left to do.
  again = _main(
      "--config=configs/tiny.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{idx_dir}",
      "--config.model.conv_impl=tuned",
      fork=True,
  )
  assert (
      again.returncode == 0
      and "resumed from checkpoint at step 6" in again.stdout
      and "nothing to do" in again.stdout
  )
  # A later run on the same machine reads the choices and times nothing.
  more = _main(
      "--config=configs/tiny.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{idx_dir}",
      "--config.train.num_steps=7",
      "--config.model.conv_impl=tuned",
      env_devices=2,
      fork=True,
      JAXGAN_CACHE_DIR=str(forms),
  )
  assert more.returncode == 0, more.stderr[-3000:]
  assert "done: 7 steps" in more.stdout
  assert "timed the convolution forms" not in more.stdout


def test_main_cli_user_error_is_one_line(tmp_path):
  result = _main(
      "--config=configs/tiny.py",
      f"--workdir={tmp_path / 'w'}",
      f"--config.data.source=idx:{tmp_path / 'missing'}",
  )
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: no train-images")
  assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("libtpu") is None,
    reason="libtpu is not installed, so nothing probes for a "
    "TPU (the test extra installs it on Linux x86-64)",
)
def test_a_run_prints_no_libtpu_lines_without_a_tpu(tmp_path, idx_dir):
  # As a user runs it in the test venv: JAX picks its platform itself, and
  # libtpu (installed for jaxgan.aot) probes for a TPU first.
  env = cpu_env()
  del env["JAX_PLATFORMS"]
  for name in ("TPU_WORKER_HOSTNAMES", "TPU_HOST_BOUNDS"):
    env.pop(name, None)
  result = run_process(
      "jaxgan.main",
      [
          "--config=configs/tiny.py",
          f"--workdir={tmp_path / 'run'}",
          f"--config.data.source=idx:{idx_dir}",
          "--config.train.num_steps=2",
      ],
      env,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "done: 2 steps" in result.stdout
  assert result.stderr == "", result.stderr[-3000:]


def test_train_on_tfds_mock_data(tmp_path):
  config = tiny_config(
      **{
          "data.source": "tfds:mnist",
          "data.image_size": 28,
          "data.preprocess": "none",
          "train.num_steps": 2,
          "train.log_every_steps": 1,
      }
  )
  with tfds.testing.mock_data(num_examples=16):
    state = train.train_and_evaluate(config, str(tmp_path))
  assert int(state.step) == 2
  rows = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert len(rows) == 2


def _final(workdir):
  rows = [
      json.loads(l)
      for l in (pathlib.Path(workdir) / "metrics.jsonl")
      .read_text()
      .splitlines()
  ]
  return {
      r["step"]: (r["d_loss"], r["g_loss"]) for r in rows if "d_loss" in r
  }  # Not the toys' evaluation rows.


_TOY = {
    "data.source": "toy:ring8",
    "model.z_dim": 2,
    "model.g_width": 16,
    "model.d_width": 8,
}
# What else resumes: BEGAN's k_t; spectral-norm vectors, the lazy penalty's
# phase (step 3 -> 4 crosses it), the minibatch-stddev D and the EMA. (A
# learning-rate schedule is a function of train.num_steps, which this test
# changes to stop the first part, so it is not among them.)
RESUME_CASES = {
    "dcgan": {},
    "toy_began": {
        **_TOY,
        "model.name": "toy_began",
        "loss.name": "began",
        "loss.began_lambda_k": 0.01,
    },
    "toy_mlp_regularized": {
        **_TOY,
        "model.name": "toy_mlp",
        "loss.name": "hinge",
        "model.d_spectral_norm": True,
        "model.d_minibatch_std": True,
        "penalty.name": "r1",
        "penalty.every": 2,
        "model.ema_decay": 0.9,
    },
    # Labels in the data order and InfoGAN codes in the step's keys.
    "acgan_infogan": {
        "model.conditioning": "acgan",
        "model.num_classes": 10,
        "model.info_categorical": 3,
        "model.info_continuous": 1,
    },
    # Progressive growing, stopped in the middle of a fade and resumed across
    # the next stage switch: 4x4 (batch 8) at steps 0-1, the 8x8 fade-in
    # (batch 4) at 2-5, the 8x8 stabilisation (fresh Adam states) from 6;
    # the data position follows the changing batch.
    "progan": {
        "model.name": "progan",
        "data.image_size": 8,
        "data.preprocess": "resize",
        "model.g_width": 8,
        "model.d_width": 8,
        "loss.name": "wgan_gp",
        "loss.drift": 0.001,
        "model.ema_decay": 0.9,
        "progan.images_per_phase": 16,
        "progan.batch_sizes": "4:8,8:4",
    },
    # BigGAN: G's spectral-norm vectors and conditional batch norms, the
    # orthogonal regulariser, self-attention, the EMA.
    "biggan": {
        "model.name": "biggan",
        "model.conditioning": "projection",
        "model.num_classes": 10,
        "model.g_spectral_norm": True,
        "model.d_spectral_norm": True,
        "model.attention_res": 16,
        "model.ema_decay": 0.9,
        "loss.name": "hinge",
        "loss.ortho_reg": 1e-4,
        "train.d_steps": 2,
    },
    # ADA in the middle of adapting (p, its accumulators between two
    # updates, the image count), DiffAugment's draws, bCR, LeCam's anchors,
    # a subset of the data.
    "ada": {
        "augment.name": "ada",
        "augment.interval": 4,
        # From p = 0.5, one step of at most 0.2 (at step 4).
        "augment.p": 0.5,
        "augment.speed_kimg": 0.4,
        "loss.bcr_real": 1.0,
        "loss.lecam": 0.3,
        "data.num_examples": 24,
    },
    # Image-to-image: sources computed from the real batch, G's dropout
    # (one U-Net block drops out at 64x64), the reconstruction terms.
    "pix2pix": {
        "model.name": "pix2pix",
        "data.pairs": "edges",
        "data.image_size": 64,
        "data.preprocess": "resize",
        "loss.recon": "l1",
        "loss.recon_weight": 100.0,
        # No feature extractor and no test split for these images.
        "eval.primary": "psnr",
        "eval.reference_split": "train",
    },
    "srgan": {
        "model.name": "srgan",
        "data.pairs": "sr4x",
        "model.res_blocks": 2,
        "loss.recon": "mse",
        "loss.adv_weight": 1e-3,
        "eval.primary": "psnr",
        "eval.reference_split": "train",
    },
}
# (total steps, the step the first part stops at); default (6, 3).
RESUME_STEPS = {"progan": (8, 3)}


@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_resume_equals_uninterrupted(tmp_path, idx_dir, case):
  common = {
      "data.source": f"idx:{idx_dir}",
      "train.log_every_steps": 1,
      "checkpoint.every_steps": 100,
      **RESUME_CASES[case],
  }
  total, stop = RESUME_STEPS.get(case, (6, 3))
  straight = train.train_and_evaluate(
      tiny_config(**common, **{"train.num_steps": total}), str(tmp_path / "a")
  )
  # Stop (the end of a run always saves), then continue to the end.
  train.train_and_evaluate(
      tiny_config(**common, **{"train.num_steps": stop}), str(tmp_path / "b")
  )
  resumed = train.train_and_evaluate(
      tiny_config(**common, **{"train.num_steps": total}), str(tmp_path / "b")
  )
  a, b = jax.device_get(straight), jax.device_get(resumed)
  d_steps = common.get("train.d_steps", 1)  # One batch per D update.
  assert int(b.step) == total and int(b.data_pos) == total * d_steps
  if case == "toy_began":  # k_t moved and is not clipped: the test can fail.
    assert 0.0 < float(b.loss_state["k"]) < 1.0
  if case == "ada":  # p moved at step 4; the accumulators are mid-interval.
    p = float(b.loss_state["ada_p"])
    assert 0.0 < p < 1.0 and p != 0.5, p
    assert float(b.loss_state["ada_count"]) > 0
    assert int(b.loss_state["ada_images"]) == total * 8
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(x, y)  # Bit-identical on CPU.
  la, lb = _final(tmp_path / "a"), _final(tmp_path / "b")
  assert la == lb and sorted(la) == list(range(1, total + 1))
