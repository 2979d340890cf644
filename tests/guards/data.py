"""Bad-input cases for gencore.data (see tests/guards/__init__.py)."""
from __future__ import annotations

import functools

import torch

from gencore import data
from guards import Case

F64 = torch.float64


@functools.lru_cache(maxsize=None)
def _dist(name):
    return data.make(name, dtype=F64)


def _x():
    return torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(0))


CASES = [
    Case("data.make", lambda: dict(x=_x()), call=lambda x: _dist("moons").log_prob(x)),
    Case("data.make", lambda: dict(noise=0.1, scale=1.5), call=lambda **kw: data.make("moons", **kw),
         ranges={"noise": (0, None), "scale": (0, None)}),
    Case("data.make", lambda: dict(radius=2.0, std=0.02), call=lambda **kw: data.make("8gaussians", **kw),
         ranges={"radius": (0, None), "std": (0, None)}),
    Case("data.GaussianMixture", lambda: dict(means=torch.randn(3, 2, dtype=F64), std=0.5, weights=torch.ones(3, dtype=F64)),
         ranges={"std": (0, None), "weights": (0, None)},
         accepts={"means": ("int",), "weights": ("int",)}),  # integers are exact numbers: converted to the dtype
    Case("data.GaussianMixture", lambda: dict(x=_x()), call=lambda x: _dist("8gaussians").log_prob(x)),
    Case("data.NoisyCurve", lambda: dict(x=_x()), call=lambda x: _dist("rings").log_prob(x)),
    Case("data.NoisyCurve", lambda: dict(noise=0.1, nodes_per_noise=4.0),
         call=lambda **kw: data.NoisyCurve([lambda s: torch.stack([s, s], -1)], **kw),
         ranges={"noise": (0, None), "nodes_per_noise": (0, None)}),
    Case("data.Checkerboard", lambda: dict(x=_x()), call=lambda x: _dist("checkerboard").log_prob(x)),
    Case("data.Checkerboard", lambda: dict(half_width=2.0, cells=4, noise=0.05),
         ranges={"half_width": (0, None), "cells": (2, None), "noise": (0, None)}),
    Case("data.EnergyDensity", lambda: dict(x=_x()), call=lambda x: _dist("u1").log_prob(x)),
]
EXEMPT: dict = {}
