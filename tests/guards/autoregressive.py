"""Bad-input cases for gencore.autoregressive (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import autoregressive as A
from guards import Case

F64 = torch.float64


def _g():
    return torch.Generator().manual_seed(0)


def _mixture():
    g = _g()
    return dict(logits=torch.randn(5, 3, generator=g, dtype=F64), means=torch.randn(5, 3, generator=g, dtype=F64),
                scales=0.2 + torch.rand(5, 3, generator=g, dtype=F64))


def _bars():
    return A.BarsImages(3).sample(4, _g(), dtype=F64)


POS = (0, None)  # a positive number: values below 0 are tried
CASES = [
    Case("autoregressive.mixture_log_prob", lambda: dict(y=torch.randn(5, generator=_g(), dtype=F64), **_mixture()),
         ranges={"scales": POS}, pairs=(("y", "logits", "means", "scales"),)),
    Case("autoregressive.mixture_sample", _mixture, call=lambda **kw: A.mixture_sample(**kw, generator=_g()),
         ranges={"scales": POS}, pairs=(("logits", "means", "scales"),)),
    Case("autoregressive.binned_log_prob",
         lambda: dict(y=torch.rand(5, dtype=F64), logits=torch.randn(5, 4, dtype=F64), low=-1.0, high=1.0),
         pairs=(("y", "logits"),)),
    Case("autoregressive.binned_sample", lambda: dict(logits=torch.randn(5, 4, dtype=F64), low=-1.0, high=1.0),
         call=lambda **kw: A.binned_sample(**kw, generator=_g())),
    Case("autoregressive.Conditional1D", lambda: dict(y=torch.randn(6, dtype=F64), context=torch.randn(6, 1, dtype=F64)),
         call=lambda y, context: A.Conditional1D(1, components=3, hidden=8, dtype=F64).log_prob(y, context),
         pairs=(("y", "context"),)),
    Case("autoregressive.AR2D", lambda: dict(x=torch.randn(6, 2, dtype=F64)),
         call=lambda x: A.AR2D(components=3, hidden=8, dtype=F64).log_prob(x)),
    Case("autoregressive.AR2D", lambda: dict(n=4), call=lambda n: A.AR2D(hidden=8).sample(n, _g()),
         ranges={"n": (1, None)}),
    Case("autoregressive.Parabola", lambda: dict(x=torch.randn(6, 2, dtype=F64)),
         call=lambda x: A.Parabola().log_prob(x)),
    Case("autoregressive.Parabola", lambda: dict(s=0.15), call=lambda s: A.Parabola(s=s), ranges={"s": POS}),
    Case("autoregressive.BarsImages", lambda: dict(x=_bars()), call=lambda x: A.BarsImages(3).log_prob(x)),
    Case("autoregressive.made_masks", lambda: dict(dim=4, hidden=8, layers=2),
         ranges={"dim": (2, None), "hidden": (1, None), "layers": (1, None)}),
    Case("autoregressive.MaskedLinear", lambda: dict(mask=A.made_masks(4, 8)[0]), call=lambda mask: A.MaskedLinear(mask)),
    Case("autoregressive.MADE", lambda: dict(x=_bars()), call=lambda x: A.MADE(9, 16, dtype=F64).log_prob(x)),
    Case("autoregressive.FactorizedBernoulli", lambda: dict(x=_bars()),
         call=lambda x: A.FactorizedBernoulli(9, dtype=F64).log_prob(x)),
]
EXEMPT: dict = {}
