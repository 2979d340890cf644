r"""Chapter 9: continuous normalizing flows, (conditional) flow matching and guidance.

A continuous normalizing flow moves a noise sample :math:`x_0 \sim \mathcal N(0, I)` along an
ODE :math:`\dot x_t = v(x_t, t)` from :math:`t = 0` to the data side :math:`t = 1`; its density
obeys :math:`\frac{d}{dt}\log p_t(x_t) = -\nabla\!\cdot v(x_t, t)`. Flow matching learns
:math:`v` by regressing onto the velocity of a chosen conditional path. Time runs from noise
(``t = 0``) to data (``t = 1``), the convention of Lipman et al. (2023); chapter 6 counts the
other way.

Names and symbols: ``x0`` noise :math:`x_0`, ``x1`` data :math:`x_1`, ``xt`` :math:`x_t`,
``ut`` the conditional target :math:`u_t(x_t \mid x_0, x_1)`, ``velocity_fn(x, t)`` a field
:math:`v(x, t)` called with ``x`` ``(N, D)`` and ``t`` ``(N,)``.

Book: ``book/09_flow_matching.ipynb``.

References:
    Chen, Rubanova, Bettencourt & Duvenaud (2018), Neural ordinary differential equations. NeurIPS.
    https://arxiv.org/abs/1806.07366
    Lipman, Chen, Ben-Hamu, Nickel & Le (2023), Flow matching for generative modeling. ICLR.
    https://arxiv.org/abs/2210.02747
    Tong et al. (2024), Improving and generalizing flow-based generative models with minibatch
    optimal transport. TMLR. https://arxiv.org/abs/2302.00482
    Dhariwal & Nichol (2021), Diffusion models beat GANs on image synthesis. NeurIPS.
    https://arxiv.org/abs/2105.05233
    Ho & Salimans (2021), Classifier-free diffusion guidance. https://arxiv.org/abs/2207.12598
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .diffusion import check_steps
from .nn import sinusoidal_features
from .score import jacobian_trace
from .tensors import in_range, one_of, per_sample, positive, positive_int, same_length, uniform, validate
from .tensors import noise as draw_noise

__all__ = ["conditional_path", "cfm_loss", "sample_ode", "divergence", "ode_log_prob", "METHODS",
           "gaussian_path_velocity", "mixture_velocity", "ot_coefficients", "vp_coefficients",
           "vp_path_coefficients", "cfg_velocity", "classifier_guided_velocity", "Classifier"]

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
METHODS = ("euler", "midpoint", "heun", "rk45")


def _times(t, x: torch.Tensor) -> torch.Tensor:
    """``t`` (float, 0-d or ``(N,)``) checked to lie in [0, 1], as ``(N,)`` in ``x``'s dtype/device."""
    in_range("t", t, 0.0, 1.0)  # a number or a tensor, finite, in [0, 1]
    t = t if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float64)  # no float32 rounding
    validate("t", t, nonempty=False)
    t = t.to(device=x.device, dtype=x.dtype)
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != x.shape[0]):
        raise ValueError(f"t must be a scalar or have shape ({x.shape[0]},); got {tuple(t.shape)}")
    return t.expand(x.shape[:1])


def _coefficients(coefficients, x: torch.Tensor) -> list[torch.Tensor]:
    """The path's (alpha, sigma, alpha_dot, sigma_dot), each checked and broadcast against ``x`` per sample."""
    if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 4:
        raise ValueError("coefficients must be a tuple (alpha, sigma, alpha_dot, sigma_dot)")
    return [per_sample(validate(f"coefficients' {name}", torch.as_tensor(c).to(x)).expand(x.shape[:1]), x)
            for name, c in zip(("alpha", "sigma", "alpha_dot", "sigma_dot"), coefficients)]


# ---- the conditional path and the regression target ----------------------------------------------
def conditional_path(x0: torch.Tensor, x1: torch.Tensor, t, sigma: float = 0.0, noise: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A point on the straight conditional path and its velocity: :math:`(x_t, u_t)`.

    .. math:: x_t = (1 - t)\,x_0 + t\,x_1 + \sigma\,\epsilon, \qquad u_t = x_1 - x_0,

    with :math:`\epsilon \sim \mathcal N(0, I)` independent of :math:`x_0, x_1`. The path's mean
    moves in a straight line at constant speed; ``sigma`` adds a constant-width Gaussian tube
    around it (Tong et al.'s I-CFM), whose width does not change with ``t``, so the target
    stays :math:`x_1 - x_0`. With ``sigma = 0`` (the default) no noise is drawn.

    Args:
        x0: noise samples :math:`x_0`, shape ``(N, ...)``.
        x1: data samples :math:`x_1`, same shape as ``x0``.
        t: a float in ``[0, 1]`` or an ``(N,)`` tensor of them.
        sigma: the tube's width, ``>= 0``.
        noise: :math:`\epsilon` (shape of ``x0``); drawn with ``generator`` when ``None``.

    Returns:
        ``(xt, ut)``, both shaped like ``x0``, in its dtype and on its device.

    Book: ``eq-fm-path``.
    """
    validate("x0", x0, min_ndim=1)
    validate("x1", x1, min_ndim=1)
    if x0.shape != x1.shape:
        raise ValueError(f"x1 must have the shape of x0, {tuple(x0.shape)}; got {tuple(x1.shape)}")
    positive("sigma", sigma, allow_zero=True)
    tt = per_sample(_times(t, x0), x0)
    x1 = x1.to(x0)
    xt = (1 - tt) * x0 + tt * x1
    if sigma > 0:
        if noise is None:
            noise = draw_noise(x0.shape, x0, generator)
        elif validate("noise", noise).shape != x0.shape:
            raise ValueError(f"noise must have the shape of x0, {tuple(x0.shape)}; got {tuple(noise.shape)}")
        xt = xt + sigma * noise.to(x0)
    return xt, x1 - x0


def cfm_loss(velocity_fn: Velocity, x1: torch.Tensor, sigma: float = 0.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The conditional flow-matching loss :math:`\mathbb E_{t, x_0, x_1}\|v(x_t, t) - u_t\|^2` (one Monte Carlo batch).

    :math:`t \sim U[0, 1]`, :math:`x_0 \sim \mathcal N(0, I)`, :math:`x_1` the given data batch.

    Book: ``eq-fm-cfm``.
    """
    validate("x1", x1, min_ndim=1)
    positive("sigma", sigma, allow_zero=True)
    x0 = draw_noise(x1.shape, x1, generator)
    t = uniform(x1.shape[:1], x1, generator)
    xt, ut = conditional_path(x0, x1, t, sigma, generator=generator)
    return (velocity_fn(xt, t) - ut).pow(2).flatten(1).sum(-1).mean()


# ---- ODE solvers -----------------------------------------------------------------------------
_DOPRI_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_DOPRI_A = ((), (1 / 5,), (3 / 40, 9 / 40), (44 / 45, -56 / 15, 32 / 9),
            (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
            (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
            (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84))
_DOPRI_E = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)  # 5th - 4th


def sample_ode(velocity_fn: Velocity, x: torch.Tensor, n_steps: int, method: str = "euler", *, t0: float = 0.0,
               t1: float = 1.0, rtol: float = 1e-5, atol: float = 1e-5, keep: bool = False,
               return_nfe: bool = False):
    r"""Integrate :math:`\dot x = v(x, t)` from ``t0`` to ``t1`` starting at ``x``.

    Fixed-step methods take ``n_steps`` equal steps :math:`h`: ``"euler"``
    (:math:`x + h v(x, t)`, 1 evaluation per step), ``"midpoint"``
    (:math:`x + h\,v(x + \tfrac h2 v(x, t), t + \tfrac h2)`, 2 per step) and ``"heun"`` (the
    trapezoidal predictor-corrector, 2 per step). ``"rk45"`` is the adaptive Dormand-Prince 5(4)
    pair (6 evaluations per accepted or rejected step, first-same-as-last) that starts with step
    :math:`(t_1 - t_0)/` ``n_steps`` and keeps the error estimate below
    ``atol + rtol * |x|`` (RMS over the whole batch, as one system).

    Args:
        velocity_fn: ``velocity_fn(x, t)`` with ``x`` ``(N, ...)`` and ``t`` ``(N,)``.
        x: the state at ``t0``, ``(N, ...)``.
        n_steps: number of steps (the first step's size for ``"rk45"``).
        method: one of ``METHODS``.
        t0, t1: start and end times (``t1 < t0`` integrates backwards).
        keep: also return the states after each accepted step, stacked ``(S + 1, N, ...)``.
        return_nfe: also return the number of function evaluations (NFE).

    Returns:
        The state at ``t1``; then the path if ``keep``; then the NFE if ``return_nfe``.

    Book: ``eq-fm-ode``.
    """
    validate("x", x, min_ndim=1)
    positive_int("n_steps", n_steps)
    one_of("method", method, METHODS)
    in_range("t0", t0)
    in_range("t1", t1)
    positive("rtol", rtol)
    positive("atol", atol)
    nfe = 0

    def f(y, s):
        nonlocal nfe
        nfe += 1
        return velocity_fn(y, torch.full(y.shape[:1], s, dtype=y.dtype, device=y.device))

    path = [x]
    if method == "rk45":
        x = _dopri5(f, x, t0, t1, (t1 - t0) / n_steps, rtol, atol, path if keep else None)
    else:
        h = (t1 - t0) / n_steps
        for i in range(n_steps):
            s = t0 + i * h
            if method == "euler":
                x = x + h * f(x, s)
            elif method == "midpoint":
                x = x + h * f(x + 0.5 * h * f(x, s), s + 0.5 * h)
            else:  # heun
                k1 = f(x, s)
                k2 = f(x + h * k1, s + h)
                x = x + 0.5 * h * (k1 + k2)
            if keep:
                path.append(x)
    out = (x,) + ((torch.stack(path),) if keep else ()) + ((nfe,) if return_nfe else ())
    return out[0] if len(out) == 1 else out


def _dopri5(f, x, t0, t1, h, rtol, atol, path, max_steps: int = 10_000):
    t, direction = t0, math.copysign(1.0, t1 - t0)
    k1 = f(x, t)
    for _ in range(max_steps):
        if direction * (t1 - t) <= 1e-12:
            return x
        h = direction * min(abs(h), abs(t1 - t))
        ks = [k1]
        for c, a in zip(_DOPRI_C[1:], _DOPRI_A[1:]):
            y = x + h * sum(aj * kj for aj, kj in zip(a, ks) if aj != 0.0)
            ks.append(f(y, t + c * h))
        x_new = y  # the 7th stage's argument is the 5th-order solution (FSAL)
        err = h * sum(e * k for e, k in zip(_DOPRI_E, ks) if e != 0.0)
        scale = atol + rtol * torch.maximum(x.abs(), x_new.abs())
        ratio = (err / scale).pow(2).mean().sqrt().item()
        if not math.isfinite(ratio):
            raise ValueError(f"velocity_fn returned non-finite values at t = {t:g} (rk45 cannot continue)")
        if ratio <= 1.0:
            t, x, k1 = t + h, x_new, ks[-1]
            if path is not None:
                path.append(x)
        factor = 0.9 * (ratio if ratio > 0 else 1e-10) ** -0.2
        h = h * min(5.0, max(0.2, factor))
    raise RuntimeError(f"rk45 did not reach t1 in {max_steps} steps")


# ---- exact log-density: the instantaneous change of variables --------------------------------------
def divergence(velocity_fn: Velocity, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r"""The exact divergence :math:`\nabla\!\cdot v(x, t) = \operatorname{tr}\,\partial v / \partial x`, one per sample.

    One reverse-mode pass per dimension (exact, cheap in 2D; Hutchinson's estimator replaces it
    in high dimension). ``x`` ``(N, D)``, ``t`` ``(N,)``; returns ``(N,)``.

    Book: ``eq-fm-divergence``.
    """
    validate("x", x, ndim=2)
    t = _times(t, x)
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        return jacobian_trace(velocity_fn(x, t), x, create_graph=False).detach()


def ode_log_prob(velocity_fn: Velocity, x1: torch.Tensor, n_steps: int = 100, method: str = "rk45",
                 **kw) -> torch.Tensor:
    r"""The model's :math:`\log p_1(x_1)` by integrating the flow backwards with its divergence.

    Solves the augmented ODE :math:`\frac{d}{dt}(x_t, \ell_t) = (v(x_t, t), -\nabla\!\cdot v(x_t, t))`
    from :math:`t = 1` down to :math:`0`, starting at :math:`(x_1, 0)`; then
    :math:`\log p_1(x_1) = \log \mathcal N(x_0; 0, I) - \int_0^1 \nabla\!\cdot v(x_t, t)\,dt`.

    Args:
        x1: points ``(N, D)``. ``n_steps``, ``method`` and ``**kw``: as in :func:`sample_ode`.

    Returns:
        ``(N,)`` log-densities in ``x1``'s dtype.

    Book: ``eq-fm-instantaneous``.
    """
    validate("x1", x1, ndim=2)
    D = x1.shape[1]

    def augmented(y, t):
        x = y[:, :D]
        with torch.no_grad():
            v = velocity_fn(x, t)
        return torch.cat([v, -divergence(velocity_fn, x, t)[:, None]], 1)

    y1 = torch.cat([x1, x1.new_zeros(x1.shape[0], 1)], 1)
    y0 = sample_ode(augmented, y1, n_steps, method, t0=1.0, t1=0.0, **kw)
    x0, int_neg_div = y0[:, :D], y0[:, D]  # int_1^0 -div dt = int_0^1 div dt
    log_p0 = -0.5 * (x0.pow(2).sum(1) + D * math.log(2 * math.pi))
    return log_p0 - int_neg_div


# ---- marginal velocities in closed form (Gaussian paths, mixture data) ----------------------------
def _path_time(t) -> torch.Tensor:
    in_range("t", t, 0.0, 1.0)
    return validate("t", t, nonempty=False) if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float64)


def ot_coefficients(t) -> tuple:
    r"""The straight path's :math:`(\alpha_t, \sigma_t, \dot\alpha_t, \dot\sigma_t) = (t, 1 - t, 1, -1)`
    in :math:`x_t = \alpha_t x_1 + \sigma_t x_0`."""
    t = _path_time(t)
    return t, 1 - t, torch.ones_like(t), -torch.ones_like(t)


def vp_coefficients(schedule, t, dtype=torch.float64) -> tuple:
    r"""Chapter 6's variance-preserving path at integer step ``t``, in flow-matching time :math:`s = 1 - t/T`.

    :math:`\alpha = \sqrt{\bar\alpha_t}`, :math:`\sigma = \sqrt{1 - \bar\alpha_t}`, and the
    derivatives with respect to :math:`s`, using :math:`d\log\bar\alpha/d t = -\beta_t` (the
    continuous-time limit of :math:`\bar\alpha_t = \prod_{s\le t}(1-\beta_s)`):
    :math:`\dot\alpha = \tfrac T2 \beta_t \alpha`, :math:`\dot\sigma = -\tfrac T2\beta_t\bar\alpha_t/\sigma`.

    Book: ``eq-fm-vp``.
    """
    t = check_steps("t", t, schedule.T)
    ab = schedule.alpha_bars[t].to(dtype)
    beta = schedule.betas[t].to(dtype)
    T = schedule.T
    alpha, sigma = ab.sqrt(), (1 - ab).sqrt()
    return alpha, sigma, 0.5 * T * beta * alpha, -0.5 * T * beta * ab / sigma


def vp_path_coefficients(t, beta_min: float = 1e-4, beta_max: float = 0.02, T: int = 1000) -> tuple:
    r"""The continuous-time VP path of chapter 6's linear schedule, at flow-matching time ``t`` in [0, 1].

    With :math:`s = 1 - t` and :math:`\beta(s) = T(\beta_{\min} + (\beta_{\max} - \beta_{\min})s)`,
    :math:`\bar\alpha = \exp(-\int_0^s \beta)`, :math:`\alpha = \sqrt{\bar\alpha}`,
    :math:`\sigma = \sqrt{1 - \bar\alpha}`, :math:`\dot\alpha = \tfrac12\beta(s)\,\alpha` and
    :math:`\dot\sigma = -\tfrac12\beta(s)\,\bar\alpha/\sigma`: the limit of
    :func:`vp_coefficients` as the steps become continuous (``eq-fm-vp``). At ``t = 0``,
    :math:`\alpha_0 = \sqrt{\bar\alpha_T}`, small but not zero; at ``t = 1``, :math:`\sigma = 0`
    (there :math:`\dot\sigma` is computed with :math:`\sigma` clamped at the dtype's smallest
    positive number, so that :math:`\sigma\dot\sigma` stays finite).
    """
    t = _path_time(t)
    positive_int("T", T)
    in_range("beta_max", beta_max, 0, 1, low_open=True, high_open=True)
    in_range("beta_min", beta_min, 0, beta_max, low_open=True)  # 0 < beta_min <= beta_max
    s = 1 - t
    integral = T * (beta_min * s + 0.5 * (beta_max - beta_min) * s**2)
    beta = T * (beta_min + (beta_max - beta_min) * s)
    ab = torch.exp(-integral)
    alpha, sigma = ab.sqrt(), (1 - ab).clamp_min(0).sqrt()
    return alpha, sigma, 0.5 * beta * alpha, -0.5 * beta * ab / sigma.clamp_min(torch.finfo(sigma.dtype).tiny)


def gaussian_path_velocity(x: torch.Tensor, mean, std, coefficients) -> torch.Tensor:
    r"""Marginal velocity of the path :math:`x_t = \alpha x_1 + \sigma x_0` for Gaussian data :math:`\mathcal N(\mu, s^2 I)`.

    The marginal is :math:`\mathcal N(\alpha\mu, (\alpha^2 s^2 + \sigma^2) I)` and the velocity is
    linear in :math:`x`: :math:`v = \dot\alpha\,\mu + \frac{\alpha\dot\alpha s^2 + \sigma\dot\sigma}
    {\alpha^2 s^2 + \sigma^2}\,(x - \alpha\mu)`.

    Args:
        x: ``(N, D)``. mean: ``(D,)``. std: scalar :math:`s`. coefficients: :math:`(\alpha, \sigma,
        \dot\alpha, \dot\sigma)`, scalars or ``(N,)`` tensors (e.g. from :func:`ot_coefficients`).

    Book: ``eq-fm-gaussian-velocity``.
    """
    validate("x", x, ndim=2)
    a, s, da, ds = _coefficients(coefficients, x)
    mean = validate("mean", torch.as_tensor(mean)).to(x)
    if mean.shape[-1:] != x.shape[-1:]:
        raise ValueError(f"mean must have shape ({x.shape[-1]},) like a point of x; got {tuple(mean.shape)}")
    var = torch.as_tensor(positive("std", std)).to(x) ** 2
    return da * mean + (a * da * var + s * ds) / (a**2 * var + s**2) * (x - a * mean)


def mixture_velocity(x: torch.Tensor, means: torch.Tensor, std, weights: torch.Tensor, coefficients,
                     return_posterior: bool = False):
    r"""Marginal velocity of a Gaussian path for mixture data :math:`\sum_k \pi_k \mathcal N(\mu_k, s^2 I)`.

    :math:`v(x) = \sum_k r_k(x)\, v_k(x)`: the velocities of the components'
    paths (:func:`gaussian_path_velocity`) weighted by the posterior :math:`r_k(x) = p(k \mid x_t = x)`,
    computed with a log-sum-exp.

    Args:
        x: ``(N, D)``; means: ``(K, D)``; std: scalar; weights: ``(K,)``; coefficients as in
        :func:`gaussian_path_velocity`.
        return_posterior: also return :math:`r` ``(N, K)``.

    Book: ``eq-fm-mixture-velocity``.
    """
    validate("x", x, ndim=2)
    validate("means", means, ndim=2, last_dim=x.shape[-1])
    positive("std", std)
    w = positive("weights", validate("weights", torch.as_tensor(weights), ndim=1), allow_zero=True)
    same_length(("means", "weights"), means, w)
    means, w = means.to(x), w.to(x)
    a, s = _coefficients(coefficients, x)[:2]
    var_t = a**2 * torch.as_tensor(std).to(x) ** 2 + s**2  # (N, 1)
    diff = x.unsqueeze(1) - a.unsqueeze(1) * means  # (N, K, D)
    logits = w.log() - 0.5 * diff.pow(2).sum(-1) / var_t  # equal variances: the normalizers cancel
    r = torch.softmax(logits, -1)  # (N, K)
    vk = torch.stack([gaussian_path_velocity(x, m, std, coefficients) for m in means], 1)  # (N, K, D)
    v = (r.unsqueeze(-1) * vk).sum(1)
    return (v, r) if return_posterior else v


# ---- the model and guidance ----------------------------------------------------------------------
def cfg_velocity(model: Callable, y, w: float) -> Velocity:
    r"""Classifier-free guidance: :math:`\tilde v = v_c + w\,(v_c - v_u)`, with :math:`v_c = v(x, t, y)`, :math:`v_u = v(x, t, \varnothing)`.

    ``w = 0`` is the conditional model itself; ``w > 0`` pushes away from the unconditional one.
    ``model(x, t, y)`` takes ``y = None`` for "no class". For exact straight-path velocities
    :math:`v_c - v_u = \frac{1-t}{t}\nabla_x \log p_t(y \mid x)` (``eq-fm-cfg-difference``), so
    this is :math:`v_u` plus classifier guidance with scale :math:`1 + w` and the model's implied
    classifier.

    Book: ``eq-fm-cfg``.
    """
    positive("w", w, allow_zero=True)

    def v(x, t):
        vc = model(x, t, y)
        return vc + w * (vc - model(x, t, None))  # w = 0: vc + 0 * (...) == vc exactly
    return v


class Classifier(nn.Module):
    r"""A noisy classifier :math:`\log p_\phi(y \mid x_t, t)`: an MLP on :math:`(x_t, e(t))` returning ``(N, K)`` logits.

    Example:
        >>> clf = Classifier(n_classes=4)
        >>> clf(torch.zeros(5, 2), torch.rand(5)).shape
        torch.Size([5, 4])
    """

    def __init__(self, n_classes: int, dim: int = 2, hidden: int = 64, n_freq: int = 8, max_freq: float = 30.0):
        super().__init__()
        [positive_int(k, v) for k, v in (("n_classes", n_classes), ("dim", dim), ("hidden", hidden), ("n_freq", n_freq))]
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(max_freq), n_freq)))
        self.net = nn.Sequential(nn.Linear(dim + 2 * n_freq, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        """``x`` ``(N, dim)``; ``t`` a number or ``(N,)`` in [0, 1]. Returns ``(N, n_classes)`` logits."""
        validate("x", x, ndim=2)
        return self.net(torch.cat([x, sinusoidal_features(_times(t, x), self.freqs)], -1))


def classifier_guided_velocity(velocity_fn: Velocity, log_prob_y: Callable, scale: float,
                               t_min: float = 0.05) -> Velocity:
    r"""Classifier guidance on the straight path: :math:`v + \gamma\,\frac{1-t}{t}\,\nabla_x \log p(y \mid x_t, t)`.

    On the path :math:`x_t = t x_1 + (1-t) x_0` the score and velocity are tied by
    :math:`\nabla \log p_t(x) = (t\,v(x,t) - x)/(1-t)`, so adding :math:`\gamma\nabla\log p(y\mid x)`
    to the score adds :math:`\gamma\frac{1-t}{t}\nabla\log p(y\mid x)` to the velocity.
    ``scale`` is :math:`\gamma` (1 gives the exact conditional field for an exact classifier).
    The factor's :math:`t` is clamped at ``t_min`` (at :math:`t = 0` it is infinite, while the
    classifier's gradient there is zero for an exact classifier).

    Args:
        velocity_fn: the unconditional :math:`v(x, t)`.
        log_prob_y: ``log_prob_y(x, t)`` returns :math:`\log p(y \mid x_t, t)` ``(N,)`` for the wanted class.

    Book: ``eq-fm-classifier-guidance``.
    """
    positive("scale", scale, allow_zero=True)
    positive("t_min", t_min)

    def v(x, t):
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            grad = torch.autograd.grad(log_prob_y(xg, t).sum(), xg)[0]
        tt = per_sample(t, x)
        return velocity_fn(x, t) + scale * (1 - tt) / tt.clamp_min(t_min) * grad
    return v
