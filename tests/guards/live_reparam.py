"""Bad-input cases for gencore.live_reparam (chapter 2's live demo)."""
from __future__ import annotations

import torch

from gencore import live_reparam, widgets

from . import Case


def _slider():
    return widgets.slider(lambda fig, b: None, b=(0.0, 1.0), alt="an empty stand-in frame at b = {b}")


CASES = [
    Case("live_reparam.BananaStep", lambda: dict(s=0.5), ranges={"s": (0.0, None)}),
    Case("live_reparam.banana_live", lambda: dict(fallback=_slider(), eps=torch.randn(40, 2, generator=torch.Generator().manual_seed(0)),
                                                  s=0.5, n=30), ranges={"n": (1, 5000), "s": (0.0, None)}),
]
EXEMPT = {}
