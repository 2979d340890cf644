"""Chapter 2's "main model" is not a trained network but the two gradient estimators themselves.

What matters about an estimator of the gradient of E_{N(mu, sigma^2)}[f(z)] is (a) that it is
unbiased and (b) how noisy it is at a given sample count; an optimisation run would only show
(b) indirectly, blurred by step sizes and stopping rules. So the rows compare the estimators
directly, at mu = 1, sigma = 1, n = 100 samples per estimate, over 2000 independent estimates,
on the chapter's two test functions (the smooth f(z) = z^2 and a narrow Gaussian bump of width
w = 0.3, where the order of the estimators reverses):

* ``d/dmu mean of 2000 estimates``: the average estimate, with the exact gradient (closed form)
  in the ``floor`` column -- the two should agree within a few standard errors
  (standard error = sqrt(variance / 2000));
* ``d/dmu variance (n=100)``: the variance of one estimate; ``floor`` holds the smallest
  variance among the three estimators for that f, so the best one shows value == floor.
"""
from __future__ import annotations

import torch

import gencore
from gencore import reparam as R
from gencore.experiments import reparam as run


def quality() -> list[dict]:
    gen = gencore.generator(0)
    mu, sigma, n, repeats = 1.0, 1.0, 100, 2000
    cases = {
        "f(z) = z^2": (lambda z: z**2, 2 * mu),
        "bump w=0.3": (lambda z: R.bump(z, 0.0, 0.3),
                       R.bump_expectation_grad(torch.tensor(mu, dtype=torch.float64), sigma, 0.0, 0.3)[1][0].item()),
    }
    rows = []
    for dataset, (f, exact) in cases.items():
        stats = {est: run.estimator_stats(est, f, mu, sigma, n, repeats, generator=gen) for est in run.ESTIMATORS}
        best = min(s[2][0].item() for s in stats.values())
        for est, (_, mean, var) in stats.items():
            model = f"{est} estimator, N(1, 1)"
            rows.append(dict(model=model, dataset=dataset, metric=f"d/dmu mean of {repeats} estimates",
                             value=round(mean[0].item(), 4), floor=round(exact, 4)))
            rows.append(dict(model=model, dataset=dataset, metric=f"d/dmu variance (n={n})",
                             value=float(f"{var[0].item():.3g}"), floor=float(f"{best:.3g}")))
    return rows
