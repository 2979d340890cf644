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


# ---- chapter 04
__all__ += ["check_ns_generator_loss"]


def check_ns_generator_loss(ns_generator_loss: Callable[[torch.Tensor], torch.Tensor]) -> Verdict:
    r"""Check the non-saturating generator loss :math:`-\frac1m\sum_i \log\sigma(a_i)` from logits.

    The reader's function takes the discriminator's logits ``a`` on generated points, shape
    ``(m,)``, and returns the scalar loss, stable for any logit (``softplus(-a).mean()``).
    """
    a = torch.tensor([-3.0, -0.5, 0.0, 1.2, 4.0], dtype=torch.float64)

    def reference(a):
        return torch.nn.functional.softplus(-a).mean()

    out, err = _call(ns_generator_loss, a)
    if err:
        return Verdict(False, err + ".")
    if out.ndim != 0:
        return Verdict(False, f"for logits of shape {tuple(a.shape)} it returned shape {tuple(out.shape)}; "
                              "return one number, the average over the minibatch.")
    want = reference(a)
    got = out.to(want)
    if not torch.allclose(got, want, atol=1e-8):
        if torch.allclose(got, -torch.nn.functional.softplus(a).mean(), atol=1e-8):
            return Verdict(False, "this is the saturating (minimax) loss log(1 − D(G(z))). The non-saturating "
                                  "generator maximizes log D(G(z)) instead, i.e. minimizes −log σ(a).")
        if torch.allclose(got, -want, atol=1e-8):
            return Verdict(False, "the sign is flipped: the loss to minimize is −log D(G(z)) = −log σ(a), "
                                  "which is positive.")
        if torch.allclose(got, want * len(a), atol=1e-8):
            return Verdict(False, "you summed over the minibatch; average instead (divide by m).")
        if torch.allclose(got, torch.nn.functional.softplus(a).mean(), atol=1e-8):
            return Verdict(False, "you computed −log(1 − σ(a)), the discriminator's loss on fakes; the generator "
                                  "wants σ(a) = D(G(z)) close to 1, so its loss is −log σ(a).")
        return Verdict(False, f"on logits {a.tolist()} it returned {got.item():.6f}, expected "
                              f"−mean log σ(a) = {want.item():.6f}.")
    extreme = torch.tensor([-800.0, 800.0], dtype=torch.float64)
    out, err = _call(ns_generator_loss, extreme)
    if err:
        return Verdict(False, "with logits ±800: " + err + ".")
    if not torch.isfinite(out).all() or abs(out.item() - 400.0) > 1e-6:
        return Verdict(False, f"with logits (−800, 800) it returned {out.item()}, expected 400. "
                              "torch.log(torch.sigmoid(a)) underflows to log 0 = −inf for very negative a, "
                              "exactly when the discriminator confidently rejects a sample; use "
                              "−log σ(a) = softplus(−a) (torch.nn.functional.softplus).")
    out32, err = _call(ns_generator_loss, a.float())
    if err or out32.dtype != torch.float32:
        return Verdict(False, "float32 logits should give a float32 loss (do not hard-code a dtype).")
    return Verdict(True, "Your non-saturating loss matches −mean log σ(a), stays finite for any logit "
                         "and keeps the input dtype.")
