"""Bad-input cases for gencore.flow_autoregressive (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import flow_autoregressive as FA

from . import Case

F64 = torch.float64


def _z(n=6, d=3):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(0), dtype=F64)


CASES = [
    Case("flow_autoregressive.IAF", lambda: dict(dim=3, hidden=4, layers=1),
         call=lambda dim, hidden, layers: FA.IAF(dim, hidden, layers),
         ranges={"dim": (2, None), "hidden": (1, None), "layers": (1, None)}),
    Case("flow_autoregressive.IAF.forward", lambda: dict(z=_z()), call=lambda z: FA.IAF(3, 4, dtype=F64)(z)),
    Case("flow_autoregressive.IAF.inverse", lambda: dict(x=_z()), call=lambda x: FA.IAF(3, 4, dtype=F64).inverse(x)),
]
EXEMPT: dict = {}
