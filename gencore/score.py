r"""Chapter 7: score functions, Fisher divergence and score matching.

The score of a density is :math:`s(x) = \nabla_x \log p(x)`. It ignores the normalizing
constant, so a model can be trained and sampled through its score alone. Everything here takes
a ``score_fn`` mapping points ``(N, D)`` to scores ``(N, D)`` (``D = 2`` in the book) and
computes in the dtype and on the device of its input. The chapter's samplers (Langevin
dynamics, plain and annealed) live in :mod:`gencore.mcmc`, shared with chapter 8.

Naming (book symbol -> code): :math:`s_\theta` ``score_fn``; :math:`\sigma` ``sigma``.

Book: ``book/07_score.ipynb``.

References:
    Hyvärinen (2005), Estimation of non-normalized statistical models by score matching. JMLR.
    Vincent (2011), A connection between score matching and denoising autoencoders. Neural Comp.
    Song, Garg, Shi, Ermon (2019), Sliced score matching. UAI. arXiv:1905.07088.
    Song & Ermon (2019), Generative modeling by estimating gradients of the data distribution.
    NeurIPS. arXiv:1907.05600.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from .data import GaussianMixture
from .nn import mlp
from .quadrature import grid
from .tensors import (call_like, extent_box, noise, per_sample, positive, positive_int, positive_number, rng_device,
                      same_length, validate)

__all__ = [
    "score_of",
    "gaussian_score",
    "mixture_score",
    "fisher_divergence",
    "fisher_divergence_on_grid",
    "jacobian_trace",
    "implicit_score_matching_loss",
    "sliced_score_matching_loss",
    "denoising_score_matching_loss",
    "noise_conditional_dsm_loss",
    "noised_mixture",
    "posterior_mean",
    "mode_share",
    "ScoreNet",
]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- checks
def _points(name: str, x) -> torch.Tensor:
    return validate(name, x, ndim=2)


def _mixture(mixture) -> GaussianMixture:
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"mixture must be a gencore.data.GaussianMixture; got {type(mixture).__name__}")
    return mixture


# ----------------------------------------------------------------------------- scores
def score_of(log_prob: Callable[[torch.Tensor], torch.Tensor]) -> ScoreFn:
    r"""The score :math:`x \mapsto \nabla_x \log p(x)` of a log-density, by autograd.

    ``log_prob`` may be unnormalized: an additive constant (:math:`-\log Z`) has zero gradient.
    The returned function works under ``torch.no_grad`` too and returns a detached tensor.

    Args:
        log_prob: maps ``(N, D)`` to ``(N,)``.

    Book: ``eq-score-def``.
    """
    if not callable(log_prob):
        raise TypeError(f"log_prob must be callable; got {type(log_prob).__name__}")

    def score(x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(log_prob(xg).sum(), xg)
        return g

    return score


def gaussian_score(mean: torch.Tensor, cov: torch.Tensor) -> ScoreFn:
    r"""The score of :math:`\mathcal N(\mu, \Sigma)` in closed form, :math:`x \mapsto -\Sigma^{-1}(x - \mu)`.

    Args:
        mean: ``(D,)``; cov: ``(D, D)`` symmetric positive definite.
    """
    validate("mean", mean, ndim=1)
    validate("cov", cov, ndim=2)
    if cov.shape != (len(mean), len(mean)):
        raise ValueError(f"cov must have shape ({len(mean)}, {len(mean)}) like mean; got {tuple(cov.shape)}")
    chol, info = torch.linalg.cholesky_ex(cov)
    if cov.device.type != "meta" and bool(info != 0):
        raise ValueError("cov must be symmetric positive definite")
    precision = torch.cholesky_inverse(chol)

    def score(x: torch.Tensor) -> torch.Tensor:
        return -(x - mean.to(x)) @ precision.to(x)  # precision is symmetric

    return score


def mixture_score(mixture: GaussianMixture) -> ScoreFn:
    r"""The score of an isotropic Gaussian mixture in closed form.

    :math:`\nabla_x \log \sum_k \pi_k \mathcal N(x; \mu_k, s_k^2 I) = \sum_k r_k(x)\,(\mu_k - x)/s_k^2`
    with responsibilities :math:`r_k(x) \propto \pi_k \mathcal N(x; \mu_k, s_k^2 I)` (a softmax, stable
    far from every mode). The same as ``score_of(mixture.log_prob)``, without autograd.

    Book: ``eq-score-mixture``.
    """
    mu, w = _mixture(mixture).means, mixture.weights
    var = mixture.std.to(mu).expand(len(mu)) ** 2

    def score(x: torch.Tensor) -> torch.Tensor:
        m, v = mu.to(x), var.to(x)
        diff = m - x.unsqueeze(-2)  # (N, K, D)
        log_r = torch.log(w.to(x)) - 0.5 * (diff**2).sum(-1) / v - 0.5 * x.shape[-1] * torch.log(v)
        r = torch.softmax(log_r, -1)
        return (r.unsqueeze(-1) * diff / v.unsqueeze(-1)).sum(-2)

    return score


def fisher_divergence(score_p: ScoreFn, score_q: ScoreFn, x: torch.Tensor) -> torch.Tensor:
    r"""Monte Carlo Fisher divergence :math:`\tfrac12\,\mathbb E_{p}\|s_p(x) - s_q(x)\|^2`, ``x ~ p``.

    Args:
        score_p, score_q: score functions ``(N, D) -> (N, D)``.
        x: samples of ``p``, ``(N, D)``.

    Book: ``eq-score-fisher``.
    """
    _points("x", x)
    diff = call_like("score_p", score_p, x) - call_like("score_q", score_q, x)
    return 0.5 * (diff**2).sum(-1).mean()


def fisher_divergence_on_grid(log_p, score_p: ScoreFn, score_q: ScoreFn,
                              extent: Sequence[float] = (-8, 8, -8, 8), resolution: int = 400,
                              *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r""":math:`\tfrac12\int p(x)\|s_p(x) - s_q(x)\|^2\,dx` by the midpoint rule on a 2D box.

    Args:
        log_p: normalized log-density of ``p``, ``(N, 2) -> (N,)``.
        score_p, score_q: score functions.
        extent, resolution: the quadrature box and cells per side.

    Book: ``eq-score-fisher``.
    """
    if not callable(log_p):
        raise TypeError(f"log_p must be callable; got {type(log_p).__name__}")
    extent_box("extent", extent)
    positive_int("resolution", resolution)
    pts, area = grid(extent, resolution, dtype=dtype)
    with torch.no_grad():
        w = log_p(pts).exp() * area
    diff = call_like("score_p", score_p, pts) - call_like("score_q", score_q, pts)
    return 0.5 * (w * (diff**2).sum(-1)).sum()


def jacobian_trace(s: torch.Tensor, x: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    r""":math:`\operatorname{tr}\nabla_x s(x) = \sum_d \partial s_d / \partial x_d`, one backward pass per dimension.

    Args:
        s: ``(N, D)`` computed from ``x`` (``(N, D)``, ``requires_grad``) row by row.

    Returns:
        ``(N,)``; differentiable in the parameters of ``s`` when ``create_graph``.
    """
    validate("x", x, ndim=2)
    validate("s", s, ndim=2)
    if s.shape != x.shape:
        raise ValueError(f"s must have the shape of x {tuple(x.shape)}; got {tuple(s.shape)}")
    tr = x.new_zeros(x.shape[0])
    if not s.requires_grad:  # s does not depend on x (nor on anything trainable)
        return tr
    last = x.shape[1] - 1
    for d in range(x.shape[1]):
        keep = create_graph or d < last  # the graph must outlive every pass but the last
        (g,) = torch.autograd.grad(s[:, d].sum(), x, create_graph=create_graph, retain_graph=keep,
                                   allow_unused=True)
        if g is not None:
            tr = tr + g[:, d]
    return tr


# ------------------------------------------------------------------------- score matching
def implicit_score_matching_loss(score_fn: ScoreFn, x: torch.Tensor, *,
                                 weights: torch.Tensor | None = None) -> torch.Tensor:
    r"""Hyvärinen's objective :math:`J(\theta) = \mathbb E_p\big[\tfrac12\|s_\theta(x)\|^2 + \operatorname{tr}\nabla_x s_\theta(x)\big]`.

    The batch mean over ``x ~ p``. It equals the Fisher divergence from ``p`` minus a constant
    that does not depend on :math:`\theta` (under the boundary condition of the book). The trace
    costs ``D`` backward passes.

    Args:
        score_fn: ``(N, D) -> (N, D)``.
        x: data, ``(N, D)``.
        weights: optional ``(N,)`` quadrature weights (e.g. :math:`p(x_i)\,\Delta A` on a grid)
            replacing the batch mean by :math:`\sum_i w_i f(x_i)`.

    Returns:
        A scalar tensor, differentiable in the parameters of ``score_fn``.

    Book: ``eq-score-ism``.

    References:
        Hyvärinen (2005), JMLR 6, Theorem 1.
    """
    _points("x", x)
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        s = call_like("score_fn", score_fn, xg)
        f = 0.5 * (s**2).sum(-1) + jacobian_trace(s, xg)
    if weights is None:
        return f.mean()
    validate("weights", weights, ndim=1)
    same_length(("x", "weights"), x, weights)
    return (weights.to(f) * f).sum()


def sliced_score_matching_loss(score_fn: ScoreFn, x: torch.Tensor, n_projections: int = 1,
                               generator: torch.Generator | None = None, *,
                               variance_reduced: bool = False) -> torch.Tensor:
    r"""Sliced score matching :math:`\mathbb E_{p, v}\big[v^\top \nabla_x s_\theta(x)\, v + \tfrac12 (v^\top s_\theta(x))^2\big]`.

    :math:`v \sim \mathcal N(0, I)`, ``n_projections`` per point. Since
    :math:`\mathbb E[v v^\top] = I`, the expectation equals
    :func:`implicit_score_matching_loss`, but :math:`v^\top\nabla_x s\,v = \nabla_x(v^\top s)\cdot v`
    needs one backward pass whatever ``D`` is. With ``variance_reduced=True`` the second term is
    replaced by its exact expectation :math:`\tfrac12\|s_\theta\|^2` (SSM-VR).

    Args:
        score_fn: ``(N, D) -> (N, D)``.
        x: data, ``(N, D)``.
        n_projections: random directions per data point.
        generator: source of the directions.

    Book: ``eq-score-ssm``.

    References:
        Song, Garg, Shi, Ermon (2019), Sliced score matching, eq. (8) and (9). arXiv:1905.07088.
    """
    _points("x", x)
    positive_int("n_projections", n_projections)
    with torch.enable_grad():
        xr = x.detach().repeat(n_projections, 1).requires_grad_(True)
        v = noise(xr.shape, xr, generator)
        s = call_like("score_fn", score_fn, xr)
        sv = (s * v).sum(-1)
        g = torch.autograd.grad(sv.sum(), xr, create_graph=True, allow_unused=True)[0] if sv.requires_grad else None
        vjv = (g * v).sum(-1) if g is not None else torch.zeros_like(sv)
        second = 0.5 * (s**2).sum(-1) if variance_reduced else 0.5 * sv**2
        return (vjv + second).mean()


def denoising_score_matching_loss(score_fn: ScoreFn, x: torch.Tensor, sigma,
                                  generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Denoising score matching :math:`\tfrac12\,\mathbb E_{x, \varepsilon}\big\|s_\theta(x + \sigma\varepsilon) + \varepsilon/\sigma\big\|^2`.

    :math:`-\varepsilon/\sigma = \nabla_{\tilde x}\log q_\sigma(\tilde x\mid x)` is the score of
    the Gaussian noising kernel. The loss equals the Fisher divergence between :math:`s_\theta`
    and the score of the *noised* data :math:`p_\sigma = p * \mathcal N(0, \sigma^2 I)`, plus a
    constant; no derivative of :math:`s_\theta` is needed.

    Args:
        score_fn: ``(N, D) -> (N, D)``.
        x: clean data, ``(N, D)``.
        sigma: noise level, a positive number.
        generator: source of :math:`\varepsilon`.

    Book: ``eq-score-dsm``.

    References:
        Vincent (2011), A connection between score matching and denoising autoencoders.
    """
    _points("x", x)
    sigma = positive_number("sigma", sigma)
    eps = noise(x.shape, x, generator)
    s = call_like("score_fn", score_fn, x + sigma * eps)
    return 0.5 * ((s + eps / sigma) ** 2).sum(-1).mean()


def noise_conditional_dsm_loss(score_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                               x: torch.Tensor, sigmas: torch.Tensor,
                               generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Song & Ermon's multi-level loss :math:`\mathbb E_{i, x, \varepsilon}\,\tfrac12\|\sigma_i s_\theta(\tilde x, \sigma_i) + \varepsilon\|^2`.

    One level :math:`\sigma_i` per data point, uniformly at random; the weight
    :math:`\lambda(\sigma) = \sigma^2` of the denoising loss makes every level's term of order one.

    Args:
        score_fn: ``(x (N, D), sigma (N,)) -> (N, D)``.
        x: clean data, ``(N, D)``.
        sigmas: the noise levels, ``(L,)``, positive.
        generator: source of the levels and the noise.

    Book: ``eq-score-ncsn-loss``.

    References:
        Song & Ermon (2019), eq. (5)-(6). arXiv:1907.05600.
    """
    _points("x", x)
    positive("sigmas", validate("sigmas", sigmas, ndim=1))
    i = torch.randint(len(sigmas), (x.shape[0],), generator=generator, device=rng_device(generator, x)).to(x.device)
    sigma = sigmas.to(x)[i]
    eps = noise(x.shape, x, generator)
    s = call_like("score_fn", score_fn, x + per_sample(sigma, x) * eps, sigma)
    return 0.5 * ((per_sample(sigma, x) * s + eps) ** 2).sum(-1).mean()


def noised_mixture(mixture: GaussianMixture, sigma, *, scale: float = 1.0) -> GaussianMixture:
    r"""The law of :math:`a x + \sigma\varepsilon`, :math:`x \sim p`: :math:`p_\sigma = p * \mathcal N(0, \sigma^2 I)` when :math:`a = 1`.

    Each isotropic component :math:`\mathcal N(\mu_k, s_k^2 I)` of the mixture becomes
    :math:`\mathcal N(a\mu_k, (a^2 s_k^2 + \sigma^2) I)`; the weights do not change. Exact.
    With :math:`a = \sqrt{\bar\alpha}` and :math:`\sigma = \sqrt{1 - \bar\alpha}` it is the DDPM
    marginal :math:`q(x_t)` of chapter 6 (``gencore.diffusion.marginal``).

    Args:
        mixture: :math:`p`; sigma: :math:`\sigma \ge 0`; scale: :math:`a > 0`.

    Book: ``eq-score-noised``.
    """
    _mixture(mixture)
    positive("sigma", sigma, allow_zero=True)
    positive("scale", scale)
    std = torch.sqrt(float(scale) ** 2 * mixture.std.to(mixture.means) ** 2 + float(sigma) ** 2)
    return GaussianMixture(float(scale) * mixture.means, std, mixture.weights)


def posterior_mean(mixture: GaussianMixture, xt: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    r""":math:`\mathbb E[x_0 \mid x_t]` in closed form for :math:`x_t = \sqrt{\bar\alpha}x_0 + \sqrt{1-\bar\alpha}\,\varepsilon`, :math:`x_0 \sim` ``mixture``.

    Per component :math:`k` (mean :math:`\mu_k`, variance :math:`s_k^2`), :math:`x_t` is Gaussian
    with mean :math:`\sqrt{\bar\alpha}\mu_k` and variance :math:`v_k = \bar\alpha s_k^2 + 1 - \bar\alpha`,
    and :math:`\mathbb E[x_0\mid x_t, k] = \mu_k + \sqrt{\bar\alpha}s_k^2 (x_t - \sqrt{\bar\alpha}\mu_k)/v_k`;
    these are averaged with the posterior component probabilities. Tweedie's formula gives the
    same from the score of :math:`q(x_t)` (:func:`noised_mixture`).

    Args:
        mixture: the data law; xt: ``(N, D)``; alpha_bar: :math:`\bar\alpha \in (0, 1]`.

    Book: ``eq-score-tweedie``.
    """
    _mixture(mixture)
    _points("xt", xt)
    a = positive_number("alpha_bar", alpha_bar)
    if a > 1:
        raise ValueError(f"alpha_bar must lie in (0, 1]; got {a}")
    mu, w = mixture.means.to(xt), mixture.weights.to(xt)
    s2 = mixture.std.to(xt).expand(len(mu)) ** 2  # (K,)
    v = a * s2 + 1 - a
    centred = xt[:, None, :] - math.sqrt(a) * mu  # (N, K, D)
    log_r = torch.log(w) - 0.5 * (centred**2).sum(-1) / v - 0.5 * xt.shape[-1] * torch.log(v)
    r = torch.softmax(log_r, -1)  # (N, K)
    cond = mu + math.sqrt(a) * (s2 / v)[:, None] * centred
    return (r[..., None] * cond).sum(1)


def mode_share(x: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    r"""Fraction of points whose nearest mean is each of ``means``: ``(K,)``, summing to one.

    Args:
        x: ``(N, D)`` samples; means: ``(K, D)``.
    """
    _points("x", x)
    validate("means", means, ndim=2, last_dim=x.shape[1])
    nearest = torch.cdist(x, means.to(x)).argmin(1)
    return (nearest[:, None] == torch.arange(len(means), device=x.device)).to(x.dtype).mean(0)  # (K,)


# ----------------------------------------------------------------------------- models
class ScoreNet(nn.Module):
    r"""A small MLP score model :math:`s_\theta(x)` or, with ``conditional``, :math:`s_\theta(x, \sigma)`.

    The conditional model feeds :math:`\log\sigma` as an extra input and divides the output by
    :math:`\sigma` (Song & Ermon, 2020), since :math:`\|\nabla\log p_\sigma\| \sim 1/\sigma`.

    Args:
        dim: data dimension ``D``.
        hidden: width of the two hidden layers.
        conditional: take a noise level ``sigma`` of shape ``(N,)`` as second argument.
        generator: draws the initial weights (torch's global generator when ``None``).
        dtype, device: of the weights (torch's default dtype, the CPU when ``None``).

    Example:
        >>> net = ScoreNet(2, 16, conditional=True, generator=torch.Generator().manual_seed(0))
        >>> x = torch.randn(5, 2)
        >>> net(x, torch.full((5,), 0.5)).shape
        torch.Size([5, 2])
        >>> float(denoising_score_matching_loss(ScoreNet(2, 16), x, 0.5).detach()) > 0
        True
    """

    def __init__(self, dim: int = 2, hidden: int = 64, conditional: bool = False, *,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None, device=None):
        super().__init__()
        positive_int("dim", dim)
        positive_int("hidden", hidden)
        self.conditional = bool(conditional)
        self.net = mlp((dim + int(conditional), hidden, hidden, dim), "silu", generator=generator, dtype=dtype,
                       device=device)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` ``(N, D)`` (and ``sigma`` ``(N,)`` or a number) -> scores ``(N, D)``."""
        validate("x", x, ndim=2, finite=False)
        if not self.conditional:
            return self.net(x)
        if sigma is None:
            raise ValueError("sigma must be given to a conditional ScoreNet")
        positive("sigma", sigma)
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.ndim > 1 or sigma.numel() not in (1, x.shape[0]):
            raise ValueError(f"sigma must be a number or have shape ({x.shape[0]},); got {tuple(sigma.shape)}")
        sigma = sigma.reshape(-1).expand(x.shape[0])
        return self.net(torch.cat([x, sigma.log()[:, None]], -1)) / sigma[:, None]
