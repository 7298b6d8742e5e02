"""BigGAN (Brock et al. 2019), class-conditional, on Fashion-MNIST, sized
for 2 CPU cores.

Launch:
  python -m jaxgan.main --config=configs/biggan_fashion_mnist.py \
      --workdir=runs/biggan_fashion_mnist
  python -m jaxgan.sample --workdir=runs/biggan_fashion_mnist \
      --out=grid.png --truncation=0.5
  python -m jaxgan.evaluate --workdir=runs/biggan_fashion_mnist \
      --truncation_sweep=0.25,0.5,0.75,1,1.5,none

configs/biggan_cifar10.py at a quarter of its width: a shared class
embedding of 128, z 128 in 4 chunks, class-conditional batch norms with
linear (spectrally normalised) gains and biases, G and D of 64 channels
with spectral norm, projection D, orthogonal regulariser 1e-4, hinge loss,
Adam (0, 0.999) lr 2e-4, 4 D updates per G update, G EMA 0.999 (the
paper's 0.9999 averages over more iterations than this run has). The grids
show one class per row.

Data: Debian's dataset-fashion-mnist with its labels, 28x28 centre-padded
to 32x32; the Fashion-MNIST classifier that ships with jaxgan measures
class accuracy and per-class FD.

Cost and results on 2 CPU cores: docs/results.md, "The ResNet family".
"""

from configs import cgan_fashion_mnist


def get_config():
  config = cgan_fashion_mnist.get_config()
  config.model.name = "biggan"
  config.model.conditioning = "projection"
  config.model.z_dim = 128
  config.model.g_width = 16
  config.model.d_width = 16
  config.model.shared_dim = 128
  config.model.g_spectral_norm = True
  config.model.d_spectral_norm = True
  config.model.ema_decay = 0.999
  config.loss.name = "hinge"
  config.loss.ortho_reg = 1e-4
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.0
  config.optim.b2 = 0.999
  config.train.d_steps = 4
  config.train.batch_size = 64
  config.train.num_steps = 3000
  return config
