"""The generator's input: noise z, InfoGAN's codes, and their information term.

G's input is z (`model.z_dim`, `model.noise`) followed, for InfoGAN (Chen et
al. 2016), by a one-hot categorical code c1 (`model.info_categorical`
categories, uniform) and continuous codes (`model.info_continuous`, each
U(-1, 1)). Without codes the input is exactly `sample_noise(key, ...)`.

The information term is the variational lower bound of the paper's Eq. 4,
L_I(G, Q) = E[log Q(c | G(z, c))] + H(c) <= I(c; G(z, c)), with Q's
categorical part a softmax over D's `info` logits and its continuous part a
unit-variance Gaussian around D's predicted means (a fixed-variance member
of the paper's factored Gaussian; the bound holds for any Q). H(c) is
log(categories) for the uniform categorical code and log 2 per U(-1, 1)
code, so L_I is in nats and its maximum is log(categories) for c1.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.core.errors import UserError
from jaxgan.models.conditioning import Conditioning

# model.noise -> (key, shape) -> z.
NOISE = {
    "normal": lambda key, shape: jax.random.normal(key, shape, jnp.float32),
    "uniform": lambda key, shape: jax.random.uniform(
        key, shape, jnp.float32, -1.0, 1.0
    ),
}


def sample_noise(
    key: jax.Array,
    num: int,
    z_dim: int,
    dist: str = "normal",
    truncation: float | None = None,
) -> jax.Array:
  """(num, z_dim) noise of `model.noise` (validated).

  truncation: BigGAN's truncation trick (Brock et al. 2019, Sec. 4.1): a
  normal z with every value whose magnitude exceeds `truncation` drawn
  again until it does not, i.e. the normal truncated to [-T, T] (drawn
  exactly by inversion: jax.random.truncated_normal); normal noise only.
  """
  if truncation is not None:
    if dist != "normal":
      raise ValueError(f"truncation applies to normal noise, not {dist!r}")
    return jax.random.truncated_normal(
        key, -truncation, truncation, (num, z_dim), jnp.float32
    )
  return NOISE[dist](key, (num, z_dim))


def check_truncation(
    truncation: float | None, noise: str, flag: str = "--truncation"
) -> None:
  """A user's truncation (given as `flag`) for a run drawing `noise`: a
  UserError if bad."""
  if truncation is None:
    return
  if not truncation > 0:
    raise UserError(f"{flag}={truncation} must be positive, e.g. 0.5")
  if noise != "normal":
    raise UserError(
        f"{flag}={truncation} applies to normal noise; this run draws "
        f"model.noise={noise!r}: leave it out"
    )


def input_dim(z_dim: int, cond: Conditioning) -> int:
  return z_dim + cond.code_dim


def draw(
    key: jax.Array,
    num: int,
    z_dim: int,
    noise: str,
    cond: Conditioning,
    truncation: float | None = None,
) -> jax.Array:
  """(num, z_dim + codes) generator inputs: noise (truncated at
  `truncation` if given; `sample_noise`), then random codes."""
  if not cond.info:
    return sample_noise(key, num, z_dim, noise, truncation)
  k_z, k_cat, k_cont = jax.random.split(key, 3)
  categorical = continuous = None
  if cond.info_categorical:
    categorical = jax.random.randint(k_cat, (num,), 0, cond.info_categorical)
  if cond.info_continuous:
    continuous = jax.random.uniform(
        k_cont, (num, cond.info_continuous), jnp.float32, -1.0, 1.0
    )
  return with_codes(
      sample_noise(k_z, num, z_dim, noise, truncation),
      cond,
      categorical=categorical,
      continuous=continuous,
  )


def with_codes(
    z: jax.Array, cond: Conditioning, *, categorical=None, continuous=None
) -> jax.Array:
  """z (N, z_dim) joined by the codes: categorical (N,) ints, continuous
  (N, info_continuous) floats; both required when the model has them."""
  parts = [z]
  if cond.info_categorical:
    parts.append(
        jax.nn.one_hot(categorical, cond.info_categorical, dtype=z.dtype)
    )
  if cond.info_continuous:
    parts.append(jnp.asarray(continuous, z.dtype))
  return jnp.concatenate(parts, axis=-1)


def codes_of(g_input: jax.Array, cond: Conditioning):
  """(one-hot categorical or None, continuous or None) of generator inputs."""
  codes = g_input[:, g_input.shape[1] - cond.code_dim :]
  k = cond.info_categorical
  return (
      codes[:, :k] if k else None,
      codes[:, k:] if cond.info_continuous else None,
  )


def information(
    q: jax.Array, g_input: jax.Array, cond: Conditioning
) -> dict[str, jax.Array]:
  """The lower bound L_I and its parts, averaged over the batch.

  Args:
    q: D's 'info' head on G(g_input): (N, categories + continuous codes),
      the categorical logits then the continuous means.
    g_input: (N, z_dim + codes) what G was given.
    cond: the codes' sizes.

  Returns:
    {'info_mi': L_I (nats), 'info_categorical': its categorical part,
    'info_continuous': its continuous part} (parts present when the model
    has those codes).
  """
  one_hot, continuous = codes_of(g_input, cond)
  k = cond.info_categorical
  out = {}
  if k:
    log_q = jnp.sum(one_hot * jax.nn.log_softmax(q[:, :k]), axis=-1)
    out["info_categorical"] = jnp.mean(log_q) + math.log(k)
  if cond.info_continuous:
    mean = q[:, k:]
    log_q = jnp.sum(
        -0.5 * (continuous - mean) ** 2 - 0.5 * math.log(2 * math.pi), axis=-1
    )
    out["info_continuous"] = jnp.mean(log_q) + cond.info_continuous * math.log(
        2.0
    )
  out["info_mi"] = sum(out.values())
  return out


# --- Latent-space tools of `python -m jaxgan.sample --mode=...`.

INTERPOLATIONS = ("linear", "slerp")


def interpolate(
    a: np.ndarray, b: np.ndarray, steps: int, method: str = "linear"
) -> np.ndarray:
  """(steps, ...) points from a to b (rows of a and b are pairs).

  'slerp' follows the great circle between a and b with the norm
  interpolated linearly (White 2016, "Sampling Generative Networks"): a
  Gaussian z's norm concentrates near sqrt(z_dim), which the straight line
  between two samples leaves; 'linear' is the straight line of DCGAN.
  """
  if method not in INTERPOLATIONS:
    raise UserError(
        f"--interpolation={method!r} is unknown; use one of "
        f"{list(INTERPOLATIONS)}"
    )
  t = np.linspace(0.0, 1.0, steps).reshape(-1, *([1] * a.ndim))
  if method == "linear":
    return (1 - t) * a + t * b
  na = np.linalg.norm(a, axis=-1, keepdims=True)
  nb = np.linalg.norm(b, axis=-1, keepdims=True)
  cos = np.sum(a * b, -1, keepdims=True) / np.maximum(na * nb, 1e-12)
  omega = np.arccos(np.clip(cos, -1.0, 1.0))
  so = np.sin(omega)
  # Nearly parallel vectors: the great circle is the line.
  safe = np.where(so > 1e-6, so, 1.0)
  wa = np.where(so > 1e-6, np.sin((1 - t) * omega) / safe, 1 - t)
  wb = np.where(so > 1e-6, np.sin(t * omega) / safe, t)
  direction = wa * a / np.maximum(na, 1e-12) + wb * b / np.maximum(nb, 1e-12)
  direction /= np.maximum(
      np.linalg.norm(direction, axis=-1, keepdims=True), 1e-12
  )
  return direction * ((1 - t) * na + t * nb)


def parse_expression(expr: str, num: int) -> list[tuple[int, list[int]]]:
  """'3,7,12 - 5,9 + 20' -> [(+1, [3, 7, 12]), (-1, [5, 9]), (+1, [20])].

  Each term is a comma-separated list of sample indices (of `--mode=grid`
  with the same --seed and --num) whose latent vectors are averaged.
  """
  terms, sign, rest = [], 1, expr.replace(" ", "")
  fix = (
      "; e.g. --expression='3,7,12 - 5,9 + 20' (DCGAN's 'smiling woman - "
      "neutral woman + neutral man' from averaged sample indices)"
  )
  while rest:
    cut = min(
        [i for i in (rest.find("+"), rest.find("-")) if i >= 0],
        default=len(rest),
    )
    group, op, rest = rest[:cut], rest[cut : cut + 1], rest[cut + 1 :]
    try:
      indices = [int(i) for i in group.split(",")]
    except ValueError:
      raise UserError(
          f"--expression={expr!r}: {group!r} is not a list of "
          f"sample indices{fix}"
      ) from None
    bad = [i for i in indices if not 0 <= i < num]
    if bad:
      raise UserError(
          f"--expression={expr!r}: index {bad[0]} is not among "
          f"the {num} samples (0..{num - 1}); raise --num or "
          "pick another"
      )
    terms.append((sign, indices))
    sign = -1 if op == "-" else 1
    if op and not rest:
      raise UserError(f"--expression={expr!r} ends in {op!r}{fix}")
  if not terms:
    raise UserError(f"--expression={expr!r} is empty{fix}")
  return terms
