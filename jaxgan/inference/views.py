"""Views of a trained generator: grids, class grids, interpolations, vector
arithmetic and InfoGAN traversals (what `python -m jaxgan.sample` draws).

Every view draws through one `Drawer`: a restored run and its
generate.Sampler, the generator inputs of a fixed seed (generate.inputs),
and one class per row for class-conditional models. Image i depends on
(seed, i) only, not on the batch size.
"""

import dataclasses
import pathlib
from typing import Any

import numpy as np
from PIL import Image

from jaxgan.core import images
from jaxgan.gan import latent
from jaxgan.inference import evaluator as evaluation, generate
from jaxgan.models import pairs
from jaxgan.experiment import workdir as workdir_lib
from jaxgan.core.errors import UserError, os_errors


class Drawer:
  """A restored run's generator: draws (inputs, labels) as uint8 images."""

  def __init__(
      self,
      workdir: str,
      step: int | None = None,
      batch_size: int = 256,
      truncation: float | None = None,
  ):
    """truncation: draw z from the normal truncated at it (BigGAN's
    truncation trick; normal noise only)."""
    run = workdir_lib.load_run(workdir, step)
    self.experiment = run.experiment
    self.state, self.truncation = run.state, truncation
    latent.check_truncation(truncation, self.experiment.options.noise)
    self.cond = self.experiment.cond
    self.sampler = generate.Sampler(
        self.experiment, ema=self.experiment.has_ema, batch_size=batch_size
    )

  def inputs(self, seed: int, num: int) -> np.ndarray:
    """(num, input_dim) generator inputs of `seed`."""
    return generate.inputs(self.experiment, seed, num, self.truncation)

  def images(self, z, labels=None) -> np.ndarray:
    """uint8 images (float32 points for the 2-D toys) of inputs z (N,
    input_dim) and labels (N,)."""
    if self.cond.labelled and labels is None:
      raise ValueError("a class-conditional generator needs labels")
    return self.sampler(self.state, z, labels)

  def row_labels(self, rows: int, label: int | None):
    """One class per row: `label`, or 0, 1, ... by row (None unconditioned)."""
    if not self.cond.labelled:
      return None
    if label is not None:
      if not 0 <= label < self.cond.num_classes:
        raise UserError(
            f"--label={label} is not a class of this model "
            f"(0..{self.cond.num_classes - 1})"
        )
      return np.full(rows, label)
    return np.arange(rows) % self.cond.num_classes


def samples(drawer: Drawer, num: int, seed: int = 0) -> np.ndarray:
  """uint8 (num, H, W, C) images, or float32 (num, 2) points for the 2-D
  toys; a class-conditional model draws one class per grid row."""
  if num < 1:
    raise UserError(f"--num={num} must be a positive integer")
  labels = (
      generate.grid_labels(num, drawer.cond.num_classes)
      if drawer.cond.labelled
      else None
  )
  return drawer.images(drawer.inputs(seed, num), labels)


@dataclasses.dataclass(frozen=True)
class Picture:
  """What a mode draws: images (N, H, W, C) tiled `ncols` per row, or for
  a GIF `frames` of such tilings."""

  images: Any
  ncols: int
  frames: list | None = None


def class_grid(drawer: Drawer, num: int, seed: int) -> Picture:
  """One row per class; column j has the same noise in every row."""
  k = drawer.cond.num_classes
  if not drawer.cond.labelled:
    raise UserError(
        "--mode=class_grid needs a class-conditional run "
        "(model.conditioning); use --mode=grid"
    )
  z = np.tile(drawer.inputs(seed, num), (k, 1))
  return Picture(drawer.images(z, np.repeat(np.arange(k), num)), num)


def interpolation(
    drawer: Drawer,
    num: int,
    seed: int,
    steps: int,
    method: str,
    label: int | None,
) -> Picture:
  """num rows, each from one latent point to another in `steps`."""
  if steps < 2:
    raise UserError(f"--steps={steps} must be at least 2 for --mode=interp")
  ends = drawer.inputs(seed, 2 * num)
  path = latent.interpolate(ends[:num], ends[num:], steps, method)
  z = np.swapaxes(path, 0, 1).reshape(num * steps, -1)  # Row-major rows.
  labels = drawer.row_labels(num, label)
  out = drawer.images(z, None if labels is None else np.repeat(labels, steps))
  by_step = out.reshape(num, steps, *out.shape[1:])
  return Picture(out, steps, frames=[by_step[:, t] for t in range(steps)])


def arithmetic(
    drawer: Drawer, num: int, seed: int, expression: str, label: int | None
) -> Picture:
  """DCGAN vector arithmetic on averaged latent vectors of grid samples."""
  if not expression:
    raise UserError(
        "--mode=arithmetic needs --expression, e.g. "
        "--expression='3,7,12 - 5,9 + 20'"
    )
  terms = latent.parse_expression(expression, num)
  pool = drawer.inputs(seed, num)
  means = [pool[idx].mean(axis=0) for _, idx in terms]
  result = sum(sign * m for (sign, _), m in zip(terms, means))
  # The paper's 8 neighbours: uniform noise of scale +-0.25 on the result.
  rng = np.random.default_rng(seed)
  neighbours = result + rng.uniform(-0.25, 0.25, (8, result.shape[0]))
  ncols = max(9, max(len(idx) for _, idx in terms) + 1)
  rows = [
      np.concatenate([pool[idx], m[None]]) for (_, idx), m in zip(terms, means)
  ]
  rows.append(np.concatenate([result[None], neighbours]))
  z = np.concatenate(rows)
  labels = drawer.row_labels(len(z), 0 if label is None else label)
  out = drawer.images(z, labels)
  tiles, start = [], 0
  for row in rows:  # Each row starts on a new line of the grid.
    block = out[start : start + len(row)]
    start += len(row)
    pad = np.zeros((ncols - len(block), *block.shape[1:]), block.dtype)
    tiles.append(np.concatenate([block, pad]))
  return Picture(np.concatenate(tiles), ncols)


def traversal(
    drawer: Drawer, num: int, seed: int, code: str, steps: int, span: float
) -> Picture:
  """InfoGAN: vary one code across the columns, the rest fixed per row."""
  cond, z_dim = drawer.cond, drawer.experiment.options.z_dim
  names = (["c1"] if cond.info_categorical else []) + [
      f"c{i + 1 + bool(cond.info_categorical)}"
      for i in range(cond.info_continuous)
  ]
  if not cond.info:
    raise UserError(
        "--mode=traversal needs an InfoGAN run "
        "(model.info_categorical or model.info_continuous > 0)"
    )
  if code not in names:
    raise UserError(
        f"--code={code!r} is not a code of this run; use one of "
        f"{names} (c1 = categorical when the run has one)"
    )
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
  z[:, start : start + width] = np.tile(values, (num, 1))
  labels = drawer.row_labels(num, None)
  return Picture(
      drawer.images(z, None if labels is None else np.repeat(labels, columns)),
      columns,
  )


def _read_folder(p: pathlib.Path, channels: int) -> np.ndarray:
  """The PNG/JPEG images of a folder, sorted by name, as uint8 (N, H, W, C)."""
  files = sorted(
      f for f in p.iterdir() if f.suffix.lower() in (".png", ".jpg", ".jpeg")
  )
  if not files:
    raise UserError(f"--inputs={p} holds no .png or .jpg images")
  out = []
  for f in files:
    try:
      with Image.open(f) as image:
        a = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except OSError as e:  # PIL's errors for unreadable files.
      raise UserError(
          f"--inputs: cannot read {f}: {e}; remove or replace it"
      ) from None
    out.append(a.reshape(*a.shape[:2], channels))
  if len({a.shape for a in out}) > 1:
    raise UserError(
        f"--inputs={p}: the images differ in size; give images of one size"
    )
  return np.stack(out)


def load_inputs(path: str, shape: tuple[int, ...]) -> np.ndarray:
  """uint8 (N, *shape) images from an .npy file or a folder of PNG/JPEG
  files (sorted by name); the shape must be the model's source shape."""
  p = pathlib.Path(path)
  with os_errors(f"--inputs={path}"):
    if p.is_dir():
      x = _read_folder(p, shape[-1])
    elif p.suffix == ".npy":
      try:
        x = np.load(p)
      except ValueError as e:  # Not an array file.
        raise UserError(f"--inputs={path} is not an array: {e}") from None
    else:
      raise UserError(
          f"--inputs={path} must be an .npy file or a folder of images"
      )
  if x.ndim == 3:
    x = x[..., None]
  if x.shape[1:] != tuple(shape) or x.dtype != np.uint8:
    raise UserError(
        f"--inputs={path} holds {x.dtype} images of shape {x.shape[1:]}; "
        f"this model's inputs are uint8 {tuple(shape)} (data.pairs' source)"
    )
  return x


def translations(
    drawer: Drawer, num: int, inputs: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
  """An image-to-image model's outputs and their picture: for `num` fixed
  test-split images (evaluation.pair_targets), (source, output, target)
  triples; for the uint8 source images in `inputs` (load_inputs), (input,
  output) pairs. Returns (uint8 outputs, grid image)."""
  exp = drawer.experiment
  if inputs:
    source_shape = pairs.source_shape(exp.options.pairs, exp.data_shape)
    given = load_inputs(inputs, source_shape)
    source = given.astype(np.float32) / 127.5 - 1.0  # As the step's reals.
    outputs = drawer.images(source)
    return outputs, generate.pair_grid(exp, source, outputs)
  if num < 1:
    raise UserError(f"--num={num} must be a positive integer")
  targets = evaluation.pair_targets(exp, num)
  source = generate.sources(exp, targets)
  outputs = drawer.images(source)
  return outputs, generate.pair_grid(exp, source, outputs, targets)


MODES = ("grid", "class_grid", "interp", "arithmetic", "traversal")
EXTENSIONS = {
    "grid": (".npy", ".png"),
    "class_grid": (".npy", ".png"),
    "interp": (".png", ".gif"),
    "arithmetic": (".png",),
    "traversal": (".png",),
}


def draw(
    mode: str,
    drawer: Drawer,
    *,
    num: int,
    seed: int = 0,
    steps: int = 8,
    interpolation_method: str = "linear",
    label: int | None = None,
    expression: str | None = None,
    code: str = "c1",
    span: float = 2.0,
) -> Picture:
  """The Picture of a mode other than 'grid' (see the module docstring)."""
  if num < 1:
    raise UserError(f"--num={num} must be a positive integer")
  if drawer.experiment.points:
    raise UserError(
        f"--mode={mode} draws images; the 2-D toys have "
        "--mode=grid (a scatter plot)"
    )
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
  if out.endswith(".gif"):
    images.save_gif([images.make_grid(f, ncols=1) for f in picture.frames], out)
  elif out.endswith(".npy"):
    np.save(out, picture.images)
  else:
    images.save_png(images.make_grid(picture.images, ncols=picture.ncols), out)
