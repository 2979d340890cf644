r"""Chapter 4's trainer: several GANs at once in one batched computation.

:class:`gencore.nn.StackedMLP` holds every model's weights with a leading model axis, a
hand-made Adam (:class:`StackedAdam`) steps them all (and can leave some models out of a step), and :func:`train_gans` runs Algorithm 1 of
Goodfellow et al. (2014) for all of them, recording snapshots and losses in a :class:`GANRun`.
The losses are :mod:`gencore.gan`'s.

Book: ``book/04_gan.ipynb``.

References:
    Goodfellow et al. (2014), Generative adversarial nets. NeurIPS.
    Gulrajani et al. (2017), Improved training of Wasserstein GANs. NeurIPS.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..gan import LOSSES, critic_loss, discriminator_loss, generator_loss, gradient_penalty
from ..nn import StackedMLP
from ..quadrature import grid
from ..tensors import extent_box, noise, one_of, positive, positive_int, rng_device
from ..train import Progress

__all__ = ["StackedAdam", "GANRun", "train_gans"]


class StackedAdam:
    """Adam over parameters with a leading model axis; ``step(active)`` updates only the
    models where ``active`` (a ``(M,)`` bool tensor) is true (their moments and step counts too).

    ``lr`` is a number or one learning rate per model, ``(M,)``; it may be reassigned between steps.
    """

    def __init__(self, params, lr: float, betas: tuple[float, float], eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = list(params), lr, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = torch.zeros(self.params[0].shape[0], dtype=self.params[0].dtype,
                             device=self.params[0].device)

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        b1, b2 = self.betas
        self.t += active.to(self.t)
        c1 = 1 - b1 ** self.t.clamp(min=1)
        c2 = 1 - b2 ** self.t.clamp(min=1)
        for p, m, v in zip(self.params, self.m, self.v):
            shape = (-1,) + (1,) * (p.ndim - 1)
            on = active.view(shape)
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            m.copy_(torch.where(on, b1 * m + (1 - b1) * g, m))
            v.copy_(torch.where(on, b2 * v + (1 - b2) * g * g, v))
            lr = self.lr.view(shape) if isinstance(self.lr, torch.Tensor) else self.lr
            update = lr * (m / c1.view(shape)) / ((v / c2.view(shape)).sqrt() + self.eps)
            p.sub_(torch.where(on, update, torch.zeros_like(update)))

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


@dataclass
class GANRun:
    """What :func:`train_gans` returns.

    Attributes:
        losses, ks: each model's generator loss (one of ``LOSSES``) and discriminator steps.
        generator, discriminator: the trained :class:`gencore.nn.StackedMLP` (model ``m`` is row ``m``).
        latent_dim: dimension of the noise :math:`z \\sim \\mathcal N(0, I)`.
        steps: generator steps taken.
        snapshots: ``(step, samples (M, N, 2), logits (M, R, R))`` every ``snapshot_every``
            generator steps (and at 0 and the end): generated points, and the discriminator's
            logit (the critic's value for WGAN-GP) on the ``R x R`` grid over ``extent``.
        generators: a copy of the generator (all ``M`` models) at every snapshot, in the same
            order: what the website's slider over training runs (:func:`gencore.live_gan.stack_models`).
        d_loss, g_loss: ``(steps, M)`` losses at every generator step.
        extents: each model's box ``(xmin, xmax, ymin, ymax)`` of its logit grid.
        seconds: wall time of the loop.
    """

    losses: tuple[str, ...]
    ks: tuple[int, ...]
    generator: StackedMLP
    discriminator: StackedMLP
    latent_dim: int
    steps: int
    snapshots: list = field(default_factory=list)
    generators: list = field(default_factory=list)
    d_loss: torch.Tensor | None = None
    g_loss: torch.Tensor | None = None
    extents: tuple = ()
    seconds: float = 0.0

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` fresh samples from every model, shape ``(M, n, 2)``."""
        positive_int("n", n)
        p = self.generator.weights[0]
        return self.generator(noise((self.generator.n_models, n, self.latent_dim), p, generator))


def train_gans(
    data: torch.distributions.Distribution,
    losses: Sequence[str] = ("non-saturating",),
    ks: int | Sequence[int] = 1,
    *,
    steps: int = 1000,
    batch_size: int = 256,
    latent_dim: int = 2,
    g_hidden: Sequence[int] = (128, 128),
    d_hidden: Sequence[int] = (128, 128),
    activation: str = "leaky_relu",
    lr_g: float | Sequence[float] = 1e-3,
    lr_d: float | Sequence[float] = 1e-3,
    betas: tuple[float, float] = (0.5, 0.9),
    gp_weight: float | Sequence[float] = 0.1,
    lr_decay: bool = False,
    snapshot_every: int = 50,
    snapshot_samples: int = 1000,
    extent: Sequence = (-3.0, 3.0, -3.0, 3.0),
    grid_resolution: int = 48,
    generator: torch.Generator | None = None,
    progress: bool = True,
    desc: str = "GAN training",
) -> GANRun:
    r"""Algorithm 1 of Goodfellow et al. (2014) for ``len(losses)`` GANs at once.

    Each iteration: ``k`` discriminator steps, each on a fresh minibatch of ``batch_size`` data
    points and as many noise vectors :math:`z \sim p_z = \mathcal N(0, I)`, ascending the
    minibatch value (descending :func:`discriminator_loss`; :func:`critic_loss` with
    :func:`gradient_penalty` for ``"wgan-gp"``); then one generator step on fresh noise,
    descending :func:`generator_loss` of the model's kind. All models share the minibatches
    but have their own weights, all drawn from ``generator``; the optimizer is Adam.

    Args:
        data: the data distribution (``sample(shape, generator=...)``), e.g. ``make("8gaussians")``,
            or a list with one distribution per model.
        losses: one entry per model, each one of ``LOSSES``.
        ks: discriminator steps per generator step, one per model (or one for all).
        steps: generator steps.
        batch_size, latent_dim, g_hidden, d_hidden, activation: the models.
        lr_g, lr_d, betas: Adam's settings for the two players.
        gp_weight: :math:`\lambda` of the gradient penalty (``"wgan-gp"`` models only).
            ``lr_g``, ``lr_d`` and ``gp_weight`` are numbers or one value per model.
        lr_decay: decay both learning rates linearly to 0.1 % of their start over the run.
        snapshot_every, snapshot_samples, extent, grid_resolution: what :class:`GANRun` keeps
            (``extent`` is one box or one per model).
        generator: draws everything random (initial weights, noise, minibatches, the penalty's
            mixing weights), so two runs from equally seeded generators give the same numbers;
            torch's global generator when ``None``.
        progress: show the progress line of :mod:`gencore.train`.

    Returns:
        A :class:`GANRun`.

    Book: ``eq-gan-value``, ``eq-gan-ns``.
    """
    losses = tuple(losses)
    if not losses:
        raise ValueError("losses must name at least one model's loss")
    for kind in losses:
        one_of("losses", kind, LOSSES)
    n = len(losses)
    ks = (ks,) * n if isinstance(ks, int) else tuple(ks)
    if len(ks) != n:
        raise ValueError(f"ks must have one entry per model ({n}); got {len(ks)}")
    for k in ks:
        positive_int("ks", k)
    for name, v in (("steps", steps), ("batch_size", batch_size), ("latent_dim", latent_dim),
                    ("snapshot_every", snapshot_every), ("snapshot_samples", snapshot_samples)):
        positive_int(name, v)
    positive_int("grid_resolution", grid_resolution, minimum=2)
    per_model = {}
    for name, v in (("lr_g", lr_g), ("lr_d", lr_d), ("gp_weight", gp_weight)):
        t = torch.as_tensor(v, dtype=torch.float64).flatten()
        if t.numel() not in (1, n):
            raise ValueError(f"{name} must be a number or one value per model ({n}); got {t.numel()} values")
        positive(name, t, allow_zero=name == "gp_weight")
        per_model[name] = t.expand(n).clone()
    boxes = [extent_box("extent", e) for e in extent] if isinstance(extent[0], (list, tuple)) \
        else [extent_box("extent", extent)] * n
    if len(boxes) != n:
        raise ValueError(f"extent must be one box or one box per model ({n}); got {len(boxes)}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got {type(generator).__name__}")

    gen = generator
    datasets = list(data) if isinstance(data, (list, tuple)) else [data] * n
    if len(datasets) != n:
        raise ValueError(f"data must be one distribution or one per model ({n}); got {len(datasets)}")
    # The data's dtype and device, from a point drawn with a throwaway generator (not the run's).
    probe = torch.Generator(device=rng_device(gen, "cpu")).manual_seed(0)
    x_probe = datasets[0].sample((1,), generator=probe)
    dtype, device = x_probe.dtype, x_probe.device
    G = StackedMLP(n, (latent_dim, *g_hidden, 2), activation, generator=gen, dtype=dtype, device=device)
    D = StackedMLP(n, (2, *d_hidden, 1), activation, generator=gen, dtype=dtype, device=device)
    lr_g, lr_d, gp_weight = (per_model[k].to(device=device, dtype=dtype) for k in ("lr_g", "lr_d", "gp_weight"))
    opt_g = StackedAdam(G.parameters(), lr_g, betas)
    opt_d = StackedAdam(D.parameters(), lr_d, betas)
    kind_w = torch.tensor([[k == name for name in LOSSES] for k in losses], dtype=dtype, device=device)
    k_t = torch.tensor(ks, device=device)
    wgan = "wgan-gp" in losses
    points = torch.stack([grid(b, grid_resolution, dtype=dtype, device=device)[0] for b in boxes])

    def latent(m: int) -> torch.Tensor:  # z ~ N(0, I), (M, m, latent_dim)
        return noise((n, m, latent_dim), x_probe, gen)

    unique = list(dict.fromkeys(map(id, datasets)))
    by_id = {id(d): d for d in datasets}
    rows = torch.tensor([unique.index(id(d)) for d in datasets], device=device)

    def sample_real() -> torch.Tensor:  # (M, B, 2); models sharing a dataset share the batch
        batches = [by_id[u].sample((batch_size,), generator=gen) for u in unique]
        return torch.stack(batches).to(device=device, dtype=dtype)[rows]

    def critic(x):
        return D(x).squeeze(-1)

    z_fixed = latent(snapshot_samples)
    run = GANRun(losses, ks, G, D, latent_dim, steps, extents=tuple(boxes))

    def snapshot(step):
        with torch.no_grad():
            logits = critic(points).reshape(n, grid_resolution, grid_resolution)
            run.snapshots.append((step, G(z_fixed).cpu(), logits.cpu()))
            run.generators.append(G.select(list(range(G.n_models))).requires_grad_(False))

    d_hist, g_hist = [], []
    bar = Progress(steps, desc, progress)
    t0 = time.perf_counter()
    snapshot(0)
    for step in range(1, steps + 1):
        for j in range(max(ks)):
            active = k_t > j
            real = sample_real()
            with torch.no_grad():
                fake = G(latent(batch_size))
            a_real, a_fake = critic(real), critic(fake)
            gan_part = discriminator_loss(a_real, a_fake)
            loss_d = gan_part * (1 - kind_w[:, 2])
            if wgan:
                gp = gradient_penalty(critic, real, fake, gen)
                loss_d = loss_d + critic_loss(a_real, a_fake, gp, gp_weight) * kind_w[:, 2]
            opt_d.zero_grad()
            (loss_d * active).sum().backward()
            opt_d.step(active)
        a_fake = critic(G(latent(batch_size)))
        per_kind = torch.stack([generator_loss(a_fake, kind) for kind in LOSSES], -1)  # (M, 3)
        loss_g = (per_kind * kind_w).sum(-1)
        opt_g.zero_grad()
        loss_g.sum().backward()
        opt_g.step(torch.ones(n, dtype=torch.bool, device=device))
        if lr_decay:
            opt_g.lr = lr_g * (1 - step / steps * (1 - 1e-3))
            opt_d.lr = lr_d * (1 - step / steps * (1 - 1e-3))
        d_hist.append(loss_d.detach())
        g_hist.append(loss_g.detach())
        if step % snapshot_every == 0 or step == steps:
            snapshot(step)
        bar.update(step, f"D loss={loss_d[0].item():.3f}", final=step == steps)
    run.seconds = time.perf_counter() - t0
    run.d_loss, run.g_loss = torch.stack(d_hist).cpu(), torch.stack(g_hist).cpu()
    D.zero_grad(set_to_none=True)
    G.zero_grad(set_to_none=True)
    return run
