"""Live demos: gencore's own step functions, exported to ONNX, run in the reader's browser.

On the static website a slider over frames drawn at build time can only show the few settings
its author picked. A :class:`LiveDemo` instead carries the demo's *step function* (the trained
network and the sampler's update, the noise passed in as an input) exported from gencore with
``torch.onnx.export``; the page runs it with onnxruntime-web (copied into ``book/_static/ort``
by ``scripts/fetch_ort.sh``: no CDN, no server, no cross-origin isolation, one thread). The
page's JavaScript only loops over the steps, draws, and reads the controls: the mathematics is
the traced gencore code itself (:class:`DDIMStep` calls :func:`gencore.diffusion.ddim_step`).

One object, both worlds: displayed in Jupyter or Colab it is the existing ipywidgets slider
(its ``fallback``); on the website (``text/html``, which the book's ``_config.yml`` prefers)
it is the live canvas; in the printed book the slider's first frame. Where the export fails
(no ``onnx`` package, say) the website gets the slider's frames as before.
"""
from __future__ import annotations

import base64
import copy
import html
import io
import json
import math
import uuid
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from . import diffusion as D
from .live_js import SCRIPT
from .tensors import event_2d, in_range, positive, positive_int, validate

__all__ = ["Slider", "export_step", "LiveDemo", "sampler_demo", "curve_demo", "fit_box", "ONE_PANEL", "TWO_PANELS", "DDIMStep", "ddim_live", "RUNTIME"]

FRAMES_MIME = "application/vnd.gencore.frames+json"  # a live demo's frames, by slider position "i,j"
RUNTIME = "_static/ort/"  # onnxruntime-web, relative to the site's root (scripts/fetch_ort.sh)
OPSET = 17


@dataclass(frozen=True)
class Slider:
    """One control of a live demo: ``key`` (the ONNX input it feeds, or the ``steps`` count),
    its ``label``, range ``lo..hi`` in increments of ``step``, first ``value``, shown with
    ``digits`` decimals, or as ``labels[value]`` (an index slider, e.g. over checkpoints).
    ``dtype``: the input's type, ``"float32"`` or ``"int64"``."""

    key: str
    label: str
    lo: float
    hi: float
    step: float
    value: float
    digits: int = 2
    labels: tuple | None = None
    dtype: str = "float32"

    def __post_init__(self):
        for name in ("lo", "hi", "step", "value"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"Slider {self.key!r}: {name} must be a finite number; got {v!r}")
        if not (self.lo < self.hi and self.step > 0 and self.lo <= self.value <= self.hi):
            raise ValueError(f"Slider {self.key!r}: need lo < hi, step > 0 and lo <= value <= hi; got "
                             f"lo={self.lo}, hi={self.hi}, step={self.step}, value={self.value}")
        if self.dtype not in ("float32", "int64"):
            raise ValueError(f"Slider {self.key!r}: dtype must be 'float32' or 'int64'; got {self.dtype!r}")
        if self.labels is not None and len(self.labels) != int(round((self.hi - self.lo) / self.step)) + 1:
            raise ValueError(f"Slider {self.key!r}: labels must name every position lo..hi; got {len(self.labels)}")

    def json(self) -> dict:
        out = {k: getattr(self, k) for k in ("key", "label", "lo", "hi", "step", "value", "digits", "dtype")}
        return dict(out, labels=None if self.labels is None else [str(v) for v in self.labels])


def _check_step(step) -> tuple:
    if not isinstance(step, nn.Module) or not hasattr(step, "input_names") or not callable(getattr(step, "example", None)):
        raise ValueError("step must be a torch.nn.Module with input_names and example() (see gencore.live); "
                         f"got {type(step).__name__}")
    example = step.example()
    if len(example) != len(step.input_names) or not all(isinstance(t, torch.Tensor) for t in example):
        raise ValueError(f"step.example() must give one tensor per input name {step.input_names}")
    return example


def export_step(step: nn.Module) -> bytes:
    """``step`` as an ONNX model (bytes), by torch's TorchScript exporter (it needs the ``onnx`` package).

    ``step`` is a module with ``input_names`` and ``example()`` (inputs to trace with). Every
    2D input (the points ``x``, the noise ``z``) keeps its batch size free; the output, ``out``,
    too. The tracer's notes about the argument checks it passes over are silenced: the checks
    hold for the traced inputs, and the agreement tests run the graph on others.
    """
    example = _check_step(step)
    buf = io.BytesIO()
    dynamic = {name: {0: "n"} for name, t in zip(step.input_names, example) if t.ndim == 2}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(step, example, buf, dynamo=False, opset_version=OPSET, input_names=list(step.input_names),
                          output_names=["out"], dynamic_axes={**dynamic, "out": {0: "n"}})
    return _single_precision(buf.getvalue())


def _single_precision(model: bytes) -> bytes:
    """The graph in float32 throughout: under a float64 default dtype the tracer records Python
    numbers as float64 constants and casts around them, which onnxruntime-web's kernels do not
    all take. Every float64 constant becomes float32 and every cast to float64 a cast to float32
    (the inputs and outputs are float32 already; the agreement tests compare with gencore)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(model)
    double, single = onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT
    for node in graph.graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == double:
                attr.i = single
            elif attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == double:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype("float32"), attr.t.name))
    for init in graph.graph.initializer:
        if init.data_type == double:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype("float32"), init.name))
    for info in list(graph.graph.value_info) + list(graph.graph.output):
        if info.type.tensor_type.elem_type == double:
            info.type.tensor_type.elem_type = single
    return graph.SerializeToString()


class LiveDemo:
    """A demo with a live browser view (``text/html``) over a slider ``fallback`` (widget, PDF).

    Attributes:
        fallback: the :class:`gencore.widgets.SliderDemo` shown in a notebook and printed.
        spec: what the page's script needs besides the model (JSON-able).
        model: the exported step (ONNX bytes), or ``None`` where the export failed.
        error: why the export failed (``None`` when it did not).
    """

    def __init__(self, fallback, spec: dict, export, alt: str):
        self.fallback, self.spec, self.alt = fallback, spec, alt
        self.model, self.error = None, None
        try:
            self.model = export()
        except Exception as err:  # noqa: BLE001 -- any failure leaves the frames' view
            self.error = f"{type(err).__name__}: {err}"

    def to_html(self) -> str:
        """The live view (canvas, controls, the model inline); the slider's frames where export failed."""
        if self.model is None:
            return self.fallback.to_html()
        uid = "gl-" + uuid.uuid4().hex[:12]
        spec = dict(self.spec, model=base64.b64encode(self.model).decode("ascii"), runtime=RUNTIME)
        data = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
        png = base64.b64encode(self.fallback.render(self.fallback.initial_index, compress=6, palette=True)).decode("ascii")
        alt = html.escape(self.alt)
        keys = "" if spec.get("panels") else " Arrow keys move the ringed point."
        width, height = spec.get("size") or ((720 if spec.get("start_extent") else 504), 360)
        return (
            f'<div class="gencore-live" id="{uid}" style="background:#fff;color:#222;padding:4px;max-width:{width + 56}px">'
            f'<div class="gl-controls"></div>'
            f'<div class="gl-title" style="font-size:90%;margin:6px 0 0 8px"></div>'
            f'<img class="gl-still" alt="{alt}" src="data:image/png;base64,{png}">'
            f'<canvas class="gl-canvas" role="img" tabindex="0" aria-label="{alt}{keys}" '
            f'width="{width}" height="{height}" style="display:none;touch-action:none;cursor:crosshair;max-width:100%"></canvas>'
            f'<div class="gl-status" style="font-size:80%"></div>'
            f'<script type="application/json" class="gl-spec">{data}</script></div>'
            f"<script>{SCRIPT.replace('%UID%', uid)}</script>"
        )

    def __getattr__(self, name):  # render, params, ...: the frames' slider answers (tests, benchmarks)
        if name == "fallback":
            raise AttributeError(name)
        return getattr(self.fallback, name)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """``(data, metadata)``: the page view in ``text/html``, the frames' slider for notebooks;
        the frames themselves ride in the metadata under ``FRAMES_MIME``, for tools reading the
        executed notebook (the slides). The site renders data only, and only types it knows."""
        bundle = self.fallback._repr_mimebundle_(include, exclude)
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = f"<live demo{'' if self.model is not None else ' (frames: export failed)'}>"
        if self.model is None:
            return bundle, {}
        frames = {",".join(map(str, k)): base64.b64encode(png).decode("ascii")
                  for k, png in self.fallback.render_frames().items()}
        return bundle, {FRAMES_MIME: frames}


def _box(name: str, extent) -> list:
    if len(extent) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in extent) \
            or not (extent[0] < extent[1] and extent[2] < extent[3]):
        raise ValueError(f"{name} must be four finite numbers (x0, x1, y0, y1), x0 < x1, y0 < y1; got {extent!r}")
    return [float(v) for v in extent]


# width / height of a plotting panel of the canvas (504 x 360 with one panel, 720 x 360 with two,
# 34 px of margin): sampler_demo widens its boxes to it, so that circles stay round
ONE_PANEL, TWO_PANELS = (504 - 68) / (360 - 68), (720 / 2 - 51) / (360 - 68)


def fit_box(box, ratio: float) -> tuple:
    """``box`` ``(x0, x1, y0, y1)`` widened about its centre along one axis to width / height ``ratio``.

    Example:
        >>> fit_box((-1.0, 1.0, -2.0, 2.0), 1.0)
        (-2.0, 2.0, -2.0, 2.0)
    """
    x0, x1, y0, y1 = _box("box", box)
    positive("ratio", ratio)
    w, h = x1 - x0, y1 - y0
    if w / h < ratio:
        cx, w = (x0 + x1) / 2, h * ratio
        return (cx - w / 2, cx + w / 2, y0, y1)
    cy, h = (y0 + y1) / 2, w / ratio
    return (x0, x1, cy - h / 2, cy + h / 2)


def _points(name: str, x, n: int) -> list:
    event_2d(name, x)
    return [round(float(v), 4) for v in x[:n].detach().cpu().flatten()]


def sampler_demo(fallback, step: nn.Module, *, sliders, steps, times: dict, extent, title: str, alt: str,
                 start, init=None, init_scale: float = 1.0, ref=None, start_extent=None, n: int = 1000,
                 noise_dim: int = 2, colors: dict | None = None, per_call: int = 1) -> LiveDemo:
    r"""A live demo that runs ``step`` in the reader's browser: ``n`` points, and one dragged point's path.

    The page iterates ``x ← step(x, z, t=times[k], t_prev=times[k+1], **sliders)`` for
    ``k < steps`` (each input is fed only if ``step.input_names`` has it): ``z`` is fresh standard
    normal noise of width ``noise_dim`` per step, drawn from fixed seeds in the page so a setting
    looks the same on every visit. The points start at ``init`` (a ``(n, 2)`` tensor, e.g. data
    to be noised) or at ``init_scale`` times standard normal noise; the ringed point ``start``
    (draggable, arrow keys too) runs the same chain and its path is drawn.

    Args:
        fallback: the frames' :class:`gencore.widgets.SliderDemo` (notebook, print, failed export).
        step: an ``nn.Module`` with ``input_names`` and ``example()`` (:func:`export_step`).
        sliders: :class:`Slider` s; a slider whose key is an input name feeds that input.
        steps: the number of steps, or the key of the slider that sets it.
        times: ``{steps: [t_0, ..., t_steps]}`` for every reachable step count (stored once
            when every count's grid is the start of the longest).
        extent: the plotted box ``(x0, x1, y0, y1)`` of the outputs (widened to the panel's
            shape, :func:`fit_box`, so that a unit is as long across as up).
        start_extent: if given, the start points get a panel of their own with this box (a
            latent space on the left, the decoded points on the right).
        title: the canvas title; ``{key}`` takes a slider's shown value.
        ref: a pale backdrop (the data), ``(m, 2)``.
        per_call: how many of the sampler's steps one call of ``step`` makes (the page's count).
    """
    in_range("n", positive_int("n", n), 1, 5000)  # every point is drawn in the reader's browser
    in_range("noise_dim", positive_int("noise_dim", noise_dim), 1, 64)
    positive_int("per_call", per_call)
    positive("init_scale", init_scale)
    sliders = list(sliders)
    if not all(isinstance(s, Slider) for s in sliders):
        raise ValueError("sliders must be gencore.live.Slider objects")
    keys = {s.key: s for s in sliders}
    if isinstance(steps, str):
        if steps not in keys:
            raise ValueError(f"steps names slider {steps!r}, but the sliders are {list(keys)}")
        reach = range(int(keys[steps].lo), int(keys[steps].hi) + 1, int(keys[steps].step))
    else:
        reach = [positive_int("steps", steps, minimum=0)]
    if not isinstance(times, dict) or any(int(k) not in times and str(int(k)) not in times for k in reach):
        raise ValueError(f"times must give a grid for every step count in {list(reach)[:3]}..{list(reach)[-1:]}")
    table = {}
    for k in reach:
        grid = list(times.get(int(k), times.get(str(int(k)))))
        if len(grid) != int(k) + 1:
            raise ValueError(f"times[{k}] must have {int(k) + 1} entries (t_0..t_steps); got {len(grid)}")
        table[str(int(k))] = [g if isinstance(g, int) else float(g) for g in grid]
    longest = max(table.values(), key=len)
    if len(table) > 1 and all(grid == longest[:len(grid)] for grid in table.values()):
        table = {"prefix": longest}  # every count's grid starts the longest one: store that once
    example = _check_step(step)
    inputs = {name: str(t.dtype).replace("torch.", "") for name, t in zip(step.input_names, example)}
    ratio = ONE_PANEL if start_extent is None else TWO_PANELS  # a unit as long across as up
    spec = {
        "n": n, "extent": list(fit_box(_box("extent", extent), ratio)),
        "start_extent": None if start_extent is None else list(fit_box(_box("start_extent", start_extent), ratio)),
        "sliders": [s.json() for s in sliders], "steps": steps if isinstance(steps, str) else int(steps), "times": table,
        "inputs": inputs, "noise_dim": noise_dim, "init": None if init is None else _points("init", init, n),
        "init_scale": float(init_scale), "ref": [] if ref is None else _points("ref", ref, n),
        "start": [float(v) for v in start], "title": title, "per_call": per_call,
        "colors": {"ref": "#8d99ae", "x": "#d1495b", "path": "#00798c", "init": "#8d99ae", **(colors or {})},
    }
    if len(spec["start"]) != 2 or not all(math.isfinite(v) for v in spec["start"]):
        raise ValueError(f"start must be a finite point (x, y); got {start!r}")
    return LiveDemo(fallback, spec, lambda: export_step(step), alt)


def curve_demo(fallback, step: nn.Module, *, sliders, grid: torch.Tensor, columns: int, panels, alt: str,
               size=(774, 280)) -> LiveDemo:
    r"""A live demo of closed-form curves: ``step(x, **sliders)`` returns ``(m, columns)`` values at
    the ``m`` points of ``grid`` (fed as ``x = (grid, 0)``), drawn as curves in ``panels``.

    Each panel is ``{"extent": (x0, x1, y0, y1), "title": str, "curves": [{"col": j, "color": css,
    "label": str, "dash": bool, "fill": bool}]}``; in a title or label, ``{cJ:D}`` prints column
    ``J`` at the first grid point with ``D`` decimals (a constant column carries a number, such
    as a divergence, from the graph to the page) and ``{key}`` a slider's value. No dragging.
    """
    validate("grid", grid, ndim=1)
    if not torch.isfinite(grid).all() or len(grid) < 2:
        raise ValueError(f"grid must hold at least two finite points; got {tuple(grid.shape)}")
    in_range("columns", positive_int("columns", columns), 1, 64)
    panels = [dict(p, extent=_box("panel extent", p["extent"])) for p in panels]
    for p in panels:
        if any(not 0 <= c["col"] < columns for c in p["curves"]):
            raise ValueError(f"a curve's col must lie in 0..columns - 1 = {columns - 1}; got {[c['col'] for c in p['curves']]}")
    x = torch.stack([grid, torch.zeros_like(grid)], -1).float()
    demo = sampler_demo(fallback, step, sliders=sliders, steps=1, times={1: [0, 1]}, extent=panels[0]["extent"],
                        title="", alt=alt, start=(0.0, 0.0), init=x, n=len(grid))
    demo.spec.update(panels=panels, columns=columns, size=[int(v) for v in size])
    return demo


class DDIMStep(nn.Module):
    r"""One DDIM step as a module: :math:`x_{t'} = ` :func:`gencore.diffusion.ddim_step` of
    ``model(x, t)``, with :math:`\eta` and the noise ``z`` as inputs (a float32 CPU copy of ``model``).

    ``forward(x (N, 2), z (N, 2), t, t_prev (int64 scalars), eta (float scalar))``.
    """

    input_names = ("x", "z", "t", "t_prev", "eta")

    def __init__(self, model: nn.Module, schedule: D.NoiseSchedule):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module eps-network; got {type(model).__name__}")
        if not isinstance(schedule, D.NoiseSchedule):
            raise ValueError(f"schedule must be a gencore.diffusion.NoiseSchedule; got {type(schedule).__name__}")
        self.model = copy.deepcopy(model).to("cpu", torch.float32).eval()
        self.schedule = schedule

    def forward(self, x, z, t, t_prev, eta):
        # as gencore.diffusion.sample does: a network with at_times computes its time terms once
        # for the step, not once per row (the same numbers, a third less work per point)
        at_times = getattr(self.model, "at_times", None)
        eps = at_times(t.reshape(1).to(x.dtype))[0](x) if callable(at_times) else self.model(x, t)
        return D.ddim_step(self.schedule, eps, t, t_prev, x, eta=eta, noise=z)

    def example(self, n: int = 8) -> tuple:
        """Inputs to trace with: ``eta > 0`` so that the noise term is part of the graph."""
        T = self.schedule.T
        g = torch.Generator().manual_seed(0)
        f32 = dict(generator=g, dtype=torch.float32)
        return (torch.randn(n, 2, **f32), torch.randn(n, 2, **f32), torch.tensor(T),
                torch.tensor(T // 2), torch.tensor(0.5, dtype=torch.float32))


def ddim_live(fallback, model: nn.Module, schedule: D.NoiseSchedule, ref: torch.Tensor, extent,
              colors: dict | None = None, n: int = 1000, max_steps: int = 100) -> LiveDemo:
    """Chapter 6's DDIM demo live: ``n`` points sampled in the browser for any ``eta`` in [0, 1]
    and any step count from 2 to ``max_steps``, over the data sample ``ref``; a dragged
    starting point :math:`x_T` shows its own trajectory. ``fallback``: the frames' slider;
    ``extent``: the plotted box ``(x0, x1, y0, y1)``; ``colors``: CSS colours of the ``"ref"``
    points, the samples ``"x"`` and the ``"path"`` (the figure module passes the book's)."""
    step = DDIMStep(model, schedule)
    validate("ref", ref, ndim=2, last_dim=2)
    in_range("n", positive_int("n", n), 1, 5000)
    in_range("max_steps", positive_int("max_steps", max_steps, minimum=2), 2, schedule.T)
    sliders = [Slider("eta", "η", 0.0, 1.0, 0.01, 0.0), Slider("steps", "steps", 2, max_steps, 1, min(20, max_steps), digits=0)]
    times = {s: D.ddim_timesteps(schedule.T, s) for s in range(2, max_steps + 1)}
    alt = ("DDIM samples (live: computed in your browser for the chosen η and step count) over a pale "
           "backdrop of the two-moons data, with the trajectory of one starting point x_T that you can drag.")
    return sampler_demo(fallback, step, sliders=sliders, steps="steps", times=times, extent=extent, ref=ref, n=n,
                        start=(1.6, 1.4), title="DDIM, η = {eta}, {steps} steps; drag the ringed x_T",
                        alt=alt, colors=colors)
