"""Bad-input cases for gencore.live_vae (chapter 3's live demos)."""
from __future__ import annotations

import torch

from gencore import live_vae, widgets
from gencore.vae import VAE

from . import Case


def _vae(m=3):
    return VAE(m, 2, 2, hidden=8, generator=torch.Generator().manual_seed(0), dtype=torch.float32)


def _slider():
    return widgets.slider(lambda fig, a: None, a=(0, 1), alt="an empty stand-in frame at a = {a}")


def _ref():
    return torch.randn(30, 2, generator=torch.Generator().manual_seed(1))


CASES = [
    Case("live_vae.DecoderStep", lambda: dict(vae=_vae())),
    Case("live_vae.decoder_live", lambda: dict(fallback=_slider(), vae=_vae(), ref=_ref(), extent=(-3.0, 3.0, -2.0, 2.0),
                                               labels=("a", "b", "c"), start_model=1, n=20),
         ranges={"n": (1, 5000), "start_model": (0, 2)}),
    Case("live_vae.fit_box", lambda: dict(box=(-1.0, 1.0, -2.0, 2.0), ratio=1.5), ranges={"ratio": (0.0, None)}),
]
EXEMPT = {
    "normalise_transposes": "its one argument is ONNX bytes from export_step (nothing numeric to spoil); "
                            "tests/test_live_vae.py runs what it returns in onnxruntime against gencore",
    "exported": "its one argument is a LiveDemo, checked by type (nothing numeric to spoil); "
                "tests/test_live_vae.py covers a failed rewrite leaving the frames",
}
