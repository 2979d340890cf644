"""Chapter 5's live demos: a trained flow's layers, one per step, run in the reader's browser.

A flow is a chain :math:`x = f_K \\circ \\dots \\circ f_1(z_0)`, so "the first ``k`` layers" is a
sampler of ``k`` steps in :func:`gencore.live.sampler_demo`'s sense: step ``t`` applies layer
``t``. :class:`FlowLayerStep` holds the parameters of every layer of one or several trained
flows stacked along a first axis, and applies the layer that an ``int64`` index picks: the
layer's own ``forward`` (or ``inverse``) from :mod:`gencore.flow_layers`, called with the picked
parameters swapped in (:func:`swapped`), so the exported graph is gencore's code.

Book: ``book/05_flows.ipynb``.
"""
from __future__ import annotations

import contextlib
import copy

import torch
from torch import nn

from . import flows as Fl
from .live import LiveDemo, Slider, sampler_demo
from .tensors import event_2d, in_range, positive_int

__all__ = ["FlowLayerStep", "flow_layers_live", "swapped"]


@contextlib.contextmanager
def swapped(module: nn.Module, tensors: dict):
    """Run ``module`` with its parameters and buffers named in ``tensors`` (dotted names) replaced
    by those tensors, restored on exit. (``torch.func.functional_call`` does this too, but refuses
    to run under the tracer that ``torch.onnx.export`` uses.)"""
    saved = []
    try:
        for name, value in tensors.items():
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name)
            params, buffers = dict(owner.named_parameters(recurse=False)), dict(owner.named_buffers(recurse=False))
            if attr in params:  # a parameter gives way to a plain tensor attribute for the call
                delattr(owner, attr)
                setattr(owner, attr, value)
                saved.append((owner, attr, params[attr], True))
            elif attr in buffers:
                setattr(owner, attr, value)
                saved.append((owner, attr, buffers[attr], False))
            else:
                raise ValueError(f"{type(module).__name__} has no parameter or buffer {name!r}")
        yield module
    finally:
        for owner, attr, value, is_param in reversed(saved):
            if is_param:
                delattr(owner, attr)
                owner.register_parameter(attr, value)
            else:
                setattr(owner, attr, value)


class _Inverse(nn.Module):
    """A layer whose ``forward`` is the wrapped layer's ``inverse``."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer.inverse(x)


class FlowLayerStep(nn.Module):
    r"""Layer ``t`` of trained flow number ``member``, as one step: :math:`x \mapsto f_{t+1}(x)`.

    ``forward(x (N, 2), t (int64 scalar)[, member (int64 scalar)])`` returns the layer's output
    ``(N, 2)``. All flows must have the same number ``K`` of layers of one type and shape
    (their parameters and buffers, an affine coupling's mask too, are stacked; a float32 CPU
    copy). With ``inverse=True`` step ``t`` undoes layer ``K - t`` instead (last layer first),
    so ``k`` steps take data points ``k`` layers back towards the base; that needs layers
    with a closed-form ``inverse`` (an affine coupling; a planar layer's inverse is a root search).
    The ``member`` input exists only when there are several flows.
    """

    def __init__(self, flows, inverse: bool = False):
        super().__init__()
        flows = list(flows) if isinstance(flows, (list, tuple)) else [flows]
        if not flows or not all(isinstance(f, Fl.Flow) for f in flows):
            raise ValueError("flows must be a gencore.flows.Flow or a non-empty list of them")
        if not isinstance(inverse, bool):
            raise ValueError(f"inverse must be True or False; got {inverse!r}")
        layers = [list(f.layers) for f in flows]
        K = len(layers[0])
        if K == 0 or any(len(ls) != K for ls in layers):
            raise ValueError(f"flows must all have the same number (> 0) of layers; got {[len(ls) for ls in layers]}")
        kind = type(layers[0][0])
        if any(type(f) is not kind for ls in layers for f in ls):
            raise ValueError(f"every layer must be a {kind.__name__}: one layer type is stacked")
        template = copy.deepcopy(layers[0][0]).to("cpu", torch.float32)
        if inverse and kind is not Fl.AffineCoupling:
            raise ValueError(f"inverse=True needs layers with a closed-form inverse (AffineCoupling); got {kind.__name__}")
        self.template = _Inverse(template) if inverse else template
        self.K, self.members, self.inverse = K, len(flows), inverse
        self.input_names = ("x", "t", "member") if len(flows) > 1 else ("x", "t")
        prefix = "layer." if inverse else ""
        self._names = []
        for name, value in list(template.named_parameters()) + list(template.named_buffers()):
            stack = torch.stack([dict(list(f.named_parameters()) + list(f.named_buffers()))[name].detach()
                                 .to("cpu", torch.float32) for ls in layers for f in ls])
            if stack.shape[1:] != value.shape:
                raise ValueError(f"the layers' {name} differ in shape: {tuple(stack.shape[1:])} against {tuple(value.shape)}")
            self.register_buffer("stack_" + name.replace(".", "_"), stack)
            self._names.append((prefix + name, "stack_" + name.replace(".", "_")))

    def forward(self, x, t, member=None):
        layer = self.K - 1 - t if self.inverse else t
        i = layer if member is None else member * self.K + layer
        params = {name: getattr(self, buf)[i] for name, buf in self._names}
        with swapped(self.template, params) as layer:
            return layer(x)[0]

    def example(self, n: int = 8) -> tuple:
        """Inputs to trace with: standard normal points, the last layer (and the last member)."""
        x = torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
        out = (x, torch.tensor(self.K - 1))
        return out + (torch.tensor(self.members - 1),) if self.members > 1 else out


def flow_layers_live(fallback, flows, *, extent, title: str, alt: str, names=None, ref=None, init=None,
                     inverse: bool = False, start=(0.6, 0.9), n: int = 1000, colors: dict | None = None) -> LiveDemo:
    r"""A live view of ``k`` layers of a trained flow: any ``k`` from 0 to ``K`` on a slider, ``n``
    points pushed through them in the reader's browser, and a dragged point's path layer by layer.

    Args:
        fallback: the frames' :class:`gencore.widgets.SliderDemo` (notebook, print, failed export).
        flows: a :class:`gencore.flows.Flow`, or a list of flows of the same shape (a ``member``
            slider, labelled with ``names``, picks one).
        extent: the plotted box ``(x0, x1, y0, y1)``.
        title, alt: the canvas title (``{k}``, ``{member}`` take the sliders' values) and its text alternative.
        ref: a pale backdrop ``(m, 2)`` (the data); ``init``: the ``(n, 2)`` start points (default: the
            standard normal base, as drawn in the page).
        inverse: run the layers backwards (data towards the base), see :class:`FlowLayerStep`.
        start: the dragged point's first position.
    """
    step = FlowLayerStep(flows, inverse=inverse)
    in_range("n", positive_int("n", n), 1, 5000)
    if init is not None:
        event_2d("init", init)
    sliders = [Slider("k", "layers k", 0, step.K, 1, step.K, digits=0)]
    if step.members > 1:
        names = tuple(names) if names is not None else tuple(str(i) for i in range(step.members))
        if len(names) != step.members:
            raise ValueError(f"names must name each of the {step.members} flows; got {len(names)}")
        sliders.insert(0, Slider("member", "flow", 0, step.members - 1, 1, 0, labels=names, dtype="int64"))
    times = {k: list(range(k + 1)) for k in range(step.K + 1)}
    return sampler_demo(fallback, step, sliders=sliders, steps="k", times=times, extent=extent, title=title, alt=alt,
                        start=start, init=init, ref=ref, n=n, colors=colors)
