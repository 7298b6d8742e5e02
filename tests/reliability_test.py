"""Corrupt and interrupted checkpoints, non-finite values, signals, kills."""

import json
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from benchmarks import fault_injection
from jaxgan.experiment import checkpoint, fingerprint
from jaxgan.gan import nonfinite
from jaxgan.run import train
from tests.conftest import ROOT, cpu_env, run_command, tiny_config, write_idx


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, pathlib.Path]:
  """An IDX dataset, a 6-step reference run and a 4-step run (checkpoints at
  2 and 4) of the same config to resume from."""
  root = tmp_path_factory.mktemp("runs")
  idx = root / "idx"
  idx.mkdir()
  write_idx(
      idx / "train-images-idx3-ubyte",
      np.random.default_rng(0).integers(0, 256, (32, 28, 28), dtype=np.uint8),
  )
  common = {
      "data.source": f"idx:{idx}",
      "checkpoint.every_steps": 2,
      "train.log_every_steps": 1,
  }
  reference = train.train_and_evaluate(
      tiny_config(**common, **{"train.num_steps": 6}), str(root / "ref")
  )
  train.train_and_evaluate(
      tiny_config(**common, **{"train.num_steps": 4}), str(root / "four")
  )
  return {
      "root": root,
      "idx": idx,
      "common": common,
      "reference": jax.device_get(reference),
      "four": root / "four",
  }


def _copy_four(runs, tmp_path) -> pathlib.Path:
  workdir = tmp_path / "run"
  shutil.copytree(runs["four"], workdir)
  return workdir


def _assert_same(a, b):
  for x, y in zip(
      jax.tree.leaves(jax.device_get(a)), jax.tree.leaves(jax.device_get(b))
  ):
    np.testing.assert_array_equal(x, y)


def _data_files(step_dir: pathlib.Path) -> list[pathlib.Path]:
  return sorted(
      f
      for f in (step_dir / "state").rglob("*")
      if f.is_file() and "/d/" in str(f)
  )


def _zero(step_dir):
  for f in _data_files(step_dir):
    f.write_bytes(b"\0" * f.stat().st_size)


def _flip_byte(step_dir):
  # One byte in each data file: which file holds which arrays (and whether
  # a given byte of it is read back at all) varies from save to save; a flip
  # in only the largest file sometimes went unread.
  for f in _data_files(step_dir):
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))


def _drop_manifest(step_dir):
  (step_dir / "state" / "manifest.ocdbt").unlink()


def _edit_fingerprint(step_dir):
  # The arrays read back fine; only the fingerprint can tell.
  path = step_dir / "fingerprint" / "metadata"
  record = json.loads(path.read_text())
  record["leaves"][5][0] += 1
  path.write_text(json.dumps(record))


CORRUPTIONS = {
    "zeroed_data": _zero,
    "flipped_byte": _flip_byte,
    "missing_manifest": _drop_manifest,
    "fingerprint_mismatch": _edit_fingerprint,
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_checkpoint_is_skipped_moved_and_redone(
    runs, tmp_path, capsys, corruption
):
  workdir = _copy_four(runs, tmp_path)
  CORRUPTIONS[corruption](workdir / "checkpoints" / "4")
  state = train.train_and_evaluate(
      tiny_config(**runs["common"], **{"train.num_steps": 6}), str(workdir)
  )
  out = capsys.readouterr().out
  assert f"note: checkpoint {workdir}/checkpoints/4 is corrupt (" in out
  assert "resumed from checkpoint at step 2" in out
  moved = list((workdir / checkpoint.QUARANTINE).iterdir())
  assert [p.name.split("-")[0] for p in moved] == ["4"]  # Kept, not deleted.
  assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == [
      "2",
      "4",
      "6",
  ]
  _assert_same(state, runs["reference"])  # Steps 3-4 trained again, equal.


def test_interrupted_save_is_reported_and_never_restored(
    runs, tmp_path, capsys
):
  workdir = _copy_four(runs, tmp_path)
  ckpts = workdir / "checkpoints"
  # What a kill during the save of step 4 leaves: Orbax's temporary directory.
  (ckpts / "4").rename(ckpts / "4.orbax-checkpoint-tmp")
  state = train.train_and_evaluate(
      tiny_config(**runs["common"], **{"train.num_steps": 6}), str(workdir)
  )
  out = capsys.readouterr().out
  assert (
      f"note: {ckpts}/4.orbax-checkpoint-tmp: an interrupted save, not "
      "restored"
  ) in out
  assert "resumed from checkpoint at step 2" in out
  assert sorted(p.name for p in ckpts.iterdir()) == ["2", "4", "6"]
  _assert_same(state, runs["reference"])


def test_fingerprint_sees_changed_and_moved_values():
  state = {"a": jnp.arange(6, dtype=jnp.float32), "b": jnp.int32(3)}
  base = fingerprint.fingerprint(state)
  changed = {**state, "a": state["a"].at[2].set(2.5)}
  swapped = {**state, "a": state["a"][jnp.array([1, 0, 2, 3, 4, 5])]}
  assert fingerprint.fingerprint(changed)[0] != base[0]
  assert fingerprint.fingerprint(swapped)[0][0] == base[0][0]  # Same sum,
  assert fingerprint.fingerprint(swapped)[0][1] != base[0][1]  # other order.
  assert fingerprint.fingerprint(state)[1] == base[1] == [3, 3]


def test_fingerprint_on_the_host_equals_the_devices():
  # The CPU's numpy form and the jitted form other backends run, on leaves
  # of each word size, large enough that the sums wrap around 2^32.
  rng = np.random.default_rng(0)
  state = {
      "f32": jnp.asarray(rng.normal(size=(300, 7)), jnp.float32),
      "bf16": jnp.asarray(rng.normal(size=(1000,)), jnp.bfloat16),
      "u8": jnp.asarray(rng.integers(0, 256, (5, 5)), jnp.uint8),
      "i32": jnp.int32(-7),
      "empty": jnp.zeros((0,), jnp.float32),
  }
  host = fingerprint.fingerprint(state)
  device = np.asarray(
      fingerprint._fingerprint(jax.tree.leaves(state))  # pylint: disable=protected-access
  ).tolist()
  assert host == device
  # The sums wrapped: f32's plain sum is its words' true sum mod 2^32.
  words = int(np.asarray(state["f32"]).view(np.uint32).sum(dtype=np.uint64))
  assert words > 2**32 and host[2][0] == words % 2**32  # Leaves by key.


def _cli(*args, devices=1, timeout=300):
  return run_command("jaxgan.main", args, cpu_env(devices), timeout)


def _tree_bytes(root: pathlib.Path) -> dict[str, bytes]:
  return {
      str(p.relative_to(root)): p.read_bytes()
      for p in sorted(root.rglob("*"))
      if p.is_file()
  }


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(runs, tmp_path):
  workdir = _copy_four(runs, tmp_path)
  before = _tree_bytes(workdir / "checkpoints")
  # A discriminator learning rate of 1e30 overflows D's parameters in the
  # first update after the restored step 4.
  result = _cli(
      "--config=configs/tiny.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{runs['idx']}",
      "--config.train.num_steps=9",
      "--config.train.log_every_steps=3",
      "--config.checkpoint.every_steps=2",
      "--config.optim.d_lr=1e30",
  )
  assert result.returncode == 3, result.stderr[-3000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in result.stderr
  # Caught at step 6, the first checkpoint step after it (before log step 6).
  # D's parameters overflowed first; G's loss against that D followed.
  assert lines[0].startswith(
      "error: non-finite d_param_norm, g_loss, "
      "g_grad_norm, g_param_norm at step 5 "
      "(caught at step 6; 2 bad iteration(s) in steps "
      "5-6); training stopped and checkpoint step 4 "
      "is kept"
  ), lines[0]
  assert _tree_bytes(workdir / "checkpoints") == before


def test_skip_mode_leaves_out_non_finite_updates(runs, tmp_path, capsys):
  workdir = _copy_four(runs, tmp_path)
  config = tiny_config(
      **runs["common"],
      **{
          "train.num_steps": 8,
          "optim.d_lr": 1e30,
          "train.on_nonfinite": "skip",
      },
  )
  four = checkpoint.Checkpointer(
      str(workdir / "checkpoints"), every_steps=1, max_to_keep=None
  )
  restored = jax.device_get(four.restore(runs["reference"], 4))
  four.close()
  state = jax.device_get(train.train_and_evaluate(config, str(workdir)))
  out = capsys.readouterr().out
  assert (
      "warning: 1 iteration(s) in steps 5-5 had a non-finite "
      "d_param_norm (last at step 5); their updates were skipped"
  ) in out
  # Every D update overflowed and was left out; G trained against that D.
  _assert_same(state.d_params, restored.d_params)
  _assert_same(state.d_opt_state, restored.d_opt_state)
  assert not np.array_equal(
      state.g_params["Dense_0"]["kernel"],
      restored.g_params["Dense_0"]["kernel"],
  )
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state))
  assert int(state.health["nonfinite_steps"]) == 4
  assert int(state.health["first_step"]) == 5
  assert nonfinite.describe(int(state.health["last_mask"])) == ["d_param_norm"]
  rows = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  assert [r["nonfinite_steps"] for r in rows if r["step"] > 4] == [1, 2, 3, 4]


def test_signals_save_the_current_step_and_a_second_one_waits(
    tmp_path, idx_dir
):
  workdir = tmp_path / "run"
  args = [
      sys.executable,
      "-m",
      "jaxgan.main",
      "--config=configs/tiny.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{idx_dir}",
      "--config.train.num_steps=100000",
      "--config.train.log_every_steps=1",
      "--config.checkpoint.every_steps=100000",
  ]
  env = cpu_env()
  proc = subprocess.Popen(
      args,
      cwd=ROOT,
      env=env,
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
  )
  deadline = time.time() + 120
  metrics = workdir / "metrics.jsonl"
  while time.time() < deadline:  # Wait until training is under way.
    if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
      break
    time.sleep(0.2)
  proc.send_signal(signal.SIGTERM)
  proc.send_signal(signal.SIGINT)  # Impatient: a second signal.
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err[-2000:]
  # Python runs the handlers of signals that arrived together in signal
  # number order, so either may come first.
  assert out.count(": stopping after this step and saving a checkpoint") == 1
  assert out.count(": already stopping; waiting for the checkpoint") == 1
  stopped = int(out.split("stopped at step ")[1].split(";")[0])
  rows = [json.loads(l) for l in metrics.read_text().splitlines()]
  assert rows[-1]["step"] == stopped  # Logged every step: 0 steps lost.
  ckpt = checkpoint.Checkpointer(
      str(workdir / "checkpoints"), every_steps=1, max_to_keep=None
  )
  assert ckpt.all_steps() == [stopped] and not ckpt.interrupted_saves()
  ckpt.close()
  again = subprocess.run(
      args[:-3] + [f"--config.train.num_steps={stopped + 2}"],
      cwd=ROOT,
      env=env,
      capture_output=True,
      text=True,
      timeout=300,
  )
  assert again.returncode == 0, again.stderr[-2000:]
  assert f"resumed from checkpoint at step {stopped}" in again.stdout
  assert f"done: {stopped + 2} steps" in again.stdout


def test_bad_image_mid_run_saves_the_work_done(tmp_path):
  images = tmp_path / "images"
  images.mkdir()
  for i in range(15):
    Image.fromarray(np.full((28, 28), 16 * i, np.uint8)).save(
        images / f"{i:02d}.png"
    )
  (images / "14_broken.png").write_bytes(b"truncated download")
  workdir = tmp_path / "run"
  result = _cli(
      "--config=configs/tiny.py",
      f"--workdir={workdir}",
      f"--config.data.source=folder:{images}",
      "--config.train.num_steps=50",
      "--config.checkpoint.every_steps=100",
  )
  assert result.returncode == 2, result.stderr[-3000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and "14_broken.png" in lines[0], lines
  steps = [int(p.name) for p in (workdir / "checkpoints").iterdir()]
  assert len(steps) == 1 and 0 <= steps[0] < 50


def test_fault_injection_short(tmp_path, idx_dir):
  summary = fault_injection.run(
      2,
      config="configs/tiny.py",
      seed=1,
      workdir=tmp_path,
      verbose=False,
      overrides=[
          f"--config.data.source=idx:{idx_dir}",
          "--config.train.num_steps=100",
          "--config.checkpoint.every_steps=5",
          "--config.train.log_every_steps=3",
          "--config.train.sample_every_steps=50",
          # A decaying learning rate and the EMA resume too.
          "--config.optim.schedule=linear",
          "--config.model.ema_decay=0.9",
      ],
  )
  assert summary["kills"] == 2
  assert summary["state_bit_identical"], summary["differing_leaves"]
  assert summary["metric_rows_identical"], summary["differing_rows"]
  assert summary["metric_rows_compared"] >= 30
