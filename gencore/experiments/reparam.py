"""Chapter 2's experiments: repeated gradient estimates, their variance against the sample count
and against the peakedness of the test function.

Book: ``book/02_reparameterization.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import reparam as R
from ..tensors import in_range, one_of, positive_int

__all__ = ["ESTIMATORS", "estimator_stats", "VarianceStudy", "variance_study", "peakedness_study"]

ESTIMATORS = ("pathwise", "score", "score+baseline")


def estimator_stats(estimator: str, f, mu: float, sigma: float, n: int, repeats: int = 2000,
                    generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                    device: torch.device | str | None = None):
    r"""Mean and variance over ``repeats`` independent estimates, each from ``n`` samples.

    Args:
        estimator: ``"pathwise"``, ``"score"`` or ``"score+baseline"`` (leave-one-out mean).
        f: elementwise; mu, sigma: numbers; n: samples per estimate.
        device: where the estimates are computed (the noise comes from ``generator``, then moves there).

    Returns:
        ``(estimates, mean, variance)``: ``(repeats, 2)``, ``(2,)``, ``(2,)``.
    """
    one_of("estimator", estimator, ESTIMATORS)
    positive_int("repeats", repeats, minimum=2)
    mu_r = torch.full((repeats,), float(in_range("mu", mu)), dtype=dtype, device=device)
    if estimator == "pathwise":
        g = R.pathwise_grad(f, mu_r, sigma, n, generator=generator)
    else:
        baseline = "mean" if estimator == "score+baseline" else None
        g = R.score_function_grad(f, mu_r, sigma, n, baseline=baseline, generator=generator)
    g = g.T  # (repeats, 2)
    return g, g.mean(0), g.var(0)


@dataclass(frozen=True)
class VarianceStudy:
    """Repeated gradient estimates for each test function, sample count and estimator.

    Attributes:
        mu, sigma: where the gradient is taken.
        ns: sample counts.
        names: test-function names (keys of ``exact`` and ``estimates``).
        exact: name -> ``(2,)`` exact gradient.
        estimates: name -> estimator -> ``(len(ns), repeats, 2)`` estimates.
    """

    mu: float
    sigma: float
    ns: tuple
    names: tuple
    exact: dict
    estimates: dict

    def variance(self, name: str, estimator: str) -> torch.Tensor:
        """``(len(ns), 2)`` variance across repeats."""
        return self.estimates[name][estimator].var(1)

    def slope(self, name: str, estimator: str) -> float:
        """Least-squares slope of log variance (of the ∂/∂μ estimate) against log n; -1 means c/n."""
        logv = self.variance(name, estimator)[:, 0].log().to(torch.float64)[:, None]
        logn = torch.log(torch.tensor(self.ns, dtype=torch.float64, device=logv.device))
        design = torch.stack([logn, torch.ones_like(logn)], 1)
        return torch.linalg.lstsq(design, logv).solution[0, 0].item()


def _test_functions(width: float = 0.3):
    return {
        "f(z) = z²": (lambda z: z**2, None),
        f"bump, w = {width:g}": (lambda z: R.bump(z, 0.0, width), width),
    }


def variance_study(mu: float = 1.0, sigma: float = 1.0, ns=(2, 5, 10, 30, 100, 300, 1000),
                   repeats: int = 1000, width: float = 0.3, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None) -> VarianceStudy:
    """Every estimator, ``repeats`` times at each n, for f(z) = z² and a bump of width ``width`` centred at 0."""
    exact, estimates = {}, {}
    for name, (f, w) in _test_functions(width).items():
        if w is None:
            exact[name] = torch.tensor([2 * mu, 2 * sigma], dtype=torch.float64, device=device)
        else:
            exact[name] = R.bump_expectation_grad(torch.tensor(mu, dtype=torch.float64, device=device), sigma, 0.0, w)[1]
        estimates[name] = {est: torch.stack([estimator_stats(est, f, mu, sigma, n, repeats, generator, device=device)[0]
                                             for n in ns]) for est in ESTIMATORS}
    return VarianceStudy(mu, sigma, tuple(ns), tuple(exact), exact, estimates)


def peakedness_study(widths=None, mu: float = 1.0, sigma: float = 1.0, n: int = 100, repeats: int = 1000,
                     generator: torch.Generator | None = None, device: torch.device | str | None = None) -> dict:
    """Relative variance Var[ĝ_μ]/(∂_μ E)² at ``n`` samples, for bumps of each width, per estimator (on ``device``)."""
    widths = torch.logspace(math.log10(0.05), math.log10(3.0), 10, dtype=torch.float64) if widths is None else widths
    rel = {est: [] for est in ESTIMATORS}
    for w in widths.tolist():
        exact = R.bump_expectation_grad(torch.tensor(mu, dtype=torch.float64, device=device), sigma, 0.0, w)[1][0]
        for est in ESTIMATORS:
            _, _, var = estimator_stats(est, lambda z: R.bump(z, 0.0, w), mu, sigma, n, repeats, generator, device=device)
            rel[est].append(float(var[0] / exact**2))
    return {"widths": widths, "n": n, "relative_variance": {k: torch.tensor(v, dtype=torch.float64) for k, v in rel.items()}}


