"""Manifold metrics: improved precision/recall, density and coverage.

Improved precision and recall (Kynkaenniemi et al. 2019): each feature set
approximates its manifold by the union of balls around its points, each
ball's radius the distance to the point's k-th nearest neighbour in the same
set (k = 3, the paper's default). Precision is the fraction of generated
samples inside the real manifold (quality); recall the fraction of real
samples inside the generated manifold.

Density and coverage (Naeem et al. 2020, k = 5, their default) use the real
balls only, which makes them robust to outliers among the generated
samples: density counts how many real balls hold each generated sample,
(1 / kM) sum_j sum_i 1[|f_j - r_i| <= rad_i], which can exceed 1; coverage
is the fraction of real balls that hold at least one generated sample.

Distances are computed in row blocks, so 10k x 10k sets need no 10k x 10k
matrix.
"""

import numpy as np


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  d = (
      np.sum(a * a, axis=1)[:, None]
      - 2 * a @ b.T
      + np.sum(b * b, axis=1)[None, :]
  )
  return np.maximum(d, 0.0)


def knn_radii(x: np.ndarray, k: int = 3, block: int = 1024) -> np.ndarray:
  """Squared distance of each point to its k-th nearest other point."""
  radii = np.empty(len(x), np.float64)
  for i in range(0, len(x), block):
    d = _sq_dists(x[i : i + block], x)
    # The point itself is at distance 0 and is neighbour 0.
    radii[i : i + block] = np.partition(d, k, axis=1)[:, k]
  return radii


def _coverage(
    points: np.ndarray,
    centres: np.ndarray,
    radii: np.ndarray,
    block: int = 1024,
) -> float:
  """Fraction of `points` within radius of at least one centre."""
  inside = 0
  for i in range(0, len(points), block):
    d = _sq_dists(points[i : i + block], centres)
    inside += int(np.sum(np.any(d <= radii[None, :], axis=1)))
  return inside / len(points)


def precision_recall(
    real: np.ndarray, fake: np.ndarray, k: int = 3
) -> tuple[float, float]:
  """(precision, recall) of `fake` against `real` feature sets."""
  real = np.asarray(real, np.float64)
  fake = np.asarray(fake, np.float64)
  if len(real) <= k or len(fake) <= k:
    raise ValueError(
        f"precision/recall with k={k} needs more than {k} "
        "samples in each set"
    )
  precision = _coverage(fake, real, knn_radii(real, k))
  recall = _coverage(real, fake, knn_radii(fake, k))
  return precision, recall


def density_coverage(
    real: np.ndarray, fake: np.ndarray, k: int = 5, block: int = 1024
) -> tuple[float, float]:
  """(density, coverage) of `fake` against `real` (Naeem et al. 2020)."""
  real = np.asarray(real, np.float64)
  fake = np.asarray(fake, np.float64)
  if len(real) <= k or not len(fake):
    raise ValueError(
        f"density/coverage with k={k} needs more than {k} real samples "
        "and a generated one"
    )
  radii = knn_radii(real, k)
  held = 0  # Sum over generated samples of the real balls holding them.
  covered = np.zeros(len(real), bool)
  for i in range(0, len(fake), block):
    inside = _sq_dists(fake[i : i + block], real) <= radii[None, :]
    held += int(np.sum(inside))
    covered |= np.any(inside, axis=0)
  return held / (k * len(fake)), float(np.mean(covered))
