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
from .tensors import event_2d, in_range, positive, positive_int, validate

__all__ = ["Slider", "export_step", "LiveDemo", "sampler_demo", "curve_demo", "DDIMStep", "ddim_live", "RUNTIME"]

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
            f'<img class="gl-still" alt="{alt}" src="data:image/png;base64,{png}">'
            f'<canvas class="gl-canvas" role="img" tabindex="0" aria-label="{alt}{keys}" '
            f'width="{width}" height="{height}" style="display:none;touch-action:none;cursor:crosshair;max-width:100%"></canvas>'
            f'<div class="gl-status" style="font-size:80%"></div>'
            f'<script type="application/json" class="gl-spec">{data}</script></div>'
            f"<script>{_JS.replace('%UID%', uid)}</script>"
        )

    def __getattr__(self, name):  # render, params, ...: the frames' slider answers (tests, benchmarks)
        if name == "fallback":
            raise AttributeError(name)
        return getattr(self.fallback, name)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.fallback._repr_mimebundle_(include, exclude)
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = f"<live demo{'' if self.model is not None else ' (frames: export failed)'}>"
        return bundle


def _box(name: str, extent) -> list:
    if len(extent) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in extent) \
            or not (extent[0] < extent[1] and extent[2] < extent[3]):
        raise ValueError(f"{name} must be four finite numbers (x0, x1, y0, y1), x0 < x1, y0 < y1; got {extent!r}")
    return [float(v) for v in extent]


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
        extent: the plotted box ``(x0, x1, y0, y1)`` of the outputs.
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
    spec = {
        "n": n, "extent": _box("extent", extent), "start_extent": None if start_extent is None else _box("start_extent", start_extent),
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


# The page's script (one for every live demo): load the runtime once, make the session, then
# loop over the steps and draw. Noise (the start points and each step's z) comes from fixed
# seeds, so a setting looks the same on every visit; step k's noise does not depend on the
# sliders, so sliding morphs one picture. No mathematics here: that is the exported step.
_JS = r"""
(function(){
var root=document.getElementById('%UID%');if(!root)return;
var spec=JSON.parse(root.querySelector('.gl-spec').textContent);
var cr=document.documentElement.getAttribute('data-content_root');
var base=(root.getAttribute('data-runtime')||((cr===null?'../':cr)+spec.runtime));
var G=window.gencoreLive=window.gencoreLive||{};
function loadOrt(){if(window.ort)return Promise.resolve(window.ort);
 if(!G._ort)G._ort=new Promise(function(ok,no){var s=document.createElement('script');s.src=base+'ort.wasm-core.min.js';
  s.onload=function(){ok(window.ort)};s.onerror=function(){no(new Error('no runtime at '+s.src))};document.head.appendChild(s);});
 return G._ort;}
function rng(seed){var a=seed>>>0;return function(){a=(a+0x6D2B79F5)>>>0;var t=a;t=Math.imul(t^(t>>>15),t|1);
 t^=t+Math.imul(t^(t>>>7),t|61);return((t^(t>>>14))>>>0)/4294967296;};}
function gauss(seed,len){var r=rng(seed),out=new Float32Array(len);for(var i=0;i<len;i+=2){
 var u=1-r(),v=r(),m=Math.sqrt(-2*Math.log(u));out[i]=m*Math.cos(2*Math.PI*v);if(i+1<len)out[i+1]=m*Math.sin(2*Math.PI*v);}return out;}
var init=spec.init?Float32Array.from(spec.init):gauss(7,2*spec.n).map(function(v){return v*spec.init_scale;});
var n=init.length/2,nd=spec.noise_dim,noise={},I=spec.inputs;
function zAt(k){if(!noise[k])noise[k]=gauss(1000+k,nd*(n+1));return noise[k];}
var start=Float32Array.from(spec.start),state={},byKey={},session=null,loop=null,again=false,pts=null,path=null;
spec.sliders.forEach(function(s){state[s.key]=s.value;byKey[s.key]=s;});
var ctrl=root.querySelector('.gl-controls'),canvas=root.querySelector('.gl-canvas'),still=root.querySelector('.gl-still'),status=root.querySelector('.gl-status');
function fmt(key){var s=byKey[key],v=state[key];if(s.labels)return s.labels[Math.round((v-s.lo)/s.step)];return s.digits>0?v.toFixed(s.digits):String(Math.round(v));}
var shown={};spec.sliders.forEach(function(s){var l=document.createElement('label');l.style.marginRight='1.2em';
 l.innerHTML=s.label+' <input type="range" min="'+s.lo+'" max="'+s.hi+'" step="'+s.step+'" value="'+s.value+'" aria-label="'+s.label+'"> <output></output>';
 var inp=l.querySelector('input'),o=l.querySelector('output');o.textContent=fmt(s.key);
 shown[s.key]=function(){inp.value=state[s.key];o.textContent=fmt(s.key);};
 inp.addEventListener('input',function(){state[s.key]=+inp.value;o.textContent=fmt(s.key);update();});ctrl.appendChild(l);});
function nsteps(){return typeof spec.steps==='string'?Math.round(state[spec.steps]):spec.steps;}
function T(type,data,dims){return new window.ort.Tensor(type,data,dims);}
function scalar(name,v){return I[name]==='int64'?T('int64',BigInt64Array.from([BigInt(Math.round(v))]),[]):T('float32',Float32Array.of(v),[]);}
async function call(f){var g={};session.inputNames.forEach(function(k){g[k]=f[k];});return (await session.run(g)).out.data;}
function feed(x,z,t,tp,rows){var f={x:T('float32',x,[rows,2]),z:T('float32',z,[rows,nd])};
 if('t' in I)f.t=scalar('t',t);if('t_prev' in I)f.t_prev=scalar('t_prev',tp);
 for(var k in I){if(!(k in f))f[k]=scalar(k,state[k]);}return f;}
async function run(x,rows,offset,keep){var ns=nsteps(),tm=spec.times.prefix||spec.times[String(ns)],trail=keep?[x]:null;
 for(var k=0;k<ns;k++){x=await call(feed(x,zAt(k).subarray(nd*offset,nd*(offset+rows)),tm[k],tm[k+1],rows));if(keep)trail.push(x);}
 return keep?trail:x;}
var W=canvas.width,H=canvas.height,pad=34,two=!!spec.start_extent;
var Pout=two?{x:W/2+pad/2,w:W/2-1.5*pad,E:spec.extent}:{x:pad,w:W-2*pad,E:spec.extent};
var Pin=two?{x:pad,w:W/2-1.5*pad,E:spec.start_extent}:Pout;
function px(P,x){return P.x+(x-P.E[0])/(P.E[1]-P.E[0])*P.w;} function py(P,y){return H-pad-(y-P.E[2])/(P.E[3]-P.E[2])*(H-2*pad);}
function clip(c,P){c.save();c.beginPath();c.rect(P.x,pad,P.w,H-2*pad);c.clip();}  // nothing drawn outside its panel
function dots(c,P,a,color,r,alpha){clip(c,P);c.fillStyle=color;c.globalAlpha=alpha;for(var i=0;i+1<a.length;i+=2){c.fillRect(px(P,a[i])-r,py(P,a[i+1])-r,2*r,2*r);}c.globalAlpha=1;c.restore();}
function gap(span){return span>12?5:span>5?2:span>2.5?1:span>1.2?0.5:span>0.5?0.2:0.1;}
function ticks(c,P){var E=P.E,d=gap(E[1]-E[0]),e=gap(E[3]-E[2]);c.fillStyle='#666';c.strokeStyle='#666';c.lineWidth=1;c.setLineDash([]);c.font='10px sans-serif';
 for(var v=Math.ceil(E[0]/d)*d;v<=E[1]+1e-9;v+=d){var u=px(P,v);c.beginPath();c.moveTo(u,H-pad);c.lineTo(u,H-pad+4);c.stroke();c.textAlign='center';c.fillText(+v.toFixed(1),u,H-pad+14);}
 for(var w=Math.ceil(E[2]/e)*e;w<=E[3]+1e-9;w+=e){var q=py(P,w);c.beginPath();c.moveTo(P.x-4,q);c.lineTo(P.x,q);c.stroke();c.textAlign='right';c.fillText(+w.toFixed(1),P.x-6,q+3);}
 c.textAlign='left';}
function title(){return spec.title.replace(/\{(\w+)\}/g,function(m,k){return k in state?fmt(k):m;});}
function draw(){var c=canvas.getContext('2d');c.fillStyle='#fff';c.fillRect(0,0,W,H);c.strokeStyle='#ccc';
 c.strokeRect(Pout.x,pad,Pout.w,H-2*pad);ticks(c,Pout);if(two){c.strokeStyle='#ccc';c.strokeRect(Pin.x,pad,Pin.w,H-2*pad);ticks(c,Pin);dots(c,Pin,init,spec.colors.init,1,0.35);}
 dots(c,Pout,spec.ref,spec.colors.ref,1,0.35);if(pts)dots(c,Pout,pts,spec.colors.x,1.3,0.7);
 if(path){var rest=two?path.slice(1):path;clip(c,Pout);c.strokeStyle=spec.colors.path;c.lineWidth=2;c.beginPath();
  rest.forEach(function(p,i){i?c.lineTo(px(Pout,p[0]),py(Pout,p[1])):c.moveTo(px(Pout,p[0]),py(Pout,p[1]));});c.stroke();
  var a=path[0],b=path[path.length-1];c.fillStyle=spec.colors.path;if(rest.length){c.beginPath();c.arc(px(Pout,b[0]),py(Pout,b[1]),4,0,7);c.fill();}c.restore();
  c.beginPath();c.arc(px(Pin,a[0]),py(Pin,a[1]),7,0,7);c.lineWidth=2;c.stroke();}
 c.fillStyle='#222';c.font='13px sans-serif';c.fillText(title(),pad,pad-10);}
async function trajectory(){var tr=await run(start.slice(),1,n,true);path=tr.map(function(a){return[a[0],a[1]]});}
function label(t){return t.replace(/\{c(\d+):(\d+)\}/g,function(m,j,d){return pts?pts[+j].toFixed(+d):'';});}
function drawCurves(){var c=canvas.getContext('2d'),K=spec.panels.length,C=spec.columns,w=(W-pad*(K+1))/K;c.fillStyle='#fff';c.fillRect(0,0,W,H);
 spec.panels.forEach(function(pn,j){var P={x:pad+j*(w+pad),w:w,E:pn.extent};c.strokeStyle='#ccc';c.lineWidth=1;c.strokeRect(P.x,pad,P.w,H-2*pad);ticks(c,P);
  c.save();c.beginPath();c.rect(P.x,pad,P.w,H-2*pad);c.clip();
  if(P.E[2]<0&&P.E[3]>0){c.strokeStyle='#222';c.lineWidth=0.6;c.beginPath();c.moveTo(P.x,py(P,0));c.lineTo(P.x+P.w,py(P,0));c.stroke();}
  pn.curves.forEach(function(cv){function trace(){for(var i=0;i<n;i++){var u=px(P,init[2*i]),v=py(P,pts[i*C+cv.col]);i?c.lineTo(u,v):c.moveTo(u,v);}}
   if(cv.fill){c.beginPath();trace();c.lineTo(px(P,init[2*(n-1)]),py(P,0));c.lineTo(px(P,init[0]),py(P,0));c.closePath();c.fillStyle=cv.color;c.globalAlpha=0.25;c.fill();c.globalAlpha=1;}
   c.beginPath();trace();c.strokeStyle=cv.color;c.lineWidth=1.6;c.setLineDash(cv.dash?[6,3]:[]);c.stroke();c.setLineDash([]);});
  c.restore();var y=pad+14;pn.curves.forEach(function(cv){if(!cv.label)return;c.strokeStyle=cv.color;c.lineWidth=1.6;c.setLineDash(cv.dash?[6,3]:[]);
   c.beginPath();c.moveTo(P.x+6,y-4);c.lineTo(P.x+24,y-4);c.stroke();c.setLineDash([]);c.fillStyle='#222';c.font='11px sans-serif';c.fillText(label(cv.label).replace(/\{(\w+)\}/g,function(m,k){return k in state?fmt(k):m;}),P.x+28,y);y+=14;});
  c.fillStyle='#222';c.font='12px sans-serif';c.fillText(label(pn.title).replace(/\{(\w+)\}/g,function(m,k){return k in state?fmt(k):m;}),P.x,pad-10);});}
async function render(full){var t0=performance.now();if(full){pts=await run(init,n,0,false);}var t1=performance.now();
 if(spec.panels){drawCurves();G[root.id].lastMs=t1-t0;status.textContent='computed in your browser in '+(t1-t0).toFixed(0)+' ms';G[root.id].frames++;return;}
 await trajectory();draw();var ms=t1-t0;if(full){G[root.id].lastMs=ms;var k=nsteps()*(spec.per_call||1);status.textContent=n+' points'+(k===1?'':', '+k+' steps')+' computed in your browser in '+ms.toFixed(0)+' ms';}
 G[root.id].frames++;}
function update(full){if(full===undefined)full=true;if(!session)return Promise.resolve();
 if(loop){again=(again===true||full)?true:'path';return loop;}  // the running loop draws this state too
 loop=(async function(){try{await render(full);while(again){var f=again===true;again=false;await render(f);}}
  catch(e){status.textContent='live view failed: '+e.message;throw e;}finally{loop=null;}})();
 return loop;}
function at(ev){var r=canvas.getBoundingClientRect(),u=(ev.clientX-r.left)*W/r.width,v=(ev.clientY-r.top)*H/r.height;
 return[Pin.E[0]+(u-Pin.x)/Pin.w*(Pin.E[1]-Pin.E[0]),Pin.E[2]+(H-pad-v)/(H-2*pad)*(Pin.E[3]-Pin.E[2])];}
var dragging=false;canvas.addEventListener('pointerdown',function(ev){dragging=true;canvas.setPointerCapture(ev.pointerId);start=Float32Array.from(at(ev));update(false);});
canvas.addEventListener('pointermove',function(ev){if(!dragging)return;start=Float32Array.from(at(ev));update(false);});
canvas.addEventListener('pointerup',function(){dragging=false;});
var keys={ArrowLeft:[-1,0],ArrowRight:[1,0],ArrowUp:[0,1],ArrowDown:[0,-1]};
canvas.addEventListener('keydown',function(ev){var d=keys[ev.key];if(!d)return;ev.preventDefault();var E=Pin.E;
 start=Float32Array.of(start[0]+0.03*d[0]*(E[1]-E[0]),start[1]+0.03*d[1]*(E[3]-E[2]));update(false);});
G[root.id]={frames:0,lastMs:null,state:state,get busy(){return loop!==null;},
 step:function(f,rows){var g={};for(var k in f){g[k]=Array.isArray(f[k])?T('float32',Float32Array.from(f[k]),[rows,f[k].length/rows]):scalar(k,f[k]);}
  return call(g).then(function(d){return Array.from(d)});},
 set:function(key,v){state[key]=v;shown[key]();return update();}};
G[root.id].ready=loadOrt().then(function(ort){ort.env.wasm.wasmPaths=base;ort.env.wasm.numThreads=1;ort.env.wasm.proxy=false;
 var b=atob(spec.model),u=new Uint8Array(b.length);for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);
 return ort.InferenceSession.create(u,{executionProviders:['wasm']});}).then(function(s){session=s;still.style.display='none';canvas.style.display='';return update();})
 .catch(function(e){status.textContent='live view unavailable ('+e.message+'): the picture above is one setting';});
})();
"""
