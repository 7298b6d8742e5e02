"""2-D Gaussian mixtures for the mode-collapse benchmark (`toy:<name>`).

- `ring8`: 8 Gaussians evenly spaced on a circle of radius 2, std 0.02
  (Metz et al. 2016, Unrolled GANs; Srivastava et al. 2017, VEEGAN).
- `grid25`: 25 Gaussians on the grid {-4, -2, 0, 2, 4}^2, std 0.05
  (VEEGAN; Lin et al. 2018, PacGAN).

The mixtures are uniform over their modes. A source holds `num_points` draws
made once from a fixed seed (PacGAN draws 100,000 training points the same
way), so a toy dataset behaves like any other finite dataset: the pipeline
shuffles it per epoch and resumes from `data_pos`.
"""

import dataclasses
from typing import Any, Sequence

import numpy as np

from jaxgan.core.errors import DataError

DATA_SEED = 1234  # The dataset is fixed, like a file on disk.


@dataclasses.dataclass(frozen=True)
class Mixture:
  """An isotropic, uniformly weighted Gaussian mixture in 2-D."""

  centres: np.ndarray  # (M, 2) float64
  std: float

  @property
  def num_modes(self) -> int:
    return len(self.centres)

  @property
  def scale(self) -> float:
    """The data's standard deviation per coordinate (centres and noise)."""
    return float(np.sqrt(np.mean(self.centres**2) + self.std**2))

  def sample(
      self, rng: np.random.Generator, num: int
  ) -> tuple[np.ndarray, np.ndarray]:
    """Returns float32 points (num, 2) and their int32 mode indices (num,)."""
    modes = rng.integers(0, self.num_modes, num)
    noise = rng.normal(0.0, self.std, (num, 2))
    return (
        (self.centres[modes] + noise).astype(np.float32),
        modes.astype(np.int32),
    )


def _ring(num_modes: int, radius: float, std: float) -> Mixture:
  angles = 2 * np.pi * np.arange(num_modes) / num_modes
  centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  return Mixture(centres, std)


def _grid(side: int, spacing: float, std: float) -> Mixture:
  coords = spacing * (np.arange(side) - (side - 1) / 2)
  xs, ys = np.meshgrid(coords, coords, indexing="ij")
  return Mixture(np.stack([xs.ravel(), ys.ravel()], axis=1), std)


MIXTURES: dict[str, Mixture] = {
    "ring8": _ring(8, radius=2.0, std=0.02),
    "grid25": _grid(5, spacing=2.0, std=0.05),
}


def get_mixture(name: str) -> Mixture:
  if name not in MIXTURES:
    raise DataError(
        f"data.source='toy:{name}' is unknown; use one of "
        f"{['toy:' + n for n in sorted(MIXTURES)]}"
    )
  return MIXTURES[name]


class ToySource(Sequence):
  """`num_points` fixed draws from a mixture; src[i] -> {'point', 'label'}."""

  def __init__(self, name: str, num_points: int = 100_000):
    self.name = name
    self.mixture = get_mixture(name)
    self.points, self.labels = self.mixture.sample(
        np.random.default_rng(DATA_SEED), num_points
    )

  def __len__(self) -> int:
    return len(self.points)

  def __getitem__(self, i: int) -> dict[str, Any]:
    return {"point": self.points[i], "label": self.labels[i]}
