"""Chapter 7's live demos (gencore.live_score): the exported Langevin steps are gencore's samplers.

The Python half runs each exported step in ``onnxruntime`` against :func:`gencore.mcmc.langevin`
and :func:`gencore.mcmc.annealed_langevin` in float32, fed the same noise (the samplers draw it
from a seeded generator; the test draws the same numbers from a twin). The browser half (marker
``browser``) runs both of chapter 7's demos in headless Chromium: the steps agree with gencore,
the sliders and a drag change the canvas, nothing foreign, no console error, full runs timed.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from gencore import live, live_score as LS, mcmc, widgets
from gencore import score as S
from gencore.experiments import score as run
from gencore.figures import score as figs
from livepage import assert_both_worlds, changes, full_run_ms, live_page, run_step, set_slider
from livepage import drag as _drag


def drag(page, uid):
    """livepage.drag on a canvas scrolled into view first (the page holds two demos, one above the other)."""
    page.locator(f"#{uid} canvas").scroll_into_view_if_needed()
    _drag(page, uid)

INNER = 10
SIGMAS = mcmc.geometric_sigmas(6.0, 0.1, 8, dtype=torch.float32)


def _net():
    return S.ScoreNet(2, 64, conditional=True, generator=torch.Generator().manual_seed(3), dtype=torch.float32).eval()


def _points(n=257, seed=11):
    return 3 * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def _twin_noise(seed, n, inner=INNER):
    """The noise ``inner`` steps of gencore.mcmc.langevin draw from a generator seeded with ``seed``, as one (n, 2 inner) block."""
    g = torch.Generator().manual_seed(seed)
    return g, torch.cat([torch.randn(n, 2, generator=g, dtype=torch.float32) for _ in range(inner)], 1)


@functools.lru_cache(maxsize=2)
def _session(which: str):
    ort = pytest.importorskip("onnxruntime")
    step = LS.LangevinStep(run.near_mixture(), INNER) if which == "plain" else LS.AnnealedStep(_net(), SIGMAS, INNER)
    return ort.InferenceSession(live.export_step(step), providers=["CPUExecutionProvider"])


def test_the_exported_langevin_step_is_gencores_langevin():
    x, worst = _points(), 0.0
    for eps in (0.01, 0.2, 1.0):
        _, z = _twin_noise(5, len(x))
        got = _session("plain").run(None, {"x": x.numpy(), "z": z.numpy(), "eps": np.array(eps, np.float32)})[0]
        ref = mcmc.langevin(S.mixture_score(run.near_mixture()), x, eps, INNER, torch.Generator().manual_seed(5))
        worst = max(worst, float(np.abs(got - ref.numpy()).max()))
    print(f"\nonnxruntime against gencore.mcmc.langevin (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5


def test_a_chain_of_exported_annealed_steps_is_gencores_annealed_langevin():
    x, sess = _points(64), _session("annealed")
    for first in (0, 5):
        g = torch.Generator().manual_seed(9)
        got = x.numpy()
        for level in range(len(SIGMAS)):
            for _ in range(2):  # two calls of INNER steps per level
                z = torch.cat([torch.randn(64, 2, generator=g, dtype=torch.float32) for _ in range(INNER)], 1)
                got = sess.run(None, {"x": got, "z": z.numpy(), "t": np.array(level), "first": np.array(first),
                                      "eps": np.array(0.005, np.float32)})[0]
        ref = _annealed_reference(x, first)
        err = np.abs(got - ref).max() / max(1.0, np.abs(ref).max())
        assert err <= 1e-5, (first, err)


def _annealed_reference(x, first):
    """gencore's samplers: the levels above ``first`` run at σ_first (plain Langevin with that level's
    step), then gencore.mcmc.annealed_langevin from σ_first down; 2 x INNER steps per level."""
    g, net = torch.Generator().manual_seed(9), _net()
    sigma = SIGMAS[first]
    y = mcmc.langevin(lambda v: net(v, sigma), x, 0.005 * float(sigma / SIGMAS[-1]) ** 2, first * 2 * INNER, g)
    return mcmc.annealed_langevin(net, y, SIGMAS[first:], 0.005, 2 * INNER, g).detach().numpy()


def test_the_inputs_are_inputs():
    x = _points(50)
    _, z = _twin_noise(1, 50)
    feed = {"x": x.numpy(), "z": z.numpy(), "t": np.array(3), "first": np.array(0), "eps": np.array(0.005, np.float32)}
    base = _session("annealed").run(None, feed)[0]
    for change in ({"t": np.array(6)}, {"first": np.array(7)}, {"eps": np.array(0.01, np.float32)},
                   {"z": np.zeros_like(z.numpy())}):
        assert np.abs(_session("annealed").run(None, {**feed, **change})[0] - base).max() > 1e-4, change


def _runs():
    return run.langevin_runs(run.near_mixture(), step_sizes=(0.05, 0.2), n_steps=(0, 10, 100), n_chains=500,
                             n_paths=2, repeats=2, generator=torch.Generator().manual_seed(0))


def _demos():
    far = run.far_mixture()
    x0 = run.uniform_start(1000, generator=torch.Generator().manual_seed(1)).float()
    ends = {"plain": x0 + 0.1, "annealed": x0 - 0.1}
    return [figs.langevin_slider(run.near_mixture(), _runs()),
            figs.annealed_slider(far, x0, ends, {"plain": 0.5, "annealed": 0.8}, model=_net(), sigmas=SIGMAS)]


def test_both_demos_are_one_object_for_notebook_site_and_print():
    for demo in _demos():
        assert_both_worlds(demo)


def test_the_frames_alone_and_half_a_live_demo():
    assert isinstance(figs.langevin_slider(run.near_mixture(), _runs(), live=False), widgets.SliderDemo)
    with pytest.raises(ValueError, match="both model and sigmas"):
        figs.annealed_slider(run.far_mixture(), torch.zeros(3, 2), {"a": torch.zeros(3, 2)}, {"a": 0.5}, model=_net())


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with live_page(tmp_path_factory.mktemp("live_score"), _demos()) as p:
        yield p


@pytest.mark.browser
def test_the_steps_in_chromium_agree_with_gencore(page):
    x = _points(33, seed=21)
    _, z = _twin_noise(4, 33)
    worst = 0.0
    for eps in (0.05, 0.7):
        got = run_step(page, page.uids[0], dict(x=x.flatten().tolist(), z=z.flatten().tolist(), eps=eps), 33)
        ref = mcmc.langevin(S.mixture_score(run.near_mixture()), x, eps, INNER, torch.Generator().manual_seed(4))
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(33, 2) - ref.numpy()).max()))
    for level, first in ((0, 0), (4, 0), (2, 7)):
        got = run_step(page, page.uids[1], dict(x=x.flatten().tolist(), z=z.flatten().tolist(), t=level, first=first,
                                                 eps=0.005), 33)
        sigma = SIGMAS[max(level, first)]
        ref = mcmc.annealed_langevin(_net(), x, sigma.reshape(1), 0.005 * float(sigma / SIGMAS[-1]) ** 2, INNER,
                                     torch.Generator().manual_seed(4))
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(33, 2) - ref.numpy()).max()))
    print(f"\nonnxruntime-web in Chromium against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_sliders_and_a_drag_change_both_canvases_with_no_error_and_nothing_foreign(page):
    plain, annealed = page.uids
    assert changes(page, plain, lambda: set_slider(page, plain, "eps", 0.5)), "moving ε did not change the canvas"
    assert changes(page, plain, lambda: set_slider(page, plain, "steps", 3)), "moving K did not change the canvas"
    assert changes(page, plain, lambda: drag(page, plain)), "dragging the start did not change the canvas"
    assert changes(page, annealed, lambda: set_slider(page, annealed, "first", 7)), "moving the first level did nothing"
    assert changes(page, annealed, lambda: set_slider(page, annealed, "eps", 0.01)), "moving ε did nothing"
    assert changes(page, annealed, lambda: drag(page, annealed)), "dragging the start did not change the canvas"
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_full_runs_of_1000_points_are_timed(page, record_property):
    plain, annealed = page.uids
    set_slider(page, plain, "steps", 10)  # K = 100, the default
    ms_plain = full_run_ms(page, plain, "eps", (0.04, 0.05, 0.06))
    set_slider(page, annealed, "first", 0)
    ms_annealed = full_run_ms(page, annealed, "eps", (0.004, 0.005, 0.006))  # 8 levels x 10 steps, the default
    record_property("langevin_1000_points_100_steps_ms", ms_plain)
    record_property("annealed_1000_points_80_steps_ms", ms_annealed)
    print(f"\nheadless Chromium: Langevin, 1,000 points x 100 steps {ms_plain:.0f} ms; "
          f"annealed, 1,000 points x 80 steps {ms_annealed:.0f} ms (medians of 3)")
    assert 0 < ms_plain < 2000 and 0 < ms_annealed < 2000
