"""One look for every figure in the book: densities, samples, fields, trajectories, curves.

Every plotting helper draws into a given :class:`matplotlib.axes.Axes` and returns it, so a
notebook cell composes panels and a slider's ``draw(fig, ...)`` can reuse the same calls.
Colours have fixed roles across chapters: the data (or target) ``p`` is always
``COLORS["p"]``, the model ``q`` is ``COLORS["q"]``, and so on.

The book's look (``STYLE``) is applied to the book's own figures only, never to the reader's
global ``matplotlib.rcParams``: :func:`figure` makes a figure that creates and draws its
artists in :func:`style`, and a slider draws its frames in it.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Callable, Sequence

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
import numpy as np
import torch

from . import metrics
from .quadrature import grid

__all__ = [
    "COLORS",
    "DENSITY_CMAP",
    "STYLE",
    "style",
    "figure",
    "density",
    "density_image",
    "samples",
    "vector_field",
    "arrows",
    "contour_lines",
    "trajectories",
    "curve",
    "fill",
    "panel_title",
]

COLORS = {
    "p": "#1f4e8c",  # the data / target distribution
    "q": "#d1495b",  # the model
    "q2": "#edae49",  # a second model (e.g. the reverse-KL fit next to the forward one)
    "aux": "#00798c",  # anything else: a baseline, a third curve
    "grey": "#8d99ae",
}
DENSITY_CMAP = "magma"
STYLE = {
    "figure.dpi": 90,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 2.0,
}


@contextlib.contextmanager
def style():
    """A context in which matplotlib uses the book's defaults ``STYLE``; the reader's are back after it.

    All but one: whether pyplot is interactive. The first figure of a kernel may load the inline
    backend inside this context, and loading it switches interactive mode on; restoring the old
    value would leave it off, and Jupyter would then show no later figure of the session.
    """
    interactive = mpl.is_interactive()
    try:
        with mpl.rc_context(STYLE):
            try:
                yield
            finally:
                interactive = mpl.is_interactive()
    finally:
        mpl.interactive(interactive)


def _styled(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with style():
            return method(self, *args, **kwargs)
    return wrapper


class _BookAxes(Axes):
    """Axes whose methods that read matplotlib's defaults when called (line width, legend frame
    and font, title size) read the book's."""


for _name in ("plot", "step", "errorbar", "axhline", "axvline", "axline", "legend", "set_title", "text", "annotate"):
    setattr(_BookAxes, _name, _styled(getattr(Axes, _name)))


class _BookFigure(Figure):
    """A figure drawn (ticks, grid lines, layout, saving) in the book's style."""

    draw = _styled(Figure.draw)
    savefig = _styled(Figure.savefig)
    legend = _styled(Figure.legend)
    suptitle = _styled(Figure.suptitle)


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.0, height: float = 3.2, **kw):
    """``plt.subplots`` with the book's style and panel size; returns ``(fig, axes)``.

    The style holds for this figure only: it is created, filled through the usual ``Axes``
    methods and drawn in :func:`style`, and matplotlib's global ``rcParams`` are left as they were.
    """
    import matplotlib.pyplot as plt

    kw.setdefault("layout", "constrained")
    subplot_kw = dict(kw.pop("subplot_kw", None) or {})
    if "projection" not in subplot_kw and "polar" not in subplot_kw:
        subplot_kw.setdefault("axes_class", _BookAxes)
    with style():
        return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), FigureClass=_BookFigure,
                            subplot_kw=subplot_kw, **kw)


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x)


def density(
    ax,
    log_prob: Callable[[torch.Tensor], torch.Tensor],
    extent: Sequence[float] = (-4, 4, -4, 4),
    resolution: int = 200,
    *,
    cmap: str = DENSITY_CMAP,
    vmax: float | None = None,
    log: bool = False,
):
    """Heatmap of ``exp(log_prob)`` on a 2D box (``log=True`` shows ``log_prob`` itself).

    Args:
        log_prob: maps ``(N, 2)`` points to ``(N,)`` log-densities.
        extent: ``(xmin, xmax, ymin, ymax)``; axis limits are set to it (fixed across frames).
        vmax: colour-scale maximum, to keep it fixed across a slider's frames.
    """
    img = metrics.density_image(log_prob, extent, resolution, log=log)
    return density_image(ax, img, extent, cmap=cmap, vmax=vmax, log=log)


def density_image(ax, img, extent: Sequence[float] = (-4, 4, -4, 4), *, cmap: str = DENSITY_CMAP,
                  vmax: float | None = None, log: bool = False):
    """:func:`density` from an image computed beforehand (``metrics.density_image``): a slider
    computes its frames' images once and only shows them."""
    ax.imshow(_np(img), origin="lower", extent=tuple(extent), cmap=cmap, vmin=None if log else 0.0,
              vmax=vmax, aspect="equal", interpolation="bilinear")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.grid(False)
    return ax


def samples(ax, x, *, color: str = COLORS["q"], size: float = 3.0, alpha: float = 0.5,
            extent: Sequence[float] | None = None, label: str | None = None):
    """Scatter of 2D samples ``x`` of shape ``(N, 2)`` with equal aspect."""
    x = _np(x)
    ax.scatter(x[:, 0], x[:, 1], s=size, c=color, alpha=alpha, linewidths=0, label=label)
    ax.set_aspect("equal")
    if extent is not None:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    return ax


def vector_field(ax, field: Callable[[torch.Tensor], torch.Tensor],
                 extent: Sequence[float] = (-4, 4, -4, 4), n: int = 20, *,
                 color: str = "white", normalize: bool = True):
    """Arrows of ``field`` (``(N, 2) -> (N, 2)``, e.g. a score) on an ``n x n`` grid."""
    pts, _ = grid(extent, n, dtype=torch.float64)
    with torch.no_grad():
        v = field(pts)
    return arrows(ax, pts, v, color=color, normalize=normalize)


def arrows(ax, pts, v, *, color: str = "white", normalize: bool = True):
    """:func:`vector_field` from points ``(N, 2)`` and the field's values ``(N, 2)`` computed beforehand."""
    p, v = _np(pts), _np(v)
    if normalize:
        v = v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)
    ax.quiver(p[:, 0], p[:, 1], v[:, 0], v[:, 1], color=color, angles="xy", pivot="mid",
              width=0.004, alpha=0.8)
    ax.set_aspect("equal")
    return ax


def contour_lines(x, y, z, levels) -> list:
    """The contour lines of ``z`` on the grid ``x, y`` at ``levels``, as ``(M, 2)`` arrays: computed
    once, they are drawn with ``ax.plot`` (cheap) in every frame of a slider."""
    import contourpy

    gen = contourpy.contour_generator(_np(x), _np(y), _np(z))
    return [line for level in levels for line in gen.lines(float(level))]


def trajectories(ax, paths, *, color: str = COLORS["q"], alpha: float = 0.6, max_paths: int = 30):
    """Lines through ``paths`` of shape ``(T, N, 2)`` (time first), with end points marked."""
    paths = _np(paths)[:, :max_paths]
    for i in range(paths.shape[1]):
        ax.plot(paths[:, i, 0], paths[:, i, 1], color=color, alpha=alpha, lw=0.8)
    ax.scatter(paths[-1, :, 0], paths[-1, :, 1], s=8, c=color, zorder=3)
    ax.set_aspect("equal")
    return ax


def curve(ax, x, y, *, role: str = "p", label: str | None = None, **kw):
    """A 1D curve in the colour of its role (``"p"``, ``"q"``, ``"q2"``, ``"aux"``)."""
    ax.plot(_np(x), _np(y), color=COLORS.get(role, role), label=label, **kw)
    return ax


def fill(ax, x, y, *, role: str = "p", alpha: float = 0.25, label: str | None = None):
    """Shade the area between ``y`` and zero (e.g. a KL integrand)."""
    ax.fill_between(_np(x), _np(y), 0.0, color=COLORS.get(role, role), alpha=alpha, label=label,
                    linewidth=0)
    return ax


def panel_title(ax, text: str, y: float | None = None) -> None:
    """A panel title in the book's style (left-aligned, one line).

    ``y`` (axes coordinates) fixes its height; ``None`` lets matplotlib place it clear of the
    tick labels at each drawing. With no ticks above the panel that place is ``y = 1``, and a
    slider's frames pass it to skip measuring the tick labels at every redraw.
    """
    ax.set_title(text, loc="left", fontsize=STYLE["axes.titlesize"], y=y)
