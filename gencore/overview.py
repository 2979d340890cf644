r"""Chapter 0 (overview): regression to the mean, a curve in the plane, and a generative classifier.

The mathematics of the map before the territory: why a deterministic predictor trained with
squared error cannot represent a multimodal target (it returns the conditional mean), how
data can occupy a one-dimensional curve inside the plane, and how a model of :math:`p(x, y)`
gives both :math:`p(y\mid x)` and new samples.

Book: ``book/00_overview.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from . import shifted_seed
from .tensors import positive, positive_int
from .train import fit

__all__ = ["conditional_mean", "bimodal_regression_data", "mse_decomposition", "mode_average",
           "BatchedMLP", "fit_mse_predictors", "distances_to_mean_and_branches", "spiral_curve", "local_pca_ratio",
           "ClassGaussians", "fit_class_gaussians", "class_posterior", "sample_class_gaussians"]


# ------------------------------------------------------------------ regression to the mean
def conditional_mean(x: torch.Tensor) -> torch.Tensor:
    r"""The centre curve :math:`m(x) = \tfrac12\sin 3x` of the two-branch target (same shape as ``x``)."""
    return 0.5 * torch.sin(3 * x)


def bimodal_regression_data(n: int, separation: float, noise: float = 0.05,
                            generator: torch.Generator | None = None,
                            dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pairs with a two-branch target: :math:`y = m(x) \pm \tfrac{d}{2} + \text{noise}`.

    :math:`x \sim U(-1, 1)`; the sign is a fair coin, so :math:`p(y\mid x)` has two modes at
    :math:`m(x) \pm d/2` (``d = separation``) and its mean is :math:`m(x)`, between them.

    Args:
        n: number of pairs.
        separation: :math:`d \ge 0`, the distance between the branches.
        noise: standard deviation of the Gaussian noise around each branch.
        generator: source of randomness. dtype: of the outputs (default: torch's default dtype).

    Returns:
        ``x`` and ``y``, each ``(n, 1)``.

    Book: ``eq-overview-bimodal``.
    """
    positive_int("n", n)
    positive("separation", separation, allow_zero=True)
    positive("noise", noise, allow_zero=True)
    dtype = dtype or torch.get_default_dtype()
    x = 2 * torch.rand(n, 1, generator=generator, dtype=dtype) - 1
    sign = 2 * torch.randint(0, 2, (n, 1), generator=generator).to(dtype) - 1
    y = conditional_mean(x) + sign * separation / 2 + noise * torch.randn(n, 1, generator=generator, dtype=dtype)
    return x, y


def mse_decomposition(y: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Both sides of :math:`\mathbb E(y - c)^2 = \mathrm{Var}\,y + (\mathbb E y - c)^2` over samples.

    Args:
        y: samples ``(N,)`` or ``(N, D)`` (summed over ``D``).
        c: a constant prediction, broadcastable against one sample.

    Returns:
        ``(lhs, rhs)``: the mean squared error, and the variance plus the squared bias
        (population variance, so the two agree to rounding).

    Book: ``eq-overview-mse``.
    """
    y = y.reshape(len(y), -1)
    c = torch.as_tensor(c, dtype=y.dtype, device=y.device).reshape(1, -1)
    lhs = ((y - c) ** 2).sum(-1).mean()
    mean = y.mean(0, keepdim=True)
    rhs = ((y - mean) ** 2).sum(-1).mean() + ((mean - c) ** 2).sum()
    return lhs, rhs


def mode_average(modes: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r"""The squared-error-optimal prediction for a target at mode :math:`k` with probability :math:`w_k`.

    It is the mean :math:`\sum_k w_k \mu_k`, which in general is none of the modes.

    Args:
        modes: ``(K, D)``. weights: ``(K,)``, non-negative, summing to one.

    Returns:
        ``(D,)``.

    Book: ``eq-overview-mse``.
    """
    if modes.ndim != 2 or weights.shape != modes.shape[:1]:
        raise ValueError(f"modes must be (K, D) and weights (K,); got {tuple(modes.shape)} and {tuple(weights.shape)}")
    positive("weights", weights, allow_zero=True)
    return weights.to(modes) @ modes


class BatchedMLP(nn.Module):
    r"""``S`` independent MLPs :math:`f_s:\mathbb R\to\mathbb R` evaluated in one batched computation.

    Weights are stacked along a leading model axis, so one ``bmm`` runs all of them: the chapter
    trains one predictor per separation at once.

    Args:
        n_models: ``S``. hidden: width of the two hidden layers. generator: for the initial weights.
    """

    def __init__(self, n_models: int, hidden: int = 32, generator: torch.Generator | None = None,
                 dtype: torch.dtype | None = None):
        super().__init__()
        positive_int("n_models", n_models)
        positive_int("hidden", hidden)
        dtype = dtype or torch.get_default_dtype()

        def init(fan_in, fan_out):
            w = torch.randn(n_models, fan_in, fan_out, generator=generator, dtype=dtype) / math.sqrt(fan_in)
            return nn.Parameter(w), nn.Parameter(torch.zeros(n_models, 1, fan_out, dtype=dtype))

        self.w1, self.b1 = init(1, hidden)
        self.w2, self.b2 = init(hidden, hidden)
        self.w3, self.b3 = init(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(S, N, 1)`` (or ``(N, 1)``, shared by all models) -> ``(S, N, 1)``."""
        if x.ndim == 2:
            x = x.expand(self.w1.shape[0], *x.shape)
        h = torch.tanh(torch.baddbmm(self.b1, x, self.w1))
        h = torch.tanh(torch.baddbmm(self.b2, h, self.w2))
        return torch.baddbmm(self.b3, h, self.w3)


def fit_mse_predictors(x: torch.Tensor, y: torch.Tensor, steps: int = 600, hidden: int = 32,
                       lr: float = 1e-2, seed: int = 0, progress: bool = True):
    r"""Fit one deterministic predictor per dataset by full-batch Adam on the squared error.

    Args:
        x, y: ``(S, N, 1)``, one regression dataset per model.
        steps, hidden, lr: of the training. seed: of the initial weights.
        progress: show :func:`gencore.train.fit`'s progress line.

    Returns:
        ``(model, history)`` with ``model`` a :class:`BatchedMLP` of ``S`` predictors.

    Book: ``eq-overview-mse``.
    """
    if x.ndim != 3 or y.shape != x.shape:
        raise ValueError(f"x and y must both be (S, N, 1); got {tuple(x.shape)} and {tuple(y.shape)}")
    g = torch.Generator().manual_seed(shifted_seed(seed))
    model = BatchedMLP(x.shape[0], hidden, g, x.dtype).to(x.device)

    def loss(step):
        # The sum over models of each model's mean squared error: the gradients do not mix.
        return ((model(x) - y) ** 2).mean(dim=(1, 2)).sum()

    hist = fit(loss, model, steps, lr=lr, desc="MSE predictors", progress=progress)
    return model.eval(), hist


def distances_to_mean_and_branches(fits: torch.Tensor, x: torch.Tensor, separations) -> tuple[torch.Tensor, torch.Tensor]:
    r"""RMS distances of predictors to the mean curve :math:`m(x)` and to the nearer branch :math:`m(x) \pm d/2`.

    Args:
        fits: ``(S, M)``, predictor ``s`` evaluated at the points ``x`` of shape ``(M,)``.
        separations: the ``S`` separations ``d``.

    Returns:
        ``(to_mean, to_branch)``, each ``(S,)``.

    Book: ``eq-overview-bimodal``.
    """
    d = torch.as_tensor(separations, dtype=fits.dtype, device=fits.device)[:, None] / 2
    off = fits - conditional_mean(x).reshape(1, -1)
    to_branch = torch.minimum((off - d).abs(), (off + d).abs())
    return off.pow(2).mean(-1).sqrt(), to_branch.pow(2).mean(-1).sqrt()


# ------------------------------------------------------------------ a curve in the plane
def spiral_curve(n: int, noise: float = 0.0, generator: torch.Generator | None = None,
                 dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""Points near one arm of a spiral: :math:`c(s) = r(s)(\cos\theta(s), \sin\theta(s))`, noised.

    :math:`s \sim U(0, 1)`, :math:`\theta = 3\pi s`, :math:`r = 0.5 + 2.5 s`; each point is moved
    by :math:`\mathcal N(0, \text{noise}^2 I)`. With ``noise = 0`` the data lie exactly on a
    one-dimensional curve: one number, :math:`s`, says where a point is.

    Returns:
        ``(n, 2)``.

    Book: ``eq-overview-curve``.
    """
    positive_int("n", n)
    positive("noise", noise, allow_zero=True)
    dtype = dtype or torch.get_default_dtype()
    s = torch.rand(n, generator=generator, dtype=dtype)
    theta, r = 3 * math.pi * s, 0.5 + 2.5 * s
    x = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], -1)
    return x + noise * torch.randn(n, 2, generator=generator, dtype=dtype)


def local_pca_ratio(x: torch.Tensor, k: int = 20) -> torch.Tensor:
    r"""Per point, the share of its neighbourhood's variance along the first principal direction.

    For each point, take its ``k`` nearest neighbours, their covariance's eigenvalues
    :math:`\lambda_1 \ge \lambda_2`, and return :math:`\lambda_1 / (\lambda_1 + \lambda_2)`: near 1
    where the data look locally like a line (intrinsic dimension 1), near 1/2 where they fill
    the plane.

    Args:
        x: ``(N, 2)`` points. k: neighbourhood size (``2 <= k <= N``).

    Returns:
        ``(N,)``.

    Book: ``eq-overview-curve``.
    """
    if x.ndim != 2:
        raise ValueError(f"x must be (N, D); got {tuple(x.shape)}")
    positive_int("k", k, minimum=2)
    if k > len(x):
        raise ValueError(f"k must be at most the number of points {len(x)}; got {k}")
    idx = torch.cdist(x, x).topk(k, largest=False).indices          # (N, k)
    nb = x[idx]                                                       # (N, k, D)
    nb = nb - nb.mean(1, keepdim=True)
    cov = nb.transpose(1, 2) @ nb / k                                 # (N, D, D)
    ev = torch.linalg.eigvalsh(cov)                                   # ascending
    return ev[:, -1] / ev.sum(-1).clamp_min(torch.finfo(x.dtype).tiny)


# ------------------------------------------------------------------ generative classifier
@dataclass(frozen=True)
class ClassGaussians:
    r"""A generative classifier :math:`p(x, y) = \pi_y\,\mathcal N(x; \mu_y, \Sigma_y)`.

    ``means`` ``(K, D)``, ``covs`` ``(K, D, D)``, ``priors`` ``(K,)``.
    """

    means: torch.Tensor
    covs: torch.Tensor
    priors: torch.Tensor

    def log_joint(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x, y)` for every class, ``(N, K)``."""
        dist = torch.distributions.MultivariateNormal(self.means, self.covs)
        return dist.log_prob(x[:, None, :]) + self.priors.log()


def fit_class_gaussians(x: torch.Tensor, y: torch.Tensor, n_classes: int | None = None) -> ClassGaussians:
    r"""Maximum-likelihood :math:`\pi_k, \mu_k, \Sigma_k` of each class (closed form).

    Args:
        x: ``(N, D)``. y: ``(N,)`` integer labels in ``0..K-1``.

    Book: ``eq-overview-bayes``.
    """
    if x.ndim != 2 or y.shape != x.shape[:1]:
        raise ValueError(f"x must be (N, D) and y (N,); got {tuple(x.shape)} and {tuple(y.shape)}")
    k = n_classes or int(y.max()) + 1
    means, covs, priors = [], [], []
    for c in range(k):
        xc = x[y == c]
        if len(xc) < 2:
            raise ValueError(f"y must hold at least two points of every class; class {c} has {len(xc)}")
        d = xc - xc.mean(0)
        means.append(xc.mean(0))
        covs.append(d.T @ d / len(xc))
        priors.append(len(xc) / len(x))
    return ClassGaussians(torch.stack(means), torch.stack(covs), torch.tensor(priors, dtype=x.dtype, device=x.device))


def class_posterior(model: ClassGaussians, x: torch.Tensor) -> torch.Tensor:
    r"""Bayes' rule :math:`p(y\mid x) = p(x, y) / \sum_{y'} p(x, y')`, ``(N, K)`` (in log space).

    Book: ``eq-overview-bayes``.
    """
    lj = model.log_joint(x)
    return (lj - lj.logsumexp(-1, keepdim=True)).exp()


def sample_class_gaussians(model: ClassGaussians, n: int,
                           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""New pairs :math:`y \sim \pi`, :math:`x \sim \mathcal N(\mu_y, \Sigma_y)`: ``x (n, D)``, ``y (n,)``.

    Book: ``eq-overview-bayes``.
    """
    positive_int("n", n)
    y = torch.multinomial(model.priors, n, replacement=True, generator=generator)
    chol = torch.linalg.cholesky(model.covs)[y]
    eps = torch.randn(n, model.means.shape[1], 1, generator=generator, dtype=model.means.dtype)
    return model.means[y] + (chol @ eps.to(chol.device))[..., 0], y
