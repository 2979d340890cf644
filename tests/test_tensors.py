"""gencore.tensors: the shared checks, noise, per-sample broadcasting and inverse softplus."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gencore import tensors as T

F64 = torch.float64


# ------------------------------------------------------------------ per_sample: any rank
@pytest.mark.parametrize("shape", [(5,), (5, 2), (5, 3, 4, 4)])
def test_per_sample_broadcasts_against_any_rank(shape):
    x = torch.randn(shape, dtype=F64)
    t = torch.arange(1.0, 6.0, dtype=torch.float32)
    out = T.per_sample(t, x)
    assert out.shape == (5,) + (1,) * (len(shape) - 1) and out.dtype == F64
    # row i of x * t is x[i] * t[i], whatever the rank
    prod = x * out
    for i in range(5):
        assert torch.equal(prod[i], x[i] * t[i].double())


def test_per_sample_keeps_scalars_and_rejects_wrong_length():
    x = torch.randn(5, 3, 4, 4)
    assert T.per_sample(2.0, x).ndim == 0
    assert T.per_sample(torch.tensor([2.0]), x).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match="per-sample"):
        T.per_sample(torch.ones(4), x)
    with pytest.raises(ValueError, match="per-sample"):
        T.per_sample(torch.ones(5, 1), x)


def test_per_sample_on_meta():
    x = torch.empty(7, 3, 4, 4, device="meta")
    out = T.per_sample(torch.empty(7, device="meta"), x)
    assert out.device.type == "meta" and out.shape == (7, 1, 1, 1)


# ------------------------------------------------------------------ noise: the generator's device, the input's dtype
def test_noise_is_drawn_on_the_generators_device_then_moved():
    like = torch.empty(0, dtype=F64, device="meta")
    g = torch.Generator().manual_seed(3)
    # a CPU generator on a meta input: the draw happens on the CPU (the generator's device) ...
    assert T.rng_device(g, like) == torch.device("cpu")
    assert T.rng_device(None, like).type == "meta"
    # ... and lands on the input's device in its dtype
    out = T.noise((4, 2), like, g)
    assert out.device.type == "meta" and out.dtype == F64 and out.shape == (4, 2)


def test_noise_and_uniform_are_reproducible_and_follow_dtype():
    like = torch.empty(0, dtype=torch.float32)
    a = T.noise((1000,), like, torch.Generator().manual_seed(0))
    b = T.noise((1000,), like, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.dtype == torch.float32
    assert torch.equal(a, torch.randn(1000, generator=torch.Generator().manual_seed(0), dtype=torch.float32))
    u = T.uniform((1000,), torch.empty(0, dtype=F64), torch.Generator().manual_seed(0))
    assert u.dtype == F64 and 0 <= u.min() and u.max() < 1
    assert T.noise((3,), torch.zeros(2, dtype=torch.long)).dtype == torch.get_default_dtype()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_noise_on_cuda_input_with_cpu_generator_matches_cpu():
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    out = T.noise((5,), torch.empty(0, device="cuda"), g())
    assert out.device.type == "cuda" and torch.equal(out.cpu(), T.noise((5,), torch.empty(0), g()))


# ------------------------------------------------------------------ inverse softplus
def test_inv_softplus_round_trips_and_matches_the_closed_form():
    y = torch.logspace(-6, 2, 200, dtype=F64)
    x = T.inv_softplus(y)
    assert torch.allclose(torch.logaddexp(x, torch.zeros_like(x)), y, rtol=1e-12, atol=0)  # softplus, no threshold
    assert torch.allclose(F.softplus(x), y, rtol=1e-8, atol=0)
    assert torch.allclose(x, torch.log(torch.expm1(y)), rtol=1e-10)  # log(e^y - 1)
    for v in (1e-3, 0.5, 3.0, 40.0):
        assert T.inv_softplus(v) == pytest.approx(math.log(math.expm1(v)), rel=1e-12)
    assert T.inv_softplus(50.0) == pytest.approx(50.0 + math.log1p(-math.exp(-50.0)), rel=1e-15)  # large y
    with pytest.raises(ValueError, match="y"):
        T.inv_softplus(torch.tensor([1.0, -1.0]))


# ------------------------------------------------------------------ checks
def test_validate_names_the_argument_and_skips_values_on_meta():
    with pytest.raises(TypeError, match="arg"):
        T.validate("arg", [1.0])
    with pytest.raises(TypeError, match="arg"):
        T.validate("arg", torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="arg"):
        T.validate("arg", torch.tensor([0.0, math.nan]))
    with pytest.raises(ValueError, match="arg"):
        T.validate("arg", torch.zeros(0, 2))
    with pytest.raises(ValueError, match="arg"):
        T.validate("arg", torch.zeros(3, 2), last_dim=3)
    with pytest.raises(ValueError, match="arg"):
        T.validate("arg", torch.zeros(3, 2), ndim=1)
    T.validate("arg", torch.empty(3, 2, device="meta"), ndim=2)  # no values: no value checks
    assert T.positive("s", torch.empty(3, device="meta")) is not None


def test_scalar_checks():
    assert T.positive("s", 1.0) == 1.0
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="s"):
            T.positive("s", bad)
    assert T.positive("s", 0.0, allow_zero=True) == 0.0
    with pytest.raises(ValueError, match="k"):
        T.positive_int("k", True)
    with pytest.raises(ValueError, match="k"):
        T.positive_int("k", 0)
    assert T.in_range("p", 0.5, 0, 1) == 0.5
    with pytest.raises(ValueError, match="p"):
        T.in_range("p", 1.0, 0, 1, high_open=True)
    with pytest.raises(ValueError, match="a and b"):
        T.same_length(("a", "b"), torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="w"):
        T.probability_vector("w", torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match="box"):
        T.extent_box("box", (1, 0, 0, 1))
    with pytest.raises(ValueError, match="kind"):
        T.one_of("kind", "x", ("a", "b"))
    with pytest.raises(ValueError, match="x"):
        T.event_2d("x", torch.zeros(4, 3))


def test_positive_number_takes_numbers_and_one_element_tensors():
    assert T.positive_number("h", torch.tensor([0.25])) == 0.25
    assert isinstance(T.positive_number("h", 2), float)
    for bad in (torch.ones(2), 0.0, -1.0, math.nan, "1"):
        with pytest.raises((ValueError, TypeError), match="h"):
            T.positive_number("h", bad)


def test_function_and_call_like_check_the_callable_and_its_output_shape():
    assert T.function("f", abs) is abs
    with pytest.raises(TypeError, match=r"f must be callable, mapping \(N, 2\) -> \(N,\); got int"):
        T.function("f", 3, "(N, 2) -> (N,)")
    x = torch.randn(5, 2)
    torch.testing.assert_close(T.call_like("score_fn", lambda v, s: -v / s, x, 2.0), -x / 2)
    for wrong in (lambda v: v.sum(-1), lambda v: v.tolist()):
        with pytest.raises(ValueError, match=r"score_fn must map points of shape \(5, 2\)"):
            T.call_like("score_fn", wrong, x)


def test_log_density_allows_zero_densities_but_not_nan_or_plus_inf():
    v = torch.tensor([0.0, -math.inf, -3.0])
    assert T.log_density("log_p", v) is v
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="log_p"):
            T.log_density("log_p", torch.tensor([0.0, bad]))
    T.log_density("log_p", torch.full((3,), -math.inf))  # all zero: allowed unless some mass is asked for
    with pytest.raises(ValueError, match="log_p must not be -inf everywhere"):
        T.log_density("log_p", torch.full((3,), -math.inf), some_mass=True)
    with pytest.raises(TypeError, match="log_p"):
        T.log_density("log_p", torch.zeros(3, dtype=torch.int64))
