#!/usr/bin/env bash
# jaxgan on a Cloud TPU VM pod slice: one process per host, all running the
# same command, joined by jax.distributed (discovered on TPU VMs).
#
#   export TPU_NAME=gan-v5e ZONE=us-west4-a ACCELERATOR_TYPE=v5litepod-16 \
#     CONFIG=configs/dcgan_celeba.py WORKDIR=gs://BUCKET/runs/celeba
#   bash launch/tpu_pod.sh create    # the slice (CAPACITY: see below)
#   bash launch/tpu_pod.sh setup     # this commit's code + jaxgan[tpu] on every host
#   bash launch/tpu_pod.sh train     # python -m jaxgan.main on --worker=all
#   bash launch/tpu_pod.sh watch     # train; after a preemption re-create,
#                                    # set up and train again until done
#   bash launch/tpu_pod.sh delete
#   ... --dry-run                    # print the commands, run nothing
#
# Settings: TPU_NAME, ZONE, ACCELERATOR_TYPE, CONFIG, WORKDIR (a gs:// path
# every host can write: checkpoints are written by all hosts); PROJECT
# (default: gcloud's); CAPACITY = on-demand (default) | spot | queued |
# queued-spot (a queued resource named $TPU_NAME-qr); RUNTIME_VERSION
# (default by ACCELERATOR_TYPE: v2-alpha-tpuv5-lite for v5litepod,
# v2-alpha-tpuv6e for v6e, v2-alpha-tpuv5 for v5p, tpu-ubuntu2204-base for
# v4); EXTRA_ARGS ('--config.a.b=v ...'); MAX_RESTARTS (default 20) and
# RETRY_SECONDS (default 60) for watch.
# Resuming is automatic: jaxgan restores the newest checkpoint in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/lib.sh

ACTION=${1:-}
if [ -z "$ACTION" ]; then
  echo "error: give an action: create, setup, train, watch or delete" \
    "(e.g. bash launch/tpu_pod.sh watch --dry-run)" >&2
  exit 2
fi
one_of ACTION create setup train watch delete
need TPU_NAME "the TPU VM name, e.g. TPU_NAME=gan-v5e"
need ZONE "a zone with TPU capacity, e.g. ZONE=us-west4-a"
need ACCELERATOR_TYPE "e.g. ACCELERATOR_TYPE=v5litepod-16 (16 v5e chips, 4 hosts)"
CAPACITY=${CAPACITY:-on-demand}
one_of CAPACITY on-demand spot queued queued-spot
if [ -z "${RUNTIME_VERSION:-}" ]; then
  case "$ACCELERATOR_TYPE" in
    v5litepod-*) RUNTIME_VERSION=v2-alpha-tpuv5-lite ;;
    v6e-*) RUNTIME_VERSION=v2-alpha-tpuv6e ;;
    v5p-*) RUNTIME_VERSION=v2-alpha-tpuv5 ;;
    v4-*) RUNTIME_VERSION=tpu-ubuntu2204-base ;;
    *) echo "error: no default RUNTIME_VERSION for" \
         "ACCELERATOR_TYPE='$ACCELERATOR_TYPE'; set RUNTIME_VERSION (see" \
         "'gcloud compute tpus versions list --zone=$ZONE')" >&2
       exit 2 ;;
  esac
fi
MAX_RESTARTS=${MAX_RESTARTS:-20}
RETRY_SECONDS=${RETRY_SECONDS:-60}
LOCATION=(--zone="$ZONE")
[ -z "${PROJECT:-}" ] || LOCATION+=(--project="$PROJECT")
QR_NAME="$TPU_NAME-qr"

create() {
  case "$CAPACITY" in
    on-demand|spot)
      spot=()
      [ "$CAPACITY" = spot ] && spot=(--spot)
      run gcloud compute tpus tpu-vm create "$TPU_NAME" "${LOCATION[@]}" \
        --accelerator-type="$ACCELERATOR_TYPE" --version="$RUNTIME_VERSION" \
        ${spot[@]+"${spot[@]}"} ;;
    queued|queued-spot)
      spot=()
      [ "$CAPACITY" = queued-spot ] && spot=(--spot)
      run gcloud compute tpus queued-resources create "$QR_NAME" \
        "${LOCATION[@]}" --node-id="$TPU_NAME" \
        --accelerator-type="$ACCELERATOR_TYPE" \
        --runtime-version="$RUNTIME_VERSION" ${spot[@]+"${spot[@]}"}
      # The slice exists once the queued resource is ACTIVE.
      [ "$DRY_RUN" = 1 ] && return
      until [ "$(queued_state)" = ACTIVE ]; do
        echo "tpu_pod.sh: queued resource $QR_NAME is $(queued_state); waiting"
        sleep "$RETRY_SECONDS"
      done ;;
  esac
}

queued_state() {
  gcloud compute tpus queued-resources describe "$QR_NAME" "${LOCATION[@]}" \
    --format='value(state.state)' 2>/dev/null || echo MISSING
}

tpu_state() {
  gcloud compute tpus tpu-vm describe "$TPU_NAME" "${LOCATION[@]}" \
    --format='value(state)' 2>/dev/null || echo MISSING
}

delete() {
  case "$CAPACITY" in
    on-demand|spot)
      run gcloud compute tpus tpu-vm delete "$TPU_NAME" "${LOCATION[@]}" \
        --quiet ;;
    queued|queued-spot)
      run gcloud compute tpus queued-resources delete "$QR_NAME" \
        "${LOCATION[@]}" --force --quiet ;;
  esac
}

setup() {
  # The committed code (what was tested), not the working tree.
  local tarball
  tarball=${TARBALL:-$(mktemp -u --suffix=.tar.gz)}
  run git archive --format=tar.gz -o "$tarball" HEAD
  run gcloud compute tpus tpu-vm scp "$tarball" "$TPU_NAME:jaxgan.tar.gz" \
    "${LOCATION[@]}" --worker=all
  run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION[@]}" \
    --worker=all --command="rm -rf ~/jaxgan && mkdir ~/jaxgan && tar -xzf ~/jaxgan.tar.gz -C ~/jaxgan && cd ~/jaxgan && python3 -m pip install -q -e '.[tpu]'"
}

train() {
  need CONFIG "the experiment config, e.g. CONFIG=configs/dcgan_celeba.py"
  need WORKDIR "a gs:// directory all hosts write, e.g. WORKDIR=gs://BUCKET/runs/celeba"
  local cmd="cd ~/jaxgan && python3"
  while IFS= read -r a; do cmd+=" $(quote "$a")"; done < <(jaxgan_args)
  cmd+=" --distributed"
  run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION[@]}" \
    --worker=all --command="$cmd"
}

watch() {
  # jaxgan prints 'done: N steps' (process 0) when training has finished; a
  # preempted slice ends the ssh session without it.
  local restarts=0 log state
  if [ "$DRY_RUN" = 1 ]; then
    echo "# Until the output says 'done: N steps', at most $MAX_RESTARTS" \
      "restarts, every $RETRY_SECONDS s:"
    echo "# when 'gcloud compute tpus tpu-vm describe $TPU_NAME' is not" \
      "READY (preempted or missing):"
    delete
    create
    setup
    echo "# then:"
    train
    return 0
  fi
  log=$(mktemp)
  while true; do
    state=$(tpu_state)
    if [ "$state" != READY ]; then
      echo "tpu_pod.sh: $TPU_NAME is $state; re-creating it"
      [ "$state" = MISSING ] || delete
      create
      setup
    fi
    train 2>&1 | tee "$log" || true
    if grep -qE 'done: [0-9]+ steps|nothing to do: step' "$log"; then
      echo "tpu_pod.sh: training finished"
      return 0
    fi
    restarts=$((restarts + 1))
    if [ "$restarts" -gt "$MAX_RESTARTS" ]; then
      echo "error: training did not finish after $MAX_RESTARTS restarts;" \
        "see the output above, fix the cause and run watch again" >&2
      exit 1
    fi
    echo "tpu_pod.sh: training stopped before the end (restart" \
      "$restarts/$MAX_RESTARTS in ${RETRY_SECONDS}s)"
    sleep "$RETRY_SECONDS"
  done
}

"$ACTION"
