"""The domain classifier's network: the offline feature extractor.

A small CNN for labelled image datasets (jaxgan/metrics/feature_net_training.py
trains it): three conv + max-pool stages, a 128-unit feature layer whose
activations are the features of "FD-<dataset>", KID and precision/recall,
and the class logits (classifier score, class coverage). The last conv
stage's activations (before its pooling) are sown as "content": SRGAN's
content features when the classifier stands in for VGG (loss.recon=
'classifier').
"""

import flax.linen as nn
import jax

FEATURE_DIM = 128
CHANNELS = (16, 32, 64)
CONTENT = "content"


class Classifier(nn.Module):
  """Three conv + max-pool stages, a 128-unit feature layer, the logits."""

  num_classes: int

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """x: float images in [-1, 1], (N, H, W, C) -> (features, logits)."""
    for i, ch in enumerate(CHANNELS):
      x = nn.relu(nn.Conv(ch, (3, 3))(x))
      if i == len(CHANNELS) - 1:
        self.sow("intermediates", CONTENT, x)
      x = nn.max_pool(x, (2, 2), (2, 2))
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(nn.Dense(FEATURE_DIM)(x))
    return features, nn.Dense(self.num_classes)(features)
