"""Chapter 1's identities, each asserted numerically (float64)."""
from __future__ import annotations

import math

import pytest
import torch
from fakedevice import active

from gencore import divergences as D
from gencore.experiments import divergences as run
from gencore.figures import divergences as fig

F64 = torch.float64


def random_probs(gen, *shape):
    return torch.distributions.Dirichlet(torch.ones(shape[-1], dtype=F64)).sample(shape[:-1])


def test_entropy_of_uniform_is_log_k():
    for k in (2, 6, 17):
        assert D.entropy(torch.full((k,), 1 / k, dtype=F64)).item() == pytest.approx(math.log(k), abs=1e-12)


def test_cross_entropy_is_entropy_plus_kl(gen):
    torch.manual_seed(0)
    p, q = random_probs(gen, 500, 10), random_probs(gen, 500, 10)
    gap = D.cross_entropy(p, q) - D.entropy(p) - D.kl_divergence(p, q)
    assert gap.abs().max() < 1e-12


def test_gibbs_inequality_and_equality_case():
    torch.manual_seed(1)
    p, q = random_probs(None, 2000, 5), random_probs(None, 2000, 5)
    assert (D.kl_divergence(p, q) > 0).all()
    assert D.kl_divergence(p, p).abs().max() < 1e-14


def test_kl_asymmetry_and_infinity():
    p, q = torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([0.9, 0.1], dtype=F64)
    assert D.kl_divergence(p, q).item() == pytest.approx(0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(5), abs=1e-12)
    assert D.kl_divergence(p, q) != pytest.approx(D.kl_divergence(q, p).item())
    one_hot = torch.tensor([1.0, 0.0], dtype=F64)
    assert D.kl_divergence(p, one_hot) == math.inf
    assert D.kl_divergence(one_hot, p).item() == pytest.approx(math.log(2))


def test_jsd_symmetric_and_bounded_by_log2():
    torch.manual_seed(2)
    p, q = random_probs(None, 1000, 8), random_probs(None, 1000, 8)
    j = D.js_divergence(p, q)
    assert torch.allclose(j, D.js_divergence(q, p), atol=1e-14)
    assert (j >= 0).all() and (j <= math.log(2)).all()
    disjoint = D.js_divergence(torch.tensor([0.5, 0.5, 0, 0], dtype=F64), torch.tensor([0, 0, 0.3, 0.7], dtype=F64))
    assert disjoint.item() == pytest.approx(math.log(2), abs=1e-14)


@pytest.mark.parametrize("name,args", [
    ("p", (torch.tensor([0.5, 0.6]), torch.tensor([0.5, 0.5]))),
    ("q", (torch.tensor([0.5, 0.5]), torch.tensor([-0.5, 1.5]))),
])
def test_discrete_inputs_validated(name, args):
    with pytest.raises(ValueError, match=name):
        D.kl_divergence(*args)


def test_kl_normal_matches_torch_to_1e10():
    torch.manual_seed(3)
    mu_p, mu_q = torch.randn(4, 1, dtype=F64), torch.randn(1, 5, dtype=F64)
    s_p, s_q = torch.rand(4, 1, dtype=F64) + 0.05, torch.rand(1, 5, dtype=F64) * 3 + 0.05
    ours = D.kl_normal(mu_p, s_p, mu_q, s_q)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu_p, s_p), torch.distributions.Normal(mu_q, s_q))
    assert ours.shape == (4, 5) and ours.dtype == F64
    assert (ours - ref).abs().max() < 1e-10


def test_kl_normal_dtype_and_meta_device():
    out = D.kl_normal(torch.zeros(3, dtype=torch.float32), torch.ones(3, dtype=torch.float32), 1.0, 2.0)
    assert out.dtype == torch.float32                       # the tensors' dtype, not the numbers'
    assert D.kl_normal(torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64), 1.0, 2.0).dtype == F64
    meta = D.kl_normal(torch.zeros(3, device="meta"), torch.ones(3, device="meta"), 0.0, 1.0)
    assert meta.device.type == "meta" and meta.shape == (3,)


@pytest.mark.parametrize("bad", ["sigma_p", "sigma_q"])
def test_kl_normal_rejects_non_positive_sigma(bad):
    kw = dict(mu_p=0.0, sigma_p=1.0, mu_q=0.0, sigma_q=1.0)
    kw[bad] = torch.tensor([1.0, -0.5])
    with pytest.raises(ValueError, match=bad):
        D.kl_normal(**kw)


def test_kl_mvn_matches_torch_and_diagonal_sum():
    torch.manual_seed(4)
    a, b = torch.randn(3, 3, dtype=F64), torch.randn(3, 3, dtype=F64)
    cov_p, cov_q = a @ a.T + 0.5 * torch.eye(3, dtype=F64), b @ b.T + 0.5 * torch.eye(3, dtype=F64)
    mu_p, mu_q = torch.randn(3, dtype=F64), torch.randn(3, dtype=F64)
    ref = torch.distributions.kl_divergence(torch.distributions.MultivariateNormal(mu_p, cov_p),
                                            torch.distributions.MultivariateNormal(mu_q, cov_q))
    assert abs(D.kl_mvn(mu_p, cov_p, mu_q, cov_q) - ref) < 1e-10
    s_p, s_q = torch.rand(3, dtype=F64) + 0.1, torch.rand(3, dtype=F64) + 0.1
    diag = D.kl_mvn(mu_p, torch.diag(s_p**2), mu_q, torch.diag(s_q**2))
    assert abs(diag - D.kl_normal(mu_p, s_p, mu_q, s_q).sum()) < 1e-12
    with pytest.raises(ValueError, match="cov_q"):
        D.kl_mvn(mu_p, cov_p, mu_q, -cov_q)


def test_monte_carlo_kl_agrees_with_closed_form():
    torch.manual_seed(5)
    p = torch.distributions.Normal(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64))
    q = torch.distributions.Normal(torch.tensor(1.0, dtype=F64), torch.tensor(2.0, dtype=F64))
    est, se = D.kl_monte_carlo(p.log_prob, q.log_prob, p.sample((100_000,)))
    assert abs(est - D.kl_normal(0.0, 1.0, 1.0, 2.0)) < 4 * se
    with pytest.raises(ValueError, match="x"):
        D.kl_monte_carlo(p.log_prob, q.log_prob, torch.zeros(1, dtype=F64))


def test_kl_quadrature_matches_closed_form():
    xs = run.XS
    # explicit float64 parameters: a Normal(0.3, 0.7) of Python floats would take torch's default dtype
    lp = torch.distributions.Normal(torch.tensor(0.3, dtype=F64), torch.tensor(0.7, dtype=F64)).log_prob(xs)
    lq = torch.distributions.Normal(torch.tensor(-1.0, dtype=F64), torch.tensor(1.6, dtype=F64)).log_prob(xs)
    assert lp.dtype == lq.dtype == F64
    closed = D.kl_normal(*torch.tensor([0.3, 0.7, -1.0, 1.6], dtype=F64))
    assert abs(D.kl_quadrature_1d(lp, lq, float(xs[1] - xs[0])) - closed) < 1e-8


def test_bimodal_rejects_bad_arguments():
    with pytest.raises(ValueError, match="separation"):
        D.bimodal(-1.0)
    with pytest.raises(ValueError, match="weight"):
        D.bimodal(2.0, weight=1.0)


def test_fit_normal_1d_checks_arguments():
    xs = run.XS
    lp = D.bimodal(2.0).log_prob(xs)[None]
    with pytest.raises(ValueError, match="direction"):
        D.fit_normal_1d(lp, xs, "sideways", 0.0, 1.0)
    with pytest.raises(ValueError, match="log_p"):
        D.fit_normal_1d(lp[0], xs, "forward", 0.0, 1.0)
    with pytest.raises(ValueError, match="sigma0"):
        D.fit_normal_1d(lp, xs, "forward", 0.0, -1.0)


@pytest.fixture(scope="module")
def fits():
    return run.separation_fits()


def test_forward_fit_matches_moments(fits):
    """Proposition prop-moment-matching, as the chapter checks it."""
    d = fits.separations
    assert (fits.forward[1] ** 2 - (1 + d**2 / 4)).abs().max() < 1e-2
    assert fits.forward[0].abs().max() < 1e-3


def test_reverse_fit_seeks_a_mode_with_kl_log2(fits):
    mu, sigma, kl = fits.seek
    assert mu[-1].item() == pytest.approx(4.0, abs=1e-2) and sigma[-1].item() == pytest.approx(1.0, abs=1e-2)
    assert kl[-1].item() == pytest.approx(math.log(2), abs=1e-3)
    # the symmetric solution stays centred, and loses to the mode for far-apart modes only
    assert fits.centre[0].abs().max() < 1e-6
    assert 5.0 <= fits.crossover() <= 6.5
    assert fits.crossover() == 6.0  # the value the chapter prints, on its grid of separations
    assert (fits.centre[2][:9] <= fits.seek[2][:9] + 1e-3).all()  # d <= 4: one solution only


def test_jsd_of_shifted_normals_saturates_at_log2():
    shifts = torch.tensor([0.0, 1.0, 8.0], dtype=F64)
    j = run.jsd_normal_shift(shifts)
    assert j[0].abs() < 1e-12
    assert 0 < j[1] < math.log(2)
    assert j[2].item() == pytest.approx(math.log(2), abs=1e-3)


@pytest.mark.claim
def test_maximum_likelihood_reaches_the_forward_kl_floor():
    """The chapter's MLE demo: a diagonal Gaussian fitted to rho = 0.8 data by maximum likelihood,
    with the page's global draws before it, from ``gencore.seed(0)`` (shifted by GENCORE_SEED)."""
    import gencore

    gencore.seed(0)
    torch.distributions.Dirichlet(torch.ones(10, dtype=F64)).sample((1000,))   # the page's cells before
    torch.distributions.Dirichlet(torch.ones(10, dtype=F64)).sample((1000,))
    torch.distributions.Normal(torch.zeros(2, dtype=F64), torch.ones(2, dtype=F64)).sample((200_000,))
    rho, mean, std = 0.8, torch.tensor([1.0, -1.0], dtype=F64), torch.tensor([1.5, 0.7], dtype=F64)
    cov = torch.outer(std, std) * torch.tensor([[1.0, rho], [rho, 1.0]], dtype=F64)
    p = torch.distributions.MultivariateNormal(mean, cov)
    x, x_test = p.sample((2000,)), p.sample((20_000,))
    model, hist = run.fit_diagonal_by_mle(x, x_test, p, progress=False)
    with torch.no_grad():
        kl = D.kl_mvn(mean, cov, model.mu, model.covariance())
    floor = -0.5 * math.log(1 - rho**2)
    assert kl.item() == pytest.approx(floor, abs=0.01)
    # maximum likelihood matches the moments of the training sample (the population's up to sampling noise)
    assert (model.sigma.detach() - x.std(0, unbiased=False)).abs().max() < 0.02
    assert (model.mu.detach() - x.mean(0)).abs().max() < 0.02
    # eq-mle-kl along the whole run: held-out NLL = H(p) + KL(p‖q_θ) up to Monte Carlo error
    _, nll = hist.metric("held-out NLL")
    _, bound = hist.metric("H(p) + KL(p‖q)")
    assert max(abs(a - b) for a, b in zip(nll, bound)) < 0.05
    assert nll[0] - nll[-1] > 0.1  # training did something


def test_diagonal_normal_rejects_wrong_shape():
    with pytest.raises(ValueError, match="x"):
        D.DiagonalNormal(2).log_prob(torch.zeros(5, 3))


def test_chapter_diagonal_example_closed_form_and_monte_carlo():
    """The 2D diagonal example of the chapter: closed form = torch = Monte Carlo (within 4 SE)."""
    torch.manual_seed(0)
    mu_p, sigma_p = torch.tensor([0.0, 1.0], dtype=F64), torch.tensor([1.0, 0.5], dtype=F64)
    mu_q, sigma_q = torch.tensor([1.0, -0.5], dtype=F64), torch.tensor([2.0, 0.8], dtype=F64)
    p = torch.distributions.Independent(torch.distributions.Normal(mu_p, sigma_p), 1)
    q = torch.distributions.Independent(torch.distributions.Normal(mu_q, sigma_q), 1)
    closed = D.kl_normal(mu_p, sigma_p, mu_q, sigma_q).sum()
    assert abs(closed - torch.distributions.kl_divergence(p, q)) < 1e-12
    assert closed.item() == pytest.approx(2.3663, abs=1e-4)
    mc, se = D.kl_monte_carlo(p.log_prob, q.log_prob, p.sample((200_000,)))
    assert abs(mc - closed) < 4 * se


def test_kl_quadrature_rejects_nan_and_plus_inf_but_takes_zero_densities():
    xs = run.XS
    lp, lq = D.bimodal(2.0).log_prob(xs), D.bimodal(1.0).log_prob(xs)
    dx = float(xs[1] - xs[0])
    with pytest.raises(ValueError, match="log_p"):
        D.kl_quadrature_1d(torch.full_like(lp, math.nan), lq, dx)        # all-NaN used to give 0
    with pytest.raises(ValueError, match="log_q"):
        D.kl_quadrature_1d(lp, torch.where(xs > 0, math.inf, lq), dx)
    with pytest.raises(ValueError, match="log_p and log_q"):
        D.kl_quadrature_1d(lp, lq[:-1], dx)
    support = torch.where(xs.abs() < 3, lp, -math.inf)                   # p is zero outside |x| < 3
    assert torch.isfinite(D.kl_quadrature_1d(support, lq, dx))
    assert D.kl_quadrature_1d(lp, torch.where(xs.abs() < 3, lq, -math.inf), dx) == math.inf


def test_mismatched_pairs_are_named():
    with pytest.raises(ValueError, match="p and q"):
        D.kl_divergence(torch.full((4,), 0.25, dtype=F64), torch.full((3,), 1 / 3, dtype=F64))
    with pytest.raises(ValueError, match="mu_p"):
        D.kl_normal(torch.zeros(2, dtype=F64), 1.0, torch.zeros(3, dtype=F64), 1.0)
    with pytest.raises(TypeError, match="mu_p"):
        D.kl_normal(torch.zeros(2, dtype=torch.int64), 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="mu_q"):
        D.kl_mvn(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64), torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64))


def test_meta_device():
    """Shapes and devices follow the inputs (torch's shape-only device)."""
    meta = torch.device("meta")
    p = torch.empty(5, 4, device=meta)
    for fn in (D.entropy, lambda a: D.kl_divergence(a, a), lambda a: D.js_divergence(a, a),
               lambda a: D.cross_entropy(a, a)):
        out = fn(p)
        assert out.device == meta and out.shape == (5,)
    mu, cov = torch.empty(3, 2, device=meta), torch.empty(3, 2, 2, device=meta)
    assert D.kl_mvn(mu, cov, mu, cov).shape == (3,)
    assert D.kl_quadrature_1d(torch.empty(3, 7, device=meta), torch.empty(7, device=meta), 0.1).shape == (3,)
    est, se = D.kl_monte_carlo(lambda x: x.sum(-1), lambda x: x.sum(-1), torch.empty(10, 2, device=meta))
    assert est.device == meta and se.shape == ()
    q = D.DiagonalNormal(2, device=meta)
    assert q.log_prob(torch.empty(6, 2, device=meta)).shape == (6,)


def test_diagonal_normal_starts_at_the_standard_normal():
    q = D.DiagonalNormal(3, dtype=F64)
    assert torch.allclose(q.sigma, torch.ones(3, dtype=F64), atol=1e-15)


def test_recipes_and_figures_run_on_the_stand_in_device_with_the_cpus_numbers():
    seps, shifts = torch.linspace(0, 4, 6, dtype=F64), torch.tensor([0.0, 2.0], dtype=F64)
    cpu, (_, cpu_kl, cpu_jsd) = run.separation_fits(seps, steps=20), run.jsd_versus_kl(shifts)
    train = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    cpu_gallery = run.gallery_sampler(train, 5, torch.Generator().manual_seed(1))
    with active() as dev:
        fits = run.separation_fits(seps, steps=20, device=dev)
        for got, want in zip(fits.forward + fits.seek + fits.centre, cpu.forward + cpu.seek + cpu.centre):
            assert got.device == dev and torch.allclose(got.cpu(), want, rtol=0, atol=1e-12)
        _, kl, jsd = run.jsd_versus_kl(shifts, device=dev)
        assert jsd.device == dev and torch.equal(jsd.cpu(), cpu_jsd) and torch.equal(kl.cpu(), cpu_kl)
        gallery = run.gallery_sampler(train.to(dev), 5, torch.Generator().manual_seed(1))
        assert gallery.device == dev and torch.allclose(gallery.cpu(), cpu_gallery, rtol=0, atol=1e-12)
        demo = fig.separation_slider(fits)
        assert demo.render(demo.initial_index)[:4] == b"\x89PNG"  # the figure copies the fits to the host


# ---- the factorized Gaussian in both directions (eq-kl-reverse-factorized, eq-kl-factorized-fits) ----

def _random_cov(gen, d):
    a = torch.randn(d, d, generator=gen, dtype=F64)
    return a @ a.T + 0.3 * torch.eye(d, dtype=F64)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_factorized_fits_are_the_minimizers_of_the_closed_form_kl(d):
    """The closed-form variances give the floors of eq-kl-factorized-fits (checked by torch.distributions),
    and no perturbed diagonal Gaussian does better in either direction."""
    gen = torch.Generator().manual_seed(d)
    cov, mean = _random_cov(gen, d), torch.randn(d, generator=gen, dtype=F64)
    p = torch.distributions.MultivariateNormal(mean, cov)
    prec = torch.linalg.inv(cov)
    floor = {"forward": 0.5 * (cov.diagonal().log().sum() - torch.logdet(cov)),
             "reverse": 0.5 * (prec.diagonal().log().sum() + torch.logdet(cov))}
    for direction in ("forward", "reverse"):
        var = D.factorized_fit(cov, direction)
        q = torch.distributions.MultivariateNormal(mean, torch.diag(var))
        kl = torch.distributions.kl_divergence(*((p, q) if direction == "forward" else (q, p)))
        assert kl.item() == pytest.approx(floor[direction].item(), abs=1e-10)
        assert floor[direction] >= 0  # Hadamard's inequality
        for _ in range(20):
            m2 = mean + 0.1 * torch.randn(d, generator=gen, dtype=F64)
            v2 = var * torch.exp(0.2 * torch.randn(d, generator=gen, dtype=F64))
            q2 = torch.distributions.MultivariateNormal(m2, torch.diag(v2))
            assert torch.distributions.kl_divergence(*((p, q2) if direction == "forward" else (q2, p))) > kl
    # the reverse (conditional) variances never exceed the forward (marginal) ones
    assert (D.factorized_fit(cov, "reverse") <= D.factorized_fit(cov, "forward") + 1e-12).all()


def test_reverse_factorized_kl_formula_matches_torch():
    """eq-kl-reverse-factorized as written on the page, against torch.distributions at a random diagonal q."""
    gen = torch.Generator().manual_seed(11)
    cov, mu = _random_cov(gen, 3), torch.randn(3, generator=gen, dtype=F64)
    m, s2 = torch.randn(3, generator=gen, dtype=F64), torch.rand(3, generator=gen, dtype=F64) + 0.2
    lam = torch.linalg.inv(cov)
    page = 0.5 * ((lam.diagonal() * s2 - s2.log() - 1).sum() + (m - mu) @ lam @ (m - mu) + torch.logdet(cov))
    ref = torch.distributions.kl_divergence(torch.distributions.MultivariateNormal(m, torch.diag(s2)),
                                            torch.distributions.MultivariateNormal(mu, cov))
    assert page.item() == pytest.approx(ref.item(), abs=1e-12)


def test_factorized_fits_in_2d_shrink_by_one_minus_rho_squared_and_share_the_floor():
    for rho in (0.3, 0.8, 0.95):
        cov = torch.tensor([[2.25, 1.05 * rho], [1.05 * rho, 0.49]], dtype=F64)
        fwd, rev = D.factorized_fit(cov, "forward"), D.factorized_fit(cov, "reverse")
        assert torch.allclose(rev / fwd, torch.full((2,), 1 - rho**2, dtype=F64), atol=1e-12)
        floors = [D.kl_mvn(torch.zeros(2, dtype=F64), cov, torch.zeros(2, dtype=F64), torch.diag(fwd)),
                  D.kl_mvn(torch.zeros(2, dtype=F64), torch.diag(rev), torch.zeros(2, dtype=F64), cov)]
        for f in floors:
            assert f.item() == pytest.approx(-0.5 * math.log(1 - rho**2), abs=1e-12)
    batch = torch.stack([torch.eye(2, dtype=F64), 2 * torch.eye(2, dtype=F64)])
    assert D.factorized_fit(batch, "reverse").shape == (2, 2)


def test_gradient_descent_finds_both_factorized_fits():
    """The page's check: Adam on the closed-form KL reaches the closed-form optimum in both directions."""
    rho, mean, std = 0.8, torch.tensor([1.0, -1.0], dtype=F64), torch.tensor([1.5, 0.7], dtype=F64)
    cov = torch.outer(std, std) * torch.tensor([[1.0, rho], [rho, 1.0]], dtype=F64)
    for direction in ("forward", "reverse"):
        m, var, kl = run.fit_factorized_by_descent(mean, cov, direction)
        assert (m - mean).abs().max() < 1e-4
        assert (var - D.factorized_fit(cov, direction)).abs().max() < 1e-4
        assert kl.item() == pytest.approx(-0.5 * math.log(1 - rho**2), abs=1e-8)


def test_factorized_figure_draws_three_panels():
    mean, std = torch.tensor([1.0, -1.0], dtype=F64), torch.tensor([1.5, 0.7], dtype=F64)
    eye = torch.eye(2, dtype=F64)
    covs = torch.outer(std, std) * (eye + torch.tensor([0.5, 0.8], dtype=F64)[:, None, None] * (1 - eye))
    f = fig.factorized_figure(mean, covs, D.factorized_fit(covs, "forward"), D.factorized_fit(covs, "reverse"))
    assert len(f.axes) == 2 and all(len(ax.lines) == 6 for ax in f.axes)
    import matplotlib.pyplot as plt
    plt.close(f)


# ---- f-divergences (eq-f-divergence) ----

def test_f_divergence_reproduces_kl_reverse_kl_jsd_tv_chi2():
    torch.manual_seed(3)
    p, q = random_probs(None, 200, 6), random_probs(None, 200, 6)
    direct = {"kl": D.kl_divergence(p, q), "reverse_kl": D.kl_divergence(q, p), "js": D.js_divergence(p, q),
              "tv": 0.5 * (p - q).abs().sum(-1), "chi2": ((p - q) ** 2 / q).sum(-1)}
    for name, value in direct.items():
        got = D.f_divergence(p, q, name)
        assert torch.allclose(got, value, atol=1e-12), name
        assert (got >= 0).all()
        assert D.f_divergence(p, p, name).abs().max() < 1e-12  # f(1) = 0


def test_f_divergence_zero_probabilities_take_the_limits():
    p, one_hot = torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([1.0, 0.0], dtype=F64)
    assert D.f_divergence(p, one_hot, "kl") == math.inf == D.kl_divergence(p, one_hot)
    assert D.f_divergence(one_hot, p, "kl").item() == pytest.approx(math.log(2))
    assert D.f_divergence(p, one_hot, "reverse_kl").item() == pytest.approx(D.kl_divergence(one_hot, p).item())
    assert D.f_divergence(p, one_hot, "js").item() == pytest.approx(D.js_divergence(p, one_hot).item(), abs=1e-14)
    assert D.f_divergence(p, one_hot, "tv").item() == pytest.approx(0.5)
    assert D.f_divergence(p, one_hot, "chi2") == math.inf
    with pytest.raises(ValueError, match="f"):
        D.f_divergence(p, p, "hellinger")


def test_factorized_slider_moves_with_rho_and_its_title_floor_is_both_floors():
    """The slider's frames differ across ρ, each alt text names its ρ, and the floor its titles print,
    -log(1 - ρ²)/2, is both directions' floor by torch.distributions."""
    mean, std = torch.tensor([1.0, -1.0], dtype=F64), torch.tensor([1.5, 0.7], dtype=F64)
    rhos = [0.0, 0.5, 0.9]
    demo = fig.factorized_slider(mean, std, rhos)
    frames = [demo.render((i,)) for i in range(3)]
    assert all(f[:4] == b"\x89PNG" for f in frames) and len(set(frames)) == 3
    assert [f"{r:.2f}" in demo.alt_at((i,)) for i, r in enumerate(rhos)] == [True] * 3
    for r in rhos:
        cov = torch.outer(std, std) * torch.tensor([[1.0, r], [r, 1.0]], dtype=F64)
        p = torch.distributions.MultivariateNormal(mean, cov)
        for direction in ("forward", "reverse"):
            q = torch.distributions.MultivariateNormal(mean, torch.diag(D.factorized_fit(cov, direction)))
            kl = torch.distributions.kl_divergence(*((p, q) if direction == "forward" else (q, p)))
            assert kl.item() == pytest.approx(-0.5 * math.log(1 - r * r), abs=1e-12)
