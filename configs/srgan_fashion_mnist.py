"""SRGAN (Ledig et al. 2017) on Fashion-MNIST: 4x super-resolution.

Launch:
  python -m jaxgan.main --config=configs/srgan_fashion_mnist.py \
      --workdir=runs/srgan_fashion_mnist

Each 32x32 garment (28x28 padded) is paired with its 8x8 version (4x
smaller, antialiased bicubic; jaxgan/models/pairs.py 'sr4x'). G is SRResNet (16
residual blocks of 64 channels, two sub-pixel upsamplings), D the paper's
eight-convolution discriminator; loss: content + 1e-3 x the non-saturating
adversarial loss, Adam 1e-4, beta1 0.9, as the paper. The content loss is
the pixel MSE (the paper's SRResNet-MSE / SRGAN-MSE): its VGG feature loss
needs ImageNet weights that cannot be downloaded here.
--config.loss.recon=classifier takes the features of the shipped
Fashion-MNIST classifier's last conv stage instead (SRGAN's feature loss
with the domain classifier for VGG19): measured at 1,200 iterations, PSNR
18.63 dB, SSIM 0.625, more texture in the grid (FD is not comparable then:
the same classifier computes it).

The evaluation reports PSNR, SSIM and FD-fashion_mnist of the 4x outputs
on test images, each beside bicubic upsampling's. Triples (input, shown
4x larger / output / original) with
  python -m jaxgan.sample --workdir=runs/srgan_fashion_mnist --num=24 \
      --out=srgan.png

Measured (2 CPU cores shared with other runs; 1,200 iterations, 1,676 s;
10,000 test images): PSNR 20.40 dB, SSIM 0.684, FD-fashion_mnist 14.54,
against bicubic upsampling's 16.77 dB, 0.453 and 176.5 (docs/results.md,
"Image-to-image: pix2pix and SRGAN").
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "idx:/usr/share/datasets/fashion-mnist"
  config.data.image_size = 32
  config.data.channels = 1
  config.data.preprocess = "pad"
  config.data.pairs = "sr4x"
  config.model.name = "srgan"
  config.model.g_width = 64
  config.model.d_width = 64
  config.model.res_blocks = 16
  config.loss.name = "non_saturating"
  config.loss.recon = "mse"
  config.loss.recon_weight = 1.0
  config.loss.adv_weight = 1e-3
  config.optim.g_lr = 1e-4
  config.optim.d_lr = 1e-4
  config.optim.b1 = 0.9
  config.train.batch_size = 16  # The paper's.
  config.train.num_steps = 3000
  config.train.log_every_steps = 50
  config.train.sample_every_steps = 250
  config.train.num_sample_images = 24
  config.checkpoint.every_steps = 500
  config.eval.every_steps = 1000
  config.eval.num_samples = 10_000
  return config
