"""The exercise checker of chapter 4 (GAN): it says what is wrong, never the answer."""
from __future__ import annotations

from typing import Callable

import torch

from . import Verdict, call_reader, float32_kept

__all__ = ["check_ns_generator_loss"]


def check_ns_generator_loss(ns_generator_loss: Callable[[torch.Tensor], torch.Tensor]) -> Verdict:
    r"""Check the non-saturating generator loss :math:`-\frac1m\sum_i \log\sigma(a_i)` from logits.

    The reader's function takes the discriminator's logits ``a`` on generated points, shape
    ``(m,)``, and returns the scalar loss, stable for any logit (``softplus(-a).mean()``).
    """
    a = torch.tensor([-3.0, -0.5, 0.0, 1.2, 4.0], dtype=torch.float64)

    def reference(a):
        return torch.nn.functional.softplus(-a).mean()

    out, err = call_reader(ns_generator_loss, a)
    if err:
        return Verdict(False, err + ".")
    if out.ndim != 0:
        return Verdict(False, f"for logits of shape {tuple(a.shape)} it returned shape {tuple(out.shape)}; "
                              "return one number, the average over the minibatch.")
    want = reference(a)
    got = out.to(want)
    if not torch.allclose(got, want, atol=1e-8):
        if torch.allclose(got, -torch.nn.functional.softplus(a).mean(), atol=1e-8):
            return Verdict(False, "this is the saturating (minimax) loss log(1 − D(G(z))). The non-saturating "
                                  "generator maximizes log D(G(z)) instead.")
        if torch.allclose(got, -want, atol=1e-8):
            return Verdict(False, "the sign is flipped: the loss to minimize is positive.")
        if torch.allclose(got, want * len(a), atol=1e-8):
            return Verdict(False, "you summed over the minibatch; average instead (divide by m).")
        if torch.allclose(got, torch.nn.functional.softplus(a).mean(), atol=1e-8):
            return Verdict(False, "you computed −log(1 − σ(a)), the discriminator's loss on fakes; the generator "
                                  "wants σ(a) = D(G(z)) close to 1.")
        return Verdict(False, f"on logits {a.tolist()} it returned {got.item():.6f}, which is not the "
                              "non-saturating loss.")
    extreme = torch.tensor([-800.0, 800.0], dtype=torch.float64)
    out, err = call_reader(ns_generator_loss, extreme)
    if err:
        return Verdict(False, "with logits ±800: " + err + ".")
    if not torch.isfinite(out).all() or abs(out.item() - 400.0) > 1e-6:
        return Verdict(False, f"with logits (−800, 800) it returned {out.item()}, which is not finite or not "
                              "the loss: σ(a) underflows to 0 for very negative a, and its log to −inf, exactly "
                              "when the discriminator confidently rejects a sample. Rewrite −log σ(a) so that "
                              "nothing overflows or underflows.")
    if (verdict := float32_kept(ns_generator_loss, a.float(), what="logits", result="loss")) is not None:
        return verdict
    return Verdict(True, "Your non-saturating loss matches −mean log σ(a), stays finite for any logit "
                         "and keeps the input dtype.")
