"""Inception Score (Salimans et al. 2016) of class probabilities.

IS = exp(E_x KL(p(y|x) || p(y))), computed on `splits` equal parts of the
samples as in the original code (10 splits), reported as mean and std over
the parts. With Inception's logits it is the IS; with a domain classifier's
it is that classifier's "classifier score" and only comparable with itself.
It is 1 when every sample gets the same distribution and N for N classes
predicted with certainty and equally often.
"""

import numpy as np
from scipy import special


def inception_score(
    logits: np.ndarray, splits: int = 10
) -> tuple[float, float]:
  """(mean, std) over `splits` parts of exp(E KL(p(y|x) || p(y)))."""
  logits = np.asarray(logits, np.float64)
  if len(logits) < splits:
    raise ValueError(f"{len(logits)} samples for {splits} splits")
  log_p = special.log_softmax(logits, axis=1)
  scores = []
  for part in np.array_split(log_p, splits):
    log_marginal = special.logsumexp(part, axis=0) - np.log(len(part))
    kl = np.sum(np.exp(part) * (part - log_marginal), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))
