"""Bad-input cases for gencore.tensors (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import tensors
from guards import Case

F64 = torch.float64

CASES = [
    Case("tensors.per_sample", lambda: dict(v=torch.rand(4, dtype=F64), x=torch.zeros(4, 3, 2, 2, dtype=F64)),
         only=("v",), accepts={"v": ("nan", "inf", "int")}),  # a per-sample value is broadcast as it is: NaN stays NaN
    Case("tensors.inv_softplus", lambda: dict(y=torch.rand(5, dtype=F64) + 0.1), ranges={"y": (0, None)},
         accepts={"y": ("int", "empty", "extra_dim")}),  # elementwise on any shape; ints are promoted
]
EXEMPT = {
    **{name: "a validator: it is the door's guard itself, tested in tests/test_tensors.py" for name in (
        "validate", "positive", "positive_int", "in_range", "same_length", "probability_vector", "event_2d",
        "extent_box", "one_of", "positive_number", "function", "call_like", "log_density")},
    "noise": "takes a shape and a tensor whose dtype and device only are read (no values to spoil)",
    "uniform": "takes a shape and a tensor whose dtype and device only are read (no values to spoil)",
    "rng_device": "reads the device of a generator or a tensor (no values to spoil)",
}
