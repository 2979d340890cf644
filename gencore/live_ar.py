r"""Chapter 10's live demos: ancestral sampling of a trained 2D autoregressive model in the browser.

:class:`gencore.autoregressive.AR2D` samples :math:`x_a \sim q(x_a)`, then
:math:`x_b \sim q(x_b \mid x_a)`: two steps, which is a sampler of two steps in
:func:`gencore.live.sampler_demo`'s sense. :class:`ARSampleStep` takes the point's own coordinate
as the Gaussian noise of the factor it draws, so that a point ``u`` of the plane is carried to a
sample :math:`u \mapsto (x_a, u_b) \mapsto (x_a, x_b)`, one coordinate per step (the
autoregressive model read as a flow, as the chapter's last section does), and the mixture
component is picked by the Gumbel-max rule from the step's noise input. The mixture's
parameters are those of the trained network (:meth:`gencore.autoregressive.Conditional1D.params`
run on the stacked weights of one or several trained models, picked by an ``int64`` index).

**Temperature** :math:`T` tempers each factor's parts as chapter 10's decoding section tempers a
categorical: the weights become :math:`\pi_k^{1/T}` renormalized (logits divided by :math:`T`)
and each component :math:`\mathcal N(\mu_k, s_k^2)^{1/T} \propto \mathcal N(\mu_k, T s_k^2)`.
:math:`T = 1` is the model; :math:`T \to 0` draws the likeliest component's mean.

Book: ``book/10_autoregressive.ipynb``.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from . import autoregressive as A
from .live import LiveDemo, Slider, sampler_demo
from .live_flows import swapped
from .tensors import in_range, positive_int

__all__ = ["gumbel_from_normal", "ARSampleStep", "ar_sampler_live"]

_PAD_LOGIT = -1e4  # a padded component's logit: its weight exp(-1e4) is 0 in float32


def gumbel_from_normal(z: torch.Tensor) -> torch.Tensor:
    r"""Standard Gumbel noise from standard normal ``z``: :math:`g = -\log(-\log \Phi(z))`, with
    :math:`\Phi(z) = \tfrac12(1 + \mathrm{erf}(z/\sqrt2))` kept in :math:`[10^{-7}, 1 - 10^{-7}]`."""
    if not isinstance(z, torch.Tensor) or not z.is_floating_point():
        raise ValueError(f"z must be a floating tensor; got {type(z).__name__}")
    if not bool(torch.isfinite(z).all()):
        raise ValueError("z must be finite")
    u = (0.5 * (1 + torch.erf(z / math.sqrt(2.0)))).clamp(1e-7, 1 - 1e-7)
    return -torch.log(-torch.log(u))


class _Params(nn.Module):
    """``forward(context)`` is the wrapped :class:`Conditional1D`'s ``params(context)``."""

    def __init__(self, cond: A.Conditional1D):
        super().__init__()
        self.cond = cond

    def forward(self, context):
        return self.cond.params(context)


def _padded(cond: A.Conditional1D, K: int) -> dict:
    """``cond``'s tensors with its ``3k`` outputs padded to ``3K``: extra components get weight 0."""
    k = cond.components
    out = {}
    for name, value in cond.named_parameters():
        value = value.detach().to("cpu", torch.float32)
        if name in ("free", "net.4.weight", "net.4.bias"):
            pad = value.new_zeros((3 * K,) + value.shape[1:])
            for part in range(3):  # logits, means, raw scales
                pad[part * K:part * K + k] = value[part * k:(part + 1) * k]
            if value.ndim == 1:  # a bias (or the free parameters): the padded logits are very negative
                pad[k:K] = _PAD_LOGIT
            value = pad
        out[name] = value
    return out


class ARSampleStep(nn.Module):
    r"""Step ``t`` of ancestral sampling from one of several trained :class:`AR2D` mixture models.

    ``forward(x (N, 2), z (N, K), t (int64: 0 or 1), temperature (float)[, index (int64)])``:
    for ``t = 0`` the coordinate :math:`a` (the model's first) becomes
    :math:`\mu_k + \sqrt T s_k\, x_a` with :math:`k = \arg\max_j(\text{logit}_j / T + g_j)`,
    :math:`g = ` :func:`gumbel_from_normal` ``(z)``, from the first factor's mixture; for ``t = 1``
    the coordinate :math:`b` is drawn in the same way from :math:`q(x_b \mid x_a)`. The other
    coordinate passes unchanged. ``K`` is the largest number of components among the models
    (the others are padded with components of weight 0). The ``index`` input exists only when
    there are several models. The models must be ``kind="mdn"`` with one hidden width.
    """

    def __init__(self, models):
        super().__init__()
        models = list(models) if isinstance(models, (list, tuple)) else [models]
        if not models or not all(isinstance(m, A.AR2D) for m in models):
            raise ValueError("models must be a gencore.autoregressive.AR2D or a non-empty list of them")
        if any(m.first.kind != "mdn" for m in models):
            raise ValueError("models must be mixture models (kind='mdn'); a binned model is not supported")
        hidden = {m.second.net[0].out_features for m in models}
        scales = {m.first.min_scale for m in models} | {m.second.min_scale for m in models}
        if len(hidden) != 1 or len(scales) != 1:
            raise ValueError(f"models must share one hidden width and min_scale; got {sorted(hidden)}, {sorted(scales)}")
        self.K = max(m.first.components for m in models)
        self.members = len(models)
        kw = dict(kind="mdn", components=self.K, hidden=hidden.pop(), min_scale=scales.pop(), dtype=torch.float32)
        self.first, self.second = _Params(A.Conditional1D(0, **kw)), _Params(A.Conditional1D(1, **kw))
        self._names = []
        for part in ("first", "second"):
            tensors = [_padded(getattr(m, part), self.K) for m in models]
            for name in tensors[0]:
                buf = f"stack_{part}_{name.replace('.', '_')}"
                self.register_buffer(buf, torch.stack([t[name] for t in tensors]))
                self._names.append((part, "cond." + name, buf))
        self.register_buffer("first_coord", torch.tensor([m.order[0] for m in models]))
        self.input_names = ("x", "z", "t", "temperature") + (("index",) if self.members > 1 else ())

    def _params(self, part: str, i, context):
        tensors = {name: getattr(self, buf)[i] for p, name, buf in self._names if p == part}
        with swapped(getattr(self, part), tensors) as net:
            return net(context)

    def _draw(self, params, eps, z, temperature):
        logits, means, scales = params
        k = torch.argmax(logits / temperature + gumbel_from_normal(z), -1, keepdim=True)
        pick = (torch.arange(self.K).unsqueeze(0) == k).to(means.dtype)  # one-hot; broadcasts a 1-row params
        return (pick * means).sum(-1) + torch.sqrt(temperature) * (pick * scales).sum(-1) * eps

    def forward(self, x, z, t, temperature, index=None):
        i = torch.zeros((), dtype=torch.int64) if index is None else index
        a_is_0 = self.first_coord[i] == 0
        xa, xb = torch.where(a_is_0, x[:, 0], x[:, 1]), torch.where(a_is_0, x[:, 1], x[:, 0])
        # one row of context for the free first factor: its parameters broadcast over the points
        new_a = self._draw(self._params("first", i, x[:1, :0]), xa, z, temperature)
        new_b = self._draw(self._params("second", i, xa.unsqueeze(-1)), xb, z, temperature)
        first = t == 0
        xa, xb = torch.where(first, new_a, xa), torch.where(first, xb, new_b)
        return torch.stack([torch.where(a_is_0, xa, xb), torch.where(a_is_0, xb, xa)], -1)

    def example(self, n: int = 8) -> tuple:
        """Inputs to trace with (``t = 1``, ``T = 0.7``, the last model)."""
        g = torch.Generator().manual_seed(0)
        out = (torch.randn(n, 2, generator=g, dtype=torch.float32), torch.randn(n, self.K, generator=g, dtype=torch.float32),
               torch.tensor(1),
               torch.tensor(0.7, dtype=torch.float32))
        return out + (torch.tensor(self.members - 1),) if self.members > 1 else out


def ar_sampler_live(fallback, models, *, extent, title: str, alt: str, names=None, ref=None, noise_extent=(-3, 3, -3, 3),
                    start=(0.8, -0.5), temperature: float = 1.0, n: int = 1000, colors: dict | None = None) -> LiveDemo:
    r"""A live view of ancestral sampling: ``n`` points of the standard normal plane (left panel,
    box ``noise_extent``) carried to samples (right panel, box ``extent``) in two steps, one
    coordinate each, at any temperature in [0.05, 2] (first value ``temperature``); the dragged
    noise point's two-step path is drawn. Several models get a slider (labelled ``names``).
    ``ref``: a pale backdrop of data; ``fallback``: the frames' slider; ``title`` may use
    ``{temperature}`` and ``{index}``."""
    step = ARSampleStep(models)
    in_range("n", positive_int("n", n), 1, 5000)
    in_range("temperature", temperature, 0.05, 2.0)
    sliders = [Slider("temperature", "temperature T", 0.05, 2.0, 0.01, float(temperature))]
    if step.members > 1:
        names = tuple(names) if names is not None else tuple(str(i) for i in range(step.members))
        if len(names) != step.members:
            raise ValueError(f"names must name each of the {step.members} models; got {len(names)}")
        sliders.insert(0, Slider("index", "model", 0, step.members - 1, 1, 0, labels=names, dtype="int64"))
    return sampler_demo(fallback, step, sliders=sliders, steps=2, times={2: [0, 1, 2]}, extent=extent,
                        start_extent=noise_extent, title=title, alt=alt, start=start, ref=ref, n=n,
                        noise_dim=step.K, colors=colors)
