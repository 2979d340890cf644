r"""Chapter 5's stacks of one kind of layer, computed fast: planar or radial layers whose parameters
are stacked along a leading axis of length K, applied in turn as one *chain*.

A :class:`gencore.flows.Flow` moves points through its layers with vectors, one layer module at a
time, which is the clear way to write it. The chapter trains 30 planar flows of up to 32 layers
on 2D points at once; there nearly all of the time goes to launching small tensor operations, so
the chains compute the same map with as few of them as possible:

- one coordinate at a time: ``D`` slices of the points, each moved by one fused multiply-add per
  layer, instead of vectors and reductions over a dimension of size ``D``;
- each member of a batch only through its own layers: the members are put in order of
  decreasing depth, so those still moving at layer ``k`` are the first ones, and the others are
  set aside rather than computed and masked;
- the planar chain's backward pass written out by hand (:class:`_PlanarSegment`), with
  :math:`\tanh a` computed as :math:`2\sigma(2a) - 1` (torch's CPU ``tanh`` is several times slower
  than its ``sigmoid``);
- without gradients (densities on large grids), in chunks of 8192 points.

``Flow.forward`` uses a chain for a stack of planar (or radial) layers only; ``tests/test_flows.py``
checks both chains against the layers, values and gradients, in float64.

Book: ``book/05_flows.ipynb``.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .flow_layers import planar_u_hat, radial_alpha_beta
from .tensors import validate

__all__ = ["planar_chain", "radial_chain"]


def planar_chain(z: torch.Tensor, w: torch.Tensor, u: torch.Tensor, b: torch.Tensor,
                 depth: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""K planar layers applied in turn, their parameters stacked: :math:`(f_K \circ \dots \circ f_1(z),\ \sum_k \mathrm{ladj}_k)`.

    Layer :math:`k` is :math:`f_k(z) = z + \hat u_k \tanh(w_k^\top z + b_k)` with
    :math:`\mathrm{ladj}_k = \log(1 + (1 - \tanh^2)\, w_k^\top \hat u_k)`: a
    :class:`~gencore.flow_layers.Planar` layer, whose raw parameters these are (the argument of the
    log is positive as :math:`w_k^\top \hat u_k > -1`). The same map as a ``Flow`` of those layers.

    Args:
        z: ``(..., *batch, D)`` points.
        w, u: ``(K, *batch, D)``: layer ``k``'s raw ``w`` and ``u`` at index ``k``.
        b: ``(K, *batch)``.
        depth: optional integer tensor of shape ``batch``: member ``b`` uses only its first
            ``depth[b]`` layers (as ``Flow``'s ``depth``). ``None``: all ``K``.

    Returns:
        ``(x, ladj)`` of shapes ``(..., *batch, D)`` and ``(..., *batch)``.

    Book: ``eq-flows-planar``, ``eq-flows-planar-logdet``, ``eq-flows-composition``.
    """
    _stacked(z, ("w", "u", "b"), w, [b], depth)
    if tuple(u.shape) != tuple(w.shape):
        raise ValueError(f"w and u must have the same shape; got {tuple(w.shape)} and {tuple(u.shape)}")
    u_hat = planar_u_hat(w, u)
    c = (w * u_hat).sum(-1)  # (K, *batch): w_k^T û_k > -1
    return _chain(z, [*w.unbind(-1), *u_hat.unbind(-1), b, c], depth, _planar_segment)


def radial_chain(z: torch.Tensor, center: torch.Tensor, alpha_raw: torch.Tensor, beta_raw: torch.Tensor,
                 depth: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""K radial layers applied in turn, their parameters stacked (as :func:`planar_chain`, for
    :class:`~gencore.flow_layers.Radial`).

    Layer :math:`k` is :math:`f_k(z) = z + \beta_k h_k (z - c_k)`, :math:`h_k = 1/(\alpha_k + \|z - c_k\|)`,
    with :math:`\mathrm{ladj}_k = (D - 1)\log(1 + \beta_k h_k) + \log(1 + \alpha_k\beta_k h_k^2)`.

    Args:
        z: ``(..., *batch, D)`` points.
        center: ``(K, *batch, D)``; alpha_raw, beta_raw: ``(K, *batch)`` (``radial_alpha_beta``).
        depth: optional integer tensor of shape ``batch``: member ``b`` uses only its first ``depth[b]`` layers.

    Returns:
        ``(x, ladj)`` of shapes ``(..., *batch, D)`` and ``(..., *batch)``.

    Book: ``eq-flows-radial``, ``eq-flows-radial-logdet``, ``eq-flows-composition``.
    """
    _stacked(z, ("center", "alpha_raw", "beta_raw"), center, [alpha_raw, beta_raw], depth)
    alpha, beta = radial_alpha_beta(alpha_raw, beta_raw)
    return _chain(z, [*center.unbind(-1), alpha, beta], depth, _radial_segment)


def _stacked(z, names: tuple[str, ...], vector: torch.Tensor, scalars: Sequence[torch.Tensor], depth) -> None:
    """Check a chain's arguments: ``vector`` ``(K, *batch, D)``, ``scalars`` ``(K, *batch)``, ``z`` ``(..., *batch, D)``."""
    validate("z", z, min_ndim=1)
    validate(names[0], vector, min_ndim=2)
    for name, v in zip(names[1:], scalars):
        validate(name, v)
    for name, v in zip(names[1:], scalars):
        if tuple(v.shape) != tuple(vector.shape[:-1]):
            raise ValueError(f"{' and '.join(names)} must share their shape (K, *batch) (plus D for {names[0]}); "
                             f"got {tuple(vector.shape)} and {name} {tuple(v.shape)}")
    tail = tuple(vector.shape[1:])
    if z.ndim < len(tail) or tuple(z.shape[z.ndim - len(tail):]) != tail:
        raise ValueError(f"z must have shape (..., {', '.join(map(str, tail))}) to match {names[0]}; got {tuple(z.shape)}")
    if depth is not None and (not isinstance(depth, torch.Tensor) or depth.is_floating_point()
                              or tuple(depth.shape) != tail[:-1] or bool((depth < 0).any())):
        raise ValueError(f"depth must be a tensor of non-negative ints of shape {tail[:-1]}; got {depth!r}")


def _chain(z: torch.Tensor, params: list[torch.Tensor], depth, segment):
    """Apply K layers in turn. ``params``: each ``(K, *batch)``; ``segment(zs, p) -> (zs, ladj)`` applies
    consecutive layers to the coordinates ``zs`` (``D`` tensors ``(..., m)``, the first ``m`` members)
    with their parameters ``p`` (each ``(L, m)``)."""
    K, batch = params[0].shape[0], params[0].shape[1:]
    lead, B = z.shape[: z.ndim - 1 - len(batch)], batch.numel()
    if not torch.is_grad_enabled() and lead and lead[0] > 8192:
        outs = [_chain(z[i:i + 8192], params, depth, segment) for i in range(0, lead[0], 8192)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
    zs = [zi.reshape(lead + (B,)) for zi in z.unbind(-1)]
    ps = [p.reshape(K, B) for p in params]
    depths = [K] * B if depth is None else [min(int(d), K) for d in depth.reshape(B).tolist()]
    order = sorted(range(B), key=lambda i: -depths[i])
    if order != list(range(B)):
        perm = torch.tensor(order, device=z.device)
        zs, ps = [zi.index_select(-1, perm) for zi in zs], [p.index_select(1, perm) for p in ps]
        depths = [depths[i] for i in order]
    total, done, m = z.new_zeros(lead + (B,)), [], B
    for k0 in sorted(d for d in set(depths) | {0} if d < K):
        m_k = sum(d > k0 for d in depths)  # members still moving from layer k0 on
        if m_k < m:  # the others are finished: set them aside
            done.append(([zi[..., m_k:m] for zi in zs], total[..., m_k:m]))
            zs, total, m = [zi[..., :m_k] for zi in zs], total[..., :m_k], m_k
        if m == 0:
            break
        k1 = depths[m - 1]  # the next depth at which a member finishes
        zs, ladj = segment(zs, [p[k0:k1, :m] for p in ps])
        total = total + ladj
    for part_zs, part_total in reversed(done):
        zs, total = [torch.cat([zi, pi], -1) for zi, pi in zip(zs, part_zs)], torch.cat([total, part_total], -1)
    x = torch.stack(zs, -1)
    if order != list(range(B)):
        back = torch.argsort(perm)
        x, total = x.index_select(-2, back), total.index_select(-1, back)
    return x.reshape(z.shape), total.reshape(lead + batch)


def _planar_segment(zs, p):
    """Planar layers on coordinates ``zs``; ``p`` = ``(w_1..w_D, û_1..û_D, b, wᵀû)``, each ``(L, m)``."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in (*zs, *p)):
        out = _PlanarSegment.apply(*zs, *p)
        return list(out[:-1]), out[-1]
    return _planar_forward(zs, p)[:2]


@torch.no_grad()
def _planar_forward(zs, p, keep: bool = False):
    """The planar layers' forward pass; with ``keep``, each layer's input, ``h``, ``h'`` and ``c h'``."""
    dim = len(zs)
    ws, us = [t.unbind(0) for t in p[:dim]], [t.unbind(0) for t in p[dim:2 * dim]]
    bs, cs, one = p[2 * dim].unbind(0), p[2 * dim + 1].unbind(0), zs[0].new_ones(())
    saved, total = [], 0
    for k in range(len(bs)):
        a = bs[k]
        for zi, wi in zip(zs, ws):
            a = torch.addcmul(a, zi, wi[k])  # w^T z + b
        h = torch.sigmoid_(a.mul_(2)).mul_(2).sub_(1)  # tanh(a) = 2 sigmoid(2a) - 1, in place
        q = torch.addcmul(one, h, h, value=-1)  # h' = 1 - h^2
        cq = q * cs[k]
        total = total + torch.log1p(cq)  # log(1 + h' w^T û), and 1 + h' w^T û > 0 as w^T û > -1
        if keep:
            saved.append((zs, h, q, cq))
        zs = [torch.addcmul(zi, h, ui[k]) for zi, ui in zip(zs, us)]
    return zs, total, saved


class _PlanarSegment(torch.autograd.Function):
    r"""Planar layers with their backward pass written out. Layer :math:`k`: :math:`a = w^\top z + b`,
    :math:`h = \tanh a`, :math:`q = 1 - h^2`, :math:`x = z + \hat u h`, :math:`\ell = \log(1 + c q)`,
    :math:`c = w^\top \hat u`. With :math:`g` the gradient at the layer's output and :math:`\bar\ell`
    that of the summed log-determinants (the same for every layer), :math:`t = \bar\ell/(1 + c q)`:

    :math:`\partial L/\partial h = g^\top \hat u - 2 c\, t h`, :math:`\partial L/\partial a = q\,\partial L/\partial h`,
    :math:`\partial L/\partial z = g + w\,\partial L/\partial a`; summed over the samples,
    :math:`\partial L/\partial \hat u = g h`, :math:`\partial L/\partial w = z\,\partial L/\partial a`,
    :math:`\partial L/\partial b = \partial L/\partial a` and :math:`\partial L/\partial c = t q`.
    """

    @staticmethod
    def forward(ctx, *args):
        dim = (len(args) - 2) // 3
        zs, total, ctx.layers = _planar_forward(list(args[:dim]), args[dim:], keep=True)
        ctx.save_for_backward(*args[dim:])
        return (*zs, total)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        dim, p, layers = len(grads) - 1, ctx.saved_tensors, ctx.layers
        ws, us = [t.unbind(0) for t in p[:dim]], [t.unbind(0) for t in p[dim:2 * dim]]
        m2c, h0 = (-2 * p[-1]).unbind(0), layers[0][1]
        over = tuple(range(h0.ndim - 1))  # the sample dimensions, summed for the parameters
        gs = [torch.zeros_like(h0) if g is None else g for g in grads[:dim]]
        gl = torch.zeros_like(h0) if grads[dim] is None else grads[dim]
        g_w, g_u = [[None] * len(layers) for _ in range(dim)], [[None] * len(layers) for _ in range(dim)]
        g_b, g_c = [None] * len(layers), [None] * len(layers)
        for k in reversed(range(len(layers))):
            zs, h, q, cq = layers[k]
            t = gl / (1 + cq)
            g_c[k] = (t * q).sum(over)
            dh = (t * h).mul_(m2c[k])
            for i, gi in enumerate(gs):
                dh.addcmul_(gi, us[i][k])
                g_u[i][k] = (gi * h).sum(over)
            da = dh.mul_(q)
            g_b[k] = da.sum(over)
            for i, zi in enumerate(zs):
                g_w[i][k] = (da * zi).sum(over)
            gs = [torch.addcmul(gi, da, wi[k]) for gi, wi in zip(gs, ws)]
        return (*gs, *[torch.stack(v) for v in g_w], *[torch.stack(v) for v in g_u], torch.stack(g_b), torch.stack(g_c))


def _radial_segment(zs, p):
    """Radial layers on coordinates ``zs``; ``p`` = ``(c_1..c_D, α, β)``, each ``(L, m)``."""
    dim = len(zs)
    cs, alphas, betas = [t.unbind(0) for t in p[:dim]], p[dim].unbind(0), p[dim + 1].unbind(0)
    total = 0
    for k in range(len(alphas)):
        d = [zi - ci[k] for zi, ci in zip(zs, cs)]
        r = torch.hypot(*d) if dim == 2 else torch.stack(d).square().sum(0).sqrt()  # |z - c|
        h = 1 / (alphas[k] + r)
        bh = betas[k] * h
        lin = torch.log1p(bh)
        total = total + (lin if dim == 2 else (dim - 1) * lin) + torch.log1p(bh * h * alphas[k])
        zs = [torch.addcmul(zi, bh, di) for zi, di in zip(zs, d)]
    return zs, total
