"""cs231n_lib.checks: coercion refuses impostors, checks survive patched numpy/builtins."""

from __future__ import annotations

import builtins
import hashlib

import numpy as np
import pytest
import torch
from torch import nn

from cs231n_lib import checks


class _Eq:
    """What a gaming submission returns: equal to everything."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class _IntEq(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class _ArrEq(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)


# ---------------------------------------------------------------- integer / number
def test_integer_accepts_ints_and_numpy_ints():
    assert checks.integer(7, "n") == 7
    value = checks.integer(np.int64(7), "n")
    assert value == 7 and type(value) is int
    assert type(checks.integer(np.uint8(3), "n")) is int
    assert checks.integer(np.array(5), "n") == 5


@pytest.mark.parametrize("bad, words", [
    (_Eq(), "conv_params returned a _Eq, not an int"),
    (_IntEq(3), "returned a _IntEq, not an int"),
    (True, "bool"),
    (np.bool_(True), "bool"),
    (3.0, "float 3.0, not an int"),
    ("3", "returned a str, not an int"),
    (None, "returned a NoneType, not an int"),
])
def test_integer_refuses(bad, words):
    with pytest.raises(AssertionError, match=words):
        checks.integer(bad, "conv_params")


def test_number():
    assert checks.number(3, "x") == 3.0 and type(checks.number(3, "x")) is float
    assert checks.number(np.float32(0.5), "x") == 0.5
    assert checks.number(np.array(2.5), "x") == 2.5
    for bad, words in [(_Eq(), "_Eq, not a number"), (True, "bool"),
                       (float("nan"), "not a finite number"), (np.inf, "not a finite"),
                       (np.zeros(3), r"shape \(3,\)"), (torch.tensor(1.0), r"\.item\(\)")]:
        with pytest.raises(AssertionError, match=words):
            checks.number(bad, "loss")


# ---------------------------------------------------------------- array / sequence
def test_array_accepts_arrays_and_plain_lists():
    x = np.zeros((2, 3))
    assert checks.array(x, "x", shape=(2, 3)) is x
    assert checks.array(x, "x", shape=(None, 3), ndim=2) is x
    out = checks.array([[1, 2.5], [3, 4]], "x", shape=(2, 2))
    assert type(out) is np.ndarray and out.dtype == np.float64
    assert checks.array(np.zeros(2, dtype=bool), "mask").dtype == bool


@pytest.mark.parametrize("bad, words", [
    (_Eq(), "returned a _Eq, not a NumPy array"),
    (np.zeros((2, 3)).view(_ArrEq), "_ArrEq, not a NumPy array"),
    (np.array([_Eq(), _Eq()], dtype=object), "dtype '|O'"),
    ([1, _Eq()], "holds a _Eq"),
    ([[1, 2], [3]], "holds a list|ragged"),
    (torch.zeros(2, 3), r"\.detach\(\)\.cpu\(\)\.numpy\(\)"),
    (np.zeros((3, 2)), r"has shape \(3, 2\) but the expected shape is \(2, 3\)"),
    (np.zeros(6), r"has 1 dimensions \(shape \(6,\)\) but should have 2"),
])
def test_array_refuses(bad, words):
    with pytest.raises(AssertionError, match=words):
        checks.array(bad, "out", shape=(2, 3), ndim=2)


def test_sequence():
    assert checks.sequence((32, 32, 3), "shape", length=3) == (32, 32, 3)
    assert checks.sequence([np.int64(1), 2], "shape") == (1, 2)
    assert checks.sequence(np.array([1, 2]), "shape") == (1, 2)
    assert checks.sequence(["a", "b"], "names", of=str) == ("a", "b")
    with pytest.raises(AssertionError, match="has 2 items but should have 3"):
        checks.sequence((1, 2), "shape", length=3)
    with pytest.raises(AssertionError, match=r"shape\[1\] returned the float"):
        checks.sequence((1, 2.0, 3), "shape")
    with pytest.raises(AssertionError, match="_Eq, not a tuple"):
        checks.sequence(_Eq(), "shape")
    with pytest.raises(ValueError, match="of="):
        checks.sequence((1,), "shape", of=dict)


# ---------------------------------------------------------------- module
def test_module():
    net = nn.Sequential(nn.Linear(2, 2))
    assert checks.module(net, "net") is net

    class Liar:
        __class__ = nn.Module   # isinstance(Liar(), nn.Module) is True!

    assert isinstance(Liar(), nn.Module)
    with pytest.raises(AssertionError, match="Liar, not a torch.nn.Module"):
        checks.module(Liar(), "net")
    with pytest.raises(AssertionError, match=r"the class Sequential, not a network"):
        checks.module(nn.Sequential, "net")


# ---------------------------------------------------------------- call
def test_call_returns_and_wraps_errors():
    assert checks.call(lambda a, b=0: a + b, 1, b=2) == 3

    def conv_forward_naive(x):
        return x + np.zeros(3)

    with pytest.raises(AssertionError) as info:
        checks.call(conv_forward_naive, np.zeros(2), hint="rows use HH and columns WW")
    text = str(info.value)
    assert text.startswith("your conv_forward_naive raised ValueError: operands could not")
    assert text.endswith("\nHint: rows use HH and columns WW")
    assert isinstance(info.value.__cause__, ValueError)


def test_call_hint_dict_and_not_implemented():
    def f(kind):
        if kind == 0:
            raise NotImplementedError
        if kind == 1:
            raise IndexError("index 5 is out of bounds")
        raise KeyError("stride")

    hints = {"out of bounds": "check the loop range", KeyError: "read conv_param",
             None: "default"}
    with pytest.raises(AssertionError, match=r"^f is not written yet \(it raises "
                       r"NotImplementedError\)\nHint: default$"):
        checks.call(f, 0, hint=hints)
    with pytest.raises(AssertionError, match="Hint: check the loop range"):
        checks.call(f, 1, hint=hints)
    with pytest.raises(AssertionError, match="raised KeyError: 'stride'\nHint: read conv_param"):
        checks.call(f, 2, hint=hints)
    with pytest.raises(AssertionError, match="my_layer is not written yet"):
        checks.call(f, 0, name="my_layer")
    with pytest.raises(AssertionError, match="answer is an int, not a function"):
        checks.call(3, name="answer")


def test_call_survives_an_exception_with_a_broken_str():
    class Weird(Exception):
        def __str__(self):
            raise RuntimeError("no")

    def f():
        raise Weird()

    with pytest.raises(AssertionError, match="^your f raised Weird$"):
        checks.call(f)


# ---------------------------------------------------------------- close / equal
def test_close():
    x = np.linspace(1, 2, 12).reshape(3, 4)
    assert checks.close(x, x.copy(), name="out") is None
    assert checks.close(x.tolist(), x, name="out") is None
    assert checks.close(2.0, np.float64(2.0), name="loss") is None
    with pytest.raises(AssertionError, match=r"dx: max relative error .* at index \(1, 2\)"):
        y = x.copy()
        y[1, 2] += 1
        checks.close(y, x, name="dx", hint="h")
    with pytest.raises(AssertionError, match=r"shape \(4, 3\) but the expected shape is \(3, 4\)"):
        checks.close(x.T, x, name="dx")
    with pytest.raises(AssertionError, match="non-finite"):
        checks.close(np.full((3, 4), np.nan), x, name="dx")
    with pytest.raises(AssertionError, match="should be inf"):
        checks.close(np.array([-np.inf, 1.0]), np.array([np.inf, 1.0]), name="dx")
    assert checks.close(np.array([np.inf, np.nan]), np.array([np.inf, np.nan])) is None
    with pytest.raises(AssertionError, match="_Eq, not a NumPy array"):
        checks.close(_Eq(), x, name="dx")
    with pytest.raises(AssertionError, match="_Eq, not a number"):
        checks.close(_Eq(), 1.0, name="loss")


def test_equal():
    assert checks.equal(np.int64(3), 3, "n") is None
    assert checks.equal([1, 2], (1, 2), "shape") is None
    assert checks.equal("max", "max", "pool") is None
    with pytest.raises(AssertionError, match=r"^n is 4, which is not right yet\nHint: h$"):
        checks.equal(4, 3, "n", hint="h")
    with pytest.raises(AssertionError, match="n is 4 but should be 3"):
        checks.equal(4, 3, "n", show_expected=True)
    with pytest.raises(AssertionError, match="_Eq, not an int"):
        checks.equal(_Eq(), 3, "n")
    with pytest.raises(AssertionError, match=r"shape\[1\] returned a _Eq"):
        checks.equal((1, _Eq()), (1, 2), "shape")
    with pytest.raises(AssertionError) as info:
        checks.equal(5, 12345, "secret")
    assert "12345" not in str(info.value)


# ---------------------------------------------------------------- digest / matches
def test_digest_canonical_forms():
    assert checks.digest(3) == checks.digest(3.0) == checks.digest(np.int64(3))
    assert checks.digest(0.1234567) == checks.digest(0.12345671)
    assert checks.digest(0.1234567) != checks.digest(0.123457 + 1e-4)
    assert checks.digest((1, 2)) == checks.digest([1, 2])
    assert checks.digest(" max ") == checks.digest("max")
    assert checks.digest("3") != checks.digest(3)
    assert checks.digest(True) != checks.digest(1)
    assert len(checks.digest(1728)) == 16
    with pytest.raises(TypeError):
        checks.digest({1: 2})


def test_matches_never_reveals():
    key = checks.digest(1728)
    assert checks.matches(1728, key, "answer") is None
    with pytest.raises(AssertionError, match=r"^answer is not right yet\nHint: count again$")\
            as info:
        checks.matches(1727, key, "answer", hint="count again")
    assert "1728" not in str(info.value)
    with pytest.raises(AssertionError, match="answer is a _Eq"):
        checks.matches(_Eq(), key, "answer")
    with pytest.raises(AssertionError, match="answer is a _IntEq: answer with a number"):
        checks.matches(_IntEq(5), checks.digest(5), "answer")  # subclass refused


# ---------------------------------------------------------------- tamper resistance
def _outcome(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except AssertionError as exc:
        return str(exc)
    return "passed"


def test_checks_ignore_patched_numpy_builtins_and_hashlib():
    x = np.arange(6.0).reshape(2, 3)
    key = checks.digest(7)
    patches = [(np, "allclose", lambda *a, **k: True), (np, "abs", lambda a: np.zeros_like(a)),
               (np, "maximum", lambda a, b: np.ones_like(b)), (np, "ndarray", _ArrEq),
               (builtins, "isinstance", lambda *a: True), (builtins, "type", lambda *a: int),
               (builtins, "len", lambda *a: 0), (builtins, "enumerate", lambda *a: iter(())),
               (hashlib, "sha256", lambda *a: None)]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:  # patched by hand and restored before any assert: pytest itself needs builtins
        for obj, attr, fake in patches:
            setattr(obj, attr, fake)
        results = [
            _outcome(checks.close, x + 1, x, name="dx"),
            _outcome(checks.integer, _Eq(), "n"),
            _outcome(checks.sequence, (1, 2), "shape", length=3),
            _outcome(checks.matches, 8, key, "answer"),
            _outcome(checks.matches, 7, key, "answer"),
        ]
    finally:
        for obj, attr, real in saved:
            setattr(obj, attr, real)
    assert "max relative error" in results[0]
    assert "_Eq, not an int" in results[1]
    assert "has 2 items" in results[2]
    assert results[3] == "answer is not right yet"
    assert results[4] == "passed"
