"""Mode coverage on the 2-D Gaussian mixtures (data/toy.py).

The published definitions, as in PacGAN's released code (Lin et al. 2018,
github.com/fjxmlzn/PacGAN, synthetic_data_experiments/PacGAN/pacgan/
extensions.py, `MetricLogger`), which follows VEEGAN (Srivastava et al. 2017):

- each sample is assigned to its nearest mode centre; it is *high quality*
  if it lies within 3 standard deviations of that centre (distance / std < 3);
- a mode is *covered* if at least one high-quality sample is assigned to it;
- *reverse KL* is KL(p_hat || uniform) of the histogram p_hat of the
  high-quality samples over the modes (PacGAN, Table 1); 0 when the samples
  are spread evenly over all modes, log(M) when one mode takes them all.
Both papers evaluate 2,500 samples.
"""

from typing import Any

import numpy as np

from jaxgan.data import toy


def mode_metrics(
    samples: np.ndarray, mixture: toy.Mixture, threshold: float = 3.0
) -> dict[str, Any]:
  """Returns modes covered, high-quality fraction, reverse KL and counts.

  Args:
    samples: (N, 2) generated points.
    mixture: the true mixture (centres and std).
    threshold: the high-quality radius in standard deviations.
  """
  samples = np.asarray(samples, np.float64)
  if samples.ndim != 2 or samples.shape[1] != mixture.centres.shape[1]:
    raise ValueError(
        f"samples of shape {samples.shape}; expected (N, "
        f"{mixture.centres.shape[1]})"
    )
  d2 = ((samples[:, None, :] - mixture.centres[None, :, :]) ** 2).sum(-1)
  nearest = d2.argmin(axis=1)
  distance = np.sqrt(d2[np.arange(len(samples)), nearest]) / mixture.std
  # NaN samples (a diverged G) are neither close nor assigned.
  good = np.isfinite(distance) & (distance < threshold)
  counts = np.bincount(nearest[good], minlength=mixture.num_modes)
  total = counts.sum()
  if total:
    p = counts / total
    nz = p > 0
    reverse_kl = float(np.sum(p[nz] * np.log(p[nz] * mixture.num_modes)))
  else:
    reverse_kl = float("inf")  # No high-quality sample at all.
  return {
      "modes": int(np.count_nonzero(counts)),
      "num_modes": mixture.num_modes,
      "high_quality": float(total / len(samples)),
      "reverse_kl": reverse_kl,
      "counts": counts.tolist(),
  }
