"""Chapter 5's live demos (gencore.live_flows): a flow's layers, one per step, exported to ONNX.

The Python half runs the exported step in ``onnxruntime`` against gencore's own layers (float32,
fixed inputs) and chains it into gencore's ``Flow.forward(upto=k)`` and ``Flow.inverse``; the
browser half (marker ``browser``) runs it in headless Chromium (tests/livepage.py): agreement, a
slider move and a drag change each canvas, no console error, nothing from another host, and a
full run of 1,000 points through every layer is timed. Small stand-in flows stand for the trained ones.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from gencore import flows as Fl
from gencore import live, live_flows, widgets
from gencore.experiments import flows as run
from gencore.figures import flows as figs
from livepage import api, changes, drag, full_run_ms, live_page, run_step, set_slider

F32 = torch.float32


def _planar_flows(members=3, K=6):
    g = torch.Generator().manual_seed(2)
    return [Fl.Flow([Fl.Planar(2, init_std=1.0, generator=g, dtype=F32) for _ in range(K)],
                    Fl.normal_base(dtype=F32)) for _ in range(members)]


def _coupling(K=4, hidden=16):
    g = torch.Generator().manual_seed(3)
    layers = [Fl.AffineCoupling(2, hidden, [1.0, 0.0] if i % 2 == 0 else [0.0, 1.0], generator=g, dtype=F32) for i in range(K)]
    for f in layers:  # a fresh coupling is the identity (zero last layer); give it a shape
        torch.nn.init.normal_(f.net[-1].weight, std=0.5, generator=g)
    return Fl.Flow(layers, Fl.normal_base(dtype=F32))


def _points(n=257, seed=11):
    return 1.5 * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=F32)


@functools.lru_cache(maxsize=None)
def _session(kind: str):
    ort = pytest.importorskip("onnxruntime")
    step = {"planar": lambda: live_flows.FlowLayerStep(_planar_flows()),
            "forward": lambda: live_flows.FlowLayerStep(_coupling()),
            "inverse": lambda: live_flows.FlowLayerStep(_coupling(), inverse=True)}[kind]()
    return ort.InferenceSession(live.export_step(step), providers=["CPUExecutionProvider"])


def test_exported_layer_steps_agree_with_gencores_layers_in_onnxruntime():
    x = _points()
    worst = 0.0
    flows = _planar_flows()
    for m, flow in enumerate(flows):  # every layer of every member: the int64 inputs pick the right one
        for t, layer in enumerate(flow.layers):
            got = _session("planar").run(None, {"x": x.numpy(), "t": np.array(t), "member": np.array(m)})[0]
            with torch.no_grad():
                worst = max(worst, float(np.abs(got - layer(x)[0].numpy()).max()))
    coupling = _coupling()
    for t in range(4):
        with torch.no_grad():
            fwd, inv = coupling.layers[t](x)[0].numpy(), coupling.layers[3 - t].inverse(x)[0].numpy()
        worst = max(worst, float(np.abs(_session("forward").run(None, {"x": x.numpy(), "t": np.array(t)})[0] - fwd).max()),
                    float(np.abs(_session("inverse").run(None, {"x": x.numpy(), "t": np.array(t)})[0] - inv).max()))
    print(f"\nonnxruntime against gencore's layers (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5


def test_k_exported_steps_are_the_flows_first_k_layers_and_back():
    x = _points(64, seed=5)
    flow = _planar_flows()[1]
    got = x.numpy()
    for t in range(4):
        got = _session("planar").run(None, {"x": got, "t": np.array(t), "member": np.array(1)})[0]
    with torch.no_grad():
        ref = flow.forward(x, upto=4)[0].numpy()  # the planar chain (gencore.flow_chains): another code path
    assert np.abs(got - ref).max() <= 1e-5
    coupling = _coupling()
    with torch.no_grad():
        data = coupling.forward(x)[0]
    back = data.numpy()
    for t in range(4):  # the inverse steps, last layer first, undo the whole flow
        back = _session("inverse").run(None, {"x": back, "t": np.array(t)})[0]
    assert np.abs(back - x.numpy()).max() <= 1e-4


def test_a_planar_stack_has_no_inverse_step_and_the_layers_must_match():
    with pytest.raises(ValueError, match="closed-form inverse"):
        live_flows.FlowLayerStep(_planar_flows(1), inverse=True)
    with pytest.raises(ValueError, match="same number"):
        live_flows.FlowLayerStep([_planar_flows(1, K=3)[0], _planar_flows(1, K=4)[0]])
    with pytest.raises(ValueError, match="every layer"):
        live_flows.FlowLayerStep(Fl.Flow([Fl.Planar(2), Fl.Radial(2)], Fl.normal_base()))


@functools.lru_cache(maxsize=1)
def _vi():
    configs = [(t, 4, True) for t in run.TARGETS]
    return run.train_vi(configs, steps=3, n=32, dtype=F32, generator=torch.Generator().manual_seed(0), progress=False)


@functools.lru_cache(maxsize=1)
def _moons():
    return run.train_coupling("moons", layers=4, hidden=16, steps=3, n_train=512, n_test=512, fused=False, dtype=F32,
                              generator=torch.Generator().manual_seed(0), progress=False)


def _demos():
    g = torch.Generator().manual_seed(4)
    return [figs.layer_slider(_vi(), depth=4, ks=(0, 2, 4), resolution=20),
            figs.coupling_layers(_moons(), ks=(0, 4), n=300, generator=g),
            figs.coupling_layers(_moons(), inverse=True, ks=(0, 4), n=300, generator=g)]


def test_chapter_5s_calls_give_live_demos_over_their_frames():
    layers, forward, inverse = _demos()
    for demo in (layers, forward, inverse):
        assert isinstance(demo, live.LiveDemo) and isinstance(demo.fallback, widgets.SliderDemo)
        assert demo.error is None, demo.error
        html = demo._repr_mimebundle_()[0]["text/html"]
        assert "gencore-live" in html and "gs-frame" not in html
    assert [s["key"] for s in layers.spec["sliders"]] == ["member", "k"]
    assert layers.spec["sliders"][0]["labels"] == [t.upper() for t in run.TARGETS]
    assert layers.spec["times"]["prefix"][:4] == [0, 1, 2, 3]  # layer k is step k: one grid, stored once
    x_test = _moons().x_test[:300].flatten().tolist()
    assert inverse.spec["init"] == [round(v, 4) for v in x_test] and forward.spec["init"] is None


def test_coupling_layers_refuses_layer_counts_the_flow_has_not():
    with pytest.raises(ValueError, match="ks"):
        figs.coupling_layers(_moons(), ks=(0, 9))


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with live_page(tmp_path_factory.mktemp("live_flows"), _demos()) as p:
        yield p


@pytest.mark.browser
def test_the_layer_steps_in_chromium_agree_with_gencore(page):
    x = _points(33, seed=21)
    vi_flows = [_vi().member(_vi().index(t, 4, True)) for t in run.TARGETS]
    moons = _moons().flow
    worst = 0.0
    with torch.no_grad():
        for t in range(4):
            ref = vi_flows[2].layers[t].float()(x)[0].numpy()
            got = run_step(page, page.uids[0], dict(x=x.flatten().tolist(), t=t, member=2), 33)
            worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(ref.shape) - ref).max()))
            for uid, ref in ((page.uids[1], moons.layers[t](x)[0]), (page.uids[2], moons.layers[3 - t].inverse(x)[0])):
                got = run_step(page, uid, dict(x=x.flatten().tolist(), t=t), 33)
                worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(33, 2) - ref.numpy()).max()))
    print(f"\nonnxruntime-web in Chromium against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_sliders_and_drags_change_every_canvas_with_no_error_and_nothing_foreign(page):
    layers = page.uids[0]
    assert changes(page, layers, lambda: set_slider(page, layers, "member", 1)), "the flow slider did nothing"
    for uid in page.uids:
        assert changes(page, uid, lambda: set_slider(page, uid, "k", 2)), "moving k did not change the canvas"
        page.locator(f"#{uid} canvas").scroll_into_view_if_needed()  # the mouse reaches only what is in view
        assert changes(page, uid, lambda: drag(page, uid)), "dragging the point did not change the canvas"
        assert page.evaluate(f"() => {api(uid)}.state.k") == 2
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_full_runs_are_timed(page, record_property):
    for name, uid in zip(("planar_4_layers", "coupling_4_layers", "coupling_inverse_4_layers"), page.uids):
        set_slider(page, uid, "k", 4)
        ms = full_run_ms(page, uid, "k", (3, 4, 4))
        record_property(f"{name}_ms", ms)
        print(f"\n{name}: {ms:.0f} ms in headless Chromium (median of 3)")
        assert 0 < ms < 2000
