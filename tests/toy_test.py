"""The 2-D mixtures and the mode-coverage metrics (published definitions)."""

import math

import numpy as np
import pytest

from jaxgan.data import sources, toy
from jaxgan.core.errors import DataError
from jaxgan.metrics import modes

RING, GRID = toy.MIXTURES["ring8"], toy.MIXTURES["grid25"]


def test_mixture_geometry():
  np.testing.assert_allclose(np.linalg.norm(RING.centres, axis=1), 2.0)
  assert RING.std == 0.02 and len(RING.centres) == 8
  assert sorted(set(GRID.centres[:, 0].tolist())) == [-4, -2, 0, 2, 4]
  assert GRID.std == 0.05 and len(GRID.centres) == 25


def test_source_is_fixed_and_distributed_as_the_mixture():
  a, b = toy.ToySource("ring8"), toy.ToySource("ring8")
  assert len(a) == 100_000
  np.testing.assert_array_equal(a.points, b.points)
  example = a[3]
  assert example["point"].shape == (2,) and example["point"].dtype == np.float32
  offsets = a.points - RING.centres[a.labels]
  np.testing.assert_allclose(offsets.std(axis=0), 0.02, rtol=0.02)
  np.testing.assert_allclose(np.bincount(a.labels) / len(a), 1 / 8, atol=0.01)


def test_unknown_toy_is_a_data_error():
  with pytest.raises(DataError, match="toy:grid25"):
    toy.get_mixture("ring9")


def test_real_data_scores_perfectly():
  src = toy.ToySource("grid25")
  m = modes.mode_metrics(src.points[:2500], GRID)
  assert m["modes"] == 25
  # Within 3 std in 2-D: P(chi2_2 < 9) = 1 - exp(-4.5) = 98.9%.
  assert abs(m["high_quality"] - (1 - math.exp(-4.5))) < 0.01
  assert m["reverse_kl"] < 0.02


def test_hand_made_samples():
  c = RING.centres
  # 3 points near mode 0 (0, 2.5 and 1.5 std off), 1 on mode 1, 1 far away
  # (between modes 0 and 1), 1 at 3.5 std (0.05 in both coordinates).
  samples = np.stack(
      [
          c[0],
          c[0] + [0.05, 0.0],
          c[0] - [0.0, 0.03],
          c[1],
          (c[0] + c[1]) / 2,
          c[0] + 0.05,
      ]
  )
  m = modes.mode_metrics(samples, RING)
  assert m["modes"] == 2 and m["counts"][:2] == [3, 1]
  assert m["high_quality"] == 4 / 6
  p = np.array([0.75, 0.25])
  np.testing.assert_allclose(m["reverse_kl"], np.sum(p * np.log(p * 8)))
  # Total collapse onto one mode: reverse KL = log 8.
  m = modes.mode_metrics(np.repeat(c[:1], 10, axis=0), RING)
  assert m["modes"] == 1
  np.testing.assert_allclose(m["reverse_kl"], math.log(8))
  # NaNs (a diverged generator) count as low quality, not as a mode.
  m = modes.mode_metrics(np.full((4, 2), np.nan), RING)
  assert m["modes"] == 0 and m["high_quality"] == 0.0


def test_data_shape():
  import ml_collections  # pylint: disable=g-import-not-at-top

  cfg = ml_collections.ConfigDict(
      dict(source="toy:ring8", image_size=32, channels=1)
  )
  assert sources.data_shape(cfg) == (2,)
