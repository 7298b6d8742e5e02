# Sourced by the launch scripts: --dry-run, printing and checking settings.
#
# Every command a script would run is printed first, shell-quoted, after '+ ';
# with --dry-run (or DRY_RUN=1) it is only printed. Settings come from
# environment variables; a missing one stops the script with one line and
# exit status 2 before anything runs.

DRY_RUN=${DRY_RUN:-0}
_args=()
for _a in "$@"; do
  case "$_a" in
    --dry-run) DRY_RUN=1 ;;
    *) _args+=("$_a") ;;
  esac
done
set -- ${_args[@]+"${_args[@]}"}

# quote ARG: ARG as one shell word (single quotes where needed).
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# show CMD ARGS...: prints '+ CMD ARGS' as a shell command line.
show() {
  printf '+'
  for a in "$@"; do printf ' '; quote "$a"; done
  printf '\n'
}

# run CMD ARGS...: prints the command, then runs it unless dry-run.
run() {
  show "$@"
  if [ "$DRY_RUN" != 1 ]; then "$@"; fi
}

# need VAR HINT: stops when $VAR is empty.
need() {
  if [ -z "${!1:-}" ]; then
    echo "error: $1 is not set; $2" >&2
    exit 2
  fi
}

# one_of VAR CHOICES...: stops when $VAR is none of CHOICES.
one_of() {
  local name=$1 value=${!1}
  shift
  for c in "$@"; do [ "$value" = "$c" ] && return 0; done
  echo "error: $name='$value' is unknown; use one of: $*" >&2
  exit 2
}

# The jaxgan command line every process runs (EXTRA_ARGS: more flags
# separated by spaces, without quotes or spaces inside a value,
# e.g. '--config.train.num_steps=20000').
jaxgan_args() {
  local -
  set -f  # No file-name expansion of EXTRA_ARGS.
  printf '%s\n' -m jaxgan.main "--config=$CONFIG" "--workdir=$WORKDIR"
  if [ -n "${EXTRA_ARGS:-}" ]; then
    # Word-split on purpose: several flags in one variable.
    # shellcheck disable=SC2086
    printf '%s\n' $EXTRA_ARGS
  fi
}
