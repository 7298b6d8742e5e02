"""One run per workdir (jaxgan/experiment/lock.py)."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from jaxgan.core import runtime
from jaxgan.core.errors import UserError
from jaxgan.experiment import lock
from jaxgan.run import train
from tests.conftest import cpu_env, run_process, tiny_config


def _config(idx_dir, steps=2):
  return tiny_config(
      **{
          "data.source": f"idx:{idx_dir}",
          "train.num_steps": steps,
          "eval.every_steps": 0,
      }
  )


def _dead_pid() -> int:
  p = subprocess.Popen([sys.executable, "-c", "pass"])
  p.wait()
  return p.pid


def test_a_second_run_on_a_live_workdir_refuses_in_one_line(tmp_path, idx_dir):
  workdir = tmp_path / "run"
  workdir.mkdir()
  held = lock.WorkdirLock(str(workdir))  # A live run: this process.
  assert held.acquire() is None
  before = sorted(p.name for p in workdir.iterdir())
  result = run_process(
      "jaxgan.main",
      [
          "--config=configs/tiny.py",
          f"--workdir={workdir}",
          f"--config.data.source=idx:{idx_dir}",
      ],
      cpu_env(),
  )
  assert result.returncode == 2
  [line] = result.stderr.strip().splitlines()
  assert line.startswith(f"error: --workdir={workdir} is in use by another")
  assert f"process {os.getpid()}" in line
  assert f"host {socket.gethostname()}" in line
  assert sorted(p.name for p in workdir.iterdir()) == before  # Nothing new.
  held.release()
  assert not (workdir / lock.LOCK).exists()


def test_a_lock_whose_process_is_gone_is_taken_over(
    tmp_path, idx_dir, one_device, capsys
):
  del one_device
  workdir = tmp_path / "run"
  workdir.mkdir()
  gone = {
      "host": socket.gethostname(),
      "pid": _dead_pid(),
      "started": time.time() - 60,
      "heartbeat": time.time(),
  }
  (workdir / lock.LOCK).write_text(json.dumps(gone))
  state = train.train_and_evaluate(_config(idx_dir), str(workdir))
  assert int(state.step) == 2
  out = capsys.readouterr().out
  assert f"took over the lock of a run that is gone (host" in out
  assert f"process {gone['pid']}" in out
  assert not (workdir / lock.LOCK).exists()  # Released at the end.


def test_another_hosts_lock_is_stale_only_after_its_heartbeat_stops():
  now = time.time()
  there = {"host": "elsewhere", "pid": 1, "started": now - 600}
  assert not lock.is_stale({**there, "heartbeat": now - 10}, now)
  assert lock.is_stale(
      {**there, "heartbeat": now - lock.STALE_SECONDS - 1}, now
  )
  # On this host the process decides, whatever the heartbeat says.
  here = {"host": socket.gethostname(), "started": now, "heartbeat": now}
  assert lock.is_stale({**here, "pid": _dead_pid()}, now)
  assert not lock.is_stale(
      {**here, "pid": os.getpid(), "process_start": lock._start_time(os.getpid())},  # pylint: disable=protected-access
      now,
  )
  # A reused process id: the process now has another start time.
  assert lock.is_stale({**here, "pid": os.getpid(), "process_start": "1"}, now)


def test_of_two_runs_one_gets_the_lock_and_the_heartbeat_moves(
    tmp_path, monkeypatch
):
  monkeypatch.setattr(lock, "HEARTBEAT_SECONDS", 0.05)
  first, second = lock.WorkdirLock(str(tmp_path)), lock.WorkdirLock(
      str(tmp_path)
  )
  first.acquire()
  with pytest.raises(UserError, match="is in use by another run"):
    second.acquire()
  beat = lock.read(str(tmp_path))["heartbeat"]
  time.sleep(0.3)
  assert lock.read(str(tmp_path))["heartbeat"] > beat
  second.release()  # Not its lock: left alone.
  assert (tmp_path / lock.LOCK).exists()
  first.release()
  assert not (tmp_path / lock.LOCK).exists()


def test_only_process_0_takes_the_lock(tmp_path, monkeypatch):
  # The other processes of a multi-process run train without a lock file
  # of their own (and would raise if process 0 could not take it).
  monkeypatch.setattr(runtime, "is_writer", lambda: False)
  with train._workdir_lock(str(tmp_path)):  # pylint: disable=protected-access
    assert not (tmp_path / lock.LOCK).exists()
  monkeypatch.setattr(runtime, "is_writer", lambda: True)
  with train._workdir_lock(str(tmp_path)):  # pylint: disable=protected-access
    assert lock.read(str(tmp_path))["pid"] == os.getpid()
  assert not (tmp_path / lock.LOCK).exists()
