r"""Chapter 0's runs: the datasets its figures show, and the gallery's scoring of every family.

The regression and classifier datasets of the page (with their true joints, for the Bayes error,
and the generative and discriminative classifiers trained side by side); the frames of the manifold slider; and the
machinery of chapter 0's gallery: a registry entry :class:`Family` per generative family (its
``sampler`` trains the chapter's model and samples it), :func:`run_gallery` to train, sample
and score them all alike (sliced W2 to fresh data against the data-vs-data floor, and the mean
distance to the moons' centre curves), and :func:`verdicts` for what the text may say. The
registry of the chapters' samplers is :mod:`gencore.experiments.gallery`; the figures are in
:mod:`gencore.figures.overview` and :mod:`gencore.figures.gallery`.

Book: ``book/00_overview.ipynb``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import torch

from .. import metrics
from .. import overview as O
from ..data import NoisyCurve, make

__all__ = ["regression_data", "manifold_frames", "classifier_data", "classifier_truth", "MoonClasses",
           "labelled_moons", "two_classifiers",
           "DATASET", "Sampler", "Family", "GalleryResult", "Resample", "data_sampler", "run_gallery",
           "curve_distance", "curve_distance_spread", "verdicts", "with_sampler"]

DATASET = "moons"  # the one 2D dataset every family of the gallery is shown on
Sampler = Callable[[torch.Tensor, int, torch.Generator], torch.Tensor]


# ------------------------------------------------------------------ regression to the mean
def regression_data(separations, n: int = 512, generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float64, device: torch.device | str | None = None):
    """One two-branch dataset per separation, stacked: ``x, y`` of shape ``(S, n, 1)`` in ``dtype``.

    Drawn in float64 on the generator's device whatever ``dtype`` (then cast and moved to
    ``device``), so the data are the same numbers, rounded, wherever they go.
    """
    where = generator.device if generator is not None else None
    pairs = [O.bimodal_regression_data(n, float(d), generator=generator, dtype=torch.float64, device=where)
             for d in separations]
    return tuple(torch.stack(p).to(device=device, dtype=dtype) for p in zip(*pairs))


# ------------------------------------------------------------------ a curve in the plane
def manifold_frames(noises, n: int = 800, k: int = 20, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> dict:
    """One spiral per noise level, the same draws scaled: ``{noise: (x (n, 2), local-PCA share (n,))}`` (float64).

    Every frame replays the same random numbers (a seed drawn once from ``generator``, then a
    CPU generator), so a slider over the noise moves the same points away from the curve. The
    points and shares live on ``device`` (the CPU when ``None``).
    """
    seed = int(torch.randint(2**62, (1,), generator=generator))
    frames = {}
    for s in noises:
        x = O.spiral_curve(n, float(s), torch.Generator().manual_seed(seed), torch.float64, device)
        frames[round(float(s), 3)] = (x, O.local_pca_ratio(x, k))
    return frames


# ------------------------------------------------------------------ generative classifier
def classifier_data(n: int = 600, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                    device: torch.device | str | None = None):
    """Two labelled classes in the plane (two Gaussians of different shapes): ``x (n, 2)``, ``y (n,)``."""
    return O.sample_class_gaussians(classifier_truth(dtype, device), n, generator)


def classifier_truth(dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> O.ClassGaussians:
    """The joint :func:`classifier_data` draws from: its Bayes-optimal boundary and its Bayes error are exact."""
    kw = dict(dtype=dtype, device=device)
    return O.ClassGaussians(torch.tensor([[-1.0, -0.3], [1.0, 0.4]], **kw),
                            torch.tensor([[[0.6, 0.3], [0.3, 0.4]], [[0.3, -0.1], [-0.1, 0.5]]], **kw),
                            torch.tensor([0.5, 0.5], **kw))


class MoonClasses:
    r"""Labelled moons: class :math:`y` is moon :math:`y` of ``make("moons", noise=noise)``, each with probability ½.

    ``log_joint(x)`` is :math:`\log p(x, y)` ``(N, 2)`` from each moon's exact density (a noisy
    curve), so the Bayes-optimal boundary and error are known; the classes are not Gaussian.
    """

    def __init__(self, noise: float = 0.25, dtype: torch.dtype = torch.float64,
                 device: torch.device | str | None = None):
        moons = make(DATASET, noise=noise, dtype=dtype, device=device)
        self.noise = noise
        self.moons = [NoisyCurve([piece], noise, dtype=dtype, device=device) for piece in moons.pieces]

    def log_joint(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m.log_prob(x) for m in self.moons], -1) - math.log(2)

    def sample(self, n: int, generator: torch.Generator | None = None):
        """``x (n, 2)``, ``y (n,)``: a fair coin for the moon, then a point of it."""
        y = torch.randint(2, (n,), generator=generator)
        x = torch.empty(n, 2, dtype=self.moons[0].nodes.dtype)
        for c, moon in enumerate(self.moons):
            idx = (y == c).nonzero()[:, 0]
            x[idx] = moon.sample((len(idx),), generator=generator).cpu().to(x.dtype)
        device = self.moons[0].nodes.device
        return x.to(device), y.to(device)


def labelled_moons(n: int = 600, noise: float = 0.25, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float64, device: torch.device | str | None = None):
    """``n`` labelled points of :class:`MoonClasses` (drawn on the CPU, then moved): ``x (n, 2)``, ``y (n,)``."""
    x, y = MoonClasses(noise, dtype).sample(n, generator)
    return x.to(device), y.to(device)


def two_classifiers(sets, test_sets, steps: int = 300, hidden: int = 16, generator: torch.Generator | None = None,
                    progress: bool = True) -> dict:
    """The generative (Gaussian classes, Bayes' rule) and the discriminative classifier on each training set.

    ``sets`` and ``test_sets`` are sequences of ``(x (N, 2), y (N,))`` with the same ``N`` per
    list; the discriminative nets of all sets train together (:func:`gencore.overview.fit_discriminative`).
    Returns ``{"generative": [ClassGaussians...], "net": model, "history": ...,
    "accuracy": {"generative": [...], "discriminative": [...]}}`` (test accuracies, one per set).
    """
    xs, ys = torch.stack([x for x, _ in sets]), torch.stack([y for _, y in sets])
    gens = [O.fit_class_gaussians(x, y, 2) for x, y in sets]
    net, hist = O.fit_discriminative(xs, ys, 2, hidden, steps, generator=generator, progress=progress)
    acc_g, acc_d = [], []
    with torch.no_grad():
        for i, (x, y) in enumerate(test_sets):
            acc_g.append((O.class_posterior(gens[i], x).argmax(-1) == y).double().mean().item())
            logits = net(x.expand(len(sets), *x.shape))[i]
            acc_d.append((logits.argmax(-1) == y).double().mean().item())
    return {"generative": gens, "net": net, "history": hist,
            "accuracy": {"generative": acc_g, "discriminative": acc_d}}


# ------------------------------------------------------------------ the gallery's scoring
@dataclass(frozen=True)
class Family:
    """One generative family in the gallery.

    Attributes:
        name: the panel's title, e.g. "annealed Langevin (learned score)".
        chapter: the chapter that teaches it (0 for the data itself).
        sampler: ``sampler(train_data (N, 2), n, generator) -> (n, 2)`` samples in ``train_data``'s
            dtype, or ``None`` while the chapter is not written (the panel then says so).
    """

    name: str
    chapter: int
    sampler: Sampler | None = None


@dataclass(frozen=True)
class GalleryResult:
    """One panel: the family, its samples, their sliced W2 to fresh data, their mean distance to the
    moons' curves, and the seconds its sampler took (training included)."""

    family: Family
    samples: torch.Tensor | None
    sliced_w2: float | None
    curve_distance: float | None = None
    seconds: float | None = None


class Resample:
    """The empirical distribution of ``x``: ``sample(shape)`` draws rows of ``x`` with replacement."""

    def __init__(self, x: torch.Tensor):
        self.x = x

    def sample(self, sample_shape=(), generator: torch.Generator | None = None) -> torch.Tensor:
        idx = torch.randint(len(self.x), tuple(sample_shape), generator=generator)
        return self.x[idx.to(self.x.device)]


def data_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """A fresh sample of the dataset itself: the reference panel (its metric is the floor)."""
    return make(DATASET, dtype=train.dtype).sample((n,), generator=generator).to(train.device)


def curve_distance(x: torch.Tensor, segments: int = 256) -> float:
    r"""The mean distance from the points ``x`` (``(N, 2)``) to the nearest of the moons' centre curves.

    A second number that sees what sliced W2 averages away: how tightly samples hug the curves.
    For the data it is the mean size of the noise across the curve, :math:`\sigma\sqrt{2/\pi}
    \approx 0.080` for the noise :math:`\sigma = 0.1`; blurred samples score more, samples
    collapsed onto the curves less. Each curve is a polyline of ``segments`` chords and each point's
    distance to a chord is exact, so the result is within about 1e-5 of the distance to the curves
    themselves (the chords' sagitta), several times faster than distances to a dense cloud of curve points.
    """
    pieces = make(DATASET, dtype=x.dtype, device=x.device).pieces
    s = torch.linspace(0, 1, segments + 1, dtype=x.dtype, device=x.device)
    x2 = (x * x).sum(-1, keepdim=True)
    nearest = []
    for piece in pieces:
        p = piece(s)
        a, ab = p[:-1], p[1:] - p[:-1]                   # each chord: its start and its direction, (K, 2)
        xa2 = x2 - 2 * x @ a.T + (a * a).sum(-1)         # |x - a|², (N, K)
        proj, ab2 = x @ ab.T - (a * ab).sum(-1), (ab * ab).sum(-1)   # (x - a)·ab and |ab|²
        t = (proj / ab2).clamp(0, 1)                     # the nearest point of the chord, a + t ab
        nearest.append((xa2 - t * (2 * proj - t * ab2)).clamp_min(0).amin(-1))
    return float(torch.stack(nearest, -1).amin(-1).sqrt().mean())


def curve_distance_spread(sample_fn, n: int, repeats: int = 40,
                          generator: torch.Generator | None = None) -> metrics.Floor:
    """The data's own :func:`curve_distance` at sample size ``n``: mean ± sd over ``repeats`` samples.

    The noise of the second number: a model's distance to the curves is read against this spread
    as its sliced W2 is read against the floor's.
    """
    values = torch.tensor([curve_distance(sample_fn(n, generator)) for _ in range(repeats)], dtype=torch.float64)
    return metrics.Floor(mean=float(values.mean()), sd=float(values.std()), n=n, repeats=repeats)


def run_gallery(families, n: int = 1000, n_train: int = 4000, generator: torch.Generator | None = None,
                floor_repeats: int = 40, device: torch.device | str | None = None):
    """Train and sample every family that has a sampler; score each with sliced W2 against fresh data.

    ``families`` is a sequence of :class:`Family` (the book's is
    :data:`gencore.experiments.gallery.FAMILIES`). The training and test sets are drawn from
    ``generator``; each family's sampler gets a generator of its own, seeded from one number drawn
    from ``generator`` and the family's chapter, and every score is :func:`gencore.metrics.sliced_w2`
    (the book's fixed projections), so adding a family leaves the others' numbers alone.

    Returns ``(results, floor, curve_floor)``: one :class:`GalleryResult` per family; the
    data-vs-data floor of sliced W2 at ``n`` samples with the gallery's projections, as a
    :class:`gencore.metrics.Floor` (mean ± sd over ``floor_repeats`` pairs of fresh data samples),
    so that two scores are called different only when they differ by more than twice its sd; and
    the data's own distance to the curves at ``n`` samples, mean ± sd over ``floor_repeats``
    samples.

    The data live on ``device`` (the CPU when ``None``), so every family trains and samples
    there; they are drawn on ``generator``'s device and moved, the same numbers on every device.
    """
    g = generator
    base = int(torch.randint(2**62, (1,), generator=g))  # the families' seeds: base + chapter
    p = make(DATASET, dtype=torch.float64, device=device)
    train, test = p.sample((n_train,), generator=g), p.sample((n,), generator=g)

    def sw(x, y):  # the same 256 directions for every family and for the floor
        return metrics.sliced_w2(x, y, n_projections=256)

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
        x = fam.sampler(train, n, torch.Generator().manual_seed(base + fam.chapter))
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


def with_sampler(name: str, sampler: Sampler, families) -> tuple[Family, ...]:
    """A copy of the registry ``families`` with ``name``'s sampler set (for tests and readers' experiments)."""
    return tuple(replace(f, sampler=sampler) if f.name == name else f for f in families)
