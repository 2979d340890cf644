"""gencore.nn: the shared MLPs, checked against plain torch layers."""
from __future__ import annotations

import pytest
import torch
from torch import nn as tnn
from torch.nn import functional as F

from gencore import nn

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("act", nn.ACTIVATIONS)
def test_stacked_mlp_equals_a_loop_of_linear_layers_for_each_model(act):
    net = nn.StackedMLP(4, (3, 16, 8, 2), act, generator=_gen(), dtype=F64)
    x = torch.randn(4, 10, 3, dtype=F64, generator=_gen(1))
    out = net(x)
    for m in range(4):
        h = x[m]
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            lin = tnn.Linear(w.shape[1], w.shape[2], dtype=F64)
            with torch.no_grad():
                lin.weight.copy_(w[m].T)
                lin.bias.copy_(b[m, 0])
            h = lin(h)
            if i < len(net.weights) - 1:
                h = nn.activation(act, h)
        assert torch.allclose(out[m], h, atol=1e-12)


def test_stacked_mlp_shapes_broadcast_and_select():
    net = nn.StackedMLP(3, (2, 8, 1), generator=_gen(), dtype=F64)
    x = torch.randn(5, 2, dtype=F64)
    assert net(x).shape == (3, 5, 1)
    assert torch.allclose(net(x), net(x.expand(3, 5, 2)))
    assert net(torch.randn(7, 3, 5, 2, dtype=F64)).shape == (7, 3, 5, 1)
    sub = net.select([2, 0])
    assert torch.allclose(sub(x), net(x)[[2, 0]])
    with pytest.raises(ValueError, match="h"):
        net(torch.randn(4, 5, 2, dtype=F64))
    with pytest.raises(ValueError, match="index"):
        net.select([3])


def test_stacked_mlp_initialisation_follows_linear_and_generator():
    a = nn.StackedMLP(2, (4, 32, 1), generator=_gen(5))
    b = nn.StackedMLP(2, (4, 32, 1), generator=_gen(5))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    bound = 1 / 4**0.5
    assert a.weights[0].abs().max() <= bound and a.weights[0].abs().max() > 0.8 * bound


def test_mlp_layers_and_determinism():
    m = nn.mlp((2, 8, 8, 3), "tanh", generator=_gen(1))
    assert [type(x).__name__ for x in m][::2] == ["Linear"] * 3
    assert m(torch.zeros(4, 2)).shape == (4, 3)
    m2 = nn.mlp((2, 8, 8, 3), "tanh", generator=_gen(1))
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), m2.parameters()))
    with pytest.raises(ValueError, match="sizes"):
        nn.mlp((2,))
    with pytest.raises(ValueError, match="activation"):
        nn.mlp((2, 3), "gelu")


def test_init_is_deterministic_and_leaves_the_global_generator_alone():
    a = tnn.Sequential(tnn.Linear(3, 5), tnn.Embedding(4, 5))
    state = torch.random.get_rng_state()
    nn.init_(a, _gen(2))
    assert torch.equal(torch.random.get_rng_state(), state)
    b = nn.init_(tnn.Sequential(tnn.Linear(3, 5), tnn.Embedding(4, 5)), _gen(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = nn.init_(tnn.Sequential(tnn.Linear(3, 5), tnn.Embedding(4, 5)), _gen(3))
    assert not torch.equal(a[0].weight, c[0].weight)
    assert (a[0].weight.abs() <= 1 / 3**0.5).all()
    lin = tnn.Linear(2, 2)
    before = lin.weight.clone()
    assert nn.init_(lin, None) is lin and torch.equal(lin.weight, before)


def test_sinusoidal_features():
    t = torch.tensor([0.0, 0.5], dtype=F64)
    f = torch.tensor([1.0, 3.0], dtype=F64)
    e = nn.sinusoidal_features(t, f)
    assert e.shape == (2, 4)
    assert torch.allclose(e[1], torch.tensor([0.5, 1.5, 0.5, 1.5], dtype=F64).sin().where(
        torch.tensor([True, True, False, False]), torch.tensor([0.5, 1.5, 0.5, 1.5], dtype=F64).cos()))


def test_time_mlp_shapes_classes_and_time_scale():
    net = nn.TimeMLP(dim=3, hidden=16, layers=2, time_scale=100.0, generator=_gen())
    x = torch.randn(6, 3)
    assert net(x, 5).shape == (6, 3)
    assert torch.allclose(net(x, 5), net(x, torch.full((6,), 5.0)))
    same = nn.TimeMLP(dim=3, hidden=16, layers=2, time_scale=1.0, generator=_gen())
    assert torch.allclose(net(x, 50.0), same(x, 0.5), atol=1e-6)  # only t / time_scale matters
    cond = nn.TimeMLP(dim=2, hidden=16, n_classes=3, generator=_gen())
    y = torch.tensor([0, 1, 2, 0])
    out = cond(torch.zeros(4, 2), torch.rand(4), y)
    assert out.shape == (4, 2)
    unc = cond(torch.zeros(4, 2), 0.3)  # y=None: the "no class" embedding, index n_classes
    assert torch.allclose(unc, cond(torch.zeros(4, 2), 0.3, torch.full((4,), 3)))
    assert len(cond.label[0].weight) == 4
    with pytest.raises(ValueError, match="n_classes"):
        nn.TimeMLP(n_classes=-1)


def test_time_mlp_is_deterministic_from_its_generator():
    a, b = nn.TimeMLP(generator=_gen(7)), nn.TimeMLP(generator=_gen(7))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_meta_device_runs():
    net = nn.StackedMLP(3, (2, 8, 1), device="meta")
    out = net(torch.empty(5, 2, device="meta"))
    assert out.device.type == "meta" and out.shape == (3, 5, 1)
    m = nn.mlp((2, 4, 1), device="meta")
    assert m(torch.empty(3, 2, device="meta")).shape == (3, 1)
    t = nn.TimeMLP(dim=2, hidden=8).to("meta")
    out = t(torch.empty(4, 2, device="meta"), torch.empty(4, device="meta"))
    assert out.device.type == "meta" and out.shape == (4, 2)
    assert F.silu(torch.empty(1, device="meta")).device.type == "meta"


@pytest.mark.parametrize("make", [
    lambda g: nn.mlp((2, 16, 16, 1), generator=g),
    lambda g: nn.TimeMLP(hidden=16, n_classes=3, generator=g),
    lambda g: nn.build(lambda: torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Embedding(4, 8)), g),
])
def test_building_with_a_generator_leaves_the_global_generator_alone_and_is_reproducible(make):
    state = torch.get_rng_state()
    a, b = make(torch.Generator().manual_seed(7)), make(torch.Generator().manual_seed(7))
    assert torch.equal(state, torch.get_rng_state())  # nothing drawn from, or reseeded in, the caller's generator
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    c = make(torch.Generator().manual_seed(8))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
