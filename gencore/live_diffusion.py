"""Chapter 6's other live demos (the DDIM one is :func:`gencore.live.ddim_live`): the forward
process run step by step to any t, and the reverse chain stopped at any t, both in the reader's browser.

Each step module calls :mod:`gencore.diffusion` itself (``q_step``, ``ddim_step``), with the noise
passed in as an input, so what the page runs is gencore's mathematics exported by
:func:`gencore.live.export_step`; the page only loops, draws and reads the controls.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import diffusion as D
from .live import LiveDemo, Slider, sampler_demo
from .tensors import event_2d, in_range, positive_int, validate

__all__ = ["ForwardStep", "forward_live", "ReverseStep", "reverse_live"]


def _schedule(schedule) -> D.NoiseSchedule:
    if not isinstance(schedule, D.NoiseSchedule):
        raise ValueError(f"schedule must be a gencore.diffusion.NoiseSchedule; got {type(schedule).__name__}")
    return schedule


class ForwardStep(nn.Module):
    r"""``stride`` forward steps :func:`gencore.diffusion.q_step` in one call: from :math:`x_t` to
    :math:`x_{t + \text{stride}}`, each step's noise a pair of columns of ``z`` (``(N, 2 stride)``).

    One call does several steps so that the page pays its per-call overhead once for ``stride``
    steps of the chain. ``forward(x (N, 2), z (N, 2 stride), t (int64 scalar))``; ``t + stride <= T``.
    """

    input_names = ("x", "z", "t")

    def __init__(self, schedule: D.NoiseSchedule, stride: int = 10):
        super().__init__()
        self.schedule = _schedule(schedule)
        self.stride = in_range("stride", positive_int("stride", stride), 1, schedule.T)

    def forward(self, x, z, t):
        for i in range(self.stride):
            x = D.q_step(self.schedule, x, t + (i + 1), z[:, 2 * i:2 * i + 2])
        return x

    def example(self, n: int = 8) -> tuple:
        g = torch.Generator().manual_seed(0)
        return (torch.randn(n, 2, generator=g, dtype=torch.float32),
                torch.randn(n, 2 * self.stride, generator=g, dtype=torch.float32), torch.tensor(0))


def forward_live(fallback, schedule: D.NoiseSchedule, x0: torch.Tensor, extent, colors: dict | None = None,
                 stride: int = 1, every: int = 10, n: int = 1000) -> LiveDemo:
    r"""The forward chain :math:`x_0 \to x_t` live: ``n`` of the data points ``x0`` noised step by step
    to any ``t`` in ``0, every * stride, ..., T`` (a slider), and the noisy path of one dragged point
    :math:`x_0` (a vertex per call, ``stride`` steps each; the page's status counts calls).

    The page carries a table of the times for every slider position, so ``every`` keeps it small.
    ``fallback``: the frames' slider (notebook, print); ``extent``: the plotted box; ``colors``:
    CSS colours of ``"ref"`` (the clean data, behind), ``"x"`` (the points at ``t``) and ``"path"``.
    """
    _schedule(schedule)
    event_2d("x0", x0)
    in_range("n", positive_int("n", n), 1, 5000)
    if schedule.T % positive_int("stride", stride):
        raise ValueError(f"stride must divide T = {schedule.T}; got {stride}")
    calls = schedule.T // stride
    if calls % positive_int("every", every):
        raise ValueError(f"every must divide T / stride = {calls}; got {every}")
    step = ForwardStep(schedule, stride)
    reach = range(0, calls + 1, every)
    slider = Slider("steps", "t", 0, calls, every, min(calls, every * max(1, 100 // (stride * every))), digits=0,
                    labels=None if stride == 1 else tuple(str(k * stride) for k in reach))
    times = {k: [i * stride for i in range(k + 1)] for k in reach}
    alt = ("Samples x_t of the forward noising process (live: computed in your browser for the chosen t), "
           "starting from the two-moons data shown pale behind them, with the noisy path of one data "
           "point x_0 that you can drag.")
    return sampler_demo(fallback, step, sliders=[slider], steps="steps", times=times, extent=extent, init=x0,
                        ref=x0, n=n, noise_dim=2 * stride, start=(1.0, 0.0), alt=alt, colors=colors,
                        title="forward process q(x_t | x_0), t = {steps}; drag the ringed x_0")


class ReverseStep(nn.Module):
    r"""One step of the reverse chain with :math:`\eta = 1` (:func:`gencore.diffusion.ddim_step`):
    from :math:`x_t` to :math:`x_{t'}` drawn from DDPM's Gaussian with :math:`\sigma^2 = \tilde\beta`
    over the jump; for ``t' = t - 1`` it is Algorithm 2's step exactly. ``model`` is copied (float32, CPU).

    ``forward(x (N, 2), z (N, 2), t, t_prev (int64 scalars))``.
    """

    input_names = ("x", "z", "t", "t_prev")

    def __init__(self, model: nn.Module, schedule: D.NoiseSchedule):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module eps-network; got {type(model).__name__}")
        self.schedule = _schedule(schedule)
        self.model = copy.deepcopy(model).to("cpu", torch.float32).eval()

    def forward(self, x, z, t, t_prev):
        at_times = getattr(self.model, "at_times", None)  # the time terms once per step, as D.sample does
        eps = at_times(t.reshape(1).to(x.dtype))[0](x) if callable(at_times) else self.model(x, t)
        return D.ddim_step(self.schedule, eps, t, t_prev, x, eta=1.0, noise=z)

    def example(self, n: int = 8) -> tuple:
        T = self.schedule.T
        g = torch.Generator().manual_seed(0)
        return (torch.randn(n, 2, generator=g, dtype=torch.float32), torch.randn(n, 2, generator=g, dtype=torch.float32),
                torch.tensor(T), torch.tensor(T // 2))


def reverse_live(fallback, model: nn.Module, schedule: D.NoiseSchedule, ref: torch.Tensor, extent,
                 colors: dict | None = None, steps: int = 20, n: int = 1000) -> LiveDemo:
    r"""The reverse chain live, stopped at any ``t`` of DDIM's sub-sequence of ``steps`` times
    (:func:`gencore.diffusion.ddim_timesteps`), with :math:`\eta = 1`: ``n`` points from
    :math:`x_T \sim \mathcal N(0, I)` down to :math:`x_t`, and the path of one dragged :math:`x_T`.

    ``ref``: the data, drawn pale behind; ``fallback``, ``extent``, ``colors`` as :func:`forward_live`.
    """
    step = ReverseStep(model, schedule)
    validate("ref", ref, ndim=2, last_dim=2)
    in_range("n", positive_int("n", n), 1, 5000)
    in_range("steps", positive_int("steps", steps), 1, schedule.T)
    taus = D.ddim_timesteps(schedule.T, steps)
    slider = Slider("steps", "t", 0, steps, 1, steps, digits=0, labels=tuple(str(t) for t in taus))
    times = {k: taus[:k + 1] for k in range(steps + 1)}
    alt = ("Points of the reverse (denoising) chain stopped at step t (live: computed in your browser for the "
           "chosen t), over a pale backdrop of the two-moons data, with the path of one starting point x_T "
           "that you can drag.")
    return sampler_demo(fallback, step, sliders=[slider], steps="steps", times=times, extent=extent, ref=ref, n=n,
                        start=(-1.6, 1.4), alt=alt, colors=colors,
                        title="reverse chain (η = 1) stopped at t = {steps}; drag the ringed x_T")
