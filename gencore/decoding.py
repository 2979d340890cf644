r"""Chapter 10, continued: decoding strategies on a categorical conditional, and a toy language with an end token.

A sequence model gives at each position a categorical conditional :math:`p(\cdot \mid x_{<i})`
over a vocabulary that includes an **end token**; a sequence ends when the end token is drawn, so
its length is random. A *decoding strategy* replaces each conditional before drawing:

- **temperature** :math:`T`: :math:`q \propto p^{1/T}` (logits divided by :math:`T`);
- **top-k**: keep the :math:`k` most probable tokens, renormalize;
- **nucleus (top-p)**: keep the smallest set of most probable tokens whose mass reaches :math:`p`,
  renormalize.

:func:`decode_probs` returns the modified categorical exactly. :class:`BigramLanguage` is a
first-order chain over a few letters plus the end token, small enough that the distribution of
whole sequences under any strategy is computed exactly (expected visits of an absorbing chain).

Book: ``book/10_autoregressive.ipynb``.

References:
    Fan, Lewis & Dauphin (2018), Hierarchical neural story generation. ACL. (top-k)
    https://arxiv.org/abs/1805.04833
    Holtzman, Buys, Du, Forbes & Choi (2020), The curious case of neural text degeneration. ICLR.
    (nucleus sampling) https://arxiv.org/abs/1904.09751
"""
from __future__ import annotations

import math

import torch

from .tensors import in_range, positive, positive_int, validate

__all__ = ["decode_probs", "decode_sample", "BigramLanguage"]


def decode_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None) -> torch.Tensor:
    r"""The categorical a decoding strategy samples from, exactly: temperature, then top-k, then top-p.

    With :math:`q = \mathrm{softmax}(\ell / T)` sorted decreasingly as :math:`q_{(1)} \ge q_{(2)} \ge \dots`,
    top-k keeps :math:`q_{(1)}, \dots, q_{(k)}`; top-p keeps :math:`q_{(1)}, \dots, q_{(m)}` with
    :math:`m` the smallest index at which :math:`\sum_{j \le m} q_{(j)} \ge p` (computed on the
    distribution top-k left); the kept entries are divided by their sum, the rest are 0. Ties are
    broken by :func:`torch.sort`'s order.

    Args:
        logits: ``(..., V)`` unnormalized log-probabilities.
        temperature: :math:`T > 0`; ``top_k``: ``1 <= k <= V`` or ``None``; ``top_p``: ``0 < p <= 1`` or ``None``.

    Returns:
        ``(..., V)`` probabilities.

    Book: ``eq-ar-decoding``.

    Example:
        >>> decode_probs(torch.log(torch.tensor([0.5, 0.3, 0.2])), top_p=0.7)
        tensor([0.6250, 0.3750, 0.0000])
    """
    validate("logits", logits, min_ndim=1)
    positive("temperature", temperature)
    q = torch.softmax(logits / temperature, -1)
    if top_k is None and top_p is None:
        return q
    sq, order = q.sort(-1, descending=True)
    keep = torch.ones_like(sq, dtype=torch.bool)
    if top_k is not None:
        positive_int("top_k", top_k)
        if top_k > logits.shape[-1]:
            raise ValueError(f"top_k must be at most the vocabulary size {logits.shape[-1]}; got {top_k}")
        keep[..., top_k:] = False
        sq = sq * keep
        sq = sq / sq.sum(-1, keepdim=True)
    if top_p is not None:
        in_range("top_p", top_p, 0.0, 1.0, low_open=True)
        before = sq.cumsum(-1) - sq  # mass of the tokens ranked above each one
        keep = keep & (before < top_p)  # kept while the mass before it has not reached p
    sq = sq * keep
    return torch.zeros_like(q).scatter(-1, order, sq / sq.sum(-1, keepdim=True))


def decode_sample(logits: torch.Tensor, generator: torch.Generator | None = None, **strategy) -> torch.Tensor:
    """One token per row of ``logits (..., V)`` drawn from :func:`decode_probs` (``strategy`` its keywords)."""
    q = decode_probs(logits, **strategy)
    flat = q.reshape(-1, q.shape[-1])
    return torch.multinomial(flat.cpu(), 1, generator=generator).reshape(q.shape[:-1]).to(q.device)


class BigramLanguage:
    r"""A first-order chain over ``letters`` tokens and an end token, started from a start state.

    Row ``s`` of :attr:`logits` (``s = 0`` the start state, ``s = 1..V`` after letter ``s - 1``) is the
    conditional over the next token: letters ``0..V-1`` and the end token ``V``. A sequence is the
    letters drawn before the end token. Its probability under a strategy is the product of the
    modified conditionals, so everything about whole sequences follows from the chain
    :math:`Q` (``(V+1, V+1)``, letters to states): the expected number of visits to each state,
    :math:`n = e_0^\top (I - Q_{\text{letters}})^{-1}`, gives the mean length, the entropy of the
    sequence distribution :math:`\sum_s n_s H(Q_s)`, and its KL divergence to the model.

    Args:
        letters: vocabulary size ``V`` without the end token.
        end_logit: added to the end token's logit in every row after a letter (longer sequences for
            negative values); the start state cannot end at once.
        generator: draws the fixed logits (a ``torch.Generator``; the default seed 0 makes the book's
            language the same at every ``GENCORE_SEED``).

    Example:
        >>> lang = BigramLanguage(4)
        >>> seqs = lang.sample(3, torch.Generator().manual_seed(0))
        >>> len(seqs), round(lang.exact(top_k=2)["mean_length"], 3) > 1
        (3, True)
    """

    def __init__(self, letters: int = 6, end_logit: float = -1.0, scale: float = 2.0,
                 generator: torch.Generator | None = None):
        self.letters = positive_int("letters", letters, minimum=2)
        positive("scale", scale)
        if not math.isfinite(float(end_logit)):
            raise ValueError(f"end_logit must be finite; got {end_logit}")
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        logits = scale * torch.randn(letters + 1, letters + 1, generator=g, dtype=torch.float64)
        logits[1:, letters] += float(end_logit)
        logits[0, letters] = -1e4  # the start state draws a letter (exp underflows to exactly 0)
        self.logits = logits

    def chain(self, **strategy) -> torch.Tensor:
        """``(V+1, V+1)`` modified conditionals: row = state, column = next token (the last is the end token)."""
        return decode_probs(self.logits, **strategy)

    def exact(self, max_length: int = 200, **strategy) -> dict:
        r"""Exact sequence statistics under a strategy: ``mean_length``, ``entropy`` :math:`H(q)` of the
        sequences, ``kl`` :math:`\mathrm{KL}(q \,\|\, p)` to the model, ``log_p`` :math:`\mathbb E_q \log p(x)`
        (nats), and ``length_pmf`` (the probabilities of lengths ``1..max_length``)."""
        q, p = self.chain(**strategy), self.chain()
        V = self.letters
        moves = torch.zeros(V + 1, V + 1, dtype=q.dtype)
        moves[:, 1:] = q[:, :V]  # letter j leads to state j + 1
        visits, info = torch.linalg.solve_ex((torch.eye(V + 1, dtype=q.dtype) - moves).T, torch.eye(V + 1, dtype=q.dtype)[0])
        if info.item() != 0 or not bool(torch.isfinite(visits).all()) or bool((visits < 0).any()):
            raise ValueError("under this strategy some sequences never end: it cuts the end token from every "
                             "state of a cycle (greedy decoding can loop for ever)")
        logq, logp = q.clamp_min(1e-300).log(), p.clamp_min(1e-300).log()
        h_row = -(q * logq).sum(-1)
        kl_row = (q * (logq - logp)).sum(-1)
        lp_row = (q * torch.where(q > 0, logp, 0.0)).sum(-1)
        pmf, state = [], torch.eye(V + 1, dtype=q.dtype)[0] @ moves  # after the first letter
        for _ in range(positive_int("max_length", max_length)):
            pmf.append(float(state @ q[:, V]))
            state = state @ moves
        return dict(mean_length=float(visits.sum() - 1), entropy=float(visits @ h_row), kl=float(visits @ kl_row),
                    log_p=float(visits @ lp_row), length_pmf=torch.tensor(pmf))

    def sample(self, n: int, generator: torch.Generator | None = None, max_len: int = 200, **strategy) -> list:
        """``n`` sequences (tuples of letter indices) drawn token by token under a strategy."""
        positive_int("n", n)
        q = self.chain(**strategy)
        state, tokens = torch.zeros(n, dtype=torch.long), []
        for _ in range(max_len):
            tok = torch.multinomial(q[state], 1, generator=generator)[:, 0]
            tokens.append(tok)
            state = torch.where(tok < self.letters, tok + 1, state)
            if bool((torch.stack(tokens) == self.letters).any(0).all()):
                break
        tokens = torch.stack(tokens, 1)  # (n, steps); everything after the first end token is ignored
        ended = tokens == self.letters
        length = torch.where(ended.any(1), ended.int().argmax(1), tokens.shape[1])
        return [tuple(row[:k]) for row, k in zip(tokens.tolist(), length.tolist())]

    def log_prob(self, seqs, **strategy) -> torch.Tensor:
        """``(n,)`` log-probabilities of complete sequences (end token included) under a strategy."""
        logq = self.chain(**strategy).log()
        if len(seqs) == 0:
            return logq.new_zeros(0)
        width = max(len(x) for x in seqs) + 1
        tokens = torch.full((len(seqs), width), -1, dtype=torch.long)
        for i, x in enumerate(seqs):
            tokens[i, :len(x) + 1] = torch.tensor(list(x) + [self.letters], dtype=torch.long)
        states = torch.cat([torch.zeros(len(seqs), 1, dtype=torch.long), tokens[:, :-1] + 1], 1)
        used = tokens >= 0
        terms = logq[states.clamp(0, self.letters), tokens.clamp_min(0)]
        return torch.where(used, terms, 0.0).sum(1)
