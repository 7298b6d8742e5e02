"""The grain input pipeline: shuffled, sharded, resumable batches of images.

The order of examples is a pure function of (seed, position): the dataset is
shuffled with a per-epoch seed and repeated forever (grain `MapDataset`).
From an example position, it is cut into per-process batches, and process p
of P reads local batch g*P + p of global batch g. One training iteration
consumes `train.d_steps` consecutive global batches; the train state counts
the global batches consumed (`data_pos`), so a run resumes from example
data_pos x batch, and a progressive run, whose batch changes between stages,
from the example its schedule says (progressive.Schedule.examples_before).
Resuming is therefore exact: `make_iterator(..., start_example=...)` yields
the batches an uninterrupted run would have read from there, for any number
of processes.

Images leave the pipeline as uint8 (k, per_process_batch, H, W, C) arrays; the
train step scales them to [-1, 1] on the device (a quarter of the bytes of
float32 cross the host-device boundary). Points of the 2-D toys leave as
float32 (k, per_process_batch, 2). For a class-conditional model
(`labels=True`) each element is a pair (images, int32 labels (k,
per_process_batch)), read from the same examples.
"""

import collections.abc
import dataclasses
import hashlib
import io
from typing import Any, Iterator, Sequence

import grain
import ml_collections
import numpy as np
from PIL import Image

from jaxgan.data import sources

# data.preprocess: what `Preprocess` does to bring an image to size.
PREPROCESS = ("pad", "resize", "center_crop_resize", "none")


@dataclasses.dataclass(frozen=True)
class Preprocess:
  """Decodes and brings one image to (size, size, channels) uint8.

  mode: 'pad' (centre-pad with zeros, e.g. 28 -> 32), 'resize' (bilinear with
  antialias), 'center_crop_resize' (crop the central square, or `crop_size`
  when > 0, then resize; the DCGAN CelebA protocol), or 'none' (sizes must
  match).
  """

  size: int
  channels: int
  mode: str = "none"
  crop_size: int = 0
  name: str = ""

  def __call__(self, example: dict[str, Any]) -> np.ndarray:
    image = example["image"]
    if isinstance(image, (str, bytes)):
      image = _decode(image)
    image = np.asarray(image)
    if image.ndim == 2:
      image = image[..., None]
    if image.shape[-1] != self.channels:
      if self.channels == 3 and image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
      elif self.channels == 1 and image.shape[-1] in (3, 4):
        image = np.asarray(Image.fromarray(image[..., :3]).convert("L"))[
            ..., None
        ]
      elif self.channels == 3 and image.shape[-1] == 4:
        image = image[..., :3]
      else:
        raise sources.DataError(
            f"{self.name}: image has {image.shape[-1]} channels; "
            f"data.channels={self.channels}"
        )
    h, w = image.shape[:2]
    if self.mode == "pad":
      if h > self.size or w > self.size:
        raise sources.DataError(
            f"{self.name}: data.preprocess='pad' cannot pad a {h}x{w} image to "
            f"data.image_size={self.size}; use 'resize'"
        )
      top, left = (self.size - h) // 2, (self.size - w) // 2
      image = np.pad(
          image,
          ((top, self.size - h - top), (left, self.size - w - left), (0, 0)),
      )
    elif self.mode in ("resize", "center_crop_resize"):
      if self.mode == "center_crop_resize":
        c = self.crop_size or min(h, w)
        top, left = (h - c) // 2, (w - c) // 2
        image = image[top : top + c, left : left + c]
      if image.shape[:2] != (self.size, self.size):
        pil = Image.fromarray(image[..., 0] if self.channels == 1 else image)
        pil = pil.resize(
            (self.size, self.size), Image.BILINEAR, reducing_gap=None
        )
        image = np.asarray(pil).reshape(self.size, self.size, self.channels)
    elif self.mode != "none":  # validate.py refuses other modes.
      raise ValueError(f"unknown preprocess mode {self.mode!r}")
    if image.shape != (self.size, self.size, self.channels):
      raise sources.DataError(
          f"{self.name}: image of shape {image.shape} does not match "
          f"data.image_size={self.size}, data.channels={self.channels}; set "
          "data.preprocess to 'pad', 'resize' or 'center_crop_resize'"
      )
    return np.ascontiguousarray(image, dtype=np.uint8)


def _decode(path_or_bytes: str | bytes) -> np.ndarray:
  try:
    if isinstance(path_or_bytes, bytes):
      pil = Image.open(io.BytesIO(path_or_bytes))
    else:
      pil = Image.open(path_or_bytes)
    pil.load()
  except Exception as e:  # PIL raises many types for bad files.
    raise sources.DataError(
        f"cannot read image {path_or_bytes!r}: {e}; remove "
        "or replace the file"
    ) from None
  if pil.mode not in ("L", "RGB"):
    pil = pil.convert("RGB")
  return np.asarray(pil)


def _point(example: dict[str, Any]) -> np.ndarray:
  return example["point"]


def preprocess_for(data_config) -> Preprocess | Any:
  """The per-example function: `Preprocess` for images, the point for toys."""
  if sources.is_toy(data_config):
    return _point
  return Preprocess(
      size=data_config.image_size,
      channels=data_config.channels,
      mode=data_config.preprocess,
      crop_size=data_config.crop_size,
      name=data_config.source,
  )


@dataclasses.dataclass(frozen=True)
class WithLabel:
  """example -> (preprocessed example, int32 label)."""

  preprocess: Any

  def __call__(self, example: dict[str, Any]) -> tuple[np.ndarray, np.int32]:
    return self.preprocess(example), np.int32(example["label"])


def check_source(
    source: Sequence, data_config, global_batch: int, num_classes: int = 0
) -> None:
  """Raises DataError for a source with fewer examples than a batch, or whose
  first example is unreadable or of the wrong size or channel count (checked
  before training starts; a later bad example stops training with a
  checkpoint of the work done). With `num_classes` (a class-conditional
  model), also for a source without labels or with labels outside
  [0, num_classes)."""
  if len(source) < global_batch:
    raise sources.DataError(
        f"data.source={data_config.source!r} has {len(source)} examples, fewer "
        f"than one global batch of {global_batch}; use a smaller "
        "train.batch_size or more data"
    )
  preprocess_for(data_config)(source[0])
  if num_classes:
    sources.check_labels(source, data_config, num_classes)


class Subset(collections.abc.Sequence):
  """The examples of `source` at `indices`, in that order."""

  def __init__(self, source: Sequence, indices: np.ndarray):
    self.source, self.indices = source, indices

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, i):
    return self.source[int(self.indices[i])]


def training_source(data_config) -> Sequence:
  """The examples a run trains on: the split (sources.get_source), or with
  data.num_examples = N > 0 the first N of its permutation drawn with
  data.subset_seed, the same whatever the run's seed (so runs of several
  seeds or methods share one subset)."""
  source = sources.get_source(data_config)
  n = data_config.num_examples
  if not n:
    return source
  if n > len(source):
    raise sources.DataError(
        f"data.num_examples={n} is more than the {len(source)} examples of "
        f"data.source={data_config.source!r} ({data_config.split}); use at "
        f"most {len(source)}, or 0 for all"
    )
  order = np.random.default_rng(data_config.subset_seed).permutation(
      len(source)
  )
  return Subset(source, np.sort(order[:n]))


class Kept(collections.abc.Sequence):
  """The examples of `source` with their images preprocessed by `fn`, each
  computed on its first read and kept in memory: later epochs read the
  kept bytes instead of decoding again (the same bytes; the pipeline's
  order and resume are unchanged). The array is allocated empty, so memory
  is used only as images are first read."""

  def __init__(self, source: Sequence, fn: Preprocess):
    self.source, self.fn = source, fn
    shape = (fn.size, fn.size, fn.channels)
    self.images = np.empty((len(source), *shape), np.uint8)
    self.done = np.zeros(len(source), bool)

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, i):
    example = self.source[i]
    if not self.done[i]:  # Two reader threads may both fill i: same bytes.
      self.images[i] = self.fn(example)
      self.done[i] = True
    return {**example, "image": self.images[i]}


def kept_bytes(source: Sequence, data_config) -> int:
  """How many bytes of memory `make_dataset` keeps the preprocessed images
  of `source` in (`Kept`): all of them when they fit in data.cache_gb GiB,
  else 0 (every read decodes again; also 0 for the 2-D toys, which have no
  images)."""
  if sources.is_toy(data_config):
    return 0
  size = len(source) * int(np.prod(sources.data_shape(data_config)))
  return size if size <= data_config.cache_gb * 2**30 else 0


def _image(example: dict[str, Any]) -> np.ndarray:
  return example["image"]


def make_dataset(
    source: Sequence, data_config, *, seed: int, labels: bool = False
) -> grain.MapDataset:
  """Infinite MapDataset of preprocessed examples in the run's order (with
  `labels`, pairs (image, label)); images kept in memory after their first
  read where they fit in data.cache_gb (`kept_bytes`)."""
  fn = preprocess_for(data_config)
  if kept_bytes(source, data_config):
    source, fn = Kept(source, fn), _image
  ds = grain.MapDataset.source(source).shuffle(seed=seed % 2**32).repeat()
  return ds.map(WithLabel(fn) if labels else fn)


def make_iterator(
    ds: grain.MapDataset,
    *,
    start_example: int,
    per_process_batch: int,
    process_index: int,
    process_count: int,
    steps_per_iteration: int,
    num_threads: int = 2,
    prefetch: int = 4,
) -> Iterator[np.ndarray]:
  """Yields (k, per_process_batch, H, W, C) uint8, this process's part of
  the global batches from example `start_example` (or (images, labels)
  pairs of such batches)."""
  options = grain.ReadOptions(
      num_threads=num_threads, prefetch_buffer_size=prefetch
  )
  batches = ds[start_example:].batch(per_process_batch, drop_remainder=True)
  it_ds = batches[process_index::process_count].to_iter_dataset(options)
  return iter(it_ds.batch(steps_per_iteration, drop_remainder=True))


def with_split(data_config, split: str) -> ml_collections.ConfigDict:
  """A mutable copy of a data block (frozen or not) that reads `split`."""
  cfg = ml_collections.FrozenConfigDict(data_config).as_configdict()
  cfg.split = split
  return cfg


def load_split(data_config, split: str) -> tuple[np.ndarray, np.ndarray]:
  """All (uint8 images, int32 labels) of a split, preprocessed as for the GAN
  (the domain classifier's data, and evaluation's reference images)."""
  cfg = with_split(data_config, split)
  source = sources.get_source(cfg)
  fn = preprocess_for(cfg)
  examples = [source[i] for i in range(len(source))]
  images = np.stack([fn(e) for e in examples])
  labels = np.array([int(e["label"]) for e in examples], np.int32)
  return images, labels


def fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
  """SHA-256 of a labelled image set, independent of its order: the sorted
  hashes of its (image, label) pairs. Identifies the data a domain
  classifier was trained for, whatever source delivers it."""
  pairs = sorted(
      hashlib.sha256(
          np.ascontiguousarray(x).tobytes() + bytes([int(y) % 256])
      ).hexdigest()
      for x, y in zip(images, labels)
  )
  return hashlib.sha256("".join(pairs).encode()).hexdigest()


def preview(source: Sequence, data_config, num: int) -> np.ndarray:
  """The first `num` images of the source, preprocessed, for a real grid."""
  fn = preprocess_for(data_config)
  return np.stack([fn(source[i]) for i in range(min(num, len(source)))])
