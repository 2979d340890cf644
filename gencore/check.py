"""Checkers for the book's coding exercises: they say what is wrong, not just "no".

Each ``check_*`` function takes the reader's function, runs it on cases chosen to catch the
usual mistakes, and returns a :class:`Verdict` that prints as one friendly paragraph (and
renders as a coloured box in a notebook). ``bool(verdict)`` says whether it passed.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["Verdict", "check_kl_bernoulli"]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return ("Correct. " if self.ok else "Not yet. ") + self.message

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.ok else "#c62828"
        return (f"<div style='border-left:4px solid {colour};padding:4px 10px'>"
                f"<b>{'Correct.' if self.ok else 'Not yet.'}</b> {html.escape(self.message)}</div>")

    def __repr__(self) -> str:
        return str(self)


def _call(fn: Callable, *args) -> tuple[torch.Tensor | None, str | None]:
    try:
        out = fn(*args)
    except Exception as err:  # the reader's code: report, don't crash the notebook
        return None, f"calling it raised {type(err).__name__}: {err}"
    if not isinstance(out, torch.Tensor):
        return None, f"it should return a torch.Tensor, but returned {type(out).__name__}"
    return out, None


def check_kl_bernoulli(kl_bernoulli: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Verdict:
    r"""Check an implementation of :math:`\mathrm{KL}(\mathrm{Bern}(a)\,\|\,\mathrm{Bern}(b))` in nats.

    The expected answer is :math:`a\log\frac ab + (1-a)\log\frac{1-a}{1-b}`, elementwise over
    broadcastable tensors, with :math:`0\log 0 = 0` (so ``a = 0`` and ``a = 1`` are finite).
    """
    a = torch.tensor([0.1, 0.3, 0.5, 0.8, 0.95], dtype=torch.float64)
    b = torch.tensor([0.5, 0.6, 0.2, 0.7, 0.5], dtype=torch.float64)

    def reference(a, b):
        return torch.xlogy(a, a) - torch.xlogy(a, b) + torch.xlogy(1 - a, 1 - a) - torch.xlogy(1 - a, 1 - b)

    out, err = _call(kl_bernoulli, a, b)
    if err:
        return Verdict(False, err + ".")
    if out.shape != a.shape:
        return Verdict(False, f"for inputs of shape {tuple(a.shape)} it returned shape {tuple(out.shape)}; "
                              "compute elementwise and do not sum.")
    want = reference(a, b)
    if not torch.allclose(out.to(want), want, atol=1e-8):
        if torch.allclose(out.to(want), reference(b, a), atol=1e-8):
            return Verdict(False, "you computed KL(Bern(b) || Bern(a)): the arguments are swapped. "
                                  "KL is not symmetric; the expectation is under the first argument, a.")
        if torch.allclose(out.to(want), want / math.log(2), atol=1e-8):
            return Verdict(False, "your values are in bits (log base 2); the book works in nats (torch.log).")
        if torch.allclose(out.to(want), -want, atol=1e-8):
            return Verdict(False, "the sign is flipped: KL is never negative. Check log(a/b) vs log(b/a).")
        i = int((out.to(want) - want).abs().argmax())
        return Verdict(False, f"at a={a[i].item()}, b={b[i].item()} it returned {out[i].item():.6f}, "
                              f"but KL = {want[i].item():.6f}.")
    edge_a = torch.tensor([0.0, 1.0], dtype=torch.float64)
    edge_b = torch.tensor([0.3, 0.3], dtype=torch.float64)
    out, err = _call(kl_bernoulli, edge_a, edge_b)
    if err:
        return Verdict(False, "with a = 0 or a = 1: " + err + ".")
    if not torch.isfinite(out).all():
        return Verdict(False, "at a = 0 or a = 1 it returns NaN/inf. The convention 0·log 0 = 0 makes these "
                              "finite: use torch.xlogy(x, y), which is 0 when x = 0.")
    if not torch.allclose(out.to(edge_a), reference(edge_a, edge_b), atol=1e-8):
        return Verdict(False, f"at a = 0 and a = 1 (b = 0.3) it returned {out.tolist()}, expected "
                              f"{reference(edge_a, edge_b).tolist()}.")
    out, err = _call(kl_bernoulli, torch.tensor([[0.2], [0.7]], dtype=torch.float64), b)
    if err or out is None or out.shape != (2, 5):
        return Verdict(False, "it should broadcast like torch arithmetic: a of shape (2, 1) and b of shape (5,) "
                              f"should give (2, 5); {err or f'got {None if out is None else tuple(out.shape)}'}.")
    out32, err = _call(kl_bernoulli, a.float(), b.float())
    if err or out32.dtype != torch.float32:
        return Verdict(False, "float32 inputs should give a float32 result (do not hard-code a dtype).")
    return Verdict(True, "Your KL between Bernoullis matches the closed form, handles a = 0 and a = 1, "
                         "broadcasts, and keeps the input dtype.")


# ---- chapter 03
__all__ += ["check_kl_standard_normal"]


def check_kl_standard_normal(kl_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Verdict:
    r"""Check :math:`\mathrm{KL}(\mathcal N(\mu, \operatorname{diag} e^{v})\,\|\,\mathcal N(0, I))` from ``(mu, log_var)``.

    The expected answer is :math:`\tfrac12\sum_k (\mu_k^2 + e^{v_k} - v_k - 1)`, summed over the
    last dimension only (one value per example), with ``log_var`` :math:`= v = \log\sigma^2`.
    """
    mu = torch.tensor([[0.5, -1.0, 0.0], [2.0, 0.3, -0.7]], dtype=torch.float64)
    log_var = torch.tensor([[0.0, -1.0, 0.8], [-2.0, 0.5, 1.2]], dtype=torch.float64)

    def ref(m, v):
        return 0.5 * (m**2 + v.exp() - v - 1).sum(-1)

    out, err = _call(kl_fn, mu, log_var)
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
            "the factor ½ is missing.": 2 * want,
            "this is KL(N(0, I) ‖ q), the reverse direction; the VAE's term is KL(q ‖ N(0, I)), "
            "an expectation under q.": 0.5 * ((1 + mu**2) / log_var.exp() + log_var - 1).sum(-1),
            "the sign is flipped: KL is never negative.": -want,
            "it averages over the latent dimensions; the KL of a diagonal Gaussian is their sum.":
                want / mu.shape[-1],
            "the −1 per dimension is missing (the KL of N(0, I) from itself must be 0).":
                want + 0.5 * mu.shape[-1],
        }
        for message, value in wrong.items():
            if torch.allclose(got, value, atol=1e-8):
                return Verdict(False, message)
        i = int((got - want).abs().argmax())
        return Verdict(False, f"for mu = {mu[i].tolist()}, log_var = {log_var[i].tolist()} it returned "
                              f"{got[i].item():.6f}, but the KL is {want[i].item():.6f}.")
    zero, err = _call(kl_fn, torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.float64))
    if err or zero is None or not torch.allclose(zero.to(torch.float64), torch.zeros(4, dtype=torch.float64), atol=1e-12):
        return Verdict(False, "with mu = 0 and log_var = 0 (q equal to the prior) the KL must be exactly 0; "
                              f"{err or f'got {zero.tolist()}'}.")
    out32, err = _call(kl_fn, mu.float(), log_var.float())
    if err or out32.dtype != torch.float32:
        return Verdict(False, "float32 inputs should give a float32 result (do not hard-code a dtype).")
    return Verdict(True, "Your KL term matches ½ Σ (μ² + σ² − log σ² − 1), summed per example, "
                         "is zero when q is the prior, and keeps the input dtype.")
