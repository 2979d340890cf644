"""Shared fixtures and the isolation every test gets.

Each test runs with float64 as torch's default dtype, inside ``torch.random.fork_rng`` with the
global generator seeded, and with torch's thread count as it found it; all three are restored
afterwards, so no test depends on what ran before it and the suite passes in any order
(``pytest -p randomly``). A test that trains in float32 says so with ``@pytest.mark.float32``
(or passes ``dtype=`` explicitly). Seeds drawn by the book's recipes follow ``GENCORE_SEED``;
claim tests (``@pytest.mark.claim``) are the ones ``make test-seeds`` runs at seeds 0, 1, 2.
"""
from __future__ import annotations

import pathlib

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_torch_state(request):
    """float64 default, a forked and seeded global RNG, thread count restored."""
    dtype = torch.get_default_dtype()
    threads = torch.get_num_threads()
    wanted = torch.float32 if request.node.get_closest_marker("float32") else torch.float64
    torch.set_default_dtype(wanted)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT
