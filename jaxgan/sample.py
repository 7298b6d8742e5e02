"""Samples of a trained generator, and views of it: python -m jaxgan.sample.

  python -m jaxgan.sample --workdir=DIR --num=N --out=FILE.npy  # uint8 NHWC
  python -m jaxgan.sample --workdir=DIR --num=64 --out=FILE.png  # a grid

`--mode` picks what to draw (fixed --seed, fixed images):

- `grid` (default): --num samples; a class-conditional model draws one
  class per row. .npy or .png.
- `class_grid`: one row per class, --num columns; column j uses the same
  noise in every row (class-conditional models).
- `interp`: --num rows, each from one latent point to another in --steps
  (--interpolation=linear or slerp); .png (a strip per row) or .gif (the
  rows moving together). A conditional model keeps one class per row
  (--label, or classes 0, 1, ... by row).
- `arithmetic`: DCGAN's vector arithmetic (Radford et al. 2015, Sec. 6.3):
  --expression='3,7,12 - 5,9 + 20' averages the latent vectors of the
  listed samples of `--mode=grid` (same --seed and --num) per term and
  combines them; one row per term (its samples, then the image of their
  mean), then the result and 8 neighbours (uniform noise of +-0.25 added, as
  in the paper). .png.
- `traversal`: InfoGAN code traversal (Chen et al. 2016, Fig. 2): --num
  rows of fixed noise and codes, and across the columns --code c1 (the
  categorical code, every category) or c2, c3, ... (a continuous code from
  -span to +span in --steps; the paper goes to 2 outside its U(-1, 1) prior).
  .png.

An image-to-image model (pix2pix, SRGAN; data.pairs) translates instead:
--num fixed test-split images' sources, drawn as (source, output, target)
triples, or the uint8 source images given with --inputs (an .npy file or a
folder of PNG/JPEG files of the source's shape), drawn as (input, output)
pairs. .png (the picture) or .npy (the outputs).

Uses the run's saved config.json and its latest checkpoint (or --step), and the
EMA generator when the run has one (model.ema_decay > 0); the views are drawn by
jaxgan/inference/views.py. For the 2-D toys (data.source toy:*), .npy gets
float32 (N, 2) points, .png a scatter plot over the true mode centres, and the
mode metrics of the samples (metrics/modes.py) are printed as one JSON line.
"""

import json
import os

import numpy as np
from absl import flags

from jaxgan import cli
from jaxgan.core import images
from jaxgan.inference import views
from jaxgan.core.errors import UserError, os_errors
from jaxgan.metrics import modes

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A jaxgan run directory.")
flags.DEFINE_integer("num", 64, "Number of samples.")
flags.DEFINE_string(
    "out",
    None,
    "Output file: .npy (uint8 N,H,W,C images "
    "or float32 N,2 points) or .png (grid or scatter plot).",
)
flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
flags.DEFINE_integer("seed", 0, "Noise seed.")
flags.DEFINE_integer("batch_size", 256, "Samples per generator call.")
flags.DEFINE_enum(
    "mode", "grid", list(views.MODES), "What to draw (see above)."
)
flags.DEFINE_integer(
    "steps",
    8,
    "interp: points per row; traversal: " "values of a continuous code.",
)
flags.DEFINE_string("interpolation", "linear", "interp: linear | slerp.")
flags.DEFINE_integer(
    "label",
    None,
    "Class of a conditional model's "
    "interp/arithmetic/traversal rows (default: by row).",
)
flags.DEFINE_string(
    "expression",
    None,
    "arithmetic: e.g. '3,7,12 - 5,9 + " "20' (indices of --mode=grid samples).",
)
flags.DEFINE_string(
    "code",
    "c1",
    "traversal: c1 (categorical) or c2, c3, " "... (continuous codes).",
)
flags.DEFINE_float(
    "truncation",
    None,
    "Draw z from the normal truncated at T: BigGAN's "
    "truncation trick (fidelity for variety).",
)
flags.DEFINE_float(
    "span", 2.0, "traversal: continuous codes go from -span to +span."
)
flags.DEFINE_string(
    "inputs",
    None,
    "Image-to-image models: source images to translate (.npy or a folder "
    "of images); default: --num test-split examples with their targets.",
)
flags.mark_flags_as_required(["workdir", "out"])


def main(argv):
  del argv
  mode, out = FLAGS.mode, FLAGS.out
  if not out.endswith(views.EXTENSIONS[mode]):
    raise UserError(
        f"--out={out} must end in "
        f"{' or '.join(views.EXTENSIONS[mode])} for --mode={mode}"
    )
  drawer = views.Drawer(
      FLAGS.workdir, FLAGS.step, FLAGS.batch_size, FLAGS.truncation
  )
  with os_errors(f"--out={out}"):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  if drawer.experiment.image_to_image:
    if mode != "grid":
      raise UserError(
          f"--mode={mode} draws from noise; this image-to-image model "
          "translates images: use --mode=grid (the default)"
      )
    outputs, picture = views.translations(drawer, FLAGS.num, FLAGS.inputs)
    if out.endswith(".npy"):
      np.save(out, outputs)
    else:
      images.save_png(picture, out)
    kind = "(input, output) pairs" if FLAGS.inputs else "triples"
    print(f"wrote {len(outputs)} translations ({kind}) to {out}")
    return
  if FLAGS.inputs:
    raise UserError(
        "--inputs is for image-to-image models (data.pairs); this run "
        "draws from noise: leave it out"
    )
  if mode != "grid":
    picture = views.draw(
        mode,
        drawer,
        num=FLAGS.num,
        seed=FLAGS.seed,
        steps=FLAGS.steps,
        interpolation_method=FLAGS.interpolation,
        label=FLAGS.label,
        expression=FLAGS.expression,
        code=FLAGS.code,
        span=FLAGS.span,
    )
    views.write(picture, out)
    print(f"wrote --mode={mode}: {len(picture.images)} images to {out}")
    return
  samples = views.samples(drawer, FLAGS.num, FLAGS.seed)
  mixture = drawer.experiment.mixture
  if out.endswith(".npy"):
    np.save(out, samples)
  elif mixture is not None:
    images.save_png(images.scatter_plot(samples, mixture.centres), out)
  else:
    images.save_png(images.make_grid(samples), out)
  print(f"wrote {samples.shape[0]} samples {samples.shape[1:]} to {out}")
  if mixture is not None:
    metrics = modes.mode_metrics(samples, mixture)
    print(json.dumps({"num_samples": len(samples), **metrics}))


if __name__ == "__main__":
  cli.run(main)
