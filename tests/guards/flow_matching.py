"""Bad-input cases for gencore.flow_matching (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import diffusion as D
from gencore import flow_matching as F

from . import Case

F64 = torch.float64


def _x(n=4):
    return torch.linspace(-1, 1, 2 * n, dtype=F64).reshape(n, 2)


def _t(n=4):
    return torch.linspace(0.1, 0.9, n, dtype=F64)


CASES = [
    Case("flow_matching.conditional_path", lambda: dict(x0=_x(), x1=_x() + 1, t=_t(), sigma=0.1, noise=_x()),
         ranges={"t": (0.0, 1.0), "sigma": (0.0, None)}, pairs=(("x0", "x1", "t", "noise"),),
         accepts={"x0": ("extra_dim",), "x1": ("extra_dim",), "noise": ("extra_dim",)}),  # rank independent
    Case("flow_matching.cfm_loss", lambda: dict(velocity_fn=lambda x, t: x, x1=_x(), sigma=0.1),
         ranges={"sigma": (0.0, None)}, accepts={"x1": ("extra_dim",)}),  # rank independent
    Case("flow_matching.sample_ode", lambda: dict(velocity_fn=lambda x, t: -x, x=_x(), n_steps=4, method="rk45",
                                                  rtol=1e-3, atol=1e-3),
         ranges={"n_steps": (1, None), "rtol": (0.0, None), "atol": (0.0, None)},
         accepts={"x": ("extra_dim",), "rtol": ("below",), "atol": ("below",)}),
    # rank independent; rtol = atol = 0 is rejected but "below" draws tiny positive gaps of 0 - gap < 0: also rejected
    Case("flow_matching.divergence", lambda: dict(velocity_fn=lambda x, t: -x, x=_x(), t=_t()),
         ranges={"t": (0.0, 1.0)}, pairs=(("x", "t"),)),
    Case("flow_matching.ode_log_prob", lambda: dict(velocity_fn=lambda x, t: -x, x1=_x(), n_steps=4, method="midpoint"),
         ranges={"n_steps": (1, None)}),
    Case("flow_matching.gaussian_path_velocity",
         lambda: dict(x=_x(), mean=torch.zeros(2, dtype=F64), std=0.5, coefficients=F.ot_coefficients(_t())),
         ranges={"std": (0.0, None)}),
    Case("flow_matching.mixture_velocity",
         lambda: dict(x=_x(), means=torch.zeros(3, 2, dtype=F64), std=0.5,
                      weights=torch.tensor([0.2, 0.3, 0.5], dtype=F64), coefficients=F.ot_coefficients(_t())),
         ranges={"std": (0.0, None), "weights": (0.0, None)}, pairs=(("means", "weights"),)),
    Case("flow_matching.ot_coefficients", lambda: dict(t=_t()), ranges={"t": (0.0, 1.0)},
         accepts={"t": ("extra_dim", "empty")}),  # elementwise in t: any shape
    Case("flow_matching.vp_coefficients", lambda: dict(schedule=D.NoiseSchedule.linear(T=20), t=3),
         ranges={"t": (1, 20)}),
    Case("flow_matching.vp_path_coefficients", lambda: dict(t=_t(), beta_min=1e-4, beta_max=0.02, T=1000),
         ranges={"t": (0.0, 1.0), "beta_min": (0.0, 0.02), "beta_max": (1e-4, 1.0), "T": (1, None)},
         accepts={"t": ("extra_dim", "empty")}),  # elementwise in t: any shape
    Case("flow_matching.cfg_velocity", lambda: dict(model=lambda x, t, y: x, y=0, w=1.0), ranges={"w": (0.0, None)}),
    Case("flow_matching.classifier_guided_velocity",
         lambda: dict(velocity_fn=lambda x, t: x, log_prob_y=lambda x, t: x.sum(-1), scale=1.0, t_min=0.05),
         ranges={"scale": (0.0, None), "t_min": (0.0, None)}),
    Case("flow_matching.Classifier", lambda: dict(n_classes=3, dim=2, hidden=8, n_freq=4),
         ranges={"n_classes": (1, None), "dim": (1, None), "hidden": (1, None), "n_freq": (1, None)}),
]
EXEMPT = {}
