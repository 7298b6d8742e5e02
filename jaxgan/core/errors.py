"""The one exception type for problems the user can fix.

`jaxgan.main` (and the other CLIs) print a `UserError` as a single line and
exit with status 2; any other exception is a bug and keeps its traceback.
"""

import contextlib
import errno
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
