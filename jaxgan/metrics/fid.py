"""The Frechet distance between Gaussians fitted to two sets of features.

FD = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Heusel et al. 2017). With
Inception pool3 features it is FID; with another extractor's features it is
"FD-<extractor>" and is only comparable with numbers from the same extractor.

Statistics are accumulated in float64 over batches (`FeatureStats`), so any
number of samples fits in memory. The matrix square root follows the
reference implementations (TTUR's `fid.py`, pytorch-fid): `scipy.linalg.sqrtm`
of S1 S2; if the result is not finite (near-singular product), eps = 1e-6 is
added to both diagonals and the root taken again; a negligible imaginary part
(from round-off) is dropped, a large one is an error.
"""

import warnings

import numpy as np
from scipy import linalg

EPS = 1e-6


class FeatureStats:
  """Streaming count, mean and covariance of feature vectors, in float64."""

  def __init__(self, dim: int):
    self.n = 0
    self._sum = np.zeros(dim, np.float64)
    self._outer = np.zeros((dim, dim), np.float64)

  def update(self, features: np.ndarray) -> None:
    x = np.asarray(features, np.float64).reshape(len(features), -1)
    self.n += len(x)
    self._sum += x.sum(axis=0)
    self._outer += x.T @ x

  @property
  def mean(self) -> np.ndarray:
    return self._sum / self.n

  @property
  def cov(self) -> np.ndarray:
    """Unbiased sample covariance (divides by n - 1, as np.cov)."""
    mu = self.mean
    return (self._outer - self.n * np.outer(mu, mu)) / (self.n - 1)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
  """FD between N(mu1, sigma1) and N(mu2, sigma2)."""
  mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
  sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
  if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
    raise ValueError(
        f"feature statistics of different shapes: {mu1.shape} "
        f"vs {mu2.shape}"
    )
  diff = mu1 - mu2
  with warnings.catch_warnings():  # A singular product is handled below.
    warnings.simplefilter("ignore", linalg.LinAlgWarning)
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
  if not np.isfinite(covmean).all():
    offset = np.eye(sigma1.shape[0]) * EPS
    covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
  if np.iscomplexobj(covmean):
    if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
      raise ValueError(
          f"imaginary component {np.max(np.abs(covmean.imag))} "
          "in the matrix square root"
      )
    covmean = covmean.real
  return float(
      diff.dot(diff)
      + np.trace(sigma1)
      + np.trace(sigma2)
      - 2 * np.trace(covmean)
  )


def frechet_distance_of(a: FeatureStats, b: FeatureStats) -> float:
  return frechet_distance(a.mean, a.cov, b.mean, b.cov)


def stats_of(features: np.ndarray) -> FeatureStats:
  stats = FeatureStats(features.shape[1])
  stats.update(features)
  return stats


def frechet_distance_of_features(a: np.ndarray, b: np.ndarray) -> float:
  """FD between Gaussians fitted to feature arrays a (N, D) and b (M, D)."""
  return frechet_distance_of(stats_of(a), stats_of(b))
