"""The built website's live demos (gencore.live) and page weights, in headless Chromium.

Run after the site is built (`make test` builds it first). Every chapter page weighs at most
2 MB (its HTML with the inlined frames, models and stills, plus the images it links); the shared
runtime at most 12 MB. Every live demo on every page draws, changes its canvas when its first
slider moves and, for a sampler, when its start point is dragged; no page logs an error or asks
another host for anything. benchmarks/website.py measures the same weights and the update times.
"""
from __future__ import annotations

import sys

import pytest

from livepage import api, changes, drag, pixels
from test_browser import SITE, browser, open_page, server  # noqa: F401  (fixtures)

sys.path.insert(0, str(SITE.parents[1] / "benchmarks"))
from website import PAGE_LIMIT, RUNTIME_LIMIT, folder_bytes, page_weight  # noqa: E402  (benchmarks/website.py)

pytestmark = pytest.mark.browser
CHAPTERS = sorted(p.name for p in (SITE / "book").glob("[0-9][0-9]_*.html")) if SITE.exists() else []


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_page_weighs_at_most_2_mb(name):
    weight = page_weight(SITE / "book" / name, SITE)
    assert weight["bytes"] <= PAGE_LIMIT, f"{name}: {weight['bytes'] / 1e6:.2f} MB ({weight})"
    # nothing reads an executed chapter's ipywidgets state on the site (book/_ext/no_thebe.py)
    assert "application/vnd.jupyter.widget-state+json" not in (SITE / "book" / name).read_text(encoding="utf-8")


def test_the_shared_runtime_weighs_at_most_12_mb():
    assert (SITE / "_static" / "ort" / "ort-wasm-simd.wasm").exists(), "no runtime in the site's _static/ort"
    assert folder_bytes(SITE / "_static" / "ort") <= RUNTIME_LIMIT


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_live_demo_moves_with_its_slider_and_its_point(name, browser, server):  # noqa: F811
    page, errors, foreign = open_page(browser, f"{server}/book/{name}")
    try:
        uids = page.evaluate("() => [...document.querySelectorAll('.gencore-live')].map(e => e.id)")
        if not uids:
            pytest.skip(f"{name} has no live demo")
        page.wait_for_function("(c) => { const g = window.gencoreLive || {}; return c.every(n => g[n] && g[n].frames > 0); }",
                               arg=uids, timeout=180_000)
        for uid in uids:
            page.locator(f"#{uid}").scroll_into_view_if_needed()
            slider = page.evaluate(f"() => JSON.parse(document.querySelector('#{uid} .gl-spec').textContent).sliders[0]")
            value = slider["hi"] if page.evaluate(f"() => {api(uid)}.state['{slider['key']}']") != slider["hi"] else slider["lo"]
            assert changes(page, uid, lambda: page.evaluate(f"(v) => {api(uid)}.set('{slider['key']}', v)", value)), \
                f"{name}: moving {slider['label']} did not change demo {uid}"
            if not page.evaluate(f"() => !!JSON.parse(document.querySelector('#{uid} .gl-spec').textContent).panels"):
                assert changes(page, uid, lambda: drag(page, uid, (0.25, 0.55), (0.35, 0.4))), \
                    f"{name}: dragging the point did not change demo {uid}"
            assert pixels(page, uid)
        assert not errors, f"{name}: {errors}"
        assert not foreign, f"{name}: requests to another host: {foreign}"
    finally:
        page.close()
