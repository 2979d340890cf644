"""Chapter 9's figures and sliders (flow matching and guidance): they draw what :mod:`gencore.experiments.flow_matching` returns.

Nothing here seeds: reference samples, noise and generators come from the notebook. Models and
tensors may live on any device: what a figure computes, it computes there; what it draws, it
copies to the host once. A slider builds its artists on its first frame and only updates their
data after (no model evaluation, no new artist per frame).

Book: ``book/09_flow_matching.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter

from .. import flow_matching as F
from .. import live_fm, metrics, pixels, viz, widgets
from ..data import GaussianMixture
from ..experiments.flow_matching import sample_labeled
from ..quadrature import grid

__all__ = ["EXTENT", "G_EXTENT", "paths_figure", "flow_slider", "steps_slider", "nfe_figure", "cfg_slider",
           "guidance_figure", "path_solver_figure", "reflow_figure"]

EXTENT = (-3.2, 3.2, -2.2, 2.2)  # the plotting box for "moons" (as in chapter 6)
G_EXTENT = (-3.0, 3.0, -3.0, 3.0)  # the plotting box of the guidance mixture


def _host(x) -> np.ndarray:
    """A tensor (any device) as a float64 NumPy array, for drawing."""
    return x.detach().to("cpu", torch.float64).numpy()


def _unit(v: np.ndarray) -> np.ndarray:
    """Arrows of unit length, as :func:`gencore.viz.arrows` draws them."""
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-12)



# ---- figures -------------------------------------------------------------------------------------
def paths_figure(mix: GaussianMixture, n: int = 12, generator=None):
    """Left: straight conditional paths :math:`x_0 \\to x_1`. Right: the marginal flow (exact velocity) from the same :math:`x_0`.

    ``generator`` (the caller's) draws the pairs and the grey data points.
    """
    fig, axes = viz.figure(2, width=3.6, height=3.4)
    x0 = torch.randn(n, 2, generator=generator, dtype=torch.float64).to(mix.means)
    x1, _ = sample_labeled(mix, n, generator)
    ts = torch.linspace(0, 1, 21, dtype=torch.float64)
    straight = torch.stack([F.conditional_path(x0, x1, t.item())[0] for t in ts])
    v = lambda x, t: F.mixture_velocity(x, mix.means, mix.std, mix.weights, F.ot_coefficients(t))
    _, marginal = F.sample_ode(v, x0, 40, "midpoint", keep=True)
    start = _host(x0)
    for ax, paths, title in ((axes[0], straight, "conditional paths from x0 (squares) to x1 (dots)"),
                             (axes[1], marginal, "marginal flow from the same x0 (squares)")):
        viz.samples(ax, mix.sample((1500,), generator=generator), color=viz.COLORS["grey"], alpha=0.25)
        viz.trajectories(ax, paths, color=viz.COLORS["q"])
        ax.scatter(start[:, 0], start[:, 1], s=12, c=viz.COLORS["p"], marker="s", zorder=3)
        ax.set(xlim=G_EXTENT[:2], ylim=G_EXTENT[2:])
        viz.panel_title(ax, title)
    return fig


def flow_slider(model, ref: torch.Tensor, x0: torch.Tensor, n_steps: int = 40, every: int = 5):
    """Slider over time t: the learned flow's samples at t and its velocity field (a cheap frame: precomputed).

    ``ref``: data samples drawn in grey behind the flow. The path and the velocity on a 12 x 12
    grid at every frame's t are computed here, once (on ``x0``'s device, then copied to the host);
    a frame only moves the points and turns the arrows.
    """
    frames = list(range(0, n_steps + 1, every))
    ts = [round(i / n_steps, 3) for i in frames + ([n_steps] if frames[-1] != n_steps else [])]  # t = 1 is a frame
    pts, _ = grid(EXTENT, 12, dtype=x0.dtype, device=x0.device)
    with torch.no_grad():
        _, path = F.sample_ode(model, x0, n_steps, "midpoint", keep=True)
        fields = {t: _unit(_host(model(pts, pts.new_full((len(pts),), t)))) for t in ts}
    path = _host(path)

    def build(fig):
        ax = widgets.panels(fig, 1)
        viz.samples(ax, ref, color=viz.COLORS["grey"], alpha=0.15)
        viz.arrows(ax, pts, fields[ts[0]], color=viz.COLORS["grey"], normalize=False)
        arrows = ax.collections[-1]
        viz.samples(ax, path[0], size=5, alpha=0.7)
        ax.set(xlim=EXTENT[:2], ylim=EXTENT[2:])
        return ax, arrows, ax.collections[-1]

    def draw(fig, t):
        ax, arrows, points = pixels.reused(fig, build)
        arrows.set_UVC(fields[t][:, 0], fields[t][:, 1])
        points.set_offsets(path[round(t * n_steps)])
        viz.panel_title(ax, f"samples and velocity at t = {t:.2f}")
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Samples of the learned flow at time t = {t}, moving from Gaussian noise at t = 0 to the data "
           "at t = 1, with the velocity field as arrows.")
    return widgets.slider(draw, figsize=(5.2, 3.8), t=widgets.Param(ts, "time t", "{:.2f}"), alt=alt)


def steps_slider(model, x0: torch.Tensor, ref: torch.Tensor, steps=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64),
                 live: bool = False):
    """Slider over the number of Euler steps: samples and their sliced W2 to ``ref``, next to the adaptive solver's.

    The sliced W2 is :func:`gencore.metrics.sliced_w2` in float64, the metric of the chapter's table.
    With ``live=True`` the website's view is live (:func:`gencore.live_fm.ode_live`: any number of
    steps from 1 to 50, Euler or midpoint, a dragged x_0 with its ODE path, computed in the
    reader's browser); the notebook and the printed book keep this slider.
    """
    sw = lambda x: metrics.sliced_w2(x.double(), ref.double()).item()
    f = lambda x, t: model(x.float(), t.float()).to(x)
    with torch.no_grad():
        runs = {n: F.sample_ode(f, x0, n, "euler", keep=True) for n in steps}
        x_ad, nfe_ad = F.sample_ode(f, x0, 4, "rk45", rtol=1e-3, atol=1e-3, return_nfe=True)
    scores = {n: sw(x) for n, (x, _) in runs.items()}
    sw_ad = sw(x_ad)
    paths = {n: _host(path[:, :25]) for n, (_, path) in runs.items()}  # the 25 paths drawn
    ends = {n: _host(x) for n, (x, _) in runs.items()}

    def build(fig):
        a, b = widgets.panels(fig, 2)
        viz.trajectories(a, paths[steps[0]], color=viz.COLORS["aux"], max_paths=25)
        marks, first = a.collections[-1], a.lines[0]
        lines = LineCollection([], colors=first.get_color(), alpha=first.get_alpha(), linewidths=first.get_linewidth(),
                               zorder=first.get_zorder())  # the 25 lines as one artist, drawn as they were
        for line in list(a.lines):
            line.remove()
        a.add_collection(lines, autolim=False)
        viz.samples(a, ends[steps[0]], size=2)
        a.set(xlim=EXTENT[:2], ylim=EXTENT[2:])
        viz.samples(b, x_ad, size=2, color=viz.COLORS["p"])
        b.set(xlim=EXTENT[:2], ylim=EXTENT[2:])
        viz.panel_title(b, f"adaptive rk45, {nfe_ad} NFE: SW2 = {sw_ad:.3f}")
        return a, lines, marks, a.collections[-1]

    def draw(fig, n):
        a, lines, marks, points = pixels.reused(fig, build)
        lines.set_segments(paths[n].transpose(1, 0, 2))
        marks.set_offsets(paths[n][-1])
        points.set_offsets(ends[n])
        viz.panel_title(a, f"Euler, {n} steps: SW2 = {scores[n]:.3f}")
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: flow-matching samples integrated with {n} Euler steps, with their sliced W2 distance to "
           "the data; right: the adaptive rk45 solver's samples for comparison. Few steps blur the two moons.")
    demo = widgets.slider(draw, figsize=(8.5, 3.2), n=widgets.Param(list(steps), "Euler steps (NFE)", "{:d}"), alt=alt)
    if not live:
        return demo
    colors = {"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"]}
    return live_fm.ode_live(demo, model, ref, EXTENT, colors)


def nfe_figure(fm_rows, ddim_rows, floor: float):
    """Sliced W2 against the number of function evaluations, for flow-matching samplers and DDIM."""
    fig, ax = viz.figure(1, width=5.5, height=3.4)
    styles = {"FM euler": ("o-", viz.COLORS["q"]), "FM midpoint": ("s-", viz.COLORS["q2"]),
              "FM heun": ("^-", viz.COLORS["aux"]), "FM rk45": ("*", "k"), "DDIM": ("d--", viz.COLORS["p"])}
    groups: dict = {}
    for name, nfe, sw in list(fm_rows) + list(ddim_rows):
        key = name.split(",")[0].split(" (")[0]
        groups.setdefault(key, []).append((nfe, sw))
    for key, pts in groups.items():
        pts.sort()
        style, color = styles.get(key, ("o-", "k"))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=color, label=key, ms=6)
    ax.axhline(floor, color=viz.COLORS["grey"], ls=":", label="data-vs-data floor")
    ax.set(xscale="log", yscale="log", xlabel="function evaluations (NFE)", ylabel="sliced W2 to data")
    ax.xaxis.set_major_locator(FixedLocator([1, 2, 4, 8, 16, 32, 64, 128]))
    ax.yaxis.set_major_locator(FixedLocator([0.02, 0.05, 0.1, 0.2, 0.5, 1.0]))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_locator(NullLocator())
        axis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)
    viz.panel_title(ax, "quality against sampling cost on moons")
    return fig


def cfg_slider(samples: dict, stats: dict, mix: GaussianMixture, ref: torch.Tensor,
               true: tuple[float, float] | None = None, model=None):
    """Slider over the guidance weight w: samples of each class under classifier-free guidance, with fidelity and spread.

    ``ref``: samples of ``mix`` drawn in grey behind the guided ones. Given the conditional
    ``model`` too, the website's view is live (:func:`gencore.live_fm.cfg_live`: any w from 0 to 6,
    any class, a dragged start point with its path, computed in the reader's browser); the
    notebook and the printed book keep this slider.
    """
    colors = [viz.COLORS[c] for c in ("q", "p", "q2", "aux")] + ["k"] * 8
    classes = range(len(mix.means))
    ws = sorted(samples)
    fid = [sum(stats[v][y][0] for y in classes) / len(classes) for v in ws]
    spr = [sum(stats[v][y][1] for y in classes) / len(classes) for v in ws]
    points = {w: [_host(samples[w][y]) for y in classes] for w in ws}

    def build(fig):
        a, b = widgets.panels(fig, 2)
        viz.samples(a, ref, color=viz.COLORS["grey"], alpha=0.15)
        for y in classes:
            viz.samples(a, points[ws[0]][y], color=colors[y], size=3, alpha=0.6)
        a.set(xlim=G_EXTENT[:2], ylim=G_EXTENT[2:])
        a.set_aspect("equal")
        b.plot(ws, fid, "o-", color=viz.COLORS["q"], label="fidelity (in the class's region)")
        b.plot(ws, spr, "s-", color=viz.COLORS["p"], label="spread (RMS radius)")
        line = b.axvline(ws[0], color="k", lw=0.8)
        if true is not None:
            b.axhline(true[0], color=viz.COLORS["q"], ls=":", lw=1)
            b.axhline(true[1], color=viz.COLORS["p"], ls=":", lw=1, label="true classes (dotted)")
        b.set(xlabel="guidance weight w", ylim=(0, 1.05))
        return a, b, a.collections[-len(classes):], line, b.legend(fontsize=8, loc="lower left")

    def draw(fig, w):
        placed = pixels.reusing(fig)  # not the first frame: the panels are laid out
        a, b, clouds, line, legend = pixels.reused(fig, build)
        if placed and legend.axes is not None:
            pixels.as_image(fig, legend)  # drawn once, pasted after: a legend's text is half a frame
        for cloud, x in zip(clouds, points[w]):
            cloud.set_offsets(x)
        line.set_xdata([w, w])
        viz.panel_title(a, f"classifier-free guidance, w = {w:g}")
        viz.panel_title(b, f"fidelity {fid[ws.index(w)]:.2f}, spread {spr[ws.index(w)]:.2f}")
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: samples of each class under classifier-free guidance with weight w = {w}, over the "
           "mixture; right: fidelity (circles) and spread (squares) against w, with this w marked: more "
           "guidance raises fidelity and lowers spread.")
    demo = widgets.slider(draw, figsize=(8.5, 3.5), w=widgets.Param(sorted(samples), "guidance weight w", "{:g}"), alt=alt)
    if model is None:
        return demo
    box = (1.5 * G_EXTENT[0], 1.5 * G_EXTENT[1], G_EXTENT[2], G_EXTENT[3])  # the canvas is 3:2; keep circles round
    return live_fm.cfg_live(demo, model, len(mix.means), ref, box, {"ref": viz.COLORS["grey"], "x": viz.COLORS["p"],
                                                                    "path": viz.COLORS["aux"]})


def guidance_figure(panels: dict, ref: torch.Tensor):
    """One panel per entry ``{title: samples}``, over ``ref`` (samples of the guidance mixture) in grey."""
    fig, axes = viz.figure(len(panels), width=2.9, height=2.9)
    for ax, (title, x) in zip(axes, panels.items()):
        viz.samples(ax, ref, color=viz.COLORS["grey"], alpha=0.15)
        viz.samples(ax, x, size=3)
        ax.set(xlim=G_EXTENT[:2], ylim=G_EXTENT[2:])
        viz.panel_title(ax, title)
    return fig


def path_solver_figure(rows, straight: dict, floor: float):
    """Sliced W2 against NFE for each (path, solver) of :func:`~gencore.experiments.flow_matching.trained_path_solver`:
    colour is the path (the network), line style the solver; the legend gives each path's straightness."""
    fig, ax = viz.figure(1, width=7.5, height=3.4)
    colors = dict(zip(straight, (viz.COLORS["q"], viz.COLORS["p"], viz.COLORS["q2"], viz.COLORS["aux"])))
    styles = {"euler": "o-", "midpoint": "s--"}
    groups: dict = {}
    for path, method, nfe, sw in rows:
        groups.setdefault((path, method), []).append((nfe, sw))
    for (path, method), pts in groups.items():
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], styles.get(method, "^-"), color=colors[path], ms=6,
                label=f"{path} path (S = {straight[path]:.2f}), {method}")
    ax.axhline(floor, color=viz.COLORS["grey"], ls=":", label="data-vs-data floor")
    ax.set(xscale="log", yscale="log", xlabel="function evaluations (NFE)", ylabel="sliced W2 to data")
    ax.xaxis.set_major_locator(FixedLocator(sorted({r[2] for r in rows})))
    ax.yaxis.set_major_locator(FixedLocator([0.02, 0.05, 0.1, 0.2, 0.5, 1.0]))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_locator(NullLocator())
        axis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    viz.panel_title(ax, "same networks, two solvers")
    return fig


def reflow_figure(paths: dict, straight: dict, ref: torch.Tensor, n: int = 40):
    """Trajectories of each flow in ``paths`` (``{name: (S + 1, N, 2)}`` states from ``sample_ode(..., keep=True)``),
    one panel each over the data in grey, titled with the flow's straightness ``straight[name]``."""
    fig, axes = viz.figure(len(paths), width=4.2, height=3.2)
    axes = np.atleast_1d(axes)
    for ax, (name, path) in zip(axes, paths.items()):
        viz.samples(ax, ref, color=viz.COLORS["grey"], size=2, alpha=0.3)
        viz.trajectories(ax, path[:, :n], max_paths=n)
        p = _host(path[:, :n])
        ax.scatter(p[0, :, 0], p[0, :, 1], s=6, color="k", zorder=3)
        ax.set(xlim=EXTENT[:2], ylim=EXTENT[2:], aspect="equal")
        viz.panel_title(ax, f"{name}: straightness S = {straight[name]:.3f}")
    return fig
