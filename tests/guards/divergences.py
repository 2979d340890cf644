"""Bad-input cases for gencore.divergences (chapter 1)."""
from __future__ import annotations

import torch

from gencore import divergences as D

from . import Case

F64 = torch.float64


def _probs():
    return dict(p=torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=F64), q=torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=F64))


def _normal(x):
    return torch.distributions.Normal(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64)).log_prob(x).sum(-1)


def _shifted(x):
    return torch.distributions.Normal(torch.tensor(0.5, dtype=F64), torch.tensor(2.0, dtype=F64)).log_prob(x).sum(-1)


_XS = torch.linspace(-6, 6, 101, dtype=F64)
SIGMAS = {"sigma_p": (0, None), "sigma_q": (0, None)}

CASES = [
    Case("divergences.entropy", lambda: dict(p=_probs()["p"])),
    Case("divergences.cross_entropy", _probs, pairs=(("p", "q"),)),
    Case("divergences.kl_divergence", _probs, pairs=(("p", "q"),)),
    Case("divergences.js_divergence", _probs, pairs=(("p", "q"),)),
    # Gaussian parameters broadcast like torch arithmetic: an extra dimension is a batch, not an error
    Case("divergences.kl_normal",
         lambda: dict(mu_p=torch.zeros(3, dtype=F64), sigma_p=torch.ones(3, dtype=F64),
                      mu_q=torch.full((3,), 0.5, dtype=F64), sigma_q=torch.full((3,), 2.0, dtype=F64)),
         ranges=SIGMAS, pairs=(("mu_p", "sigma_p", "mu_q", "sigma_q"),),
         accepts={k: ("extra_dim",) for k in ("mu_p", "sigma_p", "mu_q", "sigma_q")}),
    Case("divergences.kl_mvn",
         lambda: dict(mu_p=torch.zeros(2, dtype=F64), cov_p=torch.eye(2, dtype=F64),
                      mu_q=torch.ones(2, dtype=F64), cov_q=2 * torch.eye(2, dtype=F64)),
         pairs=(("mu_p", "cov_p", "mu_q", "cov_q"),)),
    Case("divergences.f_divergence", lambda: dict(**_probs(), f="js"), pairs=(("p", "q"),)),
    Case("divergences.factorized_fit",
         lambda: dict(cov=torch.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=F64), direction="reverse"),
         accepts={"cov": ("extra_dim",)}),  # a batch of covariances is allowed
    Case("divergences.kl_monte_carlo",
         lambda: dict(log_p=_normal, log_q=_shifted,
                      x=torch.randn(20, 1, generator=torch.Generator().manual_seed(0), dtype=F64))),
    Case("divergences.bimodal", lambda: dict(separation=2.0, std=1.0, weight=0.5),
         ranges={"separation": (0, None), "std": (0, None), "weight": (0, 1)}),
    # log-densities: -inf is a zero density (allowed); NaN and +inf are rejected (tests/test_divergences.py)
    Case("divergences.kl_quadrature_1d",
         lambda: dict(log_p=D.bimodal(2.0).log_prob(_XS), log_q=D.bimodal(1.0).log_prob(_XS), dx=0.12),
         ranges={"dx": (0, None)}, pairs=(("log_p", "log_q"),), accepts={"log_p": ("inf",), "log_q": ("inf",)}),
    Case("divergences.fit_normal_1d",
         lambda: dict(log_p=D.bimodal(2.0).log_prob(_XS)[None], xs=_XS, direction="forward", mu0=0.0,
                      sigma0=1.0, steps=2, lr=0.05),
         ranges={"steps": (1, None), "lr": (0, None), "sigma0": (0, None)}, accepts={"log_p": ("inf",)}),
    Case("divergences.DiagonalNormal", lambda: dict(dim=2), ranges={"dim": (1, None)}),
    Case("divergences.DiagonalNormal.log_prob", lambda: dict(x=torch.zeros(4, 2, dtype=F64)),
         call=lambda x: D.DiagonalNormal(2, dtype=F64).log_prob(x)),
]

EXEMPT: dict[str, str] = {}
