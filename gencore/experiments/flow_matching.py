"""Chapter 9's runs: flow-matching and guidance recipes, exact-velocity checks and sampler tables.

Recipes and measurements on :mod:`gencore.flow_matching` (no plotting; the figures are in
:mod:`gencore.figures.flow_matching`).

Book: ``book/09_flow_matching.ipynb``.
"""
from __future__ import annotations

import copy
import math

import torch

from .. import diffusion as D
from .. import flow_matching as F
from .. import flow_straight as FS
from .. import metrics
from ..data import GaussianMixture
from ..nn import TimeMLP, build
from ..tensors import noise, rng_device, uniform
from ..train import EMA, History, fit

__all__ = ["velocity_net", "guidance_mixture", "sample_labeled", "train_velocity", "train_conditional",
           "train_classifier", "cfm_gradient_check", "ddim_table", "nfe_table", "path_solver_table",
           "guidance_stats", "exact_guidance_errors", "cfg_sweep", "mean_stats", "true_class_stats", "gallery_sampler",
           "eps_velocity", "trained_path_solver", "reflow", "reflow_budget"]


def velocity_net(hidden: int = 64, layers: int = 3, n_classes: int = 0, dim: int = 2, *,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
                 device=None) -> TimeMLP:
    r"""The chapter's :math:`v_\theta(x, t, y)`: :class:`gencore.nn.TimeMLP` with time in [0, 1] (8 frequencies up to 30).

    Weights of ``dtype`` (float32 unless asked, whatever torch's default dtype) on ``device`` (the
    CPU when ``None``), drawn from ``generator``; with a generator, building the net leaves torch's
    global generator as it was.
    """
    return TimeMLP(dim, hidden, layers, n_freq=8, max_freq=30.0, time_scale=1.0, n_classes=n_classes,
                   generator=generator, dtype=dtype, device=device)


def guidance_mixture(k: int = 4, radius: float = 1.5, std: float = 0.5, dtype=torch.float64,
                     device=None) -> GaussianMixture:
    """``k`` equal Gaussians of width ``std`` on a circle of ``radius``: each component a class, neighbours overlapping.

    Its parameters and samples live on ``device`` (the CPU when ``None``).
    """
    angle = 2 * math.pi * torch.arange(k, dtype=dtype) / k + math.pi / 4
    return GaussianMixture(radius * torch.stack([angle.cos(), angle.sin()], -1), std, dtype=dtype, device=device)


def sample_labeled(mix: GaussianMixture, n: int, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x (n, 2), y (n,))``: points of ``mix`` and the component each came from, on ``mix``'s device.

    Drawn on ``generator``'s device (the CPU when ``None``), then moved: the same numbers on every device.
    """
    on = rng_device(generator, "cpu")
    y = torch.multinomial(mix.weights.to(on, torch.float64), n, replacement=True, generator=generator)
    x = mix.means.to(on)[y] + mix.std.to(on) * torch.randn(n, 2, generator=generator, dtype=mix.means.dtype, device=on)
    return x.to(mix.means), y.to(mix.means.device)


def _train(model, loss, steps, lr, decay, progress, desc):
    ema = EMA(model, decay)
    hist = History()
    for i, (rate, n) in enumerate(_stages(steps, lr)):
        h = fit(loss, model, n, lr=rate, ema=ema, progress=progress, desc=f"{desc}, lr {rate:g}")
        hist.loss += h.loss
        hist.seconds += h.seconds
    return ema.module.eval(), model, hist


def _stages(steps, lr):
    return steps if isinstance(steps, (tuple, list)) else ((lr, steps),)


def _device_of(data, device) -> torch.device:
    """``device``, else where ``data``'s samples live (an empty sample: no random numbers drawn)."""
    return torch.device(device) if device is not None else data.sample((0,)).device


def train_velocity(data, steps=1500, *, batch: int = 1024, hidden: int = 64, lr: float = 3e-3, decay: float = 0.99,
                   generator: torch.Generator | None = None, progress: bool = True, device=None):
    """Conditional flow matching on ``data`` (a distribution); returns ``(ema_model, model, history)``.

    ``steps`` is an int or a sequence of ``(learning rate, steps)`` stages. ``generator`` draws the
    initial weights, the data batches, the noise and the times (float32 network), on its own
    device; the network trains on ``device`` (where ``data``'s samples live when ``None``).
    """
    g = generator
    where = _device_of(data, device)
    model = velocity_net(hidden=hidden, generator=g, dtype=torch.float32, device=where)
    return _train(model, lambda s: F.cfm_loss(model, data.sample((batch,), generator=g).to(where, torch.float32),
                                              generator=g), steps, lr, decay, progress, "flow matching")


def train_conditional(mix: GaussianMixture, steps=1500, *, batch: int = 1024, hidden: int = 64, p_uncond: float = 0.2,
                      lr: float = 3e-3, decay: float = 0.99, generator: torch.Generator | None = None,
                      progress: bool = True):
    """A class-conditional velocity trained with label dropout: with probability ``p_uncond`` the label is
    replaced by "no class", so one network is both :math:`v(x, t, y)` and :math:`v(x, t, \\varnothing)`.

    ``generator`` draws the initial weights, the labeled batches, the dropout and the noise (float32 network);
    the network trains on ``mix``'s device.
    """
    g = generator
    k = len(mix.means)
    model = velocity_net(hidden=hidden, n_classes=k, generator=g, dtype=torch.float32, device=mix.means.device)

    def loss(step):
        x1, y = sample_labeled(mix, batch, g)
        x1 = x1.float()
        y = torch.where(uniform((batch,), x1, g) < p_uncond, k, y)
        return F.cfm_loss(lambda x, t: model(x, t, y), x1, generator=g)
    return _train(model, loss, steps, lr, decay, progress, "conditional flow matching")


def train_classifier(mix: GaussianMixture, steps: int = 600, *, batch: int = 1024, lr: float = 3e-3,
                     generator: torch.Generator | None = None, progress: bool = True):
    """A noisy classifier :math:`p_\\phi(y \\mid x_t, t)` trained by cross-entropy on points of the straight path.

    ``generator`` draws the initial weights, the labeled batches, the times and the noise (float32 network);
    the classifier trains on ``mix``'s device.
    """
    g = generator
    clf = build(lambda: F.Classifier(len(mix.means)).float(), g).to(mix.means.device)

    def loss(step):
        x1, y = sample_labeled(mix, batch, g)
        t = uniform((batch,), x1.double(), g)
        xt, _ = F.conditional_path(noise((batch, 2), x1.double(), g), x1, t)
        return torch.nn.functional.cross_entropy(clf(xt.float(), t.float()), y)
    h = fit(loss, clf, steps, lr=lr, progress=progress, desc="noisy classifier")
    return clf.eval(), h


def cfm_gradient_check(mix: GaussianMixture, n: int = 200_000, hidden: int = 16, *,
                       generator: torch.Generator | None = None) -> dict:
    """Gradients of the marginal FM loss (exact marginal velocity) and of the CFM loss, on the same samples.

    Returns ``{"fm": grad, "cfm": grad, "rel_diff": ..., "rel_se": ..., "loss_gap": [...]}``: ``rel_se`` is the
    Monte Carlo standard error of the difference relative to the gradient's norm; ``loss_gap`` is
    ``L_CFM - L_FM`` at three parameter settings (constant in the parameters, up to Monte Carlo error).
    ``generator`` draws the samples and then the float64 network's weights.
    """
    g = generator
    x1, _ = sample_labeled(mix, n, g)
    x0 = noise((n, 2), x1, g)
    t = uniform((n,), x1, g)
    xt, ut = F.conditional_path(x0, x1, t)
    u_marg = F.mixture_velocity(xt, mix.means, mix.std, mix.weights, F.ot_coefficients(t))
    model = velocity_net(hidden=hidden, layers=2, generator=g, dtype=torch.float64, device=x1.device)
    params = list(model.parameters())

    def grad(target):
        loss = (model(xt, t) - target).pow(2).sum(-1).mean()
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])

    g_fm, g_cfm = grad(u_marg), grad(ut)
    # per-sample difference of the two integrands' gradients is 2 (u_marg - ut) . dv/dtheta; its spread
    # over 64 sub-batches gives the Monte Carlo standard error of g_cfm - g_fm
    parts = []
    for idx in torch.arange(n, device=x1.device).chunk(64):
        d = 2 * ((u_marg - ut)[idx] * model(xt[idx], t[idx])).sum(-1).mean()
        parts.append(torch.cat([g.flatten() for g in torch.autograd.grad(d, params)]))
    parts = torch.stack(parts)
    se = parts.std(0).norm() / math.sqrt(len(parts))
    gaps = []
    with torch.no_grad():
        for factor in (1.0, 1.5, 1 / 3):  # theta, 1.5 theta, 0.5 theta
            for p in params:
                p.mul_(factor)
            v = model(xt, t)
            gaps.append(((v - ut).pow(2).sum(-1).mean() - (v - u_marg).pow(2).sum(-1).mean()).item())
    return dict(fm=g_fm, cfm=g_cfm, rel_diff=((g_cfm - g_fm).norm() / g_fm.norm()).item(),
                rel_se=(se / g_fm.norm()).item(), loss_gap=gaps)


def ddim_table(eps_model, schedule, xT: torch.Tensor, ref: torch.Tensor, steps=(5, 10, 20, 50),
               n_projections: int = 256) -> list[tuple[str, int, float]]:
    """``[(name, NFE, sliced W2)]`` for chapter 6's deterministic DDIM (eta = 0) from ``xT`` (NFE = steps).

    The sliced W2 is :func:`gencore.metrics.sliced_w2` in float64 (the book's fixed directions).
    """
    model = lambda x, t: eps_model(x.float(), t).to(x)
    return [(f"DDIM, {n} steps", n, _sw2(D.sample(model, schedule, xT, steps=n, eta=0.0), ref, n_projections))
            for n in steps]


def _sw2(x: torch.Tensor, ref: torch.Tensor, n_projections: int) -> float:
    return metrics.sliced_w2(x.double(), ref.double(), n_projections).item()


def nfe_table(model, x0: torch.Tensor, ref: torch.Tensor, runs,
              n_projections: int = 256) -> list[tuple[str, int, float]]:
    """``[(name, NFE, sliced W2)]`` for flow-matching samplers ``runs`` = ``[(method, n_steps, rtol)]`` from ``x0``.

    The sliced W2 is :func:`gencore.metrics.sliced_w2` in float64, as in :func:`ddim_table`.
    """
    rows = []
    for method, n, tol in runs:
        with torch.no_grad():
            kw = dict(rtol=tol, atol=tol) if method == "rk45" else {}
            x, nfe = F.sample_ode(lambda x, t: model(x.float(), t.float()).to(x), x0, n, method, return_nfe=True, **kw)
        name = f"FM {method}" + (f" (tol {tol:g})" if method == "rk45" else f", {n} steps")
        rows.append((name, nfe, _sw2(x, ref, n_projections)))
    return rows


def path_solver_table(mix: GaussianMixture, nfes=(4, 8, 16, 32), n: int = 1000, *,
                      generator: torch.Generator | None = None) -> list[tuple]:
    """Path and solver apart: the exact marginal velocity of ``mix`` on the straight and the VP path,
    each integrated by Euler and by the midpoint rule at the same numbers of evaluations.

    No network is involved, so the only error is the solver's. Returns
    ``[(path, method, NFE, error)]`` with ``error`` the mean distance between where the solver
    takes each of ``n`` noise points (drawn from ``generator``) and where a tight adaptive solve
    (tolerance 1e-8) takes it.
    """
    x0 = noise((n, 2), mix.means, generator)
    args = (mix.means, mix.std, mix.weights)
    rows = []
    for path, coef in (("straight", F.ot_coefficients), ("VP", F.vp_path_coefficients)):
        v = lambda x, t, coef=coef: F.mixture_velocity(x, *args, coef(t))
        exact = F.sample_ode(v, x0, 16, "rk45", rtol=1e-8, atol=1e-8)
        for method, per_step in (("euler", 1), ("midpoint", 2)):
            for nfe in nfes:
                x = F.sample_ode(v, x0, nfe // per_step, method)
                rows.append((path, method, nfe, (x - exact).norm(dim=-1).mean().item()))
    return rows


def guidance_stats(x: torch.Tensor, y: int, mix: GaussianMixture) -> tuple[float, float]:
    """``(fidelity, spread)`` of samples ``x`` meant for class ``y``: the fraction whose most probable class
    under the true mixture is ``y``, and the RMS distance of the samples to their own mean."""
    logits = -0.5 * (x.unsqueeze(1) - mix.means.to(x)).pow(2).sum(-1)
    fid = (logits.argmax(1) == y).double().mean().item()
    spread = (x - x.mean(0)).pow(2).sum(-1).mean().sqrt().item()
    return fid, spread


def exact_guidance_errors(mix: GaussianMixture, y: int = 1, ts=(0.2, 0.5, 0.9), n: int = 300, *,
                          generator: torch.Generator | None = None):
    """Max |classifier-guided velocity - exact class-``y`` velocity| at each ``t``, with exact parts.

    The unconditional velocity is :func:`F.mixture_velocity`, the classifier the exact posterior
    :math:`r_y(x)`, and the reference the component's own linear field; ``gamma = 1``. The ``n``
    test points are ``2 N(0, I)``, drawn from ``generator``.
    """
    x = 2 * noise((n, 2), mix.means, generator)
    args = (mix.means, mix.std, mix.weights)
    v_u = lambda z, t: F.mixture_velocity(z, *args, F.ot_coefficients(t))
    log_r = lambda z, t: F.mixture_velocity(z, *args, F.ot_coefficients(t), return_posterior=True)[1][:, y].log()
    errs = {}
    for t in ts:
        tt = torch.full((n,), t, dtype=x.dtype, device=x.device)
        guided = F.classifier_guided_velocity(v_u, log_r, 1.0, t_min=1e-3)(x, tt)
        exact = F.gaussian_path_velocity(x, mix.means[y], mix.std, F.ot_coefficients(tt))
        errs[t] = (guided - exact).abs().max().item()
    return errs


def cfg_sweep(model, mix: GaussianMixture, x0: torch.Tensor, ws, n_steps: int = 16):
    """Classifier-free guided samples for every weight in ``ws`` and class, from the same noise ``x0``.

    Returns ``(samples, stats)``: ``samples[w][y]`` ``(N, 2)`` and ``stats[w][y] = (fidelity, spread)``
    (16 midpoint steps).
    """
    samples, stats = {}, {}
    with torch.no_grad():
        for w in ws:
            samples[w] = {y: F.sample_ode(F.cfg_velocity(model, y, w), x0, n_steps, "midpoint")
                          for y in range(len(mix.means))}
            stats[w] = {y: guidance_stats(x.double(), y, mix) for y, x in samples[w].items()}
    return samples, stats


def mean_stats(stats: dict) -> tuple[float, float]:
    """Average ``(fidelity, spread)`` over the classes of one entry of :func:`cfg_sweep`'s stats."""
    return tuple(sum(s[i] for s in stats.values()) / len(stats) for i in (0, 1))


def true_class_stats(mix: GaussianMixture, n: int = 20_000, generator=None) -> tuple[float, float]:
    """``(fidelity, spread)`` of the true classes, averaged over classes, from ``n`` labeled data points."""
    x, y = sample_labeled(mix, n, generator)
    return mean_stats({k: guidance_stats(x[y == k], k, mix) for k in range(len(mix.means))})


def gallery_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 9 for chapter 0's gallery: flow matching on ``train`` ``(N, 2)``, sampled with the midpoint rule.

    800 steps on minibatches of up to 1024 points with a 3x64 MLP (float32), 16 midpoint steps (32
    evaluations); returns ``(n, 2)`` in ``train``'s dtype and device. ``generator`` draws everything:
    the initial weights, the batches, the training noise and the starting noise; nothing comes
    from torch's global generator.
    """
    g = generator
    data = train.detach().float()
    model = velocity_net(hidden=64, generator=g, dtype=torch.float32).to(data.device)
    ema = EMA(model, 0.98)
    batch = min(1024, len(data))

    def loss(step):
        idx = torch.randint(len(data), (batch,), generator=g, device=rng_device(g, data)).to(data.device)
        return F.cfm_loss(model, data[idx], generator=g)
    fit(loss, model, 800, lr=4e-3, ema=ema, progress=False)
    x0 = torch.randn(n, 2, generator=g, dtype=train.dtype, device=rng_device(g, data)).to(data)
    with torch.no_grad():
        x = F.sample_ode(ema.module.eval(), x0, 16, "midpoint")
    return x.to(device=train.device, dtype=train.dtype)


# ---- path and solver with trained networks; reflow -------------------------------------------
def eps_velocity(eps_model, T: int = 1000):
    """Chapter 6's trained noise predictor ``eps_model(x, tau)`` (float32) as a VP-path velocity ``v(x, t)``
    (:func:`gencore.flow_straight.vp_velocity`; the schedule is chapter 6's linear one with ``T`` steps)."""
    eps = lambda x, tau: eps_model(x.float(), tau.float()).to(x)
    return lambda x, t: FS.vp_velocity(eps, x, t, T)


def trained_path_solver(velocities: dict, x0: torch.Tensor, ref: torch.Tensor, nfes=(4, 8, 16, 32),
                        methods=("euler", "midpoint"), n_straight: int = 32, n_projections: int = 256):
    """Each trained velocity of ``velocities`` (``{path name: v(x, t)}``) integrated from ``x0`` by each of
    ``methods`` (Euler, the midpoint rule) at the same numbers of evaluations ``nfes``.

    Returns ``(rows, straight)``: ``rows = [(path, method, NFE, sliced W2 to ref)]`` and
    ``straight = {path: mean straightness}`` (:func:`gencore.flow_straight.straightness`, ``n_straight``
    midpoint steps). The solvers run in float64 on ``x0``'s device, without gradients; a network
    (an ``nn.Module``) is called in float32.
    """
    rows, straight = [], {}
    x0 = x0.double()
    with torch.no_grad():
        for path, v in velocities.items():
            if isinstance(v, torch.nn.Module):
                v = lambda x, t, net=v: net(x.float(), t.float()).to(x)
            straight[path] = FS.straightness(v, x0, n_straight)[1].mean().item()
            for method in methods:
                for nfe in nfes:
                    x = F.sample_ode(v, x0, max(nfe // (1 if method == "euler" else 2), 1), method)
                    rows.append((path, method, nfe, _sw2(x, ref, n_projections)))
    return rows, straight


def reflow(model, n_pairs: int = 10_000, steps=((1e-3, 300),), *, batch: int = 512, n_steps: int = 32,
           decay: float = 0.98, generator: torch.Generator | None = None, progress: bool = False, device=None):
    """Reflow (Liu et al. 2023): pair ``n_pairs`` noise points with where ``model``'s ODE takes them
    (``n_steps`` midpoint steps), then train a copy of ``model`` on those fixed pairs with
    :func:`gencore.flow_straight.pair_cfm_loss`.

    Returns ``(ema_model, model, history, (x0, x1))``. The copy starts from ``model``'s weights
    (warm start, as the paper does). ``generator`` draws the noise, the minibatches and the times.
    """
    g = generator
    where = torch.device(device) if device is not None else next(model.parameters()).device
    x0 = torch.randn(n_pairs, 2, generator=g, device=rng_device(g, where)).to(where)
    with torch.no_grad():
        x1 = F.sample_ode(model, x0, n_steps, "midpoint")
    student = copy.deepcopy(model).train()
    for p in student.parameters():
        p.requires_grad_(True)

    def loss(step):
        idx = torch.randint(n_pairs, (batch,), generator=g, device=rng_device(g, where)).to(where)
        return FS.pair_cfm_loss(student, x0[idx], x1[idx], generator=g)
    ema_model, student, hist = _train(student, loss, steps, 1e-3, decay, progress, "reflow")
    return ema_model, student, hist, (x0, x1)


def reflow_budget(model, data, pairs, n: int = 20_000, n_straight: int = 32,
                  generator: torch.Generator | None = None) -> dict:
    r"""The terms of ``eq-fm-reflow-cost`` for a trained straight-path ``model`` and its ODE's ``pairs``.

    ``cost_independent`` is :math:`\mathbb E\|x_1 - x_0\|^2` over ``n`` independent (noise, data) pairs,
    ``cost_flow`` the same over ``pairs = (z0, z1)``, ``cfm_loss`` the model's CFM loss on ``n`` fresh
    data points (it estimates :math:`L^*` from above) and ``S`` its straightness from ``z0``. With the exact
    field, ``cost_independent - cost_flow = cfm_loss + S``. ``generator`` draws the data, noise and times.
    """
    g = generator
    z0, z1 = pairs
    x1 = data.sample((n,), generator=g).to(z0)
    x0 = noise(x1.shape, x1, g)
    with torch.no_grad():
        loss = F.cfm_loss(model, x1, generator=g).item()
        s = FS.straightness(model, z0, n_straight)[1].mean().item()
    return dict(cost_independent=(x1 - x0).pow(2).sum(-1).mean().item(),
                cost_flow=(z1 - z0).pow(2).sum(-1).mean().item(), cfm_loss=loss, S=s)
