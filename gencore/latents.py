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

from .tensors import validate

__all__ = ["reparameterize_mvn", "quadratic_expectation"]


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

