"""Conditional DCGAN on Fashion-MNIST: the one-hot label joined to z and to
D's input (Mirza & Osindero 2014, with the DCGAN of dcgan_fashion_mnist.py).

Launch:
  python -m jaxgan.main --config=configs/cgan_fashion_mnist.py \
      --workdir=runs/cgan_fashion_mnist

The Fashion-MNIST classifier that ships with jaxgan measures it (another one:
--config.eval.classifier=DIR); the final evaluation reports
`class_accuracy` (samples asked for class c that it classifies as c) and
the per-class FD. The sample grids have one
class per row (10 x 10). Other conditioning: --config.model.conditioning=
projection (conditional batch norm + projection D) or acgan
(configs/acgan_fashion_mnist.py).

Measured (2 CPU cores of an AMD EPYC machine on which the unconditional
dcgan_fashion_mnist.py runs at ~2.3 iterations/s, a third of the Quickstart
machine's speed; classifier from `python -m jaxgan.classifier` with its
defaults, 90.9% test accuracy; 10,000 samples, 1,000 per class):

| iteration | class_accuracy | FD-fashion_mnist | per-class FD (mean) |
| --- | --- | --- | --- |
| 1,000 | 0.783 | 21.94 | 34.91 |
| 2,000 | 0.831 | 9.04 | 18.03 |
| 3,000 | 0.849 | 6.06 | 12.91 |

3,000 iterations took 1,466 s there (~2.2 iterations/s, evaluations
included).
"""

from configs import dcgan_fashion_mnist


def get_config():
  config = dcgan_fashion_mnist.get_config()
  config.model.conditioning = "concat"
  config.model.num_classes = 10
  config.train.num_sample_images = 100  # One row per class.
  return config
