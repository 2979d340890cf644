"""Bad-input cases for gencore.ebm_train (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import ebm as E
from gencore import ebm_train as T

from . import Case

F64 = torch.float64
QUAD = E.quadratic_energy(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
NOISE = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64)).log_prob


def _x(n=8):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=F64)


def _net():
    return E.EnergyNet(4, generator=torch.Generator().manual_seed(0)).double()


CASES = [
    Case("ebm_train.penalized_cd_loss", lambda: dict(x_data=_x(), x_neg=_x(6), alpha=0.1),
         call=lambda x_data, x_neg, alpha: T.penalized_cd_loss(QUAD, x_data, x_neg, alpha),
         ranges={"alpha": (0.0, None)}),
    Case("ebm_train.NCEModel", lambda: dict(log_z=0.5), call=lambda log_z: T.NCEModel(_net(), log_z)),
    Case("ebm_train.nce_loss", lambda: dict(x_data=_x(), x_noise=_x(12)),
         call=lambda x_data, x_noise: T.nce_loss(lambda z: -QUAD(z), NOISE, x_data, x_noise)),
    Case("ebm_train.nce_discriminator", lambda: dict(x=_x(), nu=2.0),
         call=lambda x, nu: T.nce_discriminator(lambda z: -QUAD(z), NOISE, x, nu),
         ranges={"nu": (1e-9, None)}),
    Case("ebm_train.fit_gaussian_noise", lambda: dict(x=_x(), widen=1.5), ranges={"widen": (1e-9, None)}),
]
EXEMPT: dict = {}
