"""Checks for notebook test cells that a submission cannot talk its way past.

A check cell runs in the same kernel as the student's code, after it. A plain
``assert answer == 1728`` passes for an object whose ``__eq__`` always returns True,
and ``np.allclose(dx, dx_num)`` passes once an answer cell has run
``np.allclose = lambda *a, **k: True``. The functions here close both doors:

* every answer is first *coerced* to a plain value of an exact, known type (a real
  ``int``, a real ``np.ndarray`` of numbers, ...); anything else fails with a message
  that says what came back ("conv_params returned a _Eq, not an int");
* every NumPy function, builtin and hash this module uses was captured when the module
  was imported (before any student code ran), so later patches of ``np.allclose``,
  ``builtins.isinstance`` or ``hashlib`` do not change what a check computes.

Use them in check cells like this (and end the cell on a statement, not an expression)::

    from cs231n_lib import checks

    out, _ = checks.call(conv_forward_naive, x, w, b, conv_param,
                         hint={ValueError: "rows use HH and columns WW"})
    checks.close(out, F.conv2d(...).numpy(), tol=1e-7, name="conv_forward_naive output")
    n = checks.integer(conv_params(3, 64, 3), "conv_params")
    checks.matches(answer_receptive_field, "3f5a...", "answer_receptive_field")

Value-style functions (``integer``, ``number``, ``array``, ``sequence``, ``module``,
``call``) return the coerced value; assertion-style ones (``close``, ``equal``,
``matches``) return None. Every failure is an AssertionError whose message names the
exercise and says what to fix. ``digest`` is for instructors writing checks.

What this module cannot do alone: a submission that replaces ``checks.close`` itself, or
rebinds the name ``checks`` in the notebook, is undone by the grader's guard cells
(``cs231n_lib.guard``), which restore modules and names before each graded test cell.
"""

from __future__ import annotations

import builtins as _builtins_module
import hashlib as _hashlib
import json as _json
import math as _math

import numpy as np

__all__ = [
    "integer", "number", "array", "sequence", "module", "call",
    "close", "equal", "digest", "matches",
]

# ---------------------------------------------------------------------------------------
# References captured at import time. Module globals are looked up when a function runs,
# and builtins after them, so a later `builtins.isinstance = ...` or `np.abs = ...` would
# change what a check computes if it used the bare names. These private names are bound
# once, here, and the guard restores this module's dictionary before each graded test.
# ---------------------------------------------------------------------------------------
_type = _builtins_module.type
_len = _builtins_module.len
_int = _builtins_module.int
_float = _builtins_module.float
_str = _builtins_module.str
_bool = _builtins_module.bool
_tuple = _builtins_module.tuple
_list = _builtins_module.list
_dict = _builtins_module.dict
_repr = _builtins_module.repr
_format = _builtins_module.format
_callable = _builtins_module.callable
_issubclass = _builtins_module.issubclass
_getattr = _builtins_module.getattr
_enumerate = _builtins_module.enumerate
_TypeError = _builtins_module.TypeError
_ValueError = _builtins_module.ValueError
_RuntimeError = _builtins_module.RuntimeError
_zip = _builtins_module.zip
_any = _builtins_module.any
_Exception = _builtins_module.Exception
_NotImplementedError = _builtins_module.NotImplementedError
_AssertionError = _builtins_module.AssertionError
_SystemExit = _builtins_module.SystemExit
_isfinite_scalar = _math.isfinite
_sha256 = _hashlib.sha256
_json_dumps = _json.dumps

_ndarray = np.ndarray
_np_array = np.array
_np_asarray = np.asarray
_np_abs = np.abs
_np_maximum = np.maximum
_np_isfinite = np.isfinite
_np_isnan = np.isnan
_np_where = np.where
_np_argwhere = np.argwhere
_np_unravel_index = np.unravel_index
_np_float64 = np.float64
_np_bool = np.bool_
_np_str = np.str_
_np_errstate = np.errstate

# Exact scalar types accepted as numbers (subclasses are refused: they can override ==).
_NP_INT_TYPES = frozenset(np.dtype(c).type for c in np.typecodes["AllInteger"])
_NP_FLOAT_TYPES = frozenset(np.dtype(c).type for c in "efdg")
_INT_TYPES = frozenset({int}) | _NP_INT_TYPES
_REAL_TYPES = _INT_TYPES | frozenset({float}) | _NP_FLOAT_TYPES
_NUMERIC_KINDS = "biuf"        # bool, signed int, unsigned int, float dtypes

try:  # torch is optional for the NumPy-only notebooks
    import torch as _torch
    _Module = _torch.nn.Module
    _Tensor = _torch.Tensor
except ImportError:  # pragma: no cover - torch is installed with the course
    _torch = None
    _Module = None
    _Tensor = None


# ---------------------------------------------------------------------------------------
# Small helpers that never trust the student's objects
# ---------------------------------------------------------------------------------------
def _type_name(value) -> str:
    """The name of value's real type, without calling anything the value defines."""
    try:
        name = _type(value).__name__
    except _Exception:  # pragma: no cover - a metaclass with a broken __name__
        return "object of an unknown type"
    if _type(name) is not _str:  # pragma: no cover - same
        return "object of an unknown type"
    return name


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _fail(message: str, hint=None):
    if hint:
        message = f"{message}\nHint: {hint}"
    raise _AssertionError(message)


def _plain_repr(value, limit: int = 80) -> str:
    """repr of a value that already passed coercion (so repr is the builtin one)."""
    text = _repr(value)
    return text if _len(text) <= limit else text[: limit - 3] + "..."


def _safe_text(exc, limit: int = 500) -> str:
    """str(exc) for an exception the student raised; never raises, never huge."""
    try:
        text = _str(exc)
        if _type(text) is not _str:
            text = ""
    except _Exception:
        text = ""
    text = _str.__str__(text)
    return text if _len(text) <= limit else text[: limit - 3] + "..."


def _shape_text(shape) -> str:
    return "(" + ", ".join("?" if d is None else _str(d) for d in shape) + \
        ("," if _len(shape) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------
# Value-style checks: coerce and return
# ---------------------------------------------------------------------------------------
def integer(value, name: str) -> int:
    """``value`` as a plain ``int``: a real Python int or NumPy integer, never a bool.

    Shapes: a scalar. Returns ``int(value)``.
    Raises AssertionError "conv_params returned a _Eq, not an int" for anything else
    (floats such as 3.0 included: say ``int(...)`` or use ``//`` in the answer).
    """
    t = _type(value)
    if t in _INT_TYPES:
        return _int(value)
    if t is _ndarray and value.ndim == 0 and value.dtype.kind in "iu":
        return _int(value.item())
    if t is _bool or t is _np_bool:
        _fail(f"{name} returned a bool ({value!r}), not an int: return the count itself")
    if t in _REAL_TYPES:
        _fail(f"{name} returned the float {_plain_repr(_float(value))}, not an int: "
              "use // for whole-number division or int(...) around the result")
    _fail(f"{name} returned {_article(_type_name(value))} {_type_name(value)}, not an int: "
          "return a plain whole number")


def number(value, name: str) -> float:
    """``value`` as a plain, finite ``float``: an int, float or NumPy real scalar.

    Shapes: a scalar (a 0-d NumPy array is accepted). Returns ``float(value)``.
    Raises AssertionError for bools, other types (arrays with more than one entry, tensors,
    objects of the student's own classes) and for NaN or infinity.
    """
    t = _type(value)
    if t is _ndarray and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
        t = _type(value)
    if t is _bool or t is _np_bool:
        _fail(f"{name} returned a bool ({value!r}), not a number")
    if t not in _REAL_TYPES:
        extra = ""
        if t is _ndarray:
            extra = f" of shape {_shape_text(value.shape)}: return a single number"
        elif _Tensor is not None and _issubclass(t, _Tensor):
            extra = ": call .item() on a one-element tensor to get its number"
        _fail(f"{name} returned {_article(_type_name(value))} {_type_name(value)}, "
              f"not a number{extra}")
    result = _float(value)
    if not _isfinite_scalar(result):
        _fail(f"{name} is {result!r}, not a finite number: look for a division by zero "
              "or a log of zero")
    return result


def _check_plain_nested(value, name: str, depth: int = 0) -> None:
    """A nested list/tuple of exact int/float scalars, or AssertionError."""
    t = _type(value)
    if t is _list or t is _tuple:
        if depth > 32:
            _fail(f"{name} is nested too deeply to be an array")
        for item in value:
            _check_plain_nested(item, name, depth + 1)
        return
    if t not in _REAL_TYPES:
        _fail(f"{name} holds {_article(_type_name(value))} {_type_name(value)}; "
              "an array must hold only numbers")


def array(value, name: str, shape=None, ndim: int | None = None) -> np.ndarray:
    """``value`` as a real ``np.ndarray`` of numbers.

    Shapes: ``shape`` is the expected shape (an entry None matches any size), ``ndim`` the
    expected number of dimensions; either may be omitted.
    Accepts an exact ``np.ndarray`` (not a subclass) with a bool, integer or float dtype,
    or a (nested) plain list/tuple of ints and floats, which is converted.
    Raises AssertionError naming both shapes when the shape is wrong, and naming the
    type when ``value`` is not an array (a torch tensor gets a ".numpy()" hint).
    """
    t = _type(value)
    if t is _list or t is _tuple:
        _check_plain_nested(value, name)
        try:
            value = _np_array(value)
        except _Exception:
            _fail(f"{name} is a ragged list (rows of different lengths), not an array")
        t = _type(value)
    if t is not _ndarray:
        extra = ""
        if _Tensor is not None and _issubclass(t, _Tensor):
            extra = ": convert a torch tensor with .detach().cpu().numpy()"
        elif t in _REAL_TYPES:
            extra = ": return an array, not a single number"
        _fail(f"{name} returned {_article(_type_name(value))} {_type_name(value)}, "
              f"not a NumPy array{extra}")
    kind = value.dtype.kind
    if kind not in _NUMERIC_KINDS:
        _fail(f"{name} is an array of dtype {value.dtype.str!r} ({value.dtype.name}), not of "
              "numbers: build it with np.zeros/np.empty and fill it with numbers")
    if ndim is not None and value.ndim != ndim:
        _fail(f"{name} has {value.ndim} dimensions (shape {_shape_text(value.shape)}) "
              f"but should have {ndim}")
    if shape is not None:
        shape = _tuple(shape)
        ok = _len(shape) == value.ndim and not _any(
            want is not None and got != want for got, want in _zip(value.shape, shape))
        if not ok:
            _fail(f"{name} has shape {_shape_text(value.shape)} but the expected shape is "
                  f"{_shape_text(shape)}")
    return value


def _coerce_as(value, kind, name: str):
    if kind is int:
        return integer(value, name)
    if kind is float:
        return number(value, name)
    if kind is str:
        t = _type(value)
        if t is _str or t is _np_str:
            return _str.__str__(value)
        _fail(f"{name} is {_article(_type_name(value))} {_type_name(value)}, not a str")
    raise _ValueError(f"checks.sequence: of={kind!r} is not supported; use int, float or str")


def sequence(value, name: str, length: int | None = None, of=int) -> tuple:
    """``value`` as a plain tuple whose items are coerced with ``of`` (int, float or str).

    Shapes: ``length`` items if given (e.g. an (H, W, C) answer has length 3).
    Accepts an exact tuple or list, or a 1-d NumPy array. Returns a tuple of plain values.
    Raises AssertionError on another type, a wrong length, or an item of the wrong type
    (the message names the item: "output_shape[2] returned a float, not an int").
    """
    t = _type(value)
    if t is _ndarray and value.ndim == 1 and value.dtype.kind in _NUMERIC_KINDS:
        value = value.tolist()
        t = _list
    if t is not _tuple and t is not _list:
        _fail(f"{name} returned {_article(_type_name(value))} {_type_name(value)}, "
              "not a tuple: return the values as (a, b, ...)")
    items = _list(value)
    if length is not None and _len(items) != length:
        _fail(f"{name} has {_len(items)} items but should have {length}")
    return _tuple(_coerce_as(item, of, f"{name}[{i}]") for i, item in _enumerate(items))


def module(value, name: str):
    """``value`` if it is a real ``torch.nn.Module`` instance (subclasses welcome).

    Shapes: none. Returns ``value`` unchanged.
    The test is on the object's real type (``type(value).__mro__``), so an object that
    only claims to be a Module through ``__class__`` is refused.
    Raises AssertionError otherwise (a class instead of an instance gets its own hint).
    """
    if _Module is None:  # pragma: no cover - torch is installed with the course
        raise _RuntimeError("checks.module needs PyTorch; install the course requirements")
    mro = _type.__dict__["__mro__"].__get__   # type's own __mro__, not a metaclass's
    if _Module in mro(_type(value)):
        return value
    if _issubclass(_type(value), _type) and _Module in mro(value):
        _fail(f"{name} is the class {value.__name__}, not a network: create one with "
              f"{value.__name__}(...)")
    _fail(f"{name} returned {_article(_type_name(value))} {_type_name(value)}, not a "
          "torch.nn.Module: build the network from nn layers (nn.Sequential or a "
          "subclass of nn.Module)")


def _pick_hint(hint, exc, text: str):
    """The hint for exception ``exc`` (message ``text``) from a str or a dict of hints."""
    if hint is None or _type(hint) is _str:
        return hint
    default = None
    for key, value in _dict.items(hint):
        if key is None:
            default = value
        elif _type(key) is _str:
            if key in text:
                return value
        elif _type(key) is _type or _isinstance_type(key):
            if _issubclass(_type(exc), key):
                return value
    return default


def _isinstance_type(key) -> bool:
    try:
        return _issubclass(_type(key), _type)
    except _Exception:  # pragma: no cover
        return False


def call(fn, *args, name: str | None = None, hint=None, **kwargs):
    """Call the student's function ``fn(*args, **kwargs)`` and return its result.

    Shapes: whatever ``fn`` takes and returns.
    ``name`` names the function in messages (default: ``fn.__name__``). ``hint`` is a str,
    or a dict mapping an exception type or a substring of the message to a hint (first
    match wins; key None is the default).
    Raises AssertionError("your conv_forward_naive raised ValueError: ...\\nHint: ...")
    when ``fn`` raises; AssertionError("conv_forward_naive is not written yet (it raises
    NotImplementedError)") for an unfinished stub. The original error is chained, so the
    traceback still shows the line of the student's code that failed.
    """
    if name is None:
        try:
            name = _getattr(fn, "__name__", None)
        except _Exception:
            name = None
        if _type(name) is not _str:
            name = "your function"
    if not _callable(fn):
        _fail(f"{name} is {_article(_type_name(fn))} {_type_name(fn)}, not a function: "
              "did a later cell reuse its name?")
    try:
        return fn(*args, **kwargs)
    except (_Exception, _SystemExit) as exc:
        text = _safe_text(exc)
        chosen = _pick_hint(hint, exc, text)
        if _issubclass(_type(exc), _NotImplementedError):
            message = f"{name} is not written yet (it raises NotImplementedError)"
            if text and "left out of the" in text:   # it called a library answer a bundle stubs
                message += f": {text}"
        else:
            message = f"your {name} raised {_type_name(exc)}" + (f": {text}" if text else "")
        if chosen:
            message = f"{message}\nHint: {chosen}"
        raise _AssertionError(message) from exc


# ---------------------------------------------------------------------------------------
# Assertion-style checks: return None
# ---------------------------------------------------------------------------------------
def close(actual, expected, tol: float = 1e-7, name: str = "value", hint=None) -> None:
    """Assert that ``actual`` matches ``expected`` to a maximum relative error ``tol``.

    Shapes: actual and expected must have the same shape (a mismatch is reported as such);
    a scalar ``expected`` accepts a plain number.
    ``actual`` is coerced with ``checks.array`` (or ``checks.number`` for a scalar), so an
    object that merely claims to be equal is refused. The relative error is CS231n's
    ``|x - y| / max(1e-8, |x| + |y|)``, as in ``gradient_check.rel_error``.
    Raises AssertionError with the max relative error, where it occurred and the two values
    there, plus ``hint``. Returns None, so it is safe as the last line of a check cell.
    """
    expected = _np_asarray(expected)
    if expected.ndim == 0 and _type(actual) is not _ndarray:
        actual = _np_array(number(actual, name))
    else:
        actual = array(actual, name)
    if actual.shape != expected.shape:
        _fail(f"{name} has shape {_shape_text(actual.shape)} but the expected shape is "
              f"{_shape_text(expected.shape)}", hint)
    if actual.size == 0:
        return None
    a = _np_asarray(actual, dtype=_np_float64)
    e = _np_asarray(expected, dtype=_np_float64)
    bad = ~_np_isfinite(a) & _np_isfinite(e)
    if bad.any():
        where = _tuple(_int(i) for i in _np_argwhere(bad)[0])
        _fail(f"{name} has {_int(bad.sum())} non-finite entries (first at index {where}: "
              f"{_float(a[where])!r}); look for a division by zero or an overflow", hint)
    special = ~_np_isfinite(e) & ~((a == e) | (_np_isnan(a) & _np_isnan(e)))
    if special.any():
        where = _tuple(_int(i) for i in _np_argwhere(special)[0])
        _fail(f"{name} at index {where} is {_float(a[where])!r}, but there it should be "
              f"{_float(e[where])!r}", hint)
    with _np_errstate(invalid="ignore"):
        err = _np_abs(a - e) / _np_maximum(1e-8, _np_abs(a) + _np_abs(e))
    err = _np_where(_np_isnan(err), 0.0, err)  # matching infinities/NaNs count as equal
    worst = _float(err.max())
    if not worst <= tol:
        where = _tuple(_int(i) for i in _np_unravel_index(_int(err.argmax()), err.shape))
        n_bad = _int((err > tol).sum())
        _fail(f"{name}: max relative error {worst:.3g} > tolerance {tol:.0e} at index {where} "
              f"(got {_float(a[where]):.6g}, expected {_float(e[where]):.6g}); "
              f"{n_bad} of {err.size} entries are off", hint)
    return None


def _coerce_like(value, expected, name: str):
    """``value`` coerced to the plain type of ``expected`` (int/float/bool/str/tuple)."""
    t = _type(expected)
    if t is _bool:
        vt = _type(value)
        if vt is _bool or vt is _np_bool:
            return _bool(value)
        _fail(f"{name} is {_article(_type_name(value))} {_type_name(value)}, not True/False")
    if t is _int:
        return integer(value, name)
    if t is _float:
        return number(value, name)
    if t is _str:
        return _coerce_as(value, str, name)
    if t is _tuple or t is _list:
        vt = _type(value)
        if vt is _ndarray and value.ndim == 1:
            value = value.tolist()
            vt = _list
        if vt is not _tuple and vt is not _list:
            _fail(f"{name} is {_article(_type_name(value))} {_type_name(value)}, not a tuple")
        if _len(value) != _len(expected):
            _fail(f"{name} has {_len(value)} items but should have {_len(expected)}")
        got = _tuple(_coerce_like(v, x, f"{name}[{i}]")
                     for i, (v, x) in _enumerate(_zip(value, expected)))
        return got if t is _tuple else _list(got)
    raise _ValueError(f"checks.equal compares int, float, bool, str and tuples of those, "
                     f"not {_type_name(expected)}")


def equal(actual, expected, name: str, hint=None, show_expected: bool = False) -> None:
    """Assert that ``actual`` equals ``expected`` exactly, after coercing it to its type.

    Shapes: plain values: int, float, bool, str, or tuples/lists of those.
    The message shows the student's value, never the expected one unless
    ``show_expected=True``. Returns None.
    Raises AssertionError if the type or the value is wrong.
    """
    got = _coerce_like(actual, expected, name)
    if got == expected and _type(got) is _type(expected):
        return None
    message = f"{name} is {_plain_repr(got)}, which is not right yet"
    if show_expected:
        message = f"{name} is {_plain_repr(got)} but should be {_plain_repr(expected)}"
    _fail(message, hint)


def _canonical(value, depth: int = 0) -> str:
    t = _type(value)
    if t is _bool or t is _np_bool:
        return "b:" + ("1" if value else "0")
    if t in _INT_TYPES:
        return "n:" + _str(_int(value))
    if t in _REAL_TYPES:
        x = _float(value)
        if x == 0.0:
            return "n:0"
        if _isfinite_scalar(x) and x.is_integer() and -1e15 < x < 1e15:
            return "n:" + _str(_int(x))
        return "n:" + _format(x, ".6g")
    if t is _str or t is _np_str:
        return "s:" + _json_dumps(_str.__str__(value).strip())
    if t is _tuple or t is _list:
        if depth > 32:
            raise _TypeError("checks.digest: value nested too deeply")
        return "(" + ",".join(_canonical(v, depth + 1) for v in value) + ")"
    if value is None:
        return "None"
    raise _TypeError(f"checks.digest takes int, float, bool, str, None and tuples/lists of "
                    f"those, not {_type_name(value)}")


def digest(value) -> str:
    """A short sha256 hex digest (16 hex digits) of a canonical form of a plain value.

    Shapes: a plain value: int, float, bool, str, None, or tuples/lists of those.
    Canonical form: numbers compare by value (3, 3.0 and np.int64(3) agree; non-whole
    floats are rounded to 6 significant digits); strings are stripped of surrounding
    whitespace; lists and tuples agree. Instructors use it to write visible checks::

        >>> checks.digest(1728)   # paste the result into checks.matches(...)

    Raises TypeError for other types.
    """
    return _sha256(_canonical(value).encode("utf-8")).hexdigest()[:16]


def matches(value, digest: str, name: str, hint=None) -> None:
    """Assert that ``checks.digest(value) == digest`` without revealing the expected value.

    Shapes: a plain value, as for ``checks.digest``.
    Raises AssertionError "<name> is not right yet" (plus ``hint``) when it differs, and
    one naming the type when ``value`` is not a plain value. Returns None.
    """
    try:
        got = _sha256(_canonical(value).encode("utf-8")).hexdigest()[:16]
    except _TypeError:
        _fail(f"{name} is {_article(_type_name(value))} {_type_name(value)}: answer with a "
              "number, a string, or a tuple of those", hint)
    if got != digest:
        _fail(f"{name} is not right yet", hint)
    return None
