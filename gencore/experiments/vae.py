"""Chapter 3's experiments: the regression-to-the-mean fit, the linear Gaussian model's gap table,
the toy autoencoder and β-VAEs trained at once on the moons, and the tables read from them.

Book: ``book/03_vae.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import divergences as D
from .. import inference_gap as IG
from .. import metrics
from .. import nn as gnn
from .. import tensors
from .. import vae as V
from ..linear_gaussian import LinearGaussian
from ..train import History, fit

__all__ = [
    "regression_to_the_mean", "linear_gaussian", "gap_table", "ToyRun", "toy_loss", "train_toy",
    "latent_samples", "likelihood_table", "beta_stats", "decoder_variance_identity",
    "gap_split", "iwae_curve", "cosine_decay", "train_vae",
]


# --------------------------------------------------------------------- 1. regression to the mean
def regression_to_the_mean(n: int = 2000, steps: int = 250, generator: torch.Generator | None = None,
                           dtype: torch.dtype = torch.float32, device: torch.device | str | None = None):
    r"""Fit an MLP u -> y by MSE to targets :math:`y = \pm(1 + u/4) + 0.05\,\xi`, a fair coin per point.

    :math:`u \sim U(-2, 2)` and :math:`\xi \sim \mathcal N(0, 1)`, so :math:`\mathbb E[y \mid u] = 0`
    while every target lies at distance at least :math:`1 + u/4 \ge 1/2` from 0 (up to the noise).

    Returns ``(u, y, grid, prediction)``: the data, a grid of ``u`` and the fitted curve there, on
    ``device`` (the CPU when ``None``), where the MLP is fitted. The data are drawn on
    ``generator``'s device and moved there, so a CPU generator gives the same data everywhere.

    Book: ``prop-overview-mse`` (chapter 0), applied in chapter 3.
    """
    g = generator
    on = tensors.rng_device(g, device if device is not None else "cpu")
    u = torch.rand(n, 1, generator=g, dtype=dtype, device=on) * 4 - 2
    sign = torch.randint(0, 2, (n, 1), generator=g, device=on).to(u) * 2 - 1
    y = sign * (1.0 + 0.25 * u) + 0.05 * torch.randn(n, 1, generator=g, dtype=u.dtype, device=on)
    u, y = u.to(device), y.to(device)
    net = gnn.StackedMLP(1, (1, 16, 16, 1), generator=g, dtype=dtype, device=u.device)
    fit(lambda step: ((net(u)[0] - y) ** 2).mean(), net, steps, lr=2e-2, progress=False)
    grid = torch.linspace(-2, 2, 201, dtype=u.dtype, device=u.device)[:, None]
    with torch.no_grad():
        pred = net(grid)[0]
    return u[:, 0], y[:, 0], grid[:, 0], pred[:, 0]


# --------------------------------------------------------------------- 2. the linear Gaussian model
def linear_gaussian(dtype=torch.float64, device: torch.device | str | None = None) -> LinearGaussian:
    """The chapter's tractable model: x in R², z in R¹, W = (1.5, 0.8)ᵀ, b = (0.5, −0.3), s = 0.5 (on ``device``)."""
    W = torch.tensor([[1.5], [0.8]], dtype=dtype, device=device)
    return LinearGaussian(W, torch.tensor([0.5, -0.3], dtype=dtype, device=device), 0.5)


def gap_table(lg: LinearGaussian, x0: torch.Tensor, shifts, ratios):
    """ELBO and KL(q‖p(z|x0)) for q = N(m* + Δ·s*, (r·s*)²) over a grid of shifts Δ and ratios r.

    Returns ``(elbo, kl, log_px)`` with ``elbo`` and ``kl`` of shape ``(len(shifts), len(ratios))``.
    """
    post = lg.posterior(x0)
    m, s = post.mean[0], post.stddev[0]
    dm = torch.as_tensor(shifts, dtype=x0.dtype, device=x0.device)[:, None, None]
    r = torch.as_tensor(ratios, dtype=x0.dtype, device=x0.device)[None, :, None]
    mu, sigma = m + dm * s, (r * s).expand(len(shifts), len(ratios), 1)
    mu = mu.expand_as(sigma)
    elbo = lg.elbo_exact(x0.expand(mu.shape[:-1] + (2,)), mu, sigma)
    kl = D.kl_normal(mu, sigma, m, s).sum(-1)
    return elbo, kl, lg.log_marginal(x0)


# --------------------------------------------------------------------- 3. the toy VAEs
@dataclass
class ToyRun:
    """The chapter's models on one dataset, trained at once.

    Attributes:
        model: a :class:`~gencore.vae.VAE` with ``M`` models; model 0 is the plain autoencoder.
        betas: ``(M,)``, ``0`` for the autoencoder.
        history: the training history (the loss is the sum over models).
        x_train: ``(N, 2)``.
    """

    model: V.VAE
    betas: torch.Tensor
    history: History
    x_train: torch.Tensor

    def index(self, beta: float) -> int:
        """The model trained with this ``beta``."""
        return int((self.betas - beta).abs().argmin())


def toy_loss(model: V.VAE, x: torch.Tensor, betas: torch.Tensor, generator=None) -> torch.Tensor:
    r"""Sum over models of :math:`-\frac1N\sum_n(\log p_\theta(x_n\mid z_n) - \beta\,\mathrm{KL}_n)`, one reparameterized ``z_n`` each.

    Models with ``beta == 0`` are plain autoencoders: their code is the encoder's mean, with no
    noise and no KL term, and the reconstruction term is a scaled squared error.
    """
    mu, sigma = model.encode(x)
    stochastic = (betas > 0).to(mu).view(-1, 1, 1)
    z = V.rsample(mu, stochastic * sigma, 1, generator)[0]
    rec = model.decode(z).log_prob(x)
    kl = D.kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma)).sum(-1)
    return -(rec - betas.to(mu).view(-1, 1) * kl).mean(-1).sum()


def train_toy(x: torch.Tensor, betas, steps: int = 1200, lr: float = 3e-3, hidden: int = 32,
              generator: torch.Generator | None = None, progress: bool = True) -> ToyRun:
    """Train an autoencoder (``beta = 0``) and β-VAEs on ``x`` in one batched computation, full batch."""
    betas = torch.as_tensor(betas, dtype=x.dtype, device=x.device)
    model = V.VAE(len(betas), x.shape[-1], 2, hidden, generator=generator, dtype=x.dtype).to(x.device)
    hist = fit(lambda step: toy_loss(model, x, betas, generator), model, steps, lr=lr,
               desc=f"{len(betas)} models at once", progress=progress)
    model.requires_grad_(False)
    return ToyRun(model, betas, hist, x)


def latent_samples(run: ToyRun, x: torch.Tensor, vae_index: int, n: int = 2000, generator=None,
                   metric=None) -> dict:
    """Codes of the data and samples (z ~ N(0, I) decoded, plus decoder noise) of the autoencoder (0) and one VAE.

    ``metric(samples, x)`` scores the samples (default: :func:`gencore.metrics.sliced_w2`, fixed
    directions); pass the metric a floor was computed with to compare with that floor.

    Returns ``{name: (codes, samples, score)}`` for the names ``"autoencoder"`` and
    ``"VAE (β = 1)"``: codes ``(N, 2)``, samples ``(n, 2)`` and the score of the samples against ``x``.
    """
    z_prior = tensors.noise((1, n, 2), x, generator)
    out = {}
    with torch.no_grad():
        for i, name in ((0, "autoencoder"), (vae_index, "VAE (β = 1)")):
            one = run.model.select(i)
            codes = one.encode(x)[0][0]
            mean = one.decode_mean(z_prior)[0]
            xs = mean + one.scale[0] * tensors.noise(mean.shape, mean, generator)
            sw = float((metric or metrics.sliced_w2)(xs, x))
            out[name] = (codes, xs, sw)
    return out


def likelihood_table(run: ToyRun, x_test: torch.Tensor, index: int, n_samples: int = 1000, generator=None) -> dict:
    """ELBO, importance-sampled log-likelihood, per test example averages, of model ``index``; and
    ``log_lik_points``, the log-likelihood estimate at each test point."""
    one = run.model.select(index)
    with torch.no_grad():
        el = V.elbo(x_test, one.encode, one.decode, n_samples=64, generator=generator)[0]
        ll = V.log_likelihood_is(x_test, one.encode, one.decode, n_samples=n_samples, generator=generator)[0]
        ll1 = V.log_likelihood_is(x_test, one.encode, one.decode, n_samples=1, generator=generator)[0]
    return {"elbo": el.mean().item(), "elbo_se": (el.std() / math.sqrt(len(el))).item(),
            "log_lik": ll.mean().item(), "log_lik_1": ll1.mean().item(), "log_lik_points": ll}


def beta_stats(run: ToyRun, x_test: torch.Tensor, generator=None, n_elbo: int = 16, n_is: int = 128,
               n_show: int = 1500) -> dict:
    """Per model: KL per latent dimension, ELBO and importance-sampled log-likelihood on ``x_test``.

    Returns ``{"kl_dims": (M, 2), "elbo": (M,), "log_lik": (M,), "samples": (M, n_show, 2)}``,
    the averages over ``x_test`` and ``n_show`` prior samples of every model (for the β slider).
    """
    enc, dec = run.model.encode, run.model.decode
    with torch.no_grad():
        stats = {"kl_dims": V.kl_per_dim(x_test, enc),
                 "elbo": V.elbo(x_test, enc, dec, n_elbo, generator).mean(-1),
                 "log_lik": V.log_likelihood_is(x_test, enc, dec, n_is, generator).mean(-1)}
        stats["samples"] = run.model.sample(n_show, generator=generator)
    return stats


def decoder_variance_identity(run: ToyRun, x: torch.Tensor, index: int, beta: float, sigma0: float,
                              generator=None) -> tuple[float, float]:
    r"""Both sides of :math:`-\mathcal L_{\beta}(s_0) = \beta\,[-\mathcal L_{1}(\sqrt\beta s_0)] + c`, on one batch and one draw of z.

    The β-weighted loss with a fixed decoder std :math:`s_0` equals β times the plain (β = 1)
    loss with std :math:`\sqrt\beta s_0`, up to the constant
    :math:`c = \frac D2[\log(2\pi s_0^2) - \beta\log(2\pi\beta s_0^2)]`. Returns ``(lhs, rhs)``.
    """
    one = run.model.select(index)
    mu, sigma = one.encode(x)
    z = V.rsample(mu, sigma, 1, generator)[0]
    mean = one.decode_mean(z)
    kl = D.kl_normal(mu, sigma, 0.0, 1.0).sum(-1)
    d = x.shape[-1]

    def loss(b, s):
        return -(V.gaussian_log_likelihood(x, mean, s) - b * kl).mean()

    c = 0.5 * d * (math.log(2 * math.pi * sigma0**2) - beta * math.log(2 * math.pi * beta * sigma0**2))
    return loss(beta, sigma0).item(), (beta * loss(1.0, math.sqrt(beta) * sigma0) + c).item()


# --------------------------------------------------------------------- 4. where the inference gap comes from
def gap_split(run: ToyRun, x: torch.Tensor, index: int, steps: int = 300, lr: float = 0.03, order: int = 16,
              zbox=(-4.0, 4.0, -4.0, 4.0), resolution: int = 400, log_px: torch.Tensor | None = None) -> dict:
    r"""Approximation and amortization gaps (Cremer et al. 2018) of model ``index`` at the points ``x``.

    In float64: :math:`\log p_\theta(x)` by quadrature over ``zbox``, the encoder's ELBO and the
    ELBO of the per-point optimal Gaussian :math:`q^*` (:func:`gencore.inference_gap.fit_gaussian_posterior`,
    started at the encoder's output), both by Gauss-Hermite quadrature. ``log_px`` ``(N,)``: the
    quadrature values if already computed (they are then not recomputed).

    Returns ``{"log_px", "elbo_enc", "elbo_star", "approximation", "amortization"}``, each ``(N,)``
    on the CPU, and ``"mu_enc", "sigma_enc", "mu_star", "sigma_star"``, each ``(N, 2)``.
    """
    one = run.model.select(index).double()
    xd = x.double()
    with torch.no_grad():
        if log_px is None:
            log_px = V.log_likelihood_quadrature(xd[None], one.decode, 2, zbox, resolution)[0]
        log_px = log_px.to(xd)
        mu, sigma = one.encode(xd)
        elbo_enc = IG.elbo_gauss_hermite(xd, mu, sigma, one.decode, order)[0]
    mu_s, sigma_s, elbo_s = IG.fit_gaussian_posterior(xd, one.decode, mu, sigma, steps, lr, order)
    out = {"log_px": log_px, "elbo_enc": elbo_enc, "elbo_star": elbo_s[0],
           "approximation": log_px - elbo_s[0], "amortization": elbo_s[0] - elbo_enc,
           "mu_enc": mu[0], "sigma_enc": sigma[0], "mu_star": mu_s[0], "sigma_star": sigma_s[0]}
    return {k: v.detach().cpu() for k, v in out.items()}


def iwae_curve(run: ToyRun, x: torch.Tensor, index: int, sizes=(1, 4, 16, 64, 256, 1024), repeats: int = 8,
               generator=None, order: int = 16, zbox=(-4.0, 4.0, -4.0, 4.0), resolution: int = 400,
               log_px: torch.Tensor | None = None) -> dict:
    r"""The importance-weighted bound :math:`\mathcal L_S` averaged over ``x``, for each ``S`` in ``sizes``.

    Each :math:`\mathcal L_S` is the mean over the points and ``repeats`` independent draws of
    :func:`gencore.vae.log_likelihood_is` with ``S`` samples; the references are the exact mean
    ELBO (Gauss-Hermite) and the mean :math:`\log p_\theta(x)` (quadrature, or the given
    ``log_px`` of shape ``(N,)``), in float64.

    Returns ``{"sizes": (len,), "bound": (len,), "se": (len,), "elbo": float, "log_px": float}``,
    ``se`` the standard error of each mean over the repeats.
    """
    one = run.model.select(index).double()
    xd = x.double()
    bound, se = [], []
    with torch.no_grad():
        for s in sizes:
            est = torch.stack([V.log_likelihood_is(xd, one.encode, one.decode, int(s), generator)[0].mean()
                               for _ in range(repeats)])
            bound.append(est.mean())
            se.append(est.std() / math.sqrt(repeats))
        mu, sigma = one.encode(xd)
        el = IG.elbo_gauss_hermite(xd, mu, sigma, one.decode, order)[0].mean()
        if log_px is None:
            log_px = V.log_likelihood_quadrature(xd[None], one.decode, 2, zbox, resolution)[0]
        log_px = log_px.to(xd).mean()
    return {"sizes": torch.tensor([float(s) for s in sizes]), "bound": torch.stack(bound).cpu(),
            "se": torch.stack(se).cpu(), "elbo": el.item(), "log_px": log_px.item()}


# --------------------------------------------------------------------- 5. a β = 1 VAE trained to the published number
def cosine_decay(steps: int):
    r"""The learning-rate factor :math:`\tfrac12\,(1 + \cos(\pi t / T))` at step ``t`` of ``T = steps``: from 1 down to 0."""
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * step / steps))


def train_vae(sample, steps: int = 3000, lr: float = 5e-3, hidden: int = 64, batch: int = 1000, k: int = 1,
              generator: torch.Generator | None = None, dtype: torch.dtype | None = None,
              device: torch.device | str | None = None, progress: bool = True) -> tuple[V.VAE, History]:
    r"""One β = 1 VAE (2D latent, learned decoder scale) trained by the recipe of the chapter's last section.

    Every step draws a fresh minibatch ``sample(batch, generator)`` (a known distribution can
    hand out new data forever, so nothing is overfitted), minimizes the negative ELBO
    (:func:`gencore.vae.beta_vae_loss`, one reparameterized sample) or, with ``k > 1``, the
    negative importance-weighted bound :math:`\mathcal L_k` of Burda et al. (k reparameterized
    samples per point, :func:`gencore.vae.log_likelihood_is`), with fused Adam at ``lr``, and
    decays the learning rate to zero on :func:`cosine_decay`.

    Returns ``(model, history)``; the model's parameters no longer require gradients.
    """
    tensors.positive_int("k", k)  # samples per point in the bound
    model = V.VAE(1, 2, 2, hidden, generator=generator, dtype=dtype).to(device)

    def loss(step):
        x = sample(batch, generator).to(device)
        if k == 1:
            return V.beta_vae_loss(x, model.encode, model.decode, 1.0, generator=generator)
        return -V.log_likelihood_is(x, model.encode, model.decode, k, generator).mean()

    hist = fit(loss, model, steps, lr=lr, lr_schedule=cosine_decay(steps), fused=True, progress=progress,
               desc="β = 1 VAE, cosine decay" + (f", bound L_{k}" if k > 1 else ""))
    model.requires_grad_(False)
    return model, hist
