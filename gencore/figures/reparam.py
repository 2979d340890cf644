"""Figures and slider demos of chapter 2 (sampling and the reparameterization trick).

They draw what the chapter computes (``gencore.reparam``) and what its experiments return
(``gencore.experiments.reparam``); they never train or seed.

Book: ``book/02_reparameterization.ipynb``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import reparam as R
from .. import viz, widgets
from ..experiments.reparam import ESTIMATORS, VarianceStudy

__all__ = ["inverse_cdf_slider", "chain_rule_figure", "box_muller_figure", "variance_slider",
           "peakedness_figure", "banana_slider"]

_ROLE = {"pathwise": "p", "score": "q", "score+baseline": "q2"}
_LABEL = {"pathwise": "pathwise", "score": "score function", "score+baseline": "score function + baseline"}


def inverse_cdf_slider(icdf: R.InverseCDF, x: torch.Tensor, us=None) -> widgets.SliderDemo:
    """Slider over u: follow u across to the CDF and down to x = F⁻¹(u); samples ``x`` histogrammed."""
    us = tuple(round(0.05 * k, 2) for k in range(1, 20)) if us is None else tuple(us)
    xs, cdf, dens = icdf.xs, icdf.cdf, icdf.log_density.exp()
    lo, hi = float(xs[0]), float(xs[-1])
    counts, edges = np.histogram(x.numpy(), bins=80, range=(lo, hi), density=True)  # once, not per frame

    def draw(fig, u):
        xu = float(icdf(torch.tensor([u], dtype=xs.dtype)))
        ax1, ax2 = widgets.panels(fig, 2, sharex=True)
        viz.curve(ax1, xs, cdf, role="p", label="F(x)")
        ax1.plot([lo, xu], [u, u], color=viz.COLORS["q"], lw=1.5)
        ax1.annotate("", xy=(xu, 0), xytext=(xu, u), arrowprops=dict(arrowstyle="->", color=viz.COLORS["q"], lw=1.5))
        ax1.plot([lo], [u], "o", color=viz.COLORS["q"], ms=6, clip_on=False)
        ax1.set_ylim(0, 1)
        ax1.set_xlabel("x")
        ax1.set_ylabel("u = F(x)")
        viz.panel_title(ax1, f"u = {u:.2f}  →  x = F⁻¹(u) = {xu:+.3f}")
        ax2.stairs(counts, edges, fill=True, color=viz.COLORS["grey"], alpha=0.6, label=f"{len(x):,} samples F⁻¹(u)")
        viz.curve(ax2, xs, dens, role="p", label="p(x)")
        ax2.fill_between(xs.numpy(), dens.numpy(), where=(xs <= xu).numpy(), color=viz.COLORS["q"], alpha=0.3,
                         lw=0, label="area u")
        ax2.axvline(xu, color=viz.COLORS["q"], lw=1.5)
        ax2.set_ylim(0, 1.05 * float(dens.max()) * 1.15)
        ax2.set_xlim(lo, hi)
        ax2.set_xlabel("x")
        ax2.legend(loc="upper left", fontsize=8)
        viz.panel_title(ax2, "density; the shaded area is u")

    return widgets.slider(draw, figsize=(10.0, 3.4),
                          u=widgets.Param(us, "uniform sample u", "{:.2f}", start=5))


def chain_rule_figure(dist, x: torch.Tensor, extent=(-4, 4, -4, 4)):
    """Left: an exact 2D density. Right: samples drawn from it by the grid chain rule."""
    fig, (ax1, ax2) = viz.figure(2, width=3.8, height=3.6)
    viz.density(ax1, dist.log_prob, extent, 200)
    viz.panel_title(ax1, "exact density")
    viz.samples(ax2, x, color=viz.COLORS["p"], size=2, alpha=0.3, extent=extent)
    viz.panel_title(ax2, f"{len(x):,} samples: F₁⁻¹, then F₂|₁⁻¹")
    return fig


def box_muller_figure(u1, u2, z1, z2):
    """Uniforms in the unit square, their Box–Muller images, and a histogram against N(0, 1)."""
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


def variance_slider(study: VarianceStudy) -> widgets.SliderDemo:
    """Slider over n and f: histograms of ∂/∂μ estimates around the exact value; variance vs n (log-log)."""
    ns = study.ns
    k = next((j for j, n in enumerate(ns) if n >= 10), 0)
    hists = {}  # fixed x-range per f (from the estimates at n >= 10); histograms computed once
    for name in study.names:
        e = torch.cat([study.estimates[name][est][k, :, 0] for est in ESTIMATORS])
        span = (float(e.quantile(0.005)), float(e.quantile(0.995)))
        hists[name] = span, {est: [np.histogram(study.estimates[name][est][i, :, 0].numpy(), bins=60, range=span,
                                                density=True) for i in range(len(ns))] for est in ESTIMATORS}
    tops = {name: 1.05 * max(float(h[0].max()) for hs in hists[name][1].values() for h in hs) for name in study.names}

    def draw(fig, n, f):
        i = ns.index(n)
        ax1, ax2 = widgets.panels(fig, 2)
        exact = float(study.exact[f][0])
        (lo, hi), h = hists[f]
        for est in ESTIMATORS:
            sd = study.estimates[f][est][i, :, 0].std()
            ax1.stairs(*h[est][i], lw=1.5, color=viz.COLORS[_ROLE[est]], label=f"{_LABEL[est]}: sd {sd:.3f}")
        ax1.axvline(exact, color="k", lw=1, ls="--", label=f"exact ∂/∂μ = {exact:.3f}")
        ax1.set_xlim(lo, hi)
        ax1.set_ylim(0, tops[f])  # the same axes for every n: only the histograms move
        ax1.set_xlabel("estimate of ∂E[f]/∂μ")
        ax1.legend(loc="upper left", fontsize=7)
        viz.panel_title(ax1, f"{f}: {study.estimates[f]['score'].shape[1]} estimates, n = {n}")
        for est in ESTIMATORS:
            viz.curve(ax2, ns, study.variance(f, est)[:, 0], role=_ROLE[est], label=_LABEL[est], marker="o", ms=3)
        ax2.axvline(n, color=viz.COLORS["grey"], lw=1)
        ax2.set_xscale("log")
        ax2.set_yscale("log")
        ax2.set_xlabel("samples n")
        ax2.set_ylabel("variance of the ∂/∂μ estimate")
        ax2.legend(loc="lower left", fontsize=7)
        viz.panel_title(ax2, "variance ∝ 1/n for every estimator")

    return widgets.slider(draw, figsize=(10.5, 3.6),
                          n=widgets.Param(ns, "samples n", "{:d}", start=ns.index(100) if 100 in ns else None),
                          f=widgets.Param(study.names, "test function f", "{}", start=0))


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
    """Slider over the bend b: Gaussian noise (left) pushed through T_b (right) over its exact density."""
    colour = eps[:, 0].numpy()

    def draw(fig, b):
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.scatter(eps[:, 0], eps[:, 1], c=colour, cmap="cool", s=3, lw=0, alpha=0.7)
        ax1.set_aspect("equal")
        ax1.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), xlabel="ε₁", ylabel="ε₂")
        viz.panel_title(ax1, "noise ε ~ N(0, I)")
        viz.density(ax2, lambda x: R.banana_log_prob(x, b, s), extent, 160, vmax=0.45)
        x = R.banana_push(eps, b, s)
        ax2.scatter(x[:800, 0], x[:800, 1], c=colour[:800], cmap="cool", s=5, lw=0)
        ax2.set(xlabel="x₁", ylabel="x₂")
        viz.panel_title(ax2, f"x = T(ε), b = {b:g}, on the exact p(x)")

    return widgets.slider(draw, figsize=(9.0, 3.8), b=widgets.Param(tuple(bs), "bend b", "{:.2f}", start=2))
