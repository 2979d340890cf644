"""Figures, slider demos and trained models of chapter 10 (autoregressive models), on ``gencore.autoregressive``.

Book: ``book/10_autoregressive.ipynb``.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import NullFormatter
import torch

from .. import shifted_seed
from .. import autoregressive as A
from .. import data, metrics, viz, widgets
from ..quadrature import grid_log_prob
from ..train import History, fit

__all__ = ["EXTENT", "BOX", "ARRun", "fit_ar", "train_moons", "NLLReport", "nll_report", "conditional_slider",
           "bins_runs", "bins_slider", "ordering_runs", "ordering_table", "ordering_slider", "BarsRun",
           "train_bars", "bars_figure", "count_passes", "sampling_times", "timing_figure", "gallery_sampler"]

EXTENT = (-3.5, 3.5, -2.5, 2.5)  # plotting and quadrature box for "moons" (chapter 5's)
BOX = (-3.5, 3.5)  # the bins of a discretized conditional cover this interval
PARABOLA_EXTENT = (-3.0, 3.0, -2.0, 4.0)


@dataclass
class ARRun:
    """A fitted :class:`~gencore.autoregressive.AR2D` (float32), its float64 copy and its history."""

    model: A.AR2D
    history: History
    snapshots: list

    @property
    def model64(self) -> A.AR2D:
        return copy.deepcopy(self.model).double()


def fit_ar(x: torch.Tensor, *, order=(0, 1), kind: str = "mdn", components: int = 8, bins: int = 32,
           hidden: int = 32, steps: int = 600, lr: float = 1e-2, seed: int = 0, snapshot_every: int = 0,
           progress: bool = True, desc: str | None = None) -> ARRun:
    """Exact maximum likelihood, full batch: minimize ``-mean log q(x)`` over the training set ``x (N, 2)``.

    Trains in float32 whatever ``x``'s dtype. With ``snapshot_every > 0`` keeps float64 copies
    of the model every that many steps (for a training-snapshot slider).
    """
    torch.manual_seed(shifted_seed(seed))
    x = x.float()
    model = A.AR2D(order, kind=kind, components=components, bins=bins, box=BOX, hidden=hidden, dtype=torch.float32)
    snaps = []

    def snap(step):
        return copy.deepcopy(model).double()

    hist = fit(lambda step: -model.log_prob(x).mean(), model, steps, lr=lr, progress=progress,
               snapshot_fn=snap if snapshot_every else None, snapshot_every=max(snapshot_every, 1),
               desc=desc or f"AR {kind}, order {order}")
    return ARRun(model, hist, hist.snapshots)


def train_moons(n_train: int = 2000, n_test: int = 20_000, seed: int = 0, progress: bool = True, **kw):
    """The chapter's main model: a mixture-density AR model fitted to ``n_train`` samples of "moons".

    Returns ``(run, p, x_train, x_test)``.
    """
    p = data.make("moons", dtype=torch.float64)
    g = torch.Generator().manual_seed(shifted_seed(seed))
    x_train, x_test = p.sample((n_train,), generator=g), p.sample((n_test,), generator=g)
    run = fit_ar(x_train, seed=seed, progress=progress, desc="AR model (MDN), maximum likelihood", **kw)
    return run, p, x_train, x_test


@dataclass(frozen=True)
class NLLReport:
    """Exact quality of a fitted density on "moons" (nats)."""

    entropy: float
    cross_entropy: float
    test_nll: float
    test_nll_se: float

    @property
    def kl(self) -> float:
        return self.cross_entropy - self.entropy

    def text(self) -> str:
        return (f"data entropy H(p)            = {self.entropy:.4f} nats  (quadrature)\n"
                f"model cross-entropy H(p, q)  = {self.cross_entropy:.4f} nats  (quadrature: exact expected NLL)\n"
                f"test NLL (Monte Carlo)       = {self.test_nll:.4f} ± {self.test_nll_se:.4f} nats\n"
                f"gap KL(p‖q) = H(p, q) − H(p) = {self.kl:.4f} nats")


def nll_report(model: A.AR2D, p, x_test: torch.Tensor, extent=EXTENT, resolution: int = 300) -> NLLReport:
    """Entropy and cross-entropy by quadrature (float64) and the Monte Carlo test NLL."""
    m64 = copy.deepcopy(model).double()
    H = metrics.entropy_on_grid(p.log_prob, extent, resolution).item()
    CE = metrics.cross_entropy_on_grid(p.log_prob, m64.log_prob, extent, resolution).item()
    with torch.no_grad():
        nll = -m64.log_prob(x_test.double())
    return NLLReport(H, CE, nll.mean().item(), (nll.std() / math.sqrt(len(nll))).item())


def _img(log_prob, extent, resolution):
    _, v, _ = grid_log_prob(log_prob, extent, resolution, dtype=torch.float64)
    return v.exp().reshape(resolution, resolution).numpy()


def _show(ax, img, extent, vmax=None):
    ax.imshow(img, origin="lower", extent=tuple(extent), cmap=viz.DENSITY_CMAP, vmin=0.0, vmax=vmax,
              aspect="equal", interpolation="bilinear")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.grid(False)


def _true_conditional(p, x1: float, ys: torch.Tensor) -> torch.Tensor:
    """p(x2 | x1) on the 1D grid ``ys`` (normalized numerically along the line)."""
    pts = torch.stack([torch.full_like(ys, x1), ys], -1)
    lp = p.log_prob(pts)
    dy = (ys[1] - ys[0]).item()
    return (lp - torch.logsumexp(lp, 0) - math.log(dy)).exp()


def conditional_slider(model: A.AR2D, p, x1s=None, extent=EXTENT, resolution: int = 120) -> widgets.SliderDemo:
    r"""Slice the learned density at :math:`x_1`: the model's :math:`q(x_2 \mid x_1)` against the true :math:`p(x_2 \mid x_1)`."""
    x1s = [round(v, 2) for v in np.linspace(-2.25, 2.25, 19)] if x1s is None else x1s
    m64 = copy.deepcopy(model).double()
    img = _img(m64.log_prob, extent, resolution)
    ys = torch.linspace(extent[2], extent[3], 400, dtype=torch.float64)
    with torch.no_grad():
        curves = {x1: (m64.conditional_log_prob(ys, x1).exp().numpy(), _true_conditional(p, x1, ys).numpy())
                  for x1 in x1s}
    ymax = 1.05 * max(max(q.max(), t.max()) for q, t in curves.values())

    def draw(fig, x1):
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw=dict(width_ratios=(1.4, 1)))
        _show(ax1, img, extent)
        ax1.axvline(x1, color="white", lw=1.5, ls="--")
        viz.panel_title(ax1, "model density q(x₁, x₂)")
        q, t = curves[x1]
        viz.curve(ax2, ys, t, role="p", label="true p(x₂ | x₁)", lw=1.5)
        viz.curve(ax2, ys, q, role="q", label="model q(x₂ | x₁)", lw=1.5, ls="--")
        ax2.set_xlim(extent[2], extent[3])
        ax2.set_ylim(0, ymax)
        ax2.set_xlabel("x₂")
        ax2.legend(loc="upper left")
        viz.panel_title(ax2, f"conditional at x₁ = {x1:+.2f}")

    return widgets.slider(draw, figsize=(8.6, 3.0), x1=widgets.Param(tuple(x1s), "x₁", "{:+.2f}"))


def bins_runs(x_train: torch.Tensor, bins=(8, 16, 32, 64), steps: int = 400, seed: int = 0,
              progress: bool = True) -> dict[int, ARRun]:
    """One discretized AR model per number of bins, each fitted by maximum likelihood."""
    return {B: fit_ar(x_train, kind="bins", bins=B, steps=steps, seed=seed, progress=progress,
                      desc=f"AR model, {B} bins") for B in bins}


def bins_slider(runs: dict[int, ARRun], reports: dict[int, NLLReport], mdn_report: NLLReport, x1: float = 0.5,
                extent=EXTENT, resolution: int = 140) -> widgets.SliderDemo:
    """Number of bins: the piecewise-constant density and one conditional slice, with the exact NLL."""
    ys = torch.linspace(extent[2], extent[3], 700, dtype=torch.float64)
    frames = {}
    for B, run in runs.items():
        m = run.model64
        with torch.no_grad():
            frames[B] = (_img(m.log_prob, extent, resolution), m.conditional_log_prob(ys, x1).exp().numpy())
    ymax = 1.05 * max(c.max() for _, c in frames.values())

    def draw(fig, B):
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw=dict(width_ratios=(1.4, 1)))
        img, cond = frames[B]
        _show(ax1, img, extent)
        ax1.axvline(x1, color="white", lw=1, ls="--")
        viz.panel_title(ax1, f"{B} bins: H(p, q) = {reports[B].cross_entropy:.3f} nats")
        viz.curve(ax2, ys, cond, role="q", lw=1.2, label=f"q(x₂ | x₁ = {x1})")
        ax2.set_xlim(-2, 2)
        ax2.set_ylim(0, ymax)
        ax2.set_xlabel("x₂")
        ax2.legend(loc="upper left")
        viz.panel_title(ax2, f"MDN: {mdn_report.cross_entropy:.3f} nats; H(p) = {mdn_report.entropy:.3f}")

    values = tuple(runs)
    return widgets.slider(draw, figsize=(8.6, 3.0), B=widgets.Param(values, "bins B", "{:d}", start=len(values) - 2))


def ordering_runs(n_train: int = 2000, components=(1, 5), steps: int = 400, seed: int = 0, progress: bool = True):
    """MDN AR models on :class:`~gencore.autoregressive.Parabola` for both orders and each ``K``.

    Returns ``(runs, p, x_test)`` with ``runs[(order, K)]``.
    """
    p = A.Parabola()
    g = torch.Generator().manual_seed(shifted_seed(seed))
    x_train, x_test = p.sample((n_train,), generator=g), p.sample((20_000,), generator=g)
    runs = {(order, K): fit_ar(x_train, order=order, components=K, steps=steps, seed=seed, progress=progress,
                               desc=f"order {order}, K = {K}")
            for order in ((0, 1), (1, 0)) for K in components}
    return runs, p, x_test


def ordering_table(runs, p, x_test, extent=PARABOLA_EXTENT, resolution: int = 300) -> dict:
    """Exact KL(p‖q) (quadrature) and test NLL of each ordering run; ``{(order, K): (kl, nll)}``."""
    H = metrics.entropy_on_grid(p.log_prob, extent, resolution).item()
    out = {}
    for key, run in runs.items():
        m = run.model64
        CE = metrics.cross_entropy_on_grid(p.log_prob, m.log_prob, extent, resolution).item()
        with torch.no_grad():
            nll = -m.log_prob(x_test).mean().item()
        out[key] = (CE - H, nll)
    return out


def ordering_slider(runs, table, p, extent=PARABOLA_EXTENT, resolution: int = 120) -> widgets.SliderDemo:
    """The ordering and the number of mixture components: the learned density next to the truth."""
    truth = _img(p.log_prob, extent, resolution)
    imgs = {k: _img(r.model64.log_prob, extent, resolution) for k, r in runs.items()}
    vmax = truth.max()
    names = {"x₁ → x₂": (0, 1), "x₂ → x₁": (1, 0)}
    Ks = tuple(sorted({k for _, k in runs}))

    def draw(fig, ordering, K):
        order = names[ordering]
        ax1, ax2 = widgets.panels(fig, 2)
        _show(ax1, truth, extent, vmax)
        viz.panel_title(ax1, "true density p")
        _show(ax2, imgs[(order, K)], extent, vmax)
        viz.panel_title(ax2, f"{ordering}, K = {K}: KL(p‖q) = {table[(order, K)][0]:.3f}")

    return widgets.slider(draw, figsize=(7.0, 3.4),
                          ordering=widgets.Param(tuple(names), "ordering", "{}", start=1),
                          K=widgets.Param(Ks, "components K", "{:d}", start=0))


@dataclass
class BarsRun:
    data: A.BarsImages
    made: A.MADE
    factorized: A.FactorizedBernoulli
    x_test: torch.Tensor
    nll_made: float
    nll_factorized: float


def train_bars(side: int = 6, n_train: int = 2000, steps: int = 300, hidden: int = 128, seed: int = 0,
               progress: bool = True) -> BarsRun:
    """MADE and an independent-pixel model, both fitted by maximum likelihood to bars images."""
    torch.manual_seed(shifted_seed(seed))
    d = A.BarsImages(side)
    g = torch.Generator().manual_seed(shifted_seed(seed))
    x, x_test = d.sample(n_train, g), d.sample(5000, g)
    made, fac = A.MADE(d.dim, hidden, dtype=torch.float32), A.FactorizedBernoulli(d.dim, dtype=torch.float32)
    fit(lambda s: -made.log_prob(x).mean(), made, steps, lr=5e-3, progress=progress, desc="MADE (teacher forcing)")
    fit(lambda s: -fac.log_prob(x).mean(), fac, 200, lr=5e-2, progress=progress, desc="independent pixels")
    with torch.no_grad():
        return BarsRun(d, made, fac, x_test, -made.log_prob(x_test).mean().item(), -fac.log_prob(x_test).mean().item())


def bars_figure(run: BarsRun, n: int = 8, seed: int = 1):
    """Rows: data, MADE samples (D passes), independent-pixel samples (one pass), greedy decoding."""
    g = torch.Generator().manual_seed(shifted_seed(seed))
    rows = [("data", run.data.sample(n, g)), ("MADE, sampled", run.made.sample(n, g)),
            ("independent pixels", run.factorized.sample(n, g)), ("MADE, greedy", run.made.sample(n, greedy=True))]
    s = run.data.side
    fig, axes = viz.figure(n, len(rows), width=0.9, height=1.0)
    for r, (name, x) in enumerate(rows):
        lp = run.data.log_prob(x)
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(x[c].reshape(s, s).numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_visible(True)
                sp.set_color(viz.COLORS["q"] if lp[c] == -math.inf else viz.COLORS["grey"])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    return fig


def count_passes(model: A.MADE, n: int = 4) -> int:
    """How many forward passes ``model.sample(n)`` makes (counted with a hook)."""
    count = [0]
    handle = model.register_forward_hook(lambda *a: count.__setitem__(0, count[0] + 1))
    try:
        model.sample(n)
    finally:
        handle.remove()
    return count[0]


def sampling_times(sides=(4, 8, 12, 16, 24), n: int = 64, hidden: int = 256, repeats: int = 3, seed: int = 0):
    """Seconds per batch of ``n`` samples: MADE's ``D``-pass sampler vs one pass of the same net.

    Returns a list of ``(side, D, t_sequential, t_one_pass)`` (best of ``repeats``). The weights
    are untrained: the cost does not depend on them.
    """
    torch.manual_seed(shifted_seed(seed))
    rows = []
    for s in sides:
        m = A.MADE(s * s, hidden, dtype=torch.float32)
        x = torch.zeros(n, s * s, dtype=torch.float32)

        def best(fn):
            out = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
            return min(out)

        with torch.no_grad():
            rows.append((s, s * s, best(lambda: m.sample(n)), best(lambda: m(x))))
    return rows


def timing_figure(rows):
    """Sampling time against the number of pixels, log-log, sequential vs one pass."""
    D = [r[1] for r in rows]
    fig, (ax1, ax2) = viz.figure(2, width=3.9, height=3.0)
    viz.curve(ax1, D, [1000 * r[2] for r in rows], role="q", label="autoregressive: D passes", marker="o")
    viz.curve(ax1, D, [1000 * r[3] for r in rows], role="aux", label="one pass of the same net", marker="s")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("pixels D")
    ax1.set_ylabel("ms per batch of 64")
    ax1.legend(loc="upper left")
    viz.panel_title(ax1, "sampling time")
    viz.curve(ax2, D, [r[2] / r[3] for r in rows], role="q", marker="o", label="measured ratio")
    viz.curve(ax2, D, D, role="grey", lw=1, ls="--", label="D")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("pixels D")
    ax2.legend(loc="upper left")
    for ax in (ax1, ax2):
        ax.set_xticks(D)
        ax.set_xticklabels([str(d) for d in D])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax2.set_yticks([10, 30, 100, 300, 1000])
    ax2.set_yticklabels(["10", "30", "100", "300", "1000"])
    viz.panel_title(ax2, "slowdown: sequential / one pass")
    return fig


def gallery_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 10 for chapter 0's gallery: an MDN autoregressive model fitted to ``train``, sampled.

    Trains in float32 (fixed seed, 400 full-batch steps on at most 2000 points) and returns
    ``(n, 2)`` samples in ``train``'s dtype.
    """
    run = fit_ar(train[:2000], steps=400, seed=0, progress=False)
    with torch.no_grad():
        return run.model.sample(n, generator).to(train.dtype)
