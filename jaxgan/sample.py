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

Uses the run's saved config.json and its latest checkpoint (or --step), and
the EMA generator when the run has one (model.ema_decay > 0). For the 2-D
toys (data.source toy:*), .npy gets float32 (N, 2) points, .png a scatter
plot over the true mode centres, and the mode metrics of the samples
(metrics/modes.py) are printed as one JSON line.
"""

import dataclasses
import json
import os
import sys
from typing import Any

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
  flags.DEFINE_enum("mode", "grid", list(MODES), "What to draw (see above).")
  flags.DEFINE_integer("steps", 8, "interp: points per row; traversal: "
                       "values of a continuous code.")
  flags.DEFINE_string("interpolation", "linear", "interp: linear | slerp.")
  flags.DEFINE_integer("label", None, "Class of a conditional model's "
                       "interp/arithmetic/traversal rows (default: by row).")
  flags.DEFINE_string("expression", None, "arithmetic: e.g. '3,7,12 - 5,9 + "
                      "20' (indices of --mode=grid samples).")
  flags.DEFINE_string("code", "c1", "traversal: c1 (categorical) or c2, c3, "
                      "... (continuous codes).")
  flags.DEFINE_float("span", 2.0, "traversal: continuous codes go from "
                     "-span to +span.")
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


class Drawer:
  """A restored run's generator: renders (inputs, labels) to uint8 images.

  Inputs are the generator's (noise and InfoGAN codes; jaxgan/latent.py);
  every input is drawn before any image, so image i depends on (seed, i)
  only, not on the batch size.
  """

  def __init__(self, workdir: str, step: int | None = None,
               batch_size: int = 256):
    from jaxgan import train  # pylint: disable=g-import-not-at-top
    from jaxgan.models import conditioning  # pylint: disable=g-import-not-at-top
    self.config, built, self.state = load_run(workdir, step)
    self.sample = train.make_sampler(built["generator"], self.config)
    self.cond = conditioning.from_config(self.config)
    self.batch_size = batch_size

  def inputs(self, seed: int, num: int):
    """(num, input_dim) generator inputs of --seed."""
    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    from jaxgan import latent  # pylint: disable=g-import-not-at-top
    m = self.config.model
    return np.array(latent.draw(jax.random.PRNGKey(seed), num, m.z_dim,
                                  m.noise, self.cond))

  def render(self, z, labels=None):
    """Generator outputs of inputs z (N, input_dim) and labels (N,)."""
    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    z = np.asarray(z, np.float32)
    if self.cond.labelled and labels is None:
      raise ValueError("a class-conditional generator needs labels")
    labels = (np.zeros(len(z), np.int32) if labels is None
              else np.asarray(labels, np.int32))
    n, b = len(z), self.batch_size
    z = np.concatenate([z, np.zeros((-n % b, z.shape[1]), z.dtype)])
    labels = np.concatenate([labels, np.zeros(-n % b, np.int32)])
    out = [jax.device_get(self.sample(
        self.state, z[i:i + b],
        labels[i:i + b] if self.cond.labelled else None))
           for i in range(0, len(z), b)]
    return np.concatenate(out)[:n]

  def images(self, z, labels=None):
    from jaxgan import images  # pylint: disable=g-import-not-at-top
    return images.to_uint8(self.render(z, labels))

  def row_labels(self, rows: int, label: int | None):
    """One class per row: `label`, or 0, 1, ... by row (None unconditioned)."""
    import numpy as np  # pylint: disable=g-import-not-at-top
    if not self.cond.labelled:
      return None
    if label is not None:
      if not 0 <= label < self.cond.num_classes:
        raise UserError(f"--label={label} is not a class of this model "
                        f"(0..{self.cond.num_classes - 1})")
      return np.full(rows, label)
    return np.arange(rows) % self.cond.num_classes


def generate(workdir: str, num: int, *, step: int | None = None,
             seed: int = 0, batch_size: int = 256):
  """Returns (config, samples): uint8 (num, H, W, C) images, or float32
  (num, 2) points for the 2-D toys; a class-conditional model draws one
  class per grid row (latent.grid_labels)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import latent  # pylint: disable=g-import-not-at-top
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
  if num < 1:
    raise UserError(f"--num={num} must be a positive integer")
  drawer = Drawer(workdir, step, batch_size)
  labels = (np.asarray(latent.grid_labels(num, drawer.cond.num_classes))
            if drawer.cond.labelled else None)
  out = drawer.render(drawer.inputs(seed, num), labels)
  if sources.is_toy(drawer.config.data):
    return drawer.config, out.astype(np.float32)
  from jaxgan import images  # pylint: disable=g-import-not-at-top
  return drawer.config, images.to_uint8(out)


@dataclasses.dataclass(frozen=True)
class Picture:
  """What a mode draws: images (N, H, W, C) tiled `ncols` per row, or for
  a GIF `frames` of such tilings."""
  images: Any
  ncols: int
  frames: list | None = None


def class_grid(drawer: Drawer, num: int, seed: int) -> Picture:
  """One row per class; column j has the same noise in every row."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  k = drawer.cond.num_classes
  if not drawer.cond.labelled:
    raise UserError("--mode=class_grid needs a class-conditional run "
                    "(model.conditioning); use --mode=grid")
  z = np.tile(drawer.inputs(seed, num), (k, 1))
  return Picture(drawer.images(z, np.repeat(np.arange(k), num)), num)


def interpolation(drawer: Drawer, num: int, seed: int, steps: int,
                  method: str, label: int | None) -> Picture:
  """num rows, each from one latent point to another in `steps`."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import latent  # pylint: disable=g-import-not-at-top
  if steps < 2:
    raise UserError(f"--steps={steps} must be at least 2 for --mode=interp")
  ends = drawer.inputs(seed, 2 * num)
  path = latent.interpolate(ends[:num], ends[num:], steps, method)
  z = np.swapaxes(path, 0, 1).reshape(num * steps, -1)  # Row-major rows.
  labels = drawer.row_labels(num, label)
  images = drawer.images(z, None if labels is None
                         else np.repeat(labels, steps))
  by_step = images.reshape(num, steps, *images.shape[1:])
  return Picture(images, steps, frames=[by_step[:, t] for t in range(steps)])


def arithmetic(drawer: Drawer, num: int, seed: int, expression: str,
               label: int | None) -> Picture:
  """DCGAN vector arithmetic on averaged latent vectors of grid samples."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import latent  # pylint: disable=g-import-not-at-top
  if not expression:
    raise UserError("--mode=arithmetic needs --expression, e.g. "
                    "--expression='3,7,12 - 5,9 + 20'")
  terms = latent.parse_expression(expression, num)
  pool = drawer.inputs(seed, num)
  means = [pool[idx].mean(axis=0) for _, idx in terms]
  result = sum(sign * m for (sign, _), m in zip(terms, means))
  # The paper's 8 neighbours: uniform noise of scale +-0.25 on the result.
  rng = np.random.default_rng(seed)
  neighbours = result + rng.uniform(-0.25, 0.25, (8, result.shape[0]))
  ncols = max(9, max(len(idx) for _, idx in terms) + 1)
  rows = [np.concatenate([pool[idx], m[None]]) for (_, idx), m in
          zip(terms, means)]
  rows.append(np.concatenate([result[None], neighbours]))
  z = np.concatenate(rows)
  labels = drawer.row_labels(len(z), 0 if label is None else label)
  images = drawer.images(z, labels)
  tiles, start = [], 0
  for row in rows:  # Each row starts on a new line of the grid.
    block = images[start:start + len(row)]
    start += len(row)
    pad = np.zeros((ncols - len(block), *block.shape[1:]), block.dtype)
    tiles.append(np.concatenate([block, pad]))
  return Picture(np.concatenate(tiles), ncols)


def traversal(drawer: Drawer, num: int, seed: int, code: str, steps: int,
              span: float) -> Picture:
  """InfoGAN: vary one code across the columns, the rest fixed per row."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  cond, z_dim = drawer.cond, drawer.config.model.z_dim
  names = ((["c1"] if cond.info_categorical else [])
           + [f"c{i + 1 + bool(cond.info_categorical)}"
              for i in range(cond.info_continuous)])
  if not cond.info:
    raise UserError("--mode=traversal needs an InfoGAN run "
                    "(model.info_categorical or model.info_continuous > 0)")
  if code not in names:
    raise UserError(f"--code={code!r} is not a code of this run; use one of "
                    f"{names} (c1 = categorical when the run has one)")
  base = drawer.inputs(seed, num)
  if code == "c1" and cond.info_categorical:
    values = np.eye(cond.info_categorical, dtype=np.float32)
    columns, width = len(values), cond.info_categorical
    start = z_dim
  else:
    if steps < 2:
      raise UserError(f"--steps={steps} must be at least 2")
    index = names.index(code) - bool(cond.info_categorical)
    values = np.linspace(-span, span, steps, dtype=np.float32)[:, None]
    columns, width = steps, 1
    start = z_dim + cond.info_categorical + index
  z = np.repeat(base, columns, axis=0)
  z[:, start:start + width] = np.tile(values, (num, 1))
  labels = drawer.row_labels(num, None)
  return Picture(drawer.images(z, None if labels is None
                               else np.repeat(labels, columns)), columns)


MODES = ("grid", "class_grid", "interp", "arithmetic", "traversal")
EXTENSIONS = {"grid": (".npy", ".png"), "class_grid": (".npy", ".png"),
              "interp": (".png", ".gif"), "arithmetic": (".png",),
              "traversal": (".png",)}


def draw(mode: str, drawer: Drawer, *, num: int, seed: int = 0,
         steps: int = 8, interpolation_method: str = "linear",
         label: int | None = None, expression: str | None = None,
         code: str = "c1", span: float = 2.0) -> Picture:
  """The Picture of a mode other than 'grid' (see the module docstring)."""
  if num < 1:
    raise UserError(f"--num={num} must be a positive integer")
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
  if sources.is_toy(drawer.config.data):
    raise UserError(f"--mode={mode} draws images; the 2-D toys have "
                    "--mode=grid (a scatter plot)")
  if mode == "class_grid":
    return class_grid(drawer, num, seed)
  if mode == "interp":
    return interpolation(drawer, num, seed, steps, interpolation_method, label)
  if mode == "arithmetic":
    return arithmetic(drawer, num, seed, expression, label)
  return traversal(drawer, num, seed, code, steps, span)


def write(picture: Picture, out: str) -> None:
  """.gif: the frames (each a column of rows); .npy: the images; .png: the
  images tiled `picture.ncols` per row."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import images  # pylint: disable=g-import-not-at-top
  if out.endswith(".gif"):
    images.save_gif([images.make_grid(f, ncols=1) for f in picture.frames],
                    out)
  elif out.endswith(".npy"):
    np.save(out, picture.images)
  else:
    images.save_png(images.make_grid(picture.images, ncols=picture.ncols), out)


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import images  # pylint: disable=g-import-not-at-top
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics import modes  # pylint: disable=g-import-not-at-top
  mode, out = FLAGS.mode, FLAGS.out
  if not out.endswith(EXTENSIONS[mode]):
    raise UserError(f"--out={out} must end in "
                    f"{' or '.join(EXTENSIONS[mode])} for --mode={mode}")
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  if mode != "grid":
    picture = draw(mode, Drawer(FLAGS.workdir, FLAGS.step, FLAGS.batch_size),
                   num=FLAGS.num, seed=FLAGS.seed, steps=FLAGS.steps,
                   interpolation_method=FLAGS.interpolation,
                   label=FLAGS.label, expression=FLAGS.expression,
                   code=FLAGS.code, span=FLAGS.span)
    write(picture, out)
    print(f"wrote --mode={mode}: {len(picture.images)} images to {out}")
    return
  config, samples = generate(FLAGS.workdir, FLAGS.num, step=FLAGS.step,
                             seed=FLAGS.seed, batch_size=FLAGS.batch_size)
  points = sources.is_toy(config.data)
  mixture = sources.toy_mixture(config.data)
  if out.endswith(".npy"):
    np.save(out, samples)
  elif points:
    images.save_png(images.scatter_plot(samples, mixture.centres), out)
  else:
    images.save_png(images.make_grid(samples), out)
  print(f"wrote {samples.shape[0]} samples {samples.shape[1:]} to {out}")
  if points:
    metrics = modes.mode_metrics(samples, mixture)
    print(json.dumps({"num_samples": len(samples), **metrics}))


if __name__ == "__main__":
  _define_flags()
  cli.run(main)
