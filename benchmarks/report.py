"""Writes a benchmark's results: <out>.json (the numbers) and <out>.md."""

import json
import os


def write(out: str, report: dict, table: str) -> None:
  """Writes `report` to out.json and the markdown `table` to out.md."""
  os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
  with open(out + ".json", "w") as f:
    json.dump(report, f, indent=1)
  with open(out + ".md", "w") as f:
    f.write(table)
