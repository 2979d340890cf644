"""Chapter 9's live demos: the learned velocity field integrated in the reader's browser.

:class:`ODEStep` is one Euler or midpoint step of :func:`gencore.flow_matching.sample_ode` over
``[t, t_prev]`` (``t_prev`` is the page's name for the next time; here it is later, the flow runs
from noise at 0 to data at 1), :class:`CFGStep` the same with classifier-free guidance's velocity
:func:`gencore.flow_matching.cfg_velocity` (the weight ``w`` and the class ``y`` are inputs).
Both hand ``sample_ode`` one unit step of the velocity rescaled to the interval, so the update
rules traced are gencore's own; :func:`gencore.live.export_step` exports them.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import flow_matching as F
from .live import LiveDemo, Slider, sampler_demo
from .tensors import in_range, positive, positive_int, validate

__all__ = ["ODEStep", "ode_live", "CFGStep", "cfg_live"]

SOLVERS = ("euler", "midpoint")


def _copy(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module velocity network; got {type(model).__name__}")
    return copy.deepcopy(model).to("cpu", torch.float32).eval()


def _one_step(velocity, x, t, t_next, method: str):
    """``sample_ode`` over ``[t, t_next]`` in one step: the velocity on the unit interval ``s`` is
    :math:`h\\,v(x, t + s h)`, ``h = t_next - t``, so one unit step of it is one step of size h of v."""
    h = t_next - t
    return F.sample_ode(lambda y, s: h * velocity(y, t + s * h), x, 1, method)


class ODEStep(nn.Module):
    r"""One step of the flow :math:`\dot x = v_\theta(x, t)` from ``t`` to ``t_prev`` (the next time),
    by Euler's rule (``method`` 0) or the midpoint rule (``method`` 1), as :func:`gencore.flow_matching.sample_ode`.

    ``forward(x (N, 2), t, t_prev (float32 scalars), method (int64 scalar))``. Both rules are
    traced and ``method`` picks one (the graph cannot branch), so a step costs three evaluations.
    """

    input_names = ("x", "t", "t_prev", "method")

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = _copy(model)

    def forward(self, x, t, t_prev, method):
        euler, mid = (_one_step(self.model, x, t, t_prev, m) for m in SOLVERS)
        return torch.where(method == 1, mid, euler)

    def example(self, n: int = 8) -> tuple:
        g = torch.Generator().manual_seed(0)
        f32 = dict(dtype=torch.float32)
        return (torch.randn(n, 2, generator=g, **f32), torch.tensor(0.25, **f32), torch.tensor(0.5, **f32),
                torch.tensor(1))


def _unit_times(k: int) -> list[float]:
    return [i / k for i in range(k + 1)]


def ode_live(fallback, model: nn.Module, ref: torch.Tensor, extent, colors: dict | None = None,
             max_steps: int = 50, n: int = 1000) -> LiveDemo:
    """The flow's samples live: ``n`` noise points integrated from t = 0 to 1 in any number of equal
    steps from 1 to ``max_steps`` by Euler's or the midpoint rule, with the ODE path of one dragged
    start point :math:`x_0`. ``ref``: the data, pale behind; ``fallback``: the frames' slider;
    ``extent``: the plotted box; ``colors``: CSS colours of ``"ref"``, ``"x"`` and ``"path"``."""
    step = ODEStep(model)
    validate("ref", ref, ndim=2, last_dim=2)
    in_range("n", positive_int("n", n), 1, 5000)
    in_range("max_steps", positive_int("max_steps", max_steps, minimum=2), 2, 1000)
    sliders = [Slider("steps", "steps", 1, max_steps, 1, min(8, max_steps), digits=0),
               Slider("method", "rule", 0, 1, 1, 0, labels=("Euler", "midpoint"), dtype="int64")]
    times = {k: _unit_times(k) for k in range(1, max_steps + 1)}
    alt = ("Flow-matching samples (live: computed in your browser for the chosen number of ODE steps and "
           "rule) over a pale backdrop of the two-moons data, with the ODE path of one noise point x_0 that "
           "you can drag.")
    return sampler_demo(fallback, step, sliders=sliders, steps="steps", times=times, extent=extent, ref=ref, n=n,
                        start=(1.5, 1.2), alt=alt, colors=colors,
                        title="{method}, {steps} steps from noise (t = 0) to data (t = 1); drag the ringed x_0")


class CFGStep(nn.Module):
    r"""One midpoint step of classifier-free guidance's velocity :func:`gencore.flow_matching.cfg_velocity`
    of the conditional ``model(x, t, y)``: ``forward(x (N, 2), t, t_prev, w (float32 scalars), y (int64 scalar))``."""

    input_names = ("x", "t", "t_prev", "w", "y")

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = _copy(model)

    def forward(self, x, t, t_prev, w, y):
        return _one_step(F.cfg_velocity(self.model, y, w), x, t, t_prev, "midpoint")

    def example(self, n: int = 8) -> tuple:
        g = torch.Generator().manual_seed(0)
        f32 = dict(dtype=torch.float32)
        return (torch.randn(n, 2, generator=g, **f32), torch.tensor(0.25, **f32), torch.tensor(0.5, **f32),
                torch.tensor(1.5, **f32), torch.tensor(1))


def cfg_live(fallback, model: nn.Module, n_classes: int, ref: torch.Tensor, extent, colors: dict | None = None,
             steps: int = 8, max_w: float = 6.0, n: int = 1000) -> LiveDemo:
    """Classifier-free guidance live: ``n`` noise points integrated by ``steps`` midpoint steps of the
    guided velocity for any weight ``w`` in ``[0, max_w]`` and any class of ``n_classes``, with the
    path of one dragged start point. ``ref``: samples of every class, pale behind; the rest as :func:`ode_live`."""
    step = CFGStep(model)
    validate("ref", ref, ndim=2, last_dim=2)
    in_range("n", positive_int("n", n), 1, 5000)
    in_range("n_classes", positive_int("n_classes", n_classes), 1, 64)
    in_range("steps", positive_int("steps", steps), 1, 1000)
    positive("max_w", max_w)
    sliders = [Slider("w", "guidance weight w", 0.0, float(max_w), 0.05, 1.0, digits=2),
               Slider("y", "class y", 0, n_classes - 1, 1, min(1, n_classes - 1), digits=0,
                      labels=tuple(str(k) for k in range(n_classes)), dtype="int64")]
    alt = ("Samples of one class under classifier-free guidance (live: computed in your browser for the chosen "
           "weight w and class), over pale samples of all classes, with the path of one noise point that you "
           "can drag.")
    return sampler_demo(fallback, step, sliders=sliders, steps=steps, times={steps: _unit_times(steps)}, extent=extent,
                        ref=ref, n=n, start=(-2.0, -2.0), alt=alt, colors=colors,
                        title="class {y}, guidance w = {w}, %d midpoint steps; drag the ringed x_0" % steps)
