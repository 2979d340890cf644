"""Measure every chapter: wall time in a fresh kernel, and the quality of its main trained model.

Usage (from the repository root, after `make setup`):

    .venv/bin/python benchmarks/run.py                 # all chapters
    .venv/bin/python benchmarks/run.py --chapters 01 03
    .venv/bin/python benchmarks/run.py --no-notebooks  # quality rows only
    .venv/bin/python benchmarks/run.py --no-quality    # notebook wall times only

Prints a table and writes JSON rows ``{chapter, model, dataset, metric, value, floor, seconds,
device}`` to ``benchmarks/results.json`` (``--out`` another file). On a GPU:

    GENCORE_DEVICE=cuda .venv/bin/python benchmarks/run.py --out benchmarks/results-cuda.json
    .venv/bin/python benchmarks/compare_devices.py benchmarks/results.json benchmarks/results-cuda.json
 For each chapter ``book/NN_name.ipynb``:

* the notebook is executed top to bottom in a fresh kernel (as the website build does), three
  times (``--runs``); the median wall time is a row with ``metric = "notebook wall time"`` (floor:
  the 30 s budget of a chapter; the single runs are kept under ``runs``); then, in the kernel of
  the median run, every slider
  demo the chapter made is timed (median redraw of one frame while its first slider moves, what
  a reader waits for after any training): one ``metric = "redraw ms (median)"`` row per demo.
  The figures are measured here, in the chapter's own kernel, so the ``bench_*.py`` files stay
  headless (they import no plotting library);
* if ``benchmarks/bench_NN_name.py`` exists, its ``quality()`` returns the rows for the chapter's
  main trained model: a quality metric next to its floor (the same metric between two
  independent samples of the data, or the best value the model family can reach).

Timings are for the machine it runs on; the budget in CHAPTERS.md is for a 2-core CPU.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import platform
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
OUT = ROOT / "benchmarks" / "results.json"
KERNEL_METRICS = ("notebook wall time", "redraw ms (median)")  # the rows measured in the chapter's kernel


# Run in the chapter's kernel after its last cell: time every slider demo it made.
REDRAW_TIMING = """
import json as _json, statistics as _stats, time as _time
from gencore.widgets import SliderDemo as _SliderDemo
_seen, _rows = set(), []
for _name, _obj in list(globals().items()) + [(f"Out[{_k}]", _v) for _k, _v in Out.items()]:
    _obj = _obj.__dict__.get("fallback", _obj) if hasattr(_obj, "__dict__") else _obj  # a live demo's frames
    if not isinstance(_obj, _SliderDemo) or id(_obj) in _seen:
        continue
    _seen.add(id(_obj))
    _index = [_p.initial for _p in _obj.params.values()]
    _obj.render(_index)  # the first frame also lays the panels out
    _times = []
    for _k in range(len(next(iter(_obj.params.values())).values)):
        _index[0] = _k
        _t0 = _time.perf_counter(); _obj.render(_index); _times.append(_time.perf_counter() - _t0)
    _rows.append({"slider": ", ".join(_obj.params), "ms": 1000 * _stats.median(_times)})
print("REDRAWS" + _json.dumps(_rows))
"""


def glued_values(nb) -> dict:
    """The numbers a chapter glues into its prose (``gencore.glue``), as their text: name -> text."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            record = o.get("metadata", {}).get("scrapbook", {})
            text = o.get("data", {}).get(record.get("mime_prefix", "") + "text/plain")
            if record.get("name") and text is not None:
                out[record["name"]] = text
    return out


def run_notebook(path: pathlib.Path) -> tuple[float, list[dict], dict]:
    """Execute ``path`` in a fresh kernel: its wall time, the redraw time of each slider demo, and
    the numbers it glued into its prose (so runs on two devices can be set side by side)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        probe = nbformat.v4.new_code_cell(REDRAW_TIMING)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    redraws = json.loads(text.split("REDRAWS", 1)[1]) if "REDRAWS" in text else []
    return seconds, redraws, glued_values(nb)


def quality_rows(stem: str) -> list[dict]:
    bench = ROOT / "benchmarks" / f"bench_{stem}.py"
    if not bench.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"bench_{stem}", bench)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = time.perf_counter()
    rows = module.quality()
    seconds = time.perf_counter() - start
    for row in rows:
        row.setdefault("seconds", round(seconds, 2))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chapters", nargs="*", help="chapter numbers, e.g. 01 03 (default: all)")
    parser.add_argument("--no-notebooks", action="store_true", help="skip executing the notebooks")
    parser.add_argument("--no-quality", action="store_true", help="time the notebooks only (keep the quality rows)")
    parser.add_argument("--runs", type=int, default=3,
                        help="fresh-kernel runs per notebook; the wall time is their median (default 3)")
    parser.add_argument("--out", type=pathlib.Path, default=OUT,
                        help="the results file (default benchmarks/results.json; e.g. results-cuda.json for a GPU run)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import gencore

    device = str(gencore.device())
    cpu = f"{os.cpu_count()}-core {platform.machine()}"
    chapters = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        chapters = [c for c in chapters if c.name[:2] in set(args.chapters)]
    rows = []
    for nb in chapters:
        chapter = nb.stem
        if not args.no_notebooks:
            runs = [run_notebook(nb) for _ in range(max(1, args.runs))]
            seconds = statistics.median(s for s, _, _ in runs)
            # the slider timings and glued numbers of the run whose wall time is the median
            _, redraws, glued = sorted(runs, key=lambda r: r[0])[(len(runs) - 1) // 2]
            rows.append(dict(chapter=chapter, model="whole notebook", dataset="-", metric="notebook wall time",
                             value=round(seconds, 1), floor=30, seconds=round(seconds, 1), device=f"{device} ({cpu})",
                             runs=[round(s, 1) for s, _, _ in runs], glued=glued))
            print(f"{chapter}: executed in {seconds:.1f} s (median of {[round(s, 1) for s, _, _ in runs]})", flush=True)
            for r in redraws:
                rows.append(dict(chapter=chapter, model=f"slider: {r['slider']}", dataset="-", metric="redraw ms (median)",
                                 value=round(r["ms"], 1), floor=50, seconds=None, device=f"{device} ({cpu})"))
                print(f"{chapter}: slider {r['slider']}: {r['ms']:.1f} ms per redraw", flush=True)
        for row in ([] if args.no_quality else quality_rows(chapter)):
            rows.append(dict(chapter=chapter, device=f"{device} ({cpu})") | row)
            print(f"{chapter}: {row['model']} on {row['dataset']}: {row['metric']} = {row['value']}"
                  f" (floor {row['floor']})", flush=True)
        write(rows, chapter, args, args.out)

    header = ("chapter", "model", "dataset", "metric", "value", "floor", "seconds")
    widths = [max(len(str(r.get(h))) for r in rows + [dict(zip(header, header))]) for h in header]
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(r.get(h)).ljust(w) for h, w in zip(header, widths)))
    print(f"\nwrote {len(rows)} rows for {len(chapters)} chapter(s) to {args.out}")
    return 0


def write(rows: list[dict], chapter: str, args, out: pathlib.Path = OUT) -> None:
    """Merge one finished chapter's rows into ``out`` (so a failure later loses nothing)."""
    kept = [r for r in json.loads(out.read_text())] if out.exists() else []
    # Keep the rows of other chapters; --no-notebooks re-measures quality only (the chapter's last
    # kernel rows stay), --no-quality the kernel rows only.
    kept = [r for r in kept if r["chapter"] != chapter
            or (args.no_notebooks and r["metric"] in KERNEL_METRICS)
            or (args.no_quality and r["metric"] not in KERNEL_METRICS)]
    merged = sorted(kept + [r for r in rows if r["chapter"] == chapter], key=lambda r: r["chapter"])
    out.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
