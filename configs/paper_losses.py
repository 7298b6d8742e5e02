"""Each loss with its paper's reference hyper-parameters.

Image and toy configs take the loss as their config argument, e.g.

  python -m jaxgan.main --config=configs/dcgan_fashion_mnist.py:wgan_gp ...
  python -m jaxgan.main --config=configs/toy_ring8.py:began ...

`apply(config, name)` sets the loss, its penalty or constraint, the
optimiser and the number of D steps per G step as the paper did; data, model
widths, batch size, step count, learning-rate schedule, EMA and the config's
other regularizers stay the config's own (a config's penalty gives way to
the one that wgan_gp and dragan include).
"""

import ml_collections

# loss name -> dotted config overrides, with the source of each setting.
PAPER_SETTINGS: dict[str, dict[str, object]] = {
    # Goodfellow et al. 2014 (optimiser as DCGAN, Radford et al. 2015).
    "minimax": {"optim.g_lr": 2e-4, "optim.d_lr": 2e-4, "optim.b1": 0.5},
    "non_saturating": {"optim.g_lr": 2e-4, "optim.d_lr": 2e-4, "optim.b1": 0.5},
    # Arjovsky et al. 2017, Alg. 1: RMSProp 5e-5, clip 0.01, n_critic 5.
    "wgan": {
        "optim.name": "rmsprop",
        "optim.g_lr": 5e-5,
        "optim.d_lr": 5e-5,
        "loss.weight_clip": 0.01,
        "train.d_steps": 5,
    },
    # Gulrajani et al. 2017, Alg. 1: lambda 10, n_critic 5, Adam 1e-4
    # (0, 0.9); no batch norm in the critic (layer norm suggested, Sec. 4).
    "wgan_gp": {
        "optim.g_lr": 1e-4,
        "optim.d_lr": 1e-4,
        "optim.b1": 0.0,
        "optim.b2": 0.9,
        "penalty.weight": 10.0,
        "train.d_steps": 5,
        "model.d_norm": "layer_norm",
    },
    # Mao et al. 2017: Adam 2e-4, beta1 0.5 (a=0, b=1, c=1).
    "least_squares": {"optim.g_lr": 2e-4, "optim.d_lr": 2e-4, "optim.b1": 0.5},
    # Kodali et al. 2017 (reference code): lambda 10, Adam 1e-4 (0.5, 0.9),
    # no batch norm in D.
    "dragan": {
        "optim.g_lr": 1e-4,
        "optim.d_lr": 1e-4,
        "optim.b1": 0.5,
        "optim.b2": 0.9,
        "penalty.weight": 10.0,
        "model.d_norm": "none",
    },
    # Miyato et al. 2018 (SNGAN, setting C with the hinge loss): Adam 2e-4
    # (0.5, 0.999), n_dis 1, spectral norm in D.
    "hinge": {
        "optim.g_lr": 2e-4,
        "optim.d_lr": 2e-4,
        "optim.b1": 0.5,
        "optim.b2": 0.999,
        "model.d_spectral_norm": True,
        "model.d_norm": "none",
    },
    # Jolicoeur-Martineau 2018, RaSGAN: Adam 2e-4 (0.5, 0.999), n_D 1.
    "relativistic_average": {
        "optim.g_lr": 2e-4,
        "optim.d_lr": 2e-4,
        "optim.b1": 0.5,
        "optim.b2": 0.999,
    },
    # Berthelot et al. 2017: Adam 1e-4 (0.5, 0.999), gamma 0.75 here,
    # lambda_k 0.001, z = h = 64, autoencoder discriminator.
    "began": {
        "optim.g_lr": 1e-4,
        "optim.d_lr": 1e-4,
        "optim.b1": 0.5,
        "optim.b2": 0.999,
        "loss.began_gamma": 0.75,
        "loss.began_lambda_k": 0.001,
    },
}


# The autoencoder counterpart of each classifier-discriminator model.
AUTOENCODER_MODELS = {"dcgan": "began", "toy_mlp": "toy_began"}


def apply(
    config: ml_collections.ConfigDict, name: str
) -> ml_collections.ConfigDict:
  """Sets loss `name` and its paper's settings on `config` (in place)."""
  if name not in PAPER_SETTINGS:
    raise ValueError(
        f"config argument {name!r} is not a loss; use one of "
        f"{sorted(PAPER_SETTINGS)}"
    )
  config.loss.name = name
  if name in ("wgan_gp", "dragan"):  # They include their own penalty.
    config.penalty.name = "none"
  for key, value in PAPER_SETTINGS[name].items():
    section, field = key.split(".")
    if key == "model.d_norm" and config.model.name != "dcgan":
      continue  # The other discriminators have no batch norm to replace.
    config[section][field] = value
  if name == "began":  # BEGAN's discriminator is an autoencoder, without
    # the classifier discriminator's options.
    config.model.name = AUTOENCODER_MODELS[config.model.name]
    config.model.d_minibatch_std = False
    config.model.d_spectral_norm = False
    config.loss.feature_matching = 0.0
    if config.model.name == "began":
      config.model.z_dim = 64
  return config
