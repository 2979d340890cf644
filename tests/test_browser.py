"""The built website in a real browser (headless Debian chromium via playwright).

Run after `make book` (the `make test` target builds first). Checks, on every page: math is
typeset by the site's own MathJax, no JavaScript error is logged, nothing is requested from
another host (the site must work offline), and every static slider changes the frame shown.
"""
from __future__ import annotations

import functools
import http.server
import os
import pathlib
import threading
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def pages() -> list[str]:
    if not SITE.exists():
        return []
    return sorted(str(p.relative_to(SITE)) for p in (SITE / "book").glob("*.html"))


@pytest.fixture(scope="module")
def server():
    if not (SITE / "book" / "01_kl.html").exists():
        pytest.fail("the website is not built: run `make book` first")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, foreign = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    host = urllib.parse.urlparse(url).netloc

    def on_request(req):
        parsed = urllib.parse.urlparse(req.url)
        if parsed.scheme in ("http", "https") and parsed.netloc != host:
            foreign.append(req.url)

    page.on("request", on_request)
    page.goto(url, wait_until="networkidle")
    return page, errors, foreign


def test_book_has_pages():
    assert "book/01_kl.html" in pages()


@pytest.mark.parametrize("path", pages())
def test_page_loads_offline_without_errors(server, browser, path):
    page, errors, foreign = open_page(browser, f"{server}/{path}")
    if page.locator(".math").count():
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=20_000)
        assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    page.close()
    assert not foreign, f"requests to other hosts (the site must work offline): {foreign[:5]}"
    assert not errors, f"JavaScript errors: {errors[:5]}"


def test_chapter_math_is_typeset_by_local_mathjax(server, browser):
    page, errors, _ = open_page(browser, f"{server}/book/01_kl.html")
    page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 50", timeout=20_000)
    src = page.evaluate("() => [...document.scripts].map(s => s.src).filter(s => s.includes('mathjax'))")
    page.close()
    assert src and all(s.startswith(server) for s in src), src


@pytest.mark.parametrize("path", pages())
def test_every_static_slider_moves(server, browser, path):
    page, errors, _ = open_page(browser, f"{server}/{path}")
    sliders = page.locator(".gencore-slider")
    for i in range(sliders.count()):
        root = sliders.nth(i)
        for k in range(root.locator("input[type=range]").count()):
            rng = root.locator("input[type=range]").nth(k)
            before = root.locator("img.gs-frame:visible").get_attribute("data-key")
            label_before = rng.locator("xpath=..").locator("output").inner_text()
            top = int(rng.get_attribute("max"))
            target = 0 if int(rng.input_value()) != 0 else top
            rng.evaluate("(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }", target)
            visible = root.locator("img.gs-frame:visible")
            assert visible.count() == 1, "exactly one frame is shown"
            assert visible.get_attribute("data-key") != before, f"slider {i}.{k} on {path} did not change the frame"
            assert rng.locator("xpath=..").locator("output").inner_text() != label_before
    page.close()
    assert not errors, f"JavaScript errors: {errors[:5]}"


def test_solutions_are_hidden_until_clicked(server, browser):
    page, _, _ = open_page(browser, f"{server}/book/01_kl.html")
    solutions = page.locator(".solution")
    assert solutions.count() >= 3
    body = solutions.first.locator(".solution-content, section").first
    assert not body.is_visible(), "a solution is visible before it is opened"
    page.close()


def chapter_pages() -> list[str]:
    return [p for p in pages() if pathlib.PurePosixPath(p).name[:2].isdigit()]


# Measures every display equation against its column: its laid-out width must fit at desktop
# width; at phone width a wider one must scroll sideways (overflow-x auto), never be clipped.
MEASURE = """() => [...document.querySelectorAll('mjx-container[display="true"]')].map(m => {
  const inner = m.firstElementChild ? m.firstElementChild.getBoundingClientRect().width : 0;
  return {inner, column: m.parentElement.getBoundingClientRect().width,
          scrolls: ['auto', 'scroll'].includes(getComputedStyle(m).overflowX),
          text: m.textContent.slice(0, 50)};
})"""


@pytest.mark.parametrize("path", chapter_pages())
def test_display_math_fits_the_column_at_desktop_and_scrolls_on_a_phone(server, browser, path):
    for width in (1300, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(f"{server}/{path}", wait_until="networkidle")
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000)
        page.evaluate("() => MathJax.startup.promise")
        eqs = page.evaluate(MEASURE)
        page.close()
        wide = [e for e in eqs if e["inner"] > e["column"] + 1]
        if width == 1300:
            assert not wide, f"{path}: display equations wider than the column at {width} px: " + \
                "; ".join(f"{e['text']!r} ({e['inner']:.0f} > {e['column']:.0f} px)" for e in wide)
        else:
            clipped = [e["text"] for e in wide if not e["scrolls"]]
            assert not clipped, f"{path}: equations clipped at {width} px: {clipped[:3]}"
