"""gencore's shared pieces: device choice, seeding, argument checks and quadrature."""
from __future__ import annotations

import math

import pytest
import torch

import gencore
from gencore import quadrature


def test_device_is_torchs_accelerator_else_cpu_and_can_be_overridden(monkeypatch):
    monkeypatch.delenv("GENCORE_DEVICE", raising=False)
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is None or not hasattr(accelerator, "current_accelerator"):
        pytest.skip("torch.accelerator (torch >= 2.6) is the independent reference")
    expected = accelerator.current_accelerator() or torch.device("cpu")
    chosen = gencore.device()
    assert chosen.type == expected.type
    x = torch.ones(3, 3, device=chosen)
    assert (x @ x).sum().item() == 27.0  # the chosen device really computes
    monkeypatch.setenv("GENCORE_DEVICE", "meta")
    assert torch.zeros(2, device=gencore.device()).is_meta
    monkeypatch.setenv("GENCORE_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="GENCORE_DEVICE"):
        gencore.device()


def test_seed_makes_runs_repeat():
    g1 = gencore.seed(7)
    a, b = torch.randn(3), torch.randn(3, generator=g1)
    g2 = gencore.seed(7)
    assert torch.equal(a, torch.randn(3)) and torch.equal(b, torch.randn(3, generator=g2))
    assert not torch.equal(b, torch.randn(3, generator=gencore.seed(8)))
    with pytest.raises(ValueError, match="value"):
        gencore.seed(-1)


def test_gencore_seed_shifts_every_seed_and_zero_changes_nothing(monkeypatch):
    monkeypatch.delenv("GENCORE_SEED", raising=False)
    base = torch.randn(4, generator=gencore.seed(3))
    assert torch.equal(base, torch.randn(4, generator=torch.Generator().manual_seed(3)))
    monkeypatch.setenv("GENCORE_SEED", "0")
    assert torch.equal(base, torch.randn(4, generator=gencore.seed(3)))
    draws = set()
    for k in ("1", "2"):
        monkeypatch.setenv("GENCORE_SEED", k)
        assert gencore.seed_offset() == int(k)
        draws.add(tuple(torch.randn(4, generator=gencore.seed(3)).tolist()))
        # the recipes' seeds move with it: seed 1 at offset k is no other member's seed
        assert gencore.shifted_seed(1) not in {0, 1, 2, gencore.shifted_seed(0), gencore.shifted_seed(2)}
    assert len(draws) == 2 and tuple(base.tolist()) not in draws
    for bad in ("-1", "one", "1.5"):
        monkeypatch.setenv("GENCORE_SEED", bad)
        with pytest.raises(ValueError, match="GENCORE_SEED"):
            gencore.seed(0)


def test_glue_outside_a_kernel_returns_the_number():
    assert gencore.glue("x", torch.tensor(0.25)) == 0.25 and isinstance(gencore.glue("x", torch.tensor(3)), int)
    assert gencore.glue("word", "two") == "two"
    with pytest.raises(ValueError, match="name"):
        gencore.glue("", 1.0)
    with pytest.raises(ValueError, match="value"):
        gencore.glue("v", torch.zeros(2))


def test_glue_in_a_kernel_writes_the_record_myst_nb_reads(monkeypatch):
    """The record must be the one myst-nb's own glue writes, key, mime prefix and metadata."""
    pytest.importorskip("IPython")
    myst_glue = pytest.importorskip("myst_nb.ext.glue")
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, metadata=None: shown.append((obj, metadata)))
    monkeypatch.setattr(myst_glue, "ipy_display", lambda obj, raw=False, metadata=None: shown.append((obj, metadata)))
    gencore.glue("kl", 0.125)
    myst_glue.glue("kl", 0.125, display=False)
    assert len(shown) == 2 and shown[0] == shown[1]
    bundle, metadata = shown[0]
    assert bundle == {"application/papermill.record/text/plain": "0.125"}
    assert metadata["scrapbook"] == {"name": "kl", "mime_prefix": "application/papermill.record/"}


def test_submodules_load_on_first_use_only():
    import subprocess
    import sys

    code = ("import sys, gencore; before = 'gencore.vae' in sys.modules; import importlib; "
            "m = gencore.vae; print(before, m is importlib.import_module('gencore.vae'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
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
