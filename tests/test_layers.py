"""Tests for cs231n_lib.layers: agreement with PyTorch, numerical gradients,
the lectures' worked examples, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cs231n_lib import layers as L
from cs231n_lib.gradient_check import check_close, check_layer_gradients

CONV_PAIRS = [
    (L.conv_forward_naive, L.conv_backward_naive),
    (L.conv_forward_fast, L.conv_backward_fast),
]
MAX_POOL_PAIRS = [
    (L.max_pool_forward_naive, L.max_pool_backward_naive),
    (L.max_pool_forward_fast, L.max_pool_backward_fast),
]


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(True)


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------
# Agreement with PyTorch over random shapes (hypothesis draws only shapes that fit).
# ---------------------------------------------------------------------------------------


@st.composite
def conv_cases(draw):
    """Shapes built backwards from the output size, so the stride always fits."""
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, 2))
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H_out, W_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H = (H_out - 1) * stride + HH - 2 * pad
    W = (W_out - 1) * stride + WW - 2 * pad
    assume(H >= 1 and W >= 1)  # much padding around a tiny filter: no such input
    N, C, Fn = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    return N, C, H, W, Fn, HH, WW, stride, pad, seed


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_conv_matches_torch(case):
    N, C, H, W, Fn, HH, WW, stride, pad, seed = case
    rng = _rng(seed)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((Fn, C, HH, WW))
    b = rng.standard_normal(Fn)
    conv_param = {"stride": stride, "pad": pad}

    tx, tw, tb = _t(x), _t(w), _t(b)
    t_out = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    dout = rng.standard_normal(t_out.shape)
    t_dx, t_dw, t_db = torch.autograd.grad(t_out, (tx, tw, tb), torch.from_numpy(dout))

    for forward, backward in CONV_PAIRS:
        out, cache = forward(x, w, b, conv_param)
        check_close(out, t_out.detach().numpy(), tol=1e-9, name=f"{forward.__name__} out")
        dx, dw, db = backward(dout, cache)
        check_close(dx, t_dx.numpy(), tol=1e-9, name="dx")
        check_close(dw, t_dw.numpy(), tol=1e-9, name="dw")
        check_close(db, t_db.numpy(), tol=1e-9, name="db")


@st.composite
def pool_cases(draw):
    ph, pw, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H_out, W_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    N, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H, W = (H_out - 1) * stride + ph, (W_out - 1) * stride + pw
    return N, C, H, W, ph, pw, stride, draw(st.integers(0, 2**16))


@settings(max_examples=40, deadline=None)
@given(pool_cases())
def test_pooling_matches_torch(case):
    N, C, H, W, ph, pw, stride, seed = case
    rng = _rng(seed)
    x = rng.standard_normal((N, C, H, W))
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    tx = _t(x)
    for torch_pool, pairs in [
        (F.max_pool2d, MAX_POOL_PAIRS),
        (F.avg_pool2d, [(L.avg_pool_forward, L.avg_pool_backward)]),
    ]:
        t_out = torch_pool(tx, (ph, pw), stride=stride)
        dout = rng.standard_normal(t_out.shape)
        (t_dx,) = torch.autograd.grad(t_out, (tx,), torch.from_numpy(dout))
        for forward, backward in pairs:
            out, cache = forward(x, pool_param)
            check_close(out, t_out.detach().numpy(), tol=1e-12, name=f"{forward.__name__}")
            check_close(backward(dout, cache), t_dx.numpy(), tol=1e-12, name="dx")


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 4), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
    st.integers(0, 2**16),
)
def test_spatial_batchnorm_matches_torch(N, C, H, W, seed):
    rng = _rng(seed)
    x = rng.standard_normal((N, C, H, W)) * 3 + 1
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    bn_param = {"mode": "train", "eps": 1e-5}
    out, cache = L.spatial_batchnorm_forward(x, gamma, beta, bn_param)

    tx, tg, tb = _t(x), _t(gamma), _t(beta)
    t_out = F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    dout = rng.standard_normal(x.shape)
    t_grads = torch.autograd.grad(t_out, (tx, tg, tb), torch.from_numpy(dout))
    check_close(out, t_out.detach().numpy(), tol=1e-8, name="out")
    for name, ours, theirs in zip(
        ("dx", "dgamma", "dbeta"), L.spatial_batchnorm_backward(dout, cache), t_grads,
        strict=True,
    ):
        # Gradients of a batch-normalised layer sum to ~0; compare on an absolute scale.
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


def test_batchnorm_test_mode_matches_torch_with_running_stats():
    rng = _rng(1)
    x = rng.standard_normal((6, 5))
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    mean, var = rng.standard_normal(5), rng.random(5) + 0.5
    bn_param = {"mode": "test", "running_mean": mean, "running_var": var}
    out, _ = L.batchnorm_forward(x, gamma, beta, bn_param)
    expected = F.batch_norm(
        torch.from_numpy(x), torch.from_numpy(mean), torch.from_numpy(var),
        torch.from_numpy(gamma), torch.from_numpy(beta), training=False, eps=1e-5,
    )
    check_close(out, expected.numpy(), tol=1e-12, name="test-mode out")


def test_affine_and_losses_match_torch():
    rng = _rng(2)
    x = rng.standard_normal((4, 2, 3, 2))
    w, b = rng.standard_normal((12, 5)), rng.standard_normal(5)
    out, _ = L.affine_forward(x, w, b)
    check_close(out, x.reshape(4, 12) @ w + b, tol=1e-12, name="affine out")

    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, size=6)
    ts = _t(scores)
    t_loss = F.cross_entropy(ts, torch.from_numpy(y))
    (t_dx,) = torch.autograd.grad(t_loss, ts)
    loss, dx = L.softmax_loss(scores, y)
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    check_close(dx, t_dx.numpy(), tol=1e-10, name="softmax dx")

    t_svm = F.multi_margin_loss(ts, torch.from_numpy(y), margin=1.0) * 4  # torch divides by C
    (t_dsvm,) = torch.autograd.grad(t_svm, ts)
    loss, dx = L.svm_loss(scores, y)
    assert loss == pytest.approx(t_svm.item(), rel=1e-12)
    check_close(dx, t_dsvm.numpy(), tol=1e-10, name="svm dx")


# ---------------------------------------------------------------------------------------
# Every backward pass, checked numerically (float64, relative error < 1e-7).
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("forward, backward", CONV_PAIRS)
@pytest.mark.parametrize("stride, pad", [(1, 1), (2, 1), (1, 0), (2, 0), (3, 2)])
def test_conv_backward_numerically(forward, backward, stride, pad):
    rng = _rng(3)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((3, 3, 3, 3))
    b = rng.standard_normal(3)
    errors = check_layer_gradients(
        forward, backward, {"x": x, "w": w, "b": b, "conv_param": {"stride": stride, "pad": pad}}
    )
    assert set(errors) == {"x", "w", "b"} and max(errors.values()) < 1e-7


@pytest.mark.parametrize("forward, backward", MAX_POOL_PAIRS)
@pytest.mark.parametrize("size, stride, H", [(2, 2, 6), (3, 2, 7), (2, 1, 5)])
def test_max_pool_backward_numerically(forward, backward, size, stride, H):
    x = _rng(4).standard_normal((2, 3, H, H))
    pool_param = {"pool_height": size, "pool_width": size, "stride": stride}
    errors = check_layer_gradients(forward, backward, {"x": x, "pool_param": pool_param})
    assert errors["x"] < 1e-7


def test_avg_and_global_pool_backward_numerically():
    x = _rng(5).standard_normal((2, 3, 5, 5))
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    assert check_layer_gradients(L.avg_pool_forward, L.avg_pool_backward,
                                 {"x": x, "p": pool_param})["x"] < 1e-7
    assert check_layer_gradients(L.global_avg_pool_forward, L.global_avg_pool_backward,
                                 {"x": x})["x"] < 1e-7


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_backward_numerically(name):
    forward, backward = getattr(L, f"{name}_forward"), getattr(L, f"{name}_backward")
    # Moderate inputs: where tanh/sigmoid saturate the gradient is ~1e-7 and the
    # *relative* error of a finite difference there is no longer meaningful.
    x = _rng(6).standard_normal((4, 5))
    assert check_layer_gradients(forward, backward, {"x": x})["x"] < 1e-7


def test_affine_backward_numerically():
    rng = _rng(7)
    inputs = {"x": rng.standard_normal((3, 2, 4)), "w": rng.standard_normal((8, 5)),
              "b": rng.standard_normal(5)}
    errors = check_layer_gradients(L.affine_forward, L.affine_backward, inputs)
    assert max(errors.values()) < 1e-7


@pytest.mark.parametrize("loss_fn", [L.softmax_loss, L.svm_loss])
def test_loss_gradients_numerically(loss_fn):
    from cs231n_lib.gradient_check import eval_numerical_gradient

    rng = _rng(8)
    x, y = rng.standard_normal((10, 4)), rng.integers(0, 4, size=10)
    _, dx = loss_fn(x, y)
    dx_num = eval_numerical_gradient(lambda v: loss_fn(v, y)[0], x.copy())
    check_close(dx, dx_num, tol=1e-7, name="dx")


def test_dropout_backward_numerically():
    x = _rng(9).standard_normal((5, 6))
    param = {"mode": "train", "p": 0.6, "seed": 123}  # a fixed seed fixes the mask
    assert check_layer_gradients(L.dropout_forward, L.dropout_backward,
                                 {"x": x, "param": param})["x"] < 1e-7


@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_backward_numerically(mode):
    rng = _rng(10)
    D = 4
    bn_param = {"mode": mode, "running_mean": rng.standard_normal(D),
                "running_var": rng.random(D) + 0.5}
    inputs = {"x": rng.standard_normal((6, D)) * 2 + 1, "gamma": rng.standard_normal(D),
              "beta": rng.standard_normal(D), "bn_param": bn_param}
    errors = check_layer_gradients(L.batchnorm_forward, L.batchnorm_backward, inputs)
    assert max(errors.values()) < 1e-7

    inputs = {"x": rng.standard_normal((2, 3, 3, 4)), "gamma": rng.standard_normal(3),
              "beta": rng.standard_normal(3), "bn_param": {"mode": mode}}
    errors = check_layer_gradients(L.spatial_batchnorm_forward, L.spatial_batchnorm_backward,
                                   inputs)
    assert max(errors.values()) < 1e-7


def test_sandwich_layers_backward_numerically():
    rng = _rng(11)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((3, 3, 3, 3))
    b = rng.standard_normal(3)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    e1 = check_layer_gradients(L.conv_relu_forward, L.conv_relu_backward,
                               {"x": x, "w": w, "b": b, "cp": conv_param})
    e2 = check_layer_gradients(L.conv_relu_pool_forward, L.conv_relu_pool_backward,
                               {"x": x, "w": w, "b": b, "cp": conv_param, "pp": pool_param})
    e3 = check_layer_gradients(L.affine_relu_forward, L.affine_relu_backward,
                               {"x": x, "w": rng.standard_normal((108, 4)),
                                "b": rng.standard_normal(4)})
    assert max(*e1.values(), *e2.values(), *e3.values()) < 1e-7


# ---------------------------------------------------------------------------------------
# The lectures' worked examples.
# ---------------------------------------------------------------------------------------


def test_lecture_six_5x5_filters_on_32x32x3_give_28x28x6():
    rng = _rng(12)
    x = rng.standard_normal((1, 3, 32, 32))
    w, b = rng.standard_normal((6, 3, 5, 5)), np.zeros(6)
    out, _ = L.conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    assert out.shape == (1, 6, 28, 28)


def test_lecture_5x5_stride_1_pad_2_keeps_32x32():
    rng = _rng(13)
    x = rng.standard_normal((2, 3, 32, 32))
    w, b = rng.standard_normal((4, 3, 5, 5)), np.zeros(4)
    out, _ = L.conv_forward_fast(x, w, b, {"stride": 1, "pad": 2})
    assert out.shape == (2, 4, 32, 32)


def test_lecture_7x7_input_3x3_filter_output_sizes():
    # (N - F) / stride + 1 for N = 7, F = 3: stride 1 -> 5, stride 2 -> 3, stride 3 -> 2.33
    assert L.conv_output_size(7, 3, stride=1) == 5
    assert L.conv_output_size(7, 3, stride=2) == 3
    with pytest.raises(ValueError, match=r"\(7 - 3 \+ 0\) / 3 \+ 1 = 2\.33"):
        L.conv_output_size(7, 3, stride=3)


@pytest.mark.parametrize("forward", [L.max_pool_forward_naive, L.max_pool_forward_fast])
def test_lecture_max_pool_example(forward):
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])[None, None]
    out, _ = forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    np.testing.assert_array_equal(out[0, 0], [[6, 8], [3, 4]])


def test_max_pool_routes_gradient_to_the_winner_only():
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], float)[None, None]
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = np.array([[10.0, 20.0], [30.0, 40.0]])[None, None]
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[2, 0], expected[3, 3] = 10, 20, 30, 40
    for forward, backward in MAX_POOL_PAIRS:
        _, cache = forward(x, pool_param)
        np.testing.assert_array_equal(backward(dout, cache)[0, 0], expected)


# ---------------------------------------------------------------------------------------
# Contract details: dtypes, interchangeable caches, readable caches.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "C, Fn, HH, WW, stride, pad, route",
    [
        (4, 3, 3, 3, 1, 1, "_conv_transpose_stride1"),  # F <= C: dx as a convolution
        (3, 3, 3, 5, 1, 2, "_conv_transpose_stride1"),  # non-square filter, pad < both sides
        (4, 4, 1, 1, 1, 0, "_conv_transpose_stride1"),  # 1x1 conv: dx is one matrix product
        (2, 5, 3, 3, 1, 1, "_col2im"),  # more filters than channels
        (4, 3, 3, 3, 1, 3, "_col2im"),  # padding as large as the filter
        (3, 3, 3, 3, 2, 1, "_col2im"),  # stride 2
    ],
)
def test_conv_backward_fast_every_dx_route_matches_torch(C, Fn, HH, WW, stride, pad, route,
                                                         monkeypatch):
    """conv_backward_fast picks one of three ways to compute dx; each must be right,
    and each case here must really take the route it names."""
    taken = []
    original = getattr(L, route)
    monkeypatch.setattr(L, route, lambda *a, **k: taken.append(route) or original(*a, **k))
    rng = _rng(C * 100 + Fn * 10 + pad)
    x = rng.standard_normal((2, C, 7, 9))
    w = rng.standard_normal((Fn, C, HH, WW))
    b = rng.standard_normal(Fn)
    tx, tw, tb = _t(x), _t(w), _t(b)
    t_out = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    dout = rng.standard_normal(t_out.shape)
    t_grads = torch.autograd.grad(t_out, (tx, tw, tb), torch.from_numpy(dout))
    _, cache = L.conv_forward_fast(x, w, b, {"stride": stride, "pad": pad})
    for name, ours, theirs in zip("dx dw db".split(), L.conv_backward_fast(dout, cache),
                                  t_grads, strict=True):
        check_close(ours, theirs.numpy(), tol=1e-10, name=name)
    assert taken == [route]


def test_fast_layers_keep_float32():
    rng = _rng(14)
    x = rng.standard_normal((2, 3, 8, 8), dtype=np.float32)
    w = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    b = rng.standard_normal(4, dtype=np.float32)
    out, cache = L.conv_relu_pool_forward(x, w, b, {"stride": 1, "pad": 1},
                                          {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert out.dtype == np.float32
    grads = L.conv_relu_pool_backward(np.ones_like(out), cache)
    assert [g.dtype for g in grads] == [np.float32] * 3
    # A float64 bias (np.zeros' default) does not turn a float32 layer into float64.
    out, cache = L.conv_forward_fast(x, w, np.zeros(4), {"stride": 1, "pad": 1})
    assert out.dtype == np.float32
    assert [g.dtype for g in L.conv_backward_fast(np.ones_like(out), cache)] == [np.float32] * 3


def test_naive_cache_works_with_fast_backward():
    rng = _rng(15)
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), np.ones(3)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = L.conv_forward_naive(x, w, b, conv_param)
    assert isinstance(cache, L.ConvCache) and cache.cols is None and cache.conv_param is conv_param
    dout = rng.standard_normal(out.shape)
    for ours, theirs in zip(L.conv_backward_fast(dout, cache),
                            L.conv_backward_naive(dout, cache), strict=True):
        check_close(ours, theirs, tol=1e-12)


# ---------------------------------------------------------------------------------------
# Dropout and batch normalisation behaviour.
# ---------------------------------------------------------------------------------------


def test_dropout_train_keeps_mean_and_test_is_identity():
    x = np.full((500, 500), 2.0)
    for p in (0.25, 0.5, 0.75):
        out, _ = L.dropout_forward(x, {"mode": "train", "p": p, "seed": 0})
        assert abs(out.mean() - 2.0) < 0.02  # 250k draws: std of the mean ~ 0.005
        assert abs((out == 0).mean() - (1 - p)) < 0.01
        np.testing.assert_array_equal(np.unique(out), [0.0, 2.0 / p])
        test_out, _ = L.dropout_forward(x, {"mode": "test", "p": p})
        np.testing.assert_array_equal(test_out, x)


def test_dropout_seed_is_deterministic_and_backward_uses_the_mask():
    x = _rng(16).standard_normal((20, 30))
    param = {"mode": "train", "p": 0.5, "seed": 7}
    out1, cache = L.dropout_forward(x, param)
    out2, _ = L.dropout_forward(x, param)
    np.testing.assert_array_equal(out1, out2)
    dx = L.dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx == 0, out1 == 0)
    assert set(np.unique(dx)) == {0.0, 2.0}


def test_batchnorm_train_normalises_and_tracks_running_stats():
    rng = _rng(17)
    D = 3
    true_mean, true_std = np.array([5.0, -2.0, 0.5]), np.array([2.0, 0.5, 4.0])
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 1.0])
    bn_param = {"mode": "train", "momentum": 0.9}
    for step in range(200):
        x = true_mean + true_std * rng.standard_normal((64, D))
        out, _ = L.batchnorm_forward(x, gamma, beta, bn_param)
        if step == 0:
            # first update: running = 0.9 * initial + 0.1 * batch (initial mean 0, var 1)
            np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0))
            np.testing.assert_allclose(bn_param["running_var"], 0.9 + 0.1 * x.var(axis=0))
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-4)
    assert np.all(np.abs(bn_param["running_mean"] - true_mean) < 0.2 * true_std)
    np.testing.assert_allclose(np.sqrt(bn_param["running_var"]), true_std, rtol=0.1)

    # Test mode uses the running statistics: a fresh batch comes out near N(beta, gamma).
    bn_param["mode"] = "test"
    x = true_mean + true_std * rng.standard_normal((2000, D))
    out, _ = L.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=0.3)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=0.15)
    # ... and a single example is normalised the same way as inside a batch.
    one, _ = L.batchnorm_forward(x[:1], gamma, beta, bn_param)
    np.testing.assert_allclose(one, out[:1])


# ---------------------------------------------------------------------------------------
# Bad input: a clear ValueError / TypeError, never a silent wrong shape.
# ---------------------------------------------------------------------------------------


def _conv_inputs(x_shape=(2, 3, 7, 7), w_shape=(4, 3, 3, 3)):
    rng = _rng(18)
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape), np.zeros(w_shape[0])


@pytest.mark.parametrize("forward", [L.conv_forward_naive, L.conv_forward_fast])
@pytest.mark.parametrize(
    "x_shape, w_shape, conv_param, error, match",
    [
        ((1, 1, 7, 7), (1, 1, 3, 3), {"stride": 3, "pad": 0}, ValueError, r"= 2\.33"),
        ((1, 1, 7, 7), (1, 1, 3, 3), {"stride": 3, "pad": 0}, ValueError, r"stride 3 doesn.t fit"),
        ((1, 1, 7, 7), (1, 1, 3, 3), {"stride": 3, "pad": 0}, ValueError, r"that fit.*: 1"),
        ((2, 3, 8, 8), (4, 2, 3, 3), {"stride": 1, "pad": 1}, ValueError, r"3 channels.*expect 2"),
        ((3, 8, 8), (4, 3, 3, 3), {"stride": 1, "pad": 1}, ValueError, r"4-D.*x\[None\]"),
        ((2, 3, 8, 8), (4, 3, 3), {"stride": 1, "pad": 1}, ValueError, r"w must be 4-D"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 0, "pad": 1}, ValueError, r"stride.*positive"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": -1, "pad": 1}, ValueError, r"positive, got -1"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 1, "pad": -1}, ValueError, r"pad.*zero or more"),
        ((0, 3, 8, 8), (4, 3, 3, 3), {"stride": 1, "pad": 1}, ValueError, r"empty batch"),
        ((2, 3, 4, 4), (4, 3, 7, 7), {"stride": 1, "pad": 1}, ValueError, r"7×7 filter is larger"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 1.5, "pad": 1}, TypeError, r"must be an int"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 1}, ValueError, r"needs the key 'pad'"),
    ],
)
def test_conv_bad_input(forward, x_shape, w_shape, conv_param, error, match):
    x, w, b = _conv_inputs(x_shape, w_shape)
    with pytest.raises(error, match=match):
        forward(x, w, b, conv_param)


@pytest.mark.parametrize("forward", [L.conv_forward_naive, L.conv_forward_fast])
def test_conv_bad_types_and_bias(forward):
    x, w, b = _conv_inputs()
    with pytest.raises(TypeError, match=r"x must be a NumPy array.*np\.asarray"):
        forward(x.tolist(), w, b, {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match=r"b has 3 biases but there are 4 filters"):
        forward(x, w, b[:3], {"stride": 1, "pad": 1})


@pytest.mark.parametrize(
    "forward", [L.max_pool_forward_naive, L.max_pool_forward_fast, L.avg_pool_forward]
)
@pytest.mark.parametrize(
    "x_shape, pool_param, match",
    [
        ((1, 1, 2, 2), {"pool_height": 3, "pool_width": 3, "stride": 1}, r"3x3 pool window is"),
        ((1, 1, 7, 7), {"pool_height": 3, "pool_width": 3, "stride": 3}, r"= 2\.33"),
        ((1, 1, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 0}, r"stride.*positive"),
        ((0, 1, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}, r"empty batch"),
        ((4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}, r"4-D"),
    ],
)
def test_pool_bad_input(forward, x_shape, pool_param, match):
    with pytest.raises(ValueError, match=match):
        forward(np.zeros(x_shape), pool_param)


def test_affine_and_loss_bad_input():
    rng = _rng(19)
    with pytest.raises(ValueError, match=r"D = 12 features.*w should be \(12, M\)"):
        L.affine_forward(rng.standard_normal((2, 3, 4)), rng.standard_normal((10, 5)), np.zeros(5))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.3"):
        L.softmax_loss(rng.standard_normal((2, 4)), np.array([0, 4]))
    with pytest.raises(TypeError, match=r"integer class labels"):
        L.svm_loss(rng.standard_normal((2, 4)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"keep probability"):
        L.dropout_forward(np.ones(3), {"mode": "train", "p": 0.0})
