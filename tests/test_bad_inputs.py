"""No silent wrong answers (issue #20): bad inputs get the library's own clear error.

A property test: every backward pass refuses a dout whose shape differs from its forward
output's. Fast and naive layers agree on NaN and infinite inputs. Then one test per case
of the issue: each used to return a wrong answer quietly, or fail deep inside NumPy/torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from cs231n_lib import argcheck, augment, data, runtime, train, vis
from cs231n_lib import layers as L
from cs231n_lib.arithmetic import receptive_field, summarize
from cs231n_lib.classifiers import Solver, ThreeLayerConvNet
from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error

# NaN and inf inputs make NumPy warn "invalid value encountered"; that is the point here.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")

# --------------------------------------------------------------------------------------
# Every backward pass checks dout's shape (property test)
# --------------------------------------------------------------------------------------

CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def _layers(rng):
    """(name, forward thunk -> (out, cache), backward) for every layer with a backward."""
    x4 = rng.standard_normal((2, 3, 4, 4))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    x2 = rng.standard_normal((4, 5))
    fc_w, fc_b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    g3, b3 = np.ones(3), np.zeros(3)
    g5, b5 = np.ones(5), np.zeros(5)
    return [
        ("conv_naive", lambda: L.conv_forward_naive(x4, w, b, CONV), L.conv_backward_naive),
        ("conv_fast", lambda: L.conv_forward_fast(x4, w, b, CONV), L.conv_backward_fast),
        ("max_pool_naive", lambda: L.max_pool_forward_naive(x4, POOL), L.max_pool_backward_naive),
        ("max_pool_fast", lambda: L.max_pool_forward_fast(x4, POOL), L.max_pool_backward_fast),
        ("avg_pool", lambda: L.avg_pool_forward(x4, POOL), L.avg_pool_backward),
        ("global_avg_pool", lambda: L.global_avg_pool_forward(x4), L.global_avg_pool_backward),
        ("relu", lambda: L.relu_forward(x2), L.relu_backward),
        ("sigmoid", lambda: L.sigmoid_forward(x2), L.sigmoid_backward),
        ("tanh", lambda: L.tanh_forward(x2), L.tanh_backward),
        ("affine", lambda: L.affine_forward(x4, rng.standard_normal((48, 3)), b3),
         L.affine_backward),
        ("affine_small", lambda: L.affine_forward(x2, fc_w, fc_b), L.affine_backward),
        ("dropout_train", lambda: L.dropout_forward(x2, {"p": 0.5, "seed": 0}),
         L.dropout_backward),
        ("dropout_test", lambda: L.dropout_forward(x2, {"p": 0.5, "mode": "test"}),
         L.dropout_backward),
        ("batchnorm", lambda: L.batchnorm_forward(x2, g5, b5, {"mode": "train"}),
         L.batchnorm_backward),
        ("spatial_batchnorm",
         lambda: L.spatial_batchnorm_forward(x4, g3, b3, {"mode": "train"}),
         L.spatial_batchnorm_backward),
        ("conv_relu", lambda: L.conv_relu_forward(x4, w, b, CONV), L.conv_relu_backward),
        ("conv_relu_pool", lambda: L.conv_relu_pool_forward(x4, w, b, CONV, POOL),
         L.conv_relu_pool_backward),
        ("affine_relu", lambda: L.affine_relu_forward(x2, fc_w, fc_b), L.affine_relu_backward),
    ]


LAYER_NAMES = [name for name, _, _ in _layers(np.random.default_rng(0))]


@pytest.mark.parametrize("name", LAYER_NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_every_backward_refuses_a_dout_of_another_shape(name, shape):
    forward, backward = {n: (f, b) for n, f, b in _layers(np.random.default_rng(0))}[name]
    out, cache = forward()
    good = np.ones_like(out)
    backward(good, cache)  # the right shape works
    if tuple(shape) == out.shape:
        shape = [*shape, 1]
    with pytest.raises(ValueError, match=r"dout has shape .* forward pass's output had shape"):
        backward(np.ones(shape), cache)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_every_backward_names_the_layer_of_a_foreign_cache(name):
    rng = np.random.default_rng(0)
    table = {n: (f, b) for n, f, b in _layers(rng)}
    forward, backward = table[name]
    out, _ = forward()
    # a cache from a layer of another kind: conv for most, dropout for the conv family
    other = "dropout_train" if "conv" in name else "conv_fast"
    _, foreign = table[other][0]()
    with pytest.raises(TypeError, match="cache"):
        backward(np.ones_like(out), foreign)


def test_a_foreign_cache_is_named():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    _, pool_cache = L.max_pool_forward_fast(x, POOL)
    with pytest.raises(TypeError, match="max_pool_forward_naive / max_pool_forward_fast"):
        L.conv_backward_fast(np.ones((2, 3, 4, 4)), pool_cache)
    _, relu_cache = L.relu_forward(x)
    with pytest.raises(TypeError, match="relu_forward"):
        L.batchnorm_backward(np.ones((2, 3)), relu_cache)


# --------------------------------------------------------------------------------------
# Fast and naive agree on NaN and infinite inputs
# --------------------------------------------------------------------------------------


def _poisoned(rng, shape, kinds=(np.nan, np.inf, -np.inf), frac=0.15):
    x = rng.standard_normal(shape)
    mask = rng.random(shape) < frac
    x[mask] = rng.choice(np.array(kinds), size=int(mask.sum()))
    return x


def _same(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("pool", [POOL, {"pool_height": 3, "pool_width": 3, "stride": 2},
                                  {"pool_height": 2, "pool_width": 2, "stride": 1}])
def test_max_pool_fast_and_naive_agree_on_nan_and_inf(seed, pool):
    rng = np.random.default_rng(seed)
    x = _poisoned(rng, (2, 3, 7, 7) if pool["stride"] == 2 and pool["pool_height"] == 3
                  else (2, 3, 6, 6))
    out_n, cache_n = L.max_pool_forward_naive(x, pool)
    out_f, cache_f = L.max_pool_forward_fast(x, pool)
    _same(out_f, out_n)
    dout = rng.standard_normal(out_n.shape)
    _same(L.max_pool_backward_fast(dout, cache_f), L.max_pool_backward_naive(dout, cache_n))


def test_max_pool_fast_routes_a_nan_windows_gradient_like_the_naive_one():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    dout = np.array([[[[5.0]]]])
    dx_naive = L.max_pool_backward_naive(dout, L.max_pool_forward_naive(x, POOL)[1])
    dx_fast = L.max_pool_backward_fast(dout, L.max_pool_forward_fast(x, POOL)[1])
    assert dx_naive[0, 0, 0, 1] == 5.0
    np.testing.assert_array_equal(dx_fast, dx_naive)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("conv_param", [{"stride": 1, "pad": 1}, {"stride": 2, "pad": 1}])
@pytest.mark.parametrize("filters", [2, 5])  # F <= C and F > C take different dx routes
def test_conv_fast_and_naive_agree_on_nan_and_inf(seed, conv_param, filters):
    rng = np.random.default_rng(seed)
    x = _poisoned(rng, (2, 3, 5, 5))
    w = rng.standard_normal((filters, 3, 3, 3))
    b = rng.standard_normal(filters)
    out_n, cache_n = L.conv_forward_naive(x, w, b, conv_param)
    out_f, cache_f = L.conv_forward_fast(x, w, b, conv_param)
    _same(np.isnan(out_f), np.isnan(out_n))
    _same(out_f, out_n)
    dout = _poisoned(rng, out_n.shape, kinds=(np.nan, np.inf), frac=0.05)
    for fast, naive in zip(L.conv_backward_fast(dout, cache_f),
                           L.conv_backward_naive(dout, cache_n), strict=True):
        assert np.array_equal(np.isnan(fast), np.isnan(naive))
        finite = np.isfinite(fast) & np.isfinite(naive)
        np.testing.assert_allclose(fast[finite], naive[finite], rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(fast[~finite & ~np.isnan(fast)],
                                      naive[~finite & ~np.isnan(naive)])


# --------------------------------------------------------------------------------------
# One test per case of the issue: silent wrong answers
# --------------------------------------------------------------------------------------


def test_conv_backward_fast_refuses_a_transposed_dout():
    x, w, b = np.ones((1, 1, 4, 2)), np.ones((1, 1, 1, 1)), np.zeros(1)
    _, cache = L.conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"\(1, 1, 2, 4\).*\(1, 1, 4, 2\)"):
        L.conv_backward_fast(np.ones((1, 1, 2, 4)), cache)


def test_conv_backward_naive_refuses_a_smaller_dout():
    rng = np.random.default_rng(0)
    _, cache = L.conv_forward_naive(rng.standard_normal((2, 3, 8, 8)),
                                    rng.standard_normal((4, 3, 3, 3)), np.zeros(4), CONV)
    with pytest.raises(ValueError, match=r"\(2, 4, 8, 8\)"):
        L.conv_backward_naive(np.ones((2, 4, 4, 4)), cache)


def test_max_pool_backward_naive_refuses_a_smaller_dout():
    _, cache = L.max_pool_forward_naive(np.ones((2, 3, 4, 4)), POOL)
    with pytest.raises(ValueError, match=r"\(2, 3, 2, 2\)"):
        L.max_pool_backward_naive(np.ones((2, 3, 4, 4)), cache)
    assert L.max_pool_backward_naive(np.ones((2, 3, 2, 2)), cache).shape == (2, 3, 4, 4)


def test_relu_backward_refuses_a_broadcasting_dout():
    _, cache = L.relu_forward(np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"dout has shape \(4, 5\).*\(4, 1\)"):
        L.relu_backward(np.ones((4, 5)), cache)


def test_batchnorm_backward_refuses_a_broadcasting_dout():
    _, cache = L.batchnorm_forward(np.random.default_rng(0).standard_normal((4, 3)),
                                   np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"\(1, 3\)"):
        L.batchnorm_backward(np.ones((1, 3)), cache)


@pytest.mark.parametrize("forward", [L.conv_forward_naive, L.conv_forward_fast])
def test_conv_on_uint8_does_not_overflow(forward):
    x = np.full((1, 1, 3, 3), 200, dtype=np.uint8)
    w = np.full((1, 1, 3, 3), 2, dtype=np.uint8)
    out, _ = forward(x, w, np.zeros(1, dtype=np.uint8), {"stride": 1, "pad": 0})
    assert out[0, 0, 0, 0] == 3600 and np.issubdtype(out.dtype, np.floating)


def test_uint8_pixels_with_float32_filters_stay_float32():
    x = np.full((1, 1, 3, 3), 200, dtype=np.uint8)
    w = np.full((1, 1, 3, 3), 2, dtype=np.float32)
    out, _ = L.conv_forward_fast(x, w, np.zeros(1, dtype=np.float32), {"stride": 1, "pad": 0})
    assert out.dtype == np.float32 and out[0, 0, 0, 0] == 3600


def test_numerical_gradient_of_an_int_array_is_right():
    x = np.array([1, 2, 3])
    grad = eval_numerical_gradient(lambda v: float(np.sum(v ** 2)), x)
    np.testing.assert_allclose(grad, [2, 4, 6], rtol=1e-6)


def test_rel_error_refuses_shapes_that_would_broadcast():
    with pytest.raises(ValueError, match=r"same shape.*\(3,\).*\(2, 3\)"):
        rel_error(np.ones(3), np.ones((2, 3)))


@pytest.mark.parametrize("eps", [-1, 0, float("nan"), "1e-5"])
def test_batchnorm_refuses_a_bad_eps(eps):
    with pytest.raises((ValueError, TypeError), match=r"bn_param\['eps'\]"):
        L.batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {"eps": eps})


def test_three_layer_convnet_refuses_zero_filters():
    with pytest.raises(ValueError, match="num_filters must be at least 1"):
        ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=0)


def _tiny_data(n_val=6, n_val_labels=6):
    rng = np.random.default_rng(0)
    return {"X_train": rng.standard_normal((10, 1, 8, 8)), "y_train": rng.integers(0, 3, 10),
            "X_val": rng.standard_normal((n_val, 1, 8, 8)),
            "y_val": rng.integers(0, 3, n_val_labels)}


def test_solver_refuses_a_negative_learning_rate():
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3, num_classes=3)
    with pytest.raises(ValueError, match=r"learning_rate.*greater than 0"):
        Solver(model, _tiny_data(), optim_config={"learning_rate": -1e-3})


def test_solver_refuses_validation_images_without_their_labels():
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3, num_classes=3)
    with pytest.raises(ValueError, match="X_val has 6 examples but y_val has 1 labels"):
        Solver(model, _tiny_data(6, 1))


def test_receptive_field_takes_lists_like_tuples():
    assert receptive_field([[3, 1]]).size == 3
    assert receptive_field([[3, 1], [3, 1], [3, 1]]) == receptive_field([(3, 1)] * 3)


def test_load_dataset_refuses_bool_and_int_arguments():
    with pytest.raises(ValueError, match="resize"):
        data.load_dataset("digits", resize=True)
    with pytest.raises(TypeError, match="float type"):
        data.load_dataset("digits", dtype=np.int32)
    with pytest.raises(ValueError, match="num_train"):
        data.load_dataset("digits", num_train=True)


def test_transforms_refuse_a_channels_last_batch():
    x = np.random.default_rng(0).random((4, 16, 16, 3))
    for t in (augment.RandomHorizontalFlip(p=1), augment.RandomAffine(degrees=10)):
        with pytest.raises(ValueError, match=r"transpose\(0, 3, 1, 2\)"):
            t(x, rng=0)
    with pytest.raises(ValueError, match=r"permute\(2, 0, 1\)"):
        augment.hflip(torch.zeros(16, 16, 3))
    assert augment.RandomHorizontalFlip(p=1)(x.transpose(0, 3, 1, 2), rng=0).shape == (4, 3, 16, 16)


def test_confusion_matrix_refuses_fractional_labels():
    with pytest.raises(ValueError, match="whole numbers"):
        vis.confusion_matrix(np.array([0.0, 1.7]), np.array([0, 1]))
    np.testing.assert_array_equal(vis.confusion_matrix(np.array([0.0, 1.0]), np.array([0, 1])),
                                  np.eye(2, dtype=np.int64))


# --------------------------------------------------------------------------------------
# One test per case of the issue: errors from deep inside NumPy/torch
# --------------------------------------------------------------------------------------


def test_summarize_names_an_input_shape_the_model_cannot_take():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with pytest.raises(ValueError, match=r"cannot take one input of shape \(3, 10, 10\)"):
        summarize(model, (3, 10, 10))


def _fit_args():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    X = np.zeros((4, 3, 4, 4), dtype=np.float32)
    return model, (X, np.array([0, 1, 0, 1]))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"batch_size": 2.5}, "batch_size must be an int"),
    ({"batch_size": -1}, "batch_size must be at least 1"),
    ({"epochs": "2"}, "epochs must be an int"),
    ({"lr": "0.1"}, "lr must be a number"),
    ({"seed": "abc"}, "seed must be an int"),
])
def test_fit_names_a_bad_argument(kwargs, match):
    model, d = _fit_args()
    with pytest.raises((TypeError, ValueError), match=match):
        train.fit(model, d, progress=False, device="cpu", **kwargs)


def test_evaluate_and_predict_name_a_bad_batch_size():
    model, d = _fit_args()
    with pytest.raises(TypeError, match="batch_size must be an int"):
        train.evaluate(model, d, batch_size=2.5)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        train.predict(model, d[0], batch_size=0, tta="flip")


def test_tta_predict_names_a_bad_batch_size_and_an_empty_batch():
    x = np.zeros((2, 3, 8, 8), dtype=np.float32)

    def predict(v):
        return np.ones((len(v), 2))

    with pytest.raises(TypeError, match="batch_size must be an int"):
        augment.tta_predict(predict, x, mode="flip", batch_size=1.5)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        augment.tta_predict(predict, x, mode="flip", batch_size=-2)
    with pytest.raises(ValueError, match="empty batch"):
        augment.tta_predict(predict, x[:0], mode="flip")


@pytest.mark.parametrize(("make", "match"), [
    (lambda: augment.RandomHorizontalFlip(p="0.5"), "p must be a number"),
    (lambda: augment.Cutout(4, p="1"), "p must be a number"),
    (lambda: augment.RandomCrop(2.5), "size must be an int or a pair"),
    (lambda: augment.RandomResizedCrop(8, scale=("a", 1)), "scale must be a number"),
])
def test_transforms_name_a_bad_argument(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("bad", ["abc", 1.5, True, -1])
def test_seed_everything_names_a_bad_seed(bad):
    with pytest.raises((TypeError, ValueError), match="seed must"):
        runtime.seed_everything(bad)


def test_download_cifar10_names_a_malformed_url(tmp_path):
    with pytest.raises(ValueError, match="url 'not a url' is not a web address"):
        data.download_cifar10(tmp_path, url="not a url", progress=False)


def test_download_cifar10_names_a_destination_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        data.download_cifar10(f, progress=False)


def _cifar_with_labels(tmp_path, labels):
    X = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "data_batch_1"
    data.write_cifar10_batch(path, X, np.zeros(2, dtype=np.int64))
    # rewrite the labels entry by hand, as a broken file would hold them
    d = data._read_pickle(path)
    d["labels"] = labels
    path.write_bytes(data._py2_pickle({k.encode(): v for k, v in d.items()}))
    return path


@pytest.mark.parametrize(("labels", "match"), [
    (["cat", "dog"], "not integer class indices"),
    ([[0, 1], [1, 0]], r"labels have shape \(2, 2\)"),
])
def test_cifar_labels_that_are_strings_or_2d_are_named_as_such(tmp_path, labels, match):
    path = _cifar_with_labels(tmp_path, labels)
    with pytest.raises(ValueError, match=match):
        data.load_CIFAR_batch(path)


def test_argcheck_integer_refuses_bool_and_float():
    with pytest.raises(TypeError, match="without the decimal point"):
        argcheck.integer(2.0, "n")
    with pytest.raises(TypeError):
        argcheck.integer(True, "n")
    assert argcheck.integer(np.int64(3), "n") == 3
