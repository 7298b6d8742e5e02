"""Mode collapse on a 5x5 grid of Gaussians at {-4,-2,0,2,4}^2, std 0.05.

Launch:
  python -m jaxgan.main --config=configs/toy_grid25.py --workdir=runs/grid25
  python -m jaxgan.main --config=configs/toy_grid25.py:wgan_gp --workdir=...

The same networks and training as configs/toy_ring8.py (see there), on the
grid, plus the R1 penalty (Mescheder et al. 2018) with gamma 1 (measured,
20k iterations: without R1 22-23/25 modes; gamma 0.1 gave 25, 21 and 25
over seeds 0-2; gamma 1 gave 25/25 on seeds 1 and 2), applied lazily (one
iteration in 4 at 4x the weight, as StyleGAN2), with Adam 8e-4 / beta1 0.5
decayed linearly to 0 over 35k iterations. Measured alone on 2 CPU cores,
seeds 0-2: 25/25 modes, 96.4%, 94.1% and 96.2% high quality, reverse KL
0.006, 0.008 and 0.007, in 532-538 s a run (PacGAN4: 24.8, 93.6%, 0.04).
At 20k iterations and Adam 2e-4 the same networks reached 78-82%; lr 4e-4
on seed 1 gave 94.3% at 32k against lr 8e-4's 95.4%. A config argument
(e.g. :wgan_gp) takes that loss's paper settings instead (its learning
rates, R1 every iteration). Measured numbers in docs/results.md.
"""

from configs import paper_losses, toy_ring8


def get_config(loss: str | None = None):
  config = toy_ring8.get_config()
  config.data.source = "toy:grid25"
  config.penalty.name = "r1"
  config.penalty.weight = 1.0
  config.train.num_steps = 35_000
  if loss:
    paper_losses.apply(config, loss)
  else:
    config.penalty.every = 4  # Lazy R1 (StyleGAN2's): 1 step in 4, x4.
    config.optim.g_lr = 8e-4
    config.optim.d_lr = 8e-4
  return config
