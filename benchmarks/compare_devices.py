"""Two benchmark runs side by side, e.g. the CPU's and a GPU's: chapter times and glued numbers.

    .venv/bin/python benchmarks/compare_devices.py benchmarks/results.json benchmarks/results-cuda.json

For each chapter in both files: the notebook wall times and their ratio (the issue's target for a
GPU is 3x faster than the 2-core CPU), then every number the chapter glues into its prose whose
text differs between the two runs (a different device rounds differently; a claim that changes
its wording, or a number that moves in its printed digits by more than its stated noise, is
what to look at). Writes nothing.
"""
from __future__ import annotations

import json
import sys


def wall_rows(path: str) -> dict:
    rows = json.load(open(path, encoding="utf-8"))
    return {r["chapter"]: r for r in rows if r["metric"] == "notebook wall time"}


def compare(a: dict, b: dict) -> list[str]:
    lines = [f"{'chapter':24s} {'A s':>7s} {'B s':>7s} {'A/B':>6s}  glued numbers that differ"]
    for chapter in sorted(set(a) & set(b)):
        ra, rb = a[chapter], b[chapter]
        ratio = ra["value"] / rb["value"] if rb["value"] else float("nan")
        ga, gb = ra.get("glued", {}), rb.get("glued", {})
        differ = [f"{k}: {ga.get(k)} | {gb.get(k)}" for k in sorted(set(ga) | set(gb)) if ga.get(k) != gb.get(k)]
        lines.append(f"{chapter:24s} {ra['value']:7.1f} {rb['value']:7.1f} {ratio:6.2f}  "
                     f"{len(differ)} of {len(set(ga) | set(gb))}")
        lines += [f"    {d}" for d in differ]
    lines.append(f"A: {next(iter(a.values()))['device'] if a else '-'};  B: {next(iter(b.values()))['device'] if b else '-'}")
    return lines


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print("\n".join(compare(wall_rows(sys.argv[1]), wall_rows(sys.argv[2]))))
