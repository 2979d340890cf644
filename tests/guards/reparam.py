"""Bad-input cases for gencore.reparam (chapter 2)."""
from __future__ import annotations

import torch

from gencore import reparam as R
from guards import Case

F64 = torch.float64


def _icdf():
    return R.inverse_cdf(R.double_well, -3.0, 3.0, resolution=101, dtype=F64)


def _sq(z):
    return z**2


CASES = [
    Case("reparam.InverseCDF", lambda: {"u": torch.rand(10, dtype=F64)}, call=lambda u: _icdf()(u),
         ranges={"u": (0.0, 1.0)},
         accepts={"u": ("extra_dim",)}),  # u of any shape: F^-1 acts entrywise
    Case("reparam.inverse_cdf", lambda: {"log_density": R.double_well, "lo": -3.0, "hi": 3.0, "resolution": 51},
         ranges={"resolution": (3, None)}),
    Case("reparam.double_well", lambda: {"x": torch.linspace(-2, 2, 7, dtype=F64), "depth": 2.0, "tilt": 0.5},
         accepts={"x": ("extra_dim",)}),  # elementwise: any shape
    Case("reparam.grid_sample_2d", lambda: {"log_prob": lambda x: -0.5 * (x**2).sum(-1), "extent": (-3, 3, -3, 3),
                                            "resolution": 20, "n": 10},
         ranges={"resolution": (2, None), "n": (1, None)}),
    Case("reparam.box_muller", lambda: {"u1": torch.rand(8, dtype=F64) * 0.9 + 0.05,
                                        "u2": torch.rand(8, dtype=F64)},
         ranges={"u1": (0.0, 1.0), "u2": (0.0, 1.0)}, pairs=(("u1", "u2"),)),
    Case("reparam.normal_box_muller", lambda: {"n": 7}, ranges={"n": (1, None)}),
    Case("reparam.reparameterize", lambda: {"mu": torch.zeros(3, dtype=F64), "sigma": torch.ones(3, dtype=F64),
                                            "eps": torch.randn(5, 3, dtype=F64)},
         ranges={"sigma": (0.0, None)},
         accepts={"eps": ("extra_dim",)}),  # eps of any batch shape that broadcasts with mu and sigma
    Case("reparam.pathwise_terms", lambda: {"f": _sq, "mu": 0.5, "sigma": 1.2, "eps": torch.randn(6, dtype=F64)},
         ranges={"sigma": (0.0, None)}, accepts={"eps": ("extra_dim",)}),  # S of any shape
    Case("reparam.score_function_terms", lambda: {"f": _sq, "mu": 0.5, "sigma": 1.2,
                                                  "eps": torch.randn(6, dtype=F64), "baseline": 1.0},
         ranges={"sigma": (0.0, None)}, accepts={"eps": ("extra_dim",)}),  # S of any shape
    Case("reparam.pathwise_grad", lambda: {"f": _sq, "mu": 0.5, "sigma": 1.2, "n": 10},
         ranges={"sigma": (0.0, None), "n": (1, None)}),
    Case("reparam.score_function_grad", lambda: {"f": _sq, "mu": 0.5, "sigma": 1.2, "n": 10},
         ranges={"sigma": (0.0, None), "n": (1, None)}),
    Case("reparam.bump", lambda: {"z": torch.linspace(-2, 2, 5, dtype=F64), "a": 0.0, "w": 0.3},
         ranges={"w": (0.0, None)},
         accepts={"z": ("extra_dim", "empty")}),  # elementwise: any shape, an empty batch gives an empty result
    Case("reparam.bump_expectation_grad", lambda: {"mu": 1.0, "sigma": 1.0, "a": 0.0, "w": 0.3},
         ranges={"sigma": (0.0, None), "w": (0.0, None)}),
    Case("reparam.exact_grad_quadrature", lambda: {"f": _sq, "mu": 1.0, "sigma": 1.0, "resolution": 101,
                                                   "width": 8.0},
         ranges={"sigma": (0.0, None), "resolution": (3, None), "width": (0.0, None)}),
    Case("reparam.banana_push", lambda: {"eps": torch.randn(6, 2, dtype=F64), "b": 0.5, "s": 0.5},
         ranges={"s": (0.0, None)},
         accepts={"eps": ("extra_dim",)}),  # (..., 2) of any batch shape; extra_dim makes the last dim 3: caught
    Case("reparam.banana_log_prob", lambda: {"x": torch.randn(6, 2, dtype=F64), "b": 0.5, "s": 0.5},
         ranges={"s": (0.0, None)}, accepts={"x": ("extra_dim",)}),
]

EXEMPT: dict = {}
