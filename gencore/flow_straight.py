r"""Chapter 9, continued: how straight a flow is, reflow, and chapter 6's noise predictor as a velocity.

- :func:`straightness`: Liu et al.'s :math:`S(v) = \mathbb E\int_0^1 \|v(x_t, t) - (x_1 - x_0)\|^2 dt
  = \mathbb E\big[\int_0^1 \|v(x_t, t)\|^2 dt - \|x_1 - x_0\|^2\big]` along the flow's own
  trajectories (zero exactly when every trajectory is a straight line run at constant speed).
- :func:`pair_cfm_loss`: the straight-path flow-matching loss on *given* pairs :math:`(x_0, x_1)`,
  the one change reflow makes (it trains on pairs the learned ODE produced).
- :func:`vp_velocity`: chapter 6's noise prediction :math:`\hat\varepsilon(x, \tau)` turned into the
  velocity of the continuous variance-preserving path, so one network trained on that path can be
  integrated by any solver of :func:`gencore.flow_matching.sample_ode`.

Book: ``book/09_flow_matching.ipynb``.

References:
    Liu, Gong & Liu (2023), Flow straight and fast: learning to generate and transfer data with
    rectified flow. ICLR. https://arxiv.org/abs/2209.03003
    Song et al. (2021), Score-based generative modeling through stochastic differential equations.
    ICLR. https://arxiv.org/abs/2011.13456
"""
from __future__ import annotations

from typing import Callable

import torch

from .flow_matching import conditional_path, vp_path_coefficients
from .tensors import call_like, function, per_sample, positive_int, same_length, uniform, validate

__all__ = ["straightness", "pair_cfm_loss", "vp_velocity"]

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def straightness(velocity_fn: Velocity, x0: torch.Tensor, n_steps: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Per-trajectory straightness :math:`S_i = \int_0^1 \|v\|^2 dt - \|x_1 - x_0\|^2` with the midpoint rule.

    Each of the ``n_steps`` midpoint steps moves :math:`x` by :math:`h\,v_k` (:math:`v_k` the
    velocity at the step's midpoint), so :math:`x_1 - x_0 = h\sum_k v_k` and the integral is
    approximated by :math:`h\sum_k\|v_k\|^2`. By Cauchy-Schwarz (:math:`\sum_k h = 1`) every
    :math:`S_i \ge 0`, with equality exactly when all :math:`v_k` are equal: a straight line at
    constant speed. :math:`\mathbb E[S_i]` is the straightness of Liu et al. (2023).

    Args:
        velocity_fn: ``velocity_fn(x, t)`` with ``x`` ``(N, D)`` and ``t`` ``(N,)``.
        x0: starting points (noise) ``(N, D)``.
        n_steps: midpoint steps from ``t = 0`` to ``t = 1``.

    Returns:
        ``(x1, S)``: the end points ``(N, D)`` and the straightness of each trajectory ``(N,)``.

    Book: ``eq-fm-straightness``.
    """
    validate("x0", x0, ndim=2)
    positive_int("n_steps", n_steps)
    function("velocity_fn", velocity_fn, "(x (N, D), t (N,)) -> (N, D)")
    h = 1.0 / n_steps
    x, energy = x0, x0.new_zeros(x0.shape[0])
    for k in range(n_steps):
        t = x0.new_full(x0.shape[:1], k * h)
        half = x + 0.5 * h * call_like("velocity_fn", velocity_fn, x, t)
        v = velocity_fn(half, t + 0.5 * h)
        x = x + h * v
        energy = energy + h * v.pow(2).sum(-1)
    return x, energy - (x - x0).pow(2).sum(-1)


def pair_cfm_loss(velocity_fn: Velocity, x0: torch.Tensor, x1: torch.Tensor,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Straight-path flow matching on coupled pairs: :math:`\mathbb E_t\|v(x_t, t) - (x_1 - x_0)\|^2`.

    :func:`gencore.flow_matching.cfm_loss` draws :math:`x_0` independently of :math:`x_1`; here row
    ``i`` of ``x0`` is paired with row ``i`` of ``x1`` (for reflow, ``x1`` is where the previous
    flow took ``x0``). One time :math:`t \sim U[0, 1]` per pair, drawn from ``generator``.

    Args:
        velocity_fn: ``velocity_fn(x, t)``.
        x0, x1: the pairs, ``(N, D)`` each.

    Book: ``eq-fm-reflow``.
    """
    validate("x0", x0, ndim=2)
    validate("x1", x1, ndim=2)
    same_length(("x0", "x1"), x0, x1)
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must have the same shape; got {tuple(x0.shape)} and {tuple(x1.shape)}")
    function("velocity_fn", velocity_fn)
    t = uniform(x1.shape[:1], x1, generator)
    xt, ut = conditional_path(x0, x1, t)
    return (velocity_fn(xt, t) - ut).pow(2).sum(-1).mean()


def vp_velocity(eps_fn: Callable, x: torch.Tensor, t: torch.Tensor, T: int = 1000,
                beta_min: float = 1e-4, beta_max: float = 0.02) -> torch.Tensor:
    r"""The VP path's velocity from a noise predictor: :math:`\dot\alpha_t\,\hat x_1 + \dot\sigma_t\,\hat\varepsilon`.

    With :math:`\hat\varepsilon = \hat\varepsilon(x, \tau)` at chapter 6's step :math:`\tau = (1 - t)T`
    and :math:`\hat x_1 = (x - \sigma_t\hat\varepsilon)/\alpha_t`, the posterior means of the data
    and the noise, the marginal velocity :math:`\mathbb E[\dot\alpha_t x_1 + \dot\sigma_t x_0 \mid x_t = x]`
    uses the coefficients of :func:`gencore.flow_matching.vp_path_coefficients`. (It equals
    ``eq-fm-vp``'s :math:`\tfrac T2\beta_\tau(x - \hat\varepsilon/\sigma_t)`, written so that it stays
    finite where :math:`\sigma_t` is small.)

    Args:
        eps_fn: ``eps_fn(x, tau)`` with ``x`` ``(N, D)`` and ``tau`` ``(N,)`` (real-valued steps).
        x: points ``(N, D)``; t: flow-matching times ``(N,)`` in ``[0, 1)``.

    Book: ``eq-fm-vp``.
    """
    validate("x", x, ndim=2)
    validate("t", t, ndim=1)
    same_length(("x", "t"), x, t)
    positive_int("T", T)
    if bool((t >= 1).any()) or bool((t < 0).any()):
        raise ValueError("t must lie in [0, 1): at t = 1 the VP path has no noise left to predict")
    alpha, sigma, d_alpha, d_sigma = vp_path_coefficients(t, beta_min, beta_max, T)
    eps = call_like("eps_fn", eps_fn, x, (1 - t) * T)
    x1_hat = (x - per_sample(sigma, x) * eps) / per_sample(alpha, x)
    return per_sample(d_alpha, x) * x1_hat + per_sample(d_sigma, x) * eps
