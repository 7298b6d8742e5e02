"""DiffAugment (Zhao et al. 2020): differentiable augmentation of every
image D sees, with the policies of the paper's code
(mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py).

Images are (N, H, W, C) in [-1, 1]; every draw is per sample, from that
sample's key (`keys`, (N, 2)), so a sample's augmentation depends on its
index in the global batch only (1 device equals N devices). Each policy
is always applied (DiffAugment has no probability):

- `color`: brightness x + (u - 0.5); saturation (x - m) 2u + m with m the
  mean over channels at each pixel; contrast (x - M)(u + 0.5) + M with M
  the image's mean over all pixels and channels; a fresh u ~ U[0, 1) for
  each, in that order.
- `translation`: a shift by integers t_y, t_x ~ U{-s, ..., s} with
  s = int(0.125 H + 0.5) (and W), out[i, j] = x[i + t_y, j + t_x], zero
  where that falls outside the image.
- `cutout`: a square of int(0.5 H + 0.5) pixels set to zero, its centre
  (c_y, c_x) ~ U{0, ..., H - (size mod 2)}, rows c_y - size // 2 to
  c_y - size // 2 + size - 1 (clipped to the image), the same for columns.
"""

import jax
import jax.numpy as jnp

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _per_sample(fn, x: jax.Array, keys: jax.Array) -> jax.Array:
  return jax.vmap(fn)(x, keys)


def color_draws(key: jax.Array) -> jax.Array:
  """The three U[0, 1) draws of `color` (brightness, saturation, contrast)."""
  return jax.random.uniform(key, (3,))


def color_with(x: jax.Array, u: jax.Array) -> jax.Array:
  """One (H, W, C) image's colour change by the draws u (3,)."""
  x = x + (u[0] - 0.5).astype(x.dtype)
  mean = jnp.mean(x, axis=-1, keepdims=True)
  x = (x - mean) * (u[1] * 2.0).astype(x.dtype) + mean
  mean = jnp.mean(x)
  return (x - mean) * (u[2] + 0.5).astype(x.dtype) + mean


def color(x: jax.Array, key: jax.Array) -> jax.Array:
  """One (H, W, C) image's brightness, saturation and contrast change."""
  return color_with(x, color_draws(key))


def shift(x: jax.Array, ty, tx) -> jax.Array:
  """out[i, j] = x[i + ty, j + tx] of one (H, W, C) image, zero outside."""
  h, w, _ = x.shape
  rows = jnp.arange(h) + ty
  cols = jnp.arange(w) + tx
  inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))
  out = x[jnp.clip(rows, 0, h - 1)][:, jnp.clip(cols, 0, w - 1)]
  return jnp.where(inside[..., None], out, jnp.zeros((), x.dtype))


def translation(x: jax.Array, key: jax.Array) -> jax.Array:
  """One image shifted by up to 1/8 of its size, zero-padded."""
  h, w, _ = x.shape
  sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
  ky, kx = jax.random.split(key)
  ty = jax.random.randint(ky, (), -sy, sy + 1)
  tx = jax.random.randint(kx, (), -sx, sx + 1)
  return shift(x, ty, tx)


def cutout_mask(h: int, w: int, cy, cx) -> jax.Array:
  """(H, W) 0 inside the cutout square centred at (cy, cx), else 1."""
  size_y, size_x = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
  rows = jnp.arange(h) - (cy - size_y // 2)
  cols = jnp.arange(w) - (cx - size_x // 2)
  in_rows = (rows >= 0) & (rows < size_y)
  in_cols = (cols >= 0) & (cols < size_x)
  return 1.0 - (in_rows[:, None] & in_cols[None, :]).astype(jnp.float32)


def cutout(x: jax.Array, key: jax.Array) -> jax.Array:
  """One image with half its size cut out (set to 0) at a random place."""
  h, w, _ = x.shape
  size_y, size_x = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
  ky, kx = jax.random.split(key)
  cy = jax.random.randint(ky, (), 0, h + (1 - size_y % 2))
  cx = jax.random.randint(kx, (), 0, w + (1 - size_x % 2))
  return x * cutout_mask(h, w, cy, cx)[..., None].astype(x.dtype)


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(text: str) -> tuple[str, ...]:
  """'color,translation' -> ('color', 'translation'); unknown names raise
  ValueError listing the valid ones."""
  names = tuple(p.strip() for p in text.split(",") if p.strip())
  for name in names:
    if name not in POLICIES:
      raise ValueError(
          f"unknown DiffAugment policy {name!r}; use a comma list of "
          f"{sorted(POLICIES)}"
      )
  return names


def diffaugment(
    x: jax.Array, keys: jax.Array, policy: tuple[str, ...]
) -> jax.Array:
  """The batch x (N, H, W, C) augmented by each policy in turn, with
  sample i's draws from keys[i]."""
  for i, name in enumerate(policy):
    fn = POLICIES[name]
    policy_keys = jax.vmap(lambda k, i=i: jax.random.fold_in(k, i))(keys)
    x = _per_sample(fn, x, policy_keys)
  return x
