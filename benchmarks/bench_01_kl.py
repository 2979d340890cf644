"""Chapter 1's main trained model: the diagonal Gaussian fitted by maximum likelihood.

Rows: KL(p‖q_θ) in closed form next to the best any diagonal Gaussian can do (−½ log(1−ρ²)),
and sliced Wasserstein-2 between 10k model samples and 10k data samples next to the same
distance between two independent 10k data samples (the data-vs-data floor, mean and sd over 20
pairs with the same 512 projections).
"""
from __future__ import annotations

import math

import torch

from gencore import divergences as D
from gencore import metrics
from gencore.experiments import divergences as run


def quality() -> list[dict]:
    torch.manual_seed(0)
    rho, mean, std = 0.8, torch.tensor([1.0, -1.0], dtype=torch.float64), torch.tensor([1.5, 0.7], dtype=torch.float64)
    cov = torch.outer(std, std) * torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
    p = torch.distributions.MultivariateNormal(mean, cov)
    model, _ = run.fit_diagonal_by_mle(p.sample((2000,)), p.sample((20_000,)), p, progress=False)
    with torch.no_grad():
        kl = D.kl_mvn(mean, cov, model.mu, model.covariance()).item()
        q = torch.distributions.Normal(model.mu, model.sigma)
        def sw(a, b):  # the same 512 directions for the model and every floor pair
            return metrics.sliced_wasserstein(a, b, 512, generator=torch.Generator().manual_seed(1))

        x, y = p.sample((10_000,)), q.sample((10_000,))
        sw_model = sw(y, x).item()
        floor = metrics.floor_spread(sw, lambda n, g: p.sample((n,)), 10_000, 20)
    common = dict(model="diagonal Gaussian, MLE (300 Adam steps)", dataset="correlated Gaussian, rho=0.8")
    return [
        common | dict(metric="KL(p||q) nats", value=round(kl, 4), floor=round(-0.5 * math.log(1 - rho**2), 4)),
        common | dict(metric="sliced W2 (10k samples)", value=round(sw_model, 4), floor=round(floor.mean, 4),
                      floor_sd=round(floor.sd, 4), floor_repeats=floor.repeats),
    ]
