"""Tests for cs231n_lib.gradient_check: numerical gradients and asserting checks."""

from __future__ import annotations

import numpy as np
import pytest

from cs231n_lib import layers as L
from cs231n_lib.gradient_check import (
    check_close,
    check_layer_gradients,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)


def test_eval_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    original = x.copy()
    grad = eval_numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(grad, 3 * original**2, rtol=1e-8)
    np.testing.assert_array_equal(x, original)  # nudges are undone


def test_eval_numerical_gradient_array_matches_the_chain_rule():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    df = rng.standard_normal((3, 4))
    grad = eval_numerical_gradient_array(np.sin, x, df)
    np.testing.assert_allclose(grad, np.cos(x) * df, rtol=1e-8)


def test_rel_error_is_cs231n_formula():
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    # tiny absolute differences near zero are measured against the 1e-8 floor
    assert rel_error(np.array([0.0, 2.0]), np.array([1e-9, 2.0])) == pytest.approx(0.1)


def test_check_close_passes_and_returns_the_error():
    a = np.array([1.0, 2.0, 3.0])
    assert check_close(a, a + 1e-12, tol=1e-9) < 1e-12


def test_check_close_reports_where_and_how_much_with_hint():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    with pytest.raises(AssertionError) as info:
        check_close(actual, expected, tol=1e-7, name="dx", hint="did you pad first?")
    message = str(info.value)
    assert "dx: max relative error 1 > tolerance 1e-07" in message
    assert "index (1, 2)" in message
    assert "1 of 6 entries" in message
    assert message.endswith("Hint: did you pad first?")


def test_check_close_reports_shape_mismatch_as_such():
    with pytest.raises(AssertionError, match=r"dw has shape \(3, 2\) but the expected shape is"):
        check_close(np.zeros((3, 2)), np.zeros((2, 3)), name="dw")


def test_check_close_flags_nan():
    with pytest.raises(AssertionError, match="non-finite"):
        check_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]), name="out")


def test_check_layer_gradients_returns_errors_for_every_float_input():
    rng = np.random.default_rng(1)
    inputs = {"x": rng.standard_normal((2, 3, 5, 5)), "w": rng.standard_normal((2, 3, 3, 3)),
              "b": rng.standard_normal(2), "conv_param": {"stride": 2, "pad": 1}}
    errors = check_layer_gradients(L.conv_forward_fast, L.conv_backward_fast, inputs)
    assert list(errors) == ["x", "w", "b"]
    assert all(0 <= e < 1e-7 for e in errors.values())


def test_check_layer_gradients_catches_a_wrong_backward():
    def leaky_relu_backward_bug(dout, cache):
        return dout  # forgot the mask: wrong wherever x < 0

    x = np.linspace(-2, 2, 12).reshape(3, 4) + 0.01
    with pytest.raises(AssertionError, match=r"gradient check failed:\n  dx: max relative error"):
        check_layer_gradients(L.relu_forward, leaky_relu_backward_bug, {"x": x})


def test_check_layer_gradients_refuses_float32_and_wrong_counts():
    x32 = np.ones((2, 2), dtype=np.float32)
    with pytest.raises(TypeError, match=r"float64.*x.astype\(np.float64\)"):
        check_layer_gradients(L.relu_forward, L.relu_backward, {"x": x32})
    rng = np.random.default_rng(2)
    inputs = {"x": rng.standard_normal((2, 3)), "w": rng.standard_normal((3, 2)),
              "b": rng.standard_normal(2)}
    with pytest.raises(ValueError, match=r"returned 1 gradient\(s\) but the layer has 3"):
        check_layer_gradients(L.affine_forward, lambda d, c: L.affine_backward(d, c)[0], inputs)


def test_check_layer_gradients_does_not_modify_inputs():
    x = np.random.default_rng(3).standard_normal((3, 3))
    original = x.copy()
    check_layer_gradients(L.tanh_forward, L.tanh_backward, {"x": x})
    np.testing.assert_array_equal(x, original)
