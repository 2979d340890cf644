r"""Chapter 7's live demos: Langevin dynamics on a score, computed in the reader's browser.

Each step module below runs ``inner`` updates of unadjusted Langevin dynamics (``eq-score-langevin``)

.. math:: x \leftarrow x + \tfrac{\epsilon}{2}\, s(x) + \sqrt{\epsilon}\, z

per call, with the step :math:`\epsilon` and the noise ``z`` (``(N, 2 * inner)``: the columns
``2j, 2j + 1`` are step ``j``'s :math:`z`) as inputs, so the exported graph is a pure function the
page can loop (:func:`gencore.live.sampler_demo`). Several updates per call cut the browser's
per-call overhead. The score is gencore's own: :func:`gencore.score.mixture_score` of the
chapter's mixture, or the trained noise-conditional :class:`gencore.score.ScoreNet`. The tests
(``tests/test_live_score.py``) run the exported steps against :func:`gencore.mcmc.langevin` and
:func:`gencore.mcmc.annealed_langevin` themselves, fed the same noise.

Naming (book symbol -> code): :math:`\epsilon` ``eps``; :math:`\sigma_i` ``sigmas``; the level
index :math:`i` ``t``; :math:`K` the number of updates.

Book: ``book/07_score.ipynb``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import score as S
from .data import GaussianMixture
from .live import LiveDemo, Slider, sampler_demo
from .tensors import in_range, positive, positive_int, validate

__all__ = ["langevin_updates", "LangevinStep", "AnnealedStep", "langevin_live", "annealed_live"]


def langevin_updates(score_fn, x: torch.Tensor, z: torch.Tensor, eps, inner: int) -> torch.Tensor:
    r"""``inner`` Langevin updates :math:`x \leftarrow x + \tfrac\epsilon2 s(x) + \sqrt\epsilon\, z_j`.

    The update of :func:`gencore.mcmc.langevin` with its noise given: ``z`` is ``(N, 2 * inner)``,
    step ``j`` taking columns ``2j`` and ``2j + 1``; ``eps`` a positive number or 0-d tensor.

    Book: ``eq-score-langevin``.
    """
    positive_int("inner", inner)
    validate("x", x, ndim=2, last_dim=2)
    validate("z", z, ndim=2, last_dim=2 * inner)
    if z.shape[0] != x.shape[0]:
        raise ValueError(f"z must have one row per point of x ({x.shape[0]}); got {z.shape[0]}")
    positive("eps", eps)
    for j in range(inner):
        x = x + 0.5 * eps * score_fn(x) + eps**0.5 * z[:, 2 * j: 2 * j + 2]
    return x


def _example(n: int, inner: int, *scalars) -> tuple:
    g = torch.Generator().manual_seed(0)
    f32 = dict(generator=g, dtype=torch.float32)
    return (torch.randn(n, 2, **f32), torch.randn(n, 2 * inner, **f32), *scalars)


class LangevinStep(nn.Module):
    r"""``inner`` Langevin updates on the exact score of a Gaussian mixture (:func:`gencore.score.mixture_score`).

    ``forward(x (N, 2), z (N, 2 * inner), eps (float scalar)) -> (N, 2)``.
    """

    input_names = ("x", "z", "eps")

    def __init__(self, mixture: GaussianMixture, inner: int = 10):
        super().__init__()
        if not isinstance(mixture, GaussianMixture):
            raise ValueError(f"mixture must be a gencore.data.GaussianMixture; got {type(mixture).__name__}")
        self.inner = in_range("inner", positive_int("inner", inner), 1, 32)
        self.score = S.mixture_score(mixture)

    def forward(self, x, z, eps):
        return langevin_updates(self.score, x, z, eps, self.inner)

    def example(self, n: int = 8) -> tuple:
        return _example(n, self.inner, torch.tensor(0.1, dtype=torch.float32))


class AnnealedStep(nn.Module):
    r"""``inner`` Langevin updates of annealed Langevin (``eq-score-annealed``) at level ``max(t, first)``.

    At level :math:`i` the score is the network's :math:`s_\theta(x, \sigma_i)` and the step
    :math:`\alpha_i = \epsilon\,\sigma_i^2/\sigma_L^2`, as in :func:`gencore.mcmc.annealed_langevin`.
    ``first`` skips the levels above it: ``first = L - 1`` is plain Langevin at :math:`\sigma_L`.
    ``forward(x (N, 2), z (N, 2 * inner), t, first (int64 scalars), eps (float scalar)) -> (N, 2)``;
    ``model`` is used as a float32 CPU copy.
    """

    input_names = ("x", "z", "t", "first", "eps")

    def __init__(self, model: nn.Module, sigmas: torch.Tensor, inner: int = 10):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module noise-conditional score; got {type(model).__name__}")
        validate("sigmas", sigmas, ndim=1, nonempty=True)
        positive("sigmas", sigmas)
        if len(sigmas) > 1 and not bool((sigmas[1:] < sigmas[:-1]).all()):
            raise ValueError("sigmas must be strictly decreasing (largest noise first)")
        self.inner = in_range("inner", positive_int("inner", inner), 1, 32)
        self.model = copy.deepcopy(model).to("cpu", torch.float32).eval()
        self.register_buffer("sigmas", sigmas.detach().to("cpu", torch.float32).clone())

    def forward(self, x, z, t, first, eps):
        sigma = self.sigmas[torch.maximum(t, first)]
        alpha = eps * (sigma / self.sigmas[-1]) ** 2
        return langevin_updates(lambda y: self.model(y, sigma), x, z, alpha, self.inner)

    def example(self, n: int = 8) -> tuple:
        return _example(n, self.inner, torch.tensor(1), torch.tensor(0), torch.tensor(0.005, dtype=torch.float32))


def _eps_labels(lo: int, hi: int, inner: int) -> tuple:
    return tuple(str(inner * k) for k in range(lo, hi + 1))


def langevin_live(fallback, mixture: GaussianMixture, init: torch.Tensor, extent, *, ref=None, colors=None,
                  inner: int = 10, max_steps: int = 1000, n: int = 1000) -> LiveDemo:
    r"""Langevin on ``mixture``'s exact score, live: any :math:`\epsilon` in [0.01, 1], ``inner`` to
    ``max_steps`` steps (in ``inner``-step calls), from the ``init`` points ``(n, 2)``, with a dragged
    start point's path. ``fallback``: the frames' slider; ``ref``: a pale sample of the mixture."""
    step = LangevinStep(mixture, inner)
    validate("init", init, ndim=2, last_dim=2)
    in_range("max_steps", positive_int("max_steps", max_steps, minimum=inner), inner, 5000)
    calls = max_steps // inner
    sliders = [Slider("eps", "step size ε", 0.01, 1.0, 0.01, 0.05),
               Slider("steps", "steps K", 1, calls, 1, min(10, calls), digits=0, labels=_eps_labels(1, calls, inner))]
    alt = ("Langevin chains on a two-mode mixture, computed live in your browser for the chosen step size ε and "
           "number of steps K, over a pale sample of the mixture, with the path of one starting point that you "
           "can drag.")
    return sampler_demo(fallback, step, sliders=sliders, steps="steps", times={k: [0] * (k + 1) for k in range(1, calls + 1)},
                        extent=extent, title="Langevin, ε = {eps}, K = {steps}; drag the ringed start",
                        alt=alt, start=(2.5, 2.0), init=init, ref=ref, n=n, noise_dim=2 * inner, colors=colors, per_call=inner)


def annealed_live(fallback, model: nn.Module, sigmas: torch.Tensor, init: torch.Tensor, extent, *, ref=None,
                  colors=None, inner: int = 10, max_calls: int = 10, n: int = 1000) -> LiveDemo:
    r"""Annealed Langevin with the learned ``model`` over the levels ``sigmas``, live: any
    :math:`\epsilon` in [0.001, 0.02], ``inner`` to ``inner * max_calls`` steps per level, and a
    first level (the last one is plain Langevin at :math:`\sigma_L`); a dragged start point's path."""
    step = AnnealedStep(model, sigmas, inner)
    validate("init", init, ndim=2, last_dim=2)
    in_range("max_calls", positive_int("max_calls", max_calls), 1, 100)
    L = len(sigmas)
    levels = tuple(f"{s:.3g}" for s in sigmas.tolist())
    sliders = [Slider("eps", "step size ε", 0.001, 0.02, 0.001, 0.005, digits=3),
               Slider("steps", "steps per level", L, L * max_calls, L, L, digits=0,
                      labels=tuple(str(inner * k) for k in range(1, max_calls + 1))),
               Slider("first", "first level σ", 0, L - 1, 1, 0, digits=0, labels=levels, dtype="int64")]
    # `steps` counts calls: m per level, so call k runs at level k // m (the last entry is not used)
    times = {L * m: [k // m for k in range(L * m)] + [L - 1] for m in range(1, max_calls + 1)}
    alt = ("Annealed Langevin sampling with the learned noise-conditional score, computed live in your browser "
           "for the chosen step size, steps per noise level and first level, over a pale sample of the data; "
           "the path of one starting point that you can drag is drawn.")
    return sampler_demo(fallback, step, sliders=sliders, steps="steps", times=times, extent=extent,
                        title="annealed Langevin from σ = {first}, ε = {eps}, {steps} steps per level",
                        alt=alt, start=(4.5, 3.0), init=init, ref=ref, n=n, noise_dim=2 * inner, colors=colors, per_call=inner)
