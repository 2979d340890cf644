"""Every exercise checker, run on the reference solution and on typical wrong answers."""
from __future__ import annotations

import math

import torch

from gencore.exercises.divergences import check_kl_bernoulli


def reference(a, b):
    return torch.xlogy(a, a) - torch.xlogy(a, b) + torch.xlogy(1 - a, 1 - a) - torch.xlogy(1 - a, 1 - b)


def test_reference_solution_passes():
    verdict = check_kl_bernoulli(reference)
    assert verdict and verdict.ok and str(verdict).startswith("Correct")


def test_wrong_answers_fail_with_a_useful_message():
    cases = {
        "swapped": lambda a, b: reference(b, a),
        "bits": lambda a, b: reference(a, b) / math.log(2),
        "sign": lambda a, b: -reference(a, b),
        "xlogy": lambda a, b: a * torch.log(a / b) + (1 - a) * torch.log((1 - a) / (1 - b)),
        "shape": lambda a, b: reference(a, b).sum(),
        "torch.Tensor": lambda a, b: reference(a, b).tolist(),
        "raised": lambda a, b: 1 / 0,
        "broadcast": lambda a, b: reference(a.flatten(), b.flatten()),
        "float32": lambda a, b: reference(a, b).double(),
        "zeros": lambda a, b: torch.zeros_like(a),
    }
    for hint, fn in cases.items():
        verdict = check_kl_bernoulli(fn)
        assert not verdict, hint
        assert hint in verdict.message, (hint, verdict.message)
        assert "Not yet" in verdict._repr_html_()


def test_the_checkers_reference_is_torchs_bernoulli_kl():
    """The formula the checker accepts, against an independent reference: torch.distributions."""
    a = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)[:, None]
    b = torch.linspace(0.05, 0.95, 7, dtype=torch.float64)
    B = torch.distributions.Bernoulli
    want = torch.distributions.kl_divergence(B(probs=a.expand(11, 7)), B(probs=b.expand(11, 7)))
    assert torch.allclose(reference(a, b), want, atol=1e-12)

    def torch_kl(a, b):
        shape = torch.broadcast_shapes(a.shape, b.shape)
        return torch.distributions.kl_divergence(B(probs=a.expand(shape)), B(probs=b.expand(shape)))

    assert check_kl_bernoulli(torch_kl)                     # the checker accepts torch's own answer
