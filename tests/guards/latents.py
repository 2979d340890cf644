"""Bad-input cases for gencore.latents (chapter 2: multivariate and categorical latents)."""
from __future__ import annotations

import torch

from gencore import latents as L
from guards import Case

F64 = torch.float64


def _mvn():
    return dict(mu=torch.tensor([1.0, -0.5], dtype=F64), scale_tril=torch.tensor([[1.0, 0.0], [0.6, 0.4]], dtype=F64))


CASES = [
    Case("latents.reparameterize_mvn", lambda: dict(**_mvn(), eps=torch.randn(4, 2, dtype=F64))),
    Case("latents.quadratic_expectation", lambda: dict(**_mvn(), A=torch.tensor([[2.0, 0.5], [-0.3, 1.0]], dtype=F64))),
]

EXEMPT: dict[str, str] = {}
