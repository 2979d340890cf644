"""gencore: the tested PyTorch code behind the book *Deep Generative Models in 2D*.

One module per chapter (``divergences``, ``reparam``, ``vae``, ...) on top of shared pieces:
``data`` (2D toy distributions with exact densities), ``metrics`` (quantities computed the
same way in every chapter), ``train`` (one training loop), ``viz`` (one look for every figure)
and ``widgets`` (slider demos that work live in a kernel and on the static website).

Submodules are imported on first use, so ``import gencore`` stays cheap.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import random

import torch

__version__ = "0.1.0"

__all__ = ["__version__", "SEED_STRIDE", "device", "seed", "generator", "seed_offset", "shifted_seed", "glue"]

SEED_STRIDE = 10007  # GENCORE_SEED=k adds k * SEED_STRIDE to every seed the book draws (shifted_seed)


def device() -> torch.device:
    """The device the book's code should run on: CUDA, else Apple MPS, else the CPU.

    The environment variable ``GENCORE_DEVICE`` (e.g. ``cpu`` or ``cuda:1``) overrides the
    choice, so a reader with a GPU can still reproduce the CPU numbers.
    """
    forced = os.environ.get("GENCORE_DEVICE")
    if forced:
        try:
            return torch.device(forced)
        except RuntimeError as err:
            raise ValueError(f"GENCORE_DEVICE={forced!r} is not a torch device name") from err
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_offset() -> int:
    """The seed shift asked for by the environment variable ``GENCORE_SEED`` (0 when unset).

    Every seed the book draws, in a chapter's ``gencore.seed(0)`` and inside the training
    recipes, goes through :func:`shifted_seed`, so ``GENCORE_SEED=1`` re-runs a whole chapter
    on other random numbers. ``GENCORE_SEED=0`` (or unset) gives the book's own numbers.
    """
    raw = os.environ.get("GENCORE_SEED", "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"GENCORE_SEED must be a non-negative integer, got {raw!r}")
    return value


def shifted_seed(value: int) -> int:
    """``value`` moved by the ``GENCORE_SEED`` sweep: ``value + SEED_STRIDE * seed_offset()``.

    The stride is a prime larger than any seed the book uses, so the seeds of one sweep member
    never coincide with another member's (seed 1 at offset 0 is not seed 0 at offset 1).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"shifted_seed: value must be a non-negative int, got {value!r}")
    return value + SEED_STRIDE * seed_offset()


def seed(value: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU ``torch.Generator``.

    The seed used is ``shifted_seed(value)``: ``value`` itself unless the environment variable
    ``GENCORE_SEED`` asks for another member of the seed sweep. The returned generator is
    seeded with the same number; pass it to ``gencore`` functions (``generator=``) to make one
    computation reproducible without touching global state.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"seed: value must be a non-negative int, got {value!r}")
    value = shifted_seed(value)
    random.seed(value)
    try:
        import numpy as np

        np.random.seed(value % 2**32)
    except ImportError:  # numpy is a dependency, but seeding must never be the failure
        pass
    torch.manual_seed(value)
    return torch.Generator().manual_seed(value)


def generator(value: int = 0, device: torch.device | str | None = None) -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with ``shifted_seed(value)``; touches no global state.

    The one way the book hands randomness to a recipe: ``run.train_vae(..., generator=
    gencore.generator(3))`` gives the same run every time at a given ``GENCORE_SEED`` and a
    different one at another, without reseeding the reader's global generator.

    Example:
        >>> a = torch.randn(2, generator=generator(5)); b = torch.randn(2, generator=generator(5))
        >>> bool((a == b).all())
        True
    """
    gen = torch.Generator(device=device) if device is not None else torch.Generator()
    return gen.manual_seed(shifted_seed(value))


def glue(name: str, value, display: bool = False):
    """Record ``value`` under ``name`` so the page's prose can show it: ``{glue:text}`name:.3f```.

    The book never types a computed number into its text; the cell that computes it glues it,
    and the website build (myst-nb) pastes it into the sentence, so text and output agree on
    every machine and at every ``GENCORE_SEED``. A one-element tensor is glued as a Python
    number, anything else as it is (a string shows without quotes). Where myst-nb is not
    installed (Colab) the same record is written with IPython alone; outside a kernel nothing
    is displayed. Returns ``value`` (the number, for a tensor), so a cell can glue and use it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"glue: name must be a non-empty string, got {name!r}")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"glue: value must be a number or a one-element tensor, got shape {tuple(value.shape)}")
        value = value.item()
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipy_display
    except ImportError:  # not in a kernel: nothing to record
        return value
    if get_ipython() is None:
        return value
    # The record myst-nb's glue writes (its key, prefix and metadata), without needing myst-nb.
    bundle, metadata = format_display_data(value)
    prefix = "" if display else "application/papermill.record/"
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    return value


def __getattr__(name: str):
    # Submodules (gencore.data, gencore.vae, ...) load on first use.
    if not name.startswith("_") and importlib.util.find_spec(f"gencore.{name}") is not None:
        return importlib.import_module(f"gencore.{name}")
    raise AttributeError(f"module 'gencore' has no attribute {name!r}")
