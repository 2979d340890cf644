"""Bad-input cases for gencore.decoding (see tests/guards/__init__.py)."""
from __future__ import annotations

import torch

from gencore import decoding as Dd

from . import Case

F64 = torch.float64


def _logits():
    return torch.tensor([[1.0, 0.5, -0.3, 2.0], [0.0, 0.1, 0.2, 0.3]], dtype=F64)


CASES = [
    Case("decoding.decode_probs", lambda: dict(logits=_logits(), temperature=0.8, top_k=3, top_p=0.9),
         ranges={"temperature": (0.0, None), "top_k": (1, 4), "top_p": (0.0, 1.0)},
         accepts={"logits": ("extra_dim",)}),  # any leading shape: the last axis is the vocabulary
    Case("decoding.decode_sample", lambda: dict(logits=_logits(), temperature=0.8, top_k=3, top_p=0.9),
         call=lambda **kw: Dd.decode_sample(generator=torch.Generator().manual_seed(0), **kw),
         ranges={"temperature": (0.0, None), "top_k": (1, 4), "top_p": (0.0, 1.0)},
         accepts={"logits": ("extra_dim",)}),  # as decode_probs
    Case("decoding.BigramLanguage", lambda: dict(letters=3, end_logit=-1.0, scale=2.0),
         ranges={"letters": (2, None), "scale": (0.0, None)}),
]
EXEMPT: dict = {}
