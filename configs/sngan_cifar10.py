"""SNGAN (Miyato et al. 2018): the ResNet G and D on CIFAR-10, 32x32x3.

Launch:
  python -m jaxgan.main --config=configs/sngan_cifar10.py \
      --workdir=runs/sngan_cifar10
  # class-conditional with the projection discriminator (Miyato & Koyama
  # 2018):
  ... --config.model.conditioning=projection --config.model.num_classes=10

Data: TFDS `cifar10`, prepared once with TensorFlow on a machine with
internet (`pip install tensorflow && tfds build cifar10
--file_format=array_record`; copy ~/tensorflow_datasets or set TFDS_DATA_DIR),
as the README describes for CelebA. Nothing is downloaded at run time.

The paper's setup (its CIFAR-10 ResNet, pfnet-research/sngan_projection):
G z 128 -> 4x4x256 -> three up-blocks of 256 -> BN, ReLU, conv 3x3, tanh;
D an optimised block and three blocks of 128 with spectral norm, ReLU,
global sum pooling, linear; hinge loss, Adam lr 2e-4 with betas (0, 0.9),
5 D steps per G step, batch 64, 50,000 G updates with the learning rate
decayed linearly to 0. One difference: the reference's G update draws 128
samples, here G and D use the same batch of 64.

Evaluation: no domain classifier ships for CIFAR-10; FID and IS need converted
Inception weights (docs/results.md, "FID, checked against the reference
implementations"): --config.eval.extractor=inception
--config.eval.inception=/path/to/pt_inception.msgpack. Paper anchors (not
reproduced here): IS 8.22, FID 21.7 (unconditional).

Cost: 50,000 iterations of 5 D + 1 G updates. Ahead-of-time compilation for
a TPU topology reports the memory and FLOPs of one iteration:
  python -m jaxgan.aot --config=configs/sngan_cifar10.py --topology=v5e:2x2
Measured (2026-12-01, libtpu's v5e:2x2 description compiled on a CPU): one
iteration is 669 GFLOP (XLA:TPU's cost analysis, 5 D + 1 G updates of the
global batch 64 over 4 chips), 5.1 GB accessed; per chip 82 MB of
arguments and 173 MB of temporaries, so it fits any TPU; 50,000
iterations are 3.3e16 FLOP (benchmarks/BENCHMARKS.md, "The ResNet
family").
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "tfds:cifar10"
  config.data.image_size = 32
  config.data.channels = 3
  config.model.name = "sngan"
  config.model.z_dim = 128
  config.model.g_width = 64  # G 256 channels.
  config.model.d_width = 64  # D 128 channels.
  config.model.d_spectral_norm = True
  config.loss.name = "hinge"
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.0
  config.optim.b2 = 0.9
  config.optim.schedule = "linear"
  config.train.d_steps = 5
  config.train.batch_size = 64
  config.train.num_steps = 50_000
  config.train.sample_every_steps = 1000
  config.checkpoint.every_steps = 2000
  return config
