"""The one exception type for problems the user can fix.

`jaxgan.main` (and the other CLIs) print a `UserError` as a single line and
exit with status 2; any other exception is a bug and keeps its traceback.
"""


class UserError(ValueError):
  """Bad config, bad data or bad workdir; the message names the value and fix."""


class DataError(UserError):
  """A user-facing problem with the data (missing, unprepared, malformed)."""
