"""Slider frames drawn cheaply: what no frame changes, drawn once as pixels and pasted.

A slider (:mod:`gencore.widgets`) reuses its axes and caches their ticks (:mod:`gencore.blit`);
a figure's draw function that also makes its artists on the first frame and only moves them
afterwards (``set_data``, ``set_offsets``) can, from the second frame on (the axes are placed for
good then), draw everything that never changes once, as pixels:

* :func:`freeze` turns an axes' fixed artists into :class:`Pixels` layers between the moving
  ones, keeping matplotlib's drawing order (:func:`pixels_of` draws any artists so);
* :func:`as_image` does the same for one artist already laid out (a legend);
* :class:`Stamp` pastes a picture made beforehand at a fixed offset from a corner of its axes:
  a legend described by :func:`legend_stamp`, a title by :func:`title_stamp`, a panel's fixed
  points by :func:`panel_picture`;
* :func:`pin_labels` and :func:`titles` keep labels and titles from being measured again;
* :func:`reused` hands a frame the artists the first frame made; :func:`staged` builds a
  draw function that makes them, then draws the fixed ones once as pixels, then only moves them.

Frames look the same as fully drawn ones, to a level or two of 255 (tests in test_widgets,
test_reparam, test_gan, test_vae, test_overview).
"""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib as mpl
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox
import numpy as np

from .viz import STYLE, style

__all__ = ["reused", "reusing", "staged", "Pixels", "pixels_of", "freeze", "as_image", "Stamp", "legend_stamp", "title_stamp",
           "panel_picture", "pin_labels", "titles"]


def reused(fig, build):
    """A slider frame's artists: ``build(fig)`` makes them (and the axes) on the first frame drawn on
    ``fig``; every later frame gets the same ones back and only gives them new data (``set_data``,
    ``set_offsets``, ``set_segments``)."""
    made = getattr(fig, "_gencore_artists", None)
    if made is None:
        made = fig._gencore_artists = build(fig)
    return made


def staged(first, settle, update):
    """A slider's ``draw(fig, ...)`` in three stages: ``first(fig, ...)`` draws the first frame and
    returns its handles; on the second frame (the axes then placed for good) ``settle(handles)``
    draws what no frame changes once, as pixels (:func:`freeze`); from then on
    ``update(handles, ...)`` only moves what a frame changes."""
    def draw(fig, *args, **kwargs):
        if not reusing(fig):
            reused(fig, lambda f: {"handles": first(f, *args, **kwargs), "settled": False})
            return
        state = reused(fig, None)
        if not state["settled"]:
            settle(state["handles"])
            state["settled"] = True
        update(state["handles"], *args, **kwargs)

    return draw


def reusing(fig) -> bool:
    """Whether a frame was drawn on ``fig`` before (:func:`reused` made its artists): from then on the
    layout is final, and fixed artists can be drawn once as pixels."""
    return getattr(fig, "_gencore_artists", None) is not None


class Pixels(Artist):
    """An RGBA image drawn pixel for pixel at a fixed place on the canvas (no resampling).

    ``pixels`` is ``(rgba (H, W, 4) uint8, bottom row first; left; bottom)`` in canvas pixels, as
    :func:`pixels_of` returns it; :meth:`set_pixels` swaps it (e.g. one image per slider frame).
    """

    def __init__(self, pixels: tuple, zorder: float):
        super().__init__()
        self.set_pixels(pixels)
        self.set_zorder(zorder)
        self.set_clip_on(False)  # the pixels were clipped when they were drawn

    def set_pixels(self, pixels: tuple) -> None:
        self.rgba, self.left, self.bottom = pixels
        self.stale = True

    def get_window_extent(self, renderer=None):
        height, width = self.rgba.shape[:2]
        return Bbox.from_bounds(self.left, self.bottom, width, height)

    def draw(self, renderer):
        if not self.get_visible() or self.rgba.size == 0:
            return
        gc = renderer.new_gc()
        renderer.draw_image(gc, self.left, self.bottom, self.rgba)
        gc.restore()
        self.stale = False


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


def pixels_of(ax, artists) -> tuple:
    """``artists`` of ``ax`` drawn alone, in z-order, on a transparent canvas of the figure's size
    and resolution: the box of drawn pixels, as :class:`Pixels` takes it."""
    fig = ax.figure
    width, height = int(round(fig.bbox.width)), int(round(fig.bbox.height))
    renderer = RendererAgg(width, height, fig.dpi)
    for artist in sorted(artists, key=lambda a: a.get_zorder()):
        artist.draw(renderer)
    rgba = np.asarray(renderer.buffer_rgba())
    rows, cols = np.nonzero(rgba[..., 3])
    if len(rows) == 0:
        return np.zeros((0, 0, 4), np.uint8), 0, 0
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    # the buffer's first row is the canvas's top; draw_image's is the image's bottom
    return rgba[top:bottom, left:right][::-1].copy(), int(left), int(height - bottom)


def freeze(ax, moving=()) -> list:
    """Draw every visible artist of ``ax`` except those in ``moving`` (and the axes' patch, axis
    and spines) once, as :class:`Pixels`, and hide the originals; the order of drawing is kept.

    The artists between two moving ones (or an axis or spine) in matplotlib's order become one
    layer; each artist's z-order is nudged by under 1e-3 so that the order no longer rests on
    the order they were added in. Call it once the axes are placed and their limits fixed.
    Returns the layers.
    """
    fixed = {id(a) for a in (ax.patch, ax.xaxis, ax.yaxis, *ax.spines.values())}
    keep = {id(a) for a in moving} | fixed
    order = sorted((a for a in ax.get_children() if a.get_visible()), key=lambda a: a.get_zorder())
    runs, run = [], []
    for k, artist in enumerate(order):
        if id(artist) not in fixed:
            artist.set_zorder(artist.get_zorder() + 1e-6 * (k + 1))
        if id(artist) in keep:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(artist)
    if run:
        runs.append(run)
    layers = []
    for run in runs:
        layers.append(Pixels(pixels_of(ax, run), run[0].get_zorder()))
        for artist in run:
            artist.set_visible(False)
        ax.add_artist(layers[-1])
    return layers


def titles(ax) -> list:
    """The axes' three title texts (left, centre, right)."""
    return [a for a in ax.get_children() if isinstance(a, Text) and a not in ax.texts]


def pin_labels(ax) -> None:
    """Keep the axis labels where the last drawing put them, so a redraw skips measuring every
    tick label to place them: for panels whose ticks no later frame changes."""
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_label_coords(*axis.label.get_position(), transform=axis.label.get_transform())
