"""Accessibility of the book's figures (issue 21): a text alternative for every figure and slider
frame, and figures that stay readable when a reader switches the site to dark mode.

Two parts. The static tests read the chapters and the figure modules and need nothing built:
every figure cell carries ``mystnb.image.alt`` in its metadata (myst-nb writes it into the
page's ``<img alt>``), and every slider of the figure modules passes ``alt=`` to
:func:`gencore.widgets.slider`. The browser tests (marker ``browser``, after ``make book``) read
the built pages as a reader's browser does: every image's ``alt`` says something (not empty, not
a file name, not "frame 3"), and under the theme's dark mode a figure sits on a light background
and is not dimmed.

To give a new figure cell its text: add to the cell's metadata
``"mystnb": {"image": {"alt": "what is plotted; what it shows"}}``; for a new slider, pass
``alt="... {name} ..."`` (the slider values fill the fields) to ``widgets.slider``.
"""
from __future__ import annotations

import ast
import json
import os
import pathlib
import re

import pytest

from test_browser import SITE, browser, chapter_pages, server  # noqa: F401  (fixtures)

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
# where `make test` keeps the chapters it executed (outputs included); GENCORE_EXECUTED overrides
EXECUTED = pathlib.Path(os.environ.get("GENCORE_EXECUTED", ROOT / "_build" / "colab" / "executed"))
FIGURE_CALL = re.compile(r"\b\w*fig\.\w+_figure\(")  # a chapter draws a still figure as fig.<name>_figure(...)


def bad_alt(text: str | None) -> str | None:
    """Why ``text`` fails as a figure's text alternative, or None if it says something."""
    text = (text or "").strip()
    if not text:
        return "empty"
    if re.fullmatch(r"(frame|figure|image|slider figure)\b[\s\d,.:]*", text, flags=re.I):
        return "a placeholder"
    if re.search(r"(^|/)[\w.-]+\.(png|jpe?g|svg|gif)\b", text) or text.startswith(("data:", "../", "_images")):
        return "a file name"
    if len(text.split()) < 8:
        return "too short to say what the figure shows"
    return None


def _alt_of(cell) -> str | None:
    return (cell.get("metadata", {}).get("mystnb", {}).get("image", {}) or {}).get("alt")


def _cells(path: pathlib.Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_bad_alt_tells_placeholders_and_file_names_from_descriptions():
    assert bad_alt("") and bad_alt("frame 3") and bad_alt("frame 1,2") and bad_alt("Slider figure")
    assert bad_alt("../_images/1fc287b2.png") and bad_alt("a plot")
    assert bad_alt("Left: the exact density of the two moons; right: samples that trace the same moons.") is None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_alt_a_cell_gives_is_descriptive_and_on_a_figure_cell(path):
    """By the source (no execution needed): what a cell's alt says, and that the cell draws a figure."""
    given = {c.get("id"): c for c in _cells(path) if _alt_of(c) is not None}
    bad = {i: bad_alt(_alt_of(c)) for i, c in given.items() if bad_alt(_alt_of(c))}
    assert not bad, f"{path.name}: alt texts that do not describe their figure (cell id: why): {bad}"
    stray = [i for i, c in given.items() if not FIGURE_CALL.search(_source(c))]
    assert not stray, f"{path.name}: alt on cells that draw no fig.<name>_figure(...): {stray}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_cell_whose_output_is_an_image_has_a_descriptive_alt(path):
    """By the executed chapter (``make test`` writes it): any image output at all, however drawn."""
    executed = EXECUTED / path.name
    if not executed.exists():
        pytest.skip(f"no executed copy at {executed} (make test writes one)")
    alts = {c.get("id"): _alt_of(c) for c in _cells(path)}
    # A slider's output carries a PNG too (its printed frame, for the PDF), beside its HTML view,
    # whose frames carry their own alt text (the browser test checks them): not a still figure.
    imaged = [c.get("id") for c in _cells(executed)
              if any(any(k.startswith("image/") for k in o.get("data", {})) and "text/html" not in o.get("data", {})
                     for o in c.get("outputs", []))]
    bad = {i: bad_alt(alts.get(i)) for i in imaged if bad_alt(alts.get(i))}
    assert not bad, f"{path.name}: image outputs without a descriptive alt (cell id: why): {bad}"


def test_every_slider_of_the_figure_modules_passes_an_alt():
    calls = []
    for module in sorted((ROOT / "gencore" / "figures").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("widgets.slider", "slider"):
                calls.append((module.name, node.lineno, any(k.arg == "alt" for k in node.keywords)))
    assert len(calls) >= 20, "the figure modules' sliders were not found"
    missing = [f"{name}:{line}" for name, line, has in calls if not has]
    assert not missing, f"sliders without alt= (their frames would only say their slider values): {missing}"


# ---- the built website ------------------------------------------------------------------------
ALTS = """() => [...document.querySelectorAll('article img')].map(im => ({
  alt: im.getAttribute('alt'), frame: im.classList.contains('gs-frame'), src: (im.getAttribute('src') || '').slice(0, 60)}))"""


@pytest.mark.browser
@pytest.mark.parametrize("path", chapter_pages())
def test_every_image_on_a_chapter_page_has_a_descriptive_alt(server, browser, path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/{path}", wait_until="load")
    images = page.evaluate(ALTS)
    page.close()
    assert images, f"{path}: no figure at all"
    bad = [(im["src"], im["alt"], bad_alt(im["alt"])) for im in images if bad_alt(im["alt"])]
    assert not bad, f"{path}: {len(bad)} of {len(images)} images without a descriptive alt, e.g. {bad[:3]}"
    frames = [im["alt"] for im in images if im["frame"]]
    assert len(set(frames)) == len(frames), f"{path}: two slider frames share one alt text"


LOOK = """() => [...document.querySelectorAll('div.cell_output img')].filter(im => im.offsetParent).map(im => {
  const s = getComputedStyle(im), host = im.closest('.gencore-slider');
  return {bg: s.backgroundColor, filter: s.filter, frame: im.classList.contains('gs-frame'),
          text: host ? getComputedStyle(host.querySelector('.gs-controls')).color : null,
          sheet: host ? getComputedStyle(host).backgroundColor : null};
})"""


def _luminance(css: str) -> float:
    """Relative luminance (WCAG) of a CSS ``rgb(...)``/``rgba(...)`` colour."""
    r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.browser
@pytest.mark.parametrize("path", ["book/07_score.html", "book/10_autoregressive.html"])
def test_figures_stay_dark_ink_on_white_in_dark_mode(server, browser, path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
    page.goto(f"{server}/{path}", wait_until="load")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    looks = page.evaluate(LOOK)
    page.close()
    assert any(x["frame"] for x in looks) and any(not x["frame"] for x in looks), "a still figure and a slider"
    for x in looks:
        assert _luminance(x["bg"]) > 0.9, f"{path}: a figure on a dark or grey background in dark mode: {x}"
        assert x["filter"] in ("none", ""), f"{path}: a figure dimmed in dark mode: {x}"
        if x["frame"]:  # the slider's labels: dark text on its white sheet (contrast at least 4.5:1)
            assert (_luminance(x["sheet"]) + 0.05) / (_luminance(x["text"]) + 0.05) >= 4.5, x
