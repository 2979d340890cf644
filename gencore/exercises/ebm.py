"""The exercise checker of chapter 8 (energy-based models): it says what is wrong, never the answer."""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..ebm import log_partition as reference, quadratic_energy, quadratic_log_partition
from ..quadrature import grid
from . import Verdict, call_reader

__all__ = ["check_log_partition"]


def check_log_partition(log_partition: Callable) -> Verdict:
    r"""Check ``log_partition(energy_fn, extent, resolution)`` = :math:`\log\int_{box} e^{-E(x)}dx` by the midpoint rule.

    Tested on quadratic energies, whose :math:`\log Z = \log 2\pi - \tfrac12\log\det A` is known,
    including one so deep that :math:`e^{-E}` overflows unless the sum is taken in log space.
    """

    A = torch.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=torch.float64)
    energy = quadratic_energy(torch.tensor([0.3, -0.2], dtype=torch.float64), A)
    extent, res = (-6.0, 6.0, -6.0, 6.0), 120
    want = float(quadratic_log_partition(A))
    out, err = call_reader(log_partition, energy, extent, res)
    if err:
        return Verdict(False, err + ".")
    if out.numel() != 1:
        return Verdict(False, f"it returned shape {tuple(out.shape)}; log Z is a single number (a scalar tensor).")
    got = float(out)
    if bool(torch.as_tensor(got).isnan()) or math.isinf(got):
        return Verdict(False, f"it returned {got}: e^{{-E}} overflowed or underflowed. Take the sum in log space.")

    mids, area = grid(extent, res, dtype=torch.float64)
    xs = torch.linspace(-6, 6, res, dtype=torch.float64)
    yy, xx = torch.meshgrid(xs, xs, indexing="ij")
    ends = torch.stack([xx, yy], -1).reshape(-1, 2)
    lse = float(torch.logsumexp(-energy(mids), 0))
    guesses = [
        (float(reference(energy, extent, res)), None),
        (lse, "the cell area is missing from the midpoint rule."),
        (lse - math.log(res**2), "you averaged over the cells; the midpoint rule sums over them."),
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
                              f"{got:.6f}, which is not log Z: compare with the closed form of a quadratic energy.")
    deep = lambda x: energy(x) - 800.0  # e^{-E} overflows float64 near the minimum
    out, err = call_reader(log_partition, deep, extent, res)
    if err:
        return Verdict(False, "for an energy shifted down by 800: " + err + ".")
    if not math.isfinite(float(out)) or abs(float(out) - (want + 800.0)) > 1e-3:
        return Verdict(False, f"with the energy shifted down by 800 it returned {float(out)}: e^{{800}} overflows "
                              "float64, so take the sum in log space.")
    if abs(got - guesses[0][0]) > 1e-6:
        return Verdict(False, f"close ({got:.6f}), but not the midpoint rule on this grid: "
                              "use the cell centres (gencore.quadrature.grid) and the cell area.")
    return Verdict(True, "Your log Z matches the closed form for a quadratic energy, stays finite when e^{-E} "
                         "would overflow, and uses the cell midpoints and the cell area.")
