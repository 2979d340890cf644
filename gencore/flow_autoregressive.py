r"""Chapter 5: the inverse autoregressive direction, next to chapter 10's masked autoregressive flow.

Chapter 10's :class:`gencore.ar_flow.GaussianAR` is a masked autoregressive flow (MAF): its
conditioner reads the *data*, :math:`x_i = \mu_i(x_{<i}) + \sigma_i(x_{<i})\,z_i`, so the density
direction :math:`x \mapsto z` is one pass and sampling takes :math:`D`. :class:`IAF` uses the same
MADE conditioner on the *noise*, :math:`x_i = \mu_i(z_{<i}) + \sigma_i(z_{<i})\,z_i`: sampling, with
its log-determinant :math:`\sum_i \log\sigma_i(z_{<i})`, is one pass, and recovering :math:`z` from a
given :math:`x` takes :math:`D`, one coordinate at a time.

Book: ``book/05_flows.ipynb`` (``eq-flows-iaf``).

References:
    Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling (2016), Improved variational
    inference with inverse autoregressive flow. NeurIPS. arXiv:1606.04934.
    Papamakarios, Pavlakou & Murray (2017), Masked autoregressive flow for density estimation.
    NeurIPS. arXiv:1705.07057.
"""
from __future__ import annotations

import torch
from torch import nn

from .ar_flow import GaussianAR
from .tensors import positive_int, validate

__all__ = ["IAF"]


class IAF(nn.Module):
    r"""An affine inverse autoregressive layer :math:`x = \mu(z) + \sigma(z)\odot z` with a MADE conditioner.

    Entry :math:`i` of :math:`\mu, \log\sigma` depends on :math:`z_{<i}` only, so
    :math:`\partial x/\partial z` is lower triangular with diagonal :math:`\sigma_i(z_{<i})`.

    Args:
        dim: number of coordinates ``D`` (``>= 2``).
        hidden, layers: the masked MLP's width and depth (chapter 10's :class:`GaussianAR`).
        dtype, device: of the weights.

    Example:
        >>> layer = IAF(3, 8, dtype=torch.float64)
        >>> z = torch.randn(4, 3, dtype=torch.float64)
        >>> x, log_det = layer(z)                       # one pass
        >>> bool(torch.allclose(layer.inverse(x)[0], z))  # three passes
        True
    """

    def __init__(self, dim: int, hidden: int = 16, layers: int = 1, *, dtype=None, device=None):
        super().__init__()
        self.dim = positive_int("dim", dim, minimum=2)
        self.made = GaussianAR(dim, positive_int("hidden", hidden), positive_int("layers", layers),
                               dtype=dtype, device=device)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Sampling direction: ``(x, log|det dx/dz|)``, ``(N, D)`` and ``(N,)``, in one conditioner pass."""
        validate("z", z, ndim=2, last_dim=self.dim)
        mu, log_sigma = self.made.conditioner(z)
        return mu + torch.exp(log_sigma) * z, log_sigma.sum(-1)

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Density direction: ``(z, log|det dz/dx|)`` in ``D`` passes, :math:`z_i = (x_i - \mu_i(z_{<i}))/\sigma_i(z_{<i})`."""
        validate("x", x, ndim=2, last_dim=self.dim)
        z = torch.zeros_like(x)
        for i in range(self.dim):  # z_i needs z_{<i}, known after the passes before it
            mu, log_sigma = self.made.conditioner(z)
            z = z.clone()
            z[:, i] = (x[:, i] - mu[:, i]) * torch.exp(-log_sigma[:, i])
        return z, -log_sigma.sum(-1)
