"""Bad-input cases for gencore.live_ar (chapter 10's live demos)."""
from __future__ import annotations

import torch

from gencore import autoregressive as A
from gencore import live_ar, widgets

from . import Case


def _models():
    return [A.AR2D(order, components=K, hidden=8, dtype=torch.float32) for order, K in (((0, 1), 2), ((1, 0), 3))]


def _slider():
    return widgets.slider(lambda fig, T: None, T=(1, 2), alt="an empty stand-in frame at T = {T}")


CASES = [
    Case("live_ar.gumbel_from_normal", lambda: dict(z=torch.randn(5, 3, generator=torch.Generator().manual_seed(0))),
         accepts={"z": ("empty", "extra_dim")}),  # elementwise: any shape, an empty batch gives an empty result
    Case("live_ar.ARSampleStep", lambda: dict(models=_models())),
    Case("live_ar.ar_sampler_live", lambda: dict(fallback=_slider(), models=_models(), extent=(-3.0, 3.0, -3.0, 3.0),
                                                title="T = {temperature}", alt="a", names=("a", "b"),
                                                ref=torch.randn(30, 2, generator=torch.Generator().manual_seed(1)),
                                                noise_extent=(-3.0, 3.0, -3.0, 3.0), start=(0.0, 0.0),
                                                temperature=1.0, n=20),
         ranges={"n": (1, 5000), "temperature": (0.05, 2.0)}),
]
