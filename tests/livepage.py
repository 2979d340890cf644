"""Headless Chromium for live demos (gencore.live): one page holding LiveDemos, served beside a
copy of the site's runtime (``book/_static/ort``, scripts/fetch_ort.sh), so no built site is needed.

    with live_page(tmp_path, [demo_a, demo_b]) as page:
        uid = page.uids[0]
        got = run_step(page, uid, {"x": [...], "z": [...], "t": 5}, rows)   # the exported step in the browser
        assert changes(page, uid, lambda: set_slider(page, uid, "eta", 1.0))
        assert changes(page, uid, lambda: drag(page, uid))
    assert not page.errors and not page.foreign
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import pathlib
import shutil
import threading
import time
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ORT = ROOT / "book" / "_static" / "ort"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def _served(root: pathlib.Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@contextlib.contextmanager
def live_page(tmp_path: pathlib.Path, demos):
    """A Chromium page showing ``demos`` (LiveDemos, exported), ready once every one has drawn.

    The page object gets ``uids`` (one per demo, in order), ``errors`` (page errors and console
    errors) and ``foreign`` (requests to another host)."""
    if not (ORT / "ort-wasm-simd.wasm").exists():
        pytest.fail("no runtime in book/_static/ort: run scripts/fetch_ort.sh (make setup does)")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: `make test` installs Debian's chromium")
    for d in demos:
        assert d.model is not None, f"the demo did not export: {d.error}"
    shutil.copytree(ORT, tmp_path / "_static" / "ort", dirs_exist_ok=True)
    (tmp_path / "book").mkdir(exist_ok=True)
    body = "".join(d.to_html() for d in demos)
    (tmp_path / "book" / "live.html").write_text(
        '<!DOCTYPE html><html data-content_root="../"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>live</title></head><body>{body}</body></html>", encoding="utf-8")
    from playwright.sync_api import sync_playwright

    with _served(tmp_path) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 700})
            errors, foreign = [], []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            host = urllib.parse.urlparse(url).netloc
            page.on("request", lambda req: foreign.append(req.url) if urllib.parse.urlparse(req.url).scheme
                    in ("http", "https") and urllib.parse.urlparse(req.url).netloc != host else None)
            page.goto(url + "/book/live.html", wait_until="load")
            page.wait_for_function(f"() => {{ const g = window.gencoreLive || {{}}; const k = Object.keys(g).filter("
                                   f"n => n.startsWith('gl-')); return k.length === {len(demos)} && "
                                   "k.every(n => g[n].frames > 0); }", timeout=120_000)
            page.errors, page.foreign = errors, foreign
            page.uids = page.evaluate("() => [...document.querySelectorAll('.gencore-live')].map(e => e.id)")
            yield page
        finally:
            browser.close()


def api(uid: str) -> str:
    return f"window.gencoreLive['{uid}']"


def pixels(page, uid: str) -> str:
    return page.evaluate(f"() => document.querySelector('#{uid} canvas').toDataURL()")


def run_step(page, uid: str, feed: dict, rows: int) -> list:
    """The exported step run by onnxruntime-web: ``feed`` maps input names to flat lists (2D
    inputs, ``rows`` rows) or numbers (scalars, typed as the step's inputs)."""
    return page.evaluate(f"([f, r]) => {api(uid)}.step(f, r)", [feed, rows])


def set_slider(page, uid: str, key: str, value) -> None:
    """Move slider ``key`` to ``value`` (as its input would) and wait for the redraw."""
    page.evaluate(f"([k, v]) => {api(uid)}.set(k, v)", [key, value])


def drag(page, uid: str, frm=(0.3, 0.6), to=(0.5, 0.3)) -> None:
    """Drag the pointer over the canvas between two fractions of its box, and wait for a redraw."""
    page.locator(f"#{uid} canvas").scroll_into_view_if_needed()  # the pointer reaches only what is in view
    box = page.locator(f"#{uid} canvas").bounding_box()
    frames = page.evaluate(f"() => {api(uid)}.frames")
    page.mouse.move(box["x"] + frm[0] * box["width"], box["y"] + frm[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + to[0] * box["width"], box["y"] + to[1] * box["height"], steps=3)
    page.mouse.up()
    page.wait_for_function(f"() => {api(uid)}.frames > {frames}", timeout=30_000)
    time.sleep(0.3)  # the last queued redraw
    page.wait_for_function(f"() => !{api(uid)}.busy", timeout=30_000)


def changes(page, uid: str, action) -> bool:
    """Whether ``action()`` changes the demo's canvas."""
    before = pixels(page, uid)
    action()
    return pixels(page, uid) != before


def full_run_ms(page, uid: str, key: str, values) -> float:
    """The median time of full runs (all points, every step) as ``key`` takes ``values``."""
    times = [page.evaluate(f"([k, v]) => {api(uid)}.set(k, v).then(() => {api(uid)}.lastMs)", [key, v]) for v in values]
    return sorted(times)[len(times) // 2]


def assert_both_worlds(demo) -> None:
    """``demo`` is one object for every world: a LiveDemo that exported, whose bundle holds the live
    view for the site (and no frames), the ipywidgets view for a notebook and a PNG for print."""
    from gencore import live, widgets

    assert isinstance(demo, live.LiveDemo) and isinstance(demo.fallback, widgets.SliderDemo)
    assert demo.error is None, demo.error
    bundle, _ = demo._repr_mimebundle_()
    assert "gencore-live" in bundle["text/html"] and "gs-frame" not in bundle["text/html"]
    assert bundle["image/png"] and "application/vnd.jupyter.widget-view+json" in bundle
