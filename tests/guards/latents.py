"""Bad-input cases for gencore.latents (chapter 2: multivariate and categorical latents)."""
from __future__ import annotations

import torch

from gencore import latents as L
from guards import Case

F64 = torch.float64


def _mvn():
    return dict(mu=torch.tensor([1.0, -0.5], dtype=F64), scale_tril=torch.tensor([[1.0, 0.0], [0.6, 0.4]], dtype=F64))


def _cat():
    return dict(logits=torch.tensor([0.5, -0.3, 0.1], dtype=F64), f_values=torch.tensor([1.0, 3.0, -2.0], dtype=F64))


def _g():
    return L.gumbel((5, 3), torch.zeros(3, dtype=F64), torch.Generator().manual_seed(0))


CASES = [
    Case("latents.reparameterize_mvn", lambda: dict(**_mvn(), eps=torch.randn(4, 2, dtype=F64))),
    Case("latents.quadratic_expectation", lambda: dict(**_mvn(), A=torch.tensor([[2.0, 0.5], [-0.3, 1.0]], dtype=F64))),
    # like only gives dtype and device: its values are never read, so NaN, inf, emptiness and rank are all fine
    Case("latents.gumbel", lambda: dict(shape=(4, 3), like=torch.zeros(3, dtype=F64)),
         accepts={"like": ("nan", "inf", "empty", "extra_dim")}),
    Case("latents.gumbel_max", lambda: dict(logits=_cat()["logits"], n=10), ranges={"n": (1, None)}),
    Case("latents.gumbel_softmax", lambda: dict(logits=_cat()["logits"], g=_g(), tau=0.5), ranges={"tau": (0, None)}),
    Case("latents.categorical_exact_grad", _cat),
    Case("latents.score_function_terms_categorical", lambda: dict(**_cat(), z=torch.tensor([0, 2, 1, 1]))),
    Case("latents.gumbel_softmax_terms", lambda: dict(**_cat(), g=_g(), tau=0.5), ranges={"tau": (0, None)}),
]

EXEMPT: dict[str, str] = {}
