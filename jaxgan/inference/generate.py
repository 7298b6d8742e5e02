"""Generation: the one path from generator inputs to images.

The training loop's sample grids, `python -m jaxgan.sample` and evaluation
all draw through `Sampler`: the EMA or the raw generator (an argument, never
a config edit), inputs drawn from a seed (`inputs`), labels for conditional
models (`grid_labels` for pictures, `cyclic_labels` for evaluation),
batched, padded to whole batches, split over every device of the mesh, and
converted to uint8 on the device. Image i depends on (seed, i) only, not on
the batch size or the device count (up to float summation order).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.core import images, runtime
from jaxgan.gan import latent
from jaxgan.models import pairs
from jaxgan.models.apply import to_model_input
from jaxgan.experiment.builder import Experiment

EVAL_SEED = 12345  # Evaluation's noise, apart from training's and sample's.


def grid_labels(num: int, num_classes: int) -> np.ndarray:
  """Labels for a grid of `num` images (images.make_grid's columns): one
  class per row, classes 0, 1, ... in order, starting over after the last."""
  return ((np.arange(num) // images.grid_columns(num)) % num_classes).astype(
      np.int32
  )


def cyclic_labels(num: int, num_classes: int) -> np.ndarray:
  """The classes asked of a conditional generator in evaluation: 0, 1, ...,
  K-1, 0, ... (every class equally often, up to one)."""
  return (np.arange(num) % num_classes).astype(np.int32)


def inputs(
    exp: Experiment, seed: int, num: int, truncation: float | None = None
) -> np.ndarray:
  """(num, input_dim) generator inputs of `seed`: noise (truncated at
  `truncation`: latent.sample_noise), then InfoGAN codes."""
  o = exp.options
  return np.array(
      latent.draw(
          jax.random.PRNGKey(seed), num, o.z_dim, o.noise, exp.cond, truncation
      )
  )


def sources(exp: Experiment, targets: np.ndarray) -> np.ndarray:
  """float32 source images (data.pairs) of uint8 target images, computed
  as the train step computes them from its real batch."""
  name = exp.options.pairs
  fn = jax.jit(lambda x: pairs.source_of(name, to_model_input(x)))
  return _in_batches(fn, targets)


def baseline(exp: Experiment, source: np.ndarray) -> np.ndarray:
  """uint8 outputs of the task's trivial baseline (pairs.baseline)."""
  name, size = exp.options.pairs, exp.data.image_size
  fn = jax.jit(lambda s: to_uint8(pairs.baseline(name, s, size)))
  return _in_batches(fn, source)


def _in_batches(fn, x: np.ndarray, batch: int = 1000) -> np.ndarray:
  """fn over x in slices of `batch` (bounded device memory), joined."""
  return np.concatenate(
      [np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)]
  )


def pair_grid(
    exp: Experiment,
    source: np.ndarray,
    outputs: np.ndarray,
    targets: np.ndarray | None = None,
    per_row: int = 4,
) -> np.ndarray:
  """A grid image of (source, output[, target]) tuples, `per_row` to a
  row; sources smaller than the targets shown in nearest-neighbour blocks."""
  size = exp.data.image_size
  shown = np.asarray(to_uint8(pairs.to_target_size(jnp.asarray(source), size)))
  columns = [shown, outputs] + ([] if targets is None else [targets])
  tiles = np.stack(columns, axis=1).reshape(-1, *outputs.shape[1:])
  return images.make_grid(
      tiles, ncols=len(columns) * min(per_row, len(outputs))
  )


def to_uint8(x: jax.Array) -> jax.Array:
  """[-1, 1] float images -> uint8 in [0, 255], rounding to nearest."""
  return jnp.clip(jnp.rint((x + 1.0) * 127.5), 0, 255).astype(jnp.uint8)


class Sampler:
  """A generator's outputs for given inputs, over all devices of the mesh.

  `sampler(state, z, labels)` returns uint8 (N, H, W, C) images, or float32
  (N, 2) points for the 2-D toys, as numpy arrays on every process.
  """

  def __init__(self, exp: Experiment, *, ema: bool, batch_size: int = 256):
    """
    Args:
      exp: the experiment.
      ema: draw with the generator's EMA (`model.ema_decay > 0`; else the
        EMA equals the raw generator) or the raw generator.
      batch_size: images per call, rounded to a multiple of the devices.
    """
    self.exp, self.ema = exp, ema
    devices = exp.mesh.size
    self.batch_size = max(devices, batch_size // devices * devices)
    self._sharding = NamedSharding(exp.mesh, P(runtime.AXIS))
    self._runs = {}

  def _run_for(self, generator):
    """The jitted, sharded draw of one generator module (a progressive
    model has one per stage)."""
    key = (
        getattr(generator, "level", None),
        getattr(generator, "fading", None),
    )
    if key in self._runs:
      return self._runs[key]
    ema, labelled, points = self.ema, self.exp.cond.labelled, self.exp.points

    def body(state, z, labels, extra):  # Per device: its slice of the batch.
      params = state.ema_params if ema else state.g_params
      stats = state.ema_batch_stats if ema else state.g_batch_stats
      variables = {"params": params}
      if stats:
        variables["batch_stats"] = stats
      kwargs = {"labels": labels} if labelled else {}
      x = generator.apply(variables, z, train=False, **kwargs, **extra)
      return x.astype(jnp.float32) if points else to_uint8(x)

    spec = P(runtime.AXIS)
    run = jax.jit(
        jax.shard_map(
            body,
            mesh=self.exp.mesh,
            in_specs=(P(), spec, spec, P()),
            out_specs=spec,
        )
    )
    self._runs[key] = run
    return run

  def __call__(self, state, z: np.ndarray, labels=None) -> np.ndarray:
    """Outputs for inputs z (N, input_dim) and labels (N,) (required by a
    class-conditional model, ignored otherwise)."""
    z = np.asarray(z, np.float32)
    n, b = len(z), self.batch_size
    if self.exp.cond.labelled and labels is None:
      raise ValueError("a class-conditional generator needs labels")
    labels = (
        np.zeros(n, np.int32)
        if labels is None
        else np.asarray(labels, np.int32)
    )
    z = np.concatenate([z, np.zeros((-n % b, *z.shape[1:]), z.dtype)])
    labels = np.concatenate([labels, np.zeros(-n % b, np.int32)])
    # A progressive G draws at the stage of the state's last iteration.
    generator, extra = self.exp.generator_at(int(jax.device_get(state.step)))
    run = self._run_for(generator)
    extra = {k: jnp.asarray(v, jnp.float32) for k, v in extra.items()}
    out = []
    for i in range(0, len(z), b):
      x = run(
          state,
          jax.device_put(z[i : i + b], self._sharding),
          jax.device_put(labels[i : i + b], self._sharding),
          extra,
      )
      out.append(runtime.all_processes(x, tiled=True))  # Every process.
    return np.concatenate(out)[:n]

  def draw(
      self,
      state,
      seed: int,
      num: int,
      labels=None,
      truncation: float | None = None,
  ) -> np.ndarray:
    """`num` outputs of the inputs of `seed` (and `labels`)."""
    return self(state, inputs(self.exp, seed, num, truncation), labels)
