"""The exercise checker of chapter 7 (score matching): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from . import Verdict, call_reader, float32_kept

__all__ = ["check_implicit_score_matching"]


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
    out, err = call_reader(ism_loss, score_fn, x.clone())
    if err and "a second time" in err:
        return Verdict(False, err + ". The first torch.autograd.grad call freed the graph that the second "
                                    "one needs (see the create_graph argument of torch.autograd.grad, which also keeps "
                                    "the trace differentiable in the parameters).")
    if err:
        return Verdict(False, err + ".")
    if out.numel() != 1:
        return Verdict(False, f"it returned shape {tuple(out.shape)}; the loss must be a scalar, one number "
                              "for the whole batch.")
    got = out.detach().to(want).reshape(())
    guesses = [
        ((2 * half_sq + trace).mean(), "you dropped the ½ in front of ‖s‖²."),
        ((half_sq - trace).mean(), "the sign of the trace term is wrong (redo the integration by parts)."),
        ((half_sq + trace).sum(), "you summed over the batch; take the mean, so the loss does not grow with N."),
        ((half_sq + all_entries).mean(), "you added every entry of the Jacobian ∂s_i/∂x_j; only the diagonal "
                                         "(i = j) enters the trace."),
        (half_sq.mean(), "the trace term is missing: the loss needs tr ∇ₓs, not only ½‖s‖²."),
        (trace.mean(), "the ½‖s‖² term is missing."),
    ]
    if not torch.allclose(got, want.detach(), atol=1e-8, rtol=1e-8):
        for value, hint in guesses:
            if torch.allclose(got, value.detach(), atol=1e-8, rtol=1e-8):
                return Verdict(False, hint)
        return Verdict(False, f"on five test points it returned {got.item():.6f}, which is not Hyvärinen's "
                              "objective.")
    if not out.requires_grad:
        return Verdict(False, "the value is right but it does not depend on the model's parameters any more "
                              "(did you detach, or use torch.no_grad?); the loss must be trainable.")
    (g_out,) = torch.autograd.grad(out.reshape(()), theta, allow_unused=True)
    (g_want,) = torch.autograd.grad(want, theta)
    if g_out is None or not torch.allclose(g_out, g_want, atol=1e-8):
        return Verdict(False, "the value is right but its gradient in the parameters is not: the trace term "
                              "was cut from the graph (see the create_graph argument of torch.autograd.grad).")
    if (verdict := float32_kept(ism_loss, score_fn, x.float(), what="points", result="loss")) is not None:
        return verdict
    return Verdict(True, "Your loss matches Hyvärinen's objective, including the ½, the sign of the trace "
                         "and the batch mean, and its gradient in the parameters is right.")
