"""The exercise checker of chapter 0 (overview): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from . import Verdict, call_reader, float32_kept

__all__ = ["check_mode_average"]


def check_mode_average(mode_average: Callable) -> Verdict:
    r"""Check ``mode_average(modes, weights)`` = :math:`\sum_k w_k \mu_k`, the squared-error-optimal prediction.

    ``modes`` is ``(K, D)``, ``weights`` is ``(K,)`` (non-negative, summing to one); the answer is
    ``(D,)`` and keeps the input dtype.
    """
    modes = torch.tensor([[-2.0, 0.0], [1.0, 1.0], [3.0, -1.0]], dtype=torch.float64)
    weights = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    want = weights @ modes
    out, err = call_reader(mode_average, modes.clone(), weights.clone())
    if err:
        return Verdict(False, err + ".")
    if out.shape != want.shape:
        return Verdict(False, f"it returned shape {tuple(out.shape)}; the prediction is one point of shape "
                              f"{tuple(want.shape)}, not one value per mode or a single number.")
    got = out.detach().to(want)
    guesses = [
        (modes[weights.argmax()], "That is the most likely mode. It minimizes the 0-1 loss, not the squared "
                                  "error: a prediction on one mode is far from all the others."),
        (modes[0], "That is the first mode (the starting line, unchanged?). Which single point has the smallest "
                   "expected squared error when the target can be any of the modes?"),
        (modes.mean(0), "That is the unweighted mean of the modes: it ignores that the modes are not equally likely."),
        (weights @ modes.flip(0), "The weights are paired with the wrong modes: weights[k] belongs to modes[k]."),
    ]
    if not torch.allclose(got, want, atol=1e-10):
        for value, hint in guesses:
            if value.shape == got.shape and torch.allclose(got, value, atol=1e-10):
                return Verdict(False, hint)
        return Verdict(False, f"it returned {got.tolist()}, which is not the point of smallest expected squared "
                              "error for these modes and weights.")
    if (verdict := float32_kept(mode_average, modes.float(), weights.float())) is not None:
        return verdict
    return Verdict(True, "The weighted mean of the modes, Σ_k w_k μ_k: the best single guess under squared "
                         "error, and (for separated modes) a point where the target never is.")
