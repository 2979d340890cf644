"""The exercise checker of chapter 9 (flow matching): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from . import Verdict, call_reader, float32_kept

__all__ = ["check_cfg"]


def check_cfg(guided: Callable) -> Verdict:
    r"""Check classifier-free guidance ``guided(v_cond, v_uncond, w)``: :math:`v_c + w\,(v_c - v_u)`.

    The book's convention: ``w = 0`` is the conditional model itself; the result keeps the dtype
    of the inputs.
    """
    gen = torch.Generator().manual_seed(0)
    vc, vu = (torch.randn(7, 2, generator=gen, dtype=torch.float64) for _ in range(2))
    for w in (0.0, 2.5, 1.0):
        out, err = call_reader(guided, vc, vu, w)
        if err:
            return Verdict(False, f"with w={w}: {err}.")
        if out.shape != vc.shape:
            return Verdict(False, f"it returned shape {tuple(out.shape)}; the guided velocity has the shape of "
                                  f"v_cond, {tuple(vc.shape)}.")
        want = vc + w * (vc - vu)
        if torch.allclose(out.to(want), want, atol=1e-10):
            continue
        guesses = [
            (vc, "it returned v_cond unchanged; the guidance term is missing (with w > 0 guidance "
                   "pushes the velocity away from what the unconditional model predicts)."),
            (vu + w * (vc - vu), "that is the other convention, in which w = 1 is the conditional model; here "
                                 "w = 0 must give v_cond exactly."),
            (vc + w * (vu - vc), "the sign of the guidance term is flipped: that moves towards the unconditional "
                                 "prediction, while guidance moves away from it."),
            (w * vc, "scaling v_cond by w is not guidance; guidance uses both predictions."),
        ]
        for value, hint in guesses:
            if torch.allclose(out.to(want), value, atol=1e-10):
                return Verdict(False, f"with w={w}: {hint}")
        return Verdict(False, f"with w={w} it returned {out[0].tolist()} for the first row, which is not the guided "
                              "velocity.")
    if (verdict := float32_kept(guided, vc.float(), vu.float(), 1.5)) is not None:
        return verdict
    return Verdict(True, "v_c + w (v_c - v_u): w = 0 is the conditional model, and larger w pushes the samples away "
                         "from what the unconditional model would do.")
