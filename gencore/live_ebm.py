r"""Chapter 8's live demos: Langevin dynamics on an energy at any temperature, in the reader's browser.

The step module runs ``inner`` Langevin updates on the Boltzmann density :math:`p_T \propto e^{-E/kT}`
in the form of simulated annealing at one level (``eq-ebm-annealing``), the score
:math:`-\nabla E/kT` with the step :math:`\epsilon\,kT`:

.. math:: x \leftarrow x - \tfrac{\epsilon}{2}\nabla E(x) + \sqrt{\epsilon\,kT}\, z ,

so the drift does not grow as the temperature falls and one step size serves every :math:`kT`.
The temperature, the step and the noise ``z`` (``(N, 2 * inner)``) are inputs of the exported
graph (:func:`gencore.live.sampler_demo`). The gradient is gencore's own and exportable: the
closed form of :func:`gencore.ebm.two_basin_energy` (its ``gradient``), or
:meth:`gencore.ebm.EnergyNet.derivatives` for a trained energy. The tests
(``tests/test_live_ebm.py``) run the exported step against
:func:`gencore.mcmc.simulated_annealing` fed the same noise.

Naming (book symbol -> code): :math:`kT` ``kT``; :math:`\epsilon` ``eps``; :math:`K` the number of updates.

Book: ``book/08_ebm.ipynb``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .live import LiveDemo, Slider, sampler_demo
from .live_score import langevin_updates
from .tensors import in_range, positive_int, validate

__all__ = ["EnergyLangevinStep", "energy_live"]


def _gradient(energy):
    """``x -> ∇E(x)`` for an energy with a closed-form ``gradient`` or an ``EnergyNet``-like ``derivatives``."""
    if isinstance(energy, nn.Module) and callable(getattr(energy, "derivatives", None)):
        return lambda x: energy.derivatives(x)[1]
    if callable(getattr(energy, "gradient", None)):
        return energy.gradient
    raise ValueError("each energy must be a gencore.ebm.EnergyNet (derivatives) or carry a closed-form "
                     f"gradient (as gencore.ebm.two_basin_energy does); got {type(energy).__name__}")


class EnergyLangevinStep(nn.Module):
    r"""``inner`` Langevin updates on :math:`e^{-E/kT}` with the step :math:`\epsilon\,kT` (``eq-ebm-annealing``).

    With one energy: ``forward(x (N, 2), z (N, 2 * inner), kT, eps (float scalars)) -> (N, 2)``.
    With several, a further int64 input ``model`` picks one (every energy is evaluated, one kept:
    the graph has no branches). Networks are used as float32 CPU copies.
    """

    def __init__(self, energies, inner: int = 10):
        super().__init__()
        energies = list(energies) if isinstance(energies, (list, tuple)) else [energies]
        if not energies:
            raise ValueError("energies must name at least one energy")
        self.inner = in_range("inner", positive_int("inner", inner), 1, 32)
        self.nets = nn.ModuleList([copy.deepcopy(e).to("cpu", torch.float32).eval() for e in energies
                                   if isinstance(e, nn.Module)])
        it = iter(self.nets)
        self._grads = [_gradient(next(it) if isinstance(e, nn.Module) else e) for e in energies]
        self.input_names = ("x", "z", "kT", "eps") + (("model",) if len(energies) > 1 else ())

    def forward(self, x, z, kT, eps, model=None):
        if model is None:
            grad = self._grads[0]
        else:
            def grad(y):
                return torch.stack([g(y) for g in self._grads])[model]
        # the score -∇E/kT with the step ε kT, as gencore.mcmc.simulated_annealing runs each level
        return langevin_updates(lambda y: -grad(y) / kT, x, z, eps * kT, self.inner)

    def example(self, n: int = 8) -> tuple:
        g = torch.Generator().manual_seed(0)
        f32 = dict(generator=g, dtype=torch.float32)
        out = (torch.randn(n, 2, **f32), torch.randn(n, 2 * self.inner, **f32), torch.tensor(0.7, dtype=torch.float32),
               torch.tensor(0.05, dtype=torch.float32))
        return out + ((torch.tensor(len(self._grads) - 1),) if len(self._grads) > 1 else ())


def energy_live(fallback, energies, init: torch.Tensor, extent, *, names=None, ref=None, colors=None,
                inner: int = 10, max_steps: int = 1000, steps: int = 200, eps=(0.01, 0.2, 0.05), kT=(0.2, 4.0, 1.0),
                start=(0.0, 2.5), init_scale: float = 1.0, n: int = 1000, what: str = "the energy") -> LiveDemo:
    r"""Langevin chains on ``energies`` (one, or several picked by a ``model`` slider labelled
    ``names``), live: any :math:`kT` and :math:`\epsilon` in the ranges ``(lo, hi, first)``, ``inner``
    to ``max_steps`` steps (first ``steps``), from the ``init`` points ``(n, 2)``, with a dragged
    start point's chain. ``fallback``: the frames' slider; ``ref``: a pale backdrop; ``what``:
    the energy in the alt text; ``init=None`` starts the points at ``init_scale`` times standard
    normal noise drawn in the page."""
    step = EnergyLangevinStep(energies, inner)
    if init is not None:
        validate("init", init, ndim=2, last_dim=2)
    in_range("max_steps", positive_int("max_steps", max_steps, minimum=inner), inner, 5000)
    in_range("steps", positive_int("steps", steps, minimum=inner), inner, max_steps)
    calls = max_steps // inner
    sliders = [Slider("kT", "temperature kT", kT[0], kT[1], 0.01, kT[2]),
               Slider("eps", "step ε", eps[0], eps[1], 0.005, eps[2], digits=3),
               Slider("steps", "steps K", 1, calls, 1, steps // inner, digits=0,
                      labels=tuple(str(inner * k) for k in range(1, calls + 1)))]
    many = "model" in step.input_names
    if many:
        names = tuple(names or (f"energy {i}" for i in range(len(step._grads))))
        if len(names) != len(step._grads):
            raise ValueError(f"names must name each of the {len(step._grads)} energies; got {len(names)}")
        sliders.append(Slider("model", "energy", 0, len(names) - 1, 1, 0, digits=0, labels=names, dtype="int64"))
    alt = (f"Langevin chains on {what}, computed live in your browser for the chosen temperature kT, step size and "
           "number of steps, with the chain of one starting point that you can drag.")
    title = ("{model}: " if many else "") + "Langevin at kT = {kT}, ε = {eps}, K = {steps}; drag the ringed start"
    return sampler_demo(fallback, step, sliders=sliders, steps="steps", times={k: [0] * (k + 1) for k in range(1, calls + 1)},
                        extent=extent, title=title, alt=alt, start=start, init=init, init_scale=init_scale, ref=ref, n=n,
                        noise_dim=2 * inner, colors=colors, per_call=inner)
