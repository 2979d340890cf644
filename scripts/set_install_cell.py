"""Write the install part of every chapter's set-up cell from the repository's own facts.

The first code cell of each ``book/NN_*.ipynb`` starts with an install part, then a blank
line, then the chapter's imports (``import gencore``, ``device = gencore.device()``, ...). This
script rewrites the install part only, from

- the version in ``gencore/__init__.py`` (``__version__``: the one place it is set),
- the repository URL in ``_config.yml`` (``repository.url``),
- the lower bounds of gencore's dependencies and its PyPI name in ``pyproject.toml`` (a fork
  that publishes its own package sets ``[project] name`` there; the import name stays
  ``gencore``),

and leaves the rest of the cell, and of the notebook, byte for byte as it was. Running it
twice changes nothing. ``tests/test_consistency.py`` checks that every chapter holds exactly
what this script writes.

What the install part does, in any runtime (Colab, Jupyter, a plain kernel; Python 3.9+):
nothing when gencore at the chapter's version is installed; otherwise it installs gencore
alone (``--no-deps``) from PyPI, falling back to the git tag, after checking that the torch,
numpy, matplotlib, ipywidgets and tqdm already present meet gencore's lower bounds: those
present are never upgraded or downgraded (a one-line message names one that is too old), and
only missing ones are installed. pip reads its usual environment variables (``PIP_INDEX_URL``,
``PIP_FIND_LINKS``, ``PIP_NO_INDEX``), which is how the Colab-like test points it at a wheel
it has just built.

Usage (from the repository root)::

    python scripts/set_install_cell.py           # rewrite the cells that differ
    python scripts/set_install_cell.py --check   # exit 1, naming them, if any differs
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPENDENCIES = ("torch", "numpy", "matplotlib", "ipywidgets", "tqdm")

TEMPLATE = '''\
# Set-up: install gencore {version}, the book's library at this chapter's release, unless it is here.
# The runtime's torch, numpy, matplotlib, ipywidgets and tqdm (Colab's, say) are kept as they are:
# gencore is installed without dependencies, and only missing ones are added.
import importlib, importlib.metadata as md, re, subprocess, sys
def found(name):
    try: return md.version(name)
    except md.PackageNotFoundError: return None
def pip(*args):
    run = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], capture_output=True, text=True)
    why = [line.strip() for line in run.stderr.splitlines() if line.strip().startswith(("ERROR", "fatal"))]
    return run.returncode == 0 or print(f"pip install {{args[-1]}} failed:", *why[:1])
if found("{dist}") != "{version}":
    needs = {needs}
    nums = lambda v: [int(d) for d in re.findall(r"\\d+", v)[:2]]
    for name in [n for n in needs if found(n) and nums(found(n)) < nums(needs[n])]:
        print(f"gencore {version} needs {{name}}>={{needs[name]}}, this runtime has {{found(name)}}: upgrade it and restart")
    missing = [f"{{n}}>={{needs[n]}}" for n in needs if not found(n)]
    if missing: pip(*missing)
    pip("--no-deps", "{dist}=={version}") or pip("--no-deps", "git+{url}@v{version}")
    importlib.invalidate_caches()'''


def read_version(root: Path = ROOT) -> str:
    """``gencore.__version__``, read from the source (importing gencore needs torch)."""
    text = (root / "gencore" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not match:
        raise SystemExit("gencore/__init__.py sets no __version__ = \"X.Y.Z\"")
    return match.group(1)


def read_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``_config.yml``, without a trailing slash."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def read_lower_bounds(root: Path = ROOT) -> dict[str, str]:
    """The lower bound of each runtime dependency in ``pyproject.toml`` ("0" where there is none)."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.M | re.S)
    if not block:
        raise SystemExit("pyproject.toml has no dependencies = [...] list")
    bounds = {}
    for spec in re.findall(r'"([^"]+)"', block.group(1)):
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(?:>=\s*([0-9][0-9.]*))?", spec.strip())
        if not match:
            raise SystemExit(f"pyproject.toml: the install cell understands 'name' or 'name>=X.Y', not {spec!r}")
        bounds[match.group(1)] = match.group(2) or "0"
    if tuple(bounds) != DEPENDENCIES:
        raise SystemExit(f"pyproject.toml's dependencies are {list(bounds)}; the install cell's comment names {list(DEPENDENCIES)}")
    return bounds


def read_dist_name(root: Path = ROOT) -> str:
    """The distribution's name on PyPI (``[project] name``; the import name stays ``gencore``)."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^\[project\]$.*?^name = "([^"]+)"$', text, re.M | re.S)
    if not match:
        raise SystemExit("pyproject.toml: no name = \"...\" in [project]")
    return match.group(1)


def install_text(version: str, url: str, bounds: dict[str, str], dist: str = "gencore") -> str:
    """The install part of the set-up cell (no trailing newline)."""
    needs = "{" + ", ".join(f'"{name}": "{low}"' for name, low in bounds.items()) + "}"
    return TEMPLATE.format(version=version, url=url, needs=needs, dist=dist)


def expected_install_text(root: Path = ROOT) -> str:
    """The install part for this repository: its version, URL, lower bounds and PyPI name."""
    return install_text(read_version(root), read_url(root), read_lower_bounds(root), read_dist_name(root))


def split_setup_cell(source: str) -> tuple[str, str]:
    """Split a set-up cell into (install part, rest): the install part ends at the first blank line."""
    head, sep, rest = source.partition("\n\n")
    if not sep or "gencore" not in head or not ("%pip install" in head or "pip(" in head):
        raise ValueError("the first code cell does not start with an install part followed by a blank line")
    return head, rest


def rewrite(source: str, text: str) -> str:
    _, rest = split_setup_cell(source)
    return f"{text}\n\n{rest}"


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("[0-9][0-9]_*.ipynb"))


def first_code_cell(nb: dict) -> dict:
    return next(c for c in nb["cells"] if c["cell_type"] == "code")


def as_lines(text: str) -> list[str]:
    """A notebook's ``source`` list: one string per line, each ending in a newline but the last."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a cell differs")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)

    text = expected_install_text(args.root)
    differ = []
    for path in notebooks(args.root):
        raw = path.read_text(encoding="utf-8")
        nb = json.loads(raw)
        cell = first_code_cell(nb)
        source = "".join(cell["source"])
        try:
            new = rewrite(source, text)
        except ValueError as err:
            print(f"{path.name}: {err}", file=sys.stderr)
            return 2
        if new == source:
            continue
        differ.append(path.name)
        if not args.check:
            cell["source"] = as_lines(new)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.check:
        if differ:
            print("install cells out of date (run python scripts/set_install_cell.py):", ", ".join(differ))
            return 1
        print(f"install cells up to date ({len(notebooks(args.root))} chapters)")
    else:
        print(f"rewrote {len(differ)} install cell(s)" + (f": {', '.join(differ)}" if differ else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
