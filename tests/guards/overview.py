"""Bad-input cases for gencore.overview (chapter 0)."""
from __future__ import annotations

import torch

from gencore import overview as O

from . import Case

F64 = torch.float64


def _model():
    return O.ClassGaussians(torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=F64),
                            torch.tensor([[[0.5, 0.1], [0.1, 0.4]], [[0.3, 0.0], [0.0, 0.6]]], dtype=F64),
                            torch.tensor([0.4, 0.6], dtype=F64))


def _labelled():
    g = torch.Generator().manual_seed(0)
    return dict(x=torch.randn(20, 2, generator=g, dtype=F64), y=torch.arange(20) % 2)


CASES = [
    # elementwise: any rank is fine, so an extra dimension is not an error
    Case("overview.conditional_mean", lambda: dict(x=torch.rand(5, 1, dtype=F64)), accepts={"x": ("extra_dim",)}),
    Case("overview.bimodal_regression_data", lambda: dict(n=10, separation=1.0, noise=0.05),
         ranges={"n": (1, None), "separation": (0, None), "noise": (0, None)}),
    Case("overview.mse_decomposition",
         lambda: dict(y=torch.rand(50, 2, dtype=F64), c=torch.tensor([0.3, -0.2], dtype=F64))),
    Case("overview.mode_average",
         lambda: dict(modes=torch.tensor([[-1.0, 0.0], [1.0, 2.0], [0.0, 1.0]], dtype=F64),
                      weights=torch.tensor([0.25, 0.5, 0.25], dtype=F64)),
         pairs=(("modes", "weights"),)),
    Case("overview.fit_mse_predictors",
         lambda: dict(x=torch.rand(2, 8, 1, dtype=F64), y=torch.rand(2, 8, 1, dtype=F64), steps=2, hidden=4,
                      lr=1e-2, progress=False),
         ranges={"steps": (1, None), "hidden": (1, None), "lr": (0, None)}, pairs=(("x", "y"),)),
    Case("overview.distances_to_mean_and_branches",
         lambda: dict(fits=torch.rand(3, 5, dtype=F64), x=torch.linspace(-1, 1, 5, dtype=F64),
                      separations=torch.tensor([0.0, 1.0, 2.0], dtype=F64)),
         ranges={"separations": (0, None)}, pairs=(("fits", "separations"),)),
    Case("overview.spiral_curve", lambda: dict(n=10, noise=0.1), ranges={"n": (1, None), "noise": (0, None)}),
    Case("overview.local_pca_ratio",
         lambda: dict(x=torch.randn(30, 2, generator=torch.Generator().manual_seed(0), dtype=F64), k=5),
         ranges={"k": (2, 30)}),
    Case("overview.ClassGaussians",
         lambda: dict(means=_model().means, covs=_model().covs, priors=_model().priors),
         pairs=(("means", "covs", "priors"),)),
    Case("overview.fit_class_gaussians", _labelled, pairs=(("x", "y"),)),
    Case("overview.class_posterior", lambda: dict(model=_model(), x=torch.rand(10, 2, dtype=F64))),
    Case("overview.sample_class_gaussians", lambda: dict(model=_model(), n=5), ranges={"n": (1, None)}),
    Case("overview.fit_discriminative",
         lambda: dict(x=torch.rand(2, 8, 2, dtype=F64), y=torch.arange(16).reshape(2, 8) % 2, n_classes=2, hidden=4,
                      steps=2, lr=1e-2, progress=False),
         ranges={"n_classes": (2, None), "hidden": (1, None), "steps": (1, None), "lr": (0, None)},
         pairs=(("x", "y"),)),
    Case("overview.bayes_error", lambda: dict(log_joint=_model().log_joint, extent=(-4.0, 4.0, -4.0, 4.0),
                                              resolution=20),
         ranges={"resolution": (2, None)}),
]

EXEMPT: dict[str, str] = {}
