"""Chapter 6's figures and sliders (DDPM and DDIM): they draw what :mod:`gencore.experiments.diffusion` returns.

Book: ``book/06_diffusion.ipynb``.
"""
from __future__ import annotations

import torch

from .. import diffusion as D
from .. import live, live_diffusion, viz, widgets
from ..experiments.diffusion import EXTENT, Quality, grid_log_prob, kl_smoothed
from ..experiments.diffusion_exact import ReverseJump
from ..tensors import noise
from ..train import History

__all__ = ["forward_slider", "reverse_slider", "ddim_slider", "samples_figure", "weights_figure", "loss_figure",
           "quality_figure", "chains_figure", "reverse_jump_figure"]


# ---- figures ------------------------------------------------------------------------------------
def _marginal_images(schedule: D.NoiseSchedule, data, ts, resolution: int = 96) -> dict[int, object]:
    """The exact density of :math:`q(x_t)` on the plotting grid for each ``t``, computed once for a slider."""
    return {t: torch.exp(grid_log_prob(D.marginal(schedule, data, t), EXTENT, resolution)).cpu().numpy() for t in ts}


def _heatmap(ax, image) -> None:
    """A precomputed density image drawn as :func:`gencore.viz.density` draws one (a slider frame only plots it)."""
    ax.imshow(image, origin="lower", extent=EXTENT, cmap=viz.DENSITY_CMAP, vmin=0.0, aspect="equal",
              interpolation="bilinear")
    ax.set_xlim(EXTENT[0], EXTENT[1])
    ax.set_ylim(EXTENT[2], EXTENT[3])
    ax.grid(False)


def forward_slider(schedule: D.NoiseSchedule, data, x0: torch.Tensor, ts=None, generator=None, live: bool = False):
    """Slider over ``t``: samples :math:`x_t` of the forward process beside the exact density of :math:`q(x_t)`.

    Every frame's samples and density image are computed here, once; a frame only plots them.
    With ``live=True`` the website's view is live (:func:`gencore.live_diffusion.forward_live`:
    the chain run step by step in the reader's browser to any t, a dragged x_0 with
    its noisy path); the notebook and the printed book keep this slider.
    """
    ts = ts or (0, 10, 25, 50, 75, 100, 150, 200, 300, 400, 600, 1000)
    eps = noise(x0.shape, x0, generator)
    frames = {t: D.q_sample(schedule, x0, t, eps) for t in ts}
    images = _marginal_images(schedule, data, ts)

    def draw(fig, t):
        ax1, ax2 = widgets.panels(fig, 2)
        viz.samples(ax1, frames[t], color=viz.COLORS["p"], extent=EXTENT, size=3)
        viz.panel_title(ax1, f"samples x_t, t = {t}")
        _heatmap(ax2, images[t])
        ab = schedule.alpha_bars[t].item()
        viz.panel_title(ax2, f"q(x_t) exactly; ᾱ_t = {ab:.3g}")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: samples x_t of the forward noising process at step t = {t}, starting from the two moons; "
           "right: the exact density q(x_t). As t grows the moons blur into one standard Gaussian.")
    demo = widgets.slider(draw, figsize=(9.0, 3.4), t=widgets.Param(tuple(ts), "t", "{}", start=3), alt=alt)
    if not live:
        return demo
    colors = {"ref": viz.COLORS["grey"], "x": viz.COLORS["p"], "path": viz.COLORS["aux"]}  # as the frames
    return live_diffusion.forward_live(demo, schedule, x0, EXTENT, colors)


def reverse_slider(schedule: D.NoiseSchedule, data, path: torch.Tensor, ts=None, n_lines: int = 8, stride: int = 10,
                   tail: int = 100, model=None, ref: torch.Tensor | None = None):
    """Slider over ``t``: the reverse chain's states :math:`x_t` (from a DDPM ``path`` of shape
    ``(T + 1, N, 2)``, ``path[k]`` = :math:`x_{T-k}`) over the exact :math:`q(x_t)`, with a few trajectories.

    The densities (at ``t = 0`` the data's own) are computed here, once; a frame only plots them.
    Given the denoiser ``model`` and data points ``ref`` too, the website's view is live
    (:func:`gencore.live_diffusion.reverse_live`: the chain with η = 1 on 20 of the T steps,
    stopped at any of them, a dragged x_T with its path); the notebook and print keep this slider.
    """
    if (model is None) != (ref is None):
        raise ValueError("a live view needs both model and ref (or neither, for the frames only)")
    T = schedule.T
    ts = ts or (1000, 600, 400, 300, 200, 150, 100, 75, 50, 25, 10, 0)
    images = _marginal_images(schedule, data, ts)

    def draw(fig, t):
        ax = widgets.panels(fig, 1)
        _heatmap(ax, images[t])
        x = path[T - t]
        viz.samples(ax, x, color="white", size=3, alpha=0.6, extent=EXTENT)
        start = max(0, T - t - tail)  # only the last `tail` steps of each tracked path
        keep = list(range(start, T - t + 1, stride)) + ([T - t] if (T - t - start) % stride else [])
        viz.trajectories(ax, path[keep, :n_lines], color=viz.COLORS["aux"], alpha=0.9)
        viz.panel_title(ax, f"reverse chain at t = {t} over the exact q(x_t); tails: last {tail} steps")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Points of the reverse (denoising) chain at step t = {t}, each with a tail of its last steps, over "
           "the exact density q(x_t): going down to t = 0 they move from a Gaussian onto the two moons.")
    demo = widgets.slider(draw, figsize=(5.6, 4.0), t=widgets.Param(tuple(ts), "t", "{}", start=0), alt=alt)
    if model is None:
        return demo
    colors = {"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"]}
    return live_diffusion.reverse_live(demo, model, schedule, ref, EXTENT, colors)


def ddim_slider(runs: dict, ref: torch.Tensor, model=None, schedule: D.NoiseSchedule | None = None):
    """Slider over DDIM's ``eta`` and step count: the samples of :func:`gencore.experiments.diffusion.ddim_runs`
    (``runs[eta, steps] = (samples, sliced W2)``) over the data sample ``ref``.

    Given the denoiser ``model`` and its ``schedule`` too, the website's view is live
    (:func:`gencore.live.ddim_live`: any eta in [0, 1], 2 to 100 steps, a draggable x_T, computed
    in the reader's browser); the notebook and the printed book keep this slider."""
    if (model is None) != (schedule is None):
        raise ValueError("a live view needs both model and schedule (or neither, for the frames only)")
    etas, steps = sorted({e for e, _ in runs}), sorted({s for _, s in runs})

    def draw(fig, eta, steps):
        x, sw = runs[eta, steps]
        ax = widgets.panels(fig, 1)
        viz.samples(ax, ref, color=viz.COLORS["grey"], size=2, alpha=0.3, extent=EXTENT)
        viz.samples(ax, x, color=viz.COLORS["q"], size=3, alpha=0.6, extent=EXTENT)
        viz.panel_title(ax, f"η = {eta:g}, {steps} steps: sliced W2 = {sw:.3f}")

    def alt(eta, steps):  # the frame's text alternative, with the distance its title prints
        return (f"DDIM samples with η = {eta:g} and {steps} steps over a pale backdrop of the two-moons data; "
                f"sliced W2 distance to the data {float(runs[eta, steps][1]):.3f}.")

    demo = widgets.slider(draw, figsize=(5.6, 4.0), eta=widgets.Param(tuple(etas), "η", "{:g}", start=0),
                          steps=widgets.Param(tuple(steps), "steps", "{}", start=1), alt=alt)
    demo.runs = runs
    if model is None:
        return demo
    colors = {"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"]}  # as the frames
    shown = live.ddim_live(demo, model, schedule, ref, EXTENT, colors)
    shown.runs = runs
    return shown


def samples_figure(panels: dict[str, torch.Tensor], data):
    """One panel per named sample set, each titled with its smoothed KL (:func:`kl_smoothed`) to the data."""
    fig, axes = viz.figure(len(panels), width=3.4, height=2.8)
    for ax, (name, x) in zip(axes, panels.items()):
        viz.samples(ax, x, color=viz.COLORS["p" if name.startswith("data") else "q"], extent=EXTENT)
        viz.panel_title(ax, f"{name}: KL_h = {kl_smoothed(data, x):.3f}")
    return fig


def weights_figure(schedule: D.NoiseSchedule):
    """The weight of each ``L_{t-1}`` in the bound, for both choices of sigma_t^2, against the simple loss's 1."""
    t = torch.arange(2, schedule.T + 1)
    fig, ax = viz.figure(1, width=5.2, height=3.2)
    viz.curve(ax, t, D.vlb_weight(schedule, t, "beta_tilde"), role="q", label="σ_t² = β̃_t")
    viz.curve(ax, t, D.vlb_weight(schedule, t, "beta"), role="aux", label="σ_t² = β_t", ls="--")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.text(schedule.T, 1.1, "simple loss: 1 ", ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.legend()
    viz.panel_title(ax, "weight β_t² / (2σ_t² α_t (1 − ᾱ_t)) of ‖ε − ε_θ‖²")
    return fig


def loss_figure(history: History, floor: float, window: int = 100):
    """Training loss (running mean) against the lowest loss any network can reach."""
    loss = torch.tensor(history.loss)
    smooth = loss.unfold(0, window, 1).mean(1)
    fig, ax = viz.figure(1, width=5.2, height=3.0)
    viz.curve(ax, torch.arange(window, len(loss) + 1), smooth, role="q", label=f"simple loss ({window}-step mean)")
    ax.axhline(floor, color="k", lw=0.8, ls=":")
    ax.text(len(loss), floor, f"E‖ε − ε*‖² = {floor:.3f} ", ha="right", va="top", fontsize=8)  # below: the curve is above
    ax.set_ylim(floor - 0.05, floor + 0.35)
    ax.set_xlabel("step")
    ax.legend()
    viz.panel_title(ax, "Algorithm 1 on moons")
    return fig


def quality_figure(q: Quality):
    """Sliced W2 and smoothed KL against the number of steps, with the data-vs-data floors."""
    fig, axes = viz.figure(2, width=4.2, height=3.0)
    for ax, values, floor, name in ((axes[0], q.sw, q.floor_sw, "sliced W2"), (axes[1], q.kl, q.floor_kl, "KL_h (nats)")):
        viz.curve(ax, q.steps, values["DDPM"], role="q", label="DDPM (η = 1)", marker="o")
        viz.curve(ax, q.steps, values["DDIM"], role="aux", label="DDIM (η = 0)", marker="s")
        ax.axhline(floor.mean, color="k", lw=0.8, ls=":")
        ax.axhspan(floor.mean - 2 * floor.sd, floor.mean + 2 * floor.sd, color="k", alpha=0.08, lw=0)
        ax.text(q.steps[0], floor.mean, " data vs data (± 2 sd)", va="bottom", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sampling steps")
        viz.panel_title(ax, f"{name}, {q.n} samples")
    axes[0].legend()
    return fig


def chains_figure():
    """The two chains as a graphical model: the fixed forward q (right, above) and the learned reverse p_theta (left, below)."""
    import matplotlib.patches as mpatches

    names = ["x_0", "x_1", "…", "x_{t-1}", "x_t", "…", "x_T"]
    fig, ax = viz.figure(1, width=8.0, height=2.4)
    xs = [1.4 * i for i in range(len(names))]
    for x, n in zip(xs, names):
        if n != "…":
            ax.add_patch(mpatches.Circle((x, 0), 0.36, fc="white", ec="k", lw=1.2, zorder=2))
        ax.text(x, 0, f"${n}$" if n != "…" else n, ha="center", va="center", fontsize=12, zorder=3)
    for a, b in zip(xs[:-1], xs[1:]):
        ax.annotate("", (b - 0.3, 0.2), (a + 0.3, 0.2), arrowprops=dict(arrowstyle="->", color=viz.COLORS["p"],
                                                                        lw=1.6, connectionstyle="arc3,rad=-0.45"))
        ax.annotate("", (a + 0.3, -0.2), (b - 0.3, -0.2), arrowprops=dict(arrowstyle="->", color=viz.COLORS["q"],
                                                                         lw=1.6, connectionstyle="arc3,rad=-0.45"))
    mid = (xs[3] + xs[4]) / 2
    ax.text(mid, 0.78, r"$q(x_t \mid x_{t-1}) = \mathcal{N}(\sqrt{\alpha_t}\,x_{t-1}, \beta_t I)$ (fixed)",
            ha="center", color=viz.COLORS["p"], fontsize=10)
    ax.text(mid, -0.95, r"$p_\theta(x_{t-1} \mid x_t) = \mathcal{N}(\mu_\theta(x_t, t), \sigma_t^2 I)$ (learned)",
            ha="center", color=viz.COLORS["q"], fontsize=10)
    ax.text(xs[0], -0.62, "data", ha="center", fontsize=9)
    ax.text(xs[-1], -0.62, r"$\mathcal{N}(0, I)$", ha="center", fontsize=9)
    ax.set_xlim(-0.6, xs[-1] + 0.6)
    ax.set_ylim(-1.15, 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def reverse_jump_figure(rows: list[ReverseJump]):
    """The exact q(x_s | x_t) of each jump on its own grid, with the 1- and 2-sd ellipses of its best Gaussian."""
    import numpy as np

    fig, axes = viz.figure(len(rows), width=3.0, height=3.1)
    for ax, r in zip(np.atleast_1d(axes), rows):
        viz.density_image(ax, r.density, r.extent)
        vals, vecs = torch.linalg.eigh(r.cov)
        u = torch.linspace(0, 2 * torch.pi, 200, dtype=r.cov.dtype)
        circle = torch.stack([u.cos(), u.sin()], -1)
        for k in (1, 2):
            e = (r.mean + k * circle * vals.sqrt() @ vecs.T).numpy()
            ax.plot(e[:, 0], e[:, 1], color="white", lw=0.9, ls="--" if k == 2 else "-")
        ax.tick_params(labelsize=7)
        viz.panel_title(ax, f"{r.t - r.s} step{'s' if r.t - r.s > 1 else ''}: q(x_{r.s} | x_{r.t}), KL = {r.kl_gauss:.3f}")
    return fig
