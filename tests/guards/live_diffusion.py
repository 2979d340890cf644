"""Bad-input cases for gencore.live_diffusion (chapter 6's forward and reverse chains in the browser)."""
from __future__ import annotations

import torch

from gencore import diffusion as D
from gencore import live_diffusion as L
from gencore import widgets
from gencore.nn import TimeMLP

from . import Case

S = D.NoiseSchedule.linear(T=20)
BOX = (-3.0, 3.0, -2.0, 2.0)


def _net():
    return TimeMLP(hidden=8, layers=1, n_freq=2, time_scale=20, generator=torch.Generator().manual_seed(0),
                   dtype=torch.float32)


def _slider():
    return widgets.slider(lambda fig, a: None, a=(0, 1), alt="an empty stand-in frame at a = {a}")


def _points(n=30):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(1))


CASES = [
    Case("live_diffusion.ForwardStep", lambda: dict(schedule=S, stride=5), ranges={"stride": (1, 20)}),
    Case("live_diffusion.forward_live", lambda: dict(fallback=_slider(), schedule=S, x0=_points(), extent=BOX,
                                                     stride=5, every=2, n=20),
         ranges={"n": (1, 5000), "stride": (1, 20), "every": (1, 4)}),
    Case("live_diffusion.ReverseStep", lambda: dict(model=_net(), schedule=S)),
    Case("live_diffusion.reverse_live", lambda: dict(fallback=_slider(), model=_net(), schedule=S, ref=_points(),
                                                     extent=BOX, steps=5, n=20),
         ranges={"n": (1, 5000), "steps": (1, 20)}),
]
