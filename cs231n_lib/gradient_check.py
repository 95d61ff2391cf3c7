"""Numerical gradients, relative error, and checks that *assert* instead of printing.

The CS231n notebooks print ``rel_error(...)`` and leave the reader to eyeball it.
Here the same numbers feed checks that fail loudly, with a hint::

    check_close(dx, dx_num, tol=1e-7, name="dx", hint="did you pad before sliding the filter?")
    errors = check_layer_gradients(conv_forward_naive, conv_backward_naive,
                                   {"x": x, "w": w, "b": b, "conv_param": conv_param})

Numerical gradients use centred differences, ``(f(x + h) - f(x - h)) / 2h``, whose
error shrinks like h**2; in float64 with h = 1e-5 a correct layer agrees with its
analytic gradient to a relative error of about 1e-8 or better.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "rel_error",
    "check_close",
    "check_layer_gradients",
]


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                            verbose: bool = False, h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of a scalar function ``f`` at ``x`` (centred differences).

    Shapes: x any shape; returns grad with x's shape.
    ``x`` is nudged in place one entry at a time and restored afterwards. An integer ``x``
    cannot hold ``x + h``, so it is replaced by a float64 copy (see _nudgeable).
    """
    x = _nudgeable(x, "x")
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                                  df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of ``sum(f(x) * df)`` at ``x``: what backward(df) should return.

    Shapes: x any shape; df has the shape of f(x); returns grad with x's shape.
    ``x`` is nudged in place one entry at a time and restored afterwards (an integer ``x``
    is replaced by a float64 copy). Raises ValueError if df does not have f(x)'s shape.
    """
    x = _nudgeable(x, "x")
    df = np.asarray(df)
    out_shape = np.shape(f(x))
    if df.shape != out_shape:
        raise ValueError(
            f"df has shape {df.shape} but f(x) has shape {out_shape}; df is the upstream "
            "gradient of f's output, so it must have the same shape"
        )
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def _nudgeable(x, name: str) -> np.ndarray:
    """``x`` if it is a float array (nudged in place); a float64 copy of an integer one.

    ``x[i] = old + 1e-5`` in an int array stores ``old`` again, so the centred difference
    would be 0 / 2h, or garbage; refusing a list or a str here beats an error deep inside.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of floats, got {type(x).__name__}; "
                        f"use np.asarray({name}, dtype=np.float64)")
    if np.issubdtype(x.dtype, np.floating):
        return x
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        return x.astype(np.float64)
    raise TypeError(f"{name} has dtype {x.dtype}; numerical gradients need real floats")


def _elementwise_rel_error(x, y) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))


def rel_error(x, y) -> float:
    """CS231n's maximum relative error: ``max |x - y| / max(1e-8, |x| + |y|)``.

    Shapes: x and y of the same shape. Returns a float (0.0 for equal arrays).
    Raises ValueError if the shapes differ (broadcasting would compare the wrong entries).
    """
    if np.shape(x) != np.shape(y):
        raise ValueError(f"rel_error compares arrays of the same shape; got {np.shape(x)} and "
                         f"{np.shape(y)}")
    err = _elementwise_rel_error(x, y)
    return float(err.max()) if err.size else 0.0


def check_close(actual, expected, tol: float = 1e-7, name: str = "value",
                hint: str | None = None) -> float:
    """Assert that ``actual`` matches ``expected`` to a maximum relative error ``tol``.

    Shapes: actual and expected must have the same shape (a mismatch is reported as such).
    Returns the maximum relative error (see rel_error).
    Raises AssertionError with a readable message: the max relative error, where it
    occurred and the two values there, plus ``hint`` if given.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    tail = f"\nHint: {hint}" if hint else ""
    if actual.shape != expected.shape:
        raise AssertionError(
            f"{name} has shape {actual.shape} but the expected shape is {expected.shape}{tail}"
        )
    if actual.size == 0:
        return 0.0
    bad_actual = ~np.isfinite(actual) & np.isfinite(expected)
    if bad_actual.any():
        where = tuple(int(i) for i in np.argwhere(bad_actual)[0])
        raise AssertionError(
            f"{name} has {int(bad_actual.sum())} non-finite entries (first at index {where}: "
            f"{actual[where]!r}, expected {expected[where]!r}){tail}"
        )
    err = _elementwise_rel_error(actual, expected)
    err = np.where(np.isnan(err), 0.0, err)  # matching infinities/NaNs count as equal
    worst = float(err.max())
    if worst > tol:
        where = np.unravel_index(int(err.argmax()), err.shape)
        where = tuple(int(i) for i in where)
        n_bad = int((err > tol).sum())
        raise AssertionError(
            f"{name}: max relative error {worst:.3g} > tolerance {tol:.0e} at index {where} "
            f"(got {actual[where]:.6g}, expected {expected[where]:.6g}); "
            f"{n_bad} of {err.size} entries are off{tail}"
        )
    return worst


def check_layer_gradients(forward: Callable[..., tuple[Any, Any]],
                          backward: Callable[[np.ndarray, Any], Any],
                          inputs: Mapping[str, Any], dout: np.ndarray | None = None,
                          tol: float = 1e-7, seed: int = 0, h: float = 1e-5) -> dict[str, float]:
    """Check every gradient of a layer numerically; return ``{name: relative error}``.

    The layer follows the CS231n contract: ``out, cache = forward(*inputs.values())``
    and ``backward(dout, cache)`` returns one gradient per floating-point array input,
    in the order of ``inputs`` (a single array if there is one). Other inputs
    (``conv_param``, integer labels, ...) are passed through and not differentiated.

    Example::

        check_layer_gradients(conv_forward_naive, conv_backward_naive,
                              {"x": x, "w": w, "b": b, "conv_param": {"stride": 1, "pad": 1}})

    ``dout`` defaults to standard normal noise (from ``seed``) with the output's shape.
    Inputs must be float64: float32 rounding alone is far above tol = 1e-7.
    Raises AssertionError naming every input whose gradient is off, TypeError for
    non-float64 inputs, ValueError if backward returns the wrong number of gradients.
    """
    names = list(inputs)
    args = [np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in inputs.values()]
    checked = [
        i for i, v in enumerate(args)
        if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating)
    ]
    for i in checked:
        if args[i].dtype != np.float64:
            raise TypeError(
                f"gradient checks need float64 inputs; '{names[i]}' is {args[i].dtype} "
                f"(use {names[i]}.astype(np.float64))"
            )
    out, cache = forward(*args)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(checked):
        raise ValueError(
            f"backward returned {len(grads)} gradient(s) but the layer has {len(checked)} "
            f"float inputs ({', '.join(names[i] for i in checked)}); list them in the order "
            "backward returns their gradients"
        )

    errors: dict[str, float] = {}
    failures: list[str] = []
    for grad, i in zip(grads, checked, strict=True):

        def f(value, i=i):
            trial = list(args)
            trial[i] = value
            return forward(*trial)[0]

        numeric = eval_numerical_gradient_array(f, args[i], dout, h=h)
        name = f"d{names[i]}"
        try:
            check_close(grad, numeric, tol=tol, name=name)
        except AssertionError as exc:
            failures.append(str(exc))
        errors[names[i]] = rel_error(grad, numeric) if np.shape(grad) == numeric.shape else np.inf
    if failures:
        raise AssertionError("gradient check failed:\n  " + "\n  ".join(failures))
    return errors
