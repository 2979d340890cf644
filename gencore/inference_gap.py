r"""Chapter 3: the inference gap split into its approximation and amortization parts.

For a Gaussian family :math:`q(z) = \mathcal N(\mu, \operatorname{diag}\sigma^2)`,

.. math::

   \log p_\theta(x) - \mathrm{ELBO}(q_\phi(\cdot\mid x))
   = \underbrace{\log p_\theta(x) - \mathrm{ELBO}(q^*)}_{\text{approximation}}
   + \underbrace{\mathrm{ELBO}(q^*) - \mathrm{ELBO}(q_\phi(\cdot\mid x))}_{\text{amortization}},

with :math:`q^*` the best Gaussian for this one ``x``, found here by gradient ascent on the ELBO
with a free mean and diagonal variance per point. With a 2D latent space the ELBO of a Gaussian
is computed by Gauss-Hermite quadrature (deterministic, no Monte Carlo noise), so all three
numbers are exact up to quadrature error and the two gaps are comparable to the last digit
that matters.

Conventions follow :mod:`gencore.vae` (decoders ``z -> Distribution``).

Book: ``book/03_vae.ipynb`` (section "Where the inference gap comes from").

References:
    Cremer, Li & Duvenaud (2018), Inference suboptimality in variational autoencoders,
    arXiv:1801.03558.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch.distributions import Distribution

from .divergences import kl_normal
from .tensors import positive, positive_int, validate
from .vae import Decoder

__all__ = ["gauss_hermite_nodes", "elbo_gauss_hermite", "fit_gaussian_posterior"]


def gauss_hermite_nodes(order: int, dim: int, dtype=torch.float64, device=None):
    r"""Nodes ``t`` ``(order**dim, dim)`` and weights ``w`` ``(order**dim,)`` with :math:`\mathbb E_{\varepsilon\sim\mathcal N(0, I)}[f(\varepsilon)] \approx \sum_i w_i f(t_i)`.

    The tensor product of the ``order``-point Gauss-Hermite rule, rescaled to the standard
    normal (nodes times :math:`\sqrt 2`, weights over :math:`\sqrt\pi` per dimension); exact
    for polynomials of degree up to ``2 order - 1`` in each coordinate. The weights sum to 1.
    """
    positive_int("order", order)
    positive_int("dim", dim)
    t1, w1 = np.polynomial.hermite.hermgauss(order)
    t1, w1 = t1 * math.sqrt(2.0), w1 / math.sqrt(math.pi)
    t = np.array(list(itertools.product(t1, repeat=dim)))
    w = np.prod(np.array(list(itertools.product(w1, repeat=dim))), axis=1)
    return (torch.as_tensor(t, dtype=dtype, device=device), torch.as_tensor(w, dtype=dtype, device=device))


def elbo_gauss_hermite(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor, decoder: Decoder,
                       order: int = 24) -> torch.Tensor:
    r"""The ELBO of :math:`q = \mathcal N(\mu, \operatorname{diag}\sigma^2)` at ``x``, without Monte Carlo.

    :math:`\mathbb E_q[\log p_\theta(x\mid z)]` by the Gauss-Hermite rule of
    :func:`gauss_hermite_nodes` at :math:`z = \mu + \sigma\odot t_i`, minus the closed-form
    :math:`\mathrm{KL}(q\,\|\,\mathcal N(0, I))`. Differentiable in ``mu``, ``sigma`` and the
    decoder's parameters. The cost is ``order**K`` decoder calls per point: meant for ``K <= 2``.

    Args:
        x: ``(..., N, D)``; mu, sigma: ``(..., N, K)``, ``sigma > 0``; decoder: ``z -> Distribution``.
        order: Gauss-Hermite points per latent dimension.

    Returns:
        ``(..., N)`` in nats.

    Book: ``eq-vae-gap-split``.
    """
    validate("x", x, min_ndim=1)
    validate("mu", mu, min_ndim=1)
    validate("sigma", sigma, min_ndim=1)
    positive("sigma", sigma.detach())
    positive_int("order", order)
    if mu.shape != sigma.shape:
        raise ValueError(f"mu and sigma must have one shape; got {tuple(mu.shape)} and {tuple(sigma.shape)}")
    if mu.shape[:-1] != torch.broadcast_shapes(mu.shape[:-1], x.shape[:-1]):
        raise ValueError(f"mu must have shape (..., N, K) with (..., N) = x's {tuple(x.shape[:-1])}; "
                         f"got {tuple(mu.shape)}")
    t, w = gauss_hermite_nodes(order, mu.shape[-1], dtype=mu.dtype, device=mu.device)
    t = t.reshape((len(t),) + (1,) * (mu.ndim - 1) + (mu.shape[-1],))
    z = mu + sigma * t                                       # (G, ..., N, K)
    px = decoder(z)
    if not isinstance(px, Distribution) or px.event_shape != x.shape[-1:]:
        raise ValueError(f"decoder must return a Distribution over points shaped like x's rows {tuple(x.shape[-1:])}")
    rec = (w.reshape((-1,) + (1,) * (mu.ndim - 1)) * px.log_prob(x)).sum(0)
    return rec - kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma)).sum(-1)


def fit_gaussian_posterior(x: torch.Tensor, decoder: Decoder, mu: torch.Tensor, sigma: torch.Tensor,
                           steps: int = 400, lr: float = 0.03, order: int = 24):
    r"""The best Gaussian :math:`q^*(z) = \mathcal N(\mu^*, \operatorname{diag}\sigma^{*2})` for each point of ``x`` separately.

    Adam on the free parameters :math:`(\mu, \log\sigma)` of every point, maximizing
    :func:`elbo_gauss_hermite` (deterministic, so the ascent is plain optimization), starting
    from ``(mu, sigma)`` (the encoder's output, say). The decoder is held fixed. Each point keeps
    the best parameters it reached, so its ELBO never falls below the starting one.

    Args:
        x: ``(..., N, D)``; decoder: ``z -> Distribution``.
        mu, sigma: ``(..., N, K)`` starting values, ``sigma > 0``.
        steps: Adam steps; lr: its learning rate; order: Gauss-Hermite points per dimension.

    Returns:
        ``(mu_star, sigma_star, elbo_star)``: ``(..., N, K)``, ``(..., N, K)``, ``(..., N)``,
        detached.

    Book: ``eq-vae-gap-split``.
    """
    positive_int("steps", steps)
    positive("lr", lr)
    best = elbo_gauss_hermite(x, mu, sigma, decoder, order).detach()
    m = mu.detach().clone().requires_grad_(True)
    log_s = sigma.detach().log().clone().requires_grad_(True)
    best_m, best_s = m.detach().clone(), log_s.detach().exp()
    opt = torch.optim.Adam([m, log_s], lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        value = elbo_gauss_hermite(x, m, log_s.exp(), decoder, order)
        better = value.detach() > best
        best = torch.where(better, value.detach(), best)
        best_m = torch.where(better[..., None], m.detach(), best_m)
        best_s = torch.where(better[..., None], log_s.detach().exp(), best_s)
        (-value.sum()).backward()
        opt.step()
    with torch.no_grad():
        value = elbo_gauss_hermite(x, m, log_s.exp(), decoder, order)
        better = value > best
        best = torch.where(better, value, best)
        best_m = torch.where(better[..., None], m.detach(), best_m)
        best_s = torch.where(better[..., None], log_s.exp(), best_s)
    return best_m, best_s, best
