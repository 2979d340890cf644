"""Run chapters as a reader on Colab would: a fresh runtime, the notebook alone, Run all.

For each chapter this script

1. builds the gencore wheel from this repository (``pip wheel --no-deps``) into a folder that
   then serves as the only package index (``PIP_NO_INDEX=1``, ``PIP_FIND_LINKS=<folder>``,
   ``PIP_CONFIG_FILE=/dev/null``: pip reads these itself, so the chapter's cell is unchanged);
2. keeps a virtual environment with Colab's packages as far as this machine allows
   (``tests/requirements-colab.txt``: ipywidgets 7.7.1, matplotlib 3.10, numpy 2.1, the local
   torch 2.13.0 wheel, Colab's ipykernel/IPython), with gencore *not* installed;
3. copies the notebook alone into an empty temporary folder (no repository beside it, no
   PYTHONPATH), runs every cell in a fresh kernel of that environment with nbclient, so the
   chapter's own set-up cell installs gencore from the wheel;
4. checks that the set-up cell changed none of the packages already there, and that every
   slider demo's live view updates in place: moving a slider sends a new image to the same
   ``Image`` widget and adds no output (no stacked figures), and the demo's output area holds
   one output.

Usage (from the repository root, in the project's .venv)::

    python scripts/colab_like.py                 # every chapter
    python scripts/colab_like.py 01 05           # chapters by number
    python scripts/colab_like.py --json out.json # also write the per-chapter results

``tests/test_colab_like.py`` (``make test-colab``) runs the same per chapter.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "tests" / "requirements-colab.txt"
WORK = ROOT / "_build" / "colab"
KEPT = ("torch", "numpy", "matplotlib", "ipywidgets", "tqdm", "ipykernel", "ipython")

# Run in the kernel after the last cell: move one slider of every slider demo the chapter
# displayed (its cell's value is in IPython's Out) and report what happened, as JSON.
PROBE = r'''
import json as _json
from gencore.widgets import SliderDemo as _SliderDemo
_report = []
for _cell, _demo in sorted(Out.items()):
    if not isinstance(_demo, _SliderDemo):
        continue
    _box = _demo.widget()
    _before, _children = _box.image.value, len(_box.children)
    _slider = _box.sliders[0]
    _values = [value for _, value in _slider.options]
    _slider.value = next(v for v in _values if v != _slider.value)
    _report.append({"cell": _cell, "image_model": _box.image.model_id,
                    "changed": _box.image.value != _before,
                    "same_widget": _demo.widget() is _box and len(_box.children) == _children})
print("PROBE " + _json.dumps(_report))
'''


def build_wheel(out: Path) -> Path:
    """The gencore wheel of this checkout, alone in ``out``.

    Built from a copy of the package's files, so that no build/ or egg-info folder is written
    into the checkout (two test workers building at once would share it).
    """
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="gencore-src-") as src:
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, src)
        shutil.copytree(ROOT / "gencore", Path(src) / "gencore",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                        src, "-w", str(out)], check=True)
    (wheel,) = out.glob("*.whl")
    return wheel


def colab_venv(base: Path = WORK / "venv", python: str = "python3") -> Path:
    """A virtual environment with tests/requirements-colab.txt (reused while that file is unchanged).

    Test workers running side by side each need their own (a chapter's set-up cell installs
    gencore into it, and the next chapter starts by removing it): the first is installed, under
    a lock, and any other ``base`` is a copy of it.
    """
    import fcntl

    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    first = WORK / "venv"
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / "venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for target in dict.fromkeys([first, base]):
            stamp = target / f".installed-{digest}"
            if stamp.exists():
                continue
            shutil.rmtree(target, ignore_errors=True)
            if target == first:
                subprocess.run([python, "-m", "venv", str(first)], check=True)
                # The machine's own pip settings apply here (they find the local torch wheel).
                subprocess.run([str(first / "bin" / "python"), "-m", "pip", "install", "-q", "-r",
                                str(REQUIREMENTS)], check=True)
            else:  # its python is a link to the same interpreter; pip and the kernel run as `python -m`
                shutil.copytree(first, target, symlinks=True)
            stamp.touch()
    return base / "bin" / "python"


def installed(exe: Path) -> dict[str, str]:
    out = subprocess.run([str(exe), "-m", "pip", "list", "--format=json"], check=True,
                         capture_output=True, text=True, env=clean_env()).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def clean_env(wheels: Path | None = None) -> dict[str, str]:
    """The environment of a reader's runtime: no PYTHONPATH, no pip settings but the wheel folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "JUPYTER", "GENCORE_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.setdefault("OMP_NUM_THREADS", "1")
    if wheels is not None:
        env["PIP_NO_INDEX"] = "1"
        env["PIP_FIND_LINKS"] = str(wheels)
    return env


def run_chapter(notebook: Path, exe: Path, wheels: Path, timeout: int = 600, save: Path | None = None) -> dict:
    """Run one chapter Colab-style; returns a dict with ``ok``, ``seconds`` and what was checked.

    With ``save``, the executed notebook (every output, before the slider probe) is written there:
    ``scripts/cache_executed.py`` hands it to the website build, which then need not run it again.
    """
    subprocess.run([str(exe), "-m", "pip", "uninstall", "-q", "-y", "gencore"],
                   env=clean_env(), capture_output=True)  # a fresh runtime has no gencore
    before = installed(exe)
    with tempfile.TemporaryDirectory(prefix="colab-") as tmp:
        copy = Path(tmp) / notebook.name
        shutil.copyfile(notebook, copy)
        start = time.perf_counter()
        extra = ["--save", str(save.resolve())] if save is not None else []
        run = subprocess.run([str(exe), str(Path(__file__).resolve()), "--kernel-side", str(copy),
                              "--timeout", str(timeout), *extra],
                             cwd=tmp, env=clean_env(wheels), capture_output=True, text=True)
        seconds = time.perf_counter() - start
    after = installed(exe)
    result = {"chapter": notebook.name, "seconds": round(seconds, 1), "returncode": run.returncode}
    try:
        result.update(json.loads(run.stdout.strip().splitlines()[-1]))
    except (IndexError, json.JSONDecodeError):
        result["error"] = (run.stdout + run.stderr)[-3000:]
    result["gencore_installed"] = after.get("gencore")
    result["changed_packages"] = sorted(
        f"{name} {before.get(name)} -> {after.get(name)}"
        for name in set(before) | set(after)
        if name != "gencore" and before.get(name) != after.get(name))
    result["ok"] = (run.returncode == 0 and not result.get("error") and not result["changed_packages"]
                    and result.get("slider_problems") == [])
    return result


def kernel_side(path: Path, timeout: int, save: Path | None = None) -> int:
    """In the Colab-like environment: execute the notebook with nbclient, then probe the sliders."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    out: dict = {"cells": sum(c.cell_type == "code" for c in nb.cells)}
    try:
        with client.setup_kernel():
            start = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            out["executed_seconds"] = round(time.perf_counter() - start, 1)
            if save is not None:  # as NotebookClient.execute() leaves it: the kernel's language too
                from nbclient.util import ensure_async, run_sync
                msg_id = run_sync(ensure_async)(client.kc.kernel_info())
                info = client.wait_for_reply(msg_id)
                nb.metadata["language_info"] = info["content"]["language_info"]
                nb.metadata["gencore_executed_seconds"] = out["executed_seconds"]  # for the build's table
                save.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, save)
            buffers_before = {k: repr(v) for k, v in client.widget_buffers.items()}
            probe = nbformat.v4.new_code_cell(PROBE)
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
            buffers_after = {k: repr(v) for k, v in client.widget_buffers.items()}
    except CellExecutionError as err:
        out["error"] = re.sub(r"\x1b\[[0-9;]*m", "", str(err))[-3000:]  # without terminal colours
        print(json.dumps(out))
        return 1
    setup = nb.cells[next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")]
    out["setup_cell_printed"] = "".join(o.get("text", "") for o in setup.outputs if o.output_type == "stream")
    stream = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
    report = json.loads(stream.split("PROBE ", 1)[1].splitlines()[0])
    problems = []
    if any(o.output_type != "stream" for o in probe.outputs):
        problems.append("moving a slider added an output (a stacked figure)")
    by_count = {c.get("execution_count"): c for c in nb.cells if c.cell_type == "code"}
    for demo in report:
        cell = by_count.get(demo["cell"])
        # gencore.glue's records (mime types under application/papermill.record/) show nothing.
        views = [o for o in (cell.outputs if cell is not None else [])
                 if o.output_type in ("display_data", "execute_result")
                 and not all(k.startswith("application/papermill.record/") for k in o.get("data", {}))]
        if len(views) != 1:
            problems.append(f"the slider cell [{demo['cell']}] shows {len(views)} figures or widgets, not 1")
        if not demo["changed"] or not demo["same_widget"]:
            problems.append(f"slider cell [{demo['cell']}]: image changed {demo['changed']}, "
                            f"same widget {demo['same_widget']}")
        image = demo["image_model"]
        if buffers_after.get(image) in (None, buffers_before.get(image)):
            problems.append(f"slider cell [{demo['cell']}]: no new image reached the front end")
    out["sliders_moved"] = len(report)
    out["slider_problems"] = problems
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers (default: all)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--python", default="python3", help="the interpreter of the Colab-like venv")
    parser.add_argument("--kernel-side", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--save", type=Path, help="a folder for the executed notebooks (for scripts/cache_executed.py)")
    args = parser.parse_args(argv)
    if args.kernel_side:
        return kernel_side(args.kernel_side, args.timeout, args.save)

    books = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        books = [b for b in books if b.name[:2] in {c.zfill(2) for c in args.chapters}]
    t0 = time.perf_counter()
    wheel = build_wheel(WORK / "wheels")
    exe = colab_venv(python=args.python)
    versions = installed(exe)
    print(f"wheel {wheel.name}; venv {exe}: " + ", ".join(f"{k} {versions.get(k)}" for k in KEPT), flush=True)
    print(f"set-up done in {time.perf_counter() - t0:.0f} s", flush=True)
    results = []
    for nb in books:
        r = run_chapter(nb, exe, wheel.parent, args.timeout, args.save / nb.name if args.save else None)
        results.append(r)
        note = r.get("error") or "; ".join(r.get("slider_problems") or []) or "; ".join(r["changed_packages"])
        print(f"{'PASS' if r['ok'] else 'FAIL'} {nb.name:28s} {r['seconds']:6.1f} s  "
              f"sliders moved: {r.get('sliders_moved', '-')}  {note}".rstrip(), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    failed = [r["chapter"] for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed in {time.perf_counter() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
