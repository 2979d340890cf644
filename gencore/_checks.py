"""Argument checks shared by every module: clear errors that name the argument.

A negative sigma, a wrong shape or an unknown name should fail at the call with a sentence
a reader understands, never as a NaN or a stack trace from deep inside torch.
"""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["positive", "positive_int", "probability_vector", "event_2d", "extent_box", "one_of"]


def positive(name: str, value, *, allow_zero: bool = False):
    """Raise ``ValueError`` unless every entry of ``value`` (number or tensor) is > 0 (>= 0)."""
    t = torch.as_tensor(value) if not isinstance(value, torch.Tensor) else value
    if t.device.type == "meta":
        return value
    bad = ~(t >= 0) if allow_zero else ~(t > 0)  # the negation also catches NaN
    if bool(bad.any()):
        what = "non-negative" if allow_zero else "positive"
        shown = t.detach().flatten()[bad.flatten()][:3].tolist()
        raise ValueError(f"{name} must be {what}; got {shown if t.ndim else t.item()}")
    return value


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


def probability_vector(name: str, p: torch.Tensor, dim: int = -1, atol: float = 1e-6) -> torch.Tensor:
    """Check that ``p`` is non-negative and sums to one along ``dim``."""
    if not isinstance(p, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of probabilities; got {type(p).__name__}")
    if p.device.type == "meta":
        return p
    if bool((p < 0).any()) or bool(torch.isnan(p).any()):
        raise ValueError(f"{name} must have non-negative entries")
    total = p.sum(dim)
    if not torch.allclose(total, torch.ones_like(total), atol=atol):
        raise ValueError(
            f"{name} must sum to 1 along dim={dim}; sums are {total.flatten()[:3].tolist()}"
        )
    return p


def event_2d(name: str, x: torch.Tensor) -> torch.Tensor:
    """Check that ``x`` is a batch of 2D points, shape ``(..., 2)``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, 2); got {type(x).__name__}")
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (..., 2) (2D points); got {tuple(x.shape)}")
    return x


def extent_box(name: str, extent: Sequence[float]) -> tuple[float, float, float, float]:
    """Check a plotting/quadrature box ``(xmin, xmax, ymin, ymax)`` with positive area."""
    try:
        x0, x1, y0, y1 = (float(v) for v in extent)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be (xmin, xmax, ymin, ymax); got {extent!r}") from err
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"{name} must have xmax > xmin and ymax > ymin (a non-empty box); got {extent!r}")
    return x0, x1, y0, y1


def one_of(name: str, value, choices: Sequence):
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value
