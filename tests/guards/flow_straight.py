"""Bad-input cases for gencore.flow_straight (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from . import Case

F64 = torch.float64


def _x(n=4):
    return torch.linspace(-1, 1, 2 * n, dtype=F64).reshape(n, 2)


CASES = [
    Case("flow_straight.straightness", lambda: dict(velocity_fn=lambda x, t: -x, x0=_x(), n_steps=4),
         ranges={"n_steps": (1, None)}),
    Case("flow_straight.pair_cfm_loss", lambda: dict(velocity_fn=lambda x, t: x, x0=_x(), x1=_x() + 1),
         pairs=(("x0", "x1"),)),
    Case("flow_straight.vp_velocity",
         lambda: dict(eps_fn=lambda x, tau: 0 * x, x=_x(), t=torch.linspace(0.1, 0.9, 4, dtype=F64), T=1000),
         ranges={"t": (0.0, 1.0), "T": (1, None)}, pairs=(("x", "t"),)),
]
EXEMPT = {}
