"""The lectures' architectures as lists of layer specs, for :func:`cs231n_lib.arithmetic.summarize`.

Each function returns a :class:`~cs231n_lib.arithmetic.SpecList`: a list of layer specs
that also knows its input shape, so ``summarize(alexnet_spec())`` prints the lecture table.
Row names follow the slides (CONV1, POOL1, NORM1, ..., FC8).

ReLUs are left out of these lists, as the lecture tables leave them out: a ReLU has no
parameters and overwrites its input, so it adds no memory either.

Every function here can also be imported from ``cs231n_lib.arithmetic``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .arithmetic import (
    FC,
    Conv,
    Flatten,
    Inception,
    Norm,
    Pool,
    SpecList,
    basic_block,
    bottleneck_block,
)

__all__ = ["lenet5_spec", "alexnet_spec", "zfnet_spec", "vgg_spec", "inception_module_spec",
           "resnet_stage_spec", "alphago_policy_spec", "PositionBiasConv", "VGG_CONFIGS"]


def lenet5_spec() -> SpecList:
    """LeNet-5 [LeCun et al. 1998] on a 32×32×1 image: 61,706 parameters.

    C1: 6 5×5 filters -> 28×28×6;  S2: 2×2 subsampling, stride 2 -> 14×14×6;
    C3: 16 5×5 -> 10×10×16;  S4 -> 5×5×16;  C5: 120 5×5 -> 1×1×120;  F6: 84;  OUTPUT: 10.

    Simplifications, which make this the LeNet-5 that is usually rebuilt today: C3 connects
    every filter to all 6 input maps (2,416 parameters; LeCun's partial connection table gives
    only 1,516), S2/S4 are plain average pools (LeCun's had a trainable scale and bias per
    map, 12 and 32 parameters), and OUTPUT is an ordinary fully connected layer (LeCun's was
    a layer of radial basis functions).
    """
    layers = [
        Conv(6, 5, name="C1"), Pool(2, 2, kind="avg", name="S2"),
        Conv(16, 5, name="C3"), Pool(2, 2, kind="avg", name="S4"),
        Conv(120, 5, name="C5"), FC(84, name="F6"), FC(10, name="OUTPUT"),
    ]
    return SpecList(layers, (1, 32, 32), "LeNet-5 (32×32×1)", lenet5_spec.__doc__)


def alexnet_spec() -> SpecList:
    """AlexNet [Krizhevsky et al. 2012] as one tower, on 227×227×3: 62,378,344 parameters.

    The lecture table: CONV1 96 11×11 stride 4 pad 0 -> 55×55×96; POOL1 3×3 stride 2 ->
    27×27×96; NORM1; CONV2 256 5×5 pad 2 -> 27×27×256; POOL2 -> 13×13×256; NORM2;
    CONV3 384 3×3 pad 1; CONV4 384 3×3 pad 1; CONV5 256 3×3 pad 1 -> 13×13×256;
    POOL3 -> 6×6×256; FC6 4096; FC7 4096; FC8 1000.

    The input must be 227 wide. The Berkeley slide (and the AlexNet paper) say 224×224 ->
    55×55 without padding, but (224 - 11) / 4 + 1 = 54.25: an 11-wide filter at stride 4
    does not tile 224 pixels, and ``summarize(alexnet_spec(), (3, 224, 224))`` raises.
    (227 - 11) / 4 + 1 = 55 does. The original model was split over two GPUs, which
    halves the connections of CONV2, CONV4 and CONV5 (about 60.97M parameters);
    this is the single-tower network drawn in the slides.
    """
    layers = [
        Conv(96, 11, stride=4, pad=0, name="CONV1"), Pool(3, 2, name="POOL1"), Norm("NORM1"),
        Conv(256, 5, pad=2, name="CONV2"), Pool(3, 2, name="POOL2"), Norm("NORM2"),
        Conv(384, 3, pad=1, name="CONV3"), Conv(384, 3, pad=1, name="CONV4"),
        Conv(256, 3, pad=1, name="CONV5"), Pool(3, 2, name="POOL3"),
        FC(4096, name="FC6"), FC(4096, name="FC7"), FC(1000, name="FC8"),
    ]
    return SpecList(layers, (3, 227, 227), "AlexNet (227×227×3)", alexnet_spec.__doc__)


def zfnet_spec() -> SpecList:
    """ZFNet [Zeiler and Fergus 2013], the lecture's "AlexNet but" version, on 227×227×3.

    Changes from AlexNet: CONV1 is 96 7×7 filters at stride 2 (instead of 11×11 at stride 4)
    and CONV3, CONV4, CONV5 have 512, 1024, 512 filters (instead of 384, 384, 256).

    Sizes, chosen so that every layer tiles its input exactly:
    227 -> CONV1 7×7/2 pad 0 -> 111 -> POOL1 3×3/2 -> 55 -> CONV2 5×5/2 pad 1 -> 27
    -> POOL2 3×3/2 -> 13 -> CONV3..5 3×3 pad 1 -> 13 -> POOL3 3×3/2 -> 6×6×512 -> FC6, FC7, FC8.

    Why not the paper's 224: (224 - 7 + 2P) is odd for every padding P, so a 7×7 filter at
    stride 2 never tiles a 224-wide input (frameworks silently drop the last column: the
    paper's 110×110). CONV2 keeps the paper's stride 2 (AlexNet's CONV2 has stride 1; with
    stride 1 here the maps would stay twice as large and FC6 alone would need 354M weights);
    its padding 1 gives 27×27 where the paper has 26×26, so the later sizes (13, 6) match.
    """
    layers = [
        Conv(96, 7, stride=2, pad=0, name="CONV1"), Pool(3, 2, name="POOL1"), Norm("NORM1"),
        Conv(256, 5, stride=2, pad=1, name="CONV2"), Pool(3, 2, name="POOL2"), Norm("NORM2"),
        Conv(512, 3, pad=1, name="CONV3"), Conv(1024, 3, pad=1, name="CONV4"),
        Conv(512, 3, pad=1, name="CONV5"), Pool(3, 2, name="POOL3"),
        FC(4096, name="FC6"), FC(4096, name="FC7"), FC(1000, name="FC8"),
    ]
    return SpecList(layers, (3, 227, 227), "ZFNet (227×227×3)", zfnet_spec.__doc__)


#: Filters per 3×3 convolution, 'M' for a 2×2 max pool (configurations D and E of the paper).
VGG_CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}


def vgg_spec(depth: int = 16) -> SpecList:
    """VGG [Simonyan and Zisserman 2014] on 224×224×3: only 3×3 convs (stride 1, pad 1) and
    2×2 max pools (stride 2), then FC6 4096, FC7 4096, FC8 1000.

    VGG-16: 138,357,544 parameters (138,344,128 weights, which is what the slide counts),
    102,760,448 of them in FC6's weights. 15,237,608 activations with the input, i.e.
    60,950,432 bytes ≈ 61 MB per image at 4 bytes. The slide's total "24M × 4 bytes ≈ 93MB"
    does not match the rows it adds up: they sum to 15.2M values.
    VGG-19: 143,667,240 parameters. Depths 11 and 13 work too.

    Rows are named CONV1_1, CONV1_2, POOL1, ..., CONV5_3, POOL5, FC6, FC7, FC8.
    Raises ValueError for a depth other than 11, 13, 16, 19.
    """
    if depth not in VGG_CONFIGS:
        raise ValueError(f"VGG depth must be one of {sorted(VGG_CONFIGS)}, got {depth!r}")
    layers, block, index = [], 1, 1
    for item in VGG_CONFIGS[depth]:
        if item == "M":
            layers.append(Pool(2, 2, name=f"POOL{block}"))
            block, index = block + 1, 1
        else:
            layers.append(Conv(item, 3, pad=1, name=f"CONV{block}_{index}"))
            index += 1
    layers += [FC(4096, name="FC6"), FC(4096, name="FC7"), FC(1000, name="FC8")]
    return SpecList(layers, (3, 224, 224), f"VGG-{depth} (224×224×3)", vgg_spec.__doc__)


def inception_module_spec(c1: int = 64, c3_reduce: int = 96, c3: int = 128, c5_reduce: int = 16,
                          c5: int = 32, pool_proj: int = 32,
                          in_shape: Sequence[int] = (192, 28, 28)) -> SpecList:
    """One GoogLeNet inception module; the defaults are inception (3a) on 28×28×192.

    Branches: 1×1 (64) | 1×1 (96) -> 3×3 (128) | 1×1 (16) -> 5×5 (32) | 3×3 max pool -> 1×1 (32),
    concatenated: 28×28×256. 163,696 parameters, 128,049,152 multiply-adds.
    See :func:`cs231n_lib.arithmetic.inception_cost` for the module without the 1×1 bottlenecks.
    """
    block = Inception(c1, c3_reduce, c3, c5_reduce, c5, pool_proj, name="inception_3a")
    return SpecList([block], tuple(in_shape), f"Inception module on {tuple(in_shape)}",
                    inception_module_spec.__doc__)


def resnet_stage_spec(channels: int = 64, n_blocks: int = 2, stride: int = 1,
                      bottleneck: bool = False, in_shape: Sequence[int] = (64, 56, 56),
                      name: str = "conv2") -> SpecList:
    """One ResNet stage: ``n_blocks`` residual blocks; the first may downsample.

    Basic blocks (ResNet-18/34): two 3×3 convolutions with ``channels`` filters. Bottleneck
    blocks (ResNet-50+): 1×1 to ``channels``, 3×3, 1×1 to ``4 * channels``. Every conv has no
    bias and is followed by batch norm. The first block has stride ``stride``; where it
    changes the shape, its shortcut is a 1×1 projection (conv + batch norm), else identity.
    The defaults are ResNet-18's conv2_x stage on the 56×56×64 map left after the stem
    ("spatial dimension only 56×56!"). Blocks are named ``conv2_1``, ``conv2_2``, ...
    """
    make = bottleneck_block if bottleneck else basic_block
    blocks = [make(channels, stride if i == 0 else 1, name=f"{name}_{i + 1}")
              for i in range(n_blocks)]
    kind = "bottleneck" if bottleneck else "basic"
    return SpecList(blocks, tuple(in_shape), f"ResNet stage {name} ({n_blocks} {kind} blocks)",
                    resnet_stage_spec.__doc__)


@dataclass(frozen=True)
class PositionBiasConv(Conv):
    """A convolution with a different bias at every output position (AlphaGo's last layer).

    Weights as :class:`Conv`; biases ``out_channels * H' * W'`` (one per output value) instead
    of ``out_channels``. The torch twin is ``models.PositionBiasConv2d``.
    """

    def biases(self, in_shape) -> int:
        return self.out_channels * math.prod(self.output_shape(in_shape)[1:])


def alphago_policy_spec(position_bias: bool = True) -> SpecList:
    """AlphaGo's policy network [Silver et al. 2016] on the 19×19×48 board features.

    CONV1: 192 5×5 filters, pad 2 -> 19×19×192; CONV2..CONV12: 192 3×3 filters, pad 1;
    CONV13: one 1×1 filter -> 19×19×1; flattened to 361 move scores (a softmax turns them
    into the probability map).

    The paper (Methods) gives CONV13 "a different bias for each position": 192 weights and
    361 biases, 3,882,793 parameters in all,
    48·25·192 + 192 + 11 · (192·9·192 + 192) + 192 + 361.
    ``position_bias=False`` is the lecture slide's layer, one 1×1 filter with one bias:
    3,882,433 parameters (… + 192 + 1).
    """
    if not isinstance(position_bias, bool):
        raise TypeError(f"position_bias must be True (the paper) or False (the lecture slide), "
                        f"got {position_bias!r}")
    layers = [Conv(192, 5, pad=2, name="CONV1")]
    layers += [Conv(192, 3, pad=1, name=f"CONV{i}") for i in range(2, 13)]
    last = (PositionBiasConv(1, 1, name="CONV13", bias=False) if position_bias
            else Conv(1, 1, name="CONV13"))
    layers += [last, Flatten("SCORES")]
    kind = "paper: a bias per point" if position_bias else "lecture slide: one shared bias"
    return SpecList(layers, (48, 19, 19), f"AlphaGo policy network (19×19×48; {kind})",
                    alphago_policy_spec.__doc__)
