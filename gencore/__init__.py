"""gencore: the tested PyTorch code behind the book *Deep Generative Models in 2D*.

One module per chapter (``divergences``, ``reparam``, ``vae``, ...) on top of shared pieces:
``data`` (2D toy distributions with exact densities), ``metrics`` (quantities computed the
same way in every chapter), ``train`` (one training loop), ``viz`` (one look for every figure)
and ``widgets`` (slider demos that work live in a kernel and on the static website).

Submodules are imported on first use, so ``import gencore`` stays cheap.
"""
from __future__ import annotations

import importlib
import os
import random

import torch

__version__ = "0.1.0"

__all__ = ["__version__", "device", "seed"]

_SUBMODULES = {"data", "metrics", "train", "viz", "widgets", "divergences", "check"}
_SUBMODULES |= {"vae"}  # chapter 3


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


def seed(value: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU ``torch.Generator``.

    The returned generator is seeded with the same value; pass it to ``gencore`` functions
    (``generator=``) to make one computation reproducible without touching global state.
    """
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"seed: value must be a non-negative int, got {value!r}")
    random.seed(value)
    try:
        import numpy as np

        np.random.seed(value % 2**32)
    except ImportError:  # numpy is a dependency, but seeding must never be the failure
        pass
    torch.manual_seed(value)
    return torch.Generator().manual_seed(value)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"gencore.{name}")
    raise AttributeError(f"module 'gencore' has no attribute {name!r}")
