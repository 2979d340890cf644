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

from .nn import StackedMLP
from . import tensors
from .quadrature import grid
from .tensors import function, positive, positive_int, probability_vector, same_length, validate
from .train import fit

__all__ = ["conditional_mean", "bimodal_regression_data", "mse_decomposition", "mode_average",
           "fit_mse_predictors", "distances_to_mean_and_branches", "spiral_curve", "local_pca_ratio",
           "ClassGaussians", "fit_class_gaussians", "class_posterior", "sample_class_gaussians",
           "fit_discriminative", "bayes_error"]


# ------------------------------------------------------------------ regression to the mean
def conditional_mean(x: torch.Tensor) -> torch.Tensor:
    r"""The centre curve :math:`m(x) = \tfrac12\sin 3x` of the two-branch target (same shape as ``x``, any rank)."""
    validate("x", x)
    return 0.5 * torch.sin(3 * x)


def bimodal_regression_data(n: int, separation: float, noise: float = 0.05,
                            generator: torch.Generator | None = None, dtype: torch.dtype | None = None,
                            device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pairs with a two-branch target: :math:`y = m(x) \pm \tfrac{d}{2} + \text{noise}`.

    :math:`x \sim U(-1, 1)`; the sign is a fair coin, so :math:`p(y\mid x)` has two modes at
    :math:`m(x) \pm d/2` (``d = separation``) and its mean is :math:`m(x)`, between them.

    Args:
        n: number of pairs.
        separation: :math:`d \ge 0`, the distance between the branches.
        noise: standard deviation of the Gaussian noise around each branch.
        generator: source of randomness. dtype, device: of the outputs (torch's default dtype, the CPU).

    Returns:
        ``x`` and ``y``, each ``(n, 1)``.

    Book: ``eq-overview-bimodal``.
    """
    positive_int("n", n)
    positive("separation", separation, allow_zero=True)
    positive("noise", noise, allow_zero=True)
    like = torch.empty(0, dtype=dtype or torch.get_default_dtype(), device=device)
    x = 2 * tensors.uniform((n, 1), like, generator) - 1
    sign = 2 * (tensors.uniform((n, 1), like, generator) < 0.5).to(like.dtype) - 1   # a fair coin per pair
    y = conditional_mean(x) + sign * separation / 2 + noise * tensors.noise((n, 1), like, generator)
    return x, y


def mse_decomposition(y: torch.Tensor, c) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Both sides of :math:`\mathbb E(y - c)^2 = \mathrm{Var}\,y + (\mathbb E y - c)^2` over samples.

    Args:
        y: samples ``(N,)`` or ``(N, D)`` (summed over ``D``).
        c: a constant prediction: a number, or a tensor ``()`` or ``(D,)``.

    Returns:
        ``(lhs, rhs)``: the mean squared error, and the variance plus the squared bias
        (population variance, so the two agree to rounding).

    Book: ``eq-overview-mse``.
    """
    validate("y", y, min_ndim=1)
    if y.ndim > 2:
        raise ValueError(f"y must be (N,) or (N, D); got shape {tuple(y.shape)}")
    y = y.reshape(len(y), -1)
    c = validate("c", torch.as_tensor(c, dtype=y.dtype, device=y.device) if not isinstance(c, torch.Tensor) else c)
    if c.ndim > 1 or c.numel() not in (1, y.shape[1]):
        raise ValueError(f"c must be a number or have shape ({y.shape[1]},) like one sample of y; got {tuple(c.shape)}")
    c = c.to(y).reshape(1, -1)
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
    validate("modes", modes, ndim=2)
    validate("weights", weights, ndim=1)
    same_length(("modes", "weights"), modes, weights)
    probability_vector("weights", weights)
    return weights.to(modes) @ modes


def fit_mse_predictors(x: torch.Tensor, y: torch.Tensor, steps: int = 600, hidden: int = 32,
                       lr: float = 1e-2, generator: torch.Generator | None = None, progress: bool = True):
    r"""Fit one deterministic predictor per dataset by full-batch Adam on the squared error.

    The ``S`` predictors are one :class:`gencore.nn.StackedMLP` (sizes ``(1, hidden, hidden, 1)``,
    tanh): one batched computation trains all of them, and the loss of one never moves another.
    Their weights start LeCun-normal, :math:`\mathcal N(0, 1/d_{in})`, with zero biases (drawn from
    ``generator``).

    Args:
        x, y: ``(S, N, 1)``, one regression dataset per model.
        steps, hidden, lr: of the training. generator: draws the initial weights.
        progress: show :func:`gencore.train.fit`'s progress line.

    Returns:
        ``(model, history)`` with ``model`` mapping ``(S, N, 1)`` (or ``(N, 1)``, shared) to ``(S, N, 1)``.

    Book: ``eq-overview-mse``.
    """
    validate("x", x, ndim=3, last_dim=1)
    validate("y", y, ndim=3, last_dim=1)
    if y.shape != x.shape:
        raise ValueError(f"x and y must both be (S, N, 1) of the same shape; got {tuple(x.shape)} and {tuple(y.shape)}")
    positive_int("steps", steps)
    positive_int("hidden", hidden)
    positive("lr", lr)
    # built from a throwaway generator (its weights are redrawn below), so torch's global one is untouched
    model = StackedMLP(x.shape[0], (1, hidden, hidden, 1), "tanh", generator=torch.Generator(), dtype=x.dtype,
                       device=x.device)
    with torch.no_grad():  # LeCun-normal weights, zero biases: the tanh nets reach the mean within the budget
        for w, b in zip(model.weights, model.biases):
            w.copy_(tensors.noise(w.shape, w, generator) / math.sqrt(w.shape[1]))
            b.zero_()

    def loss(step):
        # The sum over models of each model's mean squared error: the gradients do not mix.
        return ((model(x) - y) ** 2).mean(dim=(1, 2)).sum()

    hist = fit(loss, model, steps, lr=lr, desc="MSE predictors", progress=progress)
    return model.eval(), hist


def distances_to_mean_and_branches(fits: torch.Tensor, x: torch.Tensor, separations) -> tuple[torch.Tensor, torch.Tensor]:
    r"""RMS distances of predictors to the mean curve :math:`m(x)` and to the nearer branch :math:`m(x) \pm d/2`.

    Args:
        fits: ``(S, M)``, predictor ``s`` evaluated at the points ``x`` of shape ``(M,)``.
        separations: the ``S`` separations ``d >= 0`` (a sequence or an ``(S,)`` tensor).

    Returns:
        ``(to_mean, to_branch)``, each ``(S,)``.

    Book: ``eq-overview-bimodal``.
    """
    validate("fits", fits, ndim=2)
    validate("x", x, ndim=1)
    if x.shape[0] != fits.shape[1]:
        raise ValueError(f"x must hold the {fits.shape[1]} points fits is evaluated at; got shape {tuple(x.shape)}")
    d = separations if isinstance(separations, torch.Tensor) else torch.as_tensor(separations, dtype=fits.dtype)
    validate("separations", d, ndim=1)
    positive("separations", d, allow_zero=True)
    same_length(("fits", "separations"), fits, d)
    d = d.to(fits)[:, None] / 2
    off = fits - conditional_mean(x).reshape(1, -1)
    to_branch = torch.minimum((off - d).abs(), (off + d).abs())
    return off.pow(2).mean(-1).sqrt(), to_branch.pow(2).mean(-1).sqrt()


# ------------------------------------------------------------------ a curve in the plane
def spiral_curve(n: int, noise: float = 0.0, generator: torch.Generator | None = None,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    r"""Points near one arm of a spiral: :math:`c(s) = r(s)(\cos\theta(s), \sin\theta(s))`, noised.

    :math:`s \sim U(0, 1)`, :math:`\theta = 3\pi s`, :math:`r = 0.5 + 2.5 s`; each point is moved
    by :math:`\mathcal N(0, \text{noise}^2 I)`. With ``noise = 0`` the data lie exactly on a
    one-dimensional curve: one number, :math:`s`, says where a point is.

    Args:
        n: number of points. noise: the standard deviation around the curve (>= 0).
        generator: source of randomness. dtype, device: of the points (torch's default dtype, the CPU).

    Returns:
        ``(n, 2)``.

    Book: ``eq-overview-curve``.
    """
    positive_int("n", n)
    positive("noise", noise, allow_zero=True)
    like = torch.empty(0, dtype=dtype or torch.get_default_dtype(), device=device)
    s = tensors.uniform((n,), like, generator)
    theta, r = 3 * math.pi * s, 0.5 + 2.5 * s
    x = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], -1)
    return x + noise * tensors.noise((n, 2), like, generator)


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
    validate("x", x, ndim=2)
    positive_int("k", k, minimum=2)
    if k > len(x):
        raise ValueError(f"k must be at most the number of points {len(x)}; got {k}")
    idx = torch.cdist(x, x).topk(k, largest=False).indices          # (N, k)
    nb = x[idx]                                                       # (N, k, D)
    nb = nb - nb.mean(1, keepdim=True)
    cov = nb.transpose(1, 2) @ nb / k                                 # (N, D, D)
    ev = torch.linalg.eigvalsh(cov)                                   # ascending
    return ev[:, -1] / ev.sum(-1).clamp_min(torch.finfo(ev.dtype).tiny)


# ------------------------------------------------------------------ generative classifier
@dataclass(frozen=True)
class ClassGaussians:
    r"""A generative classifier :math:`p(x, y) = \pi_y\,\mathcal N(x; \mu_y, \Sigma_y)`.

    ``means`` ``(K, D)``, ``covs`` ``(K, D, D)`` symmetric positive definite, ``priors`` ``(K,)``
    a probability vector.

    Example:
        >>> model = ClassGaussians(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]), torch.eye(2).expand(2, 2, 2),
        ...                        torch.tensor([0.5, 0.5]))
        >>> class_posterior(model, torch.tensor([[0.0, 0.0], [3.0, 0.0]])).round(decimals=3)
        tensor([[0.5000, 0.5000],
                [0.0020, 0.9980]])

    Book: ``eq-overview-bayes``.
    """

    means: torch.Tensor
    covs: torch.Tensor
    priors: torch.Tensor

    def __post_init__(self):
        validate("means", self.means, ndim=2)
        validate("covs", self.covs, ndim=3)
        validate("priors", self.priors, ndim=1)
        k, d = self.means.shape
        if self.covs.shape != (k, d, d):
            raise ValueError(f"covs must be ({k}, {d}, {d}) to match means {tuple(self.means.shape)}; "
                             f"got {tuple(self.covs.shape)}")
        same_length(("means", "priors"), self.means, self.priors)
        probability_vector("priors", self.priors)
        if self.covs.device.type != "meta" and bool((torch.linalg.cholesky_ex(self.covs).info != 0).any()):
            raise ValueError("covs must be symmetric positive definite")

    def log_joint(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x, y)` for every class, ``(N, K)``."""
        validate("x", x, ndim=2, last_dim=self.means.shape[1])
        dist = torch.distributions.MultivariateNormal(self.means, self.covs, validate_args=False)
        return dist.log_prob(x[:, None, :]) + self.priors.log()


def fit_class_gaussians(x: torch.Tensor, y: torch.Tensor, n_classes: int | None = None) -> ClassGaussians:
    r"""Maximum-likelihood :math:`\pi_k, \mu_k, \Sigma_k` of each class (closed form).

    Args:
        x: ``(N, D)``. y: ``(N,)`` integer labels in ``0..K-1``. n_classes: ``K`` (``max(y) + 1`` if ``None``).

    Book: ``eq-overview-bayes``.
    """
    validate("x", x, ndim=2)
    validate("y", y, ndim=1, floating=False)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer labels; got {y.dtype}")
    same_length(("x", "y"), x, y)
    if bool((y < 0).any()):
        raise ValueError("y must hold labels in 0..K-1; got a negative label")
    k = int(y.max()) + 1 if n_classes is None else positive_int("n_classes", n_classes)
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

    Args:
        model: the classifier. x: ``(N, D)`` points.

    Book: ``eq-overview-bayes``.
    """
    lj = model.log_joint(x)
    return (lj - lj.logsumexp(-1, keepdim=True)).exp()


def sample_class_gaussians(model: ClassGaussians, n: int,
                           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""New pairs :math:`y \sim \pi`, :math:`x \sim \mathcal N(\mu_y, \Sigma_y)`: ``x (n, D)``, ``y (n,)``.

    Drawn from ``generator`` on its device; the samples live on the model's device.

    Book: ``eq-overview-bayes``.
    """
    if not isinstance(model, ClassGaussians):
        raise TypeError(f"model must be a ClassGaussians; got {type(model).__name__}")
    positive_int("n", n)
    priors = model.priors.to(tensors.rng_device(generator, model.priors))
    y = torch.multinomial(priors, n, replacement=True, generator=generator).to(model.means.device)
    chol = torch.linalg.cholesky(model.covs)[y]
    eps = tensors.noise((n, model.means.shape[1], 1), model.means, generator)
    return model.means[y] + (chol @ eps)[..., 0], y


# ------------------------------------------------------------------ discriminative classifier
def fit_discriminative(x: torch.Tensor, y: torch.Tensor, n_classes: int = 2, hidden: int = 16, steps: int = 300,
                       lr: float = 3e-2, generator: torch.Generator | None = None, progress: bool = True):
    r"""Fit :math:`p(y\mid x) = \mathrm{softmax}(f_\theta(x))_y` by full-batch Adam on the cross-entropy.

    Only the conditional is modelled: nothing is assumed about how the examples :math:`x` are
    distributed. ``f`` is a one-hidden-layer tanh network, one per dataset, all ``S`` of them one
    :class:`gencore.nn.StackedMLP` (sizes ``(D, hidden, K)``), trained together without mixing:
    the loss is the sum of each dataset's mean :math:`-\log p_\theta(y_i \mid x_i)`. Weights start
    :math:`\mathcal N(0, 1/d_{in})` (drawn from ``generator``), biases at zero.

    Args:
        x: ``(S, N, D)``, one training set per model. y: ``(S, N)`` integer labels in ``0..K-1``.
        n_classes: ``K``. steps, hidden, lr: of the training. progress: show the progress line.

    Returns:
        ``(model, history)``; ``model`` maps ``(S, M, D)`` (or ``(M, D)``, shared) to the logits
        ``(S, M, K)``, whose softmax is :math:`p_\theta(y\mid x)`.

    Book: ``eq-overview-discriminative``.
    """
    validate("x", x, ndim=3)
    validate("y", y, ndim=2, floating=False)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer labels; got {y.dtype}")
    if y.shape != x.shape[:2]:
        raise ValueError(f"y must be (S, N) = {tuple(x.shape[:2])} like x's first two axes; got {tuple(y.shape)}")
    k = positive_int("n_classes", n_classes, minimum=2)
    if bool((y < 0).any()) or bool((y >= k).any()):
        raise ValueError(f"y must hold labels in 0..{k - 1}")
    positive_int("hidden", hidden)
    positive_int("steps", steps)
    positive("lr", lr)
    model = StackedMLP(x.shape[0], (x.shape[2], hidden, k), "tanh", generator=torch.Generator(), dtype=x.dtype,
                       device=x.device)
    with torch.no_grad():  # redrawn from `generator`, so torch's global generator is untouched
        for w, b in zip(model.weights, model.biases):
            w.copy_(tensors.noise(w.shape, w, generator) / math.sqrt(w.shape[1]))
            b.zero_()
    target = y.long()

    def loss(step):
        logp = model(x).log_softmax(-1)                              # (S, N, K)
        return -logp.gather(-1, target[..., None]).mean(dim=(1, 2)).sum()

    hist = fit(loss, model, steps, lr=lr, desc="discriminative classifiers", progress=progress)
    return model.eval(), hist


def bayes_error(log_joint, extent, resolution: int = 400, dtype: torch.dtype = torch.float64,
                device: torch.device | str | None = None) -> tuple[float, float]:
    r"""The Bayes error :math:`1 - \int \max_y p(x, y)\,dx` of a known 2D joint, by the midpoint rule.

    The lowest error any classifier can have: the Bayes-optimal rule picks :math:`\arg\max_y
    p(x, y)` and errs on the rest of the mass at each :math:`x`.

    Args:
        log_joint: maps points ``(N, 2)`` to :math:`\log p(x, y)` for every class, ``(N, K)``.
        extent: ``(xmin, xmax, ymin, ymax)``, the box integrated over. resolution: cells per side.

    Returns:
        ``(error, outside)``: the error computed on the box, and the joint's mass the box missed,
        :math:`1 - \int_{\text{box}} \sum_y p(x, y)\,dx`, which bounds the error made by truncating.

    Book: ``eq-overview-bayes-error``.
    """
    function("log_joint", log_joint, "(N, 2) points to (N, K) log-joint values")
    positive_int("resolution", resolution, minimum=2)
    points, area = grid(extent, resolution, dtype=dtype, device=device)
    with torch.no_grad():
        lj = log_joint(points)
    validate("log_joint(points)", lj, ndim=2, finite=False)
    if lj.shape[0] != len(points) or bool(lj.isnan().any()) or bool((lj == math.inf).any()):
        raise ValueError(f"log_joint must map ({len(points)}, 2) points to ({len(points)}, K) log-values, no NaN or +inf")
    best = float(lj.max(-1).values.exp().sum()) * area
    total = float(lj.exp().sum()) * area
    return 1.0 - best - (1.0 - total), 1.0 - total
