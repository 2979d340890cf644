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


class _Curves(torch.nn.Module):
    input_names = ("x", "eta")

    def forward(self, x, eta):
        return torch.stack([x[:, 0], eta * x[:, 0] ** 2], -1)

    def example(self):
        return torch.zeros(4, 2), torch.tensor(0.5)


CASES = [
    Case("live.DDIMStep", lambda: dict(model=_net(), schedule=S)),
    Case("live.ddim_live", lambda: dict(fallback=_slider(), model=_net(), schedule=S,
                                        ref=torch.randn(30, 2, generator=torch.Generator().manual_seed(1)),
                                        extent=(-3.0, 3.0, -2.0, 2.0), n=20, max_steps=10),
         ranges={"n": (1, 5000), "max_steps": (2, 20)}),
    Case("live.fit_box", lambda: dict(box=(-1.0, 1.0, -2.0, 2.0), ratio=1.5), ranges={"ratio": (0.0, None)}),
    Case("live.Slider", lambda: dict(key="eta", label="η", lo=0.0, hi=1.0, step=0.1, value=0.5)),
    Case("live.sampler_demo", lambda: dict(fallback=_slider(), step=live.DDIMStep(_net(), S),
                                           sliders=[live.Slider("eta", "η", 0.0, 1.0, 0.1, 0.5)], steps=3,
                                           times={3: [20, 10, 5, 0]}, extent=(-3.0, 3.0, -2.0, 2.0), title="t",
                                           alt="a", start=(0.0, 0.0), init_scale=1.0,
                                           ref=torch.randn(30, 2, generator=torch.Generator().manual_seed(1)),
                                           n=20, noise_dim=2),
         ranges={"n": (1, 5000), "noise_dim": (1, 64), "init_scale": (0.0, None), "per_call": (1, None)}),
    Case("live.curve_demo", lambda: dict(fallback=_slider(), step=_Curves(), sliders=[live.Slider("eta", "η", 0.0, 1.0, 0.1, 0.5)],
                                         grid=torch.linspace(-1, 1, 9), columns=2, alt="a",
                                         panels=[{"extent": (-1, 1, 0, 1), "title": "t", "curves": [{"col": 1, "color": "#000"}]}]),
         ranges={"columns": (2, 64)}),
]
EXEMPT = {
    "export_step": "its one argument is a step module, checked for input_names and example() (nothing numeric to spoil); "
                   "tests/test_live.py runs the export it makes against gencore",
    "LiveDemo": "a container of what ddim_live has checked; its export is called, and a failure "
                "leaves the frames' view (tests/test_live.py)",
}
