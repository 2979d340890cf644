"""Bad-input cases for gencore.live_score (chapter 7's live demos)."""
from __future__ import annotations

import torch

from gencore import live_score as LS
from gencore import score as S
from gencore import widgets
from gencore.data import GaussianMixture

from . import Case


def _mix():
    return GaussianMixture(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]), 0.5, torch.tensor([0.8, 0.2]))


def _net():
    return S.ScoreNet(2, 8, conditional=True, generator=torch.Generator().manual_seed(0), dtype=torch.float32)


def _sigmas():
    return torch.tensor([2.0, 1.0, 0.5])


def _slider():
    return widgets.slider(lambda fig, a: None, a=(0, 1), alt="an empty stand-in frame at a = {a}")


def _points(n=20, seed=1):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


CASES = [
    Case("live_score.langevin_updates", lambda: dict(score_fn=lambda y: -y, x=_points(), z=torch.randn(20, 4),
                                                     eps=0.1, inner=2),
         ranges={"eps": (0.0, None), "inner": (1, None)}, pairs=("x", "z")),
    Case("live_score.LangevinStep", lambda: dict(mixture=_mix(), inner=3), ranges={"inner": (1, 32)}),
    Case("live_score.AnnealedStep", lambda: dict(model=_net(), sigmas=_sigmas(), inner=3), ranges={"inner": (1, 32)}),
    Case("live_score.langevin_live", lambda: dict(fallback=_slider(), mixture=_mix(), init=_points(),
                                                  extent=(-3.0, 3.0, -2.0, 2.0), inner=5, max_steps=50, n=20),
         ranges={"n": (1, 5000), "max_steps": (5, 5000), "inner": (1, 32)}),
    Case("live_score.annealed_live", lambda: dict(fallback=_slider(), model=_net(), sigmas=_sigmas(), init=_points(),
                                                  extent=(-3.0, 3.0, -2.0, 2.0), inner=2, max_calls=3, n=20),
         ranges={"n": (1, 5000), "max_calls": (1, 100), "inner": (1, 32)}),
]
