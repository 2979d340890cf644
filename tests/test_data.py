"""Tests for gencore.data: every density is normalized, matches its sampler, and fails loudly."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from gencore import data
from gencore.quadrature import grid_log_prob, log_integral

F64 = torch.float64
N_SAMPLES = 20_000

# A box holding all the mass and a resolution fine enough (cell <= sigma / 2) for each dataset.
BOXES = {
    "8gaussians": ((-2.5, 2.5, -2.5, 2.5), 500),
    "25gaussians": ((-5.0, 5.0, -5.0, 5.0), 400),
    "moons": ((-4.0, 4.0, -4.0, 4.0), 400),
    "rings": ((-4.0, 4.0, -4.0, 4.0), 400),
    "spirals": ((-4.0, 4.0, -4.0, 4.0), 400),
    "checkerboard": ((-3.0, 3.0, -3.0, 3.0), 480),
    **{f"u{i}": ((-6.0, 6.0, -6.0, 6.0), 480) for i in range(1, 5)},
}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@functools.lru_cache(maxsize=None)
def dist64(name: str):
    return data.make(name, dtype=F64)


@functools.lru_cache(maxsize=None)
def on_grid(name: str):
    """``(log p on the grid, cell area)`` in float64, the grid of ``BOXES[name]``."""
    extent, res = BOXES[name]
    _, values, area = grid_log_prob(dist64(name).log_prob, extent, res, dtype=F64)
    return values, area


def grid_entropy(name: str) -> float:
    values, area = on_grid(name)
    return float(-(values.exp() * values).sum() * area)


def mc_cross_entropy(density, samples: torch.Tensor) -> tuple[float, float]:
    """Monte Carlo mean of ``-log p(samples)`` and its standard error."""
    nll = -density.log_prob(samples)
    return float(nll.mean()), float(nll.std() / math.sqrt(len(nll)))


def chi_square(name: str, samples: torch.Tensor, bins: int = 10) -> tuple[float, int]:
    """Pearson statistic of a ``bins x bins`` histogram of ``samples`` against quadrature masses."""
    (x0, x1, y0, y1), res = BOXES[name]
    values, area = on_grid(name)
    k = res // bins
    mass = (values.exp() * area).reshape(bins, k, bins, k).sum((1, 3)).flatten()  # [row y, col x]
    ix = ((samples[:, 0] - x0) / (x1 - x0) * bins).floor().long()
    iy = ((samples[:, 1] - y0) / (y1 - y0) * bins).floor().long()
    inside = (ix >= 0) & (ix < bins) & (iy >= 0) & (iy < bins)
    observed = torch.bincount(iy[inside] * bins + ix[inside], minlength=bins * bins).to(F64)
    expected = len(samples) * mass
    keep = expected >= 5  # pool sparse bins and the outside of the box into one
    observed = torch.cat([observed[keep], (len(samples) - observed[keep].sum()).reshape(1)])
    expected = torch.cat([expected[keep], (len(samples) - expected[keep].sum()).reshape(1)])
    stat = ((observed - expected) ** 2 / expected.clamp_min(1e-9)).sum()
    return float(stat), len(expected) - 1


def chi_square_passes(stat: float, df: int) -> bool:
    return stat < df + 5 * math.sqrt(2 * df)


# ---------------------------------------------------------------------------- the contract
def test_names():
    assert data.NAMES == ("8gaussians", "25gaussians", "moons", "rings", "spirals",
                          "checkerboard", "u1", "u2", "u3", "u4")


@pytest.mark.parametrize("name", data.NAMES)
def test_shapes_and_distribution_api(name):
    d = data.make(name)
    assert isinstance(d, torch.distributions.Distribution)
    assert d.event_shape == torch.Size([2]) and d.batch_shape == torch.Size()
    assert d.sample((3, 4), generator=gen()).shape == (3, 4, 2)
    assert d.sample().shape == (2,)
    assert d.sample((0,)).shape == (0, 2)
    x = torch.randn(5, 7, 2, generator=gen())
    assert d.log_prob(x).shape == (5, 7)
    assert d.log_prob(x[0, 0]).shape == ()


@pytest.mark.parametrize("name", data.NAMES)
def test_normalized_on_the_plane(name):
    extent, res = BOXES[name]
    assert abs(float(log_integral(dist64(name).log_prob, extent, res, dtype=F64))) < 1e-3


@pytest.mark.parametrize("name", data.NAMES)
def test_sample_cross_entropy_equals_quadrature_entropy(name):
    d = dist64(name)
    mean, se = mc_cross_entropy(d, d.sample((N_SAMPLES,), generator=gen(1)))
    assert abs(mean - grid_entropy(name)) < 4 * se, (mean, grid_entropy(name), se)


@pytest.mark.parametrize("name", data.NAMES)
def test_sample_histogram_matches_density(name):
    samples = dist64(name).sample((N_SAMPLES,), generator=gen(2))
    stat, df = chi_square(name, samples)
    assert chi_square_passes(stat, df), (stat, df)


@pytest.mark.parametrize(
    "name, wrong",
    [("moons", {"noise": 0.13}), ("8gaussians", {"std": 0.03}), ("checkerboard", {"half_width": 2.1}),
     ("spirals", {"turns": 1.55})],
)
def test_sample_checks_reject_a_perturbed_sampler(name, wrong):
    samples = data.make(name, dtype=F64, **wrong).sample((N_SAMPLES,), generator=gen(2))
    mean, se = mc_cross_entropy(dist64(name), samples)
    assert abs(mean - grid_entropy(name)) > 4 * se
    if name != "8gaussians":  # coarse bins cannot see a mode's width, only its weight
        assert not chi_square_passes(*chi_square(name, samples))


@pytest.mark.parametrize("name", data.NAMES)
def test_dtype_follows_input_and_sample_follows_distribution(name):
    d32, d64 = data.make(name), dist64(name)
    assert d32.sample((4,), generator=gen()).dtype == torch.get_default_dtype()
    assert d64.sample((4,), generator=gen()).dtype == F64
    x = d64.sample((64,), generator=gen())
    assert d32.log_prob(x).dtype == F64 and d64.log_prob(x.float()).dtype == torch.float32
    torch.testing.assert_close(d32.log_prob(x.float()), d64.log_prob(x).float(), atol=2e-3, rtol=1e-4)


@pytest.mark.parametrize("name", data.NAMES)
def test_meta_device_inputs(name):
    out = data.make(name).log_prob(torch.empty(5, 3, 2, device="meta"))
    assert out.device.type == "meta" and out.shape == (5, 3)


def test_mixture_log_prob_on_meta_device():
    mix = data.GaussianMixture(torch.zeros(3, 2, device="meta"), 0.5)
    assert mix.log_prob(torch.empty(4, 2, device="meta")).device.type == "meta"


@pytest.mark.parametrize("name", data.NAMES)
def test_seeded_generator_is_deterministic(name):
    d = data.make(name)
    a, b = d.sample((100,), generator=gen(7)), d.sample((100,), generator=gen(7))
    assert torch.equal(a, b) and not torch.equal(a, d.sample((100,), generator=gen(8)))
    torch.manual_seed(3)
    c = d.sample((100,))
    torch.manual_seed(3)
    assert torch.equal(c, d.sample((100,)))


@pytest.mark.parametrize("name", data.NAMES)
def test_log_prob_finite_far_away(name):
    far = torch.tensor([[30.0, -30.0], [-30.0, 30.0], [0.0, 50.0], [0.0, 0.0]])
    for dtype in (torch.float32, F64):
        assert torch.isfinite(data.make(name).log_prob(far.to(dtype))).all()


@pytest.mark.parametrize("name", data.NAMES)
def test_log_prob_has_finite_gradients(name):
    x = torch.cat([data.make(name).sample((16,), generator=gen()), torch.zeros(1, 2)]).requires_grad_()
    data.make(name).log_prob(x).sum().backward()
    assert torch.isfinite(x.grad).all()


# ------------------------------------------------------------------------------ errors
def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="nope") as err:
        data.make("nope")
    assert "name" in str(err.value) and all(n in str(err.value) for n in data.NAMES)


@pytest.mark.parametrize(
    "name, kw, argument",
    [
        ("8gaussians", {"std": 0.0}, "std"),
        ("8gaussians", {"radius": -1.0}, "radius"),
        ("25gaussians", {"std": -0.1}, "std"),
        ("25gaussians", {"spacing": 0.0}, "spacing"),
        ("moons", {"noise": 0.0}, "noise"),
        ("moons", {"scale": -2.0}, "scale"),
        ("rings", {"radii": ()}, "radii"),
        ("rings", {"radii": (1.0, -1.0)}, "radii"),
        ("spirals", {"turns": 0.0}, "turns"),
        ("checkerboard", {"noise": -1.0}, "noise"),
        ("checkerboard", {"cells": 1}, "cells"),
        ("u2", {"resolution": 0}, "resolution"),
        ("u3", {"extent": (1.0, -1.0, 0.0, 1.0)}, "extent"),
        ("moons", {"sigma": 0.1}, "sigma"),
        ("u1", {"noise": 0.1}, "noise"),
    ],
)
def test_bad_or_unknown_kwargs_name_the_argument(name, kw, argument):
    with pytest.raises(ValueError, match=argument):
        data.make(name, **kw)


@pytest.mark.parametrize("name", data.NAMES)
def test_log_prob_rejects_points_that_are_not_2d(name):
    with pytest.raises(ValueError, match="x"):
        data.make(name).log_prob(torch.zeros(5, 3))


@pytest.mark.parametrize(
    "kw, argument",
    [
        ({"means": torch.zeros(3, 3), "std": 1.0}, "means"),
        ({"means": torch.zeros(3, 2), "std": torch.ones(2)}, "std"),
        ({"means": torch.zeros(3, 2), "std": -1.0}, "std"),
        ({"means": torch.zeros(3, 2), "std": 1.0, "weights": torch.ones(2)}, "weights"),
        ({"means": torch.zeros(3, 2), "std": 1.0, "weights": torch.tensor([1.0, -1.0, 1.0])}, "weights"),
    ],
)
def test_mixture_validates_its_arguments(kw, argument):
    with pytest.raises(ValueError, match=argument):
        data.GaussianMixture(**kw)


# ----------------------------------------------------------------- each dataset's math
def test_ring_and_grid_geometry():
    ring, grid25 = data.make("8gaussians", dtype=F64), data.make("25gaussians", dtype=F64)
    angle = 2 * math.pi * torch.arange(8, dtype=F64) / 8
    torch.testing.assert_close(ring.means, 2 * torch.stack([angle.cos(), angle.sin()], 1))
    assert ring.std == 0.02 and grid25.std == 0.05 and grid25.means.shape == (25, 2)
    ticks = range(-4, 5, 2)
    assert {tuple(m) for m in grid25.means.tolist()} == {(x, y) for x in ticks for y in ticks}
    torch.testing.assert_close(ring.weights, torch.full((8,), 1 / 8, dtype=F64))


def test_unequal_mixture_matches_closed_form_and_sampler():
    means, std = torch.tensor([[-1.0, 0.0], [1.5, 0.5]], dtype=F64), torch.tensor([0.3, 0.6], dtype=F64)
    mix = data.GaussianMixture(means, std, weights=torch.tensor([0.8, 0.2], dtype=F64))
    x = torch.randn(50, 2, generator=gen(), dtype=F64)
    pdf = sum(w * np.exp(-((x.numpy() - m.numpy()) ** 2).sum(1) / (2 * s**2)) / (2 * np.pi * s**2)
              for w, m, s in zip([0.8, 0.2], means, std.tolist()))
    np.testing.assert_allclose(mix.log_prob(x).numpy(), np.log(pdf), rtol=1e-12)
    left = float((mix.sample((N_SAMPLES,), generator=gen())[:, 0] < 0.25).double().mean())
    expected = 0.8 * norm.cdf(1.25 / 0.3) + 0.2 * norm.cdf(-1.25 / 0.6)  # P(x_1 < 0.25)
    assert abs(left - expected) < 4 * math.sqrt(expected * (1 - expected) / N_SAMPLES)


def test_rings_equal_the_exact_rice_density():
    """A circle of radius r with uniform angle plus noise has a closed form (Bessel I0)."""
    d = dist64("rings")
    x = 3 * torch.rand(2000, 2, generator=gen(), dtype=F64) - 1.5
    rho, s2 = x.norm(dim=1), 0.1**2
    radii = torch.tensor([0.75, 1.5, 2.25], dtype=F64)
    log_rice = (-(rho[:, None] - radii) ** 2 / (2 * s2) + torch.special.i0e(rho[:, None] * radii / s2).log()
                - math.log(2 * math.pi * s2) + (radii / radii.sum()).log())
    torch.testing.assert_close(d.log_prob(x), torch.logsumexp(log_rice, 1), atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", ["moons", "spirals"])
def test_open_curves_match_a_much_finer_quadrature(name):
    d = dist64(name)
    fine = data.NoisyCurve(d.pieces, d.noise, nodes_per_noise=32, dtype=F64)
    x = d.sample((4000,), generator=gen())  # where the mass is
    assert float((d.log_prob(x) - fine.log_prob(x)).abs().max()) < 2e-3


def test_checkerboard_matches_the_direct_formula():
    d = dist64("checkerboard")
    x = 5 * torch.rand(500, 2, generator=gen(), dtype=F64) - 2.5
    edges = np.linspace(-2, 2, 5)

    def mass(a, b):  # P(a < N(0, 1) < b) without 1 - 1 cancellation in the right tail
        return np.where(a + b > 0, norm.sf(a) - norm.sf(b), norm.cdf(b) - norm.cdf(a))

    p = np.zeros(len(x))
    for i in range(4):  # row (y)
        for j in range(4):  # column (x)
            if (i + j) % 2 == 0:
                px = mass(*((edges[j:j + 2, None] - x[:, 0].numpy()) / 0.05))
                py = mass(*((edges[i:i + 2, None] - x[:, 1].numpy()) / 0.05))
                p += px * py / 8
    keep = p > 1e-250
    np.testing.assert_allclose(d.log_prob(x).numpy()[keep], np.log(p[keep]), rtol=1e-9, atol=1e-9)
    assert math.isclose(float(d.log_prob(torch.tensor([-1.5, -1.5], dtype=F64)).exp()), 1 / 8, rel_tol=1e-9)


def _paper_energy(name: str, z: np.ndarray) -> np.ndarray:
    """Table 1 of Rezende & Mohamed (2015) written out with plain exp/log, plus the envelope."""
    z1, z2 = z[:, 0], z[:, 1]
    w1 = np.sin(2 * np.pi * z1 / 4)
    w2 = 3 * np.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)
    w3 = 3 / (1 + np.exp(-(z1 - 1) / 0.3))
    envelope = (z1 / 4) ** 8
    if name == "u1":
        return (0.5 * ((np.hypot(z1, z2) - 2) / 0.4) ** 2
                - np.log(np.exp(-0.5 * ((z1 - 2) / 0.6) ** 2) + np.exp(-0.5 * ((z1 + 2) / 0.6) ** 2)))
    if name == "u2":
        return 0.5 * ((z2 - w1) / 0.4) ** 2 + envelope
    if name == "u3":
        first, second = np.exp(-0.5 * ((z2 - w1) / 0.35) ** 2), np.exp(-0.5 * ((z2 - w1 + w2) / 0.35) ** 2)
    else:
        first, second = np.exp(-0.5 * ((z2 - w1) / 0.4) ** 2), np.exp(-0.5 * ((z2 - w1 + w3) / 0.35) ** 2)
    return -np.log(first + second) + envelope


@pytest.mark.parametrize("name", ["u1", "u2", "u3", "u4"])
def test_energies_are_rezende_mohamed_table_1(name):
    d = dist64(name)
    z = 6 * torch.rand(1000, 2, generator=gen(), dtype=F64) - 3
    np.testing.assert_allclose(d.energy(z).numpy(), _paper_energy(name, z.numpy()), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["u1", "u2", "u3", "u4"])
def test_log_prob_is_the_paper_energy_normalized_by_independent_quadrature(name):
    """log p = -U - log Z, with U and Z computed here in NumPy (midpoint rule, log-sum-exp), not by gencore."""
    h = 0.02
    axis = np.arange(-8 + h / 2, 8, h)
    zz = np.stack(np.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    neg_u = -_paper_energy(name, zz)
    log_z = float(np.logaddexp.reduce(neg_u) + 2 * np.log(h))
    z = torch.tensor([[0.0, 0.0], [2.0, 0.3], [-1.0, -0.5], [1.3, 1.1]], dtype=F64)
    expected = -_paper_energy(name, z.numpy()) - log_z
    np.testing.assert_allclose(dist64(name).log_prob(z).numpy(), expected, rtol=0, atol=2e-4)


@pytest.mark.parametrize("name", ["u1", "u2", "u3", "u4"])
def test_log_Z_does_not_depend_on_the_box(name):
    other = data.make(name, extent=(-10.0, 11.0, -12.0, 9.0), resolution=1300)
    assert abs(dist64(name).log_Z - other.log_Z) < 1e-4


def test_meta_device_log_probs_follow_their_input():
    meta = torch.device("meta")
    mix = data.GaussianMixture(torch.empty(3, 2, device=meta), torch.empty(3, device=meta), device=meta)
    out = mix.log_prob(torch.empty(5, 2, device=meta))
    assert out.device == meta and out.shape == (5,)
    for name in ("moons", "rings"):  # (the checkerboard's dark squares need torch.nonzero: no meta kernel)
        out = data.make(name, device=meta).log_prob(torch.empty(4, 2, device=meta))
        assert out.device == meta and out.shape == (4,)
