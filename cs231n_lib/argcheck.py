"""Checks at the boundary: one place per kind of bad argument, one message per mistake.

The library's functions keep the line a student reads about the maths; what could go
wrong with their arguments is checked here first, with a message that names the argument,
says what was wrong and how to fix it. Each kind of check lives in one function:

* numbers: :func:`integer`, :func:`number`, :func:`probability`, :func:`seed`;
* shapes: :func:`same_shape` (a gradient must have the shape of what it is the gradient
  of), :func:`channels_first` (an (N, H, W, C) batch where (N, C, H, W) was expected);
* dtypes: :func:`floats` (integer pixels are converted to floats, never overflowed),
  :func:`labels` (class indices are whole numbers, never silently truncated).

Every check is O(1) in the size of the data (a look at shapes and dtypes), except
:func:`labels`, which looks at the values once. Nothing here imports torch; tensors are
recognised by their ``shape`` and ``dtype``.
"""

from __future__ import annotations

import math
import sys
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = [
    "integer",
    "number",
    "probability",
    "seed",
    "same_shape",
    "looks_channels_last",
    "channels_first",
    "floats",
    "labels",
]


def _shown(value: Any) -> str:
    """A short, readable rendering of a bad value (never a 10,000-element array)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def integer(value: Any, name: str, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """``value`` as a plain int, or TypeError/ValueError naming ``name``.

    Accepts Python and NumPy integers; refuses bools (``True`` is not a batch size),
    floats (``2.0`` included: say ``2``), strings and everything else.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        hint = ""
        if isinstance(value, Real) and not isinstance(value, bool) and float(value).is_integer():
            hint = f" (write {int(value)}, without the decimal point)"
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {_shown(value)}{hint}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def number(value: Any, name: str, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float in ``[low, high]`` (an open end with ``low_open``/``high_open``).

    Refuses bools, strings (``'0.5'`` is not 0.5), NaN and infinities.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(
            f"{name} must be a number, got {type(value).__name__} {_shown(value)}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    lo_bad = low is not None and (value <= low if low_open else value < low)
    hi_bad = high is not None and (value >= high if high_open else value > high)
    if lo_bad or hi_bad:
        left = "any" if low is None else f"{'(' if low_open else '['}{low:g}"
        right = "any" if high is None else f"{high:g}{')' if high_open else ']'}"
        if low is not None and high is None:
            want = f"{'greater than' if low_open else 'at least'} {low:g}"
        elif high is not None and low is None:
            want = f"{'less than' if high_open else 'at most'} {high:g}"
        else:
            want = f"in {left}, {right}"
        raise ValueError(f"{name} must be {want}, got {value:g}")
    return value


def probability(value: Any, name: str = "p") -> float:
    """A probability in [0, 1] as a float; TypeError for strings, ValueError out of range."""
    return number(value, name, 0.0, 1.0)


def seed(value: Any, name: str = "seed"):
    """A seed: None, a non-negative int, or a ``numpy.random.Generator`` (returned as is).

    ``'abc'``, ``1.5`` and ``True`` are refused here instead of deep inside NumPy.
    """
    if value is None or isinstance(value, np.random.Generator):
        return value
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise TypeError(
            f"{name} must be an int (for example 0), None or a numpy.random.Generator; "
            f"got {type(value).__name__} {_shown(value)}"
        )
    if value < 0:
        raise ValueError(f"{name} must be zero or more, got {int(value)}")
    return int(value)


def same_shape(actual: Any, expected: tuple, name: str = "dout", where: str = "") -> None:
    """Raise ValueError unless ``actual`` (an array, or a shape) has the shape ``expected``.

    Used by every backward pass: ``dout`` is the gradient of the forward pass's output, so
    it has exactly that output's shape. Broadcasting would otherwise give a gradient of the
    wrong size, or silently the wrong numbers. ``where`` (a function's name) starts the message.
    """
    shape = tuple(actual) if isinstance(actual, tuple) else getattr(actual, "shape", None)
    if shape is None:
        prefix = f"{where}: " if where else ""
        raise TypeError(
            f"{prefix}{name} must be an array of shape {tuple(expected)}, "
            f"got {type(actual).__name__}"
        )
    shape = tuple(int(s) for s in shape)
    expected = tuple(int(s) for s in expected)
    if shape != expected:
        prefix = f"{where}: " if where else ""
        raise ValueError(
            f"{prefix}{name} has shape {shape} but the forward pass's output had shape "
            f"{expected}; {name} is the gradient of that output, so it must have the same shape"
        )


def looks_channels_last(shape: tuple) -> bool:
    """True for a batch ``(N, H, W, C)`` or an image ``(H, W, C)`` with C in (1, 3).

    The last axis holds 1 or 3 values, the first image axis does not, and the axis before the
    last is wider than 3: a picture stored channels-last. Pooled features (N, D, 1, 1) and
    genuine (N, C, H, W) batches do not match.
    """
    if len(shape) == 4:
        return shape[-1] in (1, 3) and shape[1] not in (1, 3) and shape[2] > 3
    if len(shape) == 3:
        return shape[-1] in (1, 3) and shape[0] not in (1, 3) and shape[1] > 3
    return False


def channels_first(x: Any, name: str = "x") -> None:
    """Raise ValueError for an (N, H, W, C) batch or an (H, W, C) image, saying how to transpose."""
    shape = tuple(getattr(x, "shape", ()))
    if not looks_channels_last(shape):
        return
    is_torch = type(x).__module__.startswith("torch")
    if len(shape) == 4:
        fix = f"{name}.permute(0, 3, 1, 2)" if is_torch else f"{name}.transpose(0, 3, 1, 2)"
        want = "a batch (N, C, H, W)"
    else:
        fix = f"{name}.permute(2, 0, 1)" if is_torch else f"{name}.transpose(2, 0, 1)"
        want = "an image (C, H, W)"
    raise ValueError(
        f"{name} has shape {shape}, which looks channels-last (the colour channels on the last "
        f"axis); the course's images are channels-first, {want}: use {fix}"
    )


def floats(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The dtype policy: integer (and bool) arrays become floats; float arrays pass unchanged.

    Integer pixels such as uint8 overflow silently in products and sums (200 * 2 * 9 = 3600
    wraps to 16 in uint8), so integer arrays are converted to the float type of the other
    arguments (float64 if none is a float). Complex and object arrays are refused.
    """
    float_types = [a.dtype for a in arrays if np.issubdtype(a.dtype, np.floating)]
    target = np.result_type(*float_types) if float_types else np.dtype(np.float64)
    out = []
    for a in arrays:
        if np.issubdtype(a.dtype, np.floating):
            out.append(a)
        elif np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
            out.append(a.astype(target))
        else:
            raise TypeError(f"expected an array of real numbers, got dtype {a.dtype}")
    return tuple(out)


def labels(y: Any, name: str = "y") -> np.ndarray:
    """Class labels as a 1-D int64 array; ValueError for fractional or 2-D labels.

    Floats that are whole numbers (2.0) are accepted; 2.5 is refused, never truncated to 2.
    Torch tensors are read on the CPU.
    """
    if "torch" in sys.modules and isinstance(y, sys.modules["torch"].Tensor):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.ndim != 1:
        hint = " (one-hot rows? use y.argmax(1))" if arr.ndim == 2 else ""
        raise ValueError(f"{name} must be a 1-D array (N,) of class labels, got shape "
                         f"{arr.shape}{hint}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold integer class labels 0..K-1, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.iscomplexobj(arr) or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(
                f"{name} holds values that are not whole numbers (dtype {arr.dtype}); class "
                "labels are integers 0..K-1 (predicted probabilities? use probs.argmax(1))"
            )
    return arr.astype(np.int64)
