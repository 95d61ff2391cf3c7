"""NumPy layers for convolutional networks: forward and backward, naive and fast.

Every layer follows the CS231n contract::

    out, cache = layer_forward(x, ...)      # remember what backward needs
    dx, ... = layer_backward(dout, cache)   # pass the cache back unchanged

Images are NCHW: ``x`` has shape ``(N, C, H, W)`` (batch, channels, height, width)
and filters are ``(F, C, HH, WW)``. The ``*_naive`` functions are explicit loops,
written to be read next to the lecture; the ``*_fast`` functions compute the same
numbers with im2col and one matrix product per example (the bias folded in, as in the
linear classifier's "bias trick"), in pure NumPy (no compiled extension). Naive and
fast versions share one validation helper and one cache type, so a test or a notebook
can swap them freely.

Bad input (a stride that does not fit, mismatched channels, a 3-D array where a
batch was expected, ...) raises ``ValueError`` or ``TypeError`` with a message that
says what was wrong and what would fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cs231n_lib import argcheck

__all__ = [
    "ConvCache",
    "PoolCache",
    "BatchnormCache",
    "AffineCache",
    "DropoutCache",
    "conv_output_size",
    "conv_forward_naive",
    "conv_backward_naive",
    "conv_forward_fast",
    "conv_backward_fast",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
    "max_pool_forward_fast",
    "max_pool_backward_fast",
    "avg_pool_forward",
    "avg_pool_backward",
    "global_avg_pool_forward",
    "global_avg_pool_backward",
    "relu_forward",
    "relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "affine_forward",
    "affine_backward",
    "softmax_loss",
    "svm_loss",
    "dropout_forward",
    "dropout_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "conv_relu_forward",
    "conv_relu_backward",
    "conv_relu_pool_forward",
    "conv_relu_pool_backward",
    "affine_relu_forward",
    "affine_relu_backward",
]


# --------------------------------------------------------------------------------------
# Caches: what a forward pass hands to its backward pass, with names instead of x[3].
# --------------------------------------------------------------------------------------


class ConvCache(NamedTuple):
    """What a convolution's backward pass needs (from either the naive or fast forward).

    ``cols`` is the im2col matrix ``(N, C*HH*WW + 1, H'*W')`` kept by the fast forward so
    the backward pass does not rebuild it; its last row is all ones (the bias trick). The
    naive forward leaves it ``None``.
    """

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    conv_param: dict
    cols: np.ndarray | None = None


class PoolCache(NamedTuple):
    """What a pooling layer's backward pass needs: the input and the pooling settings.

    ``out`` (kept by fast max pooling) is the forward output ``(N, C, H', W')``, the
    max of every window; the backward pass compares the window's pixels with it.
    """

    x: np.ndarray
    pool_param: dict
    out: np.ndarray | None = None


class BatchnormCache(NamedTuple):
    """What batch normalisation's backward pass needs.

    ``x_hat`` is the normalised input ``(x - mean) / sqrt(var + eps)`` and ``inv_std``
    is ``1 / sqrt(var + eps)`` (batch statistics in train mode, running ones in test mode).
    """

    x_hat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray
    mode: str
    #: the forward output's shape when it is not x_hat's: (N, C, H, W) for spatial batch norm
    shape: tuple | None = None


class AffineCache(NamedTuple):
    """What a fully connected layer's backward pass needs: its input, weights and biases."""

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray


class DropoutCache(NamedTuple):
    """What dropout's backward pass needs: the settings, the mask (None in test mode) and
    the shape of the input (= the output)."""

    dropout_param: dict
    mask: np.ndarray | None
    shape: tuple


# --------------------------------------------------------------------------------------
# Validation: one place that checks shapes and settings, shared by naive and fast code.
# --------------------------------------------------------------------------------------


def _require_array(value: Any, name: str, ndim: int | None = None, layout: str = "") -> None:
    """Raise TypeError unless ``value`` is a NumPy array, ValueError if ``ndim`` is wrong."""
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} must be a NumPy array, got {type(value).__name__}; "
            f"convert it with np.asarray({name})"
        )
    if ndim is not None and value.ndim != ndim:
        hint = ""
        if ndim == 4 and value.ndim == 3:
            hint = f"; for a single image add a batch axis: {name}[None]"
        raise ValueError(
            f"{name} must be {ndim}-D {layout}, got {value.ndim}-D with shape {value.shape}{hint}"
        )


def _require_int(param: Mapping, key: str, where: str, minimum: int) -> int:
    """Read an integer setting such as ``conv_param['stride']`` and check its range."""
    if not isinstance(param, Mapping):
        raise TypeError(f"{where} must be a dict, got {type(param).__name__}")
    if key not in param:
        raise ValueError(f"{where} needs the key '{key}'; it has {sorted(param)}")
    value = param[key]
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{where}['{key}'] must be an int, got {value!r}")
    value = int(value)
    if value < minimum:
        kind = "positive" if minimum == 1 else "zero or more"
        raise ValueError(f"{where}['{key}'] must be {kind}, got {value}")
    return value


def _format_number(value: float) -> str:
    """2 -> '2', 2.3333 -> '2.33' (what the lecture writes on its slide)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _article(n: int) -> str:
    """'a 7-wide' but 'an 8-wide' / 'an 11-wide' (as the number is spoken)."""
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


def conv_output_size(size: int, filter_size: int, stride: int = 1, pad: int = 0,
                     what: str = "filter") -> int:
    """Output length along one axis: ``(size + 2*pad - filter_size) / stride + 1``.

    Shapes: an input of ``size`` pixels, a window of ``filter_size`` pixels moved by
    ``stride`` pixels, ``pad`` zeros added on each side.

    Returns the whole number of window positions.
    Raises ValueError if the window is larger than the padded input, or if the
    division is not exact (the lecture's 7-wide input, 3-wide filter, stride 3 gives
    (7 - 3) / 3 + 1 = 2.33: the filter "doesn't fit"); the message lists strides and
    paddings that would fit.
    """
    # One rule for the whole course: cs231n_lib.arithmetic owns it (and its messages).
    from cs231n_lib.arithmetic import conv_output_size as _rule

    try:
        return _rule(size, filter_size, stride, pad)
    except ValueError as exc:
        if what == "filter":
            raise
        raise ValueError(f"{what}: {exc}") from None


def _conv_geometry(x, w, b, conv_param) -> tuple[int, int, int, int]:
    """Validate a convolution's inputs; return ``(stride, pad, H_out, W_out)``."""
    _require_array(x, "x", 4, "(N, C, H, W)")
    _require_array(w, "w", 4, "(F, C, HH, WW)")
    _require_array(b, "b", 1, "(F,)")
    N, C, H, W = x.shape
    F, Cw, HH, WW = w.shape
    if N == 0:
        raise ValueError(f"x is an empty batch (shape {x.shape}); pass at least one image")
    if C != Cw:
        raise ValueError(
            f"x has {C} channels but the filters w expect {Cw} (x: {x.shape}, w: {w.shape}); "
            f"w should have shape ({F}, {C}, {HH}, {WW})"
        )
    if b.shape[0] != F:
        raise ValueError(f"b has {b.shape[0]} biases but there are {F} filters; b should be ({F},)")
    stride = _require_int(conv_param, "stride", "conv_param", minimum=1)
    pad = _require_int(conv_param, "pad", "conv_param", minimum=0)
    H_out = conv_output_size(H, HH, stride, pad, "filter")
    W_out = conv_output_size(W, WW, stride, pad, "filter")
    return stride, pad, H_out, W_out


def _pool_geometry(x, pool_param) -> tuple[int, int, int, int, int]:
    """Validate a pooling layer's inputs; return ``(ph, pw, stride, H_out, W_out)``."""
    _require_array(x, "x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    if N == 0:
        raise ValueError(f"x is an empty batch (shape {x.shape}); pass at least one image")
    ph = _require_int(pool_param, "pool_height", "pool_param", minimum=1)
    pw = _require_int(pool_param, "pool_width", "pool_param", minimum=1)
    stride = _require_int(pool_param, "stride", "pool_param", minimum=1)
    if ph > H or pw > W:
        raise ValueError(
            f"the {ph}x{pw} pool window is larger than the {H}x{W} input; "
            f"use a window of at most {H}x{W}"
        )
    H_out = conv_output_size(H, ph, stride, 0, "pool window")
    W_out = conv_output_size(W, pw, stride, 0, "pool window")
    return ph, pw, stride, H_out, W_out


# --------------------------------------------------------------------------------------
# Backward passes check what they are given: the cache of the right layer, and a dout of
# the forward output's shape (broadcasting would otherwise return wrong numbers quietly).
# --------------------------------------------------------------------------------------

#: Which forward passes make each kind of cache (named in error messages).
_CACHE_SOURCES = {
    ConvCache: "conv_forward_naive / conv_forward_fast",
    PoolCache: "max_pool_forward_naive / max_pool_forward_fast / avg_pool_forward",
    BatchnormCache: "batchnorm_forward / spatial_batchnorm_forward",
    AffineCache: "affine_forward",
    DropoutCache: "dropout_forward",
    np.ndarray: "relu_forward / sigmoid_forward / tanh_forward (an array)",
}


def _cache_origin(cache: Any) -> str:
    """Plain words for where a cache came from (for 'you passed the cache of ...')."""
    for kind, source in _CACHE_SOURCES.items():
        if isinstance(cache, kind):
            return source
    if isinstance(cache, tuple):
        kinds = tuple(type(c) for c in cache)
        sandwiches = {
            (ConvCache, np.ndarray): "conv_relu_forward",
            (ConvCache, np.ndarray, PoolCache): "conv_relu_pool_forward",
            (AffineCache, np.ndarray): "affine_relu_forward",
        }
        if kinds in sandwiches:
            return sandwiches[kinds]
        if len(cache) == 4 and all(isinstance(c, Integral) for c in cache):
            return "global_avg_pool_forward"
        return f"a tuple of {len(cache)} ({', '.join(k.__name__ for k in kinds)})"
    return f"a {type(cache).__name__}"


def _expect_cache(cache: Any, kind: type, who: str) -> None:
    """TypeError unless ``cache`` is a ``kind`` (the cache of the matching forward pass)."""
    if not isinstance(cache, kind):
        raise TypeError(
            f"{who} needs the cache returned by {_CACHE_SOURCES[kind]}, but it got the cache "
            f"of {_cache_origin(cache)}; pass each backward pass the cache of its own forward"
        )


def _backward_shape(cache: Any) -> tuple:
    """The shape of the forward output that made ``cache`` (what dout must be)."""
    if isinstance(cache, ConvCache):
        (N, _, H, W), (F, _, HH, WW) = cache.x.shape, cache.w.shape
        S, P = cache.conv_param["stride"], cache.conv_param["pad"]
        return N, F, (H + 2 * P - HH) // S + 1, (W + 2 * P - WW) // S + 1
    if isinstance(cache, PoolCache):
        (N, C, H, W), p = cache.x.shape, cache.pool_param
        S = p["stride"]
        return N, C, (H - p["pool_height"]) // S + 1, (W - p["pool_width"]) // S + 1
    if isinstance(cache, BatchnormCache):
        return cache.x_hat.shape if cache.shape is None else cache.shape
    if isinstance(cache, AffineCache):
        return cache.x.shape[0], cache.w.shape[1]
    if isinstance(cache, DropoutCache):
        return cache.shape
    return cache.shape  # an activation's cache: its input or output, of the output's shape


def _check_backward(dout: Any, cache: Any, kind: type, who: str) -> None:
    """The one check every backward pass makes: the right cache, and dout of the right shape."""
    _expect_cache(cache, kind, who)
    if not isinstance(dout, np.ndarray):
        raise TypeError(f"{who}: dout must be a NumPy array, got {type(dout).__name__}")
    argcheck.same_shape(dout, _backward_shape(cache), "dout", who)


def _conv_inputs(x, w, b):
    """x, w, b checked to be arrays; integer ones converted to floats (argcheck.floats):
    uint8 pixels would otherwise overflow in the products."""
    _require_array(x, "x", 4, "(N, C, H, W)")
    _require_array(w, "w", 4, "(F, C, HH, WW)")
    _require_array(b, "b", 1, "(F,)")
    return argcheck.floats(x, w, b)


def _pad(x: np.ndarray, pad: int, pad_w: int | None = None) -> np.ndarray:
    """Zero-pad ``x: (N, C, H, W)``: ``pad`` rows above and below, ``pad_w`` columns left
    and right (``pad_w`` defaults to ``pad``). Returns ``(N, C, H+2*pad, W+2*pad_w)``."""
    pad_w = pad if pad_w is None else pad_w
    if pad == pad_w == 0:
        return x
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad_w), dtype=x.dtype)
    xp[:, :, pad:pad + H, pad_w:pad_w + W] = x
    return xp


# --------------------------------------------------------------------------------------
# Convolution, naive: four nested loops you can check against the lecture's picture.
# --------------------------------------------------------------------------------------


def conv_forward_naive(x, w, b, conv_param):
    """Convolution forward pass with explicit loops (slow; written to be read).

    Shapes:
        x: (N, C, H, W) input batch
        w: (F, C, HH, WW) filters;  b: (F,) biases
        conv_param: {'stride': S, 'pad': P}, P zeros added on every side
        out: (N, F, H', W') with H' = (H + 2P - HH) / S + 1 and W' likewise

    Returns (out, cache); pass cache unchanged to conv_backward_naive (or _fast).
    Raises ValueError if the stride and padding do not tile the input exactly, if
    channels disagree, or if an array has the wrong number of dimensions.
    Integer inputs (uint8 pixels) are computed in floats, never overflowed.
    """
    x, w, b = _conv_inputs(x, w, b)
    ### BEGIN SOLUTION 01_conv_layer
    stride, pad, H_out, W_out = _conv_geometry(x, w, b, conv_param)
    N = x.shape[0]
    F, _, HH, WW = w.shape
    xp = _pad(x, pad)
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    # The patch under the filter: all channels, an HH x WW window.
                    patch = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    return out, ConvCache(x, w, b, conv_param)
    ### END SOLUTION


def conv_backward_naive(dout, cache):
    """Convolution backward pass with explicit loops.

    Shapes:
        dout: (N, F, H', W') upstream gradient
        cache: the ConvCache from conv_forward_naive or conv_forward_fast
        returns dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,)

    Each output pixel was ``sum(patch * w[f]) + b[f]``, so its gradient flows back
    to the patch (times the filter) and to the filter (times the patch).
    """
    _check_backward(dout, cache, ConvCache, "conv_backward_naive")
    ### BEGIN SOLUTION 01_conv_layer
    x, w, b, conv_param = cache.x, cache.w, cache.b, cache.conv_param
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, F, H_out, W_out = dout.shape
    _, _, HH, WW = w.shape
    xp = _pad(x, pad)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
                    dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
    H, W = x.shape[2:]
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
    ### END SOLUTION


# --------------------------------------------------------------------------------------
# Convolution, fast: im2col from a strided view, then one matrix product per example.
# --------------------------------------------------------------------------------------


def _im2col(xp: np.ndarray, HH: int, WW: int, stride: int, H_out: int, W_out: int,
            ones_row: bool = False):
    """Patches of ``xp: (N, C, Hp, Wp)`` as columns: ``(N, C*HH*WW, H_out*W_out)``.

    ``sliding_window_view`` gives every HH x WW window as a view (no copy); one copy
    then lays them out so that row ``(c, i, j)`` holds pixel ``(i, j)`` of channel ``c``
    of every window. With this layout ``w.reshape(F, -1) @ cols`` is already
    ``(N, F, H_out*W_out)``: the output needs no transpose, only a free reshape.
    With ``ones_row=True`` a last row of ones is appended, ``(N, C*HH*WW + 1, H_out*W_out)``:
    the bias trick, so that ``[W | b] @ cols`` adds the bias inside the matrix product.
    """
    N, C = xp.shape[:2]
    K = C * HH * WW
    windows = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    cols = np.empty((N, K + ones_row, H_out * W_out), dtype=xp.dtype)
    # windows: (N, C, H_out, W_out, HH, WW) -> (N, C, HH, WW, H_out, W_out), copied in
    cols[:, :K].reshape(N, C, HH, WW, H_out, W_out)[...] = windows.transpose(0, 1, 4, 5, 2, 3)
    if ones_row:
        cols[:, K] = 1
    return cols


def _col2im(dcols: np.ndarray, x_shape, HH: int, WW: int, stride: int, pad: int):
    """Inverse of _im2col for gradients: add every column back onto its patch.

    ``dcols: (N, C*HH*WW, H_out*W_out)`` -> ``dx: (N, C, H, W)``. Overlapping windows
    share pixels, so contributions are summed. The loop runs over the HH*WW filter
    offsets, not over pixels: offset (i, j) touches the strided grid
    ``dxp[:, :, i::stride, j::stride]`` all at once.
    """
    N, C, H, W = x_shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    d6 = dcols.reshape(N, C, HH, WW, H_out, W_out)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dcols.dtype)
    for i in range(HH):
        for j in range(WW):
            dxp[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride] += d6[:, :, i, j]
    return _unpad(dxp, pad)


def _conv_transpose_stride1(w: np.ndarray, dout: np.ndarray, x_shape, pad: int):
    """``dx`` for a stride-1 convolution, computed as one more convolution.

    Notebook 01 shows that dx is ``dout`` zero-padded by ``HH-1-pad`` rows and ``WW-1-pad``
    columns, correlated with every filter rotated by 180 degrees and with its in and
    out channels swapped. So dx reuses _im2col and one matrix product and needs no
    scatter-add at all. The columns it builds have ``F*HH*WW`` rows, so this is the
    cheaper route when ``F <= C`` (conv_backward_fast chooses).

    Shapes: w: (F, C, HH, WW); dout: (N, F, H'*W') or (N, F, H', W'); returns (N, C, H, W).
    Needs ``pad < HH`` and ``pad < WW`` (a padding that does not go negative).
    """
    N, C, H, W = x_shape
    F, _, HH, WW = w.shape
    dout = dout.reshape(N, F, H + 2 * pad - HH + 1, W + 2 * pad - WW + 1)
    w_rot = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(C, F * HH * WW)
    cols = _im2col(_pad(dout, HH - 1 - pad, WW - 1 - pad), HH, WW, 1, H, W)
    # (C, F*HH*WW) @ (N, F*HH*WW, H*W) -> (N, C, H*W): already in dx's layout.
    return np.matmul(w_rot, cols).reshape(N, C, H, W)


def _unpad(xp: np.ndarray, pad: int) -> np.ndarray:
    """Drop ``pad`` pixels from every side of ``xp: (N, C, Hp, Wp)`` (a contiguous copy)."""
    if pad == 0:
        return xp
    return np.ascontiguousarray(xp[:, :, pad:-pad, pad:-pad])


def conv_forward_fast(x, w, b, conv_param):
    """Convolution forward pass, vectorised with im2col (pure NumPy, no compiled code).

    Shapes:
        x: (N, C, H, W) input batch
        w: (F, C, HH, WW) filters;  b: (F,) biases
        conv_param: {'stride': S, 'pad': P}
        out: (N, F, H', W') with H' = (H + 2P - HH) / S + 1 (must divide exactly)

    Returns (out, cache); pass cache unchanged to conv_backward_fast.
    Raises ValueError if the stride and padding do not tile the input exactly,
    if channels disagree, or if an array has the wrong number of dimensions.
    Keeps the dtype: float32 in, float32 out; integer inputs are computed in floats.
    """
    x, w, b = _conv_inputs(x, w, b)
    stride, pad, H_out, W_out = _conv_geometry(x, w, b, conv_param)
    N = x.shape[0]
    F, C, HH, WW = w.shape
    cols = _im2col(_pad(x, pad), HH, WW, stride, H_out, W_out, ones_row=True)
    # [W | b]: (F, K+1) @ (N, K+1, L) -> (N, F, L): one matrix product per example, bias included.
    wb = np.concatenate([w.reshape(F, C * HH * WW), b.reshape(F, 1).astype(w.dtype)], axis=1)
    out = np.matmul(wb, cols)
    return out.reshape(N, F, H_out, W_out), ConvCache(x, w, b, conv_param, cols)


def conv_backward_fast(dout, cache):
    """Convolution backward pass for conv_forward_fast (or a naive cache).

    Shapes:
        dout: (N, F, H', W') upstream gradient
        returns dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,)

    The forward pass was ``out[n] = W @ cols[n] + b`` with ``W = w.reshape(F, K)``,
    so ``dW = sum_n dout[n] @ cols[n].T`` and ``dcols[n] = W.T @ dout[n]``; col2im
    then adds each column of ``dcols`` back onto the pixels of its patch. With stride 1
    and no more filters than channels (F <= C), dx is instead computed as a convolution
    of dout with the rotated filters (_conv_transpose_stride1): the same numbers with
    no scatter-add.
    """
    _check_backward(dout, cache, ConvCache, "conv_backward_fast")
    x, w, b, conv_param, cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    if cols is None:  # a cache from conv_forward_naive: rebuild the columns
        cols = _im2col(_pad(x, pad), HH, WW, stride, H_out, W_out, ones_row=True)
    dout = dout.reshape(N, F, H_out * W_out)
    K = C * HH * WW
    w2 = w.reshape(F, K)
    # [dW | db].T = sum_n cols[n] @ dout[n].T: batched (K+1, L) @ (L, F), summed over the
    # batch. The row of ones in cols makes the last row the bias gradient, db.
    dwb = np.matmul(cols, dout.transpose(0, 2, 1)).sum(axis=0)
    dw = np.ascontiguousarray(dwb[:K].T).reshape(w.shape)
    db = dwb[K].copy()
    if stride == 1 and F <= C and pad < min(HH, WW):
        dx = _conv_transpose_stride1(w, dout, x.shape, pad)
    else:
        dx = _col2im(np.matmul(w2.T, dout), x.shape, HH, WW, stride, pad)
    return dx, dw, db


# --------------------------------------------------------------------------------------
# Max pooling.
# --------------------------------------------------------------------------------------


def max_pool_forward_naive(x, pool_param):
    """Max pooling forward pass with explicit loops.

    Shapes:
        x: (N, C, H, W)
        pool_param: {'pool_height': PH, 'pool_width': PW, 'stride': S}
        out: (N, C, H', W') with H' = (H - PH) / S + 1 (must divide exactly)

    Returns (out, cache). Raises ValueError if the window is larger than the input
    or the stride does not tile it.
    """
    ### BEGIN SOLUTION 02_activations_pooling_fc
    ph, pw, stride, H_out, W_out = _pool_geometry(x, pool_param)
    N, C = x.shape[:2]
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    out[n, c, i, j] = window.max()
    return out, PoolCache(x, pool_param)
    ### END SOLUTION


def max_pool_backward_naive(dout, cache):
    """Max pooling backward pass with explicit loops.

    Shapes: dout (N, C, H', W') -> dx (N, C, H, W).

    Only the input that won each window gets gradient (the first one, in reading
    order, if several tie, which is also what PyTorch does).
    """
    _check_backward(dout, cache, PoolCache, "max_pool_backward_naive")
    ### BEGIN SOLUTION 02_activations_pooling_fc
    x, pool_param = cache[:2]
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + r, j * stride + s] += dout[n, c, i, j]
    return dx
    ### END SOLUTION


def _window_offsets(x, ph, pw, stride, H_out, W_out):
    """For each offset (i, j) inside the pooling window, the grid of pixels at that offset.

    Yields ``(k, view)`` with ``k = i*pw + j`` and ``view = x[:, :, i::stride, j::stride]``
    cut to ``(N, C, H', W')``: element ``[n, c, r, s]`` is pixel (i, j) of window (r, s).
    These are views (no copy). When the windows tile the input (window == stride) they
    are exactly the slices ``[:, :, :, i, :, j]`` of ``x.reshape(N, C, H', PH, W', PW)``.
    """
    for i in range(ph):
        for j in range(pw):
            yield i * pw + j, x[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride]


def max_pool_forward_fast(x, pool_param):
    """Max pooling forward pass, vectorised.

    Same shapes, contract and errors as max_pool_forward_naive. Instead of looping
    over the H' x W' windows it loops over the PH x PW offsets inside a window: each
    offset is one strided view of the whole batch, and a running ``np.maximum`` over
    them gives every window's max at once (a 2x2 pool is 4 whole-array operations).
    """
    ph, pw, stride, H_out, W_out = _pool_geometry(x, pool_param)
    out = None
    for _, view in _window_offsets(x, ph, pw, stride, H_out, W_out):
        out = view.copy() if out is None else np.maximum(out, view, out=out)
    return out, PoolCache(x, pool_param, out)


def max_pool_backward_fast(dout, cache):
    """Max pooling backward pass, vectorised (same contract as the naive one).

    Loops over the PH*PW offsets (not over pixels): the pixel at offset k of a window
    gets the window's dout if it equals the window's max and no earlier offset did
    (so ties go to the first maximum in reading order, as in the naive version and
    in PyTorch). A window holding a NaN has a NaN max; its gradient goes to its first NaN,
    as np.argmax (and so the naive version) picks it.
    """
    _check_backward(dout, cache, PoolCache, "max_pool_backward_fast")
    x, pool_param, out = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    if out is None:  # a cache from the naive forward pass
        out = max_pool_forward_fast(x, pool_param)[0]
    tiles = ph == pw == stride  # windows tile the input: every pixel in exactly one window
    dx = np.empty(x.shape, dtype=dout.dtype) if tiles else np.zeros(x.shape, dtype=dout.dtype)
    taken = np.zeros(out.shape, dtype=bool)
    for (_, view), (_, grid) in zip(_window_offsets(x, ph, pw, stride, H_out, W_out),
                                    _window_offsets(dx, ph, pw, stride, H_out, W_out),
                                    strict=True):
        wins = (view == out) & ~taken
        taken |= wins
        if tiles:
            np.multiply(dout, wins, out=grid)
        else:
            grid += dout * wins  # overlapping windows add up
    if not taken.all():  # a window whose max is NaN (NaN == NaN is False): its first NaN wins
        for (_, view), (_, grid) in zip(_window_offsets(x, ph, pw, stride, H_out, W_out),
                                        _window_offsets(dx, ph, pw, stride, H_out, W_out),
                                        strict=True):
            wins = np.isnan(view) & ~taken
            taken |= wins
            grid += dout * wins
    return dx


# --------------------------------------------------------------------------------------
# Average pooling and global average pooling.
# --------------------------------------------------------------------------------------


def avg_pool_forward(x, pool_param):
    """Average pooling forward pass (vectorised).

    Shapes:
        x: (N, C, H, W); pool_param as for max pooling
        out: (N, C, H', W') with H' = (H - PH) / S + 1

    Returns (out, cache). Raises ValueError as max pooling does.
    """
    ph, pw, stride, H_out, W_out = _pool_geometry(x, pool_param)
    total = None
    for _, view in _window_offsets(x, ph, pw, stride, H_out, W_out):
        total = view.astype(np.result_type(x, np.float32)) if total is None else total + view
    return total / (ph * pw), PoolCache(x, pool_param)


def avg_pool_backward(dout, cache):
    """Average pooling backward pass: each window shares dout equally among its PH*PW inputs.

    Shapes: dout (N, C, H', W') -> dx (N, C, H, W).
    """
    _check_backward(dout, cache, PoolCache, "avg_pool_backward")
    x, pool_param = cache[:2]
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    share = dout / (ph * pw)
    dx = np.zeros(x.shape, dtype=dout.dtype)
    for _, grid in _window_offsets(dx, ph, pw, stride, H_out, W_out):
        grid += share
    return dx


def global_avg_pool_forward(x):
    """Global average pooling: the mean of each channel over all positions.

    Shapes: x (N, C, H, W) -> out (N, C). Returns (out, cache).
    """
    _require_array(x, "x", 4, "(N, C, H, W)")
    if x.shape[0] == 0:
        raise ValueError(f"x is an empty batch (shape {x.shape}); pass at least one image")
    return x.mean(axis=(2, 3)), x.shape


def global_avg_pool_backward(dout, cache):
    """Global average pooling backward pass: dout (N, C) -> dx (N, C, H, W).

    Every one of the H*W positions gets ``dout / (H*W)``.
    """
    if not (isinstance(cache, tuple) and len(cache) == 4
            and all(isinstance(n, Integral) for n in cache)):
        raise TypeError("global_avg_pool_backward needs the cache of global_avg_pool_forward "
                        f"(the input's shape), but it got the cache of {_cache_origin(cache)}")
    argcheck.same_shape(dout, cache[:2], "dout", "global_avg_pool_backward")
    N, C, H, W = cache
    share = dout / (H * W)
    return np.broadcast_to(share[:, :, None, None], (N, C, H, W)).copy()


# --------------------------------------------------------------------------------------
# Activations.
# --------------------------------------------------------------------------------------


def relu_forward(x):
    """ReLU: ``max(0, x)`` elementwise. Any shape. Returns (out, cache=x)."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """ReLU backward pass: gradient passes where the input was positive. Returns dx."""
    _check_backward(dout, cache, np.ndarray, "relu_backward")
    ### BEGIN SOLUTION 02_activations_pooling_fc
    x = cache
    return dout * (x > 0)
    ### END SOLUTION


def sigmoid_forward(x):
    """Sigmoid ``1 / (1 + exp(-x))`` elementwise, computed without overflow.

    Any shape. Returns (out, cache=out).
    """
    # exp(-|x|) never overflows; pick the algebraically equal form per sign.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out


def sigmoid_backward(dout, cache):
    """Sigmoid backward pass: ``d sigma / dx = sigma * (1 - sigma)``. Returns dx."""
    _check_backward(dout, cache, np.ndarray, "sigmoid_backward")
    ### BEGIN SOLUTION 02_activations_pooling_fc
    out = cache
    return dout * out * (1 - out)
    ### END SOLUTION


def tanh_forward(x):
    """Hyperbolic tangent elementwise. Any shape. Returns (out, cache=out)."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Tanh backward pass: ``d tanh / dx = 1 - tanh**2``. Returns dx."""
    _check_backward(dout, cache, np.ndarray, "tanh_backward")
    ### BEGIN SOLUTION 02_activations_pooling_fc
    out = cache
    return dout * (1 - out * out)
    ### END SOLUTION


# --------------------------------------------------------------------------------------
# Fully connected (affine) layer and losses.
# --------------------------------------------------------------------------------------


def affine_forward(x, w, b):
    """Fully connected layer: ``x.reshape(N, D) @ w + b``.

    Shapes:
        x: (N, d1, ..., dk), flattened to (N, D) with D = d1 * ... * dk
        w: (D, M);  b: (M,)
        out: (N, M)

    Returns (out, cache). Raises ValueError if D does not match w.
    """
    _require_array(x, "x")
    _require_array(w, "w", 2, "(D, M)")
    _require_array(b, "b", 1, "(M,)")
    if x.ndim < 2:
        raise ValueError(f"x must be (N, d1, ..., dk) with a batch axis, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"x is an empty batch (shape {x.shape}); pass at least one example")
    N = x.shape[0]
    D = int(np.prod(x.shape[1:]))
    if w.shape[0] != D:
        raise ValueError(
            f"x has D = {D} features per example (shape {x.shape[1:]}) but w has "
            f"{w.shape[0]} rows; w should be ({D}, M)"
        )
    if b.shape[0] != w.shape[1]:
        raise ValueError(f"b has {b.shape[0]} entries but w has {w.shape[1]} columns")
    x, w, b = argcheck.floats(x, w, b)  # integer inputs would overflow in the product
    out = x.reshape(N, D) @ w + b
    return out, AffineCache(x, w, b)


def affine_backward(dout, cache):
    """Fully connected layer backward pass.

    Shapes: dout (N, M) -> dx (N, d1, ..., dk), dw (D, M), db (M,).
    """
    _check_backward(dout, cache, AffineCache, "affine_backward")
    x, w, b = cache
    N = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def _check_scores_labels(x, y):
    """Validate class scores ``x: (N, C)`` and integer labels ``y: (N,)``."""
    _require_array(x, "x", 2, "(N, C) class scores")
    _require_array(y, "y", 1, "(N,) labels")
    N, C = x.shape
    if N == 0:
        raise ValueError("x is an empty batch; the loss of zero examples is undefined")
    if y.shape[0] != N:
        raise ValueError(f"x has {N} rows of scores but y has {y.shape[0]} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"labels must lie in 0..{C - 1} for {C} classes, got {y.min()}..{y.max()}")


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss, averaged over the batch.

    Shapes: x (N, C) class scores, y (N,) integer labels in 0..C-1.
    Returns (loss, dx) with dx (N, C).
    """
    _check_scores_labels(x, y)
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)  # same softmax, no overflow
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    Shapes: x (N, C) class scores, y (N,) integer labels in 0..C-1.
    Returns (loss, dx) with dx (N, C).
    """
    _check_scores_labels(x, y)
    N = x.shape[0]
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    positive = (margins > 0).astype(x.dtype)
    dx = positive
    dx[np.arange(N), y] -= positive.sum(axis=1)
    dx /= N
    return loss, dx


# --------------------------------------------------------------------------------------
# Dropout and batch normalisation.
# --------------------------------------------------------------------------------------


def dropout_forward(x, dropout_param):
    """Inverted dropout (as in CS231n).

    Shapes: x any shape; out the same shape.
    dropout_param:
        'p': probability of *keeping* each unit (0 < p <= 1)
        'mode': 'train' (drop and rescale by 1/p) or 'test' (identity)
        'seed': optional int or numpy Generator; without it NumPy's global random
            state is used (seeded by runtime.seed_everything)

    Scaling the kept units by 1/p during training keeps the expected activation
    unchanged, so the test-time pass needs no scaling at all.
    Returns (out, cache). Raises ValueError for p outside (0, 1] or an unknown mode.
    """
    _require_array(x, "x")
    if not isinstance(dropout_param, Mapping) or "p" not in dropout_param:
        raise ValueError("dropout_param must be a dict with 'p' (keep probability) and 'mode'")
    p = dropout_param["p"]
    mode = dropout_param.get("mode", "train")
    if not 0 < p <= 1:
        raise ValueError(f"dropout_param['p'] is the keep probability; need 0 < p <= 1, got {p}")
    if mode not in ("train", "test"):
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    if mode == "test":
        return x.copy(), DropoutCache(dropout_param, None, x.shape)
    seed = dropout_param.get("seed")
    if seed is None:
        uniform = np.random.random_sample(x.shape)
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        uniform = rng.random(x.shape)
    mask = ((uniform < p) / p).astype(x.dtype, copy=False)
    return x * mask, DropoutCache(dropout_param, mask, x.shape)


def dropout_backward(dout, cache):
    """Inverted dropout backward pass: the same mask scales the gradient. Returns dx."""
    _check_backward(dout, cache, DropoutCache, "dropout_backward")
    mask = cache.mask
    if mask is None:  # test mode was the identity
        return dout.copy()
    return dout * mask


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of features ``x: (N, D)``.

    Shapes: x (N, D); gamma, beta (D,); out (N, D).
    bn_param (a dict, updated in place):
        'mode': 'train' or 'test'
        'eps': added to the variance (default 1e-5)
        'momentum': running-average factor (default 0.9)
        'running_mean', 'running_var': (D,), created as zeros and ones on the first call

    Train mode normalises with the batch mean and (biased) variance and updates
    ``running = momentum * running + (1 - momentum) * batch``; test mode uses the
    running statistics. (PyTorch's ``momentum`` is ``1 - ours``, and PyTorch keeps the
    *unbiased* variance in its running_var.) Returns (out, cache).
    """
    _require_array(x, "x", 2, "(N, D)")
    N, D = x.shape
    if N == 0:
        raise ValueError("x is an empty batch; batch statistics need at least one example")
    for name, value in (("gamma", gamma), ("beta", beta)):
        _require_array(value, name, 1, f"({D},)")
        if value.shape[0] != D:
            raise ValueError(f"{name} has {value.shape[0]} entries but x has {D} features")
    if not isinstance(bn_param, Mapping):
        raise TypeError(f"bn_param must be a dict such as {{'mode': 'train'}}, got {bn_param!r}")
    mode = bn_param.get("mode", "train")
    eps = argcheck.number(bn_param.get("eps", 1e-5), "bn_param['eps']", low=0, low_open=True)
    momentum = argcheck.number(bn_param.get("momentum", 0.9), "bn_param['momentum']", 0, 1)
    running_mean = bn_param.setdefault("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.ones(D, dtype=x.dtype))
    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        mean, var = running_mean, running_var
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, BatchnormCache(x_hat, gamma, inv_std, mode)


def batchnorm_backward(dout, cache):
    """Batch normalisation backward pass.

    Shapes: dout (N, D) -> dx (N, D), dgamma (D,), dbeta (D,).

    In train mode the mean and variance depend on every example, which gives the
    compact formula ``dx = inv_std / N * (N*g - sum(g) - x_hat * sum(g * x_hat))``
    with ``g = dout * gamma``; in test mode they are constants and ``dx = g * inv_std``.
    """
    _check_backward(dout, cache, BatchnormCache, "batchnorm_backward")
    if cache.shape is not None:
        raise TypeError("batchnorm_backward got the cache of spatial_batchnorm_forward; "
                        "use spatial_batchnorm_backward for (N, C, H, W) inputs")
    x_hat, gamma, inv_std, mode = cache[:4]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    if mode == "test":
        return g * inv_std, dgamma, dbeta
    dx = inv_std / N * (N * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation for images: one mean and variance per channel.

    Shapes: x (N, C, H, W); gamma, beta (C,); out (N, C, H, W).
    Statistics are taken over N, H and W together: the image is reshaped to
    ``(N*H*W, C)`` and handed to batchnorm_forward. Returns (out, cache).
    """
    _require_array(x, "x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out, cache = batchnorm_forward(flat, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache._replace(shape=x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Spatial batch normalisation backward pass.

    Shapes: dout (N, C, H, W) -> dx (N, C, H, W), dgamma (C,), dbeta (C,).
    """
    _check_backward(dout, cache, BatchnormCache, "spatial_batchnorm_backward")
    if cache.shape is None:
        raise TypeError("spatial_batchnorm_backward got the cache of batchnorm_forward; "
                        "use batchnorm_backward for (N, D) inputs")
    N, C, H, W = dout.shape
    flat = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx, dgamma, dbeta = batchnorm_backward(flat, cache._replace(shape=None))
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


# --------------------------------------------------------------------------------------
# Sandwich layers: common stacks as one call (using the fast versions).
# --------------------------------------------------------------------------------------


def _sandwich(cache, kinds: tuple, who: str) -> tuple:
    """The caches inside a sandwich layer's cache, checked to be those of its layers."""
    if not (isinstance(cache, tuple) and tuple(type(c) for c in cache) == kinds):
        forward = who.replace("_backward", "_forward")
        raise TypeError(f"{who} needs the cache returned by {forward}, but it got the cache "
                        f"of {_cache_origin(cache)}")
    return cache


def conv_relu_forward(x, w, b, conv_param):
    """Convolution followed by ReLU. Shapes as conv_forward_fast. Returns (out, cache)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Backward pass for conv_relu_forward. Returns dx, dw, db."""
    conv_cache, relu_cache = _sandwich(cache, (ConvCache, np.ndarray), "conv_relu_backward")
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling (all fast). Returns (out, cache)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Backward pass for conv_relu_pool_forward. Returns dx, dw, db."""
    conv_cache, relu_cache, pool_cache = _sandwich(cache, (ConvCache, np.ndarray, PoolCache),
                                                   "conv_relu_pool_backward")
    ds = max_pool_backward_fast(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    return conv_backward_fast(da, conv_cache)


def affine_relu_forward(x, w, b):
    """Affine layer followed by ReLU. Shapes as affine_forward. Returns (out, cache)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass for affine_relu_forward. Returns dx, dw, db."""
    fc_cache, relu_cache = _sandwich(cache, (AffineCache, np.ndarray), "affine_relu_backward")
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)
