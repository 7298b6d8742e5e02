"""Workdir files on a local disk or in a bucket (gs://, s3://) alike.

Paths are `etils.epath` paths (the library Orbax uses for its directories):
local paths go through `os`, `gs://` through fsspec (`gcsfs`, installed with
the `gcs` extra; TensorFlow's gfile when TensorFlow is installed). Object
stores have no append and no rename-over: `LineFile` rewrites the object
there, `write_bytes` writes objects whole (atomic by nature) and local files
through a temporary file and a rename.
"""

import os

from etils import epath

SCHEMES = ("gs://", "s3://")


def path(p: str | os.PathLike) -> epath.Path:
  return epath.Path(p)


def is_remote(p: str | os.PathLike) -> bool:
  return os.fspath(p).startswith(SCHEMES)


def absolute(p: str | os.PathLike) -> str:
  """`os.path.abspath` for local paths; bucket URLs as given."""
  return os.fspath(p) if is_remote(p) else os.path.abspath(p)


def write_bytes(p: str | os.PathLike, data: bytes) -> None:
  """Writes `data` to `p` whole: readers never see a partial file."""
  target = path(p)
  target.parent.mkdir(parents=True, exist_ok=True)
  if is_remote(p):
    target.write_bytes(data)
    return
  tmp = path(os.fspath(p) + ".tmp")
  try:
    tmp.write_bytes(data)
  except OSError:  # A full disk: no half-written file stays.
    tmp.unlink(missing_ok=True)
    raise
  os.replace(tmp, target)


class LineFile:
  """A text file that grows by lines (metrics.jsonl).

  Local files are opened once in append mode. In a bucket the lines already
  there are read once and the object is rewritten with every new line (a
  run's metrics are kilobytes; there is no append on object stores).
  """

  def __init__(self, p: str | os.PathLike):
    self._path = path(p)
    self._remote = is_remote(p)
    if self._remote:
      self._text = self._path.read_text() if self._path.exists() else ""
      self._file = None
    else:
      self._file = open(p, "a")  # pylint: disable=consider-using-with

  def write_line(self, line: str) -> None:
    if self._remote:
      self._text += line + "\n"
      self._path.write_text(self._text)
    else:
      self._file.write(line + "\n")
      self._file.flush()

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
