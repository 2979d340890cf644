"""Figures and slider demos of chapter 2 (sampling and the reparameterization trick).

They draw what the chapter computes (``gencore.reparam``) and what its experiments return
(``gencore.experiments.reparam``); they never train or seed.

Book: ``book/02_reparameterization.ipynb``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, StepPatch

from .. import reparam as R
from .. import live_reparam, metrics, pixels, viz, widgets
from ..experiments.reparam import ESTIMATORS, CategoricalStudy, VarianceStudy

__all__ = ["inverse_cdf_slider", "chain_rule_figure", "box_muller_figure", "variance_slider",
           "peakedness_figure", "banana_slider", "graph_figure", "categorical_figure"]

_ROLE = {"pathwise": "p", "score": "q", "score+baseline": "q2"}
_LABEL = {"pathwise": "pathwise", "score": "score function", "score+baseline": "score function + baseline"}
# each estimator's line style and marker: told apart by shape as well as by colour
_LS = {"pathwise": "-", "score": ":", "score+baseline": "-."}
_MARKER = {"pathwise": "o", "score": "s", "score+baseline": "^"}


def inverse_cdf_slider(icdf: R.InverseCDF, x: torch.Tensor, us=None) -> widgets.SliderDemo:
    """Slider over u: follow u across to the CDF and down to x = F⁻¹(u); samples ``x`` histogrammed.

    The curves, the histogram, x = F⁻¹(u) for every u, the shaded areas and the legend are made
    here once; a frame only places them.
    """
    us = tuple(round(0.05 * k, 2) for k in range(1, 20)) if us is None else tuple(us)
    xs, cdf, dens = (v.detach().cpu().numpy() for v in (icdf.xs, icdf.cdf, icdf.log_density.exp()))
    lo, hi = float(xs[0]), float(xs[-1])
    counts, edges = np.histogram(x.detach().cpu().numpy(), bins=80, range=(lo, hi), density=True)
    xus = icdf(torch.tensor(us, dtype=icdf.xs.dtype, device=icdf.xs.device)).cpu().tolist()
    areas = {u: np.column_stack([np.r_[xs[0], xs[xs <= xu], xs[xs <= xu][-1]], np.r_[0, dens[xs <= xu], 0]])
             for u, xu in zip(us, xus)}  # the polygon fill_between(xs, dens, where=xs <= xu) draws
    legend = pixels.legend_stamp([(f"{len(x):,} samples F⁻¹(u)", dict(patch=True, color=viz.COLORS["grey"], alpha=0.6, lw=0)),
                               ("p(x)", dict(color=viz.COLORS["p"])),
                               ("area u", dict(patch=True, color=viz.COLORS["q"], alpha=0.3, lw=0))], fontsize=8)
    red, made = viz.COLORS["q"], {}
    titles = {u: pixels.title_stamp(f"u = {u:.2f}  →  x = F⁻¹(u) = {xu:+.3f}") for u, xu in zip(us, xus)}

    def setup(ax1, ax2):  # once per pair of axes: limits, labels, legend
        ax1.set_ylim(0, 1)
        ax1.set_xlabel("x")
        ax1.set_ylabel("u = F(x)")
        ax2.set_ylim(0, 1.05 * float(dens.max()) * 1.15)
        ax2.set_xlim(lo, hi)
        ax2.set_xlabel("x")
        ax2.add_artist(pixels.Stamp(*legend))
        ax2.add_artist(pixels.Stamp(*pixels.title_stamp("density; the shaded area is u"), outside=True))
        made.update(axes=(ax1, ax2), title=ax1.add_artist(pixels.Stamp(*titles[us[0]], outside=True)))

    def draw(fig, u):
        xu = xus[us.index(u)]
        ax1, ax2 = widgets.panels(fig, 2, sharex=True)
        if made.get("axes") != (ax1, ax2):
            setup(ax1, ax2)
        ax1.add_artist(Line2D(xs, cdf, color=viz.COLORS["p"]))
        ax1.add_artist(Line2D([lo, xu], [u, u], color=red, lw=1.5))
        ax1.add_artist(FancyArrowPatch((xu, u), (xu, 0), arrowstyle="->", mutation_scale=10, color=red, lw=1.5))
        ax1.add_artist(Line2D([lo], [u], marker="o", color=red, ms=6, clip_on=False))
        made["title"].show(titles[u])
        ax2.add_artist(StepPatch(counts, edges, fill=True, color=viz.COLORS["grey"], alpha=0.6, lw=0))
        ax2.add_artist(Line2D(xs, dens, color=viz.COLORS["p"]))
        ax2.add_collection(PolyCollection([areas[u]], color=red, alpha=0.3, lw=0), autolim=False)
        ax2.add_artist(Line2D([xu, xu], [0, 1], transform=ax2.get_xaxis_transform(), color=red, lw=1.5))

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the CDF F of a double-well density, with u = {u} followed across to the curve and down to "
           "x = F⁻¹(u); right: the density with the area u shaded left of that x, over a histogram of samples "
           "made the same way.")
    return widgets.slider(draw, figsize=(10.0, 3.4),
                          u=widgets.Param(us, "uniform sample u", "{:.2f}", start=5), alt=alt)


def chain_rule_figure(dist, x: torch.Tensor, extent=(-4, 4, -4, 4)):
    """Left: an exact 2D density. Right: samples drawn from it by the grid chain rule."""
    fig, (ax1, ax2) = viz.figure(2, width=3.8, height=3.6)
    viz.density_image(ax1, metrics.density_image(dist.log_prob, extent, 200, device=x.device).cpu(), extent)
    viz.panel_title(ax1, "exact density")
    viz.samples(ax2, x, color=viz.COLORS["p"], size=2, alpha=0.3, extent=extent)
    viz.panel_title(ax2, f"{len(x):,} samples: F₁⁻¹, then F₂|₁⁻¹")
    return fig


def box_muller_figure(u1, u2, z1, z2):
    """Uniforms in the unit square, their Box–Muller images, and a histogram against N(0, 1)."""
    u1, u2, z1, z2 = (v.detach().cpu() for v in (u1, u2, z1, z2))
    fig, (ax1, ax2, ax3) = viz.figure(3, width=3.4, height=3.2)
    colour = u2[:3000].numpy()
    ax1.scatter(u1[:3000], u2[:3000], c=colour, cmap="twilight", s=3, lw=0)
    ax1.set_aspect("equal")
    ax1.set(xlabel="u₁", ylabel="u₂", xlim=(0, 1), ylim=(0, 1))
    viz.panel_title(ax1, "uniform (u₁, u₂)")
    ax2.scatter(z1[:3000], z2[:3000], c=colour, cmap="twilight", s=3, lw=0)
    ax2.set_aspect("equal")
    ax2.set(xlabel="z₁", ylabel="z₂", xlim=(-4, 4), ylim=(-4, 4))
    viz.panel_title(ax2, "(z₁, z₂): colour = angle 2πu₂")
    zs = torch.linspace(-4, 4, 200)
    ax3.hist(torch.cat([z1, z2]).numpy(), bins=60, range=(-4, 4), density=True, color=viz.COLORS["grey"], alpha=0.6,
             label="z₁ and z₂")
    viz.curve(ax3, zs, torch.exp(-zs**2 / 2) / math.sqrt(2 * math.pi), role="p", label="N(0, 1)")
    ax3.legend(loc="upper left", fontsize=8)
    viz.panel_title(ax3, "histogram vs N(0, 1)")
    return fig


def variance_slider(study: VarianceStudy, bins: int = 90) -> widgets.SliderDemo:
    """Slider over n and f: histograms of ∂/∂μ estimates over the exact value; variance vs n (log-log).

    Everything a frame shows is computed here once: the histograms (of estimate / exact value, so
    that both test functions share the left panel's axes and a frame only swaps data), the
    variance curves, and both legends, drawn as pictures (:func:`gencore.pixels.legend_stamp`).
    """
    ns, names, dpi, figsize = study.ns, study.names, 90, (10.5, 3.6)
    k = next((j for j, n in enumerate(ns) if n >= 10), 0)
    ratio = {f: {est: (study.estimates[f][est][..., 0] / study.exact[f][0]).cpu().numpy() for est in ESTIMATORS}
             for f in names}
    both = np.concatenate([ratio[f][est][k] for f in names for est in ESTIMATORS])
    span = tuple(np.quantile(both, [0.0025, 0.9975]))  # one x-range for both f (from n >= 10)
    hists = {(f, est, i): np.histogram(ratio[f][est][i], bins=bins, range=span, density=True)
             for f in names for est in ESTIMATORS for i in range(len(ns))}
    top = 1.05 * max(float(h[0].max()) for h in hists.values())
    var = {(f, est): study.variance(f, est)[:, 0].cpu().numpy() for f in names for est in ESTIMATORS}
    vs = np.concatenate(list(var.values()))
    pad = lambda lo, hi: (lo / (hi / lo) ** 0.05, hi * (hi / lo) ** 0.05)  # noqa: E731 (autoscale's margins, log axes)
    legend1 = {}
    for f in names:
        exact = float(study.exact[f][0])
        for i in range(len(ns)):
            entries = [(f"{_LABEL[est]}: sd {float(study.estimates[f][est][i, :, 0].std()):.3f}",
                        dict(color=viz.COLORS[_ROLE[est]], lw=1.5, ls=_LS[est])) for est in ESTIMATORS]
            entries.append((f"exact ∂/∂μ = {exact:.3f}", dict(color="k", lw=1, ls="--")))
            legend1[f, i] = pixels.legend_stamp(entries, loc="upper left", dpi=dpi, fontsize=7)
    legend2 = pixels.legend_stamp([(_LABEL[est], dict(color=viz.COLORS[_ROLE[est]], marker=_MARKER[est], ms=3))
                                for est in ESTIMATORS], loc="lower left", dpi=dpi, fontsize=7)
    repeats = study.estimates[names[0]]["score"].shape[1]
    titles = {(f, i): pixels.title_stamp(f"{f}: {repeats} estimates, n = {n}", dpi=dpi) for f in names for i, n in enumerate(ns)}
    made = {}

    def setup(ax1, ax2):  # once per pair of axes: what every frame shares
        ax1.set_xlim(*span)
        ax1.set_ylim(0, top)
        ax1.set_xlabel("estimate of ∂E[f]/∂μ, over its exact value")
        ax2.set_xscale("log")
        ax2.set_yscale("log")
        ax2.set_xlim(*pad(ns[0], ns[-1]))
        ax2.set_ylim(*pad(float(vs.min()), float(vs.max())))
        ax2.set_xlabel("samples n")
        ax2.set_ylabel("variance of the ∂/∂μ estimate")
        made.update(axes=(ax1, ax2), legend=ax1.add_artist(pixels.Stamp(*legend1[names[0], 0])),
                    title=ax1.add_artist(pixels.Stamp(*titles[names[0], 0], outside=True)))
        ax2.add_artist(pixels.Stamp(*legend2, loc="lower left"))
        ax2.add_artist(pixels.Stamp(*pixels.title_stamp("variance ∝ 1/n for every estimator", dpi=dpi), outside=True))

    def draw(fig, n, f):
        i = ns.index(n)
        ax1, ax2 = widgets.panels(fig, 2)
        if made.get("axes") != (ax1, ax2):
            setup(ax1, ax2)
        for est in ESTIMATORS:
            ax1.add_artist(StepPatch(*hists[f, est, i], fill=False, lw=1.5, ls=_LS[est], color=viz.COLORS[_ROLE[est]]))
            ax2.add_artist(Line2D(ns, var[f, est], color=viz.COLORS[_ROLE[est]], marker=_MARKER[est], ms=3))
        ax1.add_artist(Line2D([1, 1], [0, 1], transform=ax1.get_xaxis_transform(), color="k", lw=1, ls="--"))
        ax2.add_artist(Line2D([n, n], [0, 1], transform=ax2.get_xaxis_transform(), color=viz.COLORS["grey"], lw=1))
        made["legend"].show(legend1[f, i])
        made["title"].show(titles[f, i])

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: histograms of repeated score-function and reparameterization estimates of a gradient with "
           "respect to μ, for the test function {f} with n = {n} samples each, relative to the exact value; "
           "right: each estimator's variance against n on log-log axes, falling as 1/n.")
    return widgets.slider(draw, figsize=figsize, dpi=dpi,
                          n=widgets.Param(ns, "samples n", "{:d}", start=ns.index(100) if 100 in ns else None),
                          f=widgets.Param(names, "test function f", "{}", start=0), alt=alt)


def peakedness_figure(study: dict):
    """Left: the bump test functions. Right: relative variance of each estimator against the width w."""
    fig, (ax1, ax2) = viz.figure(2, width=4.6, height=3.4)
    zs = torch.linspace(-4, 4, 400, dtype=torch.float64)
    viz.curve(ax1, zs, torch.exp(-0.5 * (zs - 1) ** 2) / math.sqrt(2 * math.pi) * 2, role="grey", ls=":",
              label="q = N(1, 1) (scaled)")
    for w, role in ((2.0, "aux"), (0.5, "q2"), (0.1, "q")):
        viz.curve(ax1, zs, R.bump(zs, 0.0, w), role=role, label=f"bump, w = {w:g}", lw=1.5)
    ax1.set_xlabel("z")
    ax1.legend(loc="upper left", fontsize=8)
    viz.panel_title(ax1, "test functions f of shrinking width")
    w = study["widths"]
    for est in ESTIMATORS:
        viz.curve(ax2, w, study["relative_variance"][est], role=_ROLE[est], label=_LABEL[est], marker="o", ms=3)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("width w of f")
    ax2.set_ylabel("Var[ĝ_μ] / (∂E/∂μ)²")
    ax2.legend(loc="upper right", fontsize=8)
    viz.panel_title(ax2, f"relative variance at n = {study['n']}")
    return fig


def banana_slider(eps: torch.Tensor, bs=(0.0, 0.25, 0.5, 0.75, 1.0), s: float = 0.5,
                  extent=(-3.5, 3.5, -2.5, 5.0)) -> widgets.SliderDemo:
    """Slider over the bend b: Gaussian noise (left) pushed through T_b (right) over its exact density.

    The density images and the pushed points of every b are computed here once, and drawn once
    as pictures (:class:`gencore.pixels.Stamp`) with the noise and the titles: a frame pastes them.
    """
    colour = eps[:, 0].detach().cpu().numpy()
    noise = eps.detach().cpu().numpy()
    images = {b: metrics.density_image(lambda x, b=b: R.banana_log_prob(x, b, s), extent, 160, device=eps.device)
              .cpu().numpy() for b in bs}
    pushed = {b: R.banana_push(eps[:800], b, s).cpu().numpy() for b in bs}
    titles = {b: pixels.title_stamp(f"x = T(ε), b = {b:g}, on the exact p(x)") for b in bs}
    made = {}

    def noise_points(ax):
        ax.scatter(noise[:, 0], noise[:, 1], c=colour, cmap="cool", s=3, lw=0, alpha=0.7)

    def pushed_points(b):  # the exact density of T_b under its share of the same points
        def paint(ax):
            viz.density_image(ax, images[b], extent, vmax=0.45)
            ax.scatter(pushed[b][:, 0], pushed[b][:, 1], c=colour[:800], cmap="cool", s=5, lw=0)
        return paint

    def setup(ax1, ax2):  # once per pair of axes: labels, grid, the pictures
        ax1.set(xlabel="ε₁", ylabel="ε₂")
        ax2.set(xlabel="x₁", ylabel="x₂")
        ax2.grid(False)
        ax1.add_artist(pixels.Stamp(zorder=1, paint=noise_points))
        ax1.add_artist(pixels.Stamp(*pixels.title_stamp("noise ε ~ N(0, I)"), outside=True))
        made["title"] = ax2.add_artist(pixels.Stamp(*titles[bs[0]], outside=True))
        made["panels"] = {b: ax2.add_artist(pixels.Stamp(zorder=0, paint=pushed_points(b))) for b in bs}
        made["axes"] = (ax1, ax2)

    def draw(fig, b):
        ax1, ax2 = widgets.panels(fig, 2)
        if made.get("axes") != (ax1, ax2):
            setup(ax1, ax2)
        ax1.set(aspect="equal", xlim=(-3.5, 3.5), ylim=(-3.5, 3.5))
        ax2.set(aspect="equal", xlim=extent[:2], ylim=extent[2:])
        for value, panel in made["panels"].items():
            panel.set_visible(value == b)
        made["title"].show(titles[b])

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: Gaussian noise ε ~ N(0, I); right: the same points pushed through the bending map T with "
           "b = {b}, over the exact density of x = T(ε): the larger b, the more the cloud bends into a banana.")
    demo = widgets.slider(draw, figsize=(9.0, 3.8), b=widgets.Param(tuple(bs), "bend b", "{:.2f}", start=2), alt=alt)
    # on the website: any b, computed in the reader's browser, a draggable ε (gencore.live_reparam)
    return live_reparam.banana_live(demo, eps, s, extent, colors={"x": viz.COLORS["q"], "init": viz.COLORS["grey"]})


def _node(ax, xy, text, random: bool):
    """A graph node: a circle for a random quantity, a rounded box for a deterministic one."""
    style = "circle,pad=0.35" if random else "round,pad=0.4"
    face = "#f3e0b5" if random else "white"
    ax.text(*xy, text, ha="center", va="center", fontsize=11, zorder=3,
            bbox=dict(boxstyle=style, fc=face, ec="k", lw=1.2))


def _edge(ax, a, b, grad: bool = False, rad: float = 0.0):
    """A forward edge (solid black) or a backpropagated gradient (dashed, red, drawn below the nodes)."""
    kw = dict(color=viz.COLORS["q"], ls="--", lw=1.6) if grad else dict(color="k", lw=1.3)
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, shrinkA=18, shrinkB=18,
                                 connectionstyle=f"arc3,rad={rad}", zorder=2, **kw))


def graph_figure():
    """The two computational graphs of E[f(z)]: z sampled inside the path, and z = g(θ, ε) with ε outside it.

    Circles are random nodes, boxes deterministic ones; solid arrows run forward, dashed arrows carry
    the gradient backward, and a cross marks where it stops.
    """
    fig, (ax1, ax2) = viz.figure(2, width=4.6, height=3.0)
    theta, z, f, eps = (0.1, 0.5), (0.45, 0.5), (0.8, 0.5), (0.45, 0.1)
    for ax in (ax1, ax2):
        ax.set_xlim(-0.05, 0.98)
        ax.set_ylim(-0.05, 0.9)
        ax.axis("off")
    _node(ax1, theta, "θ", False)
    _node(ax1, z, "z", True)
    ax1.text(z[0], z[1] - 0.14, "z ~ $q_\\theta$", ha="center", va="top", fontsize=9)
    _node(ax1, f, "f(z)", False)
    _edge(ax1, theta, z)
    _edge(ax1, z, f)
    _edge(ax1, f, z, grad=True, rad=0.5)
    ax1.plot([0.27], [0.66], marker="x", ms=14, mew=3, color=viz.COLORS["q"], zorder=4)
    ax1.annotate("", xy=(0.2, 0.62), xytext=(0.38, 0.72),
                 arrowprops=dict(arrowstyle="-|>", color=viz.COLORS["q"], ls="--", lw=1.6, connectionstyle="arc3,rad=0.3"))
    ax1.text(0.45, 0.05, "no ∂z/∂θ: sampling is\nnot a differentiable step", ha="center", fontsize=9)
    viz.panel_title(ax1, "sampling inside the path")
    _node(ax2, theta, "θ", False)
    _node(ax2, z, "z = μ + σε", False)
    _node(ax2, f, "f(z)", False)
    _node(ax2, eps, "ε", True)
    ax2.text(eps[0] + 0.07, eps[1], "ε ~ N(0, 1), fixed", va="center", fontsize=9)
    _edge(ax2, theta, z)
    _edge(ax2, z, f)
    _edge(ax2, eps, z)
    _edge(ax2, f, z, grad=True, rad=0.5)
    _edge(ax2, z, theta, grad=True, rad=0.5)
    ax2.text(0.62, 0.84, "∂f/∂θ = f′(z) · (1, ε)", ha="center", fontsize=9, color=viz.COLORS["q"])
    viz.panel_title(ax2, "reparameterized: noise as an input")
    handles = [Line2D([], [], color="k", lw=1.3, label="forward"),
               Line2D([], [], color=viz.COLORS["q"], ls="--", lw=1.6, label="gradient (backward)"),
               Line2D([], [], ls="", marker="o", mfc="#f3e0b5", mec="k", ms=10, label="random node"),
               Line2D([], [], ls="", marker="s", mfc="white", mec="k", ms=10, label="deterministic node")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.02))
    return fig


def categorical_figure(study: CategoricalStudy):
    """Bias and per-sample variance of the Gumbel-softmax gradient against τ, with the score-function estimator's level."""
    fig, (ax1, ax2) = viz.figure(2, width=4.2, height=3.2)
    taus = np.array(study.taus)
    bias, se = study.bias("gumbel-softmax").cpu().numpy(), study.bias_se("gumbel-softmax").cpu().numpy()
    ax1.loglog(taus, bias, "o-", color=viz.COLORS["q2"], label="Gumbel-softmax: measured bias")
    ax1.loglog(taus, 2 * se, "^:", color=viz.COLORS["grey"], label="2 × its Monte Carlo s.e.")
    ax1.axhline(study.bias("score").item(), color=viz.COLORS["q"], ls="--",
                label="score function (unbiased): measured")
    ax1.set_xlabel("temperature τ")
    ax1.set_ylabel("‖mean − exact gradient‖")
    ax1.legend(fontsize=7, loc="upper left")
    viz.panel_title(ax1, "bias: shrinks as τ → 0")
    ax2.loglog(taus, study.variance("gumbel-softmax").cpu().numpy(), "o-", color=viz.COLORS["q2"], label="Gumbel-softmax")
    ax2.axhline(study.variance("score").item(), color=viz.COLORS["q"], ls="--", label="score function")
    ax2.axhline(study.variance("score+baseline").item(), color=viz.COLORS["aux"], ls=":",
                label="score function, baseline E[f]")
    ax2.set_xlabel("temperature τ")
    ax2.set_ylabel("per-sample variance (trace)")
    ax2.legend(fontsize=8)
    viz.panel_title(ax2, "variance: grows as τ → 0")
    return fig
