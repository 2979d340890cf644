"""The exercise checkers, one module per chapter (``gencore.exercises.<chapter>``), and what they share.

Each ``check_*`` function takes the reader's function, runs it on cases chosen to catch the
usual mistakes, and returns a :class:`Verdict` that prints as one friendly paragraph (and
renders as a coloured box in a notebook). ``bool(verdict)`` says whether it passed.
"""
from __future__ import annotations

import html
import importlib as _importlib
import importlib.util as _util
import math
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["Verdict", "call_reader", "float32_kept"]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return ("Correct. " if self.ok else "Not yet. ") + self.message

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.ok else "#c62828"
        return (f"<div style='border-left:4px solid {colour};padding:4px 10px'>"
                f"<b>{'Correct.' if self.ok else 'Not yet.'}</b> {html.escape(self.message)}</div>")

    def __repr__(self) -> str:
        return str(self)


def call_reader(fn: Callable, *args) -> tuple[torch.Tensor | None, str | None]:
    try:
        out = fn(*args)
    except Exception as err:  # the reader's code: report, don't crash the notebook
        return None, f"calling it raised {type(err).__name__}: {err}"
    if not isinstance(out, torch.Tensor):
        return None, f"it should return a torch.Tensor, but returned {type(out).__name__}"
    return out, None


def float32_kept(fn: Callable, *args, what: str = "inputs", result: str = "result",
                  advice: str = "do not hard-code a dtype") -> Verdict | None:
    """``None`` when ``fn`` returns float32 for float32 ``args``; otherwise the failing verdict."""
    out, err = call_reader(fn, *args)
    if err or out.dtype != torch.float32:
        found = err or f"got {out.dtype}"
        return Verdict(False, f"float32 {what} should give a float32 {result} ({advice}); {found}.")
    return None




def __getattr__(name: str):
    # The chapters' checkers (gencore.exercises.vae, ...) load on first use.
    if not name.startswith("_") and _util.find_spec(f"{__name__}.{name}") is not None:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
