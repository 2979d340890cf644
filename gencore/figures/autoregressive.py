"""Chapter 10's figures and slider demos (autoregressive models), drawn from the runs of
``gencore.experiments.autoregressive``: they evaluate the fitted models, never train them.

Book: ``book/10_autoregressive.ipynb``.
"""
from __future__ import annotations

import copy
import math

import matplotlib as mpl
import numpy as np
import torch
from matplotlib import colors as mcolors
from matplotlib.ticker import NullFormatter

from .. import autoregressive as A
from .. import live_ar, metrics, pixels, viz, widgets
from ..tensors import in_range
from ..experiments import autoregressive as run_ar
from ..experiments.autoregressive import EXTENT, PARABOLA_EXTENT, ARRun, BarsRun, NLLReport, PixelCNNRun

__all__ = ["conditional_slider", "bins_slider", "ordering_slider", "temperature_demo", "bars_figure", "timing_figure", "receptive_figure", "context_floor_figure",
           "decoding_figure"]


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def _img(log_prob, extent, resolution, device=None, vmax=None):
    """The density image, evaluated on ``device`` (a model's), coloured once on the host as
    ``(H, W, 4)`` bytes with the book's density colours from 0 to ``vmax`` (the image's maximum
    when ``None``): a slider frame shows it without colour-mapping it again."""
    img = metrics.density_image(log_prob, extent, resolution, device=device).cpu().numpy()
    return mpl.colormaps[viz.DENSITY_CMAP](mcolors.Normalize(0.0, img.max() if vmax is None else vmax)(img), bytes=True)


def _show(ax, img, extent):
    ax.imshow(img, origin="lower", extent=tuple(extent), aspect="equal", interpolation="bilinear")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.grid(False)



def conditional_slider(model: A.AR2D, p, x1s=None, extent=EXTENT, resolution: int = 120) -> widgets.SliderDemo:
    r"""Slice the learned density at :math:`x_1`: the model's :math:`q(x_2 \mid x_1)` against the true :math:`p(x_2 \mid x_1)`."""
    x1s = [round(v, 2) for v in np.linspace(-2.25, 2.25, 19)] if x1s is None else x1s
    m64 = copy.deepcopy(model).double()
    img = _img(m64.log_prob, extent, resolution, _device_of(m64))
    ys = torch.linspace(extent[2], extent[3], 400, dtype=torch.float64)
    with torch.no_grad():
        curves = {x1: (m64.conditional_log_prob(ys.to(_device_of(m64)), x1).exp().cpu().numpy(),
                       run_ar.true_conditional(p, x1, ys).numpy())
                  for x1 in x1s}
    ymax = 1.05 * max(max(q.max(), t.max()) for q, t in curves.values())

    def make(fig):  # the first frame: every artist, the legend once
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw=dict(width_ratios=(1.4, 1)))
        _show(ax1, img, extent)
        cut = ax1.axvline(0.0, color="white", lw=1.5, ls="--")
        viz.panel_title(ax1, "model density q(x₁, x₂)")
        viz.curve(ax2, ys, ys, role="p", label="true p(x₂ | x₁)", lw=1.5)
        viz.curve(ax2, ys, ys, role="q", label="model q(x₂ | x₁)", lw=1.5, ls="--")
        ax2.set_xlim(extent[2], extent[3])
        ax2.set_ylim(0, ymax)
        ax2.set_xlabel("x₂")
        ax2.legend(loc="upper left")
        return dict(cut=cut, true=ax2.lines[0], model=ax2.lines[1], ax2=ax2)

    def draw(fig, x1):
        a = pixels.reused(fig, make)
        a["cut"].set_xdata([x1, x1])
        q, t = curves[x1]
        a["true"].set_ydata(t)
        a["model"].set_ydata(q)
        viz.panel_title(a["ax2"], f"conditional at x₁ = {x1:+.2f}")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the model's density q(x₁, x₂) with the slice x₁ = {x1} as a dashed line; right: at that "
           "x₁, the model's conditional q(x₂ | x₁) (dashed) over the true p(x₂ | x₁) (solid).")
    return widgets.slider(draw, figsize=(8.6, 3.0), x1=widgets.Param(tuple(x1s), "x₁", "{:+.2f}"), alt=alt)


def bins_slider(runs: dict[int, ARRun], reports: dict[int, NLLReport], mdn_report: NLLReport, x1: float = 0.5,
                extent=EXTENT, resolution: int = 140) -> widgets.SliderDemo:
    """Number of bins: the piecewise-constant density and one conditional slice, with the exact NLL."""
    ys = torch.linspace(extent[2], extent[3], 700, dtype=torch.float64)
    frames = {}
    for B, run in runs.items():
        m = run.model64
        with torch.no_grad():
            frames[B] = (_img(m.log_prob, extent, resolution, _device_of(m)),
                         m.conditional_log_prob(ys.to(_device_of(m)), x1).exp().cpu().numpy())
    ymax = 1.05 * max(c.max() for _, c in frames.values())

    def make(fig, img):  # the first frame: every artist, the legend and the static title once
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw=dict(width_ratios=(1.4, 1)))
        _show(ax1, img, extent)
        ax1.axvline(x1, color="white", lw=1, ls="--")
        viz.curve(ax2, ys, ys, role="q", lw=1.2, label=f"q(x₂ | x₁ = {x1})")
        ax2.set_xlim(-2, 2)
        ax2.set_ylim(0, ymax)
        ax2.set_xlabel("x₂")
        ax2.legend(loc="upper left")
        viz.panel_title(ax2, f"MDN: {mdn_report.cross_entropy:.3f} nats; H(p) = {mdn_report.entropy:.3f}")
        return dict(image=ax1.images[0], cond=ax2.lines[0], ax1=ax1)

    def draw(fig, B):
        img, cond = frames[B]
        a = pixels.reused(fig, lambda f: make(f, img))
        a["image"].set_data(img)
        a["cond"].set_ydata(cond)
        viz.panel_title(a["ax1"], f"{B} bins: H(p, q) = {reports[B].cross_entropy:.3f} nats")

    values = tuple(runs)
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the piecewise-constant autoregressive density with B = {B} bins per coordinate and its "
           f"cross-entropy H(p, q) in the title; right: its conditional density of x₂ at x₁ = {x1:g} (the dashed "
           "line on the left), with the mixture-density network's cross-entropy and the entropy H(p) "
           "in the title for comparison.")
    return widgets.slider(draw, figsize=(8.6, 3.0), B=widgets.Param(values, "bins B", "{:d}", start=len(values) - 2), alt=alt)


def ordering_slider(runs, table, p, extent=PARABOLA_EXTENT, resolution: int = 120, ref=None):
    """The ordering and the number of mixture components: the learned density next to the truth.

    Given ``ref`` (data points, the pale backdrop), the website's view is live
    (:func:`gencore.live_ar.ar_sampler_live`): each fitted model sampled in the reader's browser,
    one coordinate per step, at any temperature, with the two-step path of a dragged noise point;
    the notebook and the printed book keep these frames."""
    truth = metrics.density_image(p.log_prob, extent, resolution).numpy()
    vmax = truth.max()
    truth = _img(p.log_prob, extent, resolution, vmax=vmax)
    imgs = {k: _img(r.model64.log_prob, extent, resolution, _device_of(r.model), vmax) for k, r in runs.items()}
    names = {"x₁ → x₂": (0, 1), "x₂ → x₁": (1, 0)}
    Ks = tuple(sorted({k for _, k in runs}))

    def make(fig, img):  # the first frame: both images, the static title once
        ax1, ax2 = widgets.panels(fig, 2)
        _show(ax1, truth, extent)
        viz.panel_title(ax1, "true density p")
        _show(ax2, img, extent)
        return dict(image=ax2.images[0], ax2=ax2)

    def draw(fig, ordering, K):
        order = names[ordering]
        a = pixels.reused(fig, lambda f: make(f, imgs[(order, K)]))
        a["image"].set_data(imgs[(order, K)])
        viz.panel_title(a["ax2"], f"{ordering}, K = {K}: KL(p‖q) = {table[(order, K)][0]:.3f}")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("The true density p (left) and an autoregressive mixture model's density (right), fitted with "
           "the ordering {ordering} and K = {K} Gaussian components, with KL(p‖q) in the title.")
    demo = widgets.slider(draw, figsize=(7.0, 3.4),
                          ordering=widgets.Param(tuple(names), "ordering", "{}", start=1),
                          K=widgets.Param(Ks, "components K", "{:d}", start=0), alt=alt)
    if ref is None:
        return demo
    keys = [(o, K) for o in reversed(names) for K in Ks]  # the frames' first setting (x₂ → x₁, smallest K) first
    live_alt = ("Samples of an autoregressive mixture model fitted to the parabola data with the chosen ordering and "
                "number of components K (live: computed in your browser at the chosen temperature), over a pale "
                "backdrop of the data; on the left the Gaussian noise points, one of which you can drag to see its "
                "two-step path: first coordinate, then second.")
    return live_ar.ar_sampler_live(
        demo, [runs[(names[o], K)].model for o, K in keys], names=tuple(f"{o}, K = {K}" for o, K in keys),
        extent=extent, ref=ref, alt=live_alt,
        title="{index}, T = {temperature}: noise (left) → sample (right)",
        colors={"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"], "init": viz.COLORS["grey"]})


def temperature_demo(model: A.AR2D, ref: torch.Tensor, temperatures=(0.5, 1.0, 1.5), n: int = 1000,
                     extent=EXTENT, generator: torch.Generator | None = None):
    r"""The moons model sampled at temperature :math:`T` (:class:`gencore.live_ar.ARSampleStep`:
    weights :math:`\propto \pi_k^{1/T}`, component scales :math:`\times\sqrt T`), over the data ``ref``.

    Frames for the ``temperatures`` (``n`` samples, noise drawn with ``generator``); on the
    website a live view for any T in [0.05, 2], with the two-step path of a dragged noise point."""
    step = live_ar.ARSampleStep(model)
    frames = {}
    for T in temperatures:
        in_range("temperature", T, 0.05, 2.0)
        x = torch.randn(n, 2, generator=generator, dtype=torch.float32)
        with torch.no_grad():
            for t in (0, 1):
                z = torch.randn(n, step.K, generator=generator, dtype=torch.float32)
                x = step(x, z, torch.tensor(t), torch.tensor(float(T), dtype=torch.float32))
        frames[T] = x
    ref = ref[:n].detach().cpu()

    def draw(fig, T):
        ax = widgets.panels(fig, 1)
        viz.samples(ax, ref, color=viz.COLORS["grey"], size=2, alpha=0.3, extent=extent)
        viz.samples(ax, frames[T], color=viz.COLORS["q"], size=3, alpha=0.6, extent=extent)
        viz.panel_title(ax, f"samples at temperature T = {T:g}")

    alt = "Samples of the autoregressive moons model at temperature T = {T}, over a pale backdrop of the data."
    demo = widgets.slider(draw, figsize=(5.6, 4.0), T=widgets.Param(tuple(temperatures), "temperature T", "{:g}",
                                                                    start=list(temperatures).index(1.0) if 1.0 in temperatures else 0),
                          alt=alt)
    live_alt = ("Samples of the autoregressive moons model (live: computed in your browser at the chosen temperature), "
                "over a pale backdrop of the data; on the left the Gaussian noise points, one of which you can drag "
                "to see its two-step path: first x₁, then x₂.")
    return live_ar.ar_sampler_live(
        demo, model, extent=extent, ref=ref, alt=live_alt,
        title="T = {temperature}: noise (left) → sample (right)",
        n=n, colors={"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"], "init": viz.COLORS["grey"]})


def bars_figure(run: BarsRun, rows: list):
    """One row of images per ``(name, (n, D) images)`` of ``rows`` (:func:`~gencore.experiments.autoregressive.bars_samples`),
    framed red and marked ✗ where the image has probability 0 under the data."""
    n = min(len(x) for _, x in rows)
    s = run.data.side
    fig, axes = viz.figure(n, len(rows), width=0.9, height=1.0)
    for r, (name, x) in enumerate(rows):
        lp = run.data.log_prob(x)
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(x[c].reshape(s, s).cpu().numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            invalid = bool(lp[c] == -math.inf)
            for sp in ax.spines.values():
                sp.set_visible(True)
                sp.set_color(viz.COLORS["q"] if invalid else viz.COLORS["grey"])
                sp.set_linewidth(2.0 if invalid else 0.8)
            if invalid:  # a shape, not only a colour, says it: a cross above the frame's corner
                ax.text(1.0, 1.02, "✗", transform=ax.transAxes, ha="right", va="bottom",
                        color=viz.COLORS["q"], fontsize=9, fontweight="bold")
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    return fig


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


def receptive_figure(fields: dict):
    """One panel per depth of :func:`~gencore.experiments.autoregressive.receptive_fields`: the centre pixel (red),
    the earlier pixels its output depends on (blue), the blind spot of ``eq-ar-blind-spot`` (yellow), the other
    earlier pixels, out of reach at this depth (grey), and the later pixels (white)."""
    fig, axes = viz.figure(len(fields), width=2.6, height=2.9)
    axes = np.atleast_1d(axes)
    cmap = mcolors.ListedColormap(["white", viz.COLORS["grey"], viz.COLORS["q2"], viz.COLORS["p"], viz.COLORS["q"]])
    for ax, (depth, (field, _)) in zip(axes, fields.items()):
        side = field.shape[0]
        r, c = side // 2, side // 2
        rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
        before = rows * side + cols < r * side + c
        seen = field.cpu()
        img = torch.zeros(side, side)
        img[before & ~seen] = 1  # out of reach
        img[before & ~seen & (rows < r) & (cols - c > r - rows)] = 2  # the blind spot
        img[before & seen] = 3
        img[r, c] = 4
        ax.imshow(img.numpy(), cmap=cmap, vmin=-0.5, vmax=4.5)
        ax.set_xticks(np.arange(-0.5, side, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, side, 1), minor=True)
        ax.grid(which="minor", color=viz.COLORS["grey"], lw=0.5)
        ax.grid(which="major", visible=False)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        viz.panel_title(ax, f"{depth} layer{'s' if depth > 1 else ''}: reads {int((before & seen).sum())} "
                            f"of {int(before.sum())}")
    return fig


def context_floor_figure(run: PixelCNNRun):
    """Nats above :math:`H(p)` against the number of masked layers: the exact floor of ``eq-ar-context-floor`` for
    every depth (line), each trained PixelCNN's exact NLL (squares), and MADE, whose floor is :math:`H(p)`
    itself (the zero line; its trained NLL as a dashed line)."""
    fig, ax = viz.figure(1, width=5.2, height=3.3)
    depths = sorted(run.floors)
    viz.curve(ax, depths, [run.floors[L] for L in depths], role="p", marker="o",
              label="floor: the best any PixelCNN of this depth can do")
    trained = sorted(run.gaps)
    ax.plot(trained, [run.gaps[L] for L in trained], ls="none", marker="s", ms=8, color=viz.COLORS["q"],
            label="a trained PixelCNN")
    ax.axhline(run.made_gap, color=viz.COLORS["aux"], ls="--", lw=1.5, label="trained MADE (its floor is 0)")
    ax.axhline(0.0, color="k", lw=0.8)
    deepest = run.floors[depths[-1]]
    ax.annotate(f"blind spot: {deepest:.3f} nats", (depths[-1], deepest), xytext=(0, 8),
                textcoords="offset points", ha="right", va="bottom", fontsize=9, color=viz.COLORS["p"])
    ax.set_xticks(depths)
    ax.set_xlabel("masked layers")
    ax.set_ylabel("nats above H(p)")
    ax.set_ylim(bottom=-0.05)
    ax.legend(loc="upper right")
    viz.panel_title(ax, "what a pixel cannot see costs nats")
    return fig


def decoding_figure(lang, strategies: dict, table: dict, state: int = 0):
    """Left: the conditional of ``state`` (0 = the start, ``s`` = after letter ``s - 1``) under each strategy,
    as bars over the tokens (the last is the end token). Right: the exact distribution of sequence lengths
    under each strategy (log scale)."""
    fig, (ax1, ax2) = viz.figure(2, width=4.6, height=3.2)
    V = lang.letters + 1
    width = 0.8 / len(strategies)
    palette = [viz.COLORS["p"], viz.COLORS["q"], viz.COLORS["q2"], viz.COLORS["aux"], "k", viz.COLORS["grey"]]
    for k, (name, kw) in enumerate(strategies.items()):
        q = lang.chain(**kw)[state].cpu().numpy()
        ax1.bar(np.arange(V) + (k - (len(strategies) - 1) / 2) * width, q, width, color=palette[k % 6], label=name)
        pmf = table[name]["length_pmf"].cpu().numpy()
        ax2.plot(np.arange(1, len(pmf) + 1), pmf, "o-", ms=3, color=palette[k % 6], label=name)
    ax1.set_xticks(np.arange(V))
    ax1.set_xticklabels([chr(ord("a") + j) for j in range(V - 1)] + ["end"])
    ax1.set(ylabel="probability", xlabel="next token")
    viz.panel_title(ax1, f"next token after '{chr(ord('a') + state - 1)}', decoded" if state else
                    "first token, decoded")
    ax1.legend(fontsize=7)
    ax2.set(xlabel="sequence length", ylabel="probability", xlim=(0.5, 40.5), yscale="log", ylim=(1e-4, 1))
    viz.panel_title(ax2, "exact length distribution")
    return fig
