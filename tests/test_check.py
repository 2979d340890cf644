"""Every exercise checker, run on the reference solution and on typical wrong answers."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from gencore.exercises.divergences import check_kl_bernoulli


def reference(a, b):
    return torch.xlogy(a, a) - torch.xlogy(a, b) + torch.xlogy(1 - a, 1 - a) - torch.xlogy(1 - a, 1 - b)


def test_reference_solution_passes():
    verdict = check_kl_bernoulli(reference)
    assert verdict and verdict.ok and str(verdict).startswith("Correct")


def test_wrong_answers_fail_with_a_useful_message():
    cases = {
        "swapped": lambda a, b: reference(b, a),
        "bits": lambda a, b: reference(a, b) / math.log(2),
        "sign": lambda a, b: -reference(a, b),
        "xlogy": lambda a, b: a * torch.log(a / b) + (1 - a) * torch.log((1 - a) / (1 - b)),
        "shape": lambda a, b: reference(a, b).sum(),
        "torch.Tensor": lambda a, b: reference(a, b).tolist(),
        "raised": lambda a, b: 1 / 0,
        "broadcast": lambda a, b: reference(a.flatten(), b.flatten()),
        "float32": lambda a, b: reference(a, b).double(),
        "zeros": lambda a, b: torch.zeros_like(a),
    }
    for hint, fn in cases.items():
        verdict = check_kl_bernoulli(fn)
        assert not verdict, hint
        assert hint in verdict.message, (hint, verdict.message)
        assert "Not yet" in verdict._repr_html_()


def test_the_checkers_reference_is_torchs_bernoulli_kl():
    """The formula the checker accepts, against an independent reference: torch.distributions."""
    a = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)[:, None]
    b = torch.linspace(0.05, 0.95, 7, dtype=torch.float64)
    B = torch.distributions.Bernoulli
    want = torch.distributions.kl_divergence(B(probs=a.expand(11, 7)), B(probs=b.expand(11, 7)))
    assert torch.allclose(reference(a, b), want, atol=1e-12)

    def torch_kl(a, b):
        shape = torch.broadcast_shapes(a.shape, b.shape)
        return torch.distributions.kl_divergence(B(probs=a.expand(shape)), B(probs=b.expand(shape)))

    assert check_kl_bernoulli(torch_kl)                     # the checker accepts torch's own answer


# ---------------------------------------------------------------------------------------------
# No failure message of any checker gives the answer away: neither the solution's formula or
# code nor the expected values. A student runs the checker on a wrong answer and reads the
# message in the executed notebook, so each checker is called here with the chapter's stub and
# typical wrong answers; the values the answer would have had are computed by this file's own
# references, on the very inputs the checker passed (recorded by a spy), and must not appear.
# The success message is seen only once the exercise is solved, and may restate the formula.

import re  # noqa: E402

import pytest  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from gencore import diffusion as _diffusion, ebm as _ebm, quadrature as _quadrature  # noqa: E402
from gencore.exercises import (autoregressive as _ar, diffusion as _ddim, ebm as _ebm_check,  # noqa: E402
                               flow_matching as _fm, flows as _flows, gan as _gan, overview as _overview,
                               reparam as _reparam, score as _score, vae as _vae)


def _norm(text: str) -> str:
    """Lower case, no spaces, one spelling of minus and times, so a token matches however it is typed."""
    text = text.lower().replace("\u2212", "-").replace("\u00b7", "*").replace("\u00d7", "*")
    return re.sub(r"\s+", "", text)


def _ref_mixture(y, logits, means, scales):
    z = (y.unsqueeze(-1) - means) / scales
    log_n = -0.5 * z**2 - torch.log(scales) - 0.5 * math.log(2 * math.pi)
    return torch.logsumexp(torch.log_softmax(logits, -1) + log_n, -1)


def _ref_ism(score_fn, x):
    x = x.detach().requires_grad_(True)
    s = score_fn(x)
    trace = sum(torch.autograd.grad(s[:, d].sum(), x, create_graph=True)[0][:, d] for d in range(x.shape[1]))
    return (0.5 * (s**2).sum(-1) + trace).mean()


def _ref_planar(z, w, u, b):
    return torch.log(torch.abs(1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)))


def _ref_log_z(energy, extent, res):
    points, area = _quadrature.grid(extent, res, dtype=torch.float64)
    return torch.logsumexp(-energy(points), 0) + math.log(area)


def _ref_ddim(s, eps, t, tp, xt):
    a, ap = s.alpha_bars[t].to(xt), s.alpha_bars[tp].to(xt)
    return ap.sqrt() * (xt - (1 - a).sqrt() * eps) / a.sqrt() + (1 - ap).sqrt() * eps


def _sf_terms(fz, eps, sigma):
    return torch.stack([fz * eps / sigma, fz * (eps**2 - 1) / sigma])


# checker, this file's reference, wrong answers (the chapter's stub first), the solution's tokens
CHECKERS = {
    "overview": (_overview.check_mode_average, lambda m, w: w @ m,
                 [lambda m, w: m[0], lambda m, w: m.mean(0), lambda m, w: m[w.argmax()], lambda m, w: w @ m + 1,
                  lambda m, w: (w[:, None] * m).sum(), lambda m, w: w @ m.flip(0)],
                 ["weights@modes", "w_kμ_k", "sum_kw_k", "probability-weighted", "weighteachrow"]),
    "divergences": (check_kl_bernoulli, reference,
                    [lambda a, b: torch.zeros_like(a), lambda a, b: reference(b, a), lambda a, b: -reference(a, b),
                     lambda a, b: a * torch.log(a / b) + (1 - a) * torch.log((1 - a) / (1 - b)),
                     lambda a, b: a * torch.log(a / b), lambda a, b: reference(a, b) + 0.1],
                    ["log(a/b)", "log((1-a)/(1-b))", "xlogy(a,a)", "xlogy(a,b)", "(1-a)*log"]),
    "reparam": (_reparam.check_score_function, lambda fz, e, s: _sf_terms(fz, e, s).mean(1),
                [lambda fz, e, s: torch.zeros(2, dtype=fz.dtype), lambda fz, e, s: -_sf_terms(fz, e, s).mean(1),
                 lambda fz, e, s: (_sf_terms(fz, e, s) * s).mean(1), lambda fz, e, s: (_sf_terms(fz, e, s) / s).mean(1),
                 lambda fz, e, s: torch.stack([(fz * e / s).mean(), (fz * e**2 / s).mean()]),
                 lambda fz, e, s: torch.stack([(fz * e / s).mean(), (fz * e).mean()])],
                ["eps/sigma", "(eps^2-1)", "eps**2-1", "ε/σ", "(ε²-1)", "f(z)*eps"]),
    "vae": (_vae.check_kl_standard_normal, lambda m, v: 0.5 * (m**2 + v.exp() - v - 1).sum(-1),
            [lambda m, v: torch.zeros(m.shape[:-1], dtype=m.dtype), lambda m, v: (m**2 + v.exp() - v - 1).sum(-1),
             lambda m, v: 0.5 * (m**2 + v.exp() - v).sum(-1), lambda m, v: 0.5 * (m**2 + v.exp()).sum(-1),
             lambda m, v: 0.5 * (m**2 + (2 * v).exp() - 2 * v - 1).sum(-1)],
            ["μ²+σ²", "mu**2+", "-log_var-1", "-logσ²-1", "½σ(μ", "½∑(μ"]),
    "gan": (_gan.check_ns_generator_loss, lambda a: F.softplus(-a).mean(),
            [lambda a: torch.zeros((), dtype=a.dtype), lambda a: -torch.log(torch.sigmoid(a)).mean(),
             lambda a: -F.softplus(a).mean(), lambda a: F.softplus(a).mean(), lambda a: -F.softplus(-a).mean(),
             lambda a: torch.log1p(torch.exp(-a)).mean()],
            ["softplus(-a)", "log(1+e^", "log1p(exp(-a))", "-logσ(a)="]),
    "flows": (_flows.check_planar_log_det, _ref_planar,
              [lambda z, w, u, b: torch.zeros(z.shape[0], dtype=z.dtype),
               lambda z, w, u, b: torch.log(1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)),
               lambda z, w, u, b: torch.log(torch.abs(1 + torch.tanh(z @ w + b) * (w @ u))),
               lambda z, w, u, b: torch.log(torch.abs(1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ w))),
               lambda z, w, u, b: _ref_planar(z, w, u, b) + 0.01],
              ["torch.log(torch.abs(", "1-tanh²", "1-tanh(", "h'(a)=", "1+ψᵀu", "det(i+uψᵀ)="]),
    "diffusion": (_ddim.check_ddim_step, _ref_ddim,
                  [lambda s, e, t, tp, x: x, lambda s, e, t, tp, x: _diffusion.predict_x0(s, e, x, t),
                   lambda s, e, t, tp, x: s.alpha_bars[tp] * (x - (1 - s.alpha_bars[t]) * e) / s.alpha_bars[t]
                   + (1 - s.alpha_bars[tp]) * e,
                   lambda s, e, t, tp, x: _ref_ddim(s, e, t, tp, x) + 0.01],
                  ["sqrt(1-alpha_bar", "sqrt(alpha_bar", "(1-a).sqrt()", "a_prev.sqrt()", "directionterm"]),
    "score": (_score.check_implicit_score_matching, _ref_ism,
              [lambda f, x: torch.zeros((), dtype=x.dtype), lambda f, x: 0.5 * (f(x) ** 2).sum(-1).mean(),
               lambda f, x: 0.5 * (f(x) ** 2).sum(-1), lambda f, x: _ref_ism(f, x).detach(),
               lambda f, x: _ref_ism(f, x) + 0.1],
              ["create_graph=true", "s[:,d]", "e[½‖s‖²+tr∇s]", "keepcolumnd", "autograd.grad(s"]),
    "ebm": (_ebm_check.check_log_partition, _ref_log_z,
            [lambda e, ext, r: torch.tensor(0.0), lambda e, ext, r: torch.logsumexp(-e(_quadrature.grid(ext, r)[0]), 0),
             lambda e, ext, r: torch.exp(-e(_quadrature.grid(ext, r, dtype=torch.float64)[0])).sum().log()
             + math.log(_quadrature.grid(ext, r)[1]),
             lambda e, ext, r: _ref_log_z(e, ext, r) + 0.01],
            ["logsumexp(-e", "logsumexp(-energy", "+log(cellarea)", "math.log(area)", "exp().sum().log()",
             "2π-½logdet"]),
    "flow_matching": (_fm.check_cfg, lambda vc, vu, w: vc + w * (vc - vu),
                      [lambda vc, vu, w: vc, lambda vc, vu, w: vu + w * (vc - vu), lambda vc, vu, w: vc + w * (vu - vc),
                       lambda vc, vu, w: w * vc, lambda vc, vu, w: vc + w * vu],
                      ["w(v_c-v_u)", "v_c+w", "vc+w*(vc-vu)", "v_c-v_u", "v_u+w"]),
    "autoregressive": (_ar.check_mixture_log_prob, _ref_mixture,
                       [lambda y, l, m, s: torch.zeros_like(y),
                        lambda y, l, m, s: torch.log((torch.softmax(l, -1) * torch.exp(
                            -0.5 * ((y[:, None] - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))).sum(-1)),
                        lambda y, l, m, s: torch.logsumexp(l - 0.5 * ((y[:, None] - m) / s) ** 2 - torch.log(s)
                                                           - 0.5 * math.log(2 * math.pi), -1),
                        lambda y, l, m, s: _ref_mixture(y, l, m, s) + 0.01],
                       ["log_softmax(logits", "logpi+logn", "-log(s_k)", "exp(-z^2/2)", "torch.logsumexp"]),
}


def _values(out) -> list[float]:
    return [float(v) for v in torch.as_tensor(out).detach().to(torch.float64).flatten().tolist()]


def _spellings(v: float) -> set[str]:
    return {f"{v:.4f}", f"{v:.5f}", f"{v:.6f}", f"{v:.8f}", repr(v), f"{v:.1f}" if abs(v) >= 10 else f"{v:.4f}"}


def test_every_checker_module_is_audited():
    modules = {p.stem for p in (Path(__file__).resolve().parents[1] / "gencore" / "exercises").glob("*.py")}
    assert modules - {"__init__"} == set(CHECKERS)


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_no_failure_message_gives_the_answer_away(name):
    check, ref, wrongs, tokens = CHECKERS[name]
    assert check(ref), f"{name}: this file's reference must pass the checker"
    for k, wrong in enumerate(wrongs):
        calls, outputs = [], []

        def spy(*args, wrong=wrong):
            calls.append(args)
            out = wrong(*args)
            outputs.append(out)
            return out

        verdict = check(spy)
        assert not verdict, f"{name}: wrong answer {k} passed"
        message = _norm(verdict.message)
        for token in tokens:
            assert _norm(token) not in message, f"{name}, wrong answer {k}: {token!r} in {verdict.message!r}"
        # the values the answer would have had, on the inputs the checker gave, except those the
        # wrong answer itself returned (the message may quote what the reader's code gave)
        mine = {s for out in outputs if isinstance(out, torch.Tensor) for v in _values(out) for s in _spellings(v)}
        for args in calls:
            for v in _values(ref(*args)):
                if abs(v) < 1e-3:
                    continue
                leaked = {s for s in _spellings(v) if _norm(s) in message} - mine
                assert not leaked, f"{name}, wrong answer {k}: expected value {v} in {verdict.message!r}"
