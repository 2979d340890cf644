r"""Chapter 10, continued: a Gaussian autoregressive model is an affine autoregressive flow.

With Gaussian conditionals :math:`q(x_i \mid x_{<i}) = \mathcal N(\mu_i(x_{<i}), \sigma_i(x_{<i})^2)`, a
sample is :math:`x_i = \mu_i(x_{<i}) + \sigma_i(x_{<i})\,z_i` with :math:`z \sim \mathcal N(0, I)`:
an invertible map :math:`z \mapsto x` whose inverse :math:`z_i = (x_i - \mu_i(x_{<i}))/\sigma_i(x_{<i})`
has a lower-triangular Jacobian with diagonal :math:`1/\sigma_i`. Chapter 5's change of variables
then gives :math:`\log q(x) = \log\mathcal N(z; 0, I) - \sum_i \log\sigma_i`, the chain rule's sum
of Gaussian log-densities term by term. The inverse (density) direction needs one pass of the
conditioner; the forward (sampling) direction needs ``D`` (a masked autoregressive flow, MAF);
conditioning on :math:`z_{<i}` instead swaps the two costs (an inverse autoregressive flow, IAF).

Book: ``book/10_autoregressive.ipynb``.

References:
    Papamakarios, Pavlakou & Murray (2017), Masked autoregressive flow for density estimation.
    NeurIPS. https://arxiv.org/abs/1705.07057
    Kingma et al. (2016), Improved variational inference with inverse autoregressive flow. NeurIPS.
    https://arxiv.org/abs/1606.04934
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .autoregressive import made_masks, masked_mlp
from .tensors import positive_int, validate

__all__ = ["GaussianAR"]


class GaussianAR(nn.Module):
    r"""Gaussian conditionals :math:`\mathcal N(\mu_i(x_{<i}), \sigma_i(x_{<i})^2)` from one MADE pass (``dim`` means and log-scales).

    Args:
        dim: number of coordinates ``D`` (raster order).
        hidden, layers: the masked MLP's width and depth (tanh units).

    Book: ``eq-ar-affine-flow``.

    Example:
        >>> ar = GaussianAR(dim=3, hidden=8, dtype=torch.float64)
        >>> z = torch.randn(4, 3, dtype=torch.float64)
        >>> x = ar.from_noise(z)                       # 3 passes, one per coordinate
        >>> back, log_det = ar.to_noise(x)             # 1 pass
        >>> bool(torch.allclose(back, z))
        True
    """

    def __init__(self, dim: int, hidden: int = 16, layers: int = 1, *, dtype=None, device=None):
        super().__init__()
        self.dim = positive_int("dim", dim, minimum=2)
        masks = made_masks(dim, hidden, layers)
        masks[-1] = torch.cat([masks[-1], masks[-1]])  # rows 0..D-1: means, D..2D-1: log-scales
        self.net = masked_mlp(masks, nn.Tanh, dtype=dtype, device=device)

    def conditioner(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(mu, log_sigma)``, each ``(N, D)``: entry ``i`` depends on :math:`x_{<i}` only."""
        validate("x", x, ndim=2, last_dim=self.dim)
        mu, log_sigma = self.net(x).chunk(2, -1)
        return mu, log_sigma

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(N,)`` :math:`\sum_i \log\mathcal N(x_i; \mu_i, \sigma_i^2)`: the chain rule, one pass."""
        mu, log_sigma = self.conditioner(x)
        z = (x - mu) * torch.exp(-log_sigma)
        return (-0.5 * z.pow(2) - log_sigma - 0.5 * math.log(2 * math.pi)).sum(-1)

    def to_noise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The inverse map :math:`z = (x - \mu)/\sigma` and its :math:`\log|\det \partial z/\partial x| = -\sum_i\log\sigma_i`,
        ``(N, D)`` and ``(N,)``, in one pass (every :math:`\mu_i, \sigma_i` reads the observed :math:`x`)."""
        mu, log_sigma = self.conditioner(x)
        return (x - mu) * torch.exp(-log_sigma), -log_sigma.sum(-1)

    def from_noise(self, z: torch.Tensor) -> torch.Tensor:
        r"""The forward map :math:`x_i = \mu_i(x_{<i}) + \sigma_i(x_{<i})\,z_i`, ``(N, D)``: ``D`` passes, since
        :math:`x_i` needs :math:`x_{<i}` first."""
        validate("z", z, ndim=2, last_dim=self.dim)
        x = torch.zeros_like(z)
        for i in range(self.dim):
            mu, log_sigma = self.conditioner(x)
            x = x.clone()
            x[:, i] = mu[:, i] + torch.exp(log_sigma[:, i]) * z[:, i]
        return x
