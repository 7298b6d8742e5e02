"""Time from SIGTERM to the saved checkpoint of a running `jaxgan.main`.

  python benchmarks/sigterm_latency.py [--config=configs/dcgan_fashion_mnist.py]
      [--overrides train.batch_size=256 ...] [--delay=60]

Runs the real command twice in a fresh workdir each:
1. a calibration run of 14 steps logging every step, whose step lines' arrival
   times give the iteration time (the median of the last 8 gaps);
2. the measured run with the config's own log interval: SIGTERM `--delay`
   seconds after the start, then the time until the loop stops ("stop
   requested: saving a checkpoint of step N", printed when it sees the
   request; runs before that line existed have no such figure), until the
   line "stopped at step N; checkpoint saved" (printed once the checkpoint is
   written) and until the process exits.
It prints both in seconds and in iterations, the CPU, and the stopped step.
"""

import argparse
import os
import pathlib
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _cpu() -> str:
  try:
    text = pathlib.Path("/proc/cpuinfo").read_text()
  except OSError:
    return platform.processor()
  name = re.search(r"model name\s*:\s*(.*)", text)
  flags = re.search(r"flags\s*:\s*(.*)", text)
  isa = sorted(
      f
      for f in (flags.group(1).split() if flags else [])
      if f in ("avx2", "avx512f", "amx_tile")
  )
  return f"{name.group(1) if name else '?'} ({' '.join(isa)})"


def _start(args, workdir, extra):
  cmd = [
      sys.executable,
      "-m",
      "jaxgan.main",
      f"--config={args.config}",
      f"--workdir={workdir}",
      *(f"--config.{o}" for o in args.overrides),
      *extra,
  ]
  return subprocess.Popen(
      cmd,
      cwd=ROOT,
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT,
      text=True,
      env=dict(os.environ, PYTHONUNBUFFERED="1"),
  )


def _lines(proc):
  """(arrival time, line) for each line the process prints, until it ends."""
  out = []

  def read():
    for line in proc.stdout:
      out.append((time.monotonic(), line.rstrip()))

  thread = threading.Thread(target=read, daemon=True)
  thread.start()
  return out, thread


def iteration_seconds(args) -> float:
  with tempfile.TemporaryDirectory() as d:
    proc = _start(
        args,
        d,
        [
            "--config.train.num_steps=14",
            "--config.train.log_every_steps=1",
            "--config.eval.every_steps=0",
        ],
    )
    lines, thread = _lines(proc)
    proc.wait()
    thread.join()
  times = [t for t, l in lines if re.match(r"step \d+/", l)]
  if proc.returncode or len(times) < 10:
    sys.exit("calibration run failed:\n" + "\n".join(l for _, l in lines))
  gaps = [b - a for a, b in zip(times[-9:], times[-8:])]
  return statistics.median(gaps)


def signal_latency(args) -> dict:
  with tempfile.TemporaryDirectory() as d:
    proc = _start(args, d, [])
    lines, thread = _lines(proc)
    time.sleep(args.delay)
    if proc.poll() is not None:
      sys.exit(
          "the run ended before the signal:\n" + "\n".join(l for _, l in lines)
      )
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    ended = time.monotonic()
    thread.join()
  seen = [t for t, l in lines if l.startswith("stop requested")]
  saved = [t for t, l in lines if "checkpoint saved" in l]
  stopped = [l for _, l in lines if l.startswith("stopped at step")]
  if proc.returncode or not saved:
    sys.exit(
        f"exit {proc.returncode}, no saved checkpoint:\n"
        + "\n".join(l for _, l in lines[-20:])
    )
  return {
      "to_stop": seen[0] - sent if seen else None,
      "to_saved": saved[0] - sent,
      "to_exit": ended - sent,
      "stopped": stopped[0] if stopped else "?",
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/dcgan_fashion_mnist.py")
  parser.add_argument(
      "--overrides", nargs="*", default=["train.batch_size=256"]
  )
  parser.add_argument("--delay", type=float, default=60.0)
  args = parser.parse_args()
  it = iteration_seconds(args)
  got = signal_latency(args)
  print(f"cpu: {_cpu()}, {os.cpu_count()} cores")
  print(f"config: {args.config} {' '.join(args.overrides)}")
  print(f"iteration: {it:.3f} s")
  if got["to_stop"] is not None:
    print(
        f"SIGTERM -> loop stopped: {got['to_stop']:.2f} s "
        f"({got['to_stop'] / it:.2f} iterations)"
    )
  print(
      f"SIGTERM -> checkpoint saved: {got['to_saved']:.2f} s "
      f"({got['to_saved'] / it:.2f} iterations); -> exit "
      f"{got['to_exit']:.2f} s; {got['stopped']}"
  )


if __name__ == "__main__":
  main()
