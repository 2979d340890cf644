r"""Chapter 6: denoising diffusion probabilistic models (DDPM) and implicit sampling (DDIM).

Notation is Ho et al.'s throughout: integer timesteps :math:`t \in \{1, \dots, T\}`,
:math:`\alpha_t = 1 - \beta_t`, :math:`\bar\alpha_t = \prod_{s \le t} \alpha_s`. Schedules are
indexed by ``t`` directly (``betas[0] = 0``, ``alpha_bars[0] = 1``), so ``alpha_bars[t]`` is
:math:`\bar\alpha_t` with no off-by-one. Every ``t`` may be an int or a per-sample integer
tensor of shape ``(N,)``; one helper broadcasts per-sample scalars against ``x``, so nothing
here assumes 2D points.

=====================  ========================================================
code                   paper
=====================  ========================================================
``betas[t]``           :math:`\beta_t`
``alphas[t]``          :math:`\alpha_t = 1 - \beta_t`
``alpha_bars[t]``      :math:`\bar\alpha_t = \prod_{s=1}^t \alpha_s`
``beta_tildes[t]``     :math:`\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t`
``eps``                :math:`\epsilon_\theta(x_t, t)` (or the true noise :math:`\epsilon`)
``t_prev``             DDIM's :math:`\tau_{i-1}` (``t - 1`` for a full-length chain)
=====================  ========================================================

Book: ``book/06_diffusion.ipynb``.

References:
    Ho, Jain, Abbeel (2020). Denoising diffusion probabilistic models. NeurIPS.
    https://arxiv.org/abs/2006.11239
    Song, Meng, Ermon (2021). Denoising diffusion implicit models. ICLR.
    https://arxiv.org/abs/2010.02502
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .tensors import one_of, positive, positive_int
from .data import GaussianMixture, NoisyCurve

__all__ = [
    "NoiseSchedule", "q_step", "q_sample", "posterior", "predict_x0", "vlb_weight", "simple_loss",
    "ddpm_step", "ddim_sigma", "ddim_coefficients", "ddim_step", "ddim_timesteps", "sample",
    "EpsMLP", "marginal", "optimal_eps", "kl_gaussians", "vlb_terms", "vlb_trajectory",
]

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    r"""A variance schedule :math:`\beta_1, \dots, \beta_T` and its derived sequences.

    Attributes (float64 tensors of length ``T + 1``, indexed by ``t``; entry 0 is ``t = 0``):
        betas: :math:`\beta_t`, with ``betas[0] = 0``.
        alphas: :math:`\alpha_t = 1 - \beta_t`.
        alpha_bars: :math:`\bar\alpha_t`, with ``alpha_bars[0] = 1``.
        beta_tildes: the posterior variances :math:`\tilde\beta_t` (``beta_tildes[1] = 0``).

    Build one with :meth:`linear` (the paper's schedule) or :meth:`from_betas`.
    Book: ``eq-ddpm-marginal``.
    """

    betas: torch.Tensor
    alphas: torch.Tensor
    alpha_bars: torch.Tensor
    beta_tildes: torch.Tensor

    @property
    def T(self) -> int:
        return len(self.betas) - 1

    @classmethod
    def from_betas(cls, betas) -> "NoiseSchedule":
        """The schedule with :math:`\\beta_1, \\dots, \\beta_T` = ``betas`` (shape ``(T,)``, in (0, 1))."""
        b = torch.as_tensor(betas, dtype=torch.float64).detach().cpu()
        if b.ndim != 1 or len(b) == 0:
            raise ValueError(f"betas must be a non-empty 1D sequence; got shape {tuple(b.shape)}")
        if not bool(((b > 0) & (b < 1)).all()):
            raise ValueError("betas must lie strictly between 0 and 1")
        betas = torch.cat([b.new_zeros(1), b])
        alphas = 1 - betas
        alpha_bars = torch.cumprod(alphas, 0)
        beta_tildes = torch.zeros_like(betas)
        beta_tildes[1:] = (1 - alpha_bars[:-1]) / (1 - alpha_bars[1:]) * betas[1:]
        for name, v in (("betas", betas), ("alphas", alphas), ("alpha_bars", alpha_bars),
                        ("beta_tildes", beta_tildes)):
            v.requires_grad_(False)
        return cls(betas, alphas, alpha_bars, beta_tildes)

    @classmethod
    def linear(cls, T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> "NoiseSchedule":
        r"""Ho et al.'s linear schedule: :math:`\beta_t` evenly spaced from ``beta_1`` to ``beta_T``."""
        positive_int("T", T)
        if not 0 < beta_1 < 1:
            raise ValueError(f"beta_1 must lie in (0, 1); got {beta_1}")
        if not 0 < beta_T < 1:
            raise ValueError(f"beta_T must lie in (0, 1); got {beta_T}")
        return cls.from_betas(torch.linspace(beta_1, beta_T, T, dtype=torch.float64))

    def __repr__(self) -> str:
        return (f"NoiseSchedule(T={self.T}, beta_1={self.betas[1].item():.3g}, "
                f"beta_T={self.betas[-1].item():.3g}, alpha_bar_T={self.alpha_bars[-1].item():.3g})")


# ---- helpers ---------------------------------------------------------------------------------
def _steps(name: str, t, T: int, low: int = 1) -> torch.Tensor:
    """Check integer timestep(s) in ``{low, ..., T}``; return a CPU int64 tensor."""
    if isinstance(t, bool) or (isinstance(t, torch.Tensor) and t.is_floating_point()) or isinstance(t, float):
        raise ValueError(f"{name} must be an int or an integer tensor; got {t!r}")
    try:
        tt = torch.as_tensor(t).detach().to("cpu", torch.int64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an int or an integer tensor; got {t!r}") from err
    if tt.ndim > 1:
        raise ValueError(f"{name} must be an int or a per-sample tensor of shape (N,); got {tuple(tt.shape)}")
    if bool(((tt < low) | (tt > T)).any()):
        raise ValueError(f"{name} must lie in {{{low}, ..., {T}}} (T = {T}); got {tt.tolist()}")
    return tt


def _bc(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A scalar or per-sample ``(N,)`` tensor in ``x``'s dtype/device, shaped to broadcast against ``x``."""
    out = v.to(device=x.device, dtype=x.dtype)
    return out.reshape(out.shape + (1,) * (x.ndim - out.ndim)) if out.ndim else out


def _at(v: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``v[t]`` shaped to broadcast against ``x`` (``(N,)`` -> ``(N, 1, ...)``)."""
    return _bc(v[t], x)


def _like(name: str, value: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.shape != x.shape:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a tensor of shape {tuple(x.shape)} like the state; got {shape}")
    return value


def _noise(noise, x: torch.Tensor, generator) -> torch.Tensor:
    if noise is not None:
        return _like("noise", noise, x)
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def _state(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 1:
        raise ValueError(f"{name} must be a floating-point tensor of shape (N, ...); got {x!r:.60}")
    return x


# ---- the forward process ---------------------------------------------------------------------
def q_step(schedule: NoiseSchedule, x_prev: torch.Tensor, t, noise: torch.Tensor) -> torch.Tensor:
    r"""One forward step :math:`x_t = \sqrt{\alpha_t}\,x_{t-1} + \sqrt{\beta_t}\,\epsilon`.

    Args:
        x_prev: :math:`x_{t-1}`, shape ``(N, ...)``.
        t: int or ``(N,)`` integer tensor in ``{1, ..., T}``.
        noise: :math:`\epsilon`, same shape as ``x_prev``.

    Book: ``eq-ddpm-forward``.
    """
    _state("x_prev", x_prev)
    t = _steps("t", t, schedule.T)
    _like("noise", noise, x_prev)
    return _at(schedule.alphas, t, x_prev).sqrt() * x_prev + _at(schedule.betas, t, x_prev).sqrt() * noise


def q_sample(schedule: NoiseSchedule, x0: torch.Tensor, t, noise: torch.Tensor) -> torch.Tensor:
    r"""Sample :math:`q(x_t \mid x_0)`: :math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon`.

    Args:
        x0: data, shape ``(N, ...)``.
        t: int or ``(N,)`` integer tensor in ``{0, ..., T}`` (``t = 0`` returns ``x0``).
        noise: :math:`\epsilon \sim \mathcal N(0, I)`, same shape as ``x0``.

    Book: ``eq-ddpm-marginal``.
    """
    _state("x0", x0)
    t = _steps("t", t, schedule.T, low=0)
    _like("noise", noise, x0)
    a = _at(schedule.alpha_bars, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def posterior(schedule: NoiseSchedule, x0: torch.Tensor, xt: torch.Tensor, t):
    r"""The forward posterior :math:`q(x_{t-1} \mid x_t, x_0) = \mathcal N(\tilde\mu_t, \tilde\beta_t I)`.

    :math:`\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t}x_0
    + \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}x_t`.

    Args:
        x0, xt: shape ``(N, ...)`` each.
        t: int or ``(N,)`` integer tensor in ``{1, ..., T}``.

    Returns:
        ``(mean, variance)``: the mean like ``xt``; the variance :math:`\tilde\beta_t` broadcastable
        against it (a scalar tensor for an int ``t``, ``(N, 1, ...)`` for a tensor ``t``).

    Book: ``eq-ddpm-posterior``.
    """
    _state("x0", x0)
    _like("xt", _state("xt", xt), x0)
    t = _steps("t", t, schedule.T)
    ab, ab_prev = _at(schedule.alpha_bars, t, xt), _at(schedule.alpha_bars, t - 1, xt)
    beta, alpha = _at(schedule.betas, t, xt), _at(schedule.alphas, t, xt)
    mean = (ab_prev.sqrt() * beta * x0 + alpha.sqrt() * (1 - ab_prev) * xt) / (1 - ab)
    return mean, _at(schedule.beta_tildes, t, xt)


def predict_x0(schedule: NoiseSchedule, eps: torch.Tensor, xt: torch.Tensor, t) -> torch.Tensor:
    r""":math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\epsilon_\theta) / \sqrt{\bar\alpha_t}`, the marginal solved for :math:`x_0`.

    Book: ``eq-ddpm-x0-hat``.
    """
    _like("eps", eps, _state("xt", xt))
    t = _steps("t", t, schedule.T)
    a = _at(schedule.alpha_bars, t, xt)
    return (xt - (1 - a).sqrt() * eps) / a.sqrt()


def _sigma2(schedule: NoiseSchedule, variance: str) -> torch.Tensor:
    """The table of :math:`\\sigma_t^2` (indexed by ``t``) for a choice of ``variance``."""
    one_of("variance", variance, ("beta_tilde", "beta"))
    return schedule.beta_tildes if variance == "beta_tilde" else schedule.betas


def vlb_weight(schedule: NoiseSchedule, t, variance: str = "beta_tilde") -> torch.Tensor:
    r"""The weight :math:`\frac{\beta_t^2}{2\sigma_t^2\alpha_t(1-\bar\alpha_t)}` of :math:`\|\epsilon-\epsilon_\theta\|^2` in :math:`L_{t-1}`.

    Args:
        t: int or integer tensor in ``{1, ..., T}`` (``+inf`` at ``t = 1`` for
            :math:`\sigma_1^2 = \tilde\beta_1 = 0`).
        variance: ``"beta_tilde"`` (:math:`\sigma_t^2 = \tilde\beta_t`) or ``"beta"``.

    Returns:
        float64 tensor shaped like ``t``.

    Book: ``eq-ddpm-weight``.
    """
    t = _steps("t", t, schedule.T)
    s = schedule
    return s.betas[t] ** 2 / (2 * _sigma2(s, variance)[t] * s.alphas[t] * (1 - s.alpha_bars[t]))


def simple_loss(model: EpsModel, schedule: NoiseSchedule, x0: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Algorithm 1's loss :math:`\|\epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\epsilon, t)\|^2`, batch mean.

    Draws :math:`t \sim U\{1, \dots, T\}` and :math:`\epsilon \sim \mathcal N(0, I)` per sample.

    Args:
        model: ``model(xt, t)`` with ``xt`` of shape ``(N, ...)`` and ``t`` of shape ``(N,)``.
        x0: a minibatch of data, shape ``(N, ...)``.

    Book: ``eq-ddpm-simple``.
    """
    _state("x0", x0)
    device = generator.device if generator is not None else x0.device
    t = torch.randint(1, schedule.T + 1, (x0.shape[0],), generator=generator, device=device)
    eps = torch.randn(x0.shape, generator=generator, device=device, dtype=x0.dtype).to(x0.device)
    xt = q_sample(schedule, x0, t, eps)
    return (eps - model(xt, t.to(x0.device))).pow(2).flatten(1).sum(1).mean()


# ---- sampling ----------------------------------------------------------------------------------
def ddpm_step(schedule: NoiseSchedule, eps: torch.Tensor, t, xt: torch.Tensor, noise=None,
              variance: str = "beta_tilde", generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Algorithm 2, line 4: :math:`x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\big(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\epsilon_\theta\big) + \sigma_t z`.

    As in Algorithm 2, line 3, :math:`z = 0` at ``t = 1`` (the last step returns the mean).

    Args:
        eps: :math:`\epsilon_\theta(x_t, t)`, shape like ``xt``.
        t: int or ``(N,)`` integer tensor in ``{1, ..., T}``.
        xt: the current state, shape ``(N, ...)``.
        noise: :math:`z`, shape like ``xt``; drawn from ``generator`` when ``None``.
        variance: :math:`\sigma_t^2`: ``"beta_tilde"`` (:math:`\tilde\beta_t`) or ``"beta"`` (:math:`\beta_t`).

    Book: ``eq-ddpm-mu-eps``.
    """
    _like("eps", eps, _state("xt", xt))
    t = _steps("t", t, schedule.T)
    sigma2 = _at(_sigma2(schedule, variance), t, xt)
    beta, alpha, ab = (_at(v, t, xt) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
    mean = (xt - beta / (1 - ab).sqrt() * eps) / alpha.sqrt()
    z = _noise(noise, xt, generator) * _bc(t > 1, xt)  # z = 0 at t = 1
    return mean + sigma2.sqrt() * z


def ddim_sigma(schedule: NoiseSchedule, t, t_prev, eta: float = 0.0) -> torch.Tensor:
    r""":math:`\sigma = \eta\sqrt{\frac{1-\bar\alpha_{t'}}{1-\bar\alpha_t}}\sqrt{1-\frac{\bar\alpha_t}{\bar\alpha_{t'}}}` for :math:`t' = t_{prev}`.

    With ``eta = 1`` and ``t_prev = t - 1`` this is :math:`\sqrt{\tilde\beta_t}`. Returns float64.

    Book: ``eq-ddim-eta``.
    """
    t, tp = _pair(schedule, t, t_prev)
    if not (isinstance(eta, (int, float)) and not isinstance(eta, bool)) or not eta >= 0:
        raise ValueError(f"eta must be a number >= 0; got {eta!r}")
    ab, abp = schedule.alpha_bars[t], schedule.alpha_bars[tp]
    return eta * ((1 - abp) / (1 - ab) * (1 - ab / abp)).sqrt()


def _pair(schedule: NoiseSchedule, t, t_prev):
    t = _steps("t", t, schedule.T)
    tp = _steps("t_prev", t_prev, schedule.T, low=0)
    if bool((tp >= t).any()):
        raise ValueError(f"t_prev must be smaller than t; got t={t.tolist()}, t_prev={tp.tolist()}")
    return t, tp


def ddim_coefficients(schedule: NoiseSchedule, t, t_prev, sigma) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The undetermined coefficients :math:`(\kappa, \lambda)` of :math:`\mathcal N(\kappa x_t + \lambda x_0, \sigma^2 I)`.

    The unique solution with :math:`\kappa \ge 0` of the marginal-matching equations
    :math:`\kappa\sqrt{\bar\alpha_t} + \lambda = \sqrt{\bar\alpha_{t'}}` and
    :math:`\kappa^2(1-\bar\alpha_t) + \sigma^2 = 1 - \bar\alpha_{t'}`:
    :math:`\kappa = \sqrt{(1-\bar\alpha_{t'}-\sigma^2)/(1-\bar\alpha_t)}`,
    :math:`\lambda = \sqrt{\bar\alpha_{t'}} - \kappa\sqrt{\bar\alpha_t}`. Needs
    :math:`\sigma^2 \le 1-\bar\alpha_{t'}`. Returns float64 tensors.

    Book: ``eq-ddim-solution``.
    """
    t, tp = _pair(schedule, t, t_prev)
    sigma = torch.as_tensor(sigma, dtype=torch.float64)
    positive("sigma", sigma, allow_zero=True)
    ab, abp = schedule.alpha_bars[t], schedule.alpha_bars[tp]
    room = 1 - abp - sigma**2
    if bool((room < -1e-12).any()):
        raise ValueError("sigma must satisfy sigma**2 <= 1 - alpha_bars[t_prev]")
    kappa = (room.clamp(min=0) / (1 - ab)).sqrt()
    return kappa, abp.sqrt() - kappa * ab.sqrt()


def ddim_step(schedule: NoiseSchedule, eps: torch.Tensor, t, t_prev, xt: torch.Tensor, eta: float = 0.0,
              noise=None, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""DDIM's update to :math:`x_{t'}`, :math:`t' = t_{prev} < t`:
    :math:`\sqrt{\bar\alpha_{t'}}\hat x_0 + \sqrt{1-\bar\alpha_{t'}-\sigma^2}\,\epsilon_\theta + \sigma z`.

    ``eta = 0`` is deterministic; ``eta = 1`` with ``t_prev = t - 1`` is DDPM's step with
    :math:`\sigma_t^2 = \tilde\beta_t`; ``t_prev = 0`` returns :math:`\hat x_0`.

    Args:
        eps: :math:`\epsilon_\theta(x_t, t)`, shape like ``xt``.
        t, t_prev: ints or ``(N,)`` integer tensors, ``0 <= t_prev < t <= T``.
        xt: the current state, shape ``(N, ...)``.
        eta: :math:`\eta \ge 0` (values above 1 are allowed while :math:`\sigma^2 \le 1-\bar\alpha_{t'}`).
        noise: :math:`z`, shape like ``xt``; drawn from ``generator`` when ``None`` and needed.

    Book: ``eq-ddim-step``.
    """
    _like("eps", eps, _state("xt", xt))
    sigma = ddim_sigma(schedule, t, t_prev, eta)
    t, tp = _pair(schedule, t, t_prev)
    x0_hat = predict_x0(schedule, eps, xt, t)
    abp = _at(schedule.alpha_bars, tp, xt)
    sig = _bc(sigma, xt)
    room = 1 - abp - sig**2
    if bool((room < -1e-12).any()):
        raise ValueError(f"eta={eta} is too large here: sigma**2 exceeds 1 - alpha_bars[t_prev]")
    out = abp.sqrt() * x0_hat + room.clamp(min=0).sqrt() * eps
    if eta > 0:
        out = out + sig * _noise(noise, xt, generator)
    return out


def ddim_timesteps(T: int, steps: int) -> list[int]:
    r"""DDIM's sub-sequence :math:`\tau`: ``steps`` evenly spaced integers in ``{1..T}`` ending at ``T``,
    returned in sampling order and followed by ``0`` (so consecutive pairs are ``(t, t_prev)``)."""
    positive_int("T", T)
    positive_int("steps", steps)
    if steps > T:
        raise ValueError(f"steps must be at most T = {T}; got {steps}")
    taus = sorted({round(T * i / steps) for i in range(1, steps + 1)}, reverse=True)
    return taus + [0]


@torch.no_grad()
def sample(model: EpsModel, schedule: NoiseSchedule, xT: torch.Tensor, *, steps: int | None = None,
           eta: float = 1.0, variance: str = "beta_tilde", generator: torch.Generator | None = None,
           keep: bool = False):
    r"""Run the reverse chain from ``xT`` (Algorithm 2, or DDIM on a sub-sequence of ``steps`` steps).

    ``steps=None`` runs DDPM's :math:`T` steps with :func:`ddpm_step` (``variance`` picks
    :math:`\sigma_t^2`); an int runs :func:`ddim_step` with ``eta`` on :func:`ddim_timesteps`
    (``eta=1`` is DDPM's posterior on the sub-sequence, ``eta=0`` deterministic DDIM).

    Args:
        model: ``model(x, t)`` returns :math:`\epsilon_\theta`; ``t`` is passed as an ``(N,)`` tensor.
        xT: :math:`x_T`, shape ``(N, ...)``.
        keep: also return the states, one per step, stacked ``(S + 1, N, ...)`` from :math:`x_T`.

    Returns:
        :math:`x_0` (and the path when ``keep``).
    """
    _state("xT", xT)
    T = schedule.T
    x, path = xT, [xT]
    pairs = (list(zip(range(T, 0, -1), range(T - 1, -1, -1))) if steps is None
             else list(zip(ddim_timesteps(T, steps)[:-1], ddim_timesteps(T, steps)[1:])))
    for t, tp in pairs:
        tt = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        eps = model(x, tt)
        if steps is None:
            x = ddpm_step(schedule, eps, t, x, variance=variance, generator=generator)
        else:
            x = ddim_step(schedule, eps, t, tp, x, eta=eta, generator=generator)
        if keep:
            path.append(x)
    return (x, torch.stack(path)) if keep else x


# ---- the model -------------------------------------------------------------------------------
class EpsMLP(nn.Module):
    r""":math:`\epsilon_\theta(x_t, t)`: an MLP on :math:`x_t`, told the step :math:`t` at every layer.

    With sinusoidal features :math:`e(t) = (\sin(f_k t/T), \cos(f_k t/T))_k`, each hidden layer is
    :math:`h_{l+1} = \mathrm{SiLU}(W_l h_l + U_l e(t) + b_l)` with :math:`h_0 = x_t`; the output layer
    is linear. Feeding :math:`e(t)` to every layer, not only the first, is what lets so small a
    network learn the nearly clean steps quickly (measured for the book: about 4x lower excess
    loss at :math:`t < 100` after the same training).

    Args:
        T: number of timesteps (for the scaling of ``t``).
        dim: data dimension.
        hidden, layers: width and number of hidden layers.
        n_freq, max_freq: ``n_freq`` frequencies :math:`f_k`, log-spaced in ``[1, max_freq]``.
    """

    def __init__(self, T: int, dim: int = 2, hidden: int = 128, layers: int = 3, n_freq: int = 16,
                 max_freq: float = 200.0):
        super().__init__()
        self.T = positive_int("T", T)
        positive_int("hidden", hidden)
        positive_int("layers", layers)
        positive_int("n_freq", n_freq)
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(max_freq), n_freq)))
        self.layers = nn.ModuleList([nn.Linear(dim if i == 0 else hidden, hidden) for i in range(layers)])
        self.time = nn.ModuleList([nn.Linear(2 * n_freq, hidden, bias=False) for _ in range(layers)])
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        """``x``: ``(N, dim)``; ``t``: int or ``(N,)`` integers. Returns ``(N, dim)``."""
        t = torch.as_tensor(t, device=x.device).to(x.dtype).expand(x.shape[:1])
        phase = (t / self.T)[:, None] * self.freqs.to(x)  # (N, n_freq)
        e = torch.cat([phase.sin(), phase.cos()], -1)  # (N, 2 n_freq)
        h = x
        for layer, time in zip(self.layers, self.time):
            h = nn.functional.silu(layer(h) + time(e))
        return self.out(h)


# ---- exact quantities for the book's datasets ----------------------------------------------------
def _mixture_parts(data) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(means (K, 2), log_weights (K,), variances (K,))`` of a dataset that is a Gaussian mixture."""
    if isinstance(data, GaussianMixture):
        k = len(data.means)
        return data.means, data.weights.log(), data._sigma.expand(k) ** 2
    if isinstance(data, NoisyCurve):  # exactly a mixture over its quadrature nodes
        return data.nodes, data._log_v, data.nodes.new_full((len(data.nodes),), data.noise**2)
    raise ValueError("data must be a GaussianMixture or a NoisyCurve (e.g. gencore.data.make('moons')); "
                     f"got {type(data).__name__}")


def marginal(schedule: NoiseSchedule, data, t: int, extra_var: float = 0.0) -> GaussianMixture:
    r"""The exact forward marginal :math:`q(x_t) = \int p(x_0)\,\mathcal N(x_t; \sqrt{\bar\alpha_t}x_0, (1-\bar\alpha_t)I)\,dx_0`.

    For data that are a mixture :math:`\sum_k \pi_k \mathcal N(\mu_k, s_k^2 I)` (Gaussian
    mixtures, and noisy curves through their quadrature nodes), it is the mixture
    :math:`\sum_k \pi_k \mathcal N(\sqrt{\bar\alpha_t}\mu_k, (\bar\alpha_t s_k^2 + 1 - \bar\alpha_t) I)`.
    ``extra_var`` adds to every variance (a Gaussian smoothing of the result).

    Book: ``eq-ddpm-marginal-density``.
    """
    t = int(_steps("t", t, schedule.T, low=0))
    positive("extra_var", extra_var, allow_zero=True)
    means, log_w, var = _mixture_parts(data)
    ab = schedule.alpha_bars[t].item()
    std = (ab * var + (1 - ab) + extra_var).sqrt()
    return GaussianMixture(math.sqrt(ab) * means, std, weights=log_w.exp())


def optimal_eps(schedule: NoiseSchedule, data, xt: torch.Tensor, t) -> torch.Tensor:
    r"""The minimizer of the simple loss, :math:`\epsilon^*(x_t, t) = \mathbb E[\epsilon \mid x_t] = -\sqrt{1-\bar\alpha_t}\,\nabla\log q(x_t)`.

    Closed form for mixture data (see :func:`marginal`): with responsibilities :math:`r_k(x_t)`
    of the components of :math:`q(x_t)`,
    :math:`\epsilon^* = \sqrt{1-\bar\alpha_t}\sum_k r_k (x_t - \sqrt{\bar\alpha_t}\mu_k)/v_k`,
    :math:`v_k = \bar\alpha_t s_k^2 + 1 - \bar\alpha_t`.

    Args:
        xt: ``(N, 2)``; t: int or ``(N,)`` integers in ``{1, ..., T}``.

    Book: ``eq-ddpm-optimal-eps``.
    """
    _state("xt", xt)
    t = _steps("t", t, schedule.T)
    means, log_w, var = (v.to(xt) for v in _mixture_parts(data))
    ab = _at(schedule.alpha_bars, t, xt)  # () or (N, 1)
    v = ab * var + (1 - ab)  # (K,) or (N, K)
    diff = xt.unsqueeze(-2) - ab.sqrt().unsqueeze(-1) * means  # (N, K, 2)
    logits = log_w - 0.5 * diff.pow(2).sum(-1) / v - torch.log(v)  # 2D: log det = 2 log sqrt(v)
    r = torch.softmax(logits, -1)
    return (1 - ab).sqrt() * ((r / v).unsqueeze(-1) * diff).sum(-2)


def kl_gaussians(mean1, var1, mean2, var2) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(m_1, v_1 I)\,\|\,\mathcal N(m_2, v_2 I))` summed over the last dim.

    Book: ``eq-ddpm-lt-kl``.
    """
    d = mean1.shape[-1]
    v1, v2 = (torch.as_tensor(v).to(mean1).expand(mean1.shape[:-1] + (1,))[..., 0] for v in (var1, var2))
    sq = (mean1 - mean2).pow(2).sum(-1)
    return 0.5 * (d * (v1 / v2 - 1 + torch.log(v2 / v1)) + sq / v2)


def vlb_terms(model: EpsModel, schedule: NoiseSchedule, x0: torch.Tensor, *, variance: str = "beta_tilde",
              generator: torch.Generator | None = None) -> torch.Tensor:
    r"""One-sample estimates of :math:`L_T, L_{T-1}, \dots, L_1, L_0` for each row of ``x0``.

    :math:`L_T = \mathrm{KL}(q(x_T|x_0)\,\|\,\mathcal N(0, I))`;
    :math:`L_{t-1} = \mathrm{KL}(q(x_{t-1}|x_t,x_0)\,\|\,p_\theta(x_{t-1}|x_t))` at one
    :math:`x_t \sim q(x_t|x_0)` per ``t``; :math:`L_0 = -\log p_\theta(x_0 \mid x_1)` with
    :math:`p_\theta(x_0|x_1) = \mathcal N(\mu_\theta(x_1, 1), \beta_1 I)` (continuous data; the
    choice :math:`\sigma_1^2 = \tilde\beta_1 = 0` would make it infinite).

    Args:
        x0: ``(N, d)`` data.

    Returns:
        ``(N, T + 1)`` in nats: column 0 is :math:`L_0`, column ``t`` is :math:`L_t` (so column
        ``t - 1`` holds :math:`L_{t-1}` and the last column :math:`L_T`); the bound is the row sum.

    Book: ``eq-ddpm-vlb-decomposed``.
    """
    _state("x0", x0)
    s, T, (n, d) = schedule, schedule.T, x0.shape
    device = generator.device if generator is not None else x0.device
    out = x0.new_zeros(n, T + 1)
    abT = s.alpha_bars[T].to(x0)
    out[:, T] = kl_gaussians(abT.sqrt() * x0, 1 - abT, torch.zeros_like(x0), x0.new_ones(()))
    for t in range(1, T + 1):
        eps = torch.randn(x0.shape, generator=generator, device=device, dtype=x0.dtype).to(x0.device)
        xt = q_sample(s, x0, t, eps)
        mu = ddpm_step(s, model(xt, torch.full((n,), t, device=x0.device)), t, xt, noise=torch.zeros_like(xt))
        if t == 1:
            var = s.betas[1].to(x0)
            out[:, 0] = 0.5 * (x0 - mu).pow(2).sum(-1) / var + 0.5 * d * torch.log(2 * math.pi * var)
        else:
            mean_q, var_q = posterior(s, x0, xt, t)
            out[:, t - 1] = kl_gaussians(mean_q, var_q, mu, _sigma2(s, variance)[t].to(x0))
    return out


def vlb_trajectory(model: EpsModel, schedule: NoiseSchedule, x0: torch.Tensor, *, variance: str = "beta_tilde",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""One-trajectory estimate of the bound in its first form, :math:`-\log p(x_T) - \sum_{t \ge 1} \log\frac{p_\theta(x_{t-1}|x_t)}{q(x_t|x_{t-1})}`.

    Simulates :math:`x_1, \dots, x_T` by the forward chain from each row of ``x0``. The
    reverse model is :math:`p_\theta(x_{t-1}|x_t) = \mathcal N(\mu_\theta(x_t, t), \sigma_t^2 I)` for
    :math:`t \ge 2` and :math:`\mathcal N(\mu_\theta(x_1, 1), \beta_1 I)` for :math:`t = 1`, as in
    :func:`vlb_terms`, whose row sums have the same expectation (and a far smaller variance).

    Args:
        x0: ``(N, d)`` data.

    Returns:
        ``(N,)`` in nats.

    Book: ``eq-ddpm-vlb``.
    """
    _state("x0", x0)
    s, (n, d) = schedule, x0.shape
    device = generator.device if generator is not None else x0.device
    sig2 = _sigma2(s, variance).clone()
    sig2[1] = s.betas[1]

    def log_normal(x, mean, var):
        var = torch.as_tensor(var).to(x)
        return -0.5 * (x - mean).pow(2).sum(-1) / var - 0.5 * d * torch.log(2 * math.pi * var)

    total, x = torch.zeros(n, dtype=x0.dtype, device=x0.device), x0
    for t in range(1, s.T + 1):
        eps = torch.randn(x0.shape, generator=generator, device=device, dtype=x0.dtype).to(x0.device)
        x_next = q_step(s, x, t, eps)
        mu = ddpm_step(s, model(x_next, torch.full((n,), t, device=x0.device)), t, x_next,
                       noise=torch.zeros_like(x))
        total += log_normal(x_next, s.alphas[t].sqrt().to(x0) * x, s.betas[t]) - log_normal(x, mu, sig2[t])
        x = x_next
    return total - log_normal(x, torch.zeros_like(x), 1.0)
