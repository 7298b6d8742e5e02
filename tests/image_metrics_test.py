"""FD, KID, IS and precision/recall against closed forms and constructions."""

import numpy as np
import pytest

from jaxgan.metrics import fid, inception_score, kid, precision_recall


def _commuting_covariances(rng, d):
  q, _ = np.linalg.qr(rng.normal(size=(d, d)))
  a, b = rng.uniform(0.5, 2.0, d), rng.uniform(0.1, 3.0, d)
  return q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T, a, b


def test_frechet_distance_equals_the_closed_form():
  rng = np.random.default_rng(0)
  s1, s2, a, b = _commuting_covariances(rng, 8)
  mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
  expected = np.sum((mu1 - mu2) ** 2) + np.sum(a + b - 2 * np.sqrt(a * b))
  assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
      expected, rel=1e-9
  )
  # Symmetric, and 0 for identical statistics.
  assert fid.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(
      expected, rel=1e-9
  )
  assert abs(fid.frechet_distance(mu1, s1, mu1, s1)) < 1e-9


def test_streamed_statistics_match_numpy_and_sampled_fd_the_closed_form():
  rng = np.random.default_rng(1)
  s1, s2, a, b = _commuting_covariances(rng, 4)
  mu1, mu2 = np.zeros(4), np.full(4, 0.5)
  x = rng.multivariate_normal(mu1, s1, 200_000).astype(np.float32)
  y = rng.multivariate_normal(mu2, s2, 200_000).astype(np.float32)
  sx, sy = fid.FeatureStats(4), fid.FeatureStats(4)
  for i in range(0, len(x), 30_000):  # Uneven batches.
    sx.update(x[i : i + 30_000])
    sy.update(y[i : i + 30_000])
  np.testing.assert_allclose(sx.mean, x.astype(np.float64).mean(0), atol=1e-9)
  np.testing.assert_allclose(sx.cov, np.cov(x.astype(np.float64).T), atol=1e-9)
  expected = np.sum((mu1 - mu2) ** 2) + np.sum(a + b - 2 * np.sqrt(a * b))
  assert fid.frechet_distance_of(sx, sy) == pytest.approx(expected, rel=0.02)
  assert abs(fid.frechet_distance_of(sx, sx)) < 1e-6


def test_singular_covariances_give_a_finite_distance():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(5, 16))  # 5 samples in 16-d: rank-deficient.
  y = rng.normal(size=(5, 16)) + 1.0
  value = fid.frechet_distance(x.mean(0), np.cov(x.T), y.mean(0), np.cov(y.T))
  assert np.isfinite(value) and value > 0


def test_kid_is_near_zero_for_one_distribution_and_positive_for_a_shift():
  rng = np.random.default_rng(3)
  a, b = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
  same, same_std = kid.kid(a, b, num_subsets=20, subset_size=500)
  shifted, _ = kid.kid(a, b + 0.5, num_subsets=20, subset_size=500)
  assert abs(same) < 3 * same_std + 1e-3
  assert shifted > 50 * max(abs(same), 1e-4)


def test_kid_mmd_equals_a_hand_computed_value():
  x = np.array([[1.0], [0.0]])
  y = np.array([[2.0], [1.0]])
  k = lambda u, v: (u * v + 1) ** 3  # d = 1.
  xx, yy = 2 * k(1, 0), 2 * k(2, 1)
  xy = k(1, 2) + k(1, 1) + k(0, 2) + k(0, 1)
  expected = (xx + yy) / 2 - 2 * xy / 4
  assert kid.mmd2_unbiased(x, y) == pytest.approx(expected)


def test_inception_score_extremes():
  constant = np.tile(np.array([[0.3, -1.0, 2.0]]), (100, 1))
  assert inception_score.inception_score(constant)[0] == pytest.approx(1.0)
  n = 5  # One-hot (very confident) predictions, each class equally often.
  one_hot = np.eye(n)[np.arange(200) % n] * 100.0
  mean, std = inception_score.inception_score(one_hot, splits=10)
  assert mean == pytest.approx(n, rel=1e-6) and std < 1e-6


def test_precision_recall_on_constructed_sets():
  rng = np.random.default_rng(4)
  cluster_a = rng.normal(size=(100, 2))
  cluster_b = rng.normal(size=(100, 2)) + 50.0
  real = np.concatenate([cluster_a, cluster_b])
  # Samples that are exactly the real points of one mode: perfect quality,
  # half the coverage.
  assert precision_recall.precision_recall(real, cluster_a) == (1.0, 0.5)
  # Far from everything: neither.
  far = rng.normal(size=(100, 2)) - 50.0
  assert precision_recall.precision_recall(real, far) == (0.0, 0.0)
  # The same set: both 1.
  assert precision_recall.precision_recall(real, real) == (1.0, 1.0)


def test_knn_radius_is_the_kth_neighbour():
  x = np.array([[0.0], [1.0], [3.0], [6.0]])
  # Neighbours of 0: 1, 3, 6 -> k=2 gives 3^2.
  np.testing.assert_allclose(
      precision_recall.knn_radii(x, k=2), [9.0, 4.0, 9.0, 25.0]
  )


def test_density_and_coverage_by_hand():
  # Real points on a line, k = 2: radii (squared) 9, 4, 9, 25 as above.
  real = np.array([[0.0], [1.0], [3.0], [6.0]])
  # f0 = 0.5 lies in the balls of 0 (r 3), 1 (r 2) and 3 (r 3): 3 balls.
  # f1 = 10 lies in the ball of 6 only (r 5: |10 - 6| = 4 <= 5): 1 ball.
  # f2 = 100 lies in none.
  fake = np.array([[0.5], [10.0], [100.0]])
  density, coverage = precision_recall.density_coverage(real, fake, k=2)
  assert density == pytest.approx((3 + 1 + 0) / (2 * 3))
  # Real balls holding a generated sample: those of 0, 1, 3 and 6.
  assert coverage == 1.0
  # Without f0 only the ball of 6 is covered.
  density, coverage = precision_recall.density_coverage(real, fake[1:], k=2)
  assert (density, coverage) == (pytest.approx(1 / 4), 0.25)
  # Blocks of rows give the same counts.
  assert precision_recall.density_coverage(
      real, fake, k=2, block=1
  ) == precision_recall.density_coverage(real, fake, k=2)


def test_density_is_robust_to_an_outlier_where_precision_is_not():
  # Naeem et al.'s point: one far real outlier inflates its ball, so
  # precision counts junk as real; density weighs it by one ball in k.
  rng = np.random.default_rng(5)
  real = np.concatenate([rng.normal(size=(200, 2)), [[40.0, 40.0]]])
  junk = rng.normal(size=(200, 2)) * 3 + 20.0
  precision, _ = precision_recall.precision_recall(real, junk, k=5)
  density, coverage = precision_recall.density_coverage(real, junk, k=5)
  assert precision > 0.5 and density < 0.25 and coverage < 0.05
