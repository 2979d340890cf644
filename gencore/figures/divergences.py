"""Figures and slider demos of chapter 1 (KL divergence): they take results and draw them.

The fits and curves they show come from :mod:`gencore.experiments.divergences`.

Book: ``book/01_kl.ipynb``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D

from .. import divergences as D
from .. import live_divergences, pixels, viz, widgets
from ..experiments import divergences as run
from ..experiments.divergences import XS

__all__ = ["gaussian_pair_slider", "separation_slider", "mle_figure", "jsd_kl_figure", "factorized_figure",
           "factorized_slider"]


def _area(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The polygon ``fill_between(x, y, 0)`` fills, as ``(2G + 2, 2)`` vertices."""
    return np.concatenate([[[x[0], 0.0]], np.column_stack([x, y]), [[x[-1], 0.0]], np.column_stack([x[::-1], 0 * x])])


def _note(text: str, x: float = 0.02, y: float = 0.95):
    """A fixed note in axes coordinates, as a picture painted once (:class:`gencore.pixels.Stamp`)."""
    return pixels.Stamp(zorder=3, paint=lambda ax: ax.text(x, y, text, transform=ax.transAxes, va="top", fontsize=8))


def gaussian_pair_slider(mus=None, sigmas=None) -> widgets.SliderDemo:
    """p = N(0, 1) fixed, q = N(μ, σ²) on sliders; both KL integrands shaded and integrated.

    Every frame's curves, integrands, KL values and legend are computed here once.
    """
    mus = [round(-3 + 0.75 * i, 2) for i in range(9)] if mus is None else mus
    sigmas = [0.5, 0.75, 1.0, 1.5, 2.0] if sigmas is None else sigmas
    xs, log_p, frames = XS.numpy(), run.normal_log_prob(0.0, 1.0), {}
    p = log_p.exp()
    for mu in mus:
        for sigma in sigmas:
            log_q = run.normal_log_prob(mu, sigma)
            q = log_q.exp()
            fwd, rev = (p * (log_p - log_q)).numpy(), (q * (log_q - log_p)).numpy()  # the two KL integrands
            frames[mu, sigma] = dict(
                q=q.numpy(), fwd=fwd, rev=rev, areas=(_area(xs, fwd), _area(xs, rev)),
                titles=tuple(pixels.title_stamp(f"{name} = {D.kl_normal(*a, *b).item():.3f} nats")
                             for name, a, b in (("KL(p‖q)", (0.0, 1.0), (mu, sigma)), ("KL(q‖p)", (mu, sigma), (0.0, 1.0)))),
                legend=pixels.legend_stamp([("p = N(0, 1)", dict(color=viz.COLORS["p"])),
                                         (f"q = N({mu:g}, {sigma:g}²)", dict(color=viz.COLORS["q"], ls="--"))]))
    p_host, made = p.numpy(), {}

    def setup(ax1, ax2, ax3):  # once per set of axes: limits, labels, notes, legend
        ax1.set_xlim(-6, 6)
        ax1.set_ylim(0, 0.85)
        for ax in (ax2, ax3):
            ax.set_ylim(-0.5, 2.5)
        for ax in (ax1, ax2, ax3):
            ax.set_xlabel("x")
        ax2.add_artist(_note("integrand p log(p/q)"))
        ax3.add_artist(_note("integrand q log(q/p)"))
        ax1.add_artist(pixels.Stamp(*pixels.title_stamp("densities"), outside=True))
        first = frames[mus[0], sigmas[0]]
        made.update(axes=(ax1, ax2, ax3), legend=ax1.add_artist(pixels.Stamp(*first["legend"])),
                    titles=[ax.add_artist(pixels.Stamp(*t, outside=True)) for ax, t in zip((ax2, ax3), first["titles"])])

    def draw(fig, mu, sigma):
        frame = frames[mu, sigma]
        ax1, ax2, ax3 = widgets.panels(fig, 3, sharex=True)
        if made.get("axes") != (ax1, ax2, ax3):
            setup(ax1, ax2, ax3)
        ax1.add_artist(Line2D(xs, p_host, color=viz.COLORS["p"]))
        ax1.add_artist(Line2D(xs, frame["q"], color=viz.COLORS["q"], ls="--"))
        made["legend"].show(frame["legend"])
        for ax, integrand, area, role, title, picture in zip((ax2, ax3), (frame["fwd"], frame["rev"]), frame["areas"], "pq",
                                                            made["titles"], frame["titles"]):
            ax.add_collection(PolyCollection([area], color=viz.COLORS[role], alpha=0.25, lw=0),
                              autolim=False)
            ax.add_artist(Line2D(xs, integrand, color=viz.COLORS[role], lw=1.2))
            ax.add_artist(Line2D([0, 1], [0, 0], transform=ax.get_yaxis_transform(), color="k", lw=0.6))
            title.show(picture)

    def alt(mu, sigma):  # the frame's text alternative, with the divergences its titles print
        fwd, rev = D.kl_normal(0.0, 1.0, mu, sigma).item(), D.kl_normal(mu, sigma, 0.0, 1.0).item()
        return (f"Left: p = N(0, 1) (solid) and q = N({mu:g}, {sigma:g}²) (dashed); middle and right: the "
                f"integrands p log(p/q) and q log(q/p), whose shaded areas are KL(p‖q) = {fwd:.3f} nats and "
                f"KL(q‖p) = {rev:.3f} nats: the two differ unless q is p.")

    demo = widgets.slider(
        draw,
        figsize=(8.6, 2.9),
        mu=widgets.Param(tuple(mus), "μ of q", "{:+.2f}", start=len(mus) // 2 + 2),
        sigma=widgets.Param(tuple(sigmas), "σ of q", "{:.2f}", start=min(1, len(sigmas) - 1)),
        alt=alt,
    )
    # on the website: any μ and σ, computed in the reader's browser (gencore.live_divergences)
    return live_divergences.gaussian_pair_live(demo, {"p": viz.COLORS["p"], "q": viz.COLORS["q"]})


def separation_slider(fits: run.ReverseFits) -> widgets.SliderDemo:
    """Slider over the separation d: the target, its forward-KL and reverse-KL fits, and the KLs.

    The curves of every separation and both legends are computed here once.
    """
    seps = fits.separations.cpu()
    xs, grid = XS.numpy(), XS.to(seps)
    host = {name: tuple(v.cpu() for v in fit) for name, fit in (("forward", fits.forward), ("seek", fits.seek),
                                                                 ("centre", fits.centre))}
    curves = [(D.bimodal(d).log_prob(grid).exp().numpy(),
               *(run.normal_log_prob(host[k][0][i], host[k][1][i], grid).exp().numpy() for k in ("forward", "seek")))
              for i, d in enumerate(seps)]
    legend1 = pixels.legend_stamp([("target p", dict(color=viz.COLORS["p"])),
                                ("forward KL fit", dict(color=viz.COLORS["q"], ls="--")),
                                ("reverse KL fit", dict(color=viz.COLORS["q2"], ls="-."))])
    # each curve has its own line style too (a fit and its divergence share one), not only a colour
    legend2 = pixels.legend_stamp([("KL(q‖p), from a mode", dict(color=viz.COLORS["q2"], ls="-.")),
                                ("KL(q‖p), from the centre", dict(color=viz.COLORS["aux"])),
                                ("KL(p‖q), forward fit", dict(color=viz.COLORS["q"], ls="--"))], fontsize=8)
    kls = [(host["seek"][2].numpy(), "q2", "-."), (host["centre"][2].numpy(), "aux", "-"),
           (host["forward"][2].numpy(), "q", "--")]
    titles = [pixels.title_stamp(f"d = {d.item():.1f}: forward σ = {host['forward'][1][i].item():.2f}, "
                              f"reverse μ = {host['seek'][0][i].item():.2f}") for i, d in enumerate(seps)]
    made = {}

    def setup(ax1, ax2):  # once per pair of axes: limits, labels, the log 2 note, legends
        ax1.set_xlim(-7, 7)
        ax1.set_ylim(0, 0.45)
        ax1.set_xlabel("x")
        ax2.set_xlim(*_pad(float(seps[0]), float(seps[-1])))
        ax2.set_ylim(0, 2.0)
        ax2.set_xlabel("separation d")
        ax1.add_artist(pixels.Stamp(*legend1))
        ax2.add_artist(pixels.Stamp(*legend2))
        ax2.add_artist(pixels.Stamp(zorder=3, paint=lambda ax: ax.text(0.1, math.log(2) + 0.04, "log 2", fontsize=8)))
        ax2.add_artist(pixels.Stamp(*pixels.title_stamp("divergence reached"), outside=True))
        made.update(axes=(ax1, ax2), title=ax1.add_artist(pixels.Stamp(*titles[0], outside=True)))

    def draw(fig, d):
        i = int(torch.argmin((seps - d).abs()))
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        if made.get("axes") != (ax1, ax2):
            setup(ax1, ax2)
        target, forward, seek = curves[i]
        ax1.add_artist(Line2D(xs, target, color=viz.COLORS["p"]))
        ax1.add_artist(Line2D(xs, forward, color=viz.COLORS["q"], ls="--"))
        ax1.add_artist(Line2D(xs, seek, color=viz.COLORS["q2"], ls="-."))
        made["title"].show(titles[i])
        for kl, role, ls in kls:
            ax2.add_artist(Line2D(seps.numpy(), kl, color=viz.COLORS[role], ls=ls))
        ax2.add_artist(Line2D([0, 1], [math.log(2)] * 2, transform=ax2.get_yaxis_transform(), color="k", lw=0.8, ls=":"))
        ax2.add_artist(Line2D([seps[i].item()] * 2, [0, 1], transform=ax2.get_xaxis_transform(), color=viz.COLORS["grey"], lw=1))

    labels = tuple(float(d) for d in seps)
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: a two-mode target p with the modes d = {d} apart, its forward-KL Gaussian fit (one wide bump "
           "over both modes) and its reverse-KL fit (a narrow bump on one mode); right: the divergence each fit "
           "reaches against d, the reverse fit's levelling off at log 2 as the modes separate.")
    return widgets.slider(draw, figsize=(8.6, 3.2),
                          d=widgets.Param(labels, "separation d", "{:.1f}", start=len(labels) - 5), alt=alt)


def _pad(lo: float, hi: float, margin: float = 0.05) -> tuple[float, float]:
    """The limits matplotlib's autoscaling gives data from ``lo`` to ``hi`` (its 5% margins)."""
    return lo - margin * (hi - lo), hi + margin * (hi - lo)


def mle_figure(x, model, history, entropy_p, kl_floor):
    """Left: data and the fitted diagonal Gaussian. Right: held-out NLL against H(p) + KL(p‖q_θ)."""
    fig, (ax1, ax2) = viz.figure(2, width=4.6, height=3.6)
    viz.samples(ax1, x[:1500], color=viz.COLORS["p"], size=4, alpha=0.4, label="data from p")
    mu, sigma = model.mu.detach().cpu(), model.sigma.detach().cpu()
    t = torch.linspace(0, 2 * math.pi, 200, dtype=mu.dtype)
    for k in (1, 2):
        ring = mu + k * sigma * torch.stack([t.cos(), t.sin()], -1)
        ax1.plot(ring[:, 0], ring[:, 1], color=viz.COLORS["q"], lw=1.5, label="q_θ: 1σ, 2σ" if k == 1 else None)
    ax1.set_xlim(-4, 6)
    ax1.set_ylim(-5, 3)
    ax1.legend(loc="upper left")
    viz.panel_title(ax1, "maximum-likelihood fit of a diagonal Gaussian")
    steps, nll = history.metric("held-out NLL")
    _, bound = history.metric("H(p) + KL(p‖q)")
    viz.curve(ax2, steps, nll, role="q", label="held-out NLL (Monte Carlo)")
    viz.curve(ax2, steps, bound, role="p", ls="--", label="H(p) + KL(p‖q_θ) (closed form)")
    ax2.axhline(entropy_p + kl_floor, color="k", lw=0.8, ls=":")
    ax2.text(steps[-1], entropy_p + kl_floor, "H(p) + min KL ", ha="right", va="bottom", fontsize=8)
    ax2.set_xlabel("step")
    ax2.set_ylabel("nats")
    ax2.legend()
    viz.panel_title(ax2, "the loss is the forward KL, shifted by H(p)")
    return fig


def jsd_kl_figure(shifts, kl, jsd):
    """KL and JSD between N(0, 1) and N(d, 1) against the shift d (from :func:`gencore.experiments.divergences.jsd_versus_kl`)."""
    fig, ax = viz.figure(1, width=5.0, height=3.2)
    viz.curve(ax, shifts, kl, role="q", label="KL(p‖q) = d²/2")
    viz.curve(ax, shifts, jsd, role="p", label="JSD(p, q)")
    ax.axhline(math.log(2), color="k", lw=0.8, ls=":")
    ax.text(0.1, math.log(2) + 0.05, "log 2 ≈ 0.693", fontsize=8)
    ax.set_ylim(0, 3)
    ax.set_xlabel("shift d between the means")
    ax.set_ylabel("nats")
    ax.legend(loc="upper left")
    viz.panel_title(ax, "KL grows without bound; JSD saturates at log 2")
    return fig


def factorized_slider(mean, std, rhos) -> widgets.SliderDemo:
    """Slider over the correlation ρ of ``p = N(mean, Σ)`` (standard deviations ``std``): p's 1σ and 2σ
    ellipses and those of its forward- and reverse-KL diagonal fits (eq-kl-factorized-fits).

    Args:
        mean, std: ``(2,)``; rhos: the correlations to offer, each in ``(-1, 1)``.
    """
    mean, std = mean.detach().cpu().double(), std.detach().cpu().double()
    rhos = [float(r) for r in rhos]
    eye, t = torch.eye(2, dtype=torch.float64), torch.linspace(0, 2 * math.pi, 120, dtype=torch.float64)
    styles = (("p", "-", 2.0), ("q", "--", 2.0), ("q2", ":", 2.6))
    frames = []
    for r in rhos:
        cov = torch.outer(std, std) * (eye + r * (1 - eye))
        fwd, rev = D.factorized_fit(cov, "forward"), D.factorized_fit(cov, "reverse")
        rings = [(_ring(mean, c, k, t), style, k) for c, style in zip((cov, torch.diag(fwd), torch.diag(rev)), styles)
                 for k in (1, 2)]
        floor = -0.5 * math.log(1 - r * r)  # both floors in 2D (eq-kl-factorized-fits)
        title = (f"ρ = {r:.2f}: both floors {floor:.3f} nats\n"
                 f"s² forward ({fwd[0]:.2f}, {fwd[1]:.2f}), reverse ({rev[0]:.2f}, {rev[1]:.2f})")
        frames.append((rings, pixels.title_stamp(title)))
    legend = pixels.legend_stamp([("p", dict(color=viz.COLORS["p"], lw=2.0)),
                                  ("q by forward KL(p‖q)", dict(color=viz.COLORS["q"], ls="--", lw=2.0)),
                                  ("q by reverse KL(q‖p)", dict(color=viz.COLORS["q2"], ls=":", lw=2.6))], fontsize=7)
    made = {}

    def draw(fig, rho):
        i = min(range(len(rhos)), key=lambda j: abs(rhos[j] - rho))
        ax = widgets.panels(fig)
        if made.get("ax") is not ax:  # once per axes: limits, labels, the legend
            fig.subplots_adjust(left=0.12, right=0.97, bottom=0.11, top=0.83)
            ax.set_xlim(mean[0].item() - 4, mean[0].item() + 4)
            ax.set_ylim(mean[1].item() - 2.5, mean[1].item() + 3.5)
            ax.set_aspect("equal")
            ax.set_xlabel("x₁")
            ax.set_ylabel("x₂")
            ax.add_artist(pixels.Stamp(*legend))
            made.update(ax=ax, title=ax.add_artist(pixels.Stamp(*frames[0][1], outside=True)))
        rings, title = frames[i]
        for ring, (role, ls, lw), k in rings:
            ax.add_artist(Line2D(ring[:, 0], ring[:, 1], color=viz.COLORS[role], ls=ls, lw=lw if k == 1 else lw / 2))
        made["title"].show(title)

    alt = ("The correlated Gaussian p (solid ellipses at one and two standard deviations) with correlation "
           "{rho}, and its two diagonal-Gaussian fits: the forward-KL fit (dashed) is as wide as p's "
           "marginals and covers the empty corners; the reverse-KL fit (dotted) is as narrow as p's "
           "conditionals and stays inside p. The title gives both fits' variances and the common floor.")
    labels = tuple(rhos)
    return widgets.slider(draw, figsize=(4.8, 4.3), alt=alt,
                          rho=widgets.Param(labels, "correlation ρ", "{:.2f}",
                                            start=min(range(len(rhos)), key=lambda j: abs(rhos[j] - 0.8))))


def _ring(mean: torch.Tensor, cov: torch.Tensor, k: float, t: torch.Tensor) -> np.ndarray:
    """The ellipse ``(x − mean)ᵀ cov⁻¹ (x − mean) = k²``, as ``(len(t), 2)`` points."""
    return (mean + k * torch.stack([t.cos(), t.sin()], -1) @ torch.linalg.cholesky(cov).T).numpy()


def factorized_figure(mean, covs, forward_vars, reverse_vars):
    """One panel per covariance: p's 1σ and 2σ ellipses, and those of its forward- and reverse-KL diagonal fits.

    Args:
        mean: ``(2,)``; covs: ``(R, 2, 2)``; forward_vars, reverse_vars: ``(R, 2)`` the fitted variances
            (from :func:`gencore.divergences.factorized_fit`). Line styles, not colour alone, tell the three apart.
    """
    mean, covs = mean.detach().cpu(), covs.detach().cpu()
    fits = (("p", covs, "p", "-", 2.0), ("forward KL(p‖q)", torch.diag_embed(forward_vars.detach().cpu()), "q", "--", 2.0),
            ("reverse KL(q‖p)", torch.diag_embed(reverse_vars.detach().cpu()), "q2", ":", 2.6))
    fig, axes = viz.figure(len(covs), width=3.3, height=3.3, squeeze=False)
    t = torch.linspace(0, 2 * math.pi, 200, dtype=mean.dtype)
    for r, ax in enumerate(axes[0]):
        for label, c, role, ls, lw in fits:
            for k in (1, 2):
                ring = _ring(mean, c[r], k, t)
                ax.plot(ring[:, 0], ring[:, 1], color=viz.COLORS[role], ls=ls, lw=lw if k == 1 else lw / 2,
                        label=(label if label == "p" else f"q by {label}") if k == 1 else None)
        rho = (covs[r, 0, 1] / (covs[r, 0, 0] * covs[r, 1, 1]).sqrt()).item()
        floor = D.kl_mvn(mean, covs[r], mean, torch.diag_embed(forward_vars[r].detach().cpu())).item()
        ax.set_xlim(mean[0].item() - 4, mean[0].item() + 4)
        ax.set_ylim(mean[1].item() - 2.5, mean[1].item() + 3.5)
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        viz.panel_title(ax, f"ρ = {rho:.2f}: both floors {floor:.3f} nats")
    axes[0][0].set_ylabel("x₂")
    axes[0][0].legend(loc="upper left", fontsize=7)
    return fig
