"""pix2pix (Isola et al. 2017) on Fashion-MNIST: edge maps -> garments.

Launch:
  python -m jaxgan.main --config=configs/pix2pix_fashion_mnist.py \
      --workdir=runs/pix2pix_fashion_mnist

Each 32x32 garment (28x28 padded) is paired with its edge map (a fixed
Sobel detector, jaxgan/models/pairs.py 'edges'); G is the paper's U-Net (down to
1x1, skip connections; no dropout layers at this size, as in the reference
code below 64x64), D the PatchGAN on (edges, garment) pairs with 16x16
patches (a quarter of the image, as the paper's 70x70 of 256x256). The
paper's loss and optimiser: non-saturating GAN loss plus 100 x L1, Adam
2e-4, beta1 0.5.

The evaluation (every eval.every_steps and at the end) translates the
edge maps of test images and reports PSNR and SSIM against the real
garments, and FD-fashion_mnist of the outputs, each beside what the
trivial baseline (the edge map itself) scores. See the triples
(edges / output / garment) with
  python -m jaxgan.sample --workdir=runs/pix2pix_fashion_mnist --num=24 \
      --out=pix2pix.png

Measured (2 CPU cores shared with other runs; 1,200 iterations, 1,925 s;
10,000 test images): PSNR 20.56 dB, SSIM 0.747, FD-fashion_mnist 1.45,
against the edge maps' 1.85 dB, -0.001 and 224.1 (docs/results.md,
"Image-to-image: pix2pix and SRGAN").
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "idx:/usr/share/datasets/fashion-mnist"
  config.data.image_size = 32
  config.data.channels = 1
  config.data.preprocess = "pad"
  config.data.pairs = "edges"
  config.model.name = "pix2pix"
  config.model.g_width = 64
  config.model.d_width = 64
  config.loss.name = "non_saturating"
  config.loss.recon = "l1"
  config.loss.recon_weight = 100.0
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.train.batch_size = 64
  config.train.num_steps = 3000
  config.train.log_every_steps = 50
  config.train.sample_every_steps = 250
  config.train.num_sample_images = 24
  config.checkpoint.every_steps = 500
  config.eval.every_steps = 1000
  config.eval.num_samples = 10_000
  return config
