"""Progressive growing (Karras et al. 2018) on CelebA, 4x4 -> 128x128.

Launch:
  python -m jaxgan.main --config=configs/progan_celeba.py \
      --workdir=runs/progan_celeba
  # or with a manual download of img_align_celeba:
  python -m jaxgan.main --config=configs/progan_celeba.py \
      --workdir=runs/progan_celeba \
      --config.data.source=folder:/path/to/img_align_celeba

The paper's setup: G and D of widths 512 (512 channels up to 32x32, then
256 and 128), z 512, WGAN-GP (lambda 10) with the drift term
(0.001 E[D(x)^2]), Adam lr 1e-3, beta1 0, beta2 0.99, eps 1e-8, n_critic 1,
generator EMA 0.999, phases of 800,000 images, fresh Adam states at every
stage, and the paper's code's smaller batches at high resolution (16 at
128x128).

Data: TFDS `celeb_a`, prepared once with TensorFlow on a machine with
internet (`pip install tensorflow && tfds build celeb_a
--file_format=array_record`), as for dcgan_celeba.py; images (218x178) are
centre-cropped to 178x178 and resized to 128x128.

Cost: 10 phases of 800k images before the final stabilisation, which lasts
another 800k here: 8.8M images in 206,250 iterations, a multi-GPU or TPU
job. Ahead-of-time
compilation for a TPU topology reports every stage's memory and FLOPs:
  python -m jaxgan.aot --config=configs/progan_celeba.py --topology=v5e:2x2
(benchmarks/BENCHMARKS.md has the figures).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "tfds:celeb_a"
  config.data.image_size = 128
  config.data.channels = 3
  config.data.preprocess = "center_crop_resize"
  config.data.crop_size = 0
  config.model.name = "progan"
  config.model.z_dim = 512
  config.model.g_width = 512
  config.model.d_width = 512
  config.model.ema_decay = 0.999
  config.loss.name = "wgan_gp"
  config.penalty.weight = 10.0
  config.loss.drift = 0.001
  config.optim.g_lr = 1e-3
  config.optim.d_lr = 1e-3
  config.optim.b1 = 0.0
  config.optim.b2 = 0.99
  config.train.d_steps = 1
  config.train.batch_size = 64
  config.progan.images_per_phase = 800_000
  config.progan.batch_sizes = "4:128,8:128,16:128,32:64,64:32,128:16"
  # 6,250 iterations per phase at 4-16, 12,500 at 32, 25,000 at 64, 50,000
  # at 128 (its fade-in, then as many of the final stabilisation).
  config.train.num_steps = 5 * 6250 + 2 * 12_500 + 2 * 25_000 + 2 * 50_000
  config.train.log_every_steps = 100
  config.train.sample_every_steps = 2500
  config.checkpoint.every_steps = 2500
  return config
