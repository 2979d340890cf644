"""Bad-input cases for gencore.mcmc (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import ebm as E
from gencore import mcmc

from . import Case

F64 = torch.float64
QUAD = E.quadratic_energy(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))


def _x(n=8):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=F64)


def _score(x):
    return -x


def _cond(x, sigma):
    return -x / (1 + sigma[:, None] ** 2)


CASES = [
    Case("mcmc.langevin", lambda: dict(x=_x(), step_size=0.1, n_steps=2),
         call=lambda x, step_size, n_steps: mcmc.langevin(_score, x, step_size, n_steps),
         ranges={"step_size": (1e-9, None), "n_steps": (0, None)}),
    Case("mcmc.annealed_langevin", lambda: dict(x=_x(), sigmas=torch.tensor([1.0, 0.5], dtype=F64), step_size=0.01,
                                                n_steps_each=2),
         call=lambda x, sigmas, step_size, n_steps_each: mcmc.annealed_langevin(_cond, x, sigmas, step_size, n_steps_each),
         ranges={"sigmas": (1e-9, None), "step_size": (1e-9, None), "n_steps_each": (1, None)}),
    Case("mcmc.geometric_sigmas", lambda: dict(sigma_max=2.0, sigma_min=0.1, n_levels=4),
         ranges={"sigma_min": (1e-9, 2.0), "n_levels": (2, None)}),
    Case("mcmc.ula_stationary_covariance", lambda: dict(cov=torch.eye(2, dtype=F64), step_size=0.1),
         ranges={"step_size": (1e-9, 4.0)}, accepts={"cov": ("extra_dim", "empty")}),  # a (D,) or () cov is the diagonal case
    Case("mcmc.mala", lambda: dict(x=_x(), step_size=0.1, n_steps=2, temperature=1.0),
         call=lambda x, step_size, n_steps, temperature: mcmc.mala(QUAD, x, step_size, n_steps, temperature=temperature),
         ranges={"step_size": (1e-9, None), "n_steps": (0, None), "temperature": (1e-9, None)}),
    Case("mcmc.simulated_annealing", lambda: dict(x=_x(), temperatures=torch.tensor([1.0, 0.1], dtype=F64),
                                                  step_size=0.1, n_steps_each=2),
         call=lambda x, temperatures, step_size, n_steps_each: mcmc.simulated_annealing(QUAD, x, temperatures, step_size,
                                                                                        n_steps_each),
         ranges={"temperatures": (1e-9, None), "step_size": (1e-9, None), "n_steps_each": (1, None)}),
]
EXEMPT: dict = {}
