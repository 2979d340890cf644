"""Slider demos that work in both worlds: a live kernel and the static website.

One call, :func:`slider`, returns a :class:`SliderDemo`. Displayed in a notebook, it gives a
single output that carries two views of the same demo:

* ``application/vnd.jupyter.widget-view+json`` -- live ipywidgets sliders. Moving one calls
  your ``draw`` function again and swaps the PNG of a single ``ipywidgets.Image`` in place:
  one figure, updated, never a new plot stacked per move (the known problem of
  ``interact`` with inline matplotlib in Colab). Works with ipywidgets 7.7 (Colab) and 8.
* ``text/html`` -- the same sliders as ``<input type="range">`` over frames drawn when the
  book was built, switched by a few lines of inline JavaScript. This is what the static
  website shows (the book's ``_config.yml`` ranks ``text/html`` above the widget view, which
  would be dead without a kernel).

``draw(fig, **values)`` receives an empty :class:`matplotlib.figure.Figure` and the current
slider values, and draws. Keep it cheap (well under 100 ms): slide over quantities that need
no retraining (a temperature, a step count, a training snapshot).
"""
from __future__ import annotations

import base64
import html
import io
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

from . import viz

__all__ = ["Param", "SliderDemo", "slider", "panels"]


def panels(fig, ncols: int = 1, nrows: int = 1, **kw):
    """The axes of a slider frame: created on the first frame, emptied and reused after.

    Use it in ``draw(fig, ...)`` instead of ``fig.subplots(...)``. Reusing the axes keeps their
    ticks, spines and layout, so a frame only redraws its data: several times faster, which
    is what keeps a live slider under 100 ms. The returned shape is ``fig.subplots``'s.
    """
    if getattr(fig, "_gencore_panels", None) is not None:
        for ax in fig.axes:
            for container in list(ax.containers):  # bar/errorbar/stem groups (legend handles)
                container.remove()
            for group in (ax.lines, ax.collections, ax.patches, ax.texts, ax.images, ax.child_axes):
                for artist in list(group):
                    artist.remove()
            if ax.legend_ is not None:
                ax.legend_.remove()
            ax.set_title("", loc="left")
            ax.set_title("")
            ax.relim()  # forget the previous frame's data limits and autoscale afresh
            ax.set_autoscale_on(True)
            ax.set_prop_cycle(None)
        return fig._gencore_panels
    fig._gencore_panels = fig.subplots(nrows, ncols, **kw)
    return fig._gencore_panels


# ---- cached decorations ----------------------------------------------------------------------
# Most of a slider frame's drawing time goes to what stays the same from frame to frame: tick
# labels laid out and rendered, grid lines, spines. When a frame's axes have the same limits,
# ticks and labels as a frame drawn before, only its data artists are drawn afresh, over the
# cached background, with the cached grid/tick layer and spine layer composited at their place
# in the z-order (matplotlib draws images and scatters below the grid, lines above it, spines
# above both). Each time the layers are cached, the composed frame is checked against the full
# drawing of the same frame; a demo whose frames disagree (or whose axes change every frame)
# simply goes on drawing every frame in full.
_TOLERANCE = 4  # largest channel difference (of 255) allowed between a composed and a full frame
_STRIKES = 2  # cached layers never reused this many times in a row: stop caching for this demo


def _ticks(axis) -> tuple:
    locs = axis.get_majorticklocs()
    return (tuple(locs), tuple(axis.major.formatter.format_ticks(locs)), tuple(axis.get_minorticklocs()),
            axis.get_visible(), repr(sorted(axis._major_tick_kw.items())), repr(sorted(axis._minor_tick_kw.items())))


def _key(fig) -> tuple:
    """Everything the cached layers depend on: axes place, limits, scales, ticks and labels."""
    parts = [tuple(fig.bbox.bounds), len(fig.axes)]
    for ax in fig.axes:
        parts.append((id(ax), ax.get_visible(), ax.axison, ax.get_frame_on(), tuple(ax.get_position().bounds),
                      ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(),
                      ax.get_ylabel(), _ticks(ax.xaxis), _ticks(ax.yaxis), ax.xaxis.get_zorder(),
                      tuple((name, s.get_visible()) for name, s in ax.spines.items()), ax.patch.get_facecolor()))
    return tuple(parts)


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


class _Layers:
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
        titles = [(t, t.get_position()) for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title)]
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
        if self.strikes >= _STRIKES:
            self.enabled, self.key = False, None
            return
        full = np.asarray(canvas.buffer_rgba()).copy()
        axes_shown = [ax for ax in fig.axes if ax.axison]
        self.base = self._snapshot(canvas, {id(fig.patch)} | {id(ax.patch) for ax in axes_shown if ax.get_frame_on()})
        ticks = self._snapshot(canvas, {id(a) for ax in axes_shown for a in (ax.xaxis, ax.yaxis)})
        spines = self._snapshot(canvas, {id(s) for ax in axes_shown if ax.get_frame_on() for s in ax.spines.values()})
        self.overlays = [self._premultiplied(ticks), self._premultiplied(spines)]
        self.compose(canvas)
        composed = np.asarray(canvas.buffer_rgba())
        same = int(np.abs(composed.astype(np.int16) - full).max()) <= _TOLERANCE
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


@dataclass(frozen=True)
class Param:
    """One slider: the values it steps through, a label and how to print a value."""

    values: tuple
    label: str
    fmt: str = "{:.3g}"
    start: int | None = None  # index of the initial value (default: the middle one)

    def text(self, value: Any) -> str:
        try:
            return self.fmt.format(value)
        except (TypeError, ValueError):
            return str(value)

    @property
    def initial(self) -> int:
        return len(self.values) // 2 if self.start is None else self.start


def _as_param(name: str, spec) -> Param:
    if isinstance(spec, Param):
        param = spec
    else:
        try:
            param = Param(tuple(spec), label=name)
        except TypeError as err:
            raise ValueError(f"slider parameter {name!r} must be a sequence of values or a Param") from err
    if len(param.values) < 2:
        raise ValueError(f"slider parameter {name!r} needs at least 2 values; got {len(param.values)}")
    if not 0 <= param.initial < len(param.values):
        raise ValueError(f"slider parameter {name!r}: start must index its values; got {param.start}")
    return Param(tuple(param.values), param.label, param.fmt, param.start)


class SliderDemo:
    """A figure driven by one or more sliders; see the module docstring.

    Attributes:
        params: the sliders, by keyword name, in display order.
        frames: the static frames as PNG bytes, keyed by a tuple of value indices (one per
            slider); computed on first display (or by :meth:`render_frames`).
    """

    def __init__(
        self,
        draw: Callable[..., None],
        params: dict[str, Param],
        *,
        figsize: tuple[float, float] = (8.0, 3.2),
        dpi: int = 90,
        max_frames: int = 120,
    ):
        if not callable(draw):
            raise ValueError("draw must be a callable draw(fig, **values)")
        if not params:
            raise ValueError("slider needs at least one parameter, e.g. t=range(10)")
        self.draw = draw
        self.params = params
        self.figsize = figsize
        self.dpi = dpi
        n = 1
        for p in params.values():
            n *= len(p.values)
        if n > max_frames:
            raise ValueError(
                f"the sliders make {n} static frames, more than max_frames={max_frames}; "
                "use fewer values per slider (each frame is a PNG in the page)"
            )
        self.frames: dict[tuple[int, ...], bytes] = {}
        with viz.style():
            self._fig = Figure(figsize=figsize, dpi=dpi, facecolor="white")
        self._canvas = FigureCanvasAgg(self._fig)
        self._positions = None  # axes positions found on the first frame, reused after
        self._layers = _Layers()  # the decorations cached between frames
        self._widget = None

    # ---- drawing -------------------------------------------------------------------------
    def values_at(self, index: Sequence[int]) -> dict[str, Any]:
        """The slider values at ``index``, one value index per slider."""
        sizes = [len(p.values) for p in self.params.values()]
        if len(index) != len(sizes) or not all(0 <= int(i) < n for i, n in zip(index, sizes)):
            raise ValueError(f"index must hold one value index per slider, within {sizes}; got {tuple(index)}")
        return {name: p.values[int(i)] for (name, p), i in zip(self.params.items(), index)}

    def render(self, index: Sequence[int]) -> bytes:
        """Draw the frame at ``index`` (one value index per slider) and return it as PNG bytes."""
        with viz.style():  # the book's look for this frame only, not the reader's rcParams
            return self._render(index)

    def _render(self, index: Sequence[int]) -> bytes:
        fig = self._fig
        if getattr(fig, "_gencore_panels", None) is None:
            fig.clear()  # draw() makes its own axes each frame; with panels() they are reused
        self.draw(fig, **self.values_at(index))
        # Lay the panels out once (constrained layout on the first frame), then pin every
        # later frame's axes to the same positions: nothing jumps while sliding, and each
        # frame is drawn once (a layout engine or a tight bounding box draws it twice).
        if self._positions is None or len(self._positions) != len(fig.axes):
            fig.set_layout_engine("constrained")
            self._canvas.draw()
            self._positions = [ax.get_position() for ax in fig.axes]
            fig.set_layout_engine("none")
        else:
            for ax, pos in zip(fig.axes, self._positions):
                ax.set_position(pos)
            layers = self._layers
            if any(ax.get_axes_locator() is not None for ax in fig.axes):
                layers.enabled = False  # such axes are placed while drawing: draw in full
            if layers.enabled and layers.key is not None:
                for ax in fig.axes:
                    ax.apply_aspect()
                if _key(fig) == layers.key:
                    layers.compose(self._canvas)
                    return self._png()
            self._canvas.draw()
            if layers.enabled:
                layers.capture(self._canvas, _key(fig))
            return self._png()
        self._canvas.draw()
        return self._png()

    def _png(self) -> bytes:
        rgba = self._canvas.buffer_rgba()
        image = PILImage.frombuffer("RGBA", self._canvas.get_width_height(), rgba, "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="png", compress_level=4)
        return buf.getvalue()

    def render_frames(self) -> dict[tuple[int, ...], bytes]:
        """Draw every combination of slider values (the static website's frames)."""
        if not self.frames:
            ranges = [range(len(p.values)) for p in self.params.values()]
            for index in itertools.product(*ranges):
                self.frames[index] = self.render(index)
        return self.frames

    @property
    def initial_index(self) -> tuple[int, ...]:
        return tuple(p.initial for p in self.params.values())

    # ---- the static view -----------------------------------------------------------------
    def to_html(self) -> str:
        """The static slider: range inputs, every frame as a hidden ``<img>``, inline JS."""
        frames = self.render_frames()
        uid = "gs-" + uuid.uuid4().hex[:12]
        sizes = [len(p.values) for p in self.params.values()]
        labels = [[p.text(v) for v in p.values] for p in self.params.values()]
        start = self.initial_index
        controls = []
        for k, (name, p) in enumerate(self.params.items()):
            controls.append(
                f'<label class="gs-control">{html.escape(p.label)} '
                f'<input type="range" min="0" max="{len(p.values) - 1}" step="1" '
                f'value="{start[k]}" data-k="{k}" aria-label="{html.escape(p.label)}">'
                f' <output>{html.escape(labels[k][start[k]])}</output></label>'
            )
        imgs = []
        for index, png in frames.items():
            key = ",".join(map(str, index))
            hidden = "" if index == start else ' style="display:none"'
            data = base64.b64encode(png).decode("ascii")
            imgs.append(
                f'<img class="gs-frame" data-key="{key}" alt="frame {key}"{hidden} '
                f'src="data:image/png;base64,{data}">'
            )
        meta = html.escape(json.dumps({"sizes": sizes, "labels": labels}))
        script = (
            "(function(){var r=document.getElementById('%s');if(!r)return;"
            "var m=JSON.parse(r.getAttribute('data-meta'));"
            "var ins=r.querySelectorAll('input[type=range]');"
            "function show(){var key=[];ins.forEach(function(el){var k=+el.dataset.k;"
            "key.push(el.value);el.parentNode.querySelector('output').textContent=m.labels[k][+el.value];});"
            "key=key.join(',');r.querySelectorAll('img.gs-frame').forEach(function(im){"
            "im.style.display=(im.dataset.key===key)?'':'none';});}"
            "ins.forEach(function(el){el.addEventListener('input',show);});show();})();"
        ) % uid
        return (
            f'<div class="gencore-slider" id="{uid}" data-meta="{meta}">'
            f'<div class="gs-controls">{"".join(controls)}</div>'
            f'<div class="gs-frames">{"".join(imgs)}</div></div>'
            f"<script>{script}</script>"
        )

    # ---- the live view -------------------------------------------------------------------
    def widget(self):
        """The live ipywidgets view (built once): sliders above one ``Image`` updated in place."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as w

        sliders = []
        for name, p in self.params.items():
            options = [(p.text(v), i) for i, v in enumerate(p.values)]
            s = w.SelectionSlider(
                options=options,
                value=p.initial,
                description=p.label,
                continuous_update=True,
                layout=w.Layout(width="420px"),
                style={"description_width": "initial"},
            )
            sliders.append(s)
        image = w.Image(value=self.render(self.initial_index), format="png")
        status = w.HTML(value="")

        def update(_change=None):
            t0 = time.perf_counter()
            index = tuple(s.value for s in sliders)
            # a frame the static view has drawn already is shown as it is, else drawn now
            image.value = self.frames.get(index) or self.render(index)
            status.value = f"<small>redrawn in {1000 * (time.perf_counter() - t0):.0f} ms</small>"

        for s in sliders:
            s.observe(update, names="value")
        box = w.VBox([w.HBox(sliders, layout=w.Layout(flex_flow="row wrap")), image, status])
        box.sliders, box.image = sliders, image  # handles for tests and curious readers
        self._widget = box
        return box

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {
            "text/plain": f"<slider demo over {', '.join(self.params)}>",
            "text/html": self.to_html(),
        }
        try:
            box = self.widget()
        except ImportError:  # no ipywidgets: the static view still works in any notebook
            return bundle
        bundle["application/vnd.jupyter.widget-view+json"] = {
            "version_major": 2,
            "version_minor": 0,
            "model_id": box.model_id,
        }
        return bundle


def slider(
    draw: Callable[..., None],
    *,
    figsize: tuple[float, float] = (8.0, 3.2),
    dpi: int = 90,
    **params: Sequence | Param,
) -> SliderDemo:
    """A slider demo over ``params`` that redraws ``draw(fig, **values)``.

    Args:
        draw: called with an empty figure and one value per slider; draws the frame.
        figsize, dpi: of every frame (the same for all, so nothing jumps while sliding).
        **params: each a sequence of values or a :class:`Param` with a label and format.

    Example:
        >>> demo = slider(lambda fig, t: fig.add_subplot().plot([0, t]), t=Param((1, 2, 3), "t"))
        >>> demo  # in a notebook: live sliders; on the website: a static slider
    """
    return SliderDemo(draw, {n: _as_param(n, s) for n, s in params.items()}, figsize=figsize, dpi=dpi)
