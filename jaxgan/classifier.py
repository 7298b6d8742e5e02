"""Trains a domain classifier: python -m jaxgan.classifier.

  python -m jaxgan.classifier --data.source=idx:/usr/share/datasets/fashion-mnist \
      --workdir=runs/classifier_fashion_mnist

trains a small CNN on the `train` split of a labelled image source, reports its
accuracy on the `test` split, and writes `classifier.msgpack` and
`classifier.json` to --workdir (jaxgan/metrics/feature_net_training.py). Give
that directory to a GAN run as `--config.eval.classifier=DIR` or to `python -m
jaxgan.evaluate --classifier=DIR`. The numbers it gives compare only with
numbers from the same classifier file (the checksum is printed with every
evaluation).
"""

import shlex
import sys

from absl import flags
from ml_collections import config_flags

from jaxgan import cli
from jaxgan.experiment import defaults
from jaxgan.metrics import feature_net_training as classifier_training
from jaxgan.core.errors import UserError
from jaxgan.experiment.checks import validate_data

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Where to write the classifier.")
flags.DEFINE_integer("epochs", 8, "Training epochs.")
flags.DEFINE_integer("batch_size", 128, "Batch size.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam's peak learning rate.")
flags.DEFINE_integer("seed", 0, "Initialisation and data order.")
config_flags.DEFINE_config_dict(
    "data",
    defaults.get_config().data,
    "The data, as the GAN configs' data block.",
)
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  for name in ("epochs", "batch_size"):
    if FLAGS[name].value < 1:
      raise UserError(f"--{name}={FLAGS[name].value} must be positive")
  validate_data(FLAGS.data)
  classifier_training.train_classifier(
      FLAGS.data,
      FLAGS.workdir,
      epochs=FLAGS.epochs,
      batch_size=FLAGS.batch_size,
      learning_rate=FLAGS.learning_rate,
      seed=FLAGS.seed,
      command=shlex.join(["python", "-m", "jaxgan.classifier", *sys.argv[1:]]),
  )


if __name__ == "__main__":
  cli.run(main)
