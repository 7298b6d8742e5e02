"""The layers of the package (scripts/import_graph.py), and what the step
imports at run time."""

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import ROOT, cpu_env

_spec = importlib.util.spec_from_file_location(
    "import_graph", ROOT / "scripts" / "import_graph.py"
)
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)


def test_no_layer_imports_a_higher_one():
  assert import_graph.violations(import_graph.graph()) == []


def test_the_check_finds_a_break():
  g = import_graph.graph()
  top = import_graph.module_level_graph()
  g["jaxgan.core.runtime"] = g["jaxgan.core.runtime"] | {"jaxgan.gan.step"}
  g["jaxgan.models.dcgan"] = g["jaxgan.models.dcgan"] | {"jaxgan.data.sources"}
  g["jaxgan.gan.latent"] = g["jaxgan.gan.latent"] | {"jaxgan.core.images"}
  g["jaxgan.inference.evaluator"] = g["jaxgan.inference.evaluator"] | {
      "jaxgan.sample",
      "configs.default",
  }
  top["jaxgan.models.strided"] = top["jaxgan.models.strided"] | {
      "jaxgan.cpu.conv4x4"
  }
  found = import_graph.violations(g, top)
  assert "jaxgan.core.runtime imports jaxgan.gan.step, a higher layer" in found
  assert "jaxgan.models.dcgan (a model) imports jaxgan.data.sources" in found
  assert "the step's import chain includes jaxgan.core.images" in found
  assert (
      "jaxgan.inference.evaluator (a library module) imports the command line "
      "jaxgan.sample"
  ) in found
  assert (
      "jaxgan.inference.evaluator imports the repository's configs package"
      in found
  )
  assert (
      "jaxgan.models.strided imports jaxgan.cpu.conv4x4 at its top level"
      in found
  )


def test_only_function_bodies_count_as_lazy_imports():
  tree = import_graph.ast.parse(
      "import jaxgan.cpu.a\n"
      "class C:\n  import jaxgan.cpu.b\n  def f(self):\n"
      "    import jaxgan.cpu.c\n"
      "def g():\n  from jaxgan.cpu import d\n"
  )
  found = import_graph.top_level_imports(tree, "jaxgan.x", False)
  assert {"jaxgan.cpu.a", "jaxgan.cpu.b"} <= found
  assert not found & {"jaxgan.cpu.c", "jaxgan.cpu", "jaxgan.cpu.d"}


def _python(code: str, *args: str) -> str:
  """What `python -c code args` prints, stripped (a CPU jaxgan process)."""
  return subprocess.run(
      [sys.executable, "-c", code, *args],
      cwd=ROOT,
      env=cpu_env(),
      capture_output=True,
      text=True,
      check=True,
  ).stdout.strip()


def test_importing_the_step_loads_neither_pil_nor_a_command_line():
  code = (
      "import sys, jaxgan.gan.step; print(sorted(m for m in sys.modules if "
      "m == 'PIL' or m.startswith(('PIL.', 'jaxgan.cli', 'absl.app'))))"
  )
  assert _python(code) == "[]"


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="checks that an installed PyTorch stays out of the training "
    "process; torch is not installed here",
)
def test_the_metrics_writer_keeps_an_installed_torch_out(tmp_path):
  # tensorboardX imports torch when it can; torch beside XLA aborted test
  # workers inside XLA steps (jaxgan/run/writers.py).
  code = (
      "import sys; from jaxgan.run import writers; w = writers.Writer(sys.argv[1]);"
      " w.scalars(1, {'a': 1.0}); w.close();"
      " print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
  )
  assert _python(code, str(tmp_path)) == "[]"
  assert list((tmp_path / "tensorboard").iterdir())
