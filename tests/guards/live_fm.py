"""Bad-input cases for gencore.live_fm (chapter 9's flows integrated in the browser)."""
from __future__ import annotations

import torch

from gencore import live_fm as L
from gencore import widgets
from gencore.experiments.flow_matching import velocity_net

from . import Case

BOX = (-3.0, 3.0, -2.0, 2.0)


def _net(n_classes=0):
    return velocity_net(hidden=8, layers=1, n_classes=n_classes, generator=torch.Generator().manual_seed(0),
                        dtype=torch.float32)


def _slider():
    return widgets.slider(lambda fig, a: None, a=(0, 1), alt="an empty stand-in frame at a = {a}")


def _points(n=30):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(1))


CASES = [
    Case("live_fm.ODEStep", lambda: dict(model=_net())),
    Case("live_fm.ode_live", lambda: dict(fallback=_slider(), model=_net(), ref=_points(), extent=BOX, max_steps=4, n=20),
         ranges={"n": (1, 5000), "max_steps": (2, 1000)}),
    Case("live_fm.CFGStep", lambda: dict(model=_net(2))),
    Case("live_fm.cfg_live", lambda: dict(fallback=_slider(), model=_net(2), n_classes=2, ref=_points(), extent=BOX,
                                          steps=3, max_w=2.0, n=20),
         ranges={"n": (1, 5000), "n_classes": (1, 64), "steps": (1, 1000), "max_w": (0.0, None)}),
]
