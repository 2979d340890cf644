"""Figures, training runs and slider demos of chapter 3 (VAEs and the ELBO), built on ``gencore.vae``.

Book: ``book/03_vae.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import contourpy  # matplotlib's own contouring library
import torch

from .. import shifted_seed
from .. import divergences as D
from .. import metrics, viz, widgets
from .. import vae as V
from ..train import History, fit

__all__ = [
    "EXTENT", "regression_to_the_mean", "mean_figure", "linear_gaussian", "gap_table",
    "elbo_gap_slider", "ToyRun", "train_toy", "toy_loss", "latent_figure", "reconstruction_figure",
    "likelihood_table", "traversal_slider", "beta_slider", "decoder_variance_identity",
]

EXTENT = (-3.0, 3.0, -2.0, 2.0)  # data-space box of the moons figures
ZEXT = (-3.0, 3.0, -3.0, 3.0)    # latent-space box


# --------------------------------------------------------------------- 1. regression to the mean
def regression_to_the_mean(n: int = 2000, steps: int = 250, generator: torch.Generator | None = None,
                           dtype: torch.dtype = torch.float32):
    r"""Fit an MLP u -> y by MSE to targets :math:`y = \pm(1 + u/4) + 0.05\,\xi`, a fair coin per point.

    :math:`u \sim U(-2, 2)` and :math:`\xi \sim \mathcal N(0, 1)`, so :math:`\mathbb E[y \mid u] = 0`
    while every target lies at distance at least :math:`1 + u/4 \ge 1/2` from 0 (up to the noise).

    Returns ``(u, y, grid, prediction)``: the data, a grid of ``u`` and the fitted curve there.

    Book: ``prop-overview-mse`` (chapter 0), applied in chapter 3.
    """
    g = generator if generator is not None else torch.Generator().manual_seed(shifted_seed(0))
    u = torch.rand(n, 1, generator=g, dtype=dtype) * 4 - 2
    sign = torch.randint(0, 2, (n, 1), generator=g).to(u) * 2 - 1
    y = sign * (1.0 + 0.25 * u) + 0.05 * torch.randn(n, 1, generator=g, dtype=u.dtype)
    net = V.StackedMLP(1, (1, 16, 16, 1), generator=g, dtype=dtype)
    fit(lambda step: ((net(u)[0] - y) ** 2).mean(), net, steps, lr=2e-2, progress=False)
    grid = torch.linspace(-2, 2, 201, dtype=u.dtype)[:, None]
    with torch.no_grad():
        pred = net(grid)[0]
    return u[:, 0], y[:, 0], grid[:, 0], pred[:, 0]


def mean_figure(u, y, grid, pred):
    fig, ax = viz.figure(1, width=5.6, height=3.2)
    viz.samples(ax, torch.stack([u, y], -1), color=viz.COLORS["p"], size=6, alpha=0.5, label="training pairs (u, y)")
    viz.curve(ax, grid, pred, role="q", label="MLP trained with MSE")
    viz.curve(ax, grid, torch.zeros_like(grid), role="grey", ls=":", lw=1.2, label="E[y | u] = 0")
    ax.set_aspect("auto")
    ax.set_xlabel("input u")
    ax.set_ylabel("target y")
    ax.set_ylim(-2, 2)
    ax.legend(loc="upper left", fontsize=8, ncols=3)
    viz.panel_title(ax, "a deterministic map fitted by MSE predicts the mean, where no target lies")
    return fig


# --------------------------------------------------------------------- 2. the linear Gaussian model
def linear_gaussian(dtype=torch.float64) -> V.LinearGaussian:
    """The chapter's tractable model: x in R², z in R¹, W = (1.5, 0.8)ᵀ, b = (0.5, −0.3), s = 0.5."""
    W = torch.tensor([[1.5], [0.8]], dtype=dtype)
    return V.LinearGaussian(W, torch.tensor([0.5, -0.3], dtype=dtype), 0.5)


def gap_table(lg: V.LinearGaussian, x0: torch.Tensor, shifts, ratios):
    """ELBO and KL(q‖p(z|x0)) for q = N(m* + Δ·s*, (r·s*)²) over a grid of shifts Δ and ratios r.

    Returns ``(elbo, kl, log_px)`` with ``elbo`` and ``kl`` of shape ``(len(shifts), len(ratios))``.
    """
    post = lg.posterior(x0)
    m, s = post.mean[0], post.stddev[0]
    dm = torch.as_tensor(shifts, dtype=x0.dtype)[:, None, None]
    r = torch.as_tensor(ratios, dtype=x0.dtype)[None, :, None]
    mu, sigma = m + dm * s, (r * s).expand(len(shifts), len(ratios), 1)
    mu = mu.expand_as(sigma)
    elbo = lg.elbo_exact(x0.expand(mu.shape[:-1] + (2,)), mu, sigma)
    kl = D.kl_normal(mu, sigma, m, s).sum(-1)
    return elbo, kl, lg.log_marginal(x0)


def elbo_gap_slider(lg: V.LinearGaussian, x0: torch.Tensor, shifts=None, ratios=None) -> widgets.SliderDemo:
    """Sliders move q's mean and width away from the exact posterior p(z|x0): ELBO + KL = log p(x0)."""
    shifts = (-2.0, -1.0, 0.0, 1.0, 2.0) if shifts is None else tuple(shifts)
    ratios = (0.25, 0.5, 1.0, 2.0, 4.0) if ratios is None else tuple(ratios)
    elbo, kl, log_px = gap_table(lg, x0, shifts, ratios)
    fine_d = torch.linspace(-2.2, 2.2, 89, dtype=x0.dtype)
    fine_r = torch.logspace(math.log10(0.2), math.log10(5.0), 81, dtype=x0.dtype)
    _, kl_fine, _ = gap_table(lg, x0, fine_d, fine_r)
    img = kl_fine.T.numpy()
    log2_r = torch.log2(fine_r).numpy()
    # contour lines computed once (not per frame), in (shift, log2 ratio) coordinates
    levels = (0.1, 0.5, 1.0, 2.0)
    cgen = contourpy.contour_generator(fine_d.numpy(), log2_r, img)
    contours = [line for level in levels for line in cgen.lines(level)]
    box = (fine_d[0].item(), fine_d[-1].item(), float(log2_r[0]), float(log2_r[-1]))
    post = lg.posterior(x0)
    m, s = post.mean[0, 0].item(), post.stddev[0, 0].item()
    zs = torch.linspace(m - 6, m + 6, 400, dtype=x0.dtype)
    lpx = log_px.item()
    def draw(fig, shift, ratio):
        i, j = shifts.index(shift), ratios.index(ratio)
        ax1, ax2, ax3 = widgets.panels(fig, 3, gridspec_kw={"width_ratios": [1.4, 0.9, 1.2]})
        mq, sq = m + shift * s, ratio * s
        viz.curve(ax1, zs, torch.distributions.Normal(m, s).log_prob(zs).exp(), role="p", label="p(z | x₀), exact")
        viz.curve(ax1, zs, torch.distributions.Normal(mq, sq).log_prob(zs).exp(), role="q", label="q(z)")
        viz.curve(ax1, zs, torch.distributions.Normal(0.0, 1.0).log_prob(zs).exp(), role="grey", ls=":", lw=1.2,
                  label="prior p(z)")
        ax1.set_ylim(0, 2.0)
        ax1.set_xlim(zs[0].item(), zs[-1].item())
        ax1.set_xlabel("z")
        ax1.legend(loc="upper left", fontsize=8)
        viz.panel_title(ax1, f"q = N({mq:.2f}, {sq:.2f}²)")
        e, k = elbo[i, j].item(), kl[i, j].item()
        floor = -13.0
        ax2.bar([0], [e - floor], bottom=[floor], color=viz.COLORS["q"], width=0.6, label="ELBO")
        ax2.bar([0], [k], bottom=[e], color=viz.COLORS["q2"], width=0.6, label="KL(q ‖ p(z|x₀))")
        ax2.axhline(lpx, color=viz.COLORS["p"], lw=2, label="log p(x₀)")
        ax2.set_ylim(floor, 0)
        ax2.set_xlim(-0.8, 0.8)
        ax2.set_xticks([])
        ax2.set_ylabel("nats")
        ax2.legend(loc="upper left", fontsize=8)
        viz.panel_title(ax2, f"ELBO {e:.2f} + KL {k:.2f} = {e + k:.2f}")
        ax3.imshow(img, origin="lower", extent=box, aspect="auto", cmap=viz.DENSITY_CMAP, vmin=0, vmax=4,
                   interpolation="bilinear")
        for line in contours:
            ax3.plot(line[:, 0], line[:, 1], color="white", lw=0.7)
        ax3.plot([shift], [math.log2(ratio)], "o", color=viz.COLORS["q"], ms=8, mec="white")
        ax3.set_yticks([-2, -1, 0, 1, 2], ["¼", "½", "1", "2", "4"])
        ax3.set_xlabel("shift of q's mean (posterior std)")
        ax3.set_ylabel("q's std / posterior std")
        ax3.grid(False)
        viz.panel_title(ax3, "gap KL(q ‖ p(z|x₀)), 0 at the centre")

    return widgets.slider(draw, figsize=(11.0, 3.3),
                          shift=widgets.Param(shifts, "shift of q's mean", "{:+.1f}",
                                              start=shifts.index(1.0) if 1.0 in shifts else None),
                          ratio=widgets.Param(ratios, "q's std ratio", "{:g}",
                                              start=ratios.index(0.5) if 0.5 in ratios else None))


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
    z = V.reparameterize(mu, stochastic * sigma, 1, generator)[0]
    rec = model.decode(z).log_prob(x)
    kl = D.kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma)).sum(-1)
    return -(rec - betas.to(mu).view(-1, 1) * kl).mean(-1).sum()


def train_toy(x: torch.Tensor, betas, steps: int = 1200, lr: float = 3e-3, hidden: int = 32,
              generator: torch.Generator | None = None, progress: bool = True) -> ToyRun:
    """Train an autoencoder (``beta = 0``) and β-VAEs on ``x`` in one batched computation, full batch."""
    betas = torch.as_tensor(betas, dtype=x.dtype)
    model = V.VAE(len(betas), x.shape[-1], 2, hidden, generator=generator, dtype=x.dtype).to(x.device)
    hist = fit(lambda step: toy_loss(model, x, betas, generator), model, steps, lr=lr,
               desc=f"{len(betas)} models at once", progress=progress)
    model.requires_grad_(False)
    return ToyRun(model, betas, hist, x)


def latent_figure(run: ToyRun, x: torch.Tensor, vae_index: int, n: int = 2000, generator=None, metric=None):
    """Latent codes of the data and samples (z ~ N(0, I) decoded, plus decoder noise), for the autoencoder (0) and one VAE.

    ``metric(samples, x)`` scores the samples (default: sliced W2 with 256 directions drawn from
    ``generator``); pass the metric a floor was computed with to compare with that floor.

    Returns ``(fig, sw)`` with ``sw`` the score of the ``n`` samples against ``x`` per model name.
    """
    fig, axes = viz.figure(4, width=2.9, height=2.9)
    z_prior = torch.randn(1, n, 2, generator=generator, dtype=x.dtype)
    colour = x[:, 0].numpy()
    out = {}
    for col, (i, name) in enumerate(((0, "autoencoder"), (vae_index, "VAE (β = 1)"))):
        one = run.model.select(i)
        mu, _ = one.encode(x)
        ax = axes[2 * col]
        ax.scatter(mu[0, :, 0], mu[0, :, 1], c=colour, cmap="viridis", s=3, alpha=0.6, linewidths=0)
        t = torch.linspace(0, 2 * math.pi, 100)
        for r in (1, 2):
            ax.plot(r * t.cos(), r * t.sin(), color=viz.COLORS["grey"], lw=1, ls="--")
        lim = max(3.0, float(mu.abs().max()) * 1.05)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        viz.panel_title(ax, f"{name}: codes of the data")
        mean = one.decode_mean(z_prior)[0]
        xs = mean + one.scale[0] * torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
        sw = (float(metric(xs, x)) if metric is not None
              else metrics.sliced_wasserstein(xs, x, 256, generator=generator).item())
        out[name] = sw
        ax = axes[2 * col + 1]
        viz.samples(ax, x, color=viz.COLORS["p"], size=2, alpha=0.25)
        viz.samples(ax, xs, color=viz.COLORS["q"], size=3, alpha=0.5, extent=EXTENT)
        viz.panel_title(ax, f"{name}: samples, SW₂ {sw:.2f}")
    axes[0].set_xlabel("z₁ (colour: x₁ of the data point)")
    return fig, out


def reconstruction_figure(run: ToyRun, x: torch.Tensor, vae_index: int, n_show: int = 60, generator=None):
    """Data points joined to their reconstructions f(μ(x)), for the autoencoder and one VAE."""
    fig, axes = viz.figure(2, width=4.2, height=3.0)
    for ax, (i, name) in zip(axes, ((0, "autoencoder"), (vae_index, "VAE (β = 1)"))):
        one = run.model.select(i)
        rec = one.decode_mean(one.encode(x[:n_show])[0])[0]
        viz.samples(ax, x, color=viz.COLORS["p"], size=2, alpha=0.2)
        for a, b in zip(x[:n_show], rec):
            ax.plot([a[0], b[0]], [a[1], b[1]], color=viz.COLORS["grey"], lw=0.8)
        viz.samples(ax, x[:n_show], color=viz.COLORS["p"], size=10, alpha=0.9, label="x")
        viz.samples(ax, rec, color=viz.COLORS["q"], size=10, alpha=0.9, label="f(μ(x))", extent=EXTENT)
        mse = ((one.decode_mean(one.encode(x)[0])[0] - x) ** 2).sum(-1).mean().item()
        ax.legend(loc="lower left", fontsize=8)
        viz.panel_title(ax, f"{name}: reconstructions, MSE {mse:.4f}")
    return fig


def likelihood_table(run: ToyRun, x_test: torch.Tensor, index: int, n_samples: int = 1000, generator=None) -> dict:
    """ELBO, importance-sampled log-likelihood, per test example averages, of model ``index``."""
    one = run.model.select(index)
    with torch.no_grad():
        el = V.elbo(x_test, one.encode, one.decode, n_samples=64, generator=generator)[0]
        ll = V.log_likelihood_is(x_test, one.encode, one.decode, n_samples=n_samples, generator=generator)[0]
        ll1 = V.log_likelihood_is(x_test, one.encode, one.decode, n_samples=1, generator=generator)[0]
    return {"elbo": el.mean().item(), "elbo_se": (el.std() / math.sqrt(len(el))).item(),
            "log_lik": ll.mean().item(), "log_lik_1": ll1.mean().item()}


def _decoded_lines(one: V.VAE, values, dim: int):
    """Decoder means along latent lines z_dim = v (the other coordinate sweeping [-2.5, 2.5])."""
    t = torch.linspace(-2.5, 2.5, 80, dtype=one.log_scale.dtype)
    lines = []
    for v in values:
        z = torch.stack([t, torch.full_like(t, v)] if dim == 1 else [torch.full_like(t, v), t], -1)
        lines.append(one.decode_mean(z[None])[0])
    return lines


def traversal_slider(run: ToyRun, x: torch.Tensor, index: int) -> widgets.SliderDemo:
    """Move a point z in the latent plane; see where the decoder sends it (mean and one-σ circle)."""
    one = run.model.select(index)
    values = (-2.25, -1.5, -0.75, 0.0, 0.75, 1.5, 2.25)
    values2 = (-2.0, -1.0, 0.0, 1.0, 2.0)
    with torch.no_grad():
        codes = one.encode(x)[0][0]
        rows = _decoded_lines(one, values2, 1)   # z2 fixed, z1 sweeping
        cols = _decoded_lines(one, values, 2)    # z1 fixed, z2 sweeping
        s = one.scale.item()
        grid_z = torch.tensor([[a, b] for a in values for b in values2], dtype=x.dtype)
        decoded = one.decode_mean(grid_z[None])[0]
    t = torch.linspace(0, 2 * math.pi, 60)

    def draw(fig, z1, z2):
        ax1, ax2 = widgets.panels(fig, 2)
        ax1.scatter(codes[:, 0], codes[:, 1], c=x[:, 0].numpy(), cmap="viridis", s=3, alpha=0.4, linewidths=0)
        for r in (1, 2):
            ax1.plot(r * t.cos(), r * t.sin(), color=viz.COLORS["grey"], lw=1, ls="--")
        ax1.axhline(z2, color=viz.COLORS["q2"], lw=1.2)
        ax1.axvline(z1, color=viz.COLORS["aux"], lw=1.2)
        ax1.plot([z1], [z2], "o", color=viz.COLORS["q"], ms=9, mec="white")
        ax1.set_xlim(ZEXT[0], ZEXT[1])
        ax1.set_ylim(ZEXT[2], ZEXT[3])
        ax1.set_aspect("equal")
        ax1.set_xlabel("z₁")
        ax1.set_ylabel("z₂")
        viz.panel_title(ax1, "latent space: codes μ(x) of the data")
        viz.samples(ax2, x, color=viz.COLORS["p"], size=2, alpha=0.2)
        i, j = values.index(z1), values2.index(z2)
        ax2.plot(rows[j][:, 0], rows[j][:, 1], color=viz.COLORS["q2"], lw=1.5, label="z₂ fixed, z₁ ∈ [−2.5, 2.5]")
        ax2.plot(cols[i][:, 0], cols[i][:, 1], color=viz.COLORS["aux"], lw=1.5, label="z₁ fixed, z₂ ∈ [−2.5, 2.5]")
        f = decoded[i * len(values2) + j]
        ax2.plot(f[0] + s * t.cos(), f[1] + s * t.sin(), color=viz.COLORS["q"], lw=1)
        ax2.plot([f[0]], [f[1]], "o", color=viz.COLORS["q"], ms=9, mec="white", label="f(z), circle: one σ")
        ax2.set_xlim(EXTENT[0], EXTENT[1])
        ax2.set_ylim(EXTENT[2], EXTENT[3])
        ax2.set_aspect("equal")
        ax2.legend(loc="lower left", fontsize=7)
        viz.panel_title(ax2, f"data space: f(z) = ({f[0]:.2f}, {f[1]:.2f})")

    return widgets.slider(draw, figsize=(9.6, 3.4),
                          z1=widgets.Param(values, "z₁", "{:+.2f}", start=values.index(0.75)),
                          z2=widgets.Param(values2, "z₂", "{:+.1f}", start=values2.index(0.0)))


def beta_slider(run: ToyRun, x: torch.Tensor, stats: dict, generator=None) -> widgets.SliderDemo:
    """Slide over the β-VAEs (trained once): latent codes, prior samples and KL per latent dimension.

    ``stats`` maps ``"kl_dims"`` to ``(M, 2)`` and ``"elbo"``, ``"log_lik"`` to ``(M,)`` tensors.
    """
    betas = [float(b) for b in run.betas]
    idx = [i for i, b in enumerate(betas) if b > 0]
    with torch.no_grad():
        codes = run.model.encode(x)[0]
        samples = run.model.sample(1500, generator=generator)
    kl = stats["kl_dims"]
    bvals = torch.tensor([betas[i] for i in idx])
    t = torch.linspace(0, 2 * math.pi, 100)

    def draw(fig, beta):
        i = betas.index(beta)
        ax1, ax2, ax3 = widgets.panels(fig, 3)
        ax1.scatter(codes[i, :, 0], codes[i, :, 1], c=x[:, 0].numpy(), cmap="viridis", s=3, alpha=0.5,
                    linewidths=0)
        for r in (1, 2):
            ax1.plot(r * t.cos(), r * t.sin(), color=viz.COLORS["grey"], lw=1, ls="--")
        ax1.set_xlim(-3.5, 3.5)
        ax1.set_ylim(-3.5, 3.5)
        ax1.set_aspect("equal")
        ax1.set_xlabel("z₁")
        viz.panel_title(ax1, f"β = {beta:g}: codes μ(x)")
        viz.samples(ax2, x, color=viz.COLORS["p"], size=2, alpha=0.2)
        viz.samples(ax2, samples[i], color=viz.COLORS["q"], size=3, alpha=0.4, extent=EXTENT)
        viz.panel_title(ax2, f"samples; ELBO {stats['elbo'][i]:.2f}, log p {stats['log_lik'][i]:.2f}")
        for k, role in ((0, "q"), (1, "aux")):
            ax3.plot(bvals, kl[idx, k], "o-", color=viz.COLORS[role], label=f"KL for z{'₁₂'[k]}")
        ax3.axvline(beta, color=viz.COLORS["grey"], lw=1)
        ax3.set_xscale("log", base=2)
        ax3.set_xticks(bvals.tolist(), [f"{b:g}" for b in bvals.tolist()])
        ax3.set_xlabel("β")
        ax3.set_ylabel("nats")
        ax3.set_ylim(-0.2, max(6.0, float(kl[idx].max()) + 0.5))
        ax3.legend(loc="upper right", fontsize=8)
        viz.panel_title(ax3, f"KL per dim: {kl[i, 0]:.2f}, {kl[i, 1]:.2f}")

    labels = tuple(betas[i] for i in idx)
    return widgets.slider(draw, figsize=(11.0, 3.4),
                          beta=widgets.Param(labels, "β", "{:g}", start=labels.index(1.0)))


def decoder_variance_identity(run: ToyRun, x: torch.Tensor, index: int, beta: float, sigma0: float,
                              generator=None) -> tuple[float, float]:
    r"""Both sides of :math:`-\mathcal L_{\beta}(s_0) = \beta\,[-\mathcal L_{1}(\sqrt\beta s_0)] + c`, on one batch and one draw of z.

    The β-weighted loss with a fixed decoder std :math:`s_0` equals β times the plain (β = 1)
    loss with std :math:`\sqrt\beta s_0`, up to the constant
    :math:`c = \frac D2[\log(2\pi s_0^2) - \beta\log(2\pi\beta s_0^2)]`. Returns ``(lhs, rhs)``.
    """
    one = run.model.select(index)
    mu, sigma = one.encode(x)
    z = V.reparameterize(mu, sigma, 1, generator)[0]
    mean = one.decode_mean(z)
    kl = D.kl_normal(mu, sigma, 0.0, 1.0).sum(-1)
    d = x.shape[-1]

    def loss(b, s):
        return -(V.gaussian_log_likelihood(x, mean, s) - b * kl).mean()

    c = 0.5 * d * (math.log(2 * math.pi * sigma0**2) - beta * math.log(2 * math.pi * beta * sigma0**2))
    return loss(beta, sigma0).item(), (beta * loss(1.0, math.sqrt(beta) * sigma0) + c).item()
