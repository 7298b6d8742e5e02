"""The sampling CLI on a tiny trained run."""

import json

import numpy as np
import pytest
from PIL import Image

from jaxgan.inference import views
from jaxgan.run import train
from jaxgan.data import toy
from jaxgan.core.errors import UserError
from jaxgan.metrics import modes
from tests.conftest import cpu_env, run_command, tiny_config


def _sample_cli(*args):
  return run_command("jaxgan.sample", args, cpu_env())


def test_sample_cli_writes_npy_and_png(tmp_path, idx_dir):
  workdir = tmp_path / "run"
  train.train_and_evaluate(
      tiny_config(**{"data.source": f"idx:{idx_dir}", "train.num_steps": 2}),
      str(workdir),
  )
  npy = tmp_path / "s.npy"
  result = _sample_cli(f"--workdir={workdir}", "--num=10", f"--out={npy}")
  assert result.returncode == 0, result.stderr[-2000:]
  samples = np.load(npy)
  assert samples.shape == (10, 32, 32, 1) and samples.dtype == np.uint8
  # Same seed, same samples; the library function agrees with the CLI. Sample
  # i depends only on (seed, i); another batch size changes XLA's summation
  # order, so pixels may differ by one grey level after rounding.
  np.testing.assert_array_equal(
      views.samples(views.Drawer(str(workdir)), 10), samples
  )
  other = views.samples(views.Drawer(str(workdir), batch_size=4), 10).astype(
      int
  )
  assert np.abs(other - samples).max() <= 1
  png = tmp_path / "grid.png"
  result = _sample_cli(f"--workdir={workdir}", "--num=9", f"--out={png}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert Image.open(png).size == (3 * 34 + 2, 3 * 34 + 2)


def test_sample_cli_errors(tmp_path):
  result = _sample_cli(f"--workdir={tmp_path}", f"--out={tmp_path / 'x.npy'}")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f"error: --workdir={tmp_path} has no config.json; give the workdir of a "
      "jaxgan training run"
  ]


def test_sample_cli_on_a_toy_run_writes_points_plot_and_metrics(tmp_path):
  workdir = tmp_path / "toy"
  train.train_and_evaluate(
      tiny_config(
          **{
              "data.source": "toy:ring8",
              "model.name": "toy_mlp",
              "model.z_dim": 2,
              "model.g_width": 16,
              "model.d_width": 8,
              "train.num_steps": 2,
          }
      ),
      str(workdir),
  )
  assert (workdir / "samples" / "real.png").is_file()
  npy = tmp_path / "points.npy"
  result = _sample_cli(f"--workdir={workdir}", "--num=2500", f"--out={npy}")
  assert result.returncode == 0, result.stderr[-2000:]
  points = np.load(npy)
  assert points.shape == (2500, 2) and points.dtype == np.float32
  metrics = json.loads(result.stdout.strip().splitlines()[-1])
  assert metrics["num_samples"] == 2500 and metrics["num_modes"] == 8
  # The printed metrics are those of the written points.
  expected = modes.mode_metrics(points, toy.MIXTURES["ring8"])
  assert metrics["modes"] == expected["modes"]
  assert metrics["counts"] == expected["counts"]
  png = tmp_path / "points.png"
  result = _sample_cli(f"--workdir={workdir}", "--num=100", f"--out={png}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert Image.open(png).size == (480, 480)


@pytest.fixture(scope="module")
def info_run(tmp_path_factory):
  """A class-conditional InfoGAN run (every mode applies to it)."""
  from tests.conftest import write_idx  # pylint: disable=g-import-not-at-top

  root = tmp_path_factory.mktemp("info_run")
  (root / "idx").mkdir()
  rng = np.random.default_rng(0)
  write_idx(
      root / "idx" / "train-images-idx3-ubyte",
      rng.integers(0, 256, (16, 28, 28), dtype=np.uint8),
  )
  write_idx(
      root / "idx" / "train-labels-idx1-ubyte",
      (np.arange(16) % 10).astype(np.uint8),
  )
  train.train_and_evaluate(
      tiny_config(
          **{
              "data.source": f"idx:{root / 'idx'}",
              "train.num_steps": 1,
              "model.conditioning": "concat",
              "model.num_classes": 10,
              "model.info_categorical": 3,
              "model.info_continuous": 1,
              # Weights large enough that inputs and labels show in uint8 pixels.
              "model.init_std": 0.3,
          }
      ),
      str(root / "run"),
  )
  return root / "run"


def test_every_mode_writes_its_file(tmp_path, info_run):
  drawer = views.Drawer(str(info_run))
  tile = 34  # 32 pixels + 2 of padding.
  cases = [  # mode, file, options, (rows, columns) of the picture
      ("class_grid", "classes.png", dict(num=4), (10, 4)),
      (
          "interp",
          "interp.png",
          dict(num=2, steps=5, interpolation_method="slerp"),
          (2, 5),
      ),
      ("interp", "interp.gif", dict(num=3, steps=4), (3, 1)),
      (
          "arithmetic",
          "arith.png",
          dict(num=8, expression="0,1,2 - 3 + 4,5"),
          (4, 9),
      ),
      ("traversal", "c1.png", dict(num=2, code="c1"), (2, 3)),
      ("traversal", "c2.png", dict(num=2, code="c2", steps=6), (2, 6)),
  ]
  for mode, name, options, (rows, cols) in cases:
    out = tmp_path / name
    views.write(views.draw(mode, drawer, **options), str(out))
    image = Image.open(out)
    assert image.size == (cols * tile + 2, rows * tile + 2), (mode, image.size)
    if name.endswith(".gif"):
      assert image.n_frames == 4
  # The command line writes the same picture.
  out = tmp_path / "cli.png"
  result = _sample_cli(
      f"--workdir={info_run}",
      "--mode=traversal",
      "--code=c2",
      "--num=2",
      "--steps=6",
      f"--out={out}",
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.startswith("wrote --mode=traversal: 12 images")
  assert (
      np.abs(
          np.asarray(Image.open(out), int)
          - np.asarray(Image.open(tmp_path / "c2.png"), int)
      ).max()
      <= 1
  )


def test_modes_draw_what_they_say(info_run):
  drawer = views.Drawer(str(info_run))
  # Fixed seeds: the same pictures every time; another seed, others.
  interp = lambda seed: views.draw(
      "interp", drawer, num=2, seed=seed, steps=3
  ).images
  np.testing.assert_array_equal(interp(0), interp(0))
  assert not np.array_equal(interp(0), interp(1))
  # Interpolation rows start and end at the drawn points (row r: class r).
  picture = views.draw("interp", drawer, num=2, seed=0, steps=4)
  ends = drawer.images(drawer.inputs(0, 4), np.array([0, 1, 0, 1]))
  for row in range(2):
    np.testing.assert_array_equal(picture.images[4 * row], ends[row])
    np.testing.assert_array_equal(picture.images[4 * row + 3], ends[2 + row])
  # Class grid: column j has the same inputs in every row, classes by row.
  grid = views.draw("class_grid", drawer, num=3, seed=0).images
  assert not np.array_equal(grid[0:3], grid[21:24])
  for c in (0, 7):
    np.testing.assert_array_equal(
        grid[3 * c : 3 * c + 3],
        drawer.images(drawer.inputs(0, 3), np.full(3, c)),
    )
  # Traversal of c1: column j sets category j; the noise stays per row.
  trav = views.draw("traversal", drawer, num=2, seed=0, code="c1").images
  z = drawer.inputs(0, 2)
  z[1, 8:11] = [0, 0, 1]
  np.testing.assert_array_equal(trav[5], drawer.images(z[1:], np.array([1]))[0])
  assert not np.array_equal(trav[3], trav[5])
  # Arithmetic: the result image is that of mean(0,1,2) - 3 + mean(4,5).
  arith = views.draw(
      "arithmetic", drawer, num=8, seed=0, expression="0,1,2 - 3 + 4,5"
  ).images
  pool = drawer.inputs(0, 8)
  result = pool[0:3].mean(0) - pool[3] + pool[4:6].mean(0)
  np.testing.assert_array_equal(
      arith[27], drawer.images(result[None], np.array([0]))[0]
  )


def test_mode_errors(info_run, tmp_path, idx_dir):
  drawer = views.Drawer(str(info_run))
  for mode, options, message in [
      (
          "traversal",
          dict(code="c4"),
          r"--code='c4' is not a code of this "
          r"run; use one of \['c1', 'c2'\]",
      ),
      (
          "arithmetic",
          dict(num=4, expression="0,9 - 1"),
          "index 9 is not among the 4 samples",
      ),
      ("arithmetic", dict(num=4, expression="0,1 -"), "ends in '-'"),
      ("interp", dict(steps=1), "--steps=1 must be at least 2"),
      (
          "interp",
          dict(interpolation_method="cubic"),
          "--interpolation='cubic'" " is unknown",
      ),
      (
          "interp",
          dict(label=10),
          r"--label=10 is not a class of this model " r"\(0..9\)",
      ),
  ]:
    with pytest.raises(UserError, match=message):
      views.draw(mode, drawer, **{"num": 2, **options})
  workdir = tmp_path / "plain"
  train.train_and_evaluate(
      tiny_config(**{"data.source": f"idx:{idx_dir}", "train.num_steps": 1}),
      str(workdir),
  )
  plain = views.Drawer(str(workdir))
  with pytest.raises(
      UserError, match="--mode=class_grid needs a " "class-conditional run"
  ):
    views.draw("class_grid", plain, num=2)
  with pytest.raises(UserError, match="--mode=traversal needs an InfoGAN run"):
    views.draw("traversal", plain, num=2)
  result = _sample_cli(f"--workdir={workdir}", "--mode=interp", "--out=x.npy")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      "error: --out=x.npy must end in .png or .gif for --mode=interp"
  ]


def test_slerp_keeps_the_norm_path_and_ends():
  from jaxgan.gan import latent  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(3, 100)), rng.normal(size=(3, 100))
  path = latent.interpolate(a, b, 5, "slerp")
  np.testing.assert_allclose(path[0], a, atol=1e-9)
  np.testing.assert_allclose(path[-1], b, atol=1e-9)
  # The norm moves linearly; the straight line's midpoint is shorter.
  norms = np.linalg.norm(path, axis=-1)
  expected = np.linspace(0, 1, 5)[:, None] * (
      np.linalg.norm(b, axis=-1) - np.linalg.norm(a, axis=-1)
  )
  np.testing.assert_allclose(norms, np.linalg.norm(a, axis=-1) + expected)
  line = latent.interpolate(a, b, 5, "linear")
  assert np.all(np.linalg.norm(line[2], axis=-1) < norms[2])
  assert latent.parse_expression("3,7 - 5 + 1", 8) == [
      (1, [3, 7]),
      (-1, [5]),
      (1, [1]),
  ]


def test_truncation_reaches_the_generator_and_the_cli(tmp_path, info_run):
  # Only z is truncated; the InfoGAN codes are drawn as without it.
  z_dim = views.Drawer(str(info_run)).experiment.options.z_dim
  plain = views.Drawer(str(info_run)).inputs(7, 500)
  cut = views.Drawer(str(info_run), truncation=0.3).inputs(7, 500)
  assert np.abs(plain[:, :z_dim]).max() > 2.0
  assert np.abs(cut[:, :z_dim]).max() <= 0.3
  np.testing.assert_array_equal(cut[:, z_dim:], plain[:, z_dim:])
  npy = tmp_path / "t.npy"
  result = _sample_cli(
      f"--workdir={info_run}", "--num=20", "--truncation=0.3", f"--out={npy}"
  )
  assert result.returncode == 0, result.stderr[-2000:]
  samples = np.load(npy)
  np.testing.assert_array_equal(
      samples, views.samples(views.Drawer(str(info_run), truncation=0.3), 20)
  )
  assert (
      np.abs(
          samples.astype(int) - views.samples(views.Drawer(str(info_run)), 20)
      ).max()
      > 0
  )
  result = _sample_cli(
      f"--workdir={info_run}", "--truncation=0", f"--out={tmp_path / 'u.npy'}"
  )
  assert result.returncode == 2 and not (tmp_path / "u.npy").exists()
  assert result.stderr.strip().splitlines() == [
      "error: --truncation=0.0 must be positive, e.g. 0.5"
  ]
