r"""Chapter 1: entropy, cross-entropy, the Kullback--Leibler and Jensen--Shannon divergences.

Everything is in nats (natural logarithms). The discrete functions take probability vectors
along ``dim``; the Gaussian ones take parameters and broadcast like ``torch`` arithmetic.

Book: ``book/01_kl.ipynb``.

References:
    Kullback & Leibler (1951), On information and sufficiency.
    Cover & Thomas (2006), Elements of Information Theory, ch. 2.
    Lin (1991), Divergence measures based on the Shannon entropy.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .tensors import one_of, positive, positive_int, probability_vector
from .train import fit

__all__ = [
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "kl_normal",
    "kl_mvn",
    "kl_monte_carlo",
    "bimodal",
    "kl_quadrature_1d",
    "fit_normal_1d",
    "DiagonalNormal",
]


# ---------------------------------------------------------------------------- discrete
def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Shannon entropy :math:`H(p) = -\sum_i p_i \log p_i`, with :math:`0 \log 0 = 0`.

    Args:
        p: probabilities, shape ``(..., K, ...)`` summing to one along ``dim``.

    Book: ``eq-entropy``.
    """
    probability_vector("p", p, dim)
    return -torch.xlogy(p, p).sum(dim)


def cross_entropy(p: torch.Tensor, q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Cross-entropy :math:`H(p, q) = -\sum_i p_i \log q_i` (``inf`` where ``q_i = 0 < p_i``).

    Book: ``eq-cross-entropy``.
    """
    probability_vector("p", p, dim)
    probability_vector("q", q, dim)
    return -torch.xlogy(p, q).sum(dim)


def kl_divergence(p: torch.Tensor, q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r""":math:`\mathrm{KL}(p\,\|\,q) = \sum_i p_i \log(p_i / q_i) = H(p, q) - H(p)`.

    Terms with :math:`p_i = 0` contribute zero; a :math:`q_i = 0 < p_i` makes it ``inf``.

    Args:
        p, q: probability vectors along ``dim`` (broadcastable).

    Book: ``eq-kl-discrete``.
    """
    probability_vector("p", p, dim)
    probability_vector("q", q, dim)
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim)


def js_divergence(p: torch.Tensor, q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Jensen--Shannon divergence :math:`\tfrac12 \mathrm{KL}(p\|m) + \tfrac12 \mathrm{KL}(q\|m)`, :math:`m = \tfrac12(p+q)`.

    Symmetric and, in nats, between 0 and :math:`\log 2` (the bound is 1 only in bits).

    Book: ``eq-jsd``.

    References:
        Lin (1991), Divergence measures based on the Shannon entropy.
    """
    probability_vector("p", p, dim)
    probability_vector("q", q, dim)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, dim) + 0.5 * kl_divergence(q, m, dim)


# ---------------------------------------------------------------------------- Gaussians
def _like(*args):
    """Tensors from numbers, on the device and dtype of the first tensor argument."""
    ref = next((a for a in args if isinstance(a, torch.Tensor)), None)
    if ref is None:
        return [torch.as_tensor(a, dtype=torch.get_default_dtype()) for a in args]
    return [torch.as_tensor(a, dtype=ref.dtype, device=ref.device) for a in args]


def kl_normal(mu_p, sigma_p, mu_q, sigma_q) -> torch.Tensor:
    r"""Elementwise :math:`\mathrm{KL}(\mathcal N(\mu_p,\sigma_p^2)\,\|\,\mathcal N(\mu_q,\sigma_q^2))`.

    .. math::
        \log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p-\mu_q)^2}{2\sigma_q^2} - \frac12 .

    Broadcasts; for diagonal Gaussians sum the result over the last dimension.

    Args:
        mu_p, sigma_p, mu_q, sigma_q: tensors or numbers (standard deviations, > 0).

    Book: ``eq-kl-normal``.
    """
    mu_p, sigma_p, mu_q, sigma_q = _like(mu_p, sigma_p, mu_q, sigma_q)
    positive("sigma_p", sigma_p)
    positive("sigma_q", sigma_q)
    ratio = sigma_p / sigma_q
    return -torch.log(ratio) + 0.5 * (ratio**2 + ((mu_p - mu_q) / sigma_q) ** 2) - 0.5


def kl_mvn(mu_p: torch.Tensor, cov_p: torch.Tensor, mu_q: torch.Tensor, cov_q: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(\mu_p,\Sigma_p)\,\|\,\mathcal N(\mu_q,\Sigma_q))` for full covariances.

    .. math::
        \tfrac12\Big[\operatorname{tr}(\Sigma_q^{-1}\Sigma_p) + (\mu_q-\mu_p)^\top\Sigma_q^{-1}(\mu_q-\mu_p)
        - D + \log\det\Sigma_q - \log\det\Sigma_p\Big]

    Args:
        mu_p, mu_q: ``(..., D)``; cov_p, cov_q: ``(..., D, D)`` symmetric positive definite.

    Book: ``eq-kl-mvn``.
    """
    d = mu_p.shape[-1]
    for name, cov in (("cov_p", cov_p), ("cov_q", cov_q)):
        if cov.shape[-2:] != (d, d):
            raise ValueError(f"{name} must have shape (..., {d}, {d}); got {tuple(cov.shape)}")
    if mu_q.shape[-1] != d:
        raise ValueError(f"mu_q must have last dimension {d}; got {tuple(mu_q.shape)}")
    chol_q, info = torch.linalg.cholesky_ex(cov_q)
    if bool((info != 0).any()):
        raise ValueError("cov_q must be symmetric positive definite")
    chol_p, info = torch.linalg.cholesky_ex(cov_p)
    if bool((info != 0).any()):
        raise ValueError("cov_p must be symmetric positive definite")
    # tr(Σq⁻¹ Σp) = ‖Lq⁻¹ Lp‖_F², Mahalanobis term = ‖Lq⁻¹ (μq − μp)‖²
    a = torch.linalg.solve_triangular(chol_q, chol_p, upper=False)
    diff = (mu_q - mu_p).unsqueeze(-1)
    b = torch.linalg.solve_triangular(chol_q, diff, upper=False).squeeze(-1)
    logdet = lambda chol: 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # noqa: E731
    return 0.5 * ((a**2).sum((-2, -1)) + (b**2).sum(-1) - d + logdet(chol_q) - logdet(chol_p))


def kl_monte_carlo(
    log_p: Callable[[torch.Tensor], torch.Tensor],
    log_q: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Monte Carlo :math:`\mathrm{KL}(p\|q) \approx \frac1N \sum_n \log p(x_n) - \log q(x_n)`, :math:`x_n \sim p`.

    Args:
        log_p, log_q: log-densities, mapping ``(N, ...)`` to ``(N,)``.
        x: samples from ``p``, ``(N, ...)`` with ``N >= 2``.

    Returns:
        ``(estimate, standard_error)``, both scalar tensors.

    Book: ``eq-kl-mc``.
    """
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 samples to give a standard error; got {x.shape[0]}")
    r = log_p(x) - log_q(x)
    return r.mean(), r.std() / math.sqrt(r.shape[0])


# ---------------------------------------------------------------- fitting one Gaussian in 1D
def bimodal(separation, std=1.0, weight=0.5) -> torch.distributions.MixtureSameFamily:
    r"""The 1D target :math:`w\,\mathcal N(-d/2, s^2) + (1-w)\,\mathcal N(d/2, s^2)`.

    Args:
        separation: ``d >= 0``, the distance between the two means (number or 0-d tensor).
        std: ``s > 0``; weight: ``w`` in ``(0, 1)``.
    """
    d, s, w = _like(separation, std, weight)
    positive("separation", d, allow_zero=True)
    positive("std", s)
    if not (0 < float(w) < 1):
        raise ValueError(f"weight must be in (0, 1); got {float(w)}")
    means = torch.stack([-d / 2, d / 2])
    mix = torch.distributions.Categorical(probs=torch.stack([w, 1 - w]))
    comp = torch.distributions.Normal(means, s.expand(2))
    return torch.distributions.MixtureSameFamily(mix, comp, validate_args=False)


def kl_quadrature_1d(log_p: torch.Tensor, log_q: torch.Tensor, dx: float) -> torch.Tensor:
    r""":math:`\int p \log(p/q)\,dx` by the midpoint rule from log-densities on a uniform 1D grid.

    Args:
        log_p, log_q: ``(..., G)`` log-densities at the ``G`` grid midpoints.
        dx: the grid spacing.

    Returns:
        ``(...)``: KL(p‖q) in nats; points where ``p`` underflows contribute 0.
    """
    positive("dx", dx)
    p = log_p.exp()
    return (torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p)) * dx).sum(-1)


def fit_normal_1d(
    log_p: torch.Tensor,
    xs: torch.Tensor,
    direction: str,
    mu0,
    sigma0,
    steps: int = 400,
    lr: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Fit :math:`q = \mathcal N(\mu, \sigma^2)` to targets on a grid by forward or reverse KL.

    ``direction="forward"`` minimizes :math:`\mathrm{KL}(p\|q)` (mode covering; its optimum
    matches p's mean and variance); ``"reverse"`` minimizes :math:`\mathrm{KL}(q\|p)` (mode
    seeking; its optimum depends on the start). Both integrals are midpoint sums on ``xs``.
    All ``B`` problems are solved at once by gradient descent (Adam) on ``(μ, ρ)`` with
    :math:`\sigma = \operatorname{softplus}(\rho)`.

    Args:
        log_p: ``(B, G)`` target log-densities at the points ``xs``.
        xs: ``(G,)`` uniformly spaced grid.
        direction: ``"forward"`` or ``"reverse"``.
        mu0, sigma0: starting points, numbers or ``(B,)`` tensors.
        steps, lr: optimizer settings.

    Returns:
        ``(mu, sigma, kl)``, each ``(B,)``: the fitted parameters and the divergence reached.

    Book: ``eq-forward-kl``, ``eq-reverse-kl``.
    """
    one_of("direction", direction, ("forward", "reverse"))
    if log_p.ndim != 2 or xs.ndim != 1 or log_p.shape[-1] != xs.shape[0]:
        raise ValueError(f"log_p must be (B, G) over xs of shape (G,); got {tuple(log_p.shape)} and {tuple(xs.shape)}")
    positive_int("steps", steps)
    b = log_p.shape[0]
    mu0, sigma0 = _like(mu0, sigma0)
    positive("sigma0", sigma0)
    mu = (mu0.to(xs) * torch.ones(b, dtype=xs.dtype, device=xs.device)).clone().requires_grad_(True)
    # softplus⁻¹(σ) = σ + log(1 − e^{−σ}), so the fit starts exactly at sigma0
    s0 = sigma0.to(xs) * torch.ones_like(mu)
    rho = (s0 + torch.log(-torch.expm1(-s0))).detach().requires_grad_(True)
    dx = float(xs[1] - xs[0])

    def divergence() -> torch.Tensor:
        sigma = F.softplus(rho)
        log_q = torch.distributions.Normal(mu[:, None], sigma[:, None]).log_prob(xs)
        if direction == "forward":
            return kl_quadrature_1d(log_p, log_q, dx)
        return kl_quadrature_1d(log_q, log_p, dx)

    fit(lambda step: divergence().sum(), [mu, rho], steps, lr=lr, progress=False)
    with torch.no_grad():
        return mu.detach(), F.softplus(rho).detach(), divergence()


class DiagonalNormal(nn.Module):
    r"""A learnable :math:`\mathcal N(\mu, \operatorname{diag}(\sigma^2))`, :math:`\sigma = \operatorname{softplus}(\rho)`.

    The model of the chapter's maximum-likelihood demo: fitting it by maximum likelihood is
    minimizing the forward KL from the data distribution.
    """

    def __init__(self, dim: int = 2, dtype: torch.dtype | None = None):
        super().__init__()
        positive_int("dim", dim)
        self.mu = nn.Parameter(torch.zeros(dim, dtype=dtype))
        self.rho = nn.Parameter(torch.full((dim,), math.log(math.e - 1), dtype=dtype))  # σ = 1 at the start

    @property
    def sigma(self) -> torch.Tensor:
        return F.softplus(self.rho)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-density of points ``x`` of shape ``(N, dim)``; returns ``(N,)``."""
        if x.shape[-1] != self.mu.shape[0]:
            raise ValueError(f"x must have last dimension {self.mu.shape[0]}; got {tuple(x.shape)}")
        return torch.distributions.Normal(self.mu, self.sigma).log_prob(x).sum(-1)

    def covariance(self) -> torch.Tensor:
        return torch.diag_embed(self.sigma**2)
