"""Bad-input cases for gencore.vae (chapter 3)."""
from __future__ import annotations

import torch
from torch.distributions import Independent, Normal

from guards import Case

F64 = torch.float64


def _enc(x):
    """A fixed linear Gaussian encoder, (..., N, 2) -> (..., N, 1)."""
    return x[..., :1] * 0.5, (x[..., 1:2] * 0.0 + 0.7)


def _dec(z):
    return Independent(Normal(torch.cat([z, -z], -1), torch.ones(z.shape[:-1] + (2,), dtype=z.dtype)), 1)


def _x():
    return torch.randn(6, 2, dtype=F64)


CASES = [
    Case("vae.rsample", lambda: {"mu": torch.zeros(4, 2, dtype=F64), "sigma": torch.ones(4, 2, dtype=F64),
                                 "n_samples": 3},
         ranges={"sigma": (0.0, None), "n_samples": (1, None)},
         accepts={"mu": ("extra_dim",)}),  # mu (..., K) of any batch shape broadcasting with sigma
    Case("vae.elbo_terms", lambda: {"x": _x(), "encoder": _enc, "decoder": _dec, "n_samples": 2},
         ranges={"n_samples": (1, None)}),
    Case("vae.elbo", lambda: {"x": _x(), "encoder": _enc, "decoder": _dec, "n_samples": 2},
         ranges={"n_samples": (1, None)}),
    Case("vae.beta_vae_loss", lambda: {"x": _x(), "encoder": _enc, "decoder": _dec, "beta": 2.0},
         ranges={"beta": (0.0, None)}),
    Case("vae.log_likelihood_is", lambda: {"x": _x(), "encoder": _enc, "decoder": _dec, "n_samples": 8, "chunk": 3},
         ranges={"n_samples": (1, None), "chunk": (1, None)}),
    Case("vae.log_likelihood_quadrature", lambda: {"x": _x(), "decoder": _dec, "latent_dim": 1, "resolution": 50},
         ranges={"latent_dim": (1, 2), "resolution": (2, None)}),
    Case("vae.kl_per_dim", lambda: {"x": _x(), "encoder": _enc},
         accepts={"x": ("extra_dim",)}),  # (..., N, D) of any batch rank; only the encoder knows D, and this one takes any

    Case("vae.gaussian_log_likelihood", lambda: {"x": _x(), "mean": _x(), "sigma": 0.3},
         ranges={"sigma": (0.0, None)}, pairs=(("x", "mean"),)),
    Case("vae.bernoulli_log_likelihood", lambda: {"x": torch.rand(6, 4, dtype=F64), "logits": torch.randn(6, 4, dtype=F64)},
         ranges={"x": (0.0, 1.0)}, pairs=(("x", "logits"),)),
    Case("vae.VAE", lambda: {"n_models": 2, "data_dim": 2, "latent_dim": 2, "hidden": 8},
         ranges={"n_models": (1, None), "data_dim": (1, None), "latent_dim": (1, None), "hidden": (1, None)}),
]

EXEMPT = {"ElboTerms": "a NamedTuple of two result tensors: it computes nothing and has no argument to check"}
