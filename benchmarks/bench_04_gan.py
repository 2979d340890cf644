"""Chapter 4's trained models: the six GANs of ``gencore.demos.gan.train_chapter_gans``.

Rows, for the chapter's seed 0: modes captured, share of high-quality samples and reverse KL of
the mode shares (VEEGAN/PacGAN definitions, 2,500 samples, 3σ), for every model on the ring of
8 Gaussians and on the 5x5 grid; the floor is the same metric on 2,500 real samples. For the
non-saturating ring GAN also: the fewest high-quality samples on any mode (the margin of "all 8
modes"), and its modes and high-quality share when the whole run is repeated with seeds 1 and 2.
"""
from __future__ import annotations

import torch

from gencore import data, metrics
from gencore.demos import gan as demo


def _rows(run, seed_label: str) -> list[dict]:
    rows = demo.coverage_rows(run, n=2500, seed=1)
    floors = {r["dataset"]: r for r in rows if r["model"] == "real data"}
    out = []
    for r in rows:
        if r["model"] == "real data":
            continue
        f = floors[r["dataset"]]
        common = dict(model=f"GAN {r['model']} ({seed_label})", dataset=r["dataset"])
        out += [
            common | dict(metric="modes captured", value=r["modes"], floor=f["modes"]),
            common | dict(metric="high-quality share", value=round(r["high_quality"], 4), floor=round(f["high_quality"], 4)),
            common | dict(metric="reverse KL of mode shares", value=round(r["reverse_kl"], 4), floor=round(f["reverse_kl"], 4)),
        ]
    return out


def quality() -> list[dict]:
    torch.set_num_threads(1)
    run = demo.train_chapter_gans(steps=1500, seed=0, progress=False)
    rows = _rows(run, "seed 0")
    ring = data.make("8gaussians")
    x = run.sample(2500, torch.Generator().manual_seed(1))[0]
    counts = metrics.mode_coverage(x, ring.means, ring.std).counts
    rows.append(dict(model="GAN non-saturating (seed 0)", dataset="8gaussians",
                     metric="fewest high-quality samples on a mode", value=int(counts.min()), floor=None))
    for seed in (1, 2):
        other = demo.train_chapter_gans(steps=1500, seed=seed, progress=False)
        rows += [r for r in _rows(other, f"seed {seed}")
                 if r["dataset"] == "8gaussians" and r["model"].startswith("GAN non-saturating (")
                 and r["metric"] != "reverse KL of mode shares"]
    return rows
