"""gencore.train: the loop, its history, snapshots and EMA."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gencore.train import EMA, fit


def test_fit_minimizes_a_quadratic_and_records_history():
    w = torch.tensor([3.0, -2.0], dtype=torch.float64, requires_grad=True)
    hist = fit(lambda s: (w**2).sum(), [w], 200, lr=0.1, metric_fn=lambda s: {"norm": w.norm()},
               metric_every=50, snapshot_fn=lambda s: w.detach().clone(), snapshot_every=100, progress=False)
    assert w.norm() < 1e-3
    assert len(hist.loss) == 200 and hist.loss[-1] < hist.loss[0]
    steps, values = hist.metric("norm")
    assert steps == [0, 50, 100, 150, 200] and values[0] == pytest.approx(math.sqrt(13))
    assert [s for s, _ in hist.snapshots] == [0, 100, 200]
    assert w.dtype == torch.float64 and hist.seconds > 0


def test_fit_with_sgd_follows_the_gradient_exactly():
    w = torch.tensor([1.0], requires_grad=True)
    fit(lambda s: 0.5 * (w**2).sum(), [w], 3, lr=0.5, optimizer="sgd", progress=False)
    assert w.item() == pytest.approx(0.125)  # w <- (1 - lr) w, three times


def test_ema_is_the_exponential_average():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.5)
    for target in (1.0, 2.0):
        with torch.no_grad():
            model.weight.fill_(target)
        ema.update(model)
    assert ema.module.weight.item() == pytest.approx(0.5 * (0.5 * 0 + 0.5 * 1.0) + 0.5 * 2.0)
    with pytest.raises(ValueError, match="decay"):
        EMA(model, decay=1.0)


def test_fit_progress_line_in_a_terminal(capsys):
    w = torch.tensor([1.0], requires_grad=True)
    fit(lambda s: (w**2).sum(), [w], 5, progress=True, desc="demo")
    assert "demo" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs,match", [
    (dict(steps=0), "steps"), (dict(lr=-1.0), "lr"), (dict(optimizer="rmsprop"), "optimizer"),
])
def test_fit_rejects_bad_arguments(kwargs, match):
    w = torch.zeros(1, requires_grad=True)
    args = dict(steps=3) | kwargs
    with pytest.raises(ValueError, match=match):
        fit(lambda s: (w**2).sum(), [w], progress=False, **args)


def test_fit_rejects_non_scalar_and_non_finite_losses():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="scalar"):
        fit(lambda s: w**2, [w], 2, progress=False)
    with pytest.raises(FloatingPointError, match="step 1"):
        fit(lambda s: (w * math.inf).sum(), [w], 2, progress=False)
    with pytest.raises(ValueError, match="ema"):
        fit(lambda s: (w**2).sum(), [w], 2, ema=EMA(nn.Linear(1, 1)), progress=False)


def test_a_notebook_progress_line_reads_the_same_as_text_and_as_html():
    """The printed book and text-only front ends show the progress line's plain text: it must be the
    line itself (an HTML-only output prints as "<IPython.core.display.HTML object>")."""
    from gencore.train import Progress

    progress = Progress(40, "fit", enabled=False)
    bundle = progress._html(10, "loss 0.5<1")._repr_mimebundle_()
    assert bundle["text/plain"].startswith("fit") and "10/40" in bundle["text/plain"]
    assert "loss 0.5&lt;1" in bundle["text/html"] and "<pre" in bundle["text/html"]
