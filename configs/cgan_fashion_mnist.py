"""Conditional DCGAN on Fashion-MNIST: the one-hot label joined to z and to
D's input (Mirza & Osindero 2014, with the DCGAN of dcgan_fashion_mnist.py).

Launch:
  python -m jaxgan.main --config=configs/cgan_fashion_mnist.py \
      --workdir=runs/cgan_fashion_mnist --config.eval.classifier=DIR

DIR is a Fashion-MNIST domain classifier (python -m jaxgan.classifier
--data.source=idx:/usr/share/datasets/fashion-mnist --workdir=DIR); with it
the final evaluation reports `class_accuracy` (samples asked for class c
that it classifies as c) and the per-class FD. The sample grids have one
class per row (10 x 10). Other conditioning: --config.model.conditioning=
projection (conditional batch norm + projection D) or acgan
(configs/acgan_fashion_mnist.py).

Expected (measured on 2 CPU cores, see the closing numbers of issue 7 in
README.md): class_accuracy 0.XX after 3,000 iterations (~X minutes).
"""

from configs import dcgan_fashion_mnist


def get_config():
  config = dcgan_fashion_mnist.get_config()
  config.model.conditioning = "concat"
  config.model.num_classes = 10
  config.train.num_sample_images = 100  # One row per class.
  return config
