"""Chapter 1's live demo (gencore.live_divergences): the Gaussian pair's densities, KL integrands
and both divergences, run in onnxruntime and in Chromium, against scipy and torch.distributions."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from gencore import live
from gencore.figures import divergences as figs
from livepage import changes, full_run_ms, live_page, run_step, set_slider

PAIRS = ((1.5, 0.75), (-2.2, 0.4), (0.0, 1.0), (2.9, 2.4))
GRID = np.linspace(-6, 6, 97, dtype=np.float32)


def _reference(mu, sigma):
    """Independent of gencore: scipy's densities, and the KLs by torch.distributions."""
    p, q = stats.norm.pdf(GRID, 0, 1), stats.norm.pdf(GRID, mu, sigma)
    P, Q = torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(mu, sigma)
    fwd, rev = torch.distributions.kl_divergence(P, Q).item(), torch.distributions.kl_divergence(Q, P).item()
    return np.column_stack([p, q, p * np.log(p / q), q * np.log(q / p), np.full_like(p, fwd), np.full_like(p, rev)])


@pytest.fixture(scope="module")
def demo():
    return figs.gaussian_pair_slider()


def _x():
    return np.column_stack([GRID, np.zeros_like(GRID)]).astype(np.float32)


def test_the_chapter_call_is_live_and_the_export_agrees_in_onnxruntime(demo):
    ort = pytest.importorskip("onnxruntime")
    assert isinstance(demo, live.LiveDemo) and demo.error is None, getattr(demo, "error", None)
    session = ort.InferenceSession(demo.model, providers=["CPUExecutionProvider"])
    worst = 0.0
    for mu, sigma in PAIRS:
        got = session.run(None, {"x": _x(), "mu": np.array(mu, np.float32), "sigma": np.array(sigma, np.float32)})[0]
        worst = max(worst, float(np.abs(got - _reference(mu, sigma)).max()))
    assert worst <= 1e-5 * 10, worst  # float32 against float64 references: KL up to ~15 nats here
    rel = max(float(np.abs(session.run(None, {"x": _x(), "mu": np.array(mu, np.float32), "sigma": np.array(sigma, np.float32)})[0][0, 4:]
                           / _reference(mu, sigma)[0, 4:] - 1).max()) for mu, sigma in PAIRS[:2])
    assert rel <= 1e-5, rel


@pytest.mark.browser
def test_in_chromium_the_curves_agree_and_both_sliders_redraw(demo, tmp_path, record_property):
    with live_page(tmp_path, [demo]) as page:
        uid = page.uids[0]
        worst = 0.0
        for mu, sigma in PAIRS:
            got = np.asarray(run_step(page, uid, {"x": _x().flatten().tolist(), "mu": mu, "sigma": sigma}, len(GRID)))
            worst = max(worst, float(np.abs(got.reshape(len(GRID), 6) - _reference(mu, sigma)).max()))
        assert worst <= 1e-4, worst
        assert changes(page, uid, lambda: set_slider(page, uid, "mu", -1.0)), "μ did not change the canvas"
        assert changes(page, uid, lambda: set_slider(page, uid, "sigma", 2.0)), "σ did not change the canvas"
        record_property("gaussian_pair_ms", full_run_ms(page, uid, "mu", (0.1, 0.2, 0.3)))
        assert not page.errors and not page.foreign, (page.errors, page.foreign)
