r"""Chapter 4, continued: the Dirac GAN's dynamics and W1 between the chapter's two rings.

The Dirac GAN (Mescheder, Geiger, Nowozin 2018) is the smallest GAN that oscillates: data at
the point 0, a generator that is the point :math:`\theta`, a linear discriminator with logit
:math:`a(x) = \psi x`. The value is :math:`V(\theta, \psi) = f(\psi\theta) + f(0)` with
:math:`f(t) = t` (the bilinear game, a WGAN with a linear critic) or
:math:`f(t) = \log\sigma(t)` (the GAN's non-saturating form of the same game); the generator
descends and the discriminator ascends. One step of gradient descent-ascent with step ``h`` is
a map of :math:`(\theta, \psi)`; its Jacobian's eigenvalues say whether the iterates spiral out
(:math:`|\lambda| > 1`), circle (:math:`|\lambda| = 1`) or converge.

The second half bounds :math:`W_1` between two rings of eight Gaussians (the radius sweep of
the chapter) from both sides: below by the 1D :math:`W_1` of the distance from the centre
(each ring's radius has a Rice distribution), above by moving every mode straight outwards.

Book: ``book/04_gan.ipynb`` (``eq-dirac-simultaneous``, ``eq-dirac-alternating``, ``eq-gan-w1-bounds``).

References:
    Mescheder, Geiger, Nowozin (2018), Which training methods for GANs do actually converge? ICML.
    Arjovsky, Chintala, Bottou (2017), Wasserstein GAN. ICML.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .tensors import one_of, positive, positive_int, validate

__all__ = ["SCHEMES", "GAMES", "dirac_step", "dirac_trajectory", "dirac_flow", "dirac_jacobian",
           "dirac_eigenvalues", "rice_log_prob", "radial_w1", "ring_w1_bounds"]

SCHEMES = ("simultaneous", "alternating")
GAMES = ("bilinear", "gan")


def _fprime(t: torch.Tensor, game: str) -> torch.Tensor:
    """f'(t): 1 for the bilinear game, σ(−t) = d log σ(t)/dt for the GAN."""
    return torch.ones_like(t) if game == "bilinear" else torch.sigmoid(-t)


def dirac_step(state: torch.Tensor, h: float, scheme: str = "simultaneous", game: str = "bilinear") -> torch.Tensor:
    r"""One gradient descent-ascent step of the Dirac GAN, ``state = (θ, ψ)`` of shape ``(..., 2)``.

    :math:`\partial V/\partial\theta = \psi f'(\psi\theta)` and
    :math:`\partial V/\partial\psi = \theta f'(\psi\theta)`. ``"simultaneous"``: both players use
    the old state, :math:`\theta' = \theta - h\,\partial_\theta V`,
    :math:`\psi' = \psi + h\,\partial_\psi V`. ``"alternating"``: the generator moves first and
    the discriminator answers the new :math:`\theta'`.

    Example:
        >>> dirac_step(torch.tensor([1.0, 0.0]), 0.5).tolist()
        [1.0, 0.5]

    Book: ``eq-dirac-simultaneous``, ``eq-dirac-alternating``.
    """
    validate("state", state, min_ndim=1, last_dim=2)
    positive("h", h)
    one_of("scheme", scheme, SCHEMES)
    one_of("game", game, GAMES)
    theta, psi = state[..., 0], state[..., 1]
    theta_new = theta - h * psi * _fprime(psi * theta, game)
    src = theta if scheme == "simultaneous" else theta_new
    psi_new = psi + h * src * _fprime(psi * src, game)
    return torch.stack((theta_new, psi_new), -1)


def dirac_trajectory(start: torch.Tensor, h: float, steps: int, scheme: str = "simultaneous",
                     game: str = "bilinear") -> torch.Tensor:
    """The iterates ``(steps + 1, 2)`` of :func:`dirac_step` from ``start`` ``(2,)``."""
    validate("start", start, ndim=1, last_dim=2)
    positive_int("steps", steps)
    out = [start]
    for _ in range(steps):
        out.append(dirac_step(out[-1], h, scheme, game))
    return torch.stack(out)


def dirac_flow(start: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    r"""The continuous dynamics of the bilinear game, :math:`\dot\theta = -\psi`, :math:`\dot\psi = \theta`,
    solved exactly: a rotation by angle ``t``, ``(len(times), 2)``. The radius never changes."""
    validate("start", start, ndim=1, last_dim=2)
    validate("times", times, ndim=1)
    c, s = times.cos(), times.sin()
    return torch.stack((c * start[0] - s * start[1], s * start[0] + c * start[1]), -1)


def dirac_jacobian(h: float, scheme: str = "simultaneous", game: str = "bilinear",
                   at: torch.Tensor | None = None) -> torch.Tensor:
    """The ``(2, 2)`` Jacobian of :func:`dirac_step` at ``at`` (the equilibrium 0 when ``None``), by autograd."""
    at = torch.zeros(2, dtype=torch.float64) if at is None else validate("at", at, ndim=1, last_dim=2)
    return torch.autograd.functional.jacobian(lambda s: dirac_step(s, h, scheme, game), at)


def dirac_eigenvalues(h, scheme: str = "simultaneous", game: str = "bilinear") -> torch.Tensor:
    r"""Closed-form eigenvalues (complex, ``(..., 2)``) of the step's Jacobian at the equilibrium.

    With :math:`c = f'(0)` (1 bilinear, ½ GAN) the Jacobian is
    :math:`\begin{psmallmatrix}1 & -hc\\ hc & 1\end{psmallmatrix}` for simultaneous steps, with
    eigenvalues :math:`1 \pm i\,hc` and modulus :math:`\sqrt{1 + h^2c^2} > 1`; for alternating
    steps it is :math:`\begin{psmallmatrix}1 & -hc\\ hc & 1 - h^2c^2\end{psmallmatrix}`, with
    determinant 1, trace :math:`2 - h^2c^2`, so for :math:`hc < 2` the eigenvalues are
    :math:`1 - h^2c^2/2 \pm i\,hc\sqrt{1 - h^2c^2/4}`, of modulus exactly 1.

    Book: ``eq-dirac-eigenvalues``.
    """
    positive("h", h)
    one_of("scheme", scheme, SCHEMES)
    one_of("game", game, GAMES)
    hc = torch.as_tensor(h, dtype=torch.float64) * (1.0 if game == "bilinear" else 0.5)
    trace = 2 - hc ** 2 if scheme == "alternating" else 2 + 0 * hc
    det = torch.ones_like(hc) if scheme == "alternating" else 1 + hc ** 2
    root = torch.sqrt((trace ** 2 - 4 * det).to(torch.complex128))
    return torch.stack(((trace + root) / 2, (trace - root) / 2), -1)


# ----------------------------------------------------------------------------- W1 of rings
def rice_log_prob(t: torch.Tensor, nu: float, std: float) -> torch.Tensor:
    r"""Log-density of :math:`\|x\|` for :math:`x \sim N(m, \sigma^2 I_2)` with :math:`\|m\| = \nu` (Rice):
    :math:`\log t - 2\log\sigma - (t - \nu)^2/2\sigma^2 + \log I_0^{e}(t\nu/\sigma^2)`, ``-inf`` for ``t <= 0``."""
    validate("t", t)
    positive("nu", nu, allow_zero=True)
    positive("std", std)
    tp = t.clamp(min=1e-300)
    out = (tp.log() - 2 * math.log(std) - (tp - nu) ** 2 / (2 * std ** 2)
           + torch.special.i0e(tp * nu / std ** 2).log())
    return torch.where(t > 0, out, torch.full_like(out, -math.inf))


def radial_w1(nu1: float, nu2: float, std: float, n: int = 20_001) -> torch.Tensor:
    r"""1D :math:`W_1` between the Rice laws of two radii: :math:`\int |F_1(t) - F_2(t)|\,dt`,
    the CDFs by cumulative trapezoid on a grid covering both (float64)."""
    positive("nu1", nu1, allow_zero=True)
    positive("nu2", nu2, allow_zero=True)
    positive("std", std)
    positive_int("n", n, minimum=3)
    t = torch.linspace(0.0, max(nu1, nu2) + 12 * std, n, dtype=torch.float64)
    cdfs = []
    for nu in (nu1, nu2):
        p = rice_log_prob(t, nu, std).exp()
        cdf = torch.cat((p.new_zeros(1), torch.cumsum((p[1:] + p[:-1]) / 2 * (t[1] - t[0]), 0)))
        cdfs.append(cdf / cdf[-1])
    gap = (cdfs[0] - cdfs[1]).abs()
    return ((gap[1:] + gap[:-1]) / 2 * (t[1] - t[0])).sum()


def ring_w1_bounds(radius: float, radius_data: float = 2.0, std: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(lower, upper)`` on :math:`W_1` between two rings of 8 Gaussians (same angles and ``std``).

    Upper: move each mode along its ray, a coupling of cost :math:`|r - r_{\text{data}}|`. Lower:
    any coupling of the points couples their distances from the centre at no more cost, since
    :math:`\|x - y\| \ge |\|x\| - \|y\||`, so :math:`W_1 \ge` :func:`radial_w1`.

    Book: ``eq-gan-w1-bounds``.
    """
    positive("radius", radius)
    positive("radius_data", radius_data)
    positive("std", std)
    return radial_w1(radius_data, radius, std), torch.tensor(abs(radius - radius_data), dtype=torch.float64)
