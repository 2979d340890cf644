"""How far plain GAN training gets on the 8-Gaussian ring and the 5x5 grid, and at what cost
(issue 18's GAN rows).

Not a chapter benchmark: a probe of the compute the PacGAN/VEEGAN protocol's high-quality share
needs. One non-saturating GAN per setting (leaky-ReLU MLPs, Adam with betas (0.5, 0.9), learning
rate 1e-3 decaying linearly to 0, one discriminator step per generator step, fresh data every
step, one thread), seed 0, scored on 2,500 samples by ``gencore.metrics.mode_coverage`` (3 sigma;
sigma = 0.02 on the ring, 0.05 on the grid). The first row of each dataset is chapter 4's size and
length; the others add steps, width, depth and batch. Prints a line per setting and writes
``benchmarks/gan_probe.json``.

    .venv/bin/python benchmarks/gan_probe.py
"""
from __future__ import annotations

import json
import pathlib
import time

import torch
import torch.nn.functional as F
from torch import nn

from gencore import data, metrics

OUT = pathlib.Path(__file__).with_name("gan_probe.json")
SETTINGS = [  # (dataset, hidden width, hidden layers, batch, generator steps)
    ("8gaussians", 64, 2, 256, 1500),
    ("8gaussians", 64, 2, 256, 4000),
    ("8gaussians", 128, 3, 512, 3000),
    ("8gaussians", 128, 3, 256, 10000),
    ("25gaussians", 64, 2, 256, 1500),
    ("25gaussians", 64, 2, 256, 4000),
    ("25gaussians", 128, 3, 256, 10000),
]


def mlp(n_in: int, n_out: int, width: int, layers: int) -> nn.Sequential:
    mods, d = [], n_in
    for _ in range(layers):
        mods += [nn.Linear(d, width), nn.LeakyReLU(0.2)]
        d = width
    return nn.Sequential(*mods, nn.Linear(d, n_out))


def probe(dataset: str, width: int, layers: int, batch: int, steps: int, seed: int = 0) -> dict:
    ring = data.make(dataset)
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # nn.Linear draws its initial weights from the global generator
        torch.manual_seed(seed)
        G, D = mlp(2, 2, width, layers), mlp(2, 1, width, layers)
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.9))
    decay = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1 - s / steps) for o in (opt_g, opt_d)]
    t0 = time.perf_counter()
    for _ in range(steps):
        x = ring.sample((batch,), generator=g)
        fake = G(torch.randn(batch, 2, generator=g))
        loss_d = F.softplus(-D(x)).mean() + F.softplus(D(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(G(torch.randn(batch, 2, generator=g)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for s in decay:
            s.step()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        mc = metrics.mode_coverage(G(torch.randn(2500, 2, generator=g)), ring.means, ring.std)
    return dict(dataset=dataset, width=width, layers=layers, batch=batch, steps=steps, seed=seed, seconds=round(seconds, 1),
                modes=mc.modes_captured, high_quality=round(mc.high_quality, 3), reverse_kl=round(mc.reverse_kl, 3))


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for setting in SETTINGS:
        rows.append(probe(*setting))
        print(rows[-1], flush=True)
    OUT.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
