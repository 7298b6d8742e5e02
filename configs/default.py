"""Defaults for every jaxgan experiment; other configs import and override.

Launch (any config): python -m jaxgan.main --config=configs/<name>.py \
    --workdir=DIR [--config.a.b=v ...]
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0  # Parameters, noise, dropout and data order all derive from it.

  config.data = ml_collections.ConfigDict()
  # '<kind>:<arg>': idx:<dir> (MNIST-format IDX files), tfds:<name> (prepared
  # TFDS dataset), folder:<dir> (PNG/JPEG files).
  config.data.source = "idx:/usr/share/datasets/fashion-mnist"
  config.data.split = "train"
  config.data.image_size = 32  # Square output resolution: 28, 32, 64, 128.
  config.data.channels = 1
  # 'pad' | 'resize' | 'center_crop_resize' | 'none' (see data/pipeline.py).
  config.data.preprocess = "pad"
  config.data.crop_size = 0  # center_crop_resize: 0 = the shorter side.
  config.data.tfds_data_dir = ml_collections.config_dict.placeholder(str)
  config.data.num_threads = 2  # grain reader threads.
  config.data.prefetch = 4  # Batches read ahead.

  config.model = ml_collections.ConfigDict()
  config.model.name = "dcgan"  # 'dcgan' | 'mlp'
  config.model.z_dim = 100
  config.model.noise = "normal"  # 'normal' N(0, 1) | 'uniform' U(-1, 1)
  config.model.g_width = 64  # DCGAN: channels of G's last hidden layer (ngf).
  config.model.d_width = 64  # DCGAN: channels of D's first layer (ndf).
  config.model.init_std = 0.02
  # Batch-norm statistics: False = per device (like PyTorch DDP without
  # SyncBatchNorm), True = over the global batch (pmean across devices; the
  # result is then independent of the device count).
  config.model.bn_cross_device = False
  config.model.ema_decay = 0.0  # Generator EMA; 0 = off (EMA = live G).

  config.loss = ml_collections.ConfigDict()
  # 'minimax' | 'non_saturating' | 'least_squares' | 'hinge' |
  # 'relativistic_average' (jaxgan/losses.py).
  config.loss.name = "non_saturating"

  config.optim = ml_collections.ConfigDict()
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.optim.b2 = 0.999

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 128  # Global, over all devices and processes.
  config.train.num_steps = 10_000  # Iterations (d_steps D + 1 G update each).
  config.train.d_steps = 1  # k of Goodfellow et al. 2014, Algorithm 1.
  config.train.log_every_steps = 50
  config.train.sample_every_steps = 500
  config.train.num_sample_images = 64  # Fixed-noise grid size.

  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.every_steps = 1000
  config.checkpoint.max_to_keep = 3
  config.checkpoint.async_save = True
  return config
