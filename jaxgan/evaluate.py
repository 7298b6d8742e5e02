"""Evaluates a trained run: python -m jaxgan.evaluate --workdir=DIR.

  python -m jaxgan.evaluate --workdir=DIR [--step=S | --best | --untrained] \
      [--num_samples=10000] [--classifier=DIR | --inception=FILE] [--raw]

Prints one JSON line: the metrics of jaxgan/evaluation.py (FD-<dataset>, KID,
classifier score, precision/recall, class coverage) and the protocol they
were measured with (extractor and its weights' checksum, numbers of generated
and reference samples, reference split, resize, EMA or raw generator, noise
seed). The extractor is --classifier or --inception, else the run's
eval.extractor with eval.classifier / eval.inception or their environment
variables ($JAXGAN_CLASSIFIER, $JAXGAN_INCEPTION). --best evaluates <workdir>/best/; --untrained the
generator as initialised (a baseline).
"""

import json
import time

from absl import flags, logging

from jaxgan import cli
from jaxgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A jaxgan run directory.")
flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
flags.DEFINE_bool("best", False, "Evaluate the best checkpoint (best/).")
flags.DEFINE_bool("untrained", False, "Evaluate the initial generator.")
flags.DEFINE_integer("num_samples", 10_000, "Generated (and reference) images.")
flags.DEFINE_string("classifier", None, "Directory of a trained classifier.")
flags.DEFINE_string("inception", None, "Converted FID Inception weights.")
flags.DEFINE_bool("raw", False, "Use the raw generator even if it has an EMA.")
flags.mark_flags_as_required(["workdir"])


def evaluate(workdir: str, *, step: int | None = None, best: bool = False,
             untrained: bool = False, num_samples: int = 10_000,
             classifier: str | None = None, inception: str | None = None,
             raw: bool = False) -> dict:
  """The metrics and protocol of one checkpoint of a run."""
  import jax  # pylint: disable=g-import-not-at-top
  from jaxgan import evaluation, runtime, sample, train  # pylint: disable=g-import-not-at-top
  if num_samples < 10:
    raise UserError(f"--num_samples={num_samples} must be at least 10")
  if sum([step is not None, best, untrained]) > 1:
    raise UserError("give at most one of --step, --best and --untrained")
  t0 = time.perf_counter()
  if untrained:
    config = sample.load_config(workdir)
    built = train.build(config, runtime.make_mesh())
    state, label = built["state"], 0
  else:
    config, built, state = sample.load_run(
        workdir, step, subdir="best" if best else "checkpoints")
    label = int(jax.device_get(state.step))
  if classifier and inception:
    raise UserError("give --classifier or --inception, not both")
  kind = ("inception" if inception else "classifier" if classifier
          else config.eval.get("extractor", "classifier"))
  path = inception or classifier or evaluation.extractor_path(config)
  if not path:
    raise UserError("no feature extractor: give --classifier=DIR (train one "
                    "with python -m jaxgan.classifier) or --inception=FILE, "
                    "or set eval.classifier / eval.inception in the run's "
                    f"config or ${evaluation.ENV_CLASSIFIER}")
  if raw:
    config.model.ema_decay = 0.0
  evaluator = evaluation.Evaluator(
      config, path, num_samples=num_samples, kind=kind,
      reference_split=config.eval.reference_split, log=lambda *a: None)
  t1 = time.perf_counter()
  metrics = evaluator(train.make_sampler(built["generator"], config), state,
                      config, runtime.make_mesh())
  classify_code = train.make_code_classifier(built["discriminator"], config)
  if classify_code is not None:
    metrics["info_accuracy"] = evaluation.CodeAccuracy(
        config, num_samples=num_samples,
        reference_split=config.eval.reference_split)(classify_code, state)
  t2 = time.perf_counter()
  return {"workdir": workdir, "step": label,
          "checkpoint": "untrained" if untrained else
                        ("best" if best else "checkpoints"),
          **metrics,
          "protocol": evaluator.protocol(ema=config.model.ema_decay > 0),
          "seconds": {"setup": round(t1 - t0, 1),
                      "generate_and_measure": round(t2 - t1, 1)}}


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  result = evaluate(FLAGS.workdir, step=FLAGS.step, best=FLAGS.best,
                    untrained=FLAGS.untrained, num_samples=FLAGS.num_samples,
                    classifier=FLAGS.classifier, inception=FLAGS.inception,
                    raw=FLAGS.raw)
  print(json.dumps(result))


if __name__ == "__main__":
  cli.run(main)
