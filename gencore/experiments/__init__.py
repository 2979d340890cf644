"""The experiments layer: each chapter's training recipes, runs and result tables.

``gencore.experiments.<chapter>`` composes the chapter's mathematics (``gencore.<chapter>``) into
the runs the book reports: it trains, measures and tabulates, taking a ``generator`` for every
random draw, and imports no plotting library, so the benchmarks run it headless. The figures
layer (``gencore.figures``) draws what it returns.
"""
import importlib as _importlib
import importlib.util as _util


def __getattr__(name: str):
    # The chapters' modules (gencore.experiments.vae, ...) load on first use.
    if not name.startswith("_") and _util.find_spec(f"{__name__}.{name}") is not None:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
