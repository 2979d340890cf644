r"""Chapter 4: generative adversarial networks and the Jensen--Shannon divergence.

The mathematics of the chapter, in the order the book derives it: the value function
:math:`V(G, D)` by quadrature, the optimal discriminator :math:`D^*` (Proposition 1), the
virtual training criterion :math:`C(G) = -\log 4 + 2\,\mathrm{JSD}` (Theorem 1), the
saturating and non-saturating generator losses and their gradients through the
discriminator's logit (and, by quadrature in 1D, how each loss's gradient behaves far from the
data), and the WGAN-GP critic loss. The trainer that runs several GANs at once is in
:mod:`gencore.experiments.gan`.

Densities are passed as log-density callables mapping ``(N, 2)`` points to ``(N,)``; a
discriminator is a callable mapping ``(N, 2)`` points to probabilities ``(N,)`` in ``[0, 1]``.
Symbols: ``a`` is the discriminator's logit, :math:`D = \sigma(a)`; ``p_data`` the data density,
``p_g`` the generator's.

Book: ``book/04_gan.ipynb``.

References:
    Goodfellow et al. (2014), Generative adversarial nets. NeurIPS.
    Arjovsky, Chintala, Bottou (2017), Wasserstein GAN. ICML.
    Gulrajani et al. (2017), Improved training of Wasserstein GANs. NeurIPS.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch.nn import functional as F

from . import data
from .tensors import event_2d, extent_box, function, in_range, one_of, positive, positive_int, uniform, validate
from .divergences import js_divergence
from .quadrature import grid_log_prob

__all__ = [
    "LOSSES",
    "LogitDiscriminator",
    "from_logit",
    "OptimalDiscriminator",
    "optimal_discriminator",
    "value",
    "jsd_on_grid",
    "nonsaturating_criterion",
    "discriminator_loss",
    "generator_loss",
    "logit_gradient",
    "gradient_penalty",
    "critic_loss",
    "ring_family",
    "shift_gradients",
    "ns_gradient_1d",
]

LogDensity = Callable[[torch.Tensor], torch.Tensor]
LOSSES = ("non-saturating", "saturating", "wgan-gp")


# ------------------------------------------------------------ Proposition 1, Theorem 1
def _log_densities(**fs) -> None:
    for name, f in fs.items():
        function(name, f, "(N, 2) points to (N,) log-densities")


class LogitDiscriminator:
    r"""A discriminator given by its logit :math:`a(x)`: calling it returns :math:`D(x) = \sigma(a(x))`.

    :func:`value` reads ``.logit`` when it exists and takes :math:`\log D = \log\sigma(a)`,
    :math:`\log(1 - D) = \log\sigma(-a)` directly, exact even where :math:`D` rounds to 0 or 1.

    Args:
        logit: maps ``(N, 2)`` points to ``(N,)`` logits.

    Example:
        >>> D = LogitDiscriminator(lambda x: x[:, 0])
        >>> D(torch.tensor([[0.0, 1.0], [100.0, 0.0]]))
        tensor([0.5000, 1.0000])
        >>> D.logit(torch.zeros(3, 2)).shape
        torch.Size([3])
    """

    def __init__(self, logit: Callable[[torch.Tensor], torch.Tensor]):
        self._logit = function("logit", logit, "(N, 2) points to (N,) logits")

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        """The logit at ``x`` ``(N, 2)``, shape ``(N,)``."""
        return self._logit(event_2d("x", x))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logit(x))


def from_logit(logit: Callable[[torch.Tensor], torch.Tensor]) -> LogitDiscriminator:
    r"""The discriminator :math:`D = \sigma(a)` of a logit function ``a``; see :class:`LogitDiscriminator`."""
    return LogitDiscriminator(logit)


class OptimalDiscriminator(LogitDiscriminator):
    r""":math:`D^*(x) = p_{\text{data}}(x) / (p_{\text{data}}(x) + p_g(x))`, computed from log-densities.

    Its logit is :math:`a^*(x) = \log p_{\text{data}}(x) - \log p_g(x)`, so that :math:`D^* = \sigma(a^*)`
    stays exact where one density underflows.

    Book: ``eq-gan-dstar``.
    """

    def __init__(self, log_p_data: LogDensity, log_p_g: LogDensity):
        _log_densities(log_p_data=log_p_data, log_p_g=log_p_g)
        self.log_p_data, self.log_p_g = log_p_data, log_p_g
        super().__init__(lambda x: self.log_p_data(x) - self.log_p_g(x))


def optimal_discriminator(log_p_data: LogDensity, log_p_g: LogDensity) -> OptimalDiscriminator:
    r"""The optimal discriminator for a fixed generator (Proposition 1 of Goodfellow et al., 2014).

    Args:
        log_p_data: log-density of the data, ``(N, 2) -> (N,)``.
        log_p_g: log-density of the generator's distribution, same signature.

    Returns:
        A callable ``D(x)`` with values in ``[0, 1]`` (and a ``.logit(x)`` method).

    Book: ``eq-gan-dstar``.
    """
    return OptimalDiscriminator(log_p_data, log_p_g)


def value(D: Callable[[torch.Tensor], torch.Tensor], log_p_data: LogDensity, log_p_g: LogDensity,
          extent: Sequence[float], resolution: int, *,
          dtype: torch.dtype = torch.float64,
          device: torch.device | str | None = None) -> torch.Tensor:
    r"""The value function :math:`V(G, D) = \int p_{\text{data}} \log D + p_g \log(1 - D)\,dx` by quadrature.

    Midpoint rule on a ``resolution x resolution`` grid over ``extent``; the densities are used
    as they are (not renormalized on the box), so the box must hold nearly all of their mass.
    Cells where a density underflows to 0 contribute 0, whatever ``D`` is there. If ``D`` has a
    ``logit`` method (as :func:`optimal_discriminator`'s result does), the logarithms are taken
    as ``logsigmoid(±logit)``, exact even where ``D`` rounds to 0 or 1.

    Args:
        D: the discriminator, ``(N, 2) -> (N,)`` probabilities in ``[0, 1]``.
        log_p_data, log_p_g: log-densities, ``(N, 2) -> (N,)``.
        extent: the box ``(xmin, xmax, ymin, ymax)``.
        resolution: cells per side (``>= 2``).
        dtype, device: of the grid (float64 by default).

    Returns:
        A scalar tensor of ``dtype``, in nats.

    Book: ``eq-gan-value-integral``.
    """
    function("D", D, "(N, 2) points to (N,) probabilities")
    _log_densities(log_p_data=log_p_data, log_p_g=log_p_g)
    extent_box("extent", extent)
    positive_int("resolution", resolution, minimum=2)
    points, lp, area = grid_log_prob(log_p_data, extent, resolution, dtype=dtype, device=device)
    lq = grid_log_prob(log_p_g, extent, resolution, dtype=dtype, device=device)[1]
    with torch.no_grad():
        if hasattr(D, "logit"):
            a = D.logit(points).to(dtype)
            log_d, log_1md = F.logsigmoid(a), F.logsigmoid(-a)
        else:
            d = D(points).to(dtype)
            if d.shape != lp.shape:
                raise ValueError(f"D must map (N, 2) points to (N,) values; got shape {tuple(d.shape)}")
            if bool(((d < 0) | (d > 1) | torch.isnan(d)).any()):
                raise ValueError("D must return probabilities in [0, 1]")
            log_d, log_1md = torch.log(d), torch.log1p(-d)
    p, q = lp.to(dtype).exp(), lq.to(dtype).exp()
    integrand = (torch.where(p > 0, p * log_d, torch.zeros_like(p))
                 + torch.where(q > 0, q * log_1md, torch.zeros_like(q)))
    return integrand.sum() * area


def jsd_on_grid(log_p: LogDensity, log_q: LogDensity, extent: Sequence[float], resolution: int, *,
                dtype: torch.dtype = torch.float64,
                device: torch.device | str | None = None) -> torch.Tensor:
    r""":math:`\mathrm{JSD}(p, q)` in nats from the two densities' cell masses on a grid.

    Each density's midpoint masses are renormalized to sum to one over the box and passed to
    chapter 1's :func:`gencore.divergences.js_divergence`.

    Args:
        log_p, log_q: log-densities, ``(N, 2) -> (N,)``.
        extent, resolution, dtype, device: the grid, as in :func:`value`.

    Returns:
        A scalar tensor of ``dtype`` between 0 and :math:`\log 2`.

    Book: ``eq-gan-c-jsd``.
    """
    _log_densities(log_p=log_p, log_q=log_q)
    _, lp, _ = grid_log_prob(log_p, extent, resolution, dtype=dtype, device=device)
    _, lq, _ = grid_log_prob(log_q, extent, resolution, dtype=dtype, device=device)
    for name, lv in (("log_p", lp), ("log_q", lq)):
        if lv.device.type != "meta" and not bool(torch.isfinite(torch.logsumexp(lv.to(dtype), 0))):
            raise ValueError(f"{name} must give positive finite mass on the grid over extent={tuple(extent)}")
    return js_divergence(torch.softmax(lp.to(dtype), 0), torch.softmax(lq.to(dtype), 0))


def nonsaturating_criterion(log_p_data: LogDensity, log_p_g: LogDensity, extent: Sequence[float],
                            resolution: int, *,
                            dtype: torch.dtype = torch.float64,
                            device: torch.device | str | None = None) -> torch.Tensor:
    r"""The non-saturating generator loss at the optimal discriminator, :math:`\mathbb{E}_{p_g}[-\log D^*(x)]`.

    Midpoint rule as in :func:`value`. It equals
    :math:`\mathrm{KL}(p_g\|p_{\text{data}}) - \mathrm{KL}(p_g\|m) + \log 2`, with
    :math:`m = \tfrac12(p_{\text{data}} + p_g)`. This is the criterion's *value* at
    :math:`D^*`; the generator's gradient with :math:`D` frozen at :math:`D^*` is that of
    :math:`\mathrm{KL}(p_g\|p_{\text{data}}) - 2\,\mathrm{JSD}` instead (``eq-gan-ns-grad``).

    Book: ``eq-gan-ns-kl``.
    """
    dstar = optimal_discriminator(log_p_data, log_p_g)
    points, lq, area = grid_log_prob(log_p_g, extent, resolution, dtype=dtype, device=device)
    with torch.no_grad():
        log_d = F.logsigmoid(dstar.logit(points).to(dtype))
    q = lq.to(dtype).exp()
    return -torch.where(q > 0, q * log_d, torch.zeros_like(q)).sum() * area


# ------------------------------------------------------------------------------ losses
def _logits(**pair: torch.Tensor) -> torch.Size:
    """Check two batches of logits ``(..., m)``, ``(..., m')`` with the same leading axes; return them."""
    (na, a), (nb, b) = pair.items()
    validate(na, a, min_ndim=1)
    validate(nb, b, min_ndim=1)
    if a.shape[:-1] != b.shape[:-1]:
        raise ValueError(f"{na} and {nb} must share their leading (model) axes; got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return a.shape[:-1]


def discriminator_loss(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    r"""Minus the minibatch value: :math:`-\frac1m\sum_i [\log D(x_i) + \log(1 - D(G(z_i)))]`.

    With :math:`D = \sigma(a)`: :math:`\log\sigma(a) = -\mathrm{softplus}(-a)` and
    :math:`\log(1-\sigma(a)) = -\mathrm{softplus}(a)`, exact for any logit.

    Args:
        logit_real: ``(..., m)`` logits on data; logit_fake: ``(..., m')`` on generated points.

    Returns:
        ``(...)``: the loss, averaged over the last axis (one value per model).

    Book: ``eq-gan-value``.
    """
    _logits(logit_real=logit_real, logit_fake=logit_fake)
    return F.softplus(-logit_real).mean(-1) + F.softplus(logit_fake).mean(-1)


def generator_loss(logit_fake: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    r"""The generator's loss on the logits :math:`a = \text{logit}\,D(G(z))`, averaged over the last axis.

    * ``"saturating"``: :math:`\frac1m\sum_i \log(1 - D(G(z_i))) = -\mathrm{softplus}(a)` (the minimax loss);
    * ``"non-saturating"``: :math:`-\frac1m\sum_i \log D(G(z_i)) = \mathrm{softplus}(-a)`;
    * ``"wgan-gp"``: :math:`-\frac1m\sum_i f(G(z_i))`, with ``logit_fake`` the critic's output ``f``.

    Book: ``eq-gan-ns``.
    """
    validate("logit_fake", logit_fake, min_ndim=1)
    one_of("kind", kind, LOSSES)
    if kind == "saturating":
        return -F.softplus(logit_fake).mean(-1)
    if kind == "non-saturating":
        return F.softplus(-logit_fake).mean(-1)
    return -logit_fake.mean(-1)


def logit_gradient(a: torch.Tensor, kind: str) -> torch.Tensor:
    r"""Derivative of one sample's generator loss with respect to the logit ``a``.

    Saturating: :math:`\partial_a \log(1 - \sigma(a)) = -\sigma(a)`, which vanishes as
    :math:`D(G(z)) = \sigma(a) \to 0`. Non-saturating: :math:`\partial_a[-\log\sigma(a)] =
    -(1 - \sigma(a))`, which tends to :math:`-1` there. Both are negative: descending either
    loss raises the logit.

    Args:
        a: logits, any shape.
        kind: ``"saturating"`` or ``"non-saturating"``.

    Book: ``eq-gan-logit-grad``.
    """
    validate("a", a)
    one_of("kind", kind, LOSSES[:2])
    return -torch.sigmoid(a) if kind == "saturating" else -torch.sigmoid(-a)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""WGAN-GP's penalty :math:`\mathbb{E}_{\hat x}[(\|\nabla_{\hat x} f(\hat x)\| - 1)^2]`.

    :math:`\hat x = u x + (1-u)\tilde x` with :math:`u \sim U(0, 1)` per pair
    of a real point :math:`x` and a generated one :math:`\tilde x`.

    Args:
        critic: maps ``(..., m, 2)`` points to ``(..., m)`` values, each output depending only
            on its own point (true of an MLP applied row-wise).
        real, fake: ``(..., m, 2)``.
        generator: draws :math:`u`.

    Returns:
        ``(...)``: the penalty, averaged over the last sample axis (differentiable).

    Book: ``eq-gan-wgan-gp``.
    """
    function("critic", critic, "(..., m, 2) points to (..., m) values")
    event_2d("real", real)
    event_2d("fake", fake)
    if real.ndim < 2 or real.shape != fake.shape:
        raise ValueError(f"real and fake must be batches (..., m, 2) of one shape; got real "
                         f"{tuple(real.shape)}, fake {tuple(fake.shape)}")
    eps = uniform(real.shape[:-1] + (1,), real, generator)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.norm(dim=-1) - 1) ** 2).mean(-1)


def critic_loss(f_real: torch.Tensor, f_fake: torch.Tensor, penalty: torch.Tensor,
                weight: float = 10.0) -> torch.Tensor:
    r"""WGAN-GP critic loss :math:`\frac1m\sum f(\tilde x) - \frac1m\sum f(x) + \lambda\,\mathrm{GP}`.

    Args:
        f_real, f_fake: ``(..., m)`` and ``(..., m')`` critic values; penalty: ``(...)``, from
            :func:`gradient_penalty`; weight: :math:`\lambda \ge 0`, a number or ``(...)``.

    Book: ``eq-gan-wgan-gp``.
    """
    lead = _logits(f_real=f_real, f_fake=f_fake)
    validate("penalty", penalty)
    if penalty.shape != lead:
        raise ValueError(f"penalty must have shape {tuple(lead)} (one value per model); got {tuple(penalty.shape)}")
    positive("weight", weight, allow_zero=True)
    if isinstance(weight, torch.Tensor):
        weight = weight.to(penalty)
    return f_fake.mean(-1) - f_real.mean(-1) + weight * penalty


# ------------------------------------------------- Theorem 1's test family, saturation in 1D
def ring_family(radius: float, std: float = 0.1):
    """The log-density of a ring of 8 Gaussians with the given radius and standard deviation."""
    positive("radius", radius)
    positive("std", std)
    return data.make("8gaussians", radius=radius, std=std, dtype=torch.float64).log_prob


def shift_gradients(shifts, half_width: float = 14.0, n: int = 28_001):
    r"""Generator gradient :math:`d\,\text{loss}/d\mu` for :math:`p_{\text{data}} = N(0, 1)`,
    :math:`p_g = N(\mu, 1)`, with :math:`D = D^*` held fixed (its logit :math:`a(x) = -\mu x + \mu^2/2`).

    The pathwise gradient through :math:`x = \mu + z`, by autograd, with the expectation over
    :math:`z \sim N(0, 1)` computed by quadrature (``n`` points on :math:`[-w, w]`, normalized
    weights), so even the tiny saturating gradient far from the data is exact to many digits:
    it equals :math:`\mu\,\mathbb E_{p_g}[D^*]`, the non-saturating one
    :math:`\mu\,\mathbb E_{p_g}[1 - D^*]`.

    Args:
        shifts: the shifts :math:`\mu`, ``(K,)`` (a tensor or a sequence of numbers).
        half_width, n: the quadrature grid in :math:`z`.

    Returns ``(saturating, non_saturating)``, each ``(K,)``, on ``shifts``' device.
    """
    shifts = shifts if isinstance(shifts, torch.Tensor) else torch.as_tensor(shifts, dtype=torch.float64)
    validate("shifts", shifts, ndim=1, floating=False)
    positive("half_width", half_width)
    positive_int("n", n, minimum=2)
    z = torch.linspace(-half_width, half_width, n, dtype=torch.float64, device=shifts.device)
    w = torch.softmax(-0.5 * z**2, 0)  # N(0, 1)'s weights on the grid, summing to one
    out = {"saturating": [], "non-saturating": []}
    for mu in shifts:
        def logit(x, mu=float(mu)):  # log N(x; 0, 1) − log N(x; μ, 1), D* frozen at this μ
            return -0.5 * x**2 + 0.5 * (x - mu) ** 2
        for kind in out:
            m = torch.tensor(float(mu), dtype=torch.float64, device=shifts.device, requires_grad=True)
            loss = (w * generator_loss(logit(m + z)[:, None], kind)).sum()  # E_z[loss per sample]
            (grad,) = torch.autograd.grad(loss, m)
            out[kind].append(grad)
    return torch.stack(out["saturating"]), torch.stack(out["non-saturating"])


def ns_gradient_1d(mu: float, half_width: float = 16.0, n: int = 64_001) -> dict:
    r"""The non-saturating generator's gradient in 1D, three ways, for :math:`p_{\text{data}} = N(0, 1)`,
    :math:`p_g = N(\mu, 1)`; all by quadrature on one grid in :math:`x` and autograd in :math:`\mu`.

    * ``frozen``: :math:`\frac{d}{d\mu'}\mathbb E_{N(\mu', 1)}[-\log D^*_\mu(x)]` at :math:`\mu' = \mu`,
      the discriminator frozen at the optimum for :math:`\mu` (what a generator step receives);
    * ``kl_minus_2jsd``: :math:`\frac{d}{d\mu}[\mathrm{KL}(p_g\|p_{\text{data}}) - 2\,\mathrm{JSD}]`
      (``eq-gan-ns-grad``: equal to ``frozen``);
    * ``value``: :math:`\frac{d}{d\mu}\mathbb E_{p_g}[-\log D^*_\mu]` with :math:`D^*` moving with
      :math:`\mu`, i.e. the derivative of ``eq-gan-ns-kl`` (not what the generator receives).

    ``half_width`` and ``n`` set the grid over :math:`[-w, w + \mu]`.
    """
    in_range("mu", mu)
    positive("half_width", half_width)
    positive_int("n", n, minimum=2)
    x = torch.linspace(-half_width, half_width + float(mu), n, dtype=torch.float64)
    dx = (x[1] - x[0]).item()
    log_p = -0.5 * x**2 - 0.5 * math.log(2 * math.pi)

    def log_g(m):
        return -0.5 * (x - m) ** 2 - 0.5 * math.log(2 * math.pi)

    def integral(f):
        return f.sum() * dx

    def grad(fn):
        m = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
        return torch.autograd.grad(fn(m), m)[0].item()

    frozen_logit = log_p - log_g(torch.tensor(float(mu), dtype=torch.float64))  # logit of D*_μ, fixed

    def frozen(m):
        return integral(log_g(m).exp() * F.softplus(-frozen_logit))

    def kl_minus_2jsd(m):
        lg = log_g(m)
        log_mix = torch.logaddexp(log_p, lg) - math.log(2)
        kl = integral(lg.exp() * (lg - log_p))
        jsd = 0.5 * integral(log_p.exp() * (log_p - log_mix)) + 0.5 * integral(lg.exp() * (lg - log_mix))
        return kl - 2 * jsd

    def value(m):
        lg = log_g(m)
        return integral(lg.exp() * F.softplus(-(log_p - lg)))

    return dict(frozen=grad(frozen), kl_minus_2jsd=grad(kl_minus_2jsd), value=grad(value))
