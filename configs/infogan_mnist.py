"""InfoGAN on MNIST (Chen et al. 2016, Sec. 7.1 and Appendix C.1).

Launch:
  python -m jaxgan.main --config=configs/infogan_mnist.py \
      --workdir=runs/infogan_mnist

Data: TFDS `mnist` (prepare with TensorFlow: `tfds build mnist
--file_format=array_record`). Offline: Fashion-MNIST with
--config.data.source=idx:/usr/share/datasets/fashion-mnist, or a folder of
MNIST-format IDX files with --config.data.source=idx:DIR.

The paper's MNIST settings: z of 62 noise variables, one 10-way categorical
code c1 and two continuous codes c2, c3 ~ U(-1, 1); lambda = 1; Adam with
learning rates 2e-4 (D) and 1e-3 (G), beta1 0.5. The networks are jaxgan's
DCGAN at 28x28 (G 7x7x128 -> 14x14x64 -> 28x28x1, D 64 -> 128 with batch
norm) with Q as a 128-unit layer on D's last hidden layer; the paper adds a
1024-unit layer to both. Q's continuous part is a unit-variance Gaussian
(jaxgan/latent.py).

The final evaluation reports `info_accuracy`: c1, read by Q from the test
images, against their labels after the best one-to-one matching (the paper:
5% error on MNIST). Look at the codes with
  python -m jaxgan.sample --workdir=runs/infogan_mnist --mode=traversal \
      --code=c1 --num=10 --out=c1.png   (and --code=c2, --code=c3)

Measured (2 CPU cores, a machine on which dcgan_fashion_mnist.py runs at ~2.3
iterations/s, the test suite sharing the cores; trained offline on the
10,000 MNIST test images, --config.data.source=idx:DIR
--config.data.split=test --config.train.num_steps=3000, and evaluated on
them): info_accuracy 0.383 / 0.408 / 0.420 after 1,000 / 2,000 / 3,000
iterations (1,657 s), far from the paper's 0.95. The categorical part of
L_I reached its maximum, log 10 = 2.30 nats, by iteration ~800: Q recovers
c1 from generated digits, and c1 changes the digit, but together with z
rather than alone. Not measured: the 5,000 iterations of this config, other
seeds, the 60,000 training images.
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
