"""Bad-input cases for gencore.live_divergences (chapter 1's live demo)."""
from __future__ import annotations

from gencore import live_divergences, widgets

from . import Case


def _slider():
    return widgets.slider(lambda fig, mu: None, mu=(0.0, 1.0), alt="an empty stand-in frame at mu = {mu}")


CASES = [
    Case("live_divergences.gaussian_pair_live", lambda: dict(fallback=_slider(), colors={"p": "#000", "q": "#f00"}, m=50),
         ranges={"m": (2, 5000)}),
]
EXEMPT = {
    "GaussianPairStep": "no arguments; tests/test_live_divergences.py runs its export against gencore",
}
