"""Chapter 8's figures and sliders (energy-based models): they draw what ``gencore.experiments.ebm`` returns.

Book: ``book/08_ebm.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import Normalize

from .. import ebm as E
from .. import live_ebm, viz, widgets
from ..experiments.ebm import EXTENT, T_EXTENT, Z_EXTENT, in_deep_basin, nll_text
from ..quadrature import grid, grid_log_prob

__all__ = ["temperature_slider", "chain_length_slider", "energy_slider", "models_figure", "mixing_figure",
           "annealing_figure"]

LIVE_COLORS = {"ref": viz.COLORS["grey"], "x": viz.COLORS["q"], "path": viz.COLORS["aux"]}  # the live views' colours


def _energy_backdrop(energy_fn, extent, rises=(1.0, 2.8, 4.0, 5.5), resolution: int = 100, most: int = 1000):
    """Points along contours of ``energy_fn`` at ``rises`` above its lowest grid value, evenly
    thinned to at most ``most``: a live view's pale backdrop (it draws points, not lines)."""
    pts, _ = grid(extent, resolution, dtype=torch.float64)
    with torch.no_grad():
        e = energy_fn(pts).reshape(resolution, resolution)
    lines = viz.contour_lines(*pts.T.reshape(2, resolution, resolution), e, [e.min().item() + r for r in rises])
    flat = np.concatenate(lines) if lines else np.zeros((0, 2))
    keep = np.linspace(0, len(flat) - 1, min(most, len(flat))).round().astype(int) if len(flat) else []
    return torch.as_tensor(flat[keep], dtype=torch.float32).reshape(-1, 2)


def _image(log_prob, extent, resolution: int = 120, log: bool = False):
    """A density (or log-density) on the grid as an image array, computed once for slider frames."""
    _, values, _ = grid_log_prob(log_prob, extent, resolution, dtype=torch.float64)
    img = values if log else values.exp()
    return img.reshape(resolution, resolution).numpy()


def _rgba(img, cmap=viz.DENSITY_CMAP, log: bool = False):
    """The image coloured once, as ``viz.density`` colours it (density from 0, log-density from its minimum)."""
    norm = Normalize(vmin=float(img.min()) if log else 0.0, vmax=float(img.max()))
    return colormaps[cmap](norm(img), bytes=True)


def _show(ax, rgba, extent):
    """Draw a precomputed, coloured image the way ``viz.density`` does (same pixels, no re-evaluation)."""
    ax.imshow(rgba, origin="lower", extent=tuple(extent), aspect="equal", interpolation="bilinear")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.grid(False)


def temperature_slider(frames, live: bool = True):
    """kT on a slider: the Boltzmann density of ``two_basin_energy`` and exact samples from it.

    ``frames``: what :func:`gencore.experiments.ebm.temperature_frames` returns. With ``live``
    (the default) the website's view is live (:func:`gencore.live_ebm.energy_live`: Langevin
    chains on the same energy at any kT from 0.2 to 4, any step size and step count, a draggable
    start point, computed in the reader's browser); the notebook and the printed book keep this slider.
    """
    temps = tuple(f[0] for f in frames)
    images = [_rgba(_image(lp, T_EXTENT)) for _, lp, _, _ in frames]
    landscape = _rgba(_image(lambda z: -E.two_basin_energy(z), T_EXTENT, log=True), "Greys", log=True)

    def draw(fig, kT):
        i = temps.index(kT)
        _, lp, x, deep = frames[i]
        ax1, ax2 = widgets.panels(fig, 2)
        _show(ax1, images[i], T_EXTENT)
        viz.panel_title(ax1, f"p_T, kT = {kT:g}: log Z = {float(lp.log_Z):.2f}")
        _show(ax2, landscape, T_EXTENT)
        viz.samples(ax2, x, size=4, alpha=0.6, extent=T_EXTENT)
        viz.panel_title(ax2, f"{len(x)} exact samples; deep basin {100 * deep:.0f}%")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the Boltzmann density p_T of a two-basin energy at temperature kT = {kT}; right: the "
           "energy with exact samples of p_T and the share in the deep basin. Lower temperatures put more of "
           "the samples in the deep basin.")
    demo = widgets.slider(draw, figsize=(8.0, 3.6),
                          kT=widgets.Param(temps, "temperature kT", "{:g}", start=temps.index(1.0) if 1.0 in temps else 0), alt=alt)
    if not live:
        return demo
    return live_ebm.energy_live(demo, E.two_basin_energy, None, T_EXTENT, ref=_energy_backdrop(E.two_basin_energy, T_EXTENT),
                                colors=LIVE_COLORS, start=(-1.0, 0.4), init_scale=2.0,
                                what="the two-basin energy (pale dots: its contours)")


def chain_length_slider(runs: dict, data_x: torch.Tensor, nlls: dict, entropy: float, n_show: int = 1000):
    """Chain length K on a slider: the density learned by PCD-K and its persistent chains.

    ``runs`` and ``nlls`` are keyed by model name; only the PCD runs are shown.
    """
    pcd = {r.k: (name, r) for name, r in runs.items() if r.method == "pcd"}
    ks = tuple(sorted(pcd))
    frames = {k: (_rgba(_image(pcd[k][1].log_prob, EXTENT)), pcd[k][1].chains[:n_show].cpu().numpy()) for k in ks}

    def draw(fig, k):
        img, chains = frames[k]
        ax1, ax2 = widgets.panels(fig, 2)
        _show(ax1, img, EXTENT)
        viz.panel_title(ax1, f"PCD-{k}: NLL {nll_text(nlls[pcd[k][0]], 2)} (H(p) = {entropy:.2f})")
        # the data a pale grey backdrop, the chains in colour on top: told apart by lightness, not hue alone
        viz.samples(ax2, data_x[:n_show], color=viz.COLORS["grey"], alpha=0.3, extent=EXTENT, label="data")
        viz.samples(ax2, chains, color=viz.COLORS["q"], extent=EXTENT, label="chains")
        ax2.legend(loc="lower left", markerscale=3)
        viz.panel_title(ax2, f"chains at the end (MALA acceptance {pcd[k][1].acceptance:.2f})")

    # the frames' text alternative for readers who cannot see them ({name}: the slider values)
    alt = ("Left: the density an energy-based model learned by persistent contrastive divergence with "
           "K = {k} MALA steps per update, with its NLL against the data's entropy; right: the data and the "
           "model's persistent chains at the end of training, in colour over the data in pale grey.")
    return widgets.slider(draw, figsize=(8.0, 3.6),
                          k=widgets.Param(ks, "MALA steps per update K", "{:d}", start=len(ks) - 1), alt=alt)


def energy_slider(run, name: str, data_x: torch.Tensor, temperatures=(0.5, 1.0, 2.0), live: bool = True):
    """kT on a slider: the Boltzmann density :math:`e^{-E/kT}/Z_T` of a trained energy (``run.model``,
    an :class:`gencore.ebm.EnergyNet` or a model holding one as ``energy``), normalized on the grid.

    With ``live`` (the default) the website's view is live (:func:`gencore.live_ebm.energy_live`:
    Langevin chains on the same energy at any kT from 0.2 to 3, any step size and 10 to 300 steps,
    started at ``data_x`` (at most 1,000 points), with a draggable start point, computed in the
    reader's browser);
    the notebook and the printed book keep this slider."""
    energy = getattr(run.model, "energy", run.model)
    p = next(energy.parameters())

    def on_grid(x):  # the grid's float64 points through the network in its own dtype, on its device
        with torch.no_grad():
            return energy(x.to(device=p.device, dtype=p.dtype)).to(device=x.device, dtype=x.dtype)

    temps = tuple(temperatures)
    images = {kT: _rgba(_image(E.boltzmann_log_prob(on_grid, kT, Z_EXTENT, 300), EXTENT)) for kT in temps}

    def draw(fig, kT):
        ax = widgets.panels(fig, 1)
        _show(ax, images[kT], EXTENT)
        viz.panel_title(ax, f"{name}: p_T ∝ exp(−E/kT) at kT = {kT:g}")

    alt = (f"The density of the energy trained by {name} on the two moons at temperature kT = {{kT}}, normalized on "
           "the grid: colder concentrates it on the crescents, hotter spreads it out.")
    demo = widgets.slider(draw, figsize=(4.4, 3.8), kT=widgets.Param(temps, "temperature kT", "{:g}",
                                                                      start=temps.index(1.0) if 1.0 in temps else 0),
                          alt=alt)
    if not live:
        return demo
    # the chains start at the data, as PCD's persistent chains do; the backdrop is the same points
    x = data_x[:1000].float().cpu()
    return live_ebm.energy_live(demo, energy, x, EXTENT, ref=x, colors=LIVE_COLORS, kT=(0.2, 3.0, 1.0),
                                eps=(0.005, 0.1, 0.02), steps=40, max_steps=300, start=(0.0, 2.5),
                                what=f"the energy trained by {name}, started at the data (pale dots)")


def models_figure(data_log_prob, log_probs: dict, nlls: dict, entropy: float):
    """Data density next to each trained model's normalized density, with exact NLLs in the titles.

    ``log_probs``: name -> the model's normalized log-density (``Trained.log_prob``).
    """
    fig, axes = viz.figure(1 + len(log_probs), width=3.0, height=3.0)
    viz.density(axes[0], data_log_prob, EXTENT, 150)
    viz.panel_title(axes[0], f"data: H(p) = {entropy:.3f} nats")
    for ax, (name, log_prob) in zip(axes[1:], log_probs.items()):
        viz.density(ax, log_prob, EXTENT, 150)
        viz.panel_title(ax, f"{name}: NLL {nll_text(nlls[name], 3)}")
    return fig


def mixing_figure(steps, frac, exact, kT):
    fig, ax = viz.figure(1, width=5.0, height=3.0)
    viz.curve(ax, steps, frac, role="q", label="Langevin chains (started in the wide basin)")
    ax.axhline(exact, color=viz.COLORS["p"], ls="--", label=f"exact, by quadrature ({exact:.2f})")
    ax.set_ylim(0, 1)
    ax.set_xlabel("Langevin steps")
    ax.set_ylabel("fraction in the deep basin")
    ax.legend(loc="center right")
    viz.panel_title(ax, f"kT = {kT:g}: the chains have not mixed")
    return fig


def annealing_figure(start, annealed, descended):
    fig, axes = viz.figure(3, width=2.9, height=3.0)
    for ax, x, name in zip(axes, (start, descended, annealed), ("start (uniform)", "descent at kT = 0.05",
                                                                 "simulated annealing")):
        viz.density(ax, lambda z: -E.two_basin_energy(z), T_EXTENT, 120, cmap="Greys", log=True)
        viz.samples(ax, x, size=5, alpha=0.6, extent=T_EXTENT)
        viz.panel_title(ax, f"{name}: deep {100 * float(in_deep_basin(x).double().mean()):.0f}%")
    return fig
