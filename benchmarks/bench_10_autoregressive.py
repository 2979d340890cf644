"""Chapter 10's models: the 2D autoregressive model on "moons" and MADE's sampling time against dimension.

Quality rows, all on the same "moons" test data: the mixture-density AR model's exact NLL (the
cross-entropy H(p, q) by quadrature) next to the data's entropy H(p); the same for chapter 5's
affine coupling flow, trained exactly as in chapter 5's benchmark; and chapter 6's DDPM model
(the notebook's 2,000 Adam steps), for which only the variational bound is available: its
one-sample estimate on 2,000 test points is an UPPER bound on the NLL, not a likelihood. Then the
discretized (binned) AR models and the two orderings on the parabola (exact KL, floor 0).

(The sliders' redraw times are not measured here: a benchmark imports no figures, so it runs headless.)

Timing rows: milliseconds to draw a batch of 64 samples with MADE (D sequential passes) and one
pass of the same network (in the "floor" column), for D = 16 ... 576 pixels. They measure the
machine, which is shared.
"""
from __future__ import annotations

import torch

from gencore import data
from gencore import diffusion as D
from gencore.experiments import autoregressive as ar
from gencore.experiments import diffusion as dexp
from gencore.experiments import flows as fexp


def quality() -> list[dict]:
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)  # chapters 5 and 6's recipes below build float32 models from it
    try:
        return _quality()
    finally:
        torch.set_default_dtype(old)


def _quality() -> list[dict]:
    torch.set_num_threads(1)
    run, p, x_train, x_test = ar.train_moons(generator=torch.Generator().manual_seed(0), progress=False)
    rep = ar.nll_report(run.model, p, x_test)
    H = round(rep.entropy, 4)
    steps, short = sum(n for _, n in ar.STAGES), sum(n for _, n in ar.SHORT_STAGES)
    rows = [dict(model=f"AR, MDN K=8, MLP 32x2 ({steps} full-batch Adam steps)", dataset="moons",
                 metric="test NLL, exact H(p,q) nats", value=round(rep.cross_entropy, 4), floor=H)]
    bins = ar.bins_runs(x_train, generator=torch.Generator().manual_seed(0), progress=False)
    bins_reports = ar.nll_reports({B: r.model for B, r in bins.items()}, p, x_test)
    for B, r in bins_reports.items():
        rows.append(dict(model=f"AR, {B} bins ({short} steps)", dataset="moons", metric="test NLL, exact H(p,q) nats",
                         value=round(r.cross_entropy, 4), floor=H))

    flow = fexp.train_coupling("moons", layers=8, hidden=64, steps=1500, lr=3e-3, ema_decay=0.995,
                               generator=torch.Generator().manual_seed(0), progress=False)
    rows.append(dict(model="chapter 5: affine coupling flow, 8 layers x 64 (1500 Adam steps)", dataset="moons",
                     metric="test NLL, exact H(p,q) nats", value=round(fexp.coupling_report(flow).cross_entropy, 4),
                     floor=H))

    schedule = D.NoiseSchedule.linear()
    moons = data.make("moons")
    model, _, _ = dexp.train_denoiser(moons, schedule, generator=torch.Generator().manual_seed(0), progress=False)
    with torch.no_grad():
        bound = dexp.vlb_terms(model, schedule, x_test[:2000].float(), generator=torch.Generator().manual_seed(3)).sum(1)
    rows.append(dict(model="chapter 6: eps-MLP 3x128, 2000 steps + EMA", dataset="moons",
                     metric="variational bound (>= NLL), nats, 2k points", value=round(bound.mean().item(), 4), floor=H))

    orders, parabola, x_par = ar.ordering_runs(generator=torch.Generator().manual_seed(0), progress=False)
    table = ar.ordering_table(orders, parabola, x_par)
    for (order, K), (kl, _) in table.items():
        name = "x1 -> x2" if order == (0, 1) else "x2 -> x1"
        rows.append(dict(model=f"AR, MDN K={K}, order {name}", dataset="parabola", metric="exact KL(p||q) nats",
                         value=round(kl, 4), floor=0.0))

    for side, dim, t_seq, t_one in ar.sampling_times(generator=torch.Generator().manual_seed(0)):
        rows.append(dict(model=f"MADE 128x2, sampling 64 images, D={dim}", dataset=f"{side}x{side} binary",
                         metric="ms, sequential (D passes)", value=round(1000 * t_seq, 2), floor=round(1000 * t_one, 3)))
    return rows
