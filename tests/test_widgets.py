"""gencore.widgets: the live path through the ipywidgets API, the static path as HTML."""
from __future__ import annotations

import re

import pytest

from gencore import blit, widgets


def make_demo(calls=None):
    def draw(fig, a, b):
        if calls is not None:
            calls.append((a, b))
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, a * b])
        ax.set_ylim(0, 12)
    return widgets.slider(draw, a=widgets.Param((1, 2, 3), "a"), b=(1, 4))


def test_static_html_has_one_frame_per_combination():
    html = make_demo().to_html()
    assert html.count('class="gs-frame"') == 6
    assert html.count('type="range"') == 2
    assert len(re.findall(r'<img class="gs-frame"[^>]*style="display:none"', html)) == 5
    assert "<script>" in html and "data-meta" in html
    assert len(set(re.findall(r'base64,([^"]+)"', html))) == 6  # every frame differs


def test_live_widget_updates_one_image_in_place():
    calls = []
    demo = make_demo(calls)
    box = demo.widget()
    first = box.image.value
    n_children = len(box.children)
    box.sliders[0].value = 2  # option index of a = 3
    assert calls[-1] == (3, 4) or calls[-1] == (3, 1)
    assert box.image.value != first
    second = box.image.value
    box.sliders[1].value = 0
    assert calls[-1] == (3, 1)
    assert box.image.value not in (first, second)
    assert len(box.children) == n_children and demo.widget() is box  # one figure, updated


def test_mimebundle_carries_both_views():
    demo = make_demo()
    bundle = demo._repr_mimebundle_()
    assert {"text/html", "text/plain", "application/vnd.jupyter.widget-view+json"} <= set(bundle)
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == demo.widget().model_id


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="draw"):
        widgets.slider(42, a=(1, 2))
    with pytest.raises(ValueError, match="'a'"):
        widgets.slider(lambda fig, a: None, a=(1,))
    with pytest.raises(ValueError, match="at least one parameter"):
        widgets.slider(lambda fig: None)
    with pytest.raises(ValueError, match="max_frames"):
        widgets.slider(lambda fig, a, b: None, a=range(20), b=range(20))
    with pytest.raises(ValueError, match="index"):
        make_demo().render((3, 0))
    with pytest.raises(ValueError, match="start"):
        widgets.slider(lambda fig, a: None, a=widgets.Param((1, 2), "a", start=5))


def test_reused_panels_give_the_same_frames_as_fresh_ones():
    """A frame drawn after others (axes reused) equals the same frame drawn first."""
    def draw(fig, scale, log):
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.plot([0, 1, 2], [0, scale, 4 * scale])  # autoscaled: must not remember old limits
        ax2.plot([1, 10, 100], [1, scale, 2])
        ax2.bar([1, 2], [scale, 1], label="bars")
        ax2.legend()
        ax2.set_xscale("log" if log else "linear")
        ax2.set_title(f"scale {scale}")

    values = dict(scale=(1.0, 50.0), log=(False, True))
    reused = widgets.slider(draw, **values)
    for index in ((0, 0), (1, 1), (0, 1), (1, 0)):
        fresh = widgets.slider(draw, **values)
        fresh.render((0, 0))  # lay out on the same first frame as `reused`
        assert reused.render(index) == fresh.render(index), index


def pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def layered_draw(fig, a, zoom=False):
    """Data below the grid (an image, a scatter), above it (a line), titles, a legend, a suptitle."""
    import numpy as np

    ax1, ax2 = widgets.panels(fig, 2)
    grid = np.add.outer(np.linspace(0, 1, 40), np.linspace(0, a, 40))
    ax1.imshow(grid, origin="lower", extent=(-2, 2, -2, 2), vmin=0, vmax=4)
    ax1.set_title(f"a = {a}")
    t = np.linspace(-3, 3, 200)
    ax2.scatter(t, np.sin(a * t), s=6)
    ax2.plot(t, np.cos(a * t), label="cos")
    ax2.legend(loc="upper right")
    ax2.set(xlim=(-3, 6 if zoom else 3), ylim=(-1.5, 1.5), xlabel="t")
    fig.suptitle(f"frame {a}")


def test_cached_decorations_give_the_frames_of_a_full_drawing():
    """Frames composed over the cached ticks, grid and spines match frames drawn in full.

    The reference demo draws every frame in full; the cached one must actually use its cache
    (or the test would compare two full drawings) and stay within a rounding of each pixel.
    """
    values = dict(a=(1.0, 2.0, 3.0, 4.0), zoom=(False, True))
    cached, full = widgets.slider(layered_draw, **values), widgets.slider(layered_draw, **values)
    full._layers.enabled = False
    # zoom changes the x limits and ticks half way: the cache must be rebuilt, not reused.
    order = [(k, 0) for k in range(4)] + [(k, 1) for k in range(4)] + [(0, 0), (3, 1)]
    hits = 0
    for index in order:
        before = cached._layers.hits
        diff = abs(pixels(cached.render(index)) - pixels(full.render(index))).max()
        assert diff <= blit.TOLERANCE, (index, diff)
        hits += cached._layers.hits > before
    assert cached._layers.enabled and hits >= 5, hits


def test_axes_that_change_every_frame_are_drawn_in_full():
    """Autoscaled axes (new limits each frame) stop the caching and get exact full drawings."""
    def draw(fig, a):
        ax = widgets.panels(fig)
        ax.plot([0, 1, 2], [0, a, 3 * a])

    values = dict(a=(1.0, 2.0, 5.0, 9.0, 20.0))
    cached, full = widgets.slider(draw, **values), widgets.slider(draw, **values)
    full._layers.enabled = False
    for k in (0, 1, 2, 3, 4, 0):
        assert cached.render((k,)) == full.render((k,))
    assert not cached._layers.enabled


def _framed(fig, k):
    """A sample framed in red on one frame (as chapter 10's bars figure does), grey on the others."""
    import numpy as np

    ax1, ax2 = widgets.panels(fig, 2)
    ax1.imshow(np.eye(8) * (k + 1), vmin=0, vmax=4)
    for spine in ax1.spines.values():
        spine.set_visible(True)
        spine.set_edgecolor("red" if k == 0 else "grey")
    ax2.plot([0, 1], [0, k])
    ax2.set_ylim(0, 3)


def _highlighted_tick(fig, k):
    ax = widgets.panels(fig)
    ax.plot([0, 4], [0, 1])
    ax.set(xlim=(0, 4), xticks=range(5))
    for j, label in enumerate(ax.get_xticklabels()):
        label.set_color("red" if j == k else "black")


def _spilling_legend(fig, k):
    ax1, ax2 = widgets.panels(fig, 2)
    for j in range(k + 1):
        ax1.plot([0, 1], [0, j], label=f"a rather long label number {j}")
    ax1.set(xlim=(0, 1), ylim=(0, 4))
    ax1.legend(loc="upper left", bbox_to_anchor=(0.05 if k < 2 else 0.9, 1.0))  # later: into the right panel
    ax2.plot([0, 1], [1, 0])
    ax2.set(xlim=(0, 1), ylim=(0, 1))


@pytest.mark.parametrize("draw", [_framed, _highlighted_tick, _spilling_legend], ids=lambda d: d.__name__)
def test_frames_whose_decorations_change_are_not_taken_from_the_cache(draw):
    """What the cache must notice (a referee's cases): a spine's colour, one tick label's colour,
    a legend reaching into the next panel. Each frame must match a full drawing."""
    values = dict(k=(0, 1, 2, 3))
    cached, full = widgets.slider(draw, **values), widgets.slider(draw, **values)
    full._layers.enabled = False
    for k in (0, 1, 2, 3, 0, 2):
        diff = abs(pixels(cached.render((k,))) - pixels(full.render((k,)))).max()
        assert diff <= blit.TOLERANCE, (k, diff)


def _printed_demo():
    def draw(fig, sigma, layer):
        ax = widgets.panels(fig)
        ax.plot([0, 1], [0, sigma], color="C0" if layer == "planar" else "C1")
        ax.set(xlim=(0, 1), ylim=(0, 2))
    return dict(draw=draw,
                sigma=widgets.Param((0.1, 0.5, 2.0), "noise level σ", "{:g}", start=2),
                layer=widgets.Param(("planar", "radial"), "q's *layer*", "{}", start=0))


def test_mimebundle_prints_the_initial_frame_and_says_what_moves():
    """For paper (make pdf): a PNG of the initial frame, and a line naming each slider, its range
    and the value printed. Reference: the same frame drawn by a fresh demo, in full."""
    import base64

    spec = _printed_demo()
    demo = widgets.slider(**spec)
    bundle = demo._repr_mimebundle_()
    png = base64.b64decode(bundle["image/png"])
    fresh = widgets.slider(**spec)
    fresh._layers.enabled = False
    fresh.render((0, 0))  # laid out on the same first frame as the demo's own frames
    # the site's frames (and so the printed one) are stored with a 256-colour palette
    assert abs(pixels(png) - pixels(fresh.render((2, 0), palette=True))).max() <= blit.TOLERANCE
    assert abs(pixels(png) - pixels(fresh.render((1, 0), palette=True))).max() > blit.TOLERANCE  # not any frame
    line = demo._printed_view()[1]
    assert line.startswith("Interactive on the website and in the notebook: sliders over ")
    assert "noise level σ from 0.1 to 2 (3 values)" in line and "q's *layer* (planar / radial)" in line
    assert "Printed here: noise level σ = 2, q's *layer* = planar." in line
    assert "text/html" in bundle and "text/markdown" in bundle  # the website's view is unchanged


def test_printed_markdown_is_the_frame_and_the_line_once_parsed():
    """The LaTeX build renders the bundle's Markdown: parsed, it must give back the PNG and the
    line verbatim (its quotes, parentheses and slashes escaped, not read as markup)."""
    import base64

    markdown_it = pytest.importorskip("markdown_it")
    demo = widgets.slider(**_printed_demo())
    bundle = demo._repr_mimebundle_()
    tokens = markdown_it.MarkdownIt("commonmark").parse(bundle["text/markdown"])
    inline = [t for t in tokens if t.type == "inline"]
    assert len(inline) == 2
    image, = [c for c in inline[0].children if c.type == "image"]
    src = image.attrs["src"]
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == base64.b64decode(bundle["image/png"])
    kinds = [c.type for c in inline[1].children]
    assert kinds == ["em_open", "text", "em_close"]
    assert inline[1].children[1].content == demo._printed_view()[1]


# ---- text alternatives of the static frames (issue 21: accessibility) -------------------------
def _alts(html: str) -> dict[str, str]:
    import html as html_lib
    return {key: html_lib.unescape(alt) for key, alt in
            re.findall(r'<img class="gs-frame" data-key="([^"]+)" alt="([^"]*)"', html)}


def test_a_template_alt_names_each_frames_slider_values():
    demo = widgets.slider(lambda fig, K, eps: fig.add_subplot().plot([0, K * eps]),
                          K=widgets.Param((10, 100), "steps K", "{:d}"),
                          eps=widgets.Param((0.1, 0.01), "step size ε", "{:g}"),
                          alt='Langevin chains after K = {K} steps & "more"')
    alts = _alts(demo.to_html())
    assert len(alts) == 4  # one per frame, each its own
    # the named slider is filled in with its format; the unnamed one is appended with its label
    assert alts["1,1"] == 'Langevin chains after K = 100 steps & "more" (step size ε = 0.01).'
    assert alts["0,0"] == 'Langevin chains after K = 10 steps & "more" (step size ε = 0.1).'
    assert len(set(alts.values())) == 4


def test_a_callable_alt_gets_the_values_and_is_taken_as_it_is():
    seen = []

    def alt(a, b):
        seen.append((a, b))
        return f"product {a * b}"

    demo = widgets.slider(lambda fig, a, b: None, a=(2, 3), b=(5, 7), alt=alt)
    assert demo.alt_at((1, 0)) == "product 15"
    assert seen == [(3, 5)]  # the raw values, not their printed text
    assert "product 10" in demo.to_html()  # the static view writes it


def test_a_template_naming_every_slider_gets_nothing_appended():
    full = widgets.slider(lambda fig, a: None, a=widgets.Param((0.5, 1.5), "width a", "{:.1f}"), alt="width {a}")
    assert full.alt_at((1,)) == "width 1.5"


def test_without_an_alt_a_frame_still_says_its_slider_values_and_never_just_its_index():
    alts = _alts(make_demo().to_html())
    assert alts["2,0"] == "Slider figure (a = 3; b = 1)."
    assert not any(re.fullmatch(r"frame [\d,]+", text) for text in alts.values())


@pytest.mark.parametrize("alt, message", [("   ", "non-empty"), (3, "non-empty"), ("at {c}", r"\['c'\]"),
                                          ("at {a", "format string")])
def test_bad_alt_is_named(alt, message):
    with pytest.raises(ValueError, match=message):
        widgets.slider(lambda fig, a: None, a=(1, 2), alt=alt)
