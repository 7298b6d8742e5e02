"""Full-reference image quality: PSNR and SSIM of outputs against targets.

For image-to-image models (pix2pix, SRGAN), on uint8 images (data range
255), averaged over images:

- `psnr`: 10 log10(255^2 / MSE) per image (MSE over its pixels and
  channels); an image equal to its target counts as `PSNR_CAP` dB.
- `ssim`: Wang et al. 2004's structural similarity with their constants
  (K1 0.01, K2 0.03) and an 11x11 Gaussian window of sigma 1.5, computed
  per channel over the window positions that fit inside the image (as
  `tf.image.ssim`, "valid"), averaged over positions and channels.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

PSNR_CAP = 100.0  # dB for an exact match (MSE 0).
WINDOW, SIGMA, K1, K2, RANGE = 11, 1.5, 0.01, 0.03, 255.0


def psnr(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
  """Per-image PSNR (dB) of uint8 (N, H, W, C) outputs against targets."""
  diff = outputs.astype(np.float64) - targets.astype(np.float64)
  mse = np.mean(diff * diff, axis=(1, 2, 3))
  with np.errstate(divide="ignore"):
    value = 10.0 * np.log10(RANGE**2 / mse)
  return np.minimum(value, PSNR_CAP)


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
  """The normalised 1-D Gaussian of the SSIM window (its outer product is
  the 2-D window)."""
  x = np.arange(size, dtype=np.float64) - (size - 1) / 2
  g = np.exp(-(x * x) / (2 * sigma * sigma))
  return g / g.sum()


@functools.partial(jax.jit, static_argnames=("size",))
def _ssim_maps(x, y, size: int):
  g = jnp.asarray(gaussian_window(size), jnp.float32)

  def blur(a):  # Separable "valid" Gaussian filter over H and W.
    h, w = a.shape[1] - size + 1, a.shape[2] - size + 1
    a = sum(g[i] * a[:, i : i + h] for i in range(size))
    return sum(g[j] * a[:, :, j : j + w] for j in range(size))

  c1, c2 = (K1 * RANGE) ** 2, (K2 * RANGE) ** 2
  mx, my = blur(x), blur(y)
  sxx = blur(x * x) - mx * mx
  syy = blur(y * y) - my * my
  sxy = blur(x * y) - mx * my
  num = (2 * mx * my + c1) * (2 * sxy + c2)
  den = (mx * mx + my * my + c1) * (sxx + syy + c2)
  return jnp.mean(num / den, axis=(1, 2, 3))


def ssim(
    outputs: np.ndarray, targets: np.ndarray, batch: int = 1000
) -> np.ndarray:
  """Per-image SSIM of uint8 (N, H, W, C) outputs against targets (images
  at least WINDOW pixels on a side)."""
  if min(outputs.shape[1:3]) < WINDOW:
    raise ValueError(
        f"SSIM needs images of at least {WINDOW}x{WINDOW} pixels, not "
        f"{outputs.shape[1]}x{outputs.shape[2]}"
    )
  out = []
  for i in range(0, len(outputs), batch):
    x = jnp.asarray(outputs[i : i + batch], jnp.float32)
    y = jnp.asarray(targets[i : i + batch], jnp.float32)
    out.append(np.asarray(_ssim_maps(x, y, WINDOW)))
  return np.concatenate(out)


def quality(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
  """{'psnr': mean dB, 'ssim': mean SSIM} over the images."""
  return {
      "psnr": float(np.mean(psnr(outputs, targets))),
      "ssim": float(np.mean(ssim(outputs, targets))),
  }
