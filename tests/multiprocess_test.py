"""Several processes on one machine: jax.distributed on localhost, gloo.

Two processes with 2 fake CPU devices each train like one process with 4
devices; a SIGTERM that reaches one process stops both at the same step; a
group that loses a process to SIGKILL restarts from its last checkpoint and
ends where an uninterrupted group does.
"""

import json
import re
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxgan.experiment import workdir as workdir_lib
from tests.conftest import ROOT, cpu_env, free_port

STEPS = [
    "--config.train.log_every_steps=1",
    "--config.checkpoint.every_steps=2",
]


def _spawn(args, log_path, env):
  """A process whose output goes to `log_path` (kept as `.log_path`)."""
  proc = subprocess.Popen(
      [sys.executable, *args],
      cwd=ROOT,
      env=env,
      stdout=open(log_path, "a"),
      stderr=subprocess.STDOUT,
      text=True,
  )
  proc.log_path = log_path
  return proc


def _start_group(workdir, idx_dir, *extra, processes=2):
  port = free_port()
  return [
      _spawn(
          [
              "-m",
              "jaxgan.main",
              "--config=configs/tiny.py",
              f"--workdir={workdir}",
              f"--config.data.source=idx:{idx_dir}",
              f"--coordinator_address=127.0.0.1:{port}",
              f"--num_processes={processes}",
              f"--process_id={i}",
              *STEPS,
              *extra,
          ],
          workdir.parent / f"{workdir.name}_p{i}.log",
          cpu_env(2),
      )
      for i in range(processes)
  ]


def _wait(procs, timeout=300):
  """The processes' exit codes; a group still running after `timeout`
  seconds is killed and the test fails with every process's log."""
  deadline = time.time() + timeout
  try:
    for p in procs:
      p.wait(timeout=max(deadline - time.time(), 1))
  except subprocess.TimeoutExpired:
    for p in procs:
      p.kill()
      p.wait()
    logs = "\n".join(
        f"--- process {i} ---\n{p.log_path.read_text()[-3000:]}"
        for i, p in enumerate(procs)
    )
    pytest.fail(f"the group hung for {timeout} s\n{logs}")
  return [p.returncode for p in procs]


def _log(workdir, i) -> str:
  return (workdir.parent / f"{workdir.name}_p{i}.log").read_text()


def _state(workdir):
  return jax.device_get(workdir_lib.load_run(str(workdir)).state)


def _rows(workdir):
  return [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]


def test_two_processes_equal_one_process_with_four_devices(tmp_path, idx_dir):
  group = tmp_path / "group"
  assert _wait(_start_group(group, idx_dir)) == [0, 0], _log(group, 0)[-3000:]
  assert (
      "4 cpu device(s) over 2 process(es); global batch 8, per process 4, "
      "per device 2" in _log(group, 0)
  )
  single = tmp_path / "single"
  result = subprocess.run(
      [
          sys.executable,
          "-m",
          "jaxgan.main",
          "--config=configs/tiny.py",
          f"--workdir={single}",
          f"--config.data.source=idx:{idx_dir}",
          *STEPS,
      ],
      cwd=ROOT,
      env=cpu_env(4),
      capture_output=True,
      text=True,
      timeout=300,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  # Same global batch, noise and per-device batch-norm slices; only the
  # order of float additions in the all-reduces differs (gloo vs in-process).
  for a, b in zip(
      jax.tree.leaves(_state(group)), jax.tree.leaves(_state(single))
  ):
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
  ra, rb = _rows(group), _rows(single)
  assert (
      [r["step"] for r in ra] == [r["step"] for r in rb] == [1, 2, 3, 4, 5, 6]
  )
  for x, y in zip(ra, rb):
    np.testing.assert_allclose(x["d_loss"], y["d_loss"], atol=1e-5)
    np.testing.assert_allclose(x["g_loss"], y["g_loss"], atol=1e-5)
  # Only process 0 writes logs and samples and prints progress; both took
  # part in checkpoints.
  assert sorted(p.name for p in (group / "checkpoints").iterdir()) == [
      "2",
      "4",
      "6",
  ]
  assert "step 6/6" in _log(group, 0) and "done: 6 steps" in _log(group, 0)
  assert "step " not in _log(group, 1) and "jaxgan:" not in _log(group, 1)


def _wait_for_training(workdir, rows=3, timeout=120):
  deadline = time.time() + timeout
  metrics = workdir / "metrics.jsonl"
  while time.time() < deadline:
    if metrics.exists() and len(metrics.read_text().splitlines()) >= rows:
      return
    time.sleep(0.1)
  raise TimeoutError("training did not start")


def test_sigterm_on_one_process_stops_both_at_the_same_step(tmp_path, idx_dir):
  workdir = tmp_path / "run"
  procs = _start_group(
      workdir,
      idx_dir,
      "--config.train.num_steps=100000",
      "--config.checkpoint.every_steps=100000",
  )
  _wait_for_training(workdir)
  procs[1].send_signal(signal.SIGTERM)  # The preempted host.
  assert _wait(procs) == [0, 0], _log(workdir, 1)[-3000:]
  assert "SIGTERM: stopping after this step" in _log(workdir, 1)
  stopped = int(_log(workdir, 0).split("stopped at step ")[1].split(";")[0])
  # One checkpoint, of that step: a save at different steps on the two
  # processes would have failed (every process writes its part).
  assert sorted(int(p.name) for p in (workdir / "checkpoints").iterdir()) == [
      stopped
  ]
  assert _rows(workdir)[-1]["step"] == stopped


def test_group_restarts_after_a_killed_process(tmp_path, idx_dir):
  steps = "--config.train.num_steps=20"
  straight = tmp_path / "straight"
  assert _wait(_start_group(straight, idx_dir, steps)) == [0, 0]
  workdir = tmp_path / "killed"
  procs = _start_group(workdir, idx_dir, steps)
  _wait_for_training(workdir, rows=5)
  procs[1].send_signal(signal.SIGKILL)  # A host dies mid-run ...
  time.sleep(1.0)
  procs[0].send_signal(signal.SIGKILL)  # ... and the launcher ends the rest.
  _wait(procs)
  saved = sorted(
      int(p.name)
      for p in (workdir / "checkpoints").iterdir()
      if p.name.isdigit()
  )
  assert saved and saved[-1] < 20
  # The same command on both hosts again: they agree on the step to resume.
  procs = _start_group(workdir, idx_dir, steps)
  assert _wait(procs) == [0, 0], _log(workdir, 0)[-3000:]
  resumed = [
      l
      for l in _log(workdir, 0).splitlines()
      if l.startswith("resumed from checkpoint at step")
  ]
  assert resumed and f"step {saved[-1]}" in resumed[-1]
  for a, b in zip(
      jax.tree.leaves(_state(straight)), jax.tree.leaves(_state(workdir))
  ):
    np.testing.assert_array_equal(a, b)  # Same layout: bit-identical.


def test_evaluation_gathers_samples_from_both_processes(tmp_path, labelled):
  workdir = tmp_path / "run"
  procs = _start_group(
      workdir,
      labelled["data"],
      f"--config.eval.classifier={labelled['clf']}",
      "--config.eval.every_steps=3",
      "--config.eval.num_samples=24",
      "--v=1",  # Orbax logs the barriers it waits at.
  )
  assert _wait(procs) == [0, 0], _log(workdir, 1)[-3000:]
  # Step 6 is saved to checkpoints/ and to best/: the processes' barriers of
  # the two saves must not share a name (a reused name can hang the group).
  for i in range(2):
    barriers = re.findall(
        r"Waiting at barrier: (\S*async_\S+)", _log(workdir, i)
    )
    assert len(barriers) == 10 and len(set(barriers)) == 10, barriers
  evals = [r for r in _rows(workdir) if "fd" in r]
  assert [r["step"] for r in evals] == [3, 6]
  assert all(np.isfinite(r["fd"]) for r in evals)
  lines = [
      l for l in _log(workdir, 0).splitlines() if l.startswith("eval step")
  ]
  assert len(lines) == 2 and "eval step" not in _log(workdir, 1)
  # Both processes took part in saving the best checkpoint.
  assert (workdir / "best").is_dir()


AGREE = """
import sys
from jaxgan.core import runtime
runtime.initialize(
    coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2])
)
import jax
mine = jax.process_index() == 1  # The processes disagree.
print(runtime.first_process(mine), runtime.any_process(mine))
"""


def test_processes_take_process_0s_decision_or_any(tmp_path):
  # Where each process decides for itself (is this the best evaluation?),
  # all must act alike: saving a checkpoint is collective.
  address = f"127.0.0.1:{free_port()}"
  procs = [
      _spawn(["-c", AGREE, address, str(i)], tmp_path / f"p{i}.log", cpu_env(1))
      for i in range(2)
  ]
  assert _wait(procs, timeout=120) == [0, 0]
  for p in procs:
    assert p.log_path.read_text().splitlines()[-1] == "False True"
