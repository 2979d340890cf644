"""gencore.widgets: the live path through the ipywidgets API, the static path as HTML."""
from __future__ import annotations

import re

import pytest

from gencore import widgets


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
