r"""Chapter 8: energy-based models, the Boltzmann distribution and its partition function.

An energy :math:`E(x)` defines the density :math:`p_T(x) = e^{-E(x)/kT} / Z_T`. In 2D the
partition function :math:`Z_T = \int e^{-E/kT}\,dx` is a cheap grid sum (``gencore.quadrature``),
which is what lets the chapter check every approximation a real EBM has to make: the negative
phase of the likelihood gradient estimated with MCMC samples, and score matching, which never
needs :math:`Z` at all.

Energies are callables mapping points ``(..., 2)`` to energies ``(...)``; they compute in the
dtype and on the device of their input. Naming (book symbol -> code): :math:`kT`
``temperature``; :math:`\log Z` ``log_Z``; the Langevin/MALA step :math:`\epsilon` ``step_size``;
the chain length :math:`K` ``n_steps``.

Book: ``book/08_ebm.ipynb``.

References:
    Hinton (2002), Training products of experts by minimizing contrastive divergence.
    Tieleman (2008), Training restricted Boltzmann machines using approximations to the
    likelihood gradient (persistent CD). Du & Mordatch (2019), Implicit generation and modeling
    with energy based models, arXiv:1903.08689. Roberts & Tweedie (1996), Langevin diffusions
    (MALA). Kirkpatrick, Gelatt, Vecchi (1983), Optimization by simulated annealing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from .tensors import extent_box, positive, positive_int
from .quadrature import grid, grid_log_prob

__all__ = [
    "log_partition",
    "boltzmann_log_prob",
    "BoltzmannLogProb",
    "quadratic_energy",
    "quadratic_log_partition",
    "two_basin_energy",
    "energy_score",
    "grid_sample",
    "EnergyNet",
    "contrastive_divergence_loss",
    "energy_score_matching_loss",
    "mala",
    "simulated_annealing",
]

Energy = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- checks
def _energy(name: str, energy_fn) -> Energy:
    if not callable(energy_fn):
        raise ValueError(f"{name} must be callable, mapping points (N, 2) to energies (N,); "
                         f"got {type(energy_fn).__name__}")
    return energy_fn


def _temperature(temperature) -> float:
    if isinstance(temperature, torch.Tensor):
        if temperature.numel() != 1:
            raise ValueError(f"temperature must be a number; got a tensor of shape {tuple(temperature.shape)}")
        temperature = temperature.item()
    try:
        value = float(temperature)
    except (TypeError, ValueError) as err:
        raise ValueError(f"temperature must be a positive number (kT > 0); got {temperature!r}") from err
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"temperature must be a positive finite number (kT > 0); got {temperature!r}")
    return value


def _where(energy_fn, dtype, device):
    """Grid dtype/device: as asked, else those of a module's parameters, else float64 on the CPU."""
    if isinstance(energy_fn, nn.Module):
        p = next(iter(energy_fn.parameters()), None)
        if p is not None:
            return dtype or p.dtype, device or p.device
    return dtype or torch.float64, device


def _points(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point torch.Tensor of shape (..., 2); got "
                         f"{type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
    if x.ndim < 2 or x.shape[-1] != 2 or x.numel() == 0:
        raise ValueError(f"{name} must have shape (..., N, 2) with N >= 1; got {tuple(x.shape)}")
    return x


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
    _energy("energy_fn", energy_fn)
    extent_box("extent", extent)
    positive_int("resolution", resolution, minimum=2)
    kT = _temperature(temperature)
    dtype, device = _where(energy_fn, dtype, device)

    def neg(x):
        e = energy_fn(x)
        if not isinstance(e, torch.Tensor) or e.shape != x.shape[:-1]:
            got = tuple(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__
            raise ValueError(f"energy_fn must map (N, 2) points to (N,) energies; got {got}")
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
    kT = _temperature(temperature)
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
    if not isinstance(mean, torch.Tensor) or mean.shape != (2,):
        raise ValueError(f"mean must be a tensor of shape (2,); got {mean!r}")
    if not isinstance(precision, torch.Tensor) or precision.shape != (2, 2):
        raise ValueError(f"precision must be a (2, 2) tensor; got {precision!r}")
    if bool(torch.linalg.cholesky_ex(precision)[1] != 0):
        raise ValueError("precision must be symmetric positive definite")

    def energy(x: torch.Tensor) -> torch.Tensor:
        d = x - mean.to(x)
        return 0.5 * ((d @ precision.to(x)) * d).sum(-1)

    return energy


def quadratic_log_partition(precision: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    r"""Closed form :math:`\log Z_T = \tfrac D2 \log(2\pi kT) - \tfrac12 \log\det A` of a quadratic energy.

    Book: ``eq-ebm-gauss-z``.
    """
    kT = _temperature(temperature)
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
    a = torch.tensor([-1.0, 0.4], dtype=x.dtype, device=x.device)
    b = torch.tensor([1.2, -0.4], dtype=x.dtype, device=x.device)
    wide = -((x - a) ** 2).sum(-1) / (2 * 0.8**2)
    deep = 2.5 - ((x - b) ** 2).sum(-1) / (2 * 0.3**2)
    return -torch.logaddexp(wide, deep) + (x**2).sum(-1) / (2 * 3.0**2)


def energy_score(energy_fn: Energy, temperature: float = 1.0, *,
                 create_graph: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The score of the Boltzmann density, :math:`s(x) = -\nabla_x E(x)/kT`, by autograd.

    Works for any leading shape ``(..., 2)``. By default it works under ``torch.no_grad`` too and
    returns a detached tensor; with ``create_graph=True`` the score stays differentiable in ``x``
    (when ``x`` requires grad) and in the energy's parameters, as score matching needs.

    Book: ``eq-ebm-score``.
    """
    _energy("energy_fn", energy_fn)
    kT = _temperature(temperature)

    def score(x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            xg = x if (create_graph and x.requires_grad) else x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(energy_fn(xg).sum(), xg, create_graph=create_graph)
        return -g / kT

    return score


def grid_sample(log_prob: Callable[[torch.Tensor], torch.Tensor], n: int, extent: Sequence[float],
                resolution: int, generator: torch.Generator | None = None, *,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Exact samples (up to the grid) from a 2D density: pick a cell by its mass, then a uniform point in it.

    Only possible because the grid holds the whole distribution; it is the reference that
    MCMC samples are compared with.

    Args:
        log_prob: ``(N, 2) -> (N,)``, normalized or not.
        n: number of samples.
        extent, resolution: the grid.
        generator: source of randomness (CPU).

    Returns:
        ``(n, 2)`` samples of ``dtype``.
    """
    positive_int("n", n)
    x0, x1, y0, y1 = extent_box("extent", extent)
    _, values, _ = grid_log_prob(log_prob, extent, resolution, dtype=dtype)
    probs = torch.softmax(values.to(torch.float64), 0)
    idx = torch.multinomial(probs, n, replacement=True, generator=generator)
    cell = torch.stack([idx % resolution, idx // resolution], -1).to(dtype)
    u = torch.rand(n, 2, generator=generator, dtype=dtype)
    size = torch.tensor([x1 - x0, y1 - y0], dtype=dtype) / resolution
    return torch.tensor([x0, y0], dtype=dtype) + (cell + u) * size


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
    """

    def __init__(self, hidden: int = 32, bowl: float = 3.0):
        super().__init__()
        positive_int("hidden", hidden)
        positive("bowl", bowl)
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 1))
        self.register_buffer("bowl", torch.tensor(float(bowl)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(..., 2)`` -> energies ``(...)``."""
        return self.net(x).squeeze(-1) + (x**2).sum(-1) / (2 * self.bowl.to(x.dtype) ** 2)


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
    from .score import implicit_score_matching_loss

    _points("x", x)
    return implicit_score_matching_loss(energy_score(energy_fn, create_graph=True), x)


# ----------------------------------------------------------------------------- samplers
def _noise(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    dev = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=dev).to(x.device)


def _uniform(shape, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    dev = generator.device if generator is not None else x.device
    return torch.rand(shape, generator=generator, dtype=x.dtype, device=dev).to(x.device)


def mala(energy_fn: Energy, x: torch.Tensor, step_size: float, n_steps: int, *, temperature: float = 1.0,
         generator: torch.Generator | None = None, return_acceptance: bool = False):
    r"""Metropolis-adjusted Langevin: a Langevin proposal, accepted with the Metropolis–Hastings rule.

    Proposal :math:`y = x - \tfrac\epsilon2 \nabla E(x)/kT + \sqrt\epsilon\, z`, accepted with
    probability :math:`\min\{1, \frac{p_T(y)\, q(x\mid y)}{p_T(x)\, q(y\mid x)}\}`, where
    :math:`q(y\mid x) = \mathcal N(y;\, x - \tfrac\epsilon2\nabla E(x)/kT,\ \epsilon I)`. The correction
    makes :math:`p_T` exactly stationary for any step, removing the bias of chapter 7's unadjusted
    Langevin; only :math:`E` differences enter, never :math:`Z`.

    Args:
        energy_fn: maps ``(..., 2)`` to ``(...)``.
        x: starting points ``(..., 2)``; every leading index is an independent chain.
        step_size: :math:`\epsilon > 0`.
        n_steps: :math:`K \ge 0`.
        temperature: :math:`kT`.
        generator: source of the proposals and the accept/reject draws.
        return_acceptance: also return the mean acceptance rate.

    Returns:
        The final points (detached), or ``(points, acceptance)``.

    Book: ``eq-ebm-mala``.

    References:
        Roberts & Tweedie (1996), Bernoulli 2(4).
    """
    _energy("energy_fn", energy_fn)
    _points("x", x)
    eps = float(positive("step_size", float(step_size)))
    positive_int("n_steps", n_steps, minimum=0)
    kT = _temperature(temperature)

    def energy_and_grad(y):
        with torch.enable_grad():
            yg = y.detach().requires_grad_(True)
            e = energy_fn(yg) / kT
            (g,) = torch.autograd.grad(e.sum(), yg)
        return e.detach(), g

    x = x.detach().clone()
    e_x, g_x = energy_and_grad(x)
    accepted = x.new_zeros(())
    for _ in range(n_steps):
        y = x - 0.5 * eps * g_x + math.sqrt(eps) * _noise(x, generator)
        e_y, g_y = energy_and_grad(y)
        log_fwd = -((y - x + 0.5 * eps * g_x) ** 2).sum(-1) / (2 * eps)
        log_bwd = -((x - y + 0.5 * eps * g_y) ** 2).sum(-1) / (2 * eps)
        log_alpha = e_x - e_y + log_bwd - log_fwd
        accept = _uniform(log_alpha.shape, x, generator).log() < log_alpha
        x = torch.where(accept[..., None], y, x)
        e_x = torch.where(accept, e_y, e_x)
        g_x = torch.where(accept[..., None], g_y, g_x)
        accepted = accepted + accept.to(x.dtype).mean() / n_steps
    return (x, float(accepted)) if return_acceptance else x


def simulated_annealing(energy_fn: Energy, x: torch.Tensor, temperatures: torch.Tensor, step_size: float,
                        n_steps_each: int, generator: torch.Generator | None = None, *,
                        return_trajectory: bool = False):
    r"""Langevin dynamics while the temperature is lowered: :math:`x \leftarrow x - \tfrac\epsilon2\nabla E + \sqrt{\epsilon\,kT_l}\,z`.

    At each level :math:`kT_l` (in the given order, hot to cold) it runs ``n_steps_each`` steps
    of chapter 7's :func:`gencore.score.langevin` on the score :math:`-\nabla E/kT_l` with step
    :math:`\epsilon\,kT_l`, i.e. the update above: the drift is the same at every level and only
    the noise shrinks. Started hot, chains cross barriers freely; cooled slowly, they settle in
    the low-energy basins.

    Args:
        energy_fn: ``(N, 2) -> (N,)``.
        x: starting points ``(N, 2)``.
        temperatures: ``(L,)`` positive levels.
        step_size: :math:`\epsilon`.
        n_steps_each: steps per level.
        generator: source of the noise.
        return_trajectory: also return the states after every level, ``(L + 1, N, 2)``.

    Book: ``eq-ebm-annealing``.

    References:
        Kirkpatrick, Gelatt, Vecchi (1983), Science 220(4598).
    """
    from .score import langevin

    _points("x", x)
    if not isinstance(temperatures, torch.Tensor) or temperatures.ndim != 1 or len(temperatures) == 0:
        raise ValueError(f"temperatures must be a 1-D tensor of levels kT; got {temperatures!r}")
    positive("temperatures", temperatures)
    eps = float(positive("step_size", float(step_size)))
    states = [x.detach().clone()]
    for kT in temperatures.tolist():
        x = langevin(energy_score(energy_fn, kT), x, eps * kT, n_steps_each, generator)
        states.append(x)
    return (x, torch.stack(states)) if return_trajectory else x
