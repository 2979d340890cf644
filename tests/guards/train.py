"""Bad-input cases for gencore.train (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import train
from guards import Case


def _fit(steps, lr, metric_every=10, snapshot_every=10):
    w = torch.nn.Linear(1, 1)
    return train.fit(lambda s: w(torch.ones(1, 1)).pow(2).sum(), w, steps, lr=lr, metric_every=metric_every,
                     snapshot_every=snapshot_every, progress=False)


CASES = [
    Case("train.fit", lambda: dict(steps=2, lr=1e-2, metric_every=10, snapshot_every=10), call=_fit,
         ranges={"steps": (1, None), "lr": (0, None), "metric_every": (1, None), "snapshot_every": (1, None)}),
    Case("train.EMA", lambda: dict(decay=0.9), call=lambda decay: train.EMA(torch.nn.Linear(1, 1), decay),
         ranges={"decay": (0, 1)}),
    Case("train.linear_decay", lambda: dict(steps=10, start=0.5), ranges={"steps": (1, None), "start": (0, 1)}),
]
EXEMPT = {
    "Progress": "a progress line: takes a count and a text, draws nothing from its inputs to spoil",
    "History": "a record of what fit() saw; its one method (metric) rejects an unknown name",
}
