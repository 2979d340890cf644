"""Chapter 9's flows live (gencore.live_fm): the exported ODE and guidance steps agree with gencore's
:func:`gencore.flow_matching.sample_ode`, in Python (onnxruntime) and in headless Chromium.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from gencore import flow_matching as F
from gencore import live, live_fm as L, widgets
from gencore.experiments.flow_matching import guidance_mixture, velocity_net
from gencore.figures import flow_matching as figs
from livepage import assert_both_worlds, api, changes, drag, full_run_ms, live_page, run_step, set_slider

INTERVALS = ((0.0, 0.125), (0.25, 0.5), (0.6, 0.61), (0.0, 1.0), (0.98, 1.0))


@functools.lru_cache(maxsize=None)
def _net(n_classes: int = 0):
    return velocity_net(n_classes=n_classes, generator=torch.Generator().manual_seed(5 + n_classes),
                        dtype=torch.float32).eval()


def _x(n=257, seed=11):
    return 1.5 * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


@functools.lru_cache(maxsize=None)
def _session(which: str):
    ort = pytest.importorskip("onnxruntime")
    step = L.ODEStep(_net()) if which == "ode" else L.CFGStep(_net(4))
    return ort.InferenceSession(live.export_step(step), providers=["CPUExecutionProvider"])


def _ode_ref(x, t, t1, method):
    with torch.no_grad():
        return F.sample_ode(_net(), x, 1, method, t0=t, t1=t1).numpy()


def _cfg_ref(x, t, t1, w, y):
    with torch.no_grad():
        return F.sample_ode(F.cfg_velocity(_net(4), y, w), x, 1, "midpoint", t0=t, t1=t1).numpy()


def _f(v):
    return np.array(v, np.float32)


def test_the_exported_ode_step_is_sample_odes_euler_or_midpoint_step():
    session = _session("ode")
    x = _x()
    worst = 0.0
    for t, t1 in INTERVALS:
        for m, method in enumerate(L.SOLVERS):
            out = session.run(None, {"x": x.numpy(), "t": _f(t), "t_prev": _f(t1), "method": np.array(m, np.int64)})[0]
            worst = max(worst, float(np.abs(out - _ode_ref(x, t, t1, method)).max()))
    print(f"\nODE step, onnxruntime against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5
    euler = session.run(None, {"x": x.numpy(), "t": _f(0.2), "t_prev": _f(0.4), "method": np.array(0, np.int64)})[0]
    later = session.run(None, {"x": x.numpy(), "t": _f(0.5), "t_prev": _f(0.7), "method": np.array(0, np.int64)})[0]
    assert np.abs(euler - later).max() > 1e-3  # t is an input, not a constant of the trace


def test_a_chain_of_exported_steps_is_sample_ode_over_the_whole_interval():
    session = _session("ode")
    x = _x(64, seed=5)
    for m, method in enumerate(L.SOLVERS):
        got, n = x.numpy(), 7
        for k in range(n):
            got = session.run(None, {"x": got, "t": _f(k / n), "t_prev": _f((k + 1) / n), "method": np.array(m, np.int64)})[0]
        with torch.no_grad():
            ref = F.sample_ode(_net(), x, n, method).numpy()
        assert np.abs(got - ref).max() <= 1e-5


def test_the_exported_guidance_step_is_cfg_velocitys_midpoint_step():
    session = _session("cfg")
    x = _x()
    worst = 0.0
    for (t, t1), w, y in zip(INTERVALS, (0.0, 0.5, 1.0, 3.0, 6.0), (0, 1, 2, 3, 1)):
        out = session.run(None, {"x": x.numpy(), "t": _f(t), "t_prev": _f(t1), "w": _f(w), "y": np.array(y, np.int64)})[0]
        worst = max(worst, float(np.abs(out - _cfg_ref(x, t, t1, w, y)).max()))
    print(f"\nguidance step, onnxruntime against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5
    base = {"x": x.numpy(), "t": _f(0.3), "t_prev": _f(0.4), "w": _f(1.0), "y": np.array(1, np.int64)}
    for change in ({"w": _f(3.0)}, {"y": np.array(2, np.int64)}):  # w and y are inputs too
        assert np.abs(session.run(None, {**base, **change})[0] - session.run(None, base)[0]).max() > 1e-4


def _demos():
    """Chapter 9's two calls on small stand-ins (the frames' sliders only need their shape)."""
    g = torch.Generator().manual_seed(1)
    x0, ref = torch.randn(60, 2, generator=g), torch.randn(200, 2, generator=g)
    ode = figs.steps_slider(_net(), x0, ref, steps=(1, 2), live=True)
    mix = guidance_mixture(dtype=torch.float32)
    samples = {w: {y: torch.randn(20, 2, generator=g) for y in range(4)} for w in (0.0, 1.0)}
    stats = {w: {y: (0.5, 0.5) for y in range(4)} for w in (0.0, 1.0)}
    cfg = figs.cfg_slider(samples, stats, mix, ref, model=_net(4))
    return ode, cfg


def test_the_demos_are_one_object_for_notebook_site_and_print():
    ode, cfg = _demos()
    for demo in (ode, cfg):
        assert_both_worlds(demo)
    assert ode.spec["times"]["4"] == [0.0, 0.25, 0.5, 0.75, 1.0] and set(ode.spec["times"]) == {str(k) for k in range(1, 51)}
    assert cfg.spec["steps"] == 8 and [s["key"] for s in cfg.spec["sliders"]] == ["w", "y"]


def test_without_the_live_arguments_the_sliders_stay_frames():
    g = torch.Generator().manual_seed(2)
    assert isinstance(figs.steps_slider(_net(), torch.randn(10, 2, generator=g), torch.randn(10, 2, generator=g),
                                        steps=(1, 2)), widgets.SliderDemo)


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with live_page(tmp_path_factory.mktemp("live_fm"), list(_demos())) as p:
        yield p


@pytest.mark.browser
def test_the_steps_in_chromium_agree_with_gencore(page):
    ode, cfg = page.uids
    x = _x(33, seed=21)
    worst = 0.0
    for (t, t1), w, y in zip(INTERVALS, (0.0, 0.5, 1.0, 3.0, 6.0), (0, 1, 2, 3, 1)):
        for m, method in enumerate(L.SOLVERS):
            got = run_step(page, ode, dict(x=x.flatten().tolist(), t=t, t_prev=t1, method=m), 33)
            worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(33, 2) - _ode_ref(x, t, t1, method)).max()))
        got = run_step(page, cfg, dict(x=x.flatten().tolist(), t=t, t_prev=t1, w=w, y=y), 33)
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(33, 2) - _cfg_ref(x, t, t1, w, y)).max()))
    print(f"\nonnxruntime-web in Chromium against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_sliders_and_a_drag_change_each_canvas_with_no_error_and_nothing_foreign(page):
    ode, cfg = page.uids
    for uid, key, value in ((ode, "steps", 3), (ode, "method", 1), (cfg, "w", 4.0), (cfg, "y", 3)):
        assert changes(page, uid, lambda: set_slider(page, uid, key, value)), f"moving {key} did not change the canvas"
    for uid in page.uids:
        assert changes(page, uid, lambda: drag(page, uid)), "dragging x_0 did not change the canvas"
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_full_runs_of_1000_points_are_timed(page, record_property):
    ode, cfg = page.uids
    set_slider(page, ode, "method", 0)
    ms = {"ode_8_steps": full_run_ms(page, ode, "steps", (7, 9, 8)),  # the default: 8 steps
          "ode_50_steps": full_run_ms(page, ode, "steps", (48, 49, 50)),
          "cfg_8_midpoint_steps": full_run_ms(page, cfg, "w", (0.5, 1.5, 1.0))}
    for key, v in ms.items():
        record_property(f"{key}_1000_points_ms", v)
    print("\n1,000 points in headless Chromium (medians of 3): " + ", ".join(f"{k} {v:.0f} ms" for k, v in ms.items()))
    assert all(0 < v < 4000 for v in ms.values())  # a sanity bound on this shared machine
