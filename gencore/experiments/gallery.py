"""Chapter 0's gallery: the registry of every family of the book, one sampler per chapter.

:data:`FAMILIES` lists one :class:`~gencore.experiments.overview.Family` per generative family,
each with the chapter that teaches it and a ``sampler``. A sampler is a function
``sampler(train, n, generator) -> (n, 2)`` that trains its chapter's model on ``train`` (float64
samples of the dataset) with a small budget of a few seconds, by calling the chapter's own recipe
in ``gencore.experiments.<chapter>``, and returns ``n`` samples in ``train``'s dtype and device;
everything random in it is drawn from ``generator`` (the training's generator too), so the gallery
is reproducible. The networks train in :data:`NET_DTYPE` (float32), passed explicitly: the
gallery never reads or changes torch's default dtype.
Adding a family is adding its entry. :func:`gencore.experiments.overview.run_gallery` trains,
samples and scores them; :func:`gencore.figures.gallery.gallery_figure` draws them.

The budgets are the gallery's, not the chapters': each chapter trains its model longer and
measures it more carefully.

Book: ``book/00_overview.ipynb``.
"""
from __future__ import annotations

import torch

from .. import diffusion as D
from .. import mcmc
from . import autoregressive, diffusion, divergences, ebm, flow_matching, flows, gan, score, vae
from .overview import Family, Resample, data_sampler

__all__ = ["NET_DTYPE", "FAMILIES", "vae_sampler", "gan_sampler", "flow_sampler", "ddpm_sampler",
           "annealed_langevin_sampler", "ebm_sampler"]

NET_DTYPE = torch.float32  # the dtype every gallery network trains in, whatever torch's default is


def _data(train: torch.Tensor) -> torch.Tensor:
    """The training set in :data:`NET_DTYPE`: each chapter's recipe builds its network in its data's dtype."""
    return train.detach().to(NET_DTYPE)


def _generator(generator: torch.Generator) -> torch.Generator:
    """A second generator for a recipe's training, seeded from ``generator`` (which then samples)."""
    return torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=generator)))


def vae_sampler(train: torch.Tensor, n: int, generator: torch.Generator, steps: int = 500,
                lr: float = 6e-3) -> torch.Tensor:
    """Chapter 3: a VAE (β = 1, 2-d latent, Gaussian decoder), full batch; ``z ~ N(0, I)`` decoded with its noise.

    500 full-batch Adam steps at twice chapter 3's learning rate: as close to the data as 1000
    steps at 3e-3 (sliced W2 0.084 against 0.093 and distance to the curves 2.1 against 2.2
    times the data's, means over ``GENCORE_SEED=0, 1, 2``), in half the time.
    """
    g = _generator(generator)
    run = vae.train_toy(_data(train), [1.0], steps=steps, lr=lr, generator=g, progress=False)
    return run.model.sample(n, g)[0].to(train)


def gan_sampler(train: torch.Tensor, n: int, generator: torch.Generator, steps: int = 1500) -> torch.Tensor:
    """Chapter 4: a non-saturating GAN (64-unit MLPs, k = 1, decaying learning rates), minibatches of 256."""
    run = gan.train_gans(Resample(_data(train)), ["non-saturating"], 1, steps=steps, batch_size=256,
                         g_hidden=(64, 64), d_hidden=(64, 64), lr_g=3e-3, lr_d=3e-3, lr_decay=True,
                         snapshot_every=steps, generator=_generator(generator), progress=False)
    return run.sample(n, generator)[0].to(train)


def flow_sampler(train: torch.Tensor, n: int, generator: torch.Generator, steps: int = 800) -> torch.Tensor:
    """Chapter 5: a RealNVP coupling flow (8 layers), maximum likelihood on minibatches of 512, EMA weights.

    Chapter 5's recipe: 800 fused-Adam steps at its learning rate, held for the first 30 % of
    the steps and then decayed linearly to zero. (1000 steps at a constant rate took half as long
    again; with 600 of those the fit failed at one seed of the sweep, ``GENCORE_SEED=1``.)
    """
    x = _data(train)
    flow, _ = flows.fit_coupling(x, steps=steps, decay_start=0.3, fused=True, generator=_generator(generator),
                                 progress=False)
    z = torch.randn(n, 2, generator=generator, dtype=NET_DTYPE).to(x.device)
    with torch.no_grad():
        return flow.forward(z)[0].to(train)


def ddpm_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 6: the noise-predicting MLP (Algorithm 1, 1000 Adam steps on minibatches of 512, EMA), sampled by Algorithm 2 (T = 1000)."""
    x = _data(train)
    schedule = D.NoiseSchedule.linear()
    model, _, _ = diffusion.train_denoiser(Resample(x), schedule, stages=((3e-3, 800), (1e-3, 200)),
                                           batch=512, generator=_generator(generator), progress=False,
                                           device=x.device)
    xT = torch.randn(n, 2, generator=generator, dtype=NET_DTYPE).to(x.device)
    with torch.no_grad():
        return D.sample(model, schedule, xT, generator=generator).to(train)


def annealed_langevin_sampler(train: torch.Tensor, n: int, generator: torch.Generator,
                              steps: int = 1000) -> torch.Tensor:
    """Chapter 7: a noise-conditional score net (multi-level DSM), sampled by annealed Langevin."""
    x = _data(train)
    sigmas = mcmc.geometric_sigmas(2.0, 0.05, 10, dtype=x.dtype)
    model, _ = score.fit_ncsn(x, sigmas, steps=steps, generator=_generator(generator), progress=False)
    x0 = 2 * torch.randn(n, 2, generator=generator, dtype=NET_DTYPE).to(x.device)
    with torch.no_grad():
        return mcmc.annealed_langevin(model, x0, sigmas, 2e-4, 100, generator).to(train)


def ebm_sampler(train: torch.Tensor, n: int, generator: torch.Generator, mcmc_steps: int = 2000) -> torch.Tensor:
    """Chapter 8: an energy trained by score matching (chapter 8's 1000 Adam steps), sampled by MALA from N(0, I)."""
    x = _data(train)
    trained = ebm.train_ebm(x, "sm", phases=((700, 1e-2), (300, 1e-3)), generator=_generator(generator),
                            progress=False)
    x0 = torch.randn(n, 2, generator=generator, dtype=NET_DTYPE).to(x.device)
    return mcmc.mala(trained.model, x0, 0.03, mcmc_steps, generator=generator).to(train)


FAMILIES: tuple[Family, ...] = (
    Family("data (a fresh sample)", 0, data_sampler),
    Family("one Gaussian, max. likelihood", 1, divergences.gallery_sampler),
    Family("VAE", 3, vae_sampler),
    Family("GAN", 4, gan_sampler),
    Family("normalizing flow (RealNVP)", 5, flow_sampler),
    Family("diffusion (DDPM)", 6, ddpm_sampler),
    Family("annealed Langevin (learned score)", 7, annealed_langevin_sampler),
    Family("energy-based model (MALA)", 8, ebm_sampler),
    Family("flow matching", 9, flow_matching.gallery_sampler),
    Family("autoregressive", 10, autoregressive.gallery_sampler),
)
