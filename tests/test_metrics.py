"""Tests for gencore.metrics: every number is checked against a closed form or an exact identity."""
from __future__ import annotations

import functools
import math

import pytest
import torch
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal, kl_divergence

from gencore import metrics
from gencore.metrics import (
    ModeCoverage,
    cross_entropy_on_grid,
    data_floor,
    entropy_on_grid,
    kl_on_grid,
    mmd,
    mode_coverage,
    sliced_wasserstein,
)

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gaussian(mean, cov) -> MultivariateNormal:
    return MultivariateNormal(torch.tensor(mean, dtype=F64), torch.tensor(cov, dtype=F64))


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02):
    angles = torch.arange(n_modes, dtype=F64) * (2 * math.pi / n_modes)
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    comps = MultivariateNormal(means, covariance_matrix=std**2 * torch.eye(2, dtype=F64).expand(n_modes, 2, 2))
    mix = MixtureSameFamily(Categorical(probs=torch.full((n_modes,), 1.0 / n_modes, dtype=F64)), comps)
    return means, mix


# ---------------------------------------------------------------- sliced Wasserstein


@pytest.mark.parametrize("d", [2, 3])
def test_sw_of_a_shift_is_norm_over_sqrt_d(d):
    # y = x + v shifts every projection by theta.v, so W2 = |theta.v| and E (theta.v)^2 = |v|^2 / d.
    x = torch.randn(300, d, generator=gen(1), dtype=F64)
    v = torch.linspace(0.5, 1.5, d, dtype=F64)
    sw = sliced_wasserstein(x, x + v, n_projections=8192, generator=gen(2))
    # Monte Carlo over directions: relative std of the mean of (theta.v)^2 is below 1.5/sqrt(L).
    assert float(sw) ** 2 == pytest.approx(float(v @ v) / d, rel=4 * 1.5 / math.sqrt(8192))


def test_sw_in_one_dimension_is_exact_w2():
    x = torch.randn(200, 1, generator=gen(3), dtype=F64)
    assert float(sliced_wasserstein(x, x - 0.7, n_projections=3)) == pytest.approx(0.7, abs=1e-12)


def test_sw_unequal_sizes_integrates_quantile_functions_exactly():
    # Q_x = 0, 1, 2 on thirds and Q_y = 0, 1 on halves differ by 1 on [1/3, 1/2) and [2/3, 1):
    # W2^2 = 1/6 + 1/3 = 1/2 (evaluating at K = 3 midpoints would give 2/3).
    x = torch.tensor([[2.0], [0.0], [1.0]], dtype=F64)
    y = torch.tensor([[1.0], [0.0]], dtype=F64)
    assert float(sliced_wasserstein(x, y, 5)) == pytest.approx(math.sqrt(0.5), abs=1e-12)
    assert float(sliced_wasserstein(y, x, 5)) == pytest.approx(math.sqrt(0.5), abs=1e-12)


def test_sw_unequal_sizes_matches_equal_sizes_on_the_same_measure():
    # cat([y, y]) is the same empirical measure as y, so with the same directions SW is the same.
    x = torch.randn(150, 2, generator=gen(4), dtype=F64)
    y = torch.randn(150, 2, generator=gen(5), dtype=F64) + 0.3
    equal = sliced_wasserstein(x, y, 64, generator=gen(6))
    unequal = sliced_wasserstein(x, torch.cat([y, y, y]), 64, generator=gen(6))
    assert float(unequal) == pytest.approx(float(equal), rel=1e-12)
    assert float(sliced_wasserstein(x, torch.cat([x, x]), 64, generator=gen(6))) == pytest.approx(0, abs=1e-12)


def test_sw_zero_symmetric_and_deterministic():
    x = torch.randn(100, 2, generator=gen(7), dtype=F64)
    y = torch.randn(80, 2, generator=gen(8), dtype=F64)
    assert float(sliced_wasserstein(x, x, generator=gen(0))) == 0.0
    assert float(sliced_wasserstein(x, y, generator=gen(9))) == pytest.approx(
        float(sliced_wasserstein(y, x, generator=gen(9))), rel=1e-12
    )
    a = sliced_wasserstein(x, y, generator=gen(10))
    assert torch.equal(a, sliced_wasserstein(x, y, generator=gen(10)))
    assert not torch.equal(a, sliced_wasserstein(x, y, generator=gen(11)))


def test_sw_between_isotropic_gaussians_is_difference_of_scales():
    # Every projection of N(0, I) and N(0, s^2 I) is N(0, 1) vs N(0, s^2), whose W2 is |1 - s|.
    x = torch.randn(4000, 2, generator=gen(12), dtype=F64)
    y = 2.5 * torch.randn(4000, 2, generator=gen(13), dtype=F64)
    assert float(sliced_wasserstein(x, y, 128, generator=gen(14))) == pytest.approx(1.5, abs=0.05)


def test_sw_is_differentiable():
    x = torch.randn(50, 2, generator=gen(15), dtype=F64, requires_grad=True)
    y = torch.randn(60, 2, generator=gen(16), dtype=F64)
    sliced_wasserstein(x, y + 1.0, 16, generator=gen(17)).backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0


# ---------------------------------------------------------------- MMD


def mmd_by_loops(x, y, h):
    k = lambda a, b: math.exp(-float(((a - b) ** 2).sum()) / (2 * h * h))  # noqa: E731
    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd_matches_the_unbiased_formula_and_respects_bandwidth():
    x = torch.randn(5, 2, generator=gen(20), dtype=F64)
    y = torch.randn(4, 2, generator=gen(21), dtype=F64) + 0.5
    for h in (0.3, 1.0, 4.0):
        assert float(mmd(x, y, bandwidth=h)) == pytest.approx(mmd_by_loops(x, y, h), rel=1e-10)
    assert float(mmd(x, y, 0.3)) != pytest.approx(float(mmd(x, y, 4.0)), rel=1e-3)
    median = float(torch.pdist(torch.cat([x, y])).median())
    assert float(mmd(x, y)) == pytest.approx(mmd_by_loops(x, y, median), rel=1e-10)


def test_mmd_is_unbiased_near_zero_for_one_distribution():
    # Mean over repeats is within 4 standard errors of 0; the biased V-statistic would sit
    # about (1/N + 1/M)(1 - E k) ~ 5e-3 above it, many standard errors away.
    values = torch.stack(
        [mmd(torch.randn(200, 2, generator=g, dtype=F64), torch.randn(200, 2, generator=g, dtype=F64))
         for g in [gen(100)] for _ in range(40)]
    )
    stderr = values.std() / math.sqrt(len(values))
    assert abs(float(values.mean())) < 4 * float(stderr)
    assert float(stderr) < 1e-3
    assert bool((values < 0).any())  # unbiased: it can be (slightly) negative


def test_mmd_positive_for_shifted_and_symmetric():
    x = torch.randn(300, 2, generator=gen(22), dtype=F64)
    y = torch.randn(250, 2, generator=gen(23), dtype=F64) + torch.tensor([1.0, 0.0], dtype=F64)
    value = mmd(x, y)
    assert float(value) > 0.05
    assert float(mmd(y, x)) == pytest.approx(float(value), rel=1e-10)


# ---------------------------------------------------------------- grid quadrature

P = gaussian([0.3, -0.2], [[1.0, 0.4], [0.4, 0.8]])
Q = gaussian([-0.5, 0.4], [[1.5, -0.3], [-0.3, 0.7]])
BOX = (-9.0, 9.0, -9.0, 9.0)


def test_kl_entropy_cross_entropy_match_closed_forms():
    kl = kl_on_grid(P.log_prob, Q.log_prob, BOX, 300)
    h = entropy_on_grid(P.log_prob, BOX, 300)
    ce = cross_entropy_on_grid(P.log_prob, Q.log_prob, BOX, 300)
    assert kl.dtype == h.dtype == ce.dtype == F64 and kl.ndim == 0
    assert float(kl) == pytest.approx(float(kl_divergence(P, Q)), abs=1e-4)
    assert float(h) == pytest.approx(float(P.entropy()), abs=1e-4)
    assert float(ce) == pytest.approx(float(h + kl), abs=1e-10)
    assert float(kl_on_grid(P.log_prob, P.log_prob, BOX, 50)) == pytest.approx(0.0, abs=1e-12)


def test_kl_renormalizes_p_over_a_truncating_box():
    # For p = N(0, I), q = N(v, I), log p - log q is linear in x, and a box symmetric about 0
    # keeps E[x | box] = 0, so renormalized cell masses give KL = |v|^2 / 2 exactly although the
    # box drops ~9% of p (unrenormalized masses would give ~0.91 of it).
    p, q = gaussian([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]), gaussian([0.6, -0.3], [[1.0, 0.0], [0.0, 1.0]])
    kl = kl_on_grid(p.log_prob, q.log_prob, (-2.0, 2.0, -2.0, 2.0), 40)
    assert float(kl) == pytest.approx(float(kl_divergence(p, q)), abs=1e-12)


def test_kl_finite_where_densities_underflow():
    # p uniform on [-1, 1]^2 (log p = -inf outside); q an N(0, 0.1^2 I) whose density is
    # computed naively, so log q = -inf far out in the box: 0 * (-inf - -inf) must count as 0.
    def log_p(z):
        inside = (z.abs() <= 1).all(dim=1)
        return torch.where(inside, torch.full_like(z[:, 0], -math.log(4.0)), torch.full_like(z[:, 0], -math.inf))

    s2 = 0.01
    def log_q(z):
        return torch.log(torch.exp(-(z**2).sum(1) / (2 * s2)) / (2 * math.pi * s2))

    box = (-5.0, 5.0, -5.0, 5.0)  # cell edges fall on +-1
    assert not bool(torch.isfinite(log_q(torch.tensor([[4.5, 4.5]], dtype=F64))).all())
    kl = kl_on_grid(log_p, log_q, box, 500)
    exact = -math.log(4.0) + math.log(2 * math.pi * s2) + (2 / 3) / (2 * s2)
    assert bool(torch.isfinite(kl)) and float(kl) == pytest.approx(exact, abs=1e-2)
    assert float(entropy_on_grid(log_p, box, 500)) == pytest.approx(math.log(4.0), abs=1e-12)
    # q vanishing where p has mass is an infinite KL, not a NaN.
    assert float(kl_on_grid(log_q, log_p, box, 500)) == math.inf


# ---------------------------------------------------------------- mode coverage


def test_mode_coverage_on_true_ring_samples():
    means, mix = ring()
    torch.manual_seed(0)
    samples = mix.sample((2500,))
    cov = mode_coverage(samples, means, 0.02)
    assert isinstance(cov, ModeCoverage) and cov.n_modes == 8 and cov.modes_captured == 8
    expected = 1 - math.exp(-4.5)  # chi with 2 dof within 3 sigma
    assert cov.high_quality == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / 2500))
    assert 0 <= cov.reverse_kl < 0.01
    assert cov.counts.shape == (8,) and cov.counts.dtype == torch.int64
    assert int(cov.counts.sum()) == round(cov.high_quality * 2500)


def test_mode_coverage_one_mode_and_far_away():
    means, _ = ring()
    one = means[3] + 0.02 * torch.randn(500, 2, generator=gen(30), dtype=F64)
    cov = mode_coverage(one, means, 0.02)
    assert cov.modes_captured == 1 and int(cov.counts[3]) == int(cov.counts.sum())
    assert cov.reverse_kl == math.log(8)
    far = torch.randn(200, 2, generator=gen(31), dtype=F64) * 0.1 + 10.0
    cov = mode_coverage(far, means, 0.02)
    assert cov.high_quality == 0.0 and cov.modes_captured == 0 and int(cov.counts.sum()) == 0


def test_mode_coverage_min_count_threshold_and_per_mode_std():
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0]], dtype=F64)
    samples = torch.tensor([[0.1, 0.0], [0.2, 0.0], [10.25, 0.0]], dtype=F64)
    assert mode_coverage(samples, means, 0.1, 3.0).modes_captured == 2
    assert mode_coverage(samples, means, 0.1, 3.0, min_count=2).modes_captured == 1
    assert mode_coverage(samples, means, 0.1, 1.5).high_quality == pytest.approx(1 / 3)
    assert mode_coverage(samples, means, torch.tensor([0.1, 0.2], dtype=F64), 3.0).high_quality == 1.0
    cov = mode_coverage(samples, means, 0.1)
    assert cov.reverse_kl == pytest.approx((2 / 3) * math.log(4 / 3) + (1 / 3) * math.log(2 / 3), rel=1e-12)


# ---------------------------------------------------------------- data floor


def test_data_floor_is_deterministic_and_shrinks_with_n():
    def sample_fn(n, generator):
        return torch.randn(n, 2, generator=generator, dtype=F64)

    def sw():
        return functools.partial(sliced_wasserstein, n_projections=64, generator=gen(0))

    small = data_floor(sw(), sample_fn, 100, repeats=3, generator=gen(40))
    assert torch.equal(small, data_floor(sw(), sample_fn, 100, repeats=3, generator=gen(40)))
    large = data_floor(sw(), sample_fn, 3000, repeats=3, generator=gen(41))
    assert small.ndim == 0 and small.dtype == F64 and 0 < float(large) < float(small)
    # With repeats=1 it is exactly the metric on two consecutive draws from the generator.
    g = gen(42)
    a, b = sample_fn(100, g), sample_fn(100, g)
    assert float(data_floor(mmd, sample_fn, 100, generator=gen(42))) == pytest.approx(float(mmd(a, b)), rel=1e-12)


# ---------------------------------------------------------------- dtype, device, errors


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_outputs_follow_input_dtype(dtype):
    x = torch.randn(40, 2, generator=gen(50), dtype=dtype)
    y = torch.randn(30, 2, generator=gen(51), dtype=dtype)
    assert sliced_wasserstein(x, y, 8, generator=gen(52)).dtype == dtype
    assert mmd(x, y).dtype == dtype
    assert mmd(x, y, bandwidth=torch.tensor(1.0, dtype=dtype)).dtype == dtype
    assert kl_on_grid(P.log_prob, Q.log_prob, BOX, 8, dtype=dtype).dtype == dtype
    assert mode_coverage(x, x[:3], 0.1).counts.device == x.device


def test_meta_device_shapes_and_no_hard_coded_device():
    x = torch.empty(10, 2, device="meta")
    assert sliced_wasserstein(x, x, 4, generator=None).device.type == "meta"


X2 = torch.zeros(5, 2)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: sliced_wasserstein(X2, torch.zeros(5, 3)), "feature dim"),
        (lambda: sliced_wasserstein(torch.zeros(0, 2), X2), "x must hold"),
        (lambda: sliced_wasserstein(X2, torch.zeros(0, 2)), "y must hold"),
        (lambda: sliced_wasserstein(torch.zeros(5), X2), "x must have shape"),
        (lambda: sliced_wasserstein(X2, X2, n_projections=0), "n_projections"),
        (lambda: mmd(X2, torch.zeros(5, 1)), "feature dim"),
        (lambda: mmd(X2, torch.zeros(1, 2)), "y must hold"),
        (lambda: mmd(X2, X2 + 1, bandwidth=0.0), "bandwidth"),
        (lambda: mmd(X2, X2, bandwidth=-1.0), "bandwidth"),
        (lambda: mmd(X2, X2), "bandwidth"),  # median heuristic on coincident points
        (lambda: mode_coverage(X2, X2[:3], 0.1, threshold=0.0), "threshold"),
        (lambda: mode_coverage(X2, X2[:3], 0.0), "std"),
        (lambda: mode_coverage(X2, X2[:3], torch.ones(4)), "std"),
        (lambda: mode_coverage(X2, torch.zeros(3, 3), 0.1), "means"),
        (lambda: mode_coverage(X2, torch.zeros(3), 0.1), "means"),
        (lambda: mode_coverage(torch.zeros(0, 2), X2, 0.1), "samples"),
        (lambda: mode_coverage(X2, X2, 0.1, min_count=0), "min_count"),
        (lambda: kl_on_grid(P.log_prob, Q.log_prob, BOX, 1), "resolution"),
        (lambda: entropy_on_grid(P.log_prob, (1.0, 1.0, 0.0, 1.0), 10), "extent"),
        (lambda: cross_entropy_on_grid(P.log_prob, Q.log_prob, (0.0, 1.0, 2.0, 1.0), 10), "extent"),
        (lambda: data_floor(mmd, lambda n, g: X2, 0), "n must"),
        (lambda: data_floor(mmd, lambda n, g: X2, 5, repeats=0), "repeats"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_floor_spread_matches_the_closed_form_spread_of_a_difference_of_means():
    """For metric(a, b) = mean(a) - mean(b) of N(0, 1) samples of size n, the law is N(0, 2/n)."""
    n, repeats = 50, 400
    g = torch.Generator().manual_seed(0)
    floor = metrics.floor_spread(lambda a, b: a.mean() - b.mean(),
                                 lambda m, gen: torch.randn(m, 1, generator=gen), n, repeats, g)
    sd = math.sqrt(2 / n)
    assert abs(floor.mean) < 4 * sd / math.sqrt(repeats)
    assert abs(floor.sd / sd - 1) < 0.12  # the sample sd of 400 normals is within ~3.5 % (1 sd)
    assert (floor.n, floor.repeats) == (n, repeats)
    # the same pairs as data_floor: same mean from the same generator state
    again = metrics.data_floor(lambda a, b: a.mean() - b.mean(), lambda m, gen: torch.randn(m, 1, generator=gen),
                               n, repeats, torch.Generator().manual_seed(0))
    assert math.isclose(float(again), floor.mean, rel_tol=1e-9, abs_tol=1e-12)


def test_floor_separates_only_beyond_two_sd():
    floor = metrics.Floor(mean=0.05, sd=0.01, n=1000, repeats=20)
    assert floor.separates(0.10, 0.07) and not floor.separates(0.10, 0.085)
    assert floor.reaches(0.069) and not floor.reaches(0.071)
    assert str(floor) == "0.0500 ± 0.0100"
    with pytest.raises(ValueError, match="repeats"):
        metrics.floor_spread(lambda a, b: 0.0, lambda m, gen: torch.zeros(m, 1), 10, 1)


def test_meta_device_kde_mode_shares_and_mmd():
    meta = torch.device("meta")
    x, m = torch.empty(10, 2, device=meta), torch.empty(3, 2, device=meta)
    assert metrics.mode_shares(x, m).shape == (3,) and metrics.mode_shares(x, m).device == meta
    assert metrics.kde_log_prob(x, 0.5)(torch.empty(4, 2, device=meta)).shape == (4,)
    assert metrics.mmd(x, x, bandwidth=1.0).device == meta


def test_kde_mode_shares_and_density_image_values():
    pts = torch.tensor([[0.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    lq = metrics.kde_log_prob(pts, 0.5)
    ref = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.ones(2, dtype=torch.float64)),
        torch.distributions.Independent(torch.distributions.Normal(pts, 0.5), 1))
    y = torch.randn(7, 2, dtype=torch.float64)
    assert torch.allclose(lq(y), ref.log_prob(y), atol=1e-12)
    shares = metrics.mode_shares(torch.tensor([[0.1, 0.0], [1.9, 0.0], [2.5, 0.0], [-1.0, 0.0]]), pts.float())
    assert torch.equal(shares, torch.tensor([0.5, 0.5]))
    img = metrics.density_image(lambda p: -p[:, 0], (0.0, 1.0, 0.0, 2.0), 4, log=True)
    assert img.shape == (4, 4) and torch.allclose(img[0], -torch.tensor([0.125, 0.375, 0.625, 0.875], dtype=torch.float64))
