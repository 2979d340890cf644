"""The exercise checker of chapter 2 (reparameterization): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from . import Verdict, call_reader, float32_kept

__all__ = ["check_score_function"]


def check_score_function(score_function_estimate: Callable) -> Verdict:
    r"""Check a score-function estimate of :math:`\nabla_{\mu,\sigma}\mathbb{E}_{\mathcal N(\mu,\sigma^2)}[f(z)]`.

    The reader writes ``score_function_estimate(fz, eps, sigma)``: given ``f`` evaluated at the
    ``n`` points :math:`z_i = \mu + \sigma\varepsilon_i` (``fz``, shape ``(n,)``), the noise
    ``eps`` (``(n,)``) and ``sigma``, it returns the ``(2,)`` estimate, no baseline:
    :math:`\frac1n\sum_i f(z_i)\,\big(\varepsilon_i/\sigma,\ (\varepsilon_i^2 - 1)/\sigma\big)`.
    """
    g = torch.Generator().manual_seed(2)
    eps = torch.randn(64, generator=g, dtype=torch.float64)
    sigma = torch.tensor(1.7, dtype=torch.float64)
    fz = (0.4 + sigma * eps) ** 2 + 1.0

    def reference(fz, eps, sigma):
        return torch.stack([(fz * eps / sigma).mean(), (fz * (eps**2 - 1) / sigma).mean()])

    out, err = call_reader(score_function_estimate, fz, eps, sigma)
    if err:
        return Verdict(False, err + ".")
    want = reference(fz, eps, sigma)
    if out.shape != (2,):
        if out.numel() == 2 * eps.numel():
            return Verdict(False, f"it returned shape {tuple(out.shape)}: one term per sample. Average the "
                                  "per-sample terms over the n samples to get the (2,) estimate.")
        return Verdict(False, f"it should return shape (2,) (d/dmu, d/dsigma); got {tuple(out.shape)}.")
    out = out.to(want)
    close = lambda a, b: bool(torch.allclose(a, b, rtol=1e-6, atol=1e-9))  # noqa: E731
    if close(out, want):
        pass
    elif close(out, want * eps.numel()):
        return Verdict(False, "your values are n times too large: take the mean over samples, not the sum.")
    elif close(out, -want):
        return Verdict(False, "the sign is flipped: compare with the score-function identity of the chapter.")
    elif close(out, want.flip(0)):
        return Verdict(False, "the two entries are swapped: return (d/dmu, d/dsigma) in that order.")
    elif close(out, want * sigma):
        return Verdict(False, "both entries are sigma times too large: check the power of sigma in each score, "
                              "remembering that z - mu = sigma * eps.")
    elif close(out, want / sigma):
        return Verdict(False, "both entries are sigma times too small: check the power of sigma in each score, "
                              "remembering that z - mu = sigma * eps.")
    elif close(out[0], want[0]) and close(out[1], want[1] + fz.mean() / sigma):
        return Verdict(False, "d/dmu is right, but the d/dsigma entry misses the part of the score in sigma "
                              "that comes from the normalizing factor 1/sigma of the Gaussian density.")
    elif close(out[0], want[0]):
        return Verdict(False, f"d/dmu is right, but d/dsigma ({out[1].item():.5f}) is not: differentiate "
                              "log N(z; mu, sigma^2) in sigma again.")
    else:
        return Verdict(False, f"it returned {out.tolist()}, which is not the score-function estimate: each "
                              "entry averages f(z) times the score of q in that parameter.")
    if (verdict := float32_kept(score_function_estimate, fz.float(), eps.float(),
                                 sigma.float())) is not None:
        return verdict
    return Verdict(True, "Your score-function estimate matches: f(z) times the score (eps / sigma, "
                         "(eps^2 - 1) / sigma), averaged over the samples.")
