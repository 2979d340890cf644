"""Bad-input cases for gencore.ar_flow (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import ar_flow

from . import Case

F64 = torch.float64


def _x():
    return torch.linspace(-1, 1, 12, dtype=F64).reshape(4, 3)


CASES = [
    Case("ar_flow.GaussianAR", lambda: dict(x=_x()), call=lambda x: ar_flow.GaussianAR(3, 8, dtype=F64).log_prob(x)),
    Case("ar_flow.GaussianAR", lambda: dict(z=_x()), call=lambda z: ar_flow.GaussianAR(3, 8, dtype=F64).from_noise(z)),
    Case("ar_flow.GaussianAR", lambda: dict(dim=3, hidden=8), ranges={"dim": (2, None), "hidden": (1, None)}),
]
EXEMPT: dict = {}
