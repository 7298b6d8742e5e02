"""Evaluates a trained run: python -m jaxgan.evaluate --workdir=DIR.

  python -m jaxgan.evaluate --workdir=DIR [--step=S | --best | --untrained] \
      [--num_samples=10000] [--classifier=DIR | --inception=FILE] [--raw]

Prints one JSON line: the metrics of jaxgan/inference/evaluator.py
(FD-<dataset>, KID, classifier score, precision/recall, class coverage) and the
protocol they were measured with (extractor and its weights' checksum, numbers
of generated and reference samples, reference split, resize, EMA or raw
generator, noise seed). The extractor is --classifier or --inception, else the
run's eval.extractor with eval.classifier / eval.inception or their environment
variables ($JAXGAN_CLASSIFIER, $JAXGAN_INCEPTION), else the classifier that
ships with jaxgan for the run's data. --best evaluates <workdir>/best/;
--untrained the generator as initialised (a baseline). --truncation=T draws z
from the normal truncated at T; --truncation_sweep=0.25,0.5,1,none prints one
line per value and plots FD and classifier score against T (BigGAN's
fidelity/variety trade-off).
"""

import json
import os
import time
from typing import Any

from absl import flags

from jaxgan import cli
from jaxgan.core import fs
from jaxgan.inference import evaluator as evaluation
from jaxgan.run import plots
from jaxgan.core.errors import UserError, os_errors
from jaxgan.experiment import workdir as workdir_lib
from jaxgan.gan import latent
from jaxgan.metrics import extractors

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


def _open(
    workdir: str,
    *,
    step: int | None,
    best: bool,
    untrained: bool,
    num_samples: int,
    classifier: str | None,
    inception: str | None,
    inception_protocol: str | None,
):
  """(run, evaluator) of `python -m jaxgan.evaluate`'s flags."""
  if num_samples < 10:
    raise UserError(f"--num_samples={num_samples} must be at least 10")
  if sum([step is not None, best, untrained]) > 1:
    raise UserError("give at most one of --step, --best and --untrained")
  if classifier and inception:
    raise UserError("give --classifier or --inception, not both")
  if untrained:
    run = workdir_lib.untrained_run(workdir)
  else:
    run = workdir_lib.load_run(
        workdir,
        step,
        subdir=workdir_lib.BEST if best else workdir_lib.CHECKPOINTS,
    )
  settings = run.experiment.eval
  kind = (
      "inception"
      if inception
      else "classifier"
      if classifier
      else settings.extractor
  )
  path = inception or classifier or run.experiment.extractor_path
  if not path and not run.experiment.image_to_image:
    raise UserError(
        "no feature extractor: give --classifier=DIR (train one "
        "with python -m jaxgan.classifier) or --inception=FILE, "
        "or set eval.classifier / eval.inception in the run's "
        f"config or ${extractors.ENV_CLASSIFIER}"
    )
  evaluator = evaluation.Evaluator(
      run.experiment,
      extractors.make_extractor(
          kind, path, inception_protocol or settings.inception_protocol
      )
      if path
      else None,
      num_samples=num_samples,
      reference_split=settings.reference_split,
      log=lambda *a: None,
  )
  return run, evaluator


def _evaluate_run(
    workdir: str,
    *,
    step: int | None = None,
    best: bool = False,
    untrained: bool = False,
    num_samples: int = 10_000,
    classifier: str | None = None,
    inception: str | None = None,
    raw: bool = False,
    inception_protocol: str | None = None,
    truncation: float | None = None,
) -> dict[str, Any]:
  """The metrics and protocol of one checkpoint of a run (see
  `python -m jaxgan.evaluate`)."""
  t0 = time.perf_counter()
  run, evaluator = _open(
      workdir,
      step=step,
      best=best,
      untrained=untrained,
      num_samples=num_samples,
      classifier=classifier,
      inception=inception,
      inception_protocol=inception_protocol,
  )
  exp = run.experiment
  latent.check_truncation(truncation, exp.options.noise)
  ema = exp.has_ema and not raw
  t1 = time.perf_counter()
  metrics = evaluator(run.state, ema=ema, truncation=truncation)
  codes = evaluation.code_accuracy(
      exp,
      num_samples=num_samples,
      reference_split=exp.eval.reference_split,
  )
  if codes is not None:
    metrics["info_accuracy"] = codes(run.state)
  t2 = time.perf_counter()
  return {
      "workdir": workdir,
      "step": int(run.step),
      "checkpoint": (
          "untrained" if untrained else "best" if best else "checkpoints"
      ),
      **metrics,
      ("baseline" if evaluator.targets is not None else "real_data_floor"): {
          "split": evaluator.floor_split,
          **(evaluator.floor or {}),
      },
      "protocol": {**evaluator.protocol(ema=ema), "truncation": truncation},
      "seconds": {
          "setup": round(t1 - t0, 1),
          "generate_and_measure": round(t2 - t1, 1),
      },
  }


def _truncation_sweep(
    workdir: str,
    values: list[float | None],
    *,
    step: int | None = None,
    best: bool = False,
    num_samples: int = 10_000,
    classifier: str | None = None,
    inception: str | None = None,
    raw: bool = False,
    inception_protocol: str | None = None,
) -> list[dict[str, Any]]:
  """The metrics of one checkpoint at each truncation in `values` (None: no
  truncation): BigGAN's fidelity/variety trade-off (Brock et al. 2019,
  Fig. 2), one row per value."""
  run, evaluator = _open(
      workdir,
      step=step,
      best=best,
      untrained=False,
      num_samples=num_samples,
      classifier=classifier,
      inception=inception,
      inception_protocol=inception_protocol,
  )
  for value in values:  # All of them before the first evaluation.
    latent.check_truncation(
        value, run.experiment.options.noise, "--truncation_sweep"
    )
  ema = run.experiment.has_ema and not raw
  rows = []
  for value in values:
    metrics = evaluator(run.state, ema=ema, truncation=value)
    rows.append({"truncation": value, "step": int(run.step), **metrics})
  return rows


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
  rows = _truncation_sweep(
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
  result = _evaluate_run(
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
