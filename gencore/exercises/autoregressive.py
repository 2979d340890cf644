"""The exercise checker of chapter 10 (autoregressive models): it says what is wrong, never the answer."""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..autoregressive import mixture_log_prob as reference
from . import Verdict, call_reader, float32_kept

__all__ = ["check_mixture_log_prob"]


def check_mixture_log_prob(mixture_log_prob: Callable) -> Verdict:
    r"""Check ``mixture_log_prob(y, logits, means, scales)``: :math:`\log \sum_k \pi_k \mathcal N(y; \mu_k, s_k^2)`.

    ``y`` is ``(N,)``; ``logits``, ``means``, ``scales`` are ``(N, K)``; the weights are
    :math:`\pi = \mathrm{softmax}(\text{logits})`. The answer must be ``(N,)``, finite even far from
    every component (log space), and keep the input dtype.
    """

    gen = torch.Generator().manual_seed(0)
    n, k = 7, 3
    logits = 2 * torch.randn(n, k, generator=gen, dtype=torch.float64)
    means = torch.randn(n, k, generator=gen, dtype=torch.float64)
    scales = 0.3 + torch.rand(n, k, generator=gen, dtype=torch.float64)
    y = torch.randn(n, generator=gen, dtype=torch.float64)
    y[-1] = 60.0  # far from every component: exp underflows, log space does not
    want = reference(y, logits, means, scales)
    got, err = call_reader(mixture_log_prob, y, logits, means, scales)
    if err:
        return Verdict(False, f"{err}.")
    if got.shape != want.shape:
        return Verdict(False, f"it returned shape {tuple(got.shape)}; one log-density per point is {tuple(want.shape)}.")
    got = got.to(want)
    near = slice(0, n - 1)
    if not torch.allclose(got[near], want[near], atol=1e-8):
        z = (y.unsqueeze(-1) - means) / scales
        log_n = -0.5 * z**2 - torch.log(scales) - 0.5 * math.log(2 * math.pi)
        guesses = [
            (torch.logsumexp(logits + log_n, -1), "the weights are not normalized: the raw logits are not "
                                                   "log pi_k (the pi_k must sum to one)."),
            (torch.logsumexp(torch.log_softmax(logits, -1) - 0.5 * z**2 - 0.5 * math.log(2 * math.pi), -1),
             "the Gaussian's normalizer is missing its dependence on the scale s_k."),
            ((torch.log_softmax(logits, -1) + log_n).sum(-1), "a mixture adds the weighted densities, not their "
                                                              "logs."),
            ((torch.softmax(logits, -1) * log_n).sum(-1), "that is the weighted average of the log-densities (a lower "
                                                          "bound, by Jensen), not the log of the mixture density."),
        ]
        for value, hint in guesses:
            if torch.allclose(got[near], value[near], atol=1e-8):
                return Verdict(False, hint)
        i = int((got[near] - want[near]).abs().argmax())
        return Verdict(False, f"at point {i} it gives {got[i].item():.6f}, which is not the mixture's "
                              "log-density.")
    if not torch.isfinite(got[-1]) or abs(got[-1].item() - want[-1].item()) > 1e-6:
        return Verdict(False, f"far from every component (y = 60) it gives {got[-1].item()}, which is wrong: "
                              "there every density underflows to 0, so compute in log space.")
    if (verdict := float32_kept(mixture_log_prob, y.float(), logits.float(), means.float(), scales.float())) is not None:
        return verdict
    return Verdict(True, "log_softmax for the weights, each Gaussian's log-density, and logsumexp over components: "
                         "finite even where every density underflows.")
