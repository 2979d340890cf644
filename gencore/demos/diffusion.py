"""Figures, slider demos and the trained model of chapter 6 (DDPM and DDIM), on ``gencore.diffusion``.

Book: ``book/06_diffusion.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import shifted_seed
from .. import diffusion as D
from .. import metrics, viz, widgets
from ..train import EMA, History, fit

__all__ = ["EXTENT", "train_denoiser", "min_simple_loss", "kde_log_prob", "kl_smoothed", "Quality",
           "quality", "forward_slider", "reverse_slider", "ddim_slider", "samples_figure",
           "weights_figure", "loss_figure", "quality_figure", "posterior_on_grid"]

EXTENT = (-3.2, 3.2, -2.2, 2.2)  # the plotting (and KL quadrature) box for "moons"


def train_denoiser(data, schedule: D.NoiseSchedule, *, stages=((2e-3, 1500), (5e-4, 500)), batch: int = 2048,
                   decay: float = 0.995, hidden: int = 128, seed: int = 0, progress: bool = True):
    """Algorithm 1 with Adam and an EMA of the weights; returns ``(ema_model, model, history)``.

    ``stages`` is a sequence of ``(learning rate, steps)``, run one after the other (a step decay
    of the learning rate); the EMA runs through all of them.
    """
    torch.manual_seed(shifted_seed(seed))
    gen = torch.Generator().manual_seed(shifted_seed(seed))
    model = D.EpsMLP(schedule.T, hidden=hidden)
    ema = EMA(model, decay)
    hist = History()
    for lr, steps in stages:
        h = fit(lambda step: D.simple_loss(model, schedule, data.sample((batch,), generator=gen), generator=gen),
                model, steps, lr=lr, ema=ema, progress=progress, desc=f"Algorithm 1, lr {lr:g}")
        hist.loss += h.loss
        hist.seconds += h.seconds
    return ema.module.eval(), model, hist


@torch.no_grad()
def min_simple_loss(data, schedule: D.NoiseSchedule, n: int = 100_000, generator=None) -> float:
    r"""Monte Carlo estimate of :math:`\mathbb E\|\epsilon - \epsilon^*(x_t, t)\|^2`, the lowest simple loss any model can reach."""
    x0 = data.sample((n,), generator=generator).double()
    t = torch.randint(1, schedule.T + 1, (n,), generator=generator)
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    xt = D.q_sample(schedule, x0, t, eps)
    return (eps - D.optimal_eps(schedule, data, xt, t)).pow(2).sum(-1).mean().item()


def kde_log_prob(samples: torch.Tensor, bandwidth: float, chunk: int = 2048):
    """``log`` of the Gaussian kernel density estimate of ``samples`` ``(N, 2)`` with width ``bandwidth``."""
    pts = samples.detach().double()
    h2 = bandwidth**2

    def log_prob(x: torch.Tensor) -> torch.Tensor:
        out = []
        for xc in x.double().split(chunk):
            d2 = torch.cdist(xc, pts).pow(2)
            out.append(torch.logsumexp(-0.5 * d2 / h2, -1) - math.log(len(pts) * 2 * math.pi * h2))
        return torch.cat(out).to(x.dtype)

    return log_prob


_SMOOTHED_DATA: dict = {}  # (id(data), h, extent, resolution) -> (data, log p_h on the grid); p_h never changes


def _smoothed_data_on_grid(data, bandwidth: float, extent, resolution: int):
    key = (id(data), float(bandwidth), tuple(extent), int(resolution))
    hit = _SMOOTHED_DATA.get(key)
    if hit is None or hit[0] is not data:
        from ..quadrature import grid

        schedule = D.NoiseSchedule.linear(T=1)
        p_h = D.marginal(schedule, data, 0, extra_var=bandwidth**2)
        pts, _ = grid(extent, resolution, dtype=torch.float64)
        hit = _SMOOTHED_DATA[key] = (data, pts, p_h.log_prob(pts).double())
    return hit[1], hit[2]


def kl_smoothed(data, samples: torch.Tensor, bandwidth: float = 0.1, extent=EXTENT, resolution: int = 128) -> float:
    r""":math:`\mathrm{KL}(p * \mathcal N_h \,\|\, \mathrm{KDE}_h)` by grid quadrature: the data smoothed by the
    kernel of width :math:`h`, exactly, against the kernel density estimate of the samples.

    The same midpoint rule as :func:`gencore.metrics.kl_on_grid` (p's cell masses renormalized
    over the box); the smoothed data density on the grid is computed once per data set and
    reused, since a quality table evaluates this dozens of times.
    """
    pts, lp = _smoothed_data_on_grid(data, bandwidth, extent, resolution)
    w = torch.softmax(lp, 0)  # cells have equal areas: the renormalized masses of p * N_h
    lq = kde_log_prob(samples, bandwidth)(pts)
    return (w * (lp - lq)).sum().item()


@dataclass
class Quality:
    """Sample quality against the number of sampling steps (see :func:`quality`).

    ``floor_sw`` and ``floor_kl`` are :class:`gencore.metrics.Floor`: the value a perfect model
    gets (mean over data-vs-data pairs) with its standard deviation, the noise of the metric.
    """

    steps: list[int]
    sw: dict[str, list[float]]
    kl: dict[str, list[float]]
    samples: dict[str, list[torch.Tensor]]
    floor_sw: metrics.Floor
    floor_kl: metrics.Floor
    n: int

    def value(self, metric: str, sampler: str, steps: int) -> float:
        """The score of ``sampler`` (``"DDPM"`` or ``"DDIM"``) at ``steps`` by ``metric`` (``"sw"`` or ``"kl"``)."""
        return getattr(self, metric)[sampler][self.steps.index(steps)]

    def compare(self, metric: str, a: tuple[str, int], b: tuple[str, int], k: float = 2.0) -> int:
        """``-1`` if run ``a`` scores lower (better) than run ``b`` by more than ``k`` floor sd, ``+1`` if
        higher, ``0`` if the two are within the metric's noise. Runs are ``(sampler, steps)``."""
        floor = self.floor_sw if metric == "sw" else self.floor_kl
        va, vb = self.value(metric, *a), self.value(metric, *b)
        return 0 if not floor.separates(va, vb, k) else (-1 if va < vb else 1)

    def verdict(self, metric: str, a: tuple[str, int], b: tuple[str, int]) -> str:
        """:meth:`compare` in words, for the prose: "lower than", "higher than" or "within the noise of"."""
        return {-1: "lower than", 0: "within the noise of", 1: "higher than"}[self.compare(metric, a, b)]


def quality(model, data, schedule: D.NoiseSchedule, steps=(10, 20, 50, 100, 1000), n: int = 2000,
            seed: int = 1, n_projections: int = 512, ddpm_full: torch.Tensor | None = None,
            xT: torch.Tensor | None = None, repeats: int = 20) -> Quality:
    """DDPM (``eta = 1`` on the sub-sequence; ``steps = T`` is Algorithm 2) and DDIM (``eta = 0``).

    Every run starts from the same ``x_T`` (``xT``, ``(n, 2)``, or drawn here). Sliced W2 compares
    each run with one fresh data sample of size ``n``; :func:`kl_smoothed` needs none. The floors
    are :func:`gencore.metrics.floor_spread` of the same metrics over ``repeats`` pairs of
    independent data samples of size ``n`` (mean and standard deviation).
    ``ddpm_full``: ``n`` samples of Algorithm 2 already drawn from the same ``xT``, used for DDPM
    at ``steps = T`` (it saves 1000 network evaluations).
    """
    gen = torch.Generator().manual_seed(shifted_seed(seed))
    ref = data.sample((n,), generator=gen)
    if xT is None:
        xT = torch.randn(n, 2, generator=gen)
    if ddpm_full is not None and ddpm_full.shape != xT.shape:
        raise ValueError(f"ddpm_full must have the shape of xT {tuple(xT.shape)}; got {tuple(ddpm_full.shape)}")

    def sw(a, b):
        return metrics.sliced_wasserstein(a, b, n_projections, generator=gen).item()

    sw_, kl, keep = {"DDPM": [], "DDIM": []}, {"DDPM": [], "DDIM": []}, {"DDPM": [], "DDIM": []}
    for name, eta in (("DDPM", 1.0), ("DDIM", 0.0)):
        for s in steps:
            full = s == schedule.T and eta == 1.0
            x = (ddpm_full if full and ddpm_full is not None else
                 D.sample(model, schedule, xT, steps=None if full else s, eta=eta, generator=gen))
            keep[name].append(x)
            sw_[name].append(sw(x, ref))
            kl[name].append(kl_smoothed(data, x))
    draw = lambda k, g: data.sample((k,), generator=g)  # noqa: E731
    floor_sw = metrics.floor_spread(sw, draw, n, repeats, gen)
    floor_kl = metrics.floor_spread(lambda a, b: kl_smoothed(data, a), draw, n, repeats, gen)
    return Quality(list(steps), sw_, kl, keep, floor_sw, floor_kl, n)


# ---- figures ------------------------------------------------------------------------------------
def _density_panel(ax, schedule, data, t, vmax=None):
    viz.density(ax, D.marginal(schedule, data, t).log_prob, EXTENT, 96, vmax=vmax)


def forward_slider(schedule: D.NoiseSchedule, data, x0: torch.Tensor, ts=None, generator=None):
    """Slider over ``t``: samples :math:`x_t` of the forward process beside the exact density of :math:`q(x_t)`."""
    ts = ts or (0, 10, 25, 50, 75, 100, 150, 200, 300, 400, 600, 1000)
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    frames = {t: D.q_sample(schedule, x0, t, eps) for t in ts}

    def draw(fig, t):
        ax1, ax2 = fig.subplots(1, 2)
        viz.samples(ax1, frames[t], color=viz.COLORS["p"], extent=EXTENT, size=3)
        viz.panel_title(ax1, f"samples x_t, t = {t}")
        _density_panel(ax2, schedule, data, t)
        ab = schedule.alpha_bars[t].item()
        viz.panel_title(ax2, f"q(x_t) exactly; ᾱ_t = {ab:.3g}")

    return widgets.slider(draw, figsize=(9.0, 3.4), t=widgets.Param(tuple(ts), "t", "{}", start=3))


def reverse_slider(schedule: D.NoiseSchedule, data, path: torch.Tensor, ts=None, n_lines: int = 8, stride: int = 10,
                   tail: int = 100):
    """Slider over ``t``: the reverse chain's states :math:`x_t` (from a DDPM ``path`` of shape
    ``(T + 1, N, 2)``, ``path[k]`` = :math:`x_{T-k}`) over the exact :math:`q(x_t)`, with a few trajectories."""
    T = schedule.T
    ts = ts or (1000, 600, 400, 300, 200, 150, 100, 75, 50, 25, 10, 0)

    def draw(fig, t):
        ax = fig.subplots(1, 1)
        if t > 0:
            _density_panel(ax, schedule, data, t)
        else:
            viz.density(ax, data.log_prob, EXTENT, 96)
        x = path[T - t]
        viz.samples(ax, x, color="white", size=3, alpha=0.6, extent=EXTENT)
        start = max(0, T - t - tail)  # only the last `tail` steps of each tracked path
        keep = list(range(start, T - t + 1, stride)) + ([T - t] if (T - t - start) % stride else [])
        viz.trajectories(ax, path[keep, :n_lines], color=viz.COLORS["aux"], alpha=0.9)
        viz.panel_title(ax, f"reverse chain at t = {t} over the exact q(x_t); tails: last {tail} steps")

    return widgets.slider(draw, figsize=(5.6, 4.0), t=widgets.Param(tuple(ts), "t", "{}", start=0))


@torch.no_grad()
def ddim_slider(model, data, schedule: D.NoiseSchedule, etas=(0.0, 0.5, 1.0), steps=(5, 10, 20, 50),
                n: int = 2000, seed: int = 2):
    """Slider over DDIM's ``eta`` and step count: samples from one fixed :math:`x_T`, with sliced W2."""
    gen = torch.Generator().manual_seed(shifted_seed(seed))
    ref = data.sample((n,), generator=gen)
    xT = torch.randn(n, 2, generator=gen)
    runs = {}
    for eta in etas:
        for s in steps:
            x = D.sample(model, schedule, xT, steps=s, eta=eta, generator=gen)
            runs[eta, s] = (x, metrics.sliced_wasserstein(x, ref, 256, generator=gen).item())

    def draw(fig, eta, steps):
        x, sw = runs[eta, steps]
        ax = fig.subplots(1, 1)
        viz.samples(ax, ref, color=viz.COLORS["grey"], size=2, alpha=0.3, extent=EXTENT)
        viz.samples(ax, x, color=viz.COLORS["q"], size=3, alpha=0.6, extent=EXTENT)
        viz.panel_title(ax, f"η = {eta:g}, {steps} steps: sliced W2 = {sw:.3f}")

    demo = widgets.slider(draw, figsize=(5.6, 4.0), eta=widgets.Param(tuple(etas), "η", "{:g}", start=0),
                          steps=widgets.Param(tuple(steps), "steps", "{}", start=1))
    demo.runs = runs
    return demo


def samples_figure(panels: dict[str, torch.Tensor], data):
    """One panel per named sample set, each titled with its smoothed KL (:func:`kl_smoothed`) to the data."""
    fig, axes = viz.figure(len(panels), width=3.4, height=2.8)
    for ax, (name, x) in zip(axes, panels.items()):
        viz.samples(ax, x, color=viz.COLORS["p" if name.startswith("data") else "q"], extent=EXTENT)
        viz.panel_title(ax, f"{name}: KL_h = {kl_smoothed(data, x):.3f}")
    return fig


def weights_figure(schedule: D.NoiseSchedule):
    """The weight of each ``L_{t-1}`` in the bound, for both choices of sigma_t^2, against the simple loss's 1."""
    t = torch.arange(2, schedule.T + 1)
    fig, ax = viz.figure(1, width=5.2, height=3.2)
    viz.curve(ax, t, D.vlb_weight(schedule, t, "beta_tilde"), role="q", label="σ_t² = β̃_t")
    viz.curve(ax, t, D.vlb_weight(schedule, t, "beta"), role="aux", label="σ_t² = β_t", ls="--")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.text(schedule.T, 1.1, "simple loss: 1 ", ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.legend()
    viz.panel_title(ax, "weight β_t² / (2σ_t² α_t (1 − ᾱ_t)) of ‖ε − ε_θ‖²")
    return fig


def loss_figure(history: History, floor: float, window: int = 50):
    """Training loss (running mean) against the lowest loss any network can reach."""
    loss = torch.tensor(history.loss)
    smooth = loss.unfold(0, window, 1).mean(1)
    fig, ax = viz.figure(1, width=5.2, height=3.0)
    viz.curve(ax, torch.arange(window, len(loss) + 1), smooth, role="q", label=f"simple loss ({window}-step mean)")
    ax.axhline(floor, color="k", lw=0.8, ls=":")
    ax.text(len(loss), floor, f"E‖ε − ε*‖² = {floor:.3f} ", ha="right", va="bottom", fontsize=8)
    ax.set_ylim(floor - 0.05, floor + 0.35)
    ax.set_xlabel("step")
    ax.legend()
    viz.panel_title(ax, "Algorithm 1 on moons")
    return fig


def quality_figure(q: Quality):
    """Sliced W2 and smoothed KL against the number of steps, with the data-vs-data floors."""
    fig, axes = viz.figure(2, width=4.2, height=3.0)
    for ax, values, floor, name in ((axes[0], q.sw, q.floor_sw, "sliced W2"), (axes[1], q.kl, q.floor_kl, "KL_h (nats)")):
        viz.curve(ax, q.steps, values["DDPM"], role="q", label="DDPM (η = 1)", marker="o")
        viz.curve(ax, q.steps, values["DDIM"], role="aux", label="DDIM (η = 0)", marker="s")
        ax.axhline(floor.mean, color="k", lw=0.8, ls=":")
        ax.axhspan(floor.mean - 2 * floor.sd, floor.mean + 2 * floor.sd, color="k", alpha=0.08, lw=0)
        ax.text(q.steps[0], floor.mean, " data vs data (± 2 sd)", va="bottom", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sampling steps")
        viz.panel_title(ax, f"{name}, {q.n} samples")
    axes[0].legend()
    return fig


def posterior_on_grid(schedule: D.NoiseSchedule, x0: torch.Tensor, xt: torch.Tensor, t: int,
                      half_width: float = 6.0, resolution: int = 201):
    r"""Bayes' rule :math:`q(x_t|x_{t-1})q(x_{t-1}|x_0)/q(x_t|x_0)` on a grid of :math:`x_{t-1}` against
    :func:`~gencore.diffusion.posterior`; returns ``(max |log difference|, total mass on the grid)``.

    ``x0`` and ``xt`` have shape ``(1, 2)``; the grid spans ``half_width`` posterior standard
    deviations around the posterior mean.
    """
    from ..quadrature import grid

    mean, var = D.posterior(schedule, x0, xt, t)
    sd = var.sqrt().item()
    c = mean[0].tolist()
    box = (c[0] - half_width * sd, c[0] + half_width * sd, c[1] - half_width * sd, c[1] + half_width * sd)
    prev, area = grid(box, resolution, dtype=x0.dtype)

    def log_n(x, m, v):
        return -0.5 * (x - m).pow(2).sum(-1) / v - torch.log(2 * math.pi * v)

    s = schedule
    bayes = (log_n(xt, s.alphas[t].sqrt() * prev, s.betas[t]) + log_n(prev, s.alpha_bars[t - 1].sqrt() * x0, 1 - s.alpha_bars[t - 1])
             - log_n(xt, s.alpha_bars[t].sqrt() * x0, 1 - s.alpha_bars[t]))
    closed = log_n(prev, mean, var)
    return (bayes - closed).abs().max().item(), (bayes.exp().sum() * area).item()
