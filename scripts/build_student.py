"""Build the student edition of the book: the same site with every exercise solution left out.

``_config.yml`` stays the single source of truth. This script reads it, changes only what the
student edition needs, writes the result to ``_build/student/_config.yml`` and builds with
``jupyter-book build --config`` into ``_build/student/_build/html``:

- ``sphinx.config.hide_solutions: true`` -- sphinx-exercise then drops every ``{solution}``
  directive at parse time, so no solution text reaches the HTML or the search index;
- ``html_copy_source: false`` and no download button -- otherwise the page sources
  (``_sources/*.ipynb``, ``*.md``), which hold the solutions, would be copied into the site.

Usage (from the repository root)::

    python scripts/build_student.py              # executes the chapters, like `make book`
    python scripts/build_student.py --no-execute # pages without outputs (fast; used by the test)

Extra arguments after ``--`` go to ``jupyter-book build`` unchanged.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "student"


def student_config(config: dict, execute: bool = True, out: Path = OUT) -> dict:
    """Return a copy of the book's configuration with solutions hidden (and sources not copied)."""
    config = yaml.safe_load(yaml.safe_dump(config))  # deep copy
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})
    sphinx["config"]["hide_solutions"] = True
    sphinx["config"]["html_copy_source"] = False
    sphinx["config"]["html_show_sourcelink"] = False
    config.setdefault("html", {})["use_download_button"] = False
    config["title"] = f"{config.get('title', '')} (student edition)".strip()
    # jupyter-book resolves local extensions against the config file's folder (the other
    # paths against the book's root), so point them back at the repository.
    extensions = sphinx.get("local_extensions") or {}
    for name, path in extensions.items():
        extensions[name] = os.path.relpath(ROOT / path, out)
    if not execute:
        config.setdefault("execute", {})["execute_notebooks"] = "off"
        # Unexecuted pages have no outputs, so the numbers glued into the prose are missing:
        # expected here, and the only warnings let through (the executed build keeps them).
        sphinx["config"]["suppress_warnings"] = ["mystnb.glue"]
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true",
                        help="do not execute the notebooks (pages show code without outputs)")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="output folder (default _build/student; the site goes to OUT/_build/html)")
    parser.add_argument("extra", nargs="*", help="passed on to jupyter-book build")
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "_config.yml"
    path.write_text("# Derived from the repository's _config.yml by scripts/build_student.py; do not edit.\n"
                    + yaml.safe_dump(student_config(config, not args.no_execute, out),
                                     sort_keys=False, allow_unicode=True), encoding="utf-8")
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(ROOT), "--config", str(path),
           "--path-output", str(out), "--builder", "html", "-W", "-n", "--keep-going",
           *args.extra]
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
