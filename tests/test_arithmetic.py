"""Tests for cs231n_lib.arithmetic: every number of the lecture tables, proved.

The lecture numbers are asserted exactly; torch models built here cross-check the spec
arithmetic; the analytic receptive field is compared with the pixels autograd reaches.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cs231n_lib import arithmetic as A
from cs231n_lib.arithmetic import (
    FC,
    BatchNorm,
    Concat,
    Conv,
    Flatten,
    GlobalAvgPool,
    Norm,
    Pool,
    ReLU,
    Residual,
    compare,
    conv_output_size,
    inception_cost,
    receptive_field,
    same_padding,
    stack_vs_single_weights,
    stacked_receptive_field,
    summarize,
)

# ---------------------------------------------------------------------------------------
# The output-size rule
# ---------------------------------------------------------------------------------------

def test_lecture_output_sizes():
    assert conv_output_size(7, 3, stride=1) == 5
    assert conv_output_size(7, 3, stride=2) == 3
    assert conv_output_size(7, 3, stride=1, pad=1) == 7          # pad (F-1)/2 keeps the size
    assert conv_output_size(32, 5, stride=1, pad=2) == 32
    assert conv_output_size(32, 5) == 28
    assert conv_output_size(227, 11, stride=4) == 55
    assert conv_output_size(55, 3, stride=2) == 27                # pooling: same rule


def test_stride_that_does_not_fit_raises_with_the_lecture_numbers():
    with pytest.raises(ValueError) as err:
        conv_output_size(7, 3, stride=3)
    msg = str(err.value)
    assert "2.33" in msg and "doesn't fit" in msg
    assert "6 or 9" in msg and "Paddings that fit a 7-wide input: 1" in msg


def test_alexnet_conv1_does_not_fit_224():
    with pytest.raises(ValueError, match=r"\(224 - 11 \+ 0\) / 4 \+ 1 = 54.25") as err:
        conv_output_size(224, 11, stride=4)
    assert "223 or 227" in str(err.value)
    with pytest.raises(ValueError, match="layer 'CONV1'.*11×11 filter at stride 4.*224-wide"):
        summarize(A.alexnet_spec(), (3, 224, 224))


def test_rounding_modes_match_pytorch():
    # ResNet halves 56 with a 3×3 stride-2 pad-1 conv: 28.5 rounds down
    assert conv_output_size(56, 3, 2, 1, rounding="floor") == 28
    conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)
    assert conv(torch.zeros(1, 1, 56, 56)).shape[-1] == 28
    # GoogLeNet-style ceil-mode pooling: 112 -> 56 with a 3×3 stride-2 pool
    assert conv_output_size(112, 3, 2, rounding="ceil") == 56
    with pytest.raises(ValueError, match="rounding"):
        conv_output_size(7, 3, rounding="round")


def test_same_padding():
    assert [same_padding(f) for f in (1, 3, 5, 7)] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="odd"):
        same_padding(4)


@pytest.mark.parametrize("args, error", [
    ((0, 3), ValueError), ((7, 0), ValueError), ((7, 3, 0), ValueError),
    ((7, 3, 1, -1), ValueError), ((7, 3, 1, 0, 0), ValueError), ((7.5, 3), TypeError),
    ((True, 3), TypeError), ((3, 5), ValueError),
])
def test_conv_output_size_rejects_nonsense(args, error):
    with pytest.raises(error):
        conv_output_size(*args)


def test_filter_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"larger than the 3-wide input padded by 0"):
        conv_output_size(3, 5)
    assert conv_output_size(3, 5, pad=1) == 1


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), f=st.integers(1, 9), s=st.integers(1, 5), p=st.integers(0, 4),
       d=st.integers(1, 3))
def test_conv_output_size_matches_sliding_windows(n, f, s, p, d):
    span = d * (f - 1) + 1
    padded = n + 2 * p
    starts = list(range(0, padded - span + 1, s))     # every window that fits, by sliding
    if not starts:
        for rounding in ("exact", "floor"):
            with pytest.raises(ValueError):
                conv_output_size(n, f, s, p, d, rounding)
        return
    assert conv_output_size(n, f, s, p, d, "floor") == len(starts)
    if starts[-1] + span == padded:                   # the windows tile the input exactly
        assert conv_output_size(n, f, s, p, d) == len(starts)
    else:
        with pytest.raises(ValueError, match="doesn't fit"):
            conv_output_size(n, f, s, p, d)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 30), k=st.integers(2, 5), s=st.integers(1, 4), data=st.data())
def test_ceil_rounding_matches_torch_ceil_mode(n, k, s, data):
    p = data.draw(st.integers(0, k // 2))
    if n + 2 * p < k:
        return
    pool = nn.MaxPool2d(k, s, p, ceil_mode=True)
    assert pool(torch.zeros(1, 1, n, n)).shape[-1] == conv_output_size(n, k, s, p, rounding="ceil")


# ---------------------------------------------------------------------------------------
# Parameters of single layers (the lecture's quiz questions)
# ---------------------------------------------------------------------------------------

def test_lecture_parameter_counts():
    s = summarize([Conv(10, 5, stride=1, pad=2, name="conv")], (3, 32, 32))
    row = s.row("conv")
    assert row.output_shape == (10, 32, 32)
    assert (row.weights, row.biases, row.params) == (750, 10, 760)   # 5*5*3 + 1 = 76 each
    assert summarize([Conv(1, 5)], (3, 32, 32)).total_params == 76
    assert summarize([Conv(6, 5)], (3, 32, 32)).output_shape == (6, 28, 28)
    one = summarize([Conv(32, 1, name="1x1")], (64, 56, 56)).row("1x1")
    assert one.output_shape == (32, 56, 56)
    assert (one.weights // 32, one.biases // 32) == (64, 1)          # 64 weights + 1 bias each


def test_small_filter_argument():
    assert stacked_receptive_field(2) == 5 and stacked_receptive_field(3) == 7
    assert stack_vs_single_weights(2) == (18, 25)
    assert stack_vs_single_weights(3) == (27, 49)
    assert stack_vs_single_weights(3, channels=64) == (27 * 64**2, 49 * 64**2)
    # the same numbers from real layer specs, without biases
    c = 16
    stack = summarize([Conv(c, 3, pad=1, bias=False)] * 3, (c, 20, 20))
    single = summarize([Conv(c, 7, pad=3, bias=False)], (c, 20, 20))
    assert (stack.total_params, single.total_params) == (27 * c * c, 49 * c * c)
    assert stack.rows[-1].receptive_field == single.rows[-1].receptive_field == 7


# ---------------------------------------------------------------------------------------
# The case studies
# ---------------------------------------------------------------------------------------

def test_lenet5():
    s = summarize(A.lenet5_spec())
    shapes = [r.output_shape for r in s.rows[1:]]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (84,),
                      (10,)]
    assert s.total_params == 61_706
    assert s.row("C3").params == 2_416


def test_alexnet_table():
    s = summarize(A.alexnet_spec())
    conv1 = s.row("CONV1")
    assert conv1.output_shape == (96, 55, 55)
    assert (conv1.weights, conv1.biases, conv1.params) == (34_848, 96, 34_944)
    assert s.row("POOL1").output_shape == (96, 27, 27) and s.row("POOL1").params == 0
    expected = {"NORM1": (96, 27, 27), "CONV2": (256, 27, 27), "POOL2": (256, 13, 13),
                "CONV3": (384, 13, 13), "CONV4": (384, 13, 13), "CONV5": (256, 13, 13),
                "POOL3": (256, 6, 6), "FC6": (4096,), "FC8": (1000,)}
    for name, shape in expected.items():
        assert s.row(name).output_shape == shape, name
    assert s.row("FC6").weights == 9216 * 4096
    assert s.total_params == 62_378_344
    # receptive fields: the classic 195 pixels at POOL3
    fields = [r.receptive_field for r in s.select("conv", "pool")]
    assert fields == [11, 19, 51, 67, 99, 131, 163, 195]


def test_zfnet():
    s = summarize(A.zfnet_spec())
    assert s.row("CONV1").output_shape == (96, 111, 111)
    assert s.row("CONV1").weights == 7 * 7 * 3 * 96
    assert [s.row(f"CONV{i}").output_shape[0] for i in (3, 4, 5)] == [512, 1024, 512]
    assert s.row("POOL3").output_shape == (512, 6, 6)
    assert s.total_params == (7 * 7 * 3 * 96 + 96 + 5 * 5 * 96 * 256 + 256
                              + 9 * 256 * 512 + 512 + 9 * 512 * 1024 + 1024 + 9 * 1024 * 512 + 512
                              + 6 * 6 * 512 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000)
    with pytest.raises(ValueError, match="CONV1.*7×7 filter at stride 2.*No padding fits"):
        summarize(A.zfnet_spec(), (3, 224, 224))


def test_vgg16_table_and_the_slide_error():
    s = summarize(A.vgg_spec(16))
    assert s.total_params == 138_357_544
    assert s.total_weights == 138_344_128                 # the slide counts no biases
    assert s.row("FC6").weights == 102_760_448
    assert s.rows[0].name == "INPUT" and s.rows[0].activations == 150_528
    assert s.row("CONV1_1").activations == 3_211_264
    assert s.total_activations == 15_237_608
    assert s.forward_bytes == 60_950_432
    # the slide says "24M * 4 bytes ~= 93MB": its own rows add up to 15.2M values, 61 MB
    assert round(s.forward_bytes / 1e6) == 61 and s.total_activations < 24_000_000 * 0.7
    assert s.row("POOL5").output_shape == (512, 7, 7) and s.row("POOL5").receptive_field == 212
    assert summarize(A.vgg_spec(16), include_input=False).total_activations == 15_087_080
    assert summarize(A.vgg_spec(16), bytes_per_value=2).forward_bytes == 30_475_216


def test_vgg16_where_memory_and_parameters_live():
    s = summarize(A.vgg_spec(16))
    (top, share), = s.top("params", n=1)
    assert top.name == "FC6" and share == pytest.approx(102_764_544 / 138_357_544)
    assert s.fraction_by("params")["fc"] > 0.89
    early = s.fraction_by("activations", lambda r: "early" if len(r.output_shape) == 3
                          and r.output_shape[1] >= 112 else "late")
    assert early["early"] == pytest.approx(10_587_136 / 15_237_608)   # about 69%
    names = [r.name for r, _ in s.top("activations", n=2)]
    assert names == ["CONV1_1", "CONV1_2"]


def test_vgg19():
    assert summarize(A.vgg_spec(19)).total_params == 143_667_240
    with pytest.raises(ValueError, match="depth"):
        A.vgg_spec(17)


def test_alphago_policy_network():
    s = summarize(A.alphago_policy_spec())
    assert s.row("CONV1").output_shape == (192, 19, 19)
    for i in range(2, 13):
        assert s.row(f"CONV{i}").output_shape == (192, 19, 19)
    assert s.row("CONV13").output_shape == (1, 19, 19)
    assert s.output_shape == (361,)
    # the paper's last layer has a bias for each of the 19 x 19 board points
    assert s.total_params == 48 * 25 * 192 + 192 + 11 * (192 * 9 * 192 + 192) + 192 + 361
    assert s.total_params == 3_882_793
    # the lecture slide's layer: one 1x1 filter with one bias
    slide = summarize(A.alphago_policy_spec(position_bias=False))
    assert slide.total_params == 3_882_433


def test_inception_module_and_bottleneck_saving():
    s = summarize(A.inception_module_spec())
    assert s.output_shape == (256, 28, 28)
    assert s.row("inception_3a.3x3").output_shape == (128, 28, 28)
    with_b = inception_cost((192, 28, 28), with_bottleneck=True)
    naive = inception_cost((192, 28, 28), with_bottleneck=False)
    assert with_b == (163_696, 128_049_152, (256, 28, 28))
    assert with_b.params == s.total_params and with_b.macs == s.total_macs
    assert naive.output_shape == (416, 28, 28)             # pooling passes all 192 channels on
    assert naive.params == 192 * 64 + 64 + 192 * 9 * 128 + 128 + 192 * 25 * 32 + 32
    assert naive.macs == 28 * 28 * (192 * 64 + 192 * 9 * 128 + 192 * 25 * 32) == 303_464_448
    assert naive.macs / with_b.macs > 2.3
    # the 5×5 branch alone: a 1×1 bottleneck to 16 channels saves almost 10×
    assert (28 * 28 * 192 * 25 * 32) / s.row("inception_3a.5x5").macs > 9
    # CS231n's naive example (28×28×256 in; 128 1×1, 192 3×3, 96 5×5): 854M multiply-adds
    big = inception_cost((256, 28, 28), False, c1=128, c3=192, c5=96)
    assert big.macs == 854_196_224 and big.output_shape == (672, 28, 28)


def test_resnet_stage_projection_and_identity():
    s = summarize(A.resnet_stage_spec(128, 2, stride=2, in_shape=(64, 56, 56)))
    assert s.output_shape == (128, 28, 28)
    assert s.row("conv2_1.proj").weights == 64 * 128             # 1×1 projection shortcut
    assert "conv2_2.proj" not in [r.name for r in s.rows]        # identity shortcut
    assert s.total_params == 525_568                             # torchvision's layer2
    basic = summarize(A.resnet_stage_spec())                     # conv2_x of ResNet-18
    assert basic.total_params == 147_968 and basic.output_shape == (64, 56, 56)
    bottle = summarize(A.resnet_stage_spec(64, 3, bottleneck=True))   # conv2_x of ResNet-50
    assert bottle.total_params == 215_808 and bottle.output_shape == (256, 56, 56)


# ---------------------------------------------------------------------------------------
# Bad specs name the layer
# ---------------------------------------------------------------------------------------

def test_bad_specs_name_the_layer():
    with pytest.raises(ValueError, match="layer 'C1'.*out_channels"):
        Conv(-6, 5, name="C1")
    with pytest.raises(ValueError, match="layer 'P'.*kernel"):
        Pool(0, name="P")
    with pytest.raises(ValueError, match="kind"):
        Pool(2, kind="median")
    with pytest.raises(ValueError, match="layer 'SMALL'.*larger than the 2-wide input"):
        summarize([Conv(8, 3, name="OK"), Conv(8, 3, name="SMALL")], (1, 4, 4))
    with pytest.raises(ValueError, match="layer 'CONV2'.*expects 64 input channels.*32"):
        summarize([Conv(32, 3, pad=1, name="CONV1"), Conv(8, 3, in_channels=64, name="CONV2")],
                  (3, 8, 8))
    with pytest.raises(ValueError, match="layer 'FC'.*expects 100 input features.*= 192"):
        summarize([FC(10, in_features=100, name="FC")], (3, 8, 8))
    with pytest.raises(ValueError, match="layer 'AFTER'.*flatten"):
        summarize([Flatten(), Conv(4, 3, name="AFTER")], (3, 8, 8))
    with pytest.raises(ValueError, match="layer 'cat'.*same H×W"):
        summarize([Concat((("a", (Conv(4, 3),)), ("b", (Conv(4, 1),))), name="cat")], (3, 8, 8))
    with pytest.raises(ValueError, match="layer 'res'.*same shape"):
        summarize([Residual((Conv(8, 3, pad=1),), shortcut=[], name="res")], (3, 8, 8))
    with pytest.raises(TypeError):
        summarize("vgg", (3, 224, 224))
    with pytest.raises(ValueError):
        summarize([Conv(4, 3)], (3, 0, 8))


# ---------------------------------------------------------------------------------------
# Receptive fields: analytic, brute force and autograd agree
# ---------------------------------------------------------------------------------------

def test_receptive_field_basics():
    rf = receptive_field([(3, 1)] * 3)
    assert (rf.size, rf.jump, rf.start) == (7, 1, 3.0)
    assert [step.size for step in rf.layers] == [3, 5, 7]
    padded = receptive_field([Conv(8, 3, pad=1), ReLU(), BatchNorm(), Conv(8, 3, pad=1)])
    assert (padded.size, padded.start) == (5, 0.0)                 # padding shifts start by -p
    strided = receptive_field([(3, 2), (3, 2, 2)])
    assert (strided.size, strided.jump) == (3 + 2 * 4, 4)
    with pytest.raises(ValueError, match="whole input"):
        receptive_field([Conv(4, 3), FC(10)])
    with pytest.raises(ValueError):
        receptive_field([(3,)])
    with pytest.raises(TypeError):
        receptive_field([GlobalAvgPool()])


def _brute_force_field(layers, i):
    """Input interval seen by output i: map [lo, hi] back through each layer's windows."""
    lo = hi = i
    for k, s, d, p in reversed(layers):
        lo, hi = lo * s - p, hi * s - p + d * (k - 1)
    return lo, hi


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 3), st.integers(1, 3),
                          st.integers(0, 3)), min_size=1, max_size=5))
def test_receptive_field_matches_interval_composition(layers):
    rf = receptive_field(layers)
    lo0, hi0 = _brute_force_field(layers, 0)
    lo1, _ = _brute_force_field(layers, 1)
    assert rf.size == hi0 - lo0 + 1
    assert rf.jump == lo1 - lo0
    assert rf.start == (lo0 + hi0) / 2
    assert rf.span(0) == (lo0, hi0)


STACKS = [
    [(3, 1, 1, 0)] * 3,                                        # the lecture's 7×7
    [(5, 2, 1, 0), (3, 2, 1, 0), (3, 1, 1, 0)],                # strides
    [(3, 1, 1, 0), (3, 1, 2, 0), (3, 1, 4, 0)],                # dilation 1, 2, 4 -> 15, dense
    [(7, 2, 1, 3), ("pool", 3, 2, 1), (3, 1, 1, 1), (3, 2, 2, 2)],  # padding, pooling, dilation
]


@pytest.mark.parametrize("stack", STACKS)
def test_receptive_field_matches_autograd(stack):
    layers, windows = [], []
    for item in stack:
        if item[0] == "pool":                      # average pool: positive weights, no argmax
            _, k, s, p = item
            layers.append(nn.AvgPool2d(k, s, p))
            windows.append((k, s, 1, p))
        else:
            k, s, d, p = item
            conv = nn.Conv2d(1, 1, k, s, p, d, bias=False)
            nn.init.ones_(conv.weight)             # positive weights: no gradient cancels
            layers.append(conv)
            windows.append(item)
    net = nn.Sequential(*layers)
    x = torch.ones(1, 1, 64, 64, requires_grad=True)
    y = net(x)
    i = y.shape[-1] // 2
    y[0, 0, i, i].backward()
    touched = (x.grad[0, 0] != 0).nonzero()
    rows, cols = touched[:, 0], touched[:, 1]
    rf = receptive_field(windows)
    lo, hi = rf.span(i)
    assert 0 <= lo and hi < 64                     # the field lies inside the image
    assert (rows.min().item(), rows.max().item()) == (lo, hi)
    assert (cols.min().item(), cols.max().item()) == (lo, hi)
    if stack is STACKS[2]:                         # this dilated stack covers its field densely
        assert len(touched) == rf.size ** 2 == 15 ** 2


# ---------------------------------------------------------------------------------------
# summarize() on torch modules
# ---------------------------------------------------------------------------------------

def torch_alexnet() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.LocalResponseNorm(5),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.LocalResponseNorm(5),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(9216, 4096), nn.ReLU(inplace=True),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 1000),
    )


def _layer_by_layer_shapes(seq: nn.Sequential, input_shape):
    x, shapes = torch.zeros(1, *input_shape), []
    with torch.no_grad():
        for layer in seq:
            x = layer(x)
            shapes.append(tuple(x.shape[1:]))
    return shapes


def test_torch_alexnet_matches_the_spec_row_by_row():
    torch.manual_seed(0)
    model = torch_alexnet()
    s = summarize(model, (3, 227, 227))
    assert s.total_params == sum(p.numel() for p in model.parameters()) == 62_378_344
    assert [r.output_shape for r in s.rows[1:]] == _layer_by_layer_shapes(model, (3, 227, 227))
    spec = summarize(A.alexnet_spec())
    assert compare(spec, s) == []
    assert [r.receptive_field for r in s.select("conv", "pool")] == \
        [r.receptive_field for r in spec.select("conv", "pool")]
    # in-place ReLU, eval-mode dropout and the flatten view store nothing new
    assert s.total_activations == spec.total_activations == 1_049_571
    assert s.total_macs == spec.total_macs
    assert s.total_weights == spec.total_weights and s.total_biases == spec.total_biases
    # a wrong spec is caught
    assert compare(summarize(A.zfnet_spec()), s) != []


def test_torch_vgg16_on_the_meta_device_matches_the_spec():
    layers, c = [], 3
    for item in A.VGG_CONFIGS[16]:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, item, 3, padding=1), nn.ReLU(inplace=True)]
            c = item
    layers += [nn.Flatten(), nn.Linear(25088, 4096), nn.ReLU(True), nn.Linear(4096, 4096),
               nn.ReLU(True), nn.Linear(4096, 1000)]
    with torch.device("meta"):                     # no memory, no time: shapes only
        model = nn.Sequential(*layers)
    s = summarize(model, (3, 224, 224))
    spec = summarize(A.vgg_spec(16))
    assert s.total_params == 138_357_544 == sum(p.numel() for p in model.parameters())
    assert compare(spec, s) == []
    assert s.total_activations == 15_237_608 and s.total_macs == spec.total_macs


class TinyInception(nn.Module):
    def __init__(self, c_in=8):
        super().__init__()
        self.b1 = nn.Conv2d(c_in, 4, 1)
        self.b3 = nn.Sequential(nn.Conv2d(c_in, 2, 1), nn.Conv2d(2, 4, 3, padding=1))
        self.pool = nn.MaxPool2d(3, 1, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.pool(x)], dim=1)


class ResidualNet(nn.Module):
    """Stem, a residual block, an inception block, a reused (shared) conv and a free parameter."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.relu = nn.ReLU()
        self.mix = TinyInception(8)
        self.shared = nn.Conv2d(16, 16, 1)
        self.unused = nn.Linear(3, 3)
        self.scale = nn.Parameter(torch.ones(1))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))

    def forward(self, x):
        x = self.stem(x)
        x = self.relu(self.body(x) + x)            # residual addition (functional)
        x = self.shared(self.shared(self.mix(x)))  # the same module twice
        return self.head(x * self.scale)


def test_summarize_nested_torch_module():
    torch.manual_seed(0)
    model = ResidualNet().train()
    s = summarize(model, (3, 12, 12))
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert model.training                           # training mode restored
    assert all(not m._forward_hooks for m in model.modules())    # hooks removed
    names = [r.name for r in s.rows]
    assert names.count("shared") == 2               # called twice, parameters counted once
    assert [r.params for r in s.rows if r.name == "shared"] == [16 * 16 + 16, 0]
    assert s.row("stem").receptive_field == 3
    assert s.row("body.0").receptive_field == 5
    assert s.row("relu").receptive_field is None    # its input came from a functional add
    assert s.row("mix.b3.1").output_shape == (4, 12, 12)
    assert s.row("head.2").output_shape == (5,)
    assert s.row("stem").macs == 12 * 12 * 8 * 3 * 9
    assert s.row("body.1").macs == 0 and s.row("body.1").params == 16   # BN: 2C, 0 MACs
    leftovers = {r.name: r.params for r in s.rows if r.kind == "params"}
    assert leftovers == {"ResidualNet (not called)": 1, "unused (not called)": 12}
    assert s.output_shape == (5,)


def test_torch_basic_block_matches_residual_spec():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(64, 128, 3, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(128)
            self.conv2 = nn.Conv2d(128, 128, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(128)
            self.down = nn.Sequential(nn.Conv2d(64, 128, 1, 2, bias=False), nn.BatchNorm2d(128))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + self.down(x))

    with torch.device("meta"):
        block = Block()
    s = summarize(block, (64, 56, 56))
    spec = summarize([A.basic_block(128, stride=2, name="b")], (64, 56, 56))
    assert s.total_params == spec.total_params == 230_144
    assert s.total_macs == spec.total_macs
    assert s.row("down.0").output_shape == spec.row("b.proj").output_shape == (128, 28, 28)


def test_summary_renders_text_and_html():
    s = summarize(A.vgg_spec(16))
    text = str(s)
    assert text == s.to_text()
    assert "138,357,544" in text and "15,237,608" in text and "60,950,432" in text
    assert "224×224×64" in text and "FC6" in text
    page = s._repr_html_()
    assert page.startswith("<table>") and "<th" in page and "102,764,544" in page
    assert "VGG-16" in page


def test_spec_summary_of_plain_layers():
    s = summarize([Conv(4, 3, pad=1, name="c"), ReLU(name="r"), Norm(name="n"),
                   GlobalAvgPool(name="g"), Flatten(name="f"), FC(2, name="fc")], (3, 6, 6))
    assert s.row("r").activations == 0 and s.row("n").activations == 4 * 36
    assert s.row("g").output_shape == (4, 1, 1) and s.row("g").receptive_field == 3 + 5
    assert s.row("f").receptive_field is None and s.row("f").activations == 0
    assert s.row("fc").params == 4 * 2 + 2
    assert math.isclose(sum(s.fraction_by("params").values()), 1.0)
    with pytest.raises(KeyError, match="no row named"):
        s.row("missing")
