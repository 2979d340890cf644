"""Chapter 6's exact measurements: the true reverse conditional on a grid, the SNR identity, DDIM as Euler.

Measurements on :mod:`gencore.diffusion_exact` (no plotting; the figures are in
:mod:`gencore.figures.diffusion`). Nothing here trains or draws random numbers unless given a generator.

Book: ``book/06_diffusion.ipynb``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import diffusion as D
from .. import diffusion_exact as E
from ..data import GaussianMixture
from ..quadrature import grid
from ..tensors import positive_int, validate
from .diffusion import grid_log_prob

__all__ = ["ReverseJump", "reverse_jumps", "one_step_gaussian_gap", "snr_identity_gap", "ddim_euler_gap"]


@dataclass
class ReverseJump:
    """The exact :math:`q(x_s \\mid x_t)` for one jump, on a grid around its mean.

    Attributes: ``t``, ``s``; ``mixture`` (the closed form); ``extent`` (the grid's box,
    ``half_width`` standard deviations of the widest direction around the mean); ``density``
    ``(R, R)`` (row = y); ``mass`` (the grid sum of the density, 1 up to the quadrature error);
    ``mean`` ``(2,)`` and ``cov`` ``(2, 2)`` (exact); ``kl_gauss``: KL of the exact conditional from
    the Gaussian with its mean and covariance, by the grid (0 for a Gaussian).
    """

    t: int
    s: int
    mixture: GaussianMixture
    extent: tuple
    density: torch.Tensor
    mass: float
    mean: torch.Tensor
    cov: torch.Tensor
    kl_gauss: float


def reverse_jumps(schedule: D.NoiseSchedule, data, xt: torch.Tensor, t: int, jumps=(1, 10, 100), *,
                  resolution: int = 120, half_width: float = 6.0) -> list[ReverseJump]:
    r"""The exact :math:`q(x_{t-k} \mid x_t)` for each jump ``k`` in ``jumps``, checked on a grid.

    For each jump the closed-form mixture of :func:`gencore.diffusion_exact.reverse_conditional` is
    evaluated on a ``resolution`` square grid; its midpoint sum ``mass`` should be 1, and
    ``kl_gauss`` measures how far it is from Gaussian:
    :math:`\sum_i p_i \log(p_i / g_i)` over the cells, with :math:`g` the moment-matched Gaussian.
    """
    validate("xt", xt, ndim=1, last_dim=2)
    positive_int("resolution", resolution, minimum=8)
    rows = []
    for k in jumps:
        s = t - positive_int("jump", int(k))
        mix = E.reverse_conditional(schedule, data, xt, t, s)
        mean, cov = E.mixture_moments(mix)
        r = half_width * torch.linalg.eigvalsh(cov).max().sqrt().item()
        m = mean.tolist()
        extent = (m[0] - r, m[0] + r, m[1] - r, m[1] + r)
        lp = grid_log_prob(mix, extent, resolution)
        pts, area = grid(extent, resolution, dtype=torch.float64)
        gauss = torch.distributions.MultivariateNormal(mean, cov)
        lg = gauss.log_prob(pts.to(mean)).reshape(resolution, resolution)
        p = lp.exp() * area
        rows.append(ReverseJump(t, s, mix, extent, lp.exp(), float(p.sum()), mean, cov,
                                float((p * (lp - lg)).sum() / p.sum())))
    return rows


def one_step_gaussian_gap(schedule: D.NoiseSchedule, data, xt: torch.Tensor, t: int) -> tuple[float, float]:
    r"""How far the exact one-step :math:`q(x_{t-1} \mid x_t)` is from DDPM's best Gaussian step.

    That step is :math:`\mathcal N(\tilde\mu_t(x_t, \hat x_0^*), \tilde\beta_t I)` with the best denoiser
    :math:`\hat x_0^* = \mathbb E[x_0 \mid x_t]` (from the exact :math:`q(x_0 \mid x_t)`). Returns
    ``(max |mean difference|, max |cov - beta_tilde I| / beta_tilde)``.
    """
    exact_mean, exact_cov = E.mixture_moments(E.reverse_conditional(schedule, data, xt, t, t - 1))
    x0_hat = E.mixture_moments(E.reverse_conditional(schedule, data, xt, t, 0))[0]
    mu, var = D.posterior(schedule, x0_hat[None], xt[None], t)
    cov = var.item() * torch.eye(2, dtype=xt.dtype)
    return float((exact_mean - mu[0]).abs().max()), float(((exact_cov - cov).abs() / var.item()).max())


def snr_identity_gap(schedule: D.NoiseSchedule, x0: torch.Tensor, x0_hat: torch.Tensor, xt: torch.Tensor, t: int) -> tuple[float, float]:
    r""":math:`L_{t-1}` two ways: KL of the Gaussians (``torch.distributions``) against :math:`\tfrac12\Delta\mathrm{SNR}\,\|x_0 - \hat x_0\|^2`.

    The reverse step is :math:`\mathcal N(\tilde\mu_t(x_t, \hat x_0), \tilde\beta_t I)`; returns
    ``(max |KL - SNR form| over the batch, largest KL)``.
    """
    mu_q, var = D.posterior(schedule, x0, xt, t)
    mu_p, _ = D.posterior(schedule, x0_hat, xt, t)
    sd = var.sqrt().expand_as(mu_q)
    kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu_q, sd), torch.distributions.Normal(mu_p, sd)).sum(-1)
    snr_form = E.x0_weight(schedule, t).to(x0) * ((x0 - x0_hat) ** 2).sum(-1)
    return float((kl - snr_form).abs().max()), float(kl.max())


def ddim_euler_gap(schedule: D.NoiseSchedule, eps: torch.Tensor, xt: torch.Tensor, t: int, t_prev: int) -> float:
    r"""Max difference between one DDIM step (:math:`\eta = 0`) and one Euler step of :math:`d\bar x/d\sigma = \epsilon`.

    The Euler step is taken in :func:`gencore.diffusion_exact.ve_coordinates`,
    :math:`\bar x' = \bar x + (\sigma_{t'} - \sigma_t)\,\epsilon`, and mapped back by :math:`x' = \sqrt{\bar\alpha_{t'}}\,\bar x'`.
    """
    ddim = D.ddim_step(schedule, eps, t, t_prev, xt, eta=0.0)
    x_bar, sigma = E.ve_coordinates(schedule, xt, t)
    _, sigma_prev = E.ve_coordinates(schedule, xt, t_prev)
    euler = (x_bar + (sigma_prev - sigma) * eps) * schedule.alpha_bars[t_prev].to(xt).sqrt()
    return float((ddim - euler).abs().max())
