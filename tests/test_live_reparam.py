"""Chapter 2's live demo (gencore.live_reparam): the bending map run in onnxruntime and in Chromium
agrees with gencore.reparam.banana_push; the bend slider and a drag change the canvas."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gencore import live, live_reparam
from gencore import reparam as R
from gencore.figures import reparam as figs
from livepage import changes, drag, full_run_ms, live_page, run_step, set_slider

BENDS = (0.0, 0.37, 1.0)


def _eps(n=200, seed=4):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


@pytest.fixture(scope="module")
def demo():
    return figs.banana_slider(_eps(1000, 0).double())


def test_the_chapter_call_is_live_on_the_site_and_frames_in_a_notebook(demo):
    assert isinstance(demo, live.LiveDemo) and demo.error is None, getattr(demo, "error", None)
    bundle, _ = demo._repr_mimebundle_()
    assert "gencore-live" in bundle["text/html"] and "application/vnd.jupyter.widget-view+json" in bundle
    assert demo.render(demo.initial_index)[:4] == b"\x89PNG"  # the frames' slider answers for the rest


def test_exported_map_agrees_with_gencore_in_onnxruntime(demo):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(demo.model, providers=["CPUExecutionProvider"])
    x = _eps()
    worst = max(float(np.abs(session.run(None, {"x": x.numpy(), "b": np.array(b, np.float32)})[0]
                             - R.banana_push(x, b, 0.5).numpy()).max()) for b in BENDS)
    assert worst <= 1e-5, worst
    # b is an input, not a constant frozen by the trace: another b moves the points
    assert np.abs(session.run(None, {"x": x.numpy(), "b": np.array(0.9, np.float32)})[0][:, 1]
                  - R.banana_push(x, 0.1, 0.5).numpy()[:, 1]).max() > 0.1


@pytest.mark.browser
def test_in_chromium_the_map_agrees_and_the_bend_and_a_drag_move_the_picture(demo, tmp_path, record_property):
    with live_page(tmp_path, [demo]) as page:
        uid = page.uids[0]
        x = _eps(33, 9)
        worst = max(float(np.abs(np.asarray(run_step(page, uid, {"x": x.flatten().tolist(), "b": b}, 33)).reshape(33, 2)
                                 - R.banana_push(x, b, 0.5).numpy()).max()) for b in BENDS)
        assert worst <= 1e-4, worst
        assert changes(page, uid, lambda: set_slider(page, uid, "b", 0.9)), "the bend did not change the canvas"
        assert changes(page, uid, lambda: drag(page, uid, (0.2, 0.5), (0.3, 0.3))), "dragging ε did not change the canvas"
        ms = full_run_ms(page, uid, "b", (0.2, 0.4, 0.6))
        record_property("banana_1000_points_ms", ms)
        assert 0 < ms < 2000
        assert not page.errors, page.errors
        assert not page.foreign, page.foreign
