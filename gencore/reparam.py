r"""Chapter 2: sampling by transforming simple noise, and gradients of expectations.

Three ways to turn uniform or Gaussian noise into samples -- the inverse CDF (1D, and in 2D by
the chain rule on a grid), Box--Muller, and the location-scale map :math:`z = \mu + \sigma\varepsilon`
-- and the two Monte Carlo estimators of
:math:`\nabla_{\mu,\sigma}\,\mathbb{E}_{z\sim\mathcal N(\mu,\sigma^2)}[f(z)]`: the pathwise
(reparameterization) estimator and the score-function (REINFORCE) estimator, with or without
a baseline.

Conventions: ``f`` maps a tensor of points ``z`` to a tensor of the same shape, elementwise
(sample ``i`` of the output depends on sample ``i`` of the input only). A gradient estimate is
returned as one tensor of shape ``(2, *S)``: row 0 is :math:`\partial/\partial\mu`, row 1 is
:math:`\partial/\partial\sigma`, where ``S`` is the broadcast shape of ``mu`` and ``sigma``
(``()`` for numbers), so ``g_mu, g_sigma = pathwise_grad(...)`` unpacks it.

Book: ``book/02_reparameterization.ipynb``.

References:
    Devroye (1986), Non-Uniform Random Variate Generation, ch. 2.
    Box & Muller (1958), A note on the generation of random normal deviates.
    Williams (1992), Simple statistical gradient-following algorithms (REINFORCE).
    Kingma & Welling (2014), Auto-encoding variational Bayes.
    Mohamed, Rosca, Figurnov & Mnih (2020), Monte Carlo gradient estimation in machine learning.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .quadrature import grid_log_prob
from .tensors import event_2d, extent_box, in_range, noise, positive, positive_int, uniform, validate
from .tensors import log_density as check_log_density

__all__ = [
    "InverseCDF", "inverse_cdf", "double_well", "grid_sample_2d",
    "box_muller", "normal_box_muller",
    "reparameterize", "pathwise_terms", "score_function_terms", "pathwise_grad", "score_function_grad",
    "bump", "bump_expectation_grad", "exact_grad_quadrature",
    "banana_push", "banana_log_prob",
]


def _like(*args):
    """Tensors from numbers, on the device and dtype of the first tensor argument."""
    ref = next((a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
    kw = dict(dtype=ref.dtype, device=ref.device) if ref is not None else dict(dtype=torch.get_default_dtype())
    return [torch.as_tensor(a, **kw) for a in args]


def _shapes(mu, sigma, eps: torch.Tensor) -> None:
    """Check the noise and that ``mu``, ``sigma`` and ``eps`` broadcast (``eps`` of any batch shape)."""
    validate("eps", eps)
    try:
        torch.broadcast_shapes(*(torch.as_tensor(v).shape for v in (mu, sigma)), eps.shape)
    except RuntimeError:
        shapes = [tuple(torch.as_tensor(v).shape) for v in (mu, sigma, eps)]
        raise ValueError(f"mu, sigma and eps must broadcast against each other; got shapes {shapes}") from None


# ------------------------------------------------------------------------ inverse CDF, 1D
def double_well(x: torch.Tensor, depth: float = 2.0, tilt: float = 0.5) -> torch.Tensor:
    r"""Unnormalized log-density :math:`\log \tilde p(x) = -d\,(x^2-1)^2 + t\,x` of a tilted double well.

    Its normalizing constant and CDF are integrals of the exponential of a quartic, with no
    closed form: the chapter's example for a numerically built inverse CDF.
    """
    validate("x", x)
    in_range("depth", depth), in_range("tilt", tilt)
    return -depth * (x**2 - 1) ** 2 + tilt * x


@dataclass(frozen=True)
class InverseCDF:
    r"""A 1D distribution tabulated on a grid, sampled by :math:`x = F^{-1}(u)`, :math:`u \sim U(0, 1)`.

    ``cdf`` is the trapezoid-rule integral of the density on the grid, so :math:`F` is piecewise
    linear and :math:`F^{-1}` is exact for the piecewise-constant density with those cell masses.

    Attributes:
        xs: ``(G,)`` increasing, evenly spaced grid.
        cdf: ``(G,)`` :math:`F` at ``xs``, from 0 to 1.
        log_density: ``(G,)`` normalized log-density at ``xs``.
        log_Z: the log of the normalizing constant of the unnormalized density.

    Book: ``eq-reparam-inverse-cdf``.

    Example:
        >>> icdf = inverse_cdf(double_well, -3.0, 3.0, resolution=201)
        >>> icdf(torch.tensor([0.0, 1.0])).tolist()  # F^-1 maps [0, 1] onto the grid's ends
        [-3.0, 3.0]
        >>> icdf.sample(5, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([5])
    """

    xs: torch.Tensor
    cdf: torch.Tensor
    log_density: torch.Tensor
    log_Z: float

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`F^{-1}(u)` by linear interpolation; ``u`` of any shape with entries in ``[0, 1]``."""
        in_range("u", validate("u", u), 0.0, 1.0)
        cdf, xs = self.cdf.to(u), self.xs.to(u)
        k = torch.searchsorted(cdf, u.contiguous(), right=True).clamp(1, len(xs) - 1)
        lo, hi = cdf[k - 1], cdf[k]
        frac = ((u - lo) / (hi - lo).clamp_min(torch.finfo(u.dtype).tiny)).clamp(0, 1)
        return xs[k - 1] + frac * (xs[k] - xs[k - 1])

    def cdf_at(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`F(x)` by linear interpolation (0 left of the grid, 1 right of it)."""
        validate("x", x)
        xs, cdf = self.xs.to(x), self.cdf.to(x)
        k = torch.searchsorted(xs, x.contiguous(), right=True).clamp(1, len(xs) - 1)
        frac = ((x - xs[k - 1]) / (xs[k] - xs[k - 1])).clamp(0, 1)
        return cdf[k - 1] + frac * (cdf[k] - cdf[k - 1])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples, shape ``(n,)``, from ``n`` uniforms of ``generator``."""
        positive_int("n", n)
        return self(uniform((n,), self.xs, generator))


def inverse_cdf(log_density: Callable[[torch.Tensor], torch.Tensor], lo: float, hi: float,
                resolution: int = 2001, *, dtype: torch.dtype | None = None,
                device: torch.device | str | None = None) -> InverseCDF:
    r"""Tabulate :math:`F(x) = \int_{lo}^{x} p(t)\,dt` from an unnormalized log-density.

    The density is normalized on ``[lo, hi]`` in log space (``logsumexp``-style), so tiny
    densities do not underflow before they are summed.

    Args:
        log_density: maps ``(G,)`` points to ``(G,)`` unnormalized log-densities.
        lo, hi: the interval holding (all but a negligible part of) the mass.
        resolution: grid points ``G``.

    Book: ``eq-reparam-cdf``.
    """
    in_range("lo", lo), in_range("hi", hi)
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo; got lo={lo}, hi={hi}")
    positive_int("resolution", resolution, minimum=3)
    xs = torch.linspace(lo, hi, resolution, dtype=dtype, device=device)
    lf = log_density(xs)
    if not isinstance(lf, torch.Tensor) or lf.shape != xs.shape:
        raise ValueError(f"log_density must map (G,) points to (G,) values; got {type(lf).__name__} "
                         f"{tuple(getattr(lf, 'shape', ()))}")
    check_log_density("log_density", lf, some_mass=True)
    top = lf.max()
    f = (lf - top).exp()
    dx = (hi - lo) / (resolution - 1)
    masses = 0.5 * (f[:-1] + f[1:]) * dx  # trapezoid rule, cell by cell
    total = masses.sum()
    cdf = torch.cat([masses.new_zeros(1), masses.cumsum(0) / total])
    cdf[-1] = 1.0
    log_z = float(top + total.log())
    return InverseCDF(xs, cdf, lf - log_z, log_z)


# ------------------------------------------------------------ inverse CDF, 2D by the chain rule
def grid_sample_2d(log_prob: Callable[[torch.Tensor], torch.Tensor], extent: Sequence[float],
                   resolution: int, n: int, generator: torch.Generator | None = None,
                   *, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    r"""Sample a 2D density by the chain rule: :math:`x_1 = F_1^{-1}(u_1)`, :math:`x_2 = F_{2|1}^{-1}(u_2 \mid x_1)`.

    Both CDFs are sums of cell masses on a ``resolution x resolution`` grid (the midpoint
    rule), so the sampler needs ``resolution**2`` density evaluations -- and in ``D``
    dimensions it would need ``resolution**D``. Within a cell the point is uniform.

    Args:
        log_prob: maps ``(N, 2)`` points to ``(N,)`` log-densities (normalized or not).
        extent: ``(xmin, xmax, ymin, ymax)``.
        resolution: cells per side; n: number of samples; dtype, device: of the grid and the samples.

    Returns ``(n, 2)`` samples.

    Book: ``eq-reparam-chain-rule``.
    """
    x0, x1, y0, y1 = extent_box("extent", extent)
    positive_int("n", n), positive_int("resolution", resolution, minimum=2)
    _, values, _ = grid_log_prob(log_prob, extent, resolution, dtype=dtype, device=device)
    check_log_density("log_prob", values, some_mass=True)
    mass = torch.softmax(values, 0).reshape(resolution, resolution)  # [row y, column x]
    u = uniform((n, 4), mass, generator)
    col_cdf = mass.sum(0).cumsum(0)  # F_1 over columns (x1)
    col = torch.searchsorted(col_cdf, (u[:, 0] * col_cdf[-1]).contiguous(), right=True).clamp_max(resolution - 1)
    cond = mass[:, col].T.cumsum(1)  # (n, rows): F_{2|1} within the chosen column
    row = torch.searchsorted(cond, (u[:, 1:2] * cond[:, -1:]).contiguous(), right=True)[:, 0].clamp_max(resolution - 1)
    hx, hy = (x1 - x0) / resolution, (y1 - y0) / resolution
    return torch.stack([x0 + (col + u[:, 2]) * hx, y0 + (row + u[:, 3]) * hy], -1)


# ------------------------------------------------------------------------------- Box-Muller
def box_muller(u1: torch.Tensor, u2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Two independent :math:`\mathcal N(0, 1)` variables from two independent uniforms on (0, 1].

    .. math::
        z_1 = \sqrt{-2\log u_1}\,\cos(2\pi u_2), \qquad z_2 = \sqrt{-2\log u_1}\,\sin(2\pi u_2).

    Args:
        u1, u2: tensors of the same shape with entries in ``(0, 1]`` (``u1 = 0`` gives inf).

    Book: ``eq-reparam-box-muller``.

    References:
        Box & Muller (1958), Ann. Math. Statist. 29(2).
    """
    validate("u1", u1), validate("u2", u2)
    if u1.shape != u2.shape:
        raise ValueError(f"u1 and u2 must have the same shape; got {tuple(u1.shape)} and {tuple(u2.shape)}")
    in_range("u1", u1, 0.0, 1.0, low_open=True)
    in_range("u2", u2, 0.0, 1.0)
    r = torch.sqrt(-2 * torch.log(u1))  # radius: r^2 / 2 is Exponential(1)
    theta = 2 * math.pi * u2  # angle: uniform on [0, 2 pi)
    return r * torch.cos(theta), r * torch.sin(theta)


def normal_box_muller(n: int, generator: torch.Generator | None = None, *,
                      dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """``n`` standard-normal samples, shape ``(n,)``, made by :func:`box_muller` from uniforms."""
    positive_int("n", n)
    half = (n + 1) // 2
    like = torch.empty(0, dtype=dtype or torch.get_default_dtype(), device=device)
    u = uniform((2, half), like, generator)
    z1, z2 = box_muller(1 - u[0], u[1])  # 1 - u lies in (0, 1]
    return torch.cat([z1, z2])[:n]


# -------------------------------------------------------------------- gradient estimators
def reparameterize(mu, sigma, eps: torch.Tensor) -> torch.Tensor:
    r""":math:`z = \mu + \sigma\,\varepsilon`: a sample of :math:`\mathcal N(\mu, \sigma^2)` that is differentiable in :math:`(\mu, \sigma)`.

    Args:
        mu: a number or tensor; sigma: ``>= 0``, a number or tensor; eps: standard-normal noise,
            a tensor; the three broadcast against each other.

    Book: ``eq-reparam-trick``.
    """
    for name, v in (("mu", mu), ("sigma", sigma)):
        validate(name, v, nonempty=False) if isinstance(v, torch.Tensor) else in_range(name, v)
    positive("sigma", sigma, allow_zero=True)
    _shapes(mu, sigma, eps)
    return mu + sigma * eps


def _setup(mu, sigma, n, generator):
    mu, sigma = _like(in_range("mu", mu), sigma)
    positive("sigma", sigma)
    positive_int("n", n)
    mu, sigma = torch.broadcast_tensors(mu.detach(), sigma.detach())
    eps = noise((n, *mu.shape), mu, generator)
    return mu, sigma, eps


def _apply(f, z: torch.Tensor) -> torch.Tensor:
    y = f(z)
    if not isinstance(y, torch.Tensor) or y.shape != z.shape:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"f must map z of shape {tuple(z.shape)} to values of the same shape "
                         f"(elementwise); got {got}")
    return y


def pathwise_terms(f, mu, sigma, eps: torch.Tensor) -> torch.Tensor:
    r"""Per-sample pathwise terms :math:`\big(f'(z_i),\ f'(z_i)\,\varepsilon_i\big)`, :math:`z_i = \mu + \sigma\varepsilon_i`.

    Args:
        f: differentiable, elementwise; eps: ``(n, *S)`` standard-normal noise.

    Returns ``(n, 2, *S)``; their mean over samples is the pathwise estimate.

    Book: ``eq-reparam-pathwise``.
    """
    positive("sigma", sigma)
    z = reparameterize(mu, sigma, eps).detach().requires_grad_(True)
    with torch.enable_grad():
        y = _apply(f, z)
        if not y.requires_grad:
            raise ValueError("f must be differentiable in z for the pathwise estimator (its output "
                             "does not depend on z through autograd); use score_function_grad instead")
        (dfdz,) = torch.autograd.grad(y.sum(), z)
    return torch.stack([dfdz, dfdz * eps], 1)  # dz/dmu = 1, dz/dsigma = eps


def score_function_terms(f, mu, sigma, eps: torch.Tensor, baseline=None) -> torch.Tensor:
    r"""Per-sample score-function terms :math:`(f(z_i) - b_i)\,\nabla_{\mu,\sigma}\log q(z_i)`.

    For :math:`q = \mathcal N(\mu, \sigma^2)` and :math:`z = \mu + \sigma\varepsilon`:
    :math:`\partial_\mu \log q = \varepsilon/\sigma` and :math:`\partial_\sigma \log q = (\varepsilon^2 - 1)/\sigma`.

    Args:
        f: elementwise, need not be differentiable (it runs under ``no_grad``).
        eps: ``(n, *S)`` standard-normal noise.
        baseline: ``None`` (no baseline), a number or tensor broadcastable to ``S`` (a constant
            :math:`b`), or ``"mean"``: for sample ``i`` the mean of ``f`` over the *other*
            samples (leave-one-out, so the estimate stays unbiased; needs ``n >= 2``).

    Returns ``(n, 2, *S)``; their mean over samples is the score-function estimate.

    Book: ``eq-reparam-score``, ``eq-reparam-baseline``.
    """
    positive("sigma", sigma)
    z = reparameterize(mu, sigma, eps)
    with torch.no_grad():
        fz = _apply(f, z.detach())
    if baseline is None:
        centred = fz
    elif isinstance(baseline, str):
        if baseline != "mean":
            raise ValueError(f"baseline must be None, a number, a tensor or 'mean'; got {baseline!r}")
        n = fz.shape[0]
        if n < 2:
            raise ValueError("baseline='mean' (leave-one-out) needs n >= 2 samples")
        centred = fz - (fz.sum(0, keepdim=True) - fz) / (n - 1)
    else:
        centred = fz - torch.as_tensor(in_range("baseline", baseline), dtype=fz.dtype, device=fz.device)
    score = torch.stack([eps / sigma, (eps**2 - 1) / sigma], 1)
    return centred.unsqueeze(1) * score


def pathwise_grad(f, mu, sigma, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Pathwise (reparameterization) estimate of :math:`\nabla_{\mu,\sigma}\,\mathbb{E}_{\mathcal N(\mu,\sigma^2)}[f(z)]`.

    .. math::
        \hat g = \frac1n \sum_{i=1}^n f'(\mu + \sigma\varepsilon_i)\,(1,\ \varepsilon_i), \qquad \varepsilon_i \sim \mathcal N(0, 1).

    Args:
        f: differentiable, elementwise: ``(n, *S) -> (n, *S)``.
        mu, sigma: numbers or tensors broadcasting to ``S``; ``sigma > 0``.
        n: number of samples, ``>= 1``; generator: draws the noise.

    Returns ``(2, *S)`` (see the module docstring).

    Book: ``eq-reparam-pathwise``.

    References:
        Kingma & Welling (2014); Rezende, Mohamed & Wierstra (2014).
    """
    mu, sigma, eps = _setup(mu, sigma, n, generator)
    return pathwise_terms(f, mu, sigma, eps).mean(0)


def score_function_grad(f, mu, sigma, n: int, baseline=None,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Score-function (REINFORCE) estimate of :math:`\nabla_{\mu,\sigma}\,\mathbb{E}_{\mathcal N(\mu,\sigma^2)}[f(z)]`.

    .. math::
        \hat g = \frac1n \sum_{i=1}^n \big(f(z_i) - b_i\big)\,\nabla_{\mu,\sigma}\log q(z_i), \qquad z_i \sim \mathcal N(\mu, \sigma^2).

    Args:
        f: elementwise ``(n, *S) -> (n, *S)``; need not be differentiable.
        mu, sigma: numbers or tensors broadcasting to ``S``; ``sigma > 0``.
        n: number of samples, ``>= 1`` (``>= 2`` with ``baseline="mean"``); generator: draws the noise.
        baseline: see :func:`score_function_terms`.

    Returns ``(2, *S)`` (see the module docstring).

    Book: ``eq-reparam-score``.

    References:
        Williams (1992); Glynn (1990).
    """
    mu, sigma, eps = _setup(mu, sigma, n, generator)
    return score_function_terms(f, mu, sigma, eps, baseline).mean(0)


# ------------------------------------------------------------------ exact gradients to check
def bump(z: torch.Tensor, a: float = 0.0, w: float = 1.0) -> torch.Tensor:
    r"""A Gaussian bump :math:`f(z) = \exp(-(z - a)^2 / (2w^2))`, peaked for small width ``w``."""
    validate("z", z, nonempty=False), in_range("a", a), positive("w", w)
    return torch.exp(-0.5 * ((z - a) / w) ** 2)


def bump_expectation_grad(mu, sigma, a: float = 0.0, w: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Exact :math:`E = \mathbb{E}_{\mathcal N(\mu,\sigma^2)}[\mathrm{bump}(z)]` and its gradient in :math:`(\mu, \sigma)`.

    With :math:`s^2 = w^2 + \sigma^2` and :math:`m = \mu - a`:
    :math:`E = (w/s)\,e^{-m^2/(2s^2)}`, :math:`\partial_\mu E = -E\,m/s^2`,
    :math:`\partial_\sigma E = E\,\sigma\,(m^2 - s^2)/s^4`.

    Returns ``(E, grad)`` with ``grad`` of shape ``(2, *S)``.

    Book: ``eq-reparam-bump``.
    """
    mu, sigma = _like(in_range("mu", mu), sigma)
    positive("sigma", sigma)
    in_range("a", a)
    positive("w", w)
    s2 = w**2 + sigma**2
    m = mu - a
    e = w / s2.sqrt() * torch.exp(-0.5 * m**2 / s2)
    return e, torch.stack(torch.broadcast_tensors(-e * m / s2, e * sigma * (m**2 - s2) / s2**2))


def exact_grad_quadrature(f, mu: float, sigma: float, resolution: int = 40001, width: float = 12.0,
                          dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    r""":math:`\nabla_{\mu,\sigma}\mathbb{E}[f]` by the trapezoid rule on :math:`\mu \pm` ``width`` :math:`\sigma`, via the score identity.

    Uses :math:`\partial_\mu \mathbb{E}[f] = \mathbb{E}[f\,\varepsilon]/\sigma` and
    :math:`\partial_\sigma \mathbb{E}[f] = \mathbb{E}[f\,(\varepsilon^2 - 1)]/\sigma`, so ``f``
    need not be differentiable (a step function is fine). Returns ``(2,)``, on ``device`` (where ``f`` runs).
    """
    in_range("mu", mu), positive("sigma", sigma), positive("width", width)
    positive_int("resolution", resolution, minimum=3)
    eps = torch.linspace(-width, width, resolution, dtype=dtype, device=device)
    w = torch.exp(-0.5 * eps**2) / math.sqrt(2 * math.pi) * (eps[1] - eps[0])
    w[0] = w[-1] = 0.5 * w[0]
    with torch.no_grad():
        fz = f(mu + sigma * eps)
    return torch.stack([(fz * eps * w).sum(), (fz * (eps**2 - 1) * w).sum()]) / sigma


# ------------------------------------------------------------- noise through a map, in 2D
def banana_push(eps: torch.Tensor, b: float = 0.5, s: float = 0.5) -> torch.Tensor:
    r"""Push 2D noise through :math:`T(\varepsilon) = (\varepsilon_1,\ s\,\varepsilon_2 + b(\varepsilon_1^2 - 1))`.

    An invertible map with :math:`|\det \partial T/\partial\varepsilon| = s` everywhere: a
    Gaussian becomes a banana. Args: eps ``(N, 2)``. Returns ``(N, 2)``.

    Book: ``eq-reparam-push``.
    """
    event_2d("eps", eps), in_range("b", b), positive("s", s)
    e1, e2 = eps.unbind(-1)
    return torch.stack([e1, s * e2 + b * (e1**2 - 1)], -1)


def banana_log_prob(x: torch.Tensor, b: float = 0.5, s: float = 0.5) -> torch.Tensor:
    r"""Exact log-density of :func:`banana_push` of :math:`\mathcal N(0, I)`, by the change of variables.

    :math:`\log p(x) = \log\mathcal N(T^{-1}(x); 0, I) - \log s` with
    :math:`T^{-1}(x) = (x_1,\ (x_2 - b(x_1^2 - 1))/s)`. Args: x ``(N, 2)``. Returns ``(N,)``.

    Book: ``eq-reparam-change-of-variables``.
    """
    event_2d("x", x), in_range("b", b), positive("s", s)
    x1, x2 = x.unbind(-1)
    e2 = (x2 - b * (x1**2 - 1)) / s
    return -0.5 * (x1**2 + e2**2) - math.log(2 * math.pi) - math.log(s)
