"""One part of a benchmark in a fresh Python process.

XLA reads its flags once per process, and jaxgan.main sets the ones of the
model it trains (jaxgan/core/runtime.py `xla_cpu_flags`). A benchmark that
times several models runs each in a process of its own that sets them the
same way, as the user's run would.
"""

import json
import subprocess
import sys


def run(script: str, argv: list[str]) -> dict:
  """Runs `python script *argv`; returns the JSON object on the last line of
  its stdout (its stderr passes through)."""
  out = subprocess.run(
      [sys.executable, script, *argv],
      stdout=subprocess.PIPE,
      text=True,
      check=True,
  ).stdout
  return json.loads(out.strip().splitlines()[-1])
