"""Chapter 7's figures and sliders (score functions): they draw what ``gencore.experiments.score`` returns.

Book: ``book/07_score.ipynb``.
"""
from __future__ import annotations

import matplotlib as mpl
import numpy as np
import torch
from matplotlib import colors as mcolors

from .. import live_score, metrics, pixels, viz, widgets
from .. import score as S
from .. import score_sde as Q
from ..data import GaussianMixture
from ..experiments.score import FAR_EXTENT, NEAR_EXTENT, LangevinRuns
from ..quadrature import grid

__all__ = ["score_figure", "fisher_vs_kl_figure", "gaussian_family_figure", "langevin_slider", "sigma_slider",
           "plain_vs_annealed_figure", "annealed_slider", "ring_score_figure"]

LIVE_COLORS = {"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"]}  # the live views' colours


def _mixture_contours(mix: GaussianMixture, extent, drops=(6, 3, 1), resolution: int = 100) -> list:
    """Contour lines of ``log p`` of ``mix`` at ``drops`` nats below its top, as ``(M, 2)`` arrays."""
    pts, _ = grid(extent, resolution, dtype=torch.float64)
    lp = mix.log_prob(pts).reshape(resolution, resolution)
    top = lp.max().item()
    return viz.contour_lines(*pts.T.reshape(2, resolution, resolution), lp, [top - d for d in drops])


def _backdrop(lines, most: int = 1000) -> torch.Tensor:
    """Points along contour ``lines`` (``(M, 2)`` arrays), evenly thinned to at most ``most``: a
    live view's pale backdrop (it draws points, not lines)."""
    pts = np.concatenate(lines) if lines else np.zeros((0, 2))
    keep = np.linspace(0, len(pts) - 1, min(most, len(pts))).round().astype(int) if len(pts) else []
    return torch.as_tensor(pts[keep], dtype=torch.float32).reshape(-1, 2)


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
    viz.curve(ax2, xs, S.score_of(mix.log_prob)(pts)[:, 0], role="q", ls="-.", label="score, first coordinate")
    ax2.set_ylim(-33, 15)  # room under the curves for the legend
    ax2.set_xlabel("x₁")
    ax2.legend(loc="lower center", fontsize=8, ncols=2)
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


def _rgba(img, cmap: str, vmin: float = 0.0, vmax: float | None = None) -> np.ndarray:
    """An image ``(H, W)`` coloured once, as ``(H, W, 4)`` bytes: a frame then shows it without
    colour-mapping it again (what makes ``imshow`` of a float image slow)."""
    img = np.asarray(img, dtype=np.float64)
    norm = mcolors.Normalize(vmin, img.max() if vmax is None else vmax)
    return mpl.colormaps[cmap](norm(img), bytes=True)


def _show_lines(lines, pieces) -> None:
    """Give the ``Line2D`` artists ``lines`` the polylines ``pieces`` (``(M, 2)`` arrays), one each;
    the artists left over are hidden (a frame with fewer contour pieces than another)."""
    for k, line in enumerate(lines):
        if k < len(pieces):
            line.set_data(pieces[k][:, 0], pieces[k][:, 1])
        line.set_visible(k < len(pieces))


def _on_host(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _device_of(model) -> torch.device:
    """Where ``model``'s parameters live (the CPU for a plain function)."""
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    return params[0].device if params else torch.device("cpu")



def langevin_slider(mix: GaussianMixture, runs: LangevinRuns, extent=NEAR_EXTENT, live: bool = True):
    """Slider over ε and K: paths over the score field (left), all chains after K steps over
    contours of p (right).

    With ``live`` (the default) the website's view is live (:func:`gencore.live_score.langevin_live`:
    any ε in [0.01, 1], K from 10 to 1,000, the frames' uniform starts (each used by as many chains
    as there are step sizes, with their own noise, up to 1,000 chains), a draggable start point,
    computed in the reader's browser over dots along the same contours); the notebook and the
    printed book keep this slider."""
    # Everything but the chains is the same in every frame: computed once here. The first frame
    # makes the artists; later frames only give the chains' artists new points.
    contours = _mixture_contours(mix, extent)
    image = _rgba(metrics.density_image(mix.log_prob, extent, 120), viz.DENSITY_CMAP)
    arrow_pts, _ = grid(extent, 15, dtype=torch.float64)
    field = S.mixture_score(mix)(arrow_pts)
    paths, samples = _on_host(runs.paths), _on_host(runs.samples)
    share, sw = runs.share.tolist(), runs.sw.tolist()

    def make(fig):
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.imshow(image, origin="lower", extent=tuple(extent), aspect="equal", interpolation="bilinear")
        ax1.set(xlim=extent[:2], ylim=extent[2:])
        ax1.grid(False)
        viz.arrows(ax1, arrow_pts, field, color="#bbbbbb")
        n_arrows = len(ax1.collections)
        viz.trajectories(ax1, paths[0, :1], color="#7fd3ff", alpha=0.9)  # points set by each frame
        viz.panel_title(ax1, f"{runs.paths.shape[2]} paths over the true score field")
        for line in contours:
            ax2.plot(line[:, 0], line[:, 1], color=viz.COLORS["p"], lw=0.8)
        viz.samples(ax2, samples[0, 0], color=viz.COLORS["q"], size=3, alpha=0.6, extent=extent)
        return dict(paths=ax1.lines, ends=ax1.collections[n_arrows], chains=ax2.collections[0], ax2=ax2)

    def draw(fig, eps, K):
        i, j = runs.step_sizes.index(eps), runs.n_steps.index(K)
        a = pixels.reused(fig, make)
        path = paths[i, : K + 1]  # (K + 1, P, 2)
        for n, line in enumerate(a["paths"]):
            line.set_data(path[:, n, 0], path[:, n, 1])
        a["ends"].set_offsets(path[-1])
        a["chains"].set_offsets(samples[i, j])
        viz.panel_title(a["ax2"], f"ε = {eps:g}, K = {K}: left-half share {share[i][j]:.2f} (p: {runs.target:.2f}), "
                                  f"SW2 {sw[i][j]:.2f}")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: Langevin paths over the true score field of a two-mode mixture; right: all chains after "
           "K = {K} steps of size ε = {eps} over contours of p, with the share of chains in the left half "
           "against p's own share in the title.")
    demo = widgets.slider(
        draw, figsize=(9.0, 3.2), dpi=80,
        eps=widgets.Param(runs.step_sizes, "step size ε", "{:g}", start=1),
        K=widgets.Param(runs.n_steps, "steps K", "{:d}", start=2),
        alt=alt,
    )
    if not live:
        return demo
    starts = runs.samples[:, 0].reshape(-1, 2)[:1000]  # the frames' uniform starts (the same for every ε), reused
    return live_score.langevin_live(demo, mix, starts.float().cpu(), extent, ref=_backdrop(contours),
                                    colors=LIVE_COLORS)


def sigma_slider(model, mix: GaussianMixture, sigmas: torch.Tensor, extent=FAR_EXTENT) -> widgets.SliderDemo:
    """Slider over σ: the learned field on p_σ (left) and its error against ∇ log p_σ (right).

    ``model`` is evaluated on its own device (that of its parameters); the pictures come back to
    the host.
    """
    # Each σ's pictures (density, learned field, error image, contours) are computed and coloured
    # once here; the first frame makes the artists and later frames give them this σ's pictures.
    # The colour bar is drawn by hand in a third, narrow panel.
    dev = _device_of(model)
    pts, area = grid(extent, 120, dtype=torch.float64)
    arrow_pts, _ = grid(extent, 15, dtype=torch.float64)
    frames = {}
    for sig in sigmas.tolist():
        p_s = S.noised_mixture(mix, sig)
        with torch.no_grad():
            learned = model(pts.to(dev), torch.full((len(pts),), sig, dtype=pts.dtype, device=dev)).cpu()
            field = model(arrow_pts.to(dev), torch.full((len(arrow_pts),), sig, dtype=pts.dtype, device=dev)).cpu()
        err = (learned - S.score_of(p_s.log_prob)(pts)).norm(dim=-1)
        lp = p_s.log_prob(pts)
        dens = lp.exp()
        fisher = (dens * area * err**2).sum().item() / 2 / (dens * area).sum().item()
        top = lp.max().item()
        contours = viz.contour_lines(*pts.T.reshape(2, 120, 120), lp.reshape(120, 120), [top - 12, top - 6, top - 2])
        arrows = field.numpy() / (np.linalg.norm(field.numpy(), axis=1, keepdims=True) + 1e-12)  # as viz.arrows
        frames[round(sig, 4)] = (_rgba(metrics.density_image(p_s.log_prob, extent, 120), viz.DENSITY_CMAP), arrows,
                                 _rgba(err.log10().reshape(120, 120), "viridis", -2, 2), contours, fisher)
    scale = _rgba(torch.linspace(-2, 2, 256, dtype=torch.float64)[:, None], "viridis", -2, 2)

    def make(fig, image, field, err_img):
        ax1, ax2, cax = widgets.panels(fig, 3, width_ratios=[1, 1, 0.05])
        ax1.imshow(image, origin="lower", extent=tuple(extent), aspect="equal", interpolation="nearest")
        ax1.set(xlim=extent[:2], ylim=extent[2:])
        ax1.grid(False)
        viz.arrows(ax1, arrow_pts, field, normalize=False)  # already of length one
        ax2.imshow(err_img, origin="lower", extent=extent, aspect="equal", interpolation="nearest")
        for _ in range(max(len(frame[3]) for frame in frames.values())):
            ax2.plot([], [], color="white", lw=0.8)
        ax2.set(xlim=extent[:2], ylim=extent[2:])
        ax2.grid(False)
        cax.imshow(scale, origin="lower", extent=(0, 1, -2, 2), aspect="auto")
        cax.set(xticks=[], xlim=(0, 1), ylim=(-2, 2))
        cax.yaxis.tick_right()
        cax.yaxis.set_label_position("right")
        cax.set_ylabel("log₁₀ ‖s_θ − ∇ log p_σ‖")
        cax.grid(False)
        return dict(image=ax1.images[0], field=ax1.collections[0], err=ax2.images[0], contours=ax2.lines,
                    ax1=ax1, ax2=ax2)

    def draw(fig, sigma):
        image, field, err_img, contours, fisher = frames[sigma]
        a = pixels.reused(fig, lambda f: make(f, image, field, err_img))
        a["image"].set_data(image)
        a["field"].set_UVC(field[:, 0], field[:, 1])
        a["err"].set_data(err_img)
        _show_lines(a["contours"], contours)
        viz.panel_title(a["ax1"], f"σ = {sigma:.3g}: p_σ and the learned s_θ(x, σ)")
        viz.panel_title(a["ax2"], f"error (contours: p_σ); Fisher div. = {fisher:.3f}")

    values = tuple(round(s, 4) for s in sigmas.tolist())
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("At noise level σ = {sigma}: left, the noised density p_σ with the learned score field s_θ(x, σ) "
           "as arrows; right, the size of that field's error against the true score ∇ log p_σ, with contours "
           "of p_σ and the Fisher divergence in the title.")
    # nearest-neighbour pixels and 80 dpi: eight frames that the website inlines, kept light
    return widgets.slider(draw, figsize=(9.0, 2.9), dpi=80,
                          sigma=widgets.Param(values, "noise level σ", "{:.3g}", start=len(values) - 1), alt=alt)


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


def annealed_slider(mix: GaussianMixture, x_start, runs: dict, shares: dict, model=None, sigmas=None,
                    extent=FAR_EXTENT):
    """Slider over the samplers of ``runs`` (name -> end points ``(N, 2)``, from ``x_start``), over the
    density of ``mix``, each titled with its heavy-mode share ``shares[name]``.

    Given the noise-conditional ``model`` and its ``sigmas`` too, the website's view is live
    (:func:`gencore.live_score.annealed_live`: annealed Langevin with the network for any step
    size, steps per level and first level, a draggable start point, computed in the reader's
    browser); the notebook and the printed book keep this slider."""
    if (model is None) != (sigmas is None):
        raise ValueError("a live view needs both model and sigmas (or neither, for the frames only)")
    names = tuple(runs)
    image = _rgba(metrics.density_image(mix.log_prob, extent, 120), "Greys")

    def draw(fig, name):
        ax = widgets.panels(fig, 1)
        ax.imshow(image, origin="lower", extent=tuple(extent), aspect="equal", interpolation="bilinear")
        ax.grid(False)
        viz.samples(ax, _on_host(runs[name])[:1500], color=viz.COLORS["q"], size=3, alpha=0.5, extent=extent)
        viz.panel_title(ax, f"{name}: left share {shares[name]:.2f}")

    def alt(name):  # the frame's text alternative, with the share its title prints
        return (f"The end points of {name} Langevin sampling from a uniform start, over the density of a two-mode "
                f"mixture whose left mode holds 0.8 of the mass; {shares[name]:.2f} of them lie in the left mode.")

    demo = widgets.slider(draw, figsize=(5.2, 3.6), name=widgets.Param(names, "sampler", "{}", start=len(names) - 1),
                          alt=alt)
    if model is None:
        return demo
    return live_score.annealed_live(demo, model, sigmas, torch.as_tensor(x_start)[:1000].float().cpu(), extent,
                                    ref=_backdrop(_mixture_contours(mix, extent)), colors=LIVE_COLORS)


def ring_score_figure(noised: dict, radius: float = 1.0, extent=(-2.0, 2.0, -2.0, 2.0)):
    """For each sigma in ``noised`` (sigma -> noised data points): log10 of the exact score's size for the
    sigma-smoothed circle, its direction, the circle, and the points denoising score matching trains on."""
    fig, axes = viz.figure(len(noised), width=3.6, height=3.5)
    pts, _ = grid(extent, 160, dtype=torch.float64)
    coarse, _ = grid(extent, 15, dtype=torch.float64)
    u = torch.linspace(0, 2 * np.pi, 300)
    for ax, (sigma, x) in zip(np.atleast_1d(axes), noised.items()):
        size = Q.ring_score(pts, radius, sigma).norm(dim=-1).clamp_min(1e-3).log10().reshape(160, 160)
        im = ax.imshow(size.numpy(), origin="lower", extent=extent, cmap="viridis", vmin=-1, vmax=3, aspect="equal")
        viz.arrows(ax, coarse, Q.ring_score(coarse, radius, sigma))
        ax.plot(radius * u.cos(), radius * u.sin(), color="white", lw=0.8, ls="--")
        viz.samples(ax, x, color=viz.COLORS["q"], size=9.0, alpha=0.9, extent=extent)
        ax.grid(False)
        viz.panel_title(ax, f"σ = {sigma:g}: log10 ‖∇ log p_σ‖")
    fig.colorbar(im, ax=list(np.atleast_1d(axes)), shrink=0.8)
    return fig
