"""Bad-input cases for gencore.diffusion (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import data
from gencore import diffusion as D

from . import Case

S = D.NoiseSchedule.linear(T=20)
F64 = torch.float64


def _x(n=4):
    return torch.linspace(-1, 1, 2 * n, dtype=F64).reshape(n, 2)


def _mix():
    return data.GaussianMixture(torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=F64), 0.3)


CASES = [
    Case("diffusion.NoiseSchedule", lambda: dict(betas=torch.full((5,), 0.1, dtype=F64)),
         call=lambda betas: D.NoiseSchedule.from_betas(betas), ranges={"betas": (0.0, 1.0)},
         accepts={"betas": ("int", "extra_dim")}),  # an integer or 2D sequence is rejected as "not in (0, 1)"/"1D"
    Case("diffusion.q_step", lambda: dict(schedule=S, x_prev=_x(), t=3, noise=_x()),
         ranges={"t": (1, 20)}, pairs=(("x_prev", "noise"),),
         accepts={"x_prev": ("extra_dim",), "noise": ("extra_dim",)}),  # rank independent: (N, ...) of any rank
    Case("diffusion.q_sample", lambda: dict(schedule=S, x0=_x(), t=3, noise=_x()),
         ranges={"t": (0, 20)}, pairs=(("x0", "noise"),),
         accepts={"x0": ("extra_dim",), "noise": ("extra_dim",)}),  # rank independent
    Case("diffusion.posterior", lambda: dict(schedule=S, x0=_x(), xt=_x(), t=3),
         ranges={"t": (1, 20)}, pairs=(("x0", "xt"),),
         accepts={"x0": ("extra_dim",), "xt": ("extra_dim",)}),  # rank independent
    Case("diffusion.predict_x0", lambda: dict(schedule=S, eps=_x(), xt=_x(), t=3), ranges={"t": (1, 20)},
         pairs=(("eps", "xt"),), accepts={"eps": ("extra_dim",), "xt": ("extra_dim",)}),  # rank independent
    Case("diffusion.vlb_weight", lambda: dict(schedule=S, t=2), ranges={"t": (1, 20)}),
    Case("diffusion.simple_loss", lambda: dict(model=lambda x, t: x, schedule=S, x0=_x()),
         accepts={"x0": ("extra_dim",)}),  # rank independent
    Case("diffusion.ddpm_step", lambda: dict(schedule=S, eps=_x(), t=3, xt=_x(), noise=_x()),
         ranges={"t": (1, 20)}, pairs=(("eps", "xt", "noise"),),
         accepts={"eps": ("extra_dim",), "xt": ("extra_dim",), "noise": ("extra_dim",)}),  # rank independent
    Case("diffusion.ddim_sigma", lambda: dict(schedule=S, t=5, t_prev=2, eta=0.5),
         ranges={"t": (1, 20), "t_prev": (0, 4), "eta": (0.0, None)}),
    Case("diffusion.ddim_coefficients", lambda: dict(schedule=S, t=5, t_prev=2, sigma=0.01),
         ranges={"t": (1, 20), "t_prev": (0, 4), "sigma": (0.0, 0.1)}),
    Case("diffusion.ddim_step", lambda: dict(schedule=S, eps=_x(), t=5, t_prev=2, xt=_x(), eta=0.5, noise=_x()),
         ranges={"t": (1, 20), "t_prev": (0, 4), "eta": (0.0, None)}, pairs=(("eps", "xt", "noise"),),
         accepts={"eps": ("extra_dim",), "xt": ("extra_dim",), "noise": ("extra_dim",)}),  # rank independent
    Case("diffusion.ddim_timesteps", lambda: dict(T=20, steps=5), ranges={"T": (5, None), "steps": (1, 20)}),
    Case("diffusion.sample", lambda: dict(model=lambda x, t: 0 * x, schedule=S, xT=_x(), steps=5),
         ranges={"steps": (1, 20)}, accepts={"xT": ("extra_dim",)}),  # rank independent
    Case("diffusion.diffused_mixture", lambda: dict(data=_mix(), alpha_bar=0.5, extra_var=0.0),
         ranges={"alpha_bar": (0.0, 1.0), "extra_var": (0.0, None)}),
    Case("diffusion.marginal", lambda: dict(schedule=S, data=_mix(), t=3, extra_var=0.0),
         ranges={"t": (0, 20), "extra_var": (0.0, None)}),
    Case("diffusion.mixture_parts", lambda: dict(data=_mix()), only=()),
    Case("diffusion.check_steps", lambda: dict(name="t", t=2, T=20, n=2), ranges={"t": (1, 20)}),
]
EXEMPT = {}
