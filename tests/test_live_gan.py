"""Chapter 4's live demos (gencore.live_gan): the exported generators and Dirac GAN steps agree with gencore.

Python half: each exported step in ``onnxruntime`` against gencore in float32 (the stacked
generator's model picked by ``select``; :func:`gencore.gan_games.dirac_step`, and a chain of them
against :func:`gencore.gan_games.dirac_trajectory`). Browser half (marker ``browser``): the same
steps in headless Chromium, sliders and a drag change the canvas, no console error, nothing from
another host, full runs timed.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import gencore
from gencore import gan_games, live, live_gan, live_vae
from gencore.experiments import gan as run
from gencore.experiments import gan_games as games
from gencore.figures import gan as figs
from gencore.nn import StackedMLP
from livepage import assert_both_worlds, changes, drag, full_run_ms, live_page, run_step, set_slider

F32 = torch.float32


def _gen(m=3) -> StackedMLP:
    return StackedMLP(m, (2, 16, 16, 2), "leaky_relu", generator=torch.Generator().manual_seed(5), dtype=F32)


def _points(n=257, seed=11, scale=1.5):
    return scale * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=F32)


def _session(step):
    ort = pytest.importorskip("onnxruntime")
    return ort.InferenceSession(live_vae.normalise_transposes(live.export_step(step)), providers=["CPUExecutionProvider"])


@functools.lru_cache(maxsize=1)
def _dirac():
    return _session(live_gan.DiracStep())


def _dirac_ref(x, h, scheme, game):
    return gan_games.dirac_step(x, torch.tensor(h, dtype=F32), gan_games.SCHEMES[scheme], gan_games.GAMES[game]).numpy()


def test_the_exported_generator_agrees_with_gencore_in_onnxruntime():
    net, x = _gen(), _points()
    session = _session(live_gan.GeneratorStep(net))
    outs = []
    for k in range(3):
        out = session.run(None, {"x": x.numpy(), "model": np.array(k, np.int64)})[0]
        with torch.no_grad():
            ref = net.select(k)(x)[0].numpy()
        assert out.dtype == np.float32 and np.abs(out - ref).max() <= 1e-5
        outs.append(out)
    assert np.abs(outs[0] - outs[1]).max() > 1e-3  # the index is an input, not frozen by the trace


def test_stacked_checkpoints_are_their_parts_and_an_index_picks_one():
    early, late = _gen(1), _gen(2)
    stack = live_gan.stack_models([early, late])
    x = _points(64)
    with torch.no_grad():
        assert torch.equal(stack(x)[0], early(x)[0]) and torch.equal(stack(x)[1:], late(x))
    session = _session(live_gan.GeneratorStep(stack))
    out = session.run(None, {"x": x.numpy(), "model": np.array(2, np.int64)})[0]
    with torch.no_grad():
        assert np.abs(out - late.select(1)(x)[0].numpy()).max() <= 1e-5
    with pytest.raises(ValueError, match="sizes"):
        live_gan.stack_models([early, StackedMLP(1, (2, 8, 2), generator=torch.Generator().manual_seed(0))])


def test_the_exported_dirac_step_agrees_with_gencore_in_onnxruntime():
    x = _points(scale=2.0)
    worst = 0.0
    for h, scheme, game in ((0.3, 0, 0), (0.05, 1, 0), (0.5, 0, 1), (0.17, 1, 1)):
        out = _dirac().run(None, {"x": x.numpy(), "h": np.array(h, np.float32), "scheme": np.array(scheme),
                                  "game": np.array(game)})[0]
        worst = max(worst, float(np.abs(out - _dirac_ref(x, h, scheme, game)).max()))
    print(f"\nonnxruntime against gan_games.dirac_step (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5


def test_a_chain_of_dirac_steps_is_gencores_trajectory_and_its_closed_form_growth():
    start = torch.tensor([1.0, 1.0], dtype=F32)
    x, h = start[None].numpy(), 0.3
    path = [x]
    for _ in range(40):
        x = _dirac().run(None, {"x": x, "h": np.array(h, np.float32), "scheme": np.array(0), "game": np.array(0)})[0]
        path.append(x)
    path = np.concatenate(path)
    ref = gan_games.dirac_trajectory(start.double(), h, 40, "simultaneous").numpy()
    assert np.abs(path - ref).max() <= 1e-5 * np.abs(ref).max()
    # independent of gencore: simultaneous steps on the bilinear game multiply the radius by sqrt(1 + h²)
    growth = np.linalg.norm(path, axis=1) / np.linalg.norm(path[0])
    assert np.allclose(growth, (1 + h * h) ** (np.arange(41) / 2), rtol=1e-5)


@functools.lru_cache(maxsize=1)
def _chapter():
    """Chapter 4's calls on short runs (the frames only need their shapes)."""
    gans = run.train_chapter_gans(steps=20, generator=gencore.generator(0), progress=False)
    frames = games.dirac_frames([0.1, 0.3], steps=10)
    return gans, frames


def _demos():
    gans, frames = _chapter()
    return figs.loss_slider(gans, live=True), figs.dirac_slider(frames, live=True)


def test_the_chapter_calls_give_live_views_over_their_frames():
    gans, frames = _chapter()
    loss, dirac = _demos()
    for demo in (loss, dirac):
        assert_both_worlds(demo)
    assert loss.spec["sliders"][0]["labels"] == ["non-saturating", "saturating", "WGAN-GP"]  # the ring models in the box
    assert [s["key"] for s in dirac.spec["sliders"]] == ["h", "steps", "scheme", "game"]
    assert set(dirac.spec["times"]["prefix"]) == {0}  # the Dirac step takes no time: one grid of zeros, stored once
    assert not isinstance(figs.loss_slider(gans), live.LiveDemo)  # frames unless asked


def test_the_training_step_slider_runs_the_generator_as_it_was_at_each_snapshot():
    """Chapter 4's snapshot slider on the site: position k is model i's generator copied at that
    snapshot, so its samples of the run's fixed noise are the snapshot's own (kept at training)."""
    ort = pytest.importorskip("onnxruntime")
    gans = run.train_chapter_gans(steps=60, generator=gencore.generator(1), progress=False)  # snapshots at 0, 50, 60
    assert len(gans.generators) == len(gans.snapshots) == 3
    demo = figs.snapshot_slider(gans, 0, live=True, live_every=1)
    assert_both_worlds(demo)
    assert demo.spec["sliders"][0]["labels"] == [f"step {s[0]}" for s in gans.snapshots]
    session = ort.InferenceSession(demo.model, providers=["CPUExecutionProvider"])
    z = _points(64, seed=3)
    for k, (step, samples, _) in enumerate(gans.snapshots):
        got = session.run(None, {"x": z.numpy(), "model": np.array(k, np.int64)})[0]
        with torch.no_grad():
            ref = gans.generators[k].select(0)(z.unsqueeze(0))[0].numpy()
        assert np.abs(got - ref).max() <= 1e-5, step
    first, last = (session.run(None, {"x": z.numpy(), "model": np.array(k, np.int64)})[0] for k in (0, len(gans.snapshots) - 1))
    assert np.abs(first - last).max() > 1e-3  # training moved the generator


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with live_page(tmp_path_factory.mktemp("live_gan"), list(_demos())) as p:
        yield p


@pytest.mark.browser
def test_the_steps_in_chromium_agree_with_gencore(page):
    gans, _ = _chapter()
    x = _points(33, seed=21)
    ring = gans.generator.select([0, 1, 2]).to(F32)
    worst = 0.0
    for k in range(3):
        got = run_step(page, page.uids[0], dict(x=x.flatten().tolist(), model=k), 33)
        with torch.no_grad():
            ref = ring.select(k)(x)[0].numpy()
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(ref.shape) - ref).max()))
    for h, scheme, game in ((0.3, 0, 0), (0.11, 1, 1)):
        got = run_step(page, page.uids[1], dict(x=x.flatten().tolist(), h=h, scheme=scheme, game=game), 33)
        ref = _dirac_ref(x, h, scheme, game)
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(ref.shape) - ref).max()))
    print(f"\nonnxruntime-web in Chromium against gencore (generators, Dirac steps): max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_sliders_and_a_drag_change_the_canvases_with_no_error_and_nothing_foreign(page):
    gen, dirac = page.uids
    set_slider(page, gen, "model", 0)  # from a known setting: another test may have left it anywhere
    assert changes(page, gen, lambda: set_slider(page, gen, "model", 2)), "the GAN slider did nothing"
    assert changes(page, gen, lambda: drag(page, gen)), "dragging z did nothing"
    for key, value in (("h", 0.1), ("steps", 60), ("scheme", 1), ("game", 1)):
        assert changes(page, dirac, lambda: set_slider(page, dirac, key, value)), f"the {key} slider did nothing"
    assert changes(page, dirac, lambda: drag(page, dirac)), "dragging the start did nothing"
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_full_runs_of_1000_points_are_timed(page, record_property):
    gen, dirac = page.uids
    set_slider(page, dirac, "steps", 40)
    ms = full_run_ms(page, gen, "model", (0, 1, 2)), full_run_ms(page, dirac, "h", (0.2, 0.25, 0.3))
    record_property("gan_generator_1000_points_ms", ms[0])
    record_property("dirac_1000_points_40_steps_ms", ms[1])
    print(f"\nheadless Chromium: 1,000 generator samples {ms[0]:.0f} ms; Dirac GAN, 1,000 starts x 40 steps {ms[1]:.0f} ms")
    assert all(0 <= t < 2000 for t in ms)
