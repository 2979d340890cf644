"""Chapter 7's figures and sliders (score functions): they draw what ``gencore.experiments.score`` returns.

Book: ``book/07_score.ipynb``.
"""
from __future__ import annotations

import torch

from .. import metrics, viz, widgets
from .. import score as S
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
    # Everything but the chains is the same in every frame: computed once here.
    pts, _ = grid(extent, 100, dtype=torch.float64)
    lp = mix.log_prob(pts).reshape(100, 100)
    top = lp.max().item()
    contours = viz.contour_lines(*pts.T.reshape(2, 100, 100), lp, [top - d for d in (6, 3, 1)])
    image = metrics.density_image(mix.log_prob, extent, 120)
    arrow_pts, _ = grid(extent, 15, dtype=torch.float64)
    field = S.mixture_score(mix)(arrow_pts)

    def draw(fig, eps, K):
        i, j = runs.step_sizes.index(eps), runs.n_steps.index(K)
        ax1, ax2 = widgets.panels(fig, 2)
        viz.density_image(ax1, image, extent)
        viz.arrows(ax1, arrow_pts, field, color="#bbbbbb")
        viz.trajectories(ax1, runs.paths[i, : K + 1], color="#7fd3ff", alpha=0.9)
        viz.panel_title(ax1, f"{runs.paths.shape[2]} paths over the true score field")
        for line in contours:
            ax2.plot(line[:, 0], line[:, 1], color=viz.COLORS["p"], lw=0.8)
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
    # Each σ's pictures (density, learned field, error image, contours) are computed once here;
    # a frame only shows them. The colour bar is drawn by hand in a third, narrow panel.
    pts, area = grid(extent, 120, dtype=torch.float64)
    arrow_pts, _ = grid(extent, 17, dtype=torch.float64)
    frames = {}
    for sig in sigmas.tolist():
        p_s = S.noised_mixture(mix, sig)
        with torch.no_grad():
            learned = model(pts, torch.full((len(pts),), sig, dtype=pts.dtype))
            field = model(arrow_pts, torch.full((len(arrow_pts),), sig, dtype=arrow_pts.dtype))
        err = (learned - S.score_of(p_s.log_prob)(pts)).norm(dim=-1)
        lp = p_s.log_prob(pts)
        dens = lp.exp()
        fisher = (dens * area * err**2).sum().item() / 2 / (dens * area).sum().item()
        top = lp.max().item()
        contours = viz.contour_lines(*pts.T.reshape(2, 120, 120), lp.reshape(120, 120), [top - 12, top - 6, top - 2])
        frames[round(sig, 4)] = (metrics.density_image(p_s.log_prob, extent, 120), field,
                                 err.log10().reshape(120, 120).numpy(), contours, fisher)
    scale = torch.linspace(-2, 2, 256, dtype=torch.float64)[:, None].numpy()

    def draw(fig, sigma):
        image, field, err_img, contours, fisher = frames[sigma]
        ax1, ax2, cax = widgets.panels(fig, 3, width_ratios=[1, 1, 0.05])
        viz.density_image(ax1, image, extent)
        viz.arrows(ax1, arrow_pts, field)
        viz.panel_title(ax1, f"σ = {sigma:.3g}: p_σ and the learned s_θ(x, σ)")
        ax2.imshow(err_img, origin="lower", extent=extent, cmap="viridis", vmin=-2, vmax=2, aspect="equal")
        for line in contours:
            ax2.plot(line[:, 0], line[:, 1], color="white", lw=0.8)
        ax2.set(xlim=extent[:2], ylim=extent[2:])
        ax2.grid(False)
        viz.panel_title(ax2, f"error (contours: p_σ); Fisher div. = {fisher:.3f}")
        cax.imshow(scale, origin="lower", extent=(0, 1, -2, 2), cmap="viridis", aspect="auto")
        cax.set(xticks=[], xlim=(0, 1), ylim=(-2, 2))
        cax.yaxis.tick_right()
        cax.yaxis.set_label_position("right")
        cax.set_ylabel("log₁₀ ‖s_θ − ∇ log p_σ‖")
        cax.grid(False)

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
