"""Chapter 4's identities and models, asserted numerically (float64 unless a test says otherwise)."""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

import gencore
from gencore import data, gan, metrics, nn
from gencore.exercises.gan import check_ns_generator_loss
from gencore.experiments import gan as run
from gencore.experiments import gan_training as training
from gencore.figures import gan as fig

F64 = torch.float64
BOX = (-4.0, 4.0, -4.0, 4.0)


def gaussian(mean, std):
    dist = torch.distributions.Independent(
        torch.distributions.Normal(torch.tensor(mean, dtype=F64), torch.tensor([std, std], dtype=F64)), 1)
    return dist.log_prob


# ------------------------------------------------------------------ Proposition 1, Theorem 1
@pytest.mark.parametrize("r", [1.0, 1.8, 2.0, 2.1, 2.3, 3.0])
def test_theorem_1_on_a_grid_to_1e4(r):
    log_p, log_q = gan.ring_family(2.0), gan.ring_family(r)
    c = gan.value(gan.optimal_discriminator(log_p, log_q), log_p, log_q, BOX, 400)
    rhs = -math.log(4) + 2 * gan.jsd_on_grid(log_p, log_q, BOX, 400)
    assert c.dtype == F64
    assert abs(c.item() - rhs.item()) < 1e-4


def test_theorem_1_for_a_gaussian_generator_and_the_real_ring():
    ring = data.make("8gaussians", dtype=F64)  # std 0.02: the chapter's data, needs a fine grid
    log_q = gaussian([0.3, 0.0], 0.8)
    box = (-4.5, 4.5, -4.5, 4.5)
    c = gan.value(gan.optimal_discriminator(ring.log_prob, log_q), ring.log_prob, log_q, box, 1500)
    rhs = -math.log(4) + 2 * gan.jsd_on_grid(ring.log_prob, log_q, box, 1500)
    assert abs(c.item() - rhs.item()) < 1e-4


def test_minimum_is_minus_log_4_at_p_g_equal_p_data():
    log_p = gan.ring_family(2.0)
    dstar = gan.optimal_discriminator(log_p, log_p)
    pts = torch.randn(100, 2, dtype=F64)
    assert torch.allclose(dstar(pts), torch.full((100,), 0.5, dtype=F64))
    assert gan.value(dstar, log_p, log_p, BOX, 400).item() == pytest.approx(-math.log(4), abs=1e-8)
    assert gan.jsd_on_grid(log_p, log_p, BOX, 400).item() == pytest.approx(0.0, abs=1e-12)


def test_disjoint_rings_give_c_near_zero():
    c, rhs = run.radius_sweep([1.0, 3.0])
    assert (c.abs() < 1e-3).all() and (rhs.abs() < 1e-3).all()


def test_proposition_1_dstar_beats_perturbed_discriminators():
    log_p, log_q = gan.ring_family(2.0), gan.ring_family(2.3)
    dstar = gan.optimal_discriminator(log_p, log_q)
    best = gan.value(dstar, log_p, log_q, BOX, 400).item()
    values = [gan.value(gan.from_logit(lambda x, c=c: dstar.logit(x) + c), log_p, log_q, BOX, 400).item()
              for c in (-1.0, -0.2, 0.2, 1.0)]
    values.append(gan.value(gan.from_logit(lambda x: dstar.logit(x) + 0.3 * x[:, 0]), log_p, log_q, BOX, 400).item())
    assert all(math.isfinite(v) and v < best - 1e-3 for v in values), (best, values)
    half = lambda x: torch.full(x.shape[:1], 0.5, dtype=x.dtype)  # noqa: E731
    assert gan.value(half, log_p, log_q, BOX, 300).item() == pytest.approx(-math.log(4), abs=1e-8)


def test_pointwise_maximizer_of_a_log_y_plus_b_log_1_minus_y():
    y = torch.linspace(1e-4, 1 - 1e-4, 200_001, dtype=F64)
    for a, b in ((1.0, 1.0), (0.3, 2.0), (5.0, 0.1)):
        f = a * torch.log(y) + b * torch.log1p(-y)
        assert y[f.argmax()].item() == pytest.approx(a / (a + b), abs=1e-4)


def test_value_uses_logit_when_available_and_matches_plain_callable():
    log_p, log_q = gaussian([0.0, 0.0], 1.0), gaussian([0.5, 0.0], 1.2)  # D* never rounds to 0 or 1
    dstar = gan.optimal_discriminator(log_p, log_q)
    plain = lambda x: dstar(x)  # noqa: E731
    assert gan.value(plain, log_p, log_q, BOX, 300).item() == pytest.approx(
        gan.value(dstar, log_p, log_q, BOX, 300).item(), abs=1e-10)


def test_nonsaturating_criterion_is_reverse_kl_minus_kl_to_mixture():
    log_p, log_q = gan.ring_family(2.0), gan.ring_family(2.3)
    log_m = lambda x: torch.logaddexp(log_p(x), log_q(x)) - math.log(2)  # noqa: E731
    ns = gan.nonsaturating_criterion(log_p, log_q, BOX, 400)
    rhs = metrics.kl_on_grid(log_q, log_p, BOX, 400) - metrics.kl_on_grid(log_q, log_m, BOX, 400) + math.log(2)
    assert abs(ns.item() - rhs.item()) < 1e-4


# -------------------------------------------------------------------------------- losses
def test_discriminator_loss_is_minus_minibatch_value():
    torch.manual_seed(0)
    ar, af = torch.randn(3, 50, dtype=F64), torch.randn(3, 40, dtype=F64)
    direct = -(torch.log(torch.sigmoid(ar)).mean(-1) + torch.log(1 - torch.sigmoid(af)).mean(-1))
    assert torch.allclose(gan.discriminator_loss(ar, af), direct, atol=1e-12)


def test_generator_losses_and_logit_gradients_match_autograd():
    a = torch.linspace(-10, 10, 101, dtype=F64, requires_grad=True)
    sat = gan.generator_loss(a, "saturating") * len(a)
    ns = gan.generator_loss(a, "non-saturating") * len(a)
    assert torch.allclose(sat, torch.log1p(-torch.sigmoid(a)).sum(), atol=1e-9)
    assert torch.allclose(ns, -torch.log(torch.sigmoid(a)).sum(), atol=1e-9)
    (g_sat,) = torch.autograd.grad(sat, a)
    (g_ns,) = torch.autograd.grad(ns, a)
    assert torch.allclose(g_sat, gan.logit_gradient(a.detach(), "saturating"), atol=1e-12)
    assert torch.allclose(g_ns, gan.logit_gradient(a.detach(), "non-saturating"), atol=1e-12)
    far = torch.tensor([-20.0], dtype=F64)  # D(G(z)) = σ(-20) ≈ 2e-9: the generator is rejected
    assert gan.logit_gradient(far, "saturating").abs().item() < 1e-8
    assert gan.logit_gradient(far, "non-saturating").item() == pytest.approx(-1.0, abs=1e-8)


def test_losses_keep_dtype_and_are_finite_for_huge_logits():
    for dtype in (torch.float32, F64):
        a = torch.tensor([-500.0, 0.0, 500.0], dtype=dtype)
        for kind in gan.LOSSES:
            out = gan.generator_loss(a, kind)
            assert out.dtype == dtype and torch.isfinite(out)
        assert gan.discriminator_loss(a, a).dtype == dtype
        assert gan.logit_gradient(a, "saturating").dtype == dtype


def test_shift_gradients_match_closed_forms_and_bounds():
    shifts = torch.tensor([0.5, 2.0, 4.0, 8.0], dtype=F64)
    sat, ns = gan.shift_gradients(shifts)
    assert (sat > 0).all() and (ns > 0).all()  # both push μ back towards the data at 0 (descent)
    # independent reference: μ E_{p_g}[D*] and μ E_{p_g}[1 − D*] by scipy-free Gauss–Hermite quadrature
    import numpy as np
    t, w = np.polynomial.hermite_e.hermegauss(200)
    w = torch.tensor(w / w.sum(), dtype=F64)
    z = torch.tensor(t, dtype=F64)
    for mu, s_, n_ in zip(shifts, sat, ns):
        d = torch.sigmoid(-mu * z - mu**2 / 2)  # D* at x = μ + z
        assert s_.item() == pytest.approx((mu * (w * d).sum()).item(), rel=3e-4)  # GH is coarse at the step
        assert n_.item() == pytest.approx((mu * (w * (1 - d)).sum()).item(), rel=1e-6)
    phi = torch.distributions.Normal(torch.tensor(0.0, dtype=F64), 1.0).cdf(-shifts / 2)
    assert ((sat >= 0.5 * shifts * phi) & (sat <= 2 * shifts * phi)).all()  # "up to a factor of 2"
    assert sat[-1].item() == pytest.approx(3.9287e-4, rel=1e-3)  # μ = 8, exact (Monte Carlo gave 5.7e-4)
    assert ns[-1].item() == pytest.approx(8.0, rel=1e-3)


@pytest.mark.parametrize("mu", [0.3, 1.0, 2.5])
def test_nonsaturating_gradient_is_that_of_kl_minus_2_jsd(mu):
    """Arjovsky & Bottou's Theorem 2.5 in 1D: frozen-D* gradient = d/dμ[KL(p_g‖p_d) − 2 JSD]."""
    g = gan.ns_gradient_1d(mu)
    assert g["frozen"] == pytest.approx(g["kl_minus_2jsd"], abs=1e-8)
    # and it is not the derivative of the value identity eq-gan-ns-kl, where D* moves with μ
    assert abs(g["value"] - g["frozen"]) > 0.05
    # closed form of the frozen gradient: μ E_{p_g}[1 − D*], by Gauss–Hermite quadrature
    import numpy as np
    t, w = np.polynomial.hermite_e.hermegauss(200)
    z, w = torch.tensor(t, dtype=F64), torch.tensor(w / w.sum(), dtype=F64)
    assert g["frozen"] == pytest.approx((mu * (w * torch.sigmoid(mu * z + mu**2 / 2)).sum()).item(), rel=1e-7)


def test_nonsaturating_gradient_at_mu_1_is_0602_not_0801():
    g = gan.ns_gradient_1d(1.0)
    assert g["frozen"] == pytest.approx(0.60203, abs=1e-5)
    assert g["value"] == pytest.approx(0.80101, abs=1e-5)  # d/dμ [μ²/2 − KL(p_g‖m)]: the value identity


def test_gradient_penalty_of_a_linear_critic():
    w = torch.tensor([[3.0, 4.0]], dtype=F64)  # ‖w‖ = 5, so (‖∇f‖ − 1)² = 16 everywhere
    critic = lambda x: (x * w).sum(-1)  # noqa: E731
    real, fake = torch.randn(2, 7, 2, dtype=F64), torch.randn(2, 7, 2, dtype=F64)
    gp = gan.gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0))
    assert gp.shape == (2,) and torch.allclose(gp, torch.full((2,), 16.0, dtype=F64))
    loss = gan.critic_loss(critic(real), critic(fake), gp, 0.1)
    assert torch.allclose(loss, critic(fake).mean(-1) - critic(real).mean(-1) + 1.6)


def test_the_mathematics_runs_on_the_meta_device():
    """Shapes and devices follow the inputs: every loss, the penalty and the quadratures on ``meta``."""
    a, b = torch.empty(3, 8, device="meta"), torch.empty(3, 5, device="meta")
    for out in (gan.discriminator_loss(a, b), gan.generator_loss(a, "non-saturating"), gan.generator_loss(a, "wgan-gp")):
        assert out.device.type == "meta" and out.shape == (3,)
    assert gan.logit_gradient(a, "saturating").shape == (3, 8)
    x = torch.empty(3, 8, 2, device="meta")
    gp = gan.gradient_penalty(lambda h: (h * h).sum(-1), x, x)
    assert gp.device.type == "meta" and gp.shape == (3,)
    assert gan.critic_loss(a, b, gp, 0.1).shape == (3,)
    assert gan.from_logit(lambda h: h[:, 0])(torch.empty(4, 2, device="meta")).device.type == "meta"
    log_p, log_q = gan.ring_family(2.0), gan.ring_family(2.3)
    for out in (gan.value(gan.optimal_discriminator(log_p, log_q), log_p, log_q, BOX, 10, device="meta"),
                gan.jsd_on_grid(log_p, log_q, BOX, 10, device="meta"),
                gan.nonsaturating_criterion(log_p, log_q, BOX, 10, device="meta")):
        assert out.device.type == "meta" and out.shape == ()


# -------------------------------------------------------------------- batched models
def test_stacked_mlp_models_are_independent_and_keep_dtype():
    """The trainer's networks: gencore.nn.StackedMLP with leaky ReLU (slope 0.2), as the chapter uses."""
    net = nn.StackedMLP(3, (2, 5, 1), "leaky_relu", generator=torch.Generator().manual_seed(0)).to(F64)
    x = torch.randn(3, 4, 2, dtype=F64)
    out = net(x)
    assert out.shape == (3, 4, 1) and out.dtype == F64
    for m in range(3):
        h = F.leaky_relu(x[m] @ net.weights[0][m] + net.biases[0][m], 0.2)
        assert torch.allclose(out[m], h @ net.weights[1][m] + net.biases[1][m])
    out[0].sum().backward()
    assert net.weights[0].grad[1:].abs().max() == 0


def test_stacked_adam_matches_torch_adam_and_masks_models():
    torch.manual_seed(0)
    p = torch.randn(2, 3, dtype=F64, requires_grad=True)
    q = p.detach().clone().requires_grad_(True)
    ours = training.StackedAdam([p], torch.tensor([0.1, 0.1], dtype=F64), (0.5, 0.9))
    ref = torch.optim.Adam([q], lr=0.1, betas=(0.5, 0.9))
    for _ in range(5):
        for t, opt in ((p, ours), (q, ref)):
            t.grad = None
            (t**3).sum().backward()
        ours.step(torch.tensor([True, True]))
        ref.step()
    assert torch.allclose(p, q, atol=1e-12)
    before = p.detach().clone()
    (p**3).sum().backward()
    ours.step(torch.tensor([False, True]))
    assert torch.equal(p[0], before[0]) and not torch.equal(p[1], before[1])


def test_train_gans_is_deterministic_and_records_snapshots():
    ring = data.make("8gaussians")
    kw = dict(steps=6, batch_size=32, g_hidden=(8,), d_hidden=(8,), snapshot_every=3,
              snapshot_samples=10, grid_resolution=4, progress=False)
    a = run.train_gans(ring, ("non-saturating", "wgan-gp"), (1, 2), generator=torch.Generator().manual_seed(0), **kw)
    state = torch.get_rng_state()
    b = run.train_gans(ring, ("non-saturating", "wgan-gp"), (1, 2), generator=torch.Generator().manual_seed(0), **kw)
    assert torch.equal(state, torch.get_rng_state())  # the global generator is never touched
    assert [s[0] for s in a.snapshots] == [0, 3, 6]
    assert torch.equal(a.snapshots[-1][1], b.snapshots[-1][1])
    assert a.snapshots[-1][1].shape == (2, 10, 2) and a.snapshots[-1][2].shape == (2, 4, 4)
    assert a.d_loss.shape == (6, 2) and a.sample(5).shape == (2, 5, 2)


def test_train_gans_float64_data_gives_float64_models():
    ring = data.make("8gaussians", dtype=F64)
    gans = run.train_gans(ring, steps=2, batch_size=8, g_hidden=(4,), d_hidden=(4,), progress=False,
                         snapshot_samples=3, grid_resolution=2)
    assert gans.sample(3).dtype == F64


# ------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("call,name", [
    (lambda: gan.value(0.5, gan.ring_family(2.0), gan.ring_family(2.0), BOX, 10), "D"),
    (lambda: gan.value(lambda x: x[:, 0], "p", gan.ring_family(2.0), BOX, 10), "log_p_data"),
    (lambda: gan.value(lambda x: x[:, 0] * 0 + 2, gan.ring_family(2.0), gan.ring_family(2.0), BOX, 10), "D"),
    (lambda: gan.value(lambda x: x[:, 0] * 0 + 0.5, gan.ring_family(2.0), gan.ring_family(2.0), (1, 0, 0, 1), 10), "extent"),
    (lambda: gan.value(lambda x: x[:, 0] * 0 + 0.5, gan.ring_family(2.0), gan.ring_family(2.0), BOX, 1), "resolution"),
    (lambda: gan.optimal_discriminator(None, gan.ring_family(2.0)), "log_p_data"),
    (lambda: gan.from_logit(1.0), "logit"),
    (lambda: gan.optimal_discriminator(gan.ring_family(2.0), 3), "log_p_g"),
    (lambda: gan.generator_loss(torch.zeros(3), "minimax"), "kind"),
    (lambda: gan.logit_gradient(torch.zeros(3), "wgan-gp"), "kind"),
    (lambda: run.train_gans(data.make("8gaussians"), ("gan",)), "losses"),
    (lambda: run.train_gans(data.make("8gaussians"), ("wgan-gp",), (1, 2)), "ks"),
    (lambda: run.train_gans(data.make("8gaussians"), lr_g=-1.0), "lr_g"),
    (lambda: run.train_gans(data.make("8gaussians"), lr_d=(1e-3, 1e-3)), "lr_d"),
    (lambda: run.train_gans(data.make("8gaussians"), steps=0), "steps"),
    (lambda: nn.StackedMLP(2, (2, 4, 1))(torch.zeros(3, 5, 2)), "h"),
    (lambda: nn.StackedMLP(2, (2,)), "sizes"),
    (lambda: gan.generator_loss(torch.zeros(0)), "logit_fake"),
    (lambda: gan.discriminator_loss(torch.zeros(2, 3), torch.zeros(3, 3)), "logit_fake"),
    (lambda: gan.critic_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3)), "penalty"),
    (lambda: gan.gradient_penalty(lambda x: x.sum(-1), torch.zeros(1, 3, 2), torch.zeros(1, 4, 2)), "fake"),
])
def test_bad_arguments_raise_an_error_naming_them(call, name):
    # a non-callable where a function belongs is a TypeError; a bad value a ValueError
    with pytest.raises((ValueError, TypeError), match=name):
        call()


# ------------------------------------------------------------------------ exercise checker
def test_check_ns_generator_loss_reference_passes():
    verdict = check_ns_generator_loss(lambda a: F.softplus(-a).mean())
    assert verdict and str(verdict).startswith("Correct")


def test_check_ns_generator_loss_catches_typical_mistakes():
    cases = {
        "saturating": lambda a: -F.softplus(a).mean(),
        "sign": lambda a: -F.softplus(-a).mean(),
        "summed": lambda a: F.softplus(-a).sum(),
        "discriminator's loss on fakes": lambda a: F.softplus(a).mean(),
        "underflows": lambda a: -torch.log(torch.sigmoid(a)).mean(),
        "shape": lambda a: F.softplus(-a),
        "float32": lambda a: F.softplus(-a).mean().double(),
        "raised": lambda a: 1 / 0,
    }
    for hint, fn in cases.items():
        verdict = check_ns_generator_loss(fn)
        assert not verdict, hint
        assert hint in verdict.message, (hint, verdict.message)


# ------------------------------------------------------------------ the chapter's models
@pytest.fixture(scope="module")
def chapter_run():
    return run.train_chapter_gans(progress=False, generator=gencore.generator(0))


@pytest.fixture(scope="module")
def chapter_claims(chapter_run):
    rows = run.coverage_rows(chapter_run, generator=gencore.generator(1))
    spread = run.coverage_spread(chapter_run, generator=gencore.generator(2))
    return rows, spread, run.ring_claims(chapter_run, rows, spread)


@pytest.mark.slow
@pytest.mark.claim
def test_chapter_gans_match_the_text(chapter_claims):
    """The chapter's claims about its six GANs, with margins that hold at GENCORE_SEED 0, 1, 2."""
    rows, spread, c = chapter_claims
    real = {r["dataset"]: r for r in rows if r["model"] == "real data"}
    assert real["8gaussians"]["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    # "captures (all) eight modes": every mode keeps a margin of high-quality samples
    assert c["ns_modes"] >= 7 and c["ns_fewest"] >= 3 and 0.25 < c["ns_hq"] < 0.9
    assert c["ns_spread_min"] > 0.02  # "spreads its samples over all rows after a few hundred steps"
    assert c["d_loss_early"] > c["d_loss_late"] + 0.03  # "comes close to log 4 early, then settles lower"
    # saturating "ends close to the non-saturating one"
    assert c["sat_modes"] >= 7 and c["sat_close"]
    # WGAN-GP: modes, an even spread (never clearly less even than the others), a lower HQ share
    assert c["wgan_modes"] >= 7 and c["wgan_hq_below"]
    assert "less even" not in c["wgan_even_phrase"]
    # the slow discriminator collapses, never lands on the ring, circles far outside and hops
    assert c["slow_modes"] <= 1 and c["slow_hq"] < 0.01 and c["slow_rkl"] > 1.5
    # the grid: most modes, few high-quality samples; WGAN-GP further behind in sample quality
    assert c["grid_ns_modes"] >= 17 and c["grid_ns_hq"] < 0.3 and c["grid_w_hq_below"]


@pytest.mark.slow
@pytest.mark.claim
def test_slow_discriminator_collapses_and_circles_outside_the_ring(chapter_run):
    stats = run.collapse_stats(chapter_run, 3, after=600)
    assert stats["r_min"] > 2.6  # "far outside" the data ring of radius 2, from step 600 on
    assert stats["favourites"] >= 5  # the favourite mode rotates
    assert stats["top"] > 0.6  # most samples near one direction at a time


def test_spread_of_the_metrics_is_the_sd_over_fresh_samples():
    """``coverage_spread``'s floor for real data against the binomial sd of a high-quality share."""
    ring = data.make("8gaussians")
    gans = run.train_gans([ring] * 6, ("non-saturating",) * 6, steps=2, batch_size=8, g_hidden=(4,), d_hidden=(4,), progress=False,
                         snapshot_samples=3, grid_resolution=2)
    spread = run.coverage_spread(gans, n=2500, repeats=40, generator=gencore.generator(2))
    mean, sd = spread[("real data", "8gaussians")]["high_quality"]
    p = 1 - math.exp(-4.5)
    assert mean == pytest.approx(p, abs=0.003)
    assert sd == pytest.approx(math.sqrt(p * (1 - p) / 2500), rel=0.4)


@pytest.mark.slow
def test_chapter_sliders_render(chapter_run, chapter_claims):
    snap = fig.snapshot_slider(chapter_run)
    first, last = snap.render((0,)), snap.render((len(snap.params["step"].values) - 1,))
    assert first[:4] == b"\x89PNG" and first != last  # moving the slider changes the frame
    loss = fig.loss_slider(chapter_run)
    assert loss.render((3, 2))[:4] == b"\x89PNG" and loss.render((3, 2)) != loss.render((0, 2))
    rows, spread, _ = chapter_claims
    table = run.coverage_table(rows, spread).splitlines()
    assert len(table) == 9 and "non-saturating, slow D" in table[5] and table[5].count("±") == 2
    assert max(map(len, table)) <= 95
    assert "PacGAN2" in run.published_table()


# ------------------------------------------------------------------ on a GPU, and the sliders
def _frame_pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def device_run():
    """The chapter's six GANs for 30 steps on the CPU and on the stand-in accelerator (tests/fakedevice.py)."""
    from fakedevice import OnDevice, active

    cpu = run.train_chapter_gans(steps=30, generator=gencore.generator(0), progress=False)
    rows_cpu = run.coverage_rows(cpu, n=200, generator=gencore.generator(1))
    with active() as dev:
        on_dev = run.train_chapter_gans(steps=30, generator=gencore.generator(0), progress=False, device=dev)
        assert all(isinstance(p, OnDevice) for p in on_dev.generator.parameters())
        rows = run.coverage_rows(on_dev, n=200, generator=gencore.generator(1))
        frames = [fig.snapshot_slider(on_dev, every=1).render((0,)), fig.loss_slider(on_dev, every=1).render((3, 1))]
    return cpu, on_dev, (rows, rows_cpu), frames


def test_chapter_gans_train_on_the_device_with_the_cpus_numbers(device_run):
    """Every op checked as CUDA checks it (no host tensor meets a device one); same numbers as the CPU."""
    cpu, on_dev, rows, frames = device_run
    assert [s for s, _, _ in on_dev.snapshots] == [s for s, _, _ in cpu.snapshots] == [0, 30]
    for (_, x_cpu, a_cpu), (_, x_dev, a_dev) in zip(cpu.snapshots, on_dev.snapshots):
        assert x_dev.device.type == "cpu"  # snapshots are kept on the host, for the figures
        torch.testing.assert_close(x_dev, x_cpu, rtol=0, atol=1e-12)
        torch.testing.assert_close(a_dev, a_cpu, rtol=0, atol=1e-12)
    assert rows[0] == rows[1]
    assert all(png[:4] == b"\x89PNG" for png in frames)


def test_slider_frames_look_as_when_every_artist_is_drawn_afresh(device_run):
    """The sliders draw their fixed parts once as pixels and move the rest (figures/gan.py): each
    frame, after a sweep, against the same frame drawn first by a fresh demo (all artists drawn
    by matplotlib), to a few levels of 255."""
    cpu = device_run[0]
    for make, sizes in ((lambda: fig.snapshot_slider(cpu, every=1), (2,)), (lambda: fig.loss_slider(cpu, every=1), (4, 2))):
        demo = make()
        indices = [(k,) for k in range(sizes[0])] if len(sizes) == 1 else \
            [(m, s) for m in range(sizes[0]) for s in range(sizes[1])]
        for index in indices + indices[::-1]:
            demo.render(index)
        for index in indices:
            diff = abs(_frame_pixels(demo.render(index)) - _frame_pixels(make().render(index)))
            assert diff.max() <= 4, (index, diff.max())


def test_theorem_and_saturation_quadratures_follow_their_inputs_device():
    """radius_sweep and shift_gradients on the stand-in device (float64 there too): the CPU's numbers,
    and the two figures take host copies."""
    from fakedevice import OnDevice, active

    radii, shifts = torch.tensor([1.0, 2.3], dtype=torch.float64), torch.tensor([0.5, 6.0], dtype=torch.float64)
    c, rhs = run.radius_sweep(radii, resolution=40)
    sat, ns = gan.shift_gradients(shifts, n=2001)
    with active() as dev:
        c_d, rhs_d = run.radius_sweep(radii.to(dev), resolution=40)
        sat_d, ns_d = gan.shift_gradients(shifts.to(dev), n=2001)
        assert all(isinstance(t, OnDevice) for t in (c_d, rhs_d, sat_d, ns_d))
        fig.theorem_figure(radii.to(dev), c_d, rhs_d)
        fig.saturation_figure(shifts.to(dev), sat_d, ns_d)
        got = [t.cpu() for t in (c_d, rhs_d, sat_d, ns_d)]
    for a, b in zip(got, (c, rhs, sat, ns)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)
