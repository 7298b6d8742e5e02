"""Entry point: python -m jaxgan.main --config=configs/X.py --workdir=DIR.

Config fields are overridden with --config.a.b=v (ml_collections config_flags).
User errors (bad config, data or workdir) print one line and exit with status
2; the loop itself lives in jaxgan/train.py.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from jaxgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Directory for checkpoints, samples, logs.")
config_flags.DEFINE_config_file(
    "config", None, "Path to an experiment config (configs/*.py).",
    lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO.
  from jaxgan import train  # Imports jax; after flag parsing keeps --help fast.
  try:
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  except FloatingPointError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
  app.run(main)
