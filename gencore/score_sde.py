r"""Chapter 7's continuous-time view: the VP SDE, its reverse-time SDE and probability-flow ODE, and a thin support.

The forward SDE :math:`dx = f(x, t)\,dt + g(t)\,dW` has, for :math:`t` running backwards, the
reverse-time SDE :math:`dx = [f - g^2 \nabla\log p_t]\,dt + g\,d\bar W` and the probability-flow ODE
:math:`dx/dt = f - \tfrac12 g^2 \nabla\log p_t`; both carry :math:`p_T` back to :math:`p_0` through the
same marginals. Here :math:`f = -\tfrac12\beta(t)x`, :math:`g = \sqrt{\beta(t)}` (the variance-preserving
SDE, the limit of DDPM's chain) with :math:`\beta(t) = \beta_{\min} + t(\beta_{\max} - \beta_{\min})`,
:math:`t \in [0, 1]`. For Gaussian data every :math:`p_t` is Gaussian, so both can be checked exactly.

:func:`ring_score` is the exact score of the uniform law on a circle smoothed by
:math:`\mathcal N(0, \sigma^2 I)`: data on a one-dimensional curve, whose score off the curve grows like
distance :math:`/\sigma^2`.

Book: ``book/07_score.ipynb``.

References:
    Anderson (1982). Reverse-time diffusion equation models. Stochastic Processes and their
    Applications 12(3).
    Song, Sohl-Dickstein, Kingma, Kumar, Ermon, Poole (2021). Score-based generative modeling
    through stochastic differential equations. ICLR. https://arxiv.org/abs/2011.13456
    Song, Ermon (2019). Generative modeling by estimating gradients of the data distribution,
    section 3.1. https://arxiv.org/abs/1907.05600
"""
from __future__ import annotations

from typing import Callable

import torch

from .tensors import in_range, noise, positive, positive_int, positive_number, validate

__all__ = ["vp_beta", "vp_alpha_bar", "gaussian_marginal", "gaussian_score_at", "pf_ode", "reverse_sde", "ring_score"]

TimeScore = Callable[[torch.Tensor, float], torch.Tensor]  # (x (N, D), t) -> score (N, D)


def vp_beta(t, beta_min: float = 0.1, beta_max: float = 20.0) -> float:
    r""":math:`\beta(t) = \beta_{\min} + t(\beta_{\max} - \beta_{\min})`, Song et al.'s defaults, for :math:`t \in [0, 1]`.

    Book: ``eq-score-vp-sde``.
    """
    t = float(in_range("t", t, 0.0, 1.0))
    positive("beta_min", beta_min)
    positive("beta_max", beta_max)
    return beta_min + t * (beta_max - beta_min)


def vp_alpha_bar(t, beta_min: float = 0.1, beta_max: float = 20.0) -> float:
    r""":math:`\bar\alpha(t) = \exp\big(-\int_0^t \beta\big) = \exp\big(-\beta_{\min}t - \tfrac12(\beta_{\max}-\beta_{\min})t^2\big)`.

    The forward SDE gives :math:`x_t = \sqrt{\bar\alpha(t)}\,x_0 + \sqrt{1-\bar\alpha(t)}\,\varepsilon`, DDPM's marginal.

    Book: ``eq-score-vp-sde``.
    """
    t = float(in_range("t", t, 0.0, 1.0))
    positive("beta_min", beta_min)
    positive("beta_max", beta_max)
    return float(torch.exp(torch.tensor(-beta_min * t - 0.5 * (beta_max - beta_min) * t * t, dtype=torch.float64)))


def gaussian_marginal(mean: torch.Tensor, cov: torch.Tensor, alpha_bar) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean :math:`\sqrt{\bar\alpha}\,m` and covariance :math:`\bar\alpha\Sigma + (1-\bar\alpha) I` of :math:`x_t` for data :math:`\mathcal N(m, \Sigma)`.

    Args:
        mean: ``(D,)``; cov: ``(D, D)``; alpha_bar: :math:`\bar\alpha \in [0, 1]`.
    """
    validate("mean", mean, ndim=1)
    validate("cov", cov, ndim=2)
    if cov.shape != (len(mean), len(mean)):
        raise ValueError(f"cov must have shape ({len(mean)}, {len(mean)}) to match mean; got {tuple(cov.shape)}")
    a = float(in_range("alpha_bar", alpha_bar, 0.0, 1.0))
    return a**0.5 * mean, a * cov + (1 - a) * torch.eye(len(mean), dtype=cov.dtype, device=cov.device)


def gaussian_score_at(mean: torch.Tensor, cov: torch.Tensor, beta_min: float = 0.1, beta_max: float = 20.0) -> TimeScore:
    r"""The exact score :math:`\nabla\log p_t(x) = -\Sigma_t^{-1}(x - m_t)` of the VP SDE's marginals for data :math:`\mathcal N(m, \Sigma)`.

    Returns ``score(x, t)`` with ``x`` of shape ``(N, D)``.
    """
    gaussian_marginal(mean, cov, 1.0)  # checks the shapes
    positive("beta_min", beta_min)
    positive("beta_max", beta_max)

    def score(x: torch.Tensor, t: float) -> torch.Tensor:
        m, c = gaussian_marginal(mean, cov, vp_alpha_bar(t, beta_min, beta_max))
        return -torch.linalg.solve(c, (x - m).T).T

    return score


def pf_ode(score: TimeScore, x: torch.Tensor, t0: float = 1.0, t1: float = 0.0, steps: int = 100, *,
           beta_min: float = 0.1, beta_max: float = 20.0) -> torch.Tensor:
    r"""Integrate the probability-flow ODE :math:`dx/dt = -\tfrac12\beta(t)\,[x + \nabla\log p_t(x)]` from ``t0`` to ``t1`` (RK4).

    Args:
        score: ``score(x, t)``, :math:`\nabla\log p_t`; x: ``(N, D)`` at time ``t0``; steps: RK4 steps.

    Returns:
        ``(N, D)``: the points at time ``t1``.

    Book: ``eq-score-pf-ode``.
    """
    validate("x", x, ndim=2)
    in_range("t0", t0, 0.0, 1.0)
    in_range("t1", t1, 0.0, 1.0)
    positive_int("steps", steps)

    def v(y, t):
        return -0.5 * vp_beta(t, beta_min, beta_max) * (y + score(y, t))

    h = (t1 - t0) / steps
    for i in range(steps):
        t = t0 + i * h
        k1 = v(x, t)
        k2 = v(x + 0.5 * h * k1, t + 0.5 * h)
        k3 = v(x + 0.5 * h * k2, t + 0.5 * h)
        k4 = v(x + h * k3, t + h)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def reverse_sde(score: TimeScore, x: torch.Tensor, t0: float = 1.0, t1: float = 0.0, steps: int = 1000, *,
                beta_min: float = 0.1, beta_max: float = 20.0, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Simulate the reverse-time SDE :math:`dx = -\beta(t)\,[\tfrac12 x + \nabla\log p_t(x)]\,dt + \sqrt{\beta(t)}\,d\bar W` from ``t0`` down to ``t1`` (Euler–Maruyama).

    Args:
        score: ``score(x, t)``; x: ``(N, D)`` at time ``t0 > t1``; steps: time steps;
        generator: for the noise.

    Book: ``eq-score-reverse-sde``.
    """
    validate("x", x, ndim=2)
    in_range("t0", t0, 0.0, 1.0)
    in_range("t1", t1, 0.0, 1.0)
    if not t1 < t0:
        raise ValueError(f"t1 must be below t0 (time runs backwards); got t0 = {t0}, t1 = {t1}")
    positive_int("steps", steps)
    dt = (t0 - t1) / steps
    for i in range(steps):
        t = t0 - i * dt
        b = vp_beta(t, beta_min, beta_max)
        x = x + b * (0.5 * x + score(x, t)) * dt + (b * dt) ** 0.5 * noise(x.shape, x, generator)
    return x


def ring_score(x: torch.Tensor, radius: float = 1.0, sigma: float = 0.1) -> torch.Tensor:
    r"""The exact score of the uniform law on the circle :math:`\|x\| = r` smoothed by :math:`\mathcal N(0, \sigma^2 I)`.

    Integrating the Gaussian over the circle gives
    :math:`p_\sigma(x) \propto e^{-(\rho^2 + r^2)/2\sigma^2} I_0(r\rho/\sigma^2)` with :math:`\rho = \|x\|`, so

    .. math::
        \nabla\log p_\sigma(x) = \frac{x}{\sigma^2}\Big(\frac{r}{\rho}\,\frac{I_1(r\rho/\sigma^2)}{I_0(r\rho/\sigma^2)} - 1\Big),

    radial, and about :math:`-(\rho - r)/\sigma^2` times the outward unit vector when :math:`\sigma \ll r`:
    distance over :math:`\sigma^2`. The Bessel ratio is taken from the scaled functions
    ``i1e/i0e``, so nothing overflows.

    Args:
        x: ``(N, 2)``; radius: :math:`r > 0`; sigma: :math:`\sigma > 0`.

    Book: ``eq-score-ring``.
    """
    validate("x", x, ndim=2, last_dim=2)
    r, s2 = positive_number("radius", radius), positive_number("sigma", sigma) ** 2
    rho = x.norm(dim=-1, keepdim=True)
    z = r * rho / s2
    ratio = torch.special.i1e(z) / torch.special.i0e(z)
    # r I1(z) / (rho I0(z)) -> r^2 / (2 sigma^2) as rho -> 0 (I1(z) ~ z / 2)
    factor = torch.where(rho > 1e-12 * r, r * ratio / rho.clamp_min(1e-300), torch.full_like(rho, r * r / (2 * s2)))
    return x * (factor - 1) / s2
