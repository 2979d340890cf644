"""Bad-input cases for gencore.ebm (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import ebm as E

from . import Case

F64 = torch.float64
BOX = (-6.0, 6.0, -6.0, 6.0)
QUAD = E.quadratic_energy(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))


def _x(n=8):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=F64)


def _net():
    return E.EnergyNet(4, generator=torch.Generator().manual_seed(0)).double()


CASES = [
    Case("ebm.log_partition", lambda: dict(resolution=20, temperature=1.0),
         call=lambda resolution, temperature: E.log_partition(QUAD, BOX, resolution, temperature=temperature),
         ranges={"resolution": (2, None), "temperature": (1e-9, None)}),
    Case("ebm.boltzmann_log_prob", lambda: dict(temperature=1.0, resolution=20),
         call=lambda temperature, resolution: E.boltzmann_log_prob(QUAD, temperature, BOX, resolution),
         ranges={"resolution": (2, None), "temperature": (1e-9, None)}),
    Case("ebm.BoltzmannLogProb", lambda: dict(x=_x()),
         call=lambda x: E.boltzmann_log_prob(E.two_basin_energy, 1.0, BOX, 20)(x),
         accepts={"x": ("nan", "inf")}),  # a log-density: NaN in, NaN out
    Case("ebm.quadratic_energy", lambda: dict(mean=torch.zeros(2, dtype=F64), precision=torch.eye(2, dtype=F64))),
    Case("ebm.quadratic_log_partition", lambda: dict(precision=torch.eye(2, dtype=F64), temperature=1.0),
         ranges={"temperature": (1e-9, None)}),
    Case("ebm.two_basin_energy", lambda: dict(x=_x()),
         accepts={"x": ("nan", "inf", "empty")}),  # an energy: NaN in, NaN out; an empty batch has no energies
    Case("ebm.energy_score", lambda: dict(temperature=1.0, x=_x()),
         call=lambda temperature, x: E.energy_score(QUAD, temperature)(x),
         ranges={"temperature": (1e-9, None)}, only=("temperature",)),  # the returned score is autograd of the energy
    Case("ebm.grid_sample", lambda: dict(n=10, resolution=20),
         call=lambda n, resolution: E.grid_sample(lambda z: -QUAD(z), n, BOX, resolution),
         ranges={"n": (1, None), "resolution": (1, None)}),
    Case("ebm.EnergyNet", lambda: dict(hidden=4, bowl=3.0), call=lambda hidden, bowl: E.EnergyNet(hidden, bowl),
         ranges={"hidden": (1, None), "bowl": (1e-9, None)}),
    Case("ebm.contrastive_divergence_loss", lambda: dict(x_data=_x(), x_neg=_x(6)),
         call=lambda x_data, x_neg: E.contrastive_divergence_loss(QUAD, x_data, x_neg)),
    Case("ebm.energy_score_matching_loss", lambda: dict(x=_x()), call=lambda x: E.energy_score_matching_loss(QUAD, x)),
    Case("ebm.maxent_check", lambda: dict(temperature=1.0, n=3, scale=0.5),
         call=lambda temperature, n, scale: E.maxent_check(E.two_basin_energy, temperature, BOX, 30, n=n, scale=scale),
         ranges={"temperature": (1e-9, None), "n": (1, None), "scale": (1e-9, 1.0)}),
    Case("ebm.gradient_phases", lambda: dict(x=_x(), n_model=20),
         call=lambda x, n_model: E.gradient_phases(_net(), x, BOX, 20, n_model=n_model),
         ranges={"n_model": (10, None)}),
]
EXEMPT: dict = {}
