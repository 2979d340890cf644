r"""Chapter 5: normalizing flows -- planar, radial and affine coupling layers, and stacks of them.

A flow pushes a sample :math:`z_0` of a simple base density :math:`q_0` through invertible maps
:math:`x = f_K \circ \dots \circ f_1(z_0)`; by the change of variables its density is
:math:`\log q_K(x) = \log q_0(z_0) - \sum_k \log|\det \partial f_k / \partial z_{k-1}|`.

The layers and their conventions (``forward(z) -> (x, ladj)``, ``inverse(x) -> (z, -ladj)``,
batched parameters) are in :mod:`gencore.flow_layers`; this module stacks them (:class:`Flow`),
gives them a base density and trains and anneals the stacks.

Book: ``book/05_flows.ipynb``.

References:
    Those of :mod:`gencore.flow_layers` (planar and radial layers; NICE and Real NVP couplings), and
    Papamakarios, Nalisnick, Rezende, Mohamed & Lakshminarayanan (2021), Normalizing flows for
    probabilistic modeling and inference. JMLR 22(57). https://arxiv.org/abs/1912.02762
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from .flow_chains import planar_chain, radial_chain
from .flow_layers import AffineCoupling, Planar, Radial, batch_shape_of, planar_m, planar_m_inverse
from .quadrature import grid
from .tensors import in_range, noise, positive, positive_int, validate

__all__ = [
    "Planar", "Radial", "AffineCoupling", "planar_m", "planar_m_inverse", "Flow", "normal_base",
    "planar_chain", "radial_chain", "planar_log_det", "log_abs_det_autograd", "anneal", "free_energy", "reverse_kl_lotus",
]


def normal_base(batch_shape=(), dim: int = 2, dtype=None, device=None) -> torch.distributions.Distribution:
    """Standard normal base :math:`q_0 = N(0, I)` with event shape ``(dim,)`` and the given batch shape."""
    loc = torch.zeros(tuple(batch_shape_of("batch_shape", batch_shape)) + (positive_int("dim", dim),), dtype=dtype, device=device)
    checks = None if loc.device.type != "meta" else False  # torch's argument checks need values
    return torch.distributions.Independent(torch.distributions.Normal(loc, torch.ones_like(loc), checks), 1)


class Flow(nn.Module):
    r"""A normalizing flow :math:`x = f_K \circ \dots \circ f_1(z_0)`, :math:`z_0 \sim q_0`.

    Args:
        layers: modules with ``forward(z) -> (x, ladj)`` and, for ``log_prob``,
            ``inverse(x) -> (z, ladj_inverse)``; applied in order.
        base: a ``torch.distributions.Distribution`` with event shape ``(D,)`` (its batch
            shape, if any, must match the layers' ``batch_shape``). It is not a module: build
            it on the device and in the dtype of the layers. Drawing with a ``generator``
            needs a normal base (:func:`normal_base`, or ``Independent(Normal)``).
        depth: optional integer tensor of the base's batch shape: member ``b`` of a batched
            flow uses only its first ``depth[b]`` layers (the others act as the identity), so
            stacks of different lengths train in one computation. ``None``: all layers.

    A stack of planar layers only, or of radial layers only, runs forward as one chain
    (:mod:`gencore.flow_chains`): the same map, in far fewer operations.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> flow = Flow([Planar(2, generator=g), Radial(2, generator=g)], normal_base())
        >>> x = flow.sample(4, generator=g)
        >>> tuple(x.shape), tuple(flow.log_prob(x).shape)
        ((4, 2), (4,))

    Book: ``eq-flows-composition``.
    """

    def __init__(self, layers: Sequence[nn.Module], base: torch.distributions.Distribution,
                 depth: torch.Tensor | None = None):
        super().__init__()
        if not isinstance(base, torch.distributions.Distribution):
            raise TypeError(f"base must be a torch.distributions.Distribution; got {type(base).__name__}")
        if len(base.event_shape) != 1:
            raise ValueError(f"base must have event shape (D,); got {tuple(base.event_shape)}")
        layers = list(layers)
        if not all(isinstance(f, nn.Module) for f in layers):
            raise TypeError("layers must be nn.Modules with forward(z) -> (x, ladj)")
        self.layers = nn.ModuleList(layers)
        self.base = base
        if depth is not None:
            depth = torch.as_tensor(depth)
            if depth.shape != base.batch_shape or depth.is_floating_point():
                raise ValueError(f"depth must be an integer tensor of the base's batch shape "
                                 f"{tuple(base.batch_shape)}; got {tuple(depth.shape)} {depth.dtype}")
            if bool((depth < 0).any()) or bool((depth > len(layers)).any()):
                raise ValueError(f"depth must lie in [0, {len(layers)}]; got {depth.tolist()}")
        self.register_buffer("depth", depth)

    def _step(self, k: int, z: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor]):
        """Keep layer ``k``'s output only for the members whose depth exceeds ``k``."""
        x, ladj = out
        if self.depth is None or bool((self.depth > k).all()):
            return x, ladj
        on = self.depth > k
        return torch.where(on.unsqueeze(-1), x, z), ladj * on

    def _points(self, name: str, x) -> torch.Tensor:
        """Check ``x``: finite, non-empty, floating, of shape ``(..., *base.batch_shape, D)``."""
        want = tuple(self.base.batch_shape + self.base.event_shape)
        validate(name, x, min_ndim=len(want))
        if tuple(x.shape[x.ndim - len(want):]) != want:
            raise ValueError(f"{name} must have shape (..., {', '.join(map(str, want))}); got {tuple(x.shape)}")
        return x

    def forward(self, z: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Push ``z`` ``(..., *batch, D)`` through the first ``upto`` layers (all by default): ``(x, Σ_k ladj_k)``."""
        layers = self._first("upto", upto)
        self._points("z", z)
        kind = type(layers[0]) if layers else None
        if (kind in _CHAINS and all(type(f) is kind and f.batch_shape == layers[0].batch_shape for f in layers)
                and (self.depth is None or self.depth.shape == layers[0].batch_shape)):
            params = [torch.stack([getattr(f, name) for f in layers]) for name, _ in kind.PARAMETERS]
            return _CHAINS[kind](z, *params, depth=self.depth)
        total = z.new_zeros(z.shape[:-1])
        for k, f in enumerate(layers):
            z, ladj = self._step(k, z, f(z))
            total = total + ladj
        return z, total

    def inverse(self, x: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Undo the first ``upto`` layers, last first: ``(z_0, log|det ∂z_0/∂x|)``."""
        layers = self._first("upto", upto)
        total = self._points("x", x).new_zeros(x.shape[:-1])
        for k in reversed(range(len(layers))):
            x, ladj = self._step(k, x, layers[k].inverse(x))
            total = total + ladj
        return x, total

    def log_prob(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        r""":math:`\log q(x) = \log q_0(f^{-1}(x)) + \log|\det \partial f^{-1}/\partial x|`, shape ``x.shape[:-1]``.

        With ``upto = k``, the density after the first ``k`` layers.
        """
        z, ladj = self.inverse(x, upto)
        return self.base.log_prob(z) + ladj

    def sample_base(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""``n`` reparameterized draws :math:`z_0 \sim q_0`, shape ``(n, *base.batch_shape, D)``."""
        positive_int("n", n)
        if generator is None:
            return self.base.rsample((n,))
        normal = self.base.base_dist if isinstance(self.base, torch.distributions.Independent) else self.base
        if not isinstance(normal, torch.distributions.Normal):
            raise TypeError(f"generator needs a normal base (Independent(Normal)); got {type(self.base).__name__}")
        return normal.loc + normal.scale * noise((n,) + normal.loc.shape, normal.loc, generator)

    def sample(self, n: int, upto: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples, shape ``(n, *base.batch_shape, D)``, without gradient."""
        with torch.no_grad():
            return self.forward(self.sample_base(n, generator), upto)[0]

    def rsample_and_log_prob(self, n: int, generator: torch.Generator | None = None):
        r"""Reparameterized samples and their :math:`\log q_K`, no inverse needed (eq. of the bound)."""
        z0 = self.sample_base(n, generator)
        x, ladj = self.forward(z0)
        return x, self.base.log_prob(z0) - ladj

    def _first(self, name: str, upto):
        if upto is None:
            return list(self.layers)
        if isinstance(upto, bool) or not isinstance(upto, int) or not 0 <= upto <= len(self.layers):
            raise ValueError(f"{name} must be an int in [0, {len(self.layers)}]; got {upto!r}")
        return list(self.layers)[:upto]


_CHAINS = {Planar: planar_chain, Radial: radial_chain}


def planar_log_det(z: torch.Tensor, w: torch.Tensor, u: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r""":math:`\log|1 + u^\top \psi(z)|`, :math:`\psi(z) = (1 - \tanh^2(w^\top z + b))\,w` (``u`` used as given).

    Args:
        z: ``(N, D)`` points. w, u: ``(D,)``. b: scalar tensor.

    Returns:
        ``(N,)``.

    Book: ``eq-flows-planar-logdet``.
    """
    d = validate("z", z, ndim=2).shape[1]
    for name, v in (("w", w), ("u", u)):
        if validate(name, v, ndim=1).shape != (d,):
            raise ValueError(f"{name} must have shape ({d},) like z's last dimension; got {tuple(v.shape)}")
    h = torch.tanh(z @ w + validate("b", b, ndim=0))
    return torch.log(torch.abs(1 + (1 - h * h) * (w @ u)))


def log_abs_det_autograd(fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                         z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log|\det \partial f/\partial z|` per sample from the full autograd Jacobian (:math:`O(D^3)`).

    The slow reference that every layer's fast formula is checked against.

    Args:
        fn: a layer or flow, ``fn(z) -> (x, ...)`` on points of shape ``(N, D)``.
        z: ``(N, D)`` points.

    Returns:
        ``(N,)``.
    """
    validate("z", z, ndim=2)
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: fn(v[None])[0][0], zi) for zi in z])
    return torch.linalg.slogdet(jac)[1]


def anneal(step: int, ramp: float = 10_000.0, start: float = 0.01) -> float:
    r"""Inverse temperature :math:`\beta_t = \min(1, \mathrm{start} + t/\mathrm{ramp})` (the paper: ramp :math:`10^4`).

    ``step`` :math:`t \ge 0`, ``ramp`` :math:`> 0` and ``start`` in :math:`[0, 1]`, so :math:`\beta_t \in [0, 1]`.

    Book: ``eq-flows-anneal``.
    """
    positive_int("step", step, minimum=0)
    positive("ramp", ramp)
    in_range("start", start, 0.0, 1.0)
    return min(1.0, start + step / ramp)


def free_energy(log_q: torch.Tensor, energy: torch.Tensor, beta: float | torch.Tensor = 1.0) -> torch.Tensor:
    r"""Monte Carlo free energy :math:`\mathcal F = \mathbb E_{q_K}[\log q_K(z_K) + \beta\, U(z_K)]`, averaged over dim 0.

    For :math:`\beta = 1` and a target :math:`p = e^{-U}/Z`,
    :math:`\mathcal F = \mathrm{KL}(q_K\,\|\,p) - \log Z \ge -\log Z`.

    Args:
        log_q: ``(N, ...)`` log-densities of samples of :math:`q_K` (``Flow.rsample_and_log_prob``).
        energy: ``(N, ...)`` target energies :math:`U` at the same samples.
        beta: inverse temperature :math:`\ge 0` (a number or a tensor broadcasting against ``(...)``).

    Book: ``eq-flows-free-energy``.
    """
    validate("log_q", log_q, min_ndim=1)
    if validate("energy", energy, min_ndim=1).shape != log_q.shape:
        raise ValueError(f"energy must have the shape of log_q {tuple(log_q.shape)}; got {tuple(energy.shape)}")
    in_range("beta", beta, 0.0, None)
    return (log_q + beta * energy).mean(0)


def reverse_kl_lotus(
    flow: Flow,
    log_p: Callable[[torch.Tensor], torch.Tensor],
    extent: Sequence[float] = (-6.0, 6.0, -6.0, 6.0),
    resolution: int = 300,
) -> torch.Tensor:
    r""":math:`\mathrm{KL}(q_K\,\|\,p)` by quadrature over the base space (LOTUS), no inverse needed.

    :math:`\mathrm{KL} = \int q_0(z_0)\,[\log q_0(z_0) - \textstyle\sum_k \log|\det J_k| - \log p(f(z_0))]\,dz_0`,
    by the midpoint rule on a grid over ``extent`` in :math:`z_0`-space with :math:`q_0`'s cell
    masses renormalized to one. For a 2D flow with a batched base the result has the base's
    batch shape. Computed in the dtype of the flow's base.

    Args:
        flow: a 2D :class:`Flow`.
        log_p: normalized target log-density, ``(..., 2) -> (...)``.
        extent, resolution: the grid in base space (must hold nearly all of :math:`q_0`).

    Book: ``eq-flows-lotus``.
    """
    if not isinstance(flow, Flow) or flow.base.event_shape != (2,):
        raise ValueError(f"flow must be a 2D Flow; got {type(flow).__name__} "
                         f"with event shape {tuple(getattr(getattr(flow, 'base', None), 'event_shape', ()))}")
    loc = flow.base.mean[None]  # (1, *batch, 2): the grid's dtype, device and batch shape
    z, _ = grid(extent, resolution, dtype=loc.dtype, device=loc.device)
    z = z.reshape((-1,) + (1,) * len(flow.base.batch_shape) + (2,)).expand((-1,) + loc.shape[1:])
    with torch.no_grad():
        lq0 = flow.base.log_prob(z)
        x, ladj = flow(z)
        w = torch.softmax(lq0, dim=0)
        return (w * (lq0 - ladj - log_p(x))).sum(0)
