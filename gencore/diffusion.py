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

from .data import GaussianMixture, NoisyCurve
from .tensors import noise as draw_noise
from .tensors import in_range, one_of, per_sample, positive, positive_int, rng_device, validate

__all__ = [
    "NoiseSchedule", "q_step", "q_sample", "posterior", "predict_x0", "vlb_weight", "simple_loss",
    "ddpm_step", "ddim_sigma", "ddim_coefficients", "ddim_step", "ddim_timesteps", "sample",
    "diffused_mixture", "marginal", "mixture_parts", "check_steps",
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

    Example:
        >>> s = NoiseSchedule.linear(T=1000)
        >>> s.T, round(s.alpha_bars[-1].item(), 6)
        (1000, 4e-05)
        >>> q_sample(s, torch.zeros(3, 2), 500, torch.ones(3, 2)).shape
        torch.Size([3, 2])
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
        return cls(betas, alphas, alpha_bars, beta_tildes)

    @classmethod
    def linear(cls, T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> "NoiseSchedule":
        r"""Ho et al.'s linear schedule: :math:`\beta_t` evenly spaced from ``beta_1`` to ``beta_T``."""
        positive_int("T", T)
        in_range("beta_1", beta_1, 0, 1, low_open=True, high_open=True)
        in_range("beta_T", beta_T, 0, 1, low_open=True, high_open=True)
        return cls.from_betas(torch.linspace(beta_1, beta_T, T, dtype=torch.float64))

    def __repr__(self) -> str:
        return (f"NoiseSchedule(T={self.T}, beta_1={self.betas[1].item():.3g}, "
                f"beta_T={self.betas[-1].item():.3g}, alpha_bar_T={self.alpha_bars[-1].item():.3g})")


# ---- helpers ---------------------------------------------------------------------------------
def check_steps(name: str, t, T: int, low: int = 1, n: int | None = None) -> torch.Tensor:
    """Check that ``t`` is an int or ``n`` integer timesteps in ``{low, ..., T}``; return them as CPU int64."""
    ok = isinstance(t, (int, list, tuple)) or (isinstance(t, torch.Tensor) and not t.is_floating_point() and t.dtype != torch.bool)
    if isinstance(t, bool) or not ok:
        raise TypeError(f"{name} must be an int or an integer tensor; got {t!r:.60}")
    tt = torch.as_tensor(t).detach().to("cpu", torch.int64)
    if tt.ndim > 1 or (tt.ndim == 1 and (len(tt) == 0 or (n is not None and len(tt) != n))):
        raise ValueError(f"{name} must be an int or one step per sample, shape ({n or 'N'},); got {tuple(tt.shape)}")
    if bool(((tt < low) | (tt > T)).any()):
        raise ValueError(f"{name} must lie in {{{low}, ..., {T}}} (T = {T}); got {tt.tolist()}")
    return tt


def _at(v: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``v[t]`` shaped to broadcast against ``x`` (``(N,)`` -> ``(N, 1, ...)``)."""
    return per_sample(v[t], x)


def _like(name: str, value, x: torch.Tensor) -> torch.Tensor:
    validate(name, value)
    if value.shape != x.shape:
        raise ValueError(f"{name} must be a tensor of shape {tuple(x.shape)} like the state; got {tuple(value.shape)}")
    return value


def _state(name: str, x) -> torch.Tensor:
    return validate(name, x, min_ndim=1)


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
    t = check_steps("t", t, schedule.T, n=len(x_prev))
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
    t = check_steps("t", t, schedule.T, low=0, n=len(x0))
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
    _like("xt", xt, x0)
    t = check_steps("t", t, schedule.T, n=len(x0))
    ab, ab_prev = _at(schedule.alpha_bars, t, xt), _at(schedule.alpha_bars, t - 1, xt)
    beta, alpha = _at(schedule.betas, t, xt), _at(schedule.alphas, t, xt)
    mean = (ab_prev.sqrt() * beta * x0 + alpha.sqrt() * (1 - ab_prev) * xt) / (1 - ab)
    return mean, _at(schedule.beta_tildes, t, xt)


def predict_x0(schedule: NoiseSchedule, eps: torch.Tensor, xt: torch.Tensor, t) -> torch.Tensor:
    r""":math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\epsilon_\theta) / \sqrt{\bar\alpha_t}`, the marginal solved for :math:`x_0`.

    Book: ``eq-ddpm-x0-hat``.
    """
    _like("eps", eps, _state("xt", xt))
    t = check_steps("t", t, schedule.T, n=len(xt))
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
    t = check_steps("t", t, schedule.T)
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
    t = torch.randint(1, schedule.T + 1, (x0.shape[0],), generator=generator, device=rng_device(generator, x0))
    eps = draw_noise(x0.shape, x0, generator)
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
    t = check_steps("t", t, schedule.T, n=len(xt))
    sigma2 = _at(_sigma2(schedule, variance), t, xt)
    beta, alpha, ab = (_at(v, t, xt) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
    mean = (xt - beta / (1 - ab).sqrt() * eps) / alpha.sqrt()
    z = _like("noise", noise, xt) if noise is not None else draw_noise(xt.shape, xt, generator)
    z = z * per_sample(t > 1, xt)  # z = 0 at t = 1
    return mean + sigma2.sqrt() * z


def ddim_sigma(schedule: NoiseSchedule, t, t_prev, eta: float = 0.0) -> torch.Tensor:
    r""":math:`\sigma = \eta\sqrt{\frac{1-\bar\alpha_{t'}}{1-\bar\alpha_t}}\sqrt{1-\frac{\bar\alpha_t}{\bar\alpha_{t'}}}` for :math:`t' = t_{prev}`.

    With ``eta = 1`` and ``t_prev = t - 1`` this is :math:`\sqrt{\tilde\beta_t}`. Returns float64.

    Book: ``eq-ddim-eta``.
    """
    t, tp = _pair(schedule, t, t_prev)
    positive("eta", eta, allow_zero=True)
    ab, abp = schedule.alpha_bars[t], schedule.alpha_bars[tp]
    return eta * ((1 - abp) / (1 - ab) * (1 - ab / abp)).sqrt()


def _pair(schedule: NoiseSchedule, t, t_prev, n: int | None = None):
    t, tp = check_steps("t", t, schedule.T, n=n), check_steps("t_prev", t_prev, schedule.T, low=0, n=n)
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
    _pair(schedule, t, t_prev, n=len(xt))
    sigma = ddim_sigma(schedule, t, t_prev, eta)
    t, tp = _pair(schedule, t, t_prev)
    x0_hat = predict_x0(schedule, eps, xt, t)
    abp = _at(schedule.alpha_bars, tp, xt)
    sig = per_sample(sigma, xt)
    if bool((1 - schedule.alpha_bars[tp] - sigma**2 < -1e-12).any()):  # checked on the CPU tables
        raise ValueError(f"eta={eta} is too large here: sigma**2 exceeds 1 - alpha_bars[t_prev]")
    room = 1 - abp - sig**2
    out = abp.sqrt() * x0_hat + room.clamp(min=0).sqrt() * eps
    if eta > 0:
        out = out + sig * (_like("noise", noise, xt) if noise is not None else draw_noise(xt.shape, xt, generator))
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
            A model with an ``at_times(ts)`` method (:meth:`gencore.nn.TimeMLP.at_times`) is
            evaluated through it instead: every row of a step has the same ``t``, so its time
            terms are computed once for the whole chain (the same numbers, for less work).
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
    at_times = getattr(model, "at_times", None)
    fixed = at_times([t for t, _ in pairs]) if callable(at_times) else None
    for k, (t, tp) in enumerate(pairs):
        if fixed is not None:
            eps = fixed[k](x)
        else:
            eps = model(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
        if steps is None:
            x = ddpm_step(schedule, eps, t, x, variance=variance, generator=generator)
        else:
            x = ddim_step(schedule, eps, t, tp, x, eta=eta, generator=generator)
        if keep:
            path.append(x)
    return (x, torch.stack(path)) if keep else x


# ---- exact quantities for the book's datasets ----------------------------------------------------
def mixture_parts(data) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(means (K, 2), log_weights (K,), variances (K,))`` of data that are a mixture of isotropic Gaussians."""
    if isinstance(data, GaussianMixture):
        k = len(data.means)
        return data.means, data.weights.log(), data.std.expand(k) ** 2
    if isinstance(data, NoisyCurve):  # exactly a mixture over its quadrature nodes
        return data.nodes, data.log_node_weights, data.nodes.new_full((len(data.nodes),), data.noise**2)
    raise ValueError("data must be a GaussianMixture or a NoisyCurve (e.g. gencore.data.make('moons')); "
                     f"got {type(data).__name__}")


def diffused_mixture(data, alpha_bar, extra_var: float = 0.0) -> GaussianMixture:
    r"""The density of :math:`\sqrt{\bar\alpha}\,x_0 + \sqrt{1-\bar\alpha}\,\epsilon` for mixture data, exactly.

    For data :math:`\sum_k \pi_k \mathcal N(\mu_k, s_k^2 I)` (Gaussian mixtures, and noisy
    curves through their quadrature nodes) it is the mixture
    :math:`\sum_k \pi_k \mathcal N(\sqrt{\bar\alpha}\mu_k, (\bar\alpha s_k^2 + 1 - \bar\alpha) I)`.
    ``extra_var`` adds to every variance (a Gaussian smoothing of the result); with
    ``alpha_bar = 1`` that is chapter 7's noised density :math:`p * \mathcal N(0, \sigma^2 I)`.

    Args:
        data: a :class:`~gencore.data.GaussianMixture` or :class:`~gencore.data.NoisyCurve`.
        alpha_bar: :math:`\bar\alpha \in [0, 1]`.
        extra_var: a variance :math:`\ge 0` added to every component.

    Book: ``eq-ddpm-marginal-density``.
    """
    means, log_w, var = mixture_parts(data)
    ab = float(in_range("alpha_bar", alpha_bar, 0.0, 1.0))
    positive("extra_var", extra_var, allow_zero=True)
    std = (ab * var + (1 - ab) + extra_var).sqrt()
    return GaussianMixture(math.sqrt(ab) * means, std, weights=log_w.exp())


def marginal(schedule: NoiseSchedule, data, t: int, extra_var: float = 0.0) -> GaussianMixture:
    r"""The exact forward marginal :math:`q(x_t) = \int p(x_0)\,\mathcal N(x_t; \sqrt{\bar\alpha_t}x_0, (1-\bar\alpha_t)I)\,dx_0`.

    :func:`diffused_mixture` at :math:`\bar\alpha_t` (``t`` an int in ``{0, ..., T}``).

    Book: ``eq-ddpm-marginal-density``.
    """
    t = int(check_steps("t", t, schedule.T, low=0))
    return diffused_mixture(data, schedule.alpha_bars[t].item(), extra_var)
