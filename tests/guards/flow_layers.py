"""Bad-input cases for gencore.flow_layers (planar, radial and affine coupling layers)."""
from __future__ import annotations

import torch

from gencore import flow_layers as L
from guards import Case

F64 = torch.float64


def _z(n=6, batch=()):
    return torch.randn((n,) + batch + (2,), generator=torch.Generator().manual_seed(1), dtype=F64)


def _layer(kind, batch=()):
    g = torch.Generator().manual_seed(0)
    if kind == "coupling":
        return L.AffineCoupling(2, 8, [1.0, 0.0], dtype=F64, generator=g)
    return getattr(L, kind)(2, batch_shape=batch, dtype=F64, generator=g)


CASES = [
    Case("flow_layers.Planar", lambda: dict(dim=2, init_std=0.1), ranges={"dim": (1, None), "init_std": (0.0, None)}),
    Case("flow_layers.Radial", lambda: dict(dim=2, init_std=0.1), ranges={"dim": (1, None), "init_std": (0.0, None)}),
    Case("flow_layers.AffineCoupling", lambda: dict(dim=2, hidden=8, mask=[1.0, 0.0]), ranges={"hidden": (1, None)}),
]
for kind in ("Planar", "Radial", "coupling"):
    target = "flow_layers." + ("AffineCoupling" if kind == "coupling" else kind)
    CASES += [
        Case(target, lambda: dict(z=_z()), call=lambda z, kind=kind: _layer(kind)(z)),
        Case(target, lambda: dict(x=_z()), call=lambda x, kind=kind: _layer(kind).inverse(x)),
    ]
CASES += [
    Case("flow_layers.Planar", lambda: dict(z=_z(batch=(3,))), call=lambda z: _layer("Planar", (3,))(z)),
    Case("flow_layers.planar_m", lambda: dict(a=torch.linspace(-2, 2, 5, dtype=F64)),
         accepts={"a": ("extra_dim",)}),  # elementwise: any shape is right
    Case("flow_layers.planar_m_inverse", lambda: dict(c=0.5), ranges={"c": (-1.0, None)}),
    # any leading shape is right, so an extra dimension passes when both arguments get it (not one)
    Case("flow_layers.planar_u_hat", lambda: dict(w=_z(3), u=_z(3) + 0.5), pairs=(("w", "u"),)),
    Case("flow_layers.radial_alpha_beta", lambda: dict(alpha_raw=_z(3)[:, 0], beta_raw=_z(3)[:, 1]),
         pairs=(("alpha_raw", "beta_raw"),)),
]

EXEMPT = {
    "batch_shape_of": "takes a shape (a tuple of ints), no tensor or number to spoil; "
                      "its rejections are tested in tests/test_flows.py",
}
