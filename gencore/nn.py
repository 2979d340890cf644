r"""The network building blocks the chapters share: one plain MLP, one batched MLP, one
time-conditioned MLP.

- :func:`mlp`: ``Linear`` layers with an activation between them (``nn.Sequential``).
- :class:`StackedMLP`: ``M`` independent MLPs in one batched computation (``torch.baddbmm``),
  so a chapter trains a whole family of small models (one per loss, per seed, per setting) for
  about the cost of one.
- :class:`TimeMLP`: :math:`f_\theta(x, t, y)`, an MLP told the time :math:`t` (and optionally a
  class :math:`y`) at every hidden layer through :func:`sinusoidal_features`; chapter 6's noise
  predictor :math:`\epsilon_\theta(x_t, t)` and chapter 9's velocity :math:`v_\theta(x, t, y)`.

Nothing here draws from a global seed: initial weights come from ``generator`` when one is given
(torch's global generator otherwise, as ``nn.Linear`` does), and building with a ``generator``
leaves torch's global generators as they were (:func:`build`).
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .tensors import function, one_of, positive, positive_int, rng_device, validate

__all__ = ["ACTIVATIONS", "activation", "init_", "build", "mlp", "mlp_derivatives", "StackedMLP", "sinusoidal_features",
           "TimeMLP"]

ACTIVATIONS = ("silu", "relu", "leaky_relu", "tanh")


def activation(name: str, h: torch.Tensor) -> torch.Tensor:
    """Apply the activation ``name`` (one of ``ACTIVATIONS``; leaky ReLU has slope 0.2)."""
    if name == "silu":
        return F.silu(h)
    if name == "relu":
        return F.relu(h)
    if name == "leaky_relu":
        return F.leaky_relu(h, 0.2)
    if name == "tanh":
        return torch.tanh(h)
    raise ValueError(f"activation must be one of {list(ACTIVATIONS)}; got {name!r}")


class _Activation(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = one_of("activation", name, ACTIVATIONS)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return activation(self.name, h)


def _sizes(sizes) -> tuple[int, ...]:
    sizes = tuple(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must list at least two positive ints (input ... output); got {sizes!r}")
    return sizes


@torch.no_grad()
def init_(module: nn.Module, generator: torch.Generator | None) -> nn.Module:
    r"""Redraw the weights of every ``nn.Linear`` and ``nn.Embedding`` in ``module`` from ``generator``.

    The same distributions torch uses by default (``Linear``: weight and bias
    :math:`U(-1/\sqrt{d_{in}}, 1/\sqrt{d_{in}})`; ``Embedding``: :math:`\mathcal N(0, 1)`), but
    drawn from the caller's generator, so building a model never consumes (or needs a reseed
    of) torch's global generator. ``generator=None`` leaves the module as it is. Returns ``module``.

    Example:
        >>> a = init_(mlp((2, 8, 1)), torch.Generator().manual_seed(0))
        >>> b = init_(mlp((2, 8, 1)), torch.Generator().manual_seed(0))
        >>> bool((a[0].weight == b[0].weight).all())
        True
    """
    if generator is None:
        return module
    for m in module.modules():
        params = []
        if isinstance(m, nn.Linear):
            bound = 1 / math.sqrt(m.in_features)
            params = [(p, "uniform", bound) for p in (m.weight, m.bias) if p is not None]
        elif isinstance(m, nn.Embedding):
            params = [(m.weight, "normal", 1.0)]
        for p, kind, scale in params:
            draw = torch.rand if kind == "uniform" else torch.randn
            new = draw(p.shape, generator=generator, dtype=p.dtype, device=generator.device)
            p.copy_((new * 2 - 1) * scale if kind == "uniform" else new * scale)
    return module


@contextlib.contextmanager
def _global_rng_kept(generator: torch.Generator | None):
    """Inside, torch's own initializers may draw; with a ``generator`` the global state is restored after."""
    if generator is None:
        yield
        return
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda):
        yield


def build(make: Callable[[], nn.Module], generator: torch.Generator | None) -> nn.Module:
    """``make()`` with its weights drawn from ``generator`` (:func:`init_`), torch's global generator untouched.

    A module's constructor draws default weights from the global generator (``nn.Linear`` does);
    with a ``generator`` those draws happen on a forked global state, which is restored, and
    :func:`init_` then redraws every weight from ``generator``. ``generator=None``: ``make()`` as it is.

    Example:
        >>> state = torch.get_rng_state()
        >>> net = build(lambda: nn.Linear(3, 2), torch.Generator().manual_seed(0))
        >>> bool(torch.equal(state, torch.get_rng_state()))
        True
    """
    function("make", make, "() -> nn.Module")
    with _global_rng_kept(generator):
        module = make()
    if not isinstance(module, nn.Module):
        raise TypeError(f"make must return an nn.Module; got {type(module).__name__}")
    return init_(module, generator)


def mlp(sizes: Sequence[int], activation: str = "silu", *, generator: torch.Generator | None = None,
        **factory) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1])``, activation, ..., ``Linear(sizes[-2], sizes[-1])``.

    Args:
        sizes: layer widths, e.g. ``(2, 64, 64, 1)``.
        activation: one of ``ACTIVATIONS``, between layers (none after the last).
        generator: draws the initial weights (see :func:`init_`); torch's global one when ``None``.
        **factory: ``dtype``/``device`` for the weights.
    """
    sizes = _sizes(sizes)
    one_of("activation", activation, ACTIVATIONS)

    def make():
        mods: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                mods.append(_Activation(activation))
            mods.append(nn.Linear(d_in, d_out, **factory))
        return nn.Sequential(*mods)
    return build(make, generator)


def _activation_derivatives(name: str, z: torch.Tensor):
    """``(phi(z), phi'(z), phi''(z))`` of the activation ``name``, elementwise."""
    if name == "silu":
        s = torch.sigmoid(z)
        h = z * s
        ds = torch.addcmul(s, s, s, value=-1)  # s (1 - s), as few elementwise passes as possible
        return h, torch.addcmul(s, z, ds), ds * torch.add(z, h, alpha=-2).add_(2)  # s + z ds, ds (2 + z - 2 z s)
    if name == "tanh":
        t = torch.tanh(z)
        d1 = 1 - t * t
        return t, d1, -2 * t * d1
    slope = 0.0 if name == "relu" else 0.2  # piecewise linear: phi'' = 0 away from the kink
    d1 = torch.where(z > 0, torch.ones_like(z), torch.full_like(z, slope))
    return z * d1, d1, torch.zeros_like(z)


def mlp_derivatives(net: nn.Sequential, x: torch.Tensor):
    r"""Value, input gradient and Laplacian of a scalar :func:`mlp`, :math:`(f, \nabla_x f, \Delta_x f)`, in one pass.

    Forward-mode propagation through the layers: with :math:`h' = \phi(z)`, :math:`z = hW^\top + b`,
    the Jacobian rows carry :math:`\partial_d h' = \phi'(z)\,\partial_d z` and the Laplacian
    :math:`\Delta h' = \phi''(z)\sum_d (\partial_d z)^2 + \phi'(z)\,\Delta z` (the "forward
    Laplacian"). The result stays differentiable in the weights with a single backward pass,
    where autograd would need a backward pass per input dimension on top of the gradient's.

    Args:
        net: an :func:`mlp` with one output (``Linear`` layers and activations).
        x: ``(N, D)`` points.

    Returns:
        ``(f (N,), grad (N, D), laplacian (N,))``.

    References:
        Li et al. (2023), A computational framework for neural network-based variational Monte
        Carlo with Forward Laplacian. arXiv:2307.08214.
    """
    if not isinstance(net, nn.Sequential) or not isinstance(net[-1], nn.Linear) or net[-1].out_features != 1:
        raise TypeError("net must be an mlp (nn.Sequential) with one output")
    validate("x", x, ndim=2, last_dim=net[0].in_features, finite=False)
    h, jac, lap = x, None, None  # jac: (N, D, width), d h / d x_d; lap: (N, width); None = identity, zero
    for layer in net:
        if isinstance(layer, nn.Linear):
            h = F.linear(h, layer.weight, layer.bias)
            jac = layer.weight.T if jac is None else jac @ layer.weight.T  # (D, width) until an activation
            lap = None if lap is None else lap @ layer.weight.T
        else:
            h, d1, d2 = _activation_derivatives(layer.name, h)
            curv = d2 * jac.pow(2).sum(-2)
            lap = curv if lap is None else torch.addcmul(curv, d1, lap)
            jac = d1.unsqueeze(-2) * jac
    lap = x.new_zeros(x.shape[0]) if lap is None else lap[..., 0]
    return h[..., 0], jac[..., 0].expand(x.shape), lap


class StackedMLP(nn.Module):
    r"""``M`` independent MLPs evaluated in one batched computation.

    Layer :math:`l` of model :math:`m` computes :math:`h \mapsto \phi(h W^{(l)}_m + b^{(l)}_m)`
    (no :math:`\phi` after the last layer); the weights of all models are stacked as
    ``(M, d_in, d_out)`` and applied with one ``baddbmm``.

    Args:
        n_models: ``M``.
        sizes: layer widths, e.g. ``(2, 128, 128, 1)``.
        activation: one of ``ACTIVATIONS``.
        generator: draws the initial weights, :math:`U(-1/\sqrt{d_{in}}, 1/\sqrt{d_{in}})` as
            ``nn.Linear`` does (torch's global generator when ``None``).
        dtype, device: of the weights (torch's default dtype, the CPU when ``None``).

    Shapes: ``forward`` maps ``(..., M, N, sizes[0])`` to ``(..., M, N, sizes[-1])``; an input
    ``(N, sizes[0])`` without the model axis is fed to every model.

    Example:
        >>> net = StackedMLP(3, (2, 16, 1), generator=torch.Generator().manual_seed(0))
        >>> net(torch.zeros(5, 2)).shape
        torch.Size([3, 5, 1])
        >>> net.select([0, 2])(torch.zeros(3, 5, 2)[:2]).shape
        torch.Size([2, 5, 1])
    """

    def __init__(self, n_models: int, sizes: Sequence[int], activation: str = "silu", *,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None):
        super().__init__()
        self.n_models = positive_int("n_models", n_models)
        self.sizes = _sizes(sizes)
        self.activation = one_of("activation", activation, ACTIVATIONS)
        dtype = dtype or torch.get_default_dtype()
        device = torch.device(device) if device is not None else torch.device("cpu")
        draw_on = rng_device(generator, device)
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for d_in, d_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = 1 / math.sqrt(d_in)
            w = torch.rand(n_models, d_in, d_out, generator=generator, dtype=dtype, device=draw_on)
            b = torch.rand(n_models, 1, d_out, generator=generator, dtype=dtype, device=draw_on)
            self.weights.append(nn.Parameter(((w * 2 - 1) * bound).to(device)))
            self.biases.append(nn.Parameter(((b * 2 - 1) * bound).to(device)))

    def select(self, index) -> "StackedMLP":
        """A new ``StackedMLP`` holding copies of the models ``index`` (an int or a sequence of ints)."""
        idx = [index] if isinstance(index, int) else list(index)
        if not idx or any(isinstance(i, bool) or not isinstance(i, int) or not -self.n_models <= i < self.n_models
                          for i in idx):
            raise ValueError(f"index must be model indices in [0, {self.n_models}); got {index!r}")
        p = self.weights[0]
        # The copy's own initial draw is overwritten below; a private generator keeps it off torch's global one
        # (a CPU one: not every device has generators, and the draw is moved to p's device as any other).
        new = StackedMLP(len(idx), self.sizes, self.activation, generator=torch.Generator(),
                         dtype=p.dtype, device=p.device)
        rows = torch.tensor(idx, device=p.device)  # an index tensor made where the weights are
        with torch.no_grad():
            for dst, src in zip(list(new.weights) + list(new.biases), list(self.weights) + list(self.biases)):
                dst.copy_(src.index_select(0, rows))
        return new

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        m, d = self.n_models, self.sizes[0]
        validate("h", h, min_ndim=2, last_dim=d, finite=False)
        if h.ndim == 2:
            h = h.expand(m, *h.shape)
        if h.shape[-3] != m:
            raise ValueError(f"h must have shape (..., {m}, N, {d}) or (N, {d}); got {tuple(h.shape)}")
        lead, n = h.shape[:-3], h.shape[-2]
        h = h.movedim(-3, 0).reshape(m, -1, d)  # (M, L*N, d)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b.to(h), h, w.to(h))
            if i < last:
                h = activation(self.activation, h)
        return h.reshape(m, *lead, n, h.shape[-1]).movedim(0, -3)  # (..., M, N, out)


def sinusoidal_features(t: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    r"""Time features :math:`e(t) = (\sin(f_k t), \cos(f_k t))_k`: ``t`` ``(N,)``, ``freqs`` ``(F,)`` -> ``(N, 2F)``."""
    phase = t[:, None] * freqs.to(t)
    return torch.cat([phase.sin(), phase.cos()], -1)


class TimeMLP(nn.Module):
    r""":math:`f_\theta(x, t, y)`: an MLP told the time :math:`t` (and a class :math:`y`) at every layer.

    Each hidden layer is :math:`h_{l+1} = \mathrm{SiLU}(W_l h_l + U_l e(t/\tau) + E_l[y] + b_l)`
    with :math:`h_0 = x`, sinusoidal features :math:`e` (``n_freq`` frequencies log-spaced in
    ``[1, max_freq]``) of the time divided by ``time_scale`` :math:`\tau`; the output layer is
    linear. Feeding :math:`e(t)` to every layer, not only the first, is what lets so small a
    network learn the nearly clean times quickly. With ``n_classes > 0`` each layer also adds a
    learned embedding of the class, with index ``n_classes`` meaning "no class" (the
    unconditional model of classifier-free guidance).

    Args:
        dim: data dimension.
        hidden, layers: width and number of hidden layers.
        n_freq, max_freq: the time frequencies.
        time_scale: :math:`\tau` (chapter 6 passes the step count ``T``; chapter 9 uses 1).
        n_classes: 0 for an unconditional model.
        generator: draws the initial weights (see :func:`init_`).
        dtype, device: of the weights (torch's default dtype, the CPU when ``None``).

    Example:
        >>> net = TimeMLP(dim=2, hidden=32, time_scale=1000)
        >>> net(torch.zeros(4, 2), 10).shape
        torch.Size([4, 2])
        >>> TimeMLP(n_classes=3)(torch.zeros(4, 2), torch.rand(4), torch.tensor([0, 1, 2, 0])).shape
        torch.Size([4, 2])
    """

    def __init__(self, dim: int = 2, hidden: int = 128, layers: int = 3, n_freq: int = 16,
                 max_freq: float = 200.0, time_scale: float = 1.0, n_classes: int = 0, *,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None, device=None):
        super().__init__()
        positive_int("dim", dim)
        positive_int("hidden", hidden)
        positive_int("layers", layers)
        positive_int("n_freq", n_freq)
        positive("max_freq", max_freq)
        self.time_scale = float(positive("time_scale", time_scale))
        self.n_classes = positive_int("n_classes", n_classes, minimum=0)
        kw = dict(dtype=dtype, device=device)
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(max_freq), n_freq, **kw)))
        with _global_rng_kept(generator):
            self.layers = nn.ModuleList([nn.Linear(dim if i == 0 else hidden, hidden, **kw) for i in range(layers)])
            self.time = nn.ModuleList([nn.Linear(2 * n_freq, hidden, bias=False, **kw) for _ in range(layers)])
            self.label = (nn.ModuleList([nn.Embedding(n_classes + 1, hidden, **kw) for _ in range(layers)])
                          if n_classes else None)
            self.out = nn.Linear(hidden, dim, **kw)
        init_(self, generator)

    def forward(self, x: torch.Tensor, t, y=None) -> torch.Tensor:
        """``x`` ``(N, dim)``; ``t`` a number or ``(N,)``; ``y`` an int, ``(N,)`` ints or ``None`` (no class)."""
        t = torch.as_tensor(t, device=x.device).to(x.dtype).expand(x.shape[:1])
        e = sinusoidal_features(t / self.time_scale, self.freqs)
        if self.label is not None:
            y = torch.as_tensor(self.n_classes if y is None else y, device=x.device).long().expand(x.shape[:1])
        h = x
        for i, (layer, time) in enumerate(zip(self.layers, self.time)):
            z = layer(h) + time(e)
            if self.label is not None:
                z = z + self.label[i](y).to(x)
            h = F.silu(z)
        return self.out(h)

    def at_times(self, ts, y=None) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """The network at each fixed time of ``ts``: ``fns[i](x)`` is ``self(x, ts[i], y)`` for ``x`` ``(N, dim)``.

        The time (and class) terms of every layer are computed once, for all of ``ts`` in one
        batched product, so a sampler whose every step evaluates one time for all rows pays only
        for the ``x`` path (for chapter 6's network, a quarter of the multiply-adds of
        :meth:`forward`, and its sines and cosines, are saved). The values equal :meth:`forward`'s
        up to the rounding of that product (bitwise on a CPU for five or more times). ``ts``: a
        sequence or ``(M,)`` tensor of times; ``y``: an int or ``None``.
        """
        kw = dict(dtype=self.freqs.dtype, device=self.freqs.device)
        t = torch.as_tensor(ts, **kw).reshape(-1)
        e = sinusoidal_features(t / self.time_scale, self.freqs)  # (M, 2F)
        terms = [time(e) for time in self.time]  # per layer (M, hidden)
        labels = [None] * len(terms)
        if self.label is not None:
            label = torch.as_tensor(self.n_classes if y is None else y, device=e.device).long().reshape(1)
            labels = [emb(label).to(e) for emb in self.label]  # per layer (1, hidden)

        def at(k: int) -> Callable[[torch.Tensor], torch.Tensor]:
            def f(x: torch.Tensor) -> torch.Tensor:
                h = x
                for layer, z, lab in zip(self.layers, terms, labels):
                    z = layer(h) + z[k]
                    h = F.silu(z if lab is None else z + lab)
                return self.out(h)
            return f

        return [at(k) for k in range(len(t))]
