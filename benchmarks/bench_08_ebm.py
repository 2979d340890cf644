"""Chapter 8's trained energies on the moons: exact NLL by quadrature next to the data entropy.

Rows: the chapter's models (PCD-K with MALA negatives for K = 1, 3, 5, and score matching, the
notebook's exact budget) and a longer PCD-5 run (three times the updates); the sliders' redraw
times are not measured here, since benchmarks import no figures. The floor of an NLL is the data
entropy H(p): no model can go below it (an exact floor, so it has no spread). A run whose NLL exceeds ``run.DIVERGED`` nats has collapsed
onto a spike narrower than a grid cell: its row says ``diverged`` and its value is only a sign
of that, not a likelihood.
"""
from __future__ import annotations

import torch

import gencore
from gencore.experiments import ebm as run


def quality() -> list[dict]:
    torch.set_num_threads(1)
    moons, x_train, h = run.chapter_data(generator=gencore.generator(0))
    runs = run.chapter_runs(x_train, progress=False, generator=gencore.generator(0))  # exactly the notebook's models
    nlls = {name: run.exact_nll(r.model, moons.log_prob) for name, r in runs.items()}
    longer = run.train_ebm(x_train, "pcd", k=5, phases=((2100, 1e-2), (900, 1e-3)), progress=False,
                           generator=gencore.generator(0))
    rows = [dict(model=f"EBM, {name} ({len(r.losses)} updates)", dataset="moons",
                 metric="exact NLL (nats), quadrature", value=round(nlls[name], 4), floor=round(h, 4),
                 diverged=nlls[name] > run.DIVERGED)
            for name, r in runs.items()]
    rows.append(dict(model=f"EBM, PCD-5 ({len(longer.losses)} updates)", dataset="moons",
                     metric="exact NLL (nats), quadrature",
                     value=round(run.exact_nll(longer.model, moons.log_prob), 4), floor=round(h, 4)))
    stable = run.stable_run(x_train, generator=gencore.generator(0), progress=False)  # the notebook's two new ways
    nce = run.nce_run(x_train, generator=gencore.generator(0), progress=False)
    rows += [dict(model=f"EBM, {name}", dataset="moons", metric="exact NLL (nats), quadrature",
                  value=round(run.exact_nll(r.log_prob, moons.log_prob), 4), floor=round(h, 4))
             for name, r in (("stable PCD-10: energy penalty, 5 % restarts (700 updates)", stable),
                             ("noise-contrastive estimation (1000 updates)", nce))]
    return rows
