"""Chapter 4's Dirac GAN, W1 bounds on the radius sweep, density ratio and saturation stall
(gencore.gan_games, gencore.experiments.gan_games), each against an independent reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import gencore
from gencore import gan_games as gg
from gencore.experiments import gan_games as games
from gencore.figures import gan as fig

HS = (0.05, 0.3, 1.0, 1.9)


def _matrix(h: float, scheme: str, c: float = 1.0) -> np.ndarray:
    """The step's Jacobian at the equilibrium, written out by hand (eq-dirac-simultaneous/-alternating)."""
    hc = h * c
    return np.array([[1, -hc], [hc, 1]]) if scheme == "simultaneous" else np.array([[1, -hc], [hc, 1 - hc ** 2]])


@pytest.mark.parametrize("h", HS)
@pytest.mark.parametrize("scheme", gg.SCHEMES)
@pytest.mark.parametrize("game, c", [("bilinear", 1.0), ("gan", 0.5)])
def test_dirac_jacobian_and_eigenvalues_match_the_hand_written_matrix(h, scheme, game, c):
    J = gg.dirac_jacobian(h, scheme, game)
    np.testing.assert_allclose(J.numpy(), _matrix(h, scheme, c), atol=1e-12)
    closed = np.sort_complex(gg.dirac_eigenvalues(h, scheme, game).numpy())
    np.testing.assert_allclose(closed, np.sort_complex(np.linalg.eigvals(_matrix(h, scheme, c))), atol=1e-12)
    expected = math.sqrt(1 + (h * c) ** 2) if scheme == "simultaneous" else 1.0
    np.testing.assert_allclose(np.abs(closed), expected, atol=1e-12)


def test_alternating_steps_escape_beyond_h_2():
    lam = np.abs(gg.dirac_eigenvalues(2.5, "alternating").numpy())
    assert lam.max() > 1.5 and lam.prod() == pytest.approx(1.0)  # real, reciprocal pair


@pytest.mark.parametrize("h", HS[:3])
def test_simultaneous_radius_grows_by_sqrt_1_plus_h2_and_alternating_stays_bounded(h):
    start = torch.tensor([0.7, -0.4], dtype=torch.float64)
    sim = gg.dirac_trajectory(start, h, 50, "simultaneous")
    r = sim.norm(dim=1)
    torch.testing.assert_close(r[1:] / r[:-1], torch.full((50,), math.sqrt(1 + h * h), dtype=torch.float64))
    alt = gg.dirac_trajectory(start, h, 2000, "alternating").norm(dim=1)
    assert alt.max() < 3 * r[0] and alt.min() > r[0] / 3  # neither escapes nor converges


def test_dirac_step_on_a_batch_matches_one_by_one_and_the_gan_game_by_autograd():
    states = torch.tensor([[1.0, 0.5], [-0.3, 2.0]], dtype=torch.float64)
    batch = gg.dirac_step(states, 0.2, "alternating", "gan")
    for s, b in zip(states, batch):
        torch.testing.assert_close(gg.dirac_step(s, 0.2, "alternating", "gan"), b)
    # the GAN value V = log σ(ψθ) + log σ(0): descend in θ, then ascend in ψ at the new θ
    theta, psi = states[0].clone().requires_grad_(True)
    V = torch.nn.functional.logsigmoid(psi * theta)
    gt, = torch.autograd.grad(V, theta)
    theta_new = (theta - 0.2 * gt).detach().requires_grad_(False)
    psi_ = states[0][1].clone().requires_grad_(True)
    gp, = torch.autograd.grad(torch.nn.functional.logsigmoid(psi_ * theta_new), psi_)
    torch.testing.assert_close(batch[0], torch.stack((theta_new, states[0][1] + 0.2 * gp)))


def test_dirac_flow_is_the_ode_solution():
    start = torch.tensor([1.0, 1.0], dtype=torch.float64)
    x, dt = start.clone(), 1e-4
    for _ in range(20_000):  # RK2 on θ' = −ψ, ψ' = θ up to t = 2
        k1 = torch.stack((-x[1], x[0]))
        mid = x + 0.5 * dt * k1
        x = x + dt * torch.stack((-mid[1], mid[0]))
    torch.testing.assert_close(gg.dirac_flow(start, torch.tensor([2.0], dtype=torch.float64))[0], x, atol=1e-7, rtol=0)


def test_rice_density_matches_scipy_and_the_norm_of_a_gaussian():
    t = torch.linspace(0.01, 3.5, 300, dtype=torch.float64)
    for nu, std in ((2.0, 0.1), (0.5, 0.3), (0.0, 1.0)):
        ref = stats.rice.logpdf(t.numpy(), nu / std, scale=std)
        np.testing.assert_allclose(gg.rice_log_prob(t, nu, std).numpy(), ref, rtol=1e-9, atol=1e-9)
    assert gg.rice_log_prob(torch.tensor([0.0, -1.0], dtype=torch.float64), 1.0, 0.1).isneginf().all()


@pytest.mark.parametrize("nu1, nu2, std", [(2.0, 0.5, 0.1), (2.0, 2.3, 0.1), (1.0, 1.2, 0.4)])
def test_radial_w1_is_the_1d_wasserstein_distance_of_rice_laws(nu1, nu2, std):
    # stochastically ordered laws: W1 is the difference of the means (scipy's Rice mean)
    means = stats.rice.mean(nu2 / std, scale=std) - stats.rice.mean(nu1 / std, scale=std)
    assert gg.radial_w1(nu1, nu2, std).item() == pytest.approx(abs(means), abs=1e-6)
    rng = np.random.default_rng(0)
    a = stats.rice.rvs(nu1 / std, scale=std, size=200_000, random_state=rng)
    b = stats.rice.rvs(nu2 / std, scale=std, size=200_000, random_state=rng)
    assert gg.radial_w1(nu1, nu2, std).item() == pytest.approx(stats.wasserstein_distance(a, b), abs=3e-3)


def test_ring_w1_bounds_bracket_a_sampled_transport_cost():
    lo, hi = gg.ring_w1_bounds(1.5)
    assert hi.item() == 0.5 and 0.49 < lo.item() <= hi.item()
    radii = torch.linspace(0.5, 3.5, 31, dtype=torch.float64)
    low, high = games.w1_sweep(radii)
    assert ((high - low) >= -1e-12).all() and (high - low).max() < 0.01
    # the lower bound is the 1D W1 of the radii: scipy's, on samples of both rings
    from gencore import data
    g = torch.Generator().manual_seed(0)
    p = data.make("8gaussians", radius=2.0, std=0.1, dtype=torch.float64)
    q = data.make("8gaussians", radius=1.0, std=0.1, dtype=torch.float64)
    x, y = p.sample((20_000,), generator=g), q.sample((20_000,), generator=g)
    radial = stats.wasserstein_distance(x.norm(dim=1).numpy(), y.norm(dim=1).numpy())
    assert radial == pytest.approx(gg.ring_w1_bounds(1.0)[0].item(), abs=5e-3)


@pytest.mark.slow
@pytest.mark.claim
def test_trained_discriminator_logit_tracks_the_log_density_ratio():
    r = games.density_ratio_check(steps=600, generator=gencore.generator(3))
    assert r["exact_dstar_gap"] < 1e-9
    assert r["corr"] > 0.98 and r["rmse_core"] < 1.0 and r["rmse_core"] < r["rmse"]


@pytest.mark.slow
@pytest.mark.claim
def test_saturating_loss_stalls_against_a_pretrained_discriminator():
    s = games.saturation_stall(pretrain=300, steps=300, lr_g=0.005, generator=gencore.generator(4))
    sat, ns = s["saturating"], s["non-saturating"]
    assert sat["grad_norm"].median() < 1e-6 and sat["d_fake"][:50].mean() < 1e-4
    assert abs(sat["distance"][-1] - sat["distance"][0]) < 0.05
    assert sat["grad_norm"][-100:].median() < sat["grad_norm"][:50].median()  # D winning shrinks it further
    assert ns["grad_norm"].median() > 0.1 and ns["distance"][-1] < 0.5 * ns["distance"][0]
    assert ns["distance"][0] == sat["distance"][0]  # the same start and the same noise


def _pixels(png: bytes):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_new_figures_render():
    frames = games.dirac_frames([0.1, 0.4], steps=10)
    for h, f in frames.items():
        assert f["simultaneous_modulus"] == pytest.approx(math.sqrt(1 + h * h))
        assert f["simultaneous_autograd"] == pytest.approx(f["simultaneous_modulus"], abs=1e-12)
    demo = fig.dirac_slider(frames)
    a, b, a2 = demo.render((0,)), demo.render((1,)), demo.render((0,))
    assert a[:4] == b"\x89PNG" and a != b
    fresh = fig.dirac_slider(frames)
    fresh.render((1,))  # the first frame makes the artists, the next ones move them (and the title)
    assert np.abs(_pixels(fresh.render((0,))) - _pixels(a2)).max() <= 8
    radii = torch.linspace(1.0, 3.0, 5, dtype=torch.float64)
    fig.w1_figure(radii, radii * 0, *games.w1_sweep(radii))
    x = torch.randn(50, 2, dtype=torch.float64)
    fig.ratio_figure({"exact": x[:, 0], "logit": x[:, 1]})
    fig.stall_figure(games.saturation_stall(pretrain=2, steps=4, every=2, generator=torch.Generator().manual_seed(0)))


def test_recipes_run_on_the_stand_in_device():
    from fakedevice import OnDevice, active

    with active() as dev:
        r = games.density_ratio_check(steps=3, batch_size=16, n_test=40, generator=gencore.generator(0), device=dev)
        assert not isinstance(r["logit"], OnDevice) and r["logit"].shape == (40,)
        s = games.saturation_stall(pretrain=2, steps=4, every=2, generator=gencore.generator(0), device=dev)
        assert s["saturating"]["distance"].shape == (3,)
        radii = torch.linspace(1.0, 3.0, 3, dtype=torch.float64, device=dev)
        low, high = games.w1_sweep(radii.cpu())
        fig.w1_figure(radii, radii * 0, low, high)
