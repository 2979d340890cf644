"""The exercise checker of chapter 6 (diffusion): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from ..diffusion import NoiseSchedule, ddim_step as reference, predict_x0
from . import Verdict, call_reader, float32_kept

__all__ = ["check_ddim_step"]


def check_ddim_step(ddim_step: Callable) -> Verdict:
    r"""Check a deterministic DDIM update ``ddim_step(schedule, eps, t, t_prev, xt)`` (:math:`\eta = 0`).

    The expected answer is :math:`\sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}}\,\epsilon`
    with :math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\epsilon)/\sqrt{\bar\alpha_t}` and
    :math:`t' =` ``t_prev``, for ints ``t > t_prev >= 0``, keeping the dtype of ``xt``.
    """

    s = NoiseSchedule.linear()
    gen = torch.Generator().manual_seed(0)
    xt, eps = (torch.randn(6, 2, generator=gen, dtype=torch.float64) for _ in range(2))
    for t, tp in ((1000, 980), (500, 250), (40, 0)):
        out, err = call_reader(ddim_step, s, eps, t, tp, xt)
        if err:
            return Verdict(False, f"with t={t}, t_prev={tp}: {err}.")
        if out.shape != xt.shape:
            return Verdict(False, f"it returned shape {tuple(out.shape)}; x_t' has the shape of xt, {tuple(xt.shape)}.")
        again, _ = call_reader(ddim_step, s, eps, t, tp, xt)
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
            return Verdict(False, f"it returns the predicted x_0, not x at t_prev={tp}: the step must also "
                                  "carry the predicted x_0 back to noise level t_prev.")
        ab, abp = s.alpha_bars[t], s.alpha_bars[tp]
        squared = abp * (xt - (1 - ab) * eps) / ab + (1 - abp) * eps
        if torch.allclose(out.to(want), squared, atol=1e-6):
            return Verdict(False, "a square root is missing: the coefficients of the forward marginal are "
                                  "scales (standard deviations), not variances.")
        i = int((out.to(want) - want).abs().max(1).values.argmax())
        return Verdict(False, f"with t={t}, t_prev={tp} row {i} is {out[i].tolist()}, which is not the "
                              "deterministic DDIM update.")
    advice = "the schedule is float64, so convert its entries to xt's dtype rather than fixing a dtype"
    if (verdict := float32_kept(ddim_step, s, eps.float(), 500, 250, xt.float(), advice=advice)) is not None:
        return verdict
    return Verdict(True, "Your DDIM step matches the deterministic update for long and short jumps, including "
                         "t_prev = 0, and keeps the input dtype.")
