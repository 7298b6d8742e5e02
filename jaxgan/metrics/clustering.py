"""Accuracy of an unsupervised clustering against labels (InfoGAN's c1).

The clusters carry no class names, so each cluster is matched to one class by
the one-to-one assignment that maximises the number of agreements (the
Hungarian method, scipy's `linear_sum_assignment`), as in the evaluation of
InfoGAN's categorical code on MNIST (Chen et al. 2016, Sec. 7.1: 5% error).
"""

import numpy as np
from scipy import optimize


def matched_accuracy(
    clusters: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray]:
  """Returns (accuracy, mapping) of the best one-to-one cluster->class map.

  Args:
    clusters: (N,) int cluster index per example.
    labels: (N,) int true class per example.

  Returns:
    The fraction of examples whose cluster maps to their class, and
    mapping[c] = the class of cluster c (-1 for a cluster left unmatched
    when there are more clusters than classes).
  """
  clusters, labels = np.asarray(clusters), np.asarray(labels)
  k, n = int(clusters.max()) + 1, int(labels.max()) + 1
  counts = np.zeros((k, n), np.int64)
  np.add.at(counts, (clusters, labels), 1)
  rows, cols = optimize.linear_sum_assignment(counts, maximize=True)
  mapping = np.full(k, -1)
  mapping[rows] = cols
  return float(counts[rows, cols].sum() / len(labels)), mapping
