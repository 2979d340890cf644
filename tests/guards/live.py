"""Bad-input cases for gencore.live (the website's live demos)."""
from __future__ import annotations

import torch

from gencore import diffusion as D
from gencore import live, widgets
from gencore.nn import TimeMLP

from . import Case

S = D.NoiseSchedule.linear(T=20)


def _net():
    return TimeMLP(hidden=8, layers=1, n_freq=2, time_scale=20, generator=torch.Generator().manual_seed(0),
                   dtype=torch.float32)


def _slider():
    return widgets.slider(lambda fig, a: None, a=(0, 1), alt="an empty stand-in frame at a = {a}")


CASES = [
    Case("live.DDIMStep", lambda: dict(model=_net(), schedule=S)),
    Case("live.ddim_live", lambda: dict(fallback=_slider(), model=_net(), schedule=S,
                                        ref=torch.randn(30, 2, generator=torch.Generator().manual_seed(1)),
                                        extent=(-3.0, 3.0, -2.0, 2.0), n=20, max_steps=10),
         ranges={"n": (1, 5000), "max_steps": (2, 20)}),
]
EXEMPT = {
    "export_step": "its one argument is a DDIMStep, checked by type (nothing numeric to spoil); "
                   "tests/test_live.py runs the export it makes against gencore",
    "LiveDemo": "a container of what ddim_live has checked; its export is called, and a failure "
                "leaves the frames' view (tests/test_live.py)",
}
