"""`python -m jaxgan.<command> ...` for tests, started without re-importing.

    python tests/cli_server.py

Imports what the commands import (jax, flax, orbax, jaxgan: ~1.3 s of a
command's ~2 s when it stops at a bad input), then for each request (one
JSON line on stdin: {"module", "args", "env", "cwd", "stdout", "stderr",
"timeout"}) forks a child that runs the module as `python -m` does
(`runpy`, run_name '__main__', sys.argv = [module, *args]) with that
environment, working directory and output files, and answers one JSON line
{"returncode": ...}. Nothing here starts a JAX backend or a thread, so each
child starts its own backend from its own environment (XLA_FLAGS included)
as a new process would; a command module is never imported here, so its
flags are defined once, in the child.
"""

import json
import os
import runpy
import signal
import sys
import time
import traceback

# What jaxgan.main imports, without jaxgan.main itself.
import jaxgan.cli  # pylint: disable=unused-import
import jaxgan.run.train  # pylint: disable=unused-import
from ml_collections import config_flags  # pylint: disable=unused-import


def _child(request) -> None:
  """Runs the request in this (forked) process and exits with its status."""
  devnull = os.open(os.devnull, os.O_RDONLY)  # Not the requests' pipe.
  os.dup2(devnull, 0)
  os.close(devnull)
  os.chdir(request["cwd"])
  os.environ.clear()
  os.environ.update(request["env"])
  for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, fd)
    os.close(out)
  sys.argv = [request["module"], *request["args"]]
  sys.path[0] = request["cwd"]  # As `python -m`: not this script's folder.
  try:
    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    status = 0
  except SystemExit as e:  # What the interpreter does with it.
    status = e.code
    if status is None:
      status = 0
    elif not isinstance(status, int):
      print(status, file=sys.stderr)
      status = 1
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    status = 1
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


def _wait(pid: int, timeout: float) -> int:
  deadline = time.monotonic() + timeout
  while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
      return os.waitstatus_to_exitcode(status)
    if time.monotonic() > deadline:
      os.kill(pid, signal.SIGKILL)
      os.waitpid(pid, 0)
      return -signal.SIGKILL
    time.sleep(0.01)


def main() -> None:
  for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
      _child(request)
    code = _wait(pid, request["timeout"])
    print(json.dumps({"returncode": code}), flush=True)


if __name__ == "__main__":
  main()
