"""Chapter 0's gallery: every family of the book trained on one 2D dataset, sampled, and scored alike.

The gallery is a registry: :data:`FAMILIES` lists one :class:`Family` per generative family,
each with the chapter that teaches it and a ``sampler``. A sampler is a function
``sampler(train, n, generator) -> (n, 2)`` that trains its chapter's model on ``train`` (float64
samples of the dataset) with a small budget of a few seconds and returns ``n`` samples in
``train``'s dtype; everything random in it is drawn from ``generator`` (the training seed too),
so the gallery is reproducible. Adding a family is adding its entry. The chapters' networks are
built in torch's default dtype (float32 unless the caller changed it; the book never does), and
every sampler converts its output back to ``train``'s dtype.

The budgets are the gallery's, not the chapters': each chapter trains its model longer and
measures it more carefully.

Book: ``book/00_overview.ipynb``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import torch

from .. import shifted_seed
from .. import diffusion as D
from .. import ebm as E
from .. import gan as G
from .. import metrics, viz
from .. import score as S
from ..data import make

__all__ = ["DATASET", "EXTENT", "Family", "FAMILIES", "GalleryResult", "run_gallery", "gallery_figure",
           "data_sampler", "gaussian_mle_sampler", "vae_sampler", "gan_sampler", "flow_sampler",
           "ddpm_sampler", "annealed_langevin_sampler", "ebm_sampler", "flow_matching_sampler",
           "autoregressive_sampler", "curve_distance", "curve_distance_spread", "verdicts"]

DATASET = "moons"  # the one 2D dataset every family is shown on
EXTENT = (-3.0, 3.0, -2.0, 2.0)
Sampler = Callable[[torch.Tensor, int, torch.Generator], torch.Tensor]


class _Resample:
    """The empirical distribution of ``x``: ``sample(shape)`` draws rows of ``x`` with replacement."""

    def __init__(self, x: torch.Tensor):
        self.x = x

    def sample(self, sample_shape=(), generator: torch.Generator | None = None) -> torch.Tensor:
        idx = torch.randint(len(self.x), tuple(sample_shape), generator=generator)
        return self.x[idx.to(self.x.device)]


def _seed(generator: torch.Generator) -> int:
    """A training seed drawn from ``generator`` (so one generator fixes the whole gallery)."""
    return int(torch.randint(2**31 - 1, (1,), generator=generator))


# ------------------------------------------------------------------ the samplers, one per chapter
def data_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """A fresh sample of the dataset itself: the reference panel (its metric is the floor)."""
    return make(DATASET, dtype=train.dtype).sample((n,), generator=generator).to(train.device)


def gaussian_mle_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 1: the maximum-likelihood Gaussian (mean and covariance of the data), sampled."""
    mean, cov = train.mean(0), torch.cov(train.T)
    eps = torch.randn(n, 2, generator=generator, dtype=train.dtype).to(train.device)
    return mean + eps @ torch.linalg.cholesky(cov).T


def vae_sampler(train: torch.Tensor, n: int, generator: torch.Generator, steps: int = 1000) -> torch.Tensor:
    """Chapter 3: a VAE (β = 1, 2-d latent, Gaussian decoder), full batch; ``z ~ N(0, I)`` decoded with its noise."""
    from . import vae as vae_demo

    x = train.float()
    g = torch.Generator().manual_seed(shifted_seed(_seed(generator)))
    run = vae_demo.train_toy(x, [1.0], steps=steps, generator=g, progress=False)
    return run.model.sample(n, g)[0].to(train.dtype)


def gan_sampler(train: torch.Tensor, n: int, generator: torch.Generator, steps: int = 1500) -> torch.Tensor:
    """Chapter 4: a non-saturating GAN (64-unit MLPs, k = 1, decaying learning rates), minibatches of 256."""
    run = G.train_gans(_Resample(train.float()), ["non-saturating"], 1, steps=steps, batch_size=256,
                       g_hidden=(64, 64), d_hidden=(64, 64), lr_g=3e-3, lr_d=3e-3, lr_decay=True,
                       snapshot_every=steps, seed=_seed(generator), progress=False)
    return run.sample(n, generator)[0].to(train)


def flow_sampler(train: torch.Tensor, n: int, generator: torch.Generator, steps: int = 1000) -> torch.Tensor:
    """Chapter 5: a RealNVP coupling flow (8 layers), maximum likelihood on minibatches of 512, EMA weights.

    1000 Adam steps at chapter 5's learning rate: with 600 the fit failed at one seed of the
    sweep (``GENCORE_SEED=1``: held-out NLL 2.3 nats, samples thrown far off the moons).
    """
    from .flows import fit_coupling

    torch.manual_seed(shifted_seed(_seed(generator)))  # the layers' initialization
    g = torch.Generator().manual_seed(shifted_seed(_seed(generator)))
    flow, _ = fit_coupling(train.float(), steps=steps, generator=g, progress=False)
    z = torch.randn(n, 2, generator=generator).to(train.device)
    with torch.no_grad():
        return flow.forward(z.float())[0].to(train.dtype)


def ddpm_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 6: the noise-predicting MLP (Algorithm 1, 1000 Adam steps on minibatches of 512, EMA), sampled by Algorithm 2 (T = 1000)."""
    from . import diffusion as diffusion_demo

    schedule = D.NoiseSchedule.linear()
    model, _, _ = diffusion_demo.train_denoiser(_Resample(train.float()), schedule, stages=((3e-3, 800), (1e-3, 200)),
                                                batch=512, seed=_seed(generator), progress=False)
    xT = torch.randn(n, 2, generator=generator).to(train.device)
    with torch.no_grad():
        return D.sample(model, schedule, xT, generator=generator).to(train.dtype)


def annealed_langevin_sampler(train: torch.Tensor, n: int, generator: torch.Generator,
                              steps: int = 1000) -> torch.Tensor:
    """Chapter 7: a noise-conditional score net (multi-level DSM), sampled by annealed Langevin."""
    from . import score as score_demo

    x = train.float()
    sigmas = S.geometric_sigmas(2.0, 0.05, 10, dtype=x.dtype)
    model, _ = score_demo.fit_ncsn(x, sigmas, steps=steps, seed=_seed(generator), progress=False)
    x0 = 2 * torch.randn(n, 2, generator=generator).to(x)
    with torch.no_grad():
        return S.annealed_langevin(model, x0, sigmas, 2e-4, 100, generator).to(train.dtype)


def ebm_sampler(train: torch.Tensor, n: int, generator: torch.Generator, mcmc_steps: int = 2000) -> torch.Tensor:
    """Chapter 8: an energy trained by score matching (chapter 8's 1000 Adam steps), sampled by MALA from N(0, I)."""
    from . import ebm as ebm_demo

    trained = ebm_demo.train_ebm(train.float(), "sm", phases=((700, 1e-2), (300, 1e-3)),
                                 seed=_seed(generator), progress=False)
    x0 = torch.randn(n, 2, generator=generator).to(train.device)
    return E.mala(trained.model, x0, 0.03, mcmc_steps, generator=generator).to(train.dtype)


def flow_matching_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 9: conditional flow matching on straight paths, sampled with 16 midpoint steps (32 evaluations)."""
    from .flow_matching import gallery_sampler

    return gallery_sampler(train, n, generator)


def autoregressive_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 10: p(x1) p(x2 | x1) with mixture-density conditionals, sampled one coordinate after the other."""
    from .autoregressive import gallery_sampler

    return gallery_sampler(train, n, generator)


@dataclass(frozen=True)
class Family:
    """One generative family in the gallery.

    Attributes:
        name: the panel's title, e.g. "annealed Langevin (learned score)".
        chapter: the chapter that teaches it (0 for the data itself).
        sampler: ``sampler(train_data (N, 2), n, generator) -> (n, 2)`` samples, or ``None`` while
            the chapter is not written (the panel then says so).
    """

    name: str
    chapter: int
    sampler: Sampler | None = None


FAMILIES: tuple[Family, ...] = (
    Family("data (a fresh sample)", 0, data_sampler),
    Family("one Gaussian, max. likelihood", 1, gaussian_mle_sampler),
    Family("VAE", 3, vae_sampler),
    Family("GAN", 4, gan_sampler),
    Family("normalizing flow (RealNVP)", 5, flow_sampler),
    Family("diffusion (DDPM)", 6, ddpm_sampler),
    Family("annealed Langevin (learned score)", 7, annealed_langevin_sampler),
    Family("energy-based model (MALA)", 8, ebm_sampler),
    Family("flow matching", 9, flow_matching_sampler),
    Family("autoregressive", 10, autoregressive_sampler),
)


@dataclass(frozen=True)
class GalleryResult:
    """One panel: the family, its samples, their sliced W2 to fresh data, their mean distance to the
    moons' curves, and the seconds its sampler took (training included)."""

    family: Family
    samples: torch.Tensor | None
    sliced_w2: float | None
    curve_distance: float | None = None
    seconds: float | None = None


def curve_distance(x: torch.Tensor) -> float:
    r"""The mean distance from the points ``x`` (``(N, 2)``) to the nearest of the moons' centre curves.

    A second number that sees what sliced W2 averages away: how tightly samples hug the curves.
    For the data it is the mean size of the noise across the curve, :math:`\sigma\sqrt{2/\pi}
    \approx 0.080` for the noise :math:`\sigma = 0.1`; blurred samples score more, samples
    collapsed onto the curves less.
    """
    pieces = make(DATASET, dtype=x.dtype, device=x.device).pieces
    s = torch.linspace(0, 1, 2049, dtype=x.dtype, device=x.device)
    return float(torch.stack([torch.cdist(x, piece(s)).amin(-1) for piece in pieces], -1).amin(-1).mean())


def curve_distance_spread(sample_fn, n: int, repeats: int = 40,
                          generator: torch.Generator | None = None) -> metrics.Floor:
    """The data's own :func:`curve_distance` at sample size ``n``: mean ± sd over ``repeats`` samples.

    The noise of the second number: a model's distance to the curves is read against this spread
    as its sliced W2 is read against the floor's.
    """
    values = torch.tensor([curve_distance(sample_fn(n, generator)) for _ in range(repeats)], dtype=torch.float64)
    return metrics.Floor(mean=float(values.mean()), sd=float(values.std()), n=n, repeats=repeats)


def run_gallery(families=FAMILIES, n: int = 1000, n_train: int = 4000, seed: int = 0, floor_repeats: int = 40):
    """Train and sample every family that has a sampler; score each with sliced W2 against fresh data.

    The training and test sets come from ``seed``; each family's sampler gets a generator of its
    own, seeded from ``seed`` and its chapter, and every score uses the same projections, so
    adding a family leaves the others' numbers alone.

    Returns ``(results, floor, curve_floor)``: one :class:`GalleryResult` per family; the
    data-vs-data floor of sliced W2 at ``n`` samples with the gallery's projections, as a
    :class:`gencore.metrics.Floor` (mean ± sd over ``floor_repeats`` pairs of fresh data samples),
    so that two scores are called different only when they differ by more than twice its sd; and
    the data's own distance to the curves at ``n`` samples, mean ± sd over ``floor_repeats``
    samples.
    """
    g = torch.Generator().manual_seed(shifted_seed(seed))
    p = make(DATASET, dtype=torch.float64)
    train, test = p.sample((n_train,), generator=g), p.sample((n,), generator=g)

    def sw(x, y):  # the same 256 directions for every family and for the floor
        return metrics.sliced_wasserstein(x, y, n_projections=256, generator=torch.Generator().manual_seed(shifted_seed(seed + 1)))

    def data(m, gen):
        return p.sample((m,), generator=gen)

    floor = metrics.floor_spread(sw, data, n, floor_repeats, g)
    curve_floor = curve_distance_spread(data, n, floor_repeats, g)
    results = []
    for fam in families:
        if fam.sampler is None:
            results.append(GalleryResult(fam, None, None))
            continue
        start = time.perf_counter()
        x = fam.sampler(train, n, torch.Generator().manual_seed(shifted_seed(1000 * (seed + 1) + fam.chapter)))
        seconds = time.perf_counter() - start
        results.append(GalleryResult(fam, x, float(sw(x, test)), curve_distance(x), seconds))
    return results, floor, curve_floor


def verdicts(results, floor: metrics.Floor) -> dict[str, str]:
    """What the gallery may say about each family's sliced W2, against the metric's own noise.

    ``"reaches the floor"`` when the score is within two sd of the floor's mean (or below it),
    ``"above the floor"`` otherwise; the data panel (chapter 0) is left out.
    """
    return {r.family.name: ("reaches the floor" if floor.reaches(r.sliced_w2) else "above the floor")
            for r in results if r.sliced_w2 is not None and r.family.chapter != 0}


def gallery_figure(results, floor: metrics.Floor, ncols: int = 5):
    """Every family's samples on the shared dataset side by side; under each, its sliced W2 and distance to the curves."""
    nrows = -(-len(results) // ncols)
    fig, axes = viz.figure(ncols, nrows, width=2.1, height=2.35)
    for ax in axes.flat[len(results):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, results):
        ax.set_xlim(*EXTENT[:2])
        ax.set_ylim(*EXTENT[2:])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        where = "reference" if r.family.chapter == 0 else f"chapter {r.family.chapter}"
        ax.set_title(f"{r.family.name}\n({where})", fontsize=8.5)
        if r.samples is None:
            ax.text(0.5, 0.5, f"chapter {r.family.chapter}:\nnot in this\ngallery yet", ha="center", va="center",
                    transform=ax.transAxes, color=viz.COLORS["grey"], fontsize=11)
            ax.set_xlabel("sliced W2 –\nto curves –", fontsize=8.5)
            continue
        colour = viz.COLORS["p"] if r.family.chapter == 0 else viz.COLORS["q"]
        viz.samples(ax, r.samples, color=colour, size=2, alpha=0.5)
        ax.set_xlabel(f"sliced W2 {r.sliced_w2:.3f}\nto curves {r.curve_distance:.3f}", fontsize=8.5)
    n = next((len(r.samples) for r in results if r.samples is not None), 0)
    fig.suptitle(f"Samples on '{DATASET}' (n = {n}); data-vs-data floor of sliced W2: {floor.mean:.3f} ± "
                 f"{floor.sd:.3f};\n'to curves': mean distance to the moons' centre curves", fontsize=10)
    return fig


def _with_sampler(name: str, sampler: Sampler, families=FAMILIES) -> tuple[Family, ...]:
    """A copy of the registry with ``name``'s sampler set (for tests and for readers' experiments)."""
    return tuple(replace(f, sampler=sampler) if f.name == name else f for f in families)
