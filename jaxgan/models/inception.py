"""InceptionV3 as used for FID, in Flax (NHWC).

The network of TTUR's FID code (the TensorFlow graph `inception-2015-12-05`),
as pytorch-fid ports it: torchvision's InceptionV3 with 1,008 logits and the
FID patches (average pools in the A, C and first E blocks exclude padding;
the last E block max-pools its pool branch). Module names follow the
PyTorch state dict (`Mixed_5b.branch1x1.conv.weight` is
`params['Mixed_5b']['branch1x1']['conv']['kernel']`), so the converter in
`jaxgan/metrics/inception_port.py` is a renaming and transposition.

Input protocols (`protocol`), both from uint8 images with grayscale repeated
to 3 channels:

- 'pytorch_fid' (pytorch-fid's): -> [0, 1]; bilinear resize to 299x299
  with half-pixel centres and no antialiasing (`F.interpolate(...,
  align_corners=False)`); then 2x - 1.
- 'torch_fidelity' (torch-fidelity's, TensorFlow 1's as TTUR's original FID
  code ran it): bilinear resize of the [0, 255] values to 299x299 with
  TensorFlow 1's coordinates (source = output x in/out, no half-pixel
  offset); then (x - 128) / 128.

Outputs: the 2,048-d pool3 features (FID, precision/recall, KID) and the
1,008 logits (Inception Score).
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

SIZE = 299
NUM_CLASSES = 1008


class BasicConv(nn.Module):
  """Conv (no bias) + batch norm (eps 0.001, inference) + ReLU."""

  features: int
  kernel: Sequence[int] = (1, 1)
  strides: Sequence[int] = (1, 1)
  padding: Sequence[int] = (0, 0)

  @nn.compact
  def __call__(self, x):
    ph, pw = self.padding
    x = nn.Conv(
        self.features,
        tuple(self.kernel),
        tuple(self.strides),
        padding=((ph, ph), (pw, pw)),
        use_bias=False,
        name="conv",
    )(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
    return nn.relu(x)


def _avg_pool(x):  # TF's average pool: padding not counted.
  return nn.avg_pool(
      x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False
  )


def _max_pool_s2(x):
  return nn.max_pool(x, (3, 3), (2, 2))


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(64, name="branch1x1")(x)
    b5 = BasicConv(48, name="branch5x5_1")(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
    b3 = BasicConv(64, name="branch3x3dbl_1")(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
    bp = BasicConv(self.pool_features, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(384, (3, 3), (2, 2), name="branch3x3")(x)
    bd = BasicConv(64, name="branch3x3dbl_1")(x)
    bd = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = BasicConv(96, (3, 3), (2, 2), name="branch3x3dbl_3")(bd)
    return jnp.concatenate([b3, bd, _max_pool_s2(x)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.channels_7x7
    row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(
        kernel=(7, 1), padding=(3, 0)
    )
    b1 = BasicConv(192, name="branch1x1")(x)
    b7 = BasicConv(c7, name="branch7x7_1")(x)
    b7 = BasicConv(c7, **row, name="branch7x7_2")(b7)
    b7 = BasicConv(192, **col, name="branch7x7_3")(b7)
    bd = BasicConv(c7, name="branch7x7dbl_1")(x)
    bd = BasicConv(c7, **col, name="branch7x7dbl_2")(bd)
    bd = BasicConv(c7, **row, name="branch7x7dbl_3")(bd)
    bd = BasicConv(c7, **col, name="branch7x7dbl_4")(bd)
    bd = BasicConv(192, **row, name="branch7x7dbl_5")(bd)
    bp = BasicConv(192, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(192, name="branch3x3_1")(x)
    b3 = BasicConv(320, (3, 3), (2, 2), name="branch3x3_2")(b3)
    b7 = BasicConv(192, name="branch7x7x3_1")(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
    b7 = BasicConv(192, (3, 3), (2, 2), name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, _max_pool_s2(x)], axis=-1)


class InceptionE(nn.Module):
  max_pool: bool  # FID's last block max-pools its pool branch.

  @nn.compact
  def __call__(self, x):
    row, col = dict(kernel=(1, 3), padding=(0, 1)), dict(
        kernel=(3, 1), padding=(1, 0)
    )
    b1 = BasicConv(320, name="branch1x1")(x)
    b3 = BasicConv(384, name="branch3x3_1")(x)
    b3 = jnp.concatenate(
        [
            BasicConv(384, **row, name="branch3x3_2a")(b3),
            BasicConv(384, **col, name="branch3x3_2b")(b3),
        ],
        -1,
    )
    bd = BasicConv(448, name="branch3x3dbl_1")(x)
    bd = BasicConv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = jnp.concatenate(
        [
            BasicConv(384, **row, name="branch3x3dbl_3a")(bd),
            BasicConv(384, **col, name="branch3x3dbl_3b")(bd),
        ],
        -1,
    )
    pooled = (
        nn.max_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)))
        if self.max_pool
        else _avg_pool(x)
    )
    bp = BasicConv(192, name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


PROTOCOLS = ("pytorch_fid", "torch_fidelity")


def _resize_tf1_axis(x: jax.Array, axis: int, size: int) -> jax.Array:
  """TensorFlow 1's bilinear resize along one axis (align_corners=False,
  no half-pixel centres): output i reads input i * in/size."""
  n = x.shape[axis]
  src = jnp.arange(size, dtype=jnp.float32) * (n / size)
  lo = jnp.floor(src).astype(jnp.int32)
  hi = jnp.minimum(lo + 1, n - 1)
  shape = [1] * x.ndim
  shape[axis] = size
  w = (src - lo).reshape(shape)
  return jnp.take(x, lo, axis=axis) * (1 - w) + jnp.take(x, hi, axis=axis) * w


def preprocess(images: jax.Array, protocol: str = "pytorch_fid") -> jax.Array:
  """uint8 (N, H, W, 1 or 3) -> float32 (N, 299, 299, 3) in [-1, 1]."""
  x = images.astype(jnp.float32)
  if x.shape[-1] == 1:
    x = jnp.repeat(x, 3, axis=-1)
  if protocol == "torch_fidelity":
    x = _resize_tf1_axis(_resize_tf1_axis(x, 1, SIZE), 2, SIZE)
    return (x - 128.0) / 128.0
  x = jax.image.resize(
      x / 255.0, (x.shape[0], SIZE, SIZE, 3), "bilinear", antialias=False
  )
  return 2.0 * x - 1.0


class InceptionV3(nn.Module):
  """uint8 images -> (pool3 features (N, 2048), logits (N, 1008)).

  protocol: the input protocol, 'pytorch_fid' or 'torch_fidelity'.
  """

  protocol: str = "pytorch_fid"

  @nn.compact
  def __call__(self, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = preprocess(images, self.protocol)
    x = BasicConv(32, (3, 3), (2, 2), name="Conv2d_1a_3x3")(x)
    x = BasicConv(32, (3, 3), name="Conv2d_2a_3x3")(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = _max_pool_s2(x)
    x = BasicConv(80, name="Conv2d_3b_1x1")(x)
    x = BasicConv(192, (3, 3), name="Conv2d_4a_3x3")(x)
    x = _max_pool_s2(x)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, c7 in (
        ("Mixed_6b", 128),
        ("Mixed_6c", 160),
        ("Mixed_6d", 160),
        ("Mixed_6e", 192),
    ):
      x = InceptionC(c7, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE(max_pool=False, name="Mixed_7b")(x)
    x = InceptionE(max_pool=True, name="Mixed_7c")(x)
    features = jnp.mean(x, axis=(1, 2))
    return features, nn.Dense(NUM_CLASSES, name="fc")(features)
