"""Where a run's numbers and pictures go: metrics.jsonl, TensorBoard, PNGs,
and metrics.png (the curves of metrics.jsonl; jaxgan/run/plots.py).

Only the process that `runtime.is_writer()` names writes; other processes get
a writer that drops everything, so the loop needs no `if process_index`. The
workdir may be local or a bucket (gs://; jaxgan/core/fs.py; tensorboardX writes
its event files to gs:// with google-cloud-storage).

Every write happens in the caller's thread and raises `WriteError` naming the
file (a full disk, ...). TensorBoard's events are written with tensorboardX's
record writer, flushed every `FLUSH_SECONDS` and at `close`, not through its
SummaryWriter's background thread: an error there would be a traceback from
that thread, and the writer's queue, no longer read, would block the loop.
"""

import json
import math
import os
import socket
import sys
import time
from typing import Any, Mapping

import numpy as np

from jaxgan.core import fs, images as image_lib
from jaxgan.core.errors import writing

METRICS, PICTURE = "metrics.jsonl", "metrics.png"
FLUSH_SECONDS = 120.0  # SummaryWriter's default.


def read_rows(workdir: str) -> list[dict[str, Any]]:
  """The rows of <workdir>/metrics.jsonl (none if there is no file); a line
  cut short by a crash is left out."""
  path = fs.path(workdir) / METRICS
  if not path.exists():
    return []
  rows = []
  for line in path.read_text().splitlines():
    try:
      rows.append(json.loads(line))
    except ValueError:
      continue
  return rows


def _tensorboardx():
  """tensorboardX's record writer, summaries and Event, imported without
  PyTorch.

  tensorboardX imports torch whenever it is installed (to accept its
  tensors), which puts PyTorch's native libraries and thread pools into the
  training process beside XLA's. Two test workers that had done so aborted
  inside an XLA step ("Fatal Python error: Aborted"). jaxgan hands it numpy
  only, so unless the process has imported torch already, torch is hidden
  while tensorboardX loads.
  """
  hide = "torch" not in sys.modules
  if hide:
    sys.modules["torch"] = None  # `import torch` raises ImportError.
  try:
    # pylint: disable=g-import-not-at-top
    from tensorboardX import record_writer, summary
    from tensorboardX.proto import event_pb2
  finally:
    if hide:
      del sys.modules["torch"]
  return record_writer, summary, event_pb2


class _Events:
  """A TensorBoard event file (`events.out.tfevents.<time>.<host>`, as
  tensorboardX names it), written in the caller's thread."""

  def __init__(self, logdir: str):
    records, self._summary, self._pb = _tensorboardx()
    self.logdir = logdir
    name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
    with writing(logdir):
      records.directory_check(logdir)
      self._file = records.RecordWriter(os.path.join(logdir, name))
    self._add(self._pb.Event(file_version="brain.Event:2"))
    self._flushed = -math.inf  # The first scalars are flushed at once.

  def _add(self, event) -> None:
    event.wall_time = time.time()
    with writing(self.logdir):
      self._file.write(event.SerializeToString())

  def scalar(self, step: int, name: str, value: float) -> None:
    summary = self._summary.scalar(name, value)
    self._add(self._pb.Event(summary=summary, step=int(step)))
    if time.monotonic() - self._flushed > FLUSH_SECONDS:
      self.flush()

  def image(self, step: int, name: str, image: np.ndarray) -> None:
    summary = self._summary.image(name, image, dataformats="HWC")
    self._add(self._pb.Event(summary=summary, step=int(step)))

  def flush(self) -> None:
    with writing(self.logdir):
      self._file.flush()
    self._flushed = time.monotonic()

  def close(self) -> None:
    """Flushes and closes the file; closed even when the flush fails."""
    with writing(self.logdir):
      self._file.close()


class Writer:
  """Appends scalars to metrics.jsonl and TensorBoard; writes image grids
  and metrics.png."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.enabled = enabled
    self.workdir = workdir
    # Every row carries the wall-clock and CPU seconds since this writer
    # (this process's training) started, for comparisons at equal time.
    self._t0, self._cpu0 = time.perf_counter(), time.process_time()
    self._tb = None
    self._jsonl = None
    self._rows = []
    if enabled:
      self._rows = read_rows(workdir)  # A resumed run's earlier rows.
      self._tb = _Events(os.path.join(workdir, "tensorboard"))
      with writing(os.path.join(workdir, METRICS)):
        self._jsonl = fs.LineFile(os.path.join(workdir, METRICS))

  def scalars(self, step: int, values: Mapping[str, Any]) -> None:
    if not self.enabled:
      return
    row = {"step": int(step)}
    row.update({k: float(v) for k, v in values.items()})
    row["elapsed_s"] = round(time.perf_counter() - self._t0, 2)
    row["cpu_s"] = round(time.process_time() - self._cpu0, 2)
    with writing(os.path.join(self.workdir, METRICS)):
      self._jsonl.write_line(json.dumps(row))
    self._rows.append(row)
    for k, v in values.items():
      self._tb.scalar(step, k, float(v))

  def curves(self, title: str = "", floor=None) -> None:
    """(Re)draws <workdir>/metrics.png from every row so far; `floor`: the
    real-data values of evaluated metrics (dashed lines)."""
    if not self.enabled or not self._rows:
      return
    from jaxgan.run import plots  # matplotlib: only the writer needs it.

    picture = plots.metrics_png(self._rows, title, floor)
    with writing(os.path.join(self.workdir, PICTURE)):
      fs.write_bytes(os.path.join(self.workdir, PICTURE), picture)

  def image_grid(
      self, step: int, name: str, images: np.ndarray, filename: str
  ) -> None:
    """images: uint8 (N, H, W, C); written as samples/<filename> and to TB."""
    self.image(step, name, image_lib.make_grid(images), filename)

  def image(
      self, step: int, name: str, image: np.ndarray, filename: str
  ) -> None:
    """image: uint8 (H, W, C); written as samples/<filename> and to TB."""
    if not self.enabled:
      return
    path = os.path.join(self.workdir, "samples", filename)
    with writing(path):
      image_lib.save_png(image, path)
    self._tb.image(step, name, image)

  def flush(self) -> None:
    if self.enabled:
      self._tb.flush()

  def close(self) -> None:
    if self.enabled:
      try:
        self._tb.close()
      finally:
        with writing(os.path.join(self.workdir, METRICS)):
          self._jsonl.close()
