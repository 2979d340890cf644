"""Bad-input cases for gencore.linear_gaussian (chapter 3's tractable model)."""
from __future__ import annotations

import torch

from guards import Case

F64 = torch.float64

CASES = [
    Case("linear_gaussian.LinearGaussian", lambda: {"W": torch.tensor([[1.5], [0.8]], dtype=F64),
                                                    "b": torch.tensor([0.5, -0.3], dtype=F64), "sigma": 0.5},
         ranges={"sigma": (0.0, None)}),
]

EXEMPT: dict = {}
