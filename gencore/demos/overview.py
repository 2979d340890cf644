"""Figures and slider demos of chapter 0 (overview), and the gallery of every family's samples.

The gallery is a registry: :data:`FAMILIES` lists one :class:`Family` per generative family,
each with the chapter that teaches it and a ``sampler`` that trains the chapter's model on the
shared 2D dataset and returns samples. A family whose chapter has not landed yet has
``sampler=None`` and shows as a "coming" panel. Adding a family is adding its sampler to its
entry.

Book: ``book/00_overview.ipynb``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Callable

import torch

from .. import metrics, viz, widgets
from .. import overview as O
from .. import score as S
from ..data import make

__all__ = ["DATASET", "EXTENT", "Family", "FAMILIES", "regression_data", "regression_slider",
           "manifold_slider", "classifier_data", "classifier_figure", "gaussian_mle_sampler",
           "annealed_langevin_sampler", "data_sampler", "GalleryResult", "run_gallery", "gallery_figure"]

DATASET = "moons"  # the one 2D dataset every family is shown on
EXTENT = (-3.0, 3.0, -2.0, 2.0)
Sampler = Callable[[torch.Tensor, int, torch.Generator], torch.Tensor]


# ------------------------------------------------------------------ regression to the mean
def regression_data(separations, n: int = 512, generator: torch.Generator | None = None):
    """One two-branch dataset per separation, stacked: ``x, y`` of shape ``(S, n, 1)`` (float64)."""
    pairs = [O.bimodal_regression_data(n, float(d), generator=generator, dtype=torch.float64)
             for d in separations]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def regression_slider(separations, x: torch.Tensor, y: torch.Tensor, model) -> widgets.SliderDemo:
    """Slider over the branches' separation: the data, both branches, their mean and the MSE fit."""
    grid = torch.linspace(-1, 1, 201, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fits = model(grid)[..., 0]                                   # (S, 201)
    m = O.conditional_mean(grid)[:, 0]
    frames = {round(float(d), 3): i for i, d in enumerate(separations)}
    top = max(frames) / 2 + 1.4  # room for the legend above the upper branch

    def draw(fig, separation):
        i = frames[separation]
        ax = widgets.panels(fig, 1)
        ax.scatter(x[i, :, 0], y[i, :, 0], s=3, c=viz.COLORS["grey"], alpha=0.5, linewidths=0)
        for sign, label in ((1, "modes of p(y|x)"), (-1, None)):
            viz.curve(ax, grid[:, 0], m + sign * separation / 2, role="p", label=label, lw=1, ls="--")
        viz.curve(ax, grid[:, 0], m, role="aux", label="mean E[y|x]", lw=1.5)
        viz.curve(ax, grid[:, 0], fits[i], role="q", label="MSE-trained predictor")
        gap = (fits[i] - m).pow(2).mean().sqrt().item()
        ax.set_xlim(-1, 1)
        ax.set_ylim(-top, top)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(loc="upper left", ncol=3)
        viz.panel_title(ax, f"separation d = {separation:.2f}: branches at ±{separation / 2:.2f}, "
                            f"predictor's RMS distance to the mean {gap:.3f}")

    return widgets.slider(draw, figsize=(7.5, 3.4), separation=widgets.Param(
        sorted(frames), "separation d", "{:.2f}"))


# ------------------------------------------------------------------ a curve in the plane
def manifold_slider(noises, n: int = 800, k: int = 20, seed: int = 0) -> widgets.SliderDemo:
    """Slider over the thickness of the noise around a spiral: the local-PCA share of each point."""
    frames = {}
    for s in noises:
        g = torch.Generator().manual_seed(seed)
        x = O.spiral_curve(n, float(s), g, torch.float64)
        frames[round(float(s), 3)] = (x, O.local_pca_ratio(x, k))

    def draw(fig, noise):
        x, r = frames[noise]
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.scatter(x[:, 0], x[:, 1], c=r, s=4, cmap="viridis", vmin=0.5, vmax=1.0, linewidths=0)
        ax1.set_aspect("equal")
        ax1.set_xlim(-3.5, 3.5)
        ax1.set_ylim(-3.5, 3.5)
        viz.panel_title(ax1, f"σ = {noise:.2f}; colour: local share (yellow 1, purple ½)")
        ax2.hist(r.numpy(), bins=30, range=(0.5, 1.0), color=viz.COLORS["q"], alpha=0.8)
        ax2.set_xlim(0.5, 1.0)
        ax2.set_ylim(0, n)
        ax2.set_xlabel("λ₁/(λ₁+λ₂) of the 20 nearest neighbours")
        viz.panel_title(ax2, f"median share {r.median():.3f} (1: a line, 0.5: the plane)")

    return widgets.slider(draw, figsize=(8.5, 3.4), noise=widgets.Param(sorted(frames), "noise σ", "{:.2f}"))


# ------------------------------------------------------------------ generative classifier
def classifier_data(n: int = 600, generator: torch.Generator | None = None):
    """Two labelled classes in the plane (two Gaussians of different shapes): ``x (n, 2)``, ``y (n,)``."""
    truth = O.ClassGaussians(torch.tensor([[-1.0, -0.3], [1.0, 0.4]], dtype=torch.float64),
                             torch.tensor([[[0.6, 0.3], [0.3, 0.4]], [[0.3, -0.1], [-0.1, 0.5]]],
                                          dtype=torch.float64),
                             torch.tensor([0.5, 0.5], dtype=torch.float64))
    return O.sample_class_gaussians(truth, n, generator)


def classifier_figure(model: O.ClassGaussians, x, y, new_x, new_y, accuracy: float):
    """Left: p(y=1|x) by Bayes' rule (what a discriminative model learns). Right: new samples."""
    fig, (ax1, ax2) = viz.figure(2, width=4.3, height=3.3)
    ext = (-3.5, 3.5, -2.5, 2.5)
    gx, gy = torch.meshgrid(torch.linspace(*ext[:2], 150, dtype=torch.float64),
                            torch.linspace(*ext[2:], 150, dtype=torch.float64), indexing="xy")
    post = O.class_posterior(model, torch.stack([gx.flatten(), gy.flatten()], -1))[:, 1].reshape(150, 150)
    ax1.imshow(post.numpy(), origin="lower", extent=ext, cmap="RdBu_r", vmin=0, vmax=1, aspect="equal", alpha=0.45)
    ax1.contour(gx.numpy(), gy.numpy(), post.numpy(), levels=[0.5], colors="k", linewidths=1)
    for c, col in ((0, viz.COLORS["p"]), (1, viz.COLORS["q"])):
        viz.samples(ax1, x[y == c], color=col, size=4, alpha=0.6)
        viz.samples(ax2, new_x[new_y == c], color=col, size=4, alpha=0.6, extent=ext)
    ax1.grid(False)
    viz.panel_title(ax1, f"p(y=1|x) from p(x,y); test accuracy {accuracy:.3f}")
    viz.panel_title(ax2, "new (x, y) sampled from the same model")
    return fig


# ------------------------------------------------------------------ the gallery
@dataclass(frozen=True)
class Family:
    """One generative family in the gallery.

    Attributes:
        name: the panel's title, e.g. "annealed Langevin (learned score)".
        chapter: the chapter that teaches it (0 for the data itself).
        sampler: ``sampler(train_data (N, 2), n, generator) -> (n, 2)`` samples, or ``None`` while
            the chapter is not written (the panel then says "coming").
    """

    name: str
    chapter: int
    sampler: Sampler | None = None


def data_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """A fresh sample of the dataset itself: the reference panel (its metric is the floor)."""
    return make(DATASET, dtype=train.dtype).sample((n,), generator=generator)


def gaussian_mle_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 1: the maximum-likelihood Gaussian (mean and covariance of the data), sampled."""
    mean, cov = train.mean(0), torch.cov(train.T)
    eps = torch.randn(n, 2, generator=generator, dtype=train.dtype)
    return mean + eps @ torch.linalg.cholesky(cov).T


def annealed_langevin_sampler(train: torch.Tensor, n: int, generator: torch.Generator,
                              steps: int = 1000) -> torch.Tensor:
    """Chapter 7: a noise-conditional score net (multi-level DSM), sampled by annealed Langevin."""
    from . import score as score_demo

    sigmas = S.geometric_sigmas(2.0, 0.05, 10, dtype=train.dtype)
    model, _ = score_demo.fit_ncsn(train, sigmas, steps=steps, progress=False)
    x0 = 2 * torch.randn(n, 2, generator=generator, dtype=train.dtype)
    with torch.no_grad():
        return S.annealed_langevin(model, x0, sigmas, 2e-4, 100, generator)


FAMILIES: tuple[Family, ...] = (
    Family("data (a fresh sample)", 0, data_sampler),
    Family("one Gaussian, maximum likelihood", 1, gaussian_mle_sampler),
    Family("VAE", 3),
    Family("GAN", 4),
    Family("normalizing flow", 5),
    Family("diffusion (DDPM)", 6),
    Family("annealed Langevin (learned score)", 7, annealed_langevin_sampler),
    Family("energy-based model", 8),
)


@dataclass(frozen=True)
class GalleryResult:
    family: Family
    samples: torch.Tensor | None
    sliced_w2: float | None


def run_gallery(families=FAMILIES, n: int = 1000, n_train: int = 4000, seed: int = 0):
    """Train and sample every family that has a sampler; score each with sliced W2 against fresh data.

    Returns ``(results, floor)``: one :class:`GalleryResult` per family, and the data-vs-data
    floor of the metric at ``n`` samples (the mean over 3 pairs).
    """
    g = torch.Generator().manual_seed(seed)
    p = make(DATASET, dtype=torch.float64)
    train, test = p.sample((n_train,), generator=g), p.sample((n,), generator=g)
    sw = functools.partial(metrics.sliced_wasserstein, n_projections=256,
                           generator=torch.Generator().manual_seed(seed + 1))
    results = []
    for fam in families:
        if fam.sampler is None:
            results.append(GalleryResult(fam, None, None))
            continue
        x = fam.sampler(train, n, g)
        results.append(GalleryResult(fam, x, float(sw(x, test))))
    floor = float(metrics.data_floor(sw, lambda m, gen: p.sample((m,), generator=gen), n, 3, g))
    return results, floor


def gallery_figure(results, floor: float, ncols: int = 4):
    """Every family's samples on the shared dataset side by side, its sliced W2 under each."""
    nrows = -(-len(results) // ncols)
    fig, axes = viz.figure(ncols, nrows, width=2.1, height=2.15)
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
            ax.set_xlabel("sliced W2: –", fontsize=8.5)
            continue
        colour = viz.COLORS["p"] if r.family.chapter == 0 else viz.COLORS["q"]
        viz.samples(ax, r.samples, color=colour, size=2, alpha=0.5)
        ax.set_xlabel(f"sliced W2 = {r.sliced_w2:.3f}" + (" (data)" if r.family.chapter == 0 else ""),
                      fontsize=8.5)
    fig.suptitle(f"Samples on '{DATASET}' (n = {len(results[0].samples) if results[0].samples is not None else ''}); "
                 f"data-vs-data floor of sliced W2: {floor:.3f}", fontsize=10)
    return fig


def _with_sampler(name: str, sampler: Sampler, families=FAMILIES) -> tuple[Family, ...]:
    """A copy of the registry with ``name``'s sampler set (for tests and for readers' experiments)."""
    return tuple(replace(f, sampler=sampler) if f.name == name else f for f in families)
