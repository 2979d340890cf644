"""Bad-input cases for gencore.nn (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import nn
from guards import Case

F64 = torch.float64


def _g():
    return torch.Generator().manual_seed(0)


CASES = [
    Case("nn.StackedMLP", lambda: dict(h=torch.randn(3, 5, 2, dtype=F64)),
         call=lambda h: nn.StackedMLP(3, (2, 8, 1), generator=_g(), dtype=F64)(h),
         accepts={"h": ("nan", "inf", "empty")}),  # a network propagates NaN like any torch layer; 0 points give 0 outputs
    Case("nn.StackedMLP", lambda: dict(n_models=3), call=lambda n_models: nn.StackedMLP(n_models, (2, 4, 1)),
         ranges={"n_models": (1, None)}),
    Case("nn.mlp_derivatives", lambda: dict(x=torch.randn(5, 2, dtype=F64)),
         call=lambda x: nn.mlp_derivatives(nn.mlp((2, 8, 1), generator=_g(), dtype=F64), x),
         accepts={"x": ("nan", "inf")}),  # a network propagates NaN like any torch layer
    Case("nn.TimeMLP", lambda: dict(hidden=8, layers=2, max_freq=200.0, time_scale=1.0),
         call=lambda **kw: nn.TimeMLP(**kw, generator=_g()),
         ranges={"hidden": (1, None), "layers": (1, None), "max_freq": (0, None), "time_scale": (0, None)}),
]
EXEMPT = {
    "activation": "applies a named torch activation elementwise: any tensor, NaN propagates as in torch; the name is checked",
    "build": "calls the caller's make() (checked: callable, returning an nn.Module) and redraws its weights: no values to spoil",
    "init_": "redraws the weights of a module from a generator: no input values to spoil",
    "mlp": "builds an nn.Sequential from layer sizes (checked: positive ints) and an activation name (checked)",
    "sinusoidal_features": "sin/cos of t * freqs, elementwise: NaN propagates as in torch, any finite t is valid",
}
