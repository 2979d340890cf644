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

from .tensors import in_range, inv_softplus, log_density, one_of, positive, positive_int, probability_vector, validate
from .train import fit

__all__ = [
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "kl_normal",
    "kl_mvn",
    "factorized_fit",
    "f_divergence",
    "kl_monte_carlo",
    "bimodal",
    "kl_quadrature_1d",
    "fit_normal_1d",
    "DiagonalNormal",
]

# f(t), and the limit of f(t)/t as t → ∞ (the weight of mass p puts where q has none), per name
F_GENERATORS = {
    "kl": (lambda t: torch.xlogy(t, t), math.inf),
    "reverse_kl": (lambda t: -torch.log(t), 0.0),
    "js": (lambda t: 0.5 * (torch.xlogy(t, t) - torch.xlogy(1 + t, (1 + t) / 2)), 0.5 * math.log(2)),
    "tv": (lambda t: 0.5 * (t - 1).abs(), 0.5),
    "chi2": (lambda t: (t - 1) ** 2, math.inf),
}


# ---------------------------------------------------------------------------- discrete
def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Shannon entropy :math:`H(p) = -\sum_i p_i \log p_i`, with :math:`0 \log 0 = 0`.

    Args:
        p: probabilities, shape ``(..., K, ...)`` summing to one along ``dim``.

    Book: ``eq-entropy``.
    """
    probability_vector("p", p, dim)
    return -torch.xlogy(p, p).sum(dim)


def _pair(p: torch.Tensor, q: torch.Tensor, dim: int) -> None:
    """Check two probability vectors along ``dim`` that broadcast against each other."""
    probability_vector("p", p, dim)
    probability_vector("q", q, dim)
    try:
        shape = torch.broadcast_shapes(p.shape, q.shape)
    except RuntimeError:
        shape = None
    if shape is None or p.shape[dim] != q.shape[dim]:
        raise ValueError(f"p and q must have the same number of outcomes along dim={dim} and broadcast; "
                         f"got shapes {tuple(p.shape)} and {tuple(q.shape)}")


def cross_entropy(p: torch.Tensor, q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Cross-entropy :math:`H(p, q) = -\sum_i p_i \log q_i` (``inf`` where ``q_i = 0 < p_i``).

    Args:
        p, q: probability vectors along ``dim`` (broadcastable).

    Book: ``eq-cross-entropy``.
    """
    _pair(p, q, dim)
    return -torch.xlogy(p, q).sum(dim)


def kl_divergence(p: torch.Tensor, q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r""":math:`\mathrm{KL}(p\,\|\,q) = \sum_i p_i \log(p_i / q_i) = H(p, q) - H(p)`.

    Terms with :math:`p_i = 0` contribute zero; a :math:`q_i = 0 < p_i` makes it ``inf``.

    Args:
        p, q: probability vectors along ``dim`` (broadcastable).

    Book: ``eq-kl-discrete``.
    """
    _pair(p, q, dim)
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim)


def js_divergence(p: torch.Tensor, q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Jensen--Shannon divergence :math:`\tfrac12 \mathrm{KL}(p\|m) + \tfrac12 \mathrm{KL}(q\|m)`, :math:`m = \tfrac12(p+q)`.

    Symmetric and, in nats, between 0 and :math:`\log 2` (the bound is 1 only in bits).

    Book: ``eq-jsd``.

    References:
        Lin (1991), Divergence measures based on the Shannon entropy.
    """
    _pair(p, q, dim)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, dim) + 0.5 * kl_divergence(q, m, dim)


# ---------------------------------------------------------------------------- Gaussians
def _like(**named) -> list[torch.Tensor]:
    """Check numbers and tensors by name (finite, floating, non-empty) and make them tensors that
    broadcast together, in the dtype and on the device of the first tensor (torch's default dtype
    when all are numbers)."""
    for name, a in named.items():
        if isinstance(a, torch.Tensor):
            validate(name, a)
        elif isinstance(a, bool) or not isinstance(a, (int, float)):
            raise TypeError(f"{name} must be a number or a tensor; got {type(a).__name__}")
        elif not math.isfinite(a):
            raise ValueError(f"{name} must be finite; got {a}")
    ref = next((a for a in named.values() if isinstance(a, torch.Tensor)), None)
    kw = dict(dtype=torch.get_default_dtype()) if ref is None else dict(dtype=ref.dtype, device=ref.device)
    out = [torch.as_tensor(a, **kw) for a in named.values()]
    try:
        torch.broadcast_shapes(*(t.shape for t in out))
    except RuntimeError as err:
        shapes = ", ".join(f"{n} {tuple(t.shape)}" for n, t in zip(named, out))
        raise ValueError(f"{', '.join(named)} must broadcast together; got {shapes}") from err
    return out


def kl_normal(mu_p, sigma_p, mu_q, sigma_q) -> torch.Tensor:
    r"""Elementwise :math:`\mathrm{KL}(\mathcal N(\mu_p,\sigma_p^2)\,\|\,\mathcal N(\mu_q,\sigma_q^2))`.

    .. math::
        \log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p-\mu_q)^2}{2\sigma_q^2} - \frac12 .

    Broadcasts; for diagonal Gaussians sum the result over the last dimension.

    Args:
        mu_p, sigma_p, mu_q, sigma_q: tensors or numbers (standard deviations, > 0).

    Book: ``eq-kl-normal``.
    """
    mu_p, sigma_p, mu_q, sigma_q = _like(mu_p=mu_p, sigma_p=sigma_p, mu_q=mu_q, sigma_q=sigma_q)
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
    validate("mu_p", mu_p, min_ndim=1)
    validate("mu_q", mu_q, min_ndim=1)
    validate("cov_p", cov_p, min_ndim=2)
    validate("cov_q", cov_q, min_ndim=2)
    d = mu_p.shape[-1]
    if mu_q.shape[-1] != d:
        raise ValueError(f"mu_p and mu_q must have the same last dimension D; got {tuple(mu_p.shape)} and {tuple(mu_q.shape)}")
    for name, cov in (("cov_p", cov_p), ("cov_q", cov_q)):
        if cov.shape[-2:] != (d, d):
            raise ValueError(f"{name} must have shape (..., {d}, {d}) for means mu_p, mu_q of dimension {d}; "
                             f"got {tuple(cov.shape)}")
    try:
        torch.broadcast_shapes(mu_p.shape[:-1], mu_q.shape[:-1], cov_p.shape[:-2], cov_q.shape[:-2])
    except RuntimeError as err:
        raise ValueError(f"the batch shapes of mu_p, cov_p, mu_q, cov_q must broadcast; got {tuple(mu_p.shape)}, "
                         f"{tuple(cov_p.shape)}, {tuple(mu_q.shape)}, {tuple(cov_q.shape)}") from err
    chol_q, info_q = torch.linalg.cholesky_ex(cov_q)
    chol_p, info_p = torch.linalg.cholesky_ex(cov_p)
    for name, info in (("cov_q", info_q), ("cov_p", info_p)):
        if info.device.type != "meta" and bool((info != 0).any()):
            raise ValueError(f"{name} must be symmetric positive definite")
    # tr(Σq⁻¹ Σp) = ‖Lq⁻¹ Lp‖_F², Mahalanobis term = ‖Lq⁻¹ (μq − μp)‖²
    a = torch.linalg.solve_triangular(chol_q, chol_p, upper=False)
    diff = (mu_q - mu_p).unsqueeze(-1)
    b = torch.linalg.solve_triangular(chol_q, diff, upper=False).squeeze(-1)
    logdet = lambda chol: 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # noqa: E731
    return 0.5 * ((a**2).sum((-2, -1)) + (b**2).sum(-1) - d + logdet(chol_q) - logdet(chol_p))


def f_divergence(p: torch.Tensor, q: torch.Tensor, f: str = "kl", dim: int = -1) -> torch.Tensor:
    r""":math:`D_f(p\,\|\,q) = \sum_i q_i\, f(p_i / q_i)` for a convex generator ``f`` with ``f(1) = 0``.

    ``f`` names one of :data:`F_GENERATORS`: ``"kl"`` (:math:`t\log t`, giving KL(p‖q)),
    ``"reverse_kl"`` (:math:`-\log t`, KL(q‖p)), ``"js"`` (the JSD), ``"tv"``
    (:math:`\tfrac12|t-1|`, total variation) and ``"chi2"`` (:math:`(t-1)^2`, Pearson's χ²).
    Outcomes with :math:`q_i = 0 < p_i` contribute :math:`p_i \lim_{t\to\infty} f(t)/t`.

    Args:
        p, q: probability vectors along ``dim`` (same shape).
        f: the generator's name.

    Book: ``eq-f-divergence``.

    References:
        Csiszár (1967); Ali & Silvey (1966); Nowozin, Cseke & Tomioka (2016), f-GAN.
    """
    one_of("f", f, tuple(F_GENERATORS))
    _pair(p, q, dim)
    gen, slope = F_GENERATORS[f]
    inside = q > 0
    t = torch.where(inside, p / torch.where(inside, q, torch.ones_like(q)), torch.ones_like(p))
    terms = torch.where(inside, q * gen(t), torch.where(p > 0, p * slope, torch.zeros_like(p)))
    return terms.sum(dim)


def factorized_fit(cov: torch.Tensor, direction: str) -> torch.Tensor:
    r"""Variances of the best diagonal Gaussian for :math:`p = \mathcal N(\mu, \Sigma)`, in closed form.

    ``"forward"`` minimizes :math:`\mathrm{KL}(p\|q)`: :math:`\sigma_i^2 = \Sigma_{ii}` (the
    marginal variances, broad). ``"reverse"`` minimizes :math:`\mathrm{KL}(q\|p)`:
    :math:`\sigma_i^2 = 1/\Lambda_{ii}` with :math:`\Lambda = \Sigma^{-1}` (the conditional
    variances, compact). In both directions the best mean is :math:`\mu`.

    Args:
        cov: ``(..., D, D)`` symmetric positive definite.
        direction: ``"forward"`` or ``"reverse"``.

    Returns:
        ``(..., D)`` the variances.

    Book: ``eq-kl-factorized-fits``.

    References:
        Bishop (2006), Pattern Recognition and Machine Learning, section 10.1.2.
    """
    one_of("direction", direction, ("forward", "reverse"))
    validate("cov", cov, min_ndim=2)
    if cov.shape[-1] != cov.shape[-2]:
        raise ValueError(f"cov must be square, (..., D, D); got {tuple(cov.shape)}")
    chol, info = torch.linalg.cholesky_ex(cov)
    if info.device.type != "meta" and bool((info != 0).any()):
        raise ValueError("cov must be symmetric positive definite")
    if direction == "forward":
        return torch.diagonal(cov, dim1=-2, dim2=-1).clone()
    return 1 / torch.diagonal(torch.cholesky_inverse(chol), dim1=-2, dim2=-1)


def kl_monte_carlo(
    log_p: Callable[[torch.Tensor], torch.Tensor],
    log_q: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Monte Carlo :math:`\mathrm{KL}(p\|q) \approx \frac1N \sum_n \log p(x_n) - \log q(x_n)`, :math:`x_n \sim p`.

    Args:
        log_p, log_q: log-densities, mapping ``(N, ...)`` to ``(N,)``.
        x: samples from ``p``, ``(N, ...)`` with ``N >= 2``, finite.

    Returns:
        ``(estimate, standard_error)``, both scalar tensors.

    Book: ``eq-kl-mc``.
    """
    validate("x", x, min_ndim=1, nonempty=False)
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 samples to give a standard error; got {x.shape[0]}")
    lp, lq = log_p(x), log_q(x)
    for name, v in (("log_p", lp), ("log_q", lq)):
        if not isinstance(v, torch.Tensor) or v.shape != x.shape[:1]:
            raise ValueError(f"{name} must map x of shape {tuple(x.shape)} to ({x.shape[0]},); "
                             f"got {tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__}")
    r = lp - lq
    return r.mean(), r.std() / math.sqrt(r.shape[0])


# ---------------------------------------------------------------- fitting one Gaussian in 1D
def bimodal(separation, std=1.0, weight=0.5) -> torch.distributions.MixtureSameFamily:
    r"""The 1D target :math:`w\,\mathcal N(-d/2, s^2) + (1-w)\,\mathcal N(d/2, s^2)`.

    Args:
        separation: ``d >= 0``, the distance between the two means (number or 0-d tensor).
        std: ``s > 0``; weight: ``w`` in ``(0, 1)`` (numbers or 0-d tensors).
    """
    d, s, w = _like(separation=separation, std=std, weight=weight)
    for name, v in (("separation", d), ("std", s), ("weight", w)):
        if v.ndim:
            raise ValueError(f"{name} must be a number or a 0-d tensor; got shape {tuple(v.shape)}")
    positive("separation", d, allow_zero=True)
    positive("std", s)
    in_range("weight", w, 0, 1, low_open=True, high_open=True)
    means = torch.stack([-d / 2, d / 2])
    mix = torch.distributions.Categorical(probs=torch.stack([w, 1 - w]))
    comp = torch.distributions.Normal(means, s.expand(2))
    return torch.distributions.MixtureSameFamily(mix, comp, validate_args=False)


def kl_quadrature_1d(log_p: torch.Tensor, log_q: torch.Tensor, dx: float) -> torch.Tensor:
    r""":math:`\int p \log(p/q)\,dx` by the midpoint rule from log-densities on a uniform 1D grid.

    Args:
        log_p, log_q: ``(..., G)`` log-densities at the ``G`` grid midpoints.
        dx: the grid spacing (a number or a 0-d tensor).

    Returns:
        ``(...)``: KL(p‖q) in nats; points where ``p`` underflows contribute 0.

    A log-density of ``-inf`` is a zero density (where ``q`` is zero and ``p`` is not, the KL is
    ``inf``); NaN and ``+inf`` are rejected.
    """
    log_density("log_p", log_p)
    log_density("log_q", log_q)
    if log_p.shape[-1] != log_q.shape[-1]:
        raise ValueError(f"log_p and log_q must be given on the same G grid points (last dimension); "
                         f"got {tuple(log_p.shape)} and {tuple(log_q.shape)}")
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
    log_density("log_p", log_p)
    validate("xs", xs, ndim=1)
    if log_p.ndim != 2 or log_p.shape[-1] != xs.shape[0]:
        raise ValueError(f"log_p must be (B, G) over xs of shape (G,); got {tuple(log_p.shape)} and {tuple(xs.shape)}")
    if xs.shape[0] < 2:
        raise ValueError(f"xs must hold at least 2 grid points; got {xs.shape[0]}")
    positive_int("steps", steps)
    positive("lr", lr)
    b = log_p.shape[0]
    mu0, sigma0 = _like(mu0=mu0, sigma0=sigma0)
    positive("sigma0", sigma0)
    for name, v in (("mu0", mu0), ("sigma0", sigma0)):
        if v.ndim > 1 or v.numel() not in (1, b):
            raise ValueError(f"{name} must be a number or a ({b},) tensor, one per problem; got shape {tuple(v.shape)}")
    mu = (mu0.to(xs) * torch.ones(b, dtype=xs.dtype, device=xs.device)).clone().requires_grad_(True)
    # ρ = softplus⁻¹(σ), so the fit starts exactly at sigma0
    rho = inv_softplus(sigma0.to(xs) * torch.ones_like(mu)).detach().requires_grad_(True)
    dx = xs[1] - xs[0]  # a 0-d tensor on xs's device: no host sync, and the same numbers as a float

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
    minimizing the forward KL from the data distribution. It starts at :math:`\mathcal N(0, I)`.

    Args:
        dim: the dimension ``D``. dtype, device: of the parameters.

    Example:
        >>> q = DiagonalNormal(2, dtype=torch.float64)
        >>> [round(v, 4) for v in q.log_prob(torch.zeros(3, 2, dtype=torch.float64)).tolist()]  # -log 2π
        [-1.8379, -1.8379, -1.8379]
        >>> q.covariance().tolist()
        [[1.0, 0.0], [0.0, 1.0]]

    Book: ``eq-mle-kl``.
    """

    def __init__(self, dim: int = 2, dtype: torch.dtype | None = None, device: torch.device | str | None = None):
        super().__init__()
        positive_int("dim", dim)
        self.mu = nn.Parameter(torch.zeros(dim, dtype=dtype, device=device))
        self.rho = nn.Parameter(torch.full((dim,), inv_softplus(1.0), dtype=dtype, device=device))  # σ = 1

    @property
    def sigma(self) -> torch.Tensor:
        return F.softplus(self.rho)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-density of points ``x`` of shape ``(N, dim)``; returns ``(N,)``."""
        validate("x", x, min_ndim=1, last_dim=self.mu.shape[0])
        return torch.distributions.Normal(self.mu, self.sigma, validate_args=False).log_prob(x).sum(-1)

    def covariance(self) -> torch.Tensor:
        r"""The covariance :math:`\operatorname{diag}(\sigma^2)`, ``(dim, dim)``."""
        return torch.diag_embed(self.sigma**2)
