"""The benchmarked models as jaxgan configs (no PyTorch needed to import).

Shared by vs_pytorch.py (which builds the same models in PyTorch) and
profile_step.py.
"""

from configs import default  # The scripts put the repository on sys.path.

BENCHMARKS = {
    # name: (model, resolution, channels, noise)
    "dcgan64": ("dcgan", 64, 3, "normal"),
    "dcgan32": ("dcgan", 32, 1, "normal"),
    "mlp": ("mlp", 28, 1, "uniform"),
}


def jaxgan_config(name: str, batch: int):
  model, resolution, channels, noise = BENCHMARKS[name]
  config = default.get_config()
  config.model.name = model
  config.data.image_size, config.data.channels = resolution, channels
  config.data.preprocess = "none"
  config.model.noise = noise
  if model == "mlp":
    config.model.g_width, config.model.d_width = 1200, 240
  config.train.batch_size = batch
  return config
