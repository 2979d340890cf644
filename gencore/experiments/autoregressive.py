"""Chapter 10's runs (autoregressive models): the fitted 2D models, their exact NLL tables, MADE on bars images
and its sampling time.

Book: ``book/10_autoregressive.ipynb``. The figures of these runs are in ``gencore.figures.autoregressive``.
Every recipe draws its randomness (initial weights, data, samples) from its ``generator`` argument
(torch's global generator when ``None``); nothing here seeds.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch

from .. import ar_flow, decoding, flows
from .. import autoregressive as A
from .. import data
from .. import masked_conv as M
from .. import metrics
from ..nn import build
from ..quadrature import grid_log_prob
from ..tensors import positive_int, rng_device
from ..train import History, fit

__all__ = ["EXTENT", "BOX", "PARABOLA_EXTENT", "STAGES", "SHORT_STAGES", "ARRun", "fit_ar", "train_moons", "NLLReport",
           "nll_report", "nll_reports", "true_conditional", "bins_runs", "ordering_runs", "ordering_table", "BarsRun", "train_bars", "exact_nll",
           "pixelcnn_visible", "PixelCNNRun", "train_pixelcnns",
           "bars_samples", "count_passes", "sampling_times", "gallery_sampler",
           "receptive_fields", "decoding_table", "ar_flow_check"]

EXTENT = data.make("moons").box  # plotting and quadrature box for "moons" (every chapter's)
BOX = (-3.5, 3.5)  # the bins of a discretized conditional cover this interval
PARABOLA_EXTENT = (-3.0, 3.0, -2.0, 4.0)
STAGES = ((2e-2, 180), (5e-3, 80))  # (learning rate, full-batch Adam steps): the main model's
SHORT_STAGES = ((3e-2, 100), (5e-3, 60))  # the binned and the ordering models'


@dataclass
class ARRun:
    """A fitted :class:`~gencore.autoregressive.AR2D` (float32), its float64 copy and its history."""

    model: A.AR2D
    history: History
    snapshots: list

    @property
    def model64(self) -> A.AR2D:
        return copy.deepcopy(self.model).double()


def fit_ar(x: torch.Tensor, *, order=(0, 1), kind: str = "mdn", components: int = 8, bins: int = 32,
           hidden: int = 32, steps=600, lr: float = 1e-2, generator: torch.Generator | None = None,
           snapshot_every: int = 0, progress: bool = True, desc: str | None = None) -> ARRun:
    """Exact maximum likelihood, full batch: minimize ``-mean log q(x)`` over the training set ``x (N, 2)``.

    ``steps`` is an int (Adam steps at ``lr``) or a sequence of ``(learning rate, steps)`` stages
    run one after the other (a step decay; each stage starts a fresh Adam). Trains in float32
    whatever ``x``'s dtype. With ``snapshot_every > 0`` keeps float64 copies of the model every
    that many steps of each stage (for a training-snapshot slider), numbered by the step overall.
    The initial weights come from ``generator``; the model lives on ``x``'s device.
    """
    x = x.float()
    model = build(lambda: A.AR2D(order, kind=kind, components=components, bins=bins, box=BOX, hidden=hidden,
                                 dtype=torch.float32, device=x.device), generator)
    stages = steps if isinstance(steps, (tuple, list)) else ((lr, steps),)
    hist, done = History(), 0
    for rate, n in stages:
        h = fit(lambda step: -model.log_prob(x).mean(), model, n, lr=rate, progress=progress,
                snapshot_fn=(lambda step: copy.deepcopy(model).double()) if snapshot_every else None,
                snapshot_every=max(snapshot_every, 1), desc=(desc or f"AR {kind}, order {order}") + (f", lr {rate:g}" if len(stages) > 1 else ""))
        hist.loss += h.loss
        hist.seconds += h.seconds
        hist.snapshots += [(done + step, m) for step, m in h.snapshots if not (done and step == 0)]
        done += n
    return ARRun(model, hist, hist.snapshots)


def train_moons(n_train: int = 2000, n_test: int = 20_000, steps=STAGES, generator: torch.Generator | None = None,
                progress: bool = True, *, device=None, **kw):
    """The chapter's main model: a mixture-density AR model fitted to ``n_train`` samples of "moons".

    ``steps``: :func:`fit_ar`'s (by default 260 full-batch Adam steps, the learning rate divided
    by 4 after the first 180). Draws the training and test sets, then the initial weights, from
    ``generator`` (the same numbers on every device); the data and the model live on ``device``
    (the CPU when ``None``). Returns ``(run, p, x_train, x_test)``.
    """
    p = data.make("moons", dtype=torch.float64, device=device)
    x_train, x_test = p.sample((n_train,), generator=generator), p.sample((n_test,), generator=generator)
    run = fit_ar(x_train, steps=steps, generator=generator, progress=progress,
                 desc="AR model (MDN), maximum likelihood", **kw)
    return run, p, x_train, x_test


@dataclass(frozen=True)
class NLLReport:
    """Exact quality of a fitted density on "moons" (nats)."""

    entropy: float
    cross_entropy: float
    test_nll: float
    test_nll_se: float

    @property
    def kl(self) -> float:
        return self.cross_entropy - self.entropy

    def text(self) -> str:
        return (f"data entropy H(p)            = {self.entropy:.4f} nats  (quadrature)\n"
                f"model cross-entropy H(p, q)  = {self.cross_entropy:.4f} nats  (quadrature: exact expected NLL)\n"
                f"test NLL (Monte Carlo)       = {self.test_nll:.4f} ± {self.test_nll_se:.4f} nats\n"
                f"gap KL(p‖q) = H(p, q) − H(p) = {self.kl:.4f} nats")


def nll_report(model: A.AR2D, p, x_test: torch.Tensor, extent=EXTENT, resolution: int = 300) -> NLLReport:
    """Entropy and cross-entropy by quadrature (float64, on ``x_test``'s device) and the Monte Carlo test NLL."""
    return nll_reports({0: model}, p, x_test, extent, resolution)[0]


def nll_reports(models: dict, p, x_test: torch.Tensor, extent=EXTENT, resolution: int = 300) -> dict:
    r""":func:`nll_report` of each model of ``{key: model}``, with ``p``'s density on the grid evaluated once.

    The numbers are :func:`gencore.metrics.entropy_on_grid` and
    :func:`~gencore.metrics.cross_entropy_on_grid`'s: with ``w`` p's cell masses renormalized over
    the box, :math:`H(p) = -\sum_i w_i \log p(c_i)` and :math:`H(p, q) = -\sum_i w_i \log q(c_i)`
    (a cell with ``w_i = 0`` adds 0). Those functions evaluate ``p`` anew on every call, and for
    "moons" that costs more than the model.
    """
    device = x_test.device  # the models' device: the quadrature runs there
    _, lp, _ = grid_log_prob(p.log_prob, extent, resolution, dtype=torch.float64, device=device)
    w = (lp - torch.logsumexp(lp, 0)).exp()

    def expect(f):
        return torch.where(w > 0, w * f, torch.zeros_like(w)).sum().item()
    H = -expect(lp)
    out = {}
    for key, model in models.items():
        m64 = copy.deepcopy(model).double()
        _, lq, _ = grid_log_prob(m64.log_prob, extent, resolution, dtype=torch.float64, device=device)
        with torch.no_grad():
            nll = -m64.log_prob(x_test.double())
        out[key] = NLLReport(H, -expect(lq), nll.mean().item(), (nll.std() / math.sqrt(len(nll))).item())
    return out


def true_conditional(p, x1: float, ys: torch.Tensor) -> torch.Tensor:
    r""":math:`p(x_2 \mid x_1)` on the evenly spaced 1D grid ``ys (M,)``, normalized numerically along the line."""
    pts = torch.stack([torch.full_like(ys, x1), ys], -1)
    lp = p.log_prob(pts)
    dy = (ys[1] - ys[0]).item()
    return (lp - torch.logsumexp(lp, 0) - math.log(dy)).exp()


def bins_runs(x_train: torch.Tensor, bins=(8, 16, 32, 64), steps=SHORT_STAGES, generator: torch.Generator | None = None,
              progress: bool = True) -> dict[int, ARRun]:
    """One discretized AR model per number of bins, each fitted by maximum likelihood (initialized in turn from ``generator``).

    ``steps``: :func:`fit_ar`'s (by default 160 full-batch Adam steps, the learning rate divided by 6 after 100).
    """
    return {B: fit_ar(x_train, kind="bins", bins=B, steps=steps, generator=generator, progress=progress,
                      desc=f"AR model, {B} bins") for B in bins}


def ordering_runs(n_train: int = 2000, components=(1, 5), steps=SHORT_STAGES, generator: torch.Generator | None = None,
                  progress: bool = True, *, device=None):
    """MDN AR models on :class:`~gencore.autoregressive.Parabola` for both orders and each ``K``.

    ``steps`` as in :func:`bins_runs`. Data, then each model's initial weights, from ``generator``;
    data and models on ``device`` (the CPU when ``None``). Returns ``(runs, p, x_test)`` with
    ``runs[(order, K)]``.
    """
    p = A.Parabola()
    x_train = p.sample((n_train,), generator=generator, device=device)
    x_test = p.sample((20_000,), generator=generator, device=device)
    runs = {(order, K): fit_ar(x_train, order=order, components=K, steps=steps, generator=generator, progress=progress,
                               desc=f"order {order}, K = {K}")
            for order in ((0, 1), (1, 0)) for K in components}
    return runs, p, x_test


def ordering_table(runs, p, x_test, extent=PARABOLA_EXTENT, resolution: int = 300) -> dict:
    """Exact KL(p‖q) (quadrature, on ``x_test``'s device) and test NLL of each ordering run; ``{(order, K): (kl, nll)}``."""
    device = x_test.device
    H = metrics.entropy_on_grid(p.log_prob, extent, resolution, device=device).item()
    out = {}
    for key, run in runs.items():
        m = run.model64
        CE = metrics.cross_entropy_on_grid(p.log_prob, m.log_prob, extent, resolution, device=device).item()
        with torch.no_grad():
            nll = -m.log_prob(x_test).mean().item()
        out[key] = (CE - H, nll)
    return out


@dataclass
class BarsRun:
    """MADE and the independent-pixel model fitted to bars images, with their test NLLs (nats)."""

    data: A.BarsImages
    made: A.MADE
    factorized: A.FactorizedBernoulli
    x_test: torch.Tensor
    nll_made: float
    nll_factorized: float
    x_train: torch.Tensor


def _fit_minibatches(model, x: torch.Tensor, steps, batch: int, generator, progress: bool, desc: str) -> None:
    """Maximum likelihood with teacher forcing: Adam on minibatches of ``batch`` rows of ``x`` drawn from
    ``generator``, ``steps`` a sequence of ``(learning rate, steps)`` stages (each a fresh Adam)."""
    def loss(step):
        idx = torch.randint(len(x), (batch,), generator=generator, device=rng_device(generator, x)).to(x.device)
        return -model.log_prob(x[idx]).mean()
    for lr, n in steps:
        fit(loss, model, n, lr=lr, progress=progress, desc=f"{desc}, lr {lr:g}")


def train_bars(side: int = 6, n_train: int = 2000, steps=((1e-2, 300), (2e-3, 100)), batch: int = 250,
               hidden: int = 128, generator: torch.Generator | None = None, progress: bool = True, *,
               device=None) -> BarsRun:
    """MADE and an independent-pixel model, both fitted by maximum likelihood to bars images.

    MADE: Adam on minibatches of ``batch`` training images, ``steps`` a sequence of ``(learning
    rate, steps)`` stages; the independent-pixel model: 200 full-batch steps. The data, then
    MADE's weights, then its minibatches come from ``generator``; images and models live on
    ``device`` (the CPU when ``None``).
    """
    d = A.BarsImages(side)
    x, x_test = d.sample(n_train, generator, device=device), d.sample(5000, generator, device=device)
    made = build(lambda: A.MADE(d.dim, hidden, dtype=torch.float32, device=device), generator)
    fac = A.FactorizedBernoulli(d.dim, dtype=torch.float32, device=device)

    _fit_minibatches(made, x, steps, batch, generator, progress, "MADE (teacher forcing)")
    fit(lambda s: -fac.log_prob(x).mean(), fac, 200, lr=5e-2, progress=progress, desc="independent pixels")
    with torch.no_grad():
        return BarsRun(d, made, fac, x_test, -made.log_prob(x_test).mean().item(), -fac.log_prob(x_test).mean().item(), x)


def exact_nll(model, data: A.BarsImages) -> float:
    r"""The expected NLL :math:`\mathbb E_p[-\log q(x)] = -\sum_x p(x) \log q(x)` of ``model`` (any module with
    ``log_prob``) under the bars distribution ``data``, summed over the data's support: exact, no test sample."""
    w = next(model.parameters())
    images, probs = data.support(w.dtype, w.device)
    with torch.no_grad():
        return -(probs * model.log_prob(images)).sum().item()


def pixelcnn_visible(side: int, depth: int, kernel: int = 3) -> torch.Tensor:
    """``(D, D)`` booleans: row ``i`` marks the pixels that pixel ``i``'s logit reads after ``depth`` masked layers
    (:func:`gencore.masked_conv.reachable`)."""
    return torch.stack([M.reachable(side, i, depth, kernel).flatten() for i in range(side * side)])


@dataclass
class PixelCNNRun:
    """PixelCNNs of several depths fitted to a :class:`BarsRun`'s training images, scored exactly.

    ``floors[L]``: :func:`~gencore.masked_conv.context_floor` of an ``L``-layer PixelCNN minus :math:`H(p)`
    (nats), for ``L = 1 .. max_depth``; ``gaps[L]``: the trained ``L``-layer model's exact NLL minus
    :math:`H(p)`; ``made_gap``: the same for the run's MADE, whose floor is :math:`H(p)` itself."""

    models: dict
    floors: dict
    gaps: dict
    made_gap: float


def train_pixelcnns(bars: BarsRun, depths=(2, 3, 5), channels: int = 16, steps=((1e-2, 300), (2e-3, 75)),
                    batch: int = 250, max_depth: int = 8, generator: torch.Generator | None = None,
                    progress: bool = True) -> PixelCNNRun:
    """A :class:`~gencore.masked_conv.PixelCNN` of each depth in ``depths`` (``channels`` wide), fitted by
    maximum likelihood to ``bars.x_train`` as MADE was (Adam on minibatches of ``batch``, ``steps`` a
    sequence of ``(learning rate, steps)`` stages), on the training images' device. Weights, then
    minibatches, come from ``generator``, depth by depth."""
    x, data = bars.x_train, bars.data
    side = data.side
    for depth in depths:
        positive_int("depths", depth)
    positive_int("max_depth", max_depth, minimum=max(depths))
    H = data.entropy()
    support, probs = data.support(device=x.device)
    floors = {L: M.context_floor(support, probs, pixelcnn_visible(side, L)) - H for L in range(1, max_depth + 1)}
    models, gaps = {}, {}
    for depth in depths:
        net = build(lambda: M.PixelCNN(side, channels, depth, dtype=torch.float32, device=x.device), generator)
        _fit_minibatches(net, x, steps, batch, generator, progress, f"PixelCNN, {depth} layers")
        models[depth], gaps[depth] = net, exact_nll(net, data) - H
    return PixelCNNRun(models, floors, gaps, exact_nll(bars.made, data) - H)


def bars_samples(run: BarsRun, n: int = 8, generator: torch.Generator | None = None) -> list:
    """``[(name, (n, D) images)]``: data, MADE samples (D passes), independent-pixel samples (one pass), greedy decoding.

    All on the device of ``run``'s test images."""
    return [("data", run.data.sample(n, generator, device=run.x_test.device)), ("MADE, sampled", run.made.sample(n, generator)),
            ("independent pixels", run.factorized.sample(n, generator)), ("MADE, greedy", run.made.sample(n, greedy=True))]


def count_passes(model: A.MADE, n: int = 4, generator: torch.Generator | None = None) -> int:
    """How many forward passes ``model.sample(n)`` makes (counted with a hook)."""
    count = [0]
    handle = model.register_forward_hook(lambda *a: count.__setitem__(0, count[0] + 1))
    try:
        model.sample(n, generator)
    finally:
        handle.remove()
    return count[0]


def sampling_times(sides=(4, 8, 12, 16, 24), n: int = 64, hidden: int = 128, repeats: int = 2,
                   generator: torch.Generator | None = None):
    """Seconds per batch of ``n`` samples: MADE's ``D``-pass sampler vs one pass of the same net.

    Returns a list of ``(side, D, t_sequential, t_one_pass)``: the best of ``repeats`` runs of
    the sampler and of ``5 * repeats`` single passes (each a fraction of a millisecond, so the
    more noisy), on the CPU (a GPU's asynchronous passes would need timing of their own). The net is :func:`train_bars`' MADE (two hidden layers of ``hidden`` units), its
    weights untrained (drawn from ``generator``): the cost does not depend on them.
    """
    def best(fn, k):
        out = []
        for _ in range(k):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return min(out)

    rows = []
    for s in sides:
        m = build(lambda: A.MADE(s * s, hidden, dtype=torch.float32), generator)
        x = torch.zeros(n, s * s, dtype=torch.float32)
        with torch.no_grad():
            rows.append((s, s * s, best(lambda: m.sample(n, generator), repeats), best(lambda: m(x), 5 * repeats)))
    return rows


def gallery_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 10 for chapter 0's gallery: an MDN autoregressive model fitted to ``train``, sampled.

    Trains in float32 (400 full-batch steps on at most 2000 points, initialized from ``generator``)
    and returns ``(n, 2)`` samples in ``train``'s dtype.
    """
    run = fit_ar(train[:2000], steps=400, generator=generator, progress=False)
    with torch.no_grad():
        return run.model.sample(n, generator).to(train.dtype)


# ---- masked convolutions, decoding, the affine-flow view ----------------------------------------
def receptive_fields(side: int = 9, depths=(1, 2, 3, 4), channels: int = 8, kernel: int = 3,
                     generator: torch.Generator | None = None) -> dict:
    r"""For float64 PixelCNNs with each number of masked layers in ``depths`` (random weights from ``generator``):
    ``{depth: (field, leak)}``, ``field`` the ``(side, side)`` map of inputs the centre pixel's output depends on
    (:func:`gencore.masked_conv.receptive_field`) and ``leak`` the largest :math:`|\partial y_i/\partial x_j|`
    over :math:`j \ge i` in the full autograd Jacobian at a random image (0 when the raster order holds)."""
    g = generator
    out, centre = {}, (side // 2) * side + side // 2
    for depth in depths:
        net = build(lambda: M.PixelCNN(side, channels, depth, kernel, dtype=torch.float64), g)
        x = torch.rand(side * side, generator=g, dtype=torch.float64)
        jac = M.input_jacobian(net, x)
        out[depth] = (M.receptive_field(net, side, centre, x), jac.triu().abs().max().item())
    return out


def decoding_table(lang: decoding.BigramLanguage, strategies: dict, n: int = 2000,
                   generator: torch.Generator | None = None) -> dict:
    r"""For each ``{name: strategy keywords}``: the exact sequence statistics (:meth:`BigramLanguage.exact`)
    and, from ``n`` sampled sequences, ``mean_length_mc``, ``entropy_mc`` (the mean of :math:`-\log q(x)`
    under the strategy's own distribution, an unbiased estimate of its entropy, with its standard error
    ``entropy_mc_se``) and ``distinct`` (the share
    of distinct sequences)."""
    table = {}
    for name, kw in strategies.items():
        seqs = lang.sample(n, generator, **kw)
        row = lang.exact(**kw)
        nll = -lang.log_prob(seqs, **kw)
        row.update(mean_length_mc=sum(map(len, seqs)) / n, entropy_mc=nll.mean().item(),
                   entropy_mc_se=nll.std().item() / math.sqrt(n), distinct=len(set(seqs)) / n)
        table[name] = row
    return table


def ar_flow_check(dim: int = 4, n: int = 6, hidden: int = 16, generator: torch.Generator | None = None) -> dict:
    r"""A small float64 :class:`gencore.ar_flow.GaussianAR` with random weights, read two ways.

    Returns the largest gaps between the chain rule's log-likelihood and chapter 5's change of
    variables with the log-determinant from the full autograd Jacobian (``log_prob_gap``), between
    that log-determinant and :math:`-\sum\log\sigma_i` (``log_det_gap``), the round trip
    noise -> data -> noise (``round_trip``), the largest Jacobian entry above the diagonal
    (``upper``), and the passes each direction takes (``passes``)."""
    g = generator
    ar = build(lambda: ar_flow.GaussianAR(dim, hidden, dtype=torch.float64), g)
    z = torch.randn(n, dim, generator=g, dtype=torch.float64)
    calls = []
    hook = ar.net.register_forward_hook(lambda *a: calls.append(1))
    x = ar.from_noise(z)
    passes_sample = len(calls)
    z_back, log_det = ar.to_noise(x)
    passes_density = len(calls) - passes_sample
    hook.remove()
    log_det_auto = flows.log_abs_det_autograd(ar.to_noise, x)
    flow_lp = -0.5 * z_back.pow(2).sum(-1) - 0.5 * dim * math.log(2 * math.pi) + log_det_auto
    jac = torch.autograd.functional.jacobian(lambda u: ar.to_noise(u[None])[0][0], x[0])
    return dict(log_prob_gap=(ar.log_prob(x) - flow_lp).abs().max().item(),
                log_det_gap=(log_det - log_det_auto).abs().max().item(),
                round_trip=(z_back - z).abs().max().item(), upper=jac.triu(1).abs().max().item(),
                passes=dict(density=passes_density, sampling=passes_sample))
