"""Bad-input cases for gencore.flows (the flow, its base, the bound and the exact KL)."""
from __future__ import annotations

import torch

from gencore import flows as Fl
from guards import Case

F64 = torch.float64


def _flow():
    g = torch.Generator().manual_seed(0)
    return Fl.Flow([Fl.Planar(2, dtype=F64, generator=g), Fl.Radial(2, dtype=F64, generator=g)], Fl.normal_base(dtype=F64))


def _points(n=6):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(1), dtype=F64)


CASES = [
    Case("flows.Flow", lambda: dict(z=_points()), call=lambda z: _flow()(z)),
    Case("flows.Flow", lambda: dict(x=_points()), call=lambda x: _flow().inverse(x)),
    Case("flows.Flow", lambda: dict(x=_points()), call=lambda x: _flow().log_prob(x)),
    Case("flows.Flow", lambda: dict(n=5), call=lambda n: _flow().sample(n), ranges={"n": (1, None)}),
    Case("flows.Flow", lambda: dict(n=5), call=lambda n: _flow().rsample_and_log_prob(n), ranges={"n": (1, None)}),
    Case("flows.normal_base", lambda: dict(dim=2), ranges={"dim": (1, None)}),
    Case("flows.planar_log_det",
         lambda: dict(z=_points(), w=torch.tensor([1.0, -0.5], dtype=F64), u=torch.tensor([0.3, 0.2], dtype=F64),
                      b=torch.tensor(0.1, dtype=F64))),
    Case("flows.log_abs_det_autograd", lambda: dict(z=_points(3)),
         call=lambda z: Fl.log_abs_det_autograd(Fl.Planar(2, dtype=F64), z)),
    Case("flows.anneal", lambda: dict(step=10, ramp=100.0, start=0.01),
         ranges={"step": (0, None), "ramp": (0, None), "start": (0.0, 1.0)}),
    Case("flows.free_energy", lambda: dict(log_q=_points()[:, 0], energy=_points()[:, 1], beta=0.5),
         ranges={"beta": (0.0, None)}, pairs=(("log_q", "energy"),)),
    Case("flows.reverse_kl_lotus", lambda: dict(resolution=20),
         call=lambda resolution: Fl.reverse_kl_lotus(_flow(), Fl.normal_base(dtype=F64).log_prob, resolution=resolution),
         ranges={"resolution": (2, None)}),
]

EXEMPT = {}
