"""InfoGAN on MNIST (Chen et al. 2016, Sec. 7.1 and Appendix C.1).

Launch:
  python -m jaxgan.main --config=configs/infogan_mnist.py \
      --workdir=runs/infogan_mnist

Data: TFDS `mnist` (prepare with TensorFlow: `tfds build mnist
--file_format=array_record`). Offline: Fashion-MNIST with
--config.data.source=idx:/usr/share/datasets/fashion-mnist, or a folder of
MNIST-format IDX files with --config.data.source=idx:DIR.

The paper's MNIST settings: z of 62 U(-1, 1) noise variables, one 10-way
categorical code c1 and two continuous codes c2, c3 ~ U(-1, 1); lambda = 1;
Adam with learning rates 2e-4 (D) and 1e-3 (G), beta1 0.5. The networks
are the paper's (Appendix C.1, as the authors' code): jaxgan's DCGAN at
28x28 with model.fc_hidden = 1024, i.e. G FC 1024 - FC 7x7x128 - two 4x4
transposed convolutions (batch norm but on the output), D two 4x4 stride-2
convolutions (64, 128 + batch norm) - FC 1024 + batch norm, and Q an FC
128 layer with batch norm on D's FC 1024. Q's continuous part is a
unit-variance Gaussian (the authors' fixed standard deviation;
jaxgan/gan/latent.py); LeakyReLU slope 0.01 in D and Q (the authors' code);
the networks on [0, 1] pixels, G ending in a sigmoid (the authors' code;
model.unit_range). Not the paper's: batch 64 (the authors' code: 128).

The final evaluation reports `info_accuracy`: c1, read by Q from the test
images, against their labels after the best one-to-one matching (the paper:
5% error on MNIST). Look at the codes with
  python -m jaxgan.sample --workdir=runs/infogan_mnist --mode=traversal \
      --code=c1 --num=10 --out=c1.png   (and --code=c2, --code=c3)

Measured on the 10,000 MNIST test images (--config.data.source=idx:DIR
--config.data.split=test; docs/results.md: "Conditional GANs and InfoGAN"),
seeds 0-4: info_accuracy 0.882, 0.954, 0.953, 0.953, 0.897 after 5,000
iterations, mean 0.928 (tanh on [-1, 1] instead: 0.894, 0.956, 0.956, 0.899,
0.746, mean 0.890). Seed 2's c1 traversal
(benchmarks/results/infogan/c1_unit_seed2.png) draws one digit per category, all
ten.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "tfds:mnist"
  config.data.image_size = 28
  config.data.channels = 1
  config.data.preprocess = "none"
  config.model.name = "dcgan"
  config.model.z_dim = 62
  config.model.noise = "uniform"
  config.model.fc_hidden = 1024
  config.model.d_leaky_slope = 0.01
  config.model.unit_range = True
  config.model.info_categorical = 10
  config.model.info_continuous = 2
  config.loss.info_weight = 1.0
  config.optim.g_lr = 1e-3
  config.optim.d_lr = 2e-4
  config.train.batch_size = 64
  config.train.num_steps = 5000
  config.train.log_every_steps = 100
  config.train.sample_every_steps = 500
  config.train.num_sample_images = 100
  config.eval.every_steps = 1000
  config.checkpoint.every_steps = 1000
  return config
