"""Figures, slider demos and the trained models of chapter 4 (GANs), built on ``gencore.gan``.

Book: ``book/04_gan.ipynb``.
"""
from __future__ import annotations

import math

import torch

from .. import shifted_seed
from .. import data, gan, metrics, viz, widgets
from ..quadrature import grid

__all__ = ["MODELS", "RING_BOX", "WIDE_BOX", "GRID_BOX", "train_chapter_gans", "coverage_rows",
           "coverage_spread", "coverage_table", "ring_claims", "collapse_stats", "published_table", "PUBLISHED",
           "ring_family", "radius_sweep", "theorem_figure", "saturation_figure", "shift_gradients",
           "ns_gradient_1d",
           "snapshot_slider", "loss_slider", "oscillation_figure", "mode_shares", "grid_figure"]

RING_BOX = (-3.0, 3.0, -3.0, 3.0)
WIDE_BOX = (-8.0, 8.0, -8.0, 8.0)  # for the slow-discriminator GAN, whose samples wander off
GRID_BOX = (-5.5, 5.5, -5.5, 5.5)

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


def train_chapter_gans(steps: int = 1500, seed: int = 0, progress: bool = True, **kw) -> gan.GANRun:
    """Train the chapter's six GANs (``MODELS``) in one batched computation.

    Generator 2 -> 64 -> 64 -> 2 and discriminator 2 -> 64 -> 64 -> 1 (leaky ReLU), minibatches
    of 256, k = 1, Adam (β = 0.5, 0.9) with learning rates decaying linearly to zero, λ = 0.1
    for WGAN-GP; snapshots every 50 steps.
    """
    sets = {name: data.make(name) for name in ("8gaussians", "25gaussians")}
    return gan.train_gans(
        [sets[m[1]] for m in MODELS], [m[2] for m in MODELS], 1, steps=steps, batch_size=256,
        latent_dim=2, g_hidden=(64, 64), d_hidden=(64, 64), lr_g=[m[3] for m in MODELS],
        lr_d=[m[4] for m in MODELS], gp_weight=0.1, lr_decay=True, snapshot_every=50,
        snapshot_samples=1000, extent=[_box(m) for m in MODELS],
        grid_resolution=48, seed=seed, progress=progress, desc="six GANs at once", **kw)


def coverage_rows(run: gan.GANRun, n: int = 2500, seed: int = 1) -> list[dict]:
    """VEEGAN/PacGAN metrics of every model on ``n`` fresh samples, and of ``n`` real samples."""
    g = torch.Generator().manual_seed(shifted_seed(seed))
    x = run.sample(n, g)
    rows = []
    for name in ("8gaussians", "25gaussians"):
        ds = data.make(name)
        mc = metrics.mode_coverage(ds.sample((n,), generator=g), ds.means, ds.std)
        rows.append(dict(model="real data", dataset=name, modes=mc.modes_captured, of=mc.n_modes,
                         high_quality=mc.high_quality, reverse_kl=mc.reverse_kl))
        for i, m in enumerate(MODELS):
            if m[1] == name:
                mc = metrics.mode_coverage(x[i], ds.means, ds.std)
                rows.append(dict(model=m[0], dataset=name, modes=mc.modes_captured, of=mc.n_modes,
                                 high_quality=mc.high_quality, reverse_kl=mc.reverse_kl, index=i))
    return rows


def coverage_spread(run: gan.GANRun, n: int = 2500, repeats: int = 20, seed: int = 2) -> dict:
    """The sampling noise of the table's metrics: mean and sd over ``repeats`` fresh sets of ``n``.

    For every model ``i`` and, under the key ``("real data", dataset)``, for the data itself
    (the floor of each metric), the standard deviation of the high-quality share and of the
    reverse KL over independent draws of ``n`` samples. Returns ``{key: {"high_quality": (mean,
    sd), "reverse_kl": (mean, sd)}}`` with ``key`` the model index or ``("real data", name)``.
    """
    g = torch.Generator().manual_seed(shifted_seed(seed))
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


def collapse_stats(run: gan.GANRun, i: int = 3, after: int = 600) -> dict:
    """Model ``i``'s collapse and hopping over its snapshots.

    Returns the median (over snapshots) share of the most popular mode, the number of distinct
    modes that are the favourite of some snapshot, the number of snapshots, and the smallest and
    largest median distance of the samples from the centre over snapshots from step ``after`` on.
    """
    steps, share = mode_shares(run, i)
    radius = torch.stack([x[i].norm(dim=1).median() for step, x, _ in run.snapshots if step >= after])
    return dict(top=share.max(0).values.median().item(), favourites=len(set(share.argmax(0).tolist())),
                snapshots=len(steps), r_min=radius.min().item(), r_max=radius.max().item(), after=after)


def ring_claims(run: gan.GANRun, rows: list[dict], spread: dict) -> dict:
    """The numbers and comparisons the chapter states about its six GANs, from ``coverage_rows``.

    ``spread`` is :func:`coverage_spread` of the same run: a comparison of two models by a sample
    metric is called a difference only where it exceeds twice the sd of the difference.
    """
    by = {(r["dataset"], r["model"]): r for r in rows}
    ns, sat = by[("8gaussians", "non-saturating")], by[("8gaussians", "saturating")]
    wgan, slow = by[("8gaussians", "WGAN-GP")], by[("8gaussians", "non-saturating, slow D")]
    gns, gw = by[("25gaussians", "non-saturating")], by[("25gaussians", "WGAN-GP")]
    ring = data.make("8gaussians")
    x = run.sample(2500, torch.Generator().manual_seed(shifted_seed(1)))[ns["index"]]
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
    steps, share = mode_shares(run, ns["index"])
    d_loss = run.d_loss[:, ns["index"]]
    early = d_loss[: max(1, len(d_loss) // 15)].mean().item()
    return dict(
        ns_modes=ns["modes"], ns_hq=ns["high_quality"], ns_rkl=ns["reverse_kl"],
        ns_fewest=int(metrics.mode_coverage(x, ring.means, ring.std).counts.min()),
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


# ------------------------------------------------------------------- Theorem 1 by quadrature
def ring_family(radius: float, std: float = 0.1):
    """The log-density of a ring of 8 Gaussians with the given radius and standard deviation."""
    return data.make("8gaussians", radius=radius, std=std, dtype=torch.float64).log_prob


def radius_sweep(radii, std: float = 0.1, extent=(-4.0, 4.0, -4.0, 4.0), resolution: int = 160):
    """``C(G) = V(G, D*)`` and ``-log 4 + 2 JSD`` for p_data = ring(2, std), p_g = ring(r, std)."""
    log_p = ring_family(2.0, std)
    c, rhs = [], []
    for r in radii:
        log_q = ring_family(float(r), std)
        c.append(gan.value(gan.optimal_discriminator(log_p, log_q), log_p, log_q, extent, resolution))
        rhs.append(-math.log(4) + 2 * gan.jsd_on_grid(log_p, log_q, extent, resolution))
    return torch.stack(c), torch.stack(rhs)


def theorem_figure(radii, c, rhs, std: float = 0.1):
    """Left: D* for one generator ring. Right: C(G) against the ring's radius."""
    fig, (ax1, ax2) = viz.figure(2, width=4.4, height=3.6)
    log_p, log_q = ring_family(2.0, std), ring_family(2.3, std)
    dstar = gan.optimal_discriminator(log_p, log_q)
    pts, _ = grid(RING_BOX, 200, dtype=torch.float64)
    img = dstar(pts).reshape(200, 200)
    im = ax1.imshow(img.numpy(), origin="lower", extent=RING_BOX, cmap="RdBu", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax1, shrink=0.8, label="D*(x)")
    t = torch.linspace(0, 2 * math.pi, 200)
    for r, ls, name in ((2.0, "-", "data ring, r = 2"), (2.3, "--", "generator ring, r = 2.3")):
        ax1.plot(r * t.cos(), r * t.sin(), color="k", lw=0.8, ls=ls, label=name)
    ax1.legend(loc="upper left", fontsize=7, frameon=True)
    ax1.grid(False)
    viz.panel_title(ax1, "the optimal discriminator D*")
    viz.curve(ax2, radii, c, role="q", label="C(G) = V(G, D*) by quadrature")
    viz.curve(ax2, radii, rhs, role="p", ls="--", label="−log 4 + 2·JSD (chapter 1)")
    ax2.axhline(-math.log(4), color="k", lw=0.8, ls=":")
    ax2.text(radii[0], -math.log(4) + 0.03, "−log 4", fontsize=8)
    ax2.axhline(0.0, color=viz.COLORS["grey"], lw=0.8, ls=":")
    ax2.set_xlabel("radius r of the generator's ring")
    ax2.set_ylabel("nats")
    ax2.legend(loc="center right", fontsize=8)
    viz.panel_title(ax2, "C(G) is flat at 0 until the rings overlap")
    return fig


# ------------------------------------------------------------------------- saturation
def _normal_grid(half_width: float = 14.0, n: int = 28_001):
    """Midpoints ``z`` and weights ``w`` (summing to one) of N(0, 1) on a grid over [-half_width, half_width]."""
    z = torch.linspace(-half_width, half_width, n, dtype=torch.float64)
    w = torch.softmax(-0.5 * z**2, 0)
    return z, w


def shift_gradients(shifts, half_width: float = 14.0, n: int = 28_001):
    r"""Generator gradient :math:`d\,\text{loss}/d\mu` for :math:`p_{\text{data}} = N(0, 1)`,
    :math:`p_g = N(\mu, 1)`, with :math:`D = D^*` held fixed (its logit :math:`a(x) = -\mu x + \mu^2/2`).

    The pathwise gradient through :math:`x = \mu + z`, by autograd, with the expectation over
    :math:`z \sim N(0, 1)` computed by quadrature (``n`` points on :math:`[-w, w]`, normalized
    weights), so even the tiny saturating gradient far from the data is exact to many digits:
    it equals :math:`\mu\,\mathbb E_{p_g}[D^*]`, the non-saturating one
    :math:`\mu\,\mathbb E_{p_g}[1 - D^*]`.

    Returns ``(saturating, non_saturating)``, each ``(len(shifts),)``.
    """
    z, w = _normal_grid(half_width, n)
    out = {"saturating": [], "non-saturating": []}
    for mu in shifts:
        def logit(x, mu=float(mu)):  # log N(x; 0, 1) − log N(x; μ, 1), D* frozen at this μ
            return -0.5 * x**2 + 0.5 * (x - mu) ** 2
        for kind in out:
            m = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
            loss = (w * gan.generator_loss(logit(m + z)[:, None], kind)).sum()  # E_z[loss per sample]
            (grad,) = torch.autograd.grad(loss, m)
            out[kind].append(grad)
    return torch.stack(out["saturating"]), torch.stack(out["non-saturating"])


def ns_gradient_1d(mu: float, half_width: float = 16.0, n: int = 64_001) -> dict:
    r"""The non-saturating generator's gradient in 1D, three ways, for :math:`p_{\text{data}} = N(0, 1)`,
    :math:`p_g = N(\mu, 1)`; all by quadrature on one grid in :math:`x` and autograd in :math:`\mu`.

    * ``frozen``: :math:`\frac{d}{d\mu'}\mathbb E_{N(\mu', 1)}[-\log D^*_\mu(x)]` at :math:`\mu' = \mu`,
      the discriminator frozen at the optimum for :math:`\mu` (what a generator step receives);
    * ``kl_minus_2jsd``: :math:`\frac{d}{d\mu}[\mathrm{KL}(p_g\|p_{\text{data}}) - 2\,\mathrm{JSD}]`
      (``eq-gan-ns-grad``: equal to ``frozen``);
    * ``value``: :math:`\frac{d}{d\mu}\mathbb E_{p_g}[-\log D^*_\mu]` with :math:`D^*` moving with
      :math:`\mu`, i.e. the derivative of ``eq-gan-ns-kl`` (not what the generator receives).
    """
    x = torch.linspace(-half_width, half_width + float(mu), n, dtype=torch.float64)
    dx = (x[1] - x[0]).item()
    log_p = -0.5 * x**2 - 0.5 * math.log(2 * math.pi)

    def log_g(m):
        return -0.5 * (x - m) ** 2 - 0.5 * math.log(2 * math.pi)

    def integral(f):
        return f.sum() * dx

    def grad(fn):
        m = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
        return torch.autograd.grad(fn(m), m)[0].item()

    frozen_logit = log_p - log_g(torch.tensor(float(mu), dtype=torch.float64))  # logit of D*_μ, fixed

    def frozen(m):
        return integral(log_g(m).exp() * torch.nn.functional.softplus(-frozen_logit))

    def kl_minus_2jsd(m):
        lg = log_g(m)
        log_mix = torch.logaddexp(log_p, lg) - math.log(2)
        kl = integral(lg.exp() * (lg - log_p))
        jsd = 0.5 * integral(log_p.exp() * (log_p - log_mix)) + 0.5 * integral(lg.exp() * (lg - log_mix))
        return kl - 2 * jsd

    def value(m):
        lg = log_g(m)
        return integral(lg.exp() * torch.nn.functional.softplus(-(log_p - lg)))

    return dict(frozen=grad(frozen), kl_minus_2jsd=grad(kl_minus_2jsd), value=grad(value))


def saturation_figure(shifts, sat, ns):
    """Left: the two losses' derivatives in the logit against D(G(z)). Right: ``shift_gradients``."""
    fig, (ax1, ax2) = viz.figure(2, width=4.4, height=3.3)
    a = torch.linspace(-8, 8, 401, dtype=torch.float64)
    d = torch.sigmoid(a)
    viz.curve(ax1, d, gan.logit_gradient(a, "saturating").abs(), role="q",
              label="saturating: |∂ log(1−σ(a))/∂a| = D")
    viz.curve(ax1, d, gan.logit_gradient(a, "non-saturating").abs(), role="p",
              label="non-saturating: |∂ log σ(a)/∂a| = 1 − D")
    ax1.set_xlabel("D(G(z)) = σ(a)")
    ax1.set_ylabel("gradient magnitude through the logit")
    ax1.legend(loc="center", fontsize=8)
    viz.panel_title(ax1, "what reaches the generator, per sample")
    viz.curve(ax2, shifts, sat.abs(), role="q", label="saturating")
    viz.curve(ax2, shifts, ns.abs(), role="p", label="non-saturating")
    ax2.set_yscale("log")
    ax2.set_xlabel("shift μ of p_g = N(μ, 1) from p_data = N(0, 1)")
    ax2.set_ylabel("|∂ loss / ∂μ| with D = D*")
    ax2.legend(loc="lower left", fontsize=8)
    viz.panel_title(ax2, "far from the data, only one loss still pulls")
    return fig


# ---------------------------------------------------------------------------- training
def _surface(logits: torch.Tensor, kind: str) -> tuple[torch.Tensor, float, float, str]:
    """What to paint under the samples: D = σ(a) for GANs, the critic scaled to [0, 1] for WGANs."""
    if kind == "wgan-gp":
        f = logits - logits.median()
        s = f.abs().max().clamp(min=1e-12)
        return 0.5 + 0.5 * f / s, 0.0, 1.0, "critic f (rescaled)"
    return torch.sigmoid(logits), 0.0, 1.0, "D(x)"


def _panel(ax, run: gan.GANRun, i: int, snap: int, title: str):
    step, x, logits = run.snapshots[snap]
    box = run.extents[i]
    surf, lo, hi, _ = _surface(logits[i], run.losses[i])
    ax.imshow(surf.numpy(), origin="lower", extent=box, cmap="RdBu", vmin=lo, vmax=hi, alpha=0.75,
              interpolation="bilinear")
    name = MODELS[i][1] if i < len(MODELS) else "8gaussians"
    ds = data.make(name)
    ax.scatter(ds.means[:, 0], ds.means[:, 1], marker="+", s=40, c="k", lw=1, zorder=3)
    viz.samples(ax, x[i], color=viz.COLORS["q2"], size=4, alpha=0.7, extent=box)
    ax.grid(False)
    mc = metrics.mode_coverage(x[i], ds.means, ds.std)
    viz.panel_title(ax, f"{title}, step {step}: {mc.modes_captured}/{mc.n_modes} modes, "
                        f"{100 * mc.high_quality:.0f}% HQ")


def snapshot_slider(run: gan.GANRun, i: int = 0, every: int = 3) -> widgets.SliderDemo:
    """Model ``i``'s samples over its discriminator through training, with the D loss so far."""
    snaps = list(range(0, len(run.snapshots), every))
    if snaps[-1] != len(run.snapshots) - 1:
        snaps.append(len(run.snapshots) - 1)
    d_loss = run.d_loss[:, i]
    kernel = torch.ones(25, dtype=d_loss.dtype) / 25
    smooth = torch.nn.functional.conv1d(d_loss.view(1, 1, -1), kernel.view(1, 1, -1)).flatten()

    def draw(fig, s):
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        _panel(ax1, run, i, s, MODELS[i][0])
        step = run.snapshots[s][0]
        ax2.plot(range(len(d_loss)), d_loss.numpy(), color=viz.COLORS["grey"], lw=0.5)
        ax2.plot(range(12, 12 + len(smooth)), smooth.numpy(), color=viz.COLORS["q"], lw=1.5,
                 label="discriminator loss (running mean)")
        ax2.axhline(math.log(4), color="k", ls=":", lw=0.8)
        ax2.text(len(d_loss) * 0.35, math.log(4) + 0.02, "log 4: the loss when D = ½ everywhere", fontsize=8)
        ax2.axvline(step, color=viz.COLORS["p"], lw=1)
        ax2.set_ylim(0.6, 1.6)
        ax2.set_xlabel("generator step")
        ax2.legend(loc="lower right", fontsize=8)
        viz.panel_title(ax2, "−(minibatch value) for the discriminator")

    steps = tuple(run.snapshots[k][0] for k in snaps)
    return widgets.slider(lambda fig, step: draw(fig, snaps[steps.index(step)]), figsize=(9.5, 4.0),
                          step=widgets.Param(steps, "training step", fmt="{}", start=len(steps) - 1))


def loss_slider(run: gan.GANRun, models=(0, 1, 2, 3), every: int = 10) -> widgets.SliderDemo:
    """Slider over the ring models (loss type, and the slow discriminator) and training steps."""
    snaps = list(range(0, len(run.snapshots), every))
    if snaps[-1] != len(run.snapshots) - 1:
        snaps.append(len(run.snapshots) - 1)
    steps = tuple(run.snapshots[s][0] for s in snaps)

    def draw(fig, model, step):
        i = next(j for j in models if MODELS[j][0] == model)
        ax = widgets.panels(fig, 1)
        _panel(ax, run, i, snaps[steps.index(step)], model)

    names = tuple(MODELS[j][0] for j in models)
    return widgets.slider(draw, figsize=(5.0, 4.6),
                          model=widgets.Param(names, "loss", fmt="{}", start=0),
                          step=widgets.Param(steps, "training step", fmt="{}", start=len(steps) - 1))


def mode_shares(run: gan.GANRun, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(steps, shares)``: the fraction of model ``i``'s snapshot samples nearest each mode."""
    ds = data.make(MODELS[i][1])
    steps, shares = [], []
    for step, x, _ in run.snapshots:
        nearest = torch.cdist(x[i], ds.means.to(x)).argmin(1)
        shares.append(torch.bincount(nearest, minlength=len(ds.means)).to(x.dtype) / len(x[i]))
        steps.append(step)
    return torch.tensor(steps), torch.stack(shares, 1)


def oscillation_figure(run: gan.GANRun, pairs=((0, "non-saturating, D as fast as G"),
                                               (3, "slow discriminator: collapse and hopping"))):
    """Share of samples nearest each ring mode (rows) through training (columns), per model."""
    fig, axes = viz.figure(len(pairs), width=4.6, height=2.9)
    for ax, (i, title) in zip(axes, pairs):
        steps, share = mode_shares(run, i)
        ax.imshow(share.numpy(), aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
                  extent=(steps[0] - 25, steps[-1] + 25, -0.5, share.shape[0] - 0.5), interpolation="nearest")
        ax.set_yticks(range(share.shape[0]))
        ax.set_xlabel("generator step")
        ax.set_ylabel("mode k (angle 2πk/8)")
        ax.grid(False)
        viz.panel_title(ax, title)
    return fig


def grid_figure(run: gan.GANRun, models=(4, 5)):
    """Final samples of the grid models over their (rescaled) discriminators."""
    fig, axes = viz.figure(len(models), width=4.2, height=4.2)
    for ax, i in zip(axes, models):
        _panel(ax, run, i, len(run.snapshots) - 1, MODELS[i][0])
    return fig
