"""The tree is formatted with pyink, the one formatter (pyproject.toml)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_the_tree_is_pyink_formatted():
  result = subprocess.run(
      [sys.executable, "-m", "pyink", "--check", "."],
      cwd=ROOT,
      capture_output=True,
      text=True,
      timeout=300,
  )
  would = [
      l.removeprefix("would reformat ")
      for l in result.stderr.splitlines()
      if l.startswith("would reformat")
  ]
  assert result.returncode == 0, (
      f"not pyink-formatted: {would or result.stderr[-2000:]}; run "
      "`.venv/bin/pyink .` (pip install -e '.[test]' installs it)"
  )
