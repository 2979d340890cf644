"""Chapter 7's figures and sliders (score functions): they draw what ``gencore.experiments.score`` returns.

Book: ``book/07_score.ipynb``.
"""
from __future__ import annotations

import torch

from .. import score as S
from .. import viz, widgets
from ..data import GaussianMixture
from ..experiments.score import FAR_EXTENT, NEAR_EXTENT, LangevinRuns
from ..quadrature import grid

__all__ = ["score_figure", "fisher_vs_kl_figure", "gaussian_family_figure", "langevin_slider", "sigma_slider",
           "plain_vs_annealed_figure"]


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
