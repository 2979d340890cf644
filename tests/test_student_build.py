"""The student edition (scripts/build_student.py) leaves out every exercise solution.

The test builds the student site with notebook execution switched off (``--no-execute``):
solutions are markdown, removed by sphinx-exercise when the page is parsed, so whether a cell
was executed cannot change what the test looks for, and the build then takes ~10-30 s instead
of re-running every chapter. It then looks for every solution's distinctive phrases in every
text file of the built site (HTML, search index, JavaScript, sources) and finds none, while the
same search does find the exercises' own phrases (so the search itself works).
"""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_student  # noqa: E402

# A directive block ```{name} ... ``` or :::{name} ... ::: with 3 or more fence characters.
_BLOCK = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>exercise|solution)\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.S | re.M)


def _blocks(name: str) -> dict[str, list[str]]:
    """Body text of every `{name}` directive, per notebook of the book."""
    out = {}
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        out[nb.stem] = [m["body"] for m in _BLOCK.finditer(text) if m["name"] == name]
    return out


def _text_outside_solutions() -> str:
    """The markdown of every notebook with its `{solution}` blocks cut out."""
    parts = []
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        parts.append(_BLOCK.sub(lambda m: m[0] if m["name"] == "exercise" else " | ", text))
    return "\n".join(parts)


def _phrases(body: str) -> list[str]:
    """Runs of at least five plain words (no math, code, roles or markup) in a directive body."""
    body = re.sub(r"^:\w[\w-]*:.*$", " ", body, flags=re.M)            # directive options
    body = re.sub(r"```.*?```", " | ", body, flags=re.S)                # code blocks
    body = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|\{\w+\}`[^`]*`|`[^`]*`", " | ", body, flags=re.S)
    runs = re.split(r"[^A-Za-z' ]+", body.replace("\n", " "))
    return [" ".join(r.split()) for r in runs if len(r.split()) >= 5]


def _site_text(html_dir: Path) -> str:
    parts = []
    for path in html_dir.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".txt", ".ipynb", ".md", ".json"}:
            if "_static" in path.parts and path.name != "documentation_options.js":
                continue  # theme and MathJax assets
            text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8", errors="replace"))
            text = html.unescape(text).replace("\u2019", "'").replace("\u2018", "'")  # smart quotes
            parts.append(" ".join(text.split()))
    return "\n".join(parts)


def test_student_config_only_hides_solutions():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert not config["sphinx"]["config"].get("hide_solutions", False), "default build shows solutions"
    student = build_student.student_config(config, execute=False)
    assert student["sphinx"]["config"]["hide_solutions"] is True
    assert student["sphinx"]["config"]["html_copy_source"] is False
    assert student["execute"]["execute_notebooks"] == "off"
    assert "hide_solutions" not in config["sphinx"]["config"], "the book's config was modified"
    for key in ("bibtex_bibfiles", "repository", "parse"):
        assert student[key] == config[key]


def test_no_gated_solutions():
    """The student edition hides ``{solution}`` directives; with the gated form
    (``solution-start`` ... code cells ... ``solution-end``) sphinx-exercise would drop only the
    start marker and leave the cells in between on the page, so the book does not use it."""
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"])
        assert "{solution-start}" not in text, (
            f"{nb.name} uses a gated solution; write solutions as one {{solution}} block of markdown "
            "(code goes in a ```python fence inside it) so the student edition can hide them")


def test_every_chapter_has_solution_phrases():
    solutions = _blocks("solution")
    assert solutions and all(solutions[nb] for nb in solutions if nb[:2].isdigit() and nb != "00_overview")
    assert sum(len(_phrases(b)) for bodies in solutions.values() for b in bodies) >= 20


@pytest.mark.slow
def test_student_build_has_no_solution_text(tmp_path):
    out = tmp_path / "student"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_student.py"), "--no-execute",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "build succeeded" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    site = _site_text(out / "_build" / "html")
    normal = " ".join(site.split())
    # The search works: every exercise still shows up in the student edition.
    for nb, bodies in _blocks("exercise").items():
        for body in bodies:
            phrases = _phrases(body)
            assert any(p in normal for p in phrases), f"an exercise of {nb} is missing: {phrases[:2]}"
    # No solution phrase appears anywhere in the site.
    # A phrase the book also writes outside its solutions (an exercise, the chapter's own prose)
    # is no leak; every other solution phrase must be absent.
    public_text = " ".join(_text_outside_solutions().split())
    leaked = [(nb, p) for nb, bodies in _blocks("solution").items() for b in bodies for p in _phrases(b)
              if p in normal and p not in public_text]
    assert not leaked, f"solution text in the student edition: {leaked[:5]}"
    assert "Solution to" not in normal
