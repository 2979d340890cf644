"""The exercise checker of chapter 5 (normalizing flows): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from . import Verdict, call_reader, float32_kept

__all__ = ["check_planar_log_det"]


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
    out, err = call_reader(planar_log_det, z, w, u, b)
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
                              "the absolute value of the determinant.")
    elif torch.allclose(out, -want, atol=1e-8):
        return Verdict(False, "the sign is flipped: you computed log|det ∂f⁻¹/∂x|, the log-determinant of the "
                              "inverse, not of the forward map.")
    elif torch.allclose(out, torch.log(torch.abs(1 + h * (w @ u))), atol=1e-8):
        return Verdict(False, "ψ(z) uses the derivative of tanh, not tanh itself.")
    elif torch.allclose(out, want.exp(), atol=1e-8) or torch.allclose(out, torch.abs(1 + (1 - h**2) * (w @ u)), atol=1e-8):
        return Verdict(False, "you returned |det| itself; the flow needs its logarithm.")
    elif torch.allclose(out, torch.log(torch.abs(1 + (1 - h**2) * (w @ w))), atol=1e-8):
        return Verdict(False, "you used wᵀw: in the matrix determinant lemma ψ(z) pairs with u, not with w.")
    else:
        i = int((out - want).abs().argmax())
        return Verdict(False, f"at sample {i} it returned {out[i].item():.6f}, which is not log|det ∂f/∂z| "
                              "of the autograd Jacobian.")
    if (verdict := float32_kept(planar_log_det, z.float(), w.float(), u.float(), b.float())) is not None:
        return verdict
    return Verdict(True, "Your planar log-determinant matches the autograd Jacobian in 3 dimensions, including "
                         "points where the determinant is negative, and keeps the input dtype.")
