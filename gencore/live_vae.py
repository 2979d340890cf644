"""Chapter 3's live demos: a VAE's decoder run in the reader's browser (see :mod:`gencore.live`).

The step is the trained decoder itself: a latent point ``z`` goes to
:math:`x = f_\\theta(z) + \\lambda\\, s\\, \\varepsilon`, where :meth:`gencore.vae.VAE.decode_mean`
gives :math:`f_\\theta(z)`, :attr:`gencore.vae.VAE.scale` gives the decoder's own standard
deviation :math:`s`, :math:`\\varepsilon` is the page's noise and :math:`\\lambda` a slider:
:math:`\\lambda = 0` shows the decoder's means, :math:`\\lambda = 1` draws from
:math:`p_\\theta(x\\mid z)` itself. Where the VAE holds several models (the chapter's β-VAEs,
trained at once), an integer input picks one inside the graph, so one exported file carries them all.

Book: ``book/03_vae.ipynb``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .live import ONE_PANEL, TWO_PANELS, LiveDemo, Slider, fit_box, sampler_demo
from .tensors import extent_box, in_range, positive_int, validate
from .vae import VAE

__all__ = ["DecoderStep", "decoder_live", "normalise_transposes", "exported", "fit_box", "TWO_PANELS", "ONE_PANEL"]


def normalise_transposes(model: bytes) -> bytes:
    """``model`` (ONNX bytes) with every Transpose's ``perm`` counted from the front.

    :class:`gencore.nn.StackedMLP` moves its model axis with ``movedim(-3, 0)``; torch's exporter
    writes that as ``perm = (-3, 1, 2)``, which onnxruntime refuses. A negative entry ``p`` of a
    permutation of ``r`` axes means ``p + r``: the same graph, written as the standard asks.
    """
    import onnx  # torch's exporter needs it too

    graph = onnx.load_from_string(model)
    for node in graph.graph.node:
        for attr in node.attribute:
            if node.op_type == "Transpose" and attr.name == "perm":
                perm = list(attr.ints)
                attr.ints[:] = [p + len(perm) if p < 0 else p for p in perm]
    return graph.SerializeToString()


def exported(demo: LiveDemo) -> LiveDemo:
    """``demo`` with its exported step passed through :func:`normalise_transposes` (the frames' view
    stays where the export failed)."""
    if not isinstance(demo, LiveDemo):
        raise ValueError(f"demo must be a gencore.live.LiveDemo; got {type(demo).__name__}")
    if demo.model is not None:
        try:
            demo.model = normalise_transposes(demo.model)
        except Exception as err:  # noqa: BLE001 -- as LiveDemo: any failure leaves the frames' view
            demo.model, demo.error = None, f"{type(err).__name__}: {err}"
    return demo


class DecoderStep(nn.Module):
    r"""The decoder of a (stacked) :class:`gencore.vae.VAE` as a live step: latent ``x`` to data space.

    ``forward(x (N, K), z (N, D), noise (float scalar)[, model (int64 scalar)])`` returns
    ``f(x) + noise · s · z`` for the VAE number ``model`` (a float32 CPU copy of ``vae``). The
    input ``model`` is there only when ``vae`` holds more than one model.
    """

    def __init__(self, vae: VAE):
        super().__init__()
        if not isinstance(vae, VAE):
            raise ValueError(f"vae must be a gencore.vae.VAE; got {type(vae).__name__}")
        self.vae = copy.deepcopy(vae).to("cpu", torch.float32).eval().requires_grad_(False)
        self.many = vae.n_models > 1
        self.input_names = ("x", "z", "noise", "model") if self.many else ("x", "z", "noise")

    def forward(self, x, z, noise, model=None):
        mean = self.vae.decode_mean(x)          # (M, N, D): every model decodes the same latents
        scale = self.vae.scale                  # (M, 1, 1)
        if model is None:
            mean, scale = mean[0], scale[0]
        else:
            pick = model.reshape(1)
            mean, scale = mean.index_select(0, pick)[0], scale.index_select(0, pick)[0]
        return mean + noise * scale * z

    def example(self, n: int = 8) -> tuple:
        """Inputs to trace with: noise > 0, so that the decoder's noise term is part of the graph."""
        g = torch.Generator().manual_seed(0)
        f32 = dict(generator=g, dtype=torch.float32)
        out = (torch.randn(n, self.vae.latent_dim, **f32), torch.randn(n, self.vae.dec.sizes[-1], **f32),
               torch.tensor(0.5, dtype=torch.float32))
        return out + (torch.tensor(self.vae.n_models - 1),) if self.many else out


def decoder_live(fallback, vae: VAE, ref: torch.Tensor, extent, *, labels=None, start_model: int = 0,
                 zext=(-3.0, 3.0, -3.0, 3.0), n: int = 1000, colors: dict | None = None) -> LiveDemo:
    r"""Two panels: ``n`` latent points :math:`z \sim \mathcal N(0, I)` (left) and where the decoder sends
    them (right, over the data ``ref``); the ringed latent point can be dragged and its decoded point
    follows. A slider sets the decoder noise :math:`\lambda` (0: the means :math:`f_\theta(z)`; 1: samples of
    :math:`p_\theta(x\mid z)`); with ``labels`` (one per model of ``vae``) a second picks the model.

    Args:
        fallback: the frames' :class:`gencore.widgets.SliderDemo` (notebook, print, failed export).
        vae: the trained :class:`gencore.vae.VAE`, one model, or several with ``labels``.
        ref: ``(m, 2)`` data drawn pale behind the decoded points; ``extent``: the data panel's box.
        labels: the models' names (e.g. their β), shown by the model slider; ``start_model`` its first position.
        zext: the latent panel's box; ``colors``: CSS colours (``"ref"``, ``"x"``, ``"path"``, ``"init"``).
    """
    step = DecoderStep(vae)
    if vae.latent_dim != 2 or step.vae.dec.sizes[-1] != 2:
        raise ValueError(f"vae must map a 2D latent to 2D data; got {vae.latent_dim} -> {step.vae.dec.sizes[-1]}")
    validate("ref", ref, ndim=2, last_dim=2)
    in_range("n", positive_int("n", n), 1, 5000)
    extent, zext = fit_box(extent_box("extent", extent), TWO_PANELS), fit_box(extent_box("zext", zext), TWO_PANELS)
    sliders = [Slider("noise", "decoder noise λ", 0.0, 1.5, 0.01, 0.0)]
    title = "decoder means f(z)" if labels is None else "β = {model}: decoded"
    if step.many:
        if labels is None or len(labels) != vae.n_models:
            raise ValueError(f"labels must name each of the {vae.n_models} models; got {labels!r}")
        in_range("start_model", positive_int("start_model", start_model, minimum=0), 0, vae.n_models - 1)
        sliders.insert(0, Slider("model", "β", 0, vae.n_models - 1, 1, start_model, labels=tuple(labels),
                                 dtype="int64"))
    elif labels is not None:
        raise ValueError("labels name the models of a stacked VAE; this one holds a single model")
    title += ", λ = {noise}; drag the ringed z"
    alt = ("Two panels. Left: a thousand latent points drawn from the prior N(0, I), with one ringed point z "
           "that you can drag. Right: the points the VAE's decoder makes of them, computed in your browser, "
           "over a pale backdrop of the data, with z's decoded point; a slider adds the decoder's own noise"
           + (", another picks the β of the model." if step.many else "."))
    return exported(sampler_demo(fallback, step, sliders=sliders, steps=1, times={1: [0, 0]}, extent=extent,
                                 start_extent=zext, ref=ref, n=n, start=(0.75, 0.0), title=title, alt=alt,
                                 colors=colors))
