r"""Chapter 8: two more ways to train an energy: a stabilized contrastive loss and noise-contrastive estimation.

The chapter's plain persistent contrastive divergence (``gencore.ebm.contrastive_divergence_loss``)
runs away when its chains lag behind the model. Du & Mordatch's remedy, with others in the
recipe of ``gencore.experiments.ebm.train_ebm``, adds a penalty on the size of the energies:
:func:`penalized_cd_loss`. Noise-contrastive estimation (:func:`nce_loss`) needs no chains at
all: it fits the energy, and :math:`\log Z` as one more parameter, by telling data from draws of
a known noise density (:func:`fit_gaussian_noise`).

Book: ``book/08_ebm.ipynb``.

References:
    Du & Mordatch (2019), Implicit generation and generalization in energy-based models.
    arXiv:1903.08689.
    Gutmann & Hyvärinen (2010), Noise-contrastive estimation: a new estimation principle for
    unnormalized statistical models. AISTATS.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .tensors import function, positive_number, validate

__all__ = ["penalized_cd_loss", "NCEModel", "nce_loss", "nce_discriminator", "fit_gaussian_noise"]

Energy = Callable[[torch.Tensor], torch.Tensor]
LogProb = Callable[[torch.Tensor], torch.Tensor]


def _points(name: str, x) -> torch.Tensor:
    return validate(name, x, min_ndim=2, last_dim=2)


def penalized_cd_loss(energy_fn: Energy, x_data: torch.Tensor, x_neg: torch.Tensor, alpha: float) -> torch.Tensor:
    r"""The contrastive loss plus Du & Mordatch's energy penalty.

    .. math::
        \frac1N\sum_n E(x_n^+) - \frac1M\sum_m E(x_m^-)
        + \alpha\Big(\frac1N\sum_n E(x_n^+)^2 + \frac1M\sum_m E(x_m^-)^2\Big).

    The first two terms are :func:`gencore.ebm.contrastive_divergence_loss`; the penalty keeps
    the energies near zero, so that the network cannot win the contrast by pushing the two
    sets of energies apart without bound (the run-away of a lagging sampler). ``alpha = 0`` is
    the plain loss.

    Args:
        energy_fn: ``(N, 2) -> (N,)``, trainable.
        x_data: data ``(N, 2)``; x_neg: negatives ``(M, 2)`` (detached here).
        alpha: :math:`\alpha \ge 0`.

    Book: ``eq-ebm-penalty``.
    """
    function("energy_fn", energy_fn, "points (N, 2) to energies (N,)")
    _points("x_data", x_data)
    _points("x_neg", x_neg)
    a = float(alpha) if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) else None
    if a is None or not math.isfinite(a) or a < 0:
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}")
    e_pos, e_neg = energy_fn(x_data), energy_fn(x_neg.detach())
    return e_pos.mean() - e_neg.mean() + a * (e_pos.pow(2).mean() + e_neg.pow(2).mean())


class NCEModel(nn.Module):
    r"""An energy with its log-normalizer as a parameter: :math:`\log p_\theta(x) = -E_\theta(x) - c`.

    Noise-contrastive estimation treats :math:`c` (the would-be :math:`\log Z_\theta`) as one
    more weight; at the optimum :math:`e^{-E_\theta - c}` is normalized by itself.

    Args:
        energy: an ``nn.Module`` energy ``(N, 2) -> (N,)``.
        log_z: the starting value of :math:`c`.
    """

    def __init__(self, energy: nn.Module, log_z: float = 0.0):
        super().__init__()
        if not isinstance(energy, nn.Module):
            raise TypeError(f"energy must be an nn.Module; got {type(energy).__name__}")
        if isinstance(log_z, bool) or not isinstance(log_z, (int, float)) or not math.isfinite(log_z):
            raise ValueError(f"log_z must be a finite number; got {log_z!r}")
        p = next(iter(energy.parameters()), None)
        self.energy = energy
        self.log_z = nn.Parameter(torch.tensor(float(log_z),
                                               dtype=p.dtype if p is not None else None,
                                               device=p.device if p is not None else None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(N, 2)`` -> the model's log-densities ``(N,)``."""
        return -self.energy(x) - self.log_z


def _check_nu(nu) -> float:
    return positive_number("nu", nu)


def nce_discriminator(log_model: LogProb, noise_log_prob: LogProb, x: torch.Tensor, nu: float = 1.0) -> torch.Tensor:
    r"""NCE's classifier, the probability that ``x`` is data: :math:`D(x) = \sigma\big(\log p_\theta(x) - \log \nu q(x)\big)`.

    Equal to :math:`p_\theta/(p_\theta + \nu q)`; with :math:`p_\theta = p` it is the Bayes
    classifier of data against noise, the optimal GAN discriminator of chapter 4 when
    :math:`\nu = 1` and :math:`q` is the generator's density.

    Args:
        log_model, noise_log_prob: ``(N, 2) -> (N,)``.
        x: points ``(N, 2)``; nu: noise draws per data point, :math:`\nu > 0`.

    Book: ``eq-ebm-nce-d``.
    """
    function("log_model", log_model, "points (N, 2) to log-densities (N,)")
    function("noise_log_prob", noise_log_prob, "points (N, 2) to log-densities (N,)")
    _points("x", x)
    return torch.sigmoid(log_model(x) - noise_log_prob(x) - math.log(_check_nu(nu)))


def nce_loss(log_model: LogProb, noise_log_prob: LogProb, x_data: torch.Tensor, x_noise: torch.Tensor) -> torch.Tensor:
    r"""Noise-contrastive estimation's logistic loss, per data point.

    With :math:`G(x) = \log p_\theta(x) - \log \nu q(x)` and :math:`\nu = M/N` noise draws per
    data point,

    .. math::
        J(\theta) = -\frac1N\Big[\sum_n \log\sigma\big(G(x_n)\big)
        + \sum_m \log\big(1 - \sigma(G(y_m))\big)\Big],

    the cross-entropy of a classifier that says "data" with probability :math:`\sigma(G)`. Its
    minimizer over all functions has :math:`\sigma(G) = p/(p + \nu q)`, that is
    :math:`p_\theta = p`: the log-normalizer inside ``log_model`` is fitted, not computed.

    Args:
        log_model: ``(N, 2) -> (N,)``, trainable (an :class:`NCEModel`).
        noise_log_prob: the noise's normalized log-density.
        x_data: ``(N, 2)``; x_noise: ``(M, 2)`` draws of the noise.

    Book: ``eq-ebm-nce``.
    """
    function("log_model", log_model, "points (N, 2) to log-densities (N,)")
    function("noise_log_prob", noise_log_prob, "points (N, 2) to log-densities (N,)")
    _points("x_data", x_data)
    _points("x_noise", x_noise)
    n, m = x_data.shape[0], x_noise.shape[0]
    log_nu = math.log(m / n)
    g_data = log_model(x_data) - noise_log_prob(x_data) - log_nu
    g_noise = log_model(x_noise) - noise_log_prob(x_noise) - log_nu
    return -(F.logsigmoid(g_data).sum() + F.logsigmoid(-g_noise).sum()) / n


def fit_gaussian_noise(x: torch.Tensor, widen: float = 1.0) -> torch.distributions.MultivariateNormal:
    r"""A Gaussian noise density for NCE: the data's mean and covariance, the covariance times ``widen``.

    It has a normalized density and direct samples, the two things NCE asks of its noise, and
    it covers the data when ``widen >= 1``.

    Args:
        x: data ``(N, 2)``, ``N >= 3``; widen: :math:`> 0`.
    """
    _points("x", x)
    if x.shape[0] < 3:
        raise ValueError(f"x must hold at least 3 points to fit a covariance; got {x.shape[0]}")
    w = positive_number("widen", widen)
    mean = x.mean(0)
    cov = torch.cov(x.T) * w
    return torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
