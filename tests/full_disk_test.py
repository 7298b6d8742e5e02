"""A disk that fills while a run writes its checkpoints: one line, exit 4.

The run's workdir is on a file system of its own (a 4 MB tmpfs, mounted by
the test where it may: as root), filled but for room for the small writes (a
metrics line, the lock) and not for a checkpoint of configs/tiny.py (~300 KB).
Where no file system can be mounted, the OSError is injected where Orbax
writes a checkpoint's files (the reason is printed). Either way, with the
asynchronous and the synchronous save: the run ends with one line on stderr
and exit status 4, the earlier checkpoint is intact, the half-written one is
gone (or removed, with a note, by the next run), and after space is freed
the same run resumes and ends bit-identical to an uninterrupted one.
"""

import contextlib
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxgan.core import runtime
from jaxgan.core.errors import WriteError
from jaxgan.experiment import checkpoint
from jaxgan.run import train, writers
from tests.conftest import ROOT, cpu_env, tiny_config, write_idx

STEPS = 6
# Room left on the full disk: the lock, a metrics line, a sample grid and
# metrics.png fit, a checkpoint of the tiny model does not.
ROOM = 160 * 1024
# The command line with an OSError(ENOSPC) raised where Orbax writes the
# fingerprint item of a checkpoint (in its background thread when the save
# is asynchronous).
INJECTED = """
import errno, runpy, sys
from etils.epath import gpath
write_text = gpath.PosixGPath.write_text
def full(self, *args, **kwargs):
  if ".orbax-checkpoint-tmp" in str(self) and "fingerprint" in str(self):
    raise OSError(errno.ENOSPC, "No space left on device", str(self))
  return write_text(self, *args, **kwargs)
gpath.PosixGPath.write_text = full
sys.argv[0] = "jaxgan.main"
runpy.run_module("jaxgan.main", run_name="__main__", alter_sys=True)
"""


def _config(idx, steps, async_save=True):
  return tiny_config(
      **{
          "data.source": f"idx:{idx}",
          "train.num_steps": steps,
          "checkpoint.every_steps": 2,
          "checkpoint.async_save": async_save,
          "train.log_every_steps": 1000,
          "train.sample_every_steps": 1000,
      }
  )


def _one_device():
  return jax.make_mesh((1,), (runtime.AXIS,), devices=jax.devices()[:1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """An IDX dataset and the final state of an uninterrupted run."""
  root = tmp_path_factory.mktemp("full_disk")
  write_idx(
      root / "train-images-idx3-ubyte",
      np.random.default_rng(0).integers(0, 256, (32, 28, 28), dtype=np.uint8),
  )
  with pytest.MonkeyPatch.context() as m:
    m.setattr(runtime, "make_mesh", _one_device)
    state = train.train_and_evaluate(_config(root, STEPS), str(root / "ref"))
  return root, jax.device_get(state)


@pytest.fixture
def small_disk(tmp_path):
  """A 4 MB tmpfs of the test's own, or None (with the reason printed)."""
  where = tmp_path / "disk"
  where.mkdir()
  if os.geteuid() != 0:
    why = "not root"
  else:
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    why = mount.stderr.strip() if mount.returncode else None
  if why:
    print(f"no file system of its own ({why}): ENOSPC is injected instead")
    yield None
    return
  try:
    yield where
  finally:
    subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: pathlib.Path, room: int = ROOM) -> None:
  """Fills `disk` but for `room` bytes."""
  stat = os.statvfs(disk)
  with open(disk / "filler", "wb") as f:
    f.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - room))


def _tree_bytes(root: pathlib.Path) -> dict[str, bytes]:
  return {
      str(p.relative_to(root)): p.read_bytes()
      for p in sorted(root.rglob("*"))
      if p.is_file()
  }


@pytest.mark.parametrize("async_save", [True, False], ids=["async", "sync"])
def test_a_full_disk_ends_the_run_in_one_line_and_it_resumes_exactly(
    reference, small_disk, tmp_path, one_device, capsys, async_save
):
  del one_device
  idx, final = reference
  workdir = (small_disk or tmp_path) / "run"
  train.train_and_evaluate(_config(idx, 2, async_save), str(workdir))
  if small_disk:
    _fill(small_disk)
  checkpoints = workdir / "checkpoints"
  before = _tree_bytes(checkpoints)
  args = [
      "--config=configs/tiny.py",
      f"--workdir={workdir}",
      f"--config.data.source=idx:{idx}",
      f"--config.train.num_steps={STEPS}",
      "--config.checkpoint.every_steps=2",
      f"--config.checkpoint.async_save={async_save}",
      "--config.train.log_every_steps=1000",
      "--config.train.sample_every_steps=1000",
  ]
  command = ["-m", "jaxgan.main"] if small_disk else ["-c", INJECTED]
  result = subprocess.run(
      [sys.executable, *command, *args],
      cwd=ROOT,
      env=cpu_env(),
      capture_output=True,
      text=True,
      timeout=300,
  )
  assert result.returncode == 4, result.stderr[-3000:]
  assert "Traceback" not in result.stdout + result.stderr
  [line] = result.stderr.strip().splitlines()
  assert line.startswith("error: could not write "), line
  assert line.endswith(
      ": no space left on device; the last complete checkpoint is step 2: "
      "free space and run the same command again; it resumes from step 2"
  ), line
  assert "done:" not in result.stdout
  assert "checkpoint saved" not in result.stdout
  # Step 2 as it was, and the newest complete one. The half-written step 4
  # is removed, by this run or (writes of it may land after) the next.
  after = _tree_bytes(checkpoints)
  assert {k: v for k, v in after.items() if k.startswith("2/")} == before
  assert checkpoint.last_complete_step(str(checkpoints)) == 2
  if small_disk:
    (small_disk / "filler").unlink()
  capsys.readouterr()
  state = train.train_and_evaluate(
      _config(idx, STEPS, async_save), str(workdir)
  )
  out = capsys.readouterr().out
  assert "resumed from checkpoint at step 2" in out
  assert all(
      f"note: {checkpoints / n}: an interrupted save, not restored; removed"
      in out
      for n in {k.split("/")[0] for k in after} - {"2"}
  )
  for a, b in zip(
      jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(final)
  ):
    np.testing.assert_array_equal(a, b)


def test_each_output_on_a_full_disk_raises_one_write_error_naming_it(
    small_disk,
):
  if small_disk is None:
    pytest.skip("no file system of its own to fill (the reason is printed)")
  runs = [small_disk / name for name in ("a", "b", "c")]
  first, second, third = (writers.Writer(str(r)) for r in runs)
  first.scalars(0, {"d_loss": 1.0})  # A row for metrics.png.
  second.scalars(0, {"d_loss": 1.0})
  _fill(small_disk, room=0)
  image = np.zeros((64, 64, 1), np.uint8)
  # Past the page the first row took.
  big_row = {f"metric_{i}": float(i) for i in range(500)}
  calls = {
      runs[0] / "metrics.png": lambda: first.curves("run"),
      runs[0] / "samples/a.png": lambda: first.image(1, "s", image, "a.png"),
      runs[1] / "metrics.jsonl": lambda: second.scalars(1, big_row),
      # Its first event waits in the buffer until the file is closed.
      runs[2] / "tensorboard": third.close,
  }
  for path, call in calls.items():
    with pytest.raises(WriteError) as e:
      call()
    assert str(e.value) == f"could not write {path}: no space left on device"
  for writer in (first, second):  # A WriteError at most (a line left over).
    with contextlib.suppress(WriteError):
      writer.close()
  assert not list(small_disk.rglob("*.tmp"))  # No half-written picture.
