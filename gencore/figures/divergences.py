"""Figures and slider demos of chapter 1 (KL divergence): they take results and draw them.

The fits and curves they show come from :mod:`gencore.experiments.divergences`.

Book: ``book/01_kl.ipynb``.
"""
from __future__ import annotations

import math

import torch

from .. import divergences as D
from .. import viz, widgets
from ..experiments import divergences as run
from ..experiments.divergences import XS

__all__ = ["gaussian_pair_slider", "separation_slider", "mle_figure", "jsd_kl_figure"]


def gaussian_pair_slider(mus=None, sigmas=None) -> widgets.SliderDemo:
    """p = N(0, 1) fixed, q = N(μ, σ²) on sliders; both KL integrands shaded and integrated."""
    mus = [round(-3 + 0.75 * i, 2) for i in range(9)] if mus is None else mus
    sigmas = [0.5, 0.75, 1.0, 1.5, 2.0] if sigmas is None else sigmas
    log_p = run.normal_log_prob(0.0, 1.0)
    p = log_p.exp()

    def draw(fig, mu, sigma):
        log_q = run.normal_log_prob(mu, sigma)
        q = log_q.exp()
        fwd, rev = D.kl_normal(0.0, 1.0, mu, sigma).item(), D.kl_normal(mu, sigma, 0.0, 1.0).item()
        ax1, ax2, ax3 = widgets.panels(fig, 3, sharex=True)
        viz.curve(ax1, XS, p, role="p", label="p = N(0, 1)")
        viz.curve(ax1, XS, q, role="q", label=f"q = N({mu:g}, {sigma:g}²)")
        ax1.set_ylim(0, 0.85)
        ax1.set_xlabel("x")
        ax1.legend(loc="upper left")
        viz.panel_title(ax1, "densities")
        for ax, (w, lw, lv), role, name, value in (
            (ax2, (p, log_p, log_q), "p", "KL(p‖q)", fwd),
            (ax3, (q, log_q, log_p), "q", "KL(q‖p)", rev),
        ):
            integrand = w * (lw - lv)
            viz.fill(ax, XS, integrand, role=role)
            viz.curve(ax, XS, integrand, role=role, lw=1.2)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_ylim(-0.5, 2.5)
            viz.panel_title(ax, f"{name} = {value:.3f} nats")
            ax.set_xlabel("x")
        ax1.set_xlim(-6, 6)
        ax2.text(0.02, 0.95, "integrand p log(p/q)", transform=ax2.transAxes, va="top", fontsize=8)
        ax3.text(0.02, 0.95, "integrand q log(q/p)", transform=ax3.transAxes, va="top", fontsize=8)

    return widgets.slider(
        draw,
        figsize=(8.6, 2.9),
        mu=widgets.Param(tuple(mus), "μ of q", "{:+.2f}", start=len(mus) // 2 + 2),
        sigma=widgets.Param(tuple(sigmas), "σ of q", "{:.2f}", start=min(1, len(sigmas) - 1)),
    )


def separation_slider(fits: run.ReverseFits) -> widgets.SliderDemo:
    """Slider over the separation d: the target, its forward-KL and reverse-KL fits, and the KLs."""
    seps = fits.separations

    def draw(fig, d):
        i = int(torch.argmin((seps - d).abs()))
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        viz.curve(ax1, XS, D.bimodal(seps[i]).log_prob(XS).exp(), role="p", label="target p")
        for (mu, sigma, _), role, name in ((fits.forward, "q", "forward KL fit"), (fits.seek, "q2", "reverse KL fit")):
            viz.curve(ax1, XS, run.normal_log_prob(mu[i], sigma[i]).exp(), role=role, label=name, ls="--")
        ax1.set_xlim(-7, 7)
        ax1.set_ylim(0, 0.45)
        ax1.legend(loc="upper left")
        viz.panel_title(ax1, f"d = {seps[i].item():.1f}: forward σ = {fits.forward[1][i].item():.2f}, "
                             f"reverse μ = {fits.seek[0][i].item():.2f}")
        ax1.set_xlabel("x")
        viz.curve(ax2, seps, fits.seek[2], role="q2", label="KL(q‖p), from a mode")
        viz.curve(ax2, seps, fits.centre[2], role="aux", label="KL(q‖p), from the centre")
        viz.curve(ax2, seps, fits.forward[2], role="q", label="KL(p‖q), forward fit")
        ax2.axhline(math.log(2), color="k", lw=0.8, ls=":")
        ax2.text(0.1, math.log(2) + 0.04, "log 2", fontsize=8)
        ax2.axvline(seps[i].item(), color=viz.COLORS["grey"], lw=1)
        ax2.set_ylim(0, 2.0)
        ax2.set_xlabel("separation d")
        ax2.legend(loc="upper left", fontsize=8)
        viz.panel_title(ax2, "divergence reached")

    labels = tuple(float(d) for d in seps)
    return widgets.slider(draw, figsize=(8.6, 3.2),
                          d=widgets.Param(labels, "separation d", "{:.1f}", start=len(labels) - 5))


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
