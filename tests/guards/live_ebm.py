"""Bad-input cases for gencore.live_ebm (chapter 8's live demos)."""
from __future__ import annotations

import torch

from gencore import ebm as E
from gencore import widgets

from . import Case


def _slider():
    return widgets.slider(lambda fig, a: None, a=(0, 1), alt="an empty stand-in frame at a = {a}")


def _net():
    return E.EnergyNet(8, generator=torch.Generator().manual_seed(0), dtype=torch.float32)


CASES = [
    Case("live_ebm.EnergyLangevinStep", lambda: dict(energies=[E.two_basin_energy, _net()], inner=3),
         ranges={"inner": (1, 32)}),
    Case("live_ebm.energy_live", lambda: dict(fallback=_slider(), energies=E.two_basin_energy,
                                              init=torch.randn(20, 2, generator=torch.Generator().manual_seed(1)),
                                              extent=(-3.0, 3.0, -2.0, 2.0), inner=5, max_steps=50, steps=20,
                                              init_scale=1.0, n=20),
         ranges={"n": (1, 5000), "max_steps": (5, 5000), "steps": (5, 50), "inner": (1, 32),
                 "init_scale": (0.0, None)}),
]
