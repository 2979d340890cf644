"""Slider frames drawn over cached axes decorations (what matplotlib calls blitting).

Most of a slider frame's drawing time goes to what stays the same from frame to frame: tick
labels laid out and rendered, grid lines, spines. When a frame's axes have the same limits,
ticks and labels as a frame drawn before, only its data artists are drawn afresh, over the
cached background, with the cached grid/tick layer and spine layer composited at their place
in the z-order (matplotlib draws images and scatters below the grid, lines above it, spines
above both). Each time the layers are cached, the composed frame is checked against the full
drawing of the same frame; a demo whose frames disagree (or whose axes change every frame)
simply goes on drawing every frame in full. :class:`gencore.widgets.SliderDemo` uses it.
"""
from __future__ import annotations

import numpy as np
from matplotlib.text import Text

__all__ = ["TOLERANCE", "STRIKES", "Layers", "decoration_key", "composable"]

TOLERANCE = 4  # largest channel difference (of 255) allowed between a composed and a full frame
STRIKES = 2  # cached layers never reused this many times in a row: stop caching for this demo


def _text(t) -> tuple:
    return (t.get_visible(), t.get_text(), t.get_color(), t.get_fontsize(), t.get_fontweight(), t.get_alpha())


def _line(line) -> tuple:
    return (line.get_visible(), line.get_color(), line.get_linewidth(), line.get_linestyle(), line.get_alpha(),
            line.get_markersize(), line.get_markeredgewidth())


def _ticks(axis) -> tuple:
    """How an axis looks: tick places, their labels' text and style, the axis label, the offset."""
    locs, minor = axis.get_majorticklocs(), axis.get_minorticklocs()
    looks = [(_text(t.label1), _text(t.label2), _line(t.tick1line), _line(t.tick2line), _line(t.gridline))
             for t in axis.get_major_ticks(len(locs))]
    looks += [(_text(t.label1), _line(t.tick1line), _line(t.gridline)) for t in axis.get_minor_ticks(len(minor))]
    return (tuple(locs), tuple(axis.major.formatter.format_ticks(locs)), tuple(minor),
            tuple(axis.minor.formatter.format_ticks(minor)), axis.get_visible(), tuple(looks),
            _text(axis.label), axis.label.get_position(), _text(axis.offsetText), axis.get_zorder())


def decoration_key(fig) -> tuple:
    """Everything the cached layers depend on: axes place, limits, scales, how ticks, labels and
    spines look, the background colours."""
    parts = [tuple(fig.bbox.bounds), len(fig.axes), fig.patch.get_facecolor(), fig.patch.get_visible()]
    for ax in fig.axes:
        parts.append((id(ax), ax.get_visible(), ax.axison, ax.get_frame_on(), tuple(ax.get_position().bounds),
                      ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(),
                      _ticks(ax.xaxis), _ticks(ax.yaxis), ax.patch.get_facecolor(), ax.patch.get_visible(),
                      tuple((name, s.get_visible(), s.get_edgecolor(), s.get_linewidth(), s.get_linestyle(),
                             s.get_bounds(), s.get_zorder()) for name, s in ax.spines.items())))
    return tuple(parts)


def composable(fig, renderer) -> bool:
    """Whether the moving artists can be drawn over the cached layers in matplotlib's order: no
    figure-level artist under the axes, and no unclipped artist (a legend, a text) of one axes
    reaching into another (a full drawing paints the other axes' background and ticks over it)."""
    per_axes, own = _moving(fig)
    if any(a.get_zorder() <= max((ax.get_zorder() for ax in fig.axes), default=0) for a in own):
        return False
    boxes = [ax.bbox for ax in fig.axes]
    for i, artists in enumerate(per_axes):
        for a in artists:
            if a.get_clip_on() and a.get_clip_box() is not None:
                continue
            extent = a.get_window_extent(renderer)
            if any(j != i and extent.overlaps(box) for j, box in enumerate(boxes)):
                return False
    return True


def _fixed(ax) -> list:
    return [ax.patch, ax.xaxis, ax.yaxis, *ax.spines.values()]


def _moving(fig) -> tuple[list, list]:
    """The artists drawn afresh each frame: per axes, and the figure's own (suptitle, legends)."""
    per_axes = []
    for ax in fig.axes:
        fixed = {id(a) for a in _fixed(ax)}
        per_axes.append(sorted((a for a in ax.get_children() if id(a) not in fixed and a.get_visible() and not a.get_animated()),
                               key=lambda a: a.get_zorder()))
    axes = {id(ax) for ax in fig.axes}
    own = [a for a in fig.get_children() if a is not fig.patch and id(a) not in axes and a.get_visible()]
    return per_axes, sorted(own, key=lambda a: a.get_zorder())


class Layers:
    """The cached background, grid/tick layer and spine layer of a figure (see above)."""

    def __init__(self):
        self.key, self.enabled, self.hits, self.strikes = None, True, 0, 0

    def _snapshot(self, canvas, show) -> np.ndarray:
        fig = canvas.figure
        everything = [fig.patch] + [a for ax in fig.axes for a in ax.get_children()]
        everything += [a for a in fig.get_children() if a not in fig.axes and a is not fig.patch]
        visible = {id(a): a.get_visible() for a in everything}
        # Drawing moves an axes' titles clear of its tick labels, measuring them as they are:
        # hidden, they would be moved; they go back where the full drawing put them.
        titles = [(t, t.get_position()) for ax in fig.axes for t in ax.get_children() if isinstance(t, Text)]
        try:
            for a in everything:
                a.set_visible(visible[id(a)] and id(a) in show)
            for ax in fig.axes:  # the axes themselves stay drawable
                ax.set_visible(visible.get(id(ax), ax.get_visible()))
            canvas.draw()
            return np.asarray(canvas.buffer_rgba()).copy()
        finally:
            for a in everything:
                a.set_visible(visible[id(a)])
            for title, position in titles:
                title.set_position(position)

    def capture(self, canvas, key) -> None:
        fig = canvas.figure
        if self.key is not None and self.hits == 0:
            self.strikes += 1
        if self.strikes >= STRIKES:
            self.enabled, self.key = False, None
            return
        if not composable(fig, canvas.get_renderer()):
            self.key = None  # try again on a later frame
            return
        full = np.asarray(canvas.buffer_rgba()).copy()
        axes_shown = [ax for ax in fig.axes if ax.axison]
        self.base = self._snapshot(canvas, {id(fig.patch)} | {id(ax.patch) for ax in axes_shown if ax.get_frame_on()})
        ticks = self._snapshot(canvas, {id(a) for ax in axes_shown for a in (ax.xaxis, ax.yaxis)})
        spines = self._snapshot(canvas, {id(s) for ax in axes_shown if ax.get_frame_on() for s in ax.spines.values()})
        self.overlays = [self._premultiplied(ticks), self._premultiplied(spines)]
        self.compose(canvas)
        composed = np.asarray(canvas.buffer_rgba())
        same = int(np.abs(composed.astype(np.int16) - full).max()) <= TOLERANCE
        np.copyto(np.asarray(canvas.buffer_rgba()), full)  # this frame is the full drawing
        self.key, self.hits = (key if same else None), 0
        if not same:
            self.enabled = False

    @staticmethod
    def _premultiplied(layer: np.ndarray):
        """The layer's covered pixels (flat indices), their premultiplied colour and what shows through."""
        alpha = layer[..., 3].reshape(-1)
        where = np.flatnonzero(alpha)
        a = alpha[where, None].astype(np.float32) / 255
        return where, layer.reshape(-1, 4)[where, :3].astype(np.float32) * a + 0.5, 1 - a

    def compose(self, canvas) -> None:
        """Draw the current frame: cached layers, and the moving artists between them in z-order."""
        fig, renderer = canvas.figure, canvas.get_renderer()
        buffer = np.asarray(canvas.buffer_rgba())
        np.copyto(buffer, self.base)
        per_axes, own = _moving(fig)
        thresholds = [[ax.xaxis.get_zorder() for ax in fig.axes],
                      [min((s.get_zorder() for s in ax.spines.values()), default=np.inf) for ax in fig.axes],
                      [np.inf] * len(fig.axes)]
        start = [0] * len(fig.axes)
        for stage, limits in enumerate(thresholds):
            for i, (artists, limit) in enumerate(zip(per_axes, limits)):
                while start[i] < len(artists) and artists[start[i]].get_zorder() < limit:
                    artists[start[i]].draw(renderer)
                    start[i] += 1
            if stage < 2:
                where, color, keep = self.overlays[stage]
                pixels = buffer.reshape(-1, 4)
                pixels[where, :3] = np.minimum(color + pixels[where, :3] * keep, 255).astype(np.uint8)
        for artist in own:
            artist.draw(renderer)
        self.hits += 1
