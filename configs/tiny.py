"""A tiny DCGAN for tests: 28x28x1 via padding to 32, widths 4, batch 8.

Launch (seconds on 2 CPU cores):
  python -m jaxgan.main --config=configs/tiny.py --workdir=/tmp/tiny
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.image_size = 32
  config.data.channels = 1
  config.data.preprocess = "pad"
  config.data.num_threads = 1
  config.data.prefetch = 2
  config.model.z_dim = 8
  config.model.g_width = 4
  config.model.d_width = 4
  config.train.batch_size = 8
  config.train.num_steps = 6
  config.train.log_every_steps = 2
  config.train.sample_every_steps = 3
  config.train.num_sample_images = 4
  config.checkpoint.every_steps = 3
  return config
