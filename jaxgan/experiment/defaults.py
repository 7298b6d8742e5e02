"""Defaults for every jaxgan experiment: every config field and its meaning.

The configs in the repository's `configs/` folder start from these
(`configs/default.py` is this function) and override a few fields; a run's
saved config.json is laid over them when it is loaded back
(jaxgan/experiment/workdir.py), so fields added later take these values.

Launch (any config): python -m jaxgan.main --config=configs/<name>.py \
    --workdir=DIR [--config.a.b=v ...]
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = (
      0  # Parameters, noise, dropout and data order all derive from it.
  )

  config.data = ml_collections.ConfigDict()
  # '<kind>:<arg>': idx:<dir> (MNIST-format IDX files), tfds:<name> (prepared
  # TFDS dataset), folder:<dir> (PNG/JPEG files), toy:ring8 | toy:grid25
  # (2-D Gaussian mixtures; image_size/channels/preprocess are then unused).
  config.data.source = "idx:/usr/share/datasets/fashion-mnist"
  config.data.split = "train"
  config.data.image_size = 32  # Square output resolution (per model: README).
  config.data.channels = 1
  # 'pad' | 'resize' | 'center_crop_resize' | 'none' (see data/pipeline.py).
  config.data.preprocess = "pad"
  config.data.crop_size = 0  # center_crop_resize: 0 = the shorter side.
  # Image-to-image models (pix2pix, srgan): the source G is given for each
  # image, a fixed function of it (jaxgan/models/pairs.py): 'sr4x' (4x smaller,
  # bicubic) | 'edges' (Sobel edge map) | 'inpaint' (a square hole placed by
  # a hash of the image); 'none' for noise-to-image models.
  config.data.pairs = "none"
  config.data.tfds_data_dir = ml_collections.config_dict.placeholder(str)
  # Train on a fixed subset: the first num_examples of a permutation of the
  # split drawn with subset_seed (the same subset whatever config.seed); 0 = all
  # of it. The limited-data experiments (docs/results.md) use 600 and 6,000.
  config.data.num_examples = 0
  config.data.subset_seed = 0
  config.data.num_threads = 2  # grain reader threads.
  config.data.prefetch = 4  # Batches read ahead.
  # Keep each preprocessed image in memory after its first read when all of
  # them fit in this many GiB, so later epochs do not decode files again
  # (CelebA at 64x64: 2.0 GB); 0 = decode on every read.
  config.data.cache_gb = 4.0

  config.model = ml_collections.ConfigDict()
  # 'dcgan' | 'progan' | 'sngan' | 'biggan' | 'mlp' | 'began' (images);
  # 'pix2pix' | 'srgan' (image-to-image, with data.pairs); 'toy_mlp' |
  # 'toy_began' (2-D toys). README.md's models table lists each one's sizes.
  config.model.name = "dcgan"
  config.model.z_dim = 100
  config.model.noise = "normal"  # 'normal' N(0, 1) | 'uniform' U(-1, 1)
  config.model.g_width = 64  # DCGAN: channels of G's last hidden layer (ngf).
  config.model.d_width = 64  # DCGAN: channels of D's first layer (ndf).
  config.model.init_std = 0.02
  # DCGAN: a hidden fully connected layer of this many units (with batch
  # norm) before G's projection and after D's convolutions; 0 = none. 1024
  # at 28x28 gives InfoGAN's MNIST networks (models/dcgan.py).
  config.model.fc_hidden = 0
  # Batch-norm statistics: False = per device (like PyTorch DDP without
  # SyncBatchNorm), True = over the global batch (pmean across devices; the
  # result is then independent of the device count).
  config.model.bn_cross_device = False
  config.model.ema_decay = 0.0  # Generator EMA; 0 = off (EMA = live G).
  # DCGAN's 4x4 stride-2 convolutions (jaxgan/cpu/conv4x4.py): 'auto'
  # ('matmul' on the CPU backend, 'xla' elsewhere) | 'tuned' (each
  # computation in the form timed fastest on this machine, once, cached on
  # disk, where it beats the 'matmul' rule's by more than 20%:
  # jaxgan/cpu/autotune.py) | 'matmul' (the forms by a rule per kind of CPU:
  # measured on an AVX2 EPYC; oneDNN's kernels on a Zen 4) | 'xla' (XLA's
  # convolutions). Results agree to float rounding;
  # only speed differs.
  config.model.conv_impl = "auto"
  # Discriminator switches (models/__init__.py says which model has which).
  config.model.d_norm = (
      "batch_norm"  # DCGAN: 'batch_norm' | 'layer_norm' | 'none'
  )
  config.model.d_spectral_norm = False  # Miyato et al. 2018.
  config.model.d_minibatch_std = False  # Karras et al. 2018, group size 4.
  # DCGAN: the negative slope of D's (and InfoGAN Q's) LeakyReLUs; 0.2 as
  # DCGAN's paper, 0.01 as InfoGAN's code.
  config.model.d_leaky_slope = 0.2  # models/layers.py's LEAKY_SLOPE.
  # DCGAN: G's output a sigmoid and D's input (x + 1) / 2, i.e. the networks
  # work on [0, 1] pixels as InfoGAN's code does (images stay in [-1, 1]
  # everywhere else); False: tanh on [-1, 1], DCGAN's.
  config.model.unit_range = False
  # PacGAN (Lin et al. 2018): D sees packs of this many samples concatenated
  # along channels (features for 2-D points); 1 = off. train.batch_size
  # counts samples: D gets batch_size / d_pack packs.
  config.model.d_pack = 1
  # Spectral norm in G too (BigGAN's; sngan, biggan).
  config.model.g_spectral_norm = False
  # SAGAN's self-attention after the G and D blocks at this resolution
  # (sngan, biggan; 0 = none).
  config.model.attention_res = 0
  config.model.shared_dim = 128  # BigGAN's shared class embedding.
  config.model.res_blocks = 16  # SRGAN: SRResNet's residual blocks.
  # Class conditioning (dcgan, mlp; jaxgan/models/conditioning.py): 'none' |
  # 'concat' (one-hot label joined to z and D's input, Mirza & Osindero 2014)
  # | 'projection' (conditional batch norm in G, projection D, Miyato &
  # Koyama 2018) | 'acgan' (auxiliary classifier D, Odena et al. 2017).
  config.model.conditioning = "none"
  config.model.num_classes = 10  # Labels 0..num_classes-1 (when conditioned).
  # InfoGAN codes joined to z, recovered by a Q head on D
  # (jaxgan/gan/latent.py): one categorical code with this many categories (0 =
  # none), and this many continuous U(-1, 1) codes.
  config.model.info_categorical = 0
  config.model.info_continuous = 0

  config.loss = ml_collections.ConfigDict()
  # 'minimax' | 'non_saturating' | 'wgan' | 'wgan_gp' | 'least_squares' |
  # 'dragan' | 'hinge' | 'relativistic_average' | 'began'
  # (jaxgan/gan/losses.py).
  config.loss.name = "non_saturating"
  config.loss.label_smoothing = (
      0.0  # One-sided (real target 1 - s); BCE losses.
  )
  config.loss.weight_clip = 0.0  # WGAN: clip D's parameters to [-c, c].
  config.loss.feature_matching = 0.0  # Weight of the FM term in G's loss.
  config.loss.began_gamma = 0.75  # BEGAN diversity ratio.
  config.loss.began_lambda_k = 0.001  # BEGAN k_t learning rate.
  config.loss.acgan_weight = 1.0  # ACGAN: weight of the class cross-entropy.
  config.loss.info_weight = 1.0  # InfoGAN: lambda of the information term.
  # Image-to-image: G's loss is adv_weight * adversarial + recon_weight *
  # the reconstruction of the target: 'l1' (pix2pix: weight 100) | 'mse'
  # (SRGAN's SRResNet-MSE content loss, adversarial weight 1e-3) |
  # 'classifier' (SRGAN's feature loss with the domain classifier's last
  # conv stage for VGG19's; the classifier of eval.classifier or the one
  # shipped for the data) | 'none'.
  config.loss.recon = "none"
  config.loss.recon_weight = 1.0
  config.loss.adv_weight = 1.0
  # ProGAN's drift term: D's loss += drift * E[D(x)^2] on real outputs
  # (Karras et al. 2018: 0.001 with WGAN-GP); 0 = off. Any loss.
  config.loss.drift = 0.0
  # BigGAN's orthogonal regulariser on G's weights: beta * sum over kernels
  # of ||W W^T (1 - I)||_F^2 (Brock et al. 2019: 1e-4); 0 = off.
  config.loss.ortho_reg = 0.0

  # Regularisers of D's outputs (jaxgan/gan/regularizers.py), any loss: bCR's
  # weights on real and generated images (Zhao et al. 2021: 10 and 10);
  # LeCam's weight (Tseng et al. 2021: 0.3 for BigGAN on CIFAR-10) and its
  # anchors' EMA decay. 0 = off.
  config.loss.bcr_real = 0.0
  config.loss.bcr_fake = 0.0
  config.loss.lecam = 0.0
  config.loss.lecam_decay = 0.99

  # Augmentation of every image D sees, inside the step (jaxgan/augment/):
  # 'none' | 'diffaugment' (Zhao et al. 2020) | 'ada' (Karras et al. 2020).
  config.augment = ml_collections.ConfigDict()
  config.augment.name = "none"
  # DiffAugment: a comma list of 'color', 'translation', 'cutout'.
  config.augment.policy = "color,translation,cutout"
  # ADA: the transforms ('bgc' | 'bg' | 'c' | 'b', the paper's groups: b =
  # flips, 90-degree rotations, integer translation; g = the other
  # geometric ones; c = colour), the initial probability p, the target of
  # the overfitting heuristic r_t = E[sign(D(aug(x)))] (0 = keep p fixed),
  # iterations between updates of p, and its speed: p can go from 0 to 1
  # in speed_kimg thousand real images.
  config.augment.pipeline = "bgc"
  config.augment.p = 0.0
  config.augment.target = 0.6
  config.augment.interval = 4
  config.augment.speed_kimg = 500.0

  # An input-gradient penalty on D, added to any loss (jaxgan/gan/penalties.py).
  # Losses 'wgan_gp' and 'dragan' include theirs; their weight is set here.
  config.penalty = ml_collections.ConfigDict()
  config.penalty.name = "none"  # 'none' | 'wgan_gp' | 'dragan' | 'r1'
  config.penalty.weight = 10.0  # lambda (WGAN-GP, DRAGAN) or gamma (R1).
  config.penalty.every = 1  # Lazy regularisation: every N steps, weight x N.

  config.optim = ml_collections.ConfigDict()
  config.optim.name = "adam"  # 'adam' | 'rmsprop' | 'sgd' (jaxgan/gan/state.py)
  # Learning rates decay over train.num_steps: 'constant' | 'linear' (to 0)
  # | 'cosine' (to 0).
  config.optim.schedule = "constant"
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.optim.b2 = 0.999
  config.optim.rmsprop_decay = 0.99  # As PyTorch's RMSprop (alpha).
  config.optim.momentum = 0.0  # SGD only.

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 128  # Global, over all devices and processes.
  config.train.num_steps = 10_000  # Iterations (d_steps D + 1 G update each).
  config.train.d_steps = 1  # k of Goodfellow et al. 2014, Algorithm 1.
  config.train.log_every_steps = 50
  config.train.sample_every_steps = 500
  config.train.num_sample_images = 64  # Fixed-noise grid size.
  # A NaN or Inf in a loss, gradient, parameter or statistic: 'stop' (report
  # it at the next log or checkpoint step and exit; the last checkpoint is
  # kept) or 'skip' (leave that update out, count it, and go on).
  config.train.on_nonfinite = "stop"
  # Computation dtype of G and D: 'float32' | 'bfloat16' (mixed precision:
  # parameters, optimizer states, batch-norm statistics and losses stay
  # float32; no loss scaling, as on TPU). See jaxgan/models/__init__.py.
  config.train.dtype = "float32"

  # Quality metrics during training; for the 2-D toys: modes covered,
  # high-quality fraction and reverse KL (jaxgan/metrics/modes.py). Images: FD,
  # KID, classifier score, precision/recall and class coverage with a domain
  # classifier (python -m jaxgan.classifier; jaxgan/inference/evaluator.py) when
  # eval.classifier (or $JAXGAN_CLASSIFIER) names its directory; the best
  # checkpoint by eval.primary is kept in <workdir>/best/.
  config.eval = ml_collections.ConfigDict()
  config.eval.every_steps = 0  # 0 = only at the end of training.
  config.eval.num_samples = 2500  # PacGAN's protocol (toys); images: 10,000.
  # 'classifier' (a domain classifier, trained offline) | 'inception' (FID
  # and IS with converted pt_inception-2015-12-05 weights).
  config.eval.extractor = "classifier"
  config.eval.classifier = ""  # Directory of a trained domain classifier.
  config.eval.inception = ""  # Converted Inception weights (.msgpack).
  # How images reach the Inception (jaxgan/models/inception.py):
  # 'pytorch_fid' (F.interpolate's bilinear resize) | 'torch_fidelity'
  # (TensorFlow 1's resize, as TTUR's original FID code).
  config.eval.inception_protocol = "pytorch_fid"
  config.eval.reference_split = (
      "test"  # Real images the samples are compared with.
  )
  # 'fd' | 'kid' (lower is better) | 'precision' | 'recall' |
  # 'classifier_score'.
  config.eval.primary = "fd"
  # Log D's mean output on fixed batches of training reals, held-out reals
  # (eval.reference_split) and generated images every train.log_every_steps
  # (d_out_train, d_out_heldout, d_out_fake): the ADA paper's Fig. 1, D
  # memorising its training set (jaxgan/inference/overfitting.py).
  config.eval.d_overfitting = False

  # Progressive growing (model.name='progan'; jaxgan/gan/progressive.py): stages
  # of images_per_phase real images, 4x4 first, then per resolution a
  # fade-in and a stabilisation; the last stabilisation runs to
  # train.num_steps. batch_sizes: '<res>:<batch>,...' per resolution (empty:
  # train.batch_size everywhere); reset_optimizer: fresh Adam states at every
  # stage, as the paper's code does.
  config.progan = ml_collections.ConfigDict()
  config.progan.images_per_phase = 800_000
  config.progan.batch_sizes = ""
  config.progan.reset_optimizer = True

  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.every_steps = 1000
  config.checkpoint.max_to_keep = 3
  config.checkpoint.async_save = True
  return config
