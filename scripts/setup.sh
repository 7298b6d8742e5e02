#!/usr/bin/env bash
# Sets up jaxgan in ./.venv on Debian/Ubuntu (or any machine with python3).
#
#   bash scripts/setup.sh           # jaxgan and its dependencies
#   bash scripts/setup.sh --test    # ... plus pytest, pyink, and the reference
#                                   # FID implementations the tests compare
#                                   # with (scripts/reference-requirements.txt)
#   bash scripts/setup.sh --data    # ... plus Fashion-MNIST (Debian package)
#
# PYTHON=python3.12 picks another interpreter. Re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
FMNIST=/usr/share/datasets/fashion-mnist
want_data=0
extras=()
# On an x86-64 Linux CPU the cpu extra brings oneDNN (jaxgan/cpu/onednn.py).
if [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then extras+=(cpu); fi
want_test=0
for arg in "$@"; do
  case "$arg" in
    --data) want_data=1 ;;
    --test) want_test=1; extras+=(test) ;;
    *) echo "setup.sh: unknown option '$arg'; use --data and/or --test" >&2; exit 2 ;;
  esac
done

can_apt() { command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ $want_data = 1 ] && [ ! -e "$FMNIST/train-images-idx3-ubyte.gz" ] \
    && [ ! -e "$FMNIST/train-images-idx3-ubyte" ]; then
  if can_apt; then
    echo "setup: installing Fashion-MNIST (Debian package dataset-fashion-mnist)"
    apt_install dataset-fashion-mnist
  else
    echo "setup: Fashion-MNIST is not in $FMNIST. Install it with" \
      "'sudo apt-get install dataset-fashion-mnist', or put the four IDX files" \
      "(train/t10k images and labels) in a folder and add" \
      "--config.data.source=idx:<folder> to the training command." >&2
    exit 1
  fi
fi

if ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
  if can_apt; then
    echo "setup: installing python3-venv"
    apt_install python3-venv
  else
    echo "setup: '$PY -m venv' is not available; install your distribution's" \
      "python3-venv package" >&2
    exit 1
  fi
fi

# jaxgan builds its oneDNN convolutions for the CPU (jaxgan/cpu/onednn.py)
# with a C++ compiler on first use; without one it keeps to XLA's forms.
if [ -z "${CXX:-}" ] && ! command -v g++ >/dev/null 2>&1; then
  if can_apt; then
    echo "setup: installing g++ (builds jaxgan's oneDNN convolutions)"
    apt_install g++
  else
    echo "setup: no C++ compiler (g++); DCGAN's convolutions will run in" \
      "XLA's forms, slower on the CPU. Install g++ to use oneDNN's." >&2
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
spec="."
if [ ${#extras[@]} -gt 0 ]; then spec=".[$(IFS=,; echo "${extras[*]}")]"; fi
.venv/bin/python -m pip install -q -e "$spec"
if [ $want_test = 1 ]; then
  .venv/bin/python -m pip install -q -r scripts/reference-requirements.txt
fi
echo "setup: ready ($(.venv/bin/python -c 'import jax; print("jax", jax.__version__)'))"
