"""Bad-input cases for gencore.live_gan (chapter 4's live demos)."""
from __future__ import annotations

import torch

from gencore import live_gan, widgets
from gencore.nn import StackedMLP

from . import Case


def _gen(m=3):
    return StackedMLP(m, (2, 8, 2), "leaky_relu", generator=torch.Generator().manual_seed(0), dtype=torch.float32)


def _slider():
    return widgets.slider(lambda fig, a: None, a=(0, 1), alt="an empty stand-in frame at a = {a}")


CASES = [
    Case("live_gan.GeneratorStep", lambda: dict(generator=_gen())),
    Case("live_gan.generator_live", lambda: dict(fallback=_slider(), generator=_gen(), labels=("a", "b", "c"),
                                                 ref=torch.randn(30, 2, generator=torch.Generator().manual_seed(1)),
                                                 extent=(-3.0, 3.0, -3.0, 3.0), start_model=2, n=20),
         ranges={"n": (1, 5000), "start_model": (0, 2)}),
    Case("live_gan.dirac_live", lambda: dict(fallback=_slider(), n=20, max_steps=10, lim=4.0),
         ranges={"n": (1, 5000), "max_steps": (1, 500), "lim": (0.0, None)}),
]
EXEMPT = {
    "stack_models": "its one argument is a list of StackedMLPs, checked by type, sizes and activation (nothing "
                    "numeric to spoil); tests/test_live_gan.py checks the stack against its parts",
    "DiracStep": "it takes no arguments; tests/test_live_gan.py runs its export against gencore.gan_games.dirac_step",
}
