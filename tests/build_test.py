"""experiment.build resolves each piece of the config once."""

import ast
import collections
import re

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from jaxgan import models
from jaxgan.core import runtime
from jaxgan.data import sources
from jaxgan.experiment import builder
from jaxgan.gan import losses
from jaxgan.metrics import extractors
from jaxgan.models import conditioning
from tests.conftest import ROOT, tiny_config

RESOLVERS = (
    (conditioning, "from_config"),
    (models, "get_spec"),
    (losses, "get_loss"),
    (extractors, "extractor_path"),
    (sources, "data_shape"),
)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"model.conditioning": "acgan", "augment.name": "diffaugment"}],
    ids=["tiny", "acgan_diffaugment"],
)
def test_one_build_resolves_each_piece_once(monkeypatch, overrides):
  calls = collections.Counter()
  for module, name in RESOLVERS:
    real = getattr(module, name)

    def counted(*args, _real=real, _name=name, **kwargs):
      calls[_name] += 1
      return _real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
  mesh = Mesh(np.array(jax.devices()[:1]), (runtime.AXIS,))
  exp = builder.build(tiny_config(**overrides), mesh)
  assert dict(calls) == {name: 1 for _, name in RESOLVERS}
  # The pieces are on the Experiment for everything after build.
  assert exp.data_shape == (32, 32, 1)
  assert exp.mixture is None
  assert exp.augmentation.enabled == bool(overrides)
  assert exp.cond.labelled == bool(overrides)


# Nothing after build reads the raw config (issue 37): a scan of the source
# for reads of config fields, outside the modules that make the pieces.
#
# A read is an attribute, a subscript or a getattr of a config value; a
# config value is any `.config` attribute (exp.config, run.config,
# FLAGS.config), a name or attribute that says config (`config`,
# `data_config`, `cfg`, `exp.config_json`), a parameter annotated as a
# ConfigDict, the first argument of build() / validate_config(), and any
# name assigned from one of these (`c = config.train`). Passing a config
# whole is not a read.
CONFIG_NAME = re.compile(r"config|cfg")
BUILDERS = {"build", "validate_config"}
# The build edge: the defaults, the checks, build and the settings it makes.
BUILD_EDGE = {
    f"jaxgan/experiment/{name}.py"
    for name in ("defaults", "checks", "builder", "settings")
}
# The data layer reads its own block, the frozen Experiment.data_config it
# is handed (and the classifier's --data).
DATA_LAYER = "jaxgan/data/"
ALL = "*"  # Every function of the module.
ALLOWED = {
    # The factories build calls with the config (only the build edge calls
    # them: test_only_the_build_edge_calls_the_factories).
    "jaxgan/augment/__init__.py": {"from_config"},
    "jaxgan/gan/losses.py": {"get_loss"},
    "jaxgan/gan/options.py": {"from_config"},
    "jaxgan/gan/progressive.py": {"Schedule.__init__"},
    "jaxgan/gan/state.py": {"make_optimizers"},
    "jaxgan/metrics/extractors.py": {"extractor_path", "shipped_classifier"},
    "jaxgan/models/__init__.py": ALL,  # get_models and its family builders.
    "jaxgan/models/conditioning.py": {"from_config"},
    # The saved config as a document: laid over the defaults, serialised.
    "jaxgan/experiment/workdir.py": {"overlay", "_as_dict"},
    # Commands before build: the XLA flags by model name before JAX starts,
    # and FLAGS.config handed to train_and_evaluate / compile_for, whose
    # first line is build.
    "jaxgan/main.py": {"main"},
    "jaxgan/aot.py": {"main"},
    # The classifier command has no experiment: its --data block (default
    # from the defaults) goes to the classifier's trainer.
    "jaxgan/classifier.py": {"<module>"},
    "jaxgan/metrics/feature_net_training.py": {"_load", "train_classifier"},
}
CONFIG_FACTORIES = {
    "from_config",
    "get_loss",
    "Schedule",
    "make_optimizers",
    "extractor_path",
    "shipped_classifier",
    "get_models",
}


def _called(func) -> str | None:
  if isinstance(func, ast.Name):
    return func.id
  return func.attr if isinstance(func, ast.Attribute) else None


def _scopes(tree: ast.Module):
  """(qualified name, nodes) of the module's own statements and of each
  function (methods as Class.method)."""
  defs = (ast.FunctionDef, ast.AsyncFunctionDef)
  yield "<module>", [
      n for n in tree.body if not isinstance(n, (*defs, ast.ClassDef))
  ]

  def walk(body, prefix):
    for n in body:
      if isinstance(n, defs):
        yield prefix + n.name, [n]
      elif isinstance(n, ast.ClassDef):
        yield from walk(n.body, f"{prefix}{n.name}.")

  yield from walk(tree.body, "")


def _imported(tree: ast.Module) -> set[str]:
  """Module names bound by imports (`config_flags` is not a config)."""
  out = set()
  for n in ast.walk(tree):
    if isinstance(n, (ast.Import, ast.ImportFrom)):
      out.update((a.asname or a.name).split(".")[0] for a in n.names)
  return out


def config_reads(source: str) -> list[tuple[str, int]]:
  """(scope, line) of each read of a config field in Python `source`."""
  tree = ast.parse(source)
  modules = _imported(tree)
  out = []
  for scope, body in _scopes(tree):
    nodes = [m for n in body for m in ast.walk(n)]
    names = set()
    for m in nodes:
      if isinstance(m, ast.arg) and "ConfigDict" in ast.unparse(
          m.annotation or ast.Constant("")
      ):
        names.add(m.arg)
      if (
          isinstance(m, ast.Call)
          and _called(m.func) in BUILDERS
          and m.args
          and isinstance(m.args[0], ast.Name)
      ):
        names.add(m.args[0].id)

    def config(e) -> bool:
      if isinstance(e, ast.Name):
        return e.id in names or (
            e.id not in modules and bool(CONFIG_NAME.search(e.id))
        )
      if isinstance(e, ast.Attribute):
        return bool(CONFIG_NAME.search(e.attr)) or config(e.value)
      if isinstance(e, ast.Subscript):
        return config(e.value)
      if isinstance(e, ast.Call):  # config.copy_and_resolve_references()
        return isinstance(e.func, ast.Attribute) and config(e.func)
      return False

    def pairs(target, value):
      """(name, value) of an assignment, tuples unpacked pairwise."""
      if isinstance(target, ast.Name):
        yield target.id, value
      elif isinstance(target, (ast.Tuple, ast.List)):
        values = getattr(value, "elts", None)
        if values is None or len(values) != len(target.elts):
          values = [value] * len(target.elts)
        for t, v in zip(target.elts, values):
          yield from pairs(t, v)

    grown = True
    while grown:  # Aliases, and aliases of aliases.
      grown = False
      for m in nodes:
        if not isinstance(m, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
          continue
        targets = m.targets if isinstance(m, ast.Assign) else [m.target]
        for t in targets if m.value is not None else ():
          for name, value in pairs(t, m.value):
            if name not in names and config(value):
              names.add(name)
              grown = True
    lines = set()
    for m in nodes:
      if isinstance(m, ast.Attribute) and isinstance(m.ctx, ast.Load):
        if m.attr == "config" or config(m.value):
          lines.add(m.lineno)
      elif isinstance(m, ast.Subscript) and config(m.value):
        lines.add(m.lineno)
      elif isinstance(m, ast.Call) and _called(m.func) == "getattr":
        if m.args and config(m.args[0]):
          lines.add(m.lineno)
    out.extend((scope, line) for line in sorted(lines))
  return out


def _modules():
  for path in sorted((ROOT / "jaxgan").rglob("*.py")):
    rel = str(path.relative_to(ROOT))
    if rel not in BUILD_EDGE and not rel.startswith(DATA_LAYER):
      yield rel, path.read_text()


def test_nothing_after_build_reads_the_config():
  found = [
      f"{rel}:{line} ({scope})"
      for rel, source in _modules()
      for scope, line in config_reads(source)
      if ALLOWED.get(rel) != ALL and scope not in ALLOWED.get(rel, ())
  ]
  assert not found, (
      "read from the Experiment (its settings and pieces) instead: " f"{found}"
  )


def test_every_allowed_scope_reads_the_config():
  reads = {
      (rel, scope)
      for rel, source in _modules()
      for scope, _ in config_reads(source)
  }
  stale = [
      (rel, scope)
      for rel, scopes in ALLOWED.items()
      if scopes != ALL
      for scope in scopes
      if (rel, scope) not in reads
  ]
  assert (
      not stale
  ), f"no longer read the config: drop them from ALLOWED: {stale}"


def test_only_the_build_edge_calls_the_factories():
  found = []
  for rel, source in _modules():
    allowed = ALLOWED.get(rel, ())
    for scope, body in _scopes(ast.parse(source)):
      if allowed == ALL or scope in allowed:
        continue  # A resolver may call another (get_models: conditioning).
      for m in (m for n in body for m in ast.walk(n)):
        if isinstance(m, ast.Call) and _called(m.func) in CONFIG_FACTORIES:
          found.append(f"{rel}:{m.lineno} ({scope}) calls {_called(m.func)}")
  assert not found, found


def test_the_scan_sees_renamed_reads():
  source = """
def train(config, workdir):
  exp = build(config, mesh)
  return config.train.batch_size

def renamed(c: ml_collections.ConfigDict):
  t = c.train
  m, n = c.model, 1
  return t, m.z_dim, n.real

def passed(c):
  exp = experiment.build(c, mesh)
  alias = c
  return alias["train"], exp.config, getattr(c, "seed")

def frozen(exp):
  return exp.data_config.source, exp.config_json.upper()

def fine(exp, config):
  exp = build(config, mesh)
  return exp.train.batch_size, pipeline.preview(exp.data_config)
"""
  assert config_reads(source) == [
      ("train", 4),
      ("renamed", 7),
      ("renamed", 8),
      ("renamed", 9),
      ("passed", 14),
      ("frozen", 17),
  ]
