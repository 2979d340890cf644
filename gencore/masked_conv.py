r"""Chapter 10, continued: masked convolutions (PixelCNN) and their receptive fields.

A PixelCNN computes every conditional :math:`q(x_i \mid x_{<i})` of an image in raster order with
one stack of convolutions whose kernels are zeroed at and after the centre. The first layer's
mask is of **type A** (the centre is masked too: output ``i`` must not see input ``i``); later
layers use **type B** (the centre is kept: a hidden unit at ``i`` may see the unit at ``i`` of the
previous layer, which itself saw only pixels before ``i``). Stacking such kernels leaves a
**blind spot**: pixels above and to the right that come earlier in raster order but that no path
of kernel offsets reaches. What a receptive field costs is exact on a distribution whose support
can be listed: :func:`context_floor` is the least expected NLL of any model whose factor ``i``
reads only a given set of earlier pixels.

Names and symbols: ``side`` the image's side, ``D = side**2`` pixels in raster order, pixel
``i = r * side + c`` at row ``r``, column ``c``.

Book: ``book/10_autoregressive.ipynb``.

References:
    van den Oord, Kalchbrenner & Kavukcuoglu (2016), Pixel recurrent neural networks. ICML.
    https://arxiv.org/abs/1601.06759
    van den Oord et al. (2016), Conditional image generation with PixelCNN decoders. NeurIPS.
    https://arxiv.org/abs/1606.05328
"""
from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import nn

from .tensors import function, one_of, positive_int, uniform, validate

__all__ = ["conv_mask", "MaskedConv2d", "PixelCNN", "input_jacobian", "receptive_field", "reachable", "context_floor"]


def conv_mask(kernel: int, mask_type: str = "A") -> torch.Tensor:
    r"""The ``(kernel, kernel)`` 0/1 mask of a raster-order convolution: 1 on the rows above the centre and
    left of the centre on its row; the centre itself is 1 for type ``"B"`` and 0 for type ``"A"``.

    Book: ``eq-ar-conv-mask``.

    Example:
        >>> conv_mask(3, "A")
        tensor([[1., 1., 1.],
                [1., 0., 0.],
                [0., 0., 0.]])
    """
    positive_int("kernel", kernel)
    if kernel % 2 == 0:
        raise ValueError(f"kernel must be odd (a centre pixel); got {kernel}")
    one_of("mask_type", mask_type, ("A", "B"))
    m, c = torch.zeros(kernel, kernel), kernel // 2
    m[:c] = 1
    m[c, :c] = 1
    m[c, c] = 1.0 if mask_type == "B" else 0.0
    return m


class MaskedConv2d(nn.Conv2d):
    """A same-padded ``kernel x kernel`` convolution whose weight is multiplied by :func:`conv_mask` (a buffer).

    The mask is the same for every (input channel, output channel) pair: one colour channel.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, mask_type: str = "B", *,
                 dtype=None, device=None):
        mask = conv_mask(kernel, mask_type)
        positive_int("in_channels", in_channels)
        positive_int("out_channels", out_channels)
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2, dtype=dtype, device=device)
        self.register_buffer("mask", mask.to(self.weight)[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nnf.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(nn.Module):
    r"""A Bernoulli PixelCNN on binary ``side x side`` images: one type-A layer, ``layers - 1`` type-B
    layers (``kernel x kernel``, ``channels`` wide, ReLU), then a 1x1 convolution to one logit per pixel.

    Args:
        side: image side; images are passed flattened in raster order, ``(N, side**2)``.
        channels, layers, kernel: width, number of masked layers, kernel size.

    Book: ``eq-ar-conv-mask``.

    Example:
        >>> net = PixelCNN(side=4, channels=8, layers=2)
        >>> x = net.sample(3, torch.Generator().manual_seed(0))  # 16 passes, one per pixel
        >>> x.shape, net.log_prob(x).shape
        (torch.Size([3, 16]), torch.Size([3]))
    """

    def __init__(self, side: int, channels: int = 16, layers: int = 4, kernel: int = 3, *, dtype=None, device=None):
        super().__init__()
        self.side = positive_int("side", side, minimum=2)
        positive_int("layers", layers)
        kw = dict(dtype=dtype, device=device)
        mods = [MaskedConv2d(1, channels, kernel, "A", **kw)]
        for _ in range(layers - 1):
            mods += [nn.ReLU(), MaskedConv2d(channels, channels, kernel, "B", **kw)]
        mods += [nn.ReLU(), nn.Conv2d(channels, 1, 1, **kw)]
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(N, D)`` logits: entry ``i`` is the logit of :math:`q(x_i = 1 \mid x_{<i})`."""
        validate("x", x, ndim=2, last_dim=self.side ** 2)
        s = self.side
        return self.net(x.reshape(-1, 1, s, s)).reshape(-1, s * s)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` exact log-probabilities of binary ``x (N, D)``, all conditionals in one pass."""
        return -nnf.binary_cross_entropy_with_logits(self(x), x, reduction="none").sum(-1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, D)`` samples, one pixel per pass in raster order (``D`` passes)."""
        positive_int("n", n)
        w = self.net[0].weight
        x = w.new_zeros(n, self.side ** 2)
        for i in range(x.shape[1]):
            p = torch.sigmoid(self(x)[:, i])
            x[:, i] = (uniform(n, w, generator) < p).to(w.dtype)
        return x


def input_jacobian(fn, x: torch.Tensor) -> torch.Tensor:
    r"""The ``(D, D)`` Jacobian :math:`J_{ij} = \partial\,\text{fn}(x)_i / \partial x_j` of a map of one
    flattened image ``x`` ``(D,)`` to ``(D,)`` outputs, by autograd (one backward pass per output)."""
    validate("x", x, ndim=1)
    function("fn", fn, "(1, D) -> (1, D)")
    return torch.autograd.functional.jacobian(lambda z: fn(z[None])[0], x)


def receptive_field(fn, side: int, pixel: int, x: torch.Tensor | None = None) -> torch.Tensor:
    r"""``(side, side)`` booleans: which input pixels the output at ``pixel`` depends on
    (:math:`\partial\,\text{fn}(x)_{\text{pixel}} / \partial x_j \ne 0`), at the image ``x`` ``(D,)``
    (a fixed non-binary image when ``None``, so that no ReLU is dead by accident of the input).

    A nonzero gradient shows a dependence; a zero one, at a generic input and generic weights, shows
    that no path of the network connects the two pixels.
    """
    positive_int("side", side, minimum=2)
    positive_int("pixel", pixel, minimum=0)
    if pixel >= side * side:
        raise ValueError(f"pixel must be below side**2 = {side * side}; got {pixel}")
    function("fn", fn, "(1, D) -> (1, D)")
    if x is None:
        x = torch.linspace(-1.0, 1.0, side * side, dtype=torch.float64).sin() + 0.5
    x = validate("x", x, ndim=1).detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x[None])[0, pixel], x)
    return (grad != 0).reshape(side, side)


def reachable(side: int, pixel: int, depth: int, kernel: int = 3) -> torch.Tensor:
    r"""``(side, side)`` booleans: the input pixels that some chain of kernel offsets connects to ``pixel``'s
    output after ``depth`` masked layers (the first of type A, the rest of type B), without any network.

    The offsets a layer may use are the 1s of its :func:`conv_mask` (row offset :math:`a \le 0`, and
    :math:`b < 0` where :math:`a = 0`); the reachable offsets after ``depth`` layers are all sums of one
    offset per layer. This is the receptive field that :func:`receptive_field` measures by autograd.

    Book: ``eq-ar-blind-spot``.
    """
    positive_int("side", side, minimum=2)
    positive_int("pixel", pixel, minimum=0)
    positive_int("depth", depth)
    if pixel >= side * side:
        raise ValueError(f"pixel must be below side**2 = {side * side}; got {pixel}")
    h = kernel // 2
    offsets = {}
    for kind in ("A", "B"):
        m = conv_mask(kernel, kind)
        offsets[kind] = [(a - h, b - h) for a in range(kernel) for b in range(kernel) if m[a, b] > 0]
    reach = set(offsets["A"])
    for _ in range(depth - 1):
        reach = {(a + da, b + db) for a, b in reach for da, db in offsets["B"]}
    r, c = divmod(pixel, side)
    field = torch.zeros(side, side, dtype=torch.bool)
    for a, b in reach:
        if 0 <= r + a < side and 0 <= c + b < side:
            field[r + a, c + b] = True
    return field


def context_floor(support: torch.Tensor, probs: torch.Tensor, visible: torch.Tensor) -> float:
    r""":math:`\sum_i H(X_i \mid X_{S_i})` in nats, for the discrete distribution with atoms ``support``
    ``(M, D)`` and probabilities ``probs`` ``(M,)``, where :math:`S_i` is row ``i`` of the ``(D, D)`` booleans
    ``visible`` (strictly lower triangular: factor ``i`` reads some of the coordinates before it).

    No model :math:`q(x) = \prod_i q_i(x_i \mid x_{S_i})` has an expected NLL below it (Gibbs' inequality,
    factor by factor), and the data's own conditionals reach it. With every :math:`S_i = \{j < i\}` it is
    :math:`H(p)` (the chain rule).

    Book: ``eq-ar-context-floor``.

    Example:
        >>> x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])  # two coins that always agree
        >>> p = torch.tensor([0.5, 0.5])
        >>> sees = torch.tensor([[False, False], [True, False]])
        >>> round(context_floor(x, p, sees), 4), round(context_floor(x, p, torch.zeros(2, 2, dtype=torch.bool)), 4)
        (0.6931, 1.3863)
    """
    validate("support", support, ndim=2)
    M, D = support.shape
    validate("probs", probs, ndim=1)
    if len(probs) != M:
        raise ValueError(f"probs must have one entry per atom of support ({M}); got {len(probs)}")
    if not bool((probs > 0).all()) or abs(float(probs.sum()) - 1.0) > 1e-6:
        raise ValueError("probs must be positive and sum to one")
    if visible.dtype != torch.bool or visible.shape != (D, D):
        raise ValueError(f"visible must be a ({D}, {D}) boolean tensor; got {tuple(visible.shape)}, {visible.dtype}")
    if bool(visible.cpu().triu().any()):
        raise ValueError("visible must be strictly lower triangular: factor i may read only coordinates j < i")

    def joint_entropy(columns: list[int]) -> torch.Tensor:
        if not columns:
            return probs.new_zeros(())
        _, atom = support[:, columns].unique(dim=0, return_inverse=True)
        mass = probs.new_zeros(int(atom.max()) + 1).index_add_(0, atom, probs)
        return -(mass * mass.log()).sum()

    total = probs.new_zeros(())
    for i, row in enumerate(visible.cpu()):
        seen = torch.nonzero(row).flatten().tolist()
        total = total + joint_entropy(seen + [i]) - joint_entropy(seen)
    return total.item()
