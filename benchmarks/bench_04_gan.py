"""Chapter 4's trained models: the six GANs of ``gencore.experiments.gan.train_chapter_gans``.

Rows, for the chapter's seed 0: modes captured, share of high-quality samples and reverse KL of
the mode shares (VEEGAN/PacGAN definitions, 2,500 samples, 3σ), for every model on the ring of
8 Gaussians and on the 5x5 grid; ``value_sd`` is the sampling sd of the model's entry over 20
fresh sets of 2,500 samples, and the floor is the same metric on real data, as mean (``floor``)
and sd (``floor_sd``) over 20 sets of 2,500 real samples. For the
non-saturating ring GAN also: the fewest high-quality samples on any mode (the margin of "all 8
modes"), and its modes and high-quality share when the whole run is repeated with seeds 1 and 2.
"""
from __future__ import annotations

import torch

import gencore
from gencore.experiments import gan as run


def _rows(gans, seed_label: str) -> list[dict]:
    rows = run.coverage_rows(gans, n=2500, generator=gencore.generator(1))
    spread = run.coverage_spread(gans, n=2500, repeats=20, generator=gencore.generator(2))
    floors = {r["dataset"]: r for r in rows if r["model"] == "real data"}
    out = []
    for r in rows:
        if r["model"] == "real data":
            continue
        f, fs, ms = floors[r["dataset"]], spread[("real data", r["dataset"])], spread[r["index"]]
        common = dict(model=f"GAN {r['model']} ({seed_label})", dataset=r["dataset"])
        out += [common | dict(metric="modes captured", value=r["modes"], floor=f["modes"])]
        for metric, key in (("high-quality share", "high_quality"), ("reverse KL of mode shares", "reverse_kl")):
            out.append(common | dict(metric=metric, value=round(r[key], 4), value_sd=round(ms[key][1], 4),
                                     floor=round(fs[key][0], 4), floor_sd=round(fs[key][1], 4)))
    return out


def quality() -> list[dict]:
    torch.set_num_threads(1)
    gans = run.train_chapter_gans(steps=1500, generator=gencore.generator(0), progress=False)
    rows = _rows(gans, "seed 0")
    fewest = run.coverage_rows(gans, n=2500, generator=gencore.generator(1))[1]["fewest"]  # model 0
    rows.append(dict(model="GAN non-saturating (seed 0)", dataset="8gaussians",
                     metric="fewest high-quality samples on a mode", value=fewest, floor=None))
    for seed in (1, 2):
        other = run.train_chapter_gans(steps=1500, generator=gencore.generator(seed), progress=False)
        rows += [r for r in _rows(other, f"seed {seed}")
                 if r["dataset"] == "8gaussians" and r["model"].startswith("GAN non-saturating (")
                 and r["metric"] != "reverse KL of mode shares"]
    return rows
