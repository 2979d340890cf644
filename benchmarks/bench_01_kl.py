"""Chapter 1's main trained model: the diagonal Gaussian fitted by maximum likelihood.

Rows: KL(p‖q_θ) in closed form next to the best any diagonal Gaussian can do (−½ log(1−ρ²)),
and sliced Wasserstein-2 between 10k model samples and 10k data samples next to the same
distance between two independent 10k data samples (the data-vs-data floor, mean and sd over 20
pairs with the same 512 projections: ``metrics.sliced_w2``'s fixed directions).
"""
from __future__ import annotations

import math

import torch

import gencore
from gencore import divergences as D
from gencore import metrics
from gencore.experiments import divergences as run


def quality() -> list[dict]:
    gen = gencore.generator(0)
    rho, mean, std = 0.8, torch.tensor([1.0, -1.0], dtype=torch.float64), torch.tensor([1.5, 0.7], dtype=torch.float64)
    cov = torch.outer(std, std) * torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
    p = torch.distributions.MultivariateNormal(mean, cov)
    chol = torch.linalg.cholesky(cov)

    def sample_p(n, g):  # x = mean + L eps, eps ~ N(0, I) from the generator
        return mean + torch.randn(n, 2, generator=g, dtype=torch.float64) @ chol.T

    model, _ = run.fit_diagonal_by_mle(sample_p(2000, gen), sample_p(20_000, gen), p, progress=False)
    with torch.no_grad():
        kl = D.kl_mvn(mean, cov, model.mu, model.covariance()).item()
        x = sample_p(10_000, gen)
        y = model.mu + model.sigma * torch.randn(10_000, 2, generator=gen, dtype=torch.float64)
        sw_model = metrics.sliced_w2(y, x, 512).item()  # the book's fixed 512 directions, also for the floor
        floor = metrics.floor_spread(lambda a, b: metrics.sliced_w2(a, b, 512), sample_p, 10_000, 20, gen)
    common = dict(model="diagonal Gaussian, MLE (300 Adam steps)", dataset="correlated Gaussian, rho=0.8")
    return [
        common | dict(metric="KL(p||q) nats", value=round(kl, 4), floor=round(-0.5 * math.log(1 - rho**2), 4)),
        common | dict(metric="sliced W2 (10k samples)", value=round(sw_model, 4), floor=round(floor.mean, 4),
                      floor_sd=round(floor.sd, 4), floor_repeats=floor.repeats),
    ]
