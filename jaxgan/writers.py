"""Where a run's numbers and pictures go: metrics.jsonl, TensorBoard, PNGs.

Only the process that `runtime.is_writer()` names writes; other processes get
a writer that drops everything, so the loop needs no `if process_index`. The
workdir may be local or a bucket (gs://; jaxgan/fs.py; tensorboardX writes
its event files to gs:// with google-cloud-storage).
"""

import json
import os
from typing import Any, Mapping

import numpy as np

from jaxgan import fs, images as image_lib


class Writer:
  """Appends scalars to metrics.jsonl and TensorBoard; writes image grids."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.enabled = enabled
    self.workdir = workdir
    self._tb = None
    self._jsonl = None
    if enabled:
      from tensorboardX import SummaryWriter  # Heavy; only the writer needs it.
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
      self._jsonl = fs.LineFile(os.path.join(workdir, "metrics.jsonl"))

  def scalars(self, step: int, values: Mapping[str, Any]) -> None:
    if not self.enabled:
      return
    row = {"step": int(step)}
    row.update({k: float(v) for k, v in values.items()})
    self._jsonl.write_line(json.dumps(row))
    for k, v in values.items():
      self._tb.add_scalar(k, float(v), int(step))

  def image_grid(self, step: int, name: str, images: np.ndarray,
                 filename: str) -> None:
    """images: uint8 (N, H, W, C); written as samples/<filename> and to TB."""
    self.image(step, name, image_lib.make_grid(images), filename)

  def image(self, step: int, name: str, image: np.ndarray,
            filename: str) -> None:
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
