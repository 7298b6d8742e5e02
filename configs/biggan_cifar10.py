"""BigGAN (Brock et al. 2019), class-conditional, on CIFAR-10, 32x32x3.

Launch:
  python -m jaxgan.main --config=configs/biggan_cifar10.py \
      --workdir=runs/biggan_cifar10
  # samples with the truncation trick, and BigGAN's trade-off curve:
  python -m jaxgan.sample --workdir=runs/biggan_cifar10 --truncation=0.5
  python -m jaxgan.evaluate --workdir=runs/biggan_cifar10 --truncation_sweep

Data: TFDS `cifar10`, prepared once with TensorFlow on a machine with
internet (`pip install tensorflow && tfds build cifar10
--file_format=array_record`; copy ~/tensorflow_datasets or set TFDS_DATA_DIR),
as the README describes for CelebA. Nothing is downloaded at run time.

The setup of the reference's CIFAR-10 script (ajbrock/BigGAN-PyTorch,
launch_cifar_ema.sh): G and D of width 256 (`width` 64 x 4), a shared
class embedding of 128, z 128 split into 4 chunks (one per G block plus
the input), class-conditional batch norms with linear gains and biases,
projection D with a spectrally normalised embedding, spectral norm in G and
D, hinge loss, Adam with betas (0, 0.999) and lr 2e-4 for G and D, 4 D
steps per G step, batch 50, 500 epochs (125,000 iterations of 4 batches),
G EMA 0.9999. Two choices follow the paper rather than that script: the
orthogonal regulariser (beta 1e-4; the script sets --G_ortho 0) and
orthogonal initialisation (the script: N(0, 0.02)); and the EMA runs from
the first step (the script starts it at 1,000). No self-attention at 32x32
(the script has none); add it with --config.model.attention_res=16. The paper's ImageNet TTUR (G 1e-4,
D 4e-4) is --config.optim.g_lr=1e-4 --config.optim.d_lr=4e-4.

Evaluation: no domain classifier ships for CIFAR-10; FID and IS need converted
Inception weights (docs/results.md, "FID, checked against the reference
implementations"): --config.eval.extractor=inception
--config.eval.inception=/path/to/pt_inception.msgpack. Paper anchors (not
reproduced here): IS 9.22, FID 14.73 (conditional).

Cost: 125,000 iterations of 4 D + 1 G updates. Ahead-of-time compilation
for a TPU topology reports the memory and FLOPs of one iteration; batch 50
does not divide over 4 chips, so it was compiled at 52:
  python -m jaxgan.aot --config=configs/biggan_cifar10.py --topology=v5e:2x2 \
      --config.train.batch_size=52
Measured (2026-12-01, libtpu's v5e:2x2 description compiled on a CPU in
1,559 s): one iteration is 982 GFLOP (XLA:TPU's cost analysis, 4 D + 1 G
updates of the global batch 52 over 4 chips), 8.1 GB accessed; per chip
121 MB of arguments and 210 MB of temporaries, so it fits any TPU; 125,000
iterations at batch 50 are about 1.2e17 FLOP (benchmarks/BENCHMARKS.md,
"The ResNet family").
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "tfds:cifar10"
  config.data.image_size = 32
  config.data.channels = 3
  config.model.name = "biggan"
  config.model.z_dim = 128
  config.model.g_width = 64
  config.model.d_width = 64
  config.model.conditioning = "projection"
  config.model.num_classes = 10
  config.model.shared_dim = 128
  config.model.g_spectral_norm = True
  config.model.d_spectral_norm = True
  config.model.ema_decay = 0.9999
  config.loss.name = "hinge"
  config.loss.ortho_reg = 1e-4
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.0
  config.optim.b2 = 0.999
  config.train.d_steps = 4
  config.train.batch_size = 50
  config.train.num_steps = 125_000  # 500 epochs of 50,000 images.
  config.train.num_sample_images = 100  # One row per class.
  config.train.sample_every_steps = 2000
  config.checkpoint.every_steps = 5000
  return config
