"""One run per workdir: `<workdir>/lock.json`, held while a run trains.

The lock file names its holder (host, process id, the process's start time,
when it started, and a heartbeat time it rewrites every `HEARTBEAT_SECONDS`).
It is created atomically (O_CREAT | O_EXCL), so of two runs started together
one gets it and the other refuses, naming the holder. A lock is stale, and
taken over with a note, when its holder is gone: on the same host, its process
no longer exists (or the process id now belongs to a process started at
another time); on another host (a shared file system), its heartbeat is
older than `STALE_SECONDS`. A takeover first renames the stale file aside
(atomic: of two runs taking over, one renames it and the other then finds
the winner's lock), then creates its own.

In a multi-process run process 0 holds the lock (runtime.is_writer). The
evaluate and sample commands only read a workdir and take no lock.

gs:// workdirs are not locked: Cloud Storage has no exclusive create through
jaxgan's file layer (a lock object written with a generation precondition
would be one), so two runs on one gs:// workdir are not prevented; launch/
starts one run per workdir.
"""

import json
import os
import socket
import threading
import time
from typing import Any

from jaxgan.core import fs
from jaxgan.core.errors import UserError, WriteError, writing

LOCK = "lock.json"
HEARTBEAT_SECONDS = 30.0
# A holder on another host whose heartbeat is older than this is gone: 10
# missed heartbeats.
STALE_SECONDS = 300.0


def _start_time(pid: int) -> str | None:
  """The process's start time in clock ticks since boot (/proc), or None
  where /proc does not say (not Linux, or no such process)."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      # The command name (field 2) may hold spaces: count after its ')'.
      return f.read().rsplit(")", 1)[1].split()[19]
  except (OSError, IndexError):
    return None


def _alive(pid: int, start_time: str | None) -> bool:
  """Whether process `pid` on this host exists and is the one that started
  at `start_time` (when both are known)."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # Exists, another user's.
    pass
  now = _start_time(pid)
  return start_time is None or now is None or now == start_time


def read(workdir: str) -> dict[str, Any] | None:
  """The lock's holder, or None when there is no (readable) lock."""
  try:
    with open(os.path.join(workdir, LOCK)) as f:
      holder = json.load(f)
  except (OSError, ValueError):
    return None
  return holder if isinstance(holder, dict) else None


def is_stale(holder: dict[str, Any], now: float | None = None) -> bool:
  """Whether `holder`'s run is gone (see the module docstring)."""
  now = time.time() if now is None else now
  if holder.get("host") == socket.gethostname():
    try:
      pid = int(holder["pid"])
    except (KeyError, TypeError, ValueError):
      return True
    return not _alive(pid, holder.get("process_start"))
  try:
    return now - float(holder["heartbeat"]) > STALE_SECONDS
  except (KeyError, TypeError, ValueError):
    return True


def describe(holder: dict[str, Any], now: float | None = None) -> str:
  """'host H, process P, started <time>, last heartbeat N s ago'."""
  now = time.time() if now is None else now
  started = time.strftime(
      "%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0)))
  )
  seen = now - float(holder.get("heartbeat", 0))
  return (
      f"host {holder.get('host')}, process {holder.get('pid')}, started "
      f"{started}, last heartbeat {seen:.0f} s ago"
  )


def _refusal(workdir: str, holder: dict[str, Any]) -> UserError:
  return UserError(
      f"--workdir={workdir} is in use by another run ({describe(holder)}; "
      f"{os.path.join(workdir, LOCK)}): wait for it to end or stop it "
      "(it saves a checkpoint on SIGTERM), or use another --workdir"
  )


def check_free(workdir: str) -> None:
  """Raises UserError when a live run holds `workdir` (writes nothing)."""
  if fs.is_remote(workdir):
    return
  holder = read(workdir)
  if holder is not None and not is_stale(holder):
    raise _refusal(workdir, holder)


class WorkdirLock:
  """The lock of one run on `workdir`: `acquire()` takes it (or raises
  UserError naming the holder), `release()` removes it; in between a daemon
  thread rewrites its heartbeat."""

  def __init__(self, workdir: str):
    self.workdir = workdir
    self.path = os.path.join(workdir, LOCK)
    self._me = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "process_start": _start_time(os.getpid()),
        "started": time.time(),
    }
    self._stop = threading.Event()
    self._thread = None

  def _record(self) -> bytes:
    return json.dumps({**self._me, "heartbeat": time.time()}).encode()

  def acquire(self) -> str | None:
    """Takes the lock; returns a note when it took over a stale one."""
    note = None
    for _ in range(3):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        holder = read(self.workdir)
        if holder is not None and not is_stale(holder):
          raise _refusal(self.workdir, holder) from None
        aside = f"{self.path}.stale.{os.getpid()}"
        try:
          os.rename(self.path, aside)
          os.remove(aside)
        except FileNotFoundError:  # Another run took it over first.
          continue
        note = (
            f"took over the lock of a run that is gone ("
            f"{describe(holder) if holder else 'unreadable lock file'})"
        )
        continue
      try:
        with writing(self.path), os.fdopen(fd, "wb") as f:
          f.write(self._record())
      except WriteError:  # A full disk: no half-written lock stays.
        os.remove(self.path)
        raise
      self._thread = threading.Thread(
          target=self._beat, name="jaxgan-workdir-lock", daemon=True
      )
      self._thread.start()
      return note
    holder = read(self.workdir) or {}
    raise _refusal(self.workdir, holder)

  def _beat(self) -> None:
    while not self._stop.wait(HEARTBEAT_SECONDS):
      if not self._held():
        return
      tmp = f"{self.path}.{os.getpid()}.tmp"
      try:
        with open(tmp, "wb") as f:
          f.write(self._record())
        os.replace(tmp, self.path)
      except OSError:  # A full disk: the lock stays, its heartbeat ages.
        pass

  def _held(self) -> bool:
    holder = read(self.workdir)
    return holder is not None and all(
        holder.get(k) == v for k, v in self._me.items()
    )

  def release(self) -> None:
    """Stops the heartbeat and removes the lock if it is still this run's."""
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
    if self._held():
      try:
        os.remove(self.path)
      except OSError:
        pass
