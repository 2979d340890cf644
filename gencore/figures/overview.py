"""Figures and slider demos of chapter 0 (overview): they take results and draw them.

The data and runs they show come from :mod:`gencore.experiments.overview`; the gallery's figure
is :mod:`gencore.figures.gallery`.

Book: ``book/00_overview.ipynb``.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
import torch

from .. import overview as O
from .. import pixels, viz, widgets
from ..quadrature import grid

__all__ = ["regression_slider", "manifold_slider", "classifier_figure", "boundaries_figure"]



# ------------------------------------------------------------------ regression to the mean
def regression_slider(separations, x: torch.Tensor, y: torch.Tensor, model) -> widgets.SliderDemo:
    """Slider over the branches' separation: the data, both branches, their mean and the MSE fit."""
    grid = torch.linspace(-1, 1, 201, dtype=x.dtype, device=x.device)[:, None]
    with torch.no_grad():
        fits = model(grid)[..., 0].cpu()                             # (S, 201)
    m = O.conditional_mean(grid)[:, 0].cpu()
    gaps = (fits - m).pow(2).mean(-1).sqrt().tolist()               # each predictor's RMS distance to the mean
    # every frame only plots these host arrays (no tensors, no model calls)
    grid, m, fits, x, y = (t.double().numpy() for t in (grid[:, 0].cpu(), m, fits, x[..., 0].cpu(), y[..., 0].cpu()))
    frames = {round(float(d), 3): i for i, d in enumerate(separations)}
    top = max(frames) / 2 + 1.4  # room for the legend above the upper branch

    def build(fig):
        ax = widgets.panels(fig, 1)
        ax.scatter(x[0], y[0], s=3, c=viz.COLORS["grey"], alpha=0.5, linewidths=0)
        for sign, label in ((1, "modes of p(y|x)"), (-1, None)):
            viz.curve(ax, grid, m, role="p", label=label, lw=1, ls="--")
        viz.curve(ax, grid, m, role="aux", label="mean E[y|x]", lw=1.5, ls=":")
        viz.curve(ax, grid, fits[0], role="q", label="MSE-trained predictor")
        ax.set_xlim(-1, 1)
        ax.set_ylim(-top, top)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        return ax, ax.collections[-1], ax.lines[:2], ax.lines[3], ax.legend(loc="upper left", ncol=3)

    def draw(fig, separation):
        i = frames[separation]
        placed = pixels.reusing(fig)  # not the first frame: the layout is final
        ax, cloud, branches, fit, legend = pixels.reused(fig, build)
        if placed and legend.axes is not None:
            pixels.as_image(fig, legend)  # the same every frame: drawn once, then pasted
        cloud.set_offsets(np.column_stack([x[i], y[i]]))
        for sign, line in zip((1, -1), branches):
            line.set_ydata(m + sign * separation / 2)
        fit.set_ydata(fits[i])
        viz.panel_title(ax, f"separation d = {separation:.2f}: branches at ±{separation / 2:.2f}, "
                            f"predictor's RMS distance to the mean {gaps[i]:.3f}")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Data y against x drawn from two branches a separation d = {separation} apart (dashed lines), "
           "their mean E[y|x] and the curve of a network trained with squared error: the network follows the mean, "
           "between the branches, where no data lie.")
    return widgets.slider(draw, figsize=(7.5, 3.4), separation=widgets.Param(
        sorted(frames), "separation d", "{:.2f}"), alt=alt)


# ------------------------------------------------------------------ a curve in the plane
def manifold_slider(frames: dict) -> widgets.SliderDemo:
    """Slider over the thickness of the noise around a spiral: the local-PCA share of each point.

    ``frames`` is :func:`gencore.experiments.overview.manifold_frames`'s ``{noise: (x, share)}``.
    """
    n = max(len(x) for x, _ in frames.values())
    edges = np.linspace(0.5, 1.0, 31)  # the histogram's 30 bins, counted once per frame here
    shown = {s: (x.cpu().numpy(), r.cpu().numpy(), np.histogram(r.cpu().numpy(), edges)[0], float(r.median()))
             for s, (x, r) in frames.items()}

    def build(fig):
        x, r, counts, _ = next(iter(shown.values()))
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.scatter(x[:, 0], x[:, 1], c=r, s=4, cmap="viridis", vmin=0.5, vmax=1.0, linewidths=0)
        ax1.set_aspect("equal")
        ax1.set_xlim(-3.5, 3.5)
        ax1.set_ylim(-3.5, 3.5)
        ax2.stairs(counts, edges, fill=True, color=viz.COLORS["q"], alpha=0.8)  # = ax.hist's bars, one artist
        ax2.set_xlim(0.5, 1.0)
        ax2.set_ylim(0, n)
        ax2.set_xlabel("λ₁/(λ₁+λ₂) of the 20 nearest neighbours")
        return ax1, ax2, ax1.collections[-1], ax2.patches[-1]

    def draw(fig, noise):
        x, r, counts, median = shown[noise]
        ax1, ax2, cloud, bars = pixels.reused(fig, build)
        cloud.set_offsets(x)
        cloud.set_array(r)
        bars.set_data(counts)
        viz.panel_title(ax1, f"σ = {noise:.2f}; colour: local share (bright yellow 1, dark purple ½)")
        viz.panel_title(ax2, f"median share {median:.3f} (1: a line, 0.5: the plane)")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: points around a spiral with noise σ = {noise}, shaded by the share of their neighbours' "
           "variance along one direction (bright: 1, a line; dark: 0.5, the plane); right: a histogram of that share. "
           "Thin noise keeps the shares near 1: the data lie near a curve.")
    return widgets.slider(draw, figsize=(8.5, 3.4), noise=widgets.Param(sorted(frames), "noise σ", "{:.2f}"), alt=alt)


# ------------------------------------------------------------------ generative classifier
def classifier_figure(model: O.ClassGaussians, x, y, new_x, new_y, accuracy: float):
    """Left: p(y=1|x) by Bayes' rule (what a discriminative model learns). Right: new samples."""
    fig, (ax1, ax2) = viz.figure(2, width=4.3, height=3.3)
    ext = (-3.5, 3.5, -2.5, 2.5)
    points, _ = grid(ext, 150, dtype=model.means.dtype, device=model.means.device)
    with torch.no_grad():
        post = O.class_posterior(model, points)[:, 1].reshape(150, 150).cpu()   # rows: y, columns: x
    gx, gy = points[:, 0].reshape(150, 150).cpu(), points[:, 1].reshape(150, 150).cpu()
    ax1.imshow(post.numpy(), origin="lower", extent=ext, cmap="RdBu_r", vmin=0, vmax=1, aspect="equal", alpha=0.45)
    ax1.contour(gx.numpy(), gy.numpy(), post.numpy(), levels=[0.5], colors="k", linewidths=1)
    # the two classes differ in shape as well as colour (dots: y = 0, triangles: y = 1)
    for c, col, marker in ((0, viz.COLORS["p"], "o"), (1, viz.COLORS["q"], "^")):
        for ax, pts in ((ax1, x[y == c]), (ax2, new_x[new_y == c])):
            pts = pts.cpu().numpy()
            ax.scatter(pts[:, 0], pts[:, 1], s=7, c=col, marker=marker, alpha=0.6, linewidths=0,
                       label=f"y = {c}" if ax is ax2 else None)
    ax2.set(xlim=ext[:2], ylim=ext[2:], aspect="equal")
    ax2.legend(loc="upper left", fontsize=8, markerscale=2)
    ax1.grid(False)
    viz.panel_title(ax1, f"p(y=1|x) from p(x,y); test accuracy {accuracy:.3f}")
    viz.panel_title(ax2, "new (x, y) sampled from the same model")
    return fig


def boundaries_figure(panels, net, res: int = 150):
    """Decision boundaries side by side, one panel per problem: Bayes-optimal, generative, discriminative.

    ``panels`` is a list of dicts with ``title``, ``truth`` (an object with ``log_joint``), ``generative``
    (a :class:`gencore.overview.ClassGaussians`), ``x``, ``y`` (points to show), ``extent`` and
    ``accuracy`` ``(generative, discriminative, bayes)``; ``net`` maps ``(M, 2)`` points to logits
    ``(S, M, 2)``, model ``i`` for panel ``i``. The three boundaries differ in line style (dotted,
    dashed, solid) as well as colour, and the classes in marker shape.
    """
    fig, axes = viz.figure(len(panels), width=4.3, height=3.4)
    axes = np.atleast_1d(axes)
    styles = (("Bayes-optimal", "k", ":"), ("generative (Gaussian classes)", viz.COLORS["q2"], "--"),
              ("discriminative (net)", viz.COLORS["aux"], "-"))
    for i, (ax, p) in enumerate(zip(axes, panels)):
        ext = p["extent"]
        pts, _ = grid(ext, res, dtype=p["x"].dtype, device=p["x"].device)
        with torch.no_grad():
            ratios = []
            for lj in (p["truth"].log_joint(pts), p["generative"].log_joint(pts), net(pts)[i]):
                ratios.append((lj[:, 1] - lj[:, 0]).reshape(res, res).cpu().double().numpy())
        gx, gy = (pts[:, k].reshape(res, res).cpu().double().numpy() for k in (0, 1))
        x, y = p["x"].cpu().double().numpy(), p["y"].cpu().numpy()
        for c, col, mark in ((0, viz.COLORS["p"], "o"), (1, viz.COLORS["q"], "^")):
            ax.scatter(x[y == c, 0], x[y == c, 1], s=8, c=col, marker=mark, alpha=0.35, linewidths=0)
        for r, (_, col, ls) in zip(ratios, styles):
            ax.contour(gx, gy, r, levels=[0.0], colors=[col], linestyles=[ls], linewidths=2)
        ax.set_aspect("equal")
        ax.set_xlim(ext[0], ext[1])
        ax.set_ylim(ext[2], ext[3])
        ax.grid(False)
        g, d, b = p["accuracy"]
        viz.panel_title(ax, f"{p['title']}, test accuracy:\ngenerative {g:.3f}, net {d:.3f}, Bayes-optimal {b:.3f}")
    handles = [Line2D([], [], color=col, ls=ls, lw=2, label=name) for name, col, ls in styles]
    fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.1))
    return fig
