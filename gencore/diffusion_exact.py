r"""Chapter 6, exactly: the true reverse conditional, the signal-to-noise view, DDIM as an ODE.

Three pieces of DDPM theory that need no network, for data given as a mixture of isotropic
Gaussians (the book's mixtures, and its noisy curves through their quadrature nodes):

- :func:`reverse_conditional`: the exact :math:`q(x_s \mid x_t)` for any :math:`s < t`, a Gaussian
  mixture in closed form, and :func:`mixture_moments`, the mean and covariance of a mixture (the
  best Gaussian fit, in the sense of :math:`\min_{\mathcal N} \mathrm{KL}(q \,\|\, \mathcal N)`).
- :func:`snr` and :func:`x0_weight`: :math:`\mathrm{SNR}(t) = \bar\alpha_t / (1-\bar\alpha_t)` and the
  weight :math:`\tfrac12(\mathrm{SNR}(t-1) - \mathrm{SNR}(t))` of :math:`\|x_0 - \hat x_0\|^2` in
  :math:`L_{t-1}` (with :math:`\sigma_t^2 = \tilde\beta_t`).
- :func:`ve_coordinates`: :math:`\bar x = x / \sqrt{\bar\alpha_t}` and
  :math:`\sigma_t = \sqrt{(1-\bar\alpha_t)/\bar\alpha_t}`, in which a DDIM step with :math:`\eta = 0` is
  an Euler step of :math:`d\bar x / d\sigma = \epsilon_\theta`.

Book: ``book/06_diffusion.ipynb``.

References:
    Sohl-Dickstein et al. (2015). Deep unsupervised learning using nonequilibrium thermodynamics.
    https://arxiv.org/abs/1503.03585
    Kingma, Salimans, Poole, Ho (2021). Variational diffusion models. https://arxiv.org/abs/2107.00630
    Song, Meng, Ermon (2021). Denoising diffusion implicit models, section 4.3.
    https://arxiv.org/abs/2010.02502
"""
from __future__ import annotations

import math

import torch

from .data import GaussianMixture
from .diffusion import NoiseSchedule, check_steps, mixture_parts
from .tensors import validate

__all__ = ["reverse_conditional", "mixture_moments", "snr", "x0_weight", "ve_coordinates"]


def reverse_conditional(schedule: NoiseSchedule, data, xt: torch.Tensor, t: int, s: int) -> GaussianMixture:
    r"""The exact reverse conditional :math:`q(x_s \mid x_t) \propto q(x_t \mid x_s)\, q(x_s)`, for :math:`0 \le s < t`.

    For data :math:`\sum_k \pi_k \mathcal N(\mu_k, v_k I)`, given component :math:`k` the pair
    :math:`(x_s, x_t)` is Gaussian: :math:`x_s \sim \mathcal N(\sqrt{\bar\alpha_s}\mu_k, V_k I)` with
    :math:`V_k = \bar\alpha_s v_k + 1 - \bar\alpha_s`, and :math:`x_t \mid x_s \sim \mathcal N(a x_s, (1-a^2) I)`
    with :math:`a^2 = \bar\alpha_t / \bar\alpha_s`. So :math:`q(x_s \mid x_t)` is the mixture of

    .. math::
        \mathcal N\Big(c_k\Big(\frac{\sqrt{\bar\alpha_s}\mu_k}{V_k} + \frac{a\,x_t}{1-a^2}\Big),\ c_k I\Big),
        \qquad c_k = \Big(\frac1{V_k} + \frac{a^2}{1-a^2}\Big)^{-1},

    with weights :math:`\propto \pi_k\, \mathcal N(x_t; \sqrt{\bar\alpha_t}\mu_k, (\bar\alpha_t v_k + 1-\bar\alpha_t) I)`,
    the responsibilities of the components for :math:`x_t`.

    Args:
        schedule: the noise schedule.
        data: a :class:`~gencore.data.GaussianMixture` or :class:`~gencore.data.NoisyCurve`.
        xt: one point :math:`x_t`, shape ``(2,)``.
        t, s: ints with ``0 <= s < t <= T``.

    Returns:
        a :class:`~gencore.data.GaussianMixture` in the dtype and on the device of ``xt``.

    Book: ``eq-ddpm-exact-reverse``.
    """
    validate("xt", xt, ndim=1, last_dim=2)
    t = int(check_steps("t", t, schedule.T, low=1))
    s = int(check_steps("s", s, t - 1, low=0))
    means, log_w, var = (v.to(xt) for v in mixture_parts(data))
    ab_s, ab_t = schedule.alpha_bars[s].item(), schedule.alpha_bars[t].item()
    a2 = ab_t / ab_s
    V = ab_s * var + 1 - ab_s                                            # (K,)
    c = 1 / (1 / V + a2 / (1 - a2))                                       # (K,)
    mean = c[:, None] * (math.sqrt(ab_s) * means / V[:, None] + math.sqrt(a2) * xt / (1 - a2))
    v_t = ab_t * var + 1 - ab_t                                           # the variance of x_t given k
    log_r = log_w - ((xt - math.sqrt(ab_t) * means) ** 2).sum(-1) / (2 * v_t) - torch.log(v_t)
    return GaussianMixture(mean, c.sqrt(), weights=torch.softmax(log_r, 0))


def mixture_moments(mixture: GaussianMixture) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean :math:`m = \sum_k \pi_k \mu_k` and covariance :math:`\sum_k \pi_k (s_k^2 I + \mu_k\mu_k^\top) - m m^\top`.

    The Gaussian with these moments is the one closest to the mixture in
    :math:`\mathrm{KL}(\text{mixture} \,\|\, \mathcal N)`.

    Returns:
        ``(mean (2,), cov (2, 2))``.
    """
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"mixture must be a gencore.data.GaussianMixture; got {type(mixture).__name__}")
    w, mu = mixture.weights, mixture.means
    var = mixture.std.expand(len(mu)) ** 2
    m = w @ mu
    d = mu - m
    cov = (w[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0) + (w @ var) * torch.eye(2, dtype=mu.dtype, device=mu.device)
    return m, cov


def snr(schedule: NoiseSchedule, t) -> torch.Tensor:
    r"""The signal-to-noise ratio :math:`\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)` (``inf`` at ``t = 0``).

    Args:
        t: int or integer tensor in ``{0, ..., T}``.

    Book: ``eq-ddpm-snr-loss``.
    """
    t = check_steps("t", t, schedule.T, low=0)
    ab = schedule.alpha_bars[t]
    return ab / (1 - ab)


def x0_weight(schedule: NoiseSchedule, t) -> torch.Tensor:
    r"""The weight :math:`\tfrac12(\mathrm{SNR}(t-1) - \mathrm{SNR}(t))` of :math:`\|x_0 - \hat x_0\|^2` in :math:`L_{t-1}`.

    With :math:`\sigma_t^2 = \tilde\beta_t`,
    :math:`L_{t-1} = \frac{1}{2\tilde\beta_t}\big(\frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t}\big)^2 \|x_0 - \hat x_0\|^2`,
    and the factor is :math:`\frac{\bar\alpha_{t-1}\beta_t}{2(1-\bar\alpha_{t-1})(1-\bar\alpha_t)}`, which is the
    difference of the SNRs (the form used here; it is finite for ``t >= 2``).

    Args:
        t: int or integer tensor in ``{2, ..., T}``.

    Book: ``eq-ddpm-snr-loss``.
    """
    t = check_steps("t", t, schedule.T, low=2)
    ab, ab_prev = schedule.alpha_bars[t], schedule.alpha_bars[t - 1]
    return 0.5 * (ab_prev / (1 - ab_prev) - ab / (1 - ab))


def ve_coordinates(schedule: NoiseSchedule, x: torch.Tensor, t) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The variance-exploding coordinates :math:`\bar x = x / \sqrt{\bar\alpha_t}` and :math:`\sigma_t = \sqrt{(1-\bar\alpha_t)/\bar\alpha_t}`.

    In them the marginal is :math:`\bar x_t = x_0 + \sigma_t \epsilon`, and DDIM's update with
    :math:`\eta = 0` reads :math:`\bar x_{t'} = \bar x_t + (\sigma_{t'} - \sigma_t)\,\epsilon_\theta(x_t, t)`.

    Args:
        x: shape ``(N, ...)``.
        t: int or ``(N,)`` integer tensor in ``{0, ..., T}``.

    Returns:
        ``(x_bar, sigma)``: ``x_bar`` like ``x``; ``sigma`` broadcastable against it.

    Book: ``eq-ddim-ode``.
    """
    validate("x", x, min_ndim=1)
    t = check_steps("t", t, schedule.T, low=0, n=len(x))
    ab = schedule.alpha_bars[t].to(x)
    ab = ab.reshape(ab.shape + (1,) * (x.ndim - ab.ndim)) if ab.ndim else ab
    return x / ab.sqrt(), ((1 - ab) / ab).sqrt()
