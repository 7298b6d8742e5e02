#!/usr/bin/env bash
# jaxgan on one host with several GPUs.
#
#   CONFIG=configs/dcgan_celeba.py WORKDIR=runs/celeba bash launch/multi_gpu.sh
#   MODE=per-gpu NUM_GPUS=8 CONFIG=... WORKDIR=... bash launch/multi_gpu.sh
#   ... --dry-run        # print the commands, run nothing
#
# MODE=single (default): one process drives every GPU it sees; the step is
#   data-parallel over all of them (jax.shard_map), no jax.distributed.
# MODE=per-gpu: NUM_GPUS processes, process i sees GPU i only
#   (CUDA_VISIBLE_DEVICES=i), joined by jax.distributed on 127.0.0.1:PORT.
#   Ctrl-C or SIGTERM reaches every process: all save the same step and exit;
#   if one process fails, the others are stopped.
# Settings: CONFIG, WORKDIR (required); EXTRA_ARGS ('--config.a.b=v ...');
# PYTHON (default .venv/bin/python); PORT (default 29500); GRACE (default 60:
# seconds the other processes get to exit after one failed, then SIGKILL).
# Resuming is automatic: run the same command again.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/lib.sh

need CONFIG "the experiment config, e.g. CONFIG=configs/dcgan_celeba.py"
need WORKDIR "the run directory, e.g. WORKDIR=runs/celeba"
MODE=${MODE:-single}
one_of MODE single per-gpu
PYTHON=${PYTHON:-.venv/bin/python}
mapfile -t ARGS < <(jaxgan_args)

if [ "$MODE" = single ]; then
  run "$PYTHON" "${ARGS[@]}"
  exit
fi

need NUM_GPUS "the number of GPUs (processes), e.g. NUM_GPUS=8"
if ! [[ "$NUM_GPUS" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: NUM_GPUS='$NUM_GPUS' is not a positive integer; e.g." \
    "NUM_GPUS=\$(nvidia-smi -L | wc -l)" >&2
  exit 2
fi
PORT=${PORT:-29500}
GRACE=${GRACE:-60}  # Seconds the others get to stop after one fails.
pids=()
stop_all() { [ ${#pids[@]} = 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true; }
trap 'stop_all' INT TERM
for ((i = 0; i < NUM_GPUS; i++)); do
  cmd=(env "CUDA_VISIBLE_DEVICES=$i" "$PYTHON" "${ARGS[@]}"
       "--coordinator_address=127.0.0.1:$PORT" "--num_processes=$NUM_GPUS"
       "--process_id=$i")
  if [ "$DRY_RUN" = 1 ]; then
    run "${cmd[@]}"
  else
    show "${cmd[@]}"
    "${cmd[@]}" &
    pids+=($!)
  fi
done
[ "$DRY_RUN" = 1 ] && exit 0
# The first process to fail stops the rest (they would wait for it).
status=0
killer=""
while [ ${#pids[@]} -gt 0 ]; do
  done_pid=""
  wait -n -p done_pid "${pids[@]}" && code=0 || code=$?
  [ -n "${done_pid:-}" ] || continue  # A signal interrupted the wait.
  if [ "$code" != 0 ] && [ "$status" = 0 ]; then
    echo "multi_gpu.sh: a process exited with status $code; stopping the" \
      "others" >&2
    status=$code
    stop_all
    # A process waiting on a collective with a dead peer cannot save; JAX
    # would abort it after its heartbeat timeout. Do not wait that long.
    (sleep "$GRACE"; kill -KILL "${pids[@]}" 2>/dev/null) >/dev/null 2>&1 &
    killer=$!
  fi
  rest=()
  for p in "${pids[@]}"; do [ "$p" = "$done_pid" ] || rest+=("$p"); done
  pids=(${rest[@]+"${rest[@]}"})
done
[ -z "$killer" ] || kill "$killer" 2>/dev/null || true
exit $status
