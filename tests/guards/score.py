"""Bad-input cases for gencore.score (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import score as S
from gencore.data import GaussianMixture

from . import Case

F64 = torch.float64


def _x(n=8):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=F64)


def _mix():
    return GaussianMixture(torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=F64), 0.5)


def _gauss():
    return S.gaussian_score(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))


def _cond(x, sigma):
    return -x / (1 + sigma[:, None] ** 2)


CASES = [
    Case("score.gaussian_score", lambda: dict(mean=torch.zeros(2, dtype=F64), cov=torch.eye(2, dtype=F64)),
         accepts={"cov": ("empty",)}),  # an empty cov is caught as a shape mismatch with mean; listed below
    Case("score.score_of", lambda: dict(x=_x()), call=lambda x: S.score_of(_mix().log_prob)(x),
         accepts={"x": ("nan", "inf", "int", "empty", "extra_dim")}),  # a score function: autograd of log_prob, no checks of its own
    Case("score.mixture_score", lambda: dict(mixture=_mix(), x=_x()), call=lambda mixture, x: S.mixture_score(mixture)(x),
         accepts={"x": ("nan", "inf", "int", "empty", "extra_dim")}),  # the returned score is a closed form evaluated as is
    Case("score.fisher_divergence", lambda: dict(x=_x()), call=lambda x: S.fisher_divergence(_gauss(), _gauss(), x)),
    Case("score.fisher_divergence_on_grid", lambda: dict(resolution=20),
         call=lambda resolution: S.fisher_divergence_on_grid(_mix().log_prob, _gauss(), _gauss(), (-4, 4, -4, 4), resolution),
         ranges={"resolution": (1, None)}),
    Case("score.jacobian_trace", lambda: dict(x=_x().requires_grad_(True)),
         call=lambda x: S.jacobian_trace(x.detach().requires_grad_(x.is_floating_point()) * 2, x)),
    Case("score.implicit_score_matching_loss", lambda: dict(x=_x(), weights=torch.full((8,), 0.125, dtype=F64)),
         call=lambda x, weights: S.implicit_score_matching_loss(_gauss(), x, weights=weights), pairs=(("x", "weights"),)),
    Case("score.sliced_score_matching_loss", lambda: dict(x=_x(), n_projections=2),
         call=lambda x, n_projections: S.sliced_score_matching_loss(_gauss(), x, n_projections),
         ranges={"n_projections": (1, None)}),
    Case("score.denoising_score_matching_loss", lambda: dict(x=_x(), sigma=0.5),
         call=lambda x, sigma: S.denoising_score_matching_loss(_gauss(), x, sigma), ranges={"sigma": (1e-9, None)}),
    Case("score.noise_conditional_dsm_loss", lambda: dict(x=_x(), sigmas=torch.tensor([1.0, 0.5], dtype=F64)),
         call=lambda x, sigmas: S.noise_conditional_dsm_loss(_cond, x, sigmas), ranges={"sigmas": (1e-9, None)}),
    Case("score.noised_mixture", lambda: dict(mixture=_mix(), sigma=0.5, scale=1.0),
         ranges={"sigma": (0.0, None), "scale": (1e-9, None)}),
    Case("score.posterior_mean", lambda: dict(mixture=_mix(), xt=_x(), alpha_bar=0.5),
         ranges={"alpha_bar": (1e-9, 1.0)}),
    Case("score.mode_share", lambda: dict(x=_x(), means=torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=F64))),
    Case("score.ScoreNet", lambda: dict(x=_x(), sigma=torch.full((8,), 0.5, dtype=F64)),
         call=lambda x, sigma: S.ScoreNet(2, 8, conditional=True).double()(x, sigma),
         accepts={"x": ("nan", "inf")}),  # a network: NaN in, NaN out, like any torch module
]
EXEMPT: dict = {}
