r"""Chapter 3's tractable model: the linear Gaussian latent-variable model (probabilistic PCA).

Its marginal :math:`p(x)` and posterior :math:`p(z\mid x)` are Gaussians in closed form, and so is
the ELBO of any diagonal Gaussian :math:`q`: the chapter checks the identity
:math:`\log p(x) = \mathrm{ELBO}(q) + \mathrm{KL}(q\,\|\,p(z\mid x))` on it to rounding, and the
Monte Carlo estimators of :mod:`gencore.vae` against it.

Book: ``book/03_vae.ipynb``.

References:
    Tipping & Bishop (1999), Probabilistic principal component analysis.
"""
from __future__ import annotations

import math

import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from .divergences import kl_normal
from .tensors import noise, positive, positive_int, validate

__all__ = ["LinearGaussian"]


class LinearGaussian:
    r"""The linear Gaussian latent-variable model (probabilistic PCA), where everything is exact.

    .. math::
        p(z) = \mathcal N(0, I_K), \qquad p(x\mid z) = \mathcal N(Wz + b, s^2 I_D),

    so :math:`p(x) = \mathcal N(b, WW^\top + s^2 I)` and
    :math:`p(z\mid x) = \mathcal N\big(M^{-1}W^\top(x - b)/s^2,\; M^{-1}\big)` with
    :math:`M = I + W^\top W / s^2`.

    Args:
        W: ``(D, K)``; b: ``(D,)``; sigma: ``s > 0`` (number or 0-d tensor).
        Tensors decide the dtype and device of everything computed.

    Book: ``eq-vae-lg-model``, ``eq-vae-lg-marginal``, ``eq-vae-lg-posterior``.

    Example:
        >>> lg = LinearGaussian(torch.tensor([[1.5], [0.8]]), torch.tensor([0.5, -0.3]), 0.5)
        >>> x = lg.sample(4, generator=torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(lg.elbo_exact(x, lg.posterior(x).mean, lg.posterior(x).stddev), lg.log_marginal(x)))
        True

    References:
        Tipping & Bishop (1999), Probabilistic principal component analysis.
    """

    def __init__(self, W: torch.Tensor, b: torch.Tensor, sigma):
        validate("W", W, ndim=2)
        validate("b", b)
        if b.shape != W.shape[:1]:
            raise ValueError(f"b must have shape ({W.shape[0]},) to match W; got {tuple(b.shape)}")
        self.W, self.b = W, b.to(W)
        positive("sigma", sigma)
        self.sigma = torch.as_tensor(sigma, dtype=W.dtype, device=W.device)
        if self.sigma.ndim != 0:
            raise ValueError(f"sigma must be a scalar; got shape {tuple(self.sigma.shape)}")

    @property
    def data_dim(self) -> int:
        return self.W.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.W.shape[1]

    def _x(self, x: torch.Tensor) -> torch.Tensor:
        return validate("x", x, min_ndim=1, last_dim=self.data_dim)

    def prior(self) -> Independent:
        zeros = self.W.new_zeros(self.latent_dim)
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def decoder(self, z: torch.Tensor) -> Independent:
        r""":math:`p(x\mid z) = \mathcal N(Wz + b, s^2 I)` for ``z`` of shape ``(..., K)``."""
        mean = z @ self.W.T + self.b
        return Independent(Normal(mean, self.sigma.expand_as(mean)), 1)

    def marginal(self) -> MultivariateNormal:
        cov = self.W @ self.W.T + self.sigma**2 * torch.eye(self.data_dim, dtype=self.W.dtype, device=self.W.device)
        return MultivariateNormal(self.b, cov)

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        r"""Exact :math:`\log p(x)`, ``(..., D) -> (...)``.

        Book: ``eq-vae-lg-marginal``.
        """
        return self.marginal().log_prob(self._x(x))

    def posterior(self, x: torch.Tensor) -> MultivariateNormal:
        r"""Exact :math:`p(z\mid x)` for ``x`` of shape ``(..., D)``: a ``MultivariateNormal`` with batch ``(...)``.

        Book: ``eq-vae-lg-posterior``.
        """
        x = self._x(x)
        eye = torch.eye(self.latent_dim, dtype=self.W.dtype, device=self.W.device)
        cov = torch.linalg.inv(eye + self.W.T @ self.W / self.sigma**2)
        cov = 0.5 * (cov + cov.T)
        mean = ((x - self.b) @ self.W / self.sigma**2) @ cov  # cov is symmetric
        return MultivariateNormal(mean, cov.expand(mean.shape[:-1] + cov.shape))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws of ``x`` (ancestral: ``z`` from the prior, then ``x`` given ``z``), ``(n, D)``."""
        positive_int("n", n)
        z = noise((n, self.latent_dim), self.W, generator)
        return z @ self.W.T + self.b + self.sigma * noise((n, self.data_dim), self.W, generator)

    def expected_log_likelihood(self, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        r"""Exact :math:`\mathbb E_{z\sim\mathcal N(\mu,\operatorname{diag}\sigma^2)}[\log p(x\mid z)]`.

        .. math::
            -\frac{\lVert x - W\mu - b\rVert^2 + \sum_k \sigma_k^2 \lVert W_{:,k}\rVert^2}{2s^2} - \frac D2\log(2\pi s^2)

        Args:
            x: ``(..., D)``; mu, sigma: ``(..., K)``.
        """
        x = self._x(x)
        validate("mu", mu, min_ndim=1, last_dim=self.latent_dim)
        positive("sigma", validate("sigma", sigma, min_ndim=1, last_dim=self.latent_dim))
        resid = x - mu @ self.W.T - self.b
        spread = (sigma**2 * (self.W**2).sum(0)).sum(-1)
        s2 = self.sigma**2
        return -((resid**2).sum(-1) + spread) / (2 * s2) - 0.5 * self.data_dim * torch.log(2 * math.pi * s2)

    def elbo_exact(self, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        r"""The ELBO of :math:`q = \mathcal N(\mu, \operatorname{diag}\sigma^2)` with no Monte Carlo error, ``(...)``.

        Book: ``eq-vae-elbo-terms``.
        """
        ell = self.expected_log_likelihood(x, mu, sigma)
        return ell - kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma)).sum(-1)
