"""The exercise checker of chapter 3 (VAE): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from . import Verdict, call_reader, float32_kept

__all__ = ["check_kl_standard_normal"]


def check_kl_standard_normal(kl_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Verdict:
    r"""Check :math:`\mathrm{KL}(\mathcal N(\mu, \operatorname{diag} e^{v})\,\|\,\mathcal N(0, I))` from ``(mu, log_var)``.

    The expected answer is :math:`\tfrac12\sum_k (\mu_k^2 + e^{v_k} - v_k - 1)`, summed over the
    last dimension only (one value per example), with ``log_var`` :math:`= v = \log\sigma^2`.
    """
    mu = torch.tensor([[0.5, -1.0, 0.0], [2.0, 0.3, -0.7]], dtype=torch.float64)
    log_var = torch.tensor([[0.0, -1.0, 0.8], [-2.0, 0.5, 1.2]], dtype=torch.float64)

    def ref(m, v):
        return 0.5 * (m**2 + v.exp() - v - 1).sum(-1)

    out, err = call_reader(kl_fn, mu, log_var)
    if err:
        return Verdict(False, err + ".")
    want = ref(mu, log_var)
    if out.shape != want.shape:
        if out.shape == mu.shape:
            return Verdict(False, f"it returned shape {tuple(out.shape)}, one value per latent dimension; "
                                  "sum over the last dimension to get one KL per example, shape (2,).")
        return Verdict(False, f"it returned shape {tuple(out.shape)}; expected one KL per example, shape "
                              f"{tuple(want.shape)}. Sum over the last dimension only (not over the batch).")
    got = out.to(want)
    if not torch.allclose(got, want, atol=1e-8):
        wrong = {
            "log_var was used as log σ (σ² = exp(2·log_var)); log_var is log σ², so σ² = exp(log_var).":
                0.5 * (mu**2 + (2 * log_var).exp() - 2 * log_var - 1).sum(-1),
            "your values are twice the KL.": 2 * want,
            "this is KL(N(0, I) ‖ q), the reverse direction; the VAE's term is KL(q ‖ N(0, I)), "
            "an expectation under q.": 0.5 * ((1 + mu**2) / log_var.exp() + log_var - 1).sum(-1),
            "the sign is flipped: KL is never negative.": -want,
            "it averages over the latent dimensions; the KL of a diagonal Gaussian is their sum.":
                want / mu.shape[-1],
            "a constant per latent dimension is off: the KL of N(0, I) from itself must be 0.":
                want + 0.5 * mu.shape[-1],
        }
        for message, value in wrong.items():
            if torch.allclose(got, value, atol=1e-8):
                return Verdict(False, message)
        i = int((got - want).abs().argmax())
        return Verdict(False, f"for mu = {mu[i].tolist()}, log_var = {log_var[i].tolist()} it returned "
                              f"{got[i].item():.6f}, which is not KL(q ‖ N(0, I)).")
    zero, err = call_reader(kl_fn, torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.float64))
    if err or zero is None or not torch.allclose(zero.to(torch.float64), torch.zeros(4, dtype=torch.float64), atol=1e-12):
        return Verdict(False, "with mu = 0 and log_var = 0 (q equal to the prior) the KL must be exactly 0; "
                              f"{err or f'got {zero.tolist()}'}.")
    if (verdict := float32_kept(kl_fn, mu.float(), log_var.float())) is not None:
        return verdict
    return Verdict(True, "Your KL term matches ½ Σ (μ² + σ² − log σ² − 1), summed per example, "
                         "is zero when q is the prior, and keeps the input dtype.")
