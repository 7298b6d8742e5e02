"""Auxiliary-classifier GAN on Fashion-MNIST (Odena et al. 2017), DCGAN-32.

Launch:
  python -m jaxgan.main --config=configs/acgan_fashion_mnist.py \
      --workdir=runs/acgan_fashion_mnist

G takes the one-hot label with z; D is unconditional with a second head
that classifies real and generated images (loss.acgan_weight x the class
cross-entropy, added to D's and G's losses). The Fashion-MNIST classifier
that ships with jaxgan measures `class_accuracy` and the per-class FD.

Measured (2 CPU cores, a machine on which dcgan_fashion_mnist.py runs at
~2.3 iterations/s, the test suite sharing the cores; 10,000 samples):
after 1,000 iterations (--config.train.num_steps=1000, 1,129 s)
class_accuracy 0.611, FD 39.0, per-class FD 124.4; the concat cGAN had
0.783, 21.9 and 34.9 at that point. The 3,000 iterations of this config
were not measured.
"""

from configs import dcgan_fashion_mnist


def get_config():
  config = dcgan_fashion_mnist.get_config()
  config.model.conditioning = "acgan"
  config.model.num_classes = 10
  config.loss.acgan_weight = 1.0
  config.train.num_sample_images = 100  # One row per class.
  return config
