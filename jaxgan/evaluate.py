"""Evaluates a trained run: python -m jaxgan.evaluate --workdir=DIR.

  python -m jaxgan.evaluate --workdir=DIR [--step=S | --best | --untrained] \
      [--num_samples=10000] [--classifier=DIR | --inception=FILE] [--raw]

Prints one JSON line: the metrics of jaxgan/inference/evaluator.py (FD-<dataset>, KID,
classifier score, precision/recall, class coverage) and the protocol they
were measured with (extractor and its weights' checksum, numbers of generated
and reference samples, reference split, resize, EMA or raw generator, noise
seed). The extractor is --classifier or --inception, else the run's
eval.extractor with eval.classifier / eval.inception or their environment
variables ($JAXGAN_CLASSIFIER, $JAXGAN_INCEPTION), else the classifier that
ships with jaxgan for the run's data. --best evaluates <workdir>/best/;
--untrained the generator as initialised (a baseline). --truncation=T draws
z from the normal truncated at T; --truncation_sweep=0.25,0.5,1,none prints
one line per value and plots FD and classifier score against T (BigGAN's
fidelity/variety trade-off).
"""

import json
import os

from absl import flags

from jaxgan import cli
from jaxgan.core import fs
from jaxgan.inference import evaluator as evaluation
from jaxgan.run import plots
from jaxgan.core.errors import UserError, os_errors

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
flags.DEFINE_float(
    "truncation", None, "Draw z from the normal truncated at T (BigGAN)."
)
flags.DEFINE_list(
    "truncation_sweep",
    None,
    "Evaluate at each truncation in the list (e.g. "
    "0.25,0.5,1,2,none): one JSON line each, and a plot of FD and "
    "classifier score against T in --sweep_out.",
)
flags.DEFINE_string(
    "sweep_out", None, "The sweep's PNG (default: <workdir>/truncation.png)."
)
flags.mark_flags_as_required(["workdir"])


def _sweep() -> None:
  values = []
  for text in FLAGS.truncation_sweep:
    try:
      values.append(None if text.strip().lower() == "none" else float(text))
    except ValueError:
      raise UserError(
          f"--truncation_sweep: {text!r} is not a number or 'none'; e.g. "
          "--truncation_sweep=0.25,0.5,1,2,none"
      ) from None
  rows = evaluation.truncation_sweep(
      FLAGS.workdir,
      values,
      step=FLAGS.step,
      best=FLAGS.best,
      num_samples=FLAGS.num_samples,
      classifier=FLAGS.classifier,
      inception=FLAGS.inception,
      raw=FLAGS.raw,
      inception_protocol=FLAGS.inception_protocol,
  )
  for row in rows:
    print(json.dumps(row))
  out = FLAGS.sweep_out or os.path.join(FLAGS.workdir, "truncation.png")
  with os_errors(f"--sweep_out={out}"):
    fs.write_bytes(out, plots.sweep_png(rows))
  print(f"wrote {out}")


def main(argv):
  del argv
  if FLAGS.truncation_sweep:
    _sweep()
    return
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
      truncation=FLAGS.truncation,
  )
  print(json.dumps(result))


if __name__ == "__main__":
  cli.run(main)
