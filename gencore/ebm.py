r"""Chapter 8: energy-based models, the Boltzmann distribution and its partition function.

An energy :math:`E(x)` defines the density :math:`p_T(x) = e^{-E(x)/kT} / Z_T`. In 2D the
partition function :math:`Z_T = \int e^{-E/kT}\,dx` is a cheap grid sum (``gencore.quadrature``),
which is what lets the chapter check every approximation a real EBM has to make: the negative
phase of the likelihood gradient estimated with MCMC samples, and score matching, which never
needs :math:`Z` at all.

Energies are callables mapping points ``(..., 2)`` to energies ``(...)``; they compute in the
dtype and on the device of their input. Book symbol -> code: :math:`kT` ``temperature``,
:math:`\log Z` ``log_Z``. The samplers (MALA, simulated annealing) are in :mod:`gencore.mcmc`.

Book: ``book/08_ebm.ipynb``.

References:
    Hinton (2002), Training products of experts by minimizing contrastive divergence.
    Tieleman (2008), Training restricted Boltzmann machines using approximations to the
    likelihood gradient (persistent CD). Du & Mordatch (2019), arXiv:1903.08689.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from .nn import mlp, mlp_derivatives
from .quadrature import grid, grid_log_prob
from .score import implicit_score_matching_loss
from .tensors import extent_box, function, positive, positive_int, positive_number, uniform, validate

__all__ = ["log_partition", "boltzmann_log_prob", "BoltzmannLogProb", "quadratic_energy", "quadratic_log_partition",
           "two_basin_energy", "energy_score", "grid_sample", "EnergyNet", "contrastive_divergence_loss",
           "energy_score_matching_loss", "maxent_check", "gradient_phases"]

Energy = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- checks
def _where(energy_fn, dtype, device):
    """Grid dtype/device: as asked, else those of a module's parameters, else float64 on the CPU."""
    if isinstance(energy_fn, nn.Module):
        p = next(iter(energy_fn.parameters()), None)
        if p is not None:
            return dtype or p.dtype, device or p.device
    return dtype or torch.float64, device


def _points(name: str, x) -> torch.Tensor:
    return validate(name, x, min_ndim=2, last_dim=2)


# ------------------------------------------------------------------ partition function
def log_partition(energy_fn: Energy, extent: Sequence[float], resolution: int, *,
                  temperature: float = 1.0, dtype: torch.dtype | None = None,
                  device: torch.device | str | None = None) -> torch.Tensor:
    r""":math:`\log Z_T = \log \int_{\text{box}} e^{-E(x)/kT}\,dx` by the midpoint rule on a 2D grid.

    Computed in log space (``logsumexp`` over the cells, plus the log of a cell's area). When
    autograd is on and ``energy_fn`` has trainable parameters, the result is differentiable in
    them (:math:`\nabla_\theta \log Z = -\mathbb E_{p_\theta}[\nabla_\theta E]/kT`); otherwise the
    grid is evaluated in chunks without a graph.

    Args:
        energy_fn: maps points ``(N, 2)`` to energies ``(N,)``.
        extent: the box ``(xmin, xmax, ymin, ymax)``; it must hold all but a negligible part of
            the mass (the result is the integral over the box).
        resolution: cells per side (``>= 2``).
        temperature: :math:`kT > 0`.
        dtype, device: of the grid; by default those of ``energy_fn``'s parameters if it is an
            ``nn.Module``, else float64 on the CPU.

    Returns:
        A scalar tensor of the grid's dtype.

    Book: ``eq-ebm-partition``.
    """
    function("energy_fn", energy_fn, "points (N, 2) to energies (N,)")
    extent_box("extent", extent)
    positive_int("resolution", resolution, minimum=2)
    kT = positive_number("temperature", temperature)
    dtype, device = _where(energy_fn, dtype, device)

    def neg(x):
        e = energy_fn(x)
        if not isinstance(e, torch.Tensor) or e.shape != x.shape[:-1]:
            got = tuple(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__
            raise ValueError(f"energy_fn must map (N, 2) points to (N,) energies; got {got}")
        if e.device.type != "meta" and bool((torch.isnan(e) | (e == -math.inf)).any()):
            raise ValueError("energy_fn returned NaN or -inf energies: exp(-E/kT) has no finite integral")
        return -e / kT

    if torch.is_grad_enabled() and isinstance(energy_fn, nn.Module) and any(
            p.requires_grad for p in energy_fn.parameters()):
        points, area = grid(extent, resolution, dtype=dtype, device=device)
        values = neg(points)
    else:
        points, values, area = grid_log_prob(neg, extent, resolution, dtype=dtype, device=device)
    log_z = torch.logsumexp(values, 0) + math.log(area)
    if not bool(torch.isfinite(log_z)):
        raise ValueError(f"energy_fn: exp(-E/kT) has no finite positive integral over extent={tuple(extent)}")
    return log_z


@dataclass(frozen=True, eq=False)
class BoltzmannLogProb:
    r"""The normalized log-density :math:`\log p_T(x) = -E(x)/kT - \log Z_T` (a callable).

    Attributes:
        energy_fn: the energy, ``(N, 2) -> (N,)``.
        temperature: :math:`kT`.
        log_Z: :math:`\log Z_T` by quadrature (a detached scalar tensor).
        extent, resolution: the quadrature box and grid.
    """

    energy_fn: Energy
    temperature: float
    log_Z: torch.Tensor
    extent: tuple
    resolution: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(N, 2)`` -> log-densities ``(N,)`` in ``x``'s dtype."""
        return -self.energy_fn(x) / self.temperature - self.log_Z.to(x.dtype)


def boltzmann_log_prob(energy_fn: Energy, temperature: float, extent: Sequence[float],
                       resolution: int, **kw) -> BoltzmannLogProb:
    r"""The Boltzmann density :math:`p_T = e^{-E/kT}/Z_T` as a normalized log-density callable.

    :math:`\log Z_T` is computed once, by :func:`log_partition` (without a graph), so the
    callable is cheap; it integrates to one over ``extent`` up to the quadrature error.

    Args:
        energy_fn: maps ``(N, 2)`` to ``(N,)``.
        temperature: :math:`kT > 0`.
        extent, resolution: as in :func:`log_partition`.
        **kw: ``dtype``/``device`` of the quadrature grid.

    Returns:
        A :class:`BoltzmannLogProb` mapping ``(N, 2)`` points to ``(N,)`` log-densities.

    Book: ``eq-ebm-boltzmann``.
    """
    kT = positive_number("temperature", temperature)
    with torch.no_grad():
        log_z = log_partition(energy_fn, extent, resolution, temperature=kT, **kw)
    return BoltzmannLogProb(energy_fn, kT, log_z.detach(), tuple(float(v) for v in extent), resolution)


# ----------------------------------------------------------------------------- energies
def quadratic_energy(mean: torch.Tensor, precision: torch.Tensor) -> Energy:
    r"""The quadratic energy :math:`E(x) = \tfrac12 (x - \mu)^\top A (x - \mu)`, ``A`` SPD.

    Its Boltzmann density at :math:`kT` is :math:`\mathcal N(\mu, kT\,A^{-1})`.

    Args:
        mean: ``(2,)``; precision: ``(2, 2)`` symmetric positive definite.
    """
    validate("mean", mean, ndim=1, last_dim=2)
    validate("precision", precision, ndim=2, last_dim=2)
    if precision.shape != (2, 2):
        raise ValueError(f"precision must be a (2, 2) tensor; got shape {tuple(precision.shape)}")
    if precision.device.type != "meta" and bool(torch.linalg.cholesky_ex(precision)[1] != 0):
        raise ValueError("precision must be symmetric positive definite")

    def energy(x: torch.Tensor) -> torch.Tensor:
        d = x - mean.to(x)
        return 0.5 * ((d @ precision.to(x)) * d).sum(-1)

    return energy


def quadratic_log_partition(precision: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    r"""Closed form :math:`\log Z_T = \tfrac D2 \log(2\pi kT) - \tfrac12 \log\det A` of a quadratic energy.

    Book: ``eq-ebm-gauss-z``.
    """
    validate("precision", precision, ndim=2)
    kT = positive_number("temperature", temperature)
    if precision.shape[0] != precision.shape[1] or bool(torch.linalg.cholesky_ex(precision)[1] != 0):
        raise ValueError("precision must be square and symmetric positive definite")
    d = precision.shape[-1]
    return 0.5 * d * math.log(2 * math.pi * kT) - 0.5 * torch.logdet(precision)


def two_basin_energy(x: torch.Tensor) -> torch.Tensor:
    r"""The chapter's landscape: a wide shallow basin and a narrow deep one, in a confining bowl.

    .. math::
        E(x) = -\log\Big(e^{-\|x - a\|^2/(2\cdot 0.8^2)} + e^{\,2.5 - \|x - b\|^2/(2\cdot 0.3^2)}\Big)
        + \frac{\|x\|^2}{2 \cdot 3^2},

    :math:`a = (-1, 0.4)`, :math:`b = (1.2, -0.4)`. At :math:`kT = 1` the two basins hold
    similar mass; cold favours the deep one (energy), hot the wide one (entropy).

    Args:
        x: ``(..., 2)``. Returns ``(...)``.
    """
    validate("x", x, min_ndim=1, last_dim=2, finite=False)  # NaN in, NaN out: it is an energy
    a = torch.tensor([-1.0, 0.4], dtype=x.dtype, device=x.device)
    b = torch.tensor([1.2, -0.4], dtype=x.dtype, device=x.device)
    wide = -((x - a) ** 2).sum(-1) / (2 * 0.8**2)
    deep = 2.5 - ((x - b) ** 2).sum(-1) / (2 * 0.3**2)
    return -torch.logaddexp(wide, deep) + (x**2).sum(-1) / (2 * 3.0**2)


def _two_basin_gradient(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\nabla E` of :func:`two_basin_energy` in closed form: each basin's pull, weighted by its share, plus the bowl's."""
    a, b = x.new_tensor([-1.0, 0.4]), x.new_tensor([1.2, -0.4])
    share = torch.softmax(torch.stack([-((x - a) ** 2).sum(-1) / (2 * 0.8**2),
                                       2.5 - ((x - b) ** 2).sum(-1) / (2 * 0.3**2)], -1), -1)
    return share[..., :1] * (x - a) / 0.8**2 + share[..., 1:] * (x - b) / 0.3**2 + x / 3.0**2


two_basin_energy.gradient = _two_basin_gradient  # energy_score uses it instead of autograd (3x faster chains)


def energy_score(energy_fn: Energy, temperature: float = 1.0, *,
                 create_graph: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The score of the Boltzmann density, :math:`s(x) = -\nabla_x E(x)/kT`, by autograd.

    Works for any leading shape ``(..., 2)``. By default it works under ``torch.no_grad`` too and
    returns a detached tensor; with ``create_graph=True`` the score stays differentiable in ``x``
    (when ``x`` requires grad) and in the energy's parameters, as score matching needs. An energy
    carrying a closed-form gradient ``energy_fn.gradient`` (two_basin_energy) is not autograded.

    Book: ``eq-ebm-score``.
    """
    function("energy_fn", energy_fn, "points (N, 2) to energies (N,)")
    kT = positive_number("temperature", temperature)

    closed = None if create_graph else getattr(energy_fn, "gradient", None)

    def score(x: torch.Tensor) -> torch.Tensor:
        if closed is not None:
            return -closed(x.detach()) / kT
        with torch.enable_grad():
            xg = x if (create_graph and x.requires_grad) else x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(energy_fn(xg).sum(), xg, create_graph=create_graph)
        return -g / kT

    return score


def grid_sample(log_prob: Callable[[torch.Tensor], torch.Tensor], n: int, extent: Sequence[float],
                resolution: int, generator: torch.Generator | None = None, *,
                dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    r"""Exact samples (up to the grid) from a 2D density: pick a cell by its mass, then a uniform point in it.

    Only possible because the grid holds the whole distribution; it is the reference that
    MCMC samples are compared with.

    Args:
        log_prob: ``(N, 2) -> (N,)``, normalized or not.
        n: number of samples.
        extent, resolution: the grid.
        generator: source of randomness (draws on its device).
        dtype, device: of the grid and the samples.

    Returns:
        ``(n, 2)`` samples of ``dtype`` on ``device``.
    """
    function("log_prob", log_prob, "points (N, 2) to log-densities (N,)")
    positive_int("n", n)
    positive_int("resolution", resolution)
    x0, x1, y0, y1 = extent_box("extent", extent)
    pts, values, _ = grid_log_prob(log_prob, extent, resolution, dtype=dtype, device=device)
    if not bool(torch.isfinite(torch.logsumexp(values, 0))) or bool(torch.isnan(values).any()):
        raise ValueError(f"log_prob must be finite or -inf on the grid with some mass in extent={tuple(extent)}")
    probs = torch.softmax(values.to(torch.float64), 0)
    idx = torch.multinomial(probs.to(generator.device) if generator is not None else probs, n,
                            replacement=True, generator=generator).to(pts.device)
    cell = torch.stack([idx % resolution, idx // resolution], -1).to(dtype)
    u = uniform((n, 2), cell, generator)
    size = pts.new_tensor([x1 - x0, y1 - y0]) / resolution
    return pts.new_tensor([x0, y0]) + (cell + u) * size


# ----------------------------------------------------------------------------- models
class EnergyNet(nn.Module):
    r"""A small MLP energy in a fixed confining bowl: :math:`E_\theta(x) = f_\theta(x) + \|x\|^2/(2 s^2)`.

    :math:`f_\theta` is an MLP ``2 -> hidden -> hidden -> 1`` with SiLU activations; it grows at
    most linearly, so the bowl makes :math:`e^{-E_\theta}` integrable on all of :math:`\mathbb R^2`
    for every :math:`\theta`: :math:`\log Z_\theta` is finite and does not depend on the
    quadrature box once the box holds the mass.

    Args:
        hidden: width of the hidden layers.
        bowl: :math:`s`, the scale of the confining term.
        generator: draws the initial weights (torch's global generator when ``None``).
        dtype, device: of the weights (torch's default dtype, the CPU when ``None``).

    Example:
        >>> net = EnergyNet(16, generator=torch.Generator().manual_seed(0)).double()
        >>> net(torch.zeros(4, 2, dtype=torch.float64)).shape
        torch.Size([4])
        >>> bool(torch.isfinite(log_partition(net, (-8, 8, -8, 8), 100)))
        True
    """

    def __init__(self, hidden: int = 32, bowl: float = 3.0, *, generator: torch.Generator | None = None,
                 dtype: torch.dtype | None = None, device=None):
        super().__init__()
        positive_int("hidden", hidden)
        positive("bowl", bowl)
        self.net = mlp((2, hidden, hidden, 1), "silu", generator=generator, dtype=dtype, device=device)
        self.register_buffer("bowl", torch.tensor(float(bowl), dtype=dtype, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(..., 2)`` -> energies ``(...)``."""
        validate("x", x, min_ndim=1, last_dim=2, finite=False)
        return self.net(x).squeeze(-1) + (x**2).sum(-1) / (2 * self.bowl.to(x.dtype) ** 2)

    def derivatives(self, x: torch.Tensor):
        """``(E, ∇E, ΔE)`` at points ``(N, 2)``: ``(N,)``, ``(N, 2)``, ``(N,)``, in one pass (:func:`gencore.nn.mlp_derivatives`)."""
        f, grad, lap = mlp_derivatives(self.net, x)
        s2 = self.bowl.to(x.dtype) ** 2
        return f + (x**2).sum(-1) / (2 * s2), grad + x / s2, lap + x.shape[-1] / s2


# ------------------------------------------------------------------------------ losses
def contrastive_divergence_loss(energy_fn: Energy, x_data: torch.Tensor, x_neg: torch.Tensor) -> torch.Tensor:
    r"""The surrogate :math:`\frac1N\sum_n E_\theta(x_n^+) - \frac1M\sum_m E_\theta(x_m^-)` of the negative log-likelihood.

    Its gradient in :math:`\theta` is the positive phase minus the negative phase of
    :math:`-\nabla_\theta \log p_\theta`, with the model expectation replaced by an average over
    the negative samples :math:`x^-` (detached: they are treated as fixed draws from
    :math:`p_\theta`). Its *value* is not a log-likelihood.

    Args:
        energy_fn: ``(N, 2) -> (N,)``, trainable.
        x_data: data ``(N, 2)``; x_neg: negative samples ``(M, 2)`` (e.g. from :func:`mala`).

    Book: ``eq-ebm-grad``.

    References:
        Hinton (2002), Neural Computation 14(8).
    """
    function("energy_fn", energy_fn, "points (N, 2) to energies (N,)")
    _points("x_data", x_data)
    _points("x_neg", x_neg)
    return energy_fn(x_data).mean() - energy_fn(x_neg.detach()).mean()


def energy_score_matching_loss(energy_fn: Energy, x: torch.Tensor) -> torch.Tensor:
    r"""Hyvärinen's objective for an energy: :math:`\mathbb E_p\big[\tfrac12\|\nabla_x E_\theta\|^2 - \Delta_x E_\theta\big]`.

    Chapter 7's :func:`gencore.score.implicit_score_matching_loss` applied to the score
    :math:`s_\theta = -\nabla_x E_\theta` (``tr`` :math:`\nabla_x s_\theta = -\Delta_x E_\theta`).
    No partition function and no sampling.

    Args:
        energy_fn: ``(N, 2) -> (N,)``, trainable; x: data ``(N, 2)``.

    Book: ``eq-ebm-sm``.
    """
    function("energy_fn", energy_fn, "points (N, 2) to energies (N,)")
    _points("x", x)
    if isinstance(energy_fn, EnergyNet):  # the same J, its derivatives carried forward: no nested autograd
        _, grad, lap = energy_fn.derivatives(x)
        return (0.5 * grad.pow(2).sum(-1) - lap).mean()
    return implicit_score_matching_loss(energy_score(energy_fn, create_graph=True), x)


# ------------------------------------------------------------------- the chapter's checks
def maxent_check(energy_fn: Energy, temperature: float, extent: Sequence[float], resolution: int = 120, *,
                 n: int = 200, scale: float = 0.5, generator: torch.Generator | None = None):
    r"""The Boltzmann density has the largest entropy at its mean energy: :math:`H(p_T) = U/kT + \log Z_T`.

    Against ``n`` rivals :math:`q = p_T(1 + \text{scale}\cdot f)` of the same mass and mean energy
    :math:`U` on the grid: :math:`f` is six random sinusoids projected orthogonal to 1 and to
    :math:`E` under :math:`p_T`, scaled to :math:`|f| \le 1`; entropies are differential, from cell masses.

    Args:
        energy_fn: ``(N, 2) -> (N,)``; temperature: :math:`kT`; extent, resolution: the grid.
        n: number of rivals; scale: their size in ``(0, 1)``; generator: draws them.

    Returns:
        ``(H(p_T), U/kT + log Z, the rivals' entropies (n,), largest drift of mass or mean energy)``.
    """
    kT, _ = positive_number("temperature", temperature), positive_int("n", n)
    if not 0 < scale < 1:
        raise ValueError(f"scale must lie in (0, 1) so that q stays positive; got {scale}")
    lp = boltzmann_log_prob(energy_fn, kT, extent, resolution)
    pts, area = grid(extent, resolution, dtype=torch.float64)
    p = torch.softmax(lp(pts), 0)  # cell masses
    en = energy_fn(pts)
    u = float((p * en).sum())
    entropy = lambda w: float(-(torch.xlogy(w, w)).sum() + math.log(area))  # noqa: E731 (differential)
    basis = torch.stack([torch.ones_like(en), en], 1)
    hs, drift = [], 0.0
    for _ in range(n):
        c = torch.randn(6, 2, generator=generator, dtype=torch.float64)
        phase = torch.rand(6, generator=generator, dtype=torch.float64) * 2 * math.pi
        f = torch.sin(pts @ c.T + phase).sum(1)
        coef = torch.linalg.lstsq(basis * p.sqrt()[:, None], f * p.sqrt()).solution
        f = f - basis @ coef  # now sum p f = 0 and sum p f E = 0 (weighted projection)
        f = scale * f / f.abs().max()
        q = p * (1 + f)
        hs.append(entropy(q))
        drift = max(drift, abs(float((q * en).sum()) - u), abs(float(q.sum()) - 1))
    return entropy(p), u / kT + float(lp.log_Z), torch.tensor(hs, dtype=torch.float64), drift


def gradient_phases(energy: nn.Module, x: torch.Tensor, extent: Sequence[float], resolution: int = 300, *,
                    n_model: int = 50_000, generator: torch.Generator | None = None):
    r"""Both sides of :math:`\nabla_\theta \mathbb E_{data}\log p_\theta = -\mathbb E_{data}\nabla_\theta E + \mathbb E_{p_\theta}\nabla_\theta E`.

    Left: autograd through the quadrature :math:`\log Z_\theta` (:func:`log_partition`). Right:
    the positive phase on the data ``x``, and the negative phase averaged over ``n_model`` exact
    samples of :math:`p_\theta` (:func:`grid_sample`) in ten chunks (their spread: the standard error).

    Args:
        energy: an ``nn.Module`` energy ``(N, 2) -> (N,)`` (kT = 1); x: data ``(N, 2)``.
        extent, resolution: the grid; n_model: exact samples (>= 10); generator: draws them.

    Returns:
        ``(left, right, standard_error)``, flat vectors over all parameters.

    Book: ``eq-ebm-grad``.
    """
    if not isinstance(energy, nn.Module) or next(iter(energy.parameters()), None) is None:
        raise TypeError(f"energy must be an nn.Module with parameters; got {type(energy).__name__}")
    _points("x", x)
    positive_int("n_model", n_model, minimum=10)
    params = list(energy.parameters())
    flags = [p.requires_grad for p in params]

    def grad_of(value):
        return torch.cat([g.flatten() for g in torch.autograd.grad(value, params)])

    try:
        for p in params:
            p.requires_grad_(True)
        with torch.enable_grad():
            left = grad_of(-energy(x).mean() - log_partition(energy, extent, resolution))
            pos = grad_of(energy(x).mean())
            with torch.no_grad():
                lp = boltzmann_log_prob(energy, 1.0, extent, resolution)
            xs = grid_sample(lp, n_model, extent, resolution, generator, dtype=x.dtype, device=x.device)
            per = torch.stack([grad_of(energy(chunk).mean()) for chunk in xs.split(n_model // 10)])
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
    se = per.std(0) / math.sqrt(len(per))
    return left, -pos + per.mean(0), se
