r"""The book's 2D toy distributions, each with an exact (or numerically exact) log-density.

Every dataset is a ``torch.distributions.Distribution`` on :math:`\mathbb{R}^2` with
``sample(sample_shape, generator=None)`` and a ``log_prob`` normalized on the whole plane, so
any model's negative log-likelihood, KL divergence or mode coverage can be checked against the
truth. ``make(name, **kw)`` builds one of ``NAMES``; the four classes below are the building
blocks. ``log_prob`` computes in the dtype and on the device of its input; ``sample`` returns
the distribution's dtype and device and draws its randomness from ``generator`` (torch's global
generator when ``None``).
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import torch
from torch.distributions import Distribution, constraints

from .tensors import event_2d, one_of, positive, positive_int, rng_device, validate
from .quadrature import grid_log_prob

__all__ = ["NAMES", "make", "GaussianMixture", "NoisyCurve", "Checkerboard", "EnergyDensity"]

NAMES = ("8gaussians", "25gaussians", "moons", "rings", "spirals", "checkerboard",
         "u1", "u2", "u3", "u4")

_LOG_2PI = math.log(2 * math.pi)
# Added to the midpoint weights of the 3 nodes nearest each end of an open curve: the rule then
# integrates quadratics exactly at the end, which cancels the midpoint rule's O(h^2) end error.
_END_CORRECTION = (1 / 12, -1 / 8, 1 / 24)


class _Planar(Distribution):
    """Event shape ``(2,)``, dtype/device bookkeeping and ``sample``; subclasses define ``log_prob``
    and ``_draw(n, generator, rng_device)`` returning ``(n, 2)`` points on ``rng_device``."""

    arg_constraints: dict = {}
    support = constraints.real_vector
    has_rsample = False

    def __init__(self, dtype=None, device=None):
        self._dtype = dtype if dtype is not None else torch.get_default_dtype()
        self._device = torch.device(device) if device is not None else torch.device("cpu")
        self._box: tuple[float, float, float, float] | None = None
        super().__init__(torch.Size(), torch.Size([2]), validate_args=False)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)``, where every chapter plots this dataset and integrates over it: set by
        :func:`make` (all but a negligible part of the mass); a mixture built directly: its means' bounding box
        widened by ``max(1, 4 std)``."""
        if self._box is None:
            raise AttributeError(f"{type(self).__name__} built directly has no plotting box; use data.make")
        return self._box

    def sample(self, sample_shape=torch.Size(), generator: torch.Generator | None = None):
        """Draw i.i.d. points, shape ``sample_shape + (2,)``, in this distribution's dtype/device."""
        shape = torch.Size((sample_shape,) if isinstance(sample_shape, int) else sample_shape)
        on = rng_device(generator, self._device)
        with torch.no_grad():
            x = self._draw(shape.numel(), generator, on) if shape.numel() else torch.empty(0, 2)
        return x.to(device=self._device, dtype=self._dtype).reshape(shape + (2,))

    def _rand(self, shape, generator, device, normal=False):
        draw = torch.randn if normal else torch.rand
        return draw(shape, generator=generator, dtype=self._dtype, device=device)

    def __repr__(self):
        return f"{type(self).__name__}(dtype={self._dtype}, device={self._device})"


class GaussianMixture(_Planar):
    r"""Isotropic Gaussian mixture :math:`p(x)=\sum_k \pi_k\,\mathcal N(x;\mu_k,\sigma_k^2 I)`.

    ``log_prob`` is a ``logsumexp`` over components, so it stays finite far from every mode.
    When ``dtype``/``device`` are ``None`` they follow ``means`` if it is a floating tensor
    (torch's default dtype and the CPU otherwise).

    Args:
        means: component means :math:`\mu_k`, shape ``(K, 2)``.
        std: :math:`\sigma`, a positive float or a tensor of shape ``()`` or ``(K,)``.
        weights: mixing weights :math:`\pi`, shape ``(K,)``, non-negative; rescaled to sum to
            one. Uniform when ``None``.
        dtype, device: where the parameters and samples live.

    References:
        Srivastava et al. (2017), "VEEGAN: Reducing mode collapse in GANs using implicit variational learning"
        (the ring of 8). Lin et al. (2018), "PacGAN: The power of two samples in generative adversarial networks".

    Example:
        >>> mix = GaussianMixture(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]), 0.5)
        >>> mix.sample((3,), generator=torch.Generator().manual_seed(0)).shape, mix.std
        (torch.Size([3, 2]), tensor(0.5000))
        >>> round(mix.log_prob(torch.zeros(2)).exp().item(), 4)  # two N(±1, 0.25 I) at 0: e^{-2} / (2π 0.25)
        0.0862
    """

    def __init__(self, means, std, weights=None, *, dtype=None, device=None):
        if isinstance(means, torch.Tensor) and means.is_floating_point():
            dtype = dtype if dtype is not None else means.dtype
            device = device if device is not None else means.device
        super().__init__(dtype, device)
        self.means = torch.as_tensor(means, dtype=self._dtype, device=self._device)
        validate("means", self.means, ndim=2, last_dim=2)
        K = len(self.means)
        positive("std", std)
        # Always a tensor, of shape () or (K,), so callers never need to ask which.
        self.std = torch.as_tensor(std, dtype=self._dtype, device=self._device)
        if self.std.shape not in (torch.Size(), torch.Size([K])):
            raise ValueError(f"std must be a float or of shape () or ({K},); got {tuple(self.std.shape)}")
        w = torch.as_tensor(torch.ones(K) if weights is None else weights, dtype=self._dtype, device=self._device)
        if w.shape != (K,):
            raise ValueError(f"weights must have shape ({K},) to match means; got {tuple(w.shape)}")
        positive("weights", w, allow_zero=True)
        if w.device.type != "meta" and not bool(w.sum() > 0):
            raise ValueError("weights must not all be zero")
        self.weights = w / w.sum()
        if self.means.device.type != "meta":
            pad = max(1.0, 4 * float(self.std.max()))
            lo, hi = (self.means.min(0).values - pad).tolist(), (self.means.max(0).values + pad).tolist()
            self._box = (lo[0], hi[0], lo[1], hi[1])

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x)`; ``x`` has shape ``(..., 2)``, the result shape ``(...)``."""
        x = event_2d("x", x)
        mu, sigma, w = self.means.to(x), self.std.to(x), self.weights.to(x)
        sq = ((x.unsqueeze(-2) - mu) ** 2).sum(-1)  # (..., K)
        log_comp = -0.5 * sq / sigma**2 - 2 * torch.log(sigma) - _LOG_2PI
        return torch.logsumexp(log_comp + torch.log(w), dim=-1)

    def _draw(self, n, generator, rng_device):
        k = torch.multinomial(self.weights.to(rng_device), n, replacement=True, generator=generator)
        sigma = self.std.to(rng_device).expand(len(self.means))[k].unsqueeze(-1)
        return self.means.to(rng_device)[k] + sigma * self._rand((n, 2), generator, rng_device, True)


def _arc(s: torch.Tensor, center, radius, start, sweep) -> torch.Tensor:
    """``s in [0, 1] -> center + radius * (cos, sin)(start + sweep * s)``."""
    angle = start + sweep * s
    return torch.stack([center[0] + radius * torch.cos(angle), center[1] + radius * torch.sin(angle)], dim=-1)


def _spiral_arm(s: torch.Tensor, radius, turns, sign) -> torch.Tensor:
    r"""Archimedean arm :math:`\pm r(\cos\theta, \sin\theta)`, :math:`\theta = 2\pi\,\mathrm{turns}\,r/R`.

    :math:`r = \sqrt{r_0^2 + (R^2 - r_0^2)s}` with :math:`r_0 = R/6`: uniform ``s`` puts roughly
    uniform mass per unit length along the arm.
    """
    r0 = radius / 6
    r = torch.sqrt(r0**2 + (radius**2 - r0**2) * s)
    theta = 2 * math.pi * turns * r / radius
    return sign * torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=-1)


class NoisyCurve(_Planar):
    r"""Noisy curves: :math:`p(x)=\sum_k \pi_k \int_0^1 \mathcal N(x; c_k(s), \sigma^2 I)\,ds`.

    A sample picks piece :math:`k` with probability :math:`\pi_k`, a uniformly random parameter
    :math:`s\sim U(0,1)` (i.i.d., not evenly spaced) and adds :math:`\mathcal N(0,\sigma^2 I)`.
    ``log_prob`` replaces each integral by a quadrature rule with nodes :math:`s_j` and weights
    :math:`v_j` summing to one,
    :math:`\log p(x) = \mathrm{logsumexp}_{k,j}[\log\pi_k + \log v_{kj} - \|x-c_k(s_j)\|^2/2\sigma^2]
    - \log 2\pi\sigma^2`: a mixture of Gaussians, hence exactly normalized. On open pieces the
    rule is the midpoint rule with node spacing at most :math:`\sigma/\mathrm{nodes\_per\_noise}`
    along the curve and end-corrected weights (error :math:`O(h^3)` instead of :math:`O(h^2)`;
    about 1e-9 nats of KL on "moons"); on closed pieces (:math:`c(0)=c(1)`) it is the periodic
    midpoint rule at twice that spacing, accurate to ~:math:`e^{-2\pi^2 (\sigma/h)^2}`.

    Args:
        pieces: callables mapping parameters ``s`` of shape ``(N,)`` to points ``(N, 2)``.
        noise: :math:`\sigma > 0`.
        weights: :math:`\pi`, shape ``(K,)`` (uniform when ``None``), rescaled to sum to one.
        nodes_per_noise: quadrature nodes per :math:`\sigma` of curve length (open pieces).
        dtype, device: where the quadrature nodes and samples live.

    Attributes: ``nodes`` ``(M, 2)`` and ``log_node_weights`` :math:`\log \pi_k v_{kj}` ``(M,)``, the
    means and log-weights of the Gaussian mixture that ``log_prob`` is (chapter 6 smooths the data with them).
    """

    def __init__(self, pieces: Sequence[Callable], noise: float, weights=None, *,
                 nodes_per_noise: float = 4.0, dtype=None, device=None):
        super().__init__(dtype, device)
        self.pieces, self.noise = list(pieces), float(positive("noise", noise))
        positive("nodes_per_noise", nodes_per_noise)
        if not self.pieces:
            raise ValueError("pieces must contain at least one curve")
        w = torch.as_tensor(torch.ones(len(pieces)) if weights is None else weights, dtype=torch.float64)
        if w.shape != (len(self.pieces),):
            raise ValueError(f"weights must have shape ({len(self.pieces)},); got {tuple(w.shape)}")
        w = positive("weights", w) / w.sum()
        self.weights = w.to(self._device, self._dtype)
        nodes, log_v = [], []
        fine = torch.linspace(0, 1, 4097, dtype=torch.float64)
        for piece, wk in zip(self.pieces, w.tolist()):
            c = piece(fine)
            closed = bool((c[0] - c[-1]).norm() < 1e-6 * self.noise)
            speed = (c.diff(dim=0).norm(dim=-1).max() * (len(fine) - 1)).item()
            M = max(16, math.ceil(nodes_per_noise * speed / self.noise / (2 if closed else 1)))
            nodes.append(piece((torch.arange(M, dtype=torch.float64) + 0.5) / M))
            v = torch.ones(M, dtype=torch.float64)
            if not closed:
                v[:3] += torch.tensor(_END_CORRECTION, dtype=torch.float64)
                v[-3:] += torch.tensor(_END_CORRECTION[::-1], dtype=torch.float64)
            log_v.append(math.log(wk) + torch.log(v / M))
        self.nodes = torch.cat(nodes).to(self._device, self._dtype)  # (M, 2)
        self.log_node_weights = torch.cat(log_v).to(self._device, self._dtype)  # (M,), log pi_k v_kj

    def log_prob(self, x: torch.Tensor, chunk_elements: int = 2**21) -> torch.Tensor:
        r""":math:`\log p(x)`; ``x`` has shape ``(..., 2)``, the result shape ``(...)``.

        Uses :math:`\|x-c\|^2 = \|x\|^2 - 2x\cdot c + \|c\|^2` (one ``addmm`` per chunk of about
        ``chunk_elements`` point-node pairs); in float32 that costs ~1e-4 nats near the data.
        """
        x = event_2d("x", x)
        flat, c, two_var = x.reshape(-1, 2), self.nodes.to(x), 2 * self.noise**2
        bias, W = self.log_node_weights.to(x) - (c * c).sum(-1) / two_var, c.T * (2 / two_var)
        step = max(1, chunk_elements // len(c))
        out = [torch.logsumexp(torch.addmm(bias, xc, W), -1) - (xc * xc).sum(-1) / two_var
               for xc in flat.split(step)]
        out = torch.cat(out) if out else flat[:, 0]
        return (out - math.log(math.pi * two_var)).reshape(x.shape[:-1])

    def _draw(self, n, generator, rng_device):
        k = torch.multinomial(self.weights.to(rng_device), n, replacement=True, generator=generator)
        s = self._rand((n,), generator, rng_device)
        on_curve = torch.stack([piece(s) for piece in self.pieces])[k, torch.arange(n, device=rng_device)]
        return on_curve + self.noise * self._rand((n, 2), generator, rng_device, True)


def _log_ndtr_diff(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    r""":math:`\log(\Phi(hi) - \Phi(lo))` for ``lo < hi``, stable in both tails."""
    flip = (lo + hi) > 0  # both far right: use Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi)
    a, b = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    log_b = torch.special.log_ndtr(b)
    t = torch.special.log_ndtr(a) - log_b  # < 0
    return log_b + torch.where(t > -math.log(2), torch.log(-torch.expm1(t)), torch.log1p(-torch.exp(t)))


class Checkerboard(_Planar):
    r"""Smoothed checkerboard: :math:`p = U(\text{dark squares}) * \mathcal N(0, \sigma^2 I)`.

    The board has ``cells x cells`` squares of side :math:`w = 2h/\mathrm{cells}` over
    :math:`[-h, h]^2`; square (row :math:`i` from the bottom, column :math:`j`) is dark when
    :math:`i + j` is even (8 dark squares on the default 4x4 board). With :math:`n` dark squares
    :math:`[a_1,b_1]\times[a_2,b_2]` the density is
    :math:`p(x) = \frac{1}{n w^2}\sum_{\text{dark}}\prod_{d}[\Phi(\frac{b_d-x_d}{\sigma})
    - \Phi(\frac{a_d-x_d}{\sigma})]`, computed in log space (``log_ndtr``), so it is finite
    arbitrarily far from the board.

    Args:
        half_width: :math:`h`.
        cells: squares per side (>= 2).
        noise: :math:`\sigma`.
        dtype, device: where samples live.
    """

    def __init__(self, half_width: float = 2.0, cells: int = 4, noise: float = 0.05, *,
                 dtype=None, device=None):
        super().__init__(dtype, device)
        self.half_width = float(positive("half_width", half_width))
        self.cells = positive_int("cells", cells, minimum=2)
        self.noise = float(positive("noise", noise))
        self.width = 2 * self.half_width / self.cells
        i, j = torch.meshgrid(torch.arange(self.cells), torch.arange(self.cells), indexing="ij")
        self.dark = ((i + j) % 2 == 0).to(self._device)  # (cells, cells), [row, column]
        self._dark_ij = self.dark.nonzero()  # (n, 2) of (row, column)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x)`; ``x`` has shape ``(..., 2)``, the result shape ``(...)``."""
        x = event_2d("x", x)
        edges = -self.half_width + self.width * torch.arange(self.cells + 1, dtype=x.dtype, device=x.device)
        z = (edges - x.unsqueeze(-1)) / self.noise  # (..., 2, cells + 1)
        log_mass = _log_ndtr_diff(z[..., :-1], z[..., 1:])  # (..., 2, cells): per axis, per cell
        log_sq = log_mass[..., 1, :, None] + log_mass[..., 0, None, :]  # (..., row, column)
        log_sq = log_sq.masked_fill(~self.dark.to(x.device), -math.inf).flatten(-2)
        return torch.logsumexp(log_sq, -1) - math.log(len(self._dark_ij) * self.width**2)

    def _draw(self, n, generator, rng_device):
        ij = self._dark_ij.to(rng_device)
        k = torch.randint(len(ij), (n,), generator=generator, device=rng_device)
        corner = -self.half_width + self.width * ij[k].flip(-1).to(self._dtype)  # (x, y)
        u = self._rand((n, 2), generator, rng_device)
        return corner + self.width * u + self.noise * self._rand((n, 2), generator, rng_device, True)


class EnergyDensity(_Planar):
    r"""Boltzmann density :math:`p(z) = e^{-E(z)}/Z`, with :math:`\log Z` by quadrature.

    :math:`\log Z = \log\int e^{-E}` is computed once, at construction, by the midpoint rule in
    float64 on the CPU over ``extent`` (which must hold all but a negligible part of the mass).
    ``sample`` picks a grid cell with probability proportional to its mass and a uniform point
    inside it: exact up to the grid's resolution (``(xmax - xmin) / resolution``).

    Args:
        energy: maps points ``(..., 2)`` to energies ``(...)``; built from torch operations.
        extent: quadrature box ``(xmin, xmax, ymin, ymax)``.
        resolution: cells per side.
        dtype, device: where samples live.
    """

    def __init__(self, energy: Callable[[torch.Tensor], torch.Tensor], *,
                 extent: Sequence[float] = (-8.0, 8.0, -8.0, 8.0), resolution: int = 1000,
                 dtype=None, device=None):
        super().__init__(dtype, device)
        self._energy = energy
        _, values, area = grid_log_prob(lambda z: -energy(z), extent, resolution, dtype=torch.float64)
        self.log_Z = float(torch.logsumexp(values, 0) + math.log(area))
        if not math.isfinite(self.log_Z):
            raise ValueError(f"energy: exp(-energy) has no finite integral over extent={tuple(extent)}")
        self.extent, self.resolution = tuple(float(v) for v in extent), resolution
        self._cell_probs = torch.softmax(values, 0).to(self._device, self._dtype)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """Unnormalized energy :math:`E(x)`; ``x`` has shape ``(..., 2)``, the result ``(...)``."""
        return self._energy(event_2d("x", x))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`-E(x) - \log Z`; ``x`` has shape ``(..., 2)``, the result shape ``(...)``."""
        return -self.energy(x) - self.log_Z

    def _draw(self, n, generator, rng_device):
        idx = torch.multinomial(self._cell_probs.to(rng_device), n, replacement=True, generator=generator)
        x0, x1, y0, y1 = self.extent
        cell = torch.stack([idx % self.resolution, idx // self.resolution], -1).to(self._dtype)
        size = torch.tensor([x1 - x0, y1 - y0], dtype=self._dtype, device=rng_device) / self.resolution
        corner = torch.tensor([x0, y0], dtype=self._dtype, device=rng_device)
        return corner + (cell + self._rand((n, 2), generator, rng_device)) * size


# Rezende & Mohamed (2015), Table 1, with w1(z) = sin(pi z1 / 2), the Gaussian bump -u^2/(2 s^2),
# w2 = 3 exp(-(z1 - 1)^2 / (2 * 0.6^2)), w3 = 3 sigmoid((z1 - 1) / 0.3); U2-U4 get the envelope (z1/4)^8 (see `make`).
def _bump(u, scale):
    return -0.5 * (u / scale) ** 2


def _u(z, i: int):
    z1, u = z[..., 0], z[..., 1] - torch.sin(math.pi * z[..., 0] / 2)
    if i == 1:
        r = torch.linalg.vector_norm(z, dim=-1)
        return 0.5 * ((r - 2) / 0.4) ** 2 - torch.logaddexp(_bump(z1 - 2, 0.6), _bump(z1 + 2, 0.6))
    if i == 2:
        return 0.5 * (u / 0.4) ** 2 + (z1 / 4) ** 8
    if i == 3:
        return -torch.logaddexp(_bump(u, 0.35), _bump(u + 3 * torch.exp(_bump(z1 - 1, 0.6)), 0.35)) + (z1 / 4) ** 8
    return -torch.logaddexp(_bump(u, 0.4), _bump(u + 3 * torch.sigmoid((z1 - 1) / 0.3), 0.35)) + (z1 / 4) ** 8


def _mixture_ring(radius, std, dtype, device):
    angle = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    means = float(positive("radius", radius)) * torch.stack([torch.cos(angle), torch.sin(angle)], -1)
    return GaussianMixture(means, std, dtype=dtype or torch.get_default_dtype(), device=device or "cpu")


def _mixture_grid(spacing, std, dtype, device):
    ticks = float(positive("spacing", spacing)) * torch.arange(-2, 3, dtype=torch.float64)
    yy, xx = torch.meshgrid(ticks, ticks, indexing="ij")
    means = torch.stack([xx, yy], -1).reshape(-1, 2)
    return GaussianMixture(means, std, dtype=dtype or torch.get_default_dtype(), device=device or "cpu")


def _moons(noise, scale, dtype, device):
    s = float(positive("scale", scale))  # sklearn's moons, centred at (0.5, 0.25), times `scale`
    pieces = [functools.partial(_arc, center=(-0.5 * s, -0.25 * s), radius=s, start=0.0, sweep=math.pi),
              functools.partial(_arc, center=(0.5 * s, 0.25 * s), radius=s, start=math.pi, sweep=math.pi)]
    return NoisyCurve(pieces, noise, dtype=dtype, device=device)


def _rings(noise, radii, dtype, device):
    r = torch.as_tensor(radii, dtype=torch.float64)
    if r.ndim != 1 or len(r) == 0:
        raise ValueError(f"radii must be a non-empty sequence of radii; got {radii!r}")
    positive("radii", r)
    pieces = [functools.partial(_arc, center=(0.0, 0.0), radius=float(rk), start=0.0, sweep=2 * math.pi) for rk in r]
    return NoisyCurve(pieces, noise, weights=r, dtype=dtype, device=device)  # weight ∝ circumference


def _spirals(noise, radius, turns, dtype, device):
    radius, turns = float(positive("radius", radius)), float(positive("turns", turns))
    arms = [functools.partial(_spiral_arm, radius=radius, turns=turns, sign=sign) for sign in (1.0, -1.0)]
    return NoisyCurve(arms, noise, dtype=dtype, device=device)


_BOX = {"extent": (-8.0, 8.0, -8.0, 8.0), "resolution": 1000}
# name -> (builder, default parameters, half widths of the plotting and quadrature box (see _Planar.box)).
_REGISTRY = {
    "8gaussians": (_mixture_ring, {"radius": 2.0, "std": 0.02}, lambda p: (p["radius"] + 1.0,) * 2),
    "25gaussians": (_mixture_grid, {"spacing": 2.0, "std": 0.05}, lambda p: (2 * p["spacing"] + 1.5,) * 2),
    "moons": (_moons, {"noise": 0.1, "scale": 1.5}, lambda p: (1.5 * p["scale"] + 1.25, 1.25 * p["scale"] + 0.625)),
    "rings": (_rings, {"noise": 0.1, "radii": (0.75, 1.5, 2.25)}, lambda p: (max(p["radii"]) + 0.75,) * 2),
    "spirals": (_spirals, {"noise": 0.1, "radius": 2.5, "turns": 1.5}, lambda p: (p["radius"] + 0.7,) * 2),
    "checkerboard": (Checkerboard, {"noise": 0.05, "half_width": 2.0, "cells": 4},
                     lambda p: (p["half_width"] + 0.5,) * 2),
    **{f"u{i}": (lambda i=i, **kw: EnergyDensity(functools.partial(_u, i=i), **kw), _BOX, lambda p: (4.0, 4.0))
       for i in range(1, 5)},
}


def make(name: str, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None,
         **kw) -> Distribution:
    r"""The 2D dataset ``name`` (one of ``NAMES``) as a distribution with a normalized ``log_prob``.

    Datasets and their keyword arguments (defaults):

    - ``"8gaussians"``: 8 modes at radius ``radius=2.0``, angles :math:`2\pi k/8`, ``std=0.02``.
    - ``"25gaussians"``: modes on :math:`\{-2,-1,0,1,2\}^2 \times` ``spacing=2.0``, ``std=0.05``.
    - ``"moons"``: sklearn's two half circles (radius 1), centred, times ``scale=1.5``;
      ``noise=0.1``.
    - ``"rings"``: circles of ``radii=(0.75, 1.5, 2.25)``, each chosen with probability
      proportional to its circumference (mass uniform along the total length); ``noise=0.1``.
    - ``"spirals"``: two interleaved Archimedean arms (the second is the first rotated by
      :math:`\pi`), radius ``radius/6`` to ``radius=2.5`` over ``turns=1.5``; ``noise=0.1``.
    - ``"checkerboard"``: the 8 dark squares of a ``cells=4`` board on
      ``[-half_width, half_width]^2`` (``half_width=2.0``), smoothed by ``noise=0.05``.
    - ``"u1"`` ... ``"u4"``: :math:`e^{-U_i}/Z` for the energies of Rezende & Mohamed (2015),
      Table 1; ``log_Z`` by quadrature over ``extent=(-8, 8, -8, 8)`` at ``resolution=1000``.
      :math:`U_2`–:math:`U_4` as printed are not normalizable (nothing confines :math:`z_1`),
      so each gets the envelope :math:`+(z_1/4)^8`: under 0.03 nats for :math:`|z_1| < 2.5`,
      0.1 at 3 and 1 at 4, so the paper's shapes are unchanged and only the outer columns of
      its :math:`[-4, 4]^2` plots are dimmed (by at most :math:`e^{-1}`); :math:`U_1` needs none.

    Args:
        name: dataset name.
        dtype, device: where parameters and samples live (torch's default dtype, CPU).
        **kw: the dataset's keyword arguments above.

    Returns:
        A distribution with ``event_shape == (2,)``, ``batch_shape == ()``, and ``box``, the
        ``(xmin, xmax, ymin, ymax)`` the book plots it in (moons: ``(-3.5, 3.5, -2.5, 2.5)``).

    Raises:
        ValueError: unknown ``name``, unknown keyword argument, or an invalid value.

    References:
        VEEGAN, PacGAN (see GaussianMixture); Rezende & Mohamed (2015), "Variational inference with normalizing flows".
    """
    one_of("name", name, NAMES)
    build, defaults, half_widths = _REGISTRY[name]
    unknown = sorted(set(kw) - set(defaults))
    if unknown:
        raise ValueError(f"make({name!r}): unknown keyword argument(s) {unknown}; valid ones are {sorted(defaults)}")
    params = {**defaults, **kw}
    dist = build(**params, dtype=dtype, device=device)
    half_x, half_y = (float(v) for v in half_widths(params))
    dist._box = (-half_x, half_x, -half_y, half_y)
    return dist
