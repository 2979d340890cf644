"""Chapter 7's main result: mode weights on a 0.8/0.2 mixture of two far-apart Gaussians.

The target is 0.8 N((−3, 0), 0.5² I) + 0.2 N((3, 0), 0.5² I) (modes 12 standard deviations
apart). 2000 chains start uniformly on [−6, 6] x [−4, 4]. Rows: the share of chains in the heavy
(left) mode after plain Langevin (ε = 0.05, 1000 steps with the exact score; ε = 0.01, 500 steps with the learned
score at the smallest level) and after annealed Langevin (8 levels
from σ = 6 to 0.1, 50 steps each, ε = 0.005), first with the exact score and then with the
noise-conditional score network trained by the chapter (800 Adam steps of multi-level DSM),
plus sliced W2 of the learned annealed samples. The floor is the same metric on 2000 exact
samples: for the share 0.8 with the binomial standard deviation sqrt(0.8 x 0.2 / 2000) as
``floor_sd``; for SW2 the mean and standard deviation over 20 pairs of exact samples
(``metrics.floor_spread``). A value differs from the floor only where it is more than 2 sd away.
"""
from __future__ import annotations

import math

import torch

import gencore
from gencore import mcmc, metrics
from gencore import score as S
from gencore.experiments import score as run


def quality() -> list[dict]:
    far = run.far_mixture()
    g = gencore.generator(0)
    sigmas = mcmc.geometric_sigmas(6.0, 0.1, 8, dtype=torch.float64)
    x0 = run.uniform_start(2000, generator=g)
    exact = lambda y, s: S.mixture_score(S.noised_mixture(far, float(s[0])))(y)  # noqa: E731
    model, _ = run.fit_ncsn(far.sample((4096,), generator=g), sigmas, generator=gencore.generator(0), progress=False)
    learned_min = lambda y: model(y, torch.full((len(y),), sigmas[-1].item(), dtype=y.dtype))  # noqa: E731
    plain_exact = mcmc.langevin(S.mixture_score(far), x0, 0.05, 1000, g)
    plain_learned = mcmc.langevin(learned_min, x0, 0.01, 500, g)
    annealed_exact = mcmc.annealed_langevin(exact, x0, sigmas, 0.005, 50, g)
    annealed_learned = mcmc.annealed_langevin(model, x0, sigmas, 0.005, 50, g)
    ref = far.sample((2000,), generator=g)
    share_sd = math.sqrt(0.8 * 0.2 / 2000)
    dataset = "0.8/0.2 mixture, modes 6 apart, std 0.5"
    rows = []
    for name, x in [("plain Langevin, exact score (eps=0.05, K=1000)", plain_exact),
                    ("plain Langevin, learned score at sigma_min (eps=0.01, K=500)", plain_learned),
                    ("annealed Langevin, exact scores (8 levels x 50)", annealed_exact),
                    ("annealed Langevin, learned NCSN (8 levels x 50)", annealed_learned)]:
        share = S.mode_share(x, far.means)[0].item()
        rows.append(dict(model=name, dataset=dataset, metric="heavy-mode share (uniform start)",
                         value=round(share, 4), floor=0.8, floor_sd=round(share_sd, 4),
                         vs_floor="within 2 sd" if abs(share - 0.8) <= 2 * share_sd else "off"))
    sw_fn = lambda a, b: metrics.sliced_w2(a, b, 512).item()  # noqa: E731 (fixed projections)
    floor = metrics.floor_spread(sw_fn, lambda n, gg: far.sample((n,), generator=gg), 2000, 20, g)
    sw = sw_fn(annealed_learned, ref)
    rows.append(dict(model="annealed Langevin, learned NCSN (8 levels x 50)", dataset=dataset,
                     metric="sliced W2 (2000 samples)", value=round(sw, 4), floor=round(floor.mean, 4),
                     floor_sd=round(floor.sd, 4), floor_repeats=floor.repeats,
                     vs_floor="reaches" if floor.reaches(sw) else "above"))
    return rows
