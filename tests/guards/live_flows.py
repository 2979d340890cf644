"""Bad-input cases for gencore.live_flows (chapter 5's live demos)."""
from __future__ import annotations

import torch

from gencore import flows as Fl
from gencore import live_flows, widgets

from . import Case


def _flows(members=2, K=3):
    g = torch.Generator().manual_seed(0)
    return [Fl.Flow([Fl.Planar(2, generator=g, dtype=torch.float32) for _ in range(K)], Fl.normal_base(dtype=torch.float32))
            for _ in range(members)]


def _slider():
    return widgets.slider(lambda fig, k: None, k=(0, 3), alt="an empty stand-in frame at k = {k}")


CASES = [
    Case("live_flows.FlowLayerStep", lambda: dict(flows=_flows(), inverse=False)),
    Case("live_flows.flow_layers_live", lambda: dict(fallback=_slider(), flows=_flows(), extent=(-3.0, 3.0, -3.0, 3.0),
                                                    title="k = {k}", alt="a", names=("a", "b"),
                                                    ref=torch.randn(30, 2, generator=torch.Generator().manual_seed(1)),
                                                    init=torch.randn(20, 2, generator=torch.Generator().manual_seed(2)),
                                                    start=(0.0, 0.0), n=20),
         ranges={"n": (1, 5000)}),
]
EXEMPT = {
    "swapped": "a context manager over a module and a dict of its tensors (nothing numeric to spoil); an unknown "
               "name is refused by name, and tests/test_live_flows.py runs the layers it swaps against gencore",
}
