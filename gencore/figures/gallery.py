"""Chapter 0's gallery figure: every family's samples side by side, each with its two scores.

Takes the results of :func:`gencore.experiments.overview.run_gallery`; trains nothing.

Book: ``book/00_overview.ipynb``.
"""
from __future__ import annotations

from .. import metrics, viz
from ..data import make
from ..experiments.overview import DATASET

__all__ = ["gallery_figure"]


def gallery_figure(results, floor: metrics.Floor, ncols: int = 5):
    """Every family's samples on the shared dataset side by side; under each, its sliced W2 and distance to the curves."""
    extent = make(DATASET).box  # the dataset's one plotting box
    nrows = -(-len(results) // ncols)
    fig, axes = viz.figure(ncols, nrows, width=2.1, height=2.5)
    fig.get_layout_engine().set(hspace=0.12)  # a row's two-line scores clear the next row's titles
    for ax in axes.flat[len(results):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, results):
        ax.set_xlim(*extent[:2])
        ax.set_ylim(*extent[2:])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        where = "reference" if r.family.chapter == 0 else f"chapter {r.family.chapter}"
        ax.set_title(f"{r.family.name}\n({where})", fontsize=8.5)
        if r.samples is None:
            ax.text(0.5, 0.5, f"chapter {r.family.chapter}:\nnot in this\ngallery yet", ha="center", va="center",
                    transform=ax.transAxes, color=viz.COLORS["grey"], fontsize=11)
            ax.set_xlabel("sliced W2 –\nto curves –", fontsize=8.5)
            continue
        colour = viz.COLORS["p"] if r.family.chapter == 0 else viz.COLORS["q"]
        viz.samples(ax, r.samples, color=colour, size=2, alpha=0.5)
        ax.set_xlabel(f"sliced W2 {r.sliced_w2:.3f}\nto curves {r.curve_distance:.3f}", fontsize=8.5)
    n = next((len(r.samples) for r in results if r.samples is not None), 0)
    fig.suptitle(f"Samples on '{DATASET}' (n = {n}); data-vs-data floor of sliced W2: {floor.mean:.3f} ± "
                 f"{floor.sd:.3f};\n'to curves': mean distance to the moons' centre curves", fontsize=10)
    return fig
