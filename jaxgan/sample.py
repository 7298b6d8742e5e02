"""Samples from a trained generator: python -m jaxgan.sample.

  python -m jaxgan.sample --workdir=DIR --num=N --out=FILE.npy  # uint8 NHWC
  python -m jaxgan.sample --workdir=DIR --num=64 --out=FILE.png  # a grid

Uses the run's saved config.json and its latest checkpoint (or --step), and
the EMA generator when the run has one (model.ema_decay > 0). For the 2-D
toys (data.source toy:*), .npy gets float32 (N, 2) points, .png a scatter
plot over the true mode centres, and the mode metrics of the samples
(metrics/modes.py) are printed as one JSON line.
"""

import json
import os
import sys

from absl import flags, logging

from jaxgan import cli
from jaxgan.errors import UserError

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """The CLI's flags; defined only when run as a program (`load_run` is also
  a library function, e.g. of jaxgan.evaluate)."""
  flags.DEFINE_string("workdir", None, "A jaxgan run directory.")
  flags.DEFINE_integer("num", 64, "Number of samples.")
  flags.DEFINE_string("out", None, "Output file: .npy (uint8 N,H,W,C images "
                      "or float32 N,2 points) or .png (grid or scatter plot).")
  flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
  flags.DEFINE_integer("seed", 0, "Noise seed.")
  flags.DEFINE_integer("batch_size", 256, "Samples per generator call.")
  flags.mark_flags_as_required(["workdir", "out"])


def load_config(workdir: str):
  """The ConfigDict saved in <workdir>/config.json."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  from jaxgan import fs  # pylint: disable=g-import-not-at-top
  path = fs.path(workdir) / "config.json"
  if not path.is_file():
    raise UserError(f"--workdir={workdir} has no config.json; give the "
                    "workdir of a jaxgan training run")
  return ml_collections.ConfigDict(json.loads(path.read_text()))


def load_run(workdir: str, step: int | None = None, *,
             subdir: str = "checkpoints"):
  """Returns (config, built, state): a run's config, `train.build` output and
  checkpoint state (from <workdir>/<subdir>), on all local devices."""
  from jaxgan import checkpoint, runtime, train  # pylint: disable=g-import-not-at-top
  config = load_config(workdir)
  mesh = runtime.make_mesh()
  built = train.build(config, mesh)
  ckpt = checkpoint.Checkpointer(os.path.join(workdir, subdir),
                                 every_steps=1, max_to_keep=None)
  steps = ckpt.all_steps()
  if not steps:
    raise UserError(f"--workdir={workdir} has no checkpoint yet; train first")
  if step is not None and step not in steps:
    raise UserError(f"--step={step} is not among the checkpoints {steps}")
  try:
    if step is None:  # The newest that restores; corrupt ones stay in place.
      state, step, notes = ckpt.restore_latest(built["state"],
                                               move_corrupt=False)
      for note in notes:
        print(f"note: {note}", file=sys.stderr)
    else:
      state = ckpt.restore(built["state"], step)
  except checkpoint.CorruptCheckpoint as e:
    raise UserError(f"checkpoint {ckpt.directory}/{step} is corrupt ({e}); "
                    "give another --step") from None
  finally:
    ckpt.close()
  return config, built, state


def generate(workdir: str, num: int, *, step: int | None = None,
             seed: int = 0, batch_size: int = 256):
  """Returns (config, samples): uint8 (num, H, W, C) images, or float32
  (num, 2) points for the 2-D toys."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import images, step as step_lib, train  # pylint: disable=g-import-not-at-top
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
  if num < 1:
    raise UserError(f"--num={num} must be a positive integer")
  config, built, state = load_run(workdir, step)
  sample = train.make_sampler(built["generator"], config)
  # All the noise first: sample i depends on (seed, i) only, not on batching.
  z = step_lib.sample_noise(jax.random.PRNGKey(seed), num, config.model.z_dim,
                            config.model.noise)
  padded = -num % batch_size
  z = np.concatenate([z, np.zeros((padded, z.shape[1]), z.dtype)])
  out = [jax.device_get(sample(state, z[i:i + batch_size]))
         for i in range(0, len(z), batch_size)]
  out = np.concatenate(out)[:num]
  if sources.is_toy(config.data):
    return config, out.astype(np.float32)
  return config, images.to_uint8(out)


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import images  # pylint: disable=g-import-not-at-top
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics import modes  # pylint: disable=g-import-not-at-top
  if not FLAGS.out.endswith((".npy", ".png")):
    raise UserError(f"--out={FLAGS.out} must end in .npy or .png")
  config, samples = generate(FLAGS.workdir, FLAGS.num, step=FLAGS.step,
                             seed=FLAGS.seed, batch_size=FLAGS.batch_size)
  points = sources.is_toy(config.data)
  mixture = sources.toy_mixture(config.data)
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
  if FLAGS.out.endswith(".npy"):
    np.save(FLAGS.out, samples)
  elif points:
    images.save_png(images.scatter_plot(samples, mixture.centres), FLAGS.out)
  else:
    images.save_png(images.make_grid(samples), FLAGS.out)
  print(f"wrote {samples.shape[0]} samples {samples.shape[1:]} to {FLAGS.out}")
  if points:
    metrics = modes.mode_metrics(samples, mixture)
    print(json.dumps({"num_samples": len(samples), **metrics}))


if __name__ == "__main__":
  _define_flags()
  cli.run(main)
