"""The bad-input catalogue: every user mistake exits 2 with one clear line.

Each case runs `python -m jaxgan.main` on a copy of a trained tiny run as a
user would: one `--config` (a config file of the run's data, or the case's
own), `--workdir`, and the case's `--config.a.b=v` overrides if it has any.
It asserts: exit status 2, stderr is exactly one line `error: ...` that
names the offending value, no traceback, and no file or directory of the
workdir was added, removed or changed. The cases marked in `BOTH_WAYS` run
with and without an unrelated override, since ml_collections reports some
config-file errors differently when there is one.

The command runs in a fork of a process that has imported jax and jaxgan
(tests/cli_server.py: ~0.5 s a case instead of ~2 s); a child is the
command as a new process runs it, with the case's environment, and
tests/train_test.py runs one bad input in a new interpreter.
"""

import hashlib
import json
import pathlib
import shutil

import numpy as np
import pytest
from PIL import Image

from jaxgan.run import train
from tests.conftest import cpu_env, run_command, tiny_config, write_idx


def _snapshot(root: pathlib.Path) -> dict[str, str]:
  """Relative path -> content hash (files), 'dir' or a link's target, for the
  whole tree."""
  out = {}
  if not root.exists():
    return out
  for p in sorted(root.rglob("*")):
    rel = str(p.relative_to(root))
    out[rel] = (
        f"link to {p.readlink()}"
        if p.is_symlink()
        else "dir"
        if p.is_dir()
        else hashlib.sha256(p.read_bytes()).hexdigest()
    )
  return out


# Session scope: built once per test process, not again each time the
# process comes back to this module (pytest-xdist interleaves modules).
@pytest.fixture(scope="session")
def base(tmp_path_factory) -> dict[str, pathlib.Path]:
  """An IDX dataset and a tiny run trained on it (checkpoints at 2 and 4)."""
  root = tmp_path_factory.mktemp("base")
  rng = np.random.default_rng(0)
  idx = root / "idx"
  idx.mkdir()
  write_idx(
      idx / "train-images-idx3-ubyte",
      rng.integers(0, 256, (32, 28, 28), dtype=np.uint8),
  )
  run = root / "run"
  config = tiny_config(
      **{
          "data.source": f"idx:{idx}",
          "train.num_steps": 4,
          "checkpoint.every_steps": 2,
      }
  )
  train.train_and_evaluate(config, str(run))
  assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["2", "4"]
  # The run's config as a user has it: a file (configs/tiny.py on this data).
  config_file = root / "run_config.py"
  config_file.write_text(
      "from configs import tiny\n\n\ndef get_config():\n"
      "  config = tiny.get_config()\n"
      f"  config.data.source = 'idx:{idx}'\n  return config\n"
  )
  return {"root": root, "idx": idx, "run": run, "config": config_file}


# --- Case set-ups: (tmp, workdir, base) -> extra command-line arguments. ---


def _file(tmp, workdir, base):
  del base
  shutil.rmtree(workdir)
  workdir.write_text("not a directory")
  return []


def _under_file(tmp, workdir, base):
  del workdir, base
  (tmp / "afile").write_text("x")
  return [f"--workdir={tmp / 'afile' / 'run'}"]


def _config_json_corrupt(tmp, workdir, base):
  del tmp, base
  (workdir / "config.json").write_text("{not json")
  return []


def _corrupt_all_checkpoints(tmp, workdir, base):
  del tmp, base
  for step in ("2", "4"):
    for f in (workdir / "checkpoints" / step / "state").rglob("*"):
      if f.is_file() and f.stat().st_size > 100:
        f.write_bytes(b"\0" * f.stat().st_size)
  return []


def _checkpoints_is_file(tmp, workdir, base):
  del tmp, base
  shutil.rmtree(workdir / "checkpoints")
  (workdir / "checkpoints").write_text("x")
  return []


def _other_model_without_config(tmp, workdir, base):
  del tmp, base
  (workdir / "config.json").unlink()
  return ["--config.model.g_width=8"]


def _config_raises(tmp, workdir, base):
  del workdir, base
  path = tmp / "broken_config.py"
  path.write_text(
      "def get_config():\n  raise RuntimeError('broken on purpose')\n"
  )
  return [f"--config={path}"]


def _checkpoints_symlink_loop(tmp, workdir, base):
  del tmp, base
  shutil.rmtree(workdir / "checkpoints")
  (workdir / "checkpoints").symlink_to("checkpoints")
  return []


def _config_without_get_config(tmp, workdir, base):
  del workdir, base
  path = tmp / "no_get_config.py"
  path.write_text("config = None\n")
  return [f"--config={path}"]


def _config_syntax_error(tmp, workdir, base):
  del workdir, base
  path = tmp / "syntax_error.py"
  path.write_text("def get_config(:\n")
  return [f"--config={path}"]


def _long_workdir(tmp, workdir, base):
  del workdir, base
  return [f"--workdir={tmp / ('w' * 300)}"]


def _tfds_unprepared(tmp, workdir, base):
  del workdir, base
  (tmp / "tfds").mkdir()
  return [
      "--config.data.source=tfds:mnist",
      f"--config.data.tfds_data_dir={tmp / 'tfds'}",
  ]


def _folder(tmp, files: dict[str, object]) -> str:
  d = tmp / "images"
  d.mkdir()
  for name, content in files.items():
    if isinstance(content, bytes):
      (d / name).write_bytes(content)
    else:
      Image.fromarray(content).save(d / name)
  return f"--config.data.source=folder:{d}"


def _empty_folder(tmp, workdir, base):
  del workdir, base
  return [_folder(tmp, {})]


def _unreadable_image(tmp, workdir, base):
  del workdir, base
  good = {f"b{i}.png": np.zeros((28, 28), np.uint8) for i in range(15)}
  return [_folder(tmp, {"a.png": b"this is not a png file", **good})]


def _missized_images(tmp, workdir, base):
  del workdir, base
  images = {f"{i}.png": np.zeros((20, 20), np.uint8) for i in range(16)}
  return [_folder(tmp, images), "--config.data.preprocess=none"]


def _idx(tmp, images: bytes) -> str:
  d = tmp / "idx_bad"
  d.mkdir()
  (d / "train-images-idx3-ubyte").write_bytes(images)
  return f"--config.data.source=idx:{d}"


def _truncated_idx(tmp, workdir, base):
  del workdir
  data = (base["idx"] / "train-images-idx3-ubyte").read_bytes()
  return [_idx(tmp, data[:1000])]


def _not_idx(tmp, workdir, base):
  del workdir, base
  return [_idx(tmp, b"<html>a download error page</html>")]


def _too_few_examples(tmp, workdir, base):
  del workdir, base
  d = tmp / "idx_small"
  d.mkdir()
  write_idx(d / "train-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
  return [f"--config.data.source=idx:{d}"]


# id -> (extra arguments or a set-up function, text the error line must hold)
CASES = {
    # Flags and config files.
    "unknown_field": (["--config.train.batchsize=8"], "'batchsize'"),
    "unknown_section": (["--config.optimizer.lr=1"], "'optimizer'"),
    "wrong_type": (["--config.train.batch_size=abc"], "abc"),
    "float_for_int": (["--config.train.num_steps=1.5"], "1.5"),
    "missing_config_file": (["--config=configs/nope.py"], "configs/nope.py"),
    "config_file_is_a_directory": (["--config=configs"], "Is a directory"),
    "config_file_raises": (_config_raises, "broken on purpose"),
    "config_file_without_get_config": (
        _config_without_get_config,
        "has no get_config()",
    ),
    "config_file_syntax_error": (_config_syntax_error, "SyntaxError"),
    "bad_config_argument": (
        ["--config=configs/dcgan_fashion_mnist.py:wgangp"],
        "'wgangp'",
    ),
    "positional_argument": (["train"], "'train'"),
    # Values and combinations.
    "batch_size_zero": (["--config.train.batch_size=0"], "train.batch_size=0"),
    "batch_not_divisible": (
        ["--config.train.batch_size=6", "DEVICES=4"],
        "train.batch_size=6",
    ),
    "negative_steps": (["--config.train.num_steps=-1"], "train.num_steps=-1"),
    "zero_d_steps": (["--config.train.d_steps=0"], "train.d_steps=0"),
    "zero_log_interval": (
        ["--config.train.log_every_steps=0"],
        "train.log_every_steps=0",
    ),
    "unknown_model": (["--config.model.name=resnet"], "'resnet'"),
    "unknown_loss": (["--config.loss.name=wgangp"], "'wgangp'"),
    "unknown_penalty": (["--config.penalty.name=gp"], "'gp'"),
    "unknown_optimizer": (["--config.optim.name=adamw"], "'adamw'"),
    "unknown_schedule": (["--config.optim.schedule=step"], "'step'"),
    "unknown_noise": (["--config.model.noise=cauchy"], "'cauchy'"),
    "unknown_nonfinite_mode": (
        ["--config.train.on_nonfinite=ignore"],
        "'ignore'",
    ),
    "unknown_dtype": (
        ["--config.train.dtype=float16"],
        "train.dtype='float16' is unknown",
    ),
    "ema_decay_one": (["--config.model.ema_decay=1.0"], "model.ema_decay=1.0"),
    "negative_lr": (["--config.optim.g_lr=-0.001"], "optim.g_lr=-0.001"),
    "beta_one": (["--config.optim.b1=1.0"], "optim.b1=1.0"),
    "zero_z_dim": (["--config.model.z_dim=0"], "model.z_dim=0"),
    "unknown_eval_metric": (["--config.eval.primary=fid"], "'fid'"),
    "missing_classifier": (
        ["--config.eval.classifier=/nonexistent/clf"],
        "/nonexistent/clf",
    ),
    "unknown_extractor": (["--config.eval.extractor=vgg"], "'vgg'"),
    "missing_inception_weights": (
        [
            "--config.eval.extractor=inception",
            "--config.eval.inception=/nonexistent.msgpack",
        ],
        "/nonexistent.msgpack",
    ),
    "keep_zero_checkpoints": (
        ["--config.checkpoint.max_to_keep=0"],
        "checkpoint.max_to_keep=0",
    ),
    "unsupported_resolution": (["--config.data.image_size=48"], "48"),
    "two_channels": (["--config.data.channels=2"], "data.channels=2"),
    "unknown_preprocess": (["--config.data.preprocess=crop"], "'crop'"),
    "negative_cache": (["--config.data.cache_gb=-1"], "data.cache_gb=-1"),
    "wgan_without_lipschitz": (["--config.loss.name=wgan"], "'wgan'"),
    "gradient_penalty_through_batch_norm": (
        ["--config.penalty.name=r1"],
        "'batch_norm'",
    ),
    "label_smoothing_on_hinge": (
        ["--config.loss.name=hinge", "--config.loss.label_smoothing=0.1"],
        "loss.label_smoothing=0.1",
    ),
    "toy_model_on_images": (["--config.model.name=toy_mlp"], "'toy_mlp'"),
    "began_loss_on_dcgan": (["--config.loss.name=began"], "'began'"),
    "attention_off_the_ladder": (
        ["--config.model.name=sngan", "--config.model.attention_res=12"],
        "model.attention_res=12",
    ),
    "attention_on_dcgan": (
        ["--config.model.attention_res=16"],
        "model.attention_res",
    ),
    "biggan_z_not_in_chunks": (
        ["--config.model.name=biggan", "--config.model.z_dim=10"],
        "model.z_dim=10",
    ),
    "unknown_augment": (["--config.augment.name=ada2"], "'ada2'"),
    "unknown_diffaugment_policy": (
        ["--config.augment.name=diffaugment", "--config.augment.policy=flip"],
        "augment.policy='flip'",
    ),
    "ada_p_above_one": (
        ["--config.augment.name=ada", "--config.augment.p=1.5"],
        "augment.p=1.5",
    ),
    "num_examples_above_the_data": (
        ["--config.data.num_examples=1000"],
        "data.num_examples=1000",
    ),
    "lecam_with_began": (
        [
            "--config.model.name=began",
            "--config.loss.name=began",
            "--config.loss.lecam=0.3",
        ],
        "loss.lecam",
    ),
    "concat_on_biggan": (
        [
            "--config.model.name=biggan",
            "--config.model.conditioning=concat",
            "--config.model.num_classes=10",
        ],
        "model.conditioning='concat'",
    ),
    # Data.
    "missing_data_dir": (
        ["--config.data.source=idx:/nonexistent/fmnist"],
        "/nonexistent/fmnist",
    ),
    "data_path_too_long": (
        [f"--config.data.source=idx:/tmp/{'d' * 300}"],
        "File name too long",
    ),
    "source_without_kind": (
        ["--config.data.source=fashion_mnist"],
        "'fashion_mnist'",
    ),
    "unknown_source_kind": (
        ["--config.data.source=hdf5:/data"],
        "'hdf5:/data'",
    ),
    "tfds_not_prepared": (_tfds_unprepared, "tfds:mnist"),
    "empty_folder": (_empty_folder, "folder:"),
    "unreadable_image": (_unreadable_image, "a.png"),
    "missized_images": (_missized_images, "data.image_size=32"),
    "truncated_idx": (_truncated_idx, "train-images-idx3-ubyte"),
    "not_an_idx_file": (_not_idx, "train-images-idx3-ubyte"),
    "bad_split": (["--config.data.split=validation"], "'validation'"),
    "fewer_examples_than_a_batch": (_too_few_examples, "4 examples"),
    # Workdirs.
    "workdir_is_a_file": (_file, "is a file"),
    "workdir_under_a_file": (_under_file, "afile"),
    "empty_workdir_flag": (["--workdir="], "--workdir"),
    "workdir_cannot_be_created": (
        ["--workdir=/proc/jaxgan_run"],
        "--workdir=/proc/jaxgan_run cannot be " "created",
    ),
    "workdir_name_too_long": (_long_workdir, "File name too long"),
    "workdir_of_another_model": (
        ["--config.model.g_width=8"],
        "model.g_width=4",
    ),
    "workdir_of_an_unpacked_model": (
        ["--config.model.d_pack=2"],
        "model.d_pack=1",
    ),
    "corrupt_config_json": (_config_json_corrupt, "config.json"),
    # Checkpoints.
    "every_checkpoint_corrupt": (_corrupt_all_checkpoints, "no checkpoint in"),
    "checkpoints_is_a_file": (_checkpoints_is_file, "checkpoints"),
    "checkpoints_symlink_loop": (_checkpoints_symlink_loop, "checkpoints"),
    "checkpoint_of_another_model": (
        _other_model_without_config,
        "another model",
    ),
}


# Config-file and OS errors that were once reported only without any
# override (or only with one): each runs both ways.
BOTH_WAYS = (
    "missing_config_file",
    "config_file_is_a_directory",
    "config_file_without_get_config",
    "config_file_syntax_error",
    "workdir_cannot_be_created",
    "workdir_name_too_long",
    "data_path_too_long",
    "checkpoints_symlink_loop",
)
PARAMS = sorted(
    [(case, False) for case in CASES] + [(case, True) for case in BOTH_WAYS]
)


@pytest.mark.parametrize(
    "case,override",
    PARAMS,
    ids=[c + ("+override" if o else "") for c, o in PARAMS],
)
def test_bad_input(tmp_path, base, case, override):
  setup, expected = CASES[case]
  workdir = tmp_path / "run"
  shutil.copytree(base["run"], workdir)
  args = setup(tmp_path, workdir, base) if callable(setup) else list(setup)
  devices = 1
  if "DEVICES=4" in args:
    args.remove("DEVICES=4")
    devices = 4
  if override:
    args.append("--config.train.log_every_steps=1")
  before = _snapshot(tmp_path)
  command = [f"--config={base['config']}", f"--workdir={workdir}"]
  names = {a.split("=")[0] for a in args}  # A case's own flag replaces ours.
  command = [c for c in command if c.split("=")[0] not in names] + args
  assert sum(a.startswith("--config=") for a in command) <= 1
  env = cpu_env(devices)
  result = run_command("jaxgan.main", command, env)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-3000:])
  assert len(lines) == 1, result.stderr[-3000:]
  assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
  assert "Traceback" not in result.stderr
  assert _snapshot(tmp_path) == before, "the workdir was changed"


def test_catalogue_is_large():
  assert len(CASES) >= 30


def test_config_json_lists_every_case_field():
  # Every config field a case overrides exists, so each case fails for its
  # stated reason rather than as an unknown field.
  from configs import default  # pylint: disable=g-import-not-at-top

  fields = json.loads(default.get_config().to_json_best_effort())
  for case, (setup, _) in CASES.items():
    if callable(setup) or case in ("unknown_field", "unknown_section"):
      continue
    for arg in setup:
      if arg.startswith("--config."):
        node = fields
        for part in arg.split("=")[0].removeprefix("--config.").split("."):
          assert part in node, (case, arg)
          node = node[part]
