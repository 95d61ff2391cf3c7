"""Tests for cs231n_lib.models: parameter counts, shapes, names, training steps, ResNet vs plain.

The big ImageNet networks are built on the ``meta`` device (shapes, no storage, no
arithmetic), so counting their parameters and checking their shapes costs milliseconds.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cs231n_lib import models
from cs231n_lib.models import MODELS, count_parameters


def meta_build(build, *args, **kwargs):
    with torch.device("meta"):
        return build(*args, **kwargs)


def shapes_after(model: nn.Module, input_shape, names) -> dict[str, tuple]:
    """Per-image output shapes of the named children after a meta forward pass."""
    seen = {}
    children = dict(model.named_children())
    hooks = [
        children[n].register_forward_hook(
            lambda m, i, o, n=n: seen.__setitem__(n, tuple(o.shape[1:]))
        )
        for n in names
    ]
    with torch.no_grad():
        model(torch.empty(1, *input_shape, device="meta"))
    for h in hooks:
        h.remove()
    return seen


# ------------------------------------------------------------------- parameter counts

EXPECTED_PARAMETERS = {
    "lenet5": 61_706,
    "alexnet": 62_378_344,
    "zfnet": 107_627_624,
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "googlenet": 6_624_904,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnet20_cifar": 269_722,
    "resnet56_cifar": 853_018,
    "plain56_cifar": 853_018,  # same layers as its residual twin; option A adds nothing
    "alphago_policy": 3_882_793,  # Silver et al. 2016: a bias for each of the 361 points
}


@pytest.mark.parametrize("name, expected", sorted(EXPECTED_PARAMETERS.items()))
def test_parameter_count(name, expected):
    model = meta_build(MODELS[name].build)
    assert count_parameters(model) == expected


def test_parameter_count_by_hand_matches_the_lectures():
    alex = meta_build(models.alexnet)
    # The pop quiz: CONV1 has 11*11*3*96 = 34,848 weights + 96 biases.
    assert count_parameters(alex.conv1) == 11 * 11 * 3 * 96 + 96 == 34_944
    assert count_parameters(alex.fc6) == 9216 * 4096 + 4096
    vgg16 = meta_build(models.vgg, 16)
    # The VGG slide (weights only): FC6 7*7*512*4096 = 102,760,448; conv1_1 1,728.
    assert vgg16.fc6.weight.numel() == 102_760_448
    assert vgg16.conv1_1.weight.numel() == 1_728
    lenet = models.lenet5()
    per_layer = [count_parameters(lenet.get_submodule(n)) for n in ("c1", "c3", "c5", "f6")]
    assert per_layer == [156, 2_416, 48_120, 10_164]


def test_googlenet_variants():
    assert count_parameters(meta_build(models.googlenet, layout="paper")) == 6_998_552
    with_aux = meta_build(models.googlenet, aux_logits=True)
    assert count_parameters(with_aux) == 6_624_904 + 6_379_984
    # torchvision layout: a 3x3 conv in the "5x5" branch; the paper's is a real 5x5
    tv = meta_build(models.googlenet)
    paper = meta_build(models.googlenet, layout="paper")
    assert tv.body.inception3a.branch5x5.conv.conv.kernel_size == (3, 3)
    assert paper.body.inception3a.branch5x5.conv.conv.kernel_size == (5, 5)


def test_shortcut_options_and_extras():
    a = count_parameters(models.resnet_cifar(20, shortcut="A"))
    b = count_parameters(models.resnet_cifar(20, shortcut="B"))
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)  # two 1x1 conv + BN projections
    paper = count_parameters(meta_build(models.alphago_policy))
    slide = count_parameters(meta_build(models.alphago_policy, position_bias=False))
    assert paper == slide + 360 == 3_882_793   # 361 per-point biases replace one shared bias
    assert slide == 48 * 25 * 192 + 192 + 11 * (192 * 9 * 192 + 192) + 192 + 1 == 3_882_433
    # projection shortcuts only where the shape changes
    r18 = meta_build(models.resnet, 18)
    r50 = meta_build(models.resnet, 50)
    projections = [m for m in r18.modules() if isinstance(m, models.BasicBlock) and m.shortcut]
    assert len(projections) == 3  # first block of conv3_x, conv4_x, conv5_x
    projections = [m for m in r50.modules() if isinstance(m, models.Bottleneck) and m.shortcut]
    assert len(projections) == 4  # conv2_x's first block too: 64 -> 256 channels
    assert r50.conv3_x[0].conv2.stride == (2, 2) and r50.conv3_x[0].conv1.stride == (1, 1)


def test_num_classes_and_in_channels_change_the_right_layers():
    net = models.lenet5(num_classes=7, in_channels=3)
    assert count_parameters(net) == 61_706 + 6 * 2 * 25 - 3 * 85
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    with torch.device("meta"):
        r = models.resnet(18, num_classes=5, in_channels=1)
        assert r(torch.empty(2, 1, 224, 224)).shape == (2, 5)
    assert count_parameters(r) == 11_689_512 - 995 * 513 - 2 * 64 * 49


def test_small_variants_are_small():
    for name in ("small_vgg", "small_alexnet", "small_googlenet", "resnet20_cifar"):
        assert count_parameters(MODELS[name].build()) < 500_000, name
    assert count_parameters(models.small_vgg()) == 205_018
    assert count_parameters(models.small_alexnet()) == 396_490
    assert count_parameters(models.small_googlenet()) == 129_026
    assert count_parameters(models.small_vgg(width=8)) < count_parameters(models.small_vgg())


# ------------------------------------------------------------------- shapes and names

DEFAULT_CLASSES = {"lenet5": 10, "alphago_policy": 361}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_output_shape_on_meta(name):
    build, shape = MODELS[name]
    assert len(shape) == 3
    model = meta_build(build).eval()
    out = model(torch.empty(2, *shape, device="meta"))
    classes = DEFAULT_CLASSES.get(name, 10 if shape[1] == 32 else 1000)
    assert tuple(out.shape) == (2, classes)


def test_alexnet_shapes_match_the_slides():
    alex = meta_build(models.alexnet)
    names = ["conv1", "pool1", "norm1", "conv2", "pool2", "conv3", "conv5", "pool3", "fc6"]
    got = shapes_after(alex, (3, 227, 227), names)
    assert got == {
        "conv1": (96, 55, 55),
        "pool1": (96, 27, 27),
        "norm1": (96, 27, 27),
        "conv2": (256, 27, 27),
        "pool2": (256, 13, 13),
        "conv3": (384, 13, 13),
        "conv5": (256, 13, 13),
        "pool3": (256, 6, 6),
        "fc6": (4096,),
    }
    lrn = alex.norm1
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 2.0)
    names = [n for n, _ in alex.named_children()]
    assert names[:5] == ["input", "conv1", "relu1", "pool1", "norm1"]


def test_zfnet_shapes_match_the_paper():
    zf = meta_build(models.zfnet)
    got = shapes_after(zf, (3, 224, 224), ["conv1", "pool1", "conv2", "pool2", "conv4", "pool3"])
    assert got == {
        "conv1": (96, 110, 110),
        "pool1": (96, 55, 55),
        "conv2": (256, 26, 26),
        "pool2": (256, 13, 13),
        "conv4": (1024, 13, 13),
        "pool3": (512, 6, 6),
    }


def test_vgg_and_resnet_shapes_and_names():
    v = meta_build(models.vgg, 16)
    names = [n for n, m in v.named_children() if isinstance(m, nn.Conv2d)]
    assert names[:3] == ["conv1_1", "conv1_2", "conv2_1"] and names[-1] == "conv5_3"
    assert len(names) + 3 == 16  # 13 convs + fc6, fc7, fc8
    for m in v.modules():
        if isinstance(m, nn.Conv2d):
            assert (m.kernel_size, m.stride, m.padding) == ((3, 3), (1, 1), (1, 1))
        if isinstance(m, nn.MaxPool2d):
            assert (m.kernel_size, m.stride) == (2, 2)
    got = shapes_after(v, (3, 224, 224), ["pool1", "pool4", "pool5"])
    assert got == {"pool1": (64, 112, 112), "pool4": (512, 14, 14), "pool5": (512, 7, 7)}

    r = meta_build(models.resnet, 152)
    got = shapes_after(r, (3, 224, 224), ["pool1", "conv2_x", "conv3_x", "conv5_x", "avgpool"])
    assert got == {
        "pool1": (64, 56, 56),  # "spatial dimension only 56x56!"
        "conv2_x": (256, 56, 56),
        "conv3_x": (512, 28, 28),
        "conv5_x": (2048, 7, 7),
        "avgpool": (2048, 1, 1),
    }
    convs = [m for m in r.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    shortcut_convs = sum(1 for m in r.modules() if isinstance(m, models.Bottleneck) and m.shortcut)
    assert len(convs) - shortcut_convs + 1 == 152  # weight layers: convs on the main path + fc


def test_googlenet_aux_outputs_in_training_mode_only():
    net = meta_build(models.googlenet, num_classes=7, aux_logits=True)
    x = torch.empty(2, 3, 224, 224, device="meta")
    out = net.train()(x)
    assert isinstance(out, models.GoogLeNetOutputs)
    assert [tuple(t.shape) for t in out] == [(2, 7)] * 3
    assert tuple(net.eval()(x).shape) == (2, 7)
    got = shapes_after(net.body, (192, 28, 28), ["inception3b", "inception4e", "inception5b"])
    assert got == {
        "inception3b": (480, 28, 28),
        "inception4e": (832, 14, 14),
        "inception5b": (1024, 7, 7),
    }


def test_alphago_has_a_bias_for_each_board_point():
    torch.manual_seed(0)
    net = models.alphago_policy(filters=4, blocks=1)
    last = net.conv3
    assert last.bias is None and tuple(last.position_bias.shape) == (1, 19, 19)
    board = torch.rand(2, 48, 19, 19)
    with torch.no_grad():
        before = net(board)
        last.position_bias[0, 3, 5] = 10.0
        after = net(board)
    # raising one point's bias moves that point's score, and only that one
    moved = (after - before).abs() > 1e-6
    assert moved.sum().item() == 2 and moved[:, 3 * 19 + 5].all()
    assert float((after - before)[0, 3 * 19 + 5]) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="19x19"):
        last(torch.zeros(1, 4, 9, 9))
    with pytest.raises(TypeError, match="position_bias"):
        models.alphago_policy(position_bias="yes")
    with pytest.raises(ValueError, match="shared"):
        models.PositionBiasConv2d(4, 1, bias=True)


def test_alphago_keeps_the_board():
    net = meta_build(models.alphago_policy)
    assert [n for n, _ in net.named_children()][:3] == ["input", "conv1", "relu1"]
    got = shapes_after(net, (48, 19, 19), ["conv1", "conv12", "conv13", "flatten"])
    assert got == {
        "conv1": (192, 19, 19),
        "conv12": (192, 19, 19),
        "conv13": (1, 19, 19),
        "flatten": (361,),
    }


# ------------------------------------------------------------------- training steps (CPU)

TRAINABLE_ON_CPU = [
    "lenet5", "alphago_policy", "resnet20_cifar", "plain20_cifar",
    "small_vgg", "small_alexnet", "small_googlenet",
]  # fmt: skip


@pytest.mark.parametrize("name", TRAINABLE_ON_CPU)
def test_forward_backward_on_cpu(name):
    build, shape = MODELS[name]
    torch.manual_seed(0)
    model = build().train()
    batch = 1 if name == "alphago_policy" else 4
    x = torch.randn(batch, *shape)
    out = model(x)
    y = torch.arange(batch) % out.shape[1]
    loss = F.cross_entropy(out, y)
    loss.backward()
    assert out.dtype == torch.float32 and torch.isfinite(loss)
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    first = next(model.parameters())
    assert first.grad.abs().sum() > 0, "no gradient reached the first layer"


def test_inception_concatenates_the_branches():
    block = models.Inception(8, 2, 3, 4, 1, 5, 6)
    out = block(torch.randn(1, 8, 5, 5))
    assert out.shape == (1, 2 + 4 + 5 + 6, 5, 5) and block.out_channels == 17


def test_option_a_shortcut_is_subsample_plus_zero_channels():
    x = torch.randn(2, 3, 6, 6)
    y = models.ZeroPadShortcut(3, 5, stride=2)(x)
    assert y.shape == (2, 5, 3, 3)
    assert torch.equal(y[:, :3], x[:, :, ::2, ::2]) and not y[:, 3:].any()


# ------------------------------------------------------------------- residual vs plain


def _backward_gain(depth: int, plain: bool, train: bool, seed: int = 0):
    """(||dL/d input of stage1|| / ||dL/d output of stage3||, ||dL/dW of conv1||)."""
    torch.manual_seed(seed)
    model = models.resnet_cifar(depth, plain=plain).train(train)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(8, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (8,), generator=g)
    h, kept = x, {}
    for name, layer in model.named_children():
        h = layer(h)
        if name in ("relu1", "stage3"):
            h.retain_grad()
            kept[name] = h
    F.cross_entropy(h, y).backward()
    gain = kept["relu1"].grad.norm() / kept["stage3"].grad.norm()
    return gain.item(), model.conv1.weight.grad.norm().item()


def test_plain_56_gradients_are_badly_scaled_residual_ones_are_not():
    """J = dF/dx + I keeps the backward signal near its size; a plain stack does not.

    Measured at initialisation (batch 8, seed 0): across the 54 middle layers the
    gradient grows by about 33x in ResNet-56 but by about 17,000x in plain-56, when
    batch norm uses batch statistics (training mode). So with batch norm the plain net's
    first-layer gradient *explodes* (about 400x its residual twin's), it does not vanish.
    """
    res_gain, res_first = _backward_gain(56, plain=False, train=True)
    plain_gain, plain_first = _backward_gain(56, plain=True, train=True)
    assert res_gain < 100
    assert plain_gain > 1_000
    assert plain_first > 100 * res_first
    # and the plain net gets worse with depth much faster than the residual one
    plain20_gain, _ = _backward_gain(20, plain=True, train=True)
    res20_gain, _ = _backward_gain(20, plain=False, train=True)
    assert plain_gain / plain20_gain > 100 > res_gain / res20_gain


def test_without_batch_norm_statistics_the_plain_gradient_vanishes():
    """In eval mode at initialisation BN is the identity (running mean 0, variance 1).

    Then the lectures' picture appears: each plain layer shrinks the gradient, and
    plain-56's first-layer gradient is orders of magnitude smaller than ResNet-56's.
    """
    plain_gain, plain_first = _backward_gain(56, plain=True, train=False)
    _, res_first = _backward_gain(56, plain=False, train=False)
    assert plain_gain < 0.5
    assert plain_first < 1e-3 * res_first


# ------------------------------------------------------------------- bad input


def test_wrong_input_size_says_what_fits():
    alex = meta_build(models.alexnet)
    with pytest.raises(ValueError, match="227"):
        alex(torch.empty(1, 3, 224, 224, device="meta"))
    with pytest.raises(ValueError, match="54.25"):
        alex(torch.empty(1, 3, 224, 224, device="meta"))
    with pytest.raises(ValueError, match="32x32"):
        models.lenet5()(torch.zeros(1, 1, 28, 28))
    small = meta_build(models.vgg, 11, image_size=32, width=0.25, hidden=64)
    assert tuple(small(torch.empty(1, 3, 32, 32, device="meta")).shape) == (1, 1000)
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\).*image_size=32"):
        small(torch.empty(1, 3, 64, 64, device="meta"))


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: models.vgg(17), ValueError, "depth must be one of"),
        (lambda: models.vgg(16, image_size=100), ValueError, "100 / 32 = 3.12"),
        (lambda: models.resnet(20), ValueError, "depth must be one of"),
        (lambda: models.resnet_cifar(21), ValueError, "6n \\+ 2"),
        (lambda: models.resnet_cifar(20, shortcut="C"), ValueError, "shortcut"),
        (lambda: models.lenet5(activation="sigmoid"), ValueError, "tanh"),
        (lambda: models.lenet5(pool="min"), ValueError, "avg"),
        (lambda: models.alexnet(num_classes=0), ValueError, "num_classes"),
        (lambda: models.alexnet(in_channels=2.5), TypeError, "in_channels"),
        (lambda: models.googlenet(layout="keras"), ValueError, "layout"),
        (lambda: count_parameters("vgg16"), TypeError, "nn.Module"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_lenet_options():
    tanh, relu = models.lenet5(), models.lenet5(activation="relu", pool="max")
    assert isinstance(tanh.act1, nn.Tanh) and isinstance(tanh.s2, nn.AvgPool2d)
    assert isinstance(relu.act1, nn.ReLU) and isinstance(relu.s2, nn.MaxPool2d)
    assert count_parameters(tanh) == count_parameters(relu)
