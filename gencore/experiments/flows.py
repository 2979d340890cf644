"""Chapter 5's runs (normalizing flows): variational inference on U1-U4 and density estimation on moons.

Training recipes, their result tables and the claims the chapter makes about them, built on
``gencore.flows``; the figures that draw them are in ``gencore.figures.flows``.

Book: ``book/05_flows.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .. import data
from .. import flows as Fl
from ..quadrature import grid, grid_log_prob
from ..tensors import inv_softplus
from ..train import fit, linear_decay
# density estimation with coupling layers lives in flows_density; re-exported here for chapter 5
from .flows_density import (CouplingResult, DensityRun, coupling_report, fit_coupling,
                            moons_entropy, train_coupling)

__all__ = [
    "TARGETS", "EXTENT", "ChangeOfVariables", "change_of_variables_1d", "one_layer", "density_grid", "VIRun",
    "train_vi", "vi_table", "lobe_members", "lobe_report", "vi_report", "left_share", "vi_claims", "lobe_claims",
    "radial_claims", "restarts", "restart_report", "restart_claims", "moons_entropy", "DensityRun", "fit_coupling", "train_coupling", "CouplingResult", "coupling_report",
]

TARGETS = ("u1", "u2", "u3", "u4")
EXTENT = (-4.0, 4.0, -4.0, 4.0)  # the paper's plotting box for U1-U4


# ------------------------------------------------------------------ change of variables in 1D
@dataclass(frozen=True)
class ChangeOfVariables:
    """``x = exp(z)``, ``z ~ N(0, 1)``: samples ``z``, points ``xs`` and the density formula there."""

    z: torch.Tensor
    xs: torch.Tensor
    formula: torch.Tensor
    error: float  # max |formula - LogNormal(0, 1).pdf| on xs


def change_of_variables_1d(n: int = 200_000, generator=None) -> ChangeOfVariables:
    r"""``x = exp(z)``, ``z ~ N(0, 1)``: :math:`q_0(\log x)/x` against ``torch``'s LogNormal, on ``(0, 5]``."""
    z = torch.randn(n, generator=generator, dtype=torch.float64)
    xs = torch.linspace(0.01, 5, 500, dtype=torch.float64)
    q0 = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0)
    formula = q0.log_prob(xs.log()).exp() / xs  # q0(f^{-1}(x)) |d f^{-1}/dx|
    exact = torch.distributions.LogNormal(0.0, 1.0).log_prob(xs).exp()
    return ChangeOfVariables(z, xs, formula, (formula - exact).abs().max().item())


# ------------------------------------------------------------------ one layer with hand-set parameters
def one_layer(kind: str, strength: float) -> Fl.Flow:
    r"""A single planar or radial layer with hand-set parameters, on N(0, I), float64.

    Planar: :math:`w = (3, 0)`, :math:`b = 0`, ``u`` chosen so that :math:`\hat u = (s/3, 0.8)`,
    i.e. :math:`w^\top\hat u = s` (needs :math:`s > -1`). Radial: centre :math:`(0.6, 0.3)`,
    :math:`\alpha = 0.5`, :math:`\beta = s/2` (needs :math:`s > -1`, i.e. :math:`\beta > -\alpha`).
    """
    f64 = torch.float64
    if kind == "planar":
        layer = Fl.Planar(2, dtype=f64, generator=torch.Generator())  # set below: no draw from torch's global generator
        wu = Fl.planar_m_inverse(strength)  # solves m(wᵀu) = s
        with torch.no_grad():
            layer.w.copy_(torch.tensor([3.0, 0.0])), layer.u.copy_(torch.tensor([wu / 3, 0.8]))
            layer.b.fill_(0.0)
    else:
        layer = Fl.Radial(2, dtype=f64, generator=torch.Generator())
        with torch.no_grad():
            layer.center.copy_(torch.tensor([0.6, 0.3]))
            layer.alpha_raw.fill_(inv_softplus(0.5))  # alpha = 0.5
            layer.beta_raw.fill_(inv_softplus(strength / 2 + 0.5))  # beta = s/2
    return Fl.Flow([layer], Fl.normal_base(dtype=f64))


def density_grid(flow: Fl.Flow, upto=None, resolution: int = 120, extent=EXTENT) -> torch.Tensor:
    """The flow's density (after its first ``upto`` layers) on a grid, ``(resolution, resolution)``, float64."""
    _, lq, _ = grid_log_prob(lambda x: flow.log_prob(x, upto), extent, resolution, dtype=torch.float64,
                             device=flow.base.mean.device)
    return lq.exp().reshape(resolution, resolution)


# ------------------------------------------------------------------ variational inference on U1-U4
@dataclass
class VIRun:
    """A batch of flows trained by the free-energy bound, one per configuration.

    Attributes:
        flow: the batched :class:`~gencore.flows.Flow` (member ``b`` has depth ``depths[b]``).
        targets: target index (into ``TARGETS``) per member.
        depths: number of layers K per member.
        annealed: whether member ``b`` was trained with the annealed bound.
        history: the training history (summed loss over members).
        log_Z: the targets' log-normalizers per member.
        starts: ``(m1, m2, s)`` of each member's base :math:`N((m_1, m_2), s^2 I)`.
        densities: density grids of members, filled in by the figures that draw them.
    """

    flow: Fl.Flow
    targets: list[int]
    depths: list[int]
    annealed: list[bool]
    history: object
    log_Z: torch.Tensor
    starts: list = field(default_factory=list)
    densities: dict = field(default_factory=dict)
    _energies: dict = field(default_factory=dict, repr=False)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """Each member's target energy at its own points: ``x`` of shape ``(N, B, 2)`` -> ``(N, B)``."""
        if (key := (x.dtype, x.device)) not in self._energies:
            self._energies[key] = _MemberEnergy(self.targets, x.dtype, x.device)
        return self._energies[key](x)

    def log_p(self, x: torch.Tensor) -> torch.Tensor:
        """Each member's normalized target log-density, ``(N, B, 2) -> (N, B)``."""
        return -self.energy(x) - self.log_Z.to(x)

    def index(self, target: str, depth: int, annealed: bool = True, which: int = 0) -> int:
        """Member index of a configuration (``which``: the n-th repeat of it)."""
        t = TARGETS.index(target)
        hits = [b for b, c in enumerate(zip(self.targets, self.depths, self.annealed)) if c == (t, depth, annealed)]
        if which >= len(hits):
            raise ValueError(f"no member for target={target!r}, depth={depth}, annealed={annealed}, which={which}")
        return hits[which]

    def member(self, b: int, dtype=torch.float64) -> Fl.Flow:
        """Member ``b`` as a standalone flow of its own depth (parameters copied)."""
        layers = [f.member(b).to(dtype) for f in self.flow.layers[: self.depths[b]]]
        return Fl.Flow(layers, _base(self.starts[b], dtype, self.flow.base.mean.device))


class _MemberEnergy:
    """``x`` ``(..., B, 2)`` -> ``(..., B)``: member ``b``'s target energy at its own points, each target
    (``gencore.data``) evaluated once, on its own members' points only."""

    def __init__(self, targets: list[int], dtype, device=None):
        self.groups = sorted(set(targets))
        self.densities = {g: data.make(TARGETS[g], dtype=dtype, device=device) for g in self.groups}
        self.members = [torch.tensor([b for b, t in enumerate(targets) if t == g], device=device) for g in self.groups]
        self.back = torch.argsort(torch.cat(self.members))  # from the grouped order back to the members'

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        parts = [self.densities[g].energy(x.index_select(-2, m)) for g, m in zip(self.groups, self.members)]
        return torch.cat(parts, -1).index_select(-1, self.back)


def train_vi(configs, *, steps: int = 1200, n: int = 256, lr: float = 6e-3, layer: str = "planar",
             ramp_fraction: float = 0.5, beta_start: float = 0.01, decay_start: float | None = None,
             generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32, device=None,
             progress: bool = True) -> VIRun:
    r"""Train one batched flow per configuration ``(target, K, annealed)`` on the free-energy bound.

    All members share one computation: layers with a batch dimension, each member through its
    first K of them (``depth``; run as one chain, :mod:`gencore.flow_chains`), and the sum of
    the members' bounds as the loss (each member's gradient only sees its own bound). Annealed members use :math:`\beta_t = \min(1, 0.01 + t/T)` with
    :math:`T` = ``ramp_fraction * steps``; the others :math:`\beta = 1`.

    Args:
        configs: list of ``(target name, K, annealed)`` or ``(target name, K, annealed, start)``
            with ``start = (m1, m2, s)``: the member's base is :math:`N((m_1, m_2), s^2 I)`
            (default :math:`N(0, I)`).
        steps, n, lr: Adam steps, samples per step and per member, learning rate.
        decay_start: ``None``: a constant rate; else the rate stays ``lr`` for this fraction of
            the steps, then falls linearly to zero.
        layer: ``"planar"`` or ``"radial"``.
        generator: draws the parameters' initialization and the samples (torch's global
            generator if ``None``).
        dtype: of the parameters, the samples and the loss (float32: fast; the result does not
            depend on torch's default dtype).
    """
    configs = [tuple(c) + (None,) * (4 - len(c)) for c in configs]
    B = len(configs)
    targets = [TARGETS.index(c[0]) for c in configs]
    depths = [int(c[1]) for c in configs]
    annealed = [bool(c[2]) for c in configs]
    starts = [c[3] if c[3] is not None else (0.0, 0.0, 1.0) for c in configs]
    Layer = {"planar": Fl.Planar, "radial": Fl.Radial}[layer]
    flow = Fl.Flow([Layer(2, batch_shape=(B,), dtype=dtype, device=device, generator=generator)
                    for _ in range(max(depths))], _base(starts, dtype, device), depth=torch.tensor(depths, device=device))
    energy = _MemberEnergy(targets, dtype, device)
    hot = torch.tensor(annealed, dtype=dtype, device=device)
    ramp = ramp_fraction * steps
    # Adam on the layers' parameters stacked along the depth axis, pushed through them as one chain
    names = [name for name, _ in Layer.PARAMETERS]
    theta = [torch.stack([getattr(f, name) for f in flow.layers]).detach().requires_grad_() for name in names]
    chain = {"planar": Fl.planar_chain, "radial": Fl.radial_chain}[layer]

    def loss(step):
        z0 = flow.sample_base(n, generator)
        x, ladj = chain(z0, *theta, depth=flow.depth)
        beta = hot * Fl.anneal(step, ramp, beta_start) + (1 - hot)
        return Fl.free_energy(flow.base.log_prob(z0) - ladj, energy(x), beta).sum()

    schedule = None if decay_start is None else linear_decay(steps, decay_start)
    history = fit(loss, theta, steps, lr=lr, lr_schedule=schedule, progress=progress, desc=f"{B} {layer} flows")
    with torch.no_grad():  # the trained stacks back into the flow's layers
        for name, stacked in zip(names, theta):
            for f, value in zip(flow.layers, stacked):
                getattr(f, name).copy_(value)
    log_Z = torch.tensor([energy.densities[t].log_Z for t in targets], device=device)  # by quadrature, float64
    energies = {(dtype, flow.base.mean.device): energy}  # reused when the run is evaluated
    return VIRun(flow, targets, depths, annealed, history, log_Z, starts, _energies=energies)


def _base(starts, dtype=None, device=None):
    """Diagonal Gaussian bases N(m, s^2 I), one per member, from ``(m1, m2, s)`` triples."""
    t = torch.tensor(starts, dtype=dtype if dtype is not None else torch.get_default_dtype(), device=device)
    loc, scale = t[..., :2], t[..., 2:].expand(t.shape[:-1] + (2,))
    return torch.distributions.Independent(torch.distributions.Normal(loc, scale), 1)


def vi_table(run: VIRun, n: int = 20_000, resolution: int = 300, generator: torch.Generator | None = None):
    r"""Per member: the free energy :math:`\mathcal F` (Monte Carlo, ``n`` samples, :math:`\beta = 1`)
    and the exact :math:`\mathrm{KL}(q_K\|p)` by base-space quadrature; ``(F, kl)`` of shape ``(B,)``."""
    with torch.no_grad():
        x, log_q = run.flow.rsample_and_log_prob(n, generator)
        F = Fl.free_energy(log_q, run.energy(x))
    kl = Fl.reverse_kl_lotus(run.flow, run.log_p, resolution=resolution)
    return F, kl


def lobe_members(run: VIRun, target: str = "u1", depth: int = 32) -> dict[bool, list[int]]:
    """Members on ``target`` with ``depth`` layers, plain (``False``) and annealed (``True``), standard start first."""
    t = TARGETS.index(target)
    out = {}
    for hot in (False, True):
        members = [b for b in range(len(run.targets)) if (run.targets[b], run.depths[b], run.annealed[b]) == (t, depth, hot)]
        out[hot] = sorted(members, key=lambda b: tuple(run.starts[b]) != (0.0, 0.0, 1.0))
    return out


def lobe_report(run: VIRun, kl: torch.Tensor, share: torch.Tensor | None = None, target: str = "u1",
                depth: int = 32) -> str:
    """One line per flow of ``lobe_figure``: objective, start, exact KL and the left-lobe mass (``share``)."""
    lines = [f"{'objective':<10} {'base q0':<18} KL(q‖p)   (log 2 = {math.log(2):.3f})"
             + ("   mass at z₁ < 0 (target 0.5)" if share is not None else "")]
    for hot, members in lobe_members(run, target, depth).items():
        for b in members:
            m1, m2, sd = run.starts[b]
            start = "N(0, I)" if sd == 1.0 else f"N(({m1:g}, {m2:g}), {sd:g}² I)"
            line = f"{'annealed' if hot else 'plain':<10} {start:<18} {kl[b]:.3f}"
            if share is not None:
                line += f"{share[b]:>24.3f}"
            lines.append(line)
    return "\n".join(lines)


def left_share(run: VIRun, extent=(-6.0, 6.0, -6.0, 6.0), resolution: int = 300) -> torch.Tensor:
    r"""Each member's probability :math:`q_K(z_1 < 0)`, ``(B,)``, by quadrature over the base space (LOTUS):
    for :math:`U_1` the mass on the left-hand lobe (the target has 0.5 there)."""
    loc = run.flow.base.mean[None]
    z, _ = grid(extent, resolution, dtype=loc.dtype, device=loc.device)
    z = z[:, None, :].expand(-1, loc.shape[1], -1)
    with torch.no_grad():
        w = torch.softmax(run.flow.base.log_prob(z), dim=0)
        x, _ = run.flow(z)
        return (w * (x[..., 0] < 0).to(w)).sum(0)


def vi_claims(run: VIRun, kl: torch.Tensor) -> dict:
    """What the chapter says about the table of planar flows (members with the N(0, I) base)."""
    def k(name, K, hot=True):
        return kl[run.index(name, K, hot)].item()

    k2 = [k(t, 2, hot) for t in TARGETS for hot in (False, True)]
    ratios = {t: k(t, 2) / k(t, 32) for t in TARGETS}
    stalls = [t.upper() for t in TARGETS if k(t, 32) >= k(t, 8)]
    lo, hi = min(ratios, key=ratios.get), max(ratios, key=ratios.get)
    return dict(
        k2_min=min(k2), k2_max=max(k2),
        k8_below_k2=all(k(t, 8, hot) < k(t, 2, hot) for t in TARGETS for hot in (False, True)),
        ratio_min=ratios[lo], ratio_min_target=lo.upper(), ratio_max=ratios[hi], ratio_max_target=hi.upper(),
        u12_max=max(k("u1", 32), k("u2", 32)),
        u34_min=min(k("u3", 32), k("u4", 32)), u34_max=max(k("u3", 32), k("u4", 32)),
        stalls=stalls,
        deeper_phrase=("on every target" if not stalls else
                       "except on " + " and ".join(stalls) + ", where our short training stalls"),
    )


def radial_claims(radial: VIRun, kl_radial: torch.Tensor, planar: VIRun, kl_planar: torch.Tensor,
                  depth: int = 32) -> dict:
    """Radial against planar stacks (annealed, ``depth`` layers): the gaps in KL and the radial best fit."""
    gaps = {t: kl_radial[radial.index(t, depth)].item() - kl_planar[planar.index(t, depth)].item() for t in TARGETS}
    best = min(TARGETS, key=lambda t: kl_radial[radial.index(t, depth)].item())
    return dict(gap_min=min(gaps.values()), gap_max=max(gaps.values()), best=best.upper(),
                best_kl=kl_radial[radial.index(best, depth)].item(),
                deeper_better=all(kl_radial[radial.index(t, depth)] < kl_radial[radial.index(t, 8)] for t in TARGETS))


def lobe_claims(run: VIRun, kl: torch.Tensor, share: torch.Tensor | None = None, found: float = 0.2) -> dict:
    """The one-lobe experiment in numbers: KLs and left-lobe shares (computed if not given) of the
    off-centre starts; a run has *found* the second lobe when at least ``found`` of its mass is there."""
    share = left_share(run) if share is None else share
    members = lobe_members(run)
    plain, hot = members[False][1:], members[True][1:]
    return dict(
        sym_plain_kl=kl[members[False][0]].item(), sym_hot_kl=kl[members[True][0]].item(),
        plain_kl_min=min(kl[b].item() for b in plain), plain_kl_max=max(kl[b].item() for b in plain),
        plain_share_max=max(share[b].item() for b in plain),
        hot_kl=[kl[b].item() for b in hot], hot_share=[share[b].item() for b in hot],
        hot_kl_min=min(kl[b].item() for b in hot), hot_kl_max=max(kl[b].item() for b in hot),
        hot_share_min=min(share[b].item() for b in hot), hot_share_max=max(share[b].item() for b in hot),
        n_hot=len(hot), n_found=sum(share[b].item() >= found for b in hot), found=found,
    )


def restarts(run: VIRun, F: torch.Tensor, kl: torch.Tensor) -> dict[str, dict]:
    r"""Per target, its members taken as restarts: their exact KLs and the pick, the member with the
    lowest bound. The pick needs no :math:`Z`: restarts on one target share :math:`\log Z`, so
    :math:`\mathcal F = \mathrm{KL}(q\|p) - \log Z` orders them as the KL does (up to the Monte Carlo
    error of ``F``). ``regret``: the pick's KL above the restarts' lowest."""
    out = {}
    for t, name in enumerate(TARGETS):
        members = [b for b in range(len(run.targets)) if run.targets[b] == t]
        if members:
            pick = min(members, key=lambda b: F[b].item())
            kls = [kl[b].item() for b in members]
            out[name] = dict(members=members, kl=kls, pick=pick, kl_pick=kl[pick].item(),
                             regret=kl[pick].item() - min(kls))
    return out


def restart_report(run: VIRun, F: torch.Tensor, kl: torch.Tensor) -> str:
    """A line per target: each restart's exact KL, the one with the lowest bound marked ``*``."""
    lines = ["target   exact KL(q‖p) of each restart (* lowest bound F)"]
    for name, r in restarts(run, F, kl).items():
        cells = [f"{k:.3f}{'*' if b == r['pick'] else ' '}" for b, k in zip(r["members"], r["kl"])]
        lines.append(f"{name.upper():<8} " + "  ".join(cells))
    return "\n".join(lines)


def restart_claims(run: VIRun, F: torch.Tensor, kl: torch.Tensor) -> dict:
    """The picks' worst KL, the largest regret of picking by the bound (and a phrase that says it), and
    the worst single restart."""
    r = restarts(run, F, kl).values()
    regret = max(x["regret"] for x in r)
    n_best = sum(x["regret"] == 0 for x in r)
    if n_best == len(r):
        phrase = f"nothing here (on all {len(r)} targets the bound picked the restart with the lowest KL)"
    else:
        phrase = f"at most {regret:.3f} nats here (the bound picked the lowest KL on {n_best} of {len(r)} targets)"
    return dict(pick_max=max(x["kl_pick"] for x in r), regret_max=regret, regret_phrase=phrase,
                worst=max(max(x["kl"]) for x in r), n=len(run.targets))


def vi_report(run: VIRun, F: torch.Tensor, kl: torch.Tensor) -> str:
    """A text table: per target and K, the bound F, F + log Z and the exact KL(q‖p), plain and annealed.

    Only members with the standard base N(0, I) are listed.
    """
    standard = [b for b in range(len(run.targets)) if tuple(run.starts[b]) == (0.0, 0.0, 1.0)]
    modes = sorted({run.annealed[b] for b in standard})
    head = f"{'':<6} {'log Z':>5} {'K':>2}"
    for hot in modes:
        name = "annealed" if hot else "plain"
        head += f" | {name + ' F':>10} {'F+logZ':>6} {'KL':>5}"
    lines = [head, "-" * len(head)]
    for t, name in enumerate(TARGETS):
        for K in sorted({run.depths[b] for b in standard}):
            row = [b for b in standard if run.targets[b] == t and run.depths[b] == K]
            if not row:
                continue
            line = f"{name.upper():<6} {run.log_Z[row[0]]:>5.2f} {K:>2}"
            for hot in modes:
                b = next(b for b in row if run.annealed[b] == hot)
                line += f" | {F[b]:>10.3f} {F[b] + run.log_Z[b]:>6.3f} {kl[b]:>5.3f}"
            lines.append(line)
    return "\n".join(lines)
