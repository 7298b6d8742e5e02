"""Sources and the grain pipeline: reading, preprocessing, order and resume."""

import collections
import gzip

import ml_collections
import numpy as np
import pytest
from PIL import Image

from jaxgan.data import pipeline, sources
from tests.conftest import write_idx


def _data_config(source, **kw):
  cfg = dict(
      source=source,
      split="train",
      image_size=32,
      channels=1,
      preprocess="pad",
      crop_size=0,
      tfds_data_dir=None,
      cache_gb=4.0,
  )
  cfg.update(kw)
  return ml_collections.ConfigDict(cfg)


def test_idx_source_reads_plain_and_gzip(tmp_path, idx_dir):
  src = sources.get_source(_data_config(f"idx:{idx_dir}"))
  assert len(src) == 64
  assert src[3]["image"].shape == (28, 28, 1) and src[3]["label"] == 3
  gz = tmp_path / "gz"
  gz.mkdir()
  raw = (idx_dir / "train-images-idx3-ubyte").read_bytes()
  (gz / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
  src_gz = sources.get_source(_data_config(f"idx:{gz}"))
  np.testing.assert_array_equal(src_gz[5]["image"], src[5]["image"])


def test_idx_errors_name_the_problem(tmp_path):
  with pytest.raises(sources.DataError, match="no train-images-idx3-ubyte"):
    sources.get_source(_data_config(f"idx:{tmp_path}"))
  write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28, 28)))
  data = (tmp_path / "train-images-idx3-ubyte").read_bytes()
  (tmp_path / "train-images-idx3-ubyte").write_bytes(data[:-10])
  with pytest.raises(sources.DataError, match="truncated"):
    sources.get_source(_data_config(f"idx:{tmp_path}"))
  with pytest.raises(sources.DataError, match="<kind>:<arg>"):
    sources.get_source(_data_config("mnist"))


def test_preprocess_pad_resize_crop():
  img = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
  padded = pipeline.Preprocess(32, 1, "pad")({"image": img})
  assert padded.shape == (32, 32, 1)
  np.testing.assert_array_equal(padded[2:30, 2:30, 0], img)
  assert padded[:2].sum() == 0 and padded[:, :2].sum() == 0
  rgb = np.random.default_rng(0).integers(0, 256, (218, 178, 3), np.uint8)
  out = pipeline.Preprocess(64, 3, "center_crop_resize")({"image": rgb})
  assert out.shape == (64, 64, 3) and out.dtype == np.uint8
  # A constant image stays constant through crop + resize.
  const = np.full((218, 178, 3), 77, np.uint8)
  out = pipeline.Preprocess(64, 3, "center_crop_resize")({"image": const})
  assert (out == 77).all()
  with pytest.raises(sources.DataError, match="data.image_size=32"):
    pipeline.Preprocess(32, 1, "none")({"image": img})


def test_folder_source_with_class_subfolders(tmp_path):
  rng = np.random.default_rng(0)
  for cls in ("cats", "dogs"):
    (tmp_path / cls).mkdir()
    for i in range(3):
      Image.fromarray(rng.integers(0, 256, (40, 30, 3), np.uint8)).save(
          tmp_path / cls / f"{i}.png"
      )
  cfg = _data_config(
      f"folder:{tmp_path}",
      image_size=32,
      channels=3,
      preprocess="center_crop_resize",
  )
  src = sources.get_source(cfg)
  assert len(src) == 6 and list(src.labels) == [0, 0, 0, 1, 1, 1]
  image = pipeline.preprocess_for(cfg)(src[4])
  assert image.shape == (32, 32, 3)
  (tmp_path / "cats" / "broken.png").write_bytes(b"not a png")
  src = sources.get_source(cfg)
  bad = [i for i, p in enumerate(src.paths) if p.endswith("broken.png")][0]
  with pytest.raises(sources.DataError, match="broken.png"):
    pipeline.preprocess_for(cfg)(src[bad])


def _batches(
    idx_dir, start, k, process_index=0, process_count=1, batch=8, seed=0
):
  """Iterator over this process's batches from global batch `start`."""
  cfg = _data_config(f"idx:{idx_dir}")
  ds = pipeline.make_dataset(sources.get_source(cfg), cfg, seed=seed)
  return pipeline.make_iterator(
      ds,
      start_example=start * batch * process_count,
      per_process_batch=batch,
      process_index=process_index,
      process_count=process_count,
      steps_per_iteration=k,
  )


def test_order_is_seeded_and_covers_each_epoch(idx_dir):
  src = sources.get_source(_data_config(f"idx:{idx_dir}"))
  it = _batches(idx_dir, 0, 1)
  epoch = np.concatenate([next(it)[0] for _ in range(8)])  # 64 images.
  originals = {src[i]["image"].tobytes(): i for i in range(len(src))}
  seen = [originals[im[2:30, 2:30].tobytes()] for im in epoch]
  assert sorted(seen) == list(range(64))  # A permutation: each image once.
  assert seen != list(range(64))
  second = np.concatenate([next(it)[0] for _ in range(8)])
  assert not np.array_equal(epoch, second)  # Reshuffled per epoch.
  other_seed = _batches(idx_dir, 0, 1, seed=1)
  assert not np.array_equal(next(other_seed), epoch[:8][None])


def test_resume_from_position_is_exact(idx_dir):
  it = _batches(idx_dir, 0, 3)
  first = [next(it) for _ in range(4)]  # Global batches 0..11.
  resumed = _batches(idx_dir, 6, 3)
  np.testing.assert_array_equal(next(resumed), first[2])
  np.testing.assert_array_equal(next(resumed), first[3])
  assert first[0].shape == (3, 8, 32, 32, 1) and first[0].dtype == np.uint8


def test_processes_read_disjoint_parts_of_the_global_batch(idx_dir):
  whole = _batches(idx_dir, 0, 1, batch=8)
  p0 = _batches(idx_dir, 0, 1, 0, 2, batch=4)
  p1 = _batches(idx_dir, 0, 1, 1, 2, batch=4)
  for _ in range(3):
    np.testing.assert_array_equal(
        np.concatenate([next(p0), next(p1)], axis=1), next(whole)
    )


def _png_folder(root, n=10):
  """n RGB PNGs of 40x30 in two class folders."""
  rng = np.random.default_rng(1)
  for i in range(n):
    d = root / ("a" if i % 2 else "b")
    d.mkdir(exist_ok=True)
    image = rng.integers(0, 256, (40, 30, 3), np.uint8)
    Image.fromarray(image).save(d / f"{i}.png")
  return root


def _epochs(cfg, epochs, labels, num_threads=2):
  """All batches (of 5) of `epochs` epochs of the folder in cfg."""
  src = sources.get_source(cfg)
  ds = pipeline.make_dataset(src, cfg, seed=3, labels=labels)
  it = pipeline.make_iterator(
      ds,
      start_example=0,
      per_process_batch=5,
      process_index=0,
      process_count=1,
      steps_per_iteration=1,
      num_threads=num_threads,
  )
  return [next(it) for _ in range(epochs * len(src) // 5)]


@pytest.mark.parametrize("labels", [False, True])
def test_kept_images_are_the_decoded_ones(tmp_path, labels):
  cfg = _data_config(
      f"folder:{_png_folder(tmp_path)}",
      channels=3,
      preprocess="center_crop_resize",
  )
  assert pipeline.kept_bytes(sources.get_source(cfg), cfg) == 10 * 32 * 32 * 3
  kept = _epochs(cfg, 3, labels)
  cfg.cache_gb = 0
  assert pipeline.kept_bytes(sources.get_source(cfg), cfg) == 0
  decoded = _epochs(cfg, 3, labels)
  assert len(kept) == 6
  for a, b in zip(kept, decoded):
    for x, y in zip(*((a, b) if labels else ((a,), (b,)))):
      np.testing.assert_array_equal(x, y)


def test_kept_images_are_decoded_once(tmp_path, monkeypatch):
  calls = []
  decode = pipeline._decode

  def counted(path):  # Other tests' read-ahead threads may call it too.
    if path.startswith(str(tmp_path)):
      calls.append(path)
    return decode(path)

  monkeypatch.setattr(pipeline, "_decode", counted)
  cfg = _data_config(
      f"folder:{_png_folder(tmp_path)}",
      channels=3,
      preprocess="center_crop_resize",
  )
  _epochs(cfg, 3, False, num_threads=1)
  assert sorted(calls) == sorted(sources.get_source(cfg).paths)
  calls.clear()
  cfg.cache_gb = 10 * 32 * 32 * 3 / 2**30 * 0.99  # Just too small: not kept.
  assert pipeline.kept_bytes(sources.get_source(cfg), cfg) == 0
  _epochs(cfg, 3, False, num_threads=1)
  counts = collections.Counter(calls)  # Read-ahead may decode a few more.
  assert sorted(counts) == sorted(calls[:10]) and min(counts.values()) == 3


def test_too_small_dataset(idx_dir):
  cfg = _data_config(f"idx:{idx_dir}")
  with pytest.raises(sources.DataError, match="fewer than one global batch"):
    pipeline.check_source(sources.get_source(cfg), cfg, 128)


def test_unprepared_tfds_dataset_names_the_prepare_command(tmp_path):
  cfg = _data_config("tfds:celeb_a", tfds_data_dir=str(tmp_path))
  with pytest.raises(sources.DataError, match="tfds build celeb_a"):
    sources.get_source(cfg)
