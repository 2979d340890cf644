"""Chapter 2's identities and claims, each asserted numerically (float64)."""
from __future__ import annotations

import math

import pytest
import torch
from fakedevice import active
from scipy import stats

from gencore import data, metrics
from gencore import latents as Lt
from gencore import reparam as R
from gencore.exercises.reparam import check_score_function
from gencore.experiments import reparam as run
from gencore.figures import reparam as fig

F64 = torch.float64


def g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ inverse CDF
def test_inverse_cdf_matches_closed_form_exponential():
    icdf = R.inverse_cdf(lambda x: -2.0 * x, 0.0, 25.0, 20001, dtype=F64)
    u = torch.linspace(0.001, 0.999, 101, dtype=F64)
    assert (icdf(u) - (-torch.log1p(-u) / 2.0)).abs().max() < 1e-3
    assert icdf.log_Z == pytest.approx(math.log(0.5), abs=1e-5)
    assert (icdf.cdf_at(icdf(u)) - u).abs().max() < 1e-10  # F(F^-1(u)) = u


def test_inverse_cdf_normalizes_in_log_space():
    # a density far below float underflow before normalization: log p = -1000 - x^2 / 2
    icdf = R.inverse_cdf(lambda x: -1000.0 - 0.5 * x**2, -10.0, 10.0, 4001, dtype=F64)
    assert icdf.log_Z == pytest.approx(-1000 + 0.5 * math.log(2 * math.pi), abs=1e-6)
    assert float(icdf.log_density.exp().sum() * (icdf.xs[1] - icdf.xs[0])) == pytest.approx(1.0, abs=1e-6)


def test_double_well_samples_pass_ks_and_match_the_quadrature_mean():
    """The chapter's check: KS test, and the sample mean against the quadrature mean."""
    icdf = R.inverse_cdf(R.double_well, -3.0, 3.0, resolution=2001)
    assert icdf.xs.dtype == torch.get_default_dtype() or icdf.xs.dtype == F64
    import numpy as np
    from scipy import integrate

    icdf = R.inverse_cdf(R.double_well, -3.0, 3.0, resolution=2001, dtype=F64)
    # an independent reference CDF (Simpson's rule, 100 times finer), not the sampler's own table
    t = np.linspace(-3.0, 3.0, 200_001)
    ref = integrate.cumulative_simpson(np.exp(R.double_well(torch.as_tensor(t)).numpy()), x=t, initial=0)
    ref /= ref[-1]
    assert np.abs(icdf.cdf.numpy() - np.interp(icdf.xs.numpy(), t, ref)).max() < 1e-4
    for seed in range(3):
        x = icdf.sample(20_000, g(seed))
        assert x.dtype == F64
        assert stats.kstest(x.numpy(), lambda v: np.interp(v, t, ref)).pvalue > 0.01
        mean = float((icdf.xs * icdf.log_density.exp()).sum() * (icdf.xs[1] - icdf.xs[0]))
        assert abs(x.mean().item() - mean) < 4 * x.std().item() / math.sqrt(len(x))
    assert icdf.log_Z == pytest.approx(0.4478, abs=1e-3)  # printed on the page
    assert torch.equal(icdf.sample(10, g(1)), icdf.sample(10, g(1)))


def test_inverse_cdf_rejects_bad_arguments():
    with pytest.raises(ValueError, match="hi"):
        R.inverse_cdf(R.double_well, 1.0, 1.0)
    with pytest.raises(ValueError, match="resolution"):
        R.inverse_cdf(R.double_well, -1.0, 1.0, resolution=2)
    with pytest.raises(ValueError, match="log_density"):
        R.inverse_cdf(lambda x: x.sum(), -1.0, 1.0)
    icdf = R.inverse_cdf(R.double_well, -3.0, 3.0, dtype=F64)
    with pytest.raises(ValueError, match="u"):
        icdf(torch.tensor([1.5], dtype=F64))
    with pytest.raises(ValueError, match="n"):
        icdf.sample(0)


def test_grid_chain_rule_sampler_on_a_correlated_gaussian():
    cov = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=F64)
    p = torch.distributions.MultivariateNormal(torch.tensor([0.5, -0.5], dtype=F64), cov)
    x = R.grid_sample_2d(p.log_prob, (-6, 6, -6, 6), 300, 40_000, g(0), dtype=F64)
    assert x.shape == (40_000, 2) and x.dtype == F64
    assert (x.mean(0) - p.mean).abs().max() < 0.02
    assert (torch.cov(x.T) - cov).abs().max() < 0.03
    assert torch.equal(R.grid_sample_2d(p.log_prob, (-6, 6, -6, 6), 50, 5, g(3), dtype=F64),
                       R.grid_sample_2d(p.log_prob, (-6, 6, -6, 6), 50, 5, g(3), dtype=F64))
    with pytest.raises(ValueError, match="extent"):
        R.grid_sample_2d(p.log_prob, (1, 0, 0, 1), 50, 5)


def test_grid_chain_rule_sampler_on_moons_is_near_the_floor():
    """The page: sliced W2 of grid samples vs exact ones, next to exact vs exact."""
    moons = data.make("moons")
    ratios = []
    for seed in range(2):
        gen = g(seed)
        x_grid = R.grid_sample_2d(moons.log_prob, (-4, 4, -4, 4), 300, 5000, gen)
        x1, x2 = moons.sample((5000,), generator=gen), moons.sample((5000,), generator=gen)
        sw = metrics.sliced_wasserstein(x_grid, x1, 256, generator=gen).item()
        floor = metrics.sliced_wasserstein(x2, x1, 256, generator=gen).item()
        assert sw < 0.06
        ratios.append(sw / floor)
    assert max(ratios) < 3.0


# ------------------------------------------------------------------------------- Box-Muller
def test_box_muller_passes_normality_tests():
    for seed in range(3):
        u = torch.rand(2, 2000, generator=g(seed), dtype=F64)
        z1, z2 = R.box_muller(1 - u[0], u[1])
        z = torch.cat([z1, z2])
        assert z.dtype == F64
        assert stats.shapiro(z.numpy()).pvalue > 0.01
        assert stats.kstest(z.numpy(), "norm").pvalue > 0.01
        assert abs(torch.corrcoef(torch.stack([z1, z2]))[0, 1]) < 4 / math.sqrt(2000)
    z = R.normal_box_muller(7, g(0), dtype=F64)
    assert z.shape == (7,) and z.dtype == F64


def test_box_muller_jacobian_gives_the_normal_density():
    """Proposition prop-reparam-box-muller: density of z = |det du/dz| = phi(z1) phi(z2)."""
    def inverse(z):
        u1 = torch.exp(-0.5 * (z**2).sum())
        u2 = torch.remainder(torch.atan2(z[1], z[0]), 2 * math.pi) / (2 * math.pi)
        return torch.stack([u1, u2])

    for z in torch.tensor([[0.3, -1.2], [1.5, 0.7], [-2.0, -0.1]], dtype=F64):
        jac = torch.autograd.functional.jacobian(inverse, z)
        phi = torch.exp(-0.5 * (z**2).sum()) / (2 * math.pi)
        assert abs(torch.linalg.det(jac).abs() - phi) < 1e-12
        z1, z2 = R.box_muller(*inverse(z))  # and the map inverts
        assert torch.allclose(torch.stack([z1, z2]), z, atol=1e-12)


def test_box_muller_rejects_bad_input():
    with pytest.raises(ValueError, match="u1"):
        R.box_muller(torch.tensor([0.0]), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="same shape"):
        R.box_muller(torch.rand(3), torch.rand(4))


# ------------------------------------------------------------------- gradient estimators
def z2(z):
    return z**2


@pytest.mark.parametrize("mu,sigma", [(0.5, 1.2), (-1.0, 0.3)])
def test_estimators_unbiased_for_z_squared(mu, sigma):
    """Each estimator within 4 standard errors of the exact gradient (2 mu, 2 sigma)."""
    exact = torch.tensor([2 * mu, 2 * sigma], dtype=F64)
    n = 100_000
    eps = torch.randn(n, generator=g(1), dtype=F64)
    m, s = torch.tensor(mu, dtype=F64), torch.tensor(sigma, dtype=F64)
    for terms in (R.pathwise_terms(z2, m, s, eps), R.score_function_terms(z2, m, s, eps),
                  R.score_function_terms(z2, m, s, eps, baseline="mean"),
                  R.score_function_terms(z2, m, s, eps, baseline=3.0)):
        se = terms.std(0) / math.sqrt(n)
        assert ((terms.mean(0) - exact).abs() < 4 * se).all()


def test_public_estimators_match_their_terms_and_the_exact_gradient():
    exact = torch.tensor([1.0, 2.4], dtype=F64)
    mu, sigma = torch.tensor(0.5, dtype=F64), 1.2
    for est, kw in ((R.pathwise_grad, {}), (R.score_function_grad, {}), (R.score_function_grad, {"baseline": "mean"})):
        gr = est(z2, mu, sigma, 200_000, generator=g(2), **kw)
        assert gr.shape == (2,) and gr.dtype == F64
        assert (gr - exact).abs().max() < 0.12
        assert torch.equal(gr, est(z2, mu, sigma, 200_000, generator=g(2), **kw))  # seeded


def test_pathwise_grad_is_autograd_through_mu_plus_sigma_eps():
    """The ten-line core on the page: autograd of mean f(mu + sigma eps) is the pathwise estimate."""
    mu = torch.tensor(0.5, dtype=F64, requires_grad=True)
    sigma = torch.tensor(1.2, dtype=F64, requires_grad=True)
    eps = torch.randn(1000, generator=g(7), dtype=F64)
    (mu + sigma * eps).pow(2).mean().backward()
    lib = R.pathwise_grad(z2, torch.tensor(0.5, dtype=F64), 1.2, 1000, generator=g(7))
    assert torch.allclose(torch.stack([mu.grad, sigma.grad]), lib, atol=1e-12)


def test_estimators_on_the_bump_match_its_closed_form():
    for w in (0.3, 1.0):
        f = lambda z: R.bump(z, 0.0, w)  # noqa: E731
        _, exact = R.bump_expectation_grad(torch.tensor(1.0, dtype=F64), 1.0, 0.0, w)
        quad = R.exact_grad_quadrature(f, 1.0, 1.0)
        assert (quad - exact).abs().max() < 1e-10
        e_closed, _ = R.bump_expectation_grad(torch.tensor(1.0, dtype=F64), 1.0, 0.0, w)
        z = torch.randn(400_000, generator=g(3), dtype=F64) + 1.0
        assert abs(f(z).mean() - e_closed) < 4 * f(z).std() / math.sqrt(len(z))
        n = 200_000
        eps = torch.randn(n, generator=g(4), dtype=F64)
        for terms in (R.pathwise_terms(f, torch.tensor(1.0, dtype=F64), torch.tensor(1.0, dtype=F64), eps),
                      R.score_function_terms(f, torch.tensor(1.0, dtype=F64), torch.tensor(1.0, dtype=F64), eps, "mean")):
            assert ((terms.mean(0) - exact).abs() < 4 * terms.std(0) / math.sqrt(n)).all()


def test_score_function_handles_a_step_and_pathwise_refuses_it():
    step = lambda z: (z > 0).to(z.dtype)  # noqa: E731
    mu, sigma = 0.3, 0.8
    phi = math.exp(-0.5 * (mu / sigma) ** 2) / math.sqrt(2 * math.pi)
    exact = torch.tensor([phi / sigma, -mu / sigma**2 * phi], dtype=F64)
    assert (R.exact_grad_quadrature(step, mu, sigma) - exact).abs().max() < 1e-3  # O(h) for a jump
    est = R.score_function_grad(step, torch.tensor(mu, dtype=F64), sigma, 400_000, baseline="mean", generator=g(5))
    assert (est - exact).abs().max() < 0.01
    with pytest.raises(ValueError, match="differentiable"):
        R.pathwise_grad(step, mu, sigma, 10)


def test_estimators_broadcast_and_follow_dtype():
    mu = torch.tensor([0.0, 1.0, -2.0], dtype=F64)
    out = R.pathwise_grad(z2, mu, 0.5, 50_000, generator=g(0))
    assert out.shape == (2, 3) and out.dtype == F64
    assert (out[0] - 2 * mu).abs().max() < 0.05 and (out[1] - 1.0).abs().max() < 0.05
    f32 = torch.float32
    out = R.score_function_grad(z2, torch.zeros(4, 1, dtype=f32), torch.ones(1, 5, dtype=f32), 10, generator=g(0))
    assert out.shape == (2, 4, 5) and out.dtype == f32                     # the inputs' dtype
    g_mu, g_sigma = R.pathwise_grad(z2, 0.0, 1.0, 10)  # unpacks like a pair
    assert g_mu.shape == ()


def test_device_follows_the_inputs():
    mu = torch.zeros(3, device="meta", dtype=F64)
    for out in (R.pathwise_grad(z2, mu, 1.0, 10), R.score_function_grad(z2, mu, 1.0, 10, baseline="mean")):
        assert out.device.type == "meta" and out.shape == (2, 3) and out.dtype == F64
    z1, _ = R.box_muller(torch.rand(3, device="meta"), torch.rand(3, device="meta"))
    assert z1.device.type == "meta"


@pytest.mark.parametrize("fn", [R.pathwise_grad, R.score_function_grad])
def test_estimators_reject_bad_arguments(fn):
    with pytest.raises(ValueError, match="sigma"):
        fn(z2, 0.0, 0.0, 10)
    with pytest.raises(ValueError, match="sigma"):
        fn(z2, 0.0, torch.tensor([1.0, -1.0]), 10)
    for n in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n must"):
            fn(z2, 0.0, 1.0, n)
    with pytest.raises(ValueError, match="f must"):
        fn(lambda z: z.sum(), 0.0, 1.0, 10)


def test_baseline_arguments():
    with pytest.raises(ValueError, match="baseline"):
        R.score_function_grad(z2, 0.0, 1.0, 1, baseline="mean")
    with pytest.raises(ValueError, match="baseline"):
        R.score_function_grad(z2, 0.0, 1.0, 10, baseline="median")
    with pytest.raises(ValueError, match="estimator"):
        run.estimator_stats("other", z2, 0.0, 1.0, 10)


def test_per_sample_variances_of_the_exercise():
    """Exercise ex-reparam-variance: 4, 15 and 10 at mu = 0, sigma = 1, f = z^2."""
    eps = torch.randn(2_000_000, generator=g(6), dtype=F64)
    m, s = torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64)
    assert R.pathwise_terms(z2, m, s, eps)[:, 0].var().item() == pytest.approx(4.0, rel=0.02)
    assert R.score_function_terms(z2, m, s, eps)[:, 0].var().item() == pytest.approx(15.0, rel=0.04)
    assert R.score_function_terms(z2, m, s, eps, baseline=1.0)[:, 0].var().item() == pytest.approx(10.0, rel=0.04)
    # part (d): the best constant baseline E[f g²]/E[g²] = 3 leaves 6, less than E[f] = 1 leaves
    g2 = eps**2
    b_star = ((eps**2) * g2).mean() / g2.mean()
    assert b_star.item() == pytest.approx(3.0, rel=0.02)
    assert R.score_function_terms(z2, m, s, eps, baseline=3.0)[:, 0].var().item() == pytest.approx(6.0, rel=0.04)
    for b in (1.0, 2.0, 4.0):  # 3 is the minimum over constants
        assert (R.score_function_terms(z2, m, s, eps, baseline=b)[:, 0].var()
                > R.score_function_terms(z2, m, s, eps, baseline=3.0)[:, 0].var())


# ------------------------------------------------------------------------ variance studies
@pytest.fixture(scope="module")
def study():
    return run.variance_study(mu=1.0, sigma=1.0, repeats=1000, width=0.3, generator=g(11))


def test_variance_study_numbers_behind_the_figure(study):
    i = study.ns.index(100)
    zname, bname = study.names
    v = {est: study.variance(zname, est)[i, 0].item() for est in run.ESTIMATORS}
    assert v["pathwise"] == pytest.approx(0.04, rel=0.15)  # 4 sigma^2 / n
    assert v["pathwise"] < v["score+baseline"] < v["score"]
    assert v["score"] > 4 * v["pathwise"]
    vb = {est: study.variance(bname, est)[i, 0].item() for est in run.ESTIMATORS}
    assert max(vb["score"], vb["score+baseline"]) * 3 < vb["pathwise"]  # the order reverses
    for name in study.names:  # every estimator unbiased: mean within 4 standard errors
        for est in run.ESTIMATORS:
            e = study.estimates[name][est][i, :, 0]
            assert abs(e.mean() - study.exact[name][0]) < 4 * e.std() / math.sqrt(len(e))


def test_variance_slopes_are_minus_one(study):
    logn = torch.log(torch.tensor(study.ns, dtype=F64))
    design = torch.stack([logn, torch.ones_like(logn)], 1)
    for name in study.names:
        slope = {est: study.slope(name, est) for est in run.ESTIMATORS}
        ref = torch.linalg.lstsq(design, study.variance(name, "score")[:, 0].log()[:, None]).solution[0, 0].item()
        assert slope["score"] == pytest.approx(ref, abs=1e-12)
        assert abs(slope["pathwise"] + 1) < 0.05 and abs(slope["score"] + 1) < 0.05
        assert -1.25 < slope["score+baseline"] < -1.0  # steeper: the baseline is noisy at small n


def test_peakedness_crossover():
    peak = run.peakedness_study(mu=1.0, sigma=1.0, n=100, repeats=1000, generator=g(12))
    rv = peak["relative_variance"]
    assert rv["pathwise"][0] > 50 * rv["score"][0]  # w = 0.05: the score function wins by far
    assert rv["pathwise"][-1] < rv["score+baseline"][-1] < rv["score"][-1]  # w = 3: pathwise wins
    cross = peak["widths"][(rv["pathwise"] < rv["score+baseline"]).nonzero()[0, 0]].item()
    assert 0.7 < cross < 2.0
    narrow = rv["pathwise"][:7]  # widths up to about 1: pathwise variance grows as f narrows
    assert (narrow[1:] < narrow[:-1]).all()


def test_pathwise_variance_grows_like_one_over_width():
    """For a bump of width w << sigma, E[f'(z)^2] is about q(a) sqrt(pi) / (2 w)."""
    eps = torch.randn(4_000_000, generator=g(13), dtype=F64)
    m, s = torch.tensor(1.0, dtype=F64), torch.tensor(1.0, dtype=F64)
    var = {w: R.pathwise_terms(lambda z: R.bump(z, 0.0, w), m, s, eps)[:, 0].var().item() for w in (0.05, 0.1)}
    assert 1.7 < var[0.05] / var[0.1] < 2.3
    q_at_bump = math.exp(-0.5) / math.sqrt(2 * math.pi)
    assert var[0.05] == pytest.approx(q_at_bump * math.sqrt(math.pi) / (2 * 0.05), rel=0.1)


# -------------------------------------------------------------------- noise through a map
def test_banana_density_by_change_of_variables():
    b, s = 0.5, 0.5
    from gencore.quadrature import log_integral

    assert abs(log_integral(lambda x: R.banana_log_prob(x, b, s), (-8, 8, -6, 14), 800).item()) < 1e-4
    eps = torch.randn(5, 2, generator=g(0), dtype=F64)
    for e in eps:
        jac = torch.autograd.functional.jacobian(lambda t: R.banana_push(t, b, s), e)
        log_n = -0.5 * (e**2).sum() - math.log(2 * math.pi)
        x = R.banana_push(e[None], b, s)
        assert torch.allclose(R.banana_log_prob(x, b, s)[0], log_n - torch.linalg.det(jac).abs().log(), atol=1e-12)
    x = R.banana_push(torch.randn(100_000, 2, generator=g(1), dtype=F64), b, s)
    nll = -R.banana_log_prob(x, b, s)
    assert abs(nll.mean() - (math.log(2 * math.pi * math.e) + math.log(s))) < 4 * nll.std() / math.sqrt(len(nll))
    with pytest.raises(ValueError, match="s must"):
        R.banana_push(eps, b, -1.0)


def test_sliders_have_few_frames_and_render():
    icdf = R.inverse_cdf(R.double_well, -3.0, 3.0, dtype=F64)
    sliders = [fig.inverse_cdf_slider(icdf, icdf.sample(1000, g(0))),
             fig.variance_slider(run.variance_study(repeats=20, generator=g(0))),
             fig.banana_slider(torch.randn(300, 2, generator=g(0), dtype=F64))]
    for d in sliders:
        n = 1
        for p in d.params.values():
            n *= len(p.values)
        assert 2 <= n <= 60
        assert d.render(d.initial_index)[:4] == b"\x89PNG"


# ------------------------------------------------------------------------------- exercise
def test_check_score_function_reference_passes():
    def ref(fz, eps, sigma):
        return torch.stack([(fz * eps / sigma).mean(), (fz * (eps**2 - 1) / sigma).mean()])

    verdict = check_score_function(ref)
    assert verdict and str(verdict).startswith("Correct")


def test_check_score_function_explains_wrong_answers():
    def terms(fz, eps, sigma):
        return torch.stack([fz * eps / sigma, fz * (eps**2 - 1) / sigma])

    cases = {
        "sum": lambda fz, e, s: terms(fz, e, s).sum(1),
        "sign": lambda fz, e, s: -terms(fz, e, s).mean(1),
        "swapped": lambda fz, e, s: terms(fz, e, s).mean(1).flip(0),
        "too large": lambda fz, e, s: (terms(fz, e, s) * s).mean(1),
        "too small": lambda fz, e, s: (terms(fz, e, s) / s).mean(1),
        "normalizing factor": lambda fz, e, s: torch.stack([(fz * e / s).mean(), (fz * e**2 / s).mean()]),
        "one term per sample": lambda fz, e, s: terms(fz, e, s),
        "shape (2,)": lambda fz, e, s: terms(fz, e, s).mean(),
        "raised": lambda fz, e, s: 1 / 0,
        "float32": lambda fz, e, s: terms(fz, e, s).mean(1).double(),
        "not the score-function estimate": lambda fz, e, s: torch.zeros(2, dtype=fz.dtype),
    }
    for hint, fn in cases.items():
        verdict = check_score_function(fn)
        assert not verdict, hint
        assert hint in verdict.message, (hint, verdict.message)


# ------------------------------------------------------------------ the page's claims, at the page's seed
@pytest.mark.slow
@pytest.mark.claim
def test_page_claims_hold_at_the_sweep_seed():
    """The chapter's draws in the chapter's order from ``gencore.generator(0)`` (shifted by GENCORE_SEED),
    and what its text says about them."""
    import gencore

    gen = gencore.generator(0)
    icdf = R.inverse_cdf(R.double_well, -3.0, 3.0, resolution=2001, dtype=F64)
    icdf.sample(20_000, gen)
    moons = data.make("moons", dtype=F64)
    x_grid = R.grid_sample_2d(moons.log_prob, (-4, 4, -4, 4), 300, 5000, gen, dtype=F64)
    x_true = moons.sample((5000,), generator=gen)
    sw_fn = metrics.sliced_w2  # the page's fixed directions
    floor = metrics.floor_spread(sw_fn, lambda n, g_: moons.sample((n,), generator=g_), 5000, 20, gen)
    assert floor.reaches(float(sw_fn(x_grid, x_true)))        # "cannot tell ... from an exact one"
    torch.rand(2, 2000, generator=gen, dtype=F64)               # Box–Muller's uniforms (verdict glued)
    mu0, sigma0, n = 0.5, 1.2, 100_000
    exact = torch.tensor([2 * mu0, 2 * sigma0], dtype=F64)
    m_t, s_t = torch.tensor(mu0, dtype=F64), torch.tensor(sigma0, dtype=F64)
    eps = torch.randn(n, generator=gen, dtype=F64)
    f = lambda z: z**2  # noqa: E731
    for terms in (R.pathwise_terms(f, m_t, s_t, eps), R.score_function_terms(f, m_t, s_t, eps),
                  R.score_function_terms(f, m_t, s_t, eps, "mean")):
        z = (terms.mean(0) - exact).abs() / (terms.std(0) / math.sqrt(n))
        assert z.max() < 3.5                                    # "agree with (1.0, 2.4)"
    study = run.variance_study(mu=1.0, sigma=1.0, repeats=1000, width=0.3, generator=gen)
    i = study.ns.index(100)
    zname, bname = study.names
    v = {est: study.variance(zname, est)[i, 0].item() for est in run.ESTIMATORS}
    vb = {est: study.variance(bname, est)[i, 0].item() for est in run.ESTIMATORS}
    assert v["score"] > 4 * v["pathwise"] and v["score+baseline"] > 2 * v["pathwise"]   # "wins clearly"
    assert max(vb["score"], vb["score+baseline"]) * 3 < vb["pathwise"]                  # "the order reverses"
    for name in study.names:
        assert abs(study.slope(name, "pathwise") + 1) < 0.06 and abs(study.slope(name, "score") + 1) < 0.06
        assert study.slope(name, "score+baseline") < min(study.slope(name, "pathwise"), study.slope(name, "score"))
    peak = run.peakedness_study(mu=1.0, sigma=1.0, n=100, repeats=1000, generator=gen)
    rv = peak["relative_variance"]
    assert rv["pathwise"][0] > 10 * rv["score+baseline"][0] and rv["pathwise"][-1] < rv["score+baseline"][-1]


def test_main_functions_run_on_the_meta_device():
    """Shapes and devices follow the inputs; value checks are skipped where there are no values."""
    meta = dict(device="meta", dtype=F64)
    mu, sigma, eps = torch.zeros(3, **meta), torch.ones(3, **meta), torch.empty(5, 3, **meta)
    assert R.reparameterize(mu, sigma, eps).device.type == "meta"
    assert R.pathwise_grad(lambda z: z**2, mu, sigma, 4).shape == (2, 3)
    assert R.score_function_grad(lambda z: z**2, mu, sigma, 4, baseline="mean").device.type == "meta"
    x = R.banana_push(torch.empty(7, 2, **meta))
    assert x.shape == (7, 2) and R.banana_log_prob(x).shape == (7,) and R.bump(x).device.type == "meta"
    assert R.double_well(torch.empty(4, **meta)).device.type == "meta"
    assert R.normal_box_muller(5, device="meta", dtype=F64).shape == (5,)
    icdf = R.inverse_cdf(R.double_well, -3.0, 3.0, 11, dtype=F64)  # the table holds log Z as a number: built with values
    assert icdf(torch.empty(6, **meta)).device.type == "meta"


def test_recipes_and_figures_run_on_the_stand_in_device_with_the_cpus_numbers():
    """Noise comes from CPU generators and moves to the device: the device's numbers are the CPU's."""
    cpu = run.variance_study(ns=(2, 5), repeats=20, generator=g(0))
    widths = torch.tensor([0.3, 1.0], dtype=F64)
    cpu_peak = run.peakedness_study(widths, n=10, repeats=20, generator=g(2))
    cpu_grid = R.grid_sample_2d(data.make("moons", dtype=F64).log_prob, (-4, 4, -4, 4), 30, 50, g(1), dtype=F64)
    with active() as dev:
        study = run.variance_study(ns=(2, 5), repeats=20, generator=g(0), device=dev)
        for name in study.names:
            assert study.exact[name].device == dev
            # the estimates below are bitwise the CPU's; the slope goes through LAPACK's lstsq, whose
            # last bits depend on the buffers' memory alignment (MKL/OpenBLAS kernels), so: to 1e-12
            assert math.isclose(study.slope(name, "score"), cpu.slope(name, "score"), rel_tol=1e-12)
            for est in run.ESTIMATORS:
                assert study.estimates[name][est].device == dev
                assert torch.equal(study.estimates[name][est].cpu(), cpu.estimates[name][est])
        peak = run.peakedness_study(widths, n=10, repeats=20, generator=g(2), device=dev)
        assert all(torch.equal(peak["relative_variance"][e], cpu_peak["relative_variance"][e]) for e in run.ESTIMATORS)
        moons = data.make("moons", dtype=F64, device=dev)
        x = R.grid_sample_2d(moons.log_prob, (-4, 4, -4, 4), 30, 50, g(1), dtype=F64, device=dev)
        assert x.device == dev and torch.equal(x.cpu(), cpu_grid)
        icdf = R.inverse_cdf(R.double_well, -3.0, 3.0, 101, dtype=F64, device=dev)
        eps = torch.randn(300, 2, generator=g(3), dtype=F64).to(dev)
        for demo in (fig.variance_slider(study), fig.banana_slider(eps), fig.inverse_cdf_slider(icdf, icdf.sample(100, g(4)))):
            assert demo.render(demo.initial_index)[:4] == b"\x89PNG"  # figures copy device tensors to the host
        u = icdf.sample(2 * 50, g(5)).reshape(2, 50).sub(-3).div(6).clamp(1e-6, 1)
        fig.box_muller_figure(*u, *R.box_muller(*u))
        fig.chain_rule_figure(moons, x)
        step = lambda z: (z > 0.5).to(z.dtype)  # noqa: E731
        assert torch.equal(R.exact_grad_quadrature(step, 1.0, 1.0, 101, device=dev).cpu(), R.exact_grad_quadrature(step, 1.0, 1.0, 101))


# ---- multivariate latents: z = μ + Lε (eq-reparam-mvn, eq-reparam-quadratic) ----

def _mvn_setup():
    mu = torch.tensor([1.0, -0.5], dtype=F64)
    sigma = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=F64)
    return mu, sigma, torch.linalg.cholesky(sigma)


def test_mvn_reparameterization_has_covariance_llt():
    mu, sigma, chol = _mvn_setup()
    eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(3), dtype=F64)
    z = Lt.reparameterize_mvn(mu, chol, eps)
    se = ((sigma.diagonal()[:, None] * sigma.diagonal()[None] + sigma**2) / len(z)).sqrt()
    assert ((torch.cov(z.T) - sigma).abs() / se).max() < 4.5
    assert ((z.mean(0) - mu).abs() / (sigma.diagonal() / len(z)).sqrt()).max() < 4.5
    # the same map as torch's MultivariateNormal.rsample given the same noise
    ref = torch.distributions.MultivariateNormal(mu, scale_tril=chol)
    assert torch.allclose(z[:5], ref.loc + (ref.scale_tril @ eps[:5, :, None]).squeeze(-1), atol=1e-14)


def test_quadratic_expectation_matches_autograd_of_the_exact_value_and_monte_carlo():
    mu, sigma, chol = _mvn_setup()
    A = torch.tensor([[2.0, 0.5], [-0.3, 1.0]], dtype=F64)
    value, g_mu, g_L = Lt.quadratic_expectation(mu, chol, A)
    assert value.item() == pytest.approx((mu @ A @ mu + torch.trace(A @ sigma)).item(), abs=1e-12)
    # gradients: autograd of the closed-form value (an independent route to the same formulas)
    m, L = mu.clone().requires_grad_(), chol.clone().requires_grad_()
    (m @ A @ m + torch.trace(A @ L @ L.T)).backward()
    assert torch.allclose(g_mu, m.grad, atol=1e-12) and torch.allclose(g_L, torch.tril(L.grad), atol=1e-12)
    # the pathwise Monte Carlo estimate agrees within 4.5 standard errors
    eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(4), dtype=F64)
    m, L = mu.clone().requires_grad_(), chol.clone().requires_grad_()
    z = Lt.reparameterize_mvn(m, L, eps)
    ((z @ A) * z).sum(-1).mean().backward()
    zd, sym = z.detach(), A + A.T
    terms = torch.cat([zd @ sym, torch.tril((zd @ sym)[:, :, None] * eps[:, None, :]).flatten(1)], 1)
    se = terms.std(0) / math.sqrt(len(eps))
    err = (torch.cat([m.grad, torch.tril(L.grad).flatten()]) - torch.cat([g_mu, g_L.flatten()])).abs()
    assert (err[se > 0] / se[se > 0]).max() < 4.5
    assert (err[se == 0] == 0).all()  # the entry above the diagonal: no gradient, none estimated


def test_mvn_rejects_a_factor_that_is_not_cholesky():
    mu, _, chol = _mvn_setup()
    with pytest.raises(ValueError, match="scale_tril"):
        Lt.reparameterize_mvn(mu, chol.T, torch.zeros(3, 2, dtype=F64))


# ---- categorical latents: Gumbel-max, Gumbel-softmax, score function (eq-gumbel-max ...) ----

THETA = torch.tensor([0.5, -0.3, 0.1, 0.8], dtype=F64)
F_VALUES = torch.tensor([1.0, 3.0, -2.0, 0.5], dtype=F64)


def test_exact_categorical_gradient_against_autograd_of_the_enumerated_expectation():
    t = THETA.clone().requires_grad_()
    (torch.softmax(t, -1) @ F_VALUES).backward()
    assert torch.allclose(Lt.categorical_exact_grad(THETA, F_VALUES), t.grad, atol=1e-14)


def test_gumbel_max_frequencies_match_softmax():
    z = Lt.gumbel_max(THETA, 200_000, torch.Generator().manual_seed(5))
    freq = torch.bincount(z, minlength=4).to(F64) / len(z)
    pi = torch.softmax(THETA, -1)
    assert ((freq - pi).abs() / (pi * (1 - pi) / len(z)).sqrt()).max() < 4.5


def test_gumbel_softmax_terms_are_autograd_of_the_relaxed_objective_and_tend_to_one_hot():
    g = Lt.gumbel((6, 4), THETA, torch.Generator().manual_seed(6))
    for tau in (2.0, 0.5):
        t = THETA.clone().requires_grad_()
        rows = [torch.autograd.grad(Lt.gumbel_softmax(t, g[i:i + 1], tau)[0] @ F_VALUES, t)[0] for i in range(6)]
        assert torch.allclose(Lt.gumbel_softmax_terms(THETA, F_VALUES, g, tau), torch.stack(rows), atol=1e-12)
    y = Lt.gumbel_softmax(THETA, g, 1e-3)
    assert torch.equal(y.argmax(-1), (THETA + g).argmax(-1)) and (y.max(-1).values > 0.999).all()


def test_score_function_terms_categorical_are_f_times_the_score():
    z = torch.tensor([0, 3, 1])
    t = THETA.clone().requires_grad_()
    rows = [F_VALUES[k] * torch.autograd.grad(torch.log_softmax(t, -1)[k], t)[0] for k in z.tolist()]
    assert torch.allclose(Lt.score_function_terms_categorical(THETA, F_VALUES, z), torch.stack(rows), atol=1e-14)
    with pytest.raises(ValueError, match="z"):
        Lt.score_function_terms_categorical(THETA, F_VALUES, torch.tensor([0, 4]))


@pytest.mark.claim
def test_the_pages_categorical_claims():
    """The claims the page draws from its categorical study, at this GENCORE_SEED (same arguments and seed)."""
    import gencore

    study = run.categorical_study(THETA, F_VALUES, n=100_000,
                                  generator=torch.Generator().manual_seed(gencore.shifted_seed(19)))
    assert study.chi2_pvalue > 0.01                                   # "does not reject at the 1% level" (glued)
    bias, se, var = study.bias("gumbel-softmax"), study.bias_se("gumbel-softmax"), study.variance("gumbel-softmax")
    i = {t: k for k, t in enumerate(study.taus)}
    assert bias[i[1.0]] > 20 * se[i[1.0]]                             # clearly biased at τ = 1
    z_score = ((study.mean["score"] - study.exact).abs() / (study.var["score"] / study.n).sqrt()).max()
    assert z_score < 4                                                # the score function is within its noise
    assert bias[i[2.0]] > bias[i[1.0]] > bias[i[0.5]] > bias[i[0.25]]  # the bias shrinks with τ
    assert bias[i[0.1]] < 3 * se[i[0.1]] and bias[i[0.05]] < 3 * se[i[0.05]]   # below τ = 0.25: within the noise
    assert (var[1:] > var[:-1]).all()                                 # variance grows as τ falls
    assert var[i[1.0]] < study.variance("score") < var[i[0.25]]      # crossover between τ = 0.5 and 0.25
    assert var[i[0.5]] < study.variance("score")
    assert 8 < study.variance("score") / var[i[1.0]] < 13                # "about ten times" (summary table)
    # a baseline does not close the gap: the exact constant E[f] lowers the variance, but not to τ = 1's
    assert var[i[1.0]] * 5 < study.variance("score+baseline") < study.variance("score")
    zb = ((study.mean["score+baseline"] - study.exact).abs() / (study.var["score+baseline"] / study.n).sqrt()).max()
    assert zb < 4


def test_graph_figure_draws_two_graphs():
    import matplotlib.pyplot as plt

    f = fig.graph_figure()
    assert len(f.axes) == 2 and all(len(ax.patches) >= 3 for ax in f.axes)  # the edges are arrow patches
    plt.close(f)


def test_categorical_study_and_figure_draw():
    import matplotlib.pyplot as plt

    study = run.categorical_study(THETA, F_VALUES, taus=(1.0, 0.5), n=2000, generator=torch.Generator().manual_seed(0))
    assert study.bias("gumbel-softmax").shape == (2,) and study.variance("score").ndim == 0
    f = fig.categorical_figure(study)
    assert len(f.axes) == 2
    plt.close(f)
