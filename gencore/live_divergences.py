"""Chapter 1's live demo: the two KL integrands of a pair of Gaussians, computed in the browser.

The step is the chapter's own mathematics traced with μ and σ of q as inputs: the densities by
``torch.distributions.Normal`` (as the frames' slider draws them), both integrands, and both
divergences in closed form by :func:`gencore.divergences.kl_normal` (carried to the page as
constant columns).
"""
from __future__ import annotations

import torch
from torch import nn

from . import divergences as D
from . import live
from .tensors import in_range, positive_int

__all__ = ["GaussianPairStep", "gaussian_pair_live"]


class GaussianPairStep(nn.Module):
    r"""``forward(x (M, 2), mu, sigma)``: at the points ``x[:, 0]``, the columns
    :math:`p,\ q,\ p\log(p/q),\ q\log(q/p),\ \mathrm{KL}(p\|q),\ \mathrm{KL}(q\|p)` for
    :math:`p = \mathcal N(0, 1)` and :math:`q = \mathcal N(\mu, \sigma^2)`."""

    input_names = ("x", "mu", "sigma")

    def forward(self, x, mu, sigma):
        xs = x[:, 0]
        one, zero = torch.ones_like(mu), torch.zeros_like(mu)
        log_p = torch.distributions.Normal(zero, one, validate_args=False).log_prob(xs)
        log_q = torch.distributions.Normal(mu, sigma, validate_args=False).log_prob(xs)
        p, q = log_p.exp(), log_q.exp()
        fwd, rev = D.kl_normal(zero, one, mu, sigma), D.kl_normal(mu, sigma, zero, one)
        return torch.stack([p, q, p * (log_p - log_q), q * (log_q - log_p), fwd.expand_as(xs), rev.expand_as(xs)], -1)

    def example(self, n: int = 8) -> tuple:
        xs = torch.linspace(-3, 3, n)
        return (torch.stack([xs, torch.zeros_like(xs)], -1), torch.tensor(0.5), torch.tensor(1.5))


def gaussian_pair_live(fallback, colors: dict, m: int = 400) -> live.LiveDemo:
    """The Gaussian-pair slider live: any μ in [-3, 3] and σ in [0.3, 2.5] for q, ``m`` grid points
    on [-6, 6]. ``fallback``: the frames' slider; ``colors``: CSS colours of ``"p"`` and ``"q"``."""
    in_range("m", positive_int("m", m), 2, 5000)
    p, q = colors["p"], colors["q"]
    sliders = [live.Slider("mu", "μ of q", -3.0, 3.0, 0.01, 1.5), live.Slider("sigma", "σ of q", 0.3, 2.5, 0.01, 0.75)]
    panels = [
        {"extent": (-6, 6, 0, 0.85), "title": "densities", "curves": [
            {"col": 0, "color": p, "label": "p = N(0, 1)"}, {"col": 1, "color": q, "label": "q = N({mu}, {sigma}²)", "dash": True}]},
        {"extent": (-6, 6, -0.5, 2.5), "title": "KL(p‖q) = {c4:3} nats", "curves": [
            {"col": 2, "color": p, "label": "p log(p/q)", "fill": True}]},
        {"extent": (-6, 6, -0.5, 2.5), "title": "KL(q‖p) = {c5:3} nats", "curves": [
            {"col": 3, "color": q, "label": "q log(q/p)", "fill": True}]},
    ]
    alt = ("Live: left, p = N(0, 1) and q = N(μ, σ²) for the μ and σ you choose; middle and right, the integrands "
           "p log(p/q) and q log(q/p), whose shaded areas are the two divergences printed above them.")
    return live.curve_demo(fallback, GaussianPairStep(), sliders=sliders, grid=torch.linspace(-6, 6, m),
                           columns=6, panels=panels, alt=alt)
