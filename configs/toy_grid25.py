"""Mode collapse on a 5x5 grid of Gaussians at {-4,-2,0,2,4}^2, std 0.05.

Launch:
  python -m jaxgan.main --config=configs/toy_grid25.py --workdir=runs/grid25

Networks of PacGAN's 2-D experiments (Lin et al. 2018; models/toy.py): G 4 x
400 ReLU + batch norm from a 2-D Gaussian z, D 3 x 200 maxout(5). PacGAN
trains with Adam 1e-4 / beta1 0.8 at batch 100 for 400 epochs of 100,000
points (400k iterations); jaxgan's default reaches full coverage far sooner
with a larger learning rate and batch (measured numbers in the README).
Evaluated every eval.every_steps on 2,500 samples: modes covered, high-quality
fraction, reverse KL (metrics/modes.py); scatter plots in samples/.
"""

from configs import default, paper_losses


def get_config(loss: str | None = None):
  config = default.get_config()
  config.data.source = "toy:grid25"
  config.data.num_threads = 1
  config.model.name = "toy_mlp"
  config.model.z_dim = 2
  config.model.g_width = 400
  config.model.d_width = 200
  config.loss.name = "non_saturating"
  config.model.ema_decay = 0.999
  config.optim.schedule = "linear"
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.train.batch_size = 100
  config.train.num_steps = 20_000
  config.train.log_every_steps = 1000
  config.train.sample_every_steps = 5000
  config.eval.every_steps = 5000
  config.checkpoint.every_steps = 5000
  if loss:
    paper_losses.apply(config, loss)
  return config
