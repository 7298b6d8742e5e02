"""launch/: dry runs of every path, bad settings, and what can run here.

Run for real on this machine: launch/multi_gpu.sh with one process per
"GPU" (2 processes on fake CPU devices) and launch/slurm.sh through stand-ins
for sbatch and srun that start the tasks locally with SLURM's variables, so
jax.distributed discovers the group from them as on a cluster. The TPU
script's restart loop runs against a stand-in for gcloud that reports a
preempted slice and a first training session that ends early.
"""

import os
import pathlib
import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT, free_port, xla_flags

LAUNCH = pathlib.Path(ROOT) / "launch"
SCRIPTS = ("lib.sh", "multi_gpu.sh", "slurm.sh", "tpu_pod.sh")
TPU = {
    "TPU_NAME": "gan",
    "ZONE": "us-west4-a",
    "ACCELERATOR_TYPE": "v5litepod-16",
    "CONFIG": "configs/dcgan_celeba.py",
    "WORKDIR": "gs://bucket/runs/celeba",
}


def _run(script, *args, env=None, timeout=60):
  full = {
      k: v
      for k, v in os.environ.items()
      if k not in ("MODE", "DRY_RUN", "EXTRA_ARGS")
  }
  full.update(env or {})
  return subprocess.run(
      ["bash", str(LAUNCH / script), *args],
      cwd=ROOT,
      env=full,
      capture_output=True,
      text=True,
      timeout=timeout,
  )


def _commands(result):
  return [l[2:] for l in result.stdout.splitlines() if l.startswith("+ ")]


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_parse(script):
  assert subprocess.run(["bash", "-n", str(LAUNCH / script)]).returncode == 0


def test_multi_gpu_dry_run():
  env = {"CONFIG": "configs/tiny.py", "WORKDIR": "runs/x", "PYTHON": "py"}
  single = _run("multi_gpu.sh", "--dry-run", env=env)
  assert single.returncode == 0
  assert _commands(single) == [
      "py -m jaxgan.main --config=configs/tiny.py --workdir=runs/x"
  ]
  per_gpu = _run(
      "multi_gpu.sh",
      "--dry-run",
      env={
          **env,
          "MODE": "per-gpu",
          "NUM_GPUS": "3",
          "PORT": "1234",
          "EXTRA_ARGS": "--config.seed=1 --config.train.num_steps=9",
      },
  )
  assert _commands(per_gpu) == [
      f"env CUDA_VISIBLE_DEVICES={i} py -m jaxgan.main "
      "--config=configs/tiny.py --workdir=runs/x --config.seed=1 "
      "--config.train.num_steps=9 --coordinator_address=127.0.0.1:1234 "
      f"--num_processes=3 --process_id={i}"
      for i in range(3)
  ]


def test_slurm_dry_run():
  env = {
      "NODES": "2",
      "GPUS_PER_NODE": "4",
      "CONFIG": "configs/tiny.py",
      "WORKDIR": "/shared/x",
      "PYTHON": "py",
      "PARTITION": "gpu",
  }
  per_gpu = _run("slurm.sh", "--dry-run", env=env)
  assert per_gpu.returncode == 0
  out = per_gpu.stdout
  for line in (
      "#SBATCH --nodes=2",
      "#SBATCH --ntasks-per-node=4",
      "#SBATCH --gres=gpu:4",
      "#SBATCH --requeue",
      "#SBATCH --signal=TERM@120",
      "#SBATCH --partition=gpu",
      "exec srun py -m jaxgan.main --config=configs/tiny.py "
      "--workdir=/shared/x --distributed",
  ):
    assert line in out.splitlines(), line
  assert "JAX_LOCAL_DEVICE_IDS" not in out
  [submit] = _commands(per_gpu)
  assert submit.startswith("sbatch ")
  per_node = _run("slurm.sh", "--dry-run", env={**env, "MODE": "per-node"})
  assert "#SBATCH --ntasks-per-node=1" in per_node.stdout.splitlines()
  assert "export JAX_LOCAL_DEVICE_IDS=0,1,2,3" in per_node.stdout.splitlines()


@pytest.mark.parametrize(
    "capacity, expected",
    [
        (
            "on-demand",
            "gcloud compute tpus tpu-vm create gan --zone=us-west4-a "
            "--accelerator-type=v5litepod-16 --version=v2-alpha-tpuv5-lite",
        ),
        (
            "spot",
            "gcloud compute tpus tpu-vm create gan --zone=us-west4-a "
            "--accelerator-type=v5litepod-16 --version=v2-alpha-tpuv5-lite --spot",
        ),
        (
            "queued",
            "gcloud compute tpus queued-resources create gan-qr "
            "--zone=us-west4-a --node-id=gan --accelerator-type=v5litepod-16 "
            "--runtime-version=v2-alpha-tpuv5-lite",
        ),
        (
            "queued-spot",
            "gcloud compute tpus queued-resources create gan-qr "
            "--zone=us-west4-a --node-id=gan --accelerator-type=v5litepod-16 "
            "--runtime-version=v2-alpha-tpuv5-lite --spot",
        ),
    ],
)
def test_tpu_create_dry_run(capacity, expected):
  result = _run(
      "tpu_pod.sh",
      "create",
      "--dry-run",
      env={**TPU, "CAPACITY": capacity, "PROJECT": ""},
  )
  assert result.returncode == 0, result.stderr
  assert _commands(result) == [expected]


def test_tpu_train_and_setup_dry_run():
  train = _run(
      "tpu_pod.sh",
      "train",
      "--dry-run",
      env={**TPU, "PROJECT": "p1", "EXTRA_ARGS": "--config.seed=2"},
  )
  assert _commands(train) == [
      "gcloud compute tpus tpu-vm ssh gan --zone=us-west4-a --project=p1 "
      "--worker=all '--command=cd ~/jaxgan && python3 -m jaxgan.main "
      "--config=configs/dcgan_celeba.py --workdir=gs://bucket/runs/celeba "
      "--config.seed=2 --distributed'"
  ]
  setup = _run(
      "tpu_pod.sh", "setup", "--dry-run", env={**TPU, "TARBALL": "/tmp/j.tgz"}
  )
  archive, scp, ssh = _commands(setup)
  assert archive == "git archive --format=tar.gz -o /tmp/j.tgz HEAD"
  assert scp == (
      "gcloud compute tpus tpu-vm scp /tmp/j.tgz gan:jaxgan.tar.gz"
      " --zone=us-west4-a --worker=all"
  )
  assert "pip install -q -e" in ssh and "[tpu]" in ssh


@pytest.mark.parametrize(
    "script, env, args, message",
    [
        ("multi_gpu.sh", {}, [], "CONFIG is not set"),
        (
            "multi_gpu.sh",
            {"CONFIG": "c", "WORKDIR": "w", "MODE": "x"},
            [],
            "MODE='x' is unknown; use one of: single per-gpu",
        ),
        (
            "multi_gpu.sh",
            {
                "CONFIG": "c",
                "WORKDIR": "w",
                "MODE": "per-gpu",
                "NUM_GPUS": "two",
            },
            [],
            "NUM_GPUS='two' is not a positive integer",
        ),
        (
            "slurm.sh",
            {"CONFIG": "c", "WORKDIR": "w", "GPUS_PER_NODE": "8"},
            [],
            "NODES is not set",
        ),
        (
            "slurm.sh",
            {"CONFIG": "c", "WORKDIR": "w", "NODES": "0", "GPUS_PER_NODE": "8"},
            [],
            "NODES='0' is not a positive",
        ),
        ("tpu_pod.sh", TPU, [], "give an action"),
        ("tpu_pod.sh", TPU, ["start"], "ACTION='start' is unknown"),
        (
            "tpu_pod.sh",
            {**TPU, "ACCELERATOR_TYPE": "v9-8"},
            ["create"],
            "no default RUNTIME_VERSION for ACCELERATOR_TYPE='v9-8'",
        ),
        (
            "tpu_pod.sh",
            {**TPU, "CAPACITY": "cheap"},
            ["create"],
            "CAPACITY='cheap' is unknown",
        ),
        ("tpu_pod.sh", {**TPU, "WORKDIR": ""}, ["train"], "WORKDIR is not set"),
    ],
)
def test_bad_settings(script, env, args, message):
  clean = {
      k: ""
      for k in (
          "CONFIG",
          "WORKDIR",
          "NODES",
          "GPUS_PER_NODE",
          "NUM_GPUS",
          "TPU_NAME",
          "ZONE",
          "ACCELERATOR_TYPE",
          "CAPACITY",
          "RUNTIME_VERSION",
      )
  }
  result = _run(script, *args, "--dry-run", env={**clean, **env})
  assert result.returncode == 2
  assert (
      result.stderr.count("\n") == 1 and message in result.stderr
  ), result.stderr
  assert not _commands(result)


def _cpu_env(tmp_path, **extra):
  return {
      "JAX_PLATFORMS": "cpu",
      "PYTHON": sys.executable,
      "XLA_FLAGS": xla_flags(2),
      "CONFIG": "configs/tiny.py",
      "WORKDIR": str(tmp_path / "run"),
      "EXTRA_ARGS": "--config.train.num_steps=2 "
      "--config.train.log_every_steps=1 "
      "--config.checkpoint.every_steps=2",
      **extra,
  }


def test_multi_gpu_per_gpu_processes_train(tmp_path, idx_dir):
  env = _cpu_env(tmp_path, MODE="per-gpu", NUM_GPUS="2", PORT=str(free_port()))
  env["EXTRA_ARGS"] += f" --config.data.source=idx:{idx_dir}"
  result = _run("multi_gpu.sh", env=env, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "4 cpu device(s) over 2 process(es)" in result.stdout
  assert "done: 2 steps" in result.stdout
  assert (tmp_path / "run" / "checkpoints" / "2").is_dir()


FAKE_SBATCH = """\
#!/usr/bin/env bash
# Stand-in for sbatch: runs the batch script here as job $FAKE_JOB_ID, with
# the node and task counts of its #SBATCH lines.
export SLURM_JOB_ID=$FAKE_JOB_ID
export SLURM_JOB_NUM_NODES=$(sed -n 's/^#SBATCH --nodes=//p' "$1")
export SLURM_NTASKS_PER_NODE=$(sed -n 's/^#SBATCH --ntasks-per-node=//p' "$1")
exec bash "$1"
"""

FAKE_SRUN = """\
#!/usr/bin/env bash
# Stand-in for srun: starts every task of the job here with SLURM's
# variables (each "node" is localhost) and waits for them.
ntasks=$((SLURM_JOB_NUM_NODES * SLURM_NTASKS_PER_NODE))
pids=()
for ((i = 0; i < ntasks; i++)); do
  SLURM_STEP_NODELIST=localhost SLURM_NTASKS=$ntasks SLURM_PROCID=$i \\
    SLURM_LOCALID=$((i % SLURM_NTASKS_PER_NODE)) \\
    SLURM_STEP_NUM_NODES=$SLURM_JOB_NUM_NODES \\
    "$@" > "$FAKE_LOGS/task$i.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
exit $status
"""


def _fake_bin(tmp_path, **scripts):
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  for name, text in scripts.items():
    (bin_dir / name).write_text(text)
    (bin_dir / name).chmod(0o755)
  return f"{bin_dir}:{os.environ['PATH']}"


def _job_id_for_free_port() -> int:
  # JAX's SLURM support puts the coordinator on port 61440 + job_id % 4096.
  for _ in range(50):
    port = free_port()
    if port >= 61440:
      return port - 61440
  with socket.socket() as s:
    for port in range(61440, 65536):
      try:
        s.bind(("127.0.0.1", port))
        return port - 61440
      except OSError:
        continue
  raise RuntimeError("no free port in 61440-65535")


def test_slurm_job_trains_with_discovered_processes(tmp_path, idx_dir):
  logs = tmp_path / "logs"
  logs.mkdir()
  env = _cpu_env(
      tmp_path,
      NODES="2",
      GPUS_PER_NODE="1",
      PATH=_fake_bin(tmp_path, sbatch=FAKE_SBATCH, srun=FAKE_SRUN),
      FAKE_JOB_ID=str(_job_id_for_free_port()),
      FAKE_LOGS=str(logs),
      SBATCH_FILE=str(tmp_path / "job.sbatch"),
  )
  env["EXTRA_ARGS"] += f" --config.data.source=idx:{idx_dir}"
  result = _run("slurm.sh", env=env, timeout=300)
  task0 = (logs / "task0.log").read_text()
  assert result.returncode == 0, task0[-3000:]
  # --distributed found 2 processes from SLURM's variables alone.
  assert "4 cpu device(s) over 2 process(es)" in task0
  assert "done: 2 steps" in task0
  assert "step " not in (logs / "task1.log").read_text()
  assert (tmp_path / "run" / "checkpoints" / "2").is_dir()


FAKE_GCLOUD = """\
#!/usr/bin/env bash
# Stand-in for gcloud: records each call; the slice is PREEMPTED at first,
# READY after; the first training session ends early, the second finishes.
echo "$*" >> "$FAKE_GCLOUD_LOG"
case "$*" in
  *"tpu-vm describe"*)
    if [ "$(grep -c 'tpu-vm describe' "$FAKE_GCLOUD_LOG")" = 1 ]; then
      echo PREEMPTED; else echo READY; fi ;;
  *"jaxgan.main"*)
    if [ "$(grep -c 'jaxgan.main' "$FAKE_GCLOUD_LOG")" = 1 ]; then
      echo "step 50/100"; exit 255; fi
    echo "done: 100 steps; checkpoints in gs://bucket/runs/celeba" ;;
esac
"""


def test_tpu_watch_recreates_a_preempted_slice_and_trains_on(tmp_path):
  calls = tmp_path / "gcloud.log"
  env = {
      **TPU,
      "PATH": _fake_bin(tmp_path, gcloud=FAKE_GCLOUD),
      "FAKE_GCLOUD_LOG": str(calls),
      "RETRY_SECONDS": "0",
      "TARBALL": str(tmp_path / "src.tgz"),
      "PROJECT": "",
  }
  result = _run("tpu_pod.sh", "watch", env=env)
  assert result.returncode == 0, result.stderr
  kinds = [
      " ".join(c.split()[2:4])
      + (
          " train"
          if "jaxgan.main" in c
          else " setup"
          if "pip install" in c
          else ""
      )
      for c in calls.read_text().splitlines()
  ]
  assert kinds == [
      "tpu-vm describe",
      "tpu-vm delete",
      "tpu-vm create",
      "tpu-vm scp",
      "tpu-vm ssh setup",
      "tpu-vm ssh train",
      "tpu-vm describe",
      "tpu-vm ssh train",
  ]
  assert "training stopped before the end (restart 1/20" in result.stdout
  assert "training finished" in result.stdout
  # The code copied to the hosts is the committed tree.
  listing = subprocess.run(
      ["tar", "-tzf", str(tmp_path / "src.tgz")], capture_output=True, text=True
  ).stdout.split()
  assert "jaxgan/main.py" in listing and "launch/tpu_pod.sh" in listing
