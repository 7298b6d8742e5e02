"""Image grids and files: uint8 conversion, tiling, PNG writing (Pillow)."""

import math
import os

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
  """[-1, 1] float images -> uint8 in [0, 255], rounding to nearest."""
  images = np.asarray(images, np.float32)
  return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images: np.ndarray, ncols: int | None = None,
              padding: int = 2) -> np.ndarray:
  """Tiles uint8 (N, H, W, C) images into one (rows*H', cols*W', C) image."""
  n, h, w, c = images.shape
  ncols = ncols or int(math.ceil(math.sqrt(n)))
  nrows = int(math.ceil(n / ncols))
  grid = np.zeros((nrows * (h + padding) + padding,
                   ncols * (w + padding) + padding, c), np.uint8)
  for i, image in enumerate(images):
    r, col = divmod(i, ncols)
    top, left = padding + r * (h + padding), padding + col * (w + padding)
    grid[top:top + h, left:left + w] = image
  return grid


def save_png(image: np.ndarray, path: str) -> None:
  """Writes a uint8 (H, W, 1|3) image atomically (tmp file + rename)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  tmp = path + ".tmp"
  pil.save(tmp, format="PNG")
  os.replace(tmp, path)
