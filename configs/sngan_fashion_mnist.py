"""SNGAN's ResNet (Miyato et al. 2018) on Fashion-MNIST, sized for 2 CPU cores.

Launch:
  python -m jaxgan.main --config=configs/sngan_fashion_mnist.py \
      --workdir=runs/sngan_fashion_mnist

The paper's CIFAR-10 ResNet (configs/sngan_cifar10.py) at a quarter of its
width: G z 128 -> 4x4x64 -> three up-blocks of 64 channels -> BN, ReLU, conv
3x3, tanh; D an optimised block and three blocks of 32 channels, all spectrally
normalised, ReLU, global sum pooling, linear. The paper's training setup
otherwise (hinge loss, Adam lr 2e-4 with betas (0, 0.9), batch 64, the learning
rate decayed linearly to 0 over the run) but for 2 D updates per G update
instead of 5, chosen by measurement on 2 CPU cores: after ~400 s of training FD
132 with 2 D updates (300 iterations) against 191 for 1 D update with TTUR (G
1e-4, D 4e-4, betas (0, 0.999); 400 iterations) and 207 for the paper's 5 (50
iterations at 136 s; docs/results.md, "The ResNet family").

Data: Debian's dataset-fashion-mnist, 28x28 centre-padded to 32x32 as for
the default DCGAN; the Fashion-MNIST classifier that ships with jaxgan
evaluates it.

Cost and results on 2 CPU cores: docs/results.md, "The ResNet family".
"""

from configs import dcgan_fashion_mnist


def get_config():
  config = dcgan_fashion_mnist.get_config()
  config.model.name = "sngan"
  config.model.z_dim = 128
  config.model.g_width = 16  # G 64 channels (the paper's 256: width 64).
  config.model.d_width = 16  # D 32 channels (the paper's 128).
  config.model.d_spectral_norm = True
  config.loss.name = "hinge"
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.0
  config.optim.b2 = 0.9
  config.optim.schedule = "linear"
  config.train.d_steps = 2  # The paper's 5 is too slow for 2 cores.
  config.train.batch_size = 64
  config.train.num_steps = 3000
  return config
