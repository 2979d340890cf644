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
__all__ += ["check_planar_log_det"]


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


# ---- chapter 05
def check_planar_log_det(planar_log_det: Callable) -> Verdict:
    r"""Check :math:`\log|1 + u^\top\psi(z)|`, :math:`\psi(z) = (1 - \tanh^2(w^\top z + b))\,w`, for ``z`` of shape ``(N, D)``.

    The reference is the log-absolute-determinant of the autograd Jacobian of
    :math:`z \mapsto z + u\tanh(w^\top z + b)`, per sample. The cases include a ``u`` with
    :math:`w^\top u < -1`, where :math:`1 + u^\top\psi` is negative for some points.
    """
    g = torch.Generator().manual_seed(5)
    z = 1.5 * torch.randn(64, 3, generator=g, dtype=torch.float64)
    w = torch.tensor([1.2, -0.7, 0.4], dtype=torch.float64)
    u = torch.tensor([-1.5, 0.9, 0.3], dtype=torch.float64)  # w^T u = -2.31: not invertible, negative dets
    b = torch.tensor(0.3, dtype=torch.float64)

    def layer(v):
        return v + u * torch.tanh(v @ w + b)

    jac = torch.stack([torch.autograd.functional.jacobian(layer, zi) for zi in z])
    want = torch.linalg.slogdet(jac)[1]
    h = torch.tanh(z @ w + b)
    out, err = _call(planar_log_det, z, w, u, b)
    if err:
        return Verdict(False, err + ".")
    if out.shape != (len(z),):
        return Verdict(False, f"for z of shape {tuple(z.shape)} it returned shape {tuple(out.shape)}; return one "
                              "log-determinant per sample, shape (N,), without summing over the batch.")
    out = out.to(want)
    if torch.allclose(out, want, atol=1e-8):
        pass
    elif torch.isnan(out).any():
        return Verdict(False, "it returns NaN where 1 + uᵀψ(z) < 0 (this u has wᵀu < −1). The volume factor is "
                              "the absolute value: take torch.log(torch.abs(...)).")
    elif torch.allclose(out, -want, atol=1e-8):
        return Verdict(False, "the sign is flipped: you computed log|det ∂f⁻¹/∂x|, the log-determinant of the "
                              "inverse, not of the forward map.")
    elif torch.allclose(out, torch.log(torch.abs(1 + h * (w @ u))), atol=1e-8):
        return Verdict(False, "ψ(z) uses the derivative h'(a) = 1 − tanh²(a), not h(a) = tanh(a) itself.")
    elif torch.allclose(out, want.exp(), atol=1e-8) or torch.allclose(out, torch.abs(1 + (1 - h**2) * (w @ u)), atol=1e-8):
        return Verdict(False, "you returned |det| itself; the flow needs its logarithm.")
    elif torch.allclose(out, torch.log(torch.abs(1 + (1 - h**2) * (w @ w))), atol=1e-8):
        return Verdict(False, "the dot product should be wᵀu (matrix determinant lemma: det(I + u ψᵀ) = 1 + ψᵀu).")
    else:
        i = int((out - want).abs().argmax())
        return Verdict(False, f"at sample {i} it returned {out[i].item():.6f}, but log|det ∂f/∂z| = "
                              f"{want[i].item():.6f} (from the autograd Jacobian).")
    out32, err = _call(planar_log_det, z.float(), w.float(), u.float(), b.float())
    if err or out32.dtype != torch.float32:
        return Verdict(False, "float32 inputs should give a float32 result (do not hard-code a dtype); "
                              f"{err or f'got {out32.dtype}'}.")
    return Verdict(True, "Your planar log-determinant matches the autograd Jacobian in 3 dimensions, including "
                         "points where the determinant is negative, and keeps the input dtype.")
