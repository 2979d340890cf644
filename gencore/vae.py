r"""Chapter 3: variational autoencoders and the evidence lower bound (ELBO).

A latent-variable model :math:`p_\theta(x) = \int p_\theta(x\mid z)\,p(z)\,dz` with the prior
:math:`p(z) = \mathcal N(0, I)`, an encoder :math:`q_\phi(z\mid x) =
\mathcal N(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))` and a decoder
:math:`p_\theta(x\mid z)`. Everything is in nats.

Conventions shared by every function here:

* an **encoder** is a callable ``x -> (mu, sigma)``, both of shape ``(..., N, K)`` (``K``
  latent dimensions, ``sigma > 0`` the standard deviations);
* a **decoder** is a callable ``z -> Distribution`` over ``x`` (event shape ``(D,)``), for
  ``z`` of shape ``(S, ..., N, K)``; its ``log_prob(x)`` has shape ``(S, ..., N)``;
* Monte Carlo samples of ``z`` are stacked on a new leading dimension ``S``.

The chapter's exactly solvable model, the linear Gaussian one, is :mod:`gencore.linear_gaussian`.

Book: ``book/03_vae.ipynb``.

References:
    Kingma & Welling (2014), Auto-encoding variational Bayes, arXiv:1312.6114.
    Rezende, Mohamed & Wierstra (2014), Stochastic backpropagation and approximate inference
    in deep generative models, arXiv:1401.4082.
    Burda, Grosse & Salakhutdinov (2016), Importance weighted autoencoders, arXiv:1509.00519.
    Higgins et al. (2017), beta-VAE: learning basic visual concepts with a constrained
    variational framework.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal

from . import tensors
from .divergences import kl_normal
from .nn import StackedMLP
from .quadrature import grid
from .tensors import extent_box, in_range, positive, positive_int, validate

__all__ = [
    "rsample",
    "ElboTerms",
    "elbo_terms",
    "elbo",
    "beta_vae_loss",
    "log_likelihood_is",
    "log_likelihood_quadrature",
    "kl_per_dim",
    "gaussian_log_likelihood",
    "bernoulli_log_likelihood",
    "VAE",
]

Encoder = Callable[[torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]
Decoder = Callable[[torch.Tensor], Distribution]


def _broadcast(names, *xs: torch.Tensor) -> torch.Size:
    try:
        return torch.broadcast_shapes(*(x.shape for x in xs))
    except RuntimeError:
        shapes = ", ".join(f"{n} {tuple(x.shape)}" for n, x in zip(names, xs))
        raise ValueError(f"{' and '.join(names)} must broadcast against each other; got {shapes}") from None


def _log_prob(px, x: torch.Tensor) -> torch.Tensor:
    """``px.log_prob(x)`` after checking that ``px`` is a distribution over points shaped like x's rows."""
    if not isinstance(px, Distribution):
        raise ValueError(f"decoder must return a torch.distributions.Distribution; got {type(px).__name__}")
    if px.event_shape != x.shape[-1:]:
        raise ValueError(f"x must have shape (..., N, D) with D the decoder's event size {tuple(px.event_shape)}; "
                         f"got {tuple(x.shape)}")
    return px.log_prob(x)


def _encode(x: torch.Tensor, encoder: Encoder) -> tuple[torch.Tensor, torch.Tensor]:
    if not callable(encoder):
        raise ValueError("encoder must be a callable x -> (mu, sigma)")
    out = encoder(x)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise ValueError("encoder must return a pair (mu, sigma) of tensors of shape (..., N, K)")
    mu, sigma = out
    if mu.shape != sigma.shape:
        raise ValueError(f"encoder must return mu and sigma of one shape; got {tuple(mu.shape)} "
                         f"and {tuple(sigma.shape)}")
    try:
        fits = torch.broadcast_shapes(mu.shape[:-1], x.shape[:-1]) == mu.shape[:-1]
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"encoder must map x of shape (..., N, D) = {tuple(x.shape)} to mu and sigma of "
                         f"shape (..., N, K); got {tuple(mu.shape)}")
    positive("sigma (the encoder's standard deviations)", sigma.detach())
    return mu, sigma


def rsample(mu: torch.Tensor, sigma, n_samples: int = 1,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Draw :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`.

    The randomness sits in :math:`\varepsilon`, which does not depend on the parameters, so
    gradients flow through :math:`\mu` and :math:`\sigma` (chapter 2 treats this at length).

    Args:
        mu: ``(..., K)``; sigma: ``>= 0``, a number or a tensor broadcasting against ``mu``.
        n_samples: ``S``, the number of draws, stacked on a new leading dimension.
        generator: optional ``torch.Generator`` on ``mu``'s device.

    Returns:
        ``(S, ...,  K)`` samples, dtype and device of ``mu``.

    Book: ``eq-vae-reparam``.
    """
    validate("mu", mu, min_ndim=1)
    positive_int("n_samples", n_samples)
    if not isinstance(sigma, torch.Tensor):
        positive("sigma", sigma, allow_zero=True)
        sigma = torch.as_tensor(sigma, dtype=mu.dtype, device=mu.device)
    positive("sigma", validate("sigma", sigma, finite=False), allow_zero=True)
    shape = (n_samples,) + _broadcast(("mu", "sigma"), mu, sigma)
    return mu + sigma * tensors.noise(shape, mu, generator)


class ElboTerms(NamedTuple):
    """The two terms of the ELBO, per example: ``elbo = reconstruction - kl.sum(-1)``.

    Attributes:
        reconstruction: ``(..., N)``, the Monte Carlo estimate of :math:`\\mathbb E_q[\\log p_\\theta(x\\mid z)]`.
        kl: ``(..., N, K)``, :math:`\\mathrm{KL}(q_\\phi(z_k\\mid x)\\,\\|\\,\\mathcal N(0, 1))` per latent dimension, in closed form.
    """

    reconstruction: torch.Tensor
    kl: torch.Tensor


def elbo_terms(x: torch.Tensor, encoder: Encoder, decoder: Decoder, n_samples: int = 1,
               generator: torch.Generator | None = None) -> ElboTerms:
    r"""Reconstruction term (Monte Carlo, reparameterized) and closed-form KL per latent dimension.

    Args:
        x: ``(..., N, D)`` data.
        encoder, decoder: see the module docstring.
        n_samples: Monte Carlo samples of ``z`` per example for the reconstruction term.
        generator: for the noise :math:`\varepsilon`.

    Returns:
        :class:`ElboTerms`.

    Book: ``eq-vae-elbo-terms``, ``eq-vae-kl-prior``.
    """
    validate("x", x, min_ndim=1)
    positive_int("n_samples", n_samples)
    mu, sigma = _encode(x, encoder)
    z = rsample(mu, sigma, n_samples, generator)
    reconstruction = _log_prob(decoder(z), x).mean(0)
    kl = kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma))
    return ElboTerms(reconstruction, kl)


def elbo(x: torch.Tensor, encoder: Encoder, decoder: Decoder, n_samples: int = 1,
         generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The per-example ELBO, :math:`\mathbb E_{q_\phi(z\mid x)}[\log p_\theta(x\mid z)] - \mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))`.

    The expectation is a Monte Carlo average over ``n_samples`` reparameterized draws of ``z``
    (unbiased, differentiable in the encoder's and decoder's parameters); the KL to the prior
    :math:`\mathcal N(0, I)` is in closed form (:func:`gencore.divergences.kl_normal`).
    It never exceeds :math:`\log p_\theta(x)` in expectation; the gap is
    :math:`\mathrm{KL}(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x))`.

    Args:
        x: ``(..., N, D)`` data.
        encoder: ``x -> (mu, sigma)``, each ``(..., N, K)``.
        decoder: ``z -> Distribution`` with event shape ``(D,)``.
        n_samples: Monte Carlo samples per example.
        generator: optional ``torch.Generator`` for the noise.

    Returns:
        ``(..., N)``: the ELBO of every example, in nats.

    Book: ``eq-vae-elbo``, ``eq-vae-elbo-terms``.
    """
    terms = elbo_terms(x, encoder, decoder, n_samples, generator)
    return terms.reconstruction - terms.kl.sum(-1)


def beta_vae_loss(x: torch.Tensor, encoder: Encoder, decoder: Decoder, beta=1.0, n_samples: int = 1,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The β-VAE training loss, :math:`-\frac1N\sum_n\big(\mathbb E_q[\log p_\theta(x_n\mid z)] - \beta\,\mathrm{KL}(q_\phi(z\mid x_n)\,\|\,p(z))\big)`.

    With ``beta = 1`` it is the negative average ELBO. ``beta`` may be a tensor that broadcasts
    against the per-example terms (e.g. shape ``(M, 1)`` for ``M`` models trained at once); the
    losses of all models are then summed, which trains each on its own loss.

    Returns:
        A scalar tensor (the sum over models of each model's average loss).

    Book: ``eq-vae-beta``.
    """
    positive("beta", beta, allow_zero=True)
    beta_t = torch.as_tensor(beta)
    terms = elbo_terms(x, encoder, decoder, n_samples, generator)
    per_example = terms.reconstruction - beta_t.to(terms.kl) * terms.kl.sum(-1)
    return -per_example.mean(-1).sum()


def log_likelihood_is(x: torch.Tensor, encoder: Encoder, decoder: Decoder, n_samples: int = 1000,
                      generator: torch.Generator | None = None, chunk: int = 250) -> torch.Tensor:
    r"""Importance-sampled :math:`\log p_\theta(x) \approx \log \frac1S \sum_s \frac{p_\theta(x\mid z_s)\,p(z_s)}{q_\phi(z_s\mid x)}`, :math:`z_s \sim q_\phi(z\mid x)`.

    The encoder is the proposal. The estimate is a lower bound in expectation (Burda et al.'s
    :math:`\mathcal L_S`), increases with ``S`` and tends to :math:`\log p_\theta(x)`; with
    ``S = 1`` it is the single-sample ELBO. Computed in log space, in chunks of ``chunk``
    samples.

    Args:
        x: ``(..., N, D)``; encoder, decoder: see the module docstring.
        n_samples: ``S``.

    Returns:
        ``(..., N)`` log-likelihood estimates in nats.

    Book: ``eq-vae-iwae``.

    References:
        Burda, Grosse & Salakhutdinov (2016), Importance weighted autoencoders.
    """
    validate("x", x, min_ndim=1)
    positive_int("n_samples", n_samples)
    positive_int("chunk", chunk)
    mu, sigma = _encode(x, encoder)
    q = Independent(Normal(mu, sigma), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(sigma)), 1)
    parts = []
    for start in range(0, n_samples, chunk):
        z = rsample(mu, sigma, min(chunk, n_samples - start), generator)
        parts.append(_log_prob(decoder(z), x) + prior.log_prob(z) - q.log_prob(z))
    log_w = torch.cat(parts, 0)
    return torch.logsumexp(log_w, 0) - math.log(n_samples)


def log_likelihood_quadrature(x: torch.Tensor, decoder: Decoder, latent_dim: int, extent=(-6.0, 6.0, -6.0, 6.0),
                              resolution: int = 200, chunk: int = 4096) -> torch.Tensor:
    r"""Exact (to quadrature error) :math:`\log p_\theta(x) = \log \int p_\theta(x\mid z)\,\mathcal N(z; 0, I)\,dz` for ``K <= 2``.

    The integral over the latent space is a midpoint sum on a grid: over ``extent[:2]`` with
    ``resolution`` nodes when ``K = 1``, over the box ``extent`` with ``resolution**2`` nodes
    when ``K = 2``, in log space. The reference the importance-sampled estimate is checked against.

    Args:
        x: ``(..., N, D)``; decoder: ``z -> Distribution`` for ``z`` of shape ``(G, ..., N, K)``.
        latent_dim: ``K``, 1 or 2.

    Returns:
        ``(..., N)`` in nats.

    Book: ``eq-vae-marginal``.
    """
    validate("x", x, min_ndim=1)
    if latent_dim not in (1, 2):
        raise ValueError(f"latent_dim must be 1 or 2 for quadrature; got {latent_dim!r}")
    positive_int("resolution", resolution, minimum=2)
    positive_int("chunk", chunk)
    if latent_dim == 2:
        z, area = grid(extent_box("extent", extent), resolution, dtype=x.dtype, device=x.device)
    else:
        lo, hi = extent_box("extent", (*extent[:2], 0.0, 1.0))[:2]
        h = (hi - lo) / resolution
        z = torch.linspace(lo + h / 2, hi - h / 2, resolution, dtype=x.dtype, device=x.device)[:, None]
        area = h
    log_prior = Normal(z.new_zeros(()), z.new_ones(())).log_prob(z).sum(-1)
    parts = []
    for start in range(0, len(z), chunk):
        zc = z[start:start + chunk]
        zc_full = zc.reshape((len(zc),) + (1,) * (x.ndim - 1) + (latent_dim,)).expand(
            (len(zc),) + x.shape[:-1] + (latent_dim,))
        lp = _log_prob(decoder(zc_full), x)
        parts.append(lp + log_prior[start:start + chunk].reshape((-1,) + (1,) * (lp.ndim - 1)))
    return torch.logsumexp(torch.cat(parts, 0), 0) + math.log(area)


def kl_per_dim(x: torch.Tensor, encoder: Encoder) -> torch.Tensor:
    r"""Average :math:`\mathrm{KL}(q_\phi(z_k\mid x)\,\|\,\mathcal N(0,1))` over the examples, per latent dimension ``k``.

    A dimension whose value is near zero is *collapsed*: its posterior equals the prior for
    every ``x``, so it carries no information about ``x``.

    Args:
        x: ``(..., N, D)``.

    Returns:
        ``(..., K)`` in nats.

    Book: ``eq-vae-kl-prior``.
    """
    validate("x", x, min_ndim=1)
    mu, sigma = _encode(x, encoder)
    return kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma)).mean(-2)


# ------------------------------------------------------------------------- decoder likelihoods
def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, sigma) -> torch.Tensor:
    r""":math:`\log \mathcal N(x; m, \sigma^2 I) = -\frac{\lVert x - m\rVert^2}{2\sigma^2} - \frac D2 \log(2\pi\sigma^2)`, summed over the last dimension.

    With :math:`\sigma` fixed, this is minus a scaled squared error plus a constant: the
    Gaussian decoder's reconstruction term is the MSE loss.

    Args:
        x, mean: ``(..., D)``; sigma: ``> 0``, a number or a tensor broadcasting to ``(...)``.

    Returns:
        ``(...)``.

    Book: ``eq-vae-gauss-mse``.
    """
    validate("x", x, min_ndim=1)
    validate("mean", mean, min_ndim=1)
    _broadcast(("x", "mean"), x, mean)
    positive("sigma", sigma)
    sigma_t = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    var = sigma_t**2
    return -((x - mean) ** 2).sum(-1) / (2 * var) - 0.5 * x.shape[-1] * torch.log(2 * math.pi * var)


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_d x_d \log\pi_d + (1 - x_d)\log(1 - \pi_d)` with :math:`\pi = \operatorname{sigmoid}(\text{logits})`.

    Minus the binary cross-entropy, summed over the last dimension; computed from the logits
    (``log σ(a) = -softplus(-a)``) so it stays finite when :math:`\pi` is near 0 or 1.

    Args:
        x: ``(..., D)`` values in ``[0, 1]``; logits: ``(..., D)``.

    Returns:
        ``(...)``.

    Book: ``eq-vae-bern-bce``.
    """
    in_range("x", validate("x", x, min_ndim=1), 0.0, 1.0)
    validate("logits", logits, min_ndim=1)
    _broadcast(("x", "logits"), x, logits)
    sp = nn.functional.softplus
    return -(x * sp(-logits) + (1 - x) * sp(logits)).sum(-1)


# ------------------------------------------------------------------------- many small VAEs at once
class VAE(nn.Module):
    r"""``M`` independent VAEs with Gaussian encoders and Gaussian decoders, trained at once.

    Encoder: an MLP ``D -> hidden -> hidden -> 2K`` giving :math:`\mu_\phi(x)` and
    :math:`\log\sigma_\phi(x)`. Decoder: an MLP ``K -> hidden -> hidden -> D`` giving the mean
    :math:`f_\theta(z)`, and :math:`p_\theta(x\mid z) = \mathcal N(f_\theta(z), s^2 I)` with one
    learned scale ``s`` per model. ``encode`` and ``decode`` follow the module conventions,
    with a model dimension ``M`` third from the end.

    Args:
        n_models: ``M``; data_dim: ``D``; latent_dim: ``K``; hidden: width of hidden layers.
        generator: for the initial weights. dtype: of all parameters (torch's default if ``None``).

    Book: ``eq-vae-elbo-terms``.

    Example:
        >>> model = VAE(n_models=3, data_dim=2, latent_dim=2, hidden=16, generator=torch.Generator().manual_seed(0))
        >>> x = torch.randn(5, 2, dtype=model.log_scale.dtype)
        >>> elbo(x, model.encode, model.decode).shape  # one ELBO per model and example
        torch.Size([3, 5])
        >>> model.sample(4).shape
        torch.Size([3, 4, 2])
    """

    def __init__(self, n_models: int = 1, data_dim: int = 2, latent_dim: int = 2, hidden: int = 32,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        positive_int("data_dim", data_dim)
        positive_int("latent_dim", latent_dim)
        positive_int("hidden", hidden)
        self.latent_dim = latent_dim
        self.enc = StackedMLP(n_models, (data_dim, hidden, hidden, 2 * latent_dim), generator=generator, dtype=dtype)
        self.dec = StackedMLP(n_models, (latent_dim, hidden, hidden, data_dim), generator=generator, dtype=dtype)
        self.log_scale = nn.Parameter(torch.zeros(n_models, 1, 1, dtype=dtype))

    @property
    def n_models(self) -> int:
        return self.enc.n_models

    def select(self, index) -> "VAE":
        """A new ``VAE`` holding copies of the models ``index`` (an int or a sequence of ints).

        The copies require gradients only if this model's parameters do.
        """
        idx = [index] if isinstance(index, int) else list(index)
        new = VAE.__new__(VAE)
        nn.Module.__init__(new)
        new.latent_dim = self.latent_dim
        new.enc, new.dec = self.enc.select(idx), self.dec.select(idx)
        rows = torch.tensor(idx, device=self.log_scale.device)
        new.log_scale = nn.Parameter(self.log_scale.data.index_select(0, rows))
        return new.requires_grad_(self.log_scale.requires_grad)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, D)`` or ``(..., M, N, D)`` -> ``(mu, sigma)``, each ``(..., M, N, K)``."""
        mu, log_sigma = self.enc(x).chunk(2, dim=-1)
        return mu, log_sigma.exp()

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean :math:`f_\\theta(z)`: ``(..., M, N, K)`` (or ``(N, K)``) -> ``(..., M, N, D)``."""
        return self.dec(z)

    @property
    def scale(self) -> torch.Tensor:
        """The decoder's standard deviation ``s`` per model, shape ``(M, 1, 1)``."""
        return self.log_scale.exp()

    def decode(self, z: torch.Tensor) -> Independent:
        """:math:`p_\\theta(x\\mid z)` for ``z`` of shape ``(..., M, N, K)``."""
        mean = self.decode_mean(z)
        return Independent(Normal(mean, self.scale.to(mean).expand_as(mean)), 1)

    def sample(self, n: int, generator: torch.Generator | None = None, noise: bool = True) -> torch.Tensor:
        r"""``n`` draws per model: :math:`z \sim \mathcal N(0, I)`, then :math:`x \sim p_\theta(x\mid z)` (or its mean if ``noise=False``); ``(M, n, D)``."""
        positive_int("n", n)
        z = tensors.noise((self.n_models, n, self.latent_dim), self.log_scale, generator)
        mean = self.decode_mean(z)
        return mean + self.scale * tensors.noise(mean.shape, mean, generator) if noise else mean
