"""Chapter 7's main result: mode weights on a 0.8/0.2 mixture of two far-apart Gaussians.

The target is 0.8 N((−3, 0), 0.5² I) + 0.2 N((3, 0), 0.5² I) (modes 12 standard deviations
apart). 2000 chains start uniformly on [−6, 6] x [−4, 4]. Rows: the share of chains in the heavy
(left) mode after plain Langevin (ε = 0.05, 1000 steps with the exact score; ε = 0.01, 500 steps with the learned
score at the smallest level) and after annealed Langevin (8 levels
from σ = 6 to 0.1, 50 steps each, ε = 0.005), first with the exact score and then with the
noise-conditional score network trained by the chapter (800 Adam steps of multi-level DSM),
plus sliced W2 of the learned annealed samples. The floor is the same metric on 2000 exact
samples (0.8 for the share), or between two exact samples (SW2).
"""
from __future__ import annotations

import torch

from gencore import metrics
from gencore import score as S
from gencore.demos import score as demo


def quality() -> list[dict]:
    torch.manual_seed(0)
    far = demo.far_mixture()
    g = torch.Generator().manual_seed(0)
    sigmas = S.geometric_sigmas(6.0, 0.1, 8, dtype=torch.float64)
    x0 = demo.uniform_start(2000, generator=g)
    exact = lambda y, s: S.mixture_score(S.noised_mixture(far, float(s[0])))(y)  # noqa: E731
    model, _ = demo.fit_ncsn(far.sample((4096,), generator=g), sigmas, progress=False)
    learned_min = lambda y: model(y, torch.full((len(y),), sigmas[-1].item(), dtype=y.dtype))  # noqa: E731
    plain_exact = S.langevin(S.mixture_score(far), x0, 0.05, 1000, g)
    plain_learned = S.langevin(learned_min, x0, 0.01, 500, g)
    annealed_exact = S.annealed_langevin(exact, x0, sigmas, 0.005, 50, g)
    annealed_learned = S.annealed_langevin(model, x0, sigmas, 0.005, 50, g)
    ref, ref2 = far.sample((2000,), generator=g), far.sample((2000,), generator=g)
    floor_share = round(S.mode_share(ref, far.means)[0].item(), 4)
    dataset = "0.8/0.2 mixture, modes 6 apart, std 0.5"
    rows = []
    for name, x in [("plain Langevin, exact score (eps=0.05, K=1000)", plain_exact),
                    ("plain Langevin, learned score at sigma_min (eps=0.01, K=500)", plain_learned),
                    ("annealed Langevin, exact scores (8 levels x 50)", annealed_exact),
                    ("annealed Langevin, learned NCSN (8 levels x 50)", annealed_learned)]:
        rows.append(dict(model=name, dataset=dataset, metric="heavy-mode share (uniform start)",
                         value=round(S.mode_share(x, far.means)[0].item(), 4), floor=floor_share))
    sw = metrics.sliced_wasserstein(annealed_learned, ref, 512, torch.Generator().manual_seed(1)).item()
    sw_floor = metrics.sliced_wasserstein(ref2, ref, 512, torch.Generator().manual_seed(1)).item()
    rows.append(dict(model="annealed Langevin, learned NCSN (8 levels x 50)", dataset=dataset,
                     metric="sliced W2 (2000 samples)", value=round(sw, 4), floor=round(sw_floor, 4)))
    return rows
