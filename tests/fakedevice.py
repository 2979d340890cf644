"""A stand-in accelerator for machines without one: the CPU underneath, another device on top.

A reader with a GPU runs the book with every tensor on ``gencore.device()``; the bugs that only
show there are the places where a tensor made on the host meets one made on the device (a
``torch.zeros(n)`` without ``device=``, a CPU generator asked for device numbers, ``.numpy()`` of
a device tensor). The ``meta`` device catches the first kind but has no numbers, so training,
``.item()`` and every branch on a value stop it. Here the tensors are real CPU tensors wrapped in
a subclass that reports ``device='meta'``; every operation is checked the way CUDA checks it and
then run on the CPU copies:

* a host tensor with at least one dimension beside a device tensor is an error (a 0-dim host
  tensor is allowed, as CUDA allows a CPU scalar); index tensors of indexing ops may stay on the
  host, and ``copy_``/``.to`` copy across, as CUDA lets them;
* a factory call asking for the device with a CPU ``generator`` is an error;
* ``.numpy()`` (and so ``np.asarray``) of a device tensor is an error; ``.cpu()``, ``.item()``,
  ``.tolist()`` and ``float()`` work, as they do on CUDA.

The numbers are the CPU's, so a whole chapter runs as it does on the CPU apart from code that
branches on the device type (fused Adam is not used). Use::

    with fakedevice.active():          # sets GENCORE_DEVICE=meta for the block
        ...

``scripts/fake_device_run.py`` runs the chapters this way; ``tests/test_devices.py`` tests this
module against real device errors' rules and runs each chapter's recipes under it.
"""
from __future__ import annotations

import contextlib
import os

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

DEVICE = torch.device("meta")
HOST = torch.device("cpu")
# Ops whose integer/bool index tensors may stay on the host when the indexed tensor is not.
INDEX_OPS = {"index", "index_put", "index_put_", "_index_put_impl_"}
INDEX_DTYPES = (torch.long, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)
# Ops that copy between devices by design (``dst.copy_(src)``, ``x.to(dev)``).
COPY_OPS = {"copy_", "copy", "_copy_from", "_to_copy"}


class DeviceMixError(RuntimeError):
    """A host tensor, a host generator or a NumPy conversion met a tensor on the device."""


class OnDevice(torch.Tensor):
    """A CPU tensor ``elem`` that reports ``device='meta'`` (only usable under :class:`FakeDevice`)."""

    elem: torch.Tensor

    @staticmethod
    def __new__(cls, elem: torch.Tensor):
        out = torch.Tensor._make_wrapper_subclass(
            cls, elem.size(), strides=elem.stride(), storage_offset=elem.storage_offset(), dtype=elem.dtype,
            layout=elem.layout, device=DEVICE, requires_grad=elem.requires_grad)
        out.elem = elem
        return out

    def __repr__(self):
        return f"OnDevice({self.elem!r})"

    def numpy(self, *args, **kwargs):
        raise DeviceMixError("numpy() of a tensor on the device: copy it to the host first (.cpu())")

    def __array__(self, *args, **kwargs):
        raise DeviceMixError("np.asarray of a tensor on the device: copy it to the host first (.cpu())")

    def tolist(self):
        return self.elem.tolist()

    def __format__(self, spec):
        return self.elem.__format__(spec)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise RuntimeError("an OnDevice tensor is only usable inside fakedevice.active()")


def _op_name(func) -> str:
    return func._schema.name.split("::")[-1]


def _is_device(value) -> bool:
    return value is not None and torch.device(value).type == DEVICE.type


def _leaves(tree, out: list) -> list:
    """The tensors and generators in nested lists/tuples/dicts (aten arguments nest no deeper)."""
    if isinstance(tree, (list, tuple)):
        for item in tree:
            _leaves(item, out)
    elif isinstance(tree, dict):
        for item in tree.values():
            _leaves(item, out)
    elif isinstance(tree, (torch.Tensor, torch.Generator)):
        out.append(tree)
    return out


def _unwrap(tree):
    if type(tree) is OnDevice:
        return tree.elem
    if isinstance(tree, (list, tuple)) and any(type(t) is OnDevice or isinstance(t, (list, tuple)) for t in tree):
        return type(tree)(_unwrap(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _unwrap(v) for k, v in tree.items()}
    return tree


def _wrap(tree):
    if isinstance(tree, torch.Tensor):
        return tree if type(tree) is OnDevice else OnDevice(tree)
    if isinstance(tree, (list, tuple)):
        return type(tree)(_wrap(t) for t in tree)
    return tree


class FakeDevice(TorchDispatchMode):
    """The dispatch mode behind :func:`active`: checks each op's devices, then runs it on the CPU."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs) if kwargs else {}
        leaves = _leaves(args, _leaves(kwargs, []))
        on_device = any(type(t) is OnDevice for t in leaves)
        device = kwargs.get("device")
        wants_device = _is_device(device)
        to_host = device is not None and not wants_device
        for t in leaves:
            if isinstance(t, torch.Tensor) and type(t) is not OnDevice and t.is_meta:
                raise DeviceMixError(f"{_op_name(func)}: a tensor without data (made by torch internally from "
                                     "Python data on the stand-in device): tests/fakedevice.py must build it on the host")
        if on_device or wants_device:
            name = _op_name(func)
            for t in leaves:
                if isinstance(t, torch.Generator):
                    if not to_host:
                        raise DeviceMixError(f"{name}: a {t.device.type} generator asked for numbers on the device")
                elif type(t) is not OnDevice and t.dim() > 0 and name not in COPY_OPS:
                    if name in INDEX_OPS and t.dtype in INDEX_DTYPES:
                        continue
                    raise DeviceMixError(
                        f"{name}: a host tensor of shape {tuple(t.shape)} met a tensor on the device")
        if wants_device:
            kwargs["device"] = HOST
        out = func(*_unwrap(args), **_unwrap(kwargs)) if on_device else func(*args, **kwargs)
        if (on_device or wants_device) and not to_host:
            out = _wrap(out)
        return out


def _host_lists(index):
    """An index with every list (of ints or bools) made a host tensor."""
    if isinstance(index, list):
        return torch.tensor(index)
    if isinstance(index, tuple):
        return tuple(_host_lists(i) for i in index)
    return index


class MadeFromData(TorchFunctionMode):
    """``torch.tensor``/``as_tensor``/``asarray`` and ``x.new_tensor`` of Python or NumPy data build
    the tensor in C++ without dispatching a factory op, so for the device they are made on the
    host, then moved."""

    FUNCS = (torch.tensor, torch.as_tensor, torch.asarray)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in self.FUNCS and _is_device(kwargs.get("device")):
            if isinstance(args[0], OnDevice):  # already there: only the dtype may change
                kwargs.pop("device")
                return func(*args, **kwargs)
            kwargs["device"] = HOST
            grad = kwargs.pop("requires_grad", False)  # a leaf on the device, as CUDA makes it
            return func(*args, **kwargs).to(DEVICE).requires_grad_(grad)
        if func is torch.Tensor.new_tensor and isinstance(args[0], OnDevice) and kwargs.get("device") is None:
            return args[0].elem.new_tensor(*args[1:], **kwargs).to(DEVICE)
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__) and isinstance(args[0], OnDevice):
            # x[[1, 2]]: torch turns the list into an index tensor on x's device inside C++; here
            # it is made on the host, which CUDA accepts as well
            args = (args[0], _host_lists(args[1]), *args[2:])
        return func(*args, **kwargs)


@contextlib.contextmanager
def active():
    """Run the block with ``gencore.device()`` on the stand-in device and every op checked."""
    old = os.environ.get("GENCORE_DEVICE")
    os.environ["GENCORE_DEVICE"] = DEVICE.type
    # module.double(), .to(...) replace a parameter's ``.data``, which would leave the wrapped CPU
    # tensor behind; swapping the whole tensor object (torch's future default) carries it.
    swap = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    try:
        with FakeDevice(), MadeFromData():
            yield DEVICE
    finally:
        torch.__future__.set_swap_module_params_on_conversion(swap)
        if old is None:
            os.environ.pop("GENCORE_DEVICE", None)
        else:
            os.environ["GENCORE_DEVICE"] = old


_ENTERED = []  # the contexts entered by enter(), kept alive (a dropped one would switch itself off)


def enter() -> torch.device:
    """Switch the stand-in device on for the rest of the process (a notebook's first cell)."""
    context = active()
    context.__enter__()
    _ENTERED.append(context)
    return DEVICE
