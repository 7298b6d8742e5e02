"""Workdirs in a bucket: jaxgan's own files on gs:// (jaxgan/core/fs.py).

GCS itself cannot be reached here; an in-memory fsspec file system stands in
for it under the 'gcs' protocol that etils.epath asks fsspec for. What runs
against it is jaxgan's code (workdir checks, config.json, metrics.jsonl,
PNGs); Orbax's and tensorboardX's own GCS writers are not exercised.
"""

import json

import fsspec
import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from jaxgan.core import fs, images
from jaxgan.experiment import workdir as workdir_lib
from jaxgan.core.errors import UserError
from tests.conftest import tiny_config


class _FakeGCS(MemoryFileSystem):
  protocol = ("gcs", "gs")
  root_marker = ""
  store: dict = {}
  pseudo_dirs = [""]


@pytest.fixture
def bucket():
  _FakeGCS.store.clear()
  _FakeGCS.pseudo_dirs[:] = [""]
  fsspec.register_implementation("gcs", _FakeGCS, clobber=True)
  fsspec.register_implementation("gs", _FakeGCS, clobber=True)
  yield "gs://bucket"
  _FakeGCS.store.clear()


def _objects():
  return sorted(k.removeprefix("gs://").lstrip("/") for k in _FakeGCS.store)


def test_line_file_appends_across_reopenings(bucket):
  path = f"{bucket}/run/metrics.jsonl"
  fs.path(f"{bucket}/run").mkdir(parents=True, exist_ok=True)
  first = fs.LineFile(path)
  first.write_line('{"step": 1}')
  first.write_line('{"step": 2}')
  first.close()
  again = fs.LineFile(path)  # A resumed run keeps the earlier rows.
  again.write_line('{"step": 3}')
  assert fs.path(path).read_text().splitlines() == [
      '{"step": 1}',
      '{"step": 2}',
      '{"step": 3}',
  ]


def test_png_written_whole_without_a_temporary_object(bucket):
  image = images.make_grid(np.zeros((4, 8, 8, 1), np.uint8))
  images.save_png(image, f"{bucket}/run/samples/step_0000001.png")
  assert _objects() == ["bucket/run/samples/step_0000001.png"]
  assert (
      fs.path(f"{bucket}/run/samples/step_0000001.png").read_bytes()[:8]
      == b"\x89PNG\r\n\x1a\n"
  )


def test_workdir_config_round_trip_in_a_bucket(bucket, capsys):
  workdir = f"{bucket}/runs/a"
  config = tiny_config()
  config_json = config.to_json_best_effort()
  assert workdir_lib.check(config_json, workdir)  # New: nothing written.
  assert _objects() == []
  fs.path(workdir).mkdir(parents=True, exist_ok=True)
  workdir_lib.write_config(config_json, workdir)
  assert (
      json.loads(fs.path(f"{workdir}/config.json").read_text())["train"][
          "batch_size"
      ]
      == config.train.batch_size
  )
  # Resuming: a changed key is reported, a changed shape key refused.
  changed = tiny_config(**{"train.num_steps": 99})
  assert not workdir_lib.check(changed.to_json_best_effort(), workdir)
  assert "config differs" in capsys.readouterr().out
  with pytest.raises(UserError, match="model.z_dim"):
    workdir_lib.check(
        tiny_config(**{"model.z_dim": 3}).to_json_best_effort(), workdir
    )
  assert (
      workdir_lib.load_config(workdir).train.batch_size
      == config.train.batch_size
  )
  assert fs.absolute(workdir) == workdir  # Not made into a local path.
