"""Bad-input cases for gencore.metrics (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import data, metrics
from guards import Case

F64 = torch.float64
BOX = (-3.0, 3.0, -3.0, 3.0)


def _cloud(seed, n=20):
    return torch.randn(n, 2, dtype=F64, generator=torch.Generator().manual_seed(seed))


def _xy():
    return dict(x=_cloud(0), y=_cloud(1) + 0.5)


_P = data.GaussianMixture(torch.zeros(1, 2, dtype=F64), 1.0)

CASES = [
    Case("metrics.sliced_wasserstein", _xy, call=lambda x, y: metrics.sliced_wasserstein(x, y, 16)),
    Case("metrics.sliced_w2", _xy),
    Case("metrics.mmd", lambda: dict(**_xy(), bandwidth=1.0), ranges={"bandwidth": (0, None)}),
    Case("metrics.kl_on_grid", lambda: dict(resolution=20), call=lambda resolution: metrics.kl_on_grid(
        _P.log_prob, _P.log_prob, BOX, resolution), ranges={"resolution": (2, None)}),
    Case("metrics.entropy_on_grid", lambda: dict(resolution=20), call=lambda resolution: metrics.entropy_on_grid(
        _P.log_prob, BOX, resolution), ranges={"resolution": (2, None)}),
    Case("metrics.cross_entropy_on_grid", lambda: dict(resolution=20),
         call=lambda resolution: metrics.cross_entropy_on_grid(_P.log_prob, _P.log_prob, BOX, resolution),
         ranges={"resolution": (2, None)}),
    Case("metrics.kde_log_prob", lambda: dict(samples=_cloud(0), bandwidth=0.3),
         call=lambda samples, bandwidth: metrics.kde_log_prob(samples, bandwidth)(_cloud(1, 5)),
         ranges={"bandwidth": (0, None)}),
    Case("metrics.kde_log_prob", lambda: dict(x=_cloud(1, 5)), call=lambda x: metrics.kde_log_prob(_cloud(0), 0.3)(x)),
    Case("metrics.density_image", lambda: dict(resolution=10),
         call=lambda resolution: metrics.density_image(_P.log_prob, BOX, resolution), ranges={"resolution": (2, None)}),
    Case("metrics.mode_coverage", lambda: dict(samples=_cloud(0), means=_cloud(2, 3), std=0.5, threshold=3.0),
         ranges={"std": (0, None), "threshold": (0, None)}),
    Case("metrics.mode_shares", lambda: dict(samples=_cloud(0), means=_cloud(2, 3))),
    Case("metrics.data_floor", lambda: dict(n=10, repeats=2),
         call=lambda n, repeats: metrics.data_floor(metrics.sliced_w2, lambda m, g: _cloud(0, m), n, repeats),
         ranges={"n": (1, None), "repeats": (1, None)}),
    Case("metrics.floor_spread", lambda: dict(n=10, repeats=3),
         call=lambda n, repeats: metrics.floor_spread(metrics.sliced_w2, lambda m, g: _cloud(0, m), n, repeats),
         ranges={"n": (1, None), "repeats": (2, None)}),
]
EXEMPT = {
    "ModeCoverage": "a frozen record returned by mode_coverage, built from checked inputs",
    "Floor": "a frozen record returned by floor_spread; its methods compare plain numbers",
}
