"""Figures and slider demos of chapter 3 (VAEs and the ELBO).

They draw what the chapter computes (``gencore.vae``) and what its experiments return
(``gencore.experiments.vae``); they never train or seed.

Book: ``book/03_vae.ipynb``.
"""
from __future__ import annotations

import math

import contourpy  # matplotlib's own contouring library
from matplotlib.colors import BoundaryNorm
import torch

from .. import data, live_vae, pixels, viz, widgets
from ..experiments.vae import ToyRun, gap_table
from ..linear_gaussian import LinearGaussian

__all__ = ["ZEXT", "mean_figure", "elbo_gap_slider", "latent_figure", "reconstruction_figure",
           "traversal_slider", "beta_slider", "iwae_figure"]

ZEXT = (-3.0, 3.0, -3.0, 3.0)  # latent-space box


def _box(extent):
    """The data-space box of the figures: ``extent``, or the moons' plotting box."""
    return tuple(extent) if extent is not None else data.make("moons").box


def _settle(axes, moving) -> None:
    """Freeze each axes' fixed artists (all but ``moving`` and the titles) and pin its axis labels."""
    for ax in axes:
        pixels.freeze(ax, [*moving, *pixels.titles(ax)])
        pixels.pin_labels(ax)


def mean_figure(u, y, grid, pred):
    fig, ax = viz.figure(1, width=5.6, height=3.2)
    viz.samples(ax, torch.stack([u, y], -1), color=viz.COLORS["p"], size=6, alpha=0.5, label="training pairs (u, y)")
    viz.curve(ax, grid, pred, role="q", label="MLP trained with MSE")
    viz.curve(ax, grid, torch.zeros_like(grid), role="grey", ls=":", lw=1.2, label="E[y | u] = 0")
    ax.set_aspect("auto")
    ax.set_xlabel("input u")
    ax.set_ylabel("target y")
    ax.set_ylim(-2, 2)
    ax.legend(loc="upper left", fontsize=8, ncols=3)
    viz.panel_title(ax, "a deterministic map fitted by MSE predicts the mean, where no target lies")
    return fig


def elbo_gap_slider(lg: LinearGaussian, x0: torch.Tensor, shifts=None, ratios=None) -> widgets.SliderDemo:
    """Sliders move q's mean and width away from the exact posterior p(z|x0): ELBO + KL = log p(x0)."""
    shifts = (-2.0, -1.0, 0.0, 1.0, 2.0) if shifts is None else tuple(shifts)
    ratios = (0.25, 0.5, 1.0, 2.0, 4.0) if ratios is None else tuple(ratios)
    elbo, kl, log_px = gap_table(lg, x0, shifts, ratios)
    fine_d = torch.linspace(-2.2, 2.2, 89, dtype=x0.dtype, device=x0.device)
    fine_r = torch.logspace(math.log10(0.2), math.log10(5.0), 81, dtype=x0.dtype, device=x0.device)
    _, kl_fine, _ = gap_table(lg, x0, fine_d, fine_r)
    elbo, kl, kl_fine, fine_d, fine_r = elbo.cpu(), kl.cpu(), kl_fine.cpu(), fine_d.cpu(), fine_r.cpu()
    img = kl_fine.T.numpy()
    log2_r = torch.log2(fine_r).numpy()
    # contour lines computed once (not per frame), in (shift, log2 ratio) coordinates
    levels = (0.1, 0.5, 1.0, 2.0)
    # the map in flat bands (edges at the contour levels and between): the same reading, and frames
    # whose PNGs are a third the size of a continuous shading's (this slider's 25 frames are inlined)
    bands = BoundaryNorm((0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0), 256, extend="max")
    cgen = contourpy.contour_generator(fine_d.numpy(), log2_r, img)
    contours = [line for level in levels for line in cgen.lines(level)]
    box = (fine_d[0].item(), fine_d[-1].item(), float(log2_r[0]), float(log2_r[-1]))
    post = lg.posterior(x0)
    m, s = post.mean[0, 0].item(), post.stddev[0, 0].item()
    zs = torch.linspace(m - 6, m + 6, 400, dtype=x0.dtype)
    lpx = log_px.item()

    def pdf(mean, std):
        return torch.distributions.Normal(mean, std).log_prob(zs).exp()

    q_pdfs = {(shift, ratio): pdf(m + shift * s, ratio * s).numpy() for shift in shifts for ratio in ratios}
    floor = -13.0

    def first(fig, shift, ratio):
        ax1, ax2, ax3 = widgets.panels(fig, 3, gridspec_kw={"width_ratios": [1.4, 0.9, 1.2]})
        viz.curve(ax1, zs, pdf(m, s), role="p", label="p(z | x₀), exact")
        viz.curve(ax1, zs, q_pdfs[shift, ratio], role="q", ls="--", label="q(z)")
        viz.curve(ax1, zs, pdf(0.0, 1.0), role="grey", ls=":", lw=1.2, label="prior p(z)")
        ax1.set_ylim(0, 2.0)
        ax1.set_xlim(zs[0].item(), zs[-1].item())
        ax1.set_xlabel("z")
        ax1.legend(loc="upper left", fontsize=8)
        elbo_bar = ax2.bar([0], [1.0], bottom=[floor], color=viz.COLORS["q"], width=0.6, label="ELBO")[0]
        kl_bar = ax2.bar([0], [1.0], bottom=[floor], color=viz.COLORS["q2"], width=0.6, hatch="///",  # not by colour alone
                         label="KL(q ‖ p(z|x₀))")[0]
        ax2.axhline(lpx, color=viz.COLORS["p"], lw=2, label="log p(x₀)")
        ax2.set_ylim(floor, 0)
        ax2.set_xlim(-0.8, 0.8)
        ax2.set_xticks([])
        ax2.set_ylabel("nats")
        ax2.legend(loc="upper left", fontsize=8)
        ax3.imshow(img, origin="lower", extent=box, aspect="auto", cmap=viz.DENSITY_CMAP, norm=bands,
                   interpolation="bilinear", interpolation_stage="data")
        for line in contours:
            ax3.plot(line[:, 0], line[:, 1], color="white", lw=0.7)
        marker = ax3.plot([shift], [math.log2(ratio)], "o", color=viz.COLORS["q"], ms=8, mec="white")[0]
        ax3.set_yticks([-2, -1, 0, 1, 2], ["¼", "½", "1", "2", "4"])
        ax3.set_xlabel("shift of q's mean (posterior std)")
        ax3.set_ylabel("q's std / posterior std")
        ax3.grid(False)
        viz.panel_title(ax3, "gap KL(q ‖ p(z|x₀)), 0 at the centre", y=1.0)
        handles = (ax1, ax2, ax1.lines[1], elbo_bar, kl_bar, marker)
        update(handles, shift, ratio)
        return handles

    def settle(handles):
        ax1, ax2, q_line, elbo_bar, kl_bar, marker = handles
        _settle((ax1, ax2, marker.axes), (q_line, elbo_bar, kl_bar, marker))

    def update(handles, shift, ratio):
        ax1, ax2, q_line, elbo_bar, kl_bar, marker = handles
        i, j = shifts.index(shift), ratios.index(ratio)
        q_line.set_ydata(q_pdfs[shift, ratio])
        viz.panel_title(ax1, f"q = N({m + shift * s:.2f}, {ratio * s:.2f}²)", y=1.0)
        e, k = elbo[i, j].item(), kl[i, j].item()
        elbo_bar.set_height(e - floor)
        kl_bar.set_y(e)
        kl_bar.set_height(k)
        viz.panel_title(ax2, f"ELBO {e:.2f} + KL {k:.2f} = {e + k:.2f}", y=1.0)
        marker.set_data([shift], [math.log2(ratio)])

    draw = pixels.staged(first, settle, update)
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the exact posterior p(z | x₀), the prior and a Gaussian q whose mean is shifted by {shift} posterior "
           "standard deviations and whose width is {ratio} times the posterior's; middle: bars showing that the ELBO plus "
           "KL(q ‖ p(z | x₀)) adds up to log p(x₀); right: that KL over both sliders, zero only at the posterior.")
    return widgets.slider(draw, figsize=(9.4, 2.8), dpi=80,  # 25 frames inlined in the page: kept light
                          shift=widgets.Param(shifts, "shift of q's mean", "{:+.1f}",
                                              start=shifts.index(1.0) if 1.0 in shifts else None),
                          ratio=widgets.Param(ratios, "q's std ratio", "{:g}",
                                              start=ratios.index(0.5) if 0.5 in ratios else None), alt=alt)


def latent_figure(x: torch.Tensor, latent: dict, extent=None):
    """Latent codes of the data and samples, for the autoencoder and one VAE (see ``latent_samples``).

    Args:
        x: ``(N, 2)`` data, in the order of the codes.
        latent: ``{name: (codes, samples, score)}`` from :func:`gencore.experiments.vae.latent_samples`.
        extent: data-space box; the moons' box when ``None``.
    """
    extent = _box(extent)
    fig, axes = viz.figure(4, width=2.9, height=2.9)
    colour = x[:, 0].cpu().numpy()
    t = torch.linspace(0, 2 * math.pi, 100)
    for col, (name, (codes, xs, sw)) in enumerate(latent.items()):
        codes, xs = codes.cpu(), xs.cpu()
        ax = axes[2 * col]
        ax.scatter(codes[:, 0], codes[:, 1], c=colour, cmap="viridis", s=3, alpha=0.6, linewidths=0)
        for r in (1, 2):
            ax.plot(r * t.cos(), r * t.sin(), color=viz.COLORS["grey"], lw=1, ls="--")
        lim = max(3.0, float(codes.abs().max()) * 1.05)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        viz.panel_title(ax, f"{name}: codes of the data")
        ax = axes[2 * col + 1]
        viz.samples(ax, x, color=viz.COLORS["p"], size=2, alpha=0.25)
        viz.samples(ax, xs, color=viz.COLORS["q"], size=3, alpha=0.5, extent=extent)
        viz.panel_title(ax, f"{name}: samples, SW₂ {sw:.2f}")
    axes[0].set_xlabel("z₁ (colour: x₁ of the data point)")
    return fig


def reconstruction_figure(run: ToyRun, x: torch.Tensor, vae_index: int, n_show: int = 60, extent=None):
    """Data points joined to their reconstructions f(μ(x)), for the autoencoder and one VAE."""
    extent = _box(extent)
    fig, axes = viz.figure(2, width=4.2, height=3.0)
    for ax, (i, name) in zip(axes, ((0, "autoencoder"), (vae_index, "VAE (β = 1)"))):
        one = run.model.select(i)
        with torch.no_grad():
            rec = one.decode_mean(one.encode(x[:n_show])[0])[0].cpu()
            mse = ((one.decode_mean(one.encode(x)[0])[0] - x) ** 2).sum(-1).mean().item()
        xh = x.cpu()
        viz.samples(ax, xh, color=viz.COLORS["p"], size=2, alpha=0.2)
        for a, b in zip(xh[:n_show], rec):
            ax.plot([a[0], b[0]], [a[1], b[1]], color=viz.COLORS["grey"], lw=0.8)
        viz.samples(ax, xh[:n_show], color=viz.COLORS["p"], size=10, alpha=0.9, label="x")
        viz.samples(ax, rec, color=viz.COLORS["q"], size=10, alpha=0.9, label="f(μ(x))", extent=extent)
        ax.legend(loc="lower left", fontsize=8)
        viz.panel_title(ax, f"{name}: reconstructions, MSE {mse:.4f}")
    return fig


def _decoded_lines(one, values, dim: int):
    """Decoder means along latent lines z_dim = v (the other coordinate sweeping [-2.5, 2.5])."""
    t = torch.linspace(-2.5, 2.5, 80, dtype=one.log_scale.dtype, device=one.log_scale.device)
    lines = []
    for v in values:
        z = torch.stack([t, torch.full_like(t, v)] if dim == 1 else [torch.full_like(t, v), t], -1)
        lines.append(one.decode_mean(z[None])[0].cpu())
    return lines


def _colors() -> dict:
    """The live views' colours, as the frames': data blue, decoded points red, the dragged point teal."""
    return {"ref": viz.COLORS["p"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"], "init": viz.COLORS["grey"]}


def traversal_slider(run: ToyRun, x: torch.Tensor, index: int, extent=None, live: bool = False):
    """Move a point z in the latent plane; see where the decoder sends it (mean and one-σ circle).

    With ``live=True`` the website's view is live (:func:`gencore.live_vae.decoder_live`: a thousand
    prior samples decoded in the reader's browser, any decoder noise, a draggable z); the frames
    stay the notebook's and the printed book's view."""
    extent = _box(extent)
    one = run.model.select(index)
    values = (-2.25, -1.5, -0.75, 0.0, 0.75, 1.5, 2.25)
    values2 = (-2.0, -1.0, 0.0, 1.0, 2.0)
    with torch.no_grad():
        codes = one.encode(x)[0][0].cpu()
        rows = _decoded_lines(one, values2, 1)   # z2 fixed, z1 sweeping
        cols = _decoded_lines(one, values, 2)    # z1 fixed, z2 sweeping
        s = one.scale.item()
        grid_z = torch.tensor([[a, b] for a in values for b in values2], dtype=x.dtype, device=x.device)
        decoded = one.decode_mean(grid_z[None])[0].cpu()
    x = x.cpu()
    t = torch.linspace(0, 2 * math.pi, 60)

    def first(fig, z1, z2):
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.scatter(codes[:, 0], codes[:, 1], c=x[:, 0].numpy(), cmap="viridis", s=3, alpha=0.4, linewidths=0)
        for r in (1, 2):
            ax1.plot(r * t.cos(), r * t.sin(), color=viz.COLORS["grey"], lw=1, ls="--")
        moving = [ax1.axhline(z2, color=viz.COLORS["q2"], lw=1.2), ax1.axvline(z1, color=viz.COLORS["aux"], lw=1.2),
                  ax1.plot([z1], [z2], "o", color=viz.COLORS["q"], ms=9, mec="white")[0]]
        ax1.set_xlim(ZEXT[0], ZEXT[1])
        ax1.set_ylim(ZEXT[2], ZEXT[3])
        ax1.set_aspect("equal")
        ax1.set_xlabel("z₁")
        ax1.set_ylabel("z₂")
        viz.panel_title(ax1, "latent space: codes μ(x) of the data", y=1.0)
        viz.samples(ax2, x, color=viz.COLORS["p"], size=2, alpha=0.2)
        moving += [ax2.plot([], [], color=viz.COLORS["q2"], lw=1.5, label="z₂ fixed, z₁ ∈ [−2.5, 2.5]")[0],
                   ax2.plot([], [], color=viz.COLORS["aux"], lw=1.5, ls="--", label="z₁ fixed, z₂ ∈ [−2.5, 2.5]")[0],
                   ax2.plot([], [], color=viz.COLORS["q"], lw=1)[0],
                   ax2.plot([], [], "o", color=viz.COLORS["q"], ms=9, mec="white", label="f(z), circle: one σ")[0]]
        ax2.set_xlim(extent[0], extent[1])
        ax2.set_ylim(extent[2], extent[3])
        ax2.set_aspect("equal")
        update((ax2, moving), z1, z2)
        ax2.legend(loc="lower left", fontsize=7)
        return ax2, moving

    def settle(handles):
        ax2, moving = handles
        _settle(ax2.figure.axes, moving)

    def update(handles, z1, z2):
        ax2, (hline, vline, point, row, col, circle, image) = handles
        hline.set_ydata([z2, z2])
        vline.set_xdata([z1, z1])
        point.set_data([z1], [z2])
        i, j = values.index(z1), values2.index(z2)
        row.set_data(rows[j][:, 0], rows[j][:, 1])
        col.set_data(cols[i][:, 0], cols[i][:, 1])
        f = decoded[i * len(values2) + j]
        circle.set_data(f[0] + s * t.cos(), f[1] + s * t.sin())
        image.set_data([f[0]], [f[1]])
        viz.panel_title(ax2, f"data space: f(z) = ({f[0]:.2f}, {f[1]:.2f})", y=1.0)

    draw = pixels.staged(first, settle, update)
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the latent plane with the data's codes μ(x) and the point z = ({z1}, {z2}); right: the data "
           "with the decoder's mean f(z), a circle of one decoder σ around it, and the curves it traces "
           "when one coordinate of z moves and the other stays fixed.")
    demo = widgets.slider(draw, figsize=(9.6, 3.4),
                          z1=widgets.Param(values, "z₁", "{:+.2f}", start=values.index(0.75)),
                          z2=widgets.Param(values2, "z₂", "{:+.1f}", start=values2.index(0.0)), alt=alt)
    if not live:
        return demo
    return live_vae.decoder_live(demo, one, x, extent, zext=ZEXT, colors=_colors())


def beta_slider(run: ToyRun, x: torch.Tensor, stats: dict, extent=None, live: bool = False):
    """Slide over the β-VAEs (trained once): latent codes, prior samples and KL per latent dimension.

    With ``live=True`` the website's view is live (:func:`gencore.live_vae.decoder_live`: every β > 0
    model's decoder in one exported graph, any decoder noise, a draggable latent point).

    ``stats`` is :func:`gencore.experiments.vae.beta_stats`: ``"kl_dims"`` ``(M, 2)``, ``"elbo"`` and
    ``"log_lik"`` ``(M,)``, ``"samples"`` ``(M, n, 2)``.
    """
    extent = _box(extent)
    betas = [float(b) for b in run.betas]
    idx = [i for i, b in enumerate(betas) if b > 0]
    with torch.no_grad():
        codes = run.model.encode(x)[0].cpu()
    samples = stats["samples"].cpu()
    kl = stats["kl_dims"].cpu()
    elbo, log_lik = stats["elbo"].cpu(), stats["log_lik"].cpu()
    x = x.cpu()
    bvals = torch.tensor([betas[i] for i in idx])
    t = torch.linspace(0, 2 * math.pi, 100)

    def first(fig, beta):
        ax1, ax2, ax3 = widgets.panels(fig, 3)
        ax1.scatter(codes[0, :, 0], codes[0, :, 1], c=x[:, 0].numpy(), cmap="viridis", s=3, alpha=0.5, linewidths=0)
        for r in (1, 2):
            ax1.plot(r * t.cos(), r * t.sin(), color=viz.COLORS["grey"], lw=1, ls="--")
        ax1.set_xlim(-3.5, 3.5)
        ax1.set_ylim(-3.5, 3.5)
        ax1.set_aspect("equal")
        ax1.set_xlabel("z₁")
        viz.samples(ax2, x, color=viz.COLORS["p"], size=2, alpha=0.2)
        viz.samples(ax2, samples[0], color=viz.COLORS["q"], size=3, alpha=0.4, extent=extent)
        for k, role in ((0, "q"), (1, "aux")):
            ax3.plot(bvals, kl[idx, k], ("o-", "s--")[k], color=viz.COLORS[role], label=f"KL for z{'₁₂'[k]}")
        marker = ax3.axvline(beta, color=viz.COLORS["grey"], lw=1)
        ax3.set_xscale("log", base=2)
        ax3.set_xticks(bvals.tolist(), [f"{b:g}" for b in bvals.tolist()])
        ax3.set_xlabel("β")
        ax3.set_ylabel("nats")
        ax3.set_ylim(-0.2, max(6.0, float(kl[idx].max()) + 0.5))
        ax3.legend(loc="upper right", fontsize=8)
        handles = (ax1, ax2, ax3, ax1.collections[0], ax2.collections[1], marker)
        update(handles, beta)
        return handles

    def settle(handles):
        _settle(handles[:3], handles[3:])

    def update(handles, beta):
        ax1, ax2, ax3, code_points, sample_points, marker = handles
        i = betas.index(beta)
        code_points.set_offsets(codes[i].numpy())
        viz.panel_title(ax1, f"β = {beta:g}: codes μ(x)", y=1.0)
        sample_points.set_offsets(samples[i].numpy())
        viz.panel_title(ax2, f"samples; ELBO {elbo[i]:.2f}, log p {log_lik[i]:.2f}", y=1.0)
        marker.set_xdata([beta, beta])
        viz.panel_title(ax3, f"KL per dim: {kl[i, 0]:.2f}, {kl[i, 1]:.2f}", y=1.0)

    draw = pixels.staged(first, settle, update)

    labels = tuple(betas[i] for i in idx)
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("For the β-VAE trained with β = {beta}: left, the codes μ(x) of the data; middle, decoded samples "
           "from the prior with the ELBO and log-likelihood; right, the KL of each latent dimension against β.")
    demo = widgets.slider(draw, figsize=(11.0, 3.4),
                          beta=widgets.Param(labels, "β", "{:g}", start=labels.index(1.0)), alt=alt)
    if not live:
        return demo
    return live_vae.decoder_live(demo, run.model.select(idx), x, extent, labels=tuple(f"{b:g}" for b in labels),
                                 start_model=labels.index(1.0), zext=(-3.5, 3.5, -3.5, 3.5), colors=_colors())


def iwae_figure(curve: dict):
    """The importance-weighted bound against the number of samples S, between the exact ELBO and log p(x).

    ``curve`` is :func:`gencore.experiments.vae.iwae_curve`'s result; error bars are two standard errors.
    """
    sizes, bound, se = curve["sizes"], curve["bound"], curve["se"]
    fig, ax = viz.figure(1, width=5.6, height=3.2)
    ax.errorbar(sizes.numpy(), bound.numpy(), yerr=2 * se.numpy(), color=viz.COLORS["q"], marker="o",
                ms=4, capsize=3, label="importance-sampled bound $\\mathcal{L}_S$ (mean ± 2 s.e.)")
    ax.axhline(curve["log_px"], color=viz.COLORS["p"], lw=1.5, label="log p_θ(x), by quadrature")
    ax.axhline(curve["elbo"], color=viz.COLORS["grey"], ls=":", lw=1.5, label="ELBO, by Gauss–Hermite")
    ax.set_xscale("log")
    ax.set_aspect("auto")
    ax.set_xlabel("number of importance samples S")
    ax.set_ylabel("nats (mean over the points)")
    ax.legend(loc="center right", fontsize=8)
    viz.panel_title(ax, "more samples tighten the bound from the ELBO (S = 1) up to log p(x)")
    return fig
