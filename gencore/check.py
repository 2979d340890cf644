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
    if bool((out == 0).all()):
        return Verdict(False, "it returns zeros everywhere: write the formula a·log(a/b) + (1−a)·log((1−a)/(1−b)).")
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


# ---- chapter 07
__all__ += ["check_implicit_score_matching"]


def _ism_case(dtype=torch.float64):
    """A parametrized nonlinear score with a known Jacobian trace, and test points."""
    theta = torch.tensor([0.7, -0.4, 0.3], dtype=dtype, requires_grad=True)

    def score_fn(x):
        x1, x2 = x[:, 0], x[:, 1]
        return torch.stack([-theta[0] * x1 + theta[1] * torch.sin(x2) + x1 * x2,
                            -theta[2] * x2**3 + torch.tanh(x1) + x1**2], -1)

    def parts(x):  # per point: ½‖s‖², the trace, and the sum of all Jacobian entries
        s = score_fn(x)
        x1, x2 = x[:, 0], x[:, 1]
        trace = (-theta[0] + x2) + (-3 * theta[2] * x2**2)
        all_entries = trace + (theta[1] * torch.cos(x2) + x1) + (1 - torch.tanh(x1) ** 2 + 2 * x1)
        return 0.5 * (s**2).sum(-1), trace, all_entries

    x = torch.tensor([[0.5, -1.0], [1.2, 0.3], [-0.7, 0.8], [0.1, 1.5], [-1.3, -0.2]], dtype=dtype)
    return theta, score_fn, parts, x


def check_implicit_score_matching(ism_loss: Callable) -> Verdict:
    r"""Check ``ism_loss(score_fn, x)`` = :math:`\frac1N\sum_n \big[\tfrac12\|s(x_n)\|^2 + \operatorname{tr}\nabla_x s(x_n)\big]`.

    It must return a scalar, keep the input dtype, and stay differentiable in the parameters of
    ``score_fn`` through the trace term (``create_graph=True``), or it cannot be trained.
    """
    theta, score_fn, parts, x = _ism_case()
    half_sq, trace, all_entries = parts(x)
    want = (half_sq + trace).mean()
    out, err = _call(ism_loss, score_fn, x.clone())
    if err and "a second time" in err:
        return Verdict(False, err + ". The first torch.autograd.grad call freed the graph that the second "
                                    "one needs: pass create_graph=True (it also keeps the graph, and keeps "
                                    "the trace differentiable in the parameters).")
    if err:
        return Verdict(False, err + ".")
    if out.numel() != 1:
        return Verdict(False, f"it returned shape {tuple(out.shape)}; the loss must be a scalar: average "
                              "½‖s‖² + tr ∇s over the batch.")
    got = out.detach().to(want).reshape(())
    guesses = [
        ((2 * half_sq + trace).mean(), "you dropped the ½ in front of ‖s‖²: the objective is E[½‖s‖² + tr ∇s]."),
        ((half_sq - trace).mean(), "the sign of the trace term is wrong: integration by parts turns "
                                   "−E[∇log p · s] into +E[tr ∇s]."),
        ((half_sq + trace).sum(), "you summed over the batch; take the mean, so the loss does not grow with N."),
        ((half_sq + all_entries).mean(), "you added every entry of the Jacobian ∂s_i/∂x_j. Only the diagonal "
                                         "(i = j) enters the trace: differentiate s[:, d] and keep column d."),
        (half_sq.mean(), "the trace term is missing: the loss needs tr ∇ₓs, not only ½‖s‖²."),
        (trace.mean(), "the ½‖s‖² term is missing."),
    ]
    if not torch.allclose(got, want.detach(), atol=1e-8, rtol=1e-8):
        for value, hint in guesses:
            if torch.allclose(got, value.detach(), atol=1e-8, rtol=1e-8):
                return Verdict(False, hint)
        return Verdict(False, f"on five test points it returned {got.item():.6f}; the objective is "
                              f"{want.item():.6f}.")
    if not out.requires_grad:
        return Verdict(False, "the value is right but it does not depend on the model's parameters any more "
                              "(did you detach, or use torch.no_grad?); the loss must be trainable.")
    (g_out,) = torch.autograd.grad(out.reshape(()), theta, allow_unused=True)
    (g_want,) = torch.autograd.grad(want, theta)
    if g_out is None or not torch.allclose(g_out, g_want, atol=1e-8):
        return Verdict(False, "the value is right but its gradient in the parameters is not: the trace term "
                              "was cut from the graph. Pass create_graph=True to torch.autograd.grad.")
    out32, err = _call(ism_loss, score_fn, x.float())
    if err or out32.dtype != torch.float32:
        return Verdict(False, "float32 points should give a float32 loss (do not hard-code a dtype).")
    return Verdict(True, "Your loss matches Hyvärinen's objective, including the ½, the sign of the trace "
                         "and the batch mean, and its gradient in the parameters is right.")


# ---- chapter 08
__all__ += ["check_log_partition"]


def check_log_partition(log_partition: Callable) -> Verdict:
    r"""Check ``log_partition(energy_fn, extent, resolution)`` = :math:`\log\int_{box} e^{-E(x)}dx` by the midpoint rule.

    Tested on quadratic energies, whose :math:`\log Z = \log 2\pi - \tfrac12\log\det A` is known,
    including one so deep that :math:`e^{-E}` overflows unless the sum is taken in log space.
    """
    from .ebm import log_partition as reference, quadratic_energy, quadratic_log_partition

    A = torch.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=torch.float64)
    energy = quadratic_energy(torch.tensor([0.3, -0.2], dtype=torch.float64), A)
    extent, res = (-6.0, 6.0, -6.0, 6.0), 120
    want = float(quadratic_log_partition(A))
    out, err = _call(log_partition, energy, extent, res)
    if err:
        return Verdict(False, err + ".")
    if out.numel() != 1:
        return Verdict(False, f"it returned shape {tuple(out.shape)}; log Z is a single number (a scalar tensor).")
    got = float(out)
    if bool(torch.as_tensor(got).isnan()) or math.isinf(got):
        return Verdict(False, f"it returned {got}. Sum in log space: torch.logsumexp(-E(points), 0) + log(cell area).")
    from .quadrature import grid

    mids, area = grid(extent, res, dtype=torch.float64)
    xs = torch.linspace(-6, 6, res, dtype=torch.float64)
    yy, xx = torch.meshgrid(xs, xs, indexing="ij")
    ends = torch.stack([xx, yy], -1).reshape(-1, 2)
    lse = float(torch.logsumexp(-energy(mids), 0))
    guesses = [
        (float(reference(energy, extent, res)), None),
        (lse, "the cell area is missing: the integral is the sum of e^{-E} times the area of one cell, "
              "so add log(cell area) to the logsumexp."),
        (lse - math.log(res**2), "you averaged over the cells instead of summing: the midpoint rule is "
                                 "sum_i e^{-E(c_i)} × (cell area), not a mean."),
        (float(torch.logsumexp(energy(mids), 0)) + math.log(area),
         "the sign of the energy is flipped: the Boltzmann weight is e^{-E}, low energy means high probability."),
        (float(torch.logsumexp(-energy(ends), 0)) + math.log(area),
         "close, but not the midpoint rule: use the cell centres, not points that include the box's edges "
         "(torch.linspace(xmin, xmax, n) puts points on the edges); gencore.quadrature.grid gives the centres."),
        (-want, "the sign of the result is flipped: log Z = +log ∫ e^{-E}."),
        (math.exp(want), "you returned Z, not log Z."),
    ]
    if abs(got - want) > 1e-3:
        for value, hint in guesses[1:]:
            if abs(got - value) < 1e-6 * max(1.0, abs(value)):
                return Verdict(False, hint)
        return Verdict(False, f"for E(x) = ½(x−μ)ᵀA(x−μ) on {extent} with {res} cells a side it returned "
                              f"{got:.6f}; the closed form is log 2π − ½ log det A = {want:.6f}.")
    deep = lambda x: energy(x) - 800.0  # e^{-E} overflows float64 near the minimum
    out, err = _call(log_partition, deep, extent, res)
    if err:
        return Verdict(False, "for an energy shifted down by 800: " + err + ".")
    if not math.isfinite(float(out)) or abs(float(out) - (want + 800.0)) > 1e-3:
        return Verdict(False, f"with the energy shifted down by 800 it returned {float(out)}; expected "
                              f"{want + 800:.4f}. e^{{800}} overflows: use torch.logsumexp, not exp().sum().log().")
    if abs(got - guesses[0][0]) > 1e-6:
        return Verdict(False, f"close ({got:.6f}), but the midpoint rule on this grid gives {guesses[0][0]:.8f}: "
                              "use the cell centres (gencore.quadrature.grid) and the cell area.")
    return Verdict(True, "Your log Z matches the closed form for a quadratic energy, stays finite when e^{-E} "
                         "would overflow, and uses the cell midpoints and the cell area.")
