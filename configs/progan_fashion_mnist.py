"""Progressive growing (Karras et al. 2018) on Fashion-MNIST, 4x4 -> 32x32.

Launch:
  python -m jaxgan.main --config=configs/progan_fashion_mnist.py \
      --workdir=runs/progan_fashion_mnist

The paper's training setup at a size that finishes on 2 CPU cores: WGAN-GP
(lambda 10) with the drift term (0.001 E[D(x)^2]), Adam lr 1e-3, beta1 0,
beta2 0.99, eps 1e-8, one D step per G step, fresh Adam states at every
stage; G and D of the paper's architecture (pixel norm,
equalised learning rate, minibatch stddev) with widths 32 instead of 512
(width 64 measured 2.3 s per iteration at 32x32 here, an hour in all) and
z 128 instead of 512, and phases of 40,000 images instead of 800,000: 4x4,
then a fade-in and a stabilisation at 8, 16 and 32, the last one as long as
the others (4,375 iterations of batch 64). The generator EMA decays by
0.995 per iteration instead of 0.999: the paper's phases are 50,000
iterations, ours 625, and a new resolution's layers must reach the EMA
within their phase (with 0.999 they were still 53% of their initial
values at the end of it: FD 232 for the EMA generator against 40 for the
raw one, measured). 0.995 halves in 138 iterations (8,800 images),
StyleGAN2-ADA's 10,000-image half-life.

Data: Debian's dataset-fashion-mnist, 28x28 centre-padded to 32x32 as for the
default DCGAN. The Fashion-MNIST classifier that ships with jaxgan evaluates
the EMA generator at the end.

Cost on 2 CPU cores: see benchmarks/BENCHMARKS.md ("Progressive growing"):
python benchmarks/progan_stages.py times every stage's step and compilation.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "idx:/usr/share/datasets/fashion-mnist"
  config.data.image_size = 32
  config.data.channels = 1
  config.data.preprocess = "pad"
  config.model.name = "progan"
  config.model.z_dim = 128
  config.model.g_width = 32
  config.model.d_width = 32
  config.model.ema_decay = 0.995  # See above.
  config.loss.name = "wgan_gp"  # Its penalty: penalty.weight = 10.
  config.penalty.weight = 10.0
  config.loss.drift = 0.001
  config.optim.g_lr = 1e-3
  config.optim.d_lr = 1e-3
  config.optim.b1 = 0.0
  config.optim.b2 = 0.99
  config.train.d_steps = 1
  config.train.batch_size = 64
  config.progan.images_per_phase = 40_000
  config.progan.batch_sizes = ""  # Batch 64 at every resolution.
  # 7 phases of ceil(40,000 / 64) = 625 iterations.
  config.train.num_steps = 7 * 625
  config.train.log_every_steps = 50
  config.train.sample_every_steps = 625
  config.checkpoint.every_steps = 625
  config.eval.num_samples = 10_000
  return config
