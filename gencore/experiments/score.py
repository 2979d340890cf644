"""Chapter 7's runs (score functions): the mixtures it studies, scans, Langevin runs and the NCSN recipe.

Built on ``gencore.score`` (scores, Fisher divergence, score matching) and ``gencore.mcmc``
(Langevin dynamics); no plotting (the figures are in ``gencore.figures.score``).

Book: ``book/07_score.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import mcmc, metrics
from .. import score as S
from .. import score_sde as Q
from ..data import GaussianMixture
from ..quadrature import grid
from ..tensors import rng_device, uniform
from ..train import EMA, fit

__all__ = ["WEIGHTS", "BOX", "FAR_EXTENT", "NEAR_EXTENT", "two_modes", "far_mixture", "near_mixture",
           "uniform_start", "fisher_vs_kl", "gaussian_family_scan", "sliced_vs_implicit", "dsm_scan",
           "gaussian_langevin_rows", "LangevinRuns", "left_mass", "langevin_runs", "fit_ncsn",
           "score_error_by_density", "share_over_steps", "FlowCheck", "flows_on_gaussian_data", "ring_pitfall",
           "noised_ring"]

WEIGHTS = (0.8, 0.2)  # heavy mode on the left, light mode on the right
BOX = (-8.0, 8.0, -8.0, 8.0)  # the quadrature box of the chapter
FAR_EXTENT = (-6.0, 6.0, -4.0, 4.0)  # plots and uniform starts for the far-apart mixture
NEAR_EXTENT = (-4.0, 4.0, -3.0, 3.0)


def two_modes(separation: float, std: float, weights=WEIGHTS) -> GaussianMixture:
    """Two isotropic Gaussians at ``(∓separation/2, 0)`` with the given weights (float64)."""
    means = torch.tensor([[-separation / 2, 0.0], [separation / 2, 0.0]], dtype=torch.float64)
    return GaussianMixture(means, std, torch.tensor(weights, dtype=torch.float64))


def far_mixture() -> GaussianMixture:
    """The chapter's hard case: 0.8 N((−3, 0), 0.5² I) + 0.2 N((3, 0), 0.5² I)."""
    return two_modes(6.0, 0.5)


def near_mixture() -> GaussianMixture:
    """An easy case for Langevin: 0.8 N((−1.5, 0), 0.75² I) + 0.2 N((1.5, 0), 0.75² I)."""
    return two_modes(3.0, 0.75)


def uniform_start(n: int, extent=FAR_EXTENT, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """``n`` points uniform on the box ``extent``, shape ``(n, 2)``, of ``dtype`` on ``device``."""
    x0, x1, y0, y1 = extent
    u = uniform((n, 2), torch.empty(0, dtype=dtype, device=device), generator)
    return torch.stack([x0 + (x1 - x0) * u[:, 0], y0 + (y1 - y0) * u[:, 1]], -1)


def fisher_vs_kl(separations=None, std: float = 0.5, resolution: int = 250):
    """Fisher divergence and KL between the 0.8/0.2 and the 0.5/0.5 mixture of the same modes.

    Returns ``(separations, fisher, kl)`` (float64 tensors), both by quadrature on ``BOX``.
    """
    seps = torch.linspace(1.0, 7.0, 13, dtype=torch.float64) if separations is None else separations
    fisher, kl = [], []
    for d in seps.tolist():
        p, q = two_modes(d, std), two_modes(d, std, (0.5, 0.5))
        fisher.append(S.fisher_divergence_on_grid(p.log_prob, S.mixture_score(p), S.mixture_score(q),
                                                  BOX, resolution))
        kl.append(metrics.kl_on_grid(p.log_prob, q.log_prob, BOX, resolution))
    return seps, torch.stack(fisher), torch.stack(kl)


def gaussian_family_scan(p: GaussianMixture, shifts: torch.Tensor, variance: float = 1.0,
                         n_samples: int = 20_000, resolution: int = 300, generator=None):
    r"""Hyvärinen's objective and the Fisher divergence for :math:`s_\theta(x) = -(x - (m, 0))/v`.

    For each shift ``m``: ``J`` by quadrature (``weights = p ΔA``), ``J`` by Monte Carlo on
    ``n_samples`` draws of ``p`` (the same draws for every ``m``), and ``D_F`` by quadrature;
    plus the constant :math:`\tfrac12\mathbb E_p\|\nabla\log p\|^2` by quadrature.
    """
    pts, area = grid(BOX, resolution, dtype=torch.float64)
    w = p.log_prob(pts).exp() * area
    score_p = S.mixture_score(p)
    const = 0.5 * (w * (score_p(pts) ** 2).sum(-1)).sum()
    x = p.sample((n_samples,), generator=generator)
    eye = torch.eye(2, dtype=torch.float64)
    ism_grid, ism_mc, fisher = [], [], []
    for m in shifts.tolist():
        s = S.gaussian_score(torch.tensor([m, 0.0], dtype=torch.float64), variance * eye)
        ism_grid.append(S.implicit_score_matching_loss(s, pts, weights=w).detach())
        ism_mc.append(S.implicit_score_matching_loss(s, x).detach())
        fisher.append(S.fisher_divergence_on_grid(p.log_prob, score_p, s, BOX, resolution))
    return torch.stack(ism_grid), torch.stack(ism_mc), torch.stack(fisher), const


def sliced_vs_implicit(score_fn, x: torch.Tensor, repeats: int = 10, n_projections: int = 20,
                       generator=None):
    """``(implicit, sliced mean, its standard error, sliced-VR mean, its standard error)``."""
    ism = S.implicit_score_matching_loss(score_fn, x).item()
    out = []
    for vr in (False, True):
        vals = torch.stack([S.sliced_score_matching_loss(score_fn, x, n_projections, generator,
                                                         variance_reduced=vr).detach()
                            for _ in range(repeats)])
        out += [vals.mean().item(), vals.std().item() / math.sqrt(repeats)]
    return (ism, *out)


def dsm_scan(p: GaussianMixture, sigma: float, shifts: torch.Tensor, variance: float = 1.0,
             n_samples: int = 200_000, resolution: int = 400, generator=None):
    r"""Denoising score matching against the Fisher divergence to the noised data, per shift ``m``.

    Returns ``(dsm, dsm_se, fisher_sigma, constant)``: the Monte Carlo DSM loss (the same
    :math:`(x, \varepsilon)` for every ``m``) with its standard error, :math:`D_F(p_\sigma\|s_\theta)`
    by quadrature, and the predicted gap
    :math:`C(\sigma) = \tfrac12(D/\sigma^2 - \mathbb E_{p_\sigma}\|\nabla\log p_\sigma\|^2)`.
    ``generator`` draws ``x`` and one seed for the noise shared by every ``m``.
    """
    p_sigma = S.noised_mixture(p, sigma)
    score_ps = S.mixture_score(p_sigma)
    pts, area = grid(BOX, resolution, dtype=torch.float64)
    w = p_sigma.log_prob(pts).exp() * area
    constant = 0.5 * (2 / sigma**2 - (w * (score_ps(pts) ** 2).sum(-1)).sum())
    x = p.sample((n_samples,), generator=generator)
    crn = int(torch.randint(2**62, (), generator=generator))  # common random numbers across m
    eye = torch.eye(2, dtype=torch.float64)
    dsm, se, fisher = [], [], []
    for m in shifts.tolist():
        s = S.gaussian_score(torch.tensor([m, 0.0], dtype=torch.float64), variance * eye)
        eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(crn), dtype=x.dtype)
        per = 0.5 * ((s(x + sigma * eps) + eps / sigma) ** 2).sum(-1)
        dsm.append(S.denoising_score_matching_loss(s, x, sigma, torch.Generator().manual_seed(crn)))
        se.append(per.std() / math.sqrt(n_samples))
        fisher.append(S.fisher_divergence_on_grid(p_sigma.log_prob, score_ps, s, BOX, resolution))
    return torch.stack(dsm), torch.stack(se), torch.stack(fisher), constant


def gaussian_langevin_rows(mean, cov, step_sizes, n_steps, n_chains: int = 5000, generator=None):
    """Langevin on N(mean, cov) from the point ``mean + (4, 4)``: per (ε, K), the mean error,
    and the smallest-eigenvalue direction's variance, measured and predicted.

    Returns a list of dicts ``eps, K, mean_err, mean_se, mean_err_pred, var, var_pred, var_true``
    (``mean_se``: the Monte Carlo standard error of the mean's norm).
    """
    g = generator
    score = S.gaussian_score(mean, cov)
    lam, vec = torch.linalg.eigh(cov)
    start = mean + mean.new_tensor([4.0, 4.0])
    rows = []
    for eps in step_sizes:
        x = start.expand(n_chains, 2).clone()
        done = 0
        for K in n_steps:
            x = mcmc.langevin(score, x, eps, K - done, g)
            done = K
            a = 1 - eps / (2 * lam)
            pred_mean = (vec * a**K) @ vec.T @ (start - mean)
            v_small = ((x - x.mean(0)) @ vec[:, 0]).var().item()
            # variance after K steps: a^{2K} * 0 + (1 - a^{2K}) * stationary
            stat = lam[0] / (1 - eps / (4 * lam[0]))
            rows.append(dict(eps=eps, K=K, mean_err=(x.mean(0) - mean).norm().item(),
                             mean_se=math.sqrt(x.var(0).sum().item() / n_chains),
                             mean_err_pred=pred_mean.norm().item(),
                             var=v_small, var_pred=((1 - a[0] ** (2 * K)) * stat).item(), var_true=lam[0].item()))
    return rows


@dataclass(frozen=True)
class LangevinRuns:
    """Langevin chains on one target for several step sizes, saved at several step counts.

    Attributes:
        step_sizes: the ε values; n_steps: the saved K values (increasing, starting at 0).
        samples: ``(len(step_sizes), len(n_steps), N, 2)`` states of all chains.
        paths: ``(len(step_sizes), n_steps[-1] + 1, P, 2)`` full paths of the first P chains.
        share: ``(len(step_sizes), len(n_steps))`` fraction of chains in the heavy (left) mode.
        sw: same shape, sliced W2 between the chains and as many exact samples.
        floor: sliced W2 between two exact samples of that size, as a :class:`gencore.metrics.Floor`
            (mean ± sd over independent pairs: the noise of the ``sw`` column).
        target: the exact probability that ``p`` puts left of ``x₁ = 0`` (what ``share`` estimates).
    """

    step_sizes: tuple
    n_steps: tuple
    samples: torch.Tensor
    paths: torch.Tensor
    share: torch.Tensor
    sw: torch.Tensor
    floor: metrics.Floor
    target: float


def left_mass(mix: GaussianMixture) -> float:
    """The exact probability of ``x₁ < 0`` under an isotropic mixture: ``Σ_k π_k Φ(−μ_k1 / s_k)``."""
    std = mix.std.to(torch.float64).expand(len(mix.weights))
    z = -mix.means[:, 0].double() / std
    return (mix.weights.double() * 0.5 * torch.erfc(-z / math.sqrt(2))).sum().item()


def langevin_runs(mix: GaussianMixture, step_sizes=(0.01, 0.05, 0.2, 1.0),
                  n_steps=(0, 10, 100, 300, 1000), n_chains: int = 500, n_paths: int = 6,
                  extent=NEAR_EXTENT, generator=None, repeats: int = 20, *, device=None) -> LangevinRuns:
    """All step sizes at once (one chain batch with a per-chain ε), started uniformly on ``extent``.

    The chains run on ``device`` (the CPU when ``None``), their starts and noise drawn by
    ``generator`` (the same numbers on every device). The floor of the sliced W2 column is
    :func:`gencore.metrics.floor_spread` over ``repeats`` pairs of exact samples of ``n_chains``
    points, with the same projections as the column.
    """
    g = generator
    E = len(step_sizes)
    x = uniform_start(n_chains, extent, g, device=device).repeat(E, 1)  # the same starts for every ε
    eps = torch.tensor(step_sizes, dtype=torch.float64, device=x.device).repeat_interleave(n_chains)
    score = S.mixture_score(mix)
    saved, paths, done = [], [x.reshape(E, n_chains, 2)[:, :n_paths][None]], 0
    for K in n_steps:
        if K > done:
            x, traj = mcmc.langevin(score, x, eps, K - done, g, return_trajectory=True)
            paths.append(traj[1:].reshape(-1, E, n_chains, 2)[:, :, :n_paths])
            done = K
        saved.append(x.reshape(E, n_chains, 2))
    samples = torch.stack(saved, 1)
    ref = mix.sample((n_chains,), generator=g).to(x.device)

    def sw_fn(a, b):  # the same 256 fixed projections for every comparison
        return metrics.sliced_w2(a, b).item()

    sw = torch.tensor([[sw_fn(samples[i, j], ref) for j in range(len(n_steps))] for i in range(E)], dtype=torch.float64)
    share = (samples[..., 0] < 0).to(torch.float64).mean(-1)
    floor = metrics.floor_spread(sw_fn, lambda n, gg: mix.sample((n,), generator=gg), n_chains, repeats, g)
    return LangevinRuns(tuple(step_sizes), tuple(n_steps), samples, torch.cat(paths).transpose(0, 1),
                        share, sw, floor, left_mass(mix))


def fit_ncsn(data: torch.Tensor, sigmas: torch.Tensor, steps: int = 800, batch: int = 512,
             hidden: int = 64, lr: float = 5e-3, generator=None, progress: bool = True):
    """Train a conditional :class:`~gencore.score.ScoreNet` with the multi-level DSM loss.

    Returns ``(ema_model, history)``; the EMA of the weights (decay 0.99) is used for sampling.
    """
    g = generator  # draws the initial weights, the minibatches, the levels and the noise
    model = S.ScoreNet(data.shape[1], hidden, conditional=True, generator=g, dtype=data.dtype, device=data.device)
    ema = EMA(model, 0.99)

    def loss(step):
        idx = torch.randint(len(data), (batch,), generator=g, device=rng_device(g, data)).to(data.device)
        return S.noise_conditional_dsm_loss(model, data[idx], sigmas, g)

    hist = fit(loss, model, steps, lr=lr, ema=ema, desc="noise-conditional DSM", progress=progress)
    return ema.module.eval(), hist


def score_error_by_density(model, mix: GaussianMixture, sigma: float, extent=FAR_EXTENT, resolution: int = 120):
    """Median ‖s_θ(x, σ) − ∇ log p_σ(x)‖ over grid points where p_σ is high (≥ 1e-2) and low (≤ 1e-6).

    The grid is made on the device of ``model``'s parameters (the CPU for a plain function).
    """
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    device = params[0].device if params else None
    pts, _ = grid(extent, resolution, dtype=torch.float64, device=device)
    p_s = S.noised_mixture(mix, sigma)
    with torch.no_grad():
        err = (model(pts, torch.full((len(pts),), sigma, dtype=pts.dtype, device=pts.device))
               - S.mixture_score(p_s)(pts)).norm(dim=-1)
    dens = p_s.log_prob(pts).exp()
    return err[dens >= 1e-2].median().item(), err[dens <= 1e-6].median().item()


def share_over_steps(score_fn, x0: torch.Tensor, step_size: float, n_steps=(0, 100, 300, 1000, 3000),
                     generator=None) -> list[float]:
    """Fraction of chains left of x₁ = 0 (the heavy mode) after each saved number of Langevin steps."""
    x, done, out = x0, 0, []
    for K in n_steps:
        x = mcmc.langevin(score_fn, x, step_size, K - done, generator)
        done = K
        out.append((x[:, 0] < 0).to(torch.float64).mean().item())
    return out


# ---- the reverse-time SDE and the probability-flow ODE on Gaussian data ---------------------------
@dataclass
class FlowCheck:
    """How well the PF-ODE and the reverse SDE carry the VP SDE's ``p_1`` back to the data law ``N(m, Σ)``.

    ``ode_mean_err``, ``ode_cov_err``: max errors of the ODE's pushforward of ``p_1`` (exact: the ODE
    map is affine for Gaussian data, so three integrated points give it); ``sde_mean_err``,
    ``sde_cov_err``: max errors of the sample mean and covariance of ``n`` reverse-SDE samples;
    ``sde_mean_se``: the Monte Carlo standard error of the sample mean (largest coordinate).
    """

    ode_mean_err: float
    ode_cov_err: float
    sde_mean_err: float
    sde_cov_err: float
    sde_mean_se: float
    n: int


def flows_on_gaussian_data(mean: torch.Tensor, cov: torch.Tensor, *, n: int = 20_000, ode_steps: int = 100,
                           sde_steps: int = 1000, generator=None) -> FlowCheck:
    r"""Start from the exact :math:`p_1` of the VP SDE for data :math:`\mathcal N(m, \Sigma)`, run both reverse dynamics with the exact score to :math:`t = 0`."""
    score = Q.gaussian_score_at(mean, cov)
    m1, c1 = Q.gaussian_marginal(mean, cov, Q.vp_alpha_bar(1.0))
    d = len(mean)
    basis = torch.cat([mean.new_zeros(1, d), torch.eye(d, dtype=mean.dtype, device=mean.device)])
    out = Q.pf_ode(score, basis, 1.0, 0.0, ode_steps)
    A, b = (out[1:] - out[0]).T, out[0]  # x_0 = A x_1 + b
    ode_mean, ode_cov = A @ m1 + b, A @ c1 @ A.T
    x1 = m1 + _gaussian_draws(n, c1, generator)
    x0 = Q.reverse_sde(score, x1, 1.0, 0.0, sde_steps, generator=generator)
    return FlowCheck(float((ode_mean - mean).abs().max()), float((ode_cov - cov).abs().max()),
                     float((x0.mean(0) - mean).abs().max()), float((torch.cov(x0.T) - cov).abs().max()),
                     float((cov.diagonal().max() / n) ** 0.5), n)


def _gaussian_draws(n: int, cov: torch.Tensor, generator=None) -> torch.Tensor:
    """``n`` draws of ``N(0, cov)``, shape ``(n, D)`` (a Cholesky factor times standard normals from ``generator``)."""
    z = torch.randn(n, len(cov), generator=generator, dtype=cov.dtype, device=rng_device(generator, cov)).to(cov.device)
    return z @ torch.linalg.cholesky(cov).T


def ring_pitfall(sigmas=(0.05, 0.5), distance: float = 0.5, radius: float = 1.0) -> dict:
    r"""Data on the circle of radius ``radius``: for each :math:`\sigma`, at ``distance`` outside the circle,
    the exact noised score's size, that size times :math:`\sigma^2/d` (1 when the score is distance over
    :math:`\sigma^2`), and :math:`e^{-d^2/2\sigma^2}`, the chance that a noised training point
    :math:`x + \sigma\varepsilon` lands ``distance`` or more from its clean point (a bound on the share of
    denoising-score-matching data that far from the curve).

    Returns ``{sigma: (norm, norm * sigma**2 / distance, bound)}``.
    """
    x = torch.tensor([[radius + distance, 0.0]], dtype=torch.float64)
    out = {}
    for s in sigmas:
        norm = float(Q.ring_score(x, radius, s).norm())
        out[s] = (norm, norm * s * s / distance, math.exp(-distance**2 / (2 * s * s)))
    return out


def noised_ring(n: int, sigma: float, radius: float = 1.0, generator=None) -> torch.Tensor:
    r"""``n`` points uniform on the circle of radius ``radius`` plus :math:`\mathcal N(0, \sigma^2 I)` noise: denoising score matching's inputs, ``(n, 2)`` float64."""
    like = torch.empty(0, dtype=torch.float64)
    angle = 2 * math.pi * uniform((n,), like, generator)
    circle = radius * torch.stack([angle.cos(), angle.sin()], -1)
    return circle + sigma * torch.randn(n, 2, generator=generator, dtype=torch.float64, device=rng_device(generator, like)).cpu()
