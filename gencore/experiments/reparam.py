"""Chapter 2's experiments: repeated gradient estimates, their variance against the sample count
and against the peakedness of the test function.

Book: ``book/02_reparameterization.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import latents as L
from .. import reparam as R
from ..tensors import in_range, one_of, positive_int

__all__ = ["ESTIMATORS", "estimator_stats", "VarianceStudy", "variance_study", "peakedness_study",
           "CategoricalStudy", "categorical_study"]

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


@dataclass(frozen=True)
class CategoricalStudy:
    """Gradient estimators for a categorical latent, measured against the exact gradient.

    Attributes:
        logits, f_values, pi, exact: ``(K,)`` θ, f(k), softmax θ and the exact gradient (by enumeration).
        n: the number of Gumbel draws (the same draws serve every estimator and the frequency check).
        freq: ``(K,)`` the Gumbel-max sample's frequencies; chi2, chi2_pvalue: Pearson's test against π.
        taus: the Gumbel-softmax temperatures.
        mean, var: ``{"score": (K,), "score+baseline": (K,), "gumbel-softmax": (T, K)}`` the per-sample
            terms' means and variances; the baseline is the constant b = E[f(z)] = πᵀf.
    """

    logits: torch.Tensor
    f_values: torch.Tensor
    pi: torch.Tensor
    exact: torch.Tensor
    n: int
    freq: torch.Tensor
    chi2: float
    chi2_pvalue: float
    taus: tuple
    mean: dict
    var: dict

    def bias(self, name: str) -> torch.Tensor:
        """‖E[term] − exact‖ as measured: a number for the score functions, ``(T,)`` for ``"gumbel-softmax"``."""
        return (self.mean[name] - self.exact).norm(dim=-1)

    def bias_se(self, name: str) -> torch.Tensor:
        """The Monte Carlo standard error of the measured mean, as a norm over the K coordinates."""
        return (self.var[name].sum(-1) / self.n).sqrt()

    def variance(self, name: str) -> torch.Tensor:
        """The per-sample variance, summed over the K coordinates (an n-sample average has 1/n of it)."""
        return self.var[name].sum(-1)


def categorical_study(logits: torch.Tensor, f_values: torch.Tensor, taus=(2.0, 1.0, 0.5, 0.25, 0.1, 0.05),
                      n: int = 100_000, generator: torch.Generator | None = None) -> CategoricalStudy:
    """Gumbel-max frequencies, and the bias and variance of the score-function and Gumbel-softmax gradients.

    One set of ``n`` Gumbel vectors g gives the Gumbel-max sample (argmax θ + g), the
    score-function terms at those categories, and the Gumbel-softmax terms at every temperature.
    """
    g = L.gumbel((n, logits.shape[0]), logits, generator)
    z = (logits + g).argmax(-1)
    pi = torch.softmax(logits, -1)
    counts = torch.bincount(z, minlength=logits.shape[0]).to(pi)
    chi2 = ((counts - n * pi) ** 2 / (n * pi)).sum()
    pvalue = torch.special.gammaincc(torch.tensor((logits.shape[0] - 1) / 2, dtype=pi.dtype), chi2.cpu() / 2)
    sf = L.score_function_terms_categorical(logits, f_values, z)
    sf_b = L.score_function_terms_categorical(logits, f_values - pi @ f_values, z)  # (f(z) − b)(e_z − π)
    gs = torch.stack([L.gumbel_softmax_terms(logits, f_values, g, tau) for tau in taus])
    return CategoricalStudy(logits=logits, f_values=f_values, pi=pi, exact=L.categorical_exact_grad(logits, f_values),
                            n=n, freq=counts / n, chi2=float(chi2), chi2_pvalue=float(pvalue), taus=tuple(taus),
                            mean={"score": sf.mean(0), "score+baseline": sf_b.mean(0), "gumbel-softmax": gs.mean(1)},
                            var={"score": sf.var(0), "score+baseline": sf_b.var(0), "gumbel-softmax": gs.var(1)})
