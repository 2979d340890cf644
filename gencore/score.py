r"""Chapter 7: score functions, Fisher divergence, score matching and Langevin dynamics.

The score of a density is :math:`s(x) = \nabla_x \log p(x)`. It ignores the normalizing
constant, so a model can be trained and sampled through its score alone. Everything here takes
a ``score_fn`` mapping points ``(N, D)`` to scores ``(N, D)`` (``D = 2`` in the book) and
computes in the dtype and on the device of its input.

Naming (book symbol -> code): :math:`s_\theta` ``score_fn``; :math:`\sigma` ``sigma``; the
Langevin step :math:`\epsilon` ``step_size``; its number of steps :math:`K` ``n_steps``.

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

from .tensors import positive, positive_int
from .data import GaussianMixture
from .quadrature import grid

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
    "geometric_sigmas",
    "langevin",
    "annealed_langevin",
    "ula_stationary_covariance",
    "mode_share",
    "ScoreNet",
]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- checks
def _points(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point torch.Tensor of shape (N, D); got "
                         f"{type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, D) with N >= 1; got {tuple(x.shape)}")
    return x


def _call_score(score_fn, x: torch.Tensor, *args) -> torch.Tensor:
    if not callable(score_fn):
        raise ValueError(f"score_fn must be callable, mapping (N, D) to (N, D); got {type(score_fn).__name__}")
    s = score_fn(x, *args)
    if not isinstance(s, torch.Tensor) or s.shape != x.shape:
        got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
        raise ValueError(f"score_fn must map points of shape {tuple(x.shape)} to scores of the same shape; got {got}")
    return s


def _scalar(name: str, value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a number; got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    positive(name, float(value))
    return float(value)


def _randn_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``x`` drawn from ``generator`` (on its device)."""
    dev = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=dev).to(x.device)


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
        raise ValueError(f"log_prob must be callable; got {type(log_prob).__name__}")

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
    if not isinstance(mean, torch.Tensor) or mean.ndim != 1:
        raise ValueError(f"mean must be a (D,) tensor; got {mean!r}")
    if not isinstance(cov, torch.Tensor) or cov.shape != (len(mean), len(mean)):
        raise ValueError(f"cov must have shape ({len(mean)}, {len(mean)}); got "
                         f"{tuple(cov.shape) if isinstance(cov, torch.Tensor) else type(cov).__name__}")
    chol, info = torch.linalg.cholesky_ex(cov)
    if bool(info != 0):
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
    if not isinstance(mixture, GaussianMixture):
        raise ValueError(f"mixture must be a gencore.data.GaussianMixture; got {type(mixture).__name__}")
    mu, w = mixture.means, mixture.weights
    var = torch.as_tensor(mixture.std, dtype=mu.dtype, device=mu.device) ** 2
    var = var.expand(len(mu))

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
    diff = _call_score(score_p, x) - _call_score(score_q, x)
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
    pts, area = grid(extent, resolution, dtype=dtype)
    with torch.no_grad():
        w = log_p(pts).exp() * area
    diff = _call_score(score_p, pts) - _call_score(score_q, pts)
    return 0.5 * (w * (diff**2).sum(-1)).sum()


def jacobian_trace(s: torch.Tensor, x: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    r""":math:`\operatorname{tr}\nabla_x s(x) = \sum_d \partial s_d / \partial x_d`, one backward pass per dimension.

    Args:
        s: ``(N, D)`` computed from ``x`` (``(N, D)``, ``requires_grad``) row by row.

    Returns:
        ``(N,)``; differentiable in the parameters of ``s`` when ``create_graph``.
    """
    tr = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    if not s.requires_grad:  # s does not depend on x (nor on anything trainable)
        return tr
    for d in range(x.shape[1]):
        (g,) = torch.autograd.grad(s[:, d].sum(), x, create_graph=create_graph, allow_unused=True)
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
        s = _call_score(score_fn, xg)
        f = 0.5 * (s**2).sum(-1) + jacobian_trace(s, xg)
    if weights is None:
        return f.mean()
    if not isinstance(weights, torch.Tensor) or weights.shape != f.shape:
        raise ValueError(f"weights must be a tensor of shape ({x.shape[0]},); got "
                         f"{tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__}")
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
        v = _randn_like(xr, generator)
        s = _call_score(score_fn, xr)
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
    sigma = _scalar("sigma", sigma)
    eps = _randn_like(x, generator)
    s = _call_score(score_fn, x + sigma * eps)
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
    if not isinstance(sigmas, torch.Tensor) or sigmas.ndim != 1 or len(sigmas) == 0:
        raise ValueError(f"sigmas must be a 1-D tensor of noise levels; got {sigmas!r}")
    positive("sigmas", sigmas)
    dev = generator.device if generator is not None else x.device
    i = torch.randint(len(sigmas), (x.shape[0],), generator=generator, device=dev).to(x.device)
    sigma = sigmas.to(x)[i]
    eps = _randn_like(x, generator)
    s = score_fn(x + sigma[:, None] * eps, sigma)
    if not isinstance(s, torch.Tensor) or s.shape != x.shape:
        raise ValueError(f"score_fn must map points {tuple(x.shape)} and sigma to scores of the same shape")
    return 0.5 * ((sigma[:, None] * s + eps) ** 2).sum(-1).mean()


def noised_mixture(mixture: GaussianMixture, sigma) -> GaussianMixture:
    r"""The noised density :math:`p_\sigma = p * \mathcal N(0, \sigma^2 I)` of a Gaussian mixture.

    Each isotropic component :math:`\mathcal N(\mu_k, s_k^2 I)` becomes
    :math:`\mathcal N(\mu_k, (s_k^2 + \sigma^2) I)`; the weights do not change. Exact.

    Book: ``eq-score-noised``.
    """
    if not isinstance(mixture, GaussianMixture):
        raise ValueError(f"mixture must be a gencore.data.GaussianMixture; got {type(mixture).__name__}")
    positive("sigma", sigma, allow_zero=True)
    std = torch.sqrt(torch.as_tensor(mixture.std, dtype=mixture.means.dtype) ** 2 + float(sigma) ** 2)
    return GaussianMixture(mixture.means, std, mixture.weights)


def geometric_sigmas(sigma_max: float, sigma_min: float, n_levels: int, *,
                     dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    r"""Noise levels :math:`\sigma_1 > \dots > \sigma_L` in geometric progression (Song & Ermon, 2019)."""
    positive("sigma_min", sigma_min)
    positive("sigma_max", sigma_max)
    positive_int("n_levels", n_levels, minimum=2)
    if not sigma_max > sigma_min:
        raise ValueError(f"sigma_max must exceed sigma_min; got {sigma_max} and {sigma_min}")
    return torch.logspace(math.log10(sigma_max), math.log10(sigma_min), n_levels, dtype=dtype, device=device)


# ----------------------------------------------------------------------------- sampling
def _step_sizes(step_size, x: torch.Tensor) -> torch.Tensor:
    eps = torch.as_tensor(step_size, dtype=x.dtype, device=x.device)
    if eps.ndim > 1 or eps.numel() not in (1, x.shape[0]):
        raise ValueError(f"step_size must be a number or a tensor of shape (N,) = ({x.shape[0]},); "
                         f"got shape {tuple(eps.shape)}")
    positive("step_size", eps)
    return eps.reshape(-1, 1) if eps.ndim == 1 else eps


def langevin(score_fn: ScoreFn, x: torch.Tensor, step_size, n_steps: int,
             generator: torch.Generator | None = None, *, return_trajectory: bool = False):
    r"""Unadjusted Langevin dynamics :math:`x_{k+1} = x_k + \tfrac{\epsilon}{2}\, s(x_k) + \sqrt{\epsilon}\, z_k`.

    :math:`z_k \sim \mathcal N(0, I)`. As :math:`\epsilon \to 0` and :math:`K\epsilon \to \infty`
    the law of :math:`x_K` tends to the density whose score is ``score_fn``; a finite step
    biases it (for a Gaussian, see :func:`ula_stationary_covariance`).

    Args:
        score_fn: ``(N, D) -> (N, D)``; called under ``torch.no_grad`` (use :func:`score_of`
            for a score by autograd).
        x: starting points, ``(N, D)``.
        step_size: :math:`\epsilon > 0`, a number or one per chain, shape ``(N,)``.
        n_steps: :math:`K`, the number of steps (``0`` returns the start).
        generator: source of the noise.
        return_trajectory: also return every state, ``(K + 1, N, D)``.

    Returns:
        The final points ``(N, D)``, or ``(final, trajectory)``.

    Book: ``eq-score-langevin``.

    References:
        Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their
        discrete approximations. Bernoulli. Welling & Teh (2011), Bayesian learning via
        stochastic gradient Langevin dynamics. ICML.
    """
    _points("x", x)
    positive_int("n_steps", n_steps, minimum=0)
    eps = _step_sizes(step_size, x)
    x = x.detach().clone()
    traj = [x] if return_trajectory else None
    with torch.no_grad():
        for _ in range(n_steps):
            x = x + 0.5 * eps * _call_score(score_fn, x) + eps.sqrt() * _randn_like(x, generator)
            if traj is not None:
                traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x


def annealed_langevin(score_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                      sigmas: torch.Tensor, step_size: float, n_steps_each: int,
                      generator: torch.Generator | None = None, *, return_trajectory: bool = False):
    r"""Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    For each level :math:`\sigma_1 > \dots > \sigma_L` in turn, run ``n_steps_each`` Langevin
    steps on :math:`s(\cdot, \sigma_i)` with step :math:`\alpha_i = \epsilon\,\sigma_i^2/\sigma_L^2`.

    Args:
        score_fn: ``(x (N, D), sigma (N,)) -> (N, D)``, the noise-conditional score.
        x: starting points, ``(N, D)``.
        sigmas: ``(L,)`` decreasing noise levels.
        step_size: :math:`\epsilon`, the step at the last (smallest) level.
        n_steps_each: steps per level.
        generator: source of the noise.
        return_trajectory: also return every state, ``(L * n_steps_each + 1, N, D)``.

    Book: ``eq-score-annealed``.

    References:
        Song & Ermon (2019), Algorithm 1. arXiv:1907.05600.
    """
    _points("x", x)
    if not isinstance(sigmas, torch.Tensor) or sigmas.ndim != 1 or len(sigmas) == 0:
        raise ValueError(f"sigmas must be a 1-D tensor of noise levels; got {sigmas!r}")
    positive("sigmas", sigmas)
    if len(sigmas) > 1 and not bool((sigmas[1:] < sigmas[:-1]).all()):
        raise ValueError("sigmas must be strictly decreasing (largest noise first)")
    step_size = _scalar("step_size", step_size)
    positive_int("n_steps_each", n_steps_each)
    sig = sigmas.to(x)
    trajs = [x.detach().clone()[None]] if return_trajectory else None
    for level in sig:
        alpha = step_size * float(level / sig[-1]) ** 2
        level_n = level.expand(x.shape[0])
        out = langevin(lambda y: score_fn(y, level_n), x, alpha, n_steps_each, generator,
                       return_trajectory=return_trajectory)
        if return_trajectory:
            x, t = out
            trajs.append(t[1:])
        else:
            x = out
    return (x, torch.cat(trajs)) if return_trajectory else x


def ula_stationary_covariance(cov: torch.Tensor, step_size) -> torch.Tensor:
    r"""Stationary covariance of :func:`langevin` on :math:`\mathcal N(\mu, \Sigma)`: :math:`\Sigma\,(I - \tfrac{\epsilon}{4}\Sigma^{-1})^{-1}`.

    With score :math:`-\Sigma^{-1}(x-\mu)` the chain is :math:`x_{k+1}-\mu = A(x_k-\mu) + \sqrt\epsilon z_k`,
    :math:`A = I - \tfrac\epsilon2\Sigma^{-1}`; the fixed point of :math:`W = AWA + \epsilon I` is the
    formula, i.e. :math:`\lambda/(1 - \epsilon/(4\lambda))` along each eigen-direction of
    :math:`\Sigma` with variance :math:`\lambda`. It exists for :math:`0 < \epsilon < 4\lambda_{\min}`.

    Args:
        cov: ``(D, D)`` symmetric positive definite, or ``(...)`` variances of independent
            coordinates (a number or a tensor of shape ``()`` or ``(D,)``).
        step_size: :math:`\epsilon`.

    Book: ``eq-score-ula-variance``.
    """
    c = torch.as_tensor(cov)
    if not torch.is_floating_point(c):
        c = c.to(torch.get_default_dtype())
    eps = _scalar("step_size", step_size)
    if c.ndim == 2:
        if c.shape[0] != c.shape[1]:
            raise ValueError(f"cov must be square (D, D); got {tuple(c.shape)}")
        lam, vec = torch.linalg.eigh(c)
    else:
        lam, vec = c, None
    positive("cov (its eigenvalues)", lam)
    if bool((eps >= 4 * lam).any()):
        raise ValueError(f"step_size must be below 4 x the smallest variance ({4 * lam.min().item():.3g}), "
                         "or the chain diverges")
    w = lam / (1 - eps / (4 * lam))
    return w if vec is None else (vec * w) @ vec.T


def mode_share(x: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    r"""Fraction of points whose nearest mean is each of ``means``: ``(K,)``, summing to one.

    Args:
        x: ``(N, D)`` samples; means: ``(K, D)``.
    """
    _points("x", x)
    if not isinstance(means, torch.Tensor) or means.ndim != 2 or means.shape[1] != x.shape[1]:
        raise ValueError(f"means must have shape (K, {x.shape[1]}); got "
                         f"{tuple(means.shape) if isinstance(means, torch.Tensor) else type(means).__name__}")
    nearest = torch.cdist(x, means.to(x)).argmin(1)
    return torch.bincount(nearest, minlength=len(means)).to(x.dtype) / x.shape[0]


# ----------------------------------------------------------------------------- models
class ScoreNet(nn.Module):
    r"""A small MLP score model :math:`s_\theta(x)` or, with ``conditional``, :math:`s_\theta(x, \sigma)`.

    The conditional model feeds :math:`\log\sigma` as an extra input and divides the output by
    :math:`\sigma` (Song & Ermon, 2020), since :math:`\|\nabla\log p_\sigma\| \sim 1/\sigma`.

    Args:
        dim: data dimension ``D``.
        hidden: width of the two hidden layers.
        conditional: take a noise level ``sigma`` of shape ``(N,)`` as second argument.
    """

    def __init__(self, dim: int = 2, hidden: int = 64, conditional: bool = False):
        super().__init__()
        positive_int("dim", dim)
        positive_int("hidden", hidden)
        self.conditional = conditional
        self.net = nn.Sequential(nn.Linear(dim + int(conditional), hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        if not self.conditional:
            return self.net(x)
        if sigma is None:
            raise ValueError("sigma must be given to a conditional ScoreNet")
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        return self.net(torch.cat([x, sigma.log()[:, None]], -1)) / sigma[:, None]
