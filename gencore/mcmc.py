r"""Markov chain Monte Carlo on a score or an energy: the samplers of chapters 7 and 8.

Unadjusted Langevin dynamics follows a score :math:`s = \nabla_x \log p` (chapter 7), annealed
Langevin a noise-conditional one over decreasing noise levels; MALA adds a Metropolis–Hastings
correction that needs the energy :math:`E` with :math:`p_T \propto e^{-E/kT}` (chapter 8), and
simulated annealing runs Langevin while the temperature falls. Every sampler takes an optional
``generator`` for its noise and computes in the dtype and on the device of its starting points.

Naming (book symbol -> code): the step :math:`\epsilon` ``step_size``; the number of steps
:math:`K` ``n_steps``; :math:`kT` ``temperature``; :math:`\sigma_i` ``sigmas``.

Book: ``book/07_score.ipynb`` (Langevin, annealing), ``book/08_ebm.ipynb`` (MALA, simulated annealing).

References:
    Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their
    discrete approximations. Bernoulli 2(4).
    Song & Ermon (2019), Generative modeling by estimating gradients of the data distribution.
    NeurIPS. arXiv:1907.05600.
    Kirkpatrick, Gelatt, Vecchi (1983), Optimization by simulated annealing. Science 220(4598).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .ebm import energy_score
from .tensors import (call_like, function, noise, per_sample, positive, positive_int, positive_number, uniform,
                      validate)

__all__ = [
    "langevin",
    "annealed_langevin",
    "geometric_sigmas",
    "ula_stationary_covariance",
    "mala",
    "simulated_annealing",
]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]
Energy = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- Langevin
def geometric_sigmas(sigma_max: float, sigma_min: float, n_levels: int, *,
                     dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    r"""Noise levels :math:`\sigma_1 > \dots > \sigma_L` in geometric progression (Song & Ermon, 2019)."""
    positive("sigma_min", sigma_min)
    positive("sigma_max", sigma_max)
    positive_int("n_levels", n_levels, minimum=2)
    if not sigma_max > sigma_min:
        raise ValueError(f"sigma_max must exceed sigma_min; got {sigma_max} and {sigma_min}")
    return torch.logspace(math.log10(sigma_max), math.log10(sigma_min), n_levels, dtype=dtype, device=device)


def _step_sizes(step_size, x: torch.Tensor) -> torch.Tensor:
    if isinstance(step_size, torch.Tensor):
        validate("step_size", step_size, nonempty=True)
        if step_size.ndim > 1 or step_size.numel() not in (1, x.shape[0]):
            raise ValueError(f"step_size must be a number or a tensor of shape (N,) = ({x.shape[0]},); "
                             f"got shape {tuple(step_size.shape)}")
    positive("step_size", step_size)
    return per_sample(step_size, x)


def langevin(score_fn: ScoreFn, x: torch.Tensor, step_size, n_steps: int,
             generator: torch.Generator | None = None, *, return_trajectory: bool = False):
    r"""Unadjusted Langevin dynamics :math:`x_{k+1} = x_k + \tfrac{\epsilon}{2}\, s(x_k) + \sqrt{\epsilon}\, z_k`.

    :math:`z_k \sim \mathcal N(0, I)`. As :math:`\epsilon \to 0` and :math:`K\epsilon \to \infty`
    the law of :math:`x_K` tends to the density whose score is ``score_fn``; a finite step
    biases it (for a Gaussian, see :func:`ula_stationary_covariance`).

    Args:
        score_fn: ``(N, D) -> (N, D)``; called under ``torch.no_grad`` (use :func:`score_of`
            for a score by autograd).
        x: starting points, ``(N, D)``.
        step_size: :math:`\epsilon > 0`, a number or one per chain, shape ``(N,)``.
        n_steps: :math:`K`, the number of steps (``0`` returns the start).
        generator: source of the noise.
        return_trajectory: also return every state, ``(K + 1, N, D)``.

    Returns:
        The final points ``(N, D)``, or ``(final, trajectory)``.

    Book: ``eq-score-langevin``.

    References:
        Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their
        discrete approximations. Bernoulli. Welling & Teh (2011), Bayesian learning via
        stochastic gradient Langevin dynamics. ICML.
    """
    function("score_fn", score_fn)
    validate("x", x, ndim=2)
    positive_int("n_steps", n_steps, minimum=0)
    eps = _step_sizes(step_size, x)
    x = x.detach().clone()
    traj = [x] if return_trajectory else None
    with torch.no_grad():
        for _ in range(n_steps):
            x = x + 0.5 * eps * call_like("score_fn", score_fn, x) + eps.sqrt() * noise(x.shape, x, generator)
            if traj is not None:
                traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x


def annealed_langevin(score_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                      sigmas: torch.Tensor, step_size: float, n_steps_each: int,
                      generator: torch.Generator | None = None, *, return_trajectory: bool = False):
    r"""Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    For each level :math:`\sigma_1 > \dots > \sigma_L` in turn, run ``n_steps_each`` Langevin
    steps on :math:`s(\cdot, \sigma_i)` with step :math:`\alpha_i = \epsilon\,\sigma_i^2/\sigma_L^2`.

    Args:
        score_fn: ``(x (N, D), sigma (N,)) -> (N, D)``, the noise-conditional score.
        x: starting points, ``(N, D)``.
        sigmas: ``(L,)`` decreasing noise levels.
        step_size: :math:`\epsilon`, the step at the last (smallest) level.
        n_steps_each: steps per level.
        generator: source of the noise.
        return_trajectory: also return every state, ``(L * n_steps_each + 1, N, D)``.

    Book: ``eq-score-annealed``.

    References:
        Song & Ermon (2019), Algorithm 1. arXiv:1907.05600.
    """
    function("score_fn", score_fn)
    validate("x", x, ndim=2)
    positive("sigmas", validate("sigmas", sigmas, ndim=1))
    if len(sigmas) > 1 and not bool((sigmas[1:] < sigmas[:-1]).all()):
        raise ValueError("sigmas must be strictly decreasing (largest noise first)")
    step_size = positive_number("step_size", step_size)
    positive_int("n_steps_each", n_steps_each)
    sig = sigmas.to(x)
    trajs = [x.detach().clone()[None]] if return_trajectory else None
    for level in sig:
        alpha = step_size * float(level / sig[-1]) ** 2
        level_n = level.expand(x.shape[0])
        out = langevin(lambda y: score_fn(y, level_n), x, alpha, n_steps_each, generator,
                       return_trajectory=return_trajectory)
        if return_trajectory:
            x, t = out
            trajs.append(t[1:])
        else:
            x = out
    return (x, torch.cat(trajs)) if return_trajectory else x


def ula_stationary_covariance(cov: torch.Tensor, step_size) -> torch.Tensor:
    r"""Stationary covariance of :func:`langevin` on :math:`\mathcal N(\mu, \Sigma)`: :math:`\Sigma\,(I - \tfrac{\epsilon}{4}\Sigma^{-1})^{-1}`.

    With score :math:`-\Sigma^{-1}(x-\mu)` the chain is :math:`x_{k+1}-\mu = A(x_k-\mu) + \sqrt\epsilon z_k`,
    :math:`A = I - \tfrac\epsilon2\Sigma^{-1}`; the fixed point of :math:`W = AWA + \epsilon I` is the
    formula, i.e. :math:`\lambda/(1 - \epsilon/(4\lambda))` along each eigen-direction of
    :math:`\Sigma` with variance :math:`\lambda`. It exists for :math:`0 < \epsilon < 4\lambda_{\min}`.

    Args:
        cov: ``(D, D)`` symmetric positive definite, or ``(...)`` variances of independent
            coordinates (a number or a tensor of shape ``()`` or ``(D,)``).
        step_size: :math:`\epsilon`.

    Book: ``eq-score-ula-variance``.
    """
    if isinstance(cov, torch.Tensor):
        validate("cov", cov)
    c = torch.as_tensor(cov, dtype=None if isinstance(cov, torch.Tensor) else torch.get_default_dtype())
    eps = positive_number("step_size", step_size)
    if c.ndim == 2:
        if c.shape[0] != c.shape[1]:
            raise ValueError(f"cov must be square (D, D); got {tuple(c.shape)}")
        lam, vec = torch.linalg.eigh(c)
    else:
        lam, vec = c, None
    positive("cov (its eigenvalues)", lam)
    if bool((eps >= 4 * lam).any()):
        raise ValueError(f"step_size must be below 4 x the smallest variance ({4 * lam.min().item():.3g}), "
                         "or the chain diverges")
    w = lam / (1 - eps / (4 * lam))
    return w if vec is None else (vec * w) @ vec.T


def mala(energy_fn: Energy, x: torch.Tensor, step_size: float, n_steps: int, *, temperature: float = 1.0,
         generator: torch.Generator | None = None, return_acceptance: bool = False):
    r"""Metropolis-adjusted Langevin: a Langevin proposal, accepted with the Metropolis–Hastings rule.

    Proposal :math:`y = x - \tfrac\epsilon2 \nabla E(x)/kT + \sqrt\epsilon\, z`, accepted with
    probability :math:`\min\{1, \frac{p_T(y)\, q(x\mid y)}{p_T(x)\, q(y\mid x)}\}`, where
    :math:`q(y\mid x) = \mathcal N(y;\, x - \tfrac\epsilon2\nabla E(x)/kT,\ \epsilon I)`. The correction
    makes :math:`p_T` exactly stationary for any step, removing the bias of unadjusted Langevin
    (:func:`langevin`); only :math:`E` differences enter, never :math:`Z`.

    Args:
        energy_fn: maps ``(..., 2)`` to ``(...)``.
        x: starting points ``(..., 2)``; every leading index is an independent chain.
        step_size: :math:`\epsilon > 0`.
        n_steps: :math:`K \ge 0`.
        temperature: :math:`kT`.
        generator: source of the proposals and the accept/reject draws.
        return_acceptance: also return the mean acceptance rate.

    Returns:
        The final points (detached), or ``(points, acceptance)``.

    Book: ``eq-ebm-mala``.

    References:
        Roberts & Tweedie (1996), Bernoulli 2(4).
    """
    function("energy_fn", energy_fn)
    validate("x", x, min_ndim=2, last_dim=2)
    eps = positive_number("step_size", step_size)
    positive_int("n_steps", n_steps, minimum=0)
    kT = positive_number("temperature", temperature)

    def energy_and_grad(y):
        with torch.enable_grad():
            yg = y.detach().requires_grad_(True)
            e = energy_fn(yg) / kT
            (g,) = torch.autograd.grad(e.sum(), yg)
        return e.detach(), g

    x = x.detach().clone()
    e_x, g_x = energy_and_grad(x)
    accepted = x.new_zeros(())
    for _ in range(n_steps):
        y = x - 0.5 * eps * g_x + math.sqrt(eps) * noise(x.shape, x, generator)
        e_y, g_y = energy_and_grad(y)
        log_fwd = -((y - x + 0.5 * eps * g_x) ** 2).sum(-1) / (2 * eps)
        log_bwd = -((x - y + 0.5 * eps * g_y) ** 2).sum(-1) / (2 * eps)
        log_alpha = e_x - e_y + log_bwd - log_fwd
        accept = uniform(log_alpha.shape, x, generator).log() < log_alpha
        x = torch.where(accept[..., None], y, x)
        e_x = torch.where(accept, e_y, e_x)
        g_x = torch.where(accept[..., None], g_y, g_x)
        accepted = accepted + accept.to(x.dtype).mean() / n_steps
    return (x, float(accepted)) if return_acceptance else x


def simulated_annealing(energy_fn: Energy, x: torch.Tensor, temperatures: torch.Tensor, step_size: float,
                        n_steps_each: int, generator: torch.Generator | None = None, *,
                        return_trajectory: bool = False):
    r"""Langevin dynamics while the temperature is lowered: :math:`x \leftarrow x - \tfrac\epsilon2\nabla E + \sqrt{\epsilon\,kT_l}\,z`.

    At each level :math:`kT_l` (in the given order, hot to cold) it runs ``n_steps_each`` steps
    of :func:`langevin` on the score :math:`-\nabla E/kT_l` with step
    :math:`\epsilon\,kT_l`, i.e. the update above: the drift is the same at every level and only
    the noise shrinks. Started hot, chains cross barriers freely; cooled slowly, they settle in
    the low-energy basins.

    Args:
        energy_fn: ``(N, 2) -> (N,)``.
        x: starting points ``(N, 2)``.
        temperatures: ``(L,)`` positive levels.
        step_size: :math:`\epsilon`.
        n_steps_each: steps per level.
        generator: source of the noise.
        return_trajectory: also return the states after every level, ``(L + 1, N, 2)``.

    Book: ``eq-ebm-annealing``.

    References:
        Kirkpatrick, Gelatt, Vecchi (1983), Science 220(4598).
    """
    function("energy_fn", energy_fn)
    validate("x", x, ndim=2, last_dim=2)
    positive("temperatures", validate("temperatures", temperatures, ndim=1))
    eps = positive_number("step_size", step_size)
    positive_int("n_steps_each", n_steps_each)
    states = [x.detach().clone()]
    for kT in temperatures.tolist():
        x = langevin(energy_score(energy_fn, kT), x, eps * kT, n_steps_each, generator)
        states.append(x)
    return (x, torch.stack(states)) if return_trajectory else x
