"""The printed book (``make pdf``), read back from _build/latex/dgm-2d.pdf.

CI installs no TeX Live (``scripts/setup.sh --pdf`` takes minutes), so these tests skip unless
xelatex is installed and ``make pdf`` has built the PDF. Each count comes from the book's own
sources (the chapters, the glossary, the executed notebooks in the build's cache), and each is
looked for in the PDF's text (pdftotext) or images (pdfimages), both from poppler-utils.

Typeset mathematics cannot be read back from a PDF reliably (fractions, sub- and superscripts
come out on separate lines), so equations are checked one step earlier: every display equation
of the sources is in the .tex the PDF was made from, and xelatex reported no error and no
missing glyph while making it.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LATEX = ROOT / "_build" / "latex"
PDF, TEX, LOG = (LATEX / f"dgm-2d.{ext}" for ext in ("pdf", "tex", "log"))
CACHE = ROOT / "_build" / ".jupyter_cache"

pytestmark = pytest.mark.skipif(
    not (shutil.which("xelatex") and shutil.which("pdftotext") and PDF.exists()),
    reason="needs TeX Live and poppler-utils (scripts/setup.sh --pdf) and a built PDF (make pdf)",
)

SLIDER_LINE = "Interactive on the website and in the notebook:"


def _pages() -> list[str]:
    """The book's pages in reading order (_toc.yml), each as its markdown (notebook cells joined)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    pages = []
    for f in files:
        nb = ROOT / f"{f}.ipynb"
        if nb.exists():
            cells = json.loads(nb.read_text())["cells"]
            pages.append("\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"))
        else:
            pages.append((ROOT / f"{f}.md").read_text())
    return pages


def _key(text: str) -> str:
    """Text compared as printed: Unicode-normalized (math italic letters, ligatures), straight
    quotes, and no spaces or hyphens (line breaks and TeX's hyphenation put them anywhere)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00ad": None}))
    return re.sub(r"[\s\-‐‑]+", "", text)


@pytest.fixture(scope="module")
def text() -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(PDF), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_every_page_title_is_printed(text):
    titles = [re.search(r"(?m)^# (.+)$", page).group(1).strip() for page in _pages()[1:]]
    assert len(titles) == 16
    printed = _key(text)
    missing = [t for t in titles if _key(re.sub(r"[`*]", "", t)) not in printed]
    assert not missing, missing


def test_every_exercise_is_printed_with_its_solution(text):
    """The PDF is the instructor's handout: every exercise, each followed by its solution."""
    n = sum(len(re.findall(r"(?m)^[`:]{3,}\{exercise\}", page)) for page in _pages())
    assert n >= 40
    headings = set(re.findall(r"(?m)^Exercise (\d+)$", text))
    solutions = set(re.findall(r"(?m)^Solution to Exercise (\d+)$", text))
    expected = {str(k) for k in range(1, n + 1)}
    assert headings == expected and solutions == expected
    assert "Exercise ??" not in text  # references from other chapters resolve (_config.yml)


def test_every_theorem_and_proposition_is_printed_with_its_title(text):
    found = []
    for page in _pages():
        found += re.findall(r"(?m)^[`:]{3,}\{prf:(\w+)\}[ \t]*(.*)$", page)
    printed = _key(text)
    kinds = {}
    for kind, title in found:
        if kind == "proof":
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        title = title.strip()
        if title and "$" not in title:
            assert _key(f"{kind.capitalize()} {kinds[kind]} ({title})") in printed, (kind, title)
        elif title:  # typeset math does not read back: its number and the words around it
            assert _key(f"{kind.capitalize()} {kinds[kind]} (") in printed, (kind, title)
            assert all(_key(w) in printed for w in re.sub(r"\$[^$]*\$", "\n", title).splitlines()), title
    assert kinds.get("theorem", 0) >= 5 and kinds.get("proposition", 0) >= 10, kinds
    assert text.count("Proof.") >= sum(k == "proof" for k, _ in found)


def test_every_display_equation_is_typeset():
    tex = re.sub(r"\s+", " ", TEX.read_text())
    equations = []
    for page in _pages():
        equations += re.findall(r"(?s)\$\$(.+?)\$\$", page)
    assert len(equations) >= 100
    missing = [e for e in equations if re.sub(r"\s+", " ", e).strip() not in tex]
    assert not missing, missing[:3]
    log = LOG.read_text(errors="replace")
    assert not re.search(r"(?m)^! ", log), "xelatex reported an error"
    assert "Missing character" not in log
    assert "There were undefined references" not in log
    assert PDF.stat().st_mtime >= TEX.stat().st_mtime


def _cached_outputs() -> list[dict]:
    """Every output of the executed chapters the PDF was built from (the build's jupyter-cache)."""
    notebooks = sorted(CACHE.glob("executed/*/base.ipynb"))
    if len(notebooks) < 11:
        pytest.skip("the executed chapters are not in _build/.jupyter_cache")
    return [o for nb in notebooks for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", [])]


def test_every_slider_and_figure_is_printed(text):
    """Each slider as its initial frame with a line saying what moves; every other figure too."""
    outputs = [o.get("data", {}) for o in _cached_outputs()]
    sliders = [d for d in outputs if 'class="gencore-slider"' in "".join(d.get("text/html", ""))]
    figures = [d for d in outputs if "image/png" in d and d not in sliders]
    assert len(sliders) >= 20 and len(figures) >= 10
    lines = re.findall(re.escape(SLIDER_LINE) + r"(.+?)Printed here:", re.sub(r"\s+", " ", text))
    assert len(lines) == len(sliders)
    assert all(re.search(r" from \S+ to \S+ \(\d+ values\)|\(.+ / .+\)", line) for line in lines)
    images = subprocess.run(["pdfimages", "-list", str(PDF)], check=True, capture_output=True,
                            text=True).stdout.splitlines()[2:]
    big = [row for row in images if row.split()[2] == "image" and int(row.split()[3]) >= 200]
    assert len(big) >= len(sliders) + len(figures)


def test_the_glossary_chinese_terms_are_printed(text):
    glossary = (ROOT / "book" / "glossary.md").read_text()
    terms = set(re.findall(r"[\u4e00-\u9fff]+", glossary))
    assert len(terms) >= 40
    printed = _key(text)
    missing = sorted(t for t in terms if t not in printed)
    assert not missing, missing
