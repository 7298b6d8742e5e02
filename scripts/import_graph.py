"""Prints which jaxgan modules each jaxgan module imports, and checks the layers.

  python scripts/import_graph.py          # the graph, then the rule check
  python scripts/import_graph.py --check  # only the check (exit 1 on a break)

Read from the source (ast), so nothing is imported. The packages are layers,
lowest first (`LAYERS`): core, cpu, then models / data / augment, metrics,
gan, experiment, inference, run, and the command lines on top (jaxgan/*.py).
The rules (tests/imports_test.py asserts them):

- no module imports a module of a higher layer;
- no library module imports a command-line module (the modules that run
  `cli.run(main)`, and `jaxgan.cli` itself);
- outside jaxgan/cpu/, jaxgan.cpu is imported only inside functions (the
  code that runs on the CPU backend), never at a module's top, so GPU and
  TPU runs do not load it;
- nothing inside jaxgan/ imports the repository's `configs` package;
- the models (jaxgan/models/) import nothing from jaxgan/data/;
- the step's import chain (jaxgan.gan.step and everything it imports,
  transitively) does not import PIL, nor jaxgan.core.images.
"""

import argparse
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "jaxgan"
# Package -> layer; a module may import its own layer and those below.
LAYERS = {
    "jaxgan.core": 0,
    "jaxgan.cpu": 1,
    "jaxgan.models": 2,
    "jaxgan.data": 2,
    "jaxgan.augment": 2,
    "jaxgan.metrics": 3,
    "jaxgan.gan": 4,
    "jaxgan.experiment": 5,
    "jaxgan.inference": 6,
    "jaxgan.run": 7,
}
COMMAND_LAYER = 8  # jaxgan/*.py: the command lines and their runner.


def layer(module: str) -> int:
  for package, rank in LAYERS.items():
    if module == package or module.startswith(package + "."):
      return rank
  return COMMAND_LAYER


def module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(ROOT).with_suffix("").parts)
  if parts[-1] == "__init__":
    parts = parts[:-1]
  return ".".join(parts)


def _imports(tree: ast.AST, name: str, is_package: bool) -> set[str]:
  """Every absolute module name `tree` imports (from-imports of jaxgan
  packages resolved to submodules where they name one)."""
  out = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      out.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom):
      if node.level:
        base = name.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        module = ".".join(base + ([node.module] if node.module else []))
      else:
        module = node.module
      out.add(module)
      for alias in node.names:
        out.add(f"{module}.{alias.name}")
  return out


def top_level_imports(
    tree: ast.Module, name: str, is_package: bool
) -> set[str]:
  """The modules `tree` imports outside any function."""
  top = ast.Module(
      body=[
          n
          for n in tree.body
          if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
      ],
      type_ignores=[],
  )
  for node in ast.walk(top):
    if isinstance(node, ast.ClassDef):
      node.body = [
          n
          for n in node.body
          if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
      ]
  return _imports(top, name, is_package)


def module_level_graph() -> dict[str, set[str]]:
  """jaxgan module -> the jaxgan modules it imports at its top level."""
  out = {}
  for path in sorted(PACKAGE.rglob("*.py")):
    name = module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    found = top_level_imports(tree, name, path.name == "__init__.py")
    out[name] = {m for m in found if m.startswith("jaxgan")}
  return out


def graph() -> dict[str, set[str]]:
  """jaxgan module -> the modules it imports (all, not only jaxgan's)."""
  paths = sorted(PACKAGE.rglob("*.py"))
  known = {module_name(p) for p in paths}
  out = {}
  for path in paths:
    name = module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    found = _imports(tree, name, path.name == "__init__.py")
    # `from jaxgan import x` names module jaxgan.x when there is one.
    out[name] = {m for m in found if not m.startswith("jaxgan") or m in known}
  return out


def command_lines() -> set[str]:
  """Modules that are command lines (they end in `cli.run(main)`), and the
  shared CLI runner."""
  out = {"jaxgan.cli"}
  for path in PACKAGE.rglob("*.py"):
    if "cli.run(main)" in path.read_text():
      out.add(module_name(path))
  return out


def closure(g: dict[str, set[str]], start: str) -> set[str]:
  seen, todo = set(), [start]
  while todo:
    m = todo.pop()
    if m in seen:
      continue
    seen.add(m)
    todo.extend(i for i in g.get(m, ()) if i.startswith("jaxgan"))
  return seen


def violations(
    g: dict[str, set[str]], top: dict[str, set[str]] | None = None
) -> list[str]:
  """The broken rules of import graph `g` (and `top`, the imports at
  modules' top level; module_level_graph() when not given)."""
  out = []
  clis = command_lines()
  for module, imports in sorted(g.items()):
    jaxgan = {i for i in imports if i.startswith("jaxgan")}
    for bad in sorted(i for i in jaxgan if layer(i) > layer(module)):
      out.append(f"{module} imports {bad}, a higher layer")
    if module not in clis:
      for bad in sorted(jaxgan & clis):
        out.append(
            f"{module} (a library module) imports the command line " f"{bad}"
        )
    if any(i == "configs" or i.startswith("configs.") for i in imports):
      out.append(f"{module} imports the repository's configs package")
    if module.startswith("jaxgan.models"):
      for bad in sorted(i for i in jaxgan if i.startswith("jaxgan.data")):
        out.append(f"{module} (a model) imports {bad}")
  top = module_level_graph() if top is None else top
  for module, imports in sorted(top.items()):
    if layer(module) == LAYERS["jaxgan.cpu"]:
      continue
    for bad in sorted(i for i in imports if layer(i) == LAYERS["jaxgan.cpu"]):
      out.append(f"{module} imports {bad} at its top level")
  chain = closure(g, "jaxgan.gan.step")
  for module in sorted(chain):
    if "jaxgan.core.images" == module:
      out.append("the step's import chain includes jaxgan.core.images")
    if any(i == "PIL" or i.startswith("PIL.") for i in g[module]):
      out.append(f"the step's import chain imports PIL (in {module})")
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true")
  args = parser.parse_args()
  g = graph()
  if not args.check:
    clis = command_lines()
    for module, imports in sorted(g.items()):
      mark = " [command line]" if module in clis else ""
      own = sorted(
          i.removeprefix("jaxgan.") for i in imports if i.startswith("jaxgan")
      )
      print(f"{module}{mark}: {', '.join(own) or '-'}")
    print()
  bad = violations(g)
  for line in bad:
    print(f"violation: {line}")
  if not bad:
    print("layers: no violation")
  sys.exit(1 if bad else 0)


if __name__ == "__main__":
  main()
