"""Chapter 6's runs: the trained denoiser, the exact one, the variational bound's estimates and sample quality.

Recipes and measurements on :mod:`gencore.diffusion` (no plotting; the figures are in
:mod:`gencore.figures.diffusion`).

Book: ``book/06_diffusion.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import diffusion as D
from .. import metrics
from ..data import GaussianMixture
from ..nn import TimeMLP
from ..quadrature import grid
from ..tensors import noise as draw_noise
from ..tensors import one_of, per_sample, positive, positive_int, validate
from ..train import EMA, History, fit

__all__ = ["EXTENT", "train_denoiser", "optimal_eps", "min_simple_loss", "kl_gaussians", "vlb_terms",
           "vlb_trajectory", "posterior_on_grid", "grid_log_prob", "smoothed_kl", "kl_smoothed",
           "Quality", "quality", "ddim_runs"]

EXTENT = (-3.2, 3.2, -2.2, 2.2)  # the plotting (and KL quadrature) box for "moons"


# ---- the trained and the exact denoiser ---------------------------------------------------------
def train_denoiser(data, schedule: D.NoiseSchedule, *, stages=((2e-3, 1500), (5e-4, 500)), batch: int = 2048,
                   decay: float = 0.995, hidden: int = 128, generator: torch.Generator | None = None,
                   progress: bool = True, device=None):
    """Algorithm 1 with Adam and an EMA of the weights; returns ``(ema_model, model, history)``.

    ``stages`` is a sequence of ``(learning rate, steps)``, run one after the other (a step decay
    of the learning rate); the EMA runs through all of them. The network is a
    :class:`~gencore.nn.TimeMLP` trained in float32 whatever ``data``'s dtype (its minibatches are
    cast) on ``device`` (the CPU when ``None``; minibatches are moved there); ``generator`` draws
    its initial weights, the minibatches, the times and the noise.
    """
    g = generator
    model = TimeMLP(hidden=hidden, time_scale=schedule.T, generator=g, dtype=torch.float32, device=device)
    ema = EMA(model, decay)
    hist = History()
    where = model.freqs.device

    def loss(step):
        x0 = data.sample((batch,), generator=g).to(device=where, dtype=torch.float32)
        return D.simple_loss(model, schedule, x0, generator=g)

    for lr, steps in stages:
        h = fit(loss, model, steps, lr=lr, ema=ema, progress=progress, desc=f"Algorithm 1, lr {lr:g}")
        hist.loss += h.loss
        hist.seconds += h.seconds
    return ema.module.eval(), model, hist


def optimal_eps(schedule: D.NoiseSchedule, data, xt: torch.Tensor, t) -> torch.Tensor:
    r"""The exact denoiser (the minimizer of the simple loss), :math:`\epsilon^*(x_t, t) = \mathbb E[\epsilon \mid x_t] = -\sqrt{1-\bar\alpha_t}\,\nabla\log q(x_t)`.

    Closed form for mixture data (see :func:`gencore.diffusion.marginal`): with responsibilities :math:`r_k(x_t)`
    of the components of :math:`q(x_t)`,
    :math:`\epsilon^* = \sqrt{1-\bar\alpha_t}\sum_k r_k (x_t - \sqrt{\bar\alpha_t}\mu_k)/v_k`,
    :math:`v_k = \bar\alpha_t s_k^2 + 1 - \bar\alpha_t`.

    Args:
        xt: ``(N, 2)``; t: int or ``(N,)`` integers in ``{1, ..., T}``.

    Book: ``eq-ddpm-optimal-eps``.
    """
    validate("xt", xt, ndim=2, last_dim=2)
    t = D.check_steps("t", t, schedule.T, n=len(xt))
    means, log_w, var = (v.to(xt) for v in D.mixture_parts(data))
    ab = per_sample(schedule.alpha_bars[t], xt)  # () or (N, 1)
    v = ab * var + (1 - ab)  # (K,) or (N, K)
    diff = xt.unsqueeze(-2) - ab.sqrt().unsqueeze(-1) * means  # (N, K, 2)
    logits = log_w - 0.5 * diff.pow(2).sum(-1) / v - torch.log(v)  # 2D: log det = 2 log sqrt(v)
    r = torch.softmax(logits, -1)
    return (1 - ab).sqrt() * ((r / v).unsqueeze(-1) * diff).sum(-2)


def _optimal_eps_by_products(schedule: D.NoiseSchedule, data, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r""":func:`optimal_eps` for per-sample ``t`` (``(N,)``) written with matrix products.

    :math:`\|x - a\mu_k\|^2 = \|x\|^2 - 2a\,x\cdot\mu_k + a^2\|\mu_k\|^2` and
    :math:`\sum_k \frac{r_k}{v_k}(x - a\mu_k) = x\sum_k \frac{r_k}{v_k} - a \sum_k \frac{r_k}{v_k}\mu_k`
    avoid the ``(N, K, 2)`` differences: twice as fast, and equal to :func:`optimal_eps` to
    ~1e-14 in float64 (the cancellations it adds are harmless there; use it in float64 only).
    """
    means, log_w, var = (v.to(xt) for v in D.mixture_parts(data))
    ab = schedule.alpha_bars[t].to(xt)[:, None]  # (N, 1)
    a, v = ab.sqrt(), ab * var + (1 - ab)  # (N, 1), (N, K)
    sq = (xt * xt).sum(-1, keepdim=True) - 2 * a * (xt @ means.T) + ab * (means * means).sum(-1)  # (N, K)
    r = torch.softmax(log_w - 0.5 * sq / v - torch.log(v), -1) / v  # r_k / v_k
    return (1 - ab).sqrt() * (xt * r.sum(-1, keepdim=True) - a * (r @ means))


@torch.no_grad()
def min_simple_loss(data, schedule: D.NoiseSchedule, n: int = 100_000, generator=None, chunk: int = 4096) -> float:
    r"""Monte Carlo estimate of :math:`\mathbb E\|\epsilon - \epsilon^*(x_t, t)\|^2`, the lowest simple loss any model can reach.

    :math:`\epsilon^*` (:func:`optimal_eps`, in float64, written with matrix products) runs on
    ``chunk`` points at a time, whose intermediates stay in cache.
    """
    x0 = data.sample((n,), generator=generator).double()
    t = torch.randint(1, schedule.T + 1, (n,), generator=generator)
    eps = draw_noise(x0.shape, x0, generator)
    xt = D.q_sample(schedule, x0, t, eps)
    err = [(e - _optimal_eps_by_products(schedule, data, x, tt)).pow(2).sum(-1)
           for e, x, tt in zip(eps.split(chunk), xt.split(chunk), t.split(chunk))]
    return torch.cat(err).mean().item()


def _at_times(model: D.EpsModel, ts, n: int, device) -> list:
    """``model(x, t)`` at each fixed ``t`` of ``ts`` for ``n`` rows: through ``model.at_times`` when the model
    has it (:meth:`gencore.nn.TimeMLP.at_times`: the time terms computed once), else by calling it."""
    at_times = getattr(model, "at_times", None)
    if callable(at_times):
        return at_times(list(ts))
    return [lambda x, t=t: model(x, torch.full((n,), t, device=device)) for t in ts]


# ---- the variational bound, estimated --------------------------------------------------------------
def _sigma2(schedule: D.NoiseSchedule, variance: str) -> torch.Tensor:
    one_of("variance", variance, ("beta_tilde", "beta"))
    return schedule.beta_tildes if variance == "beta_tilde" else schedule.betas


def kl_gaussians(mean1, var1, mean2, var2) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(m_1, v_1 I)\,\|\,\mathcal N(m_2, v_2 I))` summed over the last dim.

    Book: ``eq-ddpm-lt-kl``.
    """
    validate("mean1", mean1, min_ndim=1)
    validate("mean2", mean2, min_ndim=1)
    d = mean1.shape[-1]
    v1, v2 = (torch.as_tensor(v).to(mean1).expand(mean1.shape[:-1] + (1,))[..., 0] for v in (var1, var2))
    sq = (mean1 - mean2).pow(2).sum(-1)
    return 0.5 * (d * (v1 / v2 - 1 + torch.log(v2 / v1)) + sq / v2)


def vlb_terms(model: D.EpsModel, schedule: D.NoiseSchedule, x0: torch.Tensor, *, variance: str = "beta_tilde",
              generator: torch.Generator | None = None) -> torch.Tensor:
    r"""One-sample estimates of :math:`L_T, L_{T-1}, \dots, L_1, L_0` for each row of ``x0``.

    :math:`L_T = \mathrm{KL}(q(x_T|x_0)\,\|\,\mathcal N(0, I))`;
    :math:`L_{t-1} = \mathrm{KL}(q(x_{t-1}|x_t,x_0)\,\|\,p_\theta(x_{t-1}|x_t))` at one
    :math:`x_t \sim q(x_t|x_0)` per ``t``; :math:`L_0 = -\log p_\theta(x_0 \mid x_1)` with
    :math:`p_\theta(x_0|x_1) = \mathcal N(\mu_\theta(x_1, 1), \beta_1 I)` (continuous data; the
    choice :math:`\sigma_1^2 = \tilde\beta_1 = 0` would make it infinite).

    Args:
        x0: ``(N, d)`` data.

    Returns:
        ``(N, T + 1)`` in nats: column 0 is :math:`L_0`, column ``t`` is :math:`L_t` (so column
        ``t - 1`` holds :math:`L_{t-1}` and the last column :math:`L_T`); the bound is the row sum.

    Book: ``eq-ddpm-vlb-decomposed``.
    """
    validate("x0", x0, ndim=2)
    s, T, (n, d) = schedule, schedule.T, x0.shape
    out = x0.new_zeros(n, T + 1)
    abT = s.alpha_bars[T].to(x0)
    out[:, T] = kl_gaussians(abT.sqrt() * x0, 1 - abT, torch.zeros_like(x0), x0.new_ones(()))
    eps_model = _at_times(model, range(1, T + 1), n, x0.device)
    for t in range(1, T + 1):
        eps = draw_noise(x0.shape, x0, generator)
        xt = D.q_sample(s, x0, t, eps)
        mu = D.ddpm_step(s, eps_model[t - 1](xt), t, xt, noise=torch.zeros_like(xt))
        if t == 1:
            var = s.betas[1].to(x0)
            out[:, 0] = 0.5 * (x0 - mu).pow(2).sum(-1) / var + 0.5 * d * torch.log(2 * math.pi * var)
        else:
            mean_q, var_q = D.posterior(s, x0, xt, t)
            out[:, t - 1] = kl_gaussians(mean_q, var_q, mu, _sigma2(s, variance)[t].to(x0))
    return out


def vlb_trajectory(model: D.EpsModel, schedule: D.NoiseSchedule, x0: torch.Tensor, *, variance: str = "beta_tilde",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""One-trajectory estimate of the bound in its first form, :math:`-\log p(x_T) - \sum_{t \ge 1} \log\frac{p_\theta(x_{t-1}|x_t)}{q(x_t|x_{t-1})}`.

    Simulates :math:`x_1, \dots, x_T` by the forward chain from each row of ``x0``. The
    reverse model is :math:`p_\theta(x_{t-1}|x_t) = \mathcal N(\mu_\theta(x_t, t), \sigma_t^2 I)` for
    :math:`t \ge 2` and :math:`\mathcal N(\mu_\theta(x_1, 1), \beta_1 I)` for :math:`t = 1`, as in
    :func:`vlb_terms`, whose row sums have the same expectation (and a far smaller variance).

    Args:
        x0: ``(N, d)`` data.

    Returns:
        ``(N,)`` in nats.

    Book: ``eq-ddpm-vlb``.
    """
    validate("x0", x0, ndim=2)
    s, (n, d) = schedule, x0.shape
    sig2 = _sigma2(s, variance).clone()
    sig2[1] = s.betas[1]

    def log_normal(x, mean, var):
        var = torch.as_tensor(var).to(x)
        return -0.5 * (x - mean).pow(2).sum(-1) / var - 0.5 * d * torch.log(2 * math.pi * var)

    total, x = torch.zeros(n, dtype=x0.dtype, device=x0.device), x0
    eps_model = _at_times(model, range(1, s.T + 1), n, x0.device)
    for t in range(1, s.T + 1):
        eps = draw_noise(x0.shape, x0, generator)
        x_next = D.q_step(s, x, t, eps)
        mu = D.ddpm_step(s, eps_model[t - 1](x_next), t, x_next, noise=torch.zeros_like(x))
        total += log_normal(x_next, s.alphas[t].sqrt().to(x0) * x, s.betas[t]) - log_normal(x, mu, sig2[t])
        x = x_next
    return total - log_normal(x, torch.zeros_like(x), 1.0)


def posterior_on_grid(schedule: D.NoiseSchedule, x0: torch.Tensor, xt: torch.Tensor, t: int,
                      half_width: float = 6.0, resolution: int = 201) -> tuple[float, float]:
    r"""Bayes' rule :math:`q(x_t|x_{t-1})q(x_{t-1}|x_0)/q(x_t|x_0)` on a grid of :math:`x_{t-1}` against
    :func:`gencore.diffusion.posterior`; returns ``(max |log difference|, total mass on the grid)``.

    ``x0`` and ``xt`` have shape ``(1, 2)``; the grid spans ``half_width`` posterior standard
    deviations around the posterior mean.

    Book: ``eq-ddpm-posterior``.
    """
    validate("x0", x0, ndim=2, last_dim=2)
    t = int(D.check_steps("t", t, schedule.T, n=1))
    positive("half_width", half_width)
    positive_int("resolution", resolution, minimum=2)
    mean, var = D.posterior(schedule, x0, xt, t)
    sd = var.sqrt().item()
    c = mean[0].tolist()
    box = (c[0] - half_width * sd, c[0] + half_width * sd, c[1] - half_width * sd, c[1] + half_width * sd)
    prev, area = grid(box, resolution, dtype=x0.dtype)

    def log_n(x, m, v):
        return -0.5 * (x - m).pow(2).sum(-1) / v - torch.log(2 * math.pi * v)

    s = schedule
    bayes = (log_n(xt, s.alphas[t].sqrt() * prev, s.betas[t])
             + log_n(prev, s.alpha_bars[t - 1].sqrt() * x0, 1 - s.alpha_bars[t - 1])
             - log_n(xt, s.alpha_bars[t].sqrt() * x0, 1 - s.alpha_bars[t]))
    closed = log_n(prev, mean, var)
    return (bayes - closed).abs().max().item(), (bayes.exp().sum() * area).item()


# ---- densities on a grid, and sample quality ------------------------------------------------------
def _gaussians_on_grid(xs: torch.Tensor, ys: torch.Tensor, means: torch.Tensor, log_w: torch.Tensor,
                       var) -> torch.Tensor:
    r""":math:`\log \sum_k w_k\, \mathcal N((x_j, y_i);\, m_k, v_k I)` at every point of the grid ``ys x xs``.

    The Gaussian factorizes over the two coordinates, so the sum over ``k`` at all ``I x J`` points
    is one ``(I, K) @ (K, J)`` product of per-coordinate factors (each shifted by its row's
    maximum, so nothing overflows), instead of ``I J K`` evaluations of the 2D density. The few
    points where that product underflows (far from every component) are summed exactly with a
    ``logsumexp``. Everything in float64.

    Args:
        xs ``(J,)``, ys ``(I,)``: the grid's x and y values; means ``(K, 2)``; log_w ``(K,)``
        (log weights, not necessarily normalized); var: a scalar or ``(K,)`` variances.

    Returns:
        ``(I, J)``: row ``i`` is ``ys[i]``, column ``j`` is ``xs[j]`` (``imshow(origin="lower")``'s layout).
    """
    xs, ys, means, log_w = (v.double() for v in (xs, ys, means, log_w))
    var = torch.as_tensor(var, dtype=torch.float64, device=means.device).expand(len(means))
    lx = -(xs[:, None] - means[:, 0]) ** 2 / (2 * var)  # (J, K)
    ly = log_w - torch.log(2 * math.pi * var) - (ys[:, None] - means[:, 1]) ** 2 / (2 * var)  # (I, K)
    mx, my = lx.max(1, keepdim=True).values, ly.max(1, keepdim=True).values
    total = (ly - my).exp() @ (lx - mx).exp().T  # (I, J), each term <= 1
    out = my + mx.T + total.log()
    low = total < 1e-280  # underflowing: sum these points exactly
    if bool(low.any()):
        i, j = low.nonzero(as_tuple=True)
        out[i, j] = torch.logsumexp(ly[i] + lx[j], -1)
    return out


def grid_log_prob(mixture: GaussianMixture, extent=EXTENT, resolution: int = 128) -> torch.Tensor:
    r"""The log-density of a Gaussian mixture on the midpoint grid of :func:`gencore.quadrature.grid`, exactly.

    The same numbers as ``mixture.log_prob`` at the grid's points (to float64 rounding), for
    a fraction of the cost: the components factorize over the coordinates (see
    :func:`_gaussians_on_grid`). Returns float64 of shape ``(resolution, resolution)`` (row =
    y, column = x; ``.reshape(-1)`` orders it like the grid's points).
    """
    pts, _ = grid(extent, resolution, dtype=torch.float64, device=mixture.means.device)
    cells = pts.reshape(resolution, resolution, 2)
    w = mixture.weights.double()
    return _gaussians_on_grid(cells[0, :, 0], cells[:, 0, 1], mixture.means, torch.log(w), mixture.std.double() ** 2)


def smoothed_kl(data, bandwidth: float = 0.1, extent=EXTENT, resolution: int = 128):
    r"""The function ``samples -> KL(p * N_h || KDE_h(samples))`` of :func:`kl_smoothed`, with the smoothed
    data density on the grid computed once (a quality table evaluates it dozens of times).

    Both densities are mixtures of Gaussians (the kernel density estimate has one component per
    sample), evaluated on the grid by :func:`_gaussians_on_grid`: the same numbers as
    ``metrics.kl_on_grid(p_h.log_prob, metrics.kde_log_prob(samples, h), ...)``, about a hundred
    times faster.
    """
    p_h = D.diffused_mixture(data, 1.0, extra_var=bandwidth**2)
    lp = grid_log_prob(p_h, extent, resolution).reshape(-1)
    w = torch.softmax(lp, 0)  # cells have equal areas: the renormalized masses of p * N_h
    pts, _ = grid(extent, resolution, dtype=torch.float64, device=lp.device)
    cells = pts.reshape(resolution, resolution, 2)
    xs, ys = cells[0, :, 0], cells[:, 0, 1]
    h2 = float(positive("bandwidth", bandwidth)) ** 2

    def kl(samples: torch.Tensor) -> float:
        validate("samples", samples, ndim=2, last_dim=2)
        x = samples.detach().to(device=lp.device, dtype=torch.float64)  # where the data's density is
        lq = _gaussians_on_grid(xs, ys, x, x.new_full((len(x),), -math.log(len(x))), h2).reshape(-1)
        return (w * (lp - lq)).sum().item()

    return kl


def kl_smoothed(data, samples: torch.Tensor, bandwidth: float = 0.1, extent=EXTENT, resolution: int = 128) -> float:
    r""":math:`\mathrm{KL}(p * \mathcal N_h \,\|\, \mathrm{KDE}_h)` by grid quadrature: the data smoothed by the
    kernel of width :math:`h`, exactly, against the kernel density estimate of the samples.

    The same midpoint rule as :func:`gencore.metrics.kl_on_grid` (p's cell masses renormalized
    over the box). To evaluate it many times against the same data, use :func:`smoothed_kl`.
    """
    return smoothed_kl(data, bandwidth, extent, resolution)(samples)


def _sliced_w2(x: torch.Tensor, y: torch.Tensor, n_projections: int = 256) -> float:
    """:func:`gencore.metrics.sliced_w2` (the book's fixed directions) as a float, the projections sorted by numpy.

    The same number (the same directions, projections and sums; sorting is exact), several times
    faster on a CPU than ``torch.sort`` down the columns: a quality table sorts some sixty
    ``(2000, 512)`` arrays. Other devices, and samples of unequal sizes, go to ``metrics.sliced_w2``.
    """
    if x.device.type != "cpu" or y.device.type != "cpu" or x.shape != y.shape or x.dtype != y.dtype:
        return metrics.sliced_w2(x, y, n_projections).item()
    validate("x", x, ndim=2)
    validate("y", y, ndim=2)
    gen = torch.Generator().manual_seed(metrics.FIXED_PROJECTIONS_SEED)
    theta = draw_noise((n_projections, x.shape[1]), x, gen)
    theta = theta / theta.norm(dim=1, keepdim=True)
    px, py = (torch.from_numpy(np.sort((v.detach() @ theta.T).numpy(), axis=0)) for v in (x, y))  # (N, L) sorted
    return (px - py).pow(2).mean(dim=0).mean().sqrt().item()


@dataclass
class Quality:
    """Sample quality against the number of sampling steps (see :func:`quality`).

    ``floor_sw`` and ``floor_kl`` are :class:`gencore.metrics.Floor`: the value a perfect model
    gets (mean over data-vs-data pairs) with its standard deviation, the noise of the metric.
    """

    steps: list[int]
    sw: dict[str, list[float]]
    kl: dict[str, list[float]]
    samples: dict[str, list[torch.Tensor]]
    floor_sw: metrics.Floor
    floor_kl: metrics.Floor
    n: int

    def value(self, metric: str, sampler: str, steps: int) -> float:
        """The score of ``sampler`` (``"DDPM"`` or ``"DDIM"``) at ``steps`` by ``metric`` (``"sw"`` or ``"kl"``)."""
        return getattr(self, metric)[sampler][self.steps.index(steps)]

    def compare(self, metric: str, a: tuple[str, int], b: tuple[str, int], k: float = 2.0) -> int:
        """``-1`` if run ``a`` scores lower (better) than run ``b`` by more than ``k`` floor sd, ``+1`` if
        higher, ``0`` if the two are within the metric's noise. Runs are ``(sampler, steps)``."""
        floor = self.floor_sw if metric == "sw" else self.floor_kl
        va, vb = self.value(metric, *a), self.value(metric, *b)
        return 0 if not floor.separates(va, vb, k) else (-1 if va < vb else 1)

    def verdict(self, metric: str, a: tuple[str, int], b: tuple[str, int]) -> str:
        """:meth:`compare` in words, for the prose: "lower than", "higher than" or "within the noise of"."""
        return {-1: "lower than", 0: "within the noise of", 1: "higher than"}[self.compare(metric, a, b)]


def quality(model, data, schedule: D.NoiseSchedule, steps=(10, 20, 50, 100, 1000), n: int = 2000,
            n_projections: int = 512, ddpm_full: torch.Tensor | None = None,
            xT: torch.Tensor | None = None, repeats: int = 20, generator: torch.Generator | None = None) -> Quality:
    """DDPM (``eta = 1`` on the sub-sequence; ``steps = T`` is Algorithm 2) and DDIM (``eta = 0``).

    Every run starts from the same ``x_T`` (``xT``, ``(n, 2)``, or drawn here). Sliced W2
    (:func:`gencore.metrics.sliced_w2`, the book's fixed ``n_projections`` directions) compares
    each run with one fresh data sample of size ``n``; :func:`kl_smoothed` needs none. The floors
    are :func:`gencore.metrics.floor_spread` of the same metrics over ``repeats`` pairs of
    independent data samples of size ``n`` (mean and standard deviation).
    ``ddpm_full``: ``n`` samples of Algorithm 2 already drawn from the same ``xT``, used for DDPM
    at ``steps = T`` (it saves 1000 network evaluations). ``generator`` draws the data samples
    (the reference and the floors' pairs), ``x_T`` when it is not given and the samplers' noise.
    """
    gen = generator
    ref = data.sample((n,), generator=gen)
    if xT is None:
        xT = draw_noise((n, 2), ref, gen)
    if ddpm_full is not None and ddpm_full.shape != xT.shape:
        raise ValueError(f"ddpm_full must have the shape of xT {tuple(xT.shape)}; got {tuple(ddpm_full.shape)}")

    def sw(a, b):
        return _sliced_w2(a, b, n_projections)

    kl_h = smoothed_kl(data)
    sw_, kl, keep = {"DDPM": [], "DDIM": []}, {"DDPM": [], "DDIM": []}, {"DDPM": [], "DDIM": []}
    for name, eta in (("DDPM", 1.0), ("DDIM", 0.0)):
        for s in steps:
            full = s == schedule.T and eta == 1.0
            x = (ddpm_full if full and ddpm_full is not None else
                 D.sample(model, schedule, xT, steps=None if full else s, eta=eta, generator=gen))
            keep[name].append(x)
            sw_[name].append(sw(x, ref))
            kl[name].append(kl_h(x))
    draw = lambda k, g: data.sample((k,), generator=g)  # noqa: E731
    floor_sw = metrics.floor_spread(sw, draw, n, repeats, gen)
    floor_kl = metrics.floor_spread(lambda a, b: kl_h(a), draw, n, repeats, gen)
    return Quality(list(steps), sw_, kl, keep, floor_sw, floor_kl, n)


@torch.no_grad()
def ddim_runs(model, data, schedule: D.NoiseSchedule, etas=(0.0, 0.5, 1.0), steps=(5, 10, 20, 50),
              n: int = 2000, generator: torch.Generator | None = None):
    """DDIM with each ``eta`` and step count from one fixed :math:`x_T`, with sliced W2
    (:func:`gencore.metrics.sliced_w2`) to a data sample.

    ``generator`` draws the data sample, :math:`x_T` and the noise of the runs with ``eta > 0``.
    Returns ``(runs, ref)``: ``runs[eta, steps] = (samples (n, 2), sliced W2)`` and the data sample ``ref``.
    """
    gen = generator
    ref = data.sample((n,), generator=gen)
    xT = draw_noise((n, 2), ref, gen)
    runs = {}
    for eta in etas:
        for s in steps:
            x = D.sample(model, schedule, xT, steps=s, eta=eta, generator=gen)
            runs[eta, s] = (x, _sliced_w2(x, ref))
    return runs, ref
