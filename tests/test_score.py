"""Chapter 7's identities, each asserted numerically (float64), and the exercise checker."""
from __future__ import annotations

import math

import pytest
import torch

import gencore
from gencore import score as S
from gencore import score_sde as Q
from gencore import shifted_seed
from gencore.exercises.score import check_implicit_score_matching
from gencore.data import GaussianMixture
from gencore import mcmc
from gencore.experiments import score as run
from gencore.quadrature import grid

F64 = torch.float64
MEAN = torch.tensor([1.0, -1.0], dtype=F64)
COV = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=F64)


def mvn(mean=MEAN, cov=COV):
    return torch.distributions.MultivariateNormal(mean, cov)


# ------------------------------------------------------------------------------ scores
def test_score_ignores_the_normalizing_constant_and_matches_closed_forms(gen):
    far = run.far_mixture()
    x = torch.randn(500, 2, generator=gen, dtype=F64) * 3
    by_autograd = S.score_of(far.log_prob)(x)
    shifted = S.score_of(lambda y: far.log_prob(y) + 123.4)(x)
    assert torch.equal(by_autograd, shifted)
    assert (by_autograd - S.mixture_score(far)(x)).abs().max() < 1e-10
    ref = S.score_of(mvn().log_prob)(x)
    assert (S.gaussian_score(MEAN, COV)(x) - ref).abs().max() < 1e-12


def test_scores_follow_dtype_and_work_under_no_grad():
    far = run.far_mixture()
    x32 = torch.zeros(3, 2, dtype=torch.float32)
    with torch.no_grad():
        assert S.score_of(far.log_prob)(x32).dtype == torch.float32
        assert S.mixture_score(far)(x32).dtype == torch.float32
        assert S.mixture_score(far)(x32.double()).dtype == F64
    meta = S.gaussian_score(MEAN, COV)(torch.zeros(4, 2, dtype=F64, device="meta"))
    assert meta.device.type == "meta" and meta.shape == (4, 2)


def test_mixture_score_is_stable_far_away():
    far = run.far_mixture()
    x = torch.tensor([[300.0, 0.0], [-1e3, 50.0]], dtype=F64)
    s = S.mixture_score(far)(x)
    assert torch.isfinite(s).all()
    assert s[0, 0] < 0 and s[1, 0] > 0


def test_fisher_divergence_of_two_gaussians():
    p, q = mvn(), mvn(MEAN + torch.tensor([0.5, 1.0], dtype=F64), torch.eye(2, dtype=F64))
    sp, sq = S.gaussian_score(p.loc, p.covariance_matrix), S.gaussian_score(q.loc, q.covariance_matrix)
    # closed form: ½ E‖(P_q - P_p)(x - m_p) + P_q (m_q - m_p)‖², x ~ N(m_p, Σ_p)
    A, b = torch.linalg.inv(q.covariance_matrix) - torch.linalg.inv(COV), q.loc - MEAN
    closed = 0.5 * (torch.trace(A @ COV @ A) + b @ b)
    quad = S.fisher_divergence_on_grid(p.log_prob, sp, sq, (-7, 9, -9, 7), 400)
    assert abs(quad - closed) < 1e-8
    torch.manual_seed(0)
    x = p.sample((200_000,))
    per_point = 0.5 * ((sp(x) - sq(x)) ** 2).sum(-1)
    assert abs(S.fisher_divergence(sp, sq, x) - closed) < 4 * per_point.std() / math.sqrt(len(x))
    assert S.fisher_divergence(sp, sp, x) == 0


def test_fisher_divergence_blind_to_weights_of_separated_modes():
    """The connected-support caveat, with the numbers the chapter prints."""
    seps, fisher, kl = run.fisher_vs_kl()
    assert seps[-1] == 7.0 and fisher[-1] < 1e-9 and kl[-1] > 0.19
    weights_kl = 0.8 * math.log(0.8 / 0.5) + 0.2 * math.log(0.2 / 0.5)
    assert abs(kl[-1] - weights_kl) < 1e-6
    assert (fisher[3:].diff() < 0).all()  # decays with the separation


# ----------------------------------------------------------------------- score matching
def test_implicit_loss_equals_fisher_minus_constant_on_gaussians():
    """p = N(m, Σ), model family s_θ(x) = −P(x − μ): J(θ) = D_F(p‖s_θ) − ½ tr Σ⁻¹, exactly."""
    p = mvn()
    pts, area = grid((-7, 9, -9, 7), 400, dtype=F64)
    w = p.log_prob(pts).exp() * area
    const = 0.5 * torch.trace(torch.linalg.inv(COV))
    for mu, prec in [((0.0, 0.0), ((1.0, 0.0), (0.0, 1.0))), ((1.5, -0.5), ((2.0, 0.3), (0.3, 0.8))),
                     ((-1.0, 2.0), ((0.5, -0.2), (-0.2, 3.0)))]:
        mu, prec = torch.tensor(mu, dtype=F64), torch.tensor(prec, dtype=F64)
        s = S.gaussian_score(mu, torch.linalg.inv(prec))
        J = S.implicit_score_matching_loss(s, pts, weights=w)
        fisher = S.fisher_divergence_on_grid(p.log_prob, S.gaussian_score(MEAN, COV), s, (-7, 9, -9, 7), 400)
        assert abs(J - (fisher - const)) < 1e-8
        # closed form of J for a linear score: ½ E[(x−μ)ᵀP²(x−μ)] − tr P
        d = MEAN - mu
        closed = 0.5 * (torch.trace(prec @ prec @ COV) + d @ prec @ prec @ d) - torch.trace(prec)
        assert abs(J - closed) < 1e-8


def test_chapter_scan_constant_gap():
    near = run.near_mixture()
    shifts = torch.linspace(-3, 3, 9, dtype=F64)
    ism_grid, ism_mc, fisher, const = run.gaussian_family_scan(near, shifts, generator=torch.Generator().manual_seed(0))
    gap = fisher - ism_grid
    assert (gap - const).abs().max() < 1e-6
    assert abs(const - 1.5905) < 1e-3
    assert (fisher - ism_mc - const).abs().max() < 0.1  # Monte Carlo, 20k samples


def test_score_matching_on_gaussian_family_matches_moments(gen):
    x = mvn().sample((5000,))
    mu = x.mean(0).clone().requires_grad_(True)
    cov_hat = torch.cov(x.T, correction=0)  # the 1/N covariance, as maximum likelihood gives
    prec = torch.linalg.inv(cov_hat).clone().requires_grad_(True)
    loss = S.implicit_score_matching_loss(lambda y: -(y - mu) @ prec, x)
    g_mu, g_prec = torch.autograd.grad(loss, (mu, prec))
    assert g_mu.abs().max() < 1e-10 and (g_prec + g_prec.T).abs().max() < 1e-8


def test_implicit_loss_is_trainable_and_checks_input():
    net = S.ScoreNet(hidden=8).double()
    x = torch.randn(16, 2, dtype=F64)
    loss = S.implicit_score_matching_loss(net, x)
    loss.backward()
    assert loss.ndim == 0 and all(p.grad is not None for p in net.parameters())
    assert S.implicit_score_matching_loss(lambda y: torch.ones_like(y), x).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="x"):
        S.implicit_score_matching_loss(net, torch.zeros(3, dtype=F64))
    with pytest.raises((ValueError, TypeError), match="score_fn"):
        S.implicit_score_matching_loss(lambda y: y[:, :1], x)
    with pytest.raises(ValueError, match="weights"):
        S.implicit_score_matching_loss(net, x, weights=torch.ones(3, dtype=F64))


@pytest.mark.parametrize("variance_reduced", [False, True])
def test_sliced_agrees_with_implicit_in_expectation(variance_reduced):
    torch.manual_seed(0)
    net = S.ScoreNet(hidden=32).double()
    x = run.near_mixture().sample((300,), generator=torch.Generator().manual_seed(1))
    ism = S.implicit_score_matching_loss(net, x).item()
    g = torch.Generator().manual_seed(2)
    vals = torch.stack([S.sliced_score_matching_loss(net, x, 50, g, variance_reduced=variance_reduced).detach()
                        for _ in range(40)])
    se = vals.std() / math.sqrt(len(vals))
    assert abs(vals.mean() - ism) < 4 * se + 1e-12
    assert se < 0.05


def test_chapter_sliced_numbers():
    torch.manual_seed(0)
    net = S.ScoreNet(hidden=32).double()
    x = run.near_mixture().sample((1000,), generator=torch.Generator().manual_seed(1))
    ism, ssm, ssm_se, vr, vr_se = run.sliced_vs_implicit(net, x, generator=torch.Generator().manual_seed(2))
    assert abs(ssm - ism) < 4 * ssm_se and abs(vr - ism) < 4 * vr_se
    assert vr_se < ssm_se  # the variance-reduced estimator is less noisy


def test_sliced_is_deterministic_and_validates(gen):
    net = S.ScoreNet(hidden=8).double()
    x = torch.randn(10, 2, dtype=F64)
    a = S.sliced_score_matching_loss(net, x, 3, torch.Generator().manual_seed(5))
    b = S.sliced_score_matching_loss(net, x, 3, torch.Generator().manual_seed(5))
    assert a.ndim == 0 and torch.equal(a, b)
    with pytest.raises(ValueError, match="n_projections"):
        S.sliced_score_matching_loss(net, x, 0)


def test_denoising_loss_equals_noised_fisher_plus_constant():
    near = run.near_mixture()
    dsm, se, fisher, constant = run.dsm_scan(near, 0.5, torch.linspace(-2, 2, 5, dtype=F64), generator=gencore.generator(0))
    assert ((dsm - fisher - constant).abs() < 4 * se).all()
    assert abs(constant - 2.9541) < 1e-3


def test_denoising_minimizer_is_the_noised_score():
    """p = N(0, v I), model s(x) = −x / w: the DSM loss is minimal at w = v + σ² (noised data)."""
    v, sigma = 0.5, 0.7
    x = torch.randn(400_000, 2, generator=torch.Generator().manual_seed(0), dtype=F64) * math.sqrt(v)
    ws = torch.linspace(0.6, 1.2, 25, dtype=F64)
    losses = torch.stack([S.denoising_score_matching_loss(lambda y, w=w: -y / w, x, sigma,
                                                          torch.Generator().manual_seed(1)) for w in ws])
    assert abs(ws[losses.argmin()] - (v + sigma**2)) <= 0.03
    with pytest.raises(ValueError, match="sigma"):
        S.denoising_score_matching_loss(lambda y: y, x[:5], 0.0)


def test_noise_conditional_loss_and_noised_mixture():
    far = run.far_mixture()
    p_s = S.noised_mixture(far, 0.3)
    assert torch.allclose(torch.as_tensor(p_s.std, dtype=F64), torch.tensor(math.sqrt(0.25 + 0.09), dtype=F64))
    x = far.sample((50_000,), generator=torch.Generator().manual_seed(0))
    noisy = x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert abs(noisy[:, 0].var() - p_s.sample((200_000,), generator=torch.Generator().manual_seed(2))[:, 0].var()) < 0.15
    sig = mcmc.geometric_sigmas(6.0, 0.1, 8, dtype=F64)
    assert sig[0] == pytest.approx(6.0) and sig[-1] == pytest.approx(0.1)
    exact = lambda y, s: torch.stack([S.mixture_score(S.noised_mixture(far, float(si)))(yi[None])[0]
                                      for yi, si in zip(y, s)])
    loss = S.noise_conditional_dsm_loss(exact, x[:200], sig, torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and 0.2 < loss < 2.0  # ≈ ½ E‖σ s + ε‖² at the optimum, below ½ D = 1 on average
    with pytest.raises(ValueError, match="sigmas"):
        S.noise_conditional_dsm_loss(exact, x[:5], torch.tensor([1.0, -1.0], dtype=F64))
    with pytest.raises(ValueError, match="sigma_max"):
        mcmc.geometric_sigmas(0.1, 1.0, 5)


# ---------------------------------------------------------------------------- Langevin
def test_langevin_on_a_gaussian_reaches_mean_and_covariance():
    """Within Monte Carlo error of the exact ULA stationary law, which is within ε/4 of Σ."""
    eps, n = 0.02, 20_000
    g = torch.Generator().manual_seed(0)
    x0 = MEAN + torch.randn(n, 2, generator=g, dtype=F64) * 3
    x = mcmc.langevin(S.gaussian_score(MEAN, COV), x0, eps, 2000, g)
    se_mean = torch.sqrt(torch.diagonal(COV) / n)
    assert ((x.mean(0) - MEAN).abs() < 4 * se_mean).all()
    cov_hat = torch.cov(x.T)
    stat = mcmc.ula_stationary_covariance(COV, eps)
    se_cov = torch.sqrt((COV**2 + torch.outer(torch.diagonal(COV), torch.diagonal(COV))) / n)
    assert ((cov_hat - stat).abs() < 4 * se_cov).all()
    assert ((stat - COV).abs() <= eps / 4 * 1.1).all()
    assert ((cov_hat - COV).abs() < 4 * se_cov + eps / 4).all()


def test_ula_stationary_covariance_is_the_fixed_point():
    eps = 0.3
    W = mcmc.ula_stationary_covariance(COV, eps)
    A = torch.eye(2, dtype=F64) - eps / 2 * torch.linalg.inv(COV)
    assert (A @ W @ A + eps * torch.eye(2, dtype=F64) - W).abs().max() < 1e-12
    assert mcmc.ula_stationary_covariance(torch.tensor(0.1, dtype=F64), 0.1).item() == pytest.approx(0.1 / 0.75)
    with pytest.raises(ValueError, match="step_size"):
        mcmc.ula_stationary_covariance(COV, 4.0)


@pytest.mark.claim
def test_chapter_gaussian_langevin_table():
    rows = run.gaussian_langevin_rows(MEAN, COV, [0.02, 0.1, 0.3], [10, 100, 400], generator=gencore.generator(0))
    for r in rows:
        assert abs(r["var"] - r["var_pred"]) < 0.1 * r["var_pred"]
        assert abs(r["mean_err"] - r["mean_err_pred"]) < 4 * r["mean_se"]
    last = {r["eps"]: r for r in rows if r["K"] == 400}
    assert last[0.3]["var"] > 3.5 * last[0.3]["var_true"]  # four times too wide at ε = 0.3
    assert last[0.02]["var"] < 1.1 * last[0.02]["var_true"]


def test_left_mass_against_monte_carlo():
    near = run.near_mixture()
    x = near.sample((400_000,), generator=torch.Generator().manual_seed(0))
    share = (x[:, 0] < 0).double().mean().item()
    assert abs(run.left_mass(near) - share) < 4 * math.sqrt(0.2 / 400_000)
    assert run.left_mass(run.far_mixture()) == pytest.approx(0.8, abs=1e-8)


@pytest.mark.claim
def test_chapter_near_mixture_runs():
    """The claims next to the step-size slider, at the page's settings and seed."""
    near = run.near_mixture()
    runs = run.langevin_runs(near, generator=gencore.generator(0))
    share, sw = runs.share[:, -1], runs.sw[:, -1]
    sd = math.sqrt(runs.target * (1 - runs.target) / runs.samples.shape[2])  # binomial sd of a share of 500
    assert runs.step_sizes == (0.01, 0.05, 0.2, 1.0) and runs.n_steps[-1] == 1000
    assert runs.floor.repeats >= 20
    assert share[0] < runs.target - 4 * sd  # ε = 0.01 has not finished crossing: "many sd below"
    assert max(abs(share[1] - runs.target), abs(share[2] - runs.target)) < 3 * sd  # the middle steps
    best_middle = min(sw[1], sw[2])
    assert runs.floor.separates(sw[3], best_middle) and sw[3] > best_middle  # ε = 1 blurs, beyond the noise
    assert share[3] < runs.target - 2 * sd  # ... and its share is off too
    assert runs.floor.separates(sw[0], best_middle) and sw[0] > best_middle
    assert runs.floor.reaches(best_middle)


def test_far_mixture_barrier():
    far = run.far_mixture()
    barrier = far.log_prob(torch.tensor([[-3.0, 0.0]], dtype=F64)) - far.log_prob(torch.tensor([[0.0, 0.0]], dtype=F64))
    assert abs(barrier.item() - 17.78) < 0.01  # "about e^-18"


def test_langevin_contract(gen):
    score = S.gaussian_score(MEAN, COV)
    x0 = torch.zeros(7, 2, dtype=F64)
    x, traj = mcmc.langevin(score, x0, 0.1, 5, torch.Generator().manual_seed(3), return_trajectory=True)
    assert x.shape == (7, 2) and traj.shape == (6, 7, 2) and torch.equal(traj[-1], x) and torch.equal(traj[0], x0)
    assert torch.equal(mcmc.langevin(score, x0, 0.1, 5, torch.Generator().manual_seed(3)), x)
    assert torch.equal(mcmc.langevin(score, x0, 0.1, 0), x0)
    per_chain = mcmc.langevin(score, x0, torch.full((7,), 0.1, dtype=F64), 5, torch.Generator().manual_seed(3))
    assert torch.equal(per_chain, x)
    assert mcmc.langevin(score, x0.float(), 0.1, 3).dtype == torch.float32
    for kw, name in [(dict(step_size=-0.1), "step_size"), (dict(n_steps=-1), "n_steps"),
                     (dict(step_size=torch.ones(3)), "step_size")]:
        args = dict(step_size=0.1, n_steps=2) | kw
        with pytest.raises(ValueError, match=name):
            mcmc.langevin(score, x0, **args)
    with pytest.raises(ValueError, match="x"):
        mcmc.langevin(score, torch.zeros(2, dtype=F64), 0.1, 2)
    with pytest.raises((ValueError, TypeError), match="score_fn"):
        mcmc.langevin(lambda y: y[:, 0], x0, 0.1, 2)


@pytest.mark.claim
def test_plain_langevin_keeps_the_start_split_and_annealed_fixes_it():
    """The page's claim with exact scores: plain ≈ 0.5 from a uniform start, annealed ≥ 0.75."""
    far = run.far_mixture()
    g = torch.Generator().manual_seed(shifted_seed(0))
    x0 = run.uniform_start(2000, generator=g)
    plain = S.mode_share(mcmc.langevin(S.mixture_score(far), x0, 0.05, 1000, g), far.means)
    assert 0.45 < plain[0] < 0.55
    shares = run.share_over_steps(S.mixture_score(far), x0, 0.05, (0, 300, 3000), g)
    assert all(0.45 < s < 0.55 for s in shares)
    sig = mcmc.geometric_sigmas(6.0, 0.1, 8, dtype=F64)
    exact = lambda y, s: S.mixture_score(S.noised_mixture(far, float(s[0])))(y)
    x, traj = mcmc.annealed_langevin(exact, x0, sig, 0.005, 50, g, return_trajectory=True)
    assert traj.shape == (8 * 50 + 1, 2000, 2) and torch.equal(traj[-1], x)
    assert 0.75 <= S.mode_share(x, far.means)[0] <= 0.85
    with pytest.raises(ValueError, match="decreasing"):
        mcmc.annealed_langevin(exact, x0, sig.flip(0), 0.005, 5)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_losses_follow_the_input_dtype(dtype):
    net = S.ScoreNet(hidden=8).to(dtype)
    x = torch.randn(6, 2, dtype=dtype)
    g = torch.Generator().manual_seed(0)
    for loss in (S.implicit_score_matching_loss(net, x), S.sliced_score_matching_loss(net, x, 2, g),
                 S.denoising_score_matching_loss(net, x, 0.3, g),
                 S.fisher_divergence(net, lambda y: -y, x)):
        assert loss.dtype == dtype and loss.ndim == 0
    cond = S.ScoreNet(conditional=True).to(dtype)
    assert S.noise_conditional_dsm_loss(cond, x, mcmc.geometric_sigmas(1.0, 0.1, 3, dtype=dtype), g).dtype == dtype
    assert mcmc.annealed_langevin(cond, x, mcmc.geometric_sigmas(1.0, 0.1, 3, dtype=dtype), 0.01, 2, g).dtype == dtype


def test_mode_share():
    means = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=F64)
    share = S.mode_share(torch.tensor([[-2.0, 0.0], [-0.5, 1.0], [3.0, 0.0], [0.2, 0.0]], dtype=F64), means)
    assert torch.equal(share, torch.tensor([0.5, 0.5], dtype=F64))
    with pytest.raises(ValueError, match="means"):
        S.mode_share(torch.zeros(3, 2), torch.zeros(2, 3))


@pytest.mark.slow
@pytest.mark.claim
def test_learned_noise_conditional_score_gets_the_weights():
    """The page's claims about the trained noise-conditional network, at its settings and seed."""
    far = run.far_mixture()
    g = torch.Generator().manual_seed(shifted_seed(0))
    sig = mcmc.geometric_sigmas(6.0, 0.1, 8, dtype=F64)
    model, hist = run.fit_ncsn(far.sample((4096,), generator=g), sig, generator=gencore.generator(0), progress=False)
    x0 = run.uniform_start(2000, generator=g)
    assert 0.75 <= S.mode_share(mcmc.annealed_langevin(model, x0, sig, 0.005, 50, g), far.means)[0] <= 0.85
    smin = lambda y: model(y, torch.full((len(y),), sig[-1].item(), dtype=y.dtype))
    assert 0.4 < S.mode_share(mcmc.langevin(smin, x0, 0.01, 500, g), far.means)[0] < 0.6
    high, low = run.score_error_by_density(model, far, 0.1)
    assert high < 1.0 and low > 3 * high  # accurate on the data, several times worse where there are none


def test_score_net_contract():
    net = S.ScoreNet(conditional=True).double()
    x = torch.zeros(4, 2, dtype=F64)
    assert net(x, torch.full((4,), 0.5, dtype=F64)).shape == (4, 2)
    with pytest.raises(ValueError, match="sigma"):
        net(x)


# ------------------------------------------------------------------ the link to diffusion
def test_tweedie_and_eps_prediction_is_a_scaled_score():
    far = run.far_mixture()
    for a in (0.9, 0.3, 0.01):
        q_t = S.noised_mixture(far, math.sqrt(1 - a), scale=math.sqrt(a))
        xt = q_t.sample((500,), generator=torch.Generator().manual_seed(0))
        score = S.mixture_score(q_t)(xt)
        tweedie = (xt + (1 - a) * score) / math.sqrt(a)
        assert (tweedie - S.posterior_mean(far, xt, a)).abs().max() < 1e-10
        eps_hat = (xt - math.sqrt(a) * S.posterior_mean(far, xt, a)) / math.sqrt(1 - a)
        assert (eps_hat + math.sqrt(1 - a) * score).abs().max() < 1e-10


# -------------------------------------------------------------------------- the exercise
def reference_ism(score_fn, x):
    x = x.detach().requires_grad_(True)
    s = score_fn(x)
    trace = sum(torch.autograd.grad(s[:, d].sum(), x, create_graph=True)[0][:, d] for d in range(x.shape[1]))
    return (0.5 * (s**2).sum(-1) + trace).mean()


def test_checker_accepts_reference_and_library():
    for fn in (reference_ism, S.implicit_score_matching_loss):
        verdict = check_implicit_score_matching(fn)
        assert verdict and str(verdict).startswith("Correct")


def _variant(which):
    def fn(score_fn, x):
        x = x.detach().requires_grad_(True)
        s = score_fn(x)
        grads = [torch.autograd.grad(s[:, d].sum(), x, create_graph=which != "no_graph")[0] for d in range(2)]
        trace = grads[0][:, 0] + grads[1][:, 1]
        half = 0.5 * (s**2).sum(-1)
        return {"half": (2 * half + trace).mean(), "sign": (half - trace).mean(), "sum": (half + trace).sum(),
                "all": (half + grads[0].sum(-1) + grads[1].sum(-1)).mean(), "no_trace": half.mean(),
                "per_sample": half + trace, "no_graph": (half + trace).mean(),
                "detached": (half + trace).mean().detach(), "f64": (half + trace).mean().double()}[which]
    return fn


@pytest.mark.parametrize("which,hint", [
    ("half", "½"), ("sign", "sign"), ("sum", "mean"), ("all", "diagonal"), ("no_trace", "trace term is missing"),
    ("per_sample", "scalar"), ("no_graph", "create_graph"), ("detached", "detach"), ("f64", "float32"),
])
def test_checker_explains_typical_mistakes(which, hint):
    verdict = check_implicit_score_matching(_variant(which))
    assert not verdict and hint in verdict.message, verdict.message
    assert "Not yet" in verdict._repr_html_()


def test_checker_survives_errors_and_wrong_types():
    assert "raised" in check_implicit_score_matching(lambda s, x: 1 / 0).message
    assert "torch.Tensor" in check_implicit_score_matching(lambda s, x: 0.0).message
    assert "returned" in check_implicit_score_matching(lambda s, x: torch.zeros((), dtype=x.dtype)).message


# ------------------------------------------------------------------------- device: meta
def test_main_functions_run_on_the_meta_device():
    """Shapes and devices follow the input: nothing is built on the CPU behind the caller's back."""
    x = torch.empty(64, 2, dtype=F64, device="meta")
    gauss = S.gaussian_score(torch.zeros(2, dtype=F64, device="meta"), torch.eye(2, dtype=F64, device="meta"))
    for out in (gauss(x), S.ScoreNet(2, 8).double().to("meta")(x),
                S.ScoreNet(2, 8, conditional=True).double().to("meta")(x, torch.empty(64, dtype=F64, device="meta"))):
        assert out.device.type == "meta" and out.shape == (64, 2)
    loss = S.denoising_score_matching_loss(gauss, x, 0.5)
    assert loss.device.type == "meta" and loss.shape == ()
    loss = S.noise_conditional_dsm_loss(lambda y, s: -y / s[:, None] ** 2, x, torch.ones(3, dtype=F64, device="meta"))
    assert loss.device.type == "meta"
    assert S.mode_share(x, torch.zeros(3, 2, dtype=F64, device="meta")).shape == (3,)
    assert mcmc.langevin(gauss, x, 0.1, 3).device.type == "meta"
    assert mcmc.langevin(gauss, x, torch.full((64,), 0.1, dtype=F64, device="meta"), 2).shape == (64, 2)


@pytest.mark.parametrize("create_graph", [True, False])
def test_jacobian_trace_matches_the_full_autograd_jacobian(create_graph):
    # s(x) = tanh(x A) + x * |x|^2 row by row: a non-linear field whose Jacobian autograd builds whole
    a = torch.tensor([[0.3, -1.2, 0.5], [0.8, 0.1, -0.4], [-0.6, 0.9, 1.1]], dtype=torch.float64)

    def field(x):
        return torch.tanh(x @ a) + x * x.pow(2).sum(-1, keepdim=True)

    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    tr = S.jacobian_trace(field(x), x, create_graph=create_graph)
    want = torch.stack([torch.autograd.functional.jacobian(field, xi[None])[0, :, 0, :].trace() for xi in x.detach()])
    torch.testing.assert_close(tr.detach(), want)
    assert tr.requires_grad == create_graph


# ------------------------------------------------------------------- device: the stand-in accelerator
def test_chapter_recipes_run_on_the_device_with_the_cpus_numbers():
    """The chapter's Langevin runs, Gaussian table and NCSN recipe on a stand-in accelerator (tests/fakedevice.py):
    no host tensor meets a device one, and the numbers are the CPU's (the noise is drawn by CPU generators)."""
    from fakedevice import active

    near, far = run.near_mixture(), run.far_mixture()
    sigmas = mcmc.geometric_sigmas(6.0, 0.1, 4, dtype=F64)

    def recipes(device=None):
        runs = run.langevin_runs(near, (0.05, 0.2), (0, 5, 20), n_chains=40, n_paths=2, repeats=2,
                                 generator=torch.Generator().manual_seed(0), device=device)
        rows = run.gaussian_langevin_rows(MEAN.to(device), COV.to(device), [0.1], [5, 20], n_chains=50,
                                          generator=torch.Generator().manual_seed(1))
        data = far.sample((256,), generator=torch.Generator().manual_seed(2)).to(device)
        model, _ = run.fit_ncsn(data, sigmas.to(device), steps=5, batch=64, hidden=8,
                                generator=torch.Generator().manual_seed(3), progress=False)
        x0 = run.uniform_start(64, generator=torch.Generator().manual_seed(4), device=device)
        annealed = mcmc.annealed_langevin(model, x0, sigmas.to(device), 0.01, 3, torch.Generator().manual_seed(5))
        return (runs.samples.cpu(), runs.share.cpu(), runs.sw, [r["mean_err"] for r in rows],
                run.score_error_by_density(model, far, 0.1, resolution=20), annealed.cpu())

    on_cpu = recipes()
    with active() as dev:
        on_device = recipes(dev)
    for a, b in zip(on_cpu, on_device):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b)
        else:
            assert a == b


def test_sliders_take_a_model_on_the_device_and_draw_from_the_host():
    from fakedevice import active

    from gencore.figures import score as fig

    far = run.far_mixture()
    sigmas = mcmc.geometric_sigmas(6.0, 0.1, 3, dtype=F64)
    with active() as dev:
        model = S.ScoreNet(2, 8, conditional=True, generator=torch.Generator().manual_seed(0), dtype=F64, device=dev)
        runs = run.langevin_runs(run.near_mixture(), (0.05, 0.2), (0, 5, 10), n_chains=30, n_paths=2, repeats=2,
                                 generator=torch.Generator().manual_seed(0), device=dev)
        demos = [fig.sigma_slider(model, far, sigmas), fig.langevin_slider(run.near_mixture(), runs, live=False)]
    for demo in demos:
        for k in range(len(next(iter(demo.params.values())).values)):
            index = list(demo.initial_index)
            index[0] = k
            assert demo.render(index)[:4] == b"\x89PNG"



# ------------------------------------------------------------------------------ Tweedie, the SDE view, a thin support
def test_tweedie_for_additive_noise_is_the_vp_form_rescaled():
    """E[x | x + sigma eps] = x_tilde + sigma^2 grad log p_sigma, against the closed-form posterior mean (via VP)."""
    near = run.near_mixture()
    g = torch.Generator().manual_seed(2)
    for sigma in (0.2, 0.5, 2.0):
        p_sigma = S.noised_mixture(near, sigma)
        x = p_sigma.sample((500,), generator=g)
        a = 1 / (1 + sigma**2)
        tweedie = x + sigma**2 * S.mixture_score(p_sigma)(x)
        assert torch.allclose(tweedie, S.posterior_mean(near, math.sqrt(a) * x, a), atol=1e-10)


def test_vp_sde_is_the_limit_of_ddpm_chain():
    """alpha_bar(t) = exp(-int beta) against the product of (1 - beta_i) with beta_i = beta(i/T)/T, T large."""
    T = 20_000
    i = torch.arange(1, T + 1, dtype=F64)
    betas = (0.1 + (i / T) * (20.0 - 0.1)) / T
    prod = torch.cumprod(1 - betas, 0)
    for t in (0.1, 0.5, 1.0):
        assert Q.vp_alpha_bar(t) == pytest.approx(prod[int(t * T) - 1].item(), rel=1e-2)  # O(sum beta_i^2) apart
    assert Q.vp_beta(0.0) == 0.1 and Q.vp_beta(1.0) == 20.0


def test_pf_ode_carries_every_marginal_to_the_next():
    """The ODE's affine map takes the exact p_1 to the exact p_t at t = 0.5 and t = 0."""
    mean, cov = torch.tensor([1.0, -0.5], dtype=F64), torch.tensor([[0.5, 0.3], [0.3, 0.4]], dtype=F64)
    score = Q.gaussian_score_at(mean, cov)
    m1, c1 = Q.gaussian_marginal(mean, cov, Q.vp_alpha_bar(1.0))
    basis = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=F64)
    for t in (0.5, 0.0):
        out = Q.pf_ode(score, basis, 1.0, t, 200)
        A, b = (out[1:] - out[0]).T, out[0]
        mt, ct = Q.gaussian_marginal(mean, cov, Q.vp_alpha_bar(t))
        assert torch.allclose(A @ m1 + b, mt, atol=1e-7) and torch.allclose(A @ c1 @ A.T, ct, atol=1e-7)
    # the score itself against autograd of the Gaussian log-density
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=F64).requires_grad_(True)
    mt, ct = Q.gaussian_marginal(mean, cov, Q.vp_alpha_bar(0.3))
    auto = torch.autograd.grad(torch.distributions.MultivariateNormal(mt, ct).log_prob(x).sum(), x)[0]
    assert torch.allclose(score(x.detach(), 0.3), auto, atol=1e-12)


@pytest.mark.claim
def test_the_pages_flow_claims():
    """The page's check: the ODE exact to the solver's error, the reverse SDE within Monte Carlo error."""
    mean, cov = torch.tensor([1.0, -0.5], dtype=F64), torch.tensor([[0.5, 0.3], [0.3, 0.4]], dtype=F64)
    flows = run.flows_on_gaussian_data(mean, cov, n=10_000, generator=gencore.generator(11))
    assert flows.ode_mean_err < 1e-7 and flows.ode_cov_err < 1e-7
    assert flows.sde_mean_err < 4 * flows.sde_mean_se + 0.005
    assert flows.sde_cov_err < 0.03


def _ring_log_prob(x, radius, sigma, m=4096):
    """log p_sigma by the periodic midpoint rule over the circle (spectrally accurate): an independent reference."""
    phi = 2 * math.pi * (torch.arange(m, dtype=F64) + 0.5) / m
    pts = radius * torch.stack([phi.cos(), phi.sin()], -1)
    sq = ((x[:, None, :] - pts) ** 2).sum(-1)
    return torch.logsumexp(-sq / (2 * sigma**2), -1) - math.log(m) - math.log(2 * math.pi * sigma**2)


@pytest.mark.parametrize("sigma", [0.1, 0.5])
def test_ring_score_against_autograd_of_the_smoothed_circle(sigma):
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(200, 2, generator=g, dtype=F64) * 4 - 2).requires_grad_(True)
    auto = torch.autograd.grad(_ring_log_prob(x, 1.3, sigma).sum(), x)[0]
    assert torch.allclose(Q.ring_score(x.detach(), 1.3, sigma), auto, atol=1e-8, rtol=1e-8)
    assert torch.equal(Q.ring_score(torch.zeros(1, 2, dtype=F64), 1.3, sigma), torch.zeros(1, 2, dtype=F64))
    # the density integrates to one (so the reference is the normalized p_sigma)
    pts, area = grid((-4, 4, -4, 4), 120, dtype=F64)  # node spacing 2π·1.3/512 ≈ 0.016, well under σ
    assert (_ring_log_prob(pts, 1.3, sigma, m=512).exp() * area).sum().item() == pytest.approx(1.0, abs=1e-6)


def test_ring_pitfall_numbers():
    """The page's claims: off the curve the small-sigma score is distance / sigma^2, and DSM has no data there."""
    out = run.ring_pitfall(sigmas=(0.05, 0.5), distance=0.5)
    size, ratio, share = out[0.05]
    assert ratio == pytest.approx(1.0, abs=0.01) and size > 150 and share < 1e-20
    size_large, ratio_large, share_large = out[0.5]
    assert size_large < 5 and share_large > 0.5
    x = run.noised_ring(2000, 0.05, generator=torch.Generator().manual_seed(0))
    assert (x.norm(dim=-1) - 1).abs().max() < 0.3  # no noised point half a unit off the circle
