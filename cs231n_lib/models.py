"""Case-study networks from the lectures, as plain PyTorch modules.

Every constructor builds its layers eagerly (no lazy modules), so a lesson can count
parameters before any forward pass, and names the layers the way the slides do::

    >>> from cs231n_lib import models
    >>> net = models.alexnet()
    >>> models.count_parameters(net)
    62378344
    >>> [name for name, _ in net.named_children()][:5]
    ['input', 'conv1', 'relu1', 'pool1', 'norm1']

The big ImageNet networks are heavy (VGG-16: 138M parameters, ~15.5 GMAC per 224x224
image). To look at shapes without paying for them, build them on PyTorch's ``meta``
device, where tensors have shapes but no storage::

    >>> import torch
    >>> with torch.device("meta"):
    ...     vgg16 = models.vgg(16)
    ...     scores = vgg16(torch.empty(1, 3, 224, 224))
    >>> tuple(scores.shape)
    (1, 1000)

Families and their parameter counts (1000 classes, 3 input channels unless stated):

    ====================  ===========  ==========================================
    constructor           parameters   input (C, H, W)
    ====================  ===========  ==========================================
    lenet5()              61,706       (1, 32, 32), 10 classes
    alexnet()             62,378,344   (3, 227, 227)
    zfnet()               107,627,624  (3, 224, 224)
    vgg(16)               138,357,544  (3, 224, 224)
    googlenet()           6,624,904    (3, 224, 224)  torchvision layout
    resnet(18)            11,689,512   (3, 224, 224)
    resnet(34)            21,797,672   (3, 224, 224)
    resnet(50)            25,557,032   (3, 224, 224)
    resnet_cifar(20)      269,722      (3, 32, 32), 10 classes, option A
    alphago_policy()      3,882,793    (48, 19, 19), 361 move logits
    ====================  ===========  ==========================================

``MODELS`` maps a name to its constructor and canonical input shape; the small
variants (``small_vgg``, ``small_alexnet``, ``small_googlenet``, ``resnet_cifar``)
take 32x32 images and train on a laptop CPU.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MODELS",
    "BasicBlock",
    "Bottleneck",
    "CifarBlock",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "Inception",
    "ExpectInput",
    "ModelEntry",
    "PositionBiasConv2d",
    "alexnet",
    "alphago_policy",
    "count_parameters",
    "googlenet",
    "lenet5",
    "resnet",
    "resnet_cifar",
    "small_alexnet",
    "small_googlenet",
    "small_vgg",
    "vgg",
    "zfnet",
]


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters in ``model`` (weights and biases, every layer).

    Works on models built on the ``meta`` device too (shapes are all it needs).
    Batch-norm running statistics are buffers, not parameters, so they are not counted.
    ``trainable_only=True`` counts only parameters with ``requires_grad``.

    Raises TypeError if ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_parameters expects a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_positive_int(name: str, value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int ({what}), got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1 ({what}), got {value}")


def _check_common(num_classes, in_channels) -> None:
    _check_positive_int("num_classes", num_classes, "the number of class scores")
    _check_positive_int("in_channels", in_channels, "the depth of the input image, 3 for RGB")


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")


class ExpectInput(nn.Module):
    """The INPUT row of a slide's table: checks that x is (N, C, H, W) with the built-for C, H, W.

    LeNet, AlexNet, ZFNet and VGG size their fully connected layers for one resolution;
    a wrong-size input would otherwise fail deep inside a conv or a matrix multiply.
    This layer passes x through unchanged, or raises a ValueError that says which
    shape fits and why (``hint``).
    """

    keeps_receptive_field = True   # a pass-through: layer arithmetic sees no window here

    def __init__(self, shape: tuple[int, int, int], hint: str = ""):
        super().__init__()
        self.shape = tuple(shape)
        self.hint = hint

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.shape:
            c, h, w = self.shape
            raise ValueError(
                f"this network takes inputs of shape (N, {c}, {h}, {w}), got {tuple(x.shape)}"
                + (f"; {self.hint}" if self.hint else "")
            )
        return x

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def _he_init(model: nn.Module) -> nn.Module:
    """He et al. initialisation ("Xavier/2"): conv weights ~ N(0, 2 / fan_out), BN = (1, 0)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


# ----------------------------------------------------------------------------------------
# LeNet-5
# ----------------------------------------------------------------------------------------


def lenet5(
    num_classes: int = 10, in_channels: int = 1, activation: str = "tanh", pool: str = "avg"
) -> nn.Sequential:
    """LeNet-5 [LeCun et al., 1998]: CONV-POOL-CONV-POOL-CONV-FC-FC on 32x32 images.

    Layers carry the paper's names (C = convolution, S = subsampling, F = full)::

        input  (in_channels, 32, 32)
        c1     6 filters 5x5, stride 1        -> (6, 28, 28)     (28 = 32 - 5 + 1)
        s2     2x2 subsampling, stride 2      -> (6, 14, 14)
        c3     16 filters 5x5                 -> (16, 10, 10)
        s4     2x2 subsampling, stride 2      -> (16, 5, 5)
        c5     120 filters 5x5                -> (120, 1, 1)
        f6     84 units
        output num_classes scores

    With 10 classes and 1 channel: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters.

    Two simplifications of the 1998 network, both standard in modern re-creations:
    C3 connects to all 6 maps of S2 (the paper used a hand-made sparse table to save
    compute), and subsampling is a parameter-free pool (the paper's S-layers also had a
    trainable scale and bias per map, 12 + 32 parameters; its output was an RBF layer).

    Args:
        activation: ``"tanh"`` (default, as in the paper) or ``"relu"`` (trains faster;
            the lectures' modern default).
        pool: ``"avg"`` (default; the paper averaged) or ``"max"``.

    Returns an ``nn.Sequential`` mapping (N, in_channels, 32, 32) -> (N, num_classes).
    Raises ValueError for an unknown activation or pool, TypeError/ValueError for bad sizes.
    """
    _check_common(num_classes, in_channels)
    _check_choice("activation", activation, {"tanh", "relu"})
    _check_choice("pool", pool, {"avg", "max"})

    def act():
        return nn.Tanh() if activation == "tanh" else nn.ReLU(inplace=True)

    def subsample():
        return nn.AvgPool2d(2, stride=2) if pool == "avg" else nn.MaxPool2d(2, stride=2)

    return nn.Sequential(
        OrderedDict(
            input=ExpectInput((in_channels, 32, 32), "LeNet-5 needs 32x32 (pad 28x28 MNIST by 2)"),
            c1=nn.Conv2d(in_channels, 6, kernel_size=5),
            act1=act(),
            s2=subsample(),
            c3=nn.Conv2d(6, 16, kernel_size=5),
            act3=act(),
            s4=subsample(),
            c5=nn.Conv2d(16, 120, kernel_size=5),
            act5=act(),
            flatten=nn.Flatten(1),
            f6=nn.Linear(120, 84),
            act6=act(),
            output=nn.Linear(84, num_classes),
        )
    )


# ----------------------------------------------------------------------------------------
# AlexNet and ZFNet
# ----------------------------------------------------------------------------------------


def _lrn() -> nn.LocalResponseNorm:
    # Krizhevsky et al.: size n = 5 neighbouring channels, alpha = 1e-4, beta = 0.75, k = 2.
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


def _alexnet_classifier(in_features: int, num_classes: int, hidden: int, dropout: float):
    # Dropout 0.5 on the outputs of FC6 and FC7, as in the paper.
    return [
        ("fc6", nn.Linear(in_features, hidden)),
        ("relu6", nn.ReLU(inplace=True)),
        ("drop6", nn.Dropout(dropout)),
        ("fc7", nn.Linear(hidden, hidden)),
        ("relu7", nn.ReLU(inplace=True)),
        ("drop7", nn.Dropout(dropout)),
        ("fc8", nn.Linear(hidden, num_classes)),
    ]


def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> nn.Sequential:
    """AlexNet [Krizhevsky et al., 2012], single tower, exactly the lectures' table.

    ::

        [227x227x3]  INPUT
        [55x55x96]   conv1  96 11x11 filters, stride 4, pad 0   (227 - 11)/4 + 1 = 55
        [27x27x96]   pool1  3x3 max, stride 2                   (55 - 3)/2 + 1 = 27
        [27x27x96]   norm1  local response normalisation
        [27x27x256]  conv2  256 5x5, stride 1, pad 2
        [13x13x256]  pool2  3x3 max, stride 2
        [13x13x256]  norm2
        [13x13x384]  conv3  384 3x3, pad 1
        [13x13x384]  conv4  384 3x3, pad 1
        [13x13x256]  conv5  256 3x3, pad 1
        [6x6x256]    pool3  3x3 max, stride 2
        [4096]       fc6  (dropout 0.5 after)
        [4096]       fc7  (dropout 0.5 after)
        [1000]       fc8  class scores

    62,378,344 parameters; 37.7M of them (60%) are FC6's 9216x4096 matrix.

    The input must be 227x227. Some slides (and the paper's text) say 224x224, but
    (224 - 11)/4 + 1 = 54.25 does not tile; with 224 inputs the last pool gives 5x5,
    not 6x6, and FC6 refuses the volume. The paper's two GPU towers (grouped convs
    2, 4, 5) are merged into one here, which is why the count is 62.4M, not ~61M.
    As on the slides, each NORM follows its POOL (the paper normalised before pooling).

    Returns an ``nn.Sequential`` mapping (N, in_channels, 227, 227) -> (N, num_classes).
    """
    _check_common(num_classes, in_channels)
    hint = "AlexNet needs 227x227: (227 - 11)/4 + 1 = 55, while (224 - 11)/4 + 1 = 54.25"
    layers = [
        ("input", ExpectInput((in_channels, 227, 227), hint)),
        ("conv1", nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=0)),
        ("relu1", nn.ReLU(inplace=True)),
        ("pool1", nn.MaxPool2d(3, stride=2)),
        ("norm1", _lrn()),
        ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2)),
        ("relu2", nn.ReLU(inplace=True)),
        ("pool2", nn.MaxPool2d(3, stride=2)),
        ("norm2", _lrn()),
        ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)),
        ("relu3", nn.ReLU(inplace=True)),
        ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1)),
        ("relu4", nn.ReLU(inplace=True)),
        ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1)),
        ("relu5", nn.ReLU(inplace=True)),
        ("pool3", nn.MaxPool2d(3, stride=2)),
        ("flatten", nn.Flatten(1)),
    ]
    layers += _alexnet_classifier(256 * 6 * 6, num_classes, 4096, dropout)
    return nn.Sequential(OrderedDict(layers))


def zfnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> nn.Sequential:
    """ZFNet [Zeiler & Fergus, 2013]: AlexNet with a finer first layer and wider CONV3-5.

    The slides' summary: CONV1 7x7 stride 2 instead of 11x11 stride 4, and CONV3/4/5 with
    512/1024/512 filters instead of 384/384/256. The slides leave out one change the
    paper also made: CONV2 has stride 2. Without it every later map is twice as wide and
    FC6 alone would hold 12x12x512x4096 = 302M weights. Shapes for a 224x224 input::

        [224x224x3]   INPUT
        [110x110x96]  conv1  96 7x7, stride 2, pad 1    floor((224 + 2 - 7)/2) + 1 = 110
        [55x55x96]    pool1  3x3 max, stride 2, ceil     ceil((110 - 3)/2) + 1 = 55
        [55x55x96]    norm1
        [26x26x256]   conv2  256 5x5, stride 2, pad 0   (55 - 5)/2 + 1 = 26
        [13x13x256]   pool2  3x3 max, stride 2, ceil     ceil((26 - 3)/2) + 1 = 13
        [13x13x256]   norm2
        [13x13x512]   conv3  512 3x3, pad 1
        [13x13x1024]  conv4  1024 3x3, pad 1
        [13x13x512]   conv5  512 3x3, pad 1
        [6x6x512]     pool3  3x3 max, stride 2          (13 - 3)/2 + 1 = 6
        [4096] fc6, [4096] fc7, [1000] fc8

    These are the sizes of the paper's Figure 3 (110, 55, 26, 13, 6). A 7-wide filter at
    stride 2 cannot tile 224 exactly for any padding (224 - 7 is odd), so conv1 rounds
    down and pools 1 and 2 round up, as Caffe's pools did. 107,627,624 parameters with
    1000 classes (FC6: 18432x4096 = 75.5M of them).

    Returns an ``nn.Sequential`` mapping (N, in_channels, 224, 224) -> (N, num_classes).
    """
    _check_common(num_classes, in_channels)
    hint = "ZFNet is built for 224x224 images (see the shape table in its docstring)"
    layers = [
        ("input", ExpectInput((in_channels, 224, 224), hint)),
        ("conv1", nn.Conv2d(in_channels, 96, kernel_size=7, stride=2, padding=1)),
        ("relu1", nn.ReLU(inplace=True)),
        ("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
        ("norm1", _lrn()),
        ("conv2", nn.Conv2d(96, 256, kernel_size=5, stride=2, padding=0)),
        ("relu2", nn.ReLU(inplace=True)),
        ("pool2", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
        ("norm2", _lrn()),
        ("conv3", nn.Conv2d(256, 512, kernel_size=3, padding=1)),
        ("relu3", nn.ReLU(inplace=True)),
        ("conv4", nn.Conv2d(512, 1024, kernel_size=3, padding=1)),
        ("relu4", nn.ReLU(inplace=True)),
        ("conv5", nn.Conv2d(1024, 512, kernel_size=3, padding=1)),
        ("relu5", nn.ReLU(inplace=True)),
        ("pool3", nn.MaxPool2d(3, stride=2)),
        ("flatten", nn.Flatten(1)),
    ]
    layers += _alexnet_classifier(512 * 6 * 6, num_classes, 4096, dropout)
    return nn.Sequential(OrderedDict(layers))


def small_alexnet(
    num_classes: int = 10, in_channels: int = 3, width: int = 16, dropout: float = 0.5
) -> nn.Sequential:
    """An AlexNet-shaped network for 32x32 images (CIFAR-10), small enough for a CPU.

    Same recipe as AlexNet: five convs, max pools of 3x3 stride 2 (padded by 1 so 32
    halves cleanly), LRN after the first two pools, dropout, three FC layers. With
    ``width = w`` the conv depths are 2w, 4w, 6w, 6w, 4w and the FC layers have 8w units::

        [32x32x3] -> conv1 5x5 pad 2 [32x32x2w] -> pool1 [16x16] -> norm1
                  -> conv2 5x5 pad 2 [16x16x4w] -> pool2 [8x8]   -> norm2
                  -> conv3, conv4, conv5 3x3 pad 1 [8x8] -> pool3 [4x4x4w]
                  -> fc6 (8w) -> fc7 (8w) -> fc8 (num_classes)

    ``width=16``: 396,490 parameters, about 28M multiply-adds per image.

    Returns an ``nn.Sequential`` mapping (N, in_channels, 32, 32) -> (N, num_classes).
    """
    _check_common(num_classes, in_channels)
    _check_positive_int("width", width, "the base number of filters")
    c1, c2, c3, c4, c5, hidden = 2 * width, 4 * width, 6 * width, 6 * width, 4 * width, 8 * width
    layers = [
        ("input", ExpectInput((in_channels, 32, 32), "small_alexnet is built for 32x32 images")),
        ("conv1", nn.Conv2d(in_channels, c1, kernel_size=5, padding=2)),
        ("relu1", nn.ReLU(inplace=True)),
        ("pool1", nn.MaxPool2d(3, stride=2, padding=1)),
        ("norm1", _lrn()),
        ("conv2", nn.Conv2d(c1, c2, kernel_size=5, padding=2)),
        ("relu2", nn.ReLU(inplace=True)),
        ("pool2", nn.MaxPool2d(3, stride=2, padding=1)),
        ("norm2", _lrn()),
        ("conv3", nn.Conv2d(c2, c3, kernel_size=3, padding=1)),
        ("relu3", nn.ReLU(inplace=True)),
        ("conv4", nn.Conv2d(c3, c4, kernel_size=3, padding=1)),
        ("relu4", nn.ReLU(inplace=True)),
        ("conv5", nn.Conv2d(c4, c5, kernel_size=3, padding=1)),
        ("relu5", nn.ReLU(inplace=True)),
        ("pool3", nn.MaxPool2d(3, stride=2, padding=1)),
        ("flatten", nn.Flatten(1)),
    ]
    layers += _alexnet_classifier(c5 * 4 * 4, num_classes, hidden, dropout)
    return nn.Sequential(OrderedDict(layers))


# ----------------------------------------------------------------------------------------
# VGG
# ----------------------------------------------------------------------------------------

#: Filters per conv, "M" = 2x2 max pool, for Simonyan & Zisserman's configurations A, B, D, E.
# fmt: off
VGG_CONFIGS: dict[int, list] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ],
}
# fmt: on


def _vgg_features(config, in_channels: int, batch_norm: bool, scale: float = 1.0):
    """The conv part of a VGG: named (conv{stage}_{i}, relu, pool{stage}) layers.

    Returns (list of (name, module), channels of the last conv).
    Every conv is 3x3 stride 1 pad 1 (keeps H, W); every pool is 2x2 stride 2 (halves them).
    """
    layers, channels, stage, index = [], in_channels, 1, 1
    for item in config:
        if item == "M":
            layers.append((f"pool{stage}", nn.MaxPool2d(2, stride=2)))
            stage, index = stage + 1, 1
            continue
        out = max(1, round(item * scale))
        name = f"conv{stage}_{index}"
        layers.append((name, nn.Conv2d(channels, out, kernel_size=3, padding=1)))
        if batch_norm:
            layers.append((f"bn{stage}_{index}", nn.BatchNorm2d(out)))
        layers.append((f"relu{stage}_{index}", nn.ReLU(inplace=True)))
        channels, index = out, index + 1
    return layers, channels


def vgg(
    depth: int,
    num_classes: int = 1000,
    in_channels: int = 3,
    batch_norm: bool = False,
    width: float = 1.0,
    hidden: int = 4096,
    image_size: int = 224,
    dropout: float = 0.5,
) -> nn.Sequential:
    """VGGNet [Simonyan & Zisserman, 2014] with 11, 13, 16 or 19 weight layers.

    Only two kinds of layer: 3x3 convs with stride 1 and pad 1 (which keep H and W) and
    2x2 max pools with stride 2 (which halve them), in five stages of 64, 128, 256, 512,
    512 filters; then FC-FC-FC. Layer names follow the paper: conv1_1, conv1_2, pool1,
    conv2_1, ... , pool5, fc6, fc7, fc8. For 224x224 inputs the last pool gives 7x7x512,
    so FC6 is a 25088x4096 matrix: 102.8M of VGG-16's 138,357,544 parameters. The first
    child, ``input``, only checks the input shape (the FC layers fix the resolution).

    Args:
        depth: 11, 13, 16 or 19 (configurations A, B, D, E of the paper).
        batch_norm: add a BatchNorm2d after each conv (not in the 2014 paper).
        width: multiply every conv's filter count by this (0.25 gives 16, 32, 64, 128, 128).
        hidden: units in FC6 and FC7 (4096 in the paper).
        image_size: the H = W the network is built for; must be a multiple of 32
            (five halvings). FC6 takes (512 * width) x (image_size / 32)^2 inputs.

    Returns an ``nn.Sequential`` mapping (N, in_channels, image_size, image_size)
    -> (N, num_classes). Raises ValueError for an unknown depth or an image_size that
    five 2x2 pools cannot halve exactly.
    """
    _check_common(num_classes, in_channels)
    _check_choice("depth", depth, set(VGG_CONFIGS))
    _check_positive_int("hidden", hidden, "units in FC6 and FC7")
    _check_positive_int("image_size", image_size, "the input height and width")
    if not width > 0:
        raise ValueError(f"width must be a positive multiplier of the filter counts, got {width}")
    if image_size % 32:
        raise ValueError(
            f"image_size {image_size} cannot be halved by five 2x2 pools: "
            f"{image_size} / 32 = {image_size / 32:.2f}; use a multiple of 32 such as 32 or 224"
        )
    hint = f"this VGG was built with image_size={image_size}; pass that size or rebuild it"
    features, channels = _vgg_features(VGG_CONFIGS[depth], in_channels, batch_norm, width)
    layers = [("input", ExpectInput((in_channels, image_size, image_size), hint)), *features]
    side = image_size // 32  # five 2x2 pools halve the image five times
    layers.append(("flatten", nn.Flatten(1)))
    layers += _alexnet_classifier(channels * side * side, num_classes, hidden, dropout)
    return nn.Sequential(OrderedDict(layers))


def small_vgg(
    num_classes: int = 10,
    in_channels: int = 3,
    width: int = 16,
    batch_norm: bool = True,
    dropout: float = 0.5,
) -> nn.Sequential:
    """A VGG-style network for 32x32 images: three stages of two 3x3 convs and a 2x2 pool.

    ::

        [32x32x3] -> conv1_1, conv1_2 (w)  -> pool1 [16x16x w]
                  -> conv2_1, conv2_2 (2w) -> pool2 [8x8x 2w]
                  -> conv3_1, conv3_2 (4w) -> pool3 [4x4x 4w]
                  -> fc4 (8w) -> fc5 (num_classes)

    Same rules as VGG (3x3 stride 1 pad 1 convs, 2x2 stride 2 pools), fewer stages so a
    32x32 image keeps a 4x4 map. Batch norm (on by default) makes it train quickly.
    ``width=16``: 205,018 parameters with batch norm, about 9.5M multiply-adds per image.

    Returns an ``nn.Sequential`` mapping (N, in_channels, 32, 32) -> (N, num_classes).
    """
    _check_common(num_classes, in_channels)
    _check_positive_int("width", width, "filters in the first stage")
    w = width
    config = [w, w, "M", 2 * w, 2 * w, "M", 4 * w, 4 * w, "M"]
    features, channels = _vgg_features(config, in_channels, batch_norm)
    layers = [("input", ExpectInput((in_channels, 32, 32), "small_vgg is built for 32x32 images"))]
    layers += features
    layers += [
        ("flatten", nn.Flatten(1)),
        ("fc4", nn.Linear(channels * 16, 8 * w)),
        ("relu4", nn.ReLU(inplace=True)),
        ("drop4", nn.Dropout(dropout)),
        ("fc5", nn.Linear(8 * w, num_classes)),
    ]
    return nn.Sequential(OrderedDict(layers))


# ----------------------------------------------------------------------------------------
# GoogLeNet (Inception v1)
# ----------------------------------------------------------------------------------------


def _conv_unit(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0,
               batch_norm: bool = True) -> nn.Sequential:  # fmt: skip
    """conv -> (BN) -> ReLU. With BN the conv has no bias: BN's shift would cancel it."""
    parts = [("conv", nn.Conv2d(cin, cout, kernel, stride, padding, bias=not batch_norm))]
    if batch_norm:
        parts.append(("bn", nn.BatchNorm2d(cout, eps=0.001)))
    parts.append(("relu", nn.ReLU(inplace=True)))
    return nn.Sequential(OrderedDict(parts))


class Inception(nn.Module):
    """The Inception module: four parallel branches, concatenated along depth.

    ::

        x ─┬─ 1x1 conv (n1x1)                          ─┐
           ├─ 1x1 reduce (n3x3red) ─ 3x3 conv (n3x3)    ├─ concat along depth
           ├─ 1x1 reduce (n5x5red) ─ 5x5 conv (n5x5)    │  (n1x1 + n3x3 + n5x5 + pool_proj)
           └─ 3x3 max pool, stride 1 ─ 1x1 (pool_proj) ─┘

    The 1x1 "bottleneck" convs shrink the depth before the expensive 3x3 and 5x5 convs;
    that is what keeps GoogLeNet at ~7M parameters. Every branch keeps H and W.
    ``layout="torchvision"`` uses conv+BN and a 3x3 conv in the "5x5" branch (as
    torchvision does); ``layout="paper"`` uses biased convs without BN and a real 5x5.

    Shapes: x (N, in_channels, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self, in_channels: int, n1x1: int, n3x3red: int, n3x3: int,
                 n5x5red: int, n5x5: int, pool_proj: int, layout: str = "torchvision"):  # fmt: skip
        super().__init__()
        bn = layout == "torchvision"
        k5 = 3 if bn else 5
        self.out_channels = n1x1 + n3x3 + n5x5 + pool_proj
        self.branch1x1 = _conv_unit(in_channels, n1x1, 1, batch_norm=bn)
        self.branch3x3 = nn.Sequential(
            OrderedDict(
                reduce=_conv_unit(in_channels, n3x3red, 1, batch_norm=bn),
                conv=_conv_unit(n3x3red, n3x3, 3, padding=1, batch_norm=bn),
            )
        )
        self.branch5x5 = nn.Sequential(
            OrderedDict(
                reduce=_conv_unit(in_channels, n5x5red, 1, batch_norm=bn),
                conv=_conv_unit(n5x5red, n5x5, k5, padding=k5 // 2, batch_norm=bn),
            )
        )
        self.branch_pool = nn.Sequential(
            OrderedDict(
                pool=nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                proj=_conv_unit(in_channels, pool_proj, 1, batch_norm=bn),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool]
        return torch.cat([branch(x) for branch in branches], dim=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on a 14x14 map: avg pool -> 1x1 conv 128 -> FC 1024 -> FC.

    Shapes: x (N, C, 14, 14) -> (N, num_classes). Adaptive 4x4 pooling equals the
    paper's 5x5 stride 3 pool on 14x14 maps.
    """

    def __init__(self, in_channels: int, num_classes: int, layout: str = "torchvision"):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = _conv_unit(in_channels, 128, 1, batch_norm=layout == "torchvision")
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.pool(x)), 1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNetOutputs(NamedTuple):
    """What GoogLeNet returns in training mode when it has auxiliary classifiers."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor


# (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj): Table 1 of Szegedy et al.
_INCEPTION_V1 = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    """GoogLeNet / Inception v1; build it with :func:`googlenet` or :func:`small_googlenet`.

    ``stem`` is the layers before the first Inception module; ``body`` holds the named
    Inception modules and pools; ``head`` is global average pooling, dropout and one FC.
    With ``aux`` = {"aux1": (layer name, classifier), "aux2": (...)} each auxiliary
    classifier reads the output of the named body layer; in training mode ``forward``
    then returns
    :class:`GoogLeNetOutputs` (logits, aux1, aux2), otherwise just the logits (N, K).
    """

    def __init__(self, stem: nn.Sequential, body: nn.Sequential, head: nn.Sequential,
                 aux: dict[str, tuple[str, nn.Module]] | None = None):  # fmt: skip
        super().__init__()
        self.stem, self.body, self.head = stem, body, head
        self.aux_after = {}
        if aux:
            self.aux1, self.aux2 = aux["aux1"][1], aux["aux2"][1]
            self.aux_after = {aux["aux1"][0]: "aux1", aux["aux2"][0]: "aux2"}

    def forward(self, x: torch.Tensor):
        aux_out = {}
        x = self.stem(x)
        for name, layer in self.body.named_children():
            x = layer(x)
            if self.training and name in self.aux_after:
                aux_out[self.aux_after[name]] = getattr(self, self.aux_after[name])(x)
        logits = self.head(x)
        if aux_out:
            return GoogLeNetOutputs(logits, aux_out["aux1"], aux_out["aux2"])
        return logits


def googlenet(
    num_classes: int = 1000,
    in_channels: int = 3,
    aux_logits: bool = False,
    layout: str = "torchvision",
    dropout: float = 0.2,
) -> GoogLeNet:
    """GoogLeNet [Szegedy et al., 2014]: 22 layers of Inception modules, no big FC layer.

    Shapes for a 224x224 input::

        stem: conv1 7x7/2 (64) -> 112, pool1 3x3/2 -> 56, conv2 1x1 (64),
              conv3 3x3 (192), pool2 3x3/2 -> 28x28x192
        inception3a -> 256, inception3b -> 480, pool3 -> 14x14x480
        inception4a..4e -> 512, 512, 512, 528, 832, pool4 -> 7x7x832
        inception5a -> 832, inception5b -> 1024 (7x7x1024)
        global average pool -> 1024, dropout, fc -> num_classes

    Two layouts:

    * ``"torchvision"`` (default): every conv is conv (no bias) + BatchNorm + ReLU, and
      the "5x5" branch uses a 3x3 conv, as ``torchvision.models.googlenet`` does (BN
      came in 2015, after the paper). 6,624,904 parameters without auxiliary
      classifiers, tensor for tensor the shapes of torchvision's (the names differ).
    * ``"paper"``: biased convs + ReLU, real 5x5 convs, local response norm after pool1
      and conv3 as in the 2014 paper. 6,998,552 parameters without auxiliaries:
      +380,928 weights for real 5x5 filters, and 7,280 conv biases in place of BN's
      14,560 scales and shifts.

    ``aux_logits=True`` adds the two auxiliary classifiers (after inception4a and 4d;
    each 1x1 conv 128 -> FC 1024 -> FC), which add 6,379,984 parameters with 1000 classes.

    Args:
        dropout: before the final FC (0.4 in the paper, 0.2 in torchvision).

    Returns a :class:`GoogLeNet`: (N, in_channels, 224, 224) -> (N, num_classes)
    (any input of 32x32 or more works thanks to the global average pool).
    """
    _check_common(num_classes, in_channels)
    _check_choice("layout", layout, {"torchvision", "paper"})
    bn = layout == "torchvision"
    stem = [
        ("conv1", _conv_unit(in_channels, 64, 7, stride=2, padding=3, batch_norm=bn)),
        ("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
    ]
    if not bn:
        stem.append(("norm1", _lrn()))
    stem += [
        ("conv2", _conv_unit(64, 64, 1, batch_norm=bn)),
        ("conv3", _conv_unit(64, 192, 3, padding=1, batch_norm=bn)),
    ]
    if not bn:
        stem.append(("norm2", _lrn()))
    stem.append(("pool2", nn.MaxPool2d(3, stride=2, ceil_mode=True)))

    body = []
    for name, spec in _INCEPTION_V1.items():
        body.append((name, Inception(*spec, layout=layout)))
        if name in ("inception3b", "inception4e"):
            pool = "pool3" if name == "inception3b" else "pool4"
            # pool3: 3x3/2 (28 -> 14); pool4: 2x2/2 in torchvision, 3x3/2 in the paper (14 -> 7)
            size = 2 if (bn and pool == "pool4") else 3
            body.append((pool, nn.MaxPool2d(size, stride=2, ceil_mode=True)))
    head = nn.Sequential(
        OrderedDict(
            avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(1),
            dropout=nn.Dropout(dropout),
            fc=nn.Linear(1024, num_classes),
        )
    )
    aux = None
    if aux_logits:
        aux = {
            "aux1": ("inception4a", InceptionAux(512, num_classes, layout)),
            "aux2": ("inception4d", InceptionAux(528, num_classes, layout)),
        }
    return GoogLeNet(nn.Sequential(OrderedDict(stem)), nn.Sequential(OrderedDict(body)), head, aux)


def small_googlenet(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> GoogLeNet:
    """A five-Inception-module GoogLeNet for 32x32 images (torchvision-style conv+BN units).

    ::

        [32x32x3] conv1 3x3 (2w), pool2 3x3/2           -> [16x16x 2w]
                  inception3a, 3b, pool3 3x3/2           -> [8x8]
                  inception4a, 4b, pool4 3x3/2           -> [4x4]
                  inception5a, global average pool, fc   -> num_classes

    Like GoogLeNet, a cheap stem halves the image before the first Inception module.

    Module widths are the paper's pattern scaled down (``width=16``: outputs 56, 88, 112,
    144, 160 channels); 129,026 parameters with ``width=16``. No auxiliary classifiers.

    Returns a :class:`GoogLeNet`: (N, in_channels, 32, 32) -> (N, num_classes).
    """
    _check_common(num_classes, in_channels)
    _check_positive_int("width", width, "the base number of filters")

    def c(n: int) -> int:  # scale a width-16 channel count
        return max(1, round(n * width / 16))

    specs = {  # (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) at width 16
        "inception3a": (16, 16, 24, 4, 8, 8),
        "inception3b": (24, 24, 32, 8, 16, 16),
        "inception4a": (32, 32, 48, 8, 16, 16),
        "inception4b": (40, 40, 56, 12, 24, 24),
        "inception5a": (48, 48, 64, 12, 24, 24),
    }
    stem = nn.Sequential(
        OrderedDict(
            conv1=_conv_unit(in_channels, c(32), 3, padding=1),
            pool2=nn.MaxPool2d(3, stride=2, padding=1),
        )
    )
    body, channels = [], c(32)
    for name, spec in specs.items():
        module = Inception(channels, *(c(n) for n in spec))
        body.append((name, module))
        channels = module.out_channels
        if name in ("inception3b", "inception4b"):
            pool = "pool3" if name == "inception3b" else "pool4"
            body.append((pool, nn.MaxPool2d(3, stride=2, padding=1)))
    head = nn.Sequential(
        OrderedDict(
            avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(1),
            fc=nn.Linear(channels, num_classes),
        )
    )
    return GoogLeNet(stem, nn.Sequential(OrderedDict(body)), head)


# ----------------------------------------------------------------------------------------
# ResNet (ImageNet)
# ----------------------------------------------------------------------------------------


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> list:
    """A conv without bias (BN's shift replaces it) followed by batch norm."""
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
    return [conv, nn.BatchNorm2d(cout)]


def _projection(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    """Shortcut for a block that changes the shape: 1x1 conv (stride s) + BN; else None."""
    if stride == 1 and cin == cout:
        return None
    conv, bn = _conv_bn(cin, cout, 1, stride)
    return nn.Sequential(OrderedDict(conv=conv, bn=bn))


class BasicBlock(nn.Module):
    """ResNet-18/34 block: out = ReLU(F(x) + shortcut(x)), F = conv3x3-BN-ReLU-conv3x3-BN.

    The first conv carries the stride (2 where a stage halves H and W). The shortcut is
    the identity, or a 1x1 conv + BN projection when the shape changes ("option B").
    Shapes: x (N, in_channels, H, W) -> (N, channels, H/stride, W/stride).
    """

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(in_channels, channels, 3, stride)
        self.conv2, self.bn2 = _conv_bn(channels, channels, 3)
        self.shortcut = _projection(in_channels, channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    """ResNet-50/101/152 block: 1x1 (reduce) -> 3x3 -> 1x1 (expand x4), each + BN.

    "v1.5" layout (torchvision): the stride sits in the 3x3 conv, not the first 1x1.
    Shapes: x (N, in_channels, H, W) -> (N, 4 * channels, H/stride, W/stride).
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        out = channels * self.expansion
        self.conv1, self.bn1 = _conv_bn(in_channels, channels, 1)
        self.conv2, self.bn2 = _conv_bn(channels, channels, 3, stride)
        self.conv3, self.bn3 = _conv_bn(channels, out, 1)
        self.shortcut = _projection(in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)


#: depth -> (block type, blocks in stages conv2_x .. conv5_x), Table 1 of He et al. 2015.
RESNET_CONFIGS: dict[int, tuple[type, tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def resnet(depth: int, num_classes: int = 1000, in_channels: int = 3) -> nn.Sequential:
    """ResNet [He et al., 2015] with 18, 34, 50, 101 or 152 layers (torchvision's layout).

    Shapes for a 224x224 input (stage names from the paper's Table 1)::

        conv1    7x7/2, 64, + BN + ReLU     -> 112x112
        pool1    3x3/2 max                  -> 56x56     (the slides: "only 56x56!")
        conv2_x  blocks of 64 (x4 in bottlenecks)    56x56
        conv3_x  blocks of 128, first has stride 2   28x28
        conv4_x  blocks of 256                       14x14
        conv5_x  blocks of 512                       7x7
        avgpool  global average -> 512 (basic) or 2048 (bottleneck)
        fc       one linear layer -> num_classes

    Batch norm after every conv (convs have no bias), no dropout, no big FC layer.
    Parameters with 1000 classes: ResNet-18 11,689,512; -34 21,797,672; -50 25,557,032;
    -101 44,549,160; -152 60,192,808. Weights use He initialisation.

    Returns an ``nn.Sequential`` mapping (N, in_channels, H, W) -> (N, num_classes);
    H = W = 224 is canonical, anything of 32 or more runs. Raises ValueError for other depths.
    """
    _check_common(num_classes, in_channels)
    _check_choice("depth", depth, set(RESNET_CONFIGS))
    block, counts = RESNET_CONFIGS[depth]
    conv1, bn1 = _conv_bn(in_channels, 64, 7, stride=2)  # pad 3: 224 -> 112
    layers = [
        ("conv1", conv1),
        ("bn1", bn1),
        ("relu1", nn.ReLU(inplace=True)),
        ("pool1", nn.MaxPool2d(3, stride=2, padding=1)),
    ]
    channels = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), counts, strict=True), 2):
        blocks = []
        for i in range(count):
            stride = 2 if (i == 0 and stage > 2) else 1
            blocks.append(block(channels, width, stride))
            channels = width * block.expansion
        layers.append((f"conv{stage}_x", nn.Sequential(*blocks)))
    layers += [
        ("avgpool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten(1)),
        ("fc", nn.Linear(channels, num_classes)),
    ]
    return _he_init(nn.Sequential(OrderedDict(layers)))


# ----------------------------------------------------------------------------------------
# ResNet for CIFAR-10 and its plain twin
# ----------------------------------------------------------------------------------------


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: subsample by ``stride`` and pad the extra channels with zeros.

    Parameter-free, so ResNet-20 keeps 0.27M parameters as in the paper.
    Shapes: x (N, C_in, H, W) -> (N, C_out, H/stride, W/stride).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # pad (W, H, C): zeros after channel C_in

    def extra_repr(self) -> str:
        return f"zero channels={self.extra}, stride={self.stride}"


class CifarBlock(nn.Module):
    """Two 3x3 conv-BN layers with (``plain=False``) or without (``plain=True``) a shortcut.

    residual: out = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x))
    plain:    out = ReLU(BN(conv(ReLU(BN(conv(x))))))           (same layers, no addition)

    ``shortcut`` is "A" (zero-padding identity) or "B" (1x1 conv + BN projection) for
    the blocks that change shape; the others always use the identity.
    Shapes: x (N, in_channels, H, W) -> (N, channels, H/stride, W/stride).
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1,
                 plain: bool = False, shortcut: str = "A"):  # fmt: skip
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(in_channels, channels, 3, stride)
        self.conv2, self.bn2 = _conv_bn(channels, channels, 3)
        self.plain = plain
        self.shortcut = None
        if not plain and (stride != 1 or in_channels != channels):
            if shortcut == "A":
                self.shortcut = ZeroPadShortcut(in_channels, channels, stride)
            else:
                self.shortcut = _projection(in_channels, channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if not self.plain:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return F.relu(out)


def resnet_cifar(
    depth: int,
    num_classes: int = 10,
    in_channels: int = 3,
    plain: bool = False,
    width: int = 16,
    shortcut: str = "A",
) -> nn.Sequential:
    """The CIFAR-10 ResNets of He et al. §4.2 (6n + 2 layers) and their plain twins.

    ::

        conv1    3x3, w filters, + BN + ReLU      32x32x w
        stage1   n blocks of two 3x3 convs, w     32x32
        stage2   n blocks, 2w, first stride 2     16x16
        stage3   n blocks, 4w, first stride 2     8x8
        avgpool  global average -> 4w;  fc -> num_classes

    Layers: 1 + 3 * 2n + 1 = 6n + 2, so depth 20, 32, 44, 56, 110 means n = 3, 5, 7, 9, 18.
    ``plain=True`` builds the same stack without shortcuts: the degradation experiment
    (a deeper plain net trains *worse*, a deeper ResNet better). ``shortcut="A"``
    (default, as in the paper's CIFAR runs) zero-pads the identity when the depth doubles,
    adding no parameters: ResNet-20 has 269,722 (the paper's "0.27M"); ``"B"`` uses 1x1
    projections (+2,752 parameters at width 16). Weights use He initialisation.

    Returns an ``nn.Sequential`` mapping (N, in_channels, 32, 32) -> (N, num_classes).
    Raises ValueError if depth is not 6n + 2 with n >= 1.
    """
    _check_common(num_classes, in_channels)
    _check_positive_int("depth", depth, "the number of weight layers, 6n + 2")
    _check_positive_int("width", width, "filters in the first stage")
    _check_choice("shortcut", shortcut, {"A", "B"})
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"a CIFAR ResNet has 6n + 2 layers (8, 14, 20, 32, 44, 56, 110, ...); depth {depth} "
            f"gives n = ({depth} - 2) / 6 = {(depth - 2) / 6:.2f}"
        )
    n = (depth - 2) // 6
    conv1, bn1 = _conv_bn(in_channels, width, 3)
    layers = [("conv1", conv1), ("bn1", bn1), ("relu1", nn.ReLU(inplace=True))]
    channels = width
    for stage, out in enumerate((width, 2 * width, 4 * width), 1):
        blocks = []
        for i in range(n):
            stride = 2 if (i == 0 and stage > 1) else 1
            blocks.append(CifarBlock(channels, out, stride, plain=plain, shortcut=shortcut))
            channels = out
        layers.append((f"stage{stage}", nn.Sequential(*blocks)))
    layers += [
        ("avgpool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten(1)),
        ("fc", nn.Linear(channels, num_classes)),
    ]
    return _he_init(nn.Sequential(OrderedDict(layers)))


# ----------------------------------------------------------------------------------------
# AlphaGo policy network
# ----------------------------------------------------------------------------------------


def alphago_policy(
    in_channels: int = 48, filters: int = 192, blocks: int = 11, position_bias: bool = True
) -> nn.Sequential:
    """AlphaGo's policy network [Silver et al., 2016]: a 19x19 board in, 361 move scores out.

    ::

        [19x19x48]  input: 48 feature planes per intersection
        [19x19x192] conv1          192 5x5 filters, stride 1, pad 2, ReLU
        [19x19x192] conv2..conv12  192 3x3 filters, stride 1, pad 1, ReLU   (blocks = 11)
        [19x19x1]   conv13         one 1x1 filter, a different bias for each board point
        [361]       flatten        move logits; a softmax gives the move probabilities

    No pooling anywhere: every layer keeps the 19x19 board. The paper's last layer (Methods:
    "a final 1 x 1 convolution layer with a different bias for each position") has 192
    weights and 361 biases, so the network has 3,882,793 parameters with the defaults.
    ``position_bias=False`` builds the lecture slide's version, one 1x1 filter with a single
    shared bias: 360 parameters fewer, 3,882,433.

    Returns an ``nn.Sequential`` mapping (N, in_channels, 19, 19) -> (N, 361).
    """
    _check_positive_int("in_channels", in_channels, "feature planes per board point")
    _check_positive_int("filters", filters, "filters per conv layer")
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
        raise ValueError(f"blocks must be a non-negative int (number of 3x3 layers), got {blocks}")
    if not isinstance(position_bias, bool):
        raise TypeError(f"position_bias must be True (the paper) or False (the lecture slide), "
                        f"got {position_bias!r}")
    layers = [
        ("input", ExpectInput((in_channels, 19, 19), "the policy network reads a 19x19 board")),
        ("conv1", nn.Conv2d(in_channels, filters, kernel_size=5, padding=2)),
        ("relu1", nn.ReLU(inplace=True)),
    ]
    for i in range(2, blocks + 2):
        layers.append((f"conv{i}", nn.Conv2d(filters, filters, kernel_size=3, padding=1)))
        layers.append((f"relu{i}", nn.ReLU(inplace=True)))
    last = (PositionBiasConv2d(filters, 1, kernel_size=1, board=(19, 19)) if position_bias
            else nn.Conv2d(filters, 1, kernel_size=1))
    layers.append((f"conv{blocks + 2}", last))
    layers.append(("flatten", nn.Flatten(1)))  # (N, 1, 19, 19) -> (N, 361)
    return nn.Sequential(OrderedDict(layers))


class PositionBiasConv2d(nn.Conv2d):
    """A convolution whose bias differs at every output position (AlphaGo's last layer).

    An ordinary conv adds the same bias ``b[c]`` at every pixel of output channel c; this one
    adds ``position_bias[c, i, j]``, a learned number for every channel AND position, so the
    network can prefer some board points whatever the input. Padding and stride must keep
    the output at ``board`` = (H_out, W_out).

    Parameters: ``weight`` (C_out, C_in, k, k) and ``position_bias`` (C_out, H_out, W_out);
    no shared ``bias``. Shapes: x (N, C_in, H, W) -> (N, C_out, H_out, W_out).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, *,
                 board: tuple[int, int] = (19, 19), **kwargs):
        if kwargs.pop("bias", False):
            raise ValueError("PositionBiasConv2d has a bias per position instead of a shared "
                             "bias: leave out bias=True")
        super().__init__(in_channels, out_channels, kernel_size, bias=False, **kwargs)
        self.board = tuple(int(n) for n in board)
        self.position_bias = nn.Parameter(torch.zeros(out_channels, *self.board))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        if tuple(out.shape[-2:]) != self.board:
            raise ValueError(
                f"{type(self).__name__} holds one bias per position of a {self.board[0]}x"
                f"{self.board[1]} output but the convolution gives "
                f"{tuple(out.shape[-2:])}: feed it a {self.board[0]}x{self.board[1]} board "
                "(or build it with the board= your input gives)"
            )
        return out + self.position_bias

    def extra_repr(self) -> str:
        return super().extra_repr() + f", position_bias={tuple(self.position_bias.shape)}"


# ----------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------


class ModelEntry(NamedTuple):
    """A registry entry: ``build()`` makes the model; it takes (N, *input_shape) inputs."""

    build: Callable[[], nn.Module]
    input_shape: tuple[int, int, int]


def _entry(build: Callable[..., nn.Module], shape: tuple[int, int, int], **kwargs) -> ModelEntry:
    if kwargs:

        def builder():
            return build(**kwargs)

        builder.__name__ = builder.__qualname__ = (
            f"{build.__name__}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        )
        builder.__doc__ = build.__doc__
        return ModelEntry(builder, shape)
    return ModelEntry(build, shape)


_IMAGENET = (3, 224, 224)
_CIFAR = (3, 32, 32)

#: name -> ModelEntry(build, input_shape (C, H, W)); ``MODELS["vgg16"].build()``.
MODELS: dict[str, ModelEntry] = {
    "lenet5": _entry(lenet5, (1, 32, 32)),
    "alexnet": _entry(alexnet, (3, 227, 227)),
    "zfnet": _entry(zfnet, _IMAGENET),
    **{f"vgg{d}": _entry(vgg, _IMAGENET, depth=d) for d in VGG_CONFIGS},
    "googlenet": _entry(googlenet, _IMAGENET),
    **{f"resnet{d}": _entry(resnet, _IMAGENET, depth=d) for d in RESNET_CONFIGS},
    **{f"resnet{d}_cifar": _entry(resnet_cifar, _CIFAR, depth=d) for d in (20, 32, 44, 56, 110)},
    **{
        f"plain{d}_cifar": _entry(resnet_cifar, _CIFAR, depth=d, plain=True)
        for d in (20, 32, 44, 56)
    },
    "alphago_policy": _entry(alphago_policy, (48, 19, 19)),
    "small_vgg": _entry(small_vgg, _CIFAR),
    "small_alexnet": _entry(small_alexnet, _CIFAR),
    "small_googlenet": _entry(small_googlenet, _CIFAR),
}
