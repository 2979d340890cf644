r"""Midpoint-rule quadrature on a 2D box: the reason the book lives in two dimensions.

In 2D a grid of a few hundred points a side integrates a smooth density to many digits, so
normalizing constants, KL divergences and negative log-likelihoods can be computed exactly
enough to check every other estimate against. The cost of the same grid grows as
``resolution ** D``, which is why nothing like it works for images.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .tensors import extent_box, function, log_density, positive_int

__all__ = ["grid", "log_integral", "grid_log_prob"]


def _float_dtype(dtype: torch.dtype | None) -> torch.dtype:
    """The points' dtype: floating point (integer points would truncate the midpoints)."""
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype; got {dtype}")
    return dtype


def grid(
    extent: Sequence[float],
    resolution: int,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, float]:
    """Cell midpoints of a ``resolution x resolution`` grid over ``extent``.

    Args:
        extent: ``(xmin, xmax, ymin, ymax)``.
        resolution: cells per side.
        dtype, device: of the returned points (torch's defaults when ``None``); ``dtype`` must
            be floating point.

    Returns:
        ``(points, cell_area)`` with ``points`` of shape ``(resolution**2, 2)``, ordered so
        that ``points.reshape(resolution, resolution, 2)[i, j]`` is row ``i`` (y) and column
        ``j`` (x), the layout ``imshow(origin="lower")`` expects.
    """
    x0, x1, y0, y1 = extent_box("extent", extent)
    positive_int("resolution", resolution, minimum=2)
    dtype = _float_dtype(dtype)
    hx, hy = (x1 - x0) / resolution, (y1 - y0) / resolution
    xs = torch.linspace(x0 + hx / 2, x1 - hx / 2, resolution, dtype=dtype, device=device)
    ys = torch.linspace(y0 + hy / 2, y1 - hy / 2, resolution, dtype=dtype, device=device)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx, yy], dim=-1).reshape(-1, 2), hx * hy


def grid_log_prob(
    log_f: Callable[[torch.Tensor], torch.Tensor],
    extent: Sequence[float],
    resolution: int,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    chunk: int = 65536,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Evaluate ``log_f`` on the grid in chunks (no autograd); returns ``(points, values, cell_area)``.

    ``log_f`` maps ``(N, 2)`` points to ``(N,)`` log-values; ``-inf`` (a zero) is allowed, NaN and
    ``+inf`` are rejected.
    """
    function("log_f", log_f, "(N, 2) points to (N,) log-values")
    positive_int("chunk", chunk)
    points, area = grid(extent, resolution, dtype=dtype, device=device)
    with torch.no_grad():
        values = torch.cat([log_f(points[i : i + chunk]) for i in range(0, len(points), chunk)])
    if values.shape != points.shape[:1]:
        raise ValueError(
            f"log_f must map (N, 2) points to (N,) log-densities; got shape {tuple(values.shape)}"
        )
    log_density("log_f's values on the grid", values)
    return points, values, area


def log_integral(
    log_f: Callable[[torch.Tensor], torch.Tensor],
    extent: Sequence[float],
    resolution: int,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""``log ∫_box exp(log_f(x)) dx`` by the midpoint rule, computed in log space (``logsumexp``).

    Args:
        log_f: maps ``(N, 2)`` points to ``(N,)`` log-values.
        extent: the box ``(xmin, xmax, ymin, ymax)``.
        resolution: cells per side.

    Returns:
        A scalar tensor; ``0`` means ``f`` integrates to one over the box.
    """
    _, values, area = grid_log_prob(log_f, extent, resolution, dtype=dtype, device=device)
    return torch.logsumexp(values, dim=0) + math.log(area)
