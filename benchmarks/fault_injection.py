"""Kills training with SIGKILL at random moments, resumes, and compares.

  python benchmarks/fault_injection.py --kills=20

1. Trains a reference run of `--config` (default configs/tiny.py, checkpoints
   every 5 steps) without interruption.
2. Trains the same config in a second workdir, sending SIGKILL at a random
   moment (during start-up, compilation, training or an asynchronous save)
   `--kills` times and starting the same command again after each kill; the
   last start runs to the end.
3. Compares the final checkpoints leaf by leaf (bit-identical or not), and
   every row of the killed run's metrics.jsonl with the reference row of the
   same step (rows repeat after a kill: the steps since the last checkpoint
   are trained again and must log the same values).

Prints one line per kill and a JSON summary; exits 1 when anything differs.
"""

import argparse
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TIMING_KEYS = ("img_per_sec", "steps_per_sec", "elapsed_s", "cpu_s")


def _command(config: str, workdir: pathlib.Path, overrides: list[str]):
  return [
      sys.executable,
      "-m",
      "jaxgan.main",
      f"--config={config}",
      f"--workdir={workdir}",
      *overrides,
  ]


def _start(cmd, log):
  return subprocess.Popen(
      cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True
  )


def _rows(workdir: pathlib.Path) -> list[dict]:
  path = workdir / "metrics.jsonl"
  if not path.exists():
    return []
  return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def _phase(log_path: pathlib.Path) -> str:
  """Where the killed process was, from what it had printed."""
  text = log_path.read_text()
  if "step " in text and "| d_loss" in text:
    return "training"
  if "jaxgan:" in text:
    return "compiling"
  return "start-up"


def _compare_states(ref_dir: pathlib.Path, run_dir: pathlib.Path):
  """(number of leaves, list of differing leaf paths) of the final states."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan.experiment import workdir as workdir_lib  # pylint: disable=g-import-not-at-top

  ref = workdir_lib.load_run(str(ref_dir)).state
  run = workdir_lib.load_run(str(run_dir)).state
  ref_leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(ref))[0]
  run_leaves = jax.tree.leaves(jax.device_get(run))
  differ = [
      jax.tree_util.keystr(path)
      for (path, a), b in zip(ref_leaves, run_leaves)
      if a.dtype != b.dtype or not np.array_equal(a, b)
  ]
  return len(ref_leaves), differ


def _compare_rows(ref_rows: list[dict], run_rows: list[dict]):
  """(rows compared, list of 'step: key' that differ or are missing)."""
  reference = {r["step"]: r for r in ref_rows}
  differ = []
  for row in run_rows:
    ref = reference.get(row["step"])
    if ref is None:
      differ.append(f"{row['step']}: no reference row")
      continue
    for key in set(ref) | set(row):
      if key not in TIMING_KEYS and ref.get(key) != row.get(key):
        differ.append(f"{row['step']}: {key}")
  missing = sorted(set(reference) - {r["step"] for r in run_rows})
  differ += [f"{s}: missing" for s in missing]
  return len(run_rows), differ


def run(
    kills: int,
    *,
    config: str,
    overrides: list[str],
    seed: int,
    workdir: pathlib.Path,
    verbose: bool = True,
) -> dict:
  """Runs the experiment; returns the summary dict."""
  say = print if verbose else (lambda *a, **k: None)
  rng = random.Random(seed)
  ref_dir, run_dir = workdir / "reference", workdir / "killed"
  for d in (ref_dir, run_dir):
    shutil.rmtree(d, ignore_errors=True)
  workdir.mkdir(parents=True, exist_ok=True)

  # 1. The reference, timed: start-up (until the first log line) and total.
  log_path = workdir / "reference.log"
  with open(log_path, "w") as log:
    t0 = time.perf_counter()
    proc = _start(_command(config, ref_dir, overrides), log)
    first_log = None
    while proc.poll() is None:
      if first_log is None and "| d_loss" in log_path.read_text():
        first_log = time.perf_counter() - t0
      time.sleep(0.05)
    total = time.perf_counter() - t0
  if proc.returncode != 0:
    raise RuntimeError(f"reference run failed:\n{log_path.read_text()[-3000:]}")
  first_log = first_log or total
  say(f"reference: {total:.1f} s ({first_log:.1f} s to the first log line)")

  # 2. The killed run. Every fourth kill lands at a uniform moment of
  # start-up (imports, restore, compilation); the others at a uniform moment
  # of the first 2/kills of the training time after the first log line,
  # where checkpoints are being written asynchronously every few steps. The
  # run makes progress and survives `kills` kills before it finishes.
  train_time = max(total - first_log, 0.5)
  window = 2.0 * train_time / max(kills, 1)
  events = []
  for i in range(kills + 1):
    log_path = workdir / f"killed_{i:02d}.log"
    ckpts = run_dir / "checkpoints"
    tmp_before = {p.name for p in ckpts.glob("*.orbax-checkpoint-tmp*")}
    with open(log_path, "w") as log:
      t0 = time.perf_counter()
      proc = _start(_command(config, run_dir, overrides), log)
      if i < kills:
        if i % 4 == 1:
          delay = rng.uniform(0.2, first_log)
        else:  # After training is under way.
          while proc.poll() is None and "| d_loss" not in log_path.read_text():
            time.sleep(0.02)
          delay = time.perf_counter() - t0 + rng.uniform(0.0, window)
        try:
          proc.wait(timeout=max(delay - (time.perf_counter() - t0), 0.0))
        except subprocess.TimeoutExpired:
          proc.send_signal(signal.SIGKILL)
          proc.wait()
          steps = sorted(
              int(p.name) for p in ckpts.glob("*") if p.name.isdigit()
          )
          tmp = sorted(
              {p.name for p in ckpts.glob("*.orbax-checkpoint-tmp*")}
              - tmp_before
          )
          event = {
              "kill": i + 1,
              "after_s": round(delay, 2),
              "phase": _phase(log_path),
              "latest_checkpoint": steps[-1] if steps else None,
              "interrupted_saves": tmp,
          }
          events.append(event)
          say(
              f"kill {i + 1}/{kills} after {delay:.2f} s ({event['phase']}); "
              f"latest checkpoint {event['latest_checkpoint']}"
              f"{'; left an interrupted save ' + ', '.join(tmp) if tmp else ''}"
          )
          continue
      else:
        proc.wait()
    text = log_path.read_text()
    if proc.returncode != 0:
      raise RuntimeError(
          f"start {i + 1} exited {proc.returncode}:\n" f"{text[-3000:]}"
      )
    if i < kills:
      raise RuntimeError(
          f"the run finished after {i} of {kills} kills; give "
          "it more train.num_steps"
      )
    say(f"final start: {text.strip().splitlines()[-1]}")

  # 3. Compare.
  num_leaves, leaf_diff = _compare_states(ref_dir, run_dir)
  num_rows, row_diff = _compare_rows(_rows(ref_dir), _rows(run_dir))
  summary = {
      "kills": len(events),
      "kills_by_phase": {
          p: sum(e["phase"] == p for e in events)
          for p in ("start-up", "compiling", "training")
      },
      "kills_leaving_an_interrupted_save": sum(
          bool(e["interrupted_saves"]) for e in events
      ),
      "state_leaves": num_leaves,
      "state_bit_identical": not leaf_diff,
      "differing_leaves": leaf_diff[:10],
      "metric_rows_compared": num_rows,
      "metric_rows_identical": not row_diff,
      "differing_rows": row_diff[:10],
      "reference_seconds": round(total, 1),
      "events": events,
  }
  say(json.dumps({k: v for k, v in summary.items() if k != "events"}))
  return summary


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--kills", type=int, default=20)
  parser.add_argument("--seed", type=int, default=0, help="kill times")
  parser.add_argument("--config", default="configs/tiny.py")
  parser.add_argument("--data", default="idx:/usr/share/datasets/fashion-mnist")
  parser.add_argument("--steps", type=int, default=600)
  parser.add_argument(
      "--workdir", default=None, help="default: a new temporary directory"
  )
  parser.add_argument(
      "--out",
      default=None,
      help="also write the summary and every kill as JSON",
  )
  # Any other --config.a.b=v flags are passed to both runs.
  args, extra = parser.parse_known_args()
  overrides = [
      f"--config.data.source={args.data}",
      f"--config.train.num_steps={args.steps}",
      "--config.checkpoint.every_steps=5",
      "--config.train.log_every_steps=5",
      "--config.train.sample_every_steps=100",
      *extra,
  ]
  workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="jaxgan_fi_"))
  summary = run(
      args.kills,
      config=args.config,
      overrides=overrides,
      seed=args.seed,
      workdir=workdir,
  )
  if args.out:
    pathlib.Path(args.out).write_text(
        json.dumps({"command": " ".join(sys.argv), **summary}, indent=1) + "\n"
    )
  ok = (
      summary["kills"] == args.kills
      and summary["state_bit_identical"]
      and summary["metric_rows_identical"]
  )
  print(
      f"survived {summary['kills']} kills; final state bit-identical: "
      f"{summary['state_bit_identical']}; logged rows identical: "
      f"{summary['metric_rows_identical']} ({workdir})"
  )
  sys.exit(0 if ok else 1)


if __name__ == "__main__":
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  main()
