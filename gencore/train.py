"""One training loop for the whole book, with a progress line that looks right everywhere.

:func:`fit` runs ``steps`` optimizer steps of a loss you write as a function of the step
number, keeps the history of losses and of any metrics you ask for, snapshots whatever you
want to slide over later (parameters, samples), and optionally an exponential moving average
(EMA) of the parameters for sampling. It knows no chapter and no device: the parameters
decide where the computation runs.

Progress: in a terminal, a ``tqdm`` bar. In a notebook kernel, one output line in the same
format, updated in place through a display handle (at most ten times a second). Unlike a
``tqdm.notebook`` widget, that line is plain HTML, so the executed notebook -- and the static
website built from it -- shows the finished line, not a dead widget or the bar's first frame.
"""
from __future__ import annotations

import copy
import html
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch import nn

from .tensors import positive, positive_int

__all__ = ["Progress", "History", "EMA", "fit", "linear_decay"]


@dataclass
class History:
    """What :func:`fit` records.

    Attributes:
        loss: the loss at every step.
        metrics: name -> list of ``(step, value)`` pairs, every ``metric_every`` steps.
        snapshots: list of ``(step, object)`` pairs returned by ``snapshot_fn``.
        seconds: wall time of the whole loop.
    """

    loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    snapshots: list[tuple[int, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """Steps and values of one metric, ready to plot."""
        if name not in self.metrics:
            raise ValueError(f"name must be a recorded metric, one of {list(self.metrics)}; got {name!r}")
        steps, values = zip(*self.metrics[name]) if self.metrics[name] else ((), ())
        return list(steps), list(values)


class EMA:
    r"""Exponential moving average of parameters: :math:`\bar\theta \leftarrow d\,\bar\theta + (1-d)\,\theta`.

    Args:
        module: the model being trained; the average lives in ``self.module``, a deep copy.
        decay: ``d`` in ``[0, 1)``.

    Example:
        >>> net = torch.nn.Linear(1, 1, bias=False)
        >>> _ = torch.nn.init.zeros_(net.weight); ema = EMA(net, decay=0.5)
        >>> _ = torch.nn.init.ones_(net.weight); ema.update(net)
        >>> ema.module.weight.item()  # 0.5 * 0 + 0.5 * 1
        0.5
    """

    def __init__(self, module: nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1); got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(module).requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        for avg, p in zip(self.module.parameters(), module.parameters()):
            avg.lerp_(p.detach(), 1.0 - self.decay)
        for avg, b in zip(self.module.buffers(), module.buffers()):
            avg.copy_(b)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Progress:
    """A progress line: ``tqdm`` in a terminal, an in-place HTML line in a notebook kernel.

    ``Progress(total, desc, enabled)``, then ``update(n, postfix, final=False)``; every training
    loop of the book (:func:`fit` and the chapters' batched trainers) reports through it.
    """

    def __init__(self, total: int, desc: str, enabled: bool):
        self.total, self.desc, self.enabled = total, desc, enabled
        self.start = time.perf_counter()
        self.last = -math.inf
        self.handle = None
        self.bar = None
        if not enabled:
            return
        if _in_kernel():
            from IPython.display import display

            self.handle = display(self._html(0, ""), display_id=True)
        else:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, leave=True)

    def _html(self, n: int, postfix: str) -> "_Line":
        from tqdm import tqdm

        return _Line(tqdm.format_meter(n, self.total, time.perf_counter() - self.start, ncols=80,
                                       prefix=self.desc, postfix=postfix or None))

    def update(self, n: int, postfix: str, final: bool = False) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.n = n
            self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.refresh()
            if final:
                self.bar.close()
            return
        now = time.perf_counter()
        if final or now - self.last > 0.1:
            self.last = now
            self.handle.update(self._html(n, postfix))


class _Line:
    """One progress line for a notebook: HTML in the page, the same line as plain text where a
    front end or the printed book cannot show HTML (not an ``<IPython ... HTML object>``)."""

    def __init__(self, line: str):
        self.line = line

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": f"<pre style='margin:0'>{html.escape(self.line)}</pre>", "text/plain": self.line}


def _fused(fused: bool, params: list) -> dict:
    """``{"fused": True}`` where torch has a fused Adam for these parameters' device, else ``{}``."""
    device = params[0].device.type
    new_enough = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)
    return {"fused": True} if fused and (device == "cuda" or (device == "cpu" and new_enough)) else {}


def fit(
    loss_fn: Callable[[int], torch.Tensor],
    params: nn.Module | Iterable[torch.Tensor],
    steps: int,
    *,
    lr: float = 1e-2,
    optimizer: str = "adam",
    metric_fn: Callable[[int], dict[str, float]] | None = None,
    metric_every: int = 100,
    snapshot_fn: Callable[[int], Any] | None = None,
    snapshot_every: int = 100,
    ema: EMA | None = None,
    clip_grad: float | None = None,
    progress: bool = True,
    desc: str = "training",
    lr_schedule: Callable[[int], float] | None = None,
    fused: bool = False,
) -> History:
    """Minimize ``loss_fn(step)`` over ``params`` for ``steps`` steps.

    Args:
        loss_fn: returns the scalar loss for step ``step`` (it samples its own minibatch).
        params: an ``nn.Module`` or an iterable of tensors with ``requires_grad``.
        steps: number of optimizer steps.
        lr: learning rate.
        optimizer: ``"adam"`` or ``"sgd"``.
        metric_fn: returns ``{name: value}``; called at step 0, every ``metric_every`` steps,
            and after the last step (under ``torch.no_grad``).
        snapshot_fn: returns anything to keep (e.g. samples); called like ``metric_fn``
            but every ``snapshot_every`` steps.
        ema: an :class:`EMA` updated after every step.
        clip_grad: clip the global gradient norm to this value.
        progress: show the progress line.
        lr_schedule: ``lr_schedule(step)`` multiplies ``lr`` at step ``step`` (1 to ``steps``),
            e.g. a decay to zero over the last steps; ``None``: a constant learning rate.
        fused: Adam as one fused kernel per parameter tensor (torch's ``fused=True``): the same
            update up to rounding, and several times faster on a CPU for a model made of many
            small tensors. Needs torch 2.4 or later on a CPU (earlier versions use the plain Adam).

    Returns:
        A :class:`History`.
    """
    positive_int("steps", steps)
    positive("lr", lr)
    positive_int("metric_every", metric_every)
    positive_int("snapshot_every", snapshot_every)
    plist = list(params.parameters() if isinstance(params, nn.Module) else params)
    if not plist:
        raise ValueError("params must contain at least one tensor to optimize")
    if not all(p.requires_grad for p in plist):
        raise ValueError("params must all have requires_grad=True")
    if ema is not None and not isinstance(params, nn.Module):
        raise ValueError("ema needs params to be the nn.Module it averages")
    if optimizer == "adam":
        opt = torch.optim.Adam(plist, lr=lr, **_fused(fused, plist))
    elif optimizer == "sgd":
        opt = torch.optim.SGD(plist, lr=lr)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd'; got {optimizer!r}")

    hist = History()
    bar = Progress(steps, desc, progress)
    t0 = time.perf_counter()

    def record(step: int) -> None:
        with torch.no_grad():
            if metric_fn is not None and (step % metric_every == 0 or step == steps):
                for name, value in metric_fn(step).items():
                    hist.metrics.setdefault(name, []).append((step, float(value)))
            if snapshot_fn is not None and (step % snapshot_every == 0 or step == steps):
                hist.snapshots.append((step, snapshot_fn(step)))

    record(0)
    for step in range(1, steps + 1):
        if lr_schedule is not None:
            for group in opt.param_groups:
                group["lr"] = lr * float(lr_schedule(step))
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(step)
        if loss.ndim != 0:
            raise ValueError(f"loss_fn must return a scalar tensor; got shape {tuple(loss.shape)}")
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} at step {step}; lower lr?")
        loss.backward()
        if clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(plist, clip_grad)
        opt.step()
        if ema is not None:
            ema.update(params)
        hist.loss.append(loss.item())
        record(step)
        bar.update(step, f"loss={hist.loss[-1]:.4g}", final=step == steps)
    hist.seconds = time.perf_counter() - t0
    return hist


def linear_decay(steps: int, start: float) -> Callable[[int], float]:
    """A learning-rate schedule for :func:`fit`: the factor 1 up to step ``start * steps``, then
    falling linearly to 0 at step ``steps``.

    Example:
        >>> f = linear_decay(100, 0.5)
        >>> [f(s) for s in (1, 50, 75, 100)]
        [1.0, 1.0, 0.5, 0.0]
    """
    positive_int("steps", steps)
    if not 0.0 <= start < 1.0:  # also rejects NaN
        raise ValueError(f"start (the fraction of steps at the full rate) must lie in [0, 1); got {start}")
    return lambda step: min(1.0, (steps - step) / (steps - start * steps))
