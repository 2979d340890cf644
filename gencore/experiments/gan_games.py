"""Chapter 4's smaller runs: the Dirac GAN's frames, W1 on the radius sweep, a trained D's density
ratio, and the saturating loss stalling against a pretrained discriminator.

Book: ``book/04_gan.ipynb``.
"""
from __future__ import annotations

import copy
import math

import torch

from .. import data, gan, gan_games, nn
from ..tensors import noise, positive, positive_int

__all__ = ["dirac_frames", "w1_sweep", "density_ratio_check", "saturation_stall"]


def dirac_frames(hs, steps: int = 60, start=(1.0, 1.0)) -> dict:
    """For each step size ``h`` in ``hs``: the Dirac GAN's simultaneous and alternating iterates
    from ``start``, the exact flow over the same time ``steps * h``, and the eigenvalue moduli
    (closed form and autograd) of each scheme's step. Keys are the floats of ``hs``."""
    positive_int("steps", steps)
    s0 = torch.tensor(start, dtype=torch.float64)
    out = {}
    for h in [float(h) for h in hs]:
        positive("h", h)
        frame = {"flow": gan_games.dirac_flow(s0, torch.linspace(0, steps * h, 200, dtype=torch.float64))}
        for scheme in gan_games.SCHEMES:
            frame[scheme] = gan_games.dirac_trajectory(s0, h, steps, scheme)
            frame[f"{scheme}_modulus"] = gan_games.dirac_eigenvalues(h, scheme).abs()[0].item()
            frame[f"{scheme}_autograd"] = torch.linalg.eigvals(gan_games.dirac_jacobian(h, scheme)).abs().max().item()
        out[h] = frame
    return out


def w1_sweep(radii, std: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lower, upper)`` bounds of :func:`gencore.gan_games.ring_w1_bounds` at each radius."""
    pairs = [gan_games.ring_w1_bounds(float(r), 2.0, std) for r in radii]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def density_ratio_check(steps: int = 600, batch_size: int = 512, generator: torch.Generator | None = None,
                        n_test: int = 4000, device: torch.device | str | None = None) -> dict:
    """Train a logistic discriminator 2 -> 64 -> 64 -> 1 (Adam, lr 3e-3 decaying) to tell the ring of
    radius 2 ("data") from the ring of radius 2.3 ("generator"), both std 0.1, and compare its logit
    with the exact ``log p_data - log p_g`` on ``n_test`` fresh points from the even mixture.

    Returns ``x`` (n_test, 2), ``logit`` and ``exact`` (n_test,), ``exact_dstar_gap`` (the largest
    gap between the closed-form D*'s logit and the log-ratio), ``rmse``, ``corr``, and ``rmse_core``
    (over the points where |log-ratio| <= 5, where the two densities are comparable)."""
    positive_int("steps", steps)
    positive_int("batch_size", batch_size)
    p = data.make("8gaussians", radius=2.0, std=0.1, dtype=torch.float64)
    q = data.make("8gaussians", radius=2.3, std=0.1, dtype=torch.float64)
    D = nn.mlp((2, 64, 64, 1), "leaky_relu", generator=generator, dtype=torch.float64, device=device)
    opt = torch.optim.Adam(D.parameters(), 3e-3, betas=(0.5, 0.9))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / steps)
    for _ in range(steps):
        real = p.sample((batch_size,), generator=generator).to(device)
        fake = q.sample((batch_size,), generator=generator).to(device)
        loss = gan.discriminator_loss(D(real).squeeze(-1), D(fake).squeeze(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    half = n_test // 2
    x = torch.cat((p.sample((half,), generator=generator), q.sample((n_test - half,), generator=generator)))
    exact = p.log_prob(x) - q.log_prob(x)
    with torch.no_grad():
        logit = D(x.to(device)).squeeze(-1).cpu()
    dstar = gan.optimal_discriminator(p.log_prob, q.log_prob)
    core = exact.abs() <= 5
    return {"x": x, "logit": logit, "exact": exact,
            "exact_dstar_gap": (dstar.logit(x) - exact).abs().max().item(),
            "rmse": (logit - exact).pow(2).mean().sqrt().item(),
            "rmse_core": (logit - exact)[core].pow(2).mean().sqrt().item(),
            "core_share": core.double().mean().item(),
            "corr": torch.corrcoef(torch.stack((logit, exact)))[0, 1].item()}


def saturation_stall(pretrain: int = 300, steps: int = 300, lr_g: float = 0.01, every: int = 10,
                     generator: torch.Generator | None = None, device: torch.device | str | None = None) -> dict:
    """The saturating and the non-saturating generator loss against the same strong discriminator.

    A generator 2 -> 64 -> 64 -> 2 and discriminator 2 -> 64 -> 64 -> 1 (leaky ReLU) are drawn; the
    discriminator alone is trained for ``pretrain`` steps (Adam, lr 3e-3) against the untrained
    generator, so it rejects its samples confidently. Copies of both then train by Algorithm 1
    (k = 1, minibatches of 256) once per generator loss, from the same state and on the same
    noise; the generator by plain gradient descent with step ``lr_g``, so the size of its gradient
    is the size of its step (Adam would divide it out).

    Returns, per loss (``"saturating"``, ``"non-saturating"``): ``grad_norm`` (steps,) the norm of
    the generator's gradient at each step; ``d_fake`` (steps,) the mean ``D(G(z))`` on its
    minibatch; ``distance`` (steps // every + 1,) the mean distance of 1,000 samples from their
    nearest mode; and ``step`` the steps at which ``distance`` was measured.
    """
    positive_int("pretrain", pretrain, minimum=0)
    positive_int("steps", steps)
    positive_int("every", every)
    positive("lr_g", lr_g)
    ds = data.make("8gaussians", dtype=torch.float64)
    means = ds.means.to(torch.float64)
    kw = dict(generator=generator, dtype=torch.float64, device=device)
    G = nn.mlp((2, 64, 64, 2), "leaky_relu", **kw)
    D = nn.mlp((2, 64, 64, 1), "leaky_relu", **kw)
    like = means.new_zeros(1).to(device)
    draw = lambda n: noise((n, 2), like, generator)  # noqa: E731
    real = lambda n: ds.sample((n,), generator=generator).to(device)  # noqa: E731

    def d_step(Dm, Gm, opt):
        loss = gan.discriminator_loss(Dm(real(256)).squeeze(-1), Dm(Gm(draw(256)).detach()).squeeze(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def distance(Gm):
        with torch.no_grad():
            return torch.cdist(Gm(draw(1000)).cpu(), means).min(1).values.mean().item()

    opt_d = torch.optim.Adam(D.parameters(), 3e-3, betas=(0.5, 0.9))
    for _ in range(pretrain):
        d_step(D, G, opt_d)
    state = generator.get_state() if generator is not None else None
    out = {"step": list(range(0, steps + 1, every))}
    for kind in ("saturating", "non-saturating"):
        if state is not None:
            generator.set_state(state)
        Gk, Dk = copy.deepcopy(G), copy.deepcopy(D)
        opt_g = torch.optim.SGD(Gk.parameters(), lr_g)
        opt_dk = torch.optim.Adam(Dk.parameters(), 3e-3, betas=(0.5, 0.9))
        opt_dk.load_state_dict(opt_d.state_dict())
        grads, d_fake, dist = [], [], [distance(Gk)]
        for i in range(steps):
            d_step(Dk, Gk, opt_dk)
            a = Dk(Gk(draw(256))).squeeze(-1)
            opt_g.zero_grad()
            gan.generator_loss(a, kind).backward()
            grads.append(math.sqrt(sum(float((p.grad ** 2).sum()) for p in Gk.parameters())))
            d_fake.append(torch.sigmoid(a).mean().item())
            opt_g.step()
            if (i + 1) % every == 0:
                dist.append(distance(Gk))
        out[kind] = {"grad_norm": torch.tensor(grads), "d_fake": torch.tensor(d_fake), "distance": torch.tensor(dist)}
    return out
