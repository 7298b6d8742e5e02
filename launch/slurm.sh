#!/usr/bin/env bash
# jaxgan on GPU nodes with SLURM: writes a batch script and submits it.
#
#   NODES=2 GPUS_PER_NODE=8 CONFIG=configs/dcgan_celeba.py \
#     WORKDIR=/shared/runs/celeba bash launch/slurm.sh [--dry-run]
#
# MODE=per-gpu (default): GPUS_PER_NODE tasks per node, one per GPU. Every
#   task sees all the node's GPUs and jax.distributed (--distributed) reads
#   the SLURM variables: task SLURM_LOCALID drives GPU SLURM_LOCALID.
# MODE=per-node: one task per node driving all its GPUs
#   (JAX_LOCAL_DEVICE_IDS=0,...,GPUS_PER_NODE-1 overrides JAX's SLURM default
#   of one GPU per process).
# WORKDIR must be on a file system every node shares (checkpoints are
# written by all processes). The job asks to be requeued when preempted and
# gets SIGTERM 120 s before its time limit; jaxgan saves a checkpoint on
# SIGTERM and a requeued or resubmitted job resumes from it.
# Settings: NODES, GPUS_PER_NODE, CONFIG, WORKDIR (required); PARTITION,
# ACCOUNT, TIME (default 24:00:00), JOB_NAME (default jaxgan), EXTRA_ARGS
# ('--config.a.b=v ...'), PYTHON (default: this clone's .venv/bin/python),
# SBATCH_FILE (where the batch script is written; default: a new temporary
# file).
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/lib.sh

need NODES "the number of nodes, e.g. NODES=2"
need GPUS_PER_NODE "GPUs per node, e.g. GPUS_PER_NODE=8"
need CONFIG "the experiment config, e.g. CONFIG=configs/dcgan_celeba.py"
need WORKDIR "a run directory on a shared file system, e.g. WORKDIR=/shared/runs/celeba"
for v in NODES GPUS_PER_NODE; do
  if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: $v='${!v}' is not a positive integer" >&2
    exit 2
  fi
done
MODE=${MODE:-per-gpu}
one_of MODE per-gpu per-node
TIME=${TIME:-24:00:00}
JOB_NAME=${JOB_NAME:-jaxgan}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
if [ "$MODE" = per-gpu ]; then tasks=$GPUS_PER_NODE; else tasks=1; fi
mapfile -t ARGS < <(jaxgan_args)
srun_cmd=$(show srun "$PYTHON" "${ARGS[@]}" --distributed)
srun_cmd=${srun_cmd#+}

script=$(
  echo "#!/bin/bash"
  echo "#SBATCH --job-name=$JOB_NAME"
  echo "#SBATCH --nodes=$NODES"
  echo "#SBATCH --ntasks-per-node=$tasks"
  echo "#SBATCH --gres=gpu:$GPUS_PER_NODE"
  echo "#SBATCH --time=$TIME"
  echo "#SBATCH --requeue"
  echo "#SBATCH --signal=TERM@120"
  echo "#SBATCH --output=$JOB_NAME-%j.out"
  [ -z "${PARTITION:-}" ] || echo "#SBATCH --partition=$PARTITION"
  [ -z "${ACCOUNT:-}" ] || echo "#SBATCH --account=$ACCOUNT"
  echo "set -euo pipefail"
  echo "cd $(quote "$PWD")"
  if [ "$MODE" = per-node ]; then
    echo "export JAX_LOCAL_DEVICE_IDS=$(seq -s, 0 $((GPUS_PER_NODE - 1)))"
  fi
  echo "exec${srun_cmd}"
)

file=${SBATCH_FILE:-}
if [ -z "$file" ]; then
  if [ "$DRY_RUN" = 1 ]; then
    file=$(mktemp -u --suffix=.sbatch)  # A name only.
  else
    file=$(mktemp --suffix=.sbatch)
  fi
fi
echo "# $file:"
echo "$script"
[ "$DRY_RUN" = 1 ] || printf '%s\n' "$script" > "$file"
run sbatch "$file"
