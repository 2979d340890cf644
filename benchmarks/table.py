"""Print benchmarks/results.json as the Markdown table the README quotes.

    .venv/bin/python benchmarks/table.py
"""
from __future__ import annotations

import json
import pathlib

ROWS = json.loads((pathlib.Path(__file__).with_name("results.json")).read_text())


def cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def main() -> None:
    header = ("chapter", "model", "dataset", "metric", "value", "floor", "seconds")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in ROWS:
        print("| " + " | ".join(cell(row.get(h)) for h in header) + " |")
    devices = sorted({row.get("device", "?") for row in ROWS})
    print(f"\nMeasured on: {', '.join(devices)}.")


if __name__ == "__main__":
    main()
