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

import torch
from torch import nn

from . import diffusion as D
from .tensors import in_range, positive_int, validate

__all__ = ["DDIMStep", "export_step", "LiveDemo", "ddim_live", "RUNTIME"]

RUNTIME = "_static/ort/"  # onnxruntime-web, relative to the site's root (scripts/fetch_ort.sh)
OPSET = 17


class DDIMStep(nn.Module):
    r"""One DDIM step as a module: :math:`x_{t'} = ` :func:`gencore.diffusion.ddim_step` of
    ``model(x, t)``, with :math:`\eta` and the noise ``z`` as inputs (a float32 CPU copy of ``model``).

    ``forward(x (N, 2), z (N, 2), t, t_prev (int64 scalars), eta (float scalar))``.
    """

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


def export_step(step: DDIMStep) -> bytes:
    """``step`` as an ONNX model (bytes), by torch's TorchScript exporter (it needs the ``onnx`` package).

    The batch size is left free; the inputs are named ``x, z, t, t_prev, eta`` and the output
    ``out``. The tracer's notes about the argument checks it passes over are silenced: the
    checks hold for the traced inputs, and the agreement tests run the graph on others.
    """
    if not isinstance(step, DDIMStep):
        raise ValueError(f"step must be a DDIMStep; got {type(step).__name__}")
    buf = io.BytesIO()
    names = ["x", "z", "t", "t_prev", "eta"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(step, step.example(), buf, dynamo=False, opset_version=OPSET, input_names=names,
                          output_names=["out"], dynamic_axes={"x": {0: "n"}, "z": {0: "n"}, "out": {0: "n"}})
    return buf.getvalue()


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
        png = base64.b64encode(self.fallback.render(self.fallback.initial_index, compress=6)).decode("ascii")
        alt = html.escape(self.alt)
        return (
            f'<div class="gencore-live" id="{uid}" style="background:#fff;color:#222;padding:4px;max-width:560px">'
            f'<div class="gl-controls"></div>'
            f'<img class="gl-still" alt="{alt}" src="data:image/png;base64,{png}">'
            f'<canvas class="gl-canvas" role="img" tabindex="0" aria-label="{alt} Arrow keys move x_T." width="504" height="360" '
            f'style="display:none;touch-action:none;cursor:crosshair;max-width:100%"></canvas>'
            f'<div class="gl-status" style="font-size:80%"></div>'
            f'<script type="application/json" class="gl-spec">{data}</script></div>'
            f"<script>{_JS.replace('%UID%', uid)}</script>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.fallback._repr_mimebundle_(include, exclude)
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = f"<live demo{'' if self.model is not None else ' (frames: export failed)'}>"
        return bundle


def ddim_live(fallback, model: nn.Module, schedule: D.NoiseSchedule, ref: torch.Tensor, extent,
              colors: dict | None = None, n: int = 1000, max_steps: int = 100) -> LiveDemo:
    """Chapter 6's DDIM demo live: ``n`` points sampled in the browser for any ``eta`` in [0, 1]
    and any step count from 2 to ``max_steps``, over the data sample ``ref``; a dragged
    starting point :math:`x_T` shows its own trajectory. ``fallback``: the frames' slider;
    ``extent``: the plotted box ``(x0, x1, y0, y1)``; ``colors``: CSS colours of the ``"ref"``
    points, the samples ``"x"`` and the ``"path"`` (the figure module passes the book's)."""
    step = DDIMStep(model, schedule)
    validate("ref", ref, ndim=2, last_dim=2)
    in_range("n", positive_int("n", n), 1, 5000)  # every point is drawn in the reader's browser
    in_range("max_steps", positive_int("max_steps", max_steps, minimum=2), 2, schedule.T)
    if len(extent) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in extent):
        raise ValueError(f"extent must be four finite numbers (x0, x1, y0, y1); got {extent!r}")
    backdrop = ref.detach().cpu()[:n]
    spec = {
        "n": n, "extent": [float(v) for v in extent], "eta": 0.0, "steps": 20, "max_steps": max_steps,
        "taus": {s: D.ddim_timesteps(schedule.T, s) for s in range(2, max_steps + 1)},
        "ref": [round(float(v), 3) for v in backdrop.flatten()], "start": [1.6, 1.4],
        "colors": {"ref": "#8d99ae", "x": "#d1495b", "path": "#00798c", **(colors or {})},
    }
    alt = ("DDIM samples (live: computed in your browser for the chosen η and step count) over a pale "
           "backdrop of the two-moons data, with the trajectory of one starting point x_T that you can drag.")
    return LiveDemo(fallback, spec, lambda: export_step(step), alt)


# The page's script: load the runtime once, make the session, then loop over DDIM's steps and draw.
# Noise (x_T and each step's z) is drawn from a fixed seed, so a frame is the same on every visit;
# step k's noise does not depend on eta, so sliding eta morphs one picture. No mathematics here.
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
var n=spec.n,noise={};function zAt(k){if(!noise[k])noise[k]=gauss(1000+k,2*(n+1));return noise[k];}
var xT=gauss(7,2*n),start=Float32Array.from(spec.start),state={eta:spec.eta,steps:spec.steps},session=null,loop=null,again=false,pts=null,path=null;
var ctrl=root.querySelector('.gl-controls'),canvas=root.querySelector('.gl-canvas'),still=root.querySelector('.gl-still'),status=root.querySelector('.gl-status');
var shown={};function slider(key,label,min,max,step,fmt){var l=document.createElement('label');l.style.marginRight='1.2em';
 l.innerHTML=label+' <input type="range" min="'+min+'" max="'+max+'" step="'+step+'" value="'+state[key]+'" aria-label="'+label+'"> <output></output>';
 var inp=l.querySelector('input'),o=l.querySelector('output');o.textContent=fmt(state[key]);
 shown[key]=function(){inp.value=state[key];o.textContent=fmt(state[key]);};
 inp.addEventListener('input',function(){state[key]=+inp.value;o.textContent=fmt(state[key]);update();});ctrl.appendChild(l);}
slider('eta','η',0,1,0.01,function(v){return v.toFixed(2)});slider('steps','steps',2,spec.max_steps,1,String);
function T(type,data,dims){return new window.ort.Tensor(type,data,dims);}
function scalar(t){return T('int64',BigInt64Array.from([BigInt(t)]),[]);}
async function step(x,z,t,tp,eta,rows){var out=await session.run({x:T('float32',x,[rows,2]),z:T('float32',z,[rows,2]),
 t:scalar(t),t_prev:scalar(tp),eta:T('float32',Float32Array.of(eta),[])});return out.out.data;}
async function run(x,rows,offset,keep){var taus=spec.taus[state.steps],trail=keep?[x]:null;
 for(var k=0;k+1<taus.length;k++){var z=zAt(k).subarray(offset,offset+2*rows);
  x=await step(x,z,taus[k],taus[k+1],state.eta,rows);if(keep)trail.push(x);}return keep?trail:x;}
var E=spec.extent,W=canvas.width,H=canvas.height,pad=30;
function px(x){return pad+(x-E[0])/(E[1]-E[0])*(W-2*pad);} function py(y){return H-pad-(y-E[2])/(E[3]-E[2])*(H-2*pad);}
function dx(u){return E[0]+(u-pad)/(W-2*pad)*(E[1]-E[0]);} function dy(v){return E[2]+(H-pad-v)/(H-2*pad)*(E[3]-E[2]);}
function dots(c,a,color,r,alpha){c.fillStyle=color;c.globalAlpha=alpha;for(var i=0;i+1<a.length;i+=2){c.fillRect(px(a[i])-r,py(a[i+1])-r,2*r,2*r);}c.globalAlpha=1;}
function draw(){var c=canvas.getContext('2d');c.fillStyle='#fff';c.fillRect(0,0,W,H);c.strokeStyle='#ccc';c.strokeRect(pad,pad,W-2*pad,H-2*pad);
 dots(c,spec.ref,spec.colors.ref,1,0.35);if(pts)dots(c,pts,spec.colors.x,1.3,0.7);
 if(path){c.strokeStyle=spec.colors.path;c.lineWidth=2;c.beginPath();path.forEach(function(p,i){i?c.lineTo(px(p[0]),py(p[1])):c.moveTo(px(p[0]),py(p[1]));});c.stroke();
  var a=path[0],b=path[path.length-1];c.fillStyle=spec.colors.path;c.beginPath();c.arc(px(b[0]),py(b[1]),4,0,7);c.fill();
  c.beginPath();c.arc(px(a[0]),py(a[1]),7,0,7);c.lineWidth=2;c.stroke();}
 c.fillStyle='#222';c.font='13px sans-serif';c.fillText('DDIM, η = '+state.eta.toFixed(2)+', '+state.steps+' steps; drag the ringed x_T',pad,pad-10);}
async function trajectory(){var tr=await run(start.slice(),1,2*n,true);path=tr.map(function(a){return[a[0],a[1]]});}
async function render(full){var t0=performance.now();if(full){pts=await run(xT,n,0,false);}var t1=performance.now();
 await trajectory();draw();var ms=t1-t0;if(full){G[root.id].lastMs=ms;status.textContent=n+' points, '+state.steps+' steps computed in your browser in '+ms.toFixed(0)+' ms';}
 G[root.id].frames++;}
function update(full){if(full===undefined)full=true;if(!session)return Promise.resolve();
 if(loop){again=(again===true||full)?true:'path';return loop;}  // the running loop draws this state too
 loop=(async function(){try{await render(full);while(again){var f=again===true;again=false;await render(f);}}
  catch(e){status.textContent='live view failed: '+e.message;throw e;}finally{loop=null;}})();
 return loop;}
function at(ev){var r=canvas.getBoundingClientRect();return[dx((ev.clientX-r.left)*W/r.width),dy((ev.clientY-r.top)*H/r.height)];}
var dragging=false;canvas.addEventListener('pointerdown',function(ev){dragging=true;canvas.setPointerCapture(ev.pointerId);start=Float32Array.from(at(ev));update(false);});
canvas.addEventListener('pointermove',function(ev){if(!dragging)return;start=Float32Array.from(at(ev));update(false);});
canvas.addEventListener('pointerup',function(){dragging=false;});
var keys={ArrowLeft:[-1,0],ArrowRight:[1,0],ArrowUp:[0,1],ArrowDown:[0,-1]};
canvas.addEventListener('keydown',function(ev){var d=keys[ev.key];if(!d)return;ev.preventDefault();
 start=Float32Array.of(start[0]+0.1*d[0],start[1]+0.1*d[1]);update(false);});
G[root.id]={frames:0,lastMs:null,step:function(x,z,t,tp,eta,rows){return step(Float32Array.from(x),Float32Array.from(z),t,tp,eta,rows).then(function(d){return Array.from(d)});},
 set:function(key,v){state[key]=v;shown[key]();return update();},state:state};
G[root.id].ready=loadOrt().then(function(ort){ort.env.wasm.wasmPaths=base;ort.env.wasm.numThreads=1;ort.env.wasm.proxy=false;
 var b=atob(spec.model),u=new Uint8Array(b.length);for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);
 return ort.InferenceSession.create(u,{executionProviders:['wasm']});}).then(function(s){session=s;still.style.display='none';canvas.style.display='';return update();})
 .catch(function(e){status.textContent='live view unavailable ('+e.message+'): the picture above is one setting';});
})();
"""
