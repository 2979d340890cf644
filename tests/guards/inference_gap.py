"""Bad-input cases for gencore.inference_gap (chapter 3)."""
from __future__ import annotations

import torch
from torch.distributions import Independent, Normal

from guards import Case

F64 = torch.float64


def _dec(z):
    """A fixed decoder, (..., N, 2) -> a Gaussian over (..., N, 2)."""
    return Independent(Normal(torch.cat([z[..., :1], -z[..., 1:]], -1), torch.ones(z.shape[:-1] + (2,), dtype=z.dtype)), 1)


def _args():
    return {"x": torch.randn(4, 2, dtype=F64), "mu": torch.zeros(4, 2, dtype=F64),
            "sigma": torch.ones(4, 2, dtype=F64), "decoder": _dec, "order": 5}


CASES = [
    Case("inference_gap.gauss_hermite_nodes", lambda: {"order": 5, "dim": 2},
         ranges={"order": (1, None), "dim": (1, None)}),
    Case("inference_gap.elbo_gauss_hermite", _args, ranges={"sigma": (0.0, None), "order": (1, None)},
         accepts={"x": ("extra_dim",)}),  # (..., N, D): a leading batch dimension broadcasts against mu
    Case("inference_gap.fit_gaussian_posterior", lambda: {**_args(), "steps": 3, "lr": 0.01},
         ranges={"sigma": (0.0, None), "order": (1, None), "steps": (1, None), "lr": (0.0, None)},
         accepts={"x": ("extra_dim",)}),
]
