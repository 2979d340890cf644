"""Bad-input cases for gencore.masked_conv (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import masked_conv as M
from gencore.nn import build

from . import Case

F64 = torch.float64


def _net():
    return build(lambda: M.PixelCNN(3, channels=4, layers=2, dtype=F64), torch.Generator().manual_seed(0))


def _img():
    return torch.linspace(0.1, 0.9, 9, dtype=F64)


CASES = [
    Case("masked_conv.conv_mask", lambda: dict(kernel=3, mask_type="A"), ranges={"kernel": (1, None)}),
    Case("masked_conv.MaskedConv2d", lambda: dict(in_channels=1, out_channels=2, kernel=3),
         ranges={"in_channels": (1, None), "out_channels": (1, None), "kernel": (1, None)}),
    Case("masked_conv.PixelCNN", lambda: dict(x=_img()[None].round()), call=lambda x: _net().log_prob(x)),
    Case("masked_conv.PixelCNN", lambda: dict(side=3, channels=4, layers=2),
         ranges={"side": (2, None), "layers": (1, None)}),
    Case("masked_conv.input_jacobian", lambda: dict(fn=_net(), x=_img())),
    Case("masked_conv.receptive_field", lambda: dict(fn=_net(), side=3, pixel=4, x=_img()),
         ranges={"side": (2, None), "pixel": (0, 8)}),
    Case("masked_conv.context_floor", lambda: dict(support=torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=F64),
                                                   probs=torch.tensor([0.5, 0.25, 0.25], dtype=F64),
                                                   visible=torch.tensor([[False, False], [True, False]]))),
    Case("masked_conv.reachable", lambda: dict(side=5, pixel=12, depth=2, kernel=3),
         ranges={"side": (2, None), "pixel": (0, 24), "depth": (1, None), "kernel": (1, None)}),
]
EXEMPT: dict = {}
