"""Bad-input cases for gencore.gan (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import gan

from . import Case

F64 = torch.float64
BOX = (-4.0, 4.0, -4.0, 4.0)


def _logit(x):
    return x[:, 0] - 0.5 * x[:, 1]


def _ring(r):
    return gan.ring_family(r)


def _points():
    return torch.randn(16, 2, dtype=F64, generator=torch.Generator().manual_seed(0))


def _batch(*shape):
    return torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(1))


def _critic(x):
    return (x * torch.tensor([3.0, 4.0], dtype=x.dtype)).sum(-1)


CASES = [
    # The discriminators: the callables are checked when built, the points x when called.
    Case("gan.LogitDiscriminator", lambda: dict(logit=_logit, x=_points()),
         call=lambda logit, x: gan.LogitDiscriminator(logit)(x)),
    Case("gan.from_logit", lambda: dict(logit=_logit, x=_points()),
         call=lambda logit, x: gan.from_logit(logit).logit(x)),
    Case("gan.OptimalDiscriminator", lambda: dict(log_p_data=_ring(2.0), log_p_g=_ring(2.3), x=_points()),
         call=lambda log_p_data, log_p_g, x: gan.OptimalDiscriminator(log_p_data, log_p_g)(x)),
    Case("gan.optimal_discriminator", lambda: dict(log_p_data=_ring(2.0), log_p_g=_ring(2.3), x=_points()),
         call=lambda log_p_data, log_p_g, x: gan.optimal_discriminator(log_p_data, log_p_g)(x)),
    # Quadrature: the box and the resolution (the densities are callables, checked by name).
    Case("gan.value", lambda: dict(D=gan.optimal_discriminator(_ring(2.0), _ring(2.3)), log_p_data=_ring(2.0),
                                   log_p_g=_ring(2.3), extent=BOX, resolution=20),
         ranges={"resolution": (2, None)}),
    Case("gan.jsd_on_grid", lambda: dict(log_p=_ring(2.0), log_q=_ring(2.3), extent=BOX, resolution=20),
         ranges={"resolution": (2, None)}),
    Case("gan.nonsaturating_criterion",
         lambda: dict(log_p_data=_ring(2.0), log_p_g=_ring(2.3), extent=BOX, resolution=20),
         ranges={"resolution": (2, None)}),
    # Losses on logits (..., m): the leading axes are model axes, so a logit batch given an
    # extra trailing axis is read as more models of fewer samples; a lone argument accepts it.
    Case("gan.discriminator_loss", lambda: dict(logit_real=_batch(3, 8), logit_fake=_batch(3, 5))),
    Case("gan.generator_loss", lambda: dict(logit_fake=_batch(3, 8), kind="saturating"),
         accepts={"logit_fake": ("extra_dim",)}),  # (3, 8, 3): 24 models' batches of 3, by design
    Case("gan.logit_gradient", lambda: dict(a=_batch(8), kind="non-saturating"),
         accepts={"a": ("extra_dim",)}),  # elementwise: any shape is right
    Case("gan.gradient_penalty", lambda: dict(critic=_critic, real=_batch(2, 7, 2), fake=_batch(2, 7, 2)),
         pairs=(("real", "fake"),)),
    Case("gan.critic_loss", lambda: dict(f_real=_batch(2, 7), f_fake=_batch(2, 5), penalty=_batch(2).abs(),
                                         weight=0.1),
         ranges={"weight": (0.0, None)}),
    # Chapter 4's ring family and its 1D quadratures of the generator's gradient.
    Case("gan.ring_family", lambda: dict(radius=2.0, std=0.1), ranges={"radius": (0.0, None), "std": (0.0, None)}),
    Case("gan.shift_gradients", lambda: dict(shifts=torch.tensor([0.5, 2.0], dtype=F64), half_width=8.0, n=2001),
         ranges={"half_width": (0.0, None), "n": (2, None)},
         accepts={"shifts": ("int",)}),  # integer shifts are exact numbers of the same meaning
    Case("gan.ns_gradient_1d", lambda: dict(mu=1.0, half_width=8.0, n=2001),
         ranges={"half_width": (0.0, None), "n": (2, None)}),
]

EXEMPT: dict[str, str] = {}
