"""DCGAN on Fashion-MNIST, 28x28 padded to 32x32x1: the Quickstart default.

Launch:
  python -m jaxgan.main --config=configs/dcgan_fashion_mnist.py \
      --workdir=runs/dcgan_fashion_mnist

Data: the Debian package dataset-fashion-mnist (IDX files in
/usr/share/datasets/fashion-mnist; scripts/setup.sh --data installs it).
The 28x28 images are centre-padded with black to 32x32, which keeps the
DCGAN 4 -> 8 -> 16 -> 32 ladder and loses no pixel (resizing would blur).
DCGAN hyper-parameters (Adam 2e-4, beta1 0.5, z 100, N(0, 0.02) init, widths
64: G 256-128-64-1, D 64-128-256) with batch 64.

Other losses with their papers' settings (configs/paper_losses.py) take the
loss name as the config argument, e.g. --config=configs/dcgan_fashion_mnist.py:wgan_gp
(minimax, non_saturating, wgan, wgan_gp, least_squares, dragan, hinge,
relativistic_average, began).

Evaluated every 1,000 iterations on 10,000 samples against the 10,000 test
images with the Fashion-MNIST classifier that ships with jaxgan
(jaxgan/assets/classifiers/fashion_mnist_32; FD-fashion_mnist, KID,
classifier score, precision/recall, density/coverage, class coverage), each
score printed beside what real training images score; the curves are drawn
to <workdir>/metrics.png.

Cost on 2 CPU cores (measured): ~7.3 iterations/s (~470 img/s), 3,000
iterations in 7 minutes plus ~20 s of setup and compilation; garments are
recognisable in the sample grids from iteration ~1,250.
"""

from configs import default, paper_losses


def get_config(loss: str | None = None):
  config = default.get_config()
  config.data.source = "idx:/usr/share/datasets/fashion-mnist"
  config.data.image_size = 32
  config.data.channels = 1
  config.data.preprocess = "pad"
  config.model.name = "dcgan"
  config.model.g_width = 64
  config.model.d_width = 64
  config.train.batch_size = 64
  config.train.num_steps = 3000
  config.train.log_every_steps = 50
  config.train.sample_every_steps = 250
  config.checkpoint.every_steps = 500
  config.eval.every_steps = 1000
  config.eval.num_samples = 10_000
  if loss:
    paper_losses.apply(config, loss)
  return config
