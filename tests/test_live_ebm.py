"""Chapter 8's live demos (gencore.live_ebm): the exported step is gencore's Langevin at temperature kT.

The Python half runs the exported step in ``onnxruntime`` against
:func:`gencore.mcmc.simulated_annealing` at one level (``langevin`` on ``-∇E/kT`` with the step
``ε kT``), in float32, fed the same noise: on the chapter's two-basin energy (closed-form
gradient) and on two :class:`gencore.ebm.EnergyNet` energies picked by the ``model`` input (the
reference differentiates them by autograd, the step by ``EnergyNet.derivatives``). The browser
half (marker ``browser``) runs both of chapter 8's demos in headless Chromium.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gencore import ebm as E
from gencore import live, live_ebm as LE, mcmc, widgets
from gencore.ebm_train import NCEModel
from gencore.experiments import ebm as run
from gencore.figures import ebm as figs
from livepage import assert_both_worlds, changes, full_run_ms, live_page, run_step, set_slider
from livepage import drag as _drag


def drag(page, uid):
    """livepage.drag on a canvas scrolled into view first (the page holds two demos, one above the other)."""
    page.locator(f"#{uid} canvas").scroll_into_view_if_needed()
    _drag(page, uid)

INNER = 10


@functools.lru_cache(maxsize=1)
def _nets():
    return tuple(E.EnergyNet(h, generator=torch.Generator().manual_seed(h), dtype=torch.float32).requires_grad_(False)
                 for h in (32, 64))


def _points(n=257, seed=11):
    return 2 * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def _noise(seed, n):
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.randn(n, 2, generator=g, dtype=torch.float32) for _ in range(INNER)], 1)


def _reference(energy, x, kT, eps, seed):
    """gencore itself: simulated annealing at the one level kT (INNER Langevin steps of ε kT on −∇E/kT)."""
    return mcmc.simulated_annealing(energy, x, torch.tensor([kT], dtype=torch.float32), eps, INNER,
                                    torch.Generator().manual_seed(seed)).detach().numpy()


@functools.lru_cache(maxsize=2)
def _session(which: str):
    ort = pytest.importorskip("onnxruntime")
    energies = [E.two_basin_energy] if which == "basins" else list(_nets())
    return ort.InferenceSession(live.export_step(LE.EnergyLangevinStep(energies, INNER)), providers=["CPUExecutionProvider"])


CASES = ((0.2, 0.05), (1.0, 0.02), (4.0, 0.2))


def test_the_exported_step_is_gencores_langevin_on_the_two_basin_energy():
    x, worst = _points(), 0.0
    for kT, eps in CASES:
        feed = {"x": x.numpy(), "z": _noise(5, len(x)).numpy(), "kT": np.array(kT, np.float32),
                "eps": np.array(eps, np.float32)}
        got = _session("basins").run(None, feed)[0]
        worst = max(worst, float(np.abs(got - _reference(E.two_basin_energy, x, kT, eps, 5)).max()))
    print(f"\nonnxruntime against gencore.mcmc.simulated_annealing (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5


def test_the_model_input_picks_each_trained_energy():
    x, worst = _points(), 0.0
    for m, net in enumerate(_nets()):
        for kT, eps in CASES:
            feed = {"x": x.numpy(), "z": _noise(6, len(x)).numpy(), "kT": np.array(kT, np.float32),
                    "eps": np.array(eps, np.float32), "model": np.array(m)}
            got = _session("nets").run(None, feed)[0]
            worst = max(worst, float(np.abs(got - _reference(net, x, kT, eps, 6)).max()))
    assert worst <= 1e-5, worst


def test_an_energy_without_an_exportable_gradient_is_refused():
    with pytest.raises(ValueError, match="gradient"):
        LE.EnergyLangevinStep([lambda x: (x**2).sum(-1)])


def _demos():
    frames = run.temperature_frames((0.5, 1.0), n_samples=50, generator=torch.Generator().manual_seed(0))
    trained = SimpleNamespace(model=NCEModel(_nets()[1]))  # an energy held as .energy, as NCE's is
    return [figs.temperature_slider(frames), figs.energy_slider(trained, "NCE", _points(1000, seed=2) / 2)]


@functools.lru_cache(maxsize=1)
def _built():
    return _demos()


def test_both_demos_are_one_object_for_notebook_site_and_print():
    for demo in _built():
        assert_both_worlds(demo)
    assert isinstance(figs.energy_slider(SimpleNamespace(model=_nets()[0]), "PCD", _points(), live=False), widgets.SliderDemo)


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with live_page(tmp_path_factory.mktemp("live_ebm"), _built()) as p:
        yield p


@pytest.mark.browser
def test_the_steps_in_chromium_agree_with_gencore(page):
    x, z = _points(33, seed=21), _noise(4, 33)
    worst = 0.0
    for kT, eps in CASES:
        feed = dict(x=x.flatten().tolist(), z=z.flatten().tolist(), kT=kT, eps=eps)
        got = np.asarray(run_step(page, page.uids[0], feed, 33), np.float32).reshape(33, 2)
        worst = max(worst, float(np.abs(got - _reference(E.two_basin_energy, x, kT, eps, 4)).max()))
        got = np.asarray(run_step(page, page.uids[1], feed, 33), np.float32).reshape(33, 2)
        worst = max(worst, float(np.abs(got - _reference(_nets()[1], x, kT, eps, 4)).max()))
    print(f"\nonnxruntime-web in Chromium against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_sliders_and_a_drag_change_both_canvases_with_no_error_and_nothing_foreign(page):
    basins, trained = page.uids
    for uid in page.uids:
        assert changes(page, uid, lambda: set_slider(page, uid, "kT", 0.3)), "moving kT did not change the canvas"
        assert changes(page, uid, lambda: set_slider(page, uid, "eps", 0.1)), "moving ε did not change the canvas"
        assert changes(page, uid, lambda: set_slider(page, uid, "steps", 7)), "moving K did not change the canvas"
        assert changes(page, uid, lambda: drag(page, uid)), "dragging the start did not change the canvas"
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_full_runs_of_1000_points_are_timed(page, record_property):
    basins, trained = page.uids
    set_slider(page, basins, "steps", 20)  # K = 200, the default
    ms_basins = full_run_ms(page, basins, "kT", (0.9, 1.0, 1.1))
    set_slider(page, trained, "steps", 4)  # K = 40, the default
    ms_trained = full_run_ms(page, trained, "kT", (0.9, 1.0, 1.1))
    record_property("two_basin_1000_points_200_steps_ms", ms_basins)
    record_property("trained_energy_1000_points_40_steps_ms", ms_trained)
    print(f"\nheadless Chromium: two-basin energy, 1,000 points x 200 steps {ms_basins:.0f} ms; "
          f"a trained energy, 1,000 points x 40 steps {ms_trained:.0f} ms (medians of 3)")
    assert 0 < ms_basins < 2000 and 0 < ms_trained < 2000
