"""Bad-input cases for gencore.score_sde (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import score_sde as Q

from . import Case

F64 = torch.float64


def _x(n=4):
    return torch.linspace(-1, 1, 2 * n, dtype=F64).reshape(n, 2)


def _mean():
    return torch.tensor([1.0, -0.5], dtype=F64)


def _cov():
    return torch.tensor([[0.5, 0.1], [0.1, 0.4]], dtype=F64)


def _score(x, t):
    return -x


CASES = [
    Case("score_sde.vp_beta", lambda: dict(t=0.3, beta_min=0.1, beta_max=20.0),
         ranges={"t": (0.0, 1.0), "beta_min": (0.0, None), "beta_max": (0.0, None)}),
    Case("score_sde.vp_alpha_bar", lambda: dict(t=0.3, beta_min=0.1, beta_max=20.0),
         ranges={"t": (0.0, 1.0), "beta_min": (0.0, None), "beta_max": (0.0, None)}),
    Case("score_sde.gaussian_marginal", lambda: dict(mean=_mean(), cov=_cov(), alpha_bar=0.5),
         ranges={"alpha_bar": (0.0, 1.0)}),
    Case("score_sde.gaussian_score_at", lambda: dict(mean=_mean(), cov=_cov(), beta_min=0.1, beta_max=20.0),
         ranges={"beta_min": (0.0, None), "beta_max": (0.0, None)}),
    Case("score_sde.pf_ode", lambda: dict(score=_score, x=_x(), t0=1.0, t1=0.0, steps=4),
         ranges={"t0": (0.0, 1.0), "t1": (0.0, 1.0), "steps": (1, None)}),
    Case("score_sde.reverse_sde", lambda: dict(score=_score, x=_x(), t0=1.0, t1=0.0, steps=4),
         ranges={"t0": (0.0, 1.0), "t1": (0.0, 1.0), "steps": (1, None)}),
    Case("score_sde.ring_score", lambda: dict(x=_x(), radius=1.0, sigma=0.1),
         ranges={"radius": (0.0, None), "sigma": (0.0, None)}),
]
