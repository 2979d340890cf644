"""Chapter 9's main trained model: the flow-matching velocity MLP on "moons", against chapter 6's DDIM.

Both models get bench_06's training budget (STAGES: 6,000 Adam steps on minibatches of 4,096, a
step decay of the learning rate, an EMA of the weights with decay 0.999) and the same network
size (3 hidden layers of 128); chapter 6's model is trained by ``gencore.experiments.diffusion.train_denoiser``
exactly as in ``bench_06_diffusion.py``. The protocol is bench_06's, reimplemented here (not a
call to its ``quality()``, which would also run DDPM's 1000 steps): 10,000 samples from one
shared batch of noise, sliced Wasserstein-2 to 10,000 data samples with 512 directions. Every
SW2 here uses the same 512 directions (``metrics.sliced_w2``'s fixed ones), so rows differ only by
their samples. The floor is the same metric between two independent 10,000-point data samples, given
as the mean (``floor``) and standard deviation (``floor_sd``) over 20 pairs
(``metrics.floor_spread``): a row differs from another, or from the floor, only where the
difference exceeds 2 ``floor_sd`` (``separates_from_floor`` says so for each row). Rows: SW2 against the number of function evaluations (NFE) for flow matching
with Euler at several step counts, the midpoint and Heun rules and the adaptive Dormand-Prince
solver, and DDIM (eta = 0) with 50 and 20 steps. (The slider redraw times moved out with the figures: benchmarks stay headless.)
"""
from __future__ import annotations

import torch

from gencore import data, metrics
from gencore import diffusion as D
from gencore import flow_matching as F
from gencore.experiments import diffusion as drun
from gencore.experiments import flow_matching as run

STAGES = ((2e-3, 3000), (6e-4, 2000), (2e-4, 1000))
BATCH, DECAY, N, HIDDEN = 4096, 0.999, 10_000, 128
FM_RUNS = [("euler", n, None) for n in (4, 8, 16, 32, 64)] + [("midpoint", n, None) for n in (4, 8, 12, 16, 25)] \
    + [("heun", 16, None), ("rk45", 4, 1e-2), ("rk45", 4, 1e-3), ("rk45", 4, 1e-4)]


def quality() -> list[dict]:
    torch.set_num_threads(1)
    moons = data.make("moons")
    schedule = D.NoiseSchedule.linear()
    fm, _, _ = run.train_velocity(moons, STAGES, batch=BATCH, hidden=HIDDEN, decay=DECAY,
                                  generator=torch.Generator().manual_seed(0), progress=False)
    eps_model, _, _ = drun.train_denoiser(moons, schedule, stages=STAGES, batch=BATCH, decay=DECAY,
                                          generator=torch.Generator().manual_seed(0), progress=False)
    gen = torch.Generator().manual_seed(1)
    ref = moons.sample((N,), generator=gen)
    xT = torch.randn(N, 2, generator=gen)
    sw = lambda x, y: metrics.sliced_w2(x, y, 512).item()
    floor = metrics.floor_spread(sw, lambda n, g: moons.sample((n,), generator=g), N, repeats=20, generator=gen)
    spread = dict(floor=round(floor.mean, 4), floor_sd=round(floor.sd, 4))
    f = lambda x, t: fm(x, t)
    rows = []
    with torch.no_grad():
        for method, n, tol in FM_RUNS:
            kw = dict(rtol=tol, atol=tol) if tol else {}
            x, nfe = F.sample_ode(f, xT, n, method, return_nfe=True, **kw)
            name = f"rk45 tol {tol:g}" if tol else f"{method}, {n} steps"
            rows.append(dict(model=f"FM velocity-MLP 3x{HIDDEN}, 6000 steps + EMA; {name}", dataset="moons",
                             metric=f"sliced W2 (10k samples) at NFE {nfe}", value=round(sw(x, ref), 4), **spread))
        for steps in (50, 20):
            x = D.sample(eps_model, schedule, xT, steps=steps, eta=0.0)
            rows.append(dict(model=f"eps-MLP 3x128, 6000 steps + EMA (bench_06); DDIM (eta=0), {steps} steps",
                             dataset="moons", metric=f"sliced W2 (10k samples) at NFE {steps}",
                             value=round(sw(x, ref), 4), **spread))
    for row in rows:
        row["separates_from_floor"] = floor.separates(row["value"], floor.mean)
    return rows


if __name__ == "__main__":
    for row in quality():
        print(row)
