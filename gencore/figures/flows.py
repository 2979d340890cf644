"""Chapter 5's figures and slider demos (normalizing flows): they draw what ``gencore.flows`` and
``gencore.experiments.flows`` computed, and never train or seed.

Book: ``book/05_flows.ipynb``.
"""
from __future__ import annotations

import torch

from .. import data, live_flows, viz, widgets
from ..experiments.flows import (EXTENT, TARGETS, ChangeOfVariables, DensityRun, VIRun, density_grid, lobe_members,
                                 one_layer)
from ..quadrature import grid

__all__ = ["change_of_variables_figure", "one_layer_slider", "vi_figure", "lobe_figure", "layer_slider", "coupling_figure",
           "coupling_layers"]


def change_of_variables_figure(result: ChangeOfVariables):
    r"""The histogram of ``z`` against :math:`q_0`, and of ``x = exp(z)`` against :math:`q_0(\log x)/x`."""
    z, xs, formula = result.z, result.xs, result.formula
    q0 = torch.distributions.Normal(torch.tensor(0.0, dtype=xs.dtype), 1.0)
    fig, (ax1, ax2) = viz.figure(2, width=4.2, height=3.0)
    ax1.hist(z.numpy(), bins=120, density=True, color=viz.COLORS["grey"], alpha=0.6, label="samples of z")
    viz.curve(ax1, xs - 2.5, q0.log_prob(xs - 2.5).exp(), role="p", label="q₀(z) = N(0, 1)")
    ax1.set_xlim(-4, 4)
    ax1.legend(loc="upper left")
    viz.panel_title(ax1, "base density")
    ax2.hist(z.exp().numpy(), bins=400, range=(0, 10), density=True, color=viz.COLORS["grey"], alpha=0.6,
             label="samples of x = eᶻ")
    viz.curve(ax2, xs, formula, role="q", label="q₀(log x) · 1/x")
    ax2.set_xlim(0, 5)
    ax2.legend(loc="upper right")
    viz.panel_title(ax2, "pushed forward by x = exp(z)")
    return fig


def _grid_lines(extent=(-3, 3, -3, 3), n_lines: int = 13, n_points: int = 200) -> torch.Tensor:
    """Horizontal and vertical lines of a square grid, shape ``(2 * n_lines, n_points, 2)``."""
    ticks = torch.linspace(extent[0], extent[1], n_lines, dtype=torch.float64)
    s = torch.linspace(extent[0], extent[1], n_points, dtype=torch.float64)
    horiz = torch.stack([s.expand(n_lines, -1), ticks[:, None].expand(-1, n_points)], -1)
    return torch.cat([horiz, horiz.flip(-1)])


def one_layer_slider(strengths=(-0.9, -0.6, -0.3, 0.0, 0.5, 1.0, 2.0)) -> widgets.SliderDemo:
    r"""Slider over one planar or radial layer's strength ``s``: the deformed grid and the density :math:`q_1`.

    The layers are those of :func:`gencore.experiments.flows.one_layer`: planar with :math:`w^\top\hat u = s`, radial with
    :math:`\beta = s/2`, :math:`\alpha = 0.5`.
    """
    lines = _grid_lines()
    box = (-4.0, 4.0, -4.0, 4.0)
    frames = {}
    for kind in ("planar", "radial"):
        for s in strengths:
            flow = one_layer(kind, s)
            layer = flow.layers[0]
            with torch.no_grad():
                moved = flow(lines)[0]
            # all grid lines as one path with a NaN row after each: one artist a frame, not 26
            path = torch.cat([moved, moved.new_full((len(moved), 1, 2), float("nan"))], 1).reshape(-1, 2).numpy()
            if kind == "planar":
                title = f"f applied to a grid; wᵀû = {(layer.w * layer.u_hat()).sum().item():+.2f}"
            else:
                alpha, beta = (v.item() for v in layer.alpha_beta())
                title = f"f applied to a grid; α = {alpha:.2f}, β = {beta:+.2f}"
            frames[(kind, s)] = (path, title, density_grid(flow, resolution=140, extent=box).cpu().numpy())

    def draw(fig, s, kind):
        path, title, dens = frames[(kind, s)]
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.plot(path[:, 0], path[:, 1], color=viz.COLORS["p"], lw=0.7)
        ax1.set_xlim(box[0], box[1]), ax1.set_ylim(box[2], box[3]), ax1.set_aspect("equal")
        viz.panel_title(ax1, title)
        ax2.imshow(dens, origin="lower", extent=box, cmap=viz.DENSITY_CMAP, vmin=0, vmax=0.35)
        ax2.grid(False)
        viz.panel_title(ax2, "density q₁ of f(z), z ~ N(0, I)")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: a square grid pushed through one {kind} flow layer of strength s = {s}; right: the density "
           "q₁ of the layer's output when its input is a standard Gaussian.")
    return widgets.slider(
        draw, figsize=(8.4, 3.9), dpi=80,  # 80 dpi: its 14 frames are the bulk of the page (≤ 2 MB)
        s=widgets.Param(tuple(strengths), "strength s", "{:+.1f}", start=min(5, len(strengths) - 1)),
        kind=widgets.Param(("planar", "radial"), "layer", "{}", start=0),
        alt=alt,
    )


def vi_figure(run: VIRun, kl: torch.Tensor, depths=(2, 8, 32), resolution: int = 110):
    """Rezende & Mohamed's figure 3(b): targets in the first column, q_K for each K beside them."""
    fig, axes = viz.figure(len(depths) + 1, len(TARGETS), width=2.05, height=2.05)
    for i, name in enumerate(TARGETS):
        p = data.make(name)
        viz.density(axes[i, 0], p.log_prob, EXTENT, resolution)
        axes[i, 0].set_ylabel(name.upper())
        for j, K in enumerate(depths):
            b = run.index(name, K, True)
            dens = density_grid(run.member(b), resolution=resolution)
            run.densities[b] = dens
            axes[i, j + 1].imshow(dens.cpu().numpy(), origin="lower", extent=EXTENT, cmap=viz.DENSITY_CMAP, vmin=0)
            axes[i, j + 1].grid(False)
            axes[i, j + 1].set_title(f"KL = {kl[b]:.2f}", fontsize=8, loc="left")
    for j, title in enumerate(["target p = exp(−U)/Z"] + [f"K = {K}" for K in depths]):
        axes[0, j].set_title(title if j == 0 else f"{title}, KL = {kl[run.index(TARGETS[0], depths[j - 1], True)]:.2f}",
                             fontsize=9, loc="left")
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    return fig


def lobe_figure(run: VIRun, kl: torch.Tensor, target: str = "u1", depth: int = 32, resolution: int = 110):
    """The flows on one target side by side: plain bound (top row) and annealed bound (bottom row)."""
    rows = lobe_members(run, target, depth)
    cols = max(len(v) for v in rows.values())
    fig, axes = viz.figure(cols, 2, width=1.95, height=2.0)
    for row, hot in enumerate((False, True)):
        for j, b in enumerate(rows[hot]):
            dens = run.densities.get(b)
            if dens is None:
                dens = run.densities[b] = density_grid(run.member(b), resolution=resolution)
            ax = axes[row, j]
            ax.imshow(dens.cpu().numpy(), origin="lower", extent=EXTENT, cmap=viz.DENSITY_CMAP, vmin=0)
            m1, m2, sd = run.starts[b]
            start = "N(0, I)" if sd == 1.0 else f"N(({m1:g},{m2:g}),{sd:g}²)"
            ax.set_title(f"{'annealed' if hot else 'plain'}, {start}\nKL = {kl[b]:.3f}", fontsize=7.5, loc="left")
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
    return fig


def layer_slider(run: VIRun, depth: int = 32, ks=(0, 1, 2, 4, 8, 16, 32), resolution: int = 80):
    """Slider over k: the density after the first k layers of each target's trained K-layer stack.

    On the website the view is live (:func:`gencore.live_flows.flow_layers_live`): any k from 0 to
    ``depth``, 1,000 base samples pushed through the first k layers of the chosen target's flow in
    the reader's browser, and the path of a dragged base point layer by layer; the notebook and
    the printed book keep these frames."""
    frames = {}
    for name in TARGETS:
        flow = run.member(run.index(name, depth, True))
        for k in ks:
            frames[(name, k)] = density_grid(flow, upto=k, resolution=resolution).cpu().numpy()
    targets = {name: data.make(name) for name in TARGETS}
    p_grid = {name: targets[name].log_prob(grid(EXTENT, resolution, dtype=torch.float64)[0]).exp()
              .reshape(resolution, resolution).numpy() for name in TARGETS}

    def draw(fig, target, k):
        ax1, ax2 = widgets.panels(fig, 2)
        for ax, img, title in ((ax1, frames[(target, k)], f"q_k after k = {k} of {depth} layers"),
                               (ax2, p_grid[target], f"target {target.upper()}")):
            ax.imshow(img, origin="lower", extent=EXTENT, cmap=viz.DENSITY_CMAP, vmin=0,
                      vmax=float(p_grid[target].max()) * 1.3)
            ax.grid(False)
            viz.panel_title(ax, title)

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = (f"The density after the first k = {{k}} of {depth} layers of the flow trained on the target "
           f"{{target}}, beside the target density: layer by layer the Gaussian is reshaped into the target.")
    demo = widgets.slider(
        draw, figsize=(7.4, 3.7),
        target=widgets.Param(TARGETS, "target", "{}", start=0),
        k=widgets.Param(tuple(ks), "layers applied k", "{}", start=len(ks) - 1),
        alt=alt,
    )
    members = [run.index(name, depth, True) for name in TARGETS]
    if any(tuple(run.starts[b]) != (0.0, 0.0, 1.0) for b in members):
        return demo  # the page draws its points from N(0, I): another base has only the frames
    live_alt = (f"Points of the standard Gaussian base (live: computed in your browser) pushed through the first k "
                f"of the {depth} planar layers trained on the chosen target, and the path of one base point, "
                "which you can drag, through those layers.")
    return live_flows.flow_layers_live(
        demo, [run.member(b) for b in members], names=tuple(t.upper() for t in TARGETS),
        extent=EXTENT,
        title="{member}: base samples after k = {k} layers; drag the ringed point", alt=live_alt,
        start=(0.5, 0.8), colors={"x": viz.COLORS["q"], "path": viz.COLORS["aux"]})


def coupling_figure(run: DensityRun, entropy: float | None = None, extent=(-3.5, 3.5, -2.5, 2.5),
                    resolution: int = 140, generator: torch.Generator | None = None):
    """Data, model density, model samples (drawn with ``generator``), and the test NLL over training
    (with the data entropy)."""
    fig, axes = viz.figure(4, width=3.1, height=2.6)
    viz.samples(axes[0], run.x_test[:3000], color=viz.COLORS["p"], size=2, extent=extent)
    viz.panel_title(axes[0], "test data")
    flow64, device = run.flow64(), run.x_test.device  # the grid's points go to the flow and back
    viz.density(axes[1], lambda x: flow64.log_prob(x.to(device)).cpu(), extent, resolution)
    viz.panel_title(axes[1], "model density q(x)")
    viz.samples(axes[2], run.flow.sample(3000, generator=generator), color=viz.COLORS["q"], size=2, extent=extent)
    viz.panel_title(axes[2], "model samples")
    steps, nll = run.history.metric("test NLL")
    viz.curve(axes[3], steps, nll, role="q", label="test NLL (EMA weights)")
    if entropy is not None:
        axes[3].axhline(entropy, color=viz.COLORS["p"], lw=1, ls="--", label="data entropy H(p)")
    axes[3].legend(loc="upper right")
    axes[3].set_xlabel("step")
    axes[3].set_ylabel("nats")
    viz.panel_title(axes[3], "held-out NLL")
    return fig


def coupling_layers(run: DensityRun, inverse: bool = False, ks=(0, 2, 4, 6, 8), n: int = 1000,
                    extent=(-4.0, 4.0, -3.0, 3.0), generator: torch.Generator | None = None):
    """The trained coupling flow layer by layer: base samples after its first k layers, over the
    test data (or, with ``inverse``, test points taken back through its last k layers, over base
    samples). Frames for the ``ks`` values (samples drawn with ``generator``); on the website a
    live view (:func:`gencore.live_flows.flow_layers_live`) for every k, with a dragged point's path."""
    flow = run.flow64()
    K = len(flow.layers)
    if not all(isinstance(k, int) and 0 <= k <= K for k in ks):
        raise ValueError(f"ks must be layer counts in [0, {K}]; got {ks!r}")
    device = run.x_test.device
    base = flow.sample_base(n, generator).cpu()
    data_pts = run.x_test[:n].cpu().double()
    with torch.no_grad():
        frames = {}
        for k in ks:
            if inverse:  # undo the last k layers: the flow's layers k' > K - k, last first
                x = data_pts.to(device)
                for layer in reversed(list(flow.layers)[K - k:]):
                    x = layer.inverse(x)[0]
            else:
                x = flow.forward(base.to(device), upto=k)[0]
            frames[k] = x.cpu()
    back, front = (base, data_pts) if inverse else (data_pts, base)
    what = "test points taken back through the last {k} layers" if inverse else "base samples after the first {k} layers"

    def draw(fig, k):
        ax = widgets.panels(fig, 1)
        viz.samples(ax, back, color=viz.COLORS["grey"], size=2, alpha=0.3, extent=extent)
        viz.samples(ax, frames[k], color=viz.COLORS["q"], size=3, alpha=0.6, extent=extent)
        viz.panel_title(ax, what.format(k=k) + f" of {K}")

    backdrop = "samples of the standard Gaussian base" if inverse else "the test data"
    alt = f"The coupling flow's {what}, over a pale backdrop of {backdrop}."
    demo = widgets.slider(draw, figsize=(5.6, 4.0), k=widgets.Param(tuple(ks), "layers k", "{}", start=len(ks) - 1),
                          alt=alt)
    live_alt = (f"The trained coupling flow's {what.replace('{k}', 'k')} (live: computed in your browser for any k), "
                f"over a pale backdrop of {backdrop}, with the path of one point, which you can drag.")
    title = ("data → base: test points after k = {k} inverse layers; drag the ringed point" if inverse
             else "base → data: base samples after k = {k} layers; drag the ringed point")
    return live_flows.flow_layers_live(
        demo, flow, extent=extent, title=title, alt=live_alt, ref=back,
        init=data_pts if inverse else None, inverse=inverse, n=n,
        start=tuple(data_pts[0].tolist()) if inverse else (0.5, 0.8),  # inverse: a test point, on the data
        colors={"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"], "init": viz.COLORS["grey"]})
