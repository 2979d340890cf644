r"""Chapter 2, beyond one Gaussian number: multivariate Gaussian latents and categorical ones.

Two extensions of :mod:`gencore.reparam`. A multivariate Gaussian is reparameterized as
:math:`z = \mu + L\varepsilon` with :math:`L` a lower-triangular (Cholesky) factor of
:math:`\Sigma`; for :math:`f(z) = z^\top A z` the expectation and its gradients have a closed form
that checks the pathwise estimator. A categorical latent :math:`z \sim \mathrm{Cat}(\pi)`,
:math:`\pi = \operatorname{softmax}(\theta)`, has no such map with a useful derivative: the
Gumbel-max trick samples it exactly, the Gumbel-softmax (Concrete) relaxation replaces the
one-hot sample by a point of the simplex so that a pathwise gradient exists (biased, with a
temperature :math:`\tau`), and the score-function estimator stays unbiased.

A categorical ``f`` is given by its ``K`` values ``f_values`` (``f(k)`` for ``k = 0..K-1``); the
relaxed sample ``y`` is scored by the linear extension :math:`\sum_k y_k f(k)`, which equals
``f(k)`` on the one-hot vertices.

Book: ``book/02_reparameterization.ipynb``.

References:
    Kingma & Welling (2014), Auto-encoding variational Bayes.
    Gumbel (1954); Maddison, Tarlow & Minka (2014), A* sampling.
    Jang, Gu & Poole (2017), Categorical reparameterization with Gumbel-softmax.
    Maddison, Mnih & Teh (2017), The Concrete distribution.
    Williams (1992), Simple statistical gradient-following algorithms (REINFORCE).
"""
from __future__ import annotations

import torch

from .tensors import positive, positive_int, uniform, validate

__all__ = [
    "reparameterize_mvn", "quadratic_expectation",
    "gumbel", "gumbel_max", "gumbel_softmax",
    "categorical_exact_grad", "score_function_terms_categorical", "gumbel_softmax_terms",
]


def _tril(name: str, scale_tril: torch.Tensor, d: int) -> None:
    validate(name, scale_tril, ndim=2)
    if scale_tril.shape != (d, d):
        raise ValueError(f"{name} must be ({d}, {d}) for a mean of dimension {d}; got {tuple(scale_tril.shape)}")
    diag = torch.diagonal(scale_tril.detach())
    if not bool((diag > 0).all()) or bool((scale_tril.detach().triu(1) != 0).any()):
        raise ValueError(f"{name} must be lower triangular with a positive diagonal (a Cholesky factor)")


def reparameterize_mvn(mu: torch.Tensor, scale_tril: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    r""":math:`z = \mu + L\varepsilon`, a sample of :math:`\mathcal N(\mu, LL^\top)` for :math:`\varepsilon \sim \mathcal N(0, I)`.

    Args:
        mu: ``(D,)``; scale_tril: ``(D, D)`` lower triangular, positive diagonal; eps: ``(N, D)``.

    Returns:
        ``(N, D)``, differentiable in ``mu`` and ``scale_tril``.

    Book: ``eq-reparam-mvn``.
    """
    validate("mu", mu, ndim=1)
    _tril("scale_tril", scale_tril, mu.shape[0])
    validate("eps", eps, ndim=2, last_dim=mu.shape[0])
    return mu + eps @ scale_tril.T


def quadratic_expectation(mu: torch.Tensor, scale_tril: torch.Tensor, A: torch.Tensor):
    r""":math:`\mathbb E[z^\top A z]` for :math:`z \sim \mathcal N(\mu, LL^\top)`, and its gradients, exactly.

    .. math::
        \mathbb E[z^\top A z] = \mu^\top A \mu + \operatorname{tr}(A LL^\top), \quad
        \nabla_\mu = (A + A^\top)\mu, \quad \nabla_L = \operatorname{tril}\big((A + A^\top) L\big).

    Args:
        mu: ``(D,)``; scale_tril: ``(D, D)`` Cholesky factor; A: ``(D, D)``.

    Returns:
        ``(value, grad_mu, grad_L)``: ``()``, ``(D,)``, ``(D, D)`` (zero above the diagonal).

    Book: ``eq-reparam-quadratic``.
    """
    validate("mu", mu, ndim=1)
    d = mu.shape[0]
    _tril("scale_tril", scale_tril, d)
    validate("A", A, ndim=2)
    if A.shape != (d, d):
        raise ValueError(f"A must be ({d}, {d}); got {tuple(A.shape)}")
    sym = A + A.T
    value = (mu * (A @ mu)).sum() + (A * (scale_tril @ scale_tril.T)).sum()  # μᵀAμ + tr(AΣ), Σ symmetric
    return value, sym @ mu, torch.tril(sym @ scale_tril)


def _logits(logits: torch.Tensor) -> int:
    validate("logits", logits, ndim=1)
    if logits.shape[0] < 2:
        raise ValueError(f"logits must hold at least 2 categories; got shape {tuple(logits.shape)}")
    return logits.shape[0]


def gumbel(shape, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Standard Gumbel noise :math:`g = -\log(-\log u)`, :math:`u \sim U(0, 1)`, shaped ``shape``, like ``like``.

    Book: ``eq-gumbel-max``.
    """
    validate("like", like, nonempty=False)
    u = uniform(shape, like, generator).clamp(torch.finfo(like.dtype).tiny, 1 - torch.finfo(like.dtype).eps)
    return -torch.log(-torch.log(u))


def gumbel_max(logits: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r""":math:`z = \arg\max_k(\theta_k + g_k)`: ``n`` exact draws of :math:`\mathrm{Cat}(\operatorname{softmax}\theta)`.

    Args:
        logits: ``(K,)`` unnormalized log-probabilities :math:`\theta`. n: the number of draws.

    Returns:
        ``(n,)`` category indices (int64).

    Book: ``eq-gumbel-max``.
    """
    k = _logits(logits)
    positive_int("n", n)
    return (logits + gumbel((n, k), logits, generator)).argmax(-1)


def gumbel_softmax(logits: torch.Tensor, g: torch.Tensor, tau: float) -> torch.Tensor:
    r""":math:`y = \operatorname{softmax}((\theta + g)/\tau)`: the relaxed one-hot sample, a point of the simplex.

    Args:
        logits: ``(K,)``; g: ``(N, K)`` Gumbel noise; tau: temperature :math:`\tau > 0`.

    Returns:
        ``(N, K)``; as :math:`\tau \to 0` each row tends to the one-hot vector of the Gumbel-max sample.

    Book: ``eq-gumbel-softmax``.
    """
    k = _logits(logits)
    validate("g", g, ndim=2, last_dim=k)
    positive("tau", tau)
    return torch.softmax((logits + g) / tau, -1)


def categorical_exact_grad(logits: torch.Tensor, f_values: torch.Tensor) -> torch.Tensor:
    r""":math:`\nabla_\theta \mathbb E_{z\sim\mathrm{Cat}(\pi)}[f(z)] = \pi \odot (f - \pi^\top f)`, by enumeration.

    Args:
        logits: ``(K,)``; f_values: ``(K,)`` the values ``f(k)``.

    Returns:
        ``(K,)``.

    Book: ``eq-categorical-exact-grad``.
    """
    k = _logits(logits)
    validate("f_values", f_values, ndim=1, last_dim=k)
    pi = torch.softmax(logits, -1)
    return pi * (f_values - pi @ f_values)


def score_function_terms_categorical(logits: torch.Tensor, f_values: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""Per-sample score-function terms :math:`f(z)\,\nabla_\theta\log\pi_z = f(z)\,(e_z - \pi)`.

    Args:
        logits: ``(K,)``; f_values: ``(K,)``; z: ``(N,)`` category indices (a Gumbel-max sample).

    Returns:
        ``(N, K)``; their mean is an unbiased estimate of :func:`categorical_exact_grad`.

    Book: ``eq-categorical-exact-grad`` (the score-function estimator beside it).
    """
    k = _logits(logits)
    validate("f_values", f_values, ndim=1, last_dim=k)
    validate("z", z, ndim=1, floating=False)
    if z.is_floating_point() or bool(((z < 0) | (z >= k)).any()):
        raise ValueError(f"z must hold category indices 0..{k - 1} (an integer tensor)")
    pi = torch.softmax(logits, -1)
    return f_values[z][:, None] * (torch.nn.functional.one_hot(z, k).to(pi) - pi)


def gumbel_softmax_terms(logits: torch.Tensor, f_values: torch.Tensor, g: torch.Tensor, tau: float) -> torch.Tensor:
    r"""Per-sample pathwise gradients of the relaxed objective :math:`\sum_k y_k f(k)`, :math:`y` the Gumbel-softmax sample.

    With :math:`\partial y/\partial\theta = (\operatorname{diag} y - yy^\top)/\tau`, the term is
    :math:`y \odot (f - y^\top f)/\tau`. Its mean estimates the gradient of the *relaxed*
    expectation, which differs from :func:`categorical_exact_grad` (a bias that vanishes as
    :math:`\tau \to 0`, while the variance grows).

    Args:
        logits: ``(K,)``; f_values: ``(K,)``; g: ``(N, K)`` Gumbel noise; tau: temperature.

    Returns:
        ``(N, K)``.

    Book: ``eq-gumbel-softmax``.
    """
    y = gumbel_softmax(logits, g, tau)
    validate("f_values", f_values, ndim=1, last_dim=logits.shape[0])
    return y * (f_values - (y @ f_values)[:, None]) / tau
