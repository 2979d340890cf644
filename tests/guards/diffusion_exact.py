"""Bad-input cases for gencore.diffusion_exact (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import data
from gencore import diffusion as D
from gencore import diffusion_exact as E

from . import Case

S = D.NoiseSchedule.linear(T=20)
F64 = torch.float64


def _mix():
    return data.GaussianMixture(torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=F64), 0.3)


CASES = [
    Case("diffusion_exact.reverse_conditional",
         lambda: dict(schedule=S, data=_mix(), xt=torch.tensor([0.2, -0.1], dtype=F64), t=10, s=3),
         ranges={"t": (1, 20), "s": (0, 9)}),
    Case("diffusion_exact.mixture_moments", lambda: dict(mixture=_mix()), only=()),  # a checked GaussianMixture
    Case("diffusion_exact.snr", lambda: dict(schedule=S, t=3), ranges={"t": (0, 20)}),
    Case("diffusion_exact.x0_weight", lambda: dict(schedule=S, t=3), ranges={"t": (2, 20)}),
    Case("diffusion_exact.ve_coordinates",
         lambda: dict(schedule=S, x=torch.linspace(-1, 1, 8, dtype=F64).reshape(4, 2), t=3),
         ranges={"t": (0, 20)}, accepts={"x": ("extra_dim",)}),  # rank independent
]
