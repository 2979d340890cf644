"""Figures, checks and slider demos of chapter 7 (score functions), built on ``gencore.score``.

Book: ``book/07_score.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import shifted_seed
from .. import metrics, viz, widgets
from .. import score as S
from ..data import GaussianMixture
from ..quadrature import grid
from ..train import EMA, fit

__all__ = ["WEIGHTS", "far_mixture", "near_mixture", "two_modes", "score_figure", "fisher_vs_kl",
           "gaussian_family_scan", "sliced_vs_implicit", "dsm_scan", "gaussian_langevin_rows",
           "LangevinRuns", "langevin_runs", "langevin_slider", "uniform_start", "fit_ncsn",
           "sigma_slider", "plain_vs_annealed_figure", "posterior_mean", "diffused_mixture", "BOX",
           "FAR_EXTENT", "NEAR_EXTENT", "fisher_vs_kl_figure", "gaussian_family_figure",
           "score_error_by_density", "share_over_steps", "left_mass"]

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


def uniform_start(n: int, extent=FAR_EXTENT, generator=None) -> torch.Tensor:
    """``n`` points uniform on the box ``extent``, float64, shape ``(n, 2)``."""
    x0, x1, y0, y1 = extent
    u = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    return torch.stack([x0 + (x1 - x0) * u[:, 0], y0 + (y1 - y0) * u[:, 1]], -1)


# ------------------------------------------------------------------------------- scores
def score_figure(mix: GaussianMixture, extent=FAR_EXTENT):
    """The density of ``mix`` with its score field, and log p along the x-axis with its slope."""
    fig, (ax1, ax2) = viz.figure(2, width=4.8, height=3.2)
    viz.density(ax1, mix.log_prob, extent, 200)
    viz.vector_field(ax1, S.score_of(mix.log_prob), extent, n=17)
    viz.panel_title(ax1, "p(x) and its score ∇ log p (direction)")
    xs = torch.linspace(extent[0], extent[1], 400, dtype=torch.float64)
    pts = torch.stack([xs, torch.zeros_like(xs)], -1)
    viz.curve(ax2, xs, mix.log_prob(pts), role="p", label="log p(x₁, 0)")
    viz.curve(ax2, xs, mix.log_prob(pts) + 3.0, role="q2", ls="--", label="log p + 3 (unnormalized)")
    viz.curve(ax2, xs, S.score_of(mix.log_prob)(pts)[:, 0], role="q", label="score, first coordinate")
    ax2.set_ylim(-25, 15)
    ax2.set_xlabel("x₁")
    ax2.legend(loc="lower center", fontsize=8)
    viz.panel_title(ax2, "shifting log p leaves the score unchanged")
    return fig


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


def fisher_vs_kl_figure(seps, fisher, kl):
    fig, ax = viz.figure(1, width=5.2, height=3.2)
    viz.curve(ax, seps, kl, role="p", label="KL(p‖q)")
    viz.curve(ax, seps, fisher, role="q", label="Fisher divergence D_F(p‖q)")
    ax.set_yscale("log")
    ax.set_ylim(1e-12, 10)
    ax.set_xlabel("distance between the two modes (std 0.5)")
    ax.set_ylabel("nats / squared score units")
    ax.legend(loc="lower left")
    viz.panel_title(ax, "p: weights 0.8/0.2, q: 0.5/0.5, same modes")
    return fig


# ----------------------------------------------------------------------- score matching
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


def gaussian_family_figure(shifts, ism_grid, ism_mc, fisher, const):
    fig, ax = viz.figure(1, width=5.2, height=3.2)
    viz.curve(ax, shifts, fisher, role="p", label="Fisher divergence (needs ∇ log p)")
    viz.curve(ax, shifts, ism_grid + const, role="q", ls="--", label="J(θ) + ½E‖∇ log p‖² (quadrature)")
    ax.plot(shifts, ism_mc + const, "o", color=viz.COLORS["q2"], ms=4, label="J(θ) + const (Monte Carlo)")
    viz.curve(ax, shifts, ism_grid, role="aux", label="J(θ) alone (no ∇ log p needed)")
    ax.set_xlabel("model mean m (score −(x − (m, 0)))")
    ax.legend(fontsize=8)
    viz.panel_title(ax, "the two objectives differ by a constant")
    return fig


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
             n_samples: int = 200_000, resolution: int = 400, seed: int = 0):
    r"""Denoising score matching against the Fisher divergence to the noised data, per shift ``m``.

    Returns ``(dsm, dsm_se, fisher_sigma, constant)``: the Monte Carlo DSM loss (the same
    :math:`(x, \varepsilon)` for every ``m``) with its standard error, :math:`D_F(p_\sigma\|s_\theta)`
    by quadrature, and the predicted gap
    :math:`C(\sigma) = \tfrac12(D/\sigma^2 - \mathbb E_{p_\sigma}\|\nabla\log p_\sigma\|^2)`.
    """
    p_sigma = S.noised_mixture(p, sigma)
    score_ps = S.mixture_score(p_sigma)
    pts, area = grid(BOX, resolution, dtype=torch.float64)
    w = p_sigma.log_prob(pts).exp() * area
    constant = 0.5 * (2 / sigma**2 - (w * (score_ps(pts) ** 2).sum(-1)).sum())
    x = p.sample((n_samples,), generator=torch.Generator().manual_seed(shifted_seed(seed)))
    eye = torch.eye(2, dtype=torch.float64)
    dsm, se, fisher = [], [], []
    for m in shifts.tolist():
        s = S.gaussian_score(torch.tensor([m, 0.0], dtype=torch.float64), variance * eye)
        g = torch.Generator().manual_seed(shifted_seed(seed + 1))  # common random numbers across m
        eps = torch.randn(x.shape, generator=g, dtype=x.dtype)
        per = 0.5 * ((s(x + sigma * eps) + eps / sigma) ** 2).sum(-1)
        dsm.append(S.denoising_score_matching_loss(s, x, sigma, torch.Generator().manual_seed(shifted_seed(seed + 1))))
        se.append(per.std() / math.sqrt(n_samples))
        fisher.append(S.fisher_divergence_on_grid(p_sigma.log_prob, score_ps, s, BOX, resolution))
    return torch.stack(dsm), torch.stack(se), torch.stack(fisher), constant


# ---------------------------------------------------------------------------- Langevin
def gaussian_langevin_rows(mean, cov, step_sizes, n_steps, n_chains: int = 5000, seed: int = 0):
    """Langevin on N(mean, cov) from the point ``mean + (4, 4)``: per (ε, K), the mean error,
    and the smallest-eigenvalue direction's variance, measured and predicted.

    Returns a list of dicts ``eps, K, mean_err, mean_se, mean_err_pred, var, var_pred, var_true``
    (``mean_se``: the Monte Carlo standard error of the mean's norm).
    """
    g = torch.Generator().manual_seed(shifted_seed(seed))
    score = S.gaussian_score(mean, cov)
    lam, vec = torch.linalg.eigh(cov)
    start = mean + torch.tensor([4.0, 4.0], dtype=mean.dtype)
    rows = []
    for eps in step_sizes:
        x = start.expand(n_chains, 2).clone()
        done = 0
        for K in n_steps:
            x = S.langevin(score, x, eps, K - done, g)
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
    std = torch.as_tensor(mix.std, dtype=torch.float64).expand(len(mix.weights))
    z = -mix.means[:, 0].double() / std
    return (mix.weights.double() * 0.5 * torch.erfc(-z / math.sqrt(2))).sum().item()


def langevin_runs(mix: GaussianMixture, step_sizes=(0.01, 0.05, 0.2, 1.0),
                  n_steps=(0, 10, 100, 300, 1000), n_chains: int = 500, n_paths: int = 6,
                  extent=NEAR_EXTENT, seed: int = 0, repeats: int = 20) -> LangevinRuns:
    """All step sizes at once (one chain batch with a per-chain ε), started uniformly on ``extent``.

    The floor of the sliced W2 column is :func:`gencore.metrics.floor_spread` over ``repeats``
    pairs of exact samples of ``n_chains`` points, with the same projections as the column.
    """
    g = torch.Generator().manual_seed(shifted_seed(seed))
    E = len(step_sizes)
    x = uniform_start(n_chains, extent, g).repeat(E, 1)  # the same starts for every ε
    eps = torch.tensor(step_sizes, dtype=torch.float64).repeat_interleave(n_chains)
    score = S.mixture_score(mix)
    saved, paths, done = [], [x.reshape(E, n_chains, 2)[:, :n_paths][None]], 0
    for K in n_steps:
        if K > done:
            x, traj = S.langevin(score, x, eps, K - done, g, return_trajectory=True)
            paths.append(traj[1:].reshape(-1, E, n_chains, 2)[:, :, :n_paths])
            done = K
        saved.append(x.reshape(E, n_chains, 2))
    samples = torch.stack(saved, 1)
    ref = mix.sample((n_chains,), generator=g)

    def sw_fn(a, b):  # the same 256 projections for every comparison
        return metrics.sliced_wasserstein(a, b, 256, torch.Generator().manual_seed(shifted_seed(1))).item()

    sw = torch.tensor([[sw_fn(samples[i, j], ref) for j in range(len(n_steps))] for i in range(E)], dtype=torch.float64)
    share = (samples[..., 0] < 0).to(torch.float64).mean(-1)
    floor = metrics.floor_spread(sw_fn, lambda n, gg: mix.sample((n,), generator=gg), n_chains, repeats, g)
    return LangevinRuns(tuple(step_sizes), tuple(n_steps), samples, torch.cat(paths).transpose(0, 1),
                        share, sw, floor, left_mass(mix))


def langevin_slider(mix: GaussianMixture, runs: LangevinRuns, extent=NEAR_EXTENT) -> widgets.SliderDemo:
    """Slider over ε and K: paths over the score field (left), all chains after K steps over
    contours of p (right)."""
    score = S.mixture_score(mix)
    pts, _ = grid(extent, 100, dtype=torch.float64)
    lp = mix.log_prob(pts).reshape(100, 100)
    contour_grid = (*pts.T.reshape(2, 100, 100).numpy(), lp.numpy())
    levels = [lp.max().item() - d for d in (6, 3, 1)]

    def draw(fig, eps, K):
        i, j = runs.step_sizes.index(eps), runs.n_steps.index(K)
        ax1, ax2 = widgets.panels(fig, 2)
        viz.density(ax1, mix.log_prob, extent, 120)
        viz.vector_field(ax1, score, extent, n=15, color="#bbbbbb")
        viz.trajectories(ax1, runs.paths[i, : K + 1], color="#7fd3ff", alpha=0.9)
        ax1.set_xlim(extent[0], extent[1])
        ax1.set_ylim(extent[2], extent[3])
        viz.panel_title(ax1, f"{runs.paths.shape[2]} paths over the true score field")
        ax2.contour(*contour_grid, levels=levels, colors=viz.COLORS["p"], linewidths=0.8)
        viz.samples(ax2, runs.samples[i, j], color=viz.COLORS["q"], size=3, alpha=0.6, extent=extent)
        viz.panel_title(ax2, f"ε = {eps:g}, K = {K}: left-half share {runs.share[i, j]:.2f} (p: {runs.target:.2f}), "
                             f"SW2 {runs.sw[i, j]:.2f}")

    return widgets.slider(
        draw, figsize=(10.0, 3.6),
        eps=widgets.Param(runs.step_sizes, "step size ε", "{:g}", start=1),
        K=widgets.Param(runs.n_steps, "steps K", "{:d}", start=2),
    )


# --------------------------------------------------------------- noise-conditional scores
def fit_ncsn(data: torch.Tensor, sigmas: torch.Tensor, steps: int = 800, batch: int = 512,
             hidden: int = 64, lr: float = 5e-3, seed: int = 0, progress: bool = True):
    """Train a conditional :class:`~gencore.score.ScoreNet` with the multi-level DSM loss.

    Returns ``(ema_model, history)``; the EMA of the weights (decay 0.99) is used for sampling.
    """
    torch.manual_seed(shifted_seed(seed))
    g = torch.Generator().manual_seed(shifted_seed(seed))
    model = S.ScoreNet(data.shape[1], hidden, conditional=True).to(data)
    ema = EMA(model, 0.99)

    def loss(step):
        idx = torch.randint(len(data), (batch,), generator=g)
        return S.noise_conditional_dsm_loss(model, data[idx], sigmas, g)

    hist = fit(loss, model, steps, lr=lr, ema=ema, desc="noise-conditional DSM", progress=progress)
    return ema.module.eval(), hist


def sigma_slider(model, mix: GaussianMixture, sigmas: torch.Tensor, extent=FAR_EXTENT) -> widgets.SliderDemo:
    """Slider over σ: the learned field on p_σ (left) and its error against ∇ log p_σ (right)."""
    pts, area = grid(extent, 120, dtype=torch.float64)
    frames = {}
    for sig in sigmas.tolist():
        p_s = S.noised_mixture(mix, sig)
        with torch.no_grad():
            learned = model(pts, torch.full((len(pts),), sig, dtype=pts.dtype))
        err = (learned - S.score_of(p_s.log_prob)(pts)).norm(dim=-1)
        dens = p_s.log_prob(pts).exp()
        frames[round(sig, 4)] = (p_s, err, (dens * area * err**2).sum().item() / 2 / (dens * area).sum().item())

    def draw(fig, sigma):
        p_s, err, fisher = frames[sigma]
        ax1, ax2 = fig.subplots(1, 2)
        viz.density(ax1, p_s.log_prob, extent, 120)
        viz.vector_field(ax1, lambda x: model(x, torch.full((len(x),), sigma, dtype=x.dtype)), extent, n=17)
        viz.panel_title(ax1, f"σ = {sigma:.3g}: p_σ and the learned s_θ(x, σ)")
        img = err.log10().reshape(120, 120).numpy()
        lp = p_s.log_prob(pts).reshape(120, 120)
        im = ax2.imshow(img, origin="lower", extent=extent, cmap="viridis", vmin=-2, vmax=2, aspect="equal")
        top = lp.max().item()
        ax2.contour(*pts.T.reshape(2, 120, 120).numpy(), lp.numpy(), levels=[top - 12, top - 6, top - 2],
                    colors="white", linewidths=0.8)
        ax2.grid(False)
        fig.colorbar(im, cax=ax2.inset_axes([1.03, 0.1, 0.04, 0.8]), label="log₁₀ ‖s_θ − ∇ log p_σ‖")
        viz.panel_title(ax2, f"error (contours: p_σ); Fisher div. = {fisher:.3f}")

    values = tuple(round(s, 4) for s in sigmas.tolist())
    return widgets.slider(draw, figsize=(10.5, 3.4),
                          sigma=widgets.Param(values, "noise level σ", "{:.3g}", start=len(values) - 1))


def plain_vs_annealed_figure(mix: GaussianMixture, x_start, x_plain, x_annealed, share_plain, share_annealed,
                             extent=FAR_EXTENT):
    fig, axes = viz.figure(3, width=3.6, height=2.8)
    for ax, x, title in zip(axes, (x_start, x_plain, x_annealed),
                            ("start: uniform on the box", f"plain Langevin: left share {share_plain:.2f}",
                             f"annealed Langevin: left share {share_annealed:.2f}")):
        viz.density(ax, mix.log_prob, extent, 150, cmap="Greys")
        viz.samples(ax, x[:1500], color=viz.COLORS["q"], size=3, alpha=0.5, extent=extent)
        viz.panel_title(ax, title)
    return fig


# ------------------------------------------------------------------ the link to diffusion
def posterior_mean(mix: GaussianMixture, xt: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    r""":math:`\mathbb E[x_0 \mid x_t]` in closed form for :math:`x_t = \sqrt{\bar\alpha}x_0 + \sqrt{1-\bar\alpha}\,\varepsilon`, :math:`x_0 \sim` ``mix``.

    Per component :math:`k` (mean :math:`\mu_k`, variance :math:`s^2`), :math:`x_t` is Gaussian with
    mean :math:`\sqrt{\bar\alpha}\mu_k` and variance :math:`v = \bar\alpha s^2 + 1 - \bar\alpha`, and
    :math:`\mathbb E[x_0\mid x_t, k] = \mu_k + \sqrt{\bar\alpha}s^2 (x_t - \sqrt{\bar\alpha}\mu_k)/v`;
    these are averaged with the posterior component probabilities.
    """
    a, s2 = alpha_bar, torch.as_tensor(mix.std, dtype=xt.dtype) ** 2
    mu, w = mix.means.to(xt), mix.weights.to(xt)
    v = a * s2 + 1 - a
    centred = xt[:, None, :] - math.sqrt(a) * mu  # (N, K, 2)
    logr = torch.log(w) - 0.5 * (centred**2).sum(-1) / v
    r = torch.softmax(logr, -1)  # (N, K)
    cond = mu + math.sqrt(a) * s2 * centred / v
    return (r[..., None] * cond).sum(1)


def diffused_mixture(mix: GaussianMixture, alpha_bar: float) -> GaussianMixture:
    r"""The DDPM marginal :math:`q_t` of ``mix``: means :math:`\sqrt{\bar\alpha}\mu_k`, variance :math:`\bar\alpha s^2 + 1 - \bar\alpha`."""
    s2 = torch.as_tensor(mix.std, dtype=mix.means.dtype) ** 2
    return GaussianMixture(math.sqrt(alpha_bar) * mix.means, torch.sqrt(alpha_bar * s2 + 1 - alpha_bar), mix.weights)


def score_error_by_density(model, mix: GaussianMixture, sigma: float, extent=FAR_EXTENT, resolution: int = 120):
    """Median ‖s_θ(x, σ) − ∇ log p_σ(x)‖ over grid points where p_σ is high (≥ 1e-2) and low (≤ 1e-6)."""
    pts, _ = grid(extent, resolution, dtype=torch.float64)
    p_s = S.noised_mixture(mix, sigma)
    with torch.no_grad():
        err = (model(pts, torch.full((len(pts),), sigma, dtype=pts.dtype)) - S.mixture_score(p_s)(pts)).norm(dim=-1)
    dens = p_s.log_prob(pts).exp()
    return err[dens >= 1e-2].median().item(), err[dens <= 1e-6].median().item()


def share_over_steps(score_fn, x0: torch.Tensor, step_size: float, n_steps=(0, 100, 300, 1000, 3000),
                     generator=None) -> list[float]:
    """Fraction of chains left of x₁ = 0 (the heavy mode) after each saved number of Langevin steps."""
    x, done, out = x0, 0, []
    for K in n_steps:
        x = S.langevin(score_fn, x, step_size, K - done, generator)
        done = K
        out.append((x[:, 0] < 0).to(torch.float64).mean().item())
    return out
