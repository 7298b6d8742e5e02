"""Paired data for image-to-image GANs: each target image's source image.

`data.pairs` names a fixed, deterministic function from a target image to
the image the generator is given (Isola et al. 2017's "A -> B"):

- 'sr4x': the target downsampled 4x with a fixed antialiased bicubic kernel
  (`jax.image.resize`), as Ledig et al. 2017 make their low-resolution
  inputs; the generator returns the 4x larger image (SRGAN).
- 'edges': the target's edge map, black lines on white: Sobel gradient
  magnitude of the grey image above `EDGE_THRESHOLD` (a fixed detector in
  place of pix2pix's HED edges, which need a network that cannot be
  downloaded here).
- 'inpaint': the target with a square hole of half its side filled with
  mid-grey (0), placed by a key seeded from a hash of the image's pixels
  (`hole_corners`), so the same image always gets the same hole.

The source is a pure function of the target image, and so of the example
index: training order and exact resume are those of the image pipeline, and
the train step computes sources on the device from the real batch. All
functions take and return float images in [-1, 1], (N, H, W, C).

`baseline(name, source, size)` is the trivial answer each task's model must
beat: bicubic upsampling of the low-resolution image for 'sr4x', the input
itself for 'edges'.
"""

import jax
import jax.numpy as jnp

PAIRS = ("none", "sr4x", "edges", "inpaint")
SR_FACTOR = 4
# Sobel magnitude (on [-1, 1] grey levels) above which a pixel is an edge:
# a step of 0.5 between neighbours (a quarter of the range) gives magnitude 2.
EDGE_THRESHOLD = 1.0


def source_shape(name: str, target_shape: tuple[int, ...]) -> tuple[int, ...]:
  """(h, w, c) of the source of a target of shape (H, W, C)."""
  h, w, c = target_shape
  if name == "sr4x":
    return (h // SR_FACTOR, w // SR_FACTOR, c)
  if name in ("edges", "inpaint"):
    return (h, w, c)
  raise ValueError(f"unknown data.pairs {name!r}; one of {PAIRS[1:]}")


def downsample(target: jax.Array) -> jax.Array:
  """4x smaller, antialiased bicubic; clipped to [-1, 1]."""
  n, h, w, c = target.shape
  small = jax.image.resize(
      target.astype(jnp.float32),
      (n, h // SR_FACTOR, w // SR_FACTOR, c),
      "cubic",
      antialias=True,
  )
  return jnp.clip(small, -1.0, 1.0)


def sobel_magnitude(images: jax.Array) -> jax.Array:
  """(N, H, W) gradient magnitude of the grey image (mean of the channels),
  3x3 Sobel with edge-replicated borders."""
  grey = jnp.mean(images.astype(jnp.float32), axis=-1)
  p = jnp.pad(grey, ((0, 0), (1, 1), (1, 1)), mode="edge")
  h, w = grey.shape[1:]

  def at(dy, dx):  # The neighbour at offset (dy, dx) of every pixel.
    return p[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

  gx = (
      at(-1, 1)
      + 2 * at(0, 1)
      + at(1, 1)
      - at(-1, -1)
      - 2 * at(0, -1)
      - at(1, -1)
  )
  gy = (
      at(1, -1)
      + 2 * at(1, 0)
      + at(1, 1)
      - at(-1, -1)
      - 2 * at(-1, 0)
      - at(-1, 1)
  )
  return jnp.sqrt(gx * gx + gy * gy)


def edges(target: jax.Array) -> jax.Array:
  """Edge map: -1 (black) where the Sobel magnitude exceeds the threshold,
  1 (white) elsewhere, in every channel."""
  edge = sobel_magnitude(target) > EDGE_THRESHOLD
  out = jnp.where(edge, -1.0, 1.0)[..., None]
  return jnp.broadcast_to(out, target.shape).astype(jnp.float32)


def _pixel_hash(images: jax.Array) -> jax.Array:
  """(N,) uint32 hash of each image's uint8 pixel values (a weighted sum
  with wrap-around, the weights a fixed odd multiplier's powers)."""
  v = jnp.rint((images.astype(jnp.float32) + 1.0) * 127.5).astype(jnp.uint32)
  v = v.reshape(v.shape[0], -1)
  weights = jnp.arange(1, v.shape[1] + 1, dtype=jnp.uint32) * jnp.uint32(
      2654435761
  )
  return jnp.sum(v * weights, axis=1, dtype=jnp.uint32)


def hole_corners(images: jax.Array) -> jax.Array:
  """(N, 2) top-left corners of each image's inpainting hole (side H // 2),
  drawn uniformly from a key seeded by the image's pixel hash."""
  n, h, w = images.shape[:3]
  keys = jax.vmap(jax.random.PRNGKey)(_pixel_hash(images))
  u = jax.vmap(lambda k: jax.random.uniform(k, (2,)))(keys)
  span = jnp.array([h - h // 2 + 1, w - w // 2 + 1], jnp.float32)
  return jnp.floor(u * span).astype(jnp.int32)


def inpaint(target: jax.Array) -> jax.Array:
  """The target with its hole (hole_corners) set to 0 (mid-grey)."""
  n, h, w, _ = target.shape
  corners = hole_corners(target)
  rows = jnp.arange(h)[None, :, None]
  cols = jnp.arange(w)[None, None, :]
  top, left = corners[:, 0, None, None], corners[:, 1, None, None]
  hole = (
      (rows >= top)
      & (rows < top + h // 2)
      & (cols >= left)
      & (cols < left + w // 2)
  )
  return jnp.where(hole[..., None], 0.0, target.astype(jnp.float32))


_SOURCES = {"sr4x": downsample, "edges": edges, "inpaint": inpaint}


def source_of(name: str, target: jax.Array) -> jax.Array:
  """The source images of float targets in [-1, 1]."""
  if name not in _SOURCES:
    raise ValueError(f"unknown data.pairs {name!r}; one of {PAIRS[1:]}")
  return _SOURCES[name](target)


def upsample(source: jax.Array, size: int) -> jax.Array:
  """Bicubic upsampling to size x size, clipped to [-1, 1]."""
  n, _, _, c = source.shape
  big = jax.image.resize(source, (n, size, size, c), "cubic")
  return jnp.clip(big, -1.0, 1.0)


def baseline(name: str, source: jax.Array, size: int) -> jax.Array:
  """The trivial output for a source: bicubic upsampling ('sr4x'), the
  source itself ('edges', 'inpaint')."""
  if name == "sr4x":
    return upsample(source, size)
  return source


def to_target_size(source: jax.Array, size: int) -> jax.Array:
  """A source shown or concatenated at the target's size: nearest-neighbour
  upsampling when smaller (each source pixel stays visible as a block)."""
  factor = size // source.shape[1]
  if factor == 1:
    return source
  return jnp.repeat(jnp.repeat(source, factor, axis=1), factor, axis=2)
