"""The exception types for problems the user can fix.

`jaxgan.main` (and the other CLIs) print a `UserError` as a single line and
exit with status 2, a `WriteError` (an output that could not be written) as
a single line with status 4; any other exception is a bug and keeps its
traceback.
"""

import contextlib
import errno
import os
from typing import Iterator


class UserError(ValueError):
  """Bad config, bad data or bad workdir; the message names the value and fix."""


class DataError(UserError):
  """A user-facing problem with the data (missing, unprepared, malformed)."""


# errno -> what the user can do about it.
_FIXES = {
    errno.EACCES: "give a path this user can read and write",
    errno.EPERM: "give a path this user can read and write",
    errno.EROFS: "the file system is read-only: give a writable path",
    errno.ENOSPC: "the disk is full: free space or give another path",
    errno.ENAMETOOLONG: "give a shorter path",
    errno.ELOOP: "a symbolic link points to itself: fix or remove it",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "a directory stands where a file is expected",
    errno.EEXIST: "something that is not a directory stands there: move it "
    "away",
    errno.ENOENT: "give a path whose parent exists and can hold directories",
}


@contextlib.contextmanager
def os_errors(what: str) -> Iterator[None]:
  """Turns an operating-system error into a one-line `UserError`.

  For start-up steps on user-given paths (the workdir, the data, the
  checkpoints): `what` names the path as the user gave it, e.g.
  "--workdir=runs/x".
  """
  try:
    yield
  except OSError as e:
    where = f" ({e.filename})" if getattr(e, "filename", None) else ""
    reason = e.strerror or type(e).__name__
    fix = _FIXES.get(e.errno, "check the path and its permissions")
    raise UserError(f"{what}: {reason}{where}; {fix}") from None


# errno -> what frees the write again, for `WriteError`.
_WRITE_FIXES = {
    errno.ENOSPC: "free space",
    errno.EDQUOT: "free space or raise the disk quota",
    errno.EFBIG: "free space or raise the file size limit",
    errno.EROFS: "make the file system writable",
    errno.EACCES: "give this user write access to it",
    errno.EPERM: "give this user write access to it",
}


class WriteError(Exception):
  """A run's output (a checkpoint, metrics, a picture, ...) could not be
  written: a full disk, a quota, a read-only file system, permissions.

  `str()` is one line naming the path and the error; `resuming(step)` adds
  the last complete checkpoint and how to go on. The commands exit with
  status 4 (jaxgan/cli.py).
  """

  def __init__(self, path: str, code: int | None, resume: str = ""):
    super().__init__(path, code, resume)
    self.path, self.code, self.resume = path, code, resume

  @property
  def reason(self) -> str:
    if self.code is None:
      return "an input/output error"
    return os.strerror(self.code)[:1].lower() + os.strerror(self.code)[1:]

  def resuming(self, step: int | None) -> "WriteError":
    """This error with the checkpoint a rerun resumes from (None: none yet)."""
    fix = _WRITE_FIXES.get(self.code, "fix the cause")
    if step is None:
      resume = (
          f"no checkpoint is complete yet: {fix} and run the same command "
          "again; it starts from step 0"
      )
    else:
      resume = (
          f"the last complete checkpoint is step {step}: {fix} and run the "
          f"same command again; it resumes from step {step}"
      )
    return WriteError(self.path, self.code, resume)

  def __str__(self) -> str:
    line = f"could not write {self.path}: {self.reason}"
    return f"{line}; {self.resume}" if self.resume else line


@contextlib.contextmanager
def writing(path: str) -> Iterator[None]:
  """Turns an operating-system error inside into a `WriteError` naming the
  file (the error's own, else `path`): for the writes of a run's outputs."""
  try:
    yield
  except OSError as e:
    raise WriteError(e.filename or str(path), e.errno) from e
