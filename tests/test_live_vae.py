"""Chapter 3's live demos (gencore.live_vae): the exported decoder agrees with gencore's VAE.

Python half: the exported step, run in ``onnxruntime``, against :class:`gencore.vae.VAE`'s own
``decode_mean`` and ``scale`` of the model picked, in float32. Browser half (marker ``browser``):
the same step in headless Chromium, the sliders and a drag change the canvas, no console error,
nothing from another host, and one full run of 1,000 points is timed.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from gencore import data, live, live_vae
from gencore.experiments import vae as run
from gencore.figures import vae as figs
from gencore.vae import VAE
from livepage import assert_both_worlds, changes, drag, full_run_ms, live_page, run_step, set_slider

CASES = ((0, 0.0), (1, 1.0), (2, 0.37), (1, 1.5))


def _vae(m=3) -> VAE:
    """An untrained stack whose models differ, their decoder scales too (so each term is seen)."""
    vae = VAE(m, 2, 2, hidden=16, generator=torch.Generator().manual_seed(4), dtype=torch.float32)
    with torch.no_grad():
        vae.log_scale.copy_(torch.linspace(-1.5, 0.5, m).view(m, 1, 1))
    return vae.requires_grad_(False)


def _inputs(n=257, seed=11):
    g = torch.Generator().manual_seed(seed)
    f32 = dict(generator=g, dtype=torch.float32)
    return 1.5 * torch.randn(n, 2, **f32), torch.randn(n, 2, **f32)


@functools.lru_cache(maxsize=2)
def _session(m: int):
    ort = pytest.importorskip("onnxruntime")
    model = live_vae.normalise_transposes(live.export_step(live_vae.DecoderStep(_vae(m))))
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"])


def _reference(vae, x, z, k, noise):
    """gencore itself: model k alone (select), its mean plus noise times its own scale."""
    one = vae.select(k)
    return (one.decode_mean(x)[0] + noise * one.scale[0] * z).numpy()


def test_the_exported_decoder_agrees_with_gencore_in_onnxruntime():
    session, vae = _session(3), _vae(3)
    x, z = _inputs()
    worst = 0.0
    for k, noise in CASES:
        out = session.run(None, {"x": x.numpy(), "z": z.numpy(), "noise": np.array(noise, np.float32),
                                 "model": np.array(k, np.int64)})[0]
        ref = _reference(vae, x, z, k, noise)
        assert out.dtype == np.float32 and out.shape == ref.shape
        worst = max(worst, float(np.abs(out - ref).max()))
    print(f"\nonnxruntime against gencore's decoder (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5
    # the inputs are inputs: another model or another noise level gives other points
    base = session.run(None, {"x": x.numpy(), "z": z.numpy(), "noise": np.array(0.5, np.float32), "model": np.array(0)})[0]
    for change in ({"model": np.array(2)}, {"noise": np.array(0.0, np.float32)}):
        feed = {"x": x.numpy(), "z": z.numpy(), "noise": np.array(0.5, np.float32), "model": np.array(0), **change}
        assert np.abs(session.run(None, feed)[0] - base).max() > 1e-3


def test_a_single_model_has_no_model_input_and_noise_one_samples_its_decoder():
    session, vae = _session(1), _vae(1)
    assert [i.name for i in session.get_inputs()] == ["x", "z", "noise"]
    x, _ = _inputs(4000, seed=2)
    z = torch.randn(4000, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    out = session.run(None, {"x": x.numpy(), "z": z.numpy(), "noise": np.array(1.0, np.float32)})[0]
    # at noise 1 the residual from the decoder's mean is N(0, s^2 I): its spread is the model's scale
    resid = out - vae.decode_mean(x)[0].numpy()
    assert abs(resid.std() / vae.scale.item() - 1) < 0.05


def test_transposes_are_written_from_the_front():
    onnx = pytest.importorskip("onnx")
    raw = live.export_step(live_vae.DecoderStep(_vae(2)))
    perms = [list(a.ints) for node in onnx.load_from_string(live_vae.normalise_transposes(raw)).graph.node
             if node.op_type == "Transpose" for a in node.attribute if a.name == "perm"]
    assert perms and all(sorted(p) == list(range(len(p))) for p in perms)


@functools.lru_cache(maxsize=1)
def _toy():
    """Chapter 3's calls on a toy run of a few steps (the frames only need its shapes)."""
    gen = torch.Generator().manual_seed(1)
    x = data.make("moons", dtype=torch.float32).sample((200,), generator=gen)
    toy = run.train_toy(x, [0.0, 1.0, 2.0], steps=3, generator=gen, progress=False)
    stats = run.beta_stats(toy, x, generator=gen, n_elbo=2, n_is=4, n_show=50)
    return toy, x, stats


def _demos():
    toy, x, stats = _toy()
    return figs.traversal_slider(toy, x, 1, live=True), figs.beta_slider(toy, x, stats, live=True)


def test_the_chapter_calls_give_live_views_over_their_frames():
    toy, x, stats = _toy()
    trav, beta = _demos()
    for demo in (trav, beta):
        assert_both_worlds(demo)
    assert [s["key"] for s in trav.spec["sliders"]] == ["noise"]
    model = beta.spec["sliders"][0]
    assert model["key"] == "model" and model["labels"] == ["1", "2"] and model["value"] == 0  # β > 0 only
    assert not isinstance(figs.traversal_slider(toy, x, 1), live.LiveDemo)  # frames unless asked


def test_a_failed_rewrite_leaves_the_frames():
    demo = live_vae.exported(live.LiveDemo(_demos()[0].fallback, {}, lambda: b"not onnx", "alt"))
    assert demo.model is None and demo.error
    assert "gs-frame" in demo.to_html()


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    toy, x, stats = _toy()
    stack = toy.model.select([1, 2])
    with live_page(tmp_path_factory.mktemp("live_vae"), list(_demos())) as p:
        p.stack = stack
        yield p


@pytest.mark.browser
def test_the_decoder_in_chromium_agrees_with_gencore(page):
    x, z = _inputs(33, seed=21)
    worst = 0.0
    for k, noise in ((0, 0.0), (1, 1.0), (1, 0.4)):
        got = run_step(page, page.uids[1], dict(x=x.flatten().tolist(), z=z.flatten().tolist(), noise=noise, model=k), 33)
        ref = _reference(page.stack.float(), x, z, k, noise)
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(ref.shape) - ref).max()))
    print(f"\nonnxruntime-web in Chromium against gencore's decoder: max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_sliders_and_a_drag_change_the_canvases_with_no_error_and_nothing_foreign(page):
    trav, beta = page.uids
    assert changes(page, trav, lambda: set_slider(page, trav, "noise", 1.0)), "the noise slider did nothing"
    assert changes(page, trav, lambda: drag(page, trav)), "dragging z did nothing"
    assert changes(page, beta, lambda: set_slider(page, beta, "model", 1)), "the β slider did nothing"
    assert changes(page, beta, lambda: drag(page, beta)), "dragging z did nothing"
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_one_full_run_of_1000_decoded_points_is_timed(page, record_property):
    ms = [full_run_ms(page, uid, "noise", (0.2, 0.4, 0.6)) for uid in page.uids]
    record_property("vae_decoder_1000_points_ms", ms)
    print(f"\n1,000 points decoded in headless Chromium: {ms[0]:.0f} ms (one model), {ms[1]:.0f} ms (β stack)")
    assert all(0 <= t < 2000 for t in ms)
