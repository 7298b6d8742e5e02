"""DCGAN 64x64x3 on CelebA with the DCGAN paper's hyper-parameters.

Launch:
  python -m jaxgan.main --config=configs/dcgan_celeba.py --workdir=runs/celeba
  # or with a manual download of img_align_celeba:
  python -m jaxgan.main --config=configs/dcgan_celeba.py --workdir=runs/celeba \
      --config.data.source=folder:/path/to/img_align_celeba

Data: TFDS `celeb_a`, prepared once with TensorFlow on a machine with
internet (`pip install tensorflow && tfds build celeb_a
--file_format=array_record`). Images (218x178) are centre-cropped to 178x178
and resized to 64x64.

Hyper-parameters (Radford et al. 2015): Adam lr 2e-4, beta1 0.5, batch 128,
z 100 ~ N(0, 1), weights ~ N(0, 0.02), widths 64 (G: 512-256-128-64-3).

Cost: ~1,580 iterations per epoch of 202,599 images. On 2 CPU cores one
iteration takes 3.0 s (measured, jax 0.10.2), so the 8,000 iterations take
~6.7 hours: a GPU-sized job.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "tfds:celeb_a"
  config.data.image_size = 64
  config.data.channels = 3
  config.data.preprocess = "center_crop_resize"
  config.data.crop_size = 0
  config.model.name = "dcgan"
  config.model.g_width = 64
  config.model.d_width = 64
  config.train.batch_size = 128
  config.train.num_steps = 8_000  # ~5 epochs.
  config.train.sample_every_steps = 500
  config.checkpoint.every_steps = 1000
  return config
