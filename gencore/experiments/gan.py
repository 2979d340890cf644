"""Chapter 4's runs: the six GANs the chapter trains at once, their mode coverage and the tables.

The trainer itself (:func:`train_gans`, :class:`GANRun`) is in
:mod:`gencore.experiments.gan_training`; it is exported here too, as the chapter's one door.

Book: ``book/04_gan.ipynb``.
"""
from __future__ import annotations

import math

import torch

from .. import data, gan, metrics
from .gan_training import GANRun, train_gans

__all__ = ["MODELS", "RING_BOX", "WIDE_BOX", "GRID_BOX", "GANRun", "train_gans", "train_chapter_gans",
           "coverage_rows", "coverage_spread", "coverage_table", "ring_claims", "collapse_stats",
           "published_table", "PUBLISHED", "radius_sweep", "share_history"]


RING_BOX = data.make("8gaussians").box  # (-3, 3, -3, 3)
WIDE_BOX = (-8.0, 8.0, -8.0, 8.0)  # for the slow-discriminator GAN, whose samples wander off
GRID_BOX = data.make("25gaussians").box  # (-5.5, 5.5, -5.5, 5.5)

# The six GANs the chapter trains at once: (name, dataset, loss, lr_g, lr_d).
MODELS = (
    ("non-saturating", "8gaussians", "non-saturating", 3e-3, 3e-3),
    ("saturating", "8gaussians", "saturating", 3e-3, 3e-3),
    ("WGAN-GP", "8gaussians", "wgan-gp", 1e-3, 3e-3),
    ("non-saturating, slow D", "8gaussians", "non-saturating", 1e-3, 1e-4),
    ("non-saturating", "25gaussians", "non-saturating", 3e-3, 3e-3),
    ("WGAN-GP", "25gaussians", "wgan-gp", 1e-3, 3e-3),
)


def _box(model) -> tuple:
    if model[1] == "25gaussians":
        return GRID_BOX
    return WIDE_BOX if "slow" in model[0] else RING_BOX


def train_chapter_gans(steps: int = 1500, generator: torch.Generator | None = None, progress: bool = True,
                       device: torch.device | str | None = None, **kw) -> GANRun:
    """Train the chapter's six GANs (``MODELS``) in one batched computation.

    Generator 2 -> 64 -> 64 -> 2 and discriminator 2 -> 64 -> 64 -> 1 (leaky ReLU), minibatches
    of 256, k = 1, Adam (β = 0.5, 0.9) with learning rates decaying linearly to zero, λ = 0.1
    for WGAN-GP; snapshots every 50 steps. ``generator`` draws everything random (see
    :func:`train_gans`); the book passes ``gencore.generator(0)``. The models train on ``device``
    (the CPU when ``None``), the data drawn from ``generator`` on its own device and moved there,
    so a CPU generator gives the same numbers on every device.
    """
    sets = {name: data.make(name, device=device) for name in ("8gaussians", "25gaussians")}
    return train_gans(
        [sets[m[1]] for m in MODELS], [m[2] for m in MODELS], 1, steps=steps, batch_size=256,
        latent_dim=2, g_hidden=(64, 64), d_hidden=(64, 64), lr_g=[m[3] for m in MODELS],
        lr_d=[m[4] for m in MODELS], gp_weight=0.1, lr_decay=True, snapshot_every=50,
        snapshot_samples=1000, extent=[_box(m) for m in MODELS],
        grid_resolution=48, generator=generator, progress=progress, desc="six GANs at once", **kw)


def coverage_rows(run: GANRun, n: int = 2500, generator: torch.Generator | None = None) -> list[dict]:
    """VEEGAN/PacGAN metrics of every model on ``n`` fresh samples, and of ``n`` real samples.

    Each row also holds ``fewest``, the fewest high-quality samples on any mode (the margin of
    "all modes"). ``generator`` draws the samples (the book passes ``gencore.generator(1)``).
    """
    g = generator
    x = run.sample(n, g)
    rows = []
    for name in ("8gaussians", "25gaussians"):
        ds = data.make(name)
        mc = metrics.mode_coverage(ds.sample((n,), generator=g), ds.means, ds.std)
        rows.append(dict(model="real data", dataset=name, modes=mc.modes_captured, of=mc.n_modes,
                         high_quality=mc.high_quality, reverse_kl=mc.reverse_kl, fewest=int(mc.counts.min())))
        for i, m in enumerate(MODELS):
            if m[1] == name:
                mc = metrics.mode_coverage(x[i], ds.means, ds.std)
                rows.append(dict(model=m[0], dataset=name, modes=mc.modes_captured, of=mc.n_modes,
                                 high_quality=mc.high_quality, reverse_kl=mc.reverse_kl,
                                 fewest=int(mc.counts.min()), index=i))
    return rows


def coverage_spread(run: GANRun, n: int = 2500, repeats: int = 20,
                    generator: torch.Generator | None = None) -> dict:
    """The sampling noise of the table's metrics: mean and sd over ``repeats`` fresh sets of ``n``.

    For every model ``i`` and, under the key ``("real data", dataset)``, for the data itself
    (the floor of each metric), the standard deviation of the high-quality share and of the
    reverse KL over independent draws of ``n`` samples. Returns ``{key: {"high_quality": (mean,
    sd), "reverse_kl": (mean, sd)}}`` with ``key`` the model index or ``("real data", name)``.
    ``generator`` draws the samples (the book passes ``gencore.generator(2)``).
    """
    g = generator
    values: dict = {}

    def add(key, x, ds):
        mc = metrics.mode_coverage(x, ds.means, ds.std)
        values.setdefault(key, []).append((mc.high_quality, mc.reverse_kl))

    sets = {name: data.make(name) for name in ("8gaussians", "25gaussians")}
    for _ in range(repeats):
        x = run.sample(n, g)
        for i, m in enumerate(MODELS):
            add(i, x[i], sets[m[1]])
        for name, ds in sets.items():
            add(("real data", name), ds.sample((n,), generator=g), ds)
    out = {}
    for key, v in values.items():
        t = torch.tensor(v, dtype=torch.float64)
        out[key] = {"high_quality": (t[:, 0].mean().item(), t[:, 0].std().item()),
                    "reverse_kl": (t[:, 1].mean().item(), t[:, 1].std().item())}
    return out


def _apart(a: float, b: float, sd_a: float, sd_b: float, k: float = 2.0) -> bool:
    """Whether two noisy values differ by more than ``k`` standard deviations of their difference."""
    return abs(a - b) > k * math.hypot(sd_a, sd_b)


def collapse_stats(run: GANRun, i: int = 3, after: int = 600) -> dict:
    """Model ``i``'s collapse and hopping over its snapshots.

    Returns the median (over snapshots) share of the most popular mode, the number of distinct
    modes that are the favourite of some snapshot, the number of snapshots, and the smallest and
    largest median distance of the samples from the centre over snapshots from step ``after`` on.
    """
    steps, share = share_history(run, i)
    radius = torch.stack([x[i].norm(dim=1).median() for step, x, _ in run.snapshots if step >= after])
    return dict(top=share.max(0).values.median().item(), favourites=len(set(share.argmax(0).tolist())),
                snapshots=len(steps), r_min=radius.min().item(), r_max=radius.max().item(), after=after)


def ring_claims(run: GANRun, rows: list[dict], spread: dict) -> dict:
    """The numbers and comparisons the chapter states about its six GANs, from ``coverage_rows``.

    ``spread`` is :func:`coverage_spread` of the same run: a comparison of two models by a sample
    metric is called a difference only where it exceeds twice the sd of the difference.
    """
    by = {(r["dataset"], r["model"]): r for r in rows}
    ns, sat = by[("8gaussians", "non-saturating")], by[("8gaussians", "saturating")]
    wgan, slow = by[("8gaussians", "WGAN-GP")], by[("8gaussians", "non-saturating, slow D")]
    gns, gw = by[("25gaussians", "non-saturating")], by[("25gaussians", "WGAN-GP")]
    sd = {i: spread[i] for i in range(len(MODELS))}

    def sd_of(row, metric):
        return sd[row["index"]][metric][1]

    best_other = min((ns, sat), key=lambda r: r["reverse_kl"])
    if wgan["reverse_kl"] < best_other["reverse_kl"] and _apart(
            wgan["reverse_kl"], best_other["reverse_kl"], sd_of(wgan, "reverse_kl"), sd_of(best_other, "reverse_kl")):
        even = "the most even spread of the three balanced ring models (the smallest reverse KL, by more than " \
               "twice the sampling sd of the difference)"
    elif wgan["reverse_kl"] <= best_other["reverse_kl"]:
        even = "a spread at least as even as the other ring models' (the smallest reverse KL, though within " \
               "twice the sampling sd of the next)"
    else:
        even = "a less even spread than the best of the other ring models (a larger reverse KL)"
    steps, share = share_history(run, ns["index"])
    d_loss = run.d_loss[:, ns["index"]]
    early = d_loss[: max(1, len(d_loss) // 15)].mean().item()
    return dict(
        ns_modes=ns["modes"], ns_hq=ns["high_quality"], ns_rkl=ns["reverse_kl"],
        ns_fewest=ns["fewest"],
        ns_spread_min=share[:, steps >= 300].min().item(),
        d_loss_early=early, d_loss_late=d_loss[-300:].mean().item(),
        sat_modes=sat["modes"], sat_hq=sat["high_quality"], sat_rkl=sat["reverse_kl"],
        sat_close=abs(sat["high_quality"] - ns["high_quality"]) < 0.1,
        wgan_modes=wgan["modes"], wgan_hq=wgan["high_quality"], wgan_rkl=wgan["reverse_kl"],
        wgan_evenest=all(wgan["reverse_kl"] < r["reverse_kl"]
                         and _apart(wgan["reverse_kl"], r["reverse_kl"], sd_of(wgan, "reverse_kl"), sd_of(r, "reverse_kl"))
                         for r in (ns, sat)),
        wgan_hq_below=wgan["high_quality"] < ns["high_quality"]
        and _apart(wgan["high_quality"], ns["high_quality"], sd_of(wgan, "high_quality"), sd_of(ns, "high_quality")),
        slow_modes=slow["modes"], slow_hq=slow["high_quality"], slow_rkl=slow["reverse_kl"],
        grid_ns_modes=gns["modes"], grid_ns_hq=gns["high_quality"],
        grid_w_modes=gw["modes"], grid_w_hq=gw["high_quality"],
        grid_w_hq_below=gw["high_quality"] < gns["high_quality"]
        and _apart(gw["high_quality"], gns["high_quality"], sd_of(gw, "high_quality"), sd_of(gns, "high_quality")),
        wgan_even_phrase=even,
        hq_sd=max(v["high_quality"][1] for v in sd.values()),
        rkl_sd=max(v["reverse_kl"][1] for v in sd.values()),
    )


def coverage_table(rows, spread: dict | None = None) -> str:
    """``coverage_rows`` as a fixed-width text table; with ``spread`` (:func:`coverage_spread`),
    each share and reverse KL is followed by its sampling sd over fresh sets of samples (for the
    real data, the floor: mean ± sd over data-vs-data draws)."""
    lines = [f"{'dataset':12s} {'model':23s} {'modes':>7s} {'high quality':>15s} {'reverse KL':>16s}"]
    for r in rows:
        hq, rkl = f"{100 * r['high_quality']:.1f}%", f"{r['reverse_kl']:.4f}"
        if spread is not None:
            key = ("real data", r["dataset"]) if r["model"] == "real data" else r["index"]
            (hq_m, hq_sd), (rkl_m, rkl_sd) = spread[key]["high_quality"], spread[key]["reverse_kl"]
            if r["model"] == "real data":  # the floor: its mean over the repeats
                hq, rkl = f"{100 * hq_m:.1f}%", f"{rkl_m:.4f}"
            hq += f" ± {100 * hq_sd:.1f}"
            rkl += f" ± {rkl_sd:.4f}"
        lines.append(f"{r['dataset']:12s} {r['model']:23s} {r['modes']:>3d} / {r['of']:<2d} {hq:>15s} {rkl:>16s}")
    return "\n".join(lines)


def published_table() -> str:
    """``PUBLISHED`` as a fixed-width text table."""
    lines = [f"{'published (mean over runs)':26s} {'dataset':12s} {'modes':>6s} {'high quality':>13s} {'reverse KL':>11s}"]
    for name, ds, modes, hq, rkl in PUBLISHED:
        lines.append(f"{name:26s} {ds:12s} {modes:6.1f} {100 * hq:12.1f}% " + ("" if rkl is None else f"{rkl:11.2f}"))
    return "\n".join(lines)


# Published numbers (ring: 8 modes; grid: 25 modes; 2,500 samples; 3σ rule).
# VEEGAN: Srivastava et al. (2017), Table 1. PacGAN: Lin et al. (2018), Table 1 (mean over trials).
PUBLISHED = (
    ("GAN (VEEGAN's run)", "8gaussians", 1.0, 0.993, None),
    ("Unrolled GAN (VEEGAN)", "8gaussians", 7.6, 0.356, None),
    ("VEEGAN", "8gaussians", 8.0, 0.529, None),
    ("GAN (PacGAN's run)", "8gaussians", 6.3, 0.982, 0.45),
    ("PacGAN2", "8gaussians", 7.9, 0.956, 0.07),
    ("GAN (VEEGAN's run)", "25gaussians", 3.3, 0.005, None),
    ("Unrolled GAN (VEEGAN)", "25gaussians", 23.6, 0.16, None),
    ("VEEGAN", "25gaussians", 24.6, 0.40, None),
    ("GAN (PacGAN's run)", "25gaussians", 17.3, 0.948, 0.70),
    ("PacGAN2", "25gaussians", 23.8, 0.913, 0.13),
)


def radius_sweep(radii, std: float = 0.1, extent=(-4.0, 4.0, -4.0, 4.0), resolution: int = 160,
                 device: torch.device | str | None = None):
    """``C(G) = V(G, D*)`` and ``-log 4 + 2 JSD`` for p_data = ring(2, std), p_g = ring(r, std).

    The quadratures run on ``device`` (``radii``' device when ``None``, if a tensor; else the CPU).
    """
    if device is None and isinstance(radii, torch.Tensor):
        device = radii.device
    log_p = gan.ring_family(2.0, std)
    c, rhs = [], []
    for r in radii:
        log_q = gan.ring_family(float(r), std)
        c.append(gan.value(gan.optimal_discriminator(log_p, log_q), log_p, log_q, extent, resolution, device=device))
        rhs.append(-math.log(4) + 2 * gan.jsd_on_grid(log_p, log_q, extent, resolution, device=device))
    return torch.stack(c), torch.stack(rhs)


def share_history(run: GANRun, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(steps, shares (K, snapshots))``: :func:`gencore.metrics.mode_shares` of model ``i`` at each snapshot."""
    means = data.make(MODELS[i][1]).means
    steps = torch.tensor([step for step, _, _ in run.snapshots])
    return steps, torch.stack([metrics.mode_shares(x[i], means.to(x)) for _, x, _ in run.snapshots], 1)
