"""Chapter 2's live demo: the bending map T_b of :func:`gencore.reparam.banana_push`, in the browser.

The step is the chapter's own map, traced with the bend ``b`` as an input: the reader moves
``b`` continuously and drags a noise point ε (left panel) to see where T_b sends it (right).
"""
from __future__ import annotations

import torch
from torch import nn

from . import live
from . import reparam as R
from .tensors import event_2d, positive

__all__ = ["BananaStep", "banana_live"]

EPS_BOX = (-3.5, 3.5, -3.5, 3.5)


class BananaStep(nn.Module):
    r"""``forward(x (N, 2), b (float scalar))`` = :func:`gencore.reparam.banana_push` ``(x, b, s)``."""

    input_names = ("x", "b")

    def __init__(self, s: float = 0.5):
        super().__init__()
        self.s = positive("s", s)

    def forward(self, x, b):
        return R.banana_push(x, b, self.s)

    def example(self, n: int = 8) -> tuple:
        g = torch.Generator().manual_seed(0)
        return torch.randn(n, 2, generator=g, dtype=torch.float32), torch.tensor(0.5, dtype=torch.float32)


def banana_live(fallback, eps: torch.Tensor, s: float = 0.5, extent=(-3.5, 3.5, -2.5, 5.0), n: int = 1000,
                colors: dict | None = None) -> live.LiveDemo:
    """The banana slider live: the first ``n`` noise points ``eps`` (left) and T_b of them (right)
    for any bend b in [0, 1]; a dragged ε shows its image. ``fallback``: the frames' slider."""
    event_2d("eps", eps)
    sliders = [live.Slider("b", "bend b", 0.0, 1.0, 0.01, 0.5)]
    alt = ("Live: Gaussian noise points ε on the left and the same points pushed through the bending map T "
           "on the right, for the bend b you choose; drag the ringed ε to see where T sends it.")
    return live.sampler_demo(fallback, BananaStep(s), sliders=sliders, steps=1, times={1: [0, 1]}, extent=extent,
                             start_extent=EPS_BOX, init=eps.float(), n=n, start=(1.5, 0.5), alt=alt,
                             title="x = T(ε), b = {b}: drag the ringed ε on the left", colors=colors)
