"""Where a run's numbers and pictures go: metrics.jsonl, TensorBoard, PNGs,
and metrics.png (the curves of metrics.jsonl; jaxgan/run/plots.py).

Only the process that `runtime.is_writer()` names writes; other processes get
a writer that drops everything, so the loop needs no `if process_index`. The
workdir may be local or a bucket (gs://; jaxgan/core/fs.py; tensorboardX writes
its event files to gs:// with google-cloud-storage).
"""

import json
import os
import sys
import time
from typing import Any, Mapping

import numpy as np

from jaxgan.core import fs, images as image_lib

METRICS, PICTURE = "metrics.jsonl", "metrics.png"


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


def _tensorboardx_writer():
  """tensorboardX's SummaryWriter, imported without PyTorch.

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
    from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
  finally:
    if hide:
      del sys.modules["torch"]
  return SummaryWriter


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
      SummaryWriter = _tensorboardx_writer()
      self._rows = read_rows(workdir)  # A resumed run's earlier rows.
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
      self._jsonl = fs.LineFile(os.path.join(workdir, METRICS))

  def scalars(self, step: int, values: Mapping[str, Any]) -> None:
    if not self.enabled:
      return
    row = {"step": int(step)}
    row.update({k: float(v) for k, v in values.items()})
    row["elapsed_s"] = round(time.perf_counter() - self._t0, 2)
    row["cpu_s"] = round(time.process_time() - self._cpu0, 2)
    self._jsonl.write_line(json.dumps(row))
    self._rows.append(row)
    for k, v in values.items():
      self._tb.add_scalar(k, float(v), int(step))

  def curves(self, title: str = "", floor=None) -> None:
    """(Re)draws <workdir>/metrics.png from every row so far; `floor`: the
    real-data values of evaluated metrics (dashed lines)."""
    if not self.enabled or not self._rows:
      return
    from jaxgan.run import plots  # matplotlib: only the writer needs it.

    fs.write_bytes(
        os.path.join(self.workdir, PICTURE),
        plots.metrics_png(self._rows, title, floor),
    )

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
    image_lib.save_png(image, os.path.join(self.workdir, "samples", filename))
    self._tb.add_image(name, image, int(step), dataformats="HWC")

  def flush(self) -> None:
    if self.enabled:
      self._tb.flush()

  def close(self) -> None:
    if self.enabled:
      self._tb.close()
      self._jsonl.close()
