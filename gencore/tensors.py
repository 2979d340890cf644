r"""Tensor helpers every module shares: argument checks, noise, broadcasting, inverse softplus.

One helper per idiom, so the chapters do not each write their own:

- **Checks** (:func:`validate`, :func:`positive`, :func:`positive_number`, :func:`positive_int`,
  :func:`in_range`, :func:`same_length`, :func:`probability_vector`, :func:`event_2d`,
  :func:`extent_box`, :func:`one_of`, :func:`log_density`, :func:`function`, :func:`call_like`): a bad argument fails at the call with a ``ValueError`` or ``TypeError`` that
  names it and says what was expected, never as a NaN or a stack trace from deep inside torch.
  Value checks are skipped on the ``meta`` device (there are no values to look at).
- **Randomness** (:func:`noise`, :func:`uniform`): draw on the device of the caller's
  ``generator`` (the input's device when ``None``), in the input's dtype, then move to the
  input's device. Nothing here seeds or reads a global seed.
- **Broadcasting** (:func:`per_sample`): a scalar or a per-sample ``(N,)`` value shaped to
  broadcast against ``x`` of any rank, ``(N,)`` to ``(N, 1, ..., 1)`` (torchcfm's ``pad_t_like_x``).
- :func:`inv_softplus`, the inverse of :math:`\log(1 + e^x)`, for parameters stored unconstrained.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

__all__ = [
    "validate", "positive", "positive_number", "positive_int", "in_range", "same_length", "probability_vector",
    "event_2d", "extent_box", "one_of", "log_density", "function", "call_like", "noise", "uniform", "rng_device", "per_sample",
    "inv_softplus",
]


def _has_values(t: torch.Tensor) -> bool:
    return t.device.type != "meta"


def _shape_text(x) -> str:
    return str(tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__


# ---- checks --------------------------------------------------------------------------------------
def validate(name: str, x, *, ndim: int | None = None, min_ndim: int | None = None,
           last_dim: int | None = None, floating: bool = True, finite: bool = True,
           nonempty: bool = True) -> torch.Tensor:
    """Check that ``x`` is a tensor as the caller expects and return it unchanged.

    Args:
        name: the argument's name, used in the error message.
        ndim, min_ndim: exact or minimum number of dimensions.
        last_dim: required size of the last dimension (e.g. 2 for 2D points).
        floating: require a floating-point dtype (``TypeError`` otherwise).
        finite: reject NaN and infinite entries.
        nonempty: reject a tensor with no entries.

    Raises:
        TypeError: ``x`` is not a tensor, or is not floating point when ``floating``.
        ValueError: wrong rank or last dimension, empty, or non-finite entries.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if floating and not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"{name} must have a floating-point dtype; got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {tuple(x.shape)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s); got shape {tuple(x.shape)}")
    if last_dim is not None and (x.ndim == 0 or x.shape[-1] != last_dim):
        raise ValueError(f"{name} must have last dimension {last_dim}; got shape {tuple(x.shape)}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(x.shape)}")
    if finite and _has_values(x) and (x.is_floating_point() or x.is_complex()):
        if not bool(torch.isfinite(x.detach()).all()):
            raise ValueError(f"{name} must be finite; it holds NaN or infinite entries")
    return x


def positive(name: str, value, *, allow_zero: bool = False):
    """Raise ``ValueError`` unless ``value`` (number or tensor) is finite and > 0 (>= 0) everywhere."""
    if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
        raise TypeError(f"{name} must be a number or a tensor; got {type(value).__name__}")
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(float(value))
    if not _has_values(t):
        return value
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    t = t.detach()
    bad = ~(t >= 0) if allow_zero else ~(t > 0)  # the negation also catches NaN
    bad = bad | torch.isinf(t) if t.is_floating_point() else bad
    if bool(bad.any()):
        what = "non-negative" if allow_zero else "positive"
        shown = t.flatten()[bad.flatten()][:3].tolist()
        raise ValueError(f"{name} must be finite and {what}; got {shown if t.ndim else t.item()}")
    return value


def positive_number(name: str, value) -> float:
    """A finite number > 0 given as a Python number or a one-element tensor, returned as a float."""
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        raise ValueError(f"{name} must be a number; got a tensor of shape {tuple(value.shape)}")
    positive(name, value)
    return float(value)


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Raise ``ValueError`` unless ``value`` is a Python int (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


def in_range(name: str, value, low: float | None = None, high: float | None = None, *,
             low_open: bool = False, high_open: bool = False):
    """Raise ``ValueError`` unless every entry of ``value`` is finite and in the interval.

    ``low_open``/``high_open`` exclude the end points; ``None`` leaves that side unbounded.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
        raise TypeError(f"{name} must be a number or a tensor; got {type(value).__name__}")
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(float(value))
    if not _has_values(t):
        return value
    t = t.detach().to(torch.float64)
    ok = torch.isfinite(t)
    if low is not None:
        ok &= (t > low) if low_open else (t >= low)
    if high is not None:
        ok &= (t < high) if high_open else (t <= high)
    if not bool(ok.all()):
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        shown = t.flatten()[~ok.flatten()][:3].tolist()
        raise ValueError(f"{name} must lie in {lo}, {hi}; got {shown if t.ndim else t.item()}")
    return value


def same_length(names: Sequence[str], *xs: torch.Tensor, dim: int = 0) -> int:
    """Raise ``ValueError`` unless the tensors ``xs`` have the same size along ``dim``; return it."""
    sizes = [x.shape[dim] for x in xs]
    if len(set(sizes)) > 1:
        pairs = ", ".join(f"{n} has {s}" for n, s in zip(names, sizes))
        raise ValueError(f"{' and '.join(names)} must have the same length along dim {dim}; {pairs}")
    return sizes[0]


def probability_vector(name: str, p: torch.Tensor, dim: int = -1, atol: float = 1e-6) -> torch.Tensor:
    """Check that ``p`` is a floating tensor, non-negative and summing to one along ``dim``."""
    validate(name, p, min_ndim=1)
    if not _has_values(p):
        return p
    if bool((p < 0).any()):
        raise ValueError(f"{name} must have non-negative entries")
    total = p.sum(dim)
    if not torch.allclose(total, torch.ones_like(total), atol=atol):
        raise ValueError(f"{name} must sum to 1 along dim={dim}; sums are {total.flatten()[:3].tolist()}")
    return p


def event_2d(name: str, x, *, finite: bool = True) -> torch.Tensor:
    """Check that ``x`` is a non-empty floating batch of 2D points, shape ``(..., 2)``."""
    return validate(name, x, min_ndim=1, last_dim=2, finite=finite)


def extent_box(name: str, extent: Sequence[float]) -> tuple[float, float, float, float]:
    """Check a plotting/quadrature box ``(xmin, xmax, ymin, ymax)`` with positive finite area."""
    try:
        x0, x1, y0, y1 = (float(v) for v in extent)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be (xmin, xmax, ymin, ymax); got {extent!r}") from err
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or not (x1 > x0 and y1 > y0):
        raise ValueError(f"{name} must be a finite box with xmax > xmin and ymax > ymin; got {extent!r}")
    return x0, x1, y0, y1


def one_of(name: str, value, choices: Sequence):
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


def log_density(name: str, v, *, min_ndim: int = 1, some_mass: bool = False) -> torch.Tensor:
    """Check log-density values: floating, non-empty, no NaN or ``+inf``; ``-inf`` is a zero density.

    ``some_mass`` also rejects values that are ``-inf`` everywhere (a density that is zero on the
    whole grid cannot be normalized).
    """
    validate(name, v, min_ndim=min_ndim, finite=False)
    if _has_values(v):
        v_ = v.detach()
        if bool((torch.isnan(v_) | (v_ == math.inf)).any()):
            raise ValueError(f"{name} must hold log-densities: no NaN or +inf entries (-inf is a zero density)")
        if some_mass and bool((v_ == -math.inf).all()):
            raise ValueError(f"{name} must not be -inf everywhere (a density that is zero on the whole grid)")
    return v


def function(name: str, fn, signature: str = ""):
    """Raise ``TypeError`` unless ``fn`` is callable; ``signature`` (e.g. ``"(N, 2) -> (N,)"``) goes in the message."""
    if not callable(fn):
        what = f", mapping {signature}" if signature else ""
        raise TypeError(f"{name} must be callable{what}; got {type(fn).__name__}")
    return fn


def call_like(name: str, fn, x: torch.Tensor, *args) -> torch.Tensor:
    """``fn(x, *args)``, checked to be a tensor of ``x``'s shape (a score, a velocity, a gradient)."""
    function(name, fn)
    out = fn(x, *args)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        raise ValueError(f"{name} must map points of shape {tuple(x.shape)} to a tensor of the same shape; "
                         f"got {_shape_text(out)}")
    return out


# ---- randomness ----------------------------------------------------------------------------------
def rng_device(generator: torch.Generator | None, like) -> torch.device:
    """Where random numbers are drawn: ``generator``'s device, else ``like``'s (a tensor or a device)."""
    if generator is not None:
        return generator.device
    return like.device if isinstance(like, torch.Tensor) else torch.device(like)


def noise(shape, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    r""":math:`\varepsilon \sim \mathcal N(0, I)` of ``shape``, in ``like``'s dtype and on its device.

    Drawn on ``generator``'s device (so a CPU generator gives the same numbers whatever device
    ``like`` is on), then moved to ``like``'s device. ``generator=None`` uses torch's global
    generator for that device.
    """
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    out = torch.randn(shape, generator=generator, device=rng_device(generator, like), dtype=dtype)
    return out.to(like.device)


def uniform(shape, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """:math:`U \\sim \\mathcal U[0, 1)` of ``shape``, drawn as :func:`noise` draws."""
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    out = torch.rand(shape, generator=generator, device=rng_device(generator, like), dtype=dtype)
    return out.to(like.device)


# ---- broadcasting and transforms -----------------------------------------------------------------
def per_sample(v, x: torch.Tensor) -> torch.Tensor:
    """A scalar or per-sample ``(N,)`` value in ``x``'s dtype/device, shaped to broadcast against ``x``.

    ``x`` has shape ``(N, ...)`` of any rank: ``(N,)`` becomes ``(N, 1, ..., 1)`` with
    ``x.ndim - 1`` trailing ones; a scalar stays a scalar.
    """
    out = torch.as_tensor(v).to(device=x.device, dtype=x.dtype)
    if out.ndim == 0:
        return out
    if out.ndim != 1 or out.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"a per-sample value must be a scalar or have shape ({x.shape[0]},) like x's "
                         f"first dimension; got {tuple(out.shape)}")
    return out.reshape(out.shape + (1,) * (x.ndim - 1))


def inv_softplus(y):
    r"""The inverse of softplus: :math:`x = \log(e^y - 1)` for :math:`y > 0`, a float or a tensor.

    Computed as :math:`y + \log(1 - e^{-y})`, which stays accurate for large ``y``.
    """
    positive("y", y)
    if isinstance(y, torch.Tensor):
        return y + torch.log(-torch.expm1(-y))
    return y + math.log(-math.expm1(-y))
