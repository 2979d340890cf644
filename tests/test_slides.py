"""The lecture decks (``slides/NN_<stem>.md``, ``make slides``, scripts/build_slides.py).

Static checks, for every deck: each ``cell:<id>`` figure and ``{{output:<id>}}`` check names a
cell of the chapter notebook ``book/NN_<stem>.ipynb`` (cells are named by id, so a deck survives
cells moving), and in an executed copy of the chapter that cell shows an image or prints text;
each figure has alt text that describes it; each ``site:`` link points at a section of the chapter.

In headless Chromium, two decks built from executed chapters: reveal.js starts, MathJax typesets
every formula without an error, every image loads, no console error, every slide fits the
1280 x 720 frame (in height and width) with text a room can read, and nothing is requested
beyond the deck's own files.

Executed chapters come from ``$GENCORE_SLIDES_EXECUTED`` (a folder), else ``_build/colab/executed``
(``make test``), else the build's jupyter-cache (``make book``); without any, those tests skip.
"""
from __future__ import annotations

import os
import pathlib
import re
import sys
import urllib.parse

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_slides as B  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DECKS = B.decks()
BROWSER_DECKS = tuple(p.stem[:2] for p in DECKS)  # every deck: an overfull slide is easy to miss by eye


def executed_folders() -> list[pathlib.Path]:
    env = os.environ.get("GENCORE_SLIDES_EXECUTED")
    return ([pathlib.Path(env)] if env else []) + [B.COLAB_EXECUTED]


def executed(chapter: pathlib.Path):
    return B.find_executed(chapter, executed_folders())


def heading_ids(nb) -> set[str]:
    """The section ids Sphinx gives the chapter's headings (and explicit ``(label)=`` targets)."""
    from docutils.nodes import make_id

    ids = set()
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        ids.update(make_id(m) for m in re.findall(r"^#{1,6} +(.+?) *$", cell.source, flags=re.MULTILINE))
        ids.update(re.findall(r"^\(([\w-]+)\)=$", cell.source, flags=re.MULTILINE))
    return ids


def test_every_chapter_has_a_deck():
    chapters = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    assert [d.stem for d in DECKS] == chapters


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_refers_only_to_cells_and_sections_of_its_chapter(deck):
    text = deck.read_text(encoding="utf-8")
    nb = nbformat.read(B.chapter_of(deck), as_version=4)
    code_ids = {c.get("id") for c in nb.cells if c.cell_type == "code"}
    figures, checks = B.cell_refs(text), [i for kind, i in B.token_refs(text) if kind == "output"]
    assert figures, "a deck shows at least one figure of its chapter"
    missing = sorted({i for i, _ in figures} - code_ids) + sorted(set(checks) - code_ids)
    assert not missing, f"{deck.name} names cells that book/{deck.stem}.ipynb lacks: {missing}"
    anchors = B.site_anchors(text)
    assert anchors, "a deck points to a live demo on the website"
    assert not set(anchors) - heading_ids(nb), f"links to sections the chapter lacks: {set(anchors) - heading_ids(nb)}"
    assert "](colab:)" in text, "a deck points to the chapter in Colab"


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_every_figure_has_descriptive_alt_text(deck):
    alts = re.findall(r"!\[([^\]]*)\]\(", deck.read_text(encoding="utf-8"))
    assert alts
    weak = [a for a in alts if len(a) < 40 or B.WEAK_ALT.match(a.strip())]
    assert not weak, f"alt text too short to describe the figure: {weak}"


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_referenced_cells_show_an_image_in_the_executed_chapter(deck):
    nb = executed(B.chapter_of(deck))
    if nb is None:
        pytest.skip(f"no executed copy of {deck.stem} (make test or make book writes one)")
    text = deck.read_text(encoding="utf-8")
    for cell_id, frame in B.cell_refs(text):
        assert B.cell_png(nb, cell_id, frame)[:8] == b"\x89PNG\r\n\x1a\n", cell_id
    for kind, name in B.token_refs(text):
        assert (B.cell_text(nb, name) if kind == "output" else B.glued(nb, name)).strip()


def test_a_deck_naming_a_missing_cell_or_weak_alt_text_does_not_build(tmp_path, monkeypatch):
    """The controls: the builder refuses what the checks above look for."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1", id="aaaa1111")])
    with pytest.raises(B.DeckError, match="no cell with id"):
        B.cell_png(nb, "bbbb2222", None)
    with pytest.raises(B.DeckError, match="shows no image"):
        B.cell_png(nb, "aaaa1111", None)
    deck = tmp_path / "01_kl.md"
    deck.write_text("# t\n\n---\n\n![frame 3](cell:aaaa1111)\n")
    monkeypatch.setattr(B, "chapter_of", lambda d: ROOT / "book" / "01_kl.ipynb")
    with pytest.raises(B.DeckError, match="alt text"):
        B.render_deck(deck, nb, tmp_path)


# --- in the browser ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not (B.REVEAL / "reveal.js").exists() or not (B.MATHJAX / "tex-chtml.js").exists():
        pytest.fail("reveal.js or MathJax is missing: run `bash scripts/setup.sh`")
    folders = executed_folders()
    for n in BROWSER_DECKS:
        chapter = next((ROOT / "book").glob(f"{n}_*.ipynb"))
        if B.find_executed(chapter, folders) is None:
            pytest.skip(f"no executed copy of {chapter.name}: run `make test` or `make book` first "
                        "(or set GENCORE_SLIDES_EXECUTED to a folder of executed chapters)")
    out = tmp_path_factory.mktemp("slides")
    argv = ["--out", str(out), *BROWSER_DECKS]
    if os.environ.get("GENCORE_SLIDES_EXECUTED"):
        argv += ["--executed", os.environ["GENCORE_SLIDES_EXECUTED"]]
    assert B.main(argv) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


# Text of the slides still holding TeX delimiters: math MathJax could not parse (e.g. unbalanced braces).
UNTYPESET = r"""() => [...document.querySelectorAll('.slides section')].map(s => s.innerText)
  .filter(t => /\\\(|\\\[|\$/.test(t)).map(t => t.slice(0, 80))"""


# Per slide: the lowest edge of its content in the deck's own 1280 x 720 coordinates, and the
# smallest font size of its running text.
MEASURE = """() => { const s = Reveal.getCurrentSlide();
  const parts = [...s.children].filter(c => c.tagName !== 'ASIDE');
  const text = [...s.querySelectorAll('p, li')].map(e => parseFloat(getComputedStyle(e).fontSize));
  const wide = [...s.querySelectorAll('mjx-container[display="true"], p, li, pre, table')]
    .filter(e => (e.tagName === 'MJX-CONTAINER' ? e.firstElementChild : e).scrollWidth > s.offsetWidth + 2)
    .map(e => e.textContent.slice(0, 40));
  return {bottom: Math.max(...parts.map(c => c.offsetTop + c.offsetHeight)), wide,
          font: text.length ? Math.min(...text) : null}; }"""


@pytest.mark.browser
@pytest.mark.parametrize("number", BROWSER_DECKS)
def test_deck_runs_offline_with_math_and_figures(built, browser, number):
    deck = next(built.glob(f"{number}_*.html"))
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors, foreign = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: foreign.append(req.url)
            if urllib.parse.urlparse(req.url).scheme not in ("file", "data") else None)
    page.goto(deck.as_uri(), wait_until="load")
    page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=15_000)
    page.wait_for_function("() => document.body.classList.contains('math-ready')", timeout=20_000)
    formulas = page.locator("mjx-container").count()
    assert formulas > 20, f"MathJax typeset only {formulas} formulas"
    assert page.locator("mjx-merror").count() == 0 and "Math input error" not in page.content()
    raw = page.evaluate(UNTYPESET)
    assert not raw, f"TeX that MathJax left untypeset: {raw[:3]}"
    images = page.evaluate("() => [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, alt: i.alt}))")
    assert len(images) >= 3 and all(i["ok"] for i in images), images
    assert all(len(i["alt"]) >= 40 for i in images)
    total = page.evaluate("Reveal.getTotalSlides()")
    assert 12 <= total <= 20
    for i in range(total):
        page.evaluate(f"Reveal.slide({i})")
        m = page.evaluate(MEASURE)
        assert m["bottom"] <= 700, f"slide {i + 1} of {deck.name} runs off the slide ({m['bottom']} px of 720)"
        assert not m["wide"], f"slide {i + 1} of {deck.name}: wider than the slide: {m['wide']}"
        assert m["font"] is None or m["font"] >= 24, f"slide {i + 1}: text at {m['font']} px is too small to read"
    page.close()
    assert not foreign, f"requests beyond the deck's own files: {foreign[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
