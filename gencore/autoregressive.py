r"""Autoregressive models: the chain rule :math:`p(x) = \prod_i p(x_i \mid x_{<i})`, one factor at a time.

Two kinds of model live here. On 2D points, :class:`AR2D` is :math:`p(x_a)\,p(x_b \mid x_a)`
for an ordering :math:`(a, b)` of the two coordinates, each factor a 1D conditional density
(:class:`Conditional1D`): a mixture of Gaussians whose parameters a small net computes from the
context (a mixture density network), or a histogram over bins (a discretized conditional).
On binary "images" of ``D`` pixels, :class:`MADE` computes all ``D`` conditionals of a
Bernoulli chain in one masked forward pass (training is parallel), while sampling needs ``D``
passes, one per pixel (sampling is sequential).

Every log-density is computed in log space (``log_softmax``, ``logsumexp``) and follows the
dtype and device of its inputs (a module's of its parameters).

Book: ``book/10_autoregressive.ipynb``.

References:
    Bishop (1994), "Mixture density networks". Larochelle & Murray (2011), "The neural
    autoregressive distribution estimator". Germain et al. (2015), "MADE: Masked autoencoder for
    distribution estimation", arXiv:1502.03509. van den Oord et al. (2016), "Pixel recurrent
    neural networks", arXiv:1601.06759.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .tensors import (event_2d, in_range, noise, one_of, positive, positive_int, rng_device, same_length, uniform,
                      validate)

__all__ = ["mixture_log_prob", "mixture_sample", "binned_log_prob", "binned_sample", "Conditional1D",
           "AR2D", "Parabola", "BarsImages", "made_masks", "MaskedLinear", "MADE", "FactorizedBernoulli"]

_LOG_2PI = math.log(2 * math.pi)


def _rows(y_name: str, y, **params) -> None:
    """Check ``y (N,)`` (if named) and each parameter ``(N, K)`` against it: finite floating tensors, one row per point."""
    n = None
    if y_name:
        n = len(validate(y_name, y, ndim=1))
    for name, t in params.items():
        validate(name, t, ndim=2)
        if n is not None and t.shape[0] != n:
            raise ValueError(f"{name} must have one row per entry of {y_name}: shape ({n}, K); got {tuple(t.shape)}")
        n = t.shape[0] if n is None else n
    shapes = {tuple(t.shape) for t in params.values()}
    if len(shapes) > 1:
        raise ValueError(f"{' and '.join(params)} must have the same shape (N, K); got {sorted(shapes)}")


def _box(low, high) -> tuple[float, float]:
    in_range("low", low)
    in_range("high", high)
    if not high > low:
        raise ValueError(f"high must be > low; got low={low}, high={high}")
    return float(low), float(high)


def _categorical(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row of ``probs (N, K)``, on ``probs``'s device."""
    rng = rng_device(generator, probs)
    return torch.multinomial(probs.to(rng), 1, generator=generator).squeeze(-1).to(probs.device)


# ------------------------------------------------------------------ 1D conditional densities
def mixture_log_prob(y: torch.Tensor, logits: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \sum_k \pi_k\, \mathcal N(y;\, \mu_k, s_k^2)` with :math:`\log\pi = \mathrm{log\_softmax}(\text{logits})`.

    Computed as a ``logsumexp`` over components of :math:`\log\pi_k + \log\mathcal N(y; \mu_k, s_k^2)`,
    so a point far from every component gets a large negative number, never ``-inf``.

    Args:
        y: ``(N,)`` points.
        logits, means, scales: ``(N, K)`` unnormalized log-weights, means and (positive) scales.

    Returns:
        ``(N,)`` log-densities, in the dtype of ``y``.

    Book: ``eq-ar-mdn``.
    """
    _rows("y", y, logits=logits, means=means, scales=scales)
    positive("scales", scales)
    z = (y.unsqueeze(-1) - means) / scales
    log_n = -0.5 * z**2 - torch.log(scales) - 0.5 * _LOG_2PI
    return torch.logsumexp(torch.log_softmax(logits, -1) + log_n, dim=-1)


def mixture_sample(logits: torch.Tensor, means: torch.Tensor, scales: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw from each row's mixture: pick a component by its weight, then add scaled noise. Returns ``(N,)``."""
    _rows("", None, logits=logits, means=means, scales=scales)
    positive("scales", scales)
    k = _categorical(torch.softmax(logits, -1), generator)
    pick = lambda t: t.gather(-1, k.unsqueeze(-1)).squeeze(-1)  # noqa: E731
    eps = noise(k.shape, means, generator)
    return pick(means) + pick(scales) * eps


def binned_log_prob(y: torch.Tensor, logits: torch.Tensor, low: float, high: float) -> torch.Tensor:
    r"""Piecewise-constant log-density: :math:`\log P(\text{bin of } y) - \log w` with :math:`w = (\text{high} - \text{low})/B`.

    The ``B`` equal bins cover ``[low, high)``; the bin probabilities are ``softmax(logits)``.
    Outside the box the density is 0 (``-inf``).

    Args:
        y: ``(N,)`` points.
        logits: ``(N, B)`` unnormalized log-probabilities of the bins, one row per point (a
            ``logits`` with another number of rows is an error, never cut to fit).
        low, high: the box.

    Returns:
        ``(N,)`` log-densities.

    Book: ``eq-ar-binned``.
    """
    _rows("y", y, logits=logits)
    low, high = _box(low, high)
    B = logits.shape[-1]
    width = (high - low) / B
    idx = torch.floor((y - low) / width).long()
    inside = (idx >= 0) & (idx < B)
    lp = torch.log_softmax(logits, -1).gather(-1, idx.clamp(0, B - 1).unsqueeze(-1)).squeeze(-1) - math.log(width)
    return torch.where(inside, lp, torch.full_like(lp, -math.inf))


def binned_sample(logits: torch.Tensor, low: float, high: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw per row: a bin by its probability, then a uniform point inside it. Returns ``(N,)``."""
    _rows("", None, logits=logits)
    low, high = _box(low, high)
    B = logits.shape[-1]
    k = _categorical(torch.softmax(logits, -1), generator)
    u = uniform(k.shape, logits, generator)
    return low + (k.to(logits.dtype) + u) * (high - low) / B


class Conditional1D(nn.Module):
    r"""A 1D density :math:`p(y \mid c)`: a Gaussian mixture (``kind="mdn"``) or a histogram (``kind="bins"``).

    With ``context_dim = 0`` the parameters are free (no net): the first factor :math:`p(x_a)`.
    Otherwise an MLP ``context -> hidden -> hidden -> parameters`` computes them. Mixture
    scales are ``softplus(raw) + min_scale``.

    Args:
        context_dim: 0 or the size of the context.
        kind: ``"mdn"`` or ``"bins"``.
        components: mixture components ``K`` (``kind="mdn"``).
        bins: number of bins ``B`` on ``box`` (``kind="bins"``).
        box: ``(low, high)`` of the bins.
        hidden: width of the MLP.
    """

    def __init__(self, context_dim: int, *, kind: str = "mdn", components: int = 8, bins: int = 32,
                 box: tuple[float, float] = (-3.0, 3.0), hidden: int = 64, min_scale: float = 1e-3,
                 dtype=None, device=None):
        super().__init__()
        one_of("kind", kind, ("mdn", "bins"))
        positive_int("context_dim", context_dim, minimum=0)
        self.kind, self.box, self.min_scale = kind, _box(*box), min_scale
        self.context_dim = context_dim
        self.components = positive_int("components", components)
        self.bins = positive_int("bins", bins, minimum=2)
        out = 3 * components if kind == "mdn" else bins
        kw = dict(dtype=dtype, device=device)
        if context_dim == 0:
            init = torch.zeros(out, **kw)
            if kind == "mdn":  # spread the initial means over the box
                init[components:2 * components] = torch.linspace(*self.box, components + 2, **kw)[1:-1]
            self.free = nn.Parameter(init)
            self.net = None
        else:
            self.net = nn.Sequential(nn.Linear(context_dim, hidden, **kw), nn.SiLU(), nn.Linear(hidden, hidden, **kw),
                                     nn.SiLU(), nn.Linear(hidden, out, **kw))

    def params(self, context: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(logits, means, scales)`` for ``kind="mdn"``, ``(logits,)`` for bins; each ``(N, K or B)``."""
        validate("context", context, ndim=2, last_dim=self.context_dim, nonempty=False)
        if self.net is None:  # free parameters: computed on one row, then repeated for every context
            return tuple(v.expand(len(context), -1) for v in self._split(self.free.unsqueeze(0)))
        return self._split(self.net(context))

    def _split(self, raw: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.kind == "bins":
            return (raw,)
        K = self.components
        return raw[:, :K], raw[:, K:2 * K], F.softplus(raw[:, 2 * K:]) + self.min_scale

    def log_prob(self, y: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``(N,)`` log-densities of ``y (N,)`` given ``context (N, context_dim)``."""
        same_length(("y", "context"), validate("y", y, ndim=1), validate("context", context, ndim=2, nonempty=False))
        p = self.params(context)
        if self.kind == "bins":
            return binned_log_prob(y, p[0], *self.box)
        return mixture_log_prob(y, *p)

    def sample(self, context: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(N,)`` draws, one per row of ``context``."""
        p = self.params(context)
        if self.kind == "bins":
            return binned_sample(p[0], *self.box, generator=generator)
        return mixture_sample(*p, generator=generator)


class AR2D(nn.Module):
    r""":math:`q(x) = q(x_a)\, q(x_b \mid x_a)` on :math:`\mathbb R^2`, for the ordering ``order = (a, b)``.

    Args:
        order: ``(0, 1)`` (first :math:`x_1`, then :math:`x_2 \mid x_1`) or ``(1, 0)``.
        **kw: passed to both :class:`Conditional1D` factors (``kind``, ``components``, ``bins``,
            ``box``, ``hidden``, ``dtype``, ``device``).

    Book: ``eq-ar-2d``.

    Example:
        >>> q = AR2D((1, 0), components=3, dtype=torch.float64)
        >>> x = q.sample(4, torch.Generator().manual_seed(0))
        >>> x.shape, bool(torch.allclose(q.log_prob(x), q.factor_log_probs(x).sum(-1)))
        (torch.Size([4, 2]), True)
    """

    def __init__(self, order: tuple[int, int] = (0, 1), **kw):
        super().__init__()
        order = tuple(order)
        one_of("order", order, ((0, 1), (1, 0)))
        self.order = order
        self.first = Conditional1D(0, **kw)
        self.second = Conditional1D(1, **kw)

    def factor_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(N, 2)``: column 0 is :math:`\log q(x_a)`, column 1 is :math:`\log q(x_b \mid x_a)`."""
        event_2d("x", x)
        a, b = self.order
        xa, xb = x[..., a], x[..., b]
        lp_a = self.first.log_prob(xa, xa.new_zeros(len(xa), 0))
        lp_b = self.second.log_prob(xb, xa.unsqueeze(-1))
        return torch.stack([lp_a, lp_b], -1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(N,)`` exact log-density :math:`\log q(x_a) + \log q(x_b \mid x_a)` of ``x (N, 2)``."""
        return self.factor_log_probs(x).sum(-1)

    def conditional_log_prob(self, y: torch.Tensor, given: float) -> torch.Tensor:
        r""":math:`\log q(x_b = y \mid x_a = \text{given})` for ``y (M,)``."""
        validate("y", y, ndim=1)
        in_range("given", given)
        ctx = torch.full((len(y), 1), float(given), dtype=y.dtype, device=y.device)
        return self.second.log_prob(y, ctx)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, 2)`` samples by ancestral sampling: :math:`x_a` first, then :math:`x_b` given it."""
        positive_int("n", n)
        p = next(self.parameters())
        xa = self.first.sample(p.new_zeros(n, 0), generator)
        xb = self.second.sample(xa.unsqueeze(-1), generator)
        a, b = self.order
        out = p.new_zeros(n, 2)
        out[:, a], out[:, b] = xa, xb
        return out


class Parabola:
    r"""A 2D density whose natural order is easy and whose reverse order is not.

    :math:`x_1 \sim \mathcal N(0, 1)`, :math:`x_2 \mid x_1 \sim \mathcal N(a x_1^2 - c, s^2)`: in the
    order :math:`x_1 \to x_2` both factors are single Gaussians; in the order :math:`x_2 \to x_1`
    the conditional :math:`p(x_1 \mid x_2)` has two modes :math:`\pm\sqrt{(x_2 + c)/a}`.
    """

    def __init__(self, a: float = 0.8, c: float = 1.2, s: float = 0.15):
        self.a, self.c, self.s = in_range("a", a), in_range("c", c), positive("s", s)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``(...)`` exact log-density of ``x (..., 2)``."""
        event_2d("x", x)
        x1, x2 = x[..., 0], x[..., 1]
        mean = self.a * x1**2 - self.c
        return (-0.5 * x1**2 - 0.5 * ((x2 - mean) / self.s) ** 2 - math.log(self.s) - _LOG_2PI)

    def sample(self, shape, generator: torch.Generator | None = None, dtype=torch.float64, device=None) -> torch.Tensor:
        r"""``shape + (2,)`` draws: :math:`x_1` first, then :math:`x_2 \mid x_1`."""
        shape = torch.Size(shape)
        z = noise(shape + (2,), torch.empty(0, dtype=dtype, device=device), generator)
        x1 = z[..., 0]
        return torch.stack([x1, self.a * x1**2 - self.c + self.s * z[..., 1]], -1)


# ------------------------------------------------------------------ binary images, pixel by pixel
class BarsImages:
    r"""Binary ``side x side`` images of bars: with probability ½ each row is on or off independently
    (horizontal bars), otherwise each column (vertical bars); each bar on with probability ½.

    Pixels are flattened in raster order to vectors of ``D = side**2``. The exact log-probability
    is :math:`\log\big(\tfrac12 2^{-\text{side}}[\text{x is horizontal}] + \tfrac12 2^{-\text{side}}[\text{x is vertical}]\big)`.
    """

    def __init__(self, side: int = 6):
        self.side = positive_int("side", side, minimum=2)
        self.dim = side * side

    def sample(self, n: int, generator: torch.Generator | None = None, dtype=torch.float32, device=None) -> torch.Tensor:
        """``(n, D)`` binary images, in ``dtype`` on ``device``."""
        s, like = self.side, torch.empty(0, dtype=dtype, device=device)
        positive_int("n", n)
        on = (uniform((n, s, 1), like, generator) < 0.5).to(dtype).expand(n, s, s)
        vertical = uniform((n, 1, 1), like, generator) < 0.5
        img = torch.where(vertical, on.transpose(1, 2), on)
        return img.reshape(n, s * s).contiguous()

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` exact log-probabilities of images ``x (N, D)`` (``-inf`` for a non-bars image)."""
        validate("x", x, ndim=2, last_dim=self.dim)
        img = x.reshape(-1, self.side, self.side)
        horizontal = (img == img[:, :, :1]).all(-1).all(-1)
        vertical = (img == img[:, :1, :]).all(-1).all(-1)
        count = horizontal.to(x.dtype) + vertical.to(x.dtype)
        return torch.log(count) - math.log(2) - self.side * math.log(2)

    def support(self, dtype=torch.float64, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Every image of positive probability, ``(M, D)`` in ``dtype`` on ``device``, and its probability
        ``(M,)``: each of the :math:`2^{\text{side}}` on/off patterns laid out as rows and as columns, the
        all-off and all-on images counted once (:math:`M = 2^{\text{side}+1} - 2`)."""
        s = self.side
        bits = (torch.arange(2 ** s, device=device)[:, None] >> torch.arange(s, device=device)) & 1
        rows = bits[:, :, None].expand(-1, s, s)
        images = torch.cat([rows, rows.transpose(1, 2)]).reshape(-1, s * s).unique(dim=0).to(dtype)
        return images, self.log_prob(images).exp()

    def entropy(self) -> float:
        """Exact entropy in nats (the all-off and all-on images are both horizontal and vertical)."""
        s, n = self.side, 2 ** self.side
        p_common, p_other = 2 * 0.5 / n, 0.5 / n  # all-off / all-on; every other pattern
        return -(2 * p_common * math.log(p_common) + 2 * (n - 2) * p_other * math.log(p_other))


def made_masks(dim: int, hidden: int, layers: int = 2) -> list[torch.Tensor]:
    r"""MADE's connectivity masks for the raster order :math:`1, \dots, D`.

    Input unit :math:`d` has degree :math:`d`; hidden units get degrees :math:`m \in \{1, \dots, D-1\}`
    (cycled); a hidden unit may see units of degree :math:`\le m`, output :math:`d` may see hidden
    units of degree :math:`< d`. So output :math:`d` depends on :math:`x_{<d}` only.

    Returns:
        ``layers + 1`` masks, shaped like the weights ``(out, in)``.

    Book: ``eq-ar-made-mask``.
    """
    positive_int("dim", dim, minimum=2)
    positive_int("hidden", hidden)
    positive_int("layers", layers)
    degrees = [torch.arange(1, dim + 1)]
    degrees += [torch.arange(hidden) % (dim - 1) + 1 for _ in range(layers)]
    masks = [(d_out[:, None] >= d_in[None, :]).float() for d_in, d_out in zip(degrees[:-1], degrees[1:])]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask ``(out, in)`` (a buffer)."""

    def __init__(self, mask: torch.Tensor, dtype=None, device=None):
        validate("mask", mask, ndim=2)
        super().__init__(mask.shape[1], mask.shape[0], dtype=dtype, device=device)
        self.register_buffer("mask", mask.to(self.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def masked_mlp(masks: list[torch.Tensor], activation: type[nn.Module], *, dtype=None, device=None) -> nn.Sequential:
    """A MADE network: one :class:`MaskedLinear` per mask of :func:`made_masks`, ``activation()`` between them."""
    mods = []
    for i, mask in enumerate(masks):
        if i:
            mods.append(activation())
        mods.append(MaskedLinear(mask, dtype=dtype, device=device))
    return nn.Sequential(*mods)


class MADE(nn.Module):
    r"""A Bernoulli chain :math:`q(x) = \prod_d q(x_d \mid x_{<d})` whose ``D`` logits come from one masked MLP pass.

    Args:
        dim: number of pixels ``D``.
        hidden: width of each hidden layer.
        layers: hidden layers.

    Book: ``eq-ar-chain``.

    References:
        Germain et al. (2015), "MADE", arXiv:1502.03509.

    Example:
        >>> made = MADE(dim=4, hidden=8)
        >>> x = made.sample(3, torch.Generator().manual_seed(0))  # 4 passes, one per pixel
        >>> x.shape, made.log_prob(x).shape
        (torch.Size([3, 4]), torch.Size([3]))
    """

    def __init__(self, dim: int, hidden: int = 128, layers: int = 2, dtype=None, device=None):
        super().__init__()
        self.net = masked_mlp(made_masks(dim, hidden, layers), nn.ReLU, dtype=dtype, device=device)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(N, D)`` logits: entry ``d`` is the logit of :math:`q(x_d = 1 \mid x_{<d})`."""
        validate("x", x, ndim=2, last_dim=self.dim)
        return self.net(x)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` exact log-probabilities of binary ``x (N, D)``: all conditionals in one pass (teacher forcing)."""
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction="none").sum(-1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, greedy: bool = False) -> torch.Tensor:
        """``(n, D)`` samples, one pixel per pass: ``D`` forward passes in all.

        With ``greedy=True`` each pixel takes its more probable value instead of a random one
        (greedy decoding): every row is then the same image, which is not a sample of ``q``.
        """
        positive_int("n", n)
        w = self.net[0].weight
        x = w.new_zeros(n, self.dim)
        for d in range(self.dim):
            p = torch.sigmoid(self(x)[:, d])
            u = torch.full_like(p, 0.5) if greedy else uniform(n, w, generator)
            x[:, d] = (u < p).to(w.dtype)
        return x


class FactorizedBernoulli(nn.Module):
    r"""Independent pixels :math:`q(x) = \prod_d \mathrm{Bern}(x_d; \sigma(\ell_d))`: sampled in one pass, no coordination."""

    def __init__(self, dim: int, dtype=None, device=None):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(positive_int("dim", dim), dtype=dtype, device=device))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` log-probabilities of binary ``x (N, D)``."""
        validate("x", x, ndim=2, last_dim=len(self.logits))
        return -F.binary_cross_entropy_with_logits(self.logits.expand_as(x), x, reduction="none").sum(-1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, D)`` samples, all pixels at once."""
        p = torch.sigmoid(self.logits).expand(positive_int("n", n), -1)
        u = uniform(p.shape, p, generator)
        return (u < p).to(p.dtype)
