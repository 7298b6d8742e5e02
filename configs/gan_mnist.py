"""The MLP GAN of Goodfellow et al. 2014 on MNIST (28x28x1).

Launch:
  python -m jaxgan.main --config=configs/gan_mnist.py --workdir=runs/gan_mnist

Data: TFDS `mnist` (prepare with TensorFlow: `tfds build mnist
--file_format=array_record`). Offline, the same model trains on
Fashion-MNIST: --config.data.source=idx:/usr/share/datasets/fashion-mnist

Model: G 100 -> 1200 ReLU -> 1200 ReLU -> 784 tanh, z ~ U(-1, 1); D
maxout(240x5) -> maxout(240x5) -> 1 with dropout 0.2/0.5 (the paper's MNIST
setup). The paper trained with SGD + momentum; Adam 2e-4 / beta1 0.5 is used
here because it is far less sensitive to tuning.

Cost on 2 CPU cores: ~50 iterations/s (measured on Fashion-MNIST, batch
100; benchmarks/step_time.py), so the 10,000 iterations take ~3.5 minutes.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.source = "tfds:mnist"
  config.data.image_size = 28
  config.data.channels = 1
  config.data.preprocess = "none"
  config.model.name = "mlp"
  config.model.noise = "uniform"
  config.model.g_width = 1200
  config.model.d_width = 240
  config.train.batch_size = 100
  config.train.num_steps = 10_000
  config.train.sample_every_steps = 1000
  return config
