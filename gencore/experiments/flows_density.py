"""Chapter 5's density estimation (normalizing flows): a coupling flow fitted by maximum likelihood
to samples of "moons", and its exact quality by quadrature.

Re-exported by :mod:`gencore.experiments.flows` (chapter 5 calls it ``run``).

Book: ``book/05_flows.ipynb``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from .. import data, metrics
from .. import flows as Fl
from ..tensors import rng_device
from ..train import EMA, fit, linear_decay

__all__ = ["moons_entropy", "DensityRun", "fit_coupling", "train_coupling", "CouplingResult", "coupling_report"]


def moons_entropy(noise: float, n: int = 20_000, generator: torch.Generator | None = None) -> tuple[float, float]:
    r"""Monte Carlo entropy :math:`-\frac1n\sum\log p(x_i)` of "moons" with the given noise, and its standard error."""
    p = data.make("moons", noise=noise, dtype=torch.float64)
    lp = p.log_prob(p.sample((n,), generator=generator))
    return -lp.mean().item(), (lp.std() / math.sqrt(n)).item()


@dataclass
class DensityRun:
    """A coupling flow fitted by maximum likelihood, with its data."""

    flow: Fl.Flow
    data: object
    x_train: torch.Tensor
    x_test: torch.Tensor
    history: object

    def flow64(self) -> Fl.Flow:
        """A float64 copy of the fitted flow (for quadrature and plots)."""
        base = Fl.normal_base(dtype=torch.float64, device=self.x_test.device)
        return Fl.Flow([copy.deepcopy(f).double() for f in self.flow.layers], base)


def fit_coupling(x_train: torch.Tensor, *, layers: int = 8, hidden: int = 64, steps: int = 1500, batch: int = 512,
                 lr: float = 5e-3, decay_start: float | None = None, ema_decay: float = 0.99, fused: bool = False,
                 generator: torch.Generator | None = None, metric_fn=None, progress: bool = True):
    """A RealNVP-style flow (alternating masks) fitted by maximum likelihood to ``x_train`` ``(N, 2)``.

    Layers initialized and minibatches of ``batch`` rows drawn with ``generator`` (torch's global
    one if ``None``); the flow lives on ``x_train``'s device and dtype. The learning rate is ``lr``,
    or with ``decay_start`` ``lr`` for that fraction of the steps, then falling linearly to zero;
    ``fused``: fused Adam (``gencore.train.fit``). Returns ``(ema_flow, history)``: the weights'
    moving average (``ema_decay``) and the history, with ``metric_fn(ema_flow)`` every 100 steps.
    """
    masks = ([1.0, 0.0], [0.0, 1.0])
    base = Fl.normal_base(dtype=x_train.dtype, device=x_train.device)
    model = Fl.Flow([Fl.AffineCoupling(2, hidden, masks[i % 2], dtype=x_train.dtype, device=x_train.device,
                                       generator=generator) for i in range(layers)], base)
    ema = _ListedEMA(model, decay=ema_decay)

    def loss(step):
        idx = torch.randint(len(x_train), (batch,), generator=generator, device=rng_device(generator, x_train))
        idx = idx.to(x_train.device)
        return -model.log_prob(x_train[idx]).mean()

    schedule = None if decay_start is None else linear_decay(steps, decay_start)
    tracked = None if metric_fn is None else (lambda step: metric_fn(ema.module))
    history = fit(loss, model, steps, lr=lr, ema=ema, metric_fn=tracked, metric_every=100, lr_schedule=schedule,
                  fused=fused, progress=progress, desc="coupling flow, maximum likelihood")
    return ema.module, history


class _ListedEMA(EMA):
    """:class:`gencore.train.EMA`, the same average, with the pairs of parameters (and buffers) listed
    once instead of found by walking both modules at every step (a tenth of this flow's training)."""

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        if getattr(self, "_of", None) is not module:
            self._of, self._pairs = module, list(zip(self.module.parameters(), module.parameters()))
            self._buffers = list(zip(self.module.buffers(), module.buffers()))
        for avg, p in self._pairs:
            avg.lerp_(p.detach(), 1.0 - self.decay)
        for avg, b in self._buffers:
            avg.copy_(b)


def train_coupling(dataset: str = "moons", *, layers: int = 8, hidden: int = 64, steps: int = 1500,
                   batch: int = 512, lr: float = 5e-3, decay_start: float | None = None, n_train: int = 20_000,
                   n_test: int = 20_000, ema_decay: float = 0.99, fused: bool = True,
                   generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32, device=None,
                   progress: bool = True) -> DensityRun:
    """:func:`fit_coupling` on ``n_train`` samples of ``dataset`` (in ``dtype``, on ``device``), with the
    held-out NLL on ``n_test`` other samples tracked every 100 steps; all draws from ``generator``.
    """
    p = data.make(dataset, dtype=dtype, device=device)
    x_train, x_test = p.sample((n_train,), generator=generator), p.sample((n_test,), generator=generator)
    flow, history = fit_coupling(x_train, layers=layers, hidden=hidden, steps=steps, batch=batch, lr=lr,
                                 decay_start=decay_start, ema_decay=ema_decay, fused=fused, generator=generator,
                                 progress=progress, metric_fn=lambda f: {"test NLL": -f.log_prob(x_test).mean()})
    return DensityRun(flow, p, x_train, x_test, history)


@dataclass(frozen=True)
class CouplingResult:
    """Exact and Monte Carlo quality of a fitted density (all in nats)."""

    entropy: float
    cross_entropy: float
    test_nll: float
    test_nll_se: float
    text: str

    @property
    def kl(self) -> float:
        """KL(p_data‖q) = H(p, q) − H(p), by quadrature."""
        return self.cross_entropy - self.entropy


def coupling_report(run: DensityRun, extent=(-3.5, 3.5, -2.5, 2.5), resolution: int = 300) -> CouplingResult:
    r"""Entropy :math:`H(p)` and cross-entropy :math:`H(p, q)` by quadrature (float64), and the test NLL."""
    flow64, on = run.flow64(), dict(device=run.x_test.device)
    H = metrics.entropy_on_grid(run.data.log_prob, extent, resolution, **on).item()
    CE = metrics.cross_entropy_on_grid(run.data.log_prob, flow64.log_prob, extent, resolution, **on).item()
    with torch.no_grad():
        nll = -run.flow.log_prob(run.x_test)
    mean, se = nll.mean().item(), (nll.std() / math.sqrt(len(nll))).item()
    text = (f"data entropy H(p)              = {H:.4f} nats  (quadrature)\n"
            f"model cross-entropy H(p, q)    = {CE:.4f} nats  (quadrature: the exact expected test NLL)\n"
            f"test NLL on {len(nll)} samples   = {mean:.4f} ± {se:.4f} nats  (Monte Carlo)\n"
            f"gap H(p, q) − H(p) = KL(p‖q)   = {CE - H:.4f} nats")
    return CouplingResult(H, CE, mean, se, text)
