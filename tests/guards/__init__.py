"""Bad-input cases for the whole public API of gencore's library layer (tests/test_guards.py).

Each module ``tests/guards/<module>.py`` lists, for every public function and class of
``gencore.<module>``, a :class:`Case`: how to call it with good arguments. The test then spoils
one argument at a time (a NaN or an inf entry, an integer dtype, an empty batch, an extra
dimension, a value outside the argument's range, one of a pair cut short) and requires a
``ValueError`` or ``TypeError`` whose message names that argument. A call that returns (silent)
or fails inside torch with anything else (deep) fails the test. Where a function rightly accepts
a spoiled argument (it propagates NaN on purpose, or is rank independent) the case says so in
``accepts`` and the comment beside it says why. Names with nothing to spoil go in ``EXEMPT``
with the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

TENSOR_SPOILS = ("nan", "inf", "int", "empty", "extra_dim")
FLOAT_SPOILS = ("nan", "inf")


@dataclass
class Case:
    """One public callable and how to call it well.

    Attributes:
        target: ``"module.name"`` as exported (``"diffusion.q_sample"``, ``"flows.Flow"``).
        args: returns fresh good keyword arguments (tensors are rebuilt for every call).
        call: ``call(**kwargs)``; defaults to the exported object itself.
        ranges: ``name -> (low, high)``: the closed interval a number must lie in (``None``
            for an open side); values outside it are tried. Integer arguments get ints.
        pairs: names of arguments that must have the same length along dim 0.
        accepts: ``name -> spoils`` the callable rightly lets through (say why beside it).
        only: if given, the only argument names to spoil.
    """

    target: str
    args: Callable[[], dict]
    call: Callable[..., Any] | None = None
    ranges: dict = field(default_factory=dict)
    pairs: tuple = ()
    accepts: dict = field(default_factory=dict)
    only: tuple | None = None

    def __str__(self):
        return self.target


def spoils_for(case: Case, name: str, value) -> list[str]:
    """The spoils that apply to argument ``name`` with good value ``value``."""
    if case.only is not None and name not in case.only:
        return []
    out: list[str] = []
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        out += [s for s in TENSOR_SPOILS if not (s in ("empty",) and value.ndim == 0)]
    elif isinstance(value, float):
        out += list(FLOAT_SPOILS)
    if name in case.ranges:
        low, high = case.ranges[name]
        if low is not None:
            out.append("below")
        if high is not None:
            out.append("above")
    if any(name in p for p in case.pairs):
        out.append("short")
    skip = case.accepts.get(name, ())
    return [s for s in out if s not in skip]


def spoil(case: Case, name: str, value, how: str, draw):
    """``value`` spoiled as ``how``; ``draw(strategy)`` supplies hypothesis-drawn details."""
    from hypothesis import strategies as st

    if how in ("nan", "inf"):
        bad = math.nan if how == "nan" else draw(st.sampled_from([math.inf, -math.inf]))
        if isinstance(value, torch.Tensor):
            v = value.detach().clone()
            flat = v.reshape(-1)
            flat[draw(st.integers(0, flat.numel() - 1))] = bad
            return v
        return bad
    if how == "int":
        return value.detach().round().long()
    if how == "empty":
        return value[:0]
    if how == "extra_dim":
        return value.unsqueeze(-1).expand(*value.shape, 3).clone()
    if how == "short":
        return value[:-1] if len(value) > 1 else value[:0]
    low, high = case.ranges[name]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    gap = draw(st.floats(1e-3, 1e3)) if not is_int else draw(st.integers(1, 1000))
    bad = (low - gap) if how == "below" else (high + gap)
    if isinstance(value, torch.Tensor):
        return torch.full_like(value, float(bad))
    return int(bad) if is_int else float(bad)
