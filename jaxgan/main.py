"""Entry point: python -m jaxgan.main --config=configs/X.py --workdir=DIR.

Config fields are overridden with --config.a.b=v (ml_collections config_flags).
User errors (bad flags, config, data, workdir or checkpoints) print one line
and exit with status 2, a non-finite loss with status 3, an output that
cannot be written (a full disk) with status 4 (jaxgan/cli.py); the loop
itself lives in jaxgan/run/train.py.
"""

from absl import flags
from ml_collections import config_flags

from jaxgan import cli
from jaxgan.core import runtime
from jaxgan.run import train

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "workdir", None, "Directory for checkpoints, samples, logs."
)
config_flags.DEFINE_config_file(
    "config",
    None,
    "Path to an experiment config (configs/*.py).",
    lock_config=True,
)
flags.mark_flags_as_required(["config", "workdir"])
# Several processes (one per host; jaxgan/core/runtime.py `initialize`).
flags.DEFINE_bool(
    "distributed",
    False,
    "Start jax.distributed with the "
    "coordinator, process count and id discovered (Cloud TPU "
    "VMs, SLURM).",
)
flags.DEFINE_string("coordinator_address", None, "host:port of process 0.")
flags.DEFINE_integer("num_processes", None, "Number of processes.")
flags.DEFINE_integer("process_id", None, "This process's index.")


def main(argv):
  del argv  # cli.run refuses positional arguments.
  # XLA reads its flags when JAX starts its first backend: before that.
  if runtime.runs_on_cpu():
    from jaxgan.cpu import xla_flags  # pylint: disable=g-import-not-at-top

    runtime.set_xla_flags(xla_flags.for_model(FLAGS.config.model.name))
  runtime.initialize(
      coordinator_address=FLAGS.coordinator_address,
      num_processes=FLAGS.num_processes,
      process_id=FLAGS.process_id,
      auto=FLAGS.distributed,
  )
  train.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main)
