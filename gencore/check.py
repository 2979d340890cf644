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
__all__ += ["check_score_function"]  # chapter 02
__all__ += ["check_planar_log_det"]
__all__ += ["check_ddim_step"]
__all__ += ["check_cfg"]  # chapter 09
__all__ += ["check_mixture_log_prob"]  # chapter 10


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


def _float32_kept(fn: Callable, *args, what: str = "inputs", result: str = "result",
                  advice: str = "do not hard-code a dtype") -> Verdict | None:
    """``None`` when ``fn`` returns float32 for float32 ``args``; otherwise the failing verdict."""
    out, err = _call(fn, *args)
    if err or out.dtype != torch.float32:
        found = err or f"got {out.dtype}"
        return Verdict(False, f"float32 {what} should give a float32 {result} ({advice}); {found}.")
    return None


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
    if (verdict := _float32_kept(kl_bernoulli, a.float(), b.float())) is not None:
        return verdict
    return Verdict(True, "Your KL between Bernoullis matches the closed form, handles a = 0 and a = 1, "
                         "broadcasts, and keeps the input dtype.")


# ---- chapter 02
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

    out, err = _call(score_function_estimate, fz, eps, sigma)
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
        return Verdict(False, "the sign is flipped: the estimate is + f(z) * d log q / d theta.")
    elif close(out, want.flip(0)):
        return Verdict(False, "the two entries are swapped: return (d/dmu, d/dsigma) in that order.")
    elif close(out, want * sigma):
        return Verdict(False, "both entries are sigma times too large: the scores are eps / sigma and "
                              "(eps^2 - 1) / sigma, since z - mu = sigma * eps.")
    elif close(out, want / sigma):
        return Verdict(False, "both entries are sigma times too small: d log q / d mu = (z - mu) / sigma^2 "
                              "= eps / sigma, not eps / sigma^2.")
    elif close(out[0], want[0]) and close(out[1], want[1] + fz.mean() / sigma):
        return Verdict(False, "the d/dsigma entry uses eps^2 / sigma; the score is (eps^2 - 1) / sigma. The "
                              "-1 comes from the normalizing factor 1/sigma of the Gaussian density.")
    elif close(out[0], want[0]):
        return Verdict(False, f"d/dmu is right, but d/dsigma is {out[1].item():.5f} where {want[1].item():.5f} "
                              "was expected. The score in sigma is (eps^2 - 1) / sigma.")
    else:
        return Verdict(False, f"it returned {out.tolist()}, expected {want.tolist()}. The terms are "
                              "f(z) * eps / sigma and f(z) * (eps^2 - 1) / sigma, averaged over samples.")
    if (verdict := _float32_kept(score_function_estimate, fz.float(), eps.float(),
                                 sigma.float())) is not None:
        return verdict
    return Verdict(True, "Your score-function estimate matches: f(z) times the score (eps / sigma, "
                         "(eps^2 - 1) / sigma), averaged over the samples.")
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
    if (verdict := _float32_kept(ism_loss, score_fn, x.float(), what="points", result="loss")) is not None:
        return verdict
    return Verdict(True, "Your loss matches Hyvärinen's objective, including the ½, the sign of the trace "
                         "and the batch mean, and its gradient in the parameters is right.")
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
    if (verdict := _float32_kept(kl_fn, mu.float(), log_var.float())) is not None:
        return verdict
    return Verdict(True, "Your KL term matches ½ Σ (μ² + σ² − log σ² − 1), summed per example, "
                         "is zero when q is the prior, and keeps the input dtype.")
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
    if (verdict := _float32_kept(ns_generator_loss, a.float(), what="logits", result="loss")) is not None:
        return verdict
    return Verdict(True, "Your non-saturating loss matches −mean log σ(a), stays finite for any logit "
                         "and keeps the input dtype.")
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
    if (verdict := _float32_kept(planar_log_det, z.float(), w.float(), u.float(), b.float())) is not None:
        return verdict
    return Verdict(True, "Your planar log-determinant matches the autograd Jacobian in 3 dimensions, including "
                         "points where the determinant is negative, and keeps the input dtype.")


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
# ---- chapter 00
__all__ += ["check_mode_average"]


def check_mode_average(mode_average: Callable) -> Verdict:
    r"""Check ``mode_average(modes, weights)`` = :math:`\sum_k w_k \mu_k`, the squared-error-optimal prediction.

    ``modes`` is ``(K, D)``, ``weights`` is ``(K,)`` (non-negative, summing to one); the answer is
    ``(D,)`` and keeps the input dtype.
    """
    modes = torch.tensor([[-2.0, 0.0], [1.0, 1.0], [3.0, -1.0]], dtype=torch.float64)
    weights = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    want = weights @ modes
    out, err = _call(mode_average, modes.clone(), weights.clone())
    if err:
        return Verdict(False, err + ".")
    if out.shape != want.shape:
        return Verdict(False, f"it returned shape {tuple(out.shape)}; the prediction is one point of shape "
                              f"{tuple(want.shape)} (weight each row of modes, then sum over the K modes).")
    got = out.detach().to(want)
    guesses = [
        (modes[weights.argmax()], "That is the most likely mode. It minimizes the 0-1 loss, not the squared "
                                  "error: a prediction on one mode is far from all the others."),
        (modes[0], "That is the first mode (the starting line, unchanged?). The squared-error optimum is the "
                   "mean of the target."),
        (modes.mean(0), "That is the unweighted mean of the modes; weight mode k by its probability weights[k]."),
        (weights @ modes.flip(0), "The weights are paired with the wrong modes: weights[k] belongs to modes[k]."),
    ]
    if not torch.allclose(got, want, atol=1e-10):
        for value, hint in guesses:
            if value.shape == got.shape and torch.allclose(got, value, atol=1e-10):
                return Verdict(False, hint)
        return Verdict(False, f"it returned {got.tolist()}; the squared-error optimum here is {want.tolist()}, "
                              "the probability-weighted mean of the modes.")
    if (verdict := _float32_kept(mode_average, modes.float(), weights.float())) is not None:
        return verdict
    return Verdict(True, "The weighted mean of the modes, Σ_k w_k μ_k: the best single guess under squared "
                         "error, and (for separated modes) a point where the target never is.")
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
    advice = "the schedule is float64, so convert its entries to xt's dtype (e.g. .to(xt)) rather than fixing a dtype"
    if (verdict := _float32_kept(ddim_step, s, eps.float(), 500, 250, xt.float(), advice=advice)) is not None:
        return verdict
    return Verdict(True, "Your DDIM step matches the deterministic update for long and short jumps, including "
                         "t_prev = 0, and keeps the input dtype.")
# ---- chapter 09


def check_cfg(guided: Callable) -> Verdict:
    r"""Check classifier-free guidance ``guided(v_cond, v_uncond, w)``: :math:`v_c + w\,(v_c - v_u)`.

    The book's convention: ``w = 0`` is the conditional model itself; the result keeps the dtype
    of the inputs.
    """
    gen = torch.Generator().manual_seed(0)
    vc, vu = (torch.randn(7, 2, generator=gen, dtype=torch.float64) for _ in range(2))
    for w in (0.0, 2.5, 1.0):
        out, err = _call(guided, vc, vu, w)
        if err:
            return Verdict(False, f"with w={w}: {err}.")
        if out.shape != vc.shape:
            return Verdict(False, f"it returned shape {tuple(out.shape)}; the guided velocity has the shape of "
                                  f"v_cond, {tuple(vc.shape)}.")
        want = vc + w * (vc - vu)
        if torch.allclose(out.to(want), want, atol=1e-10):
            continue
        guesses = [
            (vc, "it returned v_cond unchanged; the guidance term w (v_c - v_u) is missing."),
            (vu + w * (vc - vu), "that is the other convention, v_u + w (v_c - v_u), in which w = 1 is the conditional "
                                 "model; here w = 0 must give v_cond exactly: v_c + w (v_c - v_u)."),
            (vc + w * (vu - vc), "the sign of the guidance term is flipped: that moves towards the unconditional "
                                 "prediction, while guidance moves away from it, v_c + w (v_c - v_u)."),
            (w * vc, "scaling v_cond by w is not guidance; mix in the difference v_c - v_u."),
        ]
        for value, hint in guesses:
            if torch.allclose(out.to(want), value, atol=1e-10):
                return Verdict(False, f"with w={w}: {hint}")
        return Verdict(False, f"with w={w} it returned {out[0].tolist()} for the first row; expected {want[0].tolist()}.")
    if (verdict := _float32_kept(guided, vc.float(), vu.float(), 1.5)) is not None:
        return verdict
    return Verdict(True, "v_c + w (v_c - v_u): w = 0 is the conditional model, and larger w pushes the samples away "
                         "from what the unconditional model would do.")


# ---- chapter 10
def check_mixture_log_prob(mixture_log_prob: Callable) -> Verdict:
    r"""Check ``mixture_log_prob(y, logits, means, scales)``: :math:`\log \sum_k \pi_k \mathcal N(y; \mu_k, s_k^2)`.

    ``y`` is ``(N,)``; ``logits``, ``means``, ``scales`` are ``(N, K)``; the weights are
    :math:`\pi = \mathrm{softmax}(\text{logits})`. The answer must be ``(N,)``, finite even far from
    every component (log space), and keep the input dtype.
    """
    from .autoregressive import mixture_log_prob as reference

    gen = torch.Generator().manual_seed(0)
    n, k = 7, 3
    logits = 2 * torch.randn(n, k, generator=gen, dtype=torch.float64)
    means = torch.randn(n, k, generator=gen, dtype=torch.float64)
    scales = 0.3 + torch.rand(n, k, generator=gen, dtype=torch.float64)
    y = torch.randn(n, generator=gen, dtype=torch.float64)
    y[-1] = 60.0  # far from every component: exp underflows, log space does not
    want = reference(y, logits, means, scales)
    got, err = _call(mixture_log_prob, y, logits, means, scales)
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
            (torch.logsumexp(logits + log_n, -1), "the weights are not normalized: use log_softmax(logits), not the "
                                                   "raw logits, so that the pi_k sum to one."),
            (torch.logsumexp(torch.log_softmax(logits, -1) - 0.5 * z**2 - 0.5 * math.log(2 * math.pi), -1),
             "the Gaussian's normalizer is missing the -log(s_k) term (the density of N(mu, s^2) is "
             "exp(-z^2/2) / (s sqrt(2 pi)))."),
            ((torch.log_softmax(logits, -1) + log_n).sum(-1), "a mixture adds the weighted densities: take logsumexp "
                                                              "over components, not the sum of their logs."),
            ((torch.softmax(logits, -1) * log_n).sum(-1), "that is the weighted average of the log-densities (a lower "
                                                          "bound, by Jensen); the mixture is the log of the weighted "
                                                          "average of the densities: logsumexp(log pi + log N)."),
        ]
        for value, hint in guesses:
            if torch.allclose(got[near], value[near], atol=1e-8):
                return Verdict(False, hint)
        i = int((got[near] - want[near]).abs().argmax())
        return Verdict(False, f"at point {i} it gives {got[i].item():.6f}; the mixture's log-density is {want[i].item():.6f}.")
    if not torch.isfinite(got[-1]) or abs(got[-1].item() - want[-1].item()) > 1e-6:
        return Verdict(False, f"far from every component (y = 60) it gives {got[-1].item()}, but the answer is "
                              f"{want[-1].item():.1f}: compute in log space (torch.logsumexp of log pi + log N) "
                              "instead of taking the log of a sum of exp's that underflow to 0.")
    if (verdict := _float32_kept(mixture_log_prob, y.float(), logits.float(), means.float(), scales.float())) is not None:
        return verdict
    return Verdict(True, "log_softmax for the weights, each Gaussian's log-density, and logsumexp over components: "
                         "finite even where every density underflows.")
