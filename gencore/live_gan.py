"""Chapter 4's live demos, run in the reader's browser (see :mod:`gencore.live`).

* :class:`GeneratorStep` / :func:`generator_live`: the chapter's trained generators (one
  :class:`gencore.nn.StackedMLP` holding every model), an integer input picking one inside the
  graph: prior samples ``z`` on the left, ``G(z)`` on the right, a latent point to drag.
* :class:`DiracStep` / :func:`dirac_live`: gradient descent-ascent on the Dirac GAN, one call of
  :func:`gencore.gan_games.dirac_step` per step, for any step size ``h`` and step count, either
  scheme and either game, on a cloud of starting points and one draggable start with its path.

Book: ``book/04_gan.ipynb``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import gan_games
from .live import LiveDemo, Slider, sampler_demo
from .live_vae import ONE_PANEL, TWO_PANELS, exported, fit_box
from .nn import StackedMLP
from .tensors import extent_box, in_range, positive_int, validate

__all__ = ["GeneratorStep", "generator_live", "stack_models", "DiracStep", "dirac_live"]


class GeneratorStep(nn.Module):
    """The generators of a :class:`gencore.nn.StackedMLP` (2D noise to 2D points) as a live step.

    ``forward(x (N, 2) latent points, model (int64 scalar))`` returns ``G_model(x)`` (a float32 CPU
    copy of ``generator``, every model evaluated, one picked)."""

    input_names = ("x", "model")

    def __init__(self, generator: StackedMLP):
        super().__init__()
        if not isinstance(generator, StackedMLP):
            raise ValueError(f"generator must be a gencore.nn.StackedMLP; got {type(generator).__name__}")
        if generator.sizes[0] != 2 or generator.sizes[-1] != 2:
            raise ValueError(f"generator must map 2D noise to 2D points; got sizes {generator.sizes}")
        self.generator = copy.deepcopy(generator).to("cpu", torch.float32).eval().requires_grad_(False)

    def forward(self, x, model):
        return self.generator(x).index_select(0, model.reshape(1))[0]

    def example(self, n: int = 8) -> tuple:
        g = torch.Generator().manual_seed(0)
        return torch.randn(n, 2, generator=g, dtype=torch.float32), torch.tensor(self.generator.n_models - 1)


def generator_live(fallback, generator: StackedMLP, labels, ref: torch.Tensor, extent, *, start_model: int = 0,
                   zext=(-3.0, 3.0, -3.0, 3.0), n: int = 1000, colors: dict | None = None, label: str = "GAN",
                   title: str = "{model}: G(z); drag the ringed z") -> LiveDemo:
    """Two panels: ``n`` noise points ``z ~ N(0, I)`` (left) and the samples ``G(z)`` of the generator
    the slider picks (right, over the data ``ref`` in the box ``extent``); the ringed ``z`` can be
    dragged and its sample follows.

    Args:
        fallback: the frames' :class:`gencore.widgets.SliderDemo` (notebook, print, failed export).
        generator: the trained :class:`gencore.nn.StackedMLP`; ``labels``: one name per model.
        start_model: the slider's first position; ``zext``: the noise panel's box.
        label, title: the slider's label and the canvas title (``{model}``: the slider's name).
    """
    step = GeneratorStep(generator)
    labels = tuple(str(v) for v in labels)
    if len(labels) != generator.n_models:
        raise ValueError(f"labels must name each of the {generator.n_models} models; got {len(labels)}")
    in_range("start_model", positive_int("start_model", start_model, minimum=0), 0, generator.n_models - 1)
    validate("ref", ref, ndim=2, last_dim=2)
    extent, zext = fit_box(extent_box("extent", extent), TWO_PANELS), fit_box(extent_box("zext", zext), TWO_PANELS)
    sliders = [Slider("model", label, 0, generator.n_models - 1, 1, start_model, labels=labels, dtype="int64")]
    alt = ("Two panels. Left: a thousand noise points z drawn from N(0, I), with one ringed point that you can "
           "drag. Right: the trained generator's samples G(z), computed in your browser, over a pale backdrop "
           f"of the data, with the dragged point's sample; a slider picks the {label}.")
    return exported(sampler_demo(fallback, step, sliders=sliders, steps=1, times={1: [0, 0]}, extent=extent,
                                 start_extent=zext, ref=ref, n=n, start=(0.5, 0.5),
                                 title=title, alt=alt, colors=colors))


def stack_models(nets) -> StackedMLP:
    """One :class:`gencore.nn.StackedMLP` holding every model of ``nets`` (StackedMLPs of equal sizes
    and activation), in order: e.g. one generator's copies at several training steps, so that
    :class:`GeneratorStep`'s index becomes a slider over training. Float32, on the CPU.

    Example:
        >>> a = StackedMLP(2, (2, 4, 2), generator=torch.Generator().manual_seed(0))
        >>> stack_models([a, a.select(1)]).n_models
        3
    """
    nets = list(nets)
    if not nets or not all(isinstance(n, StackedMLP) for n in nets):
        raise ValueError("nets must be a non-empty sequence of gencore.nn.StackedMLP")
    if any(n.sizes != nets[0].sizes or n.activation != nets[0].activation for n in nets):
        raise ValueError("nets must share their layer sizes and activation")
    out = StackedMLP(sum(n.n_models for n in nets), nets[0].sizes, nets[0].activation, generator=torch.Generator(),
                     dtype=torch.float32)
    with torch.no_grad():
        for k, dst in enumerate(list(out.weights) + list(out.biases)):
            dst.copy_(torch.cat([(list(n.weights) + list(n.biases))[k].detach().to("cpu", torch.float32) for n in nets]))
    return out.requires_grad_(False)


class DiracStep(nn.Module):
    r"""One step of :func:`gencore.gan_games.dirac_step` on states ``x = (θ, ψ)``, the step size and
    the choice of scheme and game as inputs.

    ``forward(x (N, 2), h (float scalar), scheme, game (int64 scalars: indices into
    ``gan_games.SCHEMES`` and ``gan_games.GAMES``))``: every combination is stepped, one is picked.
    """

    input_names = ("x", "h", "scheme", "game")

    def forward(self, x, h, scheme, game):
        every = torch.stack([gan_games.dirac_step(x, h, s, g) for g in gan_games.GAMES for s in gan_games.SCHEMES])
        pick = (game * len(gan_games.SCHEMES) + scheme).reshape(1)
        return every.index_select(0, pick)[0]

    def example(self, n: int = 8) -> tuple:
        g = torch.Generator().manual_seed(0)
        return (torch.randn(n, 2, generator=g, dtype=torch.float32), torch.tensor(0.3, dtype=torch.float32),
                torch.tensor(1), torch.tensor(1))


def dirac_live(fallback, *, n: int = 1000, max_steps: int = 100, lim: float = 4.0,
               colors: dict | None = None) -> LiveDemo:
    """Gradient descent-ascent on the Dirac GAN, live: ``n`` starting states ``(θ, ψ) ~ N(0, I)`` and
    one draggable start (whose path is drawn) after any number of steps up to ``max_steps``, for any
    step size ``h`` in [0.01, 0.5], simultaneous or alternating, on the bilinear game or the GAN's.

    Args:
        fallback: the frames' :class:`gencore.widgets.SliderDemo` (notebook, print, failed export).
        lim: the plotted box is ``[-lim, lim]`` high (wider, to the canvas's shape); ``colors``: CSS colours (``"x"``, ``"path"``).
    """
    in_range("n", positive_int("n", n), 1, 5000)
    in_range("max_steps", positive_int("max_steps", max_steps), 1, 500)
    in_range("lim", lim, 0.0, None, low_open=True)
    sliders = [Slider("h", "step size h", 0.01, 0.5, 0.01, 0.15),
               Slider("steps", "steps", 1, max_steps, 1, min(40, max_steps), digits=0),
               Slider("scheme", "scheme", 0, 1, 1, 0, labels=gan_games.SCHEMES, dtype="int64"),
               Slider("game", "game", 0, 1, 1, 0, labels=gan_games.GAMES, dtype="int64")]
    alt = ("The plane of generator θ and discriminator ψ with a cloud of starting states and one ringed start "
           "that you can drag; its path under gradient descent-ascent, computed in your browser for the chosen "
           "step size, number of steps, scheme and game, spirals out (simultaneous) or circles (alternating).")
    return sampler_demo(fallback, DiracStep(), sliders=sliders, steps="steps",
                        times={k: [0] * (k + 1) for k in range(1, max_steps + 1)},
                        extent=fit_box((-lim, lim, -lim, lim), ONE_PANEL),
                        n=n, start=(1.0, 1.0), title="{scheme}, {game} game, h = {h}, {steps} steps; drag the ring",
                        alt=alt, colors=colors)
