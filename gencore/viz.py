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

import functools
from typing import Callable, Sequence

import matplotlib as mpl
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import Bbox
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
    "Stamp",
    "legend_stamp",
    "panel_picture",
    "title_stamp",
    "as_image",
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


def style():
    """A context in which matplotlib uses the book's defaults ``STYLE``; the reader's are back after it."""
    return mpl.rc_context(STYLE)


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


def panel_title(ax, text: str) -> None:
    """A panel title in the book's style (left-aligned, one line)."""
    ax.set_title(text, loc="left", fontsize=STYLE["axes.titlesize"])


class Stamp(Artist):
    """A picture drawn beforehand (a legend, by :func:`legend_stamp`; a panel's fixed points, by
    :func:`panel_picture`), pasted at a fixed pixel offset from a corner of its axes: a slider
    frame pastes it instead of laying out text or drawing thousands of markers again.

    ``image``: ``(H, W, 4)`` uint8 RGBA, top row first; ``offset``: pixels from the corner (``loc``,
    e.g. ``"upper left"``) to the picture's corner on the same side. Add it once with
    ``ax.add_artist`` (:func:`gencore.widgets.panels` keeps it) and swap pictures with ``image``.
    With ``paint`` (see :func:`panel_picture`) the picture is drawn when first needed and again
    whenever the axes' place or limits change. ``outside=True`` for a picture outside the axes
    (a title, by :func:`title_stamp`): the layout makes room for it.
    """

    def __init__(self, image: np.ndarray | None = None, offset: tuple[float, float] = (0.0, 0.0),
                 loc: str = "upper left", zorder: float = 5, paint: Callable | None = None, outside: bool = False):
        super().__init__()
        self.image, self.offset, self.loc, self.paint, self._painted = image, offset, loc, paint, None
        self.set_zorder(zorder)
        self.set_in_layout(outside)  # a picture outside the axes (a title) takes its room in the layout
        self.set_clip_on(not outside)

    def show(self, picture: tuple[np.ndarray, tuple[float, float]]) -> "Stamp":
        """Paste ``picture``, an ``(image, offset)`` pair, from now on."""
        self.image, self.offset = picture
        return self

    def _refresh(self) -> None:
        ax = self.axes
        key = (tuple(ax.figure.bbox.bounds), tuple(ax.get_position().bounds), ax.get_xlim(), ax.get_ylim())
        if self.paint is not None and key != self._painted:
            self.image, self.offset = panel_picture(ax, self.paint)
            self.loc, self._painted = "lower left", key

    def get_window_extent(self, renderer=None) -> Bbox:
        self._refresh()
        box, (h, w) = self.axes.bbox, self.image.shape[:2]
        right, upper = "right" in self.loc, "upper" in self.loc
        x = box.x1 - self.offset[0] - w if right else box.x0 + self.offset[0]
        y = box.y1 - self.offset[1] - h if upper else box.y0 + self.offset[1]
        return Bbox.from_bounds(round(x), round(y), w, h)

    def draw(self, renderer) -> None:
        if not self.get_visible():
            return
        box, gc = self.get_window_extent(renderer), renderer.new_gc()
        renderer.draw_image(gc, box.x0, box.y0, self.image[::-1])
        gc.restore()
        self.stale = False


def _crop(canvas, box: Bbox) -> tuple[np.ndarray, int, int, int, int]:
    pixels = np.asarray(canvas.buffer_rgba())
    x0, x1, y0, y1 = int(np.floor(box.x0)), int(np.ceil(box.x1)), int(np.floor(box.y0)), int(np.ceil(box.y1))
    return pixels[pixels.shape[0] - y1 : pixels.shape[0] - y0, x0:x1].copy(), x0, x1, y0, y1


def panel_picture(ax, paint: Callable) -> tuple[np.ndarray, tuple[float, float]]:
    """What ``paint(scratch_axes)`` draws inside ``ax`` (same place, size and limits, no ticks),
    as ``(image, offset)`` for a ``Stamp(..., loc="lower left")``, on a transparent background."""
    with style():
        fig = Figure(figsize=ax.figure.get_size_inches(), dpi=ax.figure.dpi)
        fig.patch.set_alpha(0)
        canvas = FigureCanvasAgg(fig)
        scratch = fig.add_axes(ax.get_position().bounds)
        scratch.set_axis_off()
        paint(scratch)
        scratch.set_xlim(ax.get_xlim())
        scratch.set_ylim(ax.get_ylim())
        canvas.draw()
        image, x0, _, y0, _ = _crop(canvas, scratch.bbox)
    return image, (x0 - scratch.bbox.x0, y0 - scratch.bbox.y0)


def legend_stamp(entries: Sequence[tuple[str, dict]], *, loc: str = "upper left", dpi: float = 90,
                 **legend_kw) -> tuple[np.ndarray, tuple[float, float]]:
    """A legend drawn once, in the book's style, as ``(image, offset)`` for :class:`Stamp`.

    ``entries``: ``(label, style)`` pairs, each ``Line2D`` keywords (a line, a marker, an unfilled
    step histogram all show as a line sample), or ``Patch`` keywords with ``patch=True`` (a filled
    area or histogram shows as a box). The picture is the legend
    that ``ax.legend(loc=loc, **legend_kw)`` would draw at ``dpi``, on a transparent background.
    """
    with style():
        fig = Figure(figsize=(8, 6), dpi=dpi)
        fig.patch.set_alpha(0)
        canvas = FigureCanvasAgg(fig)
        handles = [Patch(**{k: v for k, v in kw.items() if k != "patch"}) if kw.get("patch") else Line2D([], [], **kw)
                   for _, kw in entries]
        legend = fig.legend(handles, [label for label, _ in entries], loc=loc, **legend_kw)  # placed as in axes
        canvas.draw()
        image, x0, x1, y0, y1 = _crop(canvas, legend.get_window_extent(canvas.get_renderer()).padded(2))
    axes = fig.bbox
    dx = axes.x1 - x1 if "right" in loc else x0 - axes.x0
    dy = axes.y1 - y1 if "upper" in loc else y0 - axes.y0
    return image, (dx, dy)


def title_stamp(text: str, *, dpi: float = 90) -> tuple[np.ndarray, tuple[float, float]]:
    """A panel title as :func:`panel_title` draws it, drawn once as ``(image, offset)`` for
    ``Stamp(..., outside=True)`` (left-aligned, ``axes.titlepad`` above the axes)."""
    with style():
        fig = Figure(figsize=(8, 2), dpi=dpi)
        fig.patch.set_alpha(0)
        canvas = FigureCanvasAgg(fig)
        x, y = 0.05 * fig.bbox.width, 0.3 * fig.bbox.height  # the axes' upper-left corner, in pixels
        pad = mpl.rcParams["axes.titlepad"] * dpi / 72
        color = mpl.rcParams["axes.titlecolor"]
        title = fig.text(x / fig.bbox.width, (y + pad) / fig.bbox.height, text, ha="left", va="baseline",
                         fontsize=STYLE["axes.titlesize"], fontweight=mpl.rcParams["axes.titleweight"],
                         color=mpl.rcParams["text.color"] if color == "auto" else color)
        canvas.draw()
        image, x0, _, _, y1 = _crop(canvas, title.get_window_extent(canvas.get_renderer()).padded(1))
    return image, (x0 - x, y - y1)


def as_image(fig, artist) -> None:
    """Replace ``artist``, one that no longer changes (a slider's legend), by an image of itself.

    The in-place counterpart of :func:`legend_stamp` with :class:`Stamp`: those draw a legend
    that a figure builder describes; this one freezes an artist a figure has already laid out.

    Text is laid out and rendered afresh at every draw, so a legend can cost a slider frame more
    than its data. Drawn once alone on a transparent canvas of the figure's size, cut out and
    shown as a figure image above the axes at the same pixels, it composes over every later
    frame to what drawing it there gives (to within 1/255). Call it when the figure's layout is
    final (in a slider, from its second frame on: the first is laid out after it is drawn).
    """
    from matplotlib.backends.backend_agg import RendererAgg

    width, height = fig.canvas.get_width_height()
    renderer = RendererAgg(width, height, fig.dpi)
    artist.draw(renderer)
    box = artist.get_window_extent(renderer)
    x0, y0 = max(int(np.floor(box.x0)) - 2, 0), max(int(np.floor(box.y0)) - 2, 0)
    x1, y1 = min(int(np.ceil(box.x1)) + 2, width), min(int(np.ceil(box.y1)) + 2, height)
    pixels = np.asarray(renderer.buffer_rgba())[height - y1:height - y0, x0:x1].copy()  # rows from the top
    artist.remove()
    fig.figimage(pixels, xo=x0, yo=y0, origin="upper", zorder=max(ax.get_zorder() for ax in fig.axes) + 1)
