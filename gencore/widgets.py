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
import re
import string
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

from . import viz
from .blit import Layers, composable, decoration_key

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
        alt: str | Callable[..., str] | None = None,
    ):
        if not callable(draw):
            raise ValueError("draw must be a callable draw(fig, **values)")
        if not params:
            raise ValueError("slider needs at least one parameter, e.g. t=range(10)")
        self.draw = draw
        self.params = params
        self.alt = _check_alt(alt, params)
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
        self._layers = Layers()  # the decorations cached between frames
        self._widget = None

    # ---- drawing -------------------------------------------------------------------------
    def values_at(self, index: Sequence[int]) -> dict[str, Any]:
        """The slider values at ``index``, one value index per slider."""
        sizes = [len(p.values) for p in self.params.values()]
        if len(index) != len(sizes) or not all(0 <= int(i) < n for i, n in zip(index, sizes)):
            raise ValueError(f"index must hold one value index per slider, within {sizes}; got {tuple(index)}")
        return {name: p.values[int(i)] for (name, p), i in zip(self.params.items(), index)}

    def render(self, index: Sequence[int], compress: int = 1, palette: bool = False) -> bytes:
        """Draw the frame at ``index`` (one value index per slider) and return it as PNG bytes.

        ``compress`` is zlib's level: 1 (fast) for a live redraw; the website's frames, drawn once
        and downloaded by every reader, are squeezed harder and stored with a 256-colour
        ``palette`` (:meth:`render_frames`).
        """
        with viz.style():  # the book's look for this frame only, not the reader's rcParams
            self._render(index)
        return self._png(compress, palette)

    def _render(self, index: Sequence[int]) -> None:
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
                if decoration_key(fig) == layers.key:
                    if composable(fig, self._canvas.get_renderer()):
                        layers.compose(self._canvas)
                    else:  # this frame only is drawn in full; the cached layers stay valid
                        self._canvas.draw()
                    return
            self._canvas.draw()
            if layers.enabled:
                layers.capture(self._canvas, decoration_key(fig))
            return
        self._canvas.draw()

    def _png(self, compress: int, palette: bool = False) -> bytes:
        rgba = self._canvas.buffer_rgba()
        image = PILImage.frombuffer("RGBA", self._canvas.get_width_height(), rgba, "raw", "RGBA", 0, 1).convert("RGB")
        if palette:  # 256 colours (a fast octree): a third of the bytes, no visible change on these plots
            image = image.quantize(colors=256, method=PILImage.Quantize.FASTOCTREE)
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=compress)
        return buf.getvalue()

    def render_frames(self) -> dict[tuple[int, ...], bytes]:
        """Draw every combination of slider values (the static website's frames)."""
        if not self.frames:
            ranges = [range(len(p.values)) for p in self.params.values()]
            for index in itertools.product(*ranges):
                self.frames[index] = self.render(index, compress=6, palette=True)
        return self.frames

    @property
    def initial_index(self) -> tuple[int, ...]:
        return tuple(p.initial for p in self.params.values())

    def alt_at(self, index: Sequence[int]) -> str:
        """The text alternative of the frame at ``index``: what it shows, at which slider values.

        A string ``alt`` has its ``{name}`` fields filled with the printed values (each slider's
        ``fmt``), and any slider it does not name is appended as ``label = value``: every frame's
        text says where the sliders stand. A callable ``alt`` is called with the values themselves
        and its text is taken as it is (it has the values: it says them as it likes). Without
        ``alt``, the text is the sliders' labels and values.
        """
        values = self.values_at(index)
        texts = {name: p.text(values[name]) for name, p in self.params.items()}
        if callable(self.alt):
            return str(self.alt(**values)).strip()
        if self.alt is None:
            described, named = "Slider figure", set()
        else:
            described, named = self.alt.format(**texts).strip(), _fields(self.alt)
        rest = [f"{p.label} = {texts[name]}" for name, p in self.params.items() if name not in named]
        if not rest:
            return described
        return f"{described.rstrip('.')} ({'; '.join(rest)})."

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
                f'<img class="gs-frame" data-key="{key}" alt="{html.escape(self.alt_at(index))}"{hidden} '
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

    def _printed_view(self) -> tuple[bytes, str]:
        """The slider on paper: its initial frame (PNG) and one line saying what moves.

        For a reader of the printed book (``make pdf``) or any viewer that shows neither the
        widget nor the HTML; the line names each slider, its range and the value shown.
        """
        frame = self.render_frames()[self.initial_index]
        moves, shown = [], []
        for p, i in zip(self.params.values(), self.initial_index):
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p.values):
                moves.append(f"{p.label} from {p.text(p.values[0])} to {p.text(p.values[-1])} ({len(p.values)} values)")
            else:  # named choices: all of them
                moves.append(f"{p.label} ({' / '.join(p.text(v) for v in p.values)})")
            shown.append(f"{p.label} = {p.text(p.values[i])}")
        line = (f"Interactive on the website and in the notebook: {'a slider' if len(moves) == 1 else 'sliders'}"
                f" over {' and '.join(moves)}. Printed here: {', '.join(shown)}.")
        return frame, line

    def _repr_mimebundle_(self, include=None, exclude=None):
        frame, line = self._printed_view()
        png = base64.b64encode(frame).decode("ascii")
        # Markdown (image and line in one output) is what the book's LaTeX build renders
        # (_config.yml ranks it first for latex); every ASCII punctuation mark is escaped.
        quoted = re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", line)
        bundle = {
            "text/plain": f"<slider demo over {', '.join(self.params)}>",
            "text/html": self.to_html(),
            "image/png": png,
            "text/markdown": f"![{quoted}](data:image/png;base64,{png})\n\n*{quoted}*\n",
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


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def _check_alt(alt, params: dict[str, Param]):
    """``alt`` as given, once it is known to describe frames of these sliders."""
    if alt is None or callable(alt):
        return alt
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt must be a non-empty string or a callable of the slider values; got {alt!r}")
    try:
        unknown = sorted(_fields(alt) - set(params))
    except ValueError as err:
        raise ValueError(f"alt is not a valid format string: {err}") from err
    if unknown:
        raise ValueError(f"alt names {unknown}, which are not sliders; the sliders are {list(params)}")
    return alt


def slider(
    draw: Callable[..., None],
    *,
    figsize: tuple[float, float] = (8.0, 3.2),
    dpi: int = 90,
    alt: str | Callable[..., str] | None = None,
    **params: Sequence | Param,
) -> SliderDemo:
    """A slider demo over ``params`` that redraws ``draw(fig, **values)``.

    Args:
        draw: called with an empty figure and one value per slider; draws the frame.
        figsize, dpi: of every frame (the same for all, so nothing jumps while sliding).
        alt: the frames' text alternative for readers who cannot see them: what the figure
            shows and its takeaway, as a string whose ``{name}`` fields take the slider values
            (printed with each slider's ``fmt``; sliders it does not name are appended as
            ``label = value``), or a callable ``alt(**values) -> str`` whose text is used as it
            is (see :meth:`SliderDemo.alt_at`).
        **params: each a sequence of values or a :class:`Param` with a label and format.

    Example:
        >>> demo = slider(lambda fig, t: fig.add_subplot().plot([0, t]), t=Param((1, 2, 3), "t"))
        >>> demo  # in a notebook: live sliders; on the website: a static slider
    """
    return SliderDemo(draw, {n: _as_param(n, s) for n, s in params.items()}, figsize=figsize, dpi=dpi, alt=alt)
