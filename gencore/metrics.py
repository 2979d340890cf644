r"""Sample quality metrics computed the same way in every chapter.

Two families. Sample-based distances (sliced Wasserstein, MMD) compare a model's samples with
data and work for any model. Grid quadratures (KL, entropy, cross-entropy) need densities and
are exact in 2D, so they are the reference numbers the sample-based ones are checked against.
``mode_coverage`` and ``mode_shares`` count modes of Gaussian rings and grids, and ``data_floor``
gives the score of a second sample from the data itself, the floor every model is set beside.
``kde_log_prob`` turns samples into a density, and ``density_image`` a density into an image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .tensors import extent_box, noise, positive, positive_int, validate
from .quadrature import grid_log_prob

__all__ = [
    "sliced_wasserstein", "sliced_w2", "FIXED_PROJECTIONS_SEED", "mmd", "kl_on_grid", "entropy_on_grid",
    "cross_entropy_on_grid", "kde_log_prob", "density_image", "ModeCoverage", "mode_coverage", "mode_shares",
    "data_floor", "Floor", "floor_spread",
]

LogDensity = Callable[[torch.Tensor], torch.Tensor]


def _cloud(name: str, t, min_points: int = 1) -> torch.Tensor:
    """Check that ``t`` is a finite floating-point point cloud of shape ``(N, d)``, ``N >= min_points``."""
    validate(name, t, nonempty=False)
    if t.ndim != 2 or t.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N, d) with d >= 1; got {tuple(t.shape)}")
    if t.shape[0] < min_points:
        raise ValueError(f"{name} must hold at least {min_points} point(s); got {t.shape[0]}")
    return t


def _pair(x, y, min_points: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Check two clouds against each other; promote both to a common floating dtype."""
    _cloud("x", x, min_points)
    _cloud("y", y, min_points)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same feature dim; got x {tuple(x.shape)}, y {tuple(y.shape)}")
    if x.device != y.device:
        raise ValueError(f"y must be on x's device {x.device}; got {y.device}")
    dtype = torch.promote_types(x.dtype, y.dtype)
    return x.to(dtype), y.to(dtype)


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, n_projections: int = 256,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Sliced Wasserstein-2 distance :math:`(\mathbb{E}_\theta W_2^2(\theta^\top x,\theta^\top y))^{1/2}`.

    The expectation over unit directions :math:`\theta \sim U(S^{d-1})` is Monte Carlo with
    ``n_projections`` directions. Each 1D :math:`W_2^2` between projected empirical measures is
    exact, :math:`\int_0^1 (Q_x(u) - Q_y(u))^2 du` with :math:`Q` the empirical quantile
    functions: for ``N == M`` it pairs the sorted projections, for ``N != M`` it sums over the
    ``<= N + M`` intervals on which both quantile functions are constant (no resampling).
    Differentiable in ``x`` and ``y`` (usable as a training loss away from ``x == y``).

    Args:
        x: ``(N, d)`` samples.
        y: ``(M, d)`` samples, same ``d``; ``N`` and ``M`` may differ.
        n_projections: number of random unit directions.
        generator: draws the directions (on the generator's device, then moved to ``x``'s).

    Returns:
        A scalar tensor, SW2 (not squared), in the data's units, with ``x``'s dtype/device.

    References:
        Bonneel, Rabin, Peyré, Pfister (2015). Sliced and Radon Wasserstein barycenters of
        measures. Journal of Mathematical Imaging and Vision 51(1).
    """
    x, y = _pair(x, y)
    positive_int("n_projections", n_projections)
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    theta = noise((n_projections, d), x, generator)
    theta = theta / theta.norm(dim=1, keepdim=True)
    px = (x @ theta.T).sort(dim=0).values  # (N, L) sorted projections
    py = (y @ theta.T).sort(dim=0).values  # (M, L)
    if n == m:
        w2_sq = (px - py).pow(2).mean(dim=0)
    else:
        # Breakpoints i/N and j/M of the two quantile functions, in integer units of 1/(N M).
        i, j = torch.arange(1, n + 1, device=x.device), torch.arange(1, m + 1, device=x.device)
        cuts = torch.cat([i * m, j * n]).sort().values
        lower = torch.cat([cuts.new_zeros(1), cuts[:-1]])
        keep = cuts > lower  # drop empty intervals (shared breakpoints)
        lower, upper = lower[keep], cuts[keep]
        twice_mid = lower + upper  # 2 u_mid N M for the midpoint u_mid of each interval
        ix, iy = twice_mid // (2 * m), twice_mid // (2 * n)  # floor(u_mid N), floor(u_mid M)
        width = (upper - lower).to(x.dtype) / (n * m)
        w2_sq = ((px[ix] - py[iy]).pow(2) * width[:, None]).sum(dim=0)
    return w2_sq.mean().sqrt()


# The seed of sliced_w2's directions: part of the metric's definition, a constant that ignores GENCORE_SEED.
FIXED_PROJECTIONS_SEED = 20151


def sliced_w2(x: torch.Tensor, y: torch.Tensor, n_projections: int = 256) -> torch.Tensor:
    r"""Sliced :math:`W_2` with the book's fixed directions: one metric across every chapter.

    :func:`sliced_wasserstein` with ``n_projections`` directions drawn by a private CPU
    generator seeded with ``FIXED_PROJECTIONS_SEED``, so two calls on the same samples agree
    exactly and a comparison between models is never confounded with a change of directions.
    Draws nothing from torch's global generator.

    Example:
        >>> a = torch.zeros(100, 2); b = a + torch.tensor([3.0, 4.0])
        >>> abs(sliced_w2(a, b, 4096).item() ** 2 - 12.5) < 0.5  # E (θ·(3,4))² = 25/2 for θ on the circle
        True
        >>> bool(sliced_w2(a, b) == sliced_w2(a, b))  # the same directions every call
        True
    """
    gen = torch.Generator().manual_seed(FIXED_PROJECTIONS_SEED)
    return sliced_wasserstein(x, y, n_projections, generator=gen)


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidth: float | torch.Tensor | None = None) -> torch.Tensor:
    r"""Unbiased estimate :math:`\mathrm{MMD}^2_u(x, y)` of the squared MMD with a Gaussian kernel.

    .. math::
        \frac{1}{N(N-1)} \sum_{i \ne j} k(x_i, x_j) + \frac{1}{M(M-1)} \sum_{i \ne j} k(y_i, y_j)
        - \frac{2}{NM} \sum_{i, j} k(x_i, y_j), \qquad k(a, b) = e^{-\|a - b\|^2 / (2 h^2)}.

    This is MMD **squared**, and because it is unbiased it fluctuates around 0 when ``x`` and
    ``y`` come from the same distribution, so it can be slightly negative. Cost and memory are
    ``O((N + M)^2)``.

    Args:
        x: ``(N, d)`` samples, ``N >= 2``.
        y: ``(M, d)`` samples, ``M >= 2``, same ``d``.
        bandwidth: kernel width ``h > 0``. ``None`` uses the median heuristic: ``h`` is the
            (lower) median of the pairwise distances of the pooled sample ``cat([x, y])``,
            computed without gradient.

    Returns:
        A scalar tensor, MMD² (unbiased), with ``x``'s dtype/device.

    References:
        Gretton, Borgwardt, Rasch, Schölkopf, Smola (2012). A kernel two-sample test. JMLR 13.
    """
    x, y = _pair(x, y, min_points=2)
    n, m = x.shape[0], y.shape[0]
    if bandwidth is None:
        h = torch.pdist(torch.cat([x, y]).detach()).median()
        if not bool(h > 0):
            raise ValueError("bandwidth: the median heuristic gave 0 (points coincide); pass one")
    else:
        h = positive("bandwidth", bandwidth)

    def gram(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        d2 = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist").pow(2)
        return torch.exp(-d2 / (2 * h**2))

    k_xx, k_yy, k_xy = gram(x, x), gram(y, y), gram(x, y)
    term_xx, term_yy = ((k.sum() - k.diagonal().sum()) / (c * (c - 1)) for k, c in ((k_xx, n), (k_yy, m)))
    return term_xx + term_yy - 2 * k_xy.mean()


def _grid_p(log_p: LogDensity, extent, resolution, dtype, device):  # points, log p, p's renormalized masses
    extent_box("extent", extent)
    positive_int("resolution", resolution, minimum=2)
    points, lp, _ = grid_log_prob(log_p, extent, resolution, dtype=dtype, device=device)
    lp = lp.to(dtype)
    log_norm = torch.logsumexp(lp, dim=0)  # the cell area cancels in the renormalization
    if not bool(torch.isfinite(log_norm)):
        raise ValueError(f"log_p must give positive finite mass on the grid over extent={extent}")
    return points, lp, (lp - log_norm).exp()


def _expect(w: torch.Tensor, f: torch.Tensor) -> torch.Tensor:  # sum_i w_i f_i with 0 * inf = 0 (xlogy)
    return torch.where(w > 0, w * f, torch.zeros_like(w)).sum()


def kl_on_grid(log_p: LogDensity, log_q: LogDensity, extent: Sequence[float], resolution: int, *,
               dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    r""":math:`\mathrm{KL}(p \| q) = \int p \log(p / q)` in nats, by the midpoint rule on a grid.

    With ``w_i`` p's cell masses renormalized to sum to one over the box, returns
    :math:`\sum_i w_i (\log p(c_i) - \log q(c_i))` over cell midpoints :math:`c_i`. The
    renormalization means mass of ``p`` outside the box does not bias the result (the box just
    has to hold nearly all of it); cells where ``w_i`` underflows to 0 contribute 0, and the
    result is ``+inf`` where ``q`` vanishes on p's support.

    Args:
        log_p: normalized log-density of ``p``, mapping ``(N, 2)`` points to ``(N,)``.
        log_q: normalized log-density of ``q``, same signature.
        extent: the box ``(xmin, xmax, ymin, ymax)``.
        resolution: cells per side (``>= 2``).
        dtype, device: of the grid (float64 by default: these are reference numbers).

    Returns:
        A scalar tensor of ``dtype``.
    """
    _, lp, w = _grid_p(log_p, extent, resolution, dtype, device)
    lq = grid_log_prob(log_q, extent, resolution, dtype=dtype, device=device)[1].to(dtype)
    return _expect(w, lp - lq)


def entropy_on_grid(log_p: LogDensity, extent: Sequence[float], resolution: int, *,
                    dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    r""":math:`H(p) = -\int p \log p` in nats, as :math:`-\sum_i w_i \log p(c_i)` on a grid.

    The weights ``w_i`` are p's renormalized cell masses, exactly as in ``kl_on_grid``; the
    arguments are ``kl_on_grid``'s. Returns a scalar tensor of ``dtype``.
    """
    _, lp, w = _grid_p(log_p, extent, resolution, dtype, device)
    return -_expect(w, lp)


def cross_entropy_on_grid(log_p: LogDensity, log_q: LogDensity, extent: Sequence[float], resolution: int, *,
                          dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    r""":math:`H(p, q) = -\int p \log q` in nats, the exact NLL of model ``q`` on data from ``p``.

    Computed as :math:`-\sum_i w_i \log q(c_i)` with the same weights as ``kl_on_grid``, so
    ``cross_entropy_on_grid == entropy_on_grid + kl_on_grid`` up to rounding. The arguments
    are ``kl_on_grid``'s (``p`` the data, ``q`` the model). Returns a scalar tensor of ``dtype``.
    """
    _, _, w = _grid_p(log_p, extent, resolution, dtype, device)
    lq = grid_log_prob(log_q, extent, resolution, dtype=dtype, device=device)[1].to(dtype)
    return -_expect(w, lq)


def kde_log_prob(samples: torch.Tensor, bandwidth: float, chunk: int = 2048) -> LogDensity:
    r"""The log-density of the Gaussian kernel density estimate of ``samples``, as a function.

    :math:`\log \hat q_h(x) = \log \frac1N \sum_i \mathcal N(x;\, x_i, h^2 I)`, computed with a
    ``logsumexp`` over the samples, ``chunk`` query points at a time, in float64 (on the samples'
    device), and returned in the query points' dtype.

    Args:
        samples: ``(N, d)`` points :math:`x_i` (detached); bandwidth: the width :math:`h > 0`;
        chunk: query points per ``cdist`` call.

    Returns ``log_prob``, mapping ``(M, d)`` points to ``(M,)`` log-densities.

    Example:
        >>> lq = kde_log_prob(torch.zeros(3, 2), 1.0)
        >>> round(lq(torch.zeros(1, 2)).item(), 4) == round(-math.log(2 * math.pi), 4)
        True
    """
    pts = _cloud("samples", samples).detach().double()
    h2 = float(positive("bandwidth", bandwidth)) ** 2
    positive_int("chunk", chunk)
    log_norm = math.log(len(pts)) + 0.5 * pts.shape[1] * math.log(2 * math.pi * h2)

    def log_prob(x: torch.Tensor) -> torch.Tensor:
        _cloud("x", x)
        out = [torch.logsumexp(-0.5 * torch.cdist(xc, pts).pow(2) / h2, -1) - log_norm
               for xc in x.to(pts).split(chunk)]
        return torch.cat(out).to(x.dtype) if out else x.new_zeros(0)

    return log_prob


def density_image(log_prob: LogDensity, extent: Sequence[float], resolution: int, *, log: bool = False,
                  dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    """``exp(log_prob)`` (``log_prob`` with ``log=True``) on the midpoint grid as an image ``(resolution, resolution)``.

    Row ``i`` is the ``i``-th y value from the bottom and column ``j`` the ``j``-th x value, the
    layout ``imshow(origin="lower", extent=extent)`` expects; the grid is
    :func:`gencore.quadrature.grid`'s, evaluated without gradient in ``dtype`` on ``device``.
    """
    extent_box("extent", extent)
    positive_int("resolution", resolution, minimum=2)
    _, values, _ = grid_log_prob(log_prob, extent, resolution, dtype=dtype, device=device)
    return (values if log else values.exp()).reshape(resolution, resolution)


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """Result of ``mode_coverage`` (see there for the exact definitions)."""

    modes_captured: int
    n_modes: int
    high_quality: float
    reverse_kl: float
    counts: torch.Tensor


def mode_coverage(samples: torch.Tensor, means: torch.Tensor, std: float | torch.Tensor, threshold: float = 3.0,
                  *, min_count: int = 1) -> ModeCoverage:
    r"""Modes captured, high-quality fraction and :math:`\mathrm{KL}(\hat\pi \| U_K)` for a mixture.

    Each sample is assigned to its nearest mean (Euclidean). It is *high quality* when it lies
    within ``threshold * std`` of that mean. Then

    * ``counts[k]``: number of high-quality samples whose nearest mode is ``k``;
    * ``modes_captured``: number of modes with ``counts[k] >= min_count``;
    * ``high_quality``: fraction of all samples that are high quality;
    * ``reverse_kl``: :math:`\sum_k \hat\pi_k \log(K \hat\pi_k)` with :math:`\hat\pi_k` the
      fraction of *all* samples whose nearest mode is ``k`` (high quality or not) and
      :math:`0 \log 0 = 0`; it is 0 for a perfectly even spread and ``log K`` when every sample
      goes to one mode.

    At ``threshold=3`` in 2D, samples from the true mixture are high quality with probability
    :math:`1 - e^{-9/2} \approx 0.989` (well-separated modes), not 1.

    Args:
        samples: ``(N, d)`` generated samples.
        means: ``(K, d)`` mode centres.
        std: the per-coordinate standard deviation of each mode, ``> 0`` (a number, or a
            tensor of shape ``()`` or ``(K,)``).
        threshold: radius in units of ``std``.
        min_count: high-quality samples a mode needs to count as captured.

    Returns:
        A ``ModeCoverage``; ``counts`` is an int64 ``(K,)`` tensor on ``samples``' device.

    References:
        Srivastava, Valkov, Russell, Gutmann, Sutton (2017). VEEGAN: reducing mode collapse in
        GANs using implicit variational learning. NeurIPS.
        Lin, Khetan, Fanti, Oh (2018). PacGAN: the power of two samples in generative
        adversarial networks. NeurIPS.
    """
    k = _modes(samples, means)
    positive("std", std), positive("threshold", threshold)
    positive_int("min_count", min_count)
    means = means.to(samples)
    sigma = torch.as_tensor(std, dtype=samples.dtype, device=samples.device)
    if sigma.ndim > 1 or sigma.numel() not in (1, k):
        raise ValueError(f"std must be a number or of shape () or ({k},); got {tuple(sigma.shape)}")
    dist = torch.cdist(samples, means, compute_mode="donot_use_mm_for_euclid_dist")  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= threshold * sigma.expand(k)[nearest]
    counts = torch.bincount(nearest[good], minlength=k)
    share = torch.bincount(nearest, minlength=k).to(samples.dtype) / samples.shape[0]
    return ModeCoverage(modes_captured=int((counts >= min_count).sum()), n_modes=k,
                        high_quality=float(good.to(samples.dtype).mean()),
                        reverse_kl=float(torch.xlogy(share, share).sum()) + math.log(k), counts=counts)


def _modes(samples, means) -> int:
    """Check ``samples (N, d)`` and ``means (K, d)`` against each other; return ``K``."""
    _cloud("samples", samples)
    d = samples.shape[1]
    validate("means", means, ndim=2)
    if means.shape[1] != d:
        raise ValueError(f"means must have shape (K, d) = (K, {d}) to match samples; got {tuple(means.shape)}")
    return len(means)


def mode_shares(samples: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    r""":math:`\hat\pi_k`, the fraction of ``samples (N, d)`` whose nearest (Euclidean) mode is ``means[k]``.

    Returns a ``(K,)`` tensor summing to one, in ``samples``' dtype and on its device (the
    :math:`\hat\pi` of :func:`mode_coverage`'s ``reverse_kl``).

    Example:
        >>> mode_shares(torch.tensor([[0.1, 0.0], [0.9, 0.0], [1.2, 0.0]]), torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
        tensor([0.3333, 0.6667])
    """
    k = _modes(samples, means)
    nearest = torch.cdist(samples, means.to(samples), compute_mode="donot_use_mm_for_euclid_dist").argmin(1)
    return samples.new_zeros(k).index_add_(0, nearest, samples.new_ones(len(nearest))) / samples.shape[0]


def data_floor(metric: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               sample_fn: Callable[[int, torch.Generator | None], torch.Tensor], n: int, repeats: int = 1,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean of ``metric(a, b)`` over ``repeats`` pairs of independent data samples of size ``n``.

    This is what a perfect model scores with ``n`` samples: any model's score is read beside
    it, never beside 0. For each repeat, ``a = sample_fn(n, generator)`` then
    ``b = sample_fn(n, generator)`` are drawn in that order. A metric that needs its own
    randomness (``sliced_wasserstein``) can get it via ``functools.partial``.

    Args:
        metric: maps two ``(n, d)`` samples to a scalar (tensor or number).
        sample_fn: ``sample_fn(n, generator)`` returns ``(n, d)`` samples of the data.
        n: sample size, the same as the model's samples the floor is compared with.
        repeats: independent pairs averaged over.
        generator: passed to every ``sample_fn`` call.

    Returns:
        A scalar tensor (dtype/device of ``metric``'s output).
    """
    return torch.stack(_data_pairs(metric, sample_fn, n, repeats, generator)).mean()


def _data_pairs(metric, sample_fn, n: int, repeats: int, generator) -> list[torch.Tensor]:
    """``metric(a, b)`` for ``repeats`` pairs, ``a`` then ``b`` drawn by ``sample_fn(n, generator)``."""
    positive_int("n", n), positive_int("repeats", repeats)
    values = []
    for _ in range(repeats):
        a = sample_fn(n, generator)  # a first, then b: the order is part of the floor's definition
        values.append(torch.as_tensor(metric(a, sample_fn(n, generator))))
    return values


@dataclass(frozen=True)
class Floor:
    """What a perfect model scores, with the metric's own noise: mean ± sd over data pairs.

    ``mean`` and ``sd`` summarize ``metric(a, b)`` over ``repeats`` pairs of independent data
    samples of size ``n``. A model's score is read beside ``mean``, and two scores are called
    different only when they differ by more than ``2 * sd`` (:meth:`separates`).

    Example:
        >>> floor = Floor(mean=0.05, sd=0.01, n=1000, repeats=20)
        >>> floor.separates(0.10, 0.07), floor.reaches(0.06), str(floor)
        (True, True, '0.0500 ± 0.0100')
    """

    mean: float
    sd: float
    n: int
    repeats: int

    def separates(self, a: float, b: float, k: float = 2.0) -> bool:
        """Whether scores ``a`` and ``b`` differ by more than ``k`` standard deviations."""
        return abs(float(a) - float(b)) > k * self.sd

    def reaches(self, value: float, k: float = 2.0) -> bool:
        """Whether ``value`` lies within ``k`` standard deviations above the mean (or below it)."""
        return float(value) <= self.mean + k * self.sd

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.sd:.4f}"


def floor_spread(metric: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 sample_fn: Callable[[int, torch.Generator | None], torch.Tensor], n: int, repeats: int = 20,
                 generator: torch.Generator | None = None) -> Floor:
    """The data-vs-data floor of ``metric`` at sample size ``n``, with its spread.

    Draws ``repeats`` independent pairs exactly as :func:`data_floor` does and returns their
    mean and sample standard deviation (``repeats >= 2``), so that every comparison of models
    can be read against the noise of the metric itself.

    Args:
        metric: maps two ``(n, d)`` samples to a scalar (tensor or number).
        sample_fn: ``sample_fn(n, generator)`` returns ``(n, d)`` samples of the data.
        n: sample size, the same as the model's samples the floor is compared with.
        repeats: independent pairs, at least 2 (20 or more for a trustworthy sd).
        generator: passed to every ``sample_fn`` call.

    Returns:
        A :class:`Floor`.
    """
    if isinstance(repeats, int) and not isinstance(repeats, bool) and repeats == 1:
        raise ValueError(f"repeats must be at least 2 to estimate a spread; got {repeats}")
    pairs = _data_pairs(metric, sample_fn, n, repeats, generator)
    v = torch.tensor([float(x.detach().cpu()) for x in pairs], dtype=torch.float64)
    return Floor(mean=float(v.mean()), sd=float(v.std(unbiased=True)), n=n, repeats=repeats)
