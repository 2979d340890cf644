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
__all__ += ["check_ddim_step"]


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


# ---- chapter 06
def check_ddim_step(ddim_step: Callable) -> Verdict:
    r"""Check a deterministic DDIM update ``ddim_step(schedule, eps, t, t_prev, xt)`` (:math:`\eta = 0`).

    The expected answer is :math:`\sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}}\,\epsilon`
    with :math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\epsilon)/\sqrt{\bar\alpha_t}` and
    :math:`t' =` ``t_prev``, for ints ``t > t_prev >= 0``, keeping the dtype of ``xt``.
    """
    from .diffusion import NoiseSchedule, ddim_step as reference, predict_x0

    s = NoiseSchedule.linear()
    gen = torch.Generator().manual_seed(0)
    xt, eps = (torch.randn(6, 2, generator=gen, dtype=torch.float64) for _ in range(2))
    for t, tp in ((1000, 980), (500, 250), (40, 0)):
        out, err = _call(ddim_step, s, eps, t, tp, xt)
        if err:
            return Verdict(False, f"with t={t}, t_prev={tp}: {err}.")
        if out.shape != xt.shape:
            return Verdict(False, f"it returned shape {tuple(out.shape)}; x_t' has the shape of xt, {tuple(xt.shape)}.")
        again, _ = _call(ddim_step, s, eps, t, tp, xt)
        if again is None or not torch.equal(out, again):
            return Verdict(False, "two calls with the same inputs gave different results: with eta = 0 DDIM is "
                                  "deterministic, so do not add noise.")
        want = reference(s, eps, t, tp, xt)
        if torch.allclose(out.to(want), want, atol=1e-8):
            continue
        a, ap = s.alphas[t], s.alphas[tp]
        alphas = ap.sqrt() * (xt - (1 - a).sqrt() * eps) / a.sqrt() + (1 - ap).sqrt() * eps
        if torch.allclose(out.to(want), alphas, atol=1e-8):
            return Verdict(False, "you used the one-step alphas[t]; the update needs the products alpha_bars[t] "
                                  "and alpha_bars[t_prev] (the marginals q(x_t | x_0)).")
        if torch.allclose(out.to(want), predict_x0(s, eps, xt, t), atol=1e-8):
            return Verdict(False, f"it returns the predicted x_0, not x at t_prev={tp}; move x_0 back to "
                                  "noise level t_prev with the direction term sqrt(1 - alpha_bar) * eps.")
        ab, abp = s.alpha_bars[t], s.alpha_bars[tp]
        squared = abp * (xt - (1 - ab) * eps) / ab + (1 - abp) * eps
        if torch.allclose(out.to(want), squared, atol=1e-6):
            return Verdict(False, "a square root is missing: the coefficients are sqrt(alpha_bar) and "
                                  "sqrt(1 - alpha_bar), as in x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.")
        i = int((out.to(want) - want).abs().max(1).values.argmax())
        return Verdict(False, f"with t={t}, t_prev={tp} row {i} is {out[i].tolist()}, but DDIM gives "
                              f"{want[i].tolist()}.")
    out32, err = _call(ddim_step, s, eps.float(), 500, 250, xt.float())
    if err or out32.dtype != torch.float32:
        return Verdict(False, "float32 inputs should give a float32 result; the schedule is float64, so convert "
                              "its entries to xt's dtype (e.g. .to(xt)) rather than fixing a dtype.")
    return Verdict(True, "Your DDIM step matches the deterministic update for long and short jumps, including "
                         "t_prev = 0, and keeps the input dtype.")
