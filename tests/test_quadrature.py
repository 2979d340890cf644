"""gencore.quadrature: the midpoint rule on a 2D box, its guards and its devices."""
from __future__ import annotations

import math

import pytest
import torch

from gencore import quadrature as Q

F64 = torch.float64


def test_a_gaussian_integrates_to_one_on_a_wide_box():
    log_n = lambda x: -0.5 * (x**2).sum(-1) - math.log(2 * math.pi)  # noqa: E731
    assert abs(Q.log_integral(log_n, (-8, 8, -8, 8), 200, dtype=F64)) < 1e-10


def test_grid_layout_and_area():
    points, area = Q.grid((0, 2, 0, 1), 4, dtype=F64)
    assert points.shape == (16, 2) and area == pytest.approx(0.5 * 0.25)
    assert torch.equal(points.reshape(4, 4, 2)[1, 2], torch.tensor([1.25, 0.375], dtype=F64))  # row y, column x


def test_integer_dtype_and_bad_log_f_are_rejected():
    with pytest.raises(TypeError, match="dtype"):
        Q.grid((0, 1, 0, 1), 4, dtype=torch.int64)
    with pytest.raises(ValueError, match="log_f"):
        Q.log_integral(lambda x: torch.full(x.shape[:1], math.nan, dtype=x.dtype), (0, 1, 0, 1), 4)
    zero_outside = lambda x: torch.where(x[:, 0] < 0.5, 0.0, -math.inf)  # noqa: E731  (-inf: a zero)
    assert Q.log_integral(zero_outside, (0, 1, 0, 1), 4, dtype=F64).item() == pytest.approx(math.log(0.5))


def test_meta_device():
    points, _ = Q.grid((0, 1, 0, 1), 8, device="meta")
    assert points.device.type == "meta" and points.shape == (64, 2)
    value = Q.log_integral(lambda x: x.sum(-1), (0, 1, 0, 1), 8, device="meta")
    assert value.device.type == "meta" and value.shape == ()
