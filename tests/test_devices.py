"""The stand-in accelerator (tests/fakedevice.py) finds what a GPU would refuse, and only that."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import gencore
from fakedevice import DeviceMixError, OnDevice, active


def test_device_follows_the_switch_and_numbers_are_the_cpus():
    x_cpu = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    with active() as dev:
        assert gencore.device() == dev
        x = x_cpu.to(dev)
        assert isinstance(x, OnDevice) and x.device == dev
        y = (x @ x.T).logsumexp(-1).mean()
        assert y.device == dev
        assert y.item() == (x_cpu @ x_cpu.T).logsumexp(-1).mean().item()
        assert torch.zeros(4, device=x.device).device == dev
        assert torch.empty_like(x).device == dev
    assert gencore.device() != dev


def test_host_tensor_meeting_a_device_tensor_is_refused():
    with active() as dev:
        x = torch.ones(5, 2, device=dev)
        with pytest.raises(DeviceMixError, match="host tensor of shape \\(5, 2\\)"):
            x + torch.ones(5, 2)
        with pytest.raises(DeviceMixError):
            torch.cat([x, torch.zeros(1, 2)])
        with pytest.raises(DeviceMixError):
            torch.nn.Linear(2, 3)(x)  # the layer's parameters were left on the host


def test_what_cuda_allows_is_allowed():
    with active() as dev:
        x = torch.arange(6.0, device=dev).reshape(3, 2)
        assert (x * torch.tensor(2.0)).device == dev                # a 0-dim host tensor
        assert x[torch.tensor([2, 0])].device == dev                # host index tensor
        assert x[torch.tensor([True, False, True])].shape == (2, 2)  # host mask
        assert x[[2, 0]].tolist() == [[4.0, 5.0], [0.0, 1.0]]      # a Python list index
        y = x.clone()
        y[[0]] = torch.zeros(1, 2, device=dev)
        assert y[0].tolist() == [0.0, 0.0]
        assert x.cpu().numpy().shape == (3, 2)
        assert x.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
        assert float(x.sum()) == 15.0 and f"{x.sum():.1f}" == "15.0"
        g = torch.Generator().manual_seed(0)
        assert torch.randn(3, generator=g).to(dev).device == dev    # drawn on the host, then moved


def test_host_generator_for_device_numbers_and_numpy_of_device_tensor_are_refused():
    with active() as dev:
        with pytest.raises(DeviceMixError, match="generator"):
            torch.randn(3, device=dev, generator=torch.Generator().manual_seed(0))
        x = torch.ones(3, device=dev)
        with pytest.raises(DeviceMixError, match="numpy"):
            x.numpy()
        with pytest.raises(DeviceMixError):
            np.asarray(x)


def test_training_a_module_on_the_device_matches_the_cpu():
    def train(device):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2, foreach=False)
        x = torch.linspace(-1, 1, 40).reshape(20, 2).to(device)
        for _ in range(20):
            opt.zero_grad()
            loss = (net(x) - x[:, :1] ** 2).pow(2).mean()
            loss.backward()
            opt.step()
        return loss.item(), next(net.parameters()).device

    cpu_loss, cpu_device = train("cpu")
    with active() as dev:
        dev_loss, dev_device = train(dev)
    assert cpu_device.type == "cpu" and dev_device == dev
    assert dev_loss == cpu_loss


def test_tensors_made_from_data_land_on_the_device():
    with active() as dev:
        for make in (torch.tensor, torch.as_tensor, torch.asarray):
            t = make([1.0, 2.0], device=dev)
            assert isinstance(t, OnDevice) and t.tolist() == [1.0, 2.0]
        x = torch.ones(2, device=dev)
        assert torch.as_tensor(x, dtype=torch.float16, device=dev).dtype == torch.float16
        assert (x * x.new_tensor([3.0, 4.0])).tolist() == [3.0, 4.0]
        leaf = torch.tensor([1.0, 2.0], device=dev, requires_grad=True)
        leaf.pow(2).sum().backward()
        assert leaf.is_leaf and leaf.grad.tolist() == [2.0, 4.0]
        with pytest.raises(DeviceMixError):
            x * torch.as_tensor([1.0, 2.0])  # made on the host


def test_module_conversions_carry_the_numbers():
    with active() as dev:
        net = torch.nn.Linear(2, 3).to(dev)
        w = net.weight.detach().cpu().clone()
        net.double()
        assert net.weight.dtype == torch.float64 and net.weight.device == dev
        assert torch.equal(net.weight.detach().cpu(), w.double())
        assert net(torch.ones(4, 2, dtype=torch.float64, device=dev)).dtype == torch.float64


# ---- every chapter on the stand-in device (make test-device) --------------------------------------
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import fake_device_run  # noqa: E402


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("GENCORE_DEVICE_TEST") != "1",
                    reason="each chapter on the stand-in device takes minutes: make test-device (GENCORE_DEVICE_TEST=1)")
@pytest.mark.parametrize("nb", sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name[:2])
def test_chapter_runs_on_the_stand_in_device(nb):
    """Every recipe and figure helper a chapter calls, on a device that is not the host: no tensor
    made on the host meets a device tensor, no figure converts a device tensor to NumPy, and the
    chapter's own tensors do end on the device (else the run proves nothing)."""
    seconds, error, (on, off) = fake_device_run.run(nb)
    assert error is None, error
    print(f"{nb.name}: {seconds:.1f} s, global tensors: {on} on the device, {off} on the host")
    assert on > 0, f"{nb.name}: none of its {off} global tensors ended on gencore.device()"
