"""Chapter 10's live demos (gencore.live_ar): ancestral sampling of a 2D autoregressive model, exported.

The Python half checks the exported step in ``onnxruntime`` against a reference built here from
gencore's own mixture parameters (``Conditional1D.params``) and the Gumbel-max rule written out
with torch's normal CDF, and checks that the draws have the right law: at T = 1 each coordinate
follows the model's factor (Kolmogorov-Smirnov against the CDF integrated from gencore's
``log_prob``), and a cold T draws the heaviest component's mean. The browser half (marker
``browser``) runs the step in headless Chromium (tests/livepage.py).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from gencore import autoregressive as A
from gencore import live, live_ar, widgets
from gencore.figures import autoregressive as figs
from livepage import api, changes, drag, full_run_ms, live_page, run_step, set_slider

F32 = torch.float32
SPECS = (((0, 1), 1), ((0, 1), 5), ((1, 0), 1), ((1, 0), 5))


def _models():
    g = torch.Generator().manual_seed(7)
    out = []
    for order, K in SPECS:
        m = A.AR2D(order, components=K, hidden=32, dtype=F32)
        with torch.no_grad():  # every weight drawn here (the layers' own init uses torch's global generator)
            for p in m.parameters():
                p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=F32))
        out.append(m)
    return out


def _inputs(n=257, K=5, seed=11):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g, dtype=F32), torch.randn(n, K, generator=g, dtype=F32)


@functools.lru_cache(maxsize=1)
def _session():
    ort = pytest.importorskip("onnxruntime")
    return ort.InferenceSession(live.export_step(live_ar.ARSampleStep(_models())), providers=["CPUExecutionProvider"])


def _reference(model, x, z, t, T):
    """One step written out: gencore's mixture parameters, Gumbel-max by torch's normal CDF."""
    a, b = model.order
    K = model.first.components
    with torch.no_grad():
        if t == 0:
            logits, means, scales = (v.expand(len(x), -1) for v in model.first.params(x.new_zeros(1, 0)))
            eps, coord = x[:, a], a
        else:
            logits, means, scales = model.second.params(x[:, a:a + 1])
            eps, coord = x[:, b], b
        u = torch.distributions.Normal(0.0, 1.0).cdf(z[:, :K].double()).clamp(1e-7, 1 - 1e-7)
        k = (logits.double() / T - torch.log(-torch.log(u))).argmax(-1, keepdim=True)
        out = x.clone()
        out[:, coord] = (means.gather(1, k) + T ** 0.5 * scales.gather(1, k) * eps[:, None])[:, 0]
    return out.numpy()


def test_exported_sampling_step_agrees_with_gencores_mixture_in_onnxruntime():
    x, z = _inputs()
    worst = 0.0
    for i, model in enumerate(_models()):
        for t in (0, 1):
            for T in (0.05, 0.4, 1.0, 2.0):
                feed = {"x": x.numpy(), "z": z.numpy(), "t": np.array(t), "temperature": np.array(T, np.float32),
                        "index": np.array(i)}
                got = _session().run(None, feed)[0]
                worst = max(worst, float(np.abs(got - _reference(model, x, z, t, T)).max()))
    print(f"\nonnxruntime against gencore's mixture parameters (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5


def _ks(draws: np.ndarray, log_prob, lo=-12.0, hi=12.0) -> float:
    """Kolmogorov-Smirnov distance of ``draws`` to the density exp(log_prob), integrated on a grid."""
    y = torch.linspace(lo, hi, 40_001, dtype=torch.float64)
    dens = log_prob(y).exp()
    cdf = torch.cat([dens.new_zeros(1), torch.cumulative_trapezoid(dens, y)])
    emp = np.searchsorted(np.sort(draws), y.numpy(), side="right") / len(draws)
    return float(np.abs(emp - cdf.numpy()).max())


def test_draws_follow_the_models_factors_at_temperature_one():
    n = 20_000
    g = torch.Generator().manual_seed(3)
    for i, model in enumerate(_models()):
        m64 = model.double()
        a, b = model.order
        for t in (0, 1):
            x = torch.randn(n, 2, generator=g, dtype=F32)  # the coordinate drawn reads its noise here
            if t == 1:
                x[:, a] = 0.7  # the second factor's context: the conditional q(x_b | x_a = 0.7)
            z = torch.randn(n, 5, generator=g, dtype=F32)
            out = _session().run(None, {"x": x.numpy(), "z": z.numpy(), "t": np.array(t),
                                        "temperature": np.array(1.0, np.float32), "index": np.array(i)})[0]
            with torch.no_grad():
                if t == 0:
                    law = lambda y: m64.first.log_prob(y, y.new_zeros(len(y), 0))  # noqa: E731
                else:
                    law = lambda y: m64.conditional_log_prob(y, 0.7)  # noqa: E731
                ks = _ks(out[:, a if t == 0 else b], law)
            assert ks < 0.015, f"model {i}, step {t}: KS distance {ks:.3f} to the model's factor"


def test_a_cold_temperature_draws_the_heaviest_components_mean():
    model = _models()[1]
    x, z = _inputs(64)
    got = _session().run(None, {"x": x.numpy(), "z": z.numpy(), "t": np.array(0),
                                "temperature": np.array(1e-3, np.float32), "index": np.array(1)})[0]
    with torch.no_grad():
        logits, means, scales = (v[0] for v in model.first.params(x.new_zeros(1, 0)))
        k = logits.argmax()
        heaviest = (means[k] + 1e-3 ** 0.5 * scales[k] * x[:, 0]).numpy()  # every point: that component
    assert np.abs(got[:, 0] - heaviest).max() < 1e-5


def test_gumbel_from_normal_has_the_gumbel_law():
    z = torch.randn(50_000, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    g = np.sort(live_ar.gumbel_from_normal(z).numpy())
    cdf = np.exp(-np.exp(-g))
    assert np.abs(cdf - np.arange(1, len(g) + 1) / len(g)).max() < 0.01


def test_binned_models_are_refused():
    with pytest.raises(ValueError, match="mdn"):
        live_ar.ARSampleStep(A.AR2D((0, 1), kind="bins", bins=8, dtype=F32))


def _demos():
    g = torch.Generator().manual_seed(5)
    models = _models()
    ref = torch.randn(300, 2, generator=g, dtype=F32)

    class Run:  # the part of an ARRun that the figures read
        def __init__(self, model):
            self.model = model
            self.model64 = A.AR2D(model.order, components=model.first.components, hidden=32).double()
            self.model64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})

    runs = {spec: Run(m) for spec, m in zip(SPECS, models)}
    table = {spec: (0.1, 1.0) for spec in SPECS}
    return [figs.temperature_demo(models[1], ref, temperatures=(0.5, 1.0), n=300, generator=g),
            figs.ordering_slider(runs, table, A.Parabola(), resolution=20, ref=ref)]


def test_chapter_10s_calls_give_live_demos_over_their_frames():
    temperature, ordering = _demos()
    for demo in (temperature, ordering):
        assert isinstance(demo, live.LiveDemo) and isinstance(demo.fallback, widgets.SliderDemo)
        assert demo.error is None, demo.error
        assert "gs-frame" not in demo._repr_mimebundle_()[0]["text/html"]
    assert ordering.spec["sliders"][0]["labels"][0] == "x₂ → x₁, K = 1"  # the frames' first setting
    assert ordering.spec["noise_dim"] == 5 and temperature.spec["start_extent"] == list(live.fit_box((-3.0, 3.0, -3.0, 3.0), live.TWO_PANELS))


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with live_page(tmp_path_factory.mktemp("live_ar"), _demos()) as p:
        yield p


@pytest.mark.browser
def test_the_sampling_step_in_chromium_agrees_with_gencore(page):
    x, z = _inputs(33, seed=21)
    worst = 0.0
    models = _models()
    for i, model in enumerate(models[j] for j in (2, 3, 0, 1)):  # the demo lists x₂ → x₁ first, as the frames start
        for t, T in ((0, 1.0), (1, 0.3), (1, 1.7)):
            got = run_step(page, page.uids[1], dict(x=x.flatten().tolist(), z=z.flatten().tolist(), t=t,
                                                     temperature=T, index=i), 33)
            ref = _reference(model, x, z, t, T)
            worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(ref.shape) - ref).max()))
    print(f"\nonnxruntime-web in Chromium against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_sliders_and_drags_change_every_canvas_with_no_error_and_nothing_foreign(page):
    ordering = page.uids[1]
    assert changes(page, ordering, lambda: set_slider(page, ordering, "index", 3)), "the model slider did nothing"
    for uid in page.uids:
        assert changes(page, uid, lambda: set_slider(page, uid, "temperature", 0.4)), "moving T did nothing"
        page.locator(f"#{uid} canvas").scroll_into_view_if_needed()  # the mouse reaches only what is in view
        assert changes(page, uid, lambda: drag(page, uid, frm=(0.2, 0.5), to=(0.3, 0.3))), "the drag did nothing"
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_full_runs_are_timed(page, record_property):
    for name, uid in zip(("temperature", "ordering"), page.uids):
        ms = full_run_ms(page, uid, "temperature", (0.8, 1.0, 1.2))
        record_property(f"ar_{name}_ms", ms)
        print(f"\n{name}: {ms:.0f} ms in headless Chromium (median of 3)")
        assert 0 < ms < 2000
