"""Bad-input cases for gencore.gan_games (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import gan_games

from . import Case

F64 = torch.float64


def _state():
    return torch.tensor([1.0, 0.5], dtype=F64)


POS = (0.0, None)

CASES = [
    # The Dirac GAN: a state (..., 2) or a start (2,), a positive step size.
    Case("gan_games.dirac_step", lambda: dict(state=_state(), h=0.2, scheme="alternating", game="gan"),
         ranges={"h": POS}, accepts={"state": ("extra_dim",)}),  # leading axes are a batch of games
    Case("gan_games.dirac_trajectory", lambda: dict(start=_state(), h=0.2, steps=5),
         ranges={"h": POS, "steps": (1, None)}),
    Case("gan_games.dirac_flow", lambda: dict(start=_state(), times=torch.linspace(0, 1, 5, dtype=F64))),
    Case("gan_games.dirac_jacobian", lambda: dict(h=0.2, scheme="simultaneous", game="bilinear", at=_state()),
         ranges={"h": POS}),
    Case("gan_games.dirac_eigenvalues", lambda: dict(h=0.2), ranges={"h": POS}),
    # W1 of two rings through the Rice law of their radii.
    Case("gan_games.rice_log_prob", lambda: dict(t=torch.linspace(0.1, 3, 7, dtype=F64), nu=2.0, std=0.1),
         ranges={"nu": POS, "std": POS},
         accepts={"t": ("extra_dim",)}),  # elementwise: any shape is right
    Case("gan_games.radial_w1", lambda: dict(nu1=2.0, nu2=1.5, std=0.1, n=201),
         ranges={"nu1": POS, "nu2": POS, "std": POS, "n": (3, None)}),
    Case("gan_games.ring_w1_bounds", lambda: dict(radius=1.5, radius_data=2.0, std=0.1),
         ranges={"radius": POS, "radius_data": POS, "std": POS}),
]

EXEMPT: dict[str, str] = {}
