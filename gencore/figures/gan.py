"""Chapter 4's figures and sliders: D* and Theorem 1, saturation, the GANs through training.

They draw what :mod:`gencore.gan` and :mod:`gencore.experiments.gan` computed; none trains.

Book: ``book/04_gan.ipynb``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.collections import LineCollection

from .. import data, gan, live_gan, metrics, pixels, viz, widgets
from ..experiments.gan import MODELS, RING_BOX, GANRun, share_history
from ..quadrature import grid

__all__ = ["theorem_figure", "saturation_figure", "snapshot_slider", "loss_slider", "oscillation_figure",
           "grid_figure", "dirac_slider", "w1_figure", "ratio_figure", "stall_figure"]


def theorem_figure(radii, c, rhs, std: float = 0.1):
    """Left: D* for one generator ring. Right: C(G) against the ring's radius."""
    radii, c, rhs = radii.cpu(), c.cpu(), rhs.cpu()
    fig, (ax1, ax2) = viz.figure(2, width=4.4, height=3.6)
    log_p, log_q = gan.ring_family(2.0, std), gan.ring_family(2.3, std)
    dstar = gan.optimal_discriminator(log_p, log_q)
    pts, _ = grid(RING_BOX, 200, dtype=torch.float64)
    img = dstar(pts).reshape(200, 200)
    im = ax1.imshow(img.numpy(), origin="lower", extent=RING_BOX, cmap="RdBu", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax1, shrink=0.8, label="D*(x)")
    t = torch.linspace(0, 2 * math.pi, 200)
    for r, ls, name in ((2.0, "-", "data ring, r = 2"), (2.3, "--", "generator ring, r = 2.3")):
        ax1.plot(r * t.cos(), r * t.sin(), color="k", lw=0.8, ls=ls, label=name)
    ax1.legend(loc="upper left", fontsize=7, frameon=True)
    ax1.grid(False)
    viz.panel_title(ax1, "the optimal discriminator D*")
    viz.curve(ax2, radii, c, role="q", label="C(G) = V(G, D*) by quadrature")
    viz.curve(ax2, radii, rhs, role="p", ls="--", label="−log 4 + 2·JSD (chapter 1)")
    ax2.axhline(-math.log(4), color="k", lw=0.8, ls=":")
    ax2.text(radii[0], -math.log(4) + 0.03, "−log 4", fontsize=8)
    ax2.axhline(0.0, color=viz.COLORS["grey"], lw=0.8, ls=":")
    ax2.set_xlabel("radius r of the generator's ring")
    ax2.set_ylabel("nats")
    ax2.legend(loc="center right", fontsize=8)
    viz.panel_title(ax2, "C(G) is flat at 0 until the rings overlap")
    return fig



def saturation_figure(shifts, sat, ns):
    """Left: the two losses' derivatives in the logit against D(G(z)). Right: ``shift_gradients``."""
    shifts, sat, ns = shifts.cpu(), sat.cpu(), ns.cpu()
    fig, (ax1, ax2) = viz.figure(2, width=4.4, height=3.3)
    a = torch.linspace(-8, 8, 401, dtype=torch.float64)
    d = torch.sigmoid(a)
    viz.curve(ax1, d, gan.logit_gradient(a, "saturating").abs(), role="q",
              label="saturating: |∂ log(1−σ(a))/∂a| = D")
    viz.curve(ax1, d, gan.logit_gradient(a, "non-saturating").abs(), role="p",
              label="non-saturating: |∂ log σ(a)/∂a| = 1 − D")
    ax1.set_xlabel("D(G(z)) = σ(a)")
    ax1.set_ylabel("gradient magnitude through the logit")
    ax1.legend(loc="center", fontsize=8)
    viz.panel_title(ax1, "what reaches the generator, per sample")
    viz.curve(ax2, shifts, sat.abs(), role="q", label="saturating")
    viz.curve(ax2, shifts, ns.abs(), role="p", label="non-saturating")
    ax2.set_yscale("log")
    ax2.set_xlabel("shift μ of p_g = N(μ, 1) from p_data = N(0, 1)")
    ax2.set_ylabel("|∂ loss / ∂μ| with D = D*")
    ax2.legend(loc="lower left", fontsize=8)
    viz.panel_title(ax2, "far from the data, only one loss still pulls")
    return fig


# ---------------------------------------------------------------------------- training
def _surface(logits: torch.Tensor, kind: str) -> tuple[torch.Tensor, float, float, str]:
    """What to paint under the samples: D = σ(a) for GANs, the critic scaled to [0, 1] for WGANs."""
    if kind == "wgan-gp":
        f = logits - logits.median()
        s = f.abs().max().clamp(min=1e-12)
        return 0.5 + 0.5 * f / s, 0.0, 1.0, "critic f (rescaled)"
    return torch.sigmoid(logits), 0.0, 1.0, "D(x)"


def _frame(run: GANRun, i: int, snap: int, title: str) -> tuple:
    """What model ``i``'s panel shows at snapshot ``snap``: ``(surface (R, R), samples (N, 2), box,
    modes (K, 2), title)`` as host arrays, the title with the samples' mode coverage."""
    step, x, logits = run.snapshots[snap]
    surf = _surface(logits[i].cpu(), run.losses[i])[0]
    ds = data.make(MODELS[i][1] if i < len(MODELS) else "8gaussians")
    xi = x[i].cpu()
    mc = metrics.mode_coverage(xi, ds.means.to(xi), ds.std)
    text = f"{title}, step {step}: {mc.modes_captured}/{mc.n_modes} modes, {100 * mc.high_quality:.0f}% HQ"
    return surf.numpy(), xi.numpy(), run.extents[i], ds.means.cpu().numpy(), text


def _half(surf, box) -> list:
    """The lines where D(x) = 1/2 on the surface: a shape for what its colours say (real / fake)."""
    return viz.contour_lines(np.linspace(box[0], box[1], surf.shape[1]), np.linspace(box[2], box[3], surf.shape[0]),
                             surf, [0.5])


class _Panel:
    """One model's panel (:func:`_frame`) in a slider: its artists made once, then updated.

    Besides its colours (blue "real", red "fake"), D(x) = 1/2 is drawn as a dotted black line.
    """

    def __init__(self, ax, frames: dict, key):
        surf, x, box, means, text = frames[key]
        self.ax, self.frames, self.surfaces = ax, frames, None
        self.image = ax.imshow(surf, origin="lower", extent=box, cmap="RdBu", vmin=0.0, vmax=1.0, alpha=0.75,
                               interpolation="bilinear")
        self.modes = ax.scatter(means[:, 0], means[:, 1], marker="+", s=40, c="k", lw=1, zorder=3)
        viz.samples(ax, x, color=viz.COLORS["q2"], size=4, alpha=0.7, extent=box)
        self.points = ax.collections[-1]
        self.half = ax.add_collection(LineCollection(_half(surf, box), colors="k", linewidths=0.8, linestyles=":"),
                                      autolim=False)
        ax.grid(False)
        viz.panel_title(ax, text, y=1.0)  # no ticks above: where matplotlib would put it

    def settle(self) -> None:
        """Once the axes are placed: draw every frame's surface once, as pixels swapped per frame."""
        pixels.pin_labels(self.ax)  # the panel's axis labels are empty
        self.surfaces = {}
        for key, (surf, _, box, _, _) in self.frames.items():
            self._move(surf, box)
            self.surfaces[key] = pixels.pixels_of(self.ax, [self.image])
        self.image.set_visible(False)
        self.pixels = pixels.Pixels(next(iter(self.surfaces.values())), self.image.get_zorder())
        self.ax.add_artist(self.pixels)

    def _move(self, surf, box) -> None:
        self.image.set_data(surf)
        self.image.set_extent(box)
        self.ax.set_xlim(box[0], box[1])
        self.ax.set_ylim(box[2], box[3])

    def show(self, key) -> None:
        surf, x, box, means, text = self.frames[key]
        if self.surfaces is None:
            self._move(surf, box)
        else:
            self.pixels.set_pixels(self.surfaces[key])
            self.ax.set_xlim(box[0], box[1])
            self.ax.set_ylim(box[2], box[3])
        self.modes.set_offsets(means)
        self.points.set_offsets(x)
        self.half.set_segments(_half(surf, box))
        viz.panel_title(self.ax, text, y=1.0)


def _panel(ax, run: GANRun, i: int, snap: int, title: str) -> _Panel:
    return _Panel(ax, {snap: _frame(run, i, snap, title)}, snap)


def snapshot_slider(run: GANRun, i: int = 0, every: int = 5, live: bool = False, live_every: int = 2):
    """Model ``i``'s samples over its discriminator through training, with the D loss so far.

    With ``live=True`` the website's view is live (:func:`gencore.live_gan.generator_live` over
    the generator's copies at every ``live_every``-th snapshot, :func:`gencore.live_gan.stack_models`):
    a slider over the training step and a draggable z; the notebook and print keep these frames."""
    snaps = list(range(0, len(run.snapshots), every))
    if snaps[-1] != len(run.snapshots) - 1:
        snaps.append(len(run.snapshots) - 1)
    d_loss = run.d_loss[:, i].cpu()
    kernel = d_loss.new_ones(25) / 25
    smooth = torch.nn.functional.conv1d(d_loss.view(1, 1, -1), kernel.view(1, 1, -1)).flatten()
    frames = {s: _frame(run, i, s, MODELS[i][0]) for s in snaps}  # every frame's arrays, computed once

    def first(fig, s):
        ax1, ax2 = widgets.panels(fig, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        panel = _Panel(ax1, frames, s)
        ax2.plot(range(len(d_loss)), d_loss.numpy(), color=viz.COLORS["grey"], lw=0.5)
        ax2.plot(range(12, 12 + len(smooth)), smooth.numpy(), color=viz.COLORS["q"], lw=1.5,
                 label="discriminator loss (running mean)")
        ax2.axhline(math.log(4), color="k", ls=":", lw=0.8)
        ax2.text(len(d_loss) * 0.35, math.log(4) + 0.02, "log 4: the loss when D = ½ everywhere", fontsize=8)
        marker = ax2.axvline(run.snapshots[s][0], color=viz.COLORS["p"], lw=1)
        ax2.set_ylim(0.6, 1.6)
        ax2.set_xlabel("generator step")
        ax2.legend(loc="lower right", fontsize=8)
        viz.panel_title(ax2, "−(minibatch value) for the discriminator")
        return panel, marker

    def settle(handles):
        """The loss panel's lines, text, legend and title stay: pixels below and above the marker."""
        panel, marker = handles
        pixels.freeze(marker.axes, [marker])
        pixels.pin_labels(marker.axes)  # its ticks stay
        panel.settle()

    def update(handles, s):
        panel, marker = handles
        panel.show(s)
        marker.set_xdata([run.snapshots[s][0]] * 2)

    draw = pixels.staged(first, settle, update)

    steps = tuple(run.snapshots[k][0] for k in snaps)
    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the GAN's samples at training step {step} over its discriminator's output D(x), shaded from "
           "real to fake, with a dotted line where D = 1/2; right: the discriminator's loss over training with "
           "this step marked, against log 4, the loss when D is one half everywhere.")
    demo = widgets.slider(lambda fig, step: draw(fig, snaps[steps.index(step)]), figsize=(9.5, 4.0),
                          step=widgets.Param(steps, "training step", fmt="{}", start=len(steps) - 1), alt=alt)
    if not live:
        return demo
    kept = list(range(0, len(run.generators), live_every))
    kept += [] if kept[-1] == len(run.generators) - 1 else [len(run.generators) - 1]
    name, dataset = MODELS[i][0], MODELS[i][1]
    ref = data.make(dataset).sample((1000,), generator=torch.Generator().manual_seed(0))
    colors = {"ref": viz.COLORS["p"], "x": viz.COLORS["q2"], "path": viz.COLORS["q"], "init": viz.COLORS["grey"]}
    stacked = live_gan.stack_models([run.generators[k].select(i) for k in kept])
    return live_gan.generator_live(demo, stacked, [f"step {run.snapshots[k][0]}" for k in kept], ref,
                                   run.extents[i], start_model=len(kept) - 1, colors=colors,
                                   label="training step", title=f"{name}, {{model}}: G(z); drag the ringed z")


def loss_slider(run: GANRun, models=(0, 1, 2, 3), every: int = 10, live: bool = False):
    """Slider over the ring models (loss type, and the slow discriminator) and training steps.

    With ``live=True`` the website's view is live (:func:`gencore.live_gan.generator_live`): the
    trained generators of the ring models of ``models`` that stay in the ring's box (not the slow
    discriminator's, whose samples wander off), run in the reader's browser, with a draggable z."""
    snaps = list(range(0, len(run.snapshots), every))
    if snaps[-1] != len(run.snapshots) - 1:
        snaps.append(len(run.snapshots) - 1)
    steps = tuple(run.snapshots[s][0] for s in snaps)
    names = tuple(MODELS[j][0] for j in models)
    frames = {(name, step): _frame(run, j, s, name) for j, name in zip(models, names)
              for s, step in zip(snaps, steps)}  # every frame's arrays, computed once

    def draw(fig, model, step):
        if not pixels.reusing(fig):
            pixels.reused(fig, lambda f: _Panel(widgets.panels(f, 1), frames, (model, step)))
            return
        panel = pixels.reused(fig, None)
        if panel.surfaces is None:
            panel.settle()
        panel.show((model, step))

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Samples of the GAN trained on a ring of modes with the {model} loss, at training step {step}, "
           "over its discriminator's output D(x), shaded from real to fake, with a dotted line where "
           "D = 1/2.")
    demo = widgets.slider(draw, figsize=(5.0, 4.6),
                          model=widgets.Param(names, "loss", fmt="{}", start=0),
                          step=widgets.Param(steps, "training step", fmt="{}", start=len(steps) - 1), alt=alt)
    if not live:
        return demo
    ring = [j for j in models if MODELS[j][1] == "8gaussians" and "slow" not in MODELS[j][0]]
    ref = data.make("8gaussians").sample((1000,), generator=torch.Generator().manual_seed(0))
    colors = {"ref": viz.COLORS["p"], "x": viz.COLORS["q2"], "path": viz.COLORS["q"], "init": viz.COLORS["grey"]}
    return live_gan.generator_live(demo, run.generator.select(ring), [MODELS[j][0] for j in ring], ref, RING_BOX,
                                   colors=colors)


def oscillation_figure(run: GANRun, pairs=((0, "non-saturating, D as fast as G"),
                                               (3, "slow discriminator: collapse and hopping"))):
    """Share of samples nearest each ring mode (rows) through training (columns), per model."""
    fig, axes = viz.figure(len(pairs), width=4.6, height=2.9)
    for ax, (i, title) in zip(axes, pairs):
        steps, share = share_history(run, i)
        ax.imshow(share.numpy(), aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
                  extent=(steps[0] - 25, steps[-1] + 25, -0.5, share.shape[0] - 0.5), interpolation="nearest")
        ax.set_yticks(range(share.shape[0]))
        ax.set_xlabel("generator step")
        ax.set_ylabel("mode k (angle 2πk/8)")
        ax.grid(False)
        viz.panel_title(ax, title)
    return fig


def grid_figure(run: GANRun, models=(4, 5)):
    """Final samples of the grid models over their (rescaled) discriminators."""
    fig, axes = viz.figure(len(models), width=4.2, height=4.2)
    for ax, i in zip(axes, models):
        _panel(ax, run, i, len(run.snapshots) - 1, MODELS[i][0])
    return fig


# ------------------------------------------------------- the Dirac GAN, W1, the density ratio, the stall
def dirac_slider(frames: dict, lim: float = 4.0, live: bool = False):
    """Slider over the step size h of :func:`gencore.experiments.gan_games.dirac_frames`: left, the
    iterates in the (θ, ψ) plane; right, their distance from the equilibrium against the step.

    With ``live=True`` the website's view is live (:func:`gencore.live_gan.dirac_live`: any h, step
    count, scheme and game, a cloud of starts and a draggable one, computed in the reader's browser)."""
    hs = tuple(frames)
    styles = (("simultaneous", viz.COLORS["q"], "simultaneous steps"),
              ("alternating", viz.COLORS["p"], "alternating steps"))

    def first(fig, h):
        ax1, ax2 = widgets.panels(fig, 2)
        f = frames[h]
        flow, = ax1.plot(f["flow"][:, 0].numpy(), f["flow"][:, 1].numpy(), color="k", lw=1, ls=":",
                         label="continuous dynamics")
        lines, radii = [], []
        for key, color, label in styles:
            lines.append(ax1.plot(*f[key].T.numpy(), color=color, lw=1, marker=".", ms=3, label=label)[0])
            r = f[key].norm(dim=1)
            radii.append(ax2.plot(range(len(r)), r.numpy(), color=color, lw=1.5, label=label)[0])
        ax2.axhline(float(f["flow"][0].norm()), color="k", lw=1, ls=":", label="continuous dynamics")
        ax1.scatter([0], [0], marker="*", s=80, c="k", zorder=3)
        ax1.set_xlim(-lim, lim)
        ax1.set_ylim(-lim, lim)
        ax1.set_aspect("equal")
        ax1.set_xlabel("generator θ")
        ax1.set_ylabel("discriminator ψ")
        ax1.legend(loc="lower left", fontsize=7)
        ax2.set_yscale("log")
        ax2.set_ylim(0.5, 2e3)
        ax2.set_xlabel("step")
        ax2.set_ylabel("distance from the equilibrium (θ, ψ) = (0, 0)")
        ax2.legend(loc="upper left", fontsize=7)
        viz.panel_title(ax2, "|λ| > 1 spirals out, |λ| = 1 circles")
        return ax1, flow, lines, radii

    def settle(handles):
        ax1, flow, lines, radii = handles
        pixels.freeze(ax1, [flow, *lines, *pixels.titles(ax1)])  # the title changes with h
        pixels.freeze(radii[0].axes, radii)
        for ax in (ax1, radii[0].axes):
            pixels.pin_labels(ax)

    def update(handles, h):
        ax1, flow, lines, radii = handles
        f = frames[h]
        flow.set_data(f["flow"][:, 0].numpy(), f["flow"][:, 1].numpy())
        for (key, _, _), line, rad in zip(styles, lines, radii):
            line.set_data(*f[key].T.numpy())
            rad.set_ydata(f[key].norm(dim=1).numpy())
        viz.panel_title(ax1, f"h = {h:.2f}: |λ| = {f['simultaneous_modulus']:.4f} (simultaneous), "
                             f"{f['alternating_modulus']:.4f} (alternating)", y=1.0)

    staged = pixels.staged(first, settle, update)

    def draw(fig, h):
        fresh = not pixels.reusing(fig)
        staged(fig, h)
        if fresh:
            update(pixels.reused(fig, None)["handles"], h)

    alt = ("Dirac GAN at step size h = {h}. Left: in the plane of generator θ and discriminator ψ, the "
           "simultaneous iterates spiral outwards from (1, 1), while the alternating iterates stay on a closed "
           "curve near the dotted circle of the continuous dynamics. Right: the distance from the equilibrium on a "
           "log scale grows along a straight line for simultaneous steps and stays level for alternating ones.")
    demo = widgets.slider(draw, figsize=(9.5, 4.4),
                          h=widgets.Param(hs, "step size h", fmt="{:.2f}", start=len(hs) // 2), alt=alt)
    if not live:
        return demo
    return live_gan.dirac_live(demo, lim=lim, colors={"x": viz.COLORS["grey"], "path": viz.COLORS["q"]})


def w1_figure(radii, jsd, lower, upper):
    """JSD and the two bounds on W1 between the data ring (radius 2) and the generator's ring."""
    radii, jsd, lower, upper = radii.cpu(), jsd.cpu(), lower.cpu(), upper.cpu()
    fig, ax = viz.figure(1, width=6.0, height=3.6)
    viz.curve(ax, radii, jsd, role="q", label="JSD (nats), by quadrature")
    viz.curve(ax, radii, upper, role="p", label="W1 upper bound |r − 2| (move each mode)")
    viz.curve(ax, radii, lower, role="aux", ls="--",
              label="W1 lower bound (W1 of the radii)")
    ax.axhline(math.log(2), color="k", lw=0.8, ls=":")
    ax.text(float(radii[0]), math.log(2) + 0.03, "log 2", fontsize=8)
    ax.set_xlabel("radius r of the generator's ring")
    ax.set_ylabel("divergence or distance")
    ax.legend(loc="upper center", fontsize=8)
    viz.panel_title(ax, "the JSD saturates, W1 keeps growing")
    return fig


def ratio_figure(check: dict):
    """A trained discriminator's logit against the exact log p_data − log p_g, on fresh points."""
    exact, logit = check["exact"].cpu(), check["logit"].cpu()
    fig, ax = viz.figure(1, width=4.6, height=4.2)
    ax.scatter(exact.numpy(), logit.numpy(), s=3, alpha=0.4, color=viz.COLORS["q2"])
    lo, hi = float(exact.min()), float(exact.max())
    ax.plot([lo, hi], [lo, hi], color="k", lw=1, ls="--", label="logit = log p_data − log p_g")
    ax.set_xlabel("log p_data(x) − log p_g(x), exact")
    ax.set_ylabel("trained discriminator's logit a(x)")
    ax.legend(loc="upper left", fontsize=8)
    viz.panel_title(ax, "a classifier estimates a density ratio")
    return fig


def stall_figure(stall: dict):
    """Left: the generator's gradient norm per step. Right: the samples' distance to the nearest mode."""
    fig, (ax1, ax2) = viz.figure(2, width=4.4, height=3.4)
    for kind, role in (("saturating", "q"), ("non-saturating", "p")):
        g = stall[kind]["grad_norm"]
        viz.curve(ax1, torch.arange(1, len(g) + 1), g, role=role, label=kind)
        viz.curve(ax2, torch.tensor(stall["step"]), stall[kind]["distance"], role=role, label=kind)
    ax1.set_yscale("log")
    ax1.set_xlabel("generator step")
    ax1.set_ylabel("‖∇ generator loss‖")
    ax1.legend(loc="lower right", fontsize=8)
    viz.panel_title(ax1, "the generator's gradient")
    ax2.set_yscale("log")
    ax2.set_xlabel("generator step")
    ax2.set_ylabel("mean distance to the nearest mode")
    ax2.legend(loc="upper right", fontsize=8)
    viz.panel_title(ax2, "progress towards the data")
    return fig
