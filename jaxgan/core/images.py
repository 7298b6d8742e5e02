"""Image grids and files: tiling, PNG and GIF writing, scatter plots (Pillow)."""

import io
import math

import numpy as np
from PIL import Image, ImageDraw

from jaxgan.core import fs


def grid_columns(n: int) -> int:
  """Columns of a grid of n images: ceil(sqrt(n))."""
  return int(math.ceil(math.sqrt(n)))


def make_grid(
    images: np.ndarray, ncols: int | None = None, padding: int = 2
) -> np.ndarray:
  """Tiles uint8 (N, H, W, C) images into one (rows*H', cols*W', C) image
  (`grid_columns(N)` columns by default)."""
  n, h, w, c = images.shape
  ncols = ncols or grid_columns(n)
  nrows = int(math.ceil(n / ncols))
  grid = np.zeros(
      (nrows * (h + padding) + padding, ncols * (w + padding) + padding, c),
      np.uint8,
  )
  for i, image in enumerate(images):
    r, col = divmod(i, ncols)
    top, left = padding + r * (h + padding), padding + col * (w + padding)
    grid[top : top + h, left : left + w] = image
  return grid


def png_bytes(image: np.ndarray) -> bytes:
  """A uint8 (H, W, 1|3) image as PNG file contents."""
  pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  buffer = io.BytesIO()
  pil.save(buffer, format="PNG")
  return buffer.getvalue()


def save_png(image: np.ndarray, path: str) -> None:
  """Writes a uint8 (H, W, 1|3) image whole (local or gs://; jaxgan/core/fs.py)."""
  fs.write_bytes(path, png_bytes(image))


def save_gif(
    frames: list[np.ndarray], path: str, duration_ms: int = 120
) -> None:
  """Writes uint8 (H, W, 1|3) frames as an animated GIF that loops."""
  pics = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
  buffer = io.BytesIO()
  pics[0].save(
      buffer,
      format="GIF",
      save_all=True,
      append_images=pics[1:],
      duration=duration_ms,
      loop=0,
  )
  fs.write_bytes(path, buffer.getvalue())


def scatter_plot(
    points: np.ndarray,
    centres: np.ndarray | None = None,
    size: int = 480,
    extent: float | None = None,
) -> np.ndarray:
  """Draws 2-D points (black) over the true mode centres (red crosses).

  Returns a uint8 (size, size, 3) image. The square view is centred on 0 and
  spans [-extent, extent] in both axes (default: the centres' range plus a
  margin); points outside it are clipped to its border, so a diverging
  generator stays visible.
  """
  points = np.asarray(points, np.float64)
  if extent is None:
    ref = (
        np.abs(centres).max()
        if centres is not None
        else np.abs(points[np.isfinite(points)]).max(initial=1.0)
    )
    extent = 1.5 * ref
  scale = (size - 1) / (2 * extent)

  def to_pixels(xy):
    xy = np.clip(xy, -extent, extent)
    return np.stack(
        [(xy[:, 0] + extent) * scale, (extent - xy[:, 1]) * scale], axis=1
    )

  pil = Image.new("RGB", (size, size), (255, 255, 255))
  draw = ImageDraw.Draw(pil)
  c = to_pixels(np.zeros((1, 2)))[0]  # The axes through the origin.
  draw.line([(0, c[1]), (size, c[1])], fill=(220, 220, 220))
  draw.line([(c[0], 0), (c[0], size)], fill=(220, 220, 220))
  if centres is not None:  # Under the points: a covered centre turns black.
    for x, y in to_pixels(np.asarray(centres)):
      draw.line([(x - 6, y), (x + 6, y)], fill=(220, 0, 0), width=2)
      draw.line([(x, y - 6), (x, y + 6)], fill=(220, 0, 0), width=2)
  finite = points[np.isfinite(points).all(axis=1)]
  for x, y in to_pixels(finite):
    draw.rectangle([x - 1, y - 1, x + 1, y + 1], fill=(0, 0, 0))
  return np.asarray(pil)
