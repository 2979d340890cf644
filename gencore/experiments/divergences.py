"""Chapter 1's runs (KL divergence): the Gaussian fits, the maximum-likelihood demo, the JSD curve.

Built on :mod:`gencore.divergences`; no plotting (the figures are :mod:`gencore.figures.divergences`).

Book: ``book/01_kl.ipynb``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import divergences as D
from ..tensors import noise
from ..train import fit

__all__ = ["XS", "normal_log_prob", "ReverseFits", "separation_fits", "fit_diagonal_by_mle", "fit_factorized_by_descent",
           "jsd_normal_shift", "jsd_versus_kl", "gallery_sampler"]

XS = torch.linspace(-10, 10, 1001, dtype=torch.float64)  # the 1D quadrature grid of the chapter


def normal_log_prob(mu, sigma, xs: torch.Tensor = XS) -> torch.Tensor:
    """:math:`\\log \\mathcal N(x; \\mu, \\sigma^2)` at the points ``xs`` (in ``xs``'s dtype)."""
    kw = dict(dtype=xs.dtype, device=xs.device)
    return torch.distributions.Normal(torch.as_tensor(mu, **kw), torch.as_tensor(sigma, **kw)).log_prob(xs)


@dataclass(frozen=True)
class ReverseFits:
    """Gaussian fits to the bimodal target, one entry per separation.

    Attributes:
        separations: ``(B,)`` the distances ``d`` between the two modes (unit variances).
        forward: ``(mu, sigma, kl)`` minimizing KL(p‖q).
        seek: ``(mu, sigma, kl)`` minimizing KL(q‖p) started on the right mode.
        centre: ``(mu, sigma, kl)`` minimizing KL(q‖p) started at the centre, as wide as p.
    """

    separations: torch.Tensor
    forward: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    seek: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    centre: tuple[torch.Tensor, torch.Tensor, torch.Tensor]

    def crossover(self, tol: float = 1e-3) -> float:
        """The smallest separation at which sitting on one mode beats the symmetric fit."""
        better = self.separations[self.centre[2] > self.seek[2] + tol]
        if better.numel() == 0:
            raise ValueError("the mode-seeking fit never beats the symmetric one on these separations")
        return better.min().item()


def separation_fits(separations=None, steps: int = 300, lr: float = 0.2,
                    device: torch.device | str | None = None) -> ReverseFits:
    """Fit N(μ, σ²) to ½N(−d/2, 1) + ½N(d/2, 1) by forward and by reverse KL, for every ``d``.

    The fits run on ``device`` (default: ``separations``' device, else the CPU), on the grid ``XS`` moved there.
    """
    seps = torch.linspace(0, 8, 17, dtype=torch.float64, device=device) if separations is None else separations.to(device)
    xs = XS.to(seps.device)
    log_p = torch.stack([D.bimodal(d).log_prob(xs) for d in seps])
    wide = (1 + seps**2 / 4).sqrt()  # the standard deviation of p
    return ReverseFits(
        separations=seps,
        forward=D.fit_normal_1d(log_p, xs, "forward", 0.5, 1.0, steps=steps, lr=lr),
        seek=D.fit_normal_1d(log_p, xs, "reverse", seps / 2, 1.0, steps=steps, lr=lr),
        centre=D.fit_normal_1d(log_p, xs, "reverse", 0.0, wide, steps=steps, lr=lr),
    )


def fit_diagonal_by_mle(x_train, x_test, p_data, steps: int = 300, lr: float = 0.05, progress: bool = True):
    """The chapter's maximum-likelihood demo (the same code the notebook shows).

    Fits :class:`~gencore.divergences.DiagonalNormal` to ``x_train`` by minimizing the average
    negative log-likelihood, tracking the held-out NLL and ``H(p) + KL(p‖q_θ)`` in closed form.
    ``p_data`` is a ``MultivariateNormal``. Returns ``(model, history)``.
    """
    model = D.DiagonalNormal(x_train.shape[-1], dtype=x_train.dtype).to(x_train.device)
    mean, cov = p_data.loc, p_data.covariance_matrix

    def tracked(step):
        kl_now = D.kl_mvn(mean, cov, model.mu, model.covariance())
        return {"held-out NLL": -model.log_prob(x_test).mean(), "H(p) + KL(p‖q)": p_data.entropy() + kl_now}

    history = fit(lambda step: -model.log_prob(x_train).mean(), model, steps=steps, lr=lr,
                  metric_fn=tracked, metric_every=10, desc="maximum likelihood", progress=progress)
    return model, history


def fit_factorized_by_descent(mean: torch.Tensor, cov: torch.Tensor, direction: str, steps: int = 400,
                              lr: float = 0.05) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fit a diagonal Gaussian to ``N(mean, cov)`` by Adam on the closed-form KL (eq-kl-mvn), from ``N(0, I)``.

    ``direction="forward"`` minimizes KL(p‖q), ``"reverse"`` KL(q‖p); no closed-form optimum is
    used, so the result checks :func:`gencore.divergences.factorized_fit`. Returns
    ``(mu, variances, kl)``: ``(D,)``, ``(D,)`` and the divergence reached.
    """
    model = D.DiagonalNormal(mean.shape[-1], dtype=mean.dtype).to(mean.device)

    def kl():
        if direction == "forward":
            return D.kl_mvn(mean, cov, model.mu, model.covariance())
        return D.kl_mvn(model.mu, model.covariance(), mean, cov)

    fit(lambda step: kl(), model, steps=steps, lr=lr, progress=False)
    with torch.no_grad():
        return model.mu.detach(), model.sigma.detach() ** 2, kl()


def _cell_masses(mu, xs: torch.Tensor = XS) -> torch.Tensor:
    """N(mu, 1) as probabilities of the cells of ``xs`` (renormalized midpoint masses)."""
    m = normal_log_prob(mu, 1.0, xs).exp()
    return m / m.sum()


def jsd_normal_shift(shifts: torch.Tensor) -> torch.Tensor:
    """JSD between N(0, 1) and N(d, 1) for each shift d, from their cell masses on XS (on ``shifts``' device)."""
    xs = XS.to(shifts.device)
    p = _cell_masses(0.0, xs)
    return torch.stack([D.js_divergence(p, _cell_masses(d, xs)) for d in shifts])


def jsd_versus_kl(shifts=None, device: torch.device | str | None = None):
    """KL and JSD between N(0, 1) and N(d, 1) as d grows: ``(shifts, kl, jsd)``, each ``(S,)``, on ``device``."""
    shifts = torch.linspace(0, 8, 81, dtype=torch.float64, device=device) if shifts is None else shifts.to(device)
    return shifts, D.kl_normal(0.0, 1.0, shifts, 1.0), jsd_normal_shift(shifts)


def gallery_sampler(train: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Chapter 1 for chapter 0's gallery: the maximum-likelihood Gaussian (mean and covariance of ``train``), sampled."""
    mean, cov = train.mean(0), torch.cov(train.T)
    eps = noise((n, 2), train, generator)  # drawn on the generator's device, then moved to train's
    return mean + eps @ torch.linalg.cholesky(cov).T
