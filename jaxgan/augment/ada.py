"""Adaptive discriminator augmentation (Karras et al. 2020): the 'bgc'
pipeline of StyleGAN2-ADA (NVlabs/stylegan2-ada-pytorch, training/augment.py)
and its probability's update.

Every transform is applied to a sample with probability p, independently
(the gate: u < p, u ~ U[0, 1) per sample and transform; the two arbitrary
rotations each with 1 - sqrt(1 - p), so that one of them happens with
probability p). Images are (N, H, W, C) in [-1, 1], keys (N, 2) one per
sample (by its index in the global batch).

Geometric ('bg'): the transforms compose into one 3x3 matrix G_inv that maps
an output pixel's coordinates (pixel units, origin at the image centre) to
the input's: x-flip, rotation by a multiple of 90 degrees, integer
translation (round(t W), round(t H)) with t ~ U(-0.125, 0.125), isotropic
scaling 2^(0.2 n), a rotation by U(-pi, pi), anisotropic scaling
(2^(0.2 n), 2^(-0.2 n)), another rotation, fractional translation
(0.125 n W, 0.125 n H) (n ~ N(0, 1)); the image is then read at those
coordinates bilinearly, reflected at the borders. (StyleGAN2-ADA pads and
filters with a wavelet before resampling, to keep aliasing out; this reads
the image directly, so the flips, 90-degree rotations and integer
translations are exact pixel maps, and the rest bilinear.)

Colour ('c'): a 4x4 matrix C on (r, g, b, 1): brightness + 0.2 n, contrast
x 2^(0.5 n), luma flip (I - 2 v v^T with v the grey axis), hue rotation by
U(-pi, pi) about v, saturation v v^T + (I - v v^T) 2^n; a 1-channel image
uses the mean of C's colour rows, as the reference does (hue and
saturation then leave it unchanged).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

# The 'bgc' pipeline's transforms, in order.
GEOMETRIC = (
    "xflip",
    "rotate90",
    "xint",
    "scale",
    "rotate",
    "aniso",
    "xfrac",
)
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
TRANSFORMS = GEOMETRIC + COLOR
XINT_MAX = 0.125
SCALE_STD = 0.2
ROTATE_MAX = 1.0
ANISO_STD = 0.2
XFRAC_STD = 0.125
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5
HUE_MAX = 1.0
SATURATION_STD = 1.0


def translate2d(tx, ty):
  one, zero = jnp.ones_like(tx), jnp.zeros_like(tx)
  return jnp.array([[one, zero, tx], [zero, one, ty], [zero, zero, one]])


def scale2d(sx, sy):
  zero, one = jnp.zeros_like(sx), jnp.ones_like(sx)
  return jnp.array([[sx, zero, zero], [zero, sy, zero], [zero, zero, one]])


def rotate2d(theta):
  c, s = jnp.cos(theta), jnp.sin(theta)
  zero, one = jnp.zeros_like(theta), jnp.ones_like(theta)
  return jnp.array([[c, -s, zero], [s, c, zero], [zero, zero, one]])


# The grey axis (numpy: a module-level jnp array would start JAX's backend
# on import, before jax.distributed.initialize).
_V = np.array([1.0, 1.0, 1.0, 0.0], np.float32) / math.sqrt(3.0)


def rotate3d(v, theta):
  """4x4 rotation by theta about the unit axis v[:3] (Rodrigues)."""
  vx, vy, vz = v[0], v[1], v[2]
  s, c = jnp.sin(theta), jnp.cos(theta)
  cc = 1.0 - c
  return jnp.array(
      [
          [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0.0],
          [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0.0],
          [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0.0],
          [0.0, 0.0, 0.0, 1.0],
      ]
  )


def _draws(key):
  """Every random number one sample's pipeline uses, by name."""
  names = ("gate", "u", "u2", "n", "n2")
  keys = jax.random.split(key, len(names))
  k = dict(zip(names, keys))
  n_t = len(TRANSFORMS)
  return {
      "gate": jax.random.uniform(k["gate"], (n_t,)),
      "u": jax.random.uniform(k["u"], (n_t,)),
      "u2": jax.random.uniform(k["u2"], (n_t, 2)),
      "n": jax.random.normal(k["n"], (n_t,)),
      "n2": jax.random.normal(k["n2"], (n_t, 2)),
  }


def matrices(key, p, h: int, w: int, enabled=TRANSFORMS):
  """(G_inv 3x3, C 4x4) of one sample: its draws from `key`, each
  transform in `enabled` gated with probability p."""
  r = _draws(key)
  g_inv, c = jnp.eye(3), jnp.eye(4)
  p_rot = 1.0 - jnp.sqrt(jnp.clip(1.0 - p, 0.0, 1.0))

  def on(name, prob=p):
    i = TRANSFORMS.index(name)
    return (name in enabled) & (r["gate"][i] < prob)

  def draw(name, kind):
    return r[kind][TRANSFORMS.index(name)]

  # Geometric: G_inv maps output coordinates to input coordinates, so each
  # transform's inverse is multiplied on the right.
  i = jnp.where(on("xflip"), jnp.floor(draw("xflip", "u") * 2), 0.0)
  g_inv = g_inv @ scale2d(1.0 - 2.0 * i, jnp.ones_like(i))
  i = jnp.where(on("rotate90"), jnp.floor(draw("rotate90", "u") * 4), 0.0)
  # Rounded: cos(pi / 2) is not 0 in floating point, and these rotations
  # are exact pixel maps.
  g_inv = g_inv @ jnp.round(rotate2d(-(-math.pi / 2 * i)))
  t = jnp.where(on("xint"), (draw("xint", "u2") * 2 - 1) * XINT_MAX, 0.0)
  g_inv = g_inv @ translate2d(-jnp.round(t[0] * w), -jnp.round(t[1] * h))
  s = jnp.where(on("scale"), jnp.exp2(draw("scale", "n") * SCALE_STD), 1.0)
  g_inv = g_inv @ scale2d(1.0 / s, 1.0 / s)
  theta = (draw("rotate", "u") * 2 - 1) * math.pi * ROTATE_MAX
  theta = jnp.where(on("rotate", p_rot), theta, 0.0)
  g_inv = g_inv @ rotate2d(theta)  # The inverse of rotating by -theta.
  s = jnp.where(on("aniso"), jnp.exp2(draw("aniso", "n") * ANISO_STD), 1.0)
  g_inv = g_inv @ scale2d(1.0 / s, s)
  # The second rotation: the rotation gate's other draw.
  i_rot = TRANSFORMS.index("rotate")
  theta2 = (r["u2"][i_rot, 0] * 2 - 1) * math.pi * ROTATE_MAX
  theta2 = jnp.where(
      ("rotate" in enabled) & (r["u2"][i_rot, 1] < p_rot), theta2, 0.0
  )
  g_inv = g_inv @ rotate2d(theta2)
  t = jnp.where(on("xfrac"), draw("xfrac", "n2") * XFRAC_STD, 0.0)
  g_inv = g_inv @ translate2d(-t[0] * w, -t[1] * h)

  # Colour: C maps input colours to output colours (left-multiplied).
  b = jnp.where(on("brightness"), draw("brightness", "n") * BRIGHTNESS_STD, 0)
  c = _translate3d(b) @ c
  s = jnp.where(
      on("contrast"), jnp.exp2(draw("contrast", "n") * CONTRAST_STD), 1.0
  )
  c = jnp.diag(jnp.array([s, s, s, 1.0])) @ c
  vv = jnp.outer(_V, _V)
  i = jnp.where(on("lumaflip"), jnp.floor(draw("lumaflip", "u") * 2), 0.0)
  c = (jnp.eye(4) - 2.0 * vv * i) @ c
  theta = jnp.where(
      on("hue"), (draw("hue", "u") * 2 - 1) * math.pi * HUE_MAX, 0.0
  )
  c = rotate3d(_V, theta) @ c
  s = jnp.where(
      on("saturation"),
      jnp.exp2(draw("saturation", "n") * SATURATION_STD),
      1.0,
  )
  c = (vv + (jnp.eye(4) - vv) * s) @ c
  return g_inv, c


def _translate3d(b):
  m = jnp.eye(4)
  return m.at[0, 3].set(b).at[1, 3].set(b).at[2, 3].set(b)


def reflect(coord, size: int):
  """Coordinates reflected into [0, size - 1] (numpy.pad's 'reflect': -1
  reads 1, size reads size - 2)."""
  if size == 1:
    return jnp.zeros_like(coord)
  period = 2 * (size - 1)
  m = jnp.mod(coord, period)
  return jnp.where(m > size - 1, period - m, m)


def warp(image: jax.Array, g_inv: jax.Array) -> jax.Array:
  """One (H, W, C) image resampled at G_inv's coordinates: bilinear,
  reflected at the borders."""
  h, w, _ = image.shape
  ys, xs = jnp.meshgrid(
      jnp.arange(h, dtype=jnp.float32) - (h - 1) / 2,
      jnp.arange(w, dtype=jnp.float32) - (w - 1) / 2,
      indexing="ij",
  )
  src = g_inv @ jnp.stack([xs.ravel(), ys.ravel(), jnp.ones(h * w)])
  sx = src[0] + (w - 1) / 2
  sy = src[1] + (h - 1) / 2
  x0, y0 = jnp.floor(sx), jnp.floor(sy)
  fx, fy = (sx - x0)[:, None], (sy - y0)[:, None]

  def read(yy, xx):
    yi = reflect(yy, h).astype(jnp.int32)
    xi = reflect(xx, w).astype(jnp.int32)
    return image[yi, xi]

  out = (
      read(y0, x0) * (1 - fx) * (1 - fy)
      + read(y0, x0 + 1) * fx * (1 - fy)
      + read(y0 + 1, x0) * (1 - fx) * fy
      + read(y0 + 1, x0 + 1) * fx * fy
  )
  return out.reshape(h, w, -1).astype(image.dtype)


def recolor(image: jax.Array, c: jax.Array) -> jax.Array:
  """One (H, W, C) image's colours through C (C = 3: C[:3, :3] x + C[:3, 3];
  C = 1: the mean of C's colour rows)."""
  if image.shape[-1] == 3:
    return (image @ c[:3, :3].T + c[:3, 3]).astype(image.dtype)
  if image.shape[-1] == 1:
    row = jnp.mean(c[:3, :], axis=0)
    return (image * jnp.sum(row[:3]) + row[3]).astype(image.dtype)
  raise ValueError(
      f"ADA's colour transforms need 1 or 3 channels, not {image.shape[-1]}"
  )


def augment(x: jax.Array, keys: jax.Array, p, enabled=TRANSFORMS) -> jax.Array:
  """The batch x (N, H, W, C) through the pipeline with probability p."""
  h, w = x.shape[1:3]

  def one(image, key):
    g_inv, c = matrices(key, p, h, w, enabled)
    geometric = any(t in enabled for t in GEOMETRIC)
    colour = any(t in enabled for t in COLOR)
    if geometric:
      image = warp(image, g_inv)
    if colour:
      image = recolor(image, c)
    return image

  return jax.vmap(one)(x, keys)


def update_p(p, signs, count, *, target: float, images: int, speed_kimg: float):
  """The ADA heuristic (the paper's Sec. 3, the code's ada_interval step):
  r_t = signs / count, the mean sign of D's outputs on augmented reals
  since the last update; p moves by sign(r_t - target) x images /
  (speed_kimg x 1000), `images` being those shown to D since then, and is
  clamped to [0, 1]."""
  r_t = signs / jnp.maximum(count, 1.0)
  adjust = jnp.sign(r_t - target) * images / (speed_kimg * 1000.0)
  return jnp.clip(p + adjust, 0.0, 1.0), r_t
