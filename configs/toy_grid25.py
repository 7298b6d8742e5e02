"""Mode collapse on a 5x5 grid of Gaussians at {-4,-2,0,2,4}^2, std 0.05.

Launch:
  python -m jaxgan.main --config=configs/toy_grid25.py --workdir=runs/grid25
  python -m jaxgan.main --config=configs/toy_grid25.py:wgan_gp --workdir=...

The same networks and training as configs/toy_ring8.py (see there), on the
grid, plus the R1 penalty (Mescheder et al. 2018) with gamma 1 (measured,
20k iterations: without R1 22-23/25 modes; gamma 0.1 gave 25, 21 and 25
over seeds 0-2; gamma 1 gave 25/25 on seeds 1 and 2). Measured numbers in
the README.
"""

from configs import paper_losses, toy_ring8


def get_config(loss: str | None = None):
  config = toy_ring8.get_config()
  config.data.source = "toy:grid25"
  config.penalty.name = "r1"
  config.penalty.weight = 1.0
  if loss:
    paper_losses.apply(config, loss)
  return config
