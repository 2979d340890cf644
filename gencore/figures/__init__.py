"""The figures layer: each chapter's figures and slider demos, one module per chapter.

``gencore.figures.<chapter>`` draws what the chapter's mathematics (``gencore.<chapter>``) and
experiments (``gencore.experiments.<chapter>``) computed, with ``gencore.viz`` and
``gencore.widgets``: it takes results and never trains, seeds or changes a global default.
Nothing below imports it.
"""
import importlib as _importlib
import importlib.util as _util


def __getattr__(name: str):
    # The chapters' modules (gencore.figures.vae, ...) load on first use.
    if not name.startswith("_") and _util.find_spec(f"{__name__}.{name}") is not None:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
