"""Build the student edition of the book: student notebooks with no solutions, and a site built from them.

The instructor's sources stay the single source: ``book/`` and ``_config.yml``. This script
writes a **student tree** beside the build, at the same paths as in the repository::

    _build/student/_config.yml        derived from _config.yml (below)
    _build/student/_toc.yml           copied
    _build/student/book/*.ipynb       every chapter, with every {solution} block cut out of its
                                      markdown and every output cleared
    _build/student/book/**/*.md       every page (question bank and exams included), likewise
    _build/student/book/...           the rest of book/ (static files, extensions, bibliography)

and builds the student site from that tree into ``_build/student/_build/html``. The page
sources hold no solution, so neither can the HTML, the search index or the copied sources.

The derived ``_config.yml`` differs from the book's in the title, in sphinx-exercise's
``hide_solutions`` (a second guard) and in ``repository.branch``: ``student``. A release
publishes the student tree to the repository's ``student`` branch (``.github/workflows/release.yml``),
so the student site's Colab buttons, ``.../blob/student/book/<chapter>.ipynb``, open the student
notebooks, at the same paths as the instructor's on ``main``.

Execution: the student notebooks have the chapters' code cells, unchanged, and jupyter-cache
keys an executed notebook by its code cells, so the build takes its outputs from the book's own
cache, ``_build/.jupyter_cache`` (filled by ``make book`` or, in ``make test``, from the
Colab-style run by ``scripts/cache_executed.py``). A chapter not found there is executed (and
cached) as in ``make book``.

Usage (from the repository root)::

    python scripts/build_student.py               # the student tree and site (outputs from the cache)
    python scripts/build_student.py --tree-only   # only the student tree (what the release publishes)
    python scripts/build_student.py --no-execute  # the site without outputs
    python scripts/build_student.py --cache DIR   # take executed chapters from another jupyter-cache

Extra arguments after ``--`` go to ``jupyter-book build`` unchanged.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "student"
CACHE = ROOT / "_build" / ".jupyter_cache"
BRANCH = "student"
# Left out of the tree: git-ignored copies (MathJax is linked in for a build) and editor debris.
SKIP = {"mathjax", ".ipynb_checkpoints", "__pycache__"}

# The opening line of a {solution} directive (backtick or colon fence of 3 or more), and the
# gated form's markers, which the book does not use but a page might.
_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|:{3,})\{solution\}")
_GATED = re.compile(r"^[ \t]*(`{3,}|:{3,})\{solution-(?P<which>start|end)\}")


def strip_solutions(text: str, gated: bool = False) -> tuple[str, bool, int]:
    """``text`` with every ``{solution}`` block (and gated solution) removed.

    ``gated`` says whether the text starts inside a gated solution (a notebook's gated solution
    spans cells). Returns the text, whether it ends inside a gated solution, and how many blocks
    were removed.
    """
    out, removed, lines, i = [], 0, text.splitlines(keepends=True), 0
    while i < len(lines):
        line = lines[i]
        opened, marker = _OPEN.match(line), _GATED.match(line)
        if marker:  # the markers of a gated solution: drop them and what lies between
            gated = marker["which"] == "start"
            removed += gated
            # its closing fence
            fence = marker.group(1)
            i += 1
            while i < len(lines) and not re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", lines[i]):
                i += 1
            i += 1
            continue
        if gated:
            i += 1
            continue
        if opened:
            fence = opened["fence"]
            close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
            i += 1
            while i < len(lines) and not close.match(lines[i]):
                i += 1
            i += 1
            removed += 1
            continue
        out.append(line)
        i += 1
    text = "".join(out)
    if removed:  # the blank lines around a removed block
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text, gated, removed


def student_notebook(nb: dict) -> tuple[dict, int]:
    """A chapter with its solutions cut out of the markdown and its outputs cleared.

    The code cells (source and metadata) stay as they are: the chapter's code, and the key under
    which jupyter-cache finds its executed copy. A code cell inside a gated solution is dropped.
    """
    nb = json.loads(json.dumps(nb))
    cells, gated, removed = [], False, 0
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            if gated:
                continue
            cell["outputs"], cell["execution_count"] = [], None
        else:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            text, gated_after, n = strip_solutions(source, gated)
            removed += n
            was_gated, gated = gated, gated_after
            if (n or was_gated) and not text.strip():
                continue  # a cell that held only solutions
            cell["source"] = text.splitlines(keepends=True)
        cells.append(cell)
    nb["cells"] = cells
    return nb, removed


def student_config(config: dict, execute: bool = True, cache: Path | None = None) -> dict:
    """The book's configuration for the student tree: solutions hidden, Colab at the student branch."""
    config = yaml.safe_load(yaml.safe_dump(config))  # deep copy
    config["title"] = f"{config.get('title', '')} (student edition)".strip()
    config.setdefault("repository", {})["branch"] = BRANCH
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True  # a second guard: there are none left
    execute_cfg = config.setdefault("execute", {})
    if cache is not None:
        execute_cfg["cache"] = str(cache)
    if not execute:
        execute_cfg["execute_notebooks"] = "off"
        # Unexecuted pages have no outputs, so the numbers glued into the prose are missing:
        # expected here, and the only warnings let through (the executed build keeps them).
        sphinx["config"]["suppress_warnings"] = ["mystnb.glue"]
    return config


def write_tree(out: Path = OUT, config: dict | None = None) -> dict[str, int]:
    """Write the student tree into ``out``; return the number of solutions removed per page."""
    if config is None:
        config = student_config(yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")))
    book = out / "book"
    if book.is_symlink() or book.is_file():
        book.unlink()
    shutil.rmtree(book, ignore_errors=True)
    removed = {}
    for src in sorted((ROOT / "book").rglob("*")):
        rel = src.relative_to(ROOT)
        if SKIP & set(rel.parts) or src.is_dir():
            continue
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".ipynb":
            nb, n = student_notebook(json.loads(src.read_text(encoding="utf-8")))
            dst.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            removed[str(rel)] = n
        elif src.suffix == ".md":
            text, _, n = strip_solutions(src.read_text(encoding="utf-8"))
            dst.write_text(text, encoding="utf-8")
            removed[str(rel)] = n
        else:
            shutil.copy2(src, dst)
    shutil.copy2(ROOT / "_toc.yml", out / "_toc.yml")
    (out / "_config.yml").write_text(
        "# Derived from the repository's _config.yml by scripts/build_student.py; do not edit.\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (out / "README.md").write_text(
        "# Student edition\n\nThe chapters of the book as notebooks without the exercise solutions, made by\n"
        "`scripts/build_student.py` from the main branch at each release. Open a chapter in Colab from the\n"
        "student site, or from `book/`. Do not edit this branch: it is replaced at every release.\n",
        encoding="utf-8")
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true",
                        help="do not execute the notebooks (pages show code without outputs)")
    parser.add_argument("--tree-only", action="store_true",
                        help="write the student tree (notebooks, pages, _config.yml) and stop")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="the student tree's folder (default _build/student; the site goes to OUT/_build/html)")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="jupyter-cache to take executed chapters from (default _build/.jupyter_cache)")
    parser.add_argument("extra", nargs="*", help="passed on to jupyter-book build")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    book_config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    if args.tree_only:  # what the student branch holds: no machine-specific paths
        removed = write_tree(out, student_config(book_config))
        print(f"student tree in {out}: {sum(removed.values())} solutions removed from {len(removed)} pages")
        return 0
    removed = write_tree(out, student_config(book_config, not args.no_execute, args.cache.resolve()))
    print(f"student tree in {out}: {sum(removed.values())} solutions removed from {len(removed)} pages")
    mathjax = ROOT / "book" / "_static" / "mathjax"
    if mathjax.exists():  # served by the site itself (scripts/fetch_mathjax.sh), git-ignored
        (out / "book" / "_static" / "mathjax").symlink_to(mathjax.resolve(), target_is_directory=True)
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(out), "--all", "--builder", "html",
           "-W", "-n", "--keep-going", *args.extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.call(cmd, cwd=out, env=env)


if __name__ == "__main__":
    sys.exit(main())
