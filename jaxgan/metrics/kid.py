"""Kernel Inception Distance (Binkowski et al. 2018).

The unbiased estimate of the squared MMD between two feature sets with the
cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over
`num_subsets` random subsets of `subset_size` samples from each set (the
protocol of the paper's code and torch-fidelity: 100 subsets of 1,000).
Unlike FID it is unbiased in the number of samples and can be negative for
two samples of one distribution.
"""

import numpy as np


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 of two equal-sized feature sets, polynomial kernel."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  m, d = x.shape
  if y.shape != (m, d):
    raise ValueError(f"feature sets of shapes {x.shape} and {y.shape}")
  k_xx = (x @ x.T / d + 1) ** 3
  k_yy = (y @ y.T / d + 1) ** 3
  k_xy = (x @ y.T / d + 1) ** 3
  sum_xx = k_xx.sum() - np.trace(k_xx)
  sum_yy = k_yy.sum() - np.trace(k_yy)
  return float((sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.mean())


def kid(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
  """(mean, std) of the subset MMD^2 estimates."""
  rng = np.random.default_rng(seed)
  m = min(subset_size, len(real), len(fake))
  if m < 2:
    raise ValueError("KID needs at least 2 samples in each set")
  values = [
      mmd2_unbiased(
          real[rng.choice(len(real), m, replace=False)],
          fake[rng.choice(len(fake), m, replace=False)],
      )
      for _ in range(num_subsets)
  ]
  return float(np.mean(values)), float(np.std(values))
