"""Prints which jaxgan modules each jaxgan module imports, and checks the layers.

  python scripts/import_graph.py          # the graph, then the rule check
  python scripts/import_graph.py --check  # only the check (exit 1 on a break)

Read from the source (ast), so nothing is imported. The rules
(tests/imports_test.py asserts them):

- no library module imports a command-line module (the modules that run
  `cli.run(main)`, and `jaxgan.cli` itself);
- nothing inside jaxgan/ imports the repository's `configs` package;
- the models (jaxgan/models/) import nothing from jaxgan/data/;
- jaxgan/runtime.py imports nothing from jaxgan/step.py;
- the step's import chain (jaxgan.step and everything it imports,
  transitively) does not import PIL, nor jaxgan.images.
"""

import argparse
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "jaxgan"


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


def violations(g: dict[str, set[str]]) -> list[str]:
  out = []
  clis = command_lines()
  for module, imports in sorted(g.items()):
    jaxgan = {i for i in imports if i.startswith("jaxgan")}
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
  if "jaxgan.step" in g.get("jaxgan.runtime", set()):
    out.append("jaxgan.runtime imports jaxgan.step")
  chain = closure(g, "jaxgan.step")
  for module in sorted(chain):
    if "jaxgan.images" == module:
      out.append("the step's import chain includes jaxgan.images")
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
