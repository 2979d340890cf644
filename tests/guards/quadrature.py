"""Bad-input cases for gencore.quadrature."""
from __future__ import annotations

import torch

from . import Case

F64 = torch.float64
BOX = (-2.0, 2.0, -1.0, 1.0)


def _log_f(x):
    return -0.5 * (x**2).sum(-1)


def _nan_f(x):
    return torch.full(x.shape[:1], float("nan"), dtype=x.dtype)


CASES = [
    Case("quadrature.grid", lambda: dict(extent=BOX, resolution=4, dtype=F64), ranges={"resolution": (2, None)}),
    Case("quadrature.grid_log_prob", lambda: dict(log_f=_log_f, extent=BOX, resolution=4, dtype=F64, chunk=5),
         ranges={"resolution": (2, None), "chunk": (1, None)}),
    Case("quadrature.log_integral", lambda: dict(log_f=_log_f, extent=BOX, resolution=4, dtype=F64),
         ranges={"resolution": (2, None)}),
]

EXEMPT: dict[str, str] = {}
