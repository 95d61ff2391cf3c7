"""Layer arithmetic: output sizes, parameters, memory, multiply-adds and receptive fields.

The lectures teach convolutional networks through tables: the output volume of every
layer, how many parameters it holds, how much memory one image needs on the way forward.
This module computes every number in those tables, so a notebook can print them and a
test can assert them.

Conventions used everywhere in this file:

* A volume is ``(C, H, W)`` (channels first, as in PyTorch); after flattening it is ``(D,)``.
  Printed tables show ``H×W×C`` like the lecture slides do.
* Filters and pooling windows are square (``kernel`` is one int), strides and padding are
  the same along both axes.
* "Multiply-adds" (MACs) count one multiplication plus one addition as one operation.
  Only convolutions and fully connected layers cost MACs here; pooling, normalisation,
  ReLU, additions and concatenations are counted as 0 (they are cheap next to a conv).
* Memory is counted in values ("activations") and in bytes (values × ``bytes_per_value``,
  4 for float32). A layer that hands back its own input (an in-place ReLU, a dropout layer
  at test time, a flatten that is just a view) stores no new values and counts 0.

The building blocks:

* :func:`conv_output_size` -- the ``(N - F + 2P) / S + 1`` rule, strict about fitting.
* :func:`receptive_field` -- size, jump and start of the field seen by one output.
* Layer specs (:class:`Conv`, :class:`Pool`, :class:`FC`, ...) -- plain dataclasses that
  describe a network without building it.
* :func:`summarize` -- a per-layer table (:class:`Summary`) for a list of specs *or* a
  ``torch.nn.Module``; :func:`compare` checks two summaries against each other.

The architectures of the lectures (LeNet-5, AlexNet, ZFNet, VGG, GoogLeNet's inception
module, ResNet stages, AlphaGo's policy network) are spec lists in
``cs231n_lib/arithmetic_specs.py``; they can be imported from this module too.
"""

from __future__ import annotations

import html
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

__all__ = [
    "conv_output_size", "same_padding", "receptive_field", "ReceptiveField", "FieldStep",
    "stacked_receptive_field", "stack_vs_single_weights",
    "Conv", "Pool", "FC", "ReLU", "Norm", "LRN", "BatchNorm", "Flatten", "GlobalAvgPool",
    "Concat", "Inception", "Residual", "basic_block", "bottleneck_block",
    "SpecList", "Row", "Summary", "summarize", "compare", "ModuleCost", "inception_cost",
]   # plus the spec lists of arithmetic_specs.py, reachable from here (see the end of the file)


# ---------------------------------------------------------------------------------------
# 1. The output-size rule
# ---------------------------------------------------------------------------------------

def _as_int(value: Any, what: str, minimum: int) -> int:
    """``value`` as a Python int >= ``minimum``; TypeError/ValueError naming ``what`` otherwise."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {number}")
    return number


def conv_output_size(n: int, f: int, stride: int = 1, pad: int = 0, dilation: int = 1,
                     rounding: str = "exact") -> int:
    """Output width of a convolution or pooling window sliding over an ``n``-wide input.

    The rule is ``(N - F + 2P) / S + 1``, where a dilated filter spans
    ``F = dilation * (f - 1) + 1`` input pixels. Pooling uses the same rule.

    Args:
        n: input width (or height). f: filter width. stride, pad, dilation: as in the layer.
        rounding: "exact" (default) insists that the windows tile the padded input, as the
            lectures do. "floor" is what PyTorch does when they do not: the last rows that
            no full window reaches are dropped (ResNet's stride-2 3×3 convs on 56 pixels:
            (56 - 3 + 2) / 2 + 1 = 28.5 -> 28). "ceil" is ``ceil_mode=True`` pooling (Caffe,
            GoogLeNet): one more, partial window, unless it would start in the right padding.

    Returns the output width, an int >= 1.

    Raises:
        TypeError if an argument is not an integer.
        ValueError if an argument is out of range, if the filter is wider than the padded
        input, or if the stride does not tile the padded input exactly (the lecture's
        "doesn't fit": a 3-wide filter at stride 3 over a 7-wide input gives 2.33). The
        message lists input widths and paddings that would fit.
    """
    n = _as_int(n, "input size", 1)
    f = _as_int(f, "filter size", 1)
    stride = _as_int(stride, "stride", 1)
    pad = _as_int(pad, "padding", 0)
    dilation = _as_int(dilation, "dilation", 1)
    span = dilation * (f - 1) + 1                 # input pixels one dilated filter covers
    padded = n + 2 * pad
    what = f"{f}×{f} filter"
    if dilation > 1:
        what += f" (dilation {dilation}, spanning {span})"
    if rounding not in ("exact", "floor", "ceil"):
        raise ValueError(f"rounding must be 'exact', 'floor' or 'ceil', got {rounding!r}")
    if span > padded:
        raise ValueError(
            f"{what} is larger than the {n}-wide input padded by {pad} "
            f"({n} + 2*{pad} = {padded}); the output would be empty"
        )
    if rounding == "floor":
        return (padded - span) // stride + 1
    if rounding == "ceil":
        out = -(-(padded - span) // stride) + 1
        # PyTorch's rule: the last window must start inside the input or the left padding
        return out - 1 if (out - 1) * stride >= n + pad else out
    if (padded - span) % stride:
        exact = (padded - span) / stride + 1
        raise ValueError(
            f"{what} at stride {stride} doesn't fit a {n}-wide input: "
            f"({n} - {span} + {2 * pad}) / {stride} + 1 = {exact:.2f} is not a whole number. "
            + _what_would_fit(n, span, stride, pad)
        )
    return (padded - span) // stride + 1


def _what_would_fit(n: int, span: int, stride: int, pad: int) -> str:
    """A hint for a stride that does not fit: nearby input widths, and paddings that fit."""
    rest = (n + 2 * pad - span) % stride
    smaller, larger = n - rest, n + stride - rest
    sizes = [str(s) for s in (smaller, larger) if s + 2 * pad >= span]
    hint = f"Input widths that fit with padding {pad}: {' or '.join(sizes)}."
    # (n + 2p - span) mod stride repeats with period stride in p, so checking p < stride suffices
    pads = [p for p in range(max(span, stride))
            if (n + 2 * p - span) % stride == 0 and n + 2 * p >= span]
    if pads:
        hint += f" Paddings that fit a {n}-wide input: {', '.join(map(str, pads[:3]))}."
    else:
        hint += (f" No padding fits a {n}-wide input "
                 f"({n} - {span} + 2P is never a multiple of {stride}).")
    return hint


def same_padding(f: int) -> int:
    """Zero padding ``(F - 1) / 2`` that keeps the size of a stride-1 convolution.

    F = 3 -> 1, F = 5 -> 2, F = 7 -> 3. Raises ValueError for an even F: no symmetric
    padding keeps the size then (the output would be one pixel larger or smaller).
    """
    f = _as_int(f, "filter size", 1)
    if f % 2 == 0:
        raise ValueError(
            f"a {f}×{f} filter has no 'same' padding: (F - 1) / 2 = {(f - 1) / 2} is not a whole "
            "number; use an odd filter size"
        )
    return (f - 1) // 2


# ---------------------------------------------------------------------------------------
# 2. Receptive fields
# ---------------------------------------------------------------------------------------

class FieldStep(NamedTuple):
    """The receptive field after one layer, in input pixels (see :func:`receptive_field`)."""

    name: str
    size: int      # width of the input region one output value sees
    jump: int      # input pixels between neighbouring outputs (the product of the strides)
    start: float   # input coordinate of the centre of output 0's field


class ReceptiveField(NamedTuple):
    """Result of :func:`receptive_field`: the final field and one :class:`FieldStep` per layer."""

    size: int
    jump: int
    start: float
    layers: tuple[FieldStep, ...]

    def span(self, i: int) -> tuple[int, int]:
        """First and last input pixel (inclusive) seen by output ``i``; may reach into padding."""
        lo = self.start + i * self.jump - (self.size - 1) / 2
        return int(lo), int(lo) + self.size - 1


def _field_step(field: tuple[int, int, float], kernel: int, stride: int, dilation: int,
                pad: int) -> tuple[int, int, float]:
    """Compose one window layer onto a field ``(size, jump, start)``.

    A dilated kernel spans ``k' = dilation * (kernel - 1) + 1`` of its input pixels, and one
    input pixel of this layer is ``jump`` pixels of the network's input, so:
        size  += (k' - 1) * jump
        start += ((k' - 1) / 2 - pad) * jump     (padding shifts the first window left)
        jump  *= stride
    """
    size, jump, start = field
    span = dilation * (kernel - 1) + 1
    return size + (span - 1) * jump, jump * stride, start + ((span - 1) / 2 - pad) * jump


def receptive_field(layers: Iterable[Any]) -> ReceptiveField:
    """Receptive field of the last layer of a stack, in pixels of the stack's input.

    Args:
        layers: an iterable of tuples ``(kernel, stride)``, ``(kernel, stride, dilation)`` or
            ``(kernel, stride, dilation, pad)``, or of layer specs (:class:`Conv`, :class:`Pool`
            ...; ReLU and normalisation layers leave the field unchanged). For composite
            blocks use :func:`summarize`, whose rows carry the field size.

    Returns a :class:`ReceptiveField` with
        size  -- width of the square input region one output value depends on;
        jump  -- distance in input pixels between neighbouring outputs (the effective stride);
        start -- input coordinate of the centre of output 0's field, where input pixel ``i``
                 has coordinate ``i``. Padding ``p`` shifts it by ``-p * jump``: with padding
                 the first window starts in the zero border, left of pixel 0. Output ``i``'s
                 field is centred at ``start + i * jump``;
        layers -- the same three numbers after every layer.

    Three 3×3 stride-1 convolutions: size 7, jump 1, start 3.0 (3 pixels of padding each
    side would make start 0.0, i.e. every output centred on the input pixel at its position).

    Raises ValueError for a malformed tuple or a fully connected or flatten layer (its field
    is the whole input, not a window); TypeError for a composite block.
    """
    state = (1, 1, 0.0)
    steps: list[FieldStep] = []
    for i, layer in enumerate(layers):
        plain = isinstance(layer, tuple | list)      # [3, 1] means (3, 1), not a spec
        name = f"layer{i + 1}" if plain else _layer_label(layer, i)
        if plain:
            if not 2 <= len(layer) <= 4:
                raise ValueError(f"{name}: expected (kernel, stride[, dilation[, pad]]), "
                                 f"got {layer!r}")
            defaults = (None, None, 1, 0)             # dilation 1 and padding 0 unless given
            k, s, d, p = (*layer, *defaults[len(layer):])
            k = _as_int(k, f"{name} kernel", 1)
            s = _as_int(s, f"{name} stride", 1)
            d = _as_int(d, f"{name} dilation", 1)
            p = _as_int(p, f"{name} padding", 0)
            state = _field_step(state, k, s, d, p)
        else:
            state = _spec_field(layer, state, name)
            if state is None:
                raise ValueError(f"layer {name!r} has no receptive field window: a fully "
                                 "connected or flatten layer sees its whole input")
        steps.append(FieldStep(name, *state))
    return ReceptiveField(*state, tuple(steps))


def stacked_receptive_field(n_layers: int, kernel: int = 3) -> int:
    """Receptive field of ``n_layers`` stacked ``kernel``×``kernel`` stride-1 convolutions.

    Each layer widens the field by ``kernel - 1``: ``1 + n_layers * (kernel - 1)``.
    Two 3×3 layers see 5×5, three see 7×7.
    """
    n_layers = _as_int(n_layers, "n_layers", 1)
    kernel = _as_int(kernel, "kernel", 1)
    return receptive_field([(kernel, 1)] * n_layers).size


def stack_vs_single_weights(n_layers: int, kernel: int = 3,
                            channels: int | None = None) -> tuple[int, int]:
    """Weights of a stack of small convolutions vs one big convolution with the same field.

    Both keep ``C`` channels in and out and have no biases. The stack has
    ``n_layers * kernel² * C²`` weights, the single layer ``F² * C²`` with
    ``F = stacked_receptive_field(n_layers, kernel)``.

    Returns ``(stack, single)``: numbers for ``channels=C``, or the coefficients of C² when
    ``channels`` is None -- (18, 25) for two 3×3 vs one 5×5, (27, 49) for three 3×3 vs 7×7.
    """
    size = stacked_receptive_field(n_layers, kernel)
    c2 = 1 if channels is None else _as_int(channels, "channels", 1) ** 2
    return n_layers * kernel * kernel * c2, size * size * c2


# ---------------------------------------------------------------------------------------
# 3. Layer specs: a network described as data
# ---------------------------------------------------------------------------------------
# Every spec knows, for a given input shape, its output shape, its weights and biases, its
# multiply-adds and (for window layers) its window. Names are optional; the summary table
# uses them as row labels ("CONV1", "POOL1", ...).

Shape = tuple[int, ...]


def _spatial(shape: Shape, layer: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(f"{layer} needs a (C, H, W) volume, got shape {shape}; "
                         "is there a flatten or fully connected layer before it?")
    return shape


@dataclass(frozen=True)
class Conv:
    """A convolution: ``out_channels`` filters of ``kernel``×``kernel``×C_in.

    (C_in, H, W) -> (out_channels, H', W') with H' = (H - F + 2P) / S + 1.
    Weights ``out_channels * C_in * kernel²``, biases ``out_channels`` (if ``bias``).
    ``in_channels`` is optional; when given it is checked against the incoming volume.
    """

    out_channels: int
    kernel: int
    stride: int = 1
    pad: int = 0
    name: str | None = None
    bias: bool = True
    dilation: int = 1
    in_channels: int | None = None
    rounding: str = "exact"    # or "floor" / "ceil": see conv_output_size
    category: ClassVar[str] = "conv"

    def __post_init__(self):
        where = f"layer {self.name!r}: " if self.name else "Conv: "
        for what, value, low in [("out_channels", self.out_channels, 1), ("kernel", self.kernel, 1),
                                 ("stride", self.stride, 1), ("pad", self.pad, 0),
                                 ("dilation", self.dilation, 1)]:
            _checked(where, what, value, low)
        if self.in_channels is not None:
            _checked(where, "in_channels", self.in_channels, 1)

    def window(self) -> tuple[int, int, int, int]:
        return self.kernel, self.stride, self.dilation, self.pad

    def output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = _spatial(in_shape, "a convolution")
        if self.in_channels is not None and self.in_channels != c:
            raise ValueError(f"expects {self.in_channels} input channels but receives a "
                             f"{h}×{w}×{c} volume ({c} channels)")
        k, s, d, p = self.window()
        return (self.out_channels, conv_output_size(h, k, s, p, d, self.rounding),
                conv_output_size(w, k, s, p, d, self.rounding))

    def weights(self, in_shape: Shape) -> int:
        return self.out_channels * in_shape[0] * self.kernel * self.kernel

    def biases(self, in_shape: Shape) -> int:
        return self.out_channels if self.bias else 0

    def macs(self, in_shape: Shape) -> int:
        # every output value is a dot product of length C_in * k * k
        return math.prod(self.output_shape(in_shape)) * in_shape[0] * self.kernel * self.kernel


@dataclass(frozen=True)
class Pool:
    """Max or average pooling: (C, H, W) -> (C, H', W') by the same rule as a convolution.

    ``kind`` is 'max' or 'avg'; ``stride`` defaults to ``kernel`` (non-overlapping windows).
    No parameters.
    """

    kernel: int
    stride: int | None = None
    kind: str = "max"
    pad: int = 0
    name: str | None = None
    rounding: str = "exact"    # or "floor" / "ceil": see conv_output_size
    category: ClassVar[str] = "pool"

    def __post_init__(self):
        where = f"layer {self.name!r}: " if self.name else "Pool: "
        if self.stride is None:                      # frozen dataclass: set it the long way
            object.__setattr__(self, "stride", self.kernel)
        _checked(where, "kernel", self.kernel, 1)
        _checked(where, "stride", self.stride, 1)
        _checked(where, "pad", self.pad, 0)
        if self.kind not in ("max", "avg"):
            raise ValueError(f"{where}pooling kind must be 'max' or 'avg', got {self.kind!r}")

    def window(self) -> tuple[int, int, int, int]:
        return self.kernel, self.stride, 1, self.pad

    def output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = _spatial(in_shape, "pooling")
        k, s, _, p = self.window()
        return (c, conv_output_size(h, k, s, p, rounding=self.rounding),
                conv_output_size(w, k, s, p, rounding=self.rounding))

    def weights(self, in_shape: Shape) -> int:
        return 0

    biases = weights
    macs = weights


@dataclass(frozen=True)
class FC:
    """A fully connected layer: any input (flattened to D values) -> (out_features,).

    Weights ``D * out_features``, biases ``out_features``. ``in_features`` is optional and
    checked when given.
    """

    out_features: int
    name: str | None = None
    bias: bool = True
    in_features: int | None = None
    category: ClassVar[str] = "fc"

    def __post_init__(self):
        where = f"layer {self.name!r}: " if self.name else "FC: "
        _checked(where, "out_features", self.out_features, 1)
        if self.in_features is not None:
            _checked(where, "in_features", self.in_features, 1)

    def output_shape(self, in_shape: Shape) -> Shape:
        d = math.prod(in_shape)
        if self.in_features is not None and self.in_features != d:
            raise ValueError(f"expects {self.in_features} input features but receives "
                             f"{'×'.join(map(str, in_shape))} = {d} values")
        return (self.out_features,)

    def weights(self, in_shape: Shape) -> int:
        return math.prod(in_shape) * self.out_features

    def biases(self, in_shape: Shape) -> int:
        return self.out_features if self.bias else 0

    def macs(self, in_shape: Shape) -> int:
        return self.weights(in_shape)


@dataclass(frozen=True)
class _Elementwise:
    """Base for layers that keep the shape and have no parameters."""

    name: str | None = None
    category: ClassVar[str] = "elementwise"
    inplace: ClassVar[bool] = False   # True: overwrites its input, stores no new values

    def output_shape(self, in_shape: Shape) -> Shape:
        return tuple(in_shape)

    def weights(self, in_shape: Shape) -> int:
        return 0

    biases = weights
    macs = weights


@dataclass(frozen=True)
class ReLU(_Elementwise):
    """max(0, x), applied in place (the lecture tables give it no memory of its own)."""

    category: ClassVar[str] = "relu"
    inplace: ClassVar[bool] = True


@dataclass(frozen=True)
class Norm(_Elementwise):
    """Local response normalisation (AlexNet's NORM layers): same shape, 0 parameters."""

    category: ClassVar[str] = "norm"


LRN = Norm


@dataclass(frozen=True)
class BatchNorm(_Elementwise):
    """Batch normalisation over channels: a scale and a shift per channel, 2C parameters."""

    category: ClassVar[str] = "batchnorm"

    def weights(self, in_shape: Shape) -> int:
        return in_shape[0]

    biases = weights


@dataclass(frozen=True)
class Flatten(_Elementwise):
    """(C, H, W) -> (C*H*W,). A view of its input: it stores no new values."""

    category: ClassVar[str] = "flatten"
    inplace: ClassVar[bool] = True

    def output_shape(self, in_shape: Shape) -> Shape:
        return (math.prod(in_shape),)


@dataclass(frozen=True)
class GlobalAvgPool(_Elementwise):
    """Average over all positions: (C, H, W) -> (C, 1, 1), as ``nn.AdaptiveAvgPool2d(1)``."""

    category: ClassVar[str] = "pool"

    def output_shape(self, in_shape: Shape) -> Shape:
        c, _, _ = _spatial(in_shape, "global average pooling")
        return (c, 1, 1)


def _checked(where: str, what: str, value: Any, low: int) -> None:
    try:
        _as_int(value, what, low)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where}{err}") from None


# --- composite blocks: several branches, then concatenate or add -------------------------

@dataclass(frozen=True)
class Concat:
    """Run several branches on the same input and stack their outputs along channels.

    ``branches`` is a sequence of ``(branch_name, [specs...])``. All branches must produce the
    same H×W; the output has the sum of their channels.
    """

    branches: tuple[tuple[str, tuple[Any, ...]], ...]
    name: str | None = None
    category: ClassVar[str] = "concat"

    def expand(self, in_shape: Shape) -> list[tuple[str, Sequence[Any]]]:
        """The branches as ``[(branch_name, [specs...]), ...]``."""
        return [(b, list(specs)) for b, specs in self.branches]


@dataclass(frozen=True)
class Inception:
    """GoogLeNet's inception module: four branches on the same input, concatenated.

    1×1 conv (``c1``) | 1×1 (``c3_reduce``) -> 3×3 (``c3``, pad 1) |
    1×1 (``c5_reduce``) -> 5×5 (``c5``, pad 2) |
    3×3 max pool (stride 1, pad 1) -> 1×1 (``pool_proj``).
    The 1×1 "reduce" convolutions are bottlenecks: they shrink the depth before the
    expensive 3×3 and 5×5 filters. Output channels: c1 + c3 + c5 + pool_proj.
    """

    c1: int
    c3_reduce: int
    c3: int
    c5_reduce: int
    c5: int
    pool_proj: int
    name: str | None = None
    category: ClassVar[str] = "concat"

    def expand(self, in_shape: Shape) -> list[tuple[str, Sequence[Any]]]:
        """The four branches as ``[(branch_name, [specs...]), ...]``."""
        return [
            ("1x1", [Conv(self.c1, 1, name="1x1")]),
            ("3x3", [Conv(self.c3_reduce, 1, name="3x3_reduce"),
                     Conv(self.c3, 3, pad=1, name="3x3")]),
            ("5x5", [Conv(self.c5_reduce, 1, name="5x5_reduce"),
                     Conv(self.c5, 5, pad=2, name="5x5")]),
            ("pool", [Pool(3, 1, pad=1, name="pool"), Conv(self.pool_proj, 1, name="pool_proj")]),
        ]


@dataclass(frozen=True)
class Residual:
    """A residual block: ``out = body(x) + shortcut(x)`` (ResNet).

    ``shortcut='auto'`` is the identity when the body keeps the shape, and otherwise a 1×1
    convolution (no bias) with the body's total stride followed by batch norm -- the
    "projection shortcut" that makes the shapes match. Pass a list of specs for another
    shortcut. The ReLU after the addition is in place and not listed.
    """

    body: tuple[Any, ...]
    shortcut: Any = "auto"
    name: str | None = None
    category: ClassVar[str] = "add"

    def expand(self, in_shape: Shape) -> list[tuple[str, Sequence[Any]]]:
        """``[("body", [...]), ("shortcut", [...])]``; an empty shortcut is the identity."""
        body = list(self.body)
        if self.shortcut != "auto":
            return [("body", body), ("shortcut", list(self.shortcut or []))]
        out_channels = _trace(body, in_shape, None, "", 4)[1][0]
        stride = math.prod(getattr(s, "stride", 1) or 1 for s in body)
        if out_channels == in_shape[0] and stride == 1:
            return [("body", body), ("shortcut", [])]      # identity
        projection = [Conv(out_channels, 1, stride, bias=False, name="proj", rounding="floor"),
                      BatchNorm("proj_bn")]
        return [("body", body), ("shortcut", projection)]


def basic_block(channels: int, stride: int = 1, name: str | None = None) -> Residual:
    """ResNet-18/34 block: 3×3 conv (stride) - BN - ReLU - 3×3 conv - BN, plus shortcut.

    Strided convolutions round down as PyTorch does (``rounding="floor"``): ResNet halves
    56 -> 28 with a 3×3 stride-2 pad-1 conv although (56 - 3 + 2) / 2 + 1 = 28.5.
    """
    return Residual((
        Conv(channels, 3, stride, 1, bias=False, name="conv1", rounding="floor"), BatchNorm("bn1"),
        Conv(channels, 3, 1, 1, bias=False, name="conv2"), BatchNorm("bn2"),
    ), name=name)


def bottleneck_block(mid_channels: int, stride: int = 1, expansion: int = 4,
                     name: str | None = None) -> Residual:
    """ResNet-50+ block: 1×1 (reduce) - 3×3 (stride) - 1×1 (expand to ``expansion * mid``).

    The stride sits on the 3×3 conv (as in torchvision) and rounds down, as in
    :func:`basic_block`.
    """
    return Residual((
        Conv(mid_channels, 1, bias=False, name="conv1"), BatchNorm("bn1"),
        Conv(mid_channels, 3, stride, 1, bias=False, name="conv2", rounding="floor"),
        BatchNorm("bn2"),
        Conv(expansion * mid_channels, 1, bias=False, name="conv3"), BatchNorm("bn3"),
    ), name=name)


class SpecList(list):
    """A list of layer specs that also remembers its input shape, a title and notes."""

    def __init__(self, layers: Iterable[Any], input_shape: Shape, title: str = "", notes: str = ""):
        super().__init__(layers)
        self.input_shape = tuple(input_shape)
        self.title = title
        self.notes = notes


def _layer_label(layer: Any, i: int) -> str:
    name = getattr(layer, "name", None)
    if name:
        return name
    category = getattr(layer, "category", None) or type(layer).__name__.lower()
    return f"{category}{i + 1}"


def _spec_field(layer: Any, state, name: str):
    """The receptive field after spec ``layer`` (None once the field is undefined)."""
    if state is None:
        return None
    if hasattr(layer, "window"):
        return _field_step(state, *layer.window())
    if isinstance(layer, (FC, Flatten)):
        return None
    if hasattr(layer, "expand") or isinstance(layer, GlobalAvgPool):
        raise TypeError(f"layer {name!r}: receptive_field() takes plain window layers; "
                        "summarize() gives the field of composite blocks and global pooling")
    return state


# ---------------------------------------------------------------------------------------
# 4. Summaries: the lecture tables
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One line of a :class:`Summary`.

    output_shape: (C, H, W) or (D,); activations: values this layer newly stores (0 for
    in-place layers and views); bytes: activations × bytes per value; macs: multiply-adds;
    receptive_field: field size in input pixels, None after flattening (or, for a torch
    module, wherever it cannot be traced -- after a functional addition, say).
    """

    name: str
    kind: str
    output_shape: Shape | None
    weights: int
    biases: int
    params: int
    activations: int
    bytes: int
    macs: int
    receptive_field: int | None

    @property
    def output_values(self) -> int:
        """Number of values in the output (whether or not they are newly stored)."""
        return math.prod(self.output_shape) if self.output_shape is not None else 0


_COLUMNS = ("layer", "output (H×W×C)", "weights", "biases", "params", "activations",
            "memory (bytes)", "MACs", "RF")


def _format_shape(shape: Shape | None) -> str:
    if shape is None:
        return "-"
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}×{w}×{c}"
    return "×".join(map(str, shape))


@dataclass(repr=False)
class Summary:
    """Per-layer table of a network: shapes, parameters, memory, multiply-adds, fields.

    ``rows`` is a list of :class:`Row`. The totals below add up the rows. If the summary was
    made with ``include_input=True`` the first row is INPUT and its values count as memory.
    ``str(summary)`` is a text table; in a notebook it shows as an HTML table.
    """

    rows: list[Row]
    input_shape: Shape
    bytes_per_value: int = 4
    include_input: bool = True
    title: str = ""

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_weights(self) -> int:
        return sum(r.weights for r in self.rows)

    @property
    def total_biases(self) -> int:
        return sum(r.biases for r in self.rows)

    @property
    def total_activations(self) -> int:
        """Values stored on the way forward (the input too, if ``include_input``)."""
        return sum(r.activations for r in self.rows)

    @property
    def forward_bytes(self) -> int:
        """``total_activations * bytes_per_value``: forward memory for one image."""
        return sum(r.bytes for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def output_shape(self) -> Shape | None:
        """Output shape of the last row that has one."""
        shapes = [r.output_shape for r in self.rows if r.output_shape is not None]
        return shapes[-1] if shapes else None

    def row(self, name: str) -> Row:
        """The row called ``name``; KeyError listing the names if there is none."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row named {name!r}; rows: {', '.join(r.name for r in self.rows)}")

    def select(self, *kinds: str) -> list[Row]:
        """Rows of the given kinds ('conv', 'pool', 'fc', 'norm', 'relu', ...), in order."""
        return [r for r in self.rows if r.kind in kinds]

    def top(self, by: str = "params", n: int = 3) -> list[tuple[Row, float]]:
        """The ``n`` rows with the largest ``by`` ('params', 'activations', 'bytes', 'macs'),
        each with its fraction of the total. VGG-16: FC6 holds 74% of the parameters."""
        total = sum(getattr(r, by) for r in self.rows) or 1
        ranked = sorted(self.rows, key=lambda r: getattr(r, by), reverse=True)[:n]
        return [(r, getattr(r, by) / total) for r in ranked]

    def fraction_by(self, by: str = "activations",
                    group: Callable[[Row], str] | None = None) -> dict[str, float]:
        """Share of the total ``by`` held by each group of rows (default: by ``row.kind``).

        Example: ``fraction_by('params')`` -> {'conv': 0.11, 'fc': 0.89, ...};
        ``fraction_by('activations', lambda r: 'early' if i_am_early(r) else 'late')``.
        """
        group = group or (lambda r: r.kind)
        total = sum(getattr(r, by) for r in self.rows) or 1
        shares: dict[str, float] = {}
        for r in self.rows:
            shares[group(r)] = shares.get(group(r), 0.0) + getattr(r, by) / total
        return shares

    # -- rendering ------------------------------------------------------------------------
    def _cells(self) -> tuple[list[list[str]], list[str]]:
        body = [[r.name, _format_shape(r.output_shape), f"{r.weights:,}", f"{r.biases:,}",
                 f"{r.params:,}", f"{r.activations:,}", f"{r.bytes:,}", f"{r.macs:,}",
                 "-" if r.receptive_field is None else str(r.receptive_field)] for r in self.rows]
        total = ["TOTAL", "", f"{self.total_weights:,}", f"{self.total_biases:,}",
                 f"{self.total_params:,}", f"{self.total_activations:,}",
                 f"{self.forward_bytes:,}", f"{self.total_macs:,}", ""]
        return body, total

    def _footer(self) -> str:
        return (f"forward memory: {self.total_activations:,} values × {self.bytes_per_value} bytes"
                f" = {self.forward_bytes:,} bytes ≈ {self.forward_bytes / 1e6:.1f} MB per image"
                f" ({'input included' if self.include_input else 'input not counted'})")

    def to_text(self) -> str:
        """The table as plain text, numbers with thousands separators."""
        body, total = self._cells()
        table = [list(_COLUMNS), *body, total]
        widths = [max(len(line[j]) for line in table) for j in range(len(_COLUMNS))]

        def fmt(line):
            return "  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(line, widths, strict=True)))

        rule = "-" * len(fmt(table[0]))
        lines = ([self.title] if self.title else []) + [fmt(table[0]), rule]
        lines += [fmt(line) for line in body] + [rule, fmt(total), self._footer()]
        return "\n".join(lines)

    __str__ = __repr__ = to_text

    def _repr_html_(self) -> str:
        body, total = self._cells()
        esc = html.escape

        def tr(cells, tag="td", bold=False):
            out = []
            for j, c in enumerate(cells):
                align = "left" if j < 2 else "right"
                weight = "font-weight:bold;" if bold else ""
                out.append(f'<{tag} style="text-align:{align};{weight}">{esc(c)}</{tag}>')
            return "<tr>" + "".join(out) + "</tr>"

        caption = f"<caption>{esc(self.title)}</caption>" if self.title else ""
        return ("<table>" + caption + "<thead>" + tr(_COLUMNS, "th") + "</thead><tbody>"
                + "".join(tr(line) for line in body) + tr(total, bold=True)
                + f"</tbody></table><p>{esc(self._footer())}</p>")


def summarize(model_or_specs: Any, input_shape: Sequence[int] | None = None, *,
              include_input: bool = True, bytes_per_value: int = 4, title: str = "") -> Summary:
    """The lecture table for a network: one :class:`Row` per layer, plus totals.

    Args:
        model_or_specs: a list of layer specs (e.g. ``vgg_spec(16)``) or a ``torch.nn.Module``.
        input_shape: (C, H, W) of one image, without the batch dimension. May be left out
            for a :class:`SpecList`, which knows its input.
        include_input: count the input image as memory (first row INPUT). True by default,
            as the lectures' VGG table does ("INPUT: 150K").
        bytes_per_value: 4 for float32.

    For specs, composite blocks (:class:`Inception`, :class:`Residual`) expand into one row
    per inner layer, named ``block.branch_layer``, and one row for the concatenation or
    addition, which stores its output.

    For a ``torch.nn.Module``, every leaf module (one without children) gets a forward hook,
    and one forward pass runs on zeros of shape ``(1, *input_shape)`` in eval mode under
    ``torch.no_grad()``, on the device and dtype of the model's parameters (a model built on
    the ``meta`` device works and costs no memory). Each leaf's row counts its own
    parameters (weights = names ending in 'weight', biases = 'bias'; shared parameters once);
    parameters outside leaf modules get an extra row, so ``total_params`` always equals
    ``sum(p.numel() for p in model.parameters())``. MACs are counted for Conv and Linear
    layers only; batch norm, ReLU and pooling count 0. Functional operations (``x + y``,
    ``torch.cat``) have no row; the receptive field is traced through leaf modules and
    becomes None where a tensor comes from such an operation. The model's training mode is
    restored afterwards.

    Raises ValueError (naming the layer) for specs that do not fit together, TypeError for
    anything that is neither a spec list nor a module.
    """
    if input_shape is None:
        input_shape = getattr(model_or_specs, "input_shape", None)
        if input_shape is None:
            raise TypeError("summarize needs input_shape=(C, H, W)")
    input_shape = tuple(_as_int(n, "input_shape entry", 1) for n in input_shape)
    bytes_per_value = _as_int(bytes_per_value, "bytes_per_value", 1)
    title = title or getattr(model_or_specs, "title", "")
    if _is_torch_module(model_or_specs):
        rows = _torch_rows(model_or_specs, input_shape, include_input, bytes_per_value)
    elif isinstance(model_or_specs, (list, tuple)):
        start = (1, 1, 0.0) if len(input_shape) == 3 else None
        rows = [_input_row(input_shape, include_input, bytes_per_value, start)]
        rows += _trace(list(model_or_specs), input_shape, start, "", bytes_per_value)[0]
    else:
        raise TypeError("summarize expects a list of layer specs or a torch.nn.Module, "
                        f"got {type(model_or_specs).__name__}")
    if not include_input:
        rows = rows[1:]
    return Summary(rows, input_shape, bytes_per_value, include_input, title)


def _input_row(shape: Shape, include: bool, bpv: int, field) -> Row:
    values = math.prod(shape) if include else 0
    return Row("INPUT", "input", tuple(shape), 0, 0, 0, values, values * bpv, 0,
               None if field is None else field[0])


def _trace(specs: Sequence[Any], in_shape: Shape, field, prefix: str, bpv: int):
    """Walk a spec list: returns (rows, output shape, receptive field state)."""
    rows: list[Row] = []
    shape = tuple(in_shape)
    for i, spec in enumerate(specs):
        label = prefix + _layer_label(spec, i)
        if hasattr(spec, "expand"):
            new_rows, shape, field = _trace_block(spec, shape, field, label, bpv)
            rows += new_rows
            continue
        if not hasattr(spec, "output_shape"):
            raise TypeError(f"layer {label!r}: {spec!r} is not a layer spec")
        try:
            out = spec.output_shape(shape)
        except ValueError as err:
            raise ValueError(f"layer {label!r}: {err}") from None
        if isinstance(spec, GlobalAvgPool):        # one window as large as the input
            field = None if field is None else _field_step(field, shape[1], 1, 1, 0)
        else:
            field = _spec_field(spec, field, label)
        w, b = spec.weights(shape), spec.biases(shape)
        stored = 0 if getattr(spec, "inplace", False) else math.prod(out)
        rows.append(Row(label, spec.category, out, w, b, w + b, stored, stored * bpv,
                        spec.macs(shape), None if field is None else field[0]))
        shape = out
    return rows, shape, field


def _trace_block(block: Any, in_shape: Shape, field, label: str, bpv: int):
    """Trace every branch of a composite block on the same input, then merge them."""
    rows: list[Row] = []
    outs, fields = [], []
    try:
        branches = block.expand(in_shape)
    except ValueError as err:
        raise ValueError(f"layer {label!r}: {err}") from None
    for branch, specs in branches:
        # rows are called "block.layer", or "block.branch.layer" for unnamed layers;
        # an empty branch (an identity shortcut) passes the input on unchanged
        named = all(getattr(s, "name", None) for s in specs)
        r, out, f = _trace(specs, in_shape, field, f"{label}." if named else f"{label}.{branch}.",
                           bpv)
        rows += r
        outs.append((branch, out))
        fields.append(f)
    shapes = ", ".join(f"{b}: {_format_shape(s)}" for b, s in outs)
    if block.category == "concat":
        if len({s[1:] for _, s in outs}) != 1 or any(len(s) != 3 for _, s in outs):
            raise ValueError(f"layer {label!r}: branches must keep the same H×W to be "
                             f"concatenated, got {shapes}")
        out = (sum(s[0] for _, s in outs), *outs[0][1][1:])
    else:
        if len({s for _, s in outs}) != 1:
            raise ValueError(f"layer {label!r}: branches must have the same shape to be "
                             f"added, got {shapes}")
        out = outs[0][1]
    field = _merge_fields(fields, label)
    values = math.prod(out)
    rows.append(Row(label, block.category, out, 0, 0, 0, values, values * bpv, 0,
                    None if field is None else field[0]))
    return rows, out, field


def _merge_fields(fields, label):
    """The field after a concat/add: the largest branch field (all jumps must agree)."""
    if any(f is None for f in fields):
        return None
    if len({f[1] for f in fields}) != 1:
        raise ValueError(f"layer {label!r}: branches have different strides "
                         f"({sorted({f[1] for f in fields})}); their outputs do not line up")
    return max(fields, key=lambda f: f[0])


def compare(a: Summary, b: Summary, kinds: Sequence[str] = ("conv", "pool", "fc", "norm"),
            ) -> list[str]:
    """Differences between two summaries, layer by layer; an empty list when they agree.

    Only rows of the given ``kinds`` are compared (a torch model has ReLU and dropout rows
    that the lecture tables leave out), pairwise in order: output shape and parameters.
    Typical use: ``compare(summarize(alexnet_spec()), summarize(torch_alexnet, (3, 227, 227)))``.
    """
    ra, rb = a.select(*kinds), b.select(*kinds)
    problems = []
    if len(ra) != len(rb):
        problems.append(f"{len(ra)} {'/'.join(kinds)} rows vs {len(rb)}: "
                        f"{[r.name for r in ra]} vs {[r.name for r in rb]}")
    for x, y in zip(ra, rb, strict=False):
        if x.output_shape != y.output_shape:
            problems.append(f"{x.name} vs {y.name}: output {_format_shape(x.output_shape)} vs "
                            f"{_format_shape(y.output_shape)}")
        if x.params != y.params:
            problems.append(f"{x.name} vs {y.name}: {x.params:,} vs {y.params:,} parameters")
    return problems


# --- torch modules ------------------------------------------------------------------------

def _is_torch_module(obj: Any) -> bool:
    try:
        import torch
    except ImportError:                                 # pragma: no cover - torch is a dependency
        return False
    return isinstance(obj, torch.nn.Module)


def _torch_window(module, in_hw: tuple[int, int]):
    """(kernel, stride, dilation, pad) along the height of a conv/pool module, else None.
    Returns "same" for layers that keep the field (activations, normalisation, and any
    module with a true ``keeps_receptive_field`` attribute)."""
    from torch import nn

    def first(v):
        return v[0] if isinstance(v, (tuple, list)) else v

    if getattr(module, "keeps_receptive_field", False):   # e.g. models.ExpectInput
        return "same"
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        pad = module.padding
        if isinstance(pad, str):                        # padding='same' / 'valid'
            span = first(module.dilation) * (first(module.kernel_size) - 1)
            pad = span // 2 if pad == "same" else 0
        return first(module.kernel_size), first(module.stride), first(module.dilation), first(pad)
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        return (first(module.kernel_size), first(module.stride), first(module.dilation),
                first(module.padding))
    if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        return first(module.kernel_size), first(module.stride), 1, first(module.padding)
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        out = first(module.output_size)
        n = in_hw[0]
        if out is None or out == n:
            return "same"
        if n % out == 0:                                # equal, non-overlapping windows
            return n // out, n // out, 1, 0
        return None
    pointwise = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid,
                 nn.Tanh, nn.Hardtanh, nn.Softplus, nn.Hardswish, nn.Mish, nn.Identity,
                 nn.Dropout, nn.Dropout2d, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d,
                 nn.LocalResponseNorm)
    return "same" if isinstance(module, pointwise) else None


def _torch_kind(module) -> str:
    from torch import nn
    kinds = [((nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d), "conv"), (nn.Linear, "fc"),
             ((nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
               nn.MaxPool1d, nn.AvgPool1d), "pool"),
             (nn.LocalResponseNorm, "norm"), ((nn.BatchNorm1d, nn.BatchNorm2d), "batchnorm"),
             ((nn.ReLU, nn.ReLU6, nn.LeakyReLU), "relu"), (nn.Flatten, "flatten"),
             ((nn.Dropout, nn.Dropout2d), "dropout")]
    for types, kind in kinds:
        if isinstance(module, types):
            return kind
    return type(module).__name__.lower()


def _torch_macs(module, inp, out) -> int:
    from torch import nn
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        # weight: (C_out, C_in / groups, k, k); each output value costs weight[0].numel()
        return out.numel() // out.shape[0] * module.weight[0].numel()
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        # each input value is multiplied into C_out / groups * k * k outputs
        return inp.numel() // inp.shape[0] * module.weight[0].numel()
    if isinstance(module, nn.Linear):
        return out.numel() // out.shape[0] * module.in_features
    return 0


def _first_tensor(obj):
    import torch
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (tuple, list)):
        return next((t for t in obj if isinstance(t, torch.Tensor)), None)
    return None


def _stores_nothing(out, inp) -> bool:
    """True if ``out`` is ``inp`` itself (in place) or a view of the same memory."""
    if inp is None:
        return False
    base_in = inp._base if inp._base is not None else inp
    return out is inp or out._base is base_in


def _torch_rows(model, input_shape: Shape, include_input: bool, bpv: int) -> list[Row]:
    import torch

    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    x = torch.zeros((1, *input_shape), device=device, dtype=dtype)
    start = (1, 1, 0.0) if len(input_shape) == 3 else None
    rows = [_input_row(input_shape, include_input, bpv, start)]
    fields = {id(x): start}       # receptive field of every tensor a leaf module produced
    alive = [x]                   # keep those tensors alive, so their ids stay unique
    seen: set[int] = set()        # parameters already counted (shared modules count once)

    def make_hook(name):
        def hook(module, inputs, output):
            inp, out = _first_tensor(inputs), _first_tensor(output)
            w = b = other = 0
            for pname, p in module.named_parameters(recurse=False):
                if id(p) in seen:
                    continue
                seen.add(id(p))
                if pname.endswith("weight"):
                    w += p.numel()
                elif pname.endswith("bias"):
                    b += p.numel()
                else:
                    other += p.numel()
            shape = tuple(out.shape[1:]) if out is not None else None
            if out is None or _stores_nothing(out, inp):
                stored = 0
            else:                                        # values per image (the batch is 1)
                stored = out.numel() // out.shape[0] if out.dim() else out.numel()
            field = fields.get(id(inp)) if inp is not None else None
            if field is not None and out is not None and out.dim() == 4:
                window = _torch_window(module, tuple(inp.shape[2:]))
                field = (None if window is None else field if window == "same"
                         else _field_step(field, *window))
            else:
                field = None
            if out is not None:
                fields[id(out)] = field
                alive.append(out)
            macs = _torch_macs(module, inp, out) if out is not None else 0
            rows.append(Row(name, _torch_kind(module), shape, w, b, w + b + other, stored,
                            stored * bpv, macs, None if field is None else field[0]))
        return hook

    leaves = [(name or type(m).__name__, m) for name, m in model.named_modules()
              if next(m.children(), None) is None]
    handles = [m.register_forward_hook(make_hook(name)) for name, m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            try:
                model(x)
            except (RuntimeError, ValueError, TypeError, IndexError) as exc:
                after = f" after layer '{rows[-1].name}'" if len(rows) > 1 else ""
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise ValueError(
                    f"summarize: the model cannot take one input of shape {tuple(input_shape)} "
                    f"(C, H, W): its forward pass failed{after} with {type(exc).__name__}: "
                    f"{first}. Pass the input_shape the model was built for."
                ) from exc
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    # parameters held outside leaf modules, or by leaves the forward pass never called
    left: dict[str, list[int]] = {}
    for pname, p in model.named_parameters():
        if id(p) not in seen:
            owner = pname.rpartition(".")[0] or type(model).__name__
            counts = left.setdefault(owner, [0, 0, 0])
            slot = 0 if pname.endswith("weight") else 1 if pname.endswith("bias") else 2
            counts[slot] += p.numel()
    for owner, (w, b, other) in left.items():
        rows.append(Row(f"{owner} (not called)", "params", None, w, b, w + b + other,
                        0, 0, 0, None))
    return rows


# ---------------------------------------------------------------------------------------
# 5. The cost of an inception module, with and without 1×1 bottlenecks
# ---------------------------------------------------------------------------------------

class ModuleCost(NamedTuple):
    """Parameters, multiply-adds and output shape of one block (see :func:`inception_cost`)."""

    params: int
    macs: int
    output_shape: Shape


def inception_cost(in_shape: Sequence[int] = (192, 28, 28), with_bottleneck: bool = True, *,
                   c1: int = 64, c3_reduce: int = 96, c3: int = 128, c5_reduce: int = 16,
                   c5: int = 32, pool_proj: int = 32) -> ModuleCost:
    """Cost of an inception module; the defaults are GoogLeNet's inception (3a) on 28×28×192.

    With bottlenecks: the module of :class:`Inception` (1×1 convolutions shrink the depth to
    ``c3_reduce`` / ``c5_reduce`` before the 3×3 / 5×5 filters, and project the pooled
    branch to ``pool_proj`` channels). Output 28×28×256, 163,696 parameters, 128,049,152
    multiply-adds.

    Without (the "naive" module): 1×1 (``c1``), 3×3 (``c3``) and 5×5 (``c5``) convolutions
    straight on the input, next to a 3×3 max pool that keeps all input channels; outputs
    concatenated. Output 28×28×416, 387,296 parameters, 303,464,448 multiply-adds -- and the
    depth grows with every module, because the pooling branch passes all channels on.

    Returns a :class:`ModuleCost` (params, macs, output_shape (C, H, W)).
    """
    if with_bottleneck:
        block = Inception(c1, c3_reduce, c3, c5_reduce, c5, pool_proj, name="inception")
    else:
        block = Concat((("1x1", (Conv(c1, 1, name="1x1"),)),
                        ("3x3", (Conv(c3, 3, pad=1, name="3x3"),)),
                        ("5x5", (Conv(c5, 5, pad=2, name="5x5"),)),
                        ("pool", (Pool(3, 1, pad=1, name="pool"),))), name="naive_inception")
    s = summarize([block], tuple(in_shape), include_input=False)
    return ModuleCost(s.total_params, s.total_macs, s.output_shape)


# ---------------------------------------------------------------------------------------
# The architectures of the lectures live in arithmetic_specs.py (they are built from the
# classes above). Importing them here lazily lets ``from cs231n_lib.arithmetic import
# alexnet_spec`` work without a circular import.
# ---------------------------------------------------------------------------------------

_SPEC_NAMES = ("lenet5_spec", "alexnet_spec", "zfnet_spec", "vgg_spec", "inception_module_spec",
               "resnet_stage_spec", "alphago_policy_spec", "VGG_CONFIGS")


def __getattr__(name: str):
    if name in _SPEC_NAMES:
        from . import arithmetic_specs
        return getattr(arithmetic_specs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SPEC_NAMES))

