"""Chapter 6's forward and reverse chains live (gencore.live_diffusion): the exported steps agree
with gencore, in Python (onnxruntime) and in headless Chromium (onnxruntime-web).

The forward step is checked against chained :func:`gencore.diffusion.q_step` calls and against the
closed-form marginal :math:`q(x_t \\mid x_0)`; the reverse step against
:func:`gencore.diffusion.ddim_step` and, one step at a time, against DDPM's own step.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from gencore import diffusion as D
from gencore import live, live_diffusion as L
from gencore.figures import diffusion as figs
from gencore.nn import TimeMLP
from livepage import assert_both_worlds, api, changes, drag, full_run_ms, live_page, run_step, set_slider

SCHEDULE = D.NoiseSchedule.linear(T=1000, beta_1=1e-4, beta_T=0.02)
STRIDE = 10


def _net():
    return TimeMLP(time_scale=SCHEDULE.T, generator=torch.Generator().manual_seed(3), dtype=torch.float32).eval()


def _inputs(n=257, width=2, seed=11):
    g = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(n, 2, generator=g, dtype=torch.float32), torch.randn(n, width, generator=g, dtype=torch.float32)


@functools.lru_cache(maxsize=None)
def _session(which: str):
    ort = pytest.importorskip("onnxruntime")
    step = L.ForwardStep(SCHEDULE, STRIDE) if which == "forward" else L.ReverseStep(_net(), SCHEDULE)
    return ort.InferenceSession(live.export_step(step), providers=["CPUExecutionProvider"])


def _forward_ref(x, z, t):
    """gencore's forward step, ``STRIDE`` times, each with its pair of noise columns."""
    for i in range(STRIDE):
        x = D.q_step(SCHEDULE, x, t + i + 1, z[:, 2 * i:2 * i + 2])
    return x.numpy()


def _reverse_ref(x, z, t, tp):
    with torch.no_grad():
        return D.ddim_step(SCHEDULE, _net()(x, t), t, tp, x, eta=1.0, noise=z).numpy()


FORWARD_T = (0, 10, 370, 990)
REVERSE_CASES = ((1000, 960), (500, 460), (41, 40), (40, 0), (2, 1))


def test_the_exported_forward_step_is_gencores_q_step_chain():
    session = _session("forward")
    x, z = _inputs(width=2 * STRIDE)
    worst = 0.0
    for t in FORWARD_T:
        out = session.run(None, {"x": x.numpy(), "z": z.numpy(), "t": np.array(t, np.int64)})[0]
        worst = max(worst, float(np.abs(out - _forward_ref(x, z, t)).max()))
    print(f"\nforward step, onnxruntime against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5
    a = session.run(None, {"x": x.numpy(), "z": z.numpy(), "t": np.array(10, np.int64)})[0]
    b = session.run(None, {"x": x.numpy(), "z": z.numpy(), "t": np.array(500, np.int64)})[0]
    assert np.abs(a - b).max() > 1e-3  # t is an input, not a constant of the trace


def test_the_exported_forward_chain_has_the_closed_form_marginal():
    """30 calls take one point to t = 300: mean sqrt(ab_t) x0 and variance 1 - ab_t (eq-ddpm-marginal)."""
    session = _session("forward")
    n, x0 = 20_000, np.array([1.5, -0.5], np.float32)
    g = np.random.default_rng(0)
    x = np.tile(x0, (n, 1))
    for t in range(0, 300, STRIDE):
        x = session.run(None, {"x": x, "z": g.standard_normal((n, 2 * STRIDE)).astype(np.float32),
                               "t": np.array(t, np.int64)})[0]
    ab = SCHEDULE.alpha_bars[300].item()
    se = np.sqrt((1 - ab) / n)
    assert np.abs(x.mean(0) - np.sqrt(ab) * x0).max() < 5 * se
    assert np.abs(x.var(0) - (1 - ab)).max() < 5 * (1 - ab) * np.sqrt(2 / n)


def test_the_exported_reverse_step_is_gencores_eta_1_step_and_ddpms_for_one_step():
    session = _session("reverse")
    x, z = _inputs()
    feed = lambda t, tp: {"x": x.numpy(), "z": z.numpy(), "t": np.array(t, np.int64), "t_prev": np.array(tp, np.int64)}
    worst = max(float(np.abs(session.run(None, feed(t, tp))[0] - _reverse_ref(x, z, t, tp)).max()) for t, tp in REVERSE_CASES)
    print(f"\nreverse step, onnxruntime against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-5
    with torch.no_grad():  # one step down is Algorithm 2's step (sigma^2 = beta tilde)
        ddpm = D.ddpm_step(SCHEDULE, _net()(x, 500), 500, x, noise=z).numpy()
    assert np.abs(session.run(None, feed(500, 499))[0] - ddpm).max() <= 1e-5


def _demos():
    """Chapter 6's two calls on small stand-ins (the frames' sliders only need their shape)."""
    g = torch.Generator().manual_seed(1)
    moons = __import__("gencore.data", fromlist=["make"]).make("moons")
    x0 = moons.sample((300,), generator=g).float()
    fwd = figs.forward_slider(SCHEDULE, moons, x0, ts=(0, 10, 100, 1000), generator=g, live=True)
    path = torch.randn(SCHEDULE.T + 1, 20, 2, generator=g)
    rev = figs.reverse_slider(SCHEDULE, moons, path, ts=(1000, 0), model=_net(), ref=x0)
    return fwd, rev


def test_the_demos_are_one_object_for_notebook_site_and_print():
    for demo in _demos():
        assert_both_worlds(demo)
    fwd, rev = _demos()
    assert fwd.spec["times"]["prefix"][:101] == list(range(101)) and fwd.spec["noise_dim"] == 2  # one q_step per call
    assert fwd.spec["times"]["prefix"] == list(range(1001))  # every t, stored once (the slider moves in steps of 10)
    assert rev.spec["times"]["prefix"] == D.ddim_timesteps(SCHEDULE.T, 20)  # stopped at any t of the 20: prefixes


def test_half_a_live_reverse_demo_is_refused():
    with pytest.raises(ValueError, match="both model and ref"):
        figs.reverse_slider(SCHEDULE, None, torch.zeros(SCHEDULE.T + 1, 3, 2), model=_net())


# ---- headless Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with live_page(tmp_path_factory.mktemp("live_diffusion"), list(_demos())) as p:
        yield p


@pytest.mark.browser
def test_the_steps_in_chromium_agree_with_gencore(page):
    fwd, rev = page.uids
    x, z = _inputs(33, seed=21)
    worst = 0.0
    for t in (0, 1, 499, 999):  # the page's step is one q_step (stride 1)
        got = run_step(page, fwd, dict(x=x.flatten().tolist(), z=z.flatten().tolist(), t=t), 33)
        ref = D.q_step(SCHEDULE, x, t + 1, z).numpy()
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(33, 2) - ref).max()))
    for t, tp in REVERSE_CASES:
        got = run_step(page, rev, dict(x=x.flatten().tolist(), z=z.flatten().tolist(), t=t, t_prev=tp), 33)
        worst = max(worst, float(np.abs(np.asarray(got, np.float32).reshape(33, 2) - _reverse_ref(x, z, t, tp)).max()))
    print(f"\nonnxruntime-web in Chromium against gencore (float32): max abs error {worst:.1e}")
    assert worst <= 1e-4


@pytest.mark.browser
def test_the_slider_and_a_drag_change_each_canvas_with_no_error_and_nothing_foreign(page):
    # the stand-in network is untrained: its reverse chain leaves the plotted box after a few steps,
    # so the reverse demo is moved to one step, where its points are still in view
    for uid, value in zip(page.uids, (370, 1)):
        assert changes(page, uid, lambda: set_slider(page, uid, "steps", value)), "moving t did not change the canvas"
        assert changes(page, uid, lambda: drag(page, uid)), "dragging the ringed point did not change the canvas"
        assert page.evaluate(f"() => {api(uid)}.state.steps") == value
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to another host: {page.foreign}"


@pytest.mark.browser
def test_full_runs_of_1000_points_are_timed(page, record_property):
    fwd, rev = page.uids
    ms_fwd = full_run_ms(page, fwd, "steps", (980, 990, 1000))  # t = 1000: 1000 calls of one forward step
    ms_rev = full_run_ms(page, rev, "steps", (18, 19, 20))  # down to t = 0: 20 network steps
    record_property("forward_1000_points_t1000_ms", ms_fwd)
    record_property("reverse_1000_points_20_steps_ms", ms_rev)
    print(f"\n1,000 points in headless Chromium: forward chain to t = 1000 {ms_fwd:.0f} ms; "
          f"reverse chain, 20 steps, {ms_rev:.0f} ms (medians of 3)")
    assert 0 < ms_fwd < 2000 and 0 < ms_rev < 4000  # a sanity bound on this shared machine
