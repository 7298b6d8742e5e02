"""Evaluates a trained run: python -m jaxgan.evaluate --workdir=DIR.

  python -m jaxgan.evaluate --workdir=DIR [--step=S | --best | --untrained] \
      [--num_samples=10000] [--classifier=DIR | --inception=FILE] [--raw]

Prints one JSON line: the metrics of jaxgan/evaluation.py (FD-<dataset>, KID,
classifier score, precision/recall, class coverage) and the protocol they
were measured with (extractor and its weights' checksum, numbers of generated
and reference samples, reference split, resize, EMA or raw generator, noise
seed). The extractor is --classifier or --inception, else the run's
eval.extractor with eval.classifier / eval.inception or their environment
variables ($JAXGAN_CLASSIFIER, $JAXGAN_INCEPTION). --best evaluates
<workdir>/best/; --untrained the generator as initialised (a baseline).
"""

import json

from absl import flags

from jaxgan import cli, evaluation

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A jaxgan run directory.")
flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
flags.DEFINE_bool("best", False, "Evaluate the best checkpoint (best/).")
flags.DEFINE_bool("untrained", False, "Evaluate the initial generator.")
flags.DEFINE_integer("num_samples", 10_000, "Generated (and reference) images.")
flags.DEFINE_string("classifier", None, "Directory of a trained classifier.")
flags.DEFINE_string("inception", None, "Converted FID Inception weights.")
flags.DEFINE_bool("raw", False, "Use the raw generator even if it has an EMA.")
flags.DEFINE_enum(
    "inception_protocol",
    None,
    ["pytorch_fid", "torch_fidelity"],
    "With --inception: how images reach it (default: the run's "
    "eval.inception_protocol).",
)
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  result = evaluation.evaluate_run(
      FLAGS.workdir,
      step=FLAGS.step,
      best=FLAGS.best,
      untrained=FLAGS.untrained,
      num_samples=FLAGS.num_samples,
      classifier=FLAGS.classifier,
      inception=FLAGS.inception,
      raw=FLAGS.raw,
      inception_protocol=FLAGS.inception_protocol,
  )
  print(json.dumps(result))


if __name__ == "__main__":
  cli.run(main)
