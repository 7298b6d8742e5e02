"""Random-access image sources, chosen by the `data.source` prefix.

Every source is a sequence: `len(src)` and `src[i] -> {"image": uint8 (H, W, C)
or a path, "label": int}`; the pipeline decodes and resizes. Prefixes:

- `idx:<dir>`: MNIST-format IDX files (`train-images-idx3-ubyte[.gz]`,
  `t10k-images-idx3-ubyte[.gz]` and their labels), e.g. Fashion-MNIST from
  Debian's `dataset-fashion-mnist` in /usr/share/datasets/fashion-mnist.
- `tfds:<name>`: a prepared TFDS dataset read through `tfds.data_source`
  (array_record; TensorFlow is not needed to read it, only to prepare it).
- `folder:<dir>`: PNG/JPEG files anywhere below <dir> (e.g. a manual CelebA
  download); labels are the index of the first-level subfolder, 0 otherwise.
- `toy:<name>`: 2-D Gaussian mixtures (`ring8`, `grid25`; data/toy.py);
  examples are {"point": float32 (2,), "label": mode index}.
"""

import gzip
import os
import pathlib
from typing import Any, Callable, Sequence

import numpy as np
from absl import logging as absl_logging

from jaxgan.data import toy
from jaxgan.core.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path: str | os.PathLike) -> np.ndarray:
  """Reads an IDX file (optionally gzipped) into a numpy array."""
  path = str(path)
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "rb") as f:
    data = f.read()
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
    raise DataError(
        f"{path} is not an unsigned-byte IDX file (bad magic "
        f"{data[:4].hex()}); use MNIST-format files"
    )
  ndim = data[3]
  dims = [
      int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
  ]
  expected = 4 + 4 * ndim + int(np.prod(dims))
  if len(data) != expected:
    raise DataError(
        f"{path} has {len(data)} bytes but its header {dims} needs "
        f"{expected}; the file is truncated or corrupt"
    )
  return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find(directory: pathlib.Path, stem: str) -> pathlib.Path | None:
  for name in (stem, stem + ".gz"):
    if (directory / name).is_file():
      return directory / name
  return None


class IdxSource(Sequence):
  """Images and labels of one split of an MNIST-format dataset, in memory."""

  def __init__(self, directory: str, split: str = "train"):
    prefixes = {"train": "train", "test": "t10k"}
    if split not in prefixes:
      raise DataError(
          f"data.split={split!r} is not an IDX split; use 'train' " "or 'test'"
      )
    d = pathlib.Path(directory)
    images = _find(d, f"{prefixes[split]}-images-idx3-ubyte")
    if images is None:
      hint = ""
      if str(d) == FASHION_MNIST_DIR:
        hint = (
            " (install it with `apt-get install dataset-fashion-mnist`, or "
            "run scripts/setup.sh --data)"
        )
      raise DataError(
          f"no {prefixes[split]}-images-idx3-ubyte[.gz] in "
          f"{directory}{hint}; point data.source=idx:<dir> at a "
          "folder of MNIST-format IDX files"
      )
    self.images = read_idx(images)
    if self.images.ndim != 3:
      raise DataError(
          f"{images} holds an array of shape {self.images.shape}; "
          "expected (N, H, W) images"
      )
    self.images = self.images[..., None]
    labels = _find(d, f"{prefixes[split]}-labels-idx1-ubyte")
    if labels is not None:
      self.labels = read_idx(labels).astype(np.int32)
      if self.labels.shape != (len(self.images),):
        raise DataError(
            f"{labels} has {self.labels.shape[0]} labels for "
            f"{len(self.images)} images in {images}"
        )
    else:
      self.labels = np.zeros(len(self.images), np.int32)
    self.has_labels = labels is not None

  def __len__(self) -> int:
    return len(self.images)

  def __getitem__(self, i: int) -> dict[str, Any]:
    return {"image": self.images[i], "label": self.labels[i]}


class FolderSource(Sequence):
  """Image files below a folder, in sorted order; decoded by the pipeline."""

  def __init__(self, directory: str):
    d = pathlib.Path(directory)
    if not d.is_dir():
      raise DataError(
          f"data.source=folder:{directory}: no such directory; "
          "give a folder of PNG/JPEG images"
      )
    self.paths = sorted(
        str(p) for p in d.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not self.paths:
      raise DataError(
          f"data.source=folder:{directory} holds no "
          f"{'/'.join(IMAGE_EXTENSIONS)} files"
      )
    classes = sorted(
        {
            p.relative_to(d).parts[0]
            for p in map(pathlib.Path, self.paths)
            if len(p.relative_to(d).parts) > 1
        }
    )
    index = {c: i for i, c in enumerate(classes)}
    self.labels = np.array(
        [
            index.get(pathlib.Path(p).relative_to(d).parts[0], 0)
            for p in self.paths
        ],
        np.int32,
    )
    self.has_labels = bool(classes)

  def __len__(self) -> int:
    return len(self.paths)

  def __getitem__(self, i: int) -> dict[str, Any]:
    return {"image": self.paths[i], "label": self.labels[i]}


class TfdsSource(Sequence):
  """A prepared TFDS dataset split, read with `tfds.data_source`."""

  def __init__(self, name: str, split: str, data_dir: str | None):
    import tensorflow_datasets as tfds  # Heavy; only imported when used.

    level = absl_logging.get_verbosity()
    try:
      # download=False: never fetch or prepare at run time; report instead.
      # Its warnings about a missing dataset would only repeat the error.
      absl_logging.set_verbosity(absl_logging.ERROR)
      self.source = tfds.data_source(
          name, split=split, data_dir=data_dir, download=False
      )
    except Exception as e:  # tfds raises several types for a missing dataset.
      where = data_dir or "~/tensorflow_datasets"
      cause = str(e).splitlines()[0] if str(e) else ""
      raise DataError(
          f"data.source=tfds:{name} (split {split!r}) is not prepared as "
          f"array_record in {where} ({type(e).__name__}: {cause}); prepare it "
          f"once on a machine with internet and TensorFlow: `pip install "
          f"tensorflow && tfds build {name} --file_format=array_record`, then "
          "copy the folder here or set data.tfds_data_dir"
      ) from None
    finally:
      absl_logging.set_verbosity(level)
    self.has_labels = "label" in self.source[0]

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, i: int) -> dict[str, Any]:
    record = self.source[i]
    return {"image": record["image"], "label": int(record.get("label", 0))}


SOURCES: dict[str, Callable[[str, Any], Sequence]] = {
    "idx": lambda arg, cfg: IdxSource(arg, cfg.split),
    "tfds": lambda arg, cfg: TfdsSource(arg, cfg.split, cfg.tfds_data_dir),
    "folder": lambda arg, cfg: FolderSource(arg),
    "toy": lambda arg, cfg: toy.ToySource(arg),
}


def is_toy(data_config) -> bool:
  return data_config.source.startswith("toy:")


def toy_mixture(data_config) -> toy.Mixture | None:
  """The mixture of a `toy:<name>` source, None for image sources."""
  if not is_toy(data_config):
    return None
  return toy.get_mixture(data_config.source.partition(":")[2])


def data_shape(data_config) -> tuple[int, ...]:
  """One example's shape as the models see it: (2,) or (H, W, C)."""
  if is_toy(data_config):
    return (2,)
  return (data_config.image_size, data_config.image_size, data_config.channels)


def check_labels(source: Sequence, data_config, num_classes: int) -> None:
  """Raises DataError unless the source has labels in [0, num_classes)
  (all of them where they are in memory, else the first example's)."""
  name = data_config.source
  if not getattr(source, "has_labels", True):
    raise DataError(
        f"data.source={name!r} has no labels (an IDX folder without its "
        "labels file, or a folder: without class subfolders), which "
        "model.conditioning needs; add them or set model.conditioning='none'"
    )
  labels = getattr(source, "labels", None)
  if labels is None:
    labels = np.array([source[0]["label"]])
  labels = np.asarray(labels)
  bad = labels[(labels < 0) | (labels >= num_classes)]
  if bad.size:
    raise DataError(
        f"data.source={name!r} has label {int(bad[0])}, outside model."
        f"num_classes={num_classes} (labels 0..{num_classes - 1}); set "
        f"model.num_classes={int(labels.max()) + 1}"
    )


def get_source(data_config) -> Sequence:
  """Opens `data_config.source` ('<kind>:<arg>')."""
  kind, sep, arg = data_config.source.partition(":")
  if not sep or kind not in SOURCES or not arg:
    raise DataError(
        f"data.source={data_config.source!r} is not of the form "
        f"<kind>:<arg> with kind in {sorted(SOURCES)}; e.g. "
        f"idx:{FASHION_MNIST_DIR}"
    )
  source = SOURCES[kind](arg, data_config)
  if len(source) == 0:
    raise DataError(f"data.source={data_config.source!r} is empty")
  return source
