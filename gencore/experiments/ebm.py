"""Chapter 8's runs (energy-based models): training recipes, exact NLLs, temperature tables, MCMC runs.

Built on ``gencore.ebm`` (energies, partition functions, the chapter's identities) and
``gencore.mcmc`` (Langevin, MALA, simulated annealing); no plotting (the figures are in
``gencore.figures.ebm``).

Book: ``book/08_ebm.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import torch

from .. import data as gdata
from .. import ebm as E
from .. import ebm_train as T
from .. import mcmc, metrics
from ..quadrature import grid
from ..tensors import noise, uniform
from ..train import fit

__all__ = ["EXTENT", "Z_EXTENT", "DATASET", "DIVERGED", "T_EXTENT", "DEEP", "WIDE", "Trained", "train_ebm",
           "nll_text", "exact_nll", "basin_mass", "in_deep_basin", "temperature_table", "temperature_frames",
           "grid_cost_table", "mixing_run", "attraction_basin", "annealing_run", "model_log_prob",
           "chapter_data", "chapter_runs",
           "STABLE", "stable_run", "NCERun", "nce_run"]

EXTENT = (-3.0, 3.0, -3.0, 3.0)  # where the chapter's pictures and NLLs live


Z_EXTENT = (-8.0, 8.0, -8.0, 8.0)  # the box for log Z of a trained model (holds the bowl's tails)


DATASET = ("moons", {})  # the chapter's dataset: gencore.data.make("moons")


@dataclass
class Trained:
    """A trained energy with what the chapter shows about it."""

    model: torch.nn.Module
    method: str
    k: int
    losses: list = field(default_factory=list)
    chains: torch.Tensor | None = None
    acceptance: float = float("nan")
    seconds: float = 0.0

    @cached_property
    def log_prob(self) -> E.BoltzmannLogProb:
        """The model's normalized density, :func:`model_log_prob`: computed once, shared by the NLL and the figures."""
        return model_log_prob(self.model)


def _in_phases(loss_fn, model, phases, progress: bool, desc: str) -> tuple[list, float]:
    """Adam over ``phases`` of ``(steps, learning rate)``, one :func:`fit` each; the model is frozen after.
    Returns every step's loss and the training seconds."""
    losses, seconds = [], 0.0
    for i, (steps, lr) in enumerate(phases):
        hist = fit(loss_fn, model, steps, lr=lr, progress=progress, desc=f"{desc}, phase {i + 1}")
        losses += hist.loss
        seconds += hist.seconds
    model.requires_grad_(False)
    return losses, seconds


def train_ebm(x_train: torch.Tensor, method: str, *, k: int = 5, phases=((700, 1e-2), (300, 1e-3)),
              batch: int = 512, step_size: float = 0.03, hidden: int = 64, n_chains: int = 4096,
              penalty: float = 0.0, restart: float = 0.0, generator=None, progress: bool = True) -> Trained:
    """Train an :class:`gencore.ebm.EnergyNet` on ``x_train`` by one of three methods.

    ``"pcd"``: ``n_chains`` persistent chains (started at data); each update advances a random
    ``batch`` of them by ``k`` MALA steps and uses them as negatives in the CD loss.
    ``"cd"``: chains restarted at the data minibatch every update, ``k`` MALA steps (CD-k).
    ``"sm"``: Hyvärinen score matching on the energy (no chains, no Z).

    ``penalty`` (:math:`\\alpha`) adds Du & Mordatch's energy penalty
    (:func:`gencore.ebm_train.penalized_cd_loss`); ``restart`` is the share of each update's
    chains that restart from uniform noise on :data:`EXTENT` before their MALA steps (PCD and CD).

    Adam for each ``(steps, lr)`` of ``phases`` in turn (a step-wise decay of the learning rate);
    ``generator`` draws the initial weights, the minibatches, the chains' starts and the MALA noise.
    """
    if method not in ("pcd", "cd", "sm"):
        raise ValueError(f"method must be 'pcd', 'cd' or 'sm'; got {method!r}")
    g = generator
    model = E.EnergyNet(hidden, generator=g, dtype=x_train.dtype, device=x_train.device)
    n = x_train.shape[0]
    state = {"chains": x_train[torch.randint(n, (n_chains,), generator=g)].clone(), "acc": []}

    def loss_fn(step):
        x = x_train[torch.randint(n, (batch,), generator=g)]
        if method == "sm":
            return E.energy_score_matching_loss(model, x)
        pick = torch.randperm(n_chains, generator=g)[:batch]
        start = (state["chains"][pick] if method == "pcd" else x).clone()
        m = int(restart * batch)
        if m:
            x0, x1, y0, y1 = EXTENT
            u = uniform((m, 2), start, g)  # drawn on g's device, then moved to the chains'
            start[:m] = u * start.new_tensor([x1 - x0, y1 - y0]) + start.new_tensor([x0, y0])
        neg, a = mcmc.mala(model, start, step_size, k, generator=g, return_acceptance=True)
        if method == "pcd":
            state["chains"][pick] = neg
        state["acc"].append(a)
        if penalty:
            return T.penalized_cd_loss(model, x, neg, penalty)
        return E.contrastive_divergence_loss(model, x, neg)

    desc = "score matching" if method == "sm" else f"{method.upper()}-{k}"
    losses, seconds = _in_phases(loss_fn, model, phases, progress, desc)
    acc = state["acc"]
    return Trained(model, method, k, losses, state["chains"] if method == "pcd" else None,
                   sum(acc) / len(acc) if acc else float("nan"), seconds)


DIVERGED = 1e3  # nats: an NLL above this marks a run whose density collapsed onto a spike


def nll_text(nll: float, digits: int = 4) -> str:
    """An NLL for print: the number, or ``"> 1,000 (diverged)"`` above :data:`DIVERGED`.

    A diverged model puts nearly all its mass on a spike narrower than a grid cell; the
    quadrature then no longer resolves the density, so its number is not a likelihood worth
    printing, only a sign that the run failed.
    """
    return f"> {DIVERGED:,.0f} (diverged)" if nll > DIVERGED else f"{nll:.{digits}f}"


def exact_nll(model, data_log_prob, resolution: int = 200) -> float:
    """Exact NLL (nats) of the normalized model by quadrature: ``cross_entropy_on_grid`` on ``EXTENT``.

    ``model`` is a trained energy, or its normalized density already computed
    (:attr:`Trained.log_prob`, a :class:`gencore.ebm.BoltzmannLogProb`), which is then reused.
    """
    log_q = model if isinstance(model, E.BoltzmannLogProb) else model_log_prob(model)
    return float(metrics.cross_entropy_on_grid(data_log_prob, log_q, EXTENT, resolution))


T_EXTENT = (-4.0, 4.0, -4.0, 4.0)  # the temperature section's box
DEEP, WIDE = (1.2, -0.4), (-1.0, 0.4)  # the centres of two_basin_energy's basins


def basin_mass(log_prob, resolution: int = 200) -> float:
    """Mass of the deep basin's half of the plane (points nearer its centre than the wide one's)."""
    pts, area = grid(T_EXTENT, resolution, dtype=torch.float64)
    with torch.no_grad():
        w = torch.softmax(log_prob(pts), 0)
    deep = torch.tensor(DEEP, dtype=torch.float64)
    wide = torch.tensor(WIDE, dtype=torch.float64)
    near = (pts - deep).norm(dim=-1) < (pts - wide).norm(dim=-1)
    return float(w[near].sum())


def in_deep_basin(x: torch.Tensor) -> torch.Tensor:
    """Boolean ``(N,)``: which points are nearer the deep basin's centre."""
    deep, wide = x.new_tensor(DEEP), x.new_tensor(WIDE)  # on x's device, in its dtype
    return (x - deep).norm(dim=-1) < (x - wide).norm(dim=-1)


def temperature_table(temperatures, resolution: int = 200):
    """For each kT: log Z, mean energy U, entropy H and the deep basin's mass, all by quadrature."""
    rows = []
    for kT in temperatures:
        lp = E.boltzmann_log_prob(E.two_basin_energy, kT, T_EXTENT, resolution)
        pts, area = grid(T_EXTENT, resolution, dtype=torch.float64)
        w = lp(pts).exp() * area
        u = float((w * E.two_basin_energy(pts)).sum())
        h = float(-(w * lp(pts)).sum())
        rows.append(dict(kT=kT, log_Z=float(lp.log_Z), U=u, H=h, deep=basin_mass(lp, resolution)))
    return rows


def temperature_frames(temperatures=(0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0), n_samples: int = 600,
                       generator=None) -> list[tuple]:
    """Per kT: ``(kT, Boltzmann log-density of two_basin_energy, n_samples exact samples, deep-basin mass)``."""
    g = generator
    frames = []
    for kT in temperatures:
        lp = E.boltzmann_log_prob(E.two_basin_energy, kT, T_EXTENT, 200)
        frames.append((kT, lp, E.grid_sample(lp, n_samples, T_EXTENT, 200, generator=g), basin_mass(lp)))
    return frames


def grid_cost_table(n: int = 200, dims=(1, 2, 3, 6, 10, 100)):
    """Points a grid with ``n`` per axis needs in D dimensions: ``n**D``."""
    return [(d, float(n) ** d) for d in dims]


def mixing_run(kT: float = 0.5, n_chains: int = 500, n_steps: int = 1500, step_size: float = 0.02,
               every: int = 10, generator=None, device=None):
    """Langevin chains on ``two_basin_energy`` at ``kT``, all started in the wide basin.

    Returns ``(steps, fraction of chains in the deep basin after each recorded step, exact
    fraction by quadrature, final chains)``. Uses chapter 7's :func:`gencore.score.langevin`.
    The chains run on ``device`` (default: the CPU) from starts drawn by ``generator`` on its own
    device, so every device gives the same chains up to rounding.
    """
    g = generator
    x = torch.tensor(WIDE, dtype=torch.float64) + 0.3 * torch.randn(n_chains, 2, generator=g, dtype=torch.float64)
    x = x.to(device)
    score = E.energy_score(E.two_basin_energy, kT)
    _, traj = mcmc.langevin(score, x, step_size * kT, n_steps, g, return_trajectory=True)
    steps = torch.arange(0, n_steps + 1, every)
    frac = torch.stack([in_deep_basin(traj[s]).double().mean() for s in steps.tolist()])
    exact = basin_mass(E.boltzmann_log_prob(E.two_basin_energy, kT, T_EXTENT, 200))
    return steps, frac, exact, traj[-1]


def attraction_basin(x: torch.Tensor, step_size: float = 0.1, n_steps: int = 600) -> torch.Tensor:
    """Boolean ``(N,)``: which points lie in the deep basin's *basin of attraction*.

    Noiseless gradient descent :math:`x \\leftarrow x - \\tfrac\\epsilon2\\nabla E(x)` on
    ``two_basin_energy`` from each point, then :func:`in_deep_basin` of where it stops. Nearness
    to a basin's centre is not the same thing: a point nearer the deep centre can still flow
    into the wide basin, and the other way round.
    """
    y = x.detach().clone()
    score = E.energy_score(E.two_basin_energy)
    for _ in range(n_steps):
        y = y + 0.5 * step_size * score(y)
    return in_deep_basin(y)


def annealing_run(n_chains: int = 500, levels: int = 20, n_steps_each: int = 40, hot: float = 3.0,
                  cold: float = 0.05, step_size: float = 0.1, generator=None, device=None):
    """Simulated annealing against plain gradient descent on ``two_basin_energy`` from uniform starts.

    Returns ``(start, annealed end points, descended end points)``; descent runs the same number of
    steps at the cold temperature only. The chains run on ``device`` (default: the CPU), their
    starts drawn on ``generator``'s device.
    """
    g = generator
    x0, x1, y0, y1 = T_EXTENT
    start = torch.rand(n_chains, 2, generator=g, dtype=torch.float64) * torch.tensor([x1 - x0, y1 - y0]) \
        + torch.tensor([x0, y0])
    start = start.to(device)
    temps = torch.logspace(math.log10(hot), math.log10(cold), levels, dtype=torch.float64, device=start.device)
    annealed = mcmc.simulated_annealing(E.two_basin_energy, start, temps, step_size, n_steps_each, g)
    descended = mcmc.simulated_annealing(E.two_basin_energy, start,
                                         torch.full((1,), cold, dtype=torch.float64, device=start.device),
                                         step_size, levels * n_steps_each, g)
    return start, annealed, descended


def model_log_prob(model):
    """The normalized log-density of a trained energy, a callable on float64 points (on the CPU).

    The energy is evaluated as it was trained, in its parameters' dtype and on their device (twice
    as fast as a float64 copy, and the NLLs agree to 1e-6 nats); log Z is accumulated in float64
    by quadrature on ``Z_EXTENT``.
    """
    p = next(model.parameters())

    def energy(x):
        return model(x.to(device=p.device, dtype=p.dtype)).to(device=x.device, dtype=x.dtype)

    return E.boltzmann_log_prob(energy, 1.0, Z_EXTENT, 400)


def chapter_data(n: int = 20_000, generator=None, device=None):
    """The chapter's data: ``(moons distribution (float64), n training points (float32), H(p) in nats)``.

    The training points are drawn on the CPU in float64 and then moved to ``device``, where the
    models train; the distribution and its entropy stay on the CPU in float64 (the quadrature's).
    """
    moons = gdata.make(DATASET[0], dtype=torch.float64, **DATASET[1])
    x = moons.sample((n,), generator=generator).float().to(device)
    h = metrics.entropy_on_grid(moons.log_prob, EXTENT, 200).item()
    return moons, x, h


def chapter_runs(x_train: torch.Tensor, ks=(1, 3, 5), progress: bool = True, generator=None, **kw) -> dict:
    """The chapter's trained models: PCD-K for every K in ``ks`` and score matching (minibatches of
    768), all on the same data with the same learning-rate schedule and, each from a copy of
    ``generator``'s state, the same initial weights.

    768 points per score-matching update rather than 1024: as close to H(p) (gaps 0.036, 0.052,
    0.057 nats against 0.062, 0.055, 0.056 at ``GENCORE_SEED=0, 1, 2``) in about three quarters
    of the time on a CPU."""
    def fork():  # a fresh generator in generator's current state (None stays None)
        return None if generator is None else torch.Generator(generator.device).set_state(generator.get_state())

    runs = {f"PCD-{k}": train_ebm(x_train, "pcd", k=k, progress=progress, generator=fork(), **kw) for k in ks}
    runs["score matching"] = train_ebm(x_train, "sm", batch=768, progress=progress, generator=fork(), **kw)
    return runs


STABLE = dict(k=10, step_size=0.02, penalty=0.1, restart=0.05)  # the chapter's stable PCD recipe


def stable_run(x_train: torch.Tensor, phases=((500, 1e-2), (200, 1e-3)), progress: bool = True, generator=None,
               **kw) -> Trained:
    """PCD with the chapter's stable recipe :data:`STABLE` (ten MALA steps of 0.02 per update, energy
    penalty 0.1, 5 % of the chains restarted from noise), for 700 updates: the step-wise schedule of
    :func:`chapter_runs` cut short, which keeps the chapter in its time budget (exact NLL - H(p)
    0.110, 0.127, 0.109 at ``GENCORE_SEED=0, 1, 2``; 0.086 at seed 0 with the full 1000)."""
    return train_ebm(x_train, "pcd", phases=phases, progress=progress, generator=generator, **{**STABLE, **kw})


@dataclass
class NCERun:
    """A model trained by noise-contrastive estimation, with its noise and its fitted log-normalizer."""

    model: torch.nn.Module  # a gencore.ebm_train.NCEModel
    noise: torch.distributions.MultivariateNormal
    nu: int
    losses: list = field(default_factory=list)
    seconds: float = 0.0

    @cached_property
    def log_prob(self) -> E.BoltzmannLogProb:
        """The energy normalized by quadrature (not by the fitted constant)."""
        return model_log_prob(self.model.energy)


def nce_run(x_train: torch.Tensor, *, nu: int = 4, widen: float = 1.5, phases=((700, 1e-2), (300, 1e-3)),
            batch: int = 512, hidden: int = 64, generator=None, progress: bool = True) -> NCERun:
    """Noise-contrastive estimation of an :class:`gencore.ebm.EnergyNet` and its log Z on ``x_train``.

    The noise is the data's Gaussian with its covariance times ``widen``; each update contrasts
    ``batch`` data points with ``nu * batch`` noise draws. Adam over ``phases`` as in :func:`train_ebm`.
    """
    g = generator
    q = T.fit_gaussian_noise(x_train, widen)
    chol = torch.linalg.cholesky(q.covariance_matrix)
    model = T.NCEModel(E.EnergyNet(hidden, generator=g, dtype=x_train.dtype, device=x_train.device))
    n = x_train.shape[0]

    def loss_fn(step):
        x = x_train[torch.randint(n, (batch,), generator=g)]
        z = noise((nu * batch, 2), x_train, g)  # drawn on g's device, then moved to the data's
        return T.nce_loss(model, q.log_prob, x, q.loc + z @ chol.T)

    losses, seconds = _in_phases(loss_fn, model, phases, progress, "NCE")
    return NCERun(model, q, nu, losses, seconds)
