"""Bad-input cases for gencore.flow_chains (stacks of planar or radial layers as one chain)."""
from __future__ import annotations

import torch

from guards import Case

F64 = torch.float64


def _stack(k=3, batch=(2,), n=4, seed=2):
    g = torch.Generator().manual_seed(seed)
    vec = lambda: torch.randn((k,) + batch + (2,), generator=g, dtype=F64)  # noqa: E731
    sca = lambda: 0.5 * torch.randn((k,) + batch, generator=g, dtype=F64)  # noqa: E731
    return torch.randn((n,) + batch + (2,), generator=g, dtype=F64), vec, sca


def _planar_args():
    z, vec, sca = _stack()
    return dict(z=z, w=vec(), u=vec(), b=sca())


def _radial_args():
    z, vec, sca = _stack()
    return dict(z=z, center=vec(), alpha_raw=sca(), beta_raw=sca())


# the parameters share their leading (K, *batch) shape, so a mismatch names them together
CASES = [
    Case("flow_chains.planar_chain", _planar_args, pairs=(("w", "u", "b"),)),
    Case("flow_chains.radial_chain", _radial_args, pairs=(("center", "alpha_raw", "beta_raw"),)),
]

EXEMPT = {}
