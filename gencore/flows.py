r"""Chapter 5: normalizing flows -- planar, radial and affine coupling layers, and stacks of them.

A flow pushes a sample :math:`z_0` of a simple base density :math:`q_0` through invertible maps
:math:`x = f_K \circ \dots \circ f_1(z_0)`; by the change of variables its density is
:math:`\log q_K(x) = \log q_0(z_0) - \sum_k \log|\det \partial f_k / \partial z_{k-1}|`.

Every layer is an ``nn.Module`` whose ``forward(z)`` returns ``(x, ladj)``: the image and the
log-absolute-determinant of the Jacobian at ``z``, one number per sample. ``inverse(x)`` returns
``(z, ladj_inverse)`` with ``ladj_inverse = -ladj(z)``. Planar and radial layers accept a
``batch_shape``: their parameters then carry leading batch dimensions and a point of shape
``(..., *batch_shape, dim)`` is moved by the member of the batch it lines up with, so many
independent flows train in one computation (the chapter trains 30 of them at once).

Book: ``book/05_flows.ipynb``.

References:
    Rezende & Mohamed (2015), Variational inference with normalizing flows. ICML.
    https://arxiv.org/abs/1505.05770
    Dinh, Krueger & Bengio (2015), NICE: non-linear independent components estimation.
    https://arxiv.org/abs/1410.8516
    Dinh, Sohl-Dickstein & Bengio (2017), Density estimation using Real NVP. ICLR.
    https://arxiv.org/abs/1605.08803
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .tensors import inv_softplus, positive, positive_int
from .quadrature import grid

__all__ = [
    "Planar",
    "Radial",
    "AffineCoupling",
    "Flow",
    "normal_base",
    "planar_m",
    "planar_m_inverse",
    "planar_log_det",
    "log_abs_det_autograd",
    "anneal",
    "free_energy",
    "reverse_kl_lotus",
]


def _shape(name: str, batch_shape) -> torch.Size:
    try:
        shape = torch.Size(batch_shape)
    except TypeError as err:
        raise ValueError(f"{name} must be a tuple of positive ints; got {batch_shape!r}") from err
    if any(s < 1 for s in shape):
        raise ValueError(f"{name} must be a tuple of positive ints; got {tuple(shape)}")
    return shape


def _points(name: str, z, dim: int, batch_shape: torch.Size) -> torch.Tensor:
    """Check ``z`` has shape ``(..., *batch_shape, dim)`` and is floating point."""
    if not isinstance(z, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (..., {dim}); got {type(z).__name__}")
    want = tuple(batch_shape) + (dim,)
    if z.ndim < len(want) or tuple(z.shape[z.ndim - len(want):]) != want:
        raise ValueError(f"{name} must have shape (..., {', '.join(map(str, want))}); got {tuple(z.shape)}")
    if not z.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor; got dtype {z.dtype}")
    return z


_SHIFT = math.log(math.e - 1)  # softplus(_SHIFT) = 1, so m(0) = 0


def planar_m(a: torch.Tensor) -> torch.Tensor:
    r""":math:`m(a) = -1 + \log(1 + e^{a + s})` with :math:`s = \log(e - 1)`: increasing, :math:`> -1`, :math:`m(0) = 0`.

    Book: ``eq-flows-planar-uhat``.
    """
    return F.softplus(a + _SHIFT) - 1


def planar_m_inverse(c):
    r""":math:`m^{-1}(c) = \log(e^{c + 1} - 1) - s` for :math:`c > -1`: the raw :math:`w^\top u` that gives :math:`w^\top\hat u = c`."""
    return inv_softplus(c + 1) - _SHIFT


class Planar(nn.Module):
    r"""Planar flow :math:`f(z) = z + \hat u\, h(w^\top z + b)` with :math:`h = \tanh`.

    The log-determinant costs :math:`O(D)` by the matrix determinant lemma,
    :math:`\log|\det(I + \hat u\,\psi(z)^\top)| = \log|1 + \hat u^\top \psi(z)|` with
    :math:`\psi(z) = h'(w^\top z + b)\,w`. The map is invertible when :math:`w^\top \hat u \ge -1`;
    the free parameter ``u`` is mapped to
    :math:`\hat u = u + [m(w^\top u) - w^\top u]\,w/\|w\|^2` with
    :math:`m(a) = -1 + \log(1 + e^{a + s})`, so that :math:`w^\top \hat u = m(w^\top u) > -1` for
    every ``u``. The paper has :math:`s = 0`; we take :math:`s = \log(e - 1)`, which makes
    :math:`m(0) = 0`, so a freshly initialized layer (small :math:`w^\top u`) has
    :math:`\hat u \approx u` and starts near the identity instead of contracting along ``w``.

    Args:
        dim: :math:`D`, the dimension of the points.
        batch_shape: leading shape of independent copies (``()`` for one layer).
        init_std: standard deviation of the initial ``w``, ``u`` (drawn from the global RNG)
            and ``b``; small values start the layer near the identity.
        dtype, device: of the parameters.

    Book: ``eq-flows-planar``, ``eq-flows-planar-logdet``, ``eq-flows-planar-uhat``.

    References:
        Rezende & Mohamed (2015), section 4.1 and appendix A.1.
    """

    def __init__(self, dim: int, *, batch_shape=(), init_std: float = 0.1, dtype=None, device=None):
        super().__init__()
        self.dim = positive_int("dim", dim)
        self.batch_shape = _shape("batch_shape", batch_shape)
        positive("init_std", init_std)
        kw = dict(dtype=dtype, device=device)
        shape = self.batch_shape + (dim,)
        self.w = nn.Parameter(init_std * torch.randn(shape, **kw))
        self.u = nn.Parameter(init_std * torch.randn(shape, **kw))
        self.b = nn.Parameter(init_std * torch.randn(self.batch_shape, **kw))

    def u_hat(self) -> torch.Tensor:
        r""":math:`\hat u`, shape ``(*batch_shape, D)``, with :math:`w^\top\hat u = m(w^\top u) > -1`."""
        wu = (self.w * self.u).sum(-1, keepdim=True)
        return self.u + (planar_m(wu) - wu) * self.w / (self.w * self.w).sum(-1, keepdim=True)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(f(z), log|det ∂f/∂z|)``; ``z`` has shape ``(..., *batch_shape, D)``, ladj ``(..., *batch_shape)``."""
        _points("z", z, self.dim, self.batch_shape)
        u = self.u_hat()
        h = torch.tanh((z * self.w).sum(-1) + self.b)
        x = z + u * h.unsqueeze(-1)
        psi_u = (1 - h * h) * (self.w * u).sum(-1)  # u^T psi(z) = h'(a) w^T u
        return x, torch.log(torch.abs(1 + psi_u))

    def inverse(self, x: torch.Tensor, iterations: int = 60) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(f^{-1}(x), log|det ∂f^{-1}/∂x|)`` by solving a scalar equation.

        With :math:`a = w^\top z + b`, :math:`x = z + \hat u\,h(a)` gives
        :math:`g(a) = a + (w^\top\hat u)\,h(a) - (w^\top x + b) = 0`, strictly increasing because
        :math:`w^\top\hat u > -1`, with its root in :math:`[y - |w^\top\hat u|, y + |w^\top\hat u|]`
        (:math:`|h| \le 1`). Newton steps that leave the bracket are replaced by bisection.
        """
        _points("x", x, self.dim, self.batch_shape)
        u = self.u_hat()
        c = (self.w * u).sum(-1)
        y = (x * self.w).sum(-1) + self.b
        lo, hi = y - c.abs() - 1e-12, y + c.abs() + 1e-12
        a = y - c * torch.tanh(y)
        for _ in range(iterations):
            h = torch.tanh(a)
            g = a + c * h - y
            lo, hi = torch.where(g < 0, a, lo), torch.where(g > 0, a, hi)
            step = a - g / (1 + c * (1 - h * h))
            inside = (step > lo) & (step < hi)
            new = torch.where(inside, step, 0.5 * (lo + hi))
            done = bool(((new - a).abs() <= 1e-13 * (1 + a.abs())).all())
            a = new
            if done:
                break
        z = x - u * torch.tanh(a).unsqueeze(-1)
        return z, -self.forward(z)[1]

    def member(self, index) -> "Planar":
        """The copy at ``index`` of ``batch_shape`` as an unbatched layer (parameters copied)."""
        one = Planar(self.dim, dtype=self.w.dtype, device=self.w.device)
        with torch.no_grad():
            one.w.copy_(self.w[index]), one.u.copy_(self.u[index]), one.b.copy_(self.b[index])
        return one


class Radial(nn.Module):
    r"""Radial flow :math:`f(z) = z + \beta\,h(\alpha, r)\,(z - z_c)`, :math:`h = 1/(\alpha + r)`, :math:`r = \|z - z_c\|`.

    Its Jacobian is :math:`(1 + \beta h) I + \beta h'(r)\,(z-z_c)(z-z_c)^\top / r`, so by the
    matrix determinant lemma
    :math:`\log|\det| = (D - 1)\log(1 + \beta h) + \log(1 + \beta h + \beta h' r)`, and
    :math:`1 + \beta h + \beta h' r = 1 + \alpha\beta h^2`. It is invertible when
    :math:`\beta \ge -\alpha`; we set :math:`\alpha = \log(1+e^{a})` and
    :math:`\beta = -\alpha + \log(1 + e^{\tilde\beta})` from free parameters. (The paper calls
    the centre :math:`z_0`; here :math:`z_c`, as :math:`z_0` is the base sample.)

    Args:
        dim: :math:`D`.
        batch_shape: leading shape of independent copies.
        init_std: standard deviation of the initial centre and raw parameters.
        dtype, device: of the parameters.

    Book: ``eq-flows-radial``, ``eq-flows-radial-logdet``.

    References:
        Rezende & Mohamed (2015), section 4.1 and appendix A.2.
    """

    def __init__(self, dim: int, *, batch_shape=(), init_std: float = 0.1, dtype=None, device=None):
        super().__init__()
        self.dim = positive_int("dim", dim)
        self.batch_shape = _shape("batch_shape", batch_shape)
        positive("init_std", init_std)
        kw = dict(dtype=dtype, device=device)
        self.center = nn.Parameter(init_std * torch.randn(self.batch_shape + (dim,), **kw))
        self.alpha_raw = nn.Parameter(init_std * torch.randn(self.batch_shape, **kw))
        self.beta_raw = nn.Parameter(init_std * torch.randn(self.batch_shape, **kw))

    def alpha_beta(self) -> tuple[torch.Tensor, torch.Tensor]:
        r""":math:`(\alpha, \beta)` with :math:`\alpha > 0` and :math:`\beta > -\alpha`."""
        alpha = F.softplus(self.alpha_raw)
        return alpha, -alpha + F.softplus(self.beta_raw)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(f(z), log|det ∂f/∂z|)``; ``z`` has shape ``(..., *batch_shape, D)``."""
        _points("z", z, self.dim, self.batch_shape)
        alpha, beta = self.alpha_beta()
        d = z - self.center
        h = 1 / (alpha + torch.linalg.vector_norm(d, dim=-1))
        x = z + (beta * h).unsqueeze(-1) * d
        ladj = (self.dim - 1) * torch.log1p(beta * h) + torch.log1p(alpha * beta * h * h)
        return x, ladj

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(f^{-1}(x), log|det ∂f^{-1}/∂x|)`` in closed form.

        :math:`\|x - z_c\| = r(1 + \beta/(\alpha + r))` is a quadratic in :math:`r`,
        :math:`r^2 + (\alpha + \beta - s) r - \alpha s = 0` with :math:`s = \|x - z_c\|`,
        whose one non-negative root is :math:`r`; then
        :math:`z - z_c = (x - z_c)/(1 + \beta h(r))`.
        """
        _points("x", x, self.dim, self.batch_shape)
        alpha, beta = self.alpha_beta()
        d = x - self.center
        s = torch.linalg.vector_norm(d, dim=-1)
        p = alpha + beta - s
        r = 0.5 * (-p + torch.sqrt(p * p + 4 * alpha * s))
        z = self.center + d / (1 + beta / (alpha + r)).unsqueeze(-1)
        return z, -self.forward(z)[1]

    def member(self, index) -> "Radial":
        """The copy at ``index`` of ``batch_shape`` as an unbatched layer (parameters copied)."""
        one = Radial(self.dim, dtype=self.center.dtype, device=self.center.device)
        with torch.no_grad():
            one.center.copy_(self.center[index])
            one.alpha_raw.copy_(self.alpha_raw[index]), one.beta_raw.copy_(self.beta_raw[index])
        return one


class AffineCoupling(nn.Module):
    r"""Affine coupling layer (RealNVP): :math:`x = m \odot z + (1 - m) \odot (z \odot e^{s(m\odot z)} + t(m \odot z))`.

    The coordinates with mask :math:`m = 1` pass unchanged and condition a scale and shift of
    the others. The Jacobian is triangular (after reordering), so
    :math:`\log|\det| = \sum_i (1 - m_i)\,s_i(m \odot z)` and the inverse is
    :math:`z = m \odot x + (1 - m) \odot (x - t(m \odot x)) \odot e^{-s(m \odot x)}`, whatever
    the networks :math:`s, t` are. Here :math:`s = \sigma \tanh(\cdot)` (a learned per-coordinate
    bound :math:`\sigma`, for stability) and the last layer starts at zero, so the layer starts
    as the identity.

    Args:
        dim: :math:`D`.
        hidden: width of the two hidden layers of the conditioner network.
        mask: ``D`` zeros and ones (sequence or tensor), at least one of each.
        dtype, device: of the parameters.

    Book: ``eq-flows-coupling``, ``eq-flows-coupling-logdet``.

    References:
        Dinh, Krueger & Bengio (2015), NICE. Dinh, Sohl-Dickstein & Bengio (2017), Real NVP.
    """

    def __init__(self, dim: int, hidden: int, mask, *, dtype=None, device=None):
        super().__init__()
        self.dim = positive_int("dim", dim)
        positive_int("hidden", hidden)
        m = torch.as_tensor(mask, dtype=dtype if dtype is not None else torch.get_default_dtype(), device=device)
        if m.shape != (dim,) or not bool(((m == 0) | (m == 1)).all()):
            raise ValueError(f"mask must hold {dim} zeros and ones; got {mask!r}")
        if bool((m == 0).all()) or bool((m == 1).all()):
            raise ValueError(f"mask must contain both a 0 and a 1 (else the layer is the identity "
                             f"or not invertible in closed form); got {m.tolist()}")
        self.register_buffer("mask", m)
        kw = dict(dtype=m.dtype, device=device)
        self.net = nn.Sequential(nn.Linear(dim, hidden, **kw), nn.SiLU(), nn.Linear(hidden, hidden, **kw),
                                 nn.SiLU(), nn.Linear(hidden, 2 * dim, **kw))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(dim, **kw))

    def _s_t(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(kept).chunk(2, dim=-1)
        free = 1 - self.mask
        return free * self.scale * torch.tanh(s), free * t

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(f(z), log|det ∂f/∂z|)``; ``z`` has shape ``(..., D)``, ladj ``(...)``."""
        _points("z", z, self.dim, torch.Size())
        kept = self.mask * z
        s, t = self._s_t(kept)
        return kept + (1 - self.mask) * z * torch.exp(s) + t, s.sum(-1)

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(f^{-1}(x), log|det ∂f^{-1}/∂x|)``, exact and as cheap as ``forward``."""
        _points("x", x, self.dim, torch.Size())
        kept = self.mask * x
        s, t = self._s_t(kept)
        return kept + (1 - self.mask) * (x - t) * torch.exp(-s), -s.sum(-1)


def normal_base(batch_shape=(), dim: int = 2, dtype=None, device=None) -> torch.distributions.Distribution:
    """Standard normal base :math:`q_0 = N(0, I)` with event shape ``(dim,)`` and the given batch shape."""
    shape = tuple(batch_shape) + (dim,)
    loc = torch.zeros(shape, dtype=dtype, device=device)
    return torch.distributions.Independent(torch.distributions.Normal(loc, torch.ones_like(loc)), 1)


class Flow(nn.Module):
    r"""A normalizing flow :math:`x = f_K \circ \dots \circ f_1(z_0)`, :math:`z_0 \sim q_0`.

    Args:
        layers: modules with ``forward(z) -> (x, ladj)`` and, for ``log_prob``,
            ``inverse(x) -> (z, ladj_inverse)``; applied in order.
        base: a ``torch.distributions.Distribution`` with event shape ``(D,)`` (its batch
            shape, if any, must match the layers' ``batch_shape``). It is not a module: build
            it on the device and in the dtype of the layers.
        depth: optional integer tensor of the base's batch shape: member ``b`` of a batched
            flow uses only its first ``depth[b]`` layers (the others act as the identity), so
            stacks of different lengths train in one computation. ``None``: all layers.

    Book: ``eq-flows-composition``.
    """

    def __init__(self, layers: Sequence[nn.Module], base: torch.distributions.Distribution,
                 depth: torch.Tensor | None = None):
        super().__init__()
        if not isinstance(base, torch.distributions.Distribution):
            raise ValueError(f"base must be a torch.distributions.Distribution; got {type(base).__name__}")
        if len(base.event_shape) != 1:
            raise ValueError(f"base must have event shape (D,); got {tuple(base.event_shape)}")
        layers = list(layers)
        if not all(isinstance(f, nn.Module) for f in layers):
            raise ValueError("layers must be nn.Modules with forward(z) -> (x, ladj)")
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

    def forward(self, z: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Push ``z`` through the first ``upto`` layers (all by default): ``(x, Σ_k ladj_k)``."""
        layers = self._first("upto", upto)
        total = z.new_zeros(z.shape[:-1])
        for k, f in enumerate(layers):
            z, ladj = self._step(k, z, f(z))
            total = total + ladj
        return z, total

    def inverse(self, x: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Undo the first ``upto`` layers, last first: ``(z_0, log|det ∂z_0/∂x|)``."""
        layers = self._first("upto", upto)
        total = x.new_zeros(x.shape[:-1])
        for k in reversed(range(len(layers))):
            x, ladj = self._step(k, x, layers[k].inverse(x))
            total = total + ladj
        return x, total

    def log_prob(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        r""":math:`\log q(x) = \log q_0(f^{-1}(x)) + \log|\det \partial f^{-1}/\partial x|`, shape ``x.shape[:-1]``.

        With ``upto = k``, the density after the first ``k`` layers.
        """
        if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != self.base.event_shape[0]:
            raise ValueError(f"x must be a tensor of shape (..., {self.base.event_shape[0]}); "
                             f"got {getattr(x, 'shape', type(x).__name__)}")
        z, ladj = self.inverse(x, upto)
        return self.base.log_prob(z) + ladj

    def sample(self, n: int, upto: int | None = None) -> torch.Tensor:
        """``n`` samples, shape ``(n, *base.batch_shape, D)``, without gradient."""
        positive_int("n", n)
        with torch.no_grad():
            return self.forward(self.base.sample((n,)), upto)[0]

    def rsample_and_log_prob(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Reparameterized samples and their :math:`\log q_K`, no inverse needed (eq. of the bound)."""
        positive_int("n", n)
        z0 = self.base.rsample((n,))
        x, ladj = self.forward(z0)
        return x, self.base.log_prob(z0) - ladj

    def _first(self, name: str, upto):
        if upto is None:
            return list(self.layers)
        if isinstance(upto, bool) or not isinstance(upto, int) or not 0 <= upto <= len(self.layers):
            raise ValueError(f"{name} must be an int in [0, {len(self.layers)}]; got {upto!r}")
        return list(self.layers)[:upto]


def planar_log_det(z: torch.Tensor, w: torch.Tensor, u: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r""":math:`\log|1 + u^\top \psi(z)|`, :math:`\psi(z) = (1 - \tanh^2(w^\top z + b))\,w` (``u`` used as given).

    Args:
        z: ``(N, D)`` points. w, u: ``(D,)``. b: scalar tensor.

    Returns:
        ``(N,)``.

    Book: ``eq-flows-planar-logdet``.
    """
    h = torch.tanh(z @ w + b)
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
    if not isinstance(z, torch.Tensor) or z.ndim != 2:
        raise ValueError(f"z must be a tensor of shape (N, D); got {getattr(z, 'shape', type(z).__name__)}")
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: fn(v[None])[0][0], zi) for zi in z])
    return torch.linalg.slogdet(jac)[1]


def anneal(step: int, ramp: float = 10_000.0, start: float = 0.01) -> float:
    r"""Inverse temperature :math:`\beta_t = \min(1, \mathrm{start} + t/\mathrm{ramp})` (the paper: ramp :math:`10^4`).

    Book: ``eq-flows-anneal``.
    """
    positive("ramp", ramp)
    return min(1.0, start + step / ramp)


def free_energy(log_q: torch.Tensor, energy: torch.Tensor, beta: float | torch.Tensor = 1.0) -> torch.Tensor:
    r"""Monte Carlo free energy :math:`\mathcal F = \mathbb E_{q_K}[\log q_K(z_K) + \beta\, U(z_K)]`, averaged over dim 0.

    For :math:`\beta = 1` and a target :math:`p = e^{-U}/Z`,
    :math:`\mathcal F = \mathrm{KL}(q_K\,\|\,p) - \log Z \ge -\log Z`.

    Args:
        log_q: ``(N, ...)`` log-densities of samples of :math:`q_K` (``Flow.rsample_and_log_prob``).
        energy: ``(N, ...)`` target energies :math:`U` at the same samples.
        beta: inverse temperature (a number or a tensor broadcasting against ``(...)``).

    Book: ``eq-flows-free-energy``.
    """
    if log_q.shape != energy.shape:
        raise ValueError(f"energy must have the shape of log_q {tuple(log_q.shape)}; got {tuple(energy.shape)}")
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
    if flow.base.event_shape != (2,):
        raise ValueError(f"flow must be a 2D flow; its base has event shape {tuple(flow.base.event_shape)}")
    loc = flow.base.sample((1,))
    z, _ = grid(extent, resolution, dtype=loc.dtype, device=loc.device)
    z = z.reshape((-1,) + (1,) * len(flow.base.batch_shape) + (2,)).expand((-1,) + loc.shape[1:])
    with torch.no_grad():
        lq0 = flow.base.log_prob(z)
        x, ladj = flow(z)
        w = torch.softmax(lq0, dim=0)
        return (w * (lq0 - ladj - log_p(x))).sum(0)
