"""gencore's shared pieces: device choice, seeding, argument checks and quadrature."""
from __future__ import annotations

import math

import pytest
import torch

import gencore
from gencore import quadrature


def test_device_default_and_override(monkeypatch):
    monkeypatch.delenv("GENCORE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert gencore.device().type == expected
    monkeypatch.setenv("GENCORE_DEVICE", "meta")
    assert gencore.device() == torch.device("meta")
    monkeypatch.setenv("GENCORE_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="GENCORE_DEVICE"):
        gencore.device()


def test_seed_makes_runs_repeat():
    g1 = gencore.seed(7)
    a, b = torch.randn(3), torch.randn(3, generator=g1)
    g2 = gencore.seed(7)
    assert torch.equal(a, torch.randn(3)) and torch.equal(b, torch.randn(3, generator=g2))
    with pytest.raises(ValueError, match="value"):
        gencore.seed(-1)


def test_lazy_submodules():
    assert gencore.divergences.kl_normal is not None
    with pytest.raises(AttributeError):
        gencore.no_such_module


def test_grid_layout_and_area():
    pts, area = quadrature.grid((-1, 3, 0, 2), 4, dtype=torch.float64)
    assert pts.shape == (16, 2) and pts.dtype == torch.float64
    assert area == pytest.approx(0.5)
    img = pts.reshape(4, 4, 2)
    assert torch.allclose(img[0, :, 0], torch.tensor([-0.5, 0.5, 1.5, 2.5], dtype=torch.float64))  # x along columns
    assert torch.allclose(img[:, 0, 1], torch.tensor([0.25, 0.75, 1.25, 1.75], dtype=torch.float64))  # y along rows


def test_log_integral_of_a_gaussian_is_zero():
    mvn = torch.distributions.MultivariateNormal(torch.tensor([0.3, -0.2], dtype=torch.float64),
                                                 torch.tensor([[1.0, 0.5], [0.5, 0.8]], dtype=torch.float64))
    assert abs(quadrature.log_integral(mvn.log_prob, (-8, 8, -8, 8), 400, dtype=torch.float64)) < 1e-8


@pytest.mark.parametrize("extent", [(0, 0, 0, 1), (1, 0, 0, 1), (0, 1)])
def test_bad_extent_is_named(extent):
    with pytest.raises(ValueError, match="extent"):
        quadrature.grid(extent, 10)


def test_bad_resolution_is_named():
    with pytest.raises(ValueError, match="resolution"):
        quadrature.grid((0, 1, 0, 1), 1)


def test_log_f_must_return_one_value_per_point():
    with pytest.raises(ValueError, match="log_f"):
        quadrature.log_integral(lambda x: x, (0, 1, 0, 1), 8)
