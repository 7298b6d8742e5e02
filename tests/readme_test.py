"""The README against the code, so that the user's guide cannot drift.

The README's markdown tables are parsed (a table is found by its header
row) and checked against the registries the code chooses from:

- every key in the config-key table exists in `defaults.get_config()`, and
  where the table lists a key's choices they are exactly the names of its
  registry (and include its default);
- the tables of models, losses, penalties, augmentations, conditioning,
  extractors and `jaxgan.sample` modes list exactly the registries' names
  (a new model, loss, ... must be added to the README), and the models
  table's image sizes, conditioning modes and image-to-image sources are
  those of each `ModelSpec`;
- the configs table lists every file of configs/ (but `__init__.py` and
  `default.py`), and every configs/*.py the README names exists;
- every config key (`model.name`, `--config.train.batch_size=...`), command
  (`python -m jaxgan.X`), command-line flag and relative link in the
  README (and every link in docs/results.md) exists, and the Quickstart's
  test command is .ci/run's.
"""

import ast
import pathlib
import re

import pytest

from jaxgan import augment, metrics, models
from jaxgan.augment import diffaugment
from jaxgan.core import runtime
from jaxgan.data import pipeline
from jaxgan.experiment import defaults
from jaxgan.gan import latent, losses, penalties
from jaxgan.gan import state as state_lib
from jaxgan.inference import views
from jaxgan.metrics import extractors
from jaxgan.models import conditioning, dcgan, inception, pairs

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Config key -> the names the code accepts for it. Where the README's
# config table lists choices for one of these keys, they must be exactly
# these names; every key here must have a row with its choices.
REGISTRIES = {
    "model.name": models.MODELS,
    "loss.name": losses.LOSSES,
    "penalty.name": penalties.PENALTIES,
    "augment.name": augment.NAMES,
    "augment.pipeline": augment.PIPELINES,
    "eval.extractor": extractors.EXTRACTORS,
    "eval.inception_protocol": inception.PROTOCOLS,
    "eval.primary": metrics.PRIMARY,
    "model.conditioning": conditioning.MODES,
    "model.noise": latent.NOISE,
    "model.d_norm": dcgan.D_NORMS,
    "model.conv_impl": runtime.CONV_IMPLS,
    "data.pairs": pairs.PAIRS,
    "data.preprocess": pipeline.PREPROCESS,
    "optim.name": state_lib.OPTIMIZERS,
    "optim.schedule": state_lib.SCHEDULES,
    "train.dtype": models.DTYPES,
}
# Keys whose choices are checked by a literal tuple in the config checks
# rather than a registry: the README's list is checked against its default
# only.
LITERAL_CHOICES = {"loss.recon", "train.on_nonfinite"}

SECTIONS = tuple(defaults.get_config().keys())
# Flags in the README that are not jaxgan commands' (scripts/setup.sh,
# launch/'s scripts, tfds, pyink; XLA's --xla_* are skipped too).
OTHER_FLAGS = {"data", "test", "dry-run", "file_format", "check"}


def _readme() -> str:
  return README.read_text()


def _split_row(line: str) -> list[str]:
  """The cells of a table row; a | inside `code` does not split."""
  cells, cell, in_code = [], "", False
  for ch in line.strip().strip("|"):
    if ch == "`":
      in_code = not in_code
    if ch == "|" and not in_code:
      cells.append(cell.strip())
      cell = ""
    else:
      cell += ch
  cells.append(cell.strip())
  return cells


def tables(text: str) -> list[list[list[str]]]:
  """Every markdown table of `text`: its rows (header first, without the
  separator row), each a list of cells."""
  found, rows = [], []
  for line in text.splitlines() + [""]:
    if line.strip().startswith("|"):
      cells = _split_row(line)
      if not all(re.fullmatch(r":?-+:?", c) for c in cells):
        rows.append(cells)
    elif rows:
      found.append(rows)
      rows = []
  return found


def table(header: list[str], text: str | None = None) -> list[list[str]]:
  """The body rows of the one table whose header row is `header`."""
  matches = [t for t in tables(text or _readme()) if t[0] == header]
  assert len(matches) == 1, (
      f"README.md has {len(matches)} tables with the header {header}; "
      "expected one"
  )
  for row in matches[0][1:]:
    assert len(row) == len(header), f"row {row} does not match {header}"
  return matches[0][1:]


def codes(cell: str) -> list[str]:
  """The `code` spans of a cell."""
  return re.findall(r"`([^`]+)`", cell)


def lookup(config, dotted: str):
  """config.a.b for 'a.b'; KeyError naming the key if it does not exist."""
  value = config
  for part in dotted.split("."):
    if part not in value:
      raise KeyError(dotted)
    value = value[part]
  return value


def _same(listed, registry, what: str) -> None:
  listed, names = list(listed), set(registry)
  assert len(listed) == len(set(listed)), f"{what}: listed twice: {listed}"
  assert set(listed) <= names, (
      f"{what}: the README lists {sorted(set(listed) - names)}, which the "
      f"code does not have (it has {sorted(names)})"
  )
  assert names <= set(listed), (
      f"{what}: the README does not list {sorted(names - set(listed))}; "
      "add them to its table"
  )


CONFIG_HEADER = ["key", "choices", "meaning"]


def test_parser_finds_tables_by_header():
  text = (
      "a\n\n| x | y |\n| --- | --- |\n| `a` | `b|c` |\n| 1 | 2 |\n\n"
      "| z |\n| :-: |\n| q |\n"
  )
  assert table(["x", "y"], text) == [["`a`", "`b|c`"], ["1", "2"]]
  assert table(["z"], text) == [["q"]]
  with pytest.raises(AssertionError):
    table(["w"], text)


def test_config_keys_exist():
  config = defaults.get_config()
  rows = table(CONFIG_HEADER)
  assert rows
  for row in rows:
    keys = codes(row[0])
    assert keys, f"config table row without a key: {row}"
    for key in keys:
      try:
        lookup(config, key)
      except KeyError:
        pytest.fail(f"README config table: {key} is not a config key")


def test_config_choices_match_the_registries():
  config = defaults.get_config()
  listed = {}
  for row in table(CONFIG_HEADER):
    keys, choices = codes(row[0]), codes(row[1])
    if not choices:
      continue
    assert len(keys) == 1, f"choices are listed for one key per row: {row}"
    key = keys[0]
    assert key in REGISTRIES or key in LITERAL_CHOICES, (
        f"README lists choices for {key}: add its registry to REGISTRIES "
        "in tests/readme_test.py"
    )
    if key in REGISTRIES:
      _same(choices, REGISTRIES[key], key)
    assert lookup(config, key) in choices, (
        f"{key}'s default {lookup(config, key)!r} is not among its listed "
        f"choices {choices}"
    )
    listed[key] = choices
  missing = sorted(set(REGISTRIES) - set(listed))
  assert (
      not missing
  ), f"the README's config table lists no choices for {missing}"


def test_models_table():
  rows = table(
      [
          "`model.name`",
          "G and D",
          "`data.image_size`",
          "`model.conditioning`",
          "`data.pairs`",
          "paper",
      ]
  )
  _same([codes(r[0])[0] for r in rows], models.MODELS, "model.name")
  for name, _, sizes, modes, sources, _ in rows:
    name = codes(name)[0]
    spec = models.MODELS[name]
    if spec.data == "points":
      assert sizes == "2-D points", f"{name}: {sizes!r}"
    elif spec.resolutions is None:
      assert sizes == "any", f"{name}: {sizes!r}"
    else:
      listed = tuple(int(s) for s in re.findall(r"\d+", sizes))
      assert sorted(listed) == sorted(spec.resolutions), (
          f"{name}: the README lists image sizes {listed}, the model "
          f"takes {spec.resolutions}"
      )
    want = spec.conditioning_modes if spec.conditioning else ()
    assert set(codes(modes)) == set(want), f"{name}: {modes!r} vs {want}"
    assert set(codes(sources)) == set(
        spec.pairs
    ), f"{name}: {sources!r} vs {spec.pairs}"


def test_losses_table():
  rows = table(["`loss.name`", "what", "needs", "paper"])
  _same([codes(r[0])[0] for r in rows], losses.LOSSES, "loss.name")


def test_penalties_in_the_regularisers_table():
  rows = table(["regulariser", "config", "paper"])
  listed = re.findall(r"`penalty\.name=(\w+)`", " ".join(r[1] for r in rows))
  _same(listed, set(penalties.PENALTIES) - {"none"}, "penalty.name")


def test_augmentations_table():
  rows = {
      codes(r[0])[0]: codes(r[1])
      for r in table(["`augment.name`", "what", "paper"])
  }
  _same(rows, augment.NAMES, "augment.name")
  policy = [c for c in rows["diffaugment"] if c != "augment.policy"]
  _same(policy, diffaugment.POLICIES, "augment.policy")
  pipelines = [c for c in rows["ada"] if c != "augment.pipeline"]
  _same(pipelines, augment.PIPELINES, "augment.pipeline")


def test_conditioning_table():
  rows = table(["`model.conditioning`", "G", "D", "paper"])
  _same([codes(r[0])[0] for r in rows], conditioning.MODES, "conditioning")


def test_extractors_table():
  rows = table(["`eval.extractor`", "weights", "metrics"])
  _same([codes(r[0])[0] for r in rows], extractors.EXTRACTORS, "extractor")


def test_sample_modes_table():
  rows = table(["`--mode`", "draws", "`--out`"])
  _same([codes(r[0])[0] for r in rows], views.MODES, "jaxgan.sample --mode")
  for mode, _, out in rows:
    mode = codes(mode)[0]
    assert set(codes(out)) == set(views.EXTENSIONS[mode]), (
        f"--mode={mode}: the README says {out}, the command writes "
        f"{views.EXTENSIONS[mode]}"
    )


def test_configs_table_lists_every_config():
  on_disk = {
      p.name
      for p in (ROOT / "configs").glob("*.py")
      if p.name not in ("__init__.py", "default.py")
  }
  listed = [
      pathlib.PurePosixPath(codes(r[0])[0]).name
      for r in table(["config", "trains"])
  ]
  _same(listed, on_disk, "configs/")
  for name in re.findall(r"configs/(\w+\.py)", _readme()):
    assert (ROOT / "configs" / name).is_file(), f"configs/{name} is missing"


def test_every_config_key_mentioned_exists():
  config, text = defaults.get_config(), _readme()
  sections = "|".join(SECTIONS)
  # `model.name`, `penalty.name=r1`: not part of a path, a module or a flag.
  plain = re.findall(
      rf"(?<![\w./-])((?:{sections})\.\w+)(?![\w/])(?!\.\w)", text
  )
  flags = [f.rstrip(".") for f in re.findall(r"--config\.([\w.]+)", text)]
  data_flags = [f"data.{k}" for k in re.findall(r"--data\.(\w+)", text)]
  mentioned = set(plain) | set(flags) | set(data_flags)
  assert {"model.name", "train.batch_size", "data.source"} <= mentioned
  for key in sorted(mentioned):
    if key.rsplit(".", 1)[1] in ("py", "md", "json", "jsonl", "png", "sh"):
      continue
    try:
      lookup(config, key)
    except KeyError:
      pytest.fail(f"README mentions {key}, which is not a config key")


def _command_flags() -> set[str]:
  """The flags jaxgan's commands define (read from their source)."""
  names = set()
  for path in (ROOT / "jaxgan").glob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
      if (
          isinstance(node, ast.Call)
          and isinstance(node.func, ast.Attribute)
          and node.func.attr.startswith("DEFINE")
          and node.args
          and isinstance(node.args[0], ast.Constant)
      ):
        names.add(node.args[0].value)
  return names


def test_commands_and_flags_exist():
  text = _readme()
  for command in set(re.findall(r"-m jaxgan\.(\w+)", text)):
    assert (ROOT / "jaxgan" / f"{command}.py").is_file(), command
  defined = _command_flags()
  assert {"workdir", "mode", "topology"} <= defined
  for flag in sorted(set(re.findall(r"(?<![\w-])--([a-z][\w-]*)", text))):
    if flag in OTHER_FLAGS or flag.startswith("xla_"):
      continue
    assert flag in defined, f"README mentions --{flag}, which no command has"


def test_links_and_quickstart():
  text = _readme()
  for page in (README, ROOT / "docs" / "results.md"):
    for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
      assert (page.parent / target).exists(), f"{page.name}: no {target}"
  ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
  assert ci in text, f"the Quickstart's test command is not .ci/run's: {ci}"
  assert len(text.splitlines()) <= 320, "the README is a guide: keep it short"
