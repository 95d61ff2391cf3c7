"""Image transforms and test-time augmentation (lecture 10: data augmentation).

Data augmentation makes "fake" training images by transforming real ones in ways that do
not change what the picture shows: flips, crops and rescales, small rotations and
stretches, lens distortion, colour changes.  At test time we do the opposite: show the
network several views of each image and average its answers (test-time augmentation).

Conventions used by every function here
---------------------------------------
* Images are channels-first: one image is ``(C, H, W)``, a batch is ``(N, C, H, W)``.
* Every transform takes a NumPy array *or* a torch tensor (CPU or CUDA) and returns the
  same kind of array, with the same dtype, on the same device.
* Every transform is a small class called as ``t(x, rng=None)``.  ``rng`` is a
  ``numpy.random.Generator``, an int seed, or None (a fresh, unseeded Generator).  Random
  parameters are always drawn with NumPy, one set per image, and only then applied with
  NumPy or torch operations.  So the same seed gives the same result for both kinds of
  array, and ``Compose`` passes one Generator along the whole pipeline.
* Geometry: ``x`` is the column and ``y`` the row; the centre of pixel (row i, column j)
  is at ``(x, y) = (j, i)``, so the image's centre is ``((W - 1) / 2, (H - 1) / 2)``.
  A positive angle turns the picture counter-clockwise as you see it on screen (the way
  ``np.rot90`` turns an array).  Because y points down, that is the matrix
  ``[[cos, sin], [-sin, cos]]`` acting on ``(x, y)``.
* Colour transforms assume float images in [0, 1]; apply them before ``Normalize``.

Every geometric transform (affine warps, lens distortion, resizing, resized crops) goes
through one bilinear sampler, ``remap``; read ``remap`` and ``warp_affine`` first.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Sequence

import numpy as np

from cs231n_lib import argcheck

__all__ = [
    "as_generator",
    # functional forms
    "hflip",
    "pad_image",
    "crop",
    "center_crop",
    "remap",
    "warp",
    "affine_matrix",
    "warp_affine",
    "resize",
    "lens_distort",
    # transforms
    "Transform",
    "Compose",
    "RandomHorizontalFlip",
    "RandomCrop",
    "CenterCrop",
    "Resize",
    "RandomResizedCrop",
    "RandomScaleCrop",
    "RandomAffine",
    "LensDistortion",
    "ColorJitter",
    "FancyPCA",
    "Normalize",
    "Cutout",
    "RandomErasing",
    # fractional max pooling
    "fractional_pool_regions",
    "fractional_max_pool",
    # test-time augmentation
    "tta_views",
    "tta_predict",
]


# --------------------------------------------------------------------------------------
# Plumbing: one code path for NumPy arrays and torch tensors
# --------------------------------------------------------------------------------------
# NumPy and torch spell most operations alike (floor, where, clip, stack, sqrt); the few
# helpers below cover the rest (creating arrays on the right device, casting, copying).


def _is_torch(x) -> bool:
    """True if x is a torch tensor (without importing torch when nobody has)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _xp(x):
    """The array library of x: the ``numpy`` or the ``torch`` module."""
    return sys.modules["torch"] if _is_torch(x) else np


def _as_batch(x, name: str = "x"):
    """Return ``(batch, single)``: x as (N, C, H, W), and whether it was one (C, H, W) image."""
    if not (isinstance(x, np.ndarray) or _is_torch(x)):
        raise TypeError(
            f"{name} must be a NumPy array or a torch tensor of shape (C, H, W) or "
            f"(N, C, H, W); got {type(x).__name__}"
        )
    argcheck.channels_first(x, name)  # (N, H, W, C): a flip would reverse the colours
    if x.ndim == 4 and x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}); "
                         "pass at least one image")
    if x.ndim == 3:
        return x[None], True
    if x.ndim == 4:
        return x, False
    raise ValueError(
        f"{name} must be one image (C, H, W) or a batch (N, C, H, W); "
        f"got shape {tuple(x.shape)} with {x.ndim} dimensions"
    )


def _is_floating(x) -> bool:
    return x.is_floating_point() if _is_torch(x) else np.issubdtype(x.dtype, np.floating)


def _work_dtype(x):
    """The float dtype to compute in: float64 for float64 input, float32 otherwise."""
    if _is_torch(x):
        torch = sys.modules["torch"]
        return torch.float64 if x.dtype == torch.float64 else torch.float32
    return np.float64 if x.dtype == np.float64 else np.float32


def _like(a, like, dtype=None):
    """Array ``a`` (NumPy or tensor) as the same kind of array as ``like``, on its device."""
    if _is_torch(like):
        torch = sys.modules["torch"]
        if _is_torch(a):
            return a.to(device=like.device, dtype=dtype if dtype is not None else a.dtype)
        return torch.as_tensor(np.asarray(a), dtype=dtype, device=like.device)
    if _is_torch(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=dtype)


def _to_numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if _is_torch(a) else np.asarray(a)


def _arange(n: int, like, dtype=None):
    if _is_torch(like):
        return sys.modules["torch"].arange(n, dtype=dtype, device=like.device)
    return np.arange(n, dtype=dtype)


def _cast(x, dtype):
    return x.to(dtype) if _is_torch(x) else x.astype(dtype, copy=False)


def _cast_back(out, like):
    """Float result ``out`` in ``like``'s dtype (integer images are rounded and clipped)."""
    if _is_floating(like):
        return _cast(out, like.dtype)
    info = sys.modules["torch"].iinfo(like.dtype) if _is_torch(like) else np.iinfo(like.dtype)
    xp = _xp(out)
    return _cast(xp.clip(xp.round(out), info.min, info.max), like.dtype)


def _index(a):
    """Whole-number floats as int64 indices."""
    return a.long() if _is_torch(a) else a.astype(np.int64)


def _mean(x, axes):
    """Mean over ``axes``, keeping them as size-1 axes."""
    return x.mean(axes, keepdim=True) if _is_torch(x) else x.mean(axes, keepdims=True)


def _copy(x):
    return x.clone() if _is_torch(x) else x.copy()


def _channels_last(x):
    return x.permute(0, 2, 3, 1) if _is_torch(x) else x.transpose(0, 2, 3, 1)


def _channels_first(x):
    if _is_torch(x):
        return x.permute(0, 3, 1, 2).contiguous()
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def as_generator(rng=None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator (returned as is), an int seed, or None.

    Raises TypeError for anything else (for example the legacy ``np.random.RandomState``).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}"
    )


def _pair(size, name: str = "size") -> tuple[int, int]:
    """``size`` as (height, width): an int s means (s, s)."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    if (
        not isinstance(size, Sequence)
        or len(size) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
    ):
        raise TypeError(f"{name} must be an int or a pair (height, width) of ints; got {size!r}")
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"{name} must be positive; got {tuple(size)}")
    return int(size[0]), int(size[1])


def _range(value, name: str, symmetric: bool = False) -> tuple[float, float]:
    """A (low, high) range.  With ``symmetric=True`` a number d means (-d, d)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if not symmetric:
            return float(value), float(value)
        if value < 0:
            raise ValueError(f"{name}={value} must be >= 0 (it means the range (-{name}, {name}))")
        return -float(value), float(value)
    if isinstance(value, Sequence) and len(value) == 2:
        low, high = (argcheck.number(v, name) for v in value)
        if low > high:
            raise ValueError(f"{name}={tuple(value)} must be a range (low, high) with low <= high")
        return low, high
    raise TypeError(f"{name} must be a number or a pair (low, high); got {value!r}")


def _probability(p, name: str = "p") -> float:
    return argcheck.probability(p, name)


# --------------------------------------------------------------------------------------
# Functional forms: flip, pad, crop
# --------------------------------------------------------------------------------------


def hflip(x):
    """Mirror left-right.

    Shapes: x (C, H, W) or (N, C, H, W) -> same shape (a new array; x is not changed).
    """
    ### BEGIN SOLUTION 04_data_augmentation
    batch, single = _as_batch(x)
    out = batch.flip(-1) if _is_torch(batch) else batch[..., ::-1].copy()
    return out[0] if single else out
    ### END SOLUTION


def pad_image(x, padding, mode: str = "constant", value: float = 0.0):
    """Pad the borders of x.

    Shapes: x (C, H, W) or (N, C, H, W) -> (..., H + top + bottom, W + left + right).
    ``padding`` is an int (all four sides) or (top, bottom, left, right).
    ``mode``: 'constant' (fill with ``value``), 'reflect' (mirror without repeating the edge
    pixel, like ``np.pad(mode='reflect')``) or 'edge' (repeat the edge pixel).
    Raises ValueError for an unknown mode, a negative padding, or a reflection wider than
    the image can mirror (padding must be < H and < W).
    """
    batch, single = _as_batch(x)
    if isinstance(padding, (int, np.integer)):
        padding = (int(padding),) * 4
    if len(padding) != 4 or min(padding) < 0:
        raise ValueError(
            f"padding must be an int >= 0 or (top, bottom, left, right); got {padding}"
        )
    top, bottom, left, right = (int(p) for p in padding)
    N, C, H, W = batch.shape
    if mode == "constant":
        out_shape = (N, C, H + top + bottom, W + left + right)
        if _is_torch(batch):
            torch = sys.modules["torch"]
            out = torch.full(out_shape, value, dtype=batch.dtype, device=batch.device)
        else:
            out = np.full(out_shape, value, dtype=batch.dtype)
        out[:, :, top : top + H, left : left + W] = batch
    elif mode in ("reflect", "edge"):
        if mode == "reflect" and (max(top, bottom) >= H or max(left, right) >= W):
            raise ValueError(
                f"reflect padding {padding} is too wide for a {H}x{W} image: each side must be "
                f"smaller than the image (< {H} rows, < {W} columns)"
            )
        rows = _source_index(np.arange(-top, H + bottom), H, mode)
        cols = _source_index(np.arange(-left, W + right), W, mode)
        out = batch[:, :, _like(rows, batch)[:, None], _like(cols, batch)[None, :]]
    else:
        raise ValueError(f"mode must be 'constant', 'reflect' or 'edge'; got {mode!r}")
    return out[0] if single else out


def _source_index(index: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Which pixel of a length-n line a padded position -p..n+p-1 copies."""
    if mode == "edge":
        return np.clip(index, 0, n - 1)
    index = np.abs(index)  # mirror at the first pixel: -1 -> 1, -2 -> 2
    return np.where(index > n - 1, 2 * (n - 1) - index, index)  # and at the last one


def crop(x, top: int, left: int, height: int, width: int):
    """Cut out rows top..top+height-1 and columns left..left+width-1.

    Shapes: x (C, H, W) or (N, C, H, W) -> (..., height, width).
    Raises ValueError if the window does not lie inside the image.
    """
    batch, single = _as_batch(x)
    H, W = batch.shape[-2:]
    if top < 0 or left < 0 or top + height > H or left + width > W or height < 1 or width < 1:
        raise ValueError(
            f"crop window rows {top}..{top + height - 1}, columns {left}..{left + width - 1} "
            f"does not fit inside a {H}x{W} image"
        )
    out = batch[:, :, top : top + height, left : left + width]
    return out[0] if single else out


def center_crop(x, size):
    """The central ``size`` window (an int or (height, width)).

    Shapes: x (C, H, W) or (N, C, H, W) -> (..., height, width).  When the margins are odd
    the extra pixel is left at the bottom/right.  Raises ValueError if size exceeds the image.
    """
    h, w = _pair(size)
    H, W = x.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"center crop {h}x{w} is larger than the {H}x{W} image")
    return crop(x, (H - h) // 2, (W - w) // 2, h, w)


# --------------------------------------------------------------------------------------
# The sampler: every geometric transform is "for each output pixel, read the input there"
# --------------------------------------------------------------------------------------


def remap(x, map_y, map_x, fill: float = 0.0):
    """Read x at arbitrary (row, column) positions with bilinear interpolation.

    ``out[n, c, i, j] = x[n, c, map_y[n, i, j], map_x[n, i, j]]``, where a position between
    pixels blends its four neighbours.  With ``y0 = floor(y)``, ``x0 = floor(x)`` and the
    fractional parts ``a = y - y0``, ``b = x - x0``::

        out = (1-a)(1-b) x[y0, x0] + (1-a) b x[y0, x0+1] + a (1-b) x[y0+1, x0] + a b x[y0+1, x0+1]

    The four weights are the areas of the rectangles opposite each neighbour, so they sum
    to 1, and a position exactly on a pixel centre reads that pixel unchanged.

    Shapes: x (C, H, W) or (N, C, H, W); map_y, map_x (H', W') for every image, or
    (N, H', W') one per image (NumPy arrays or tensors).  Returns (..., C, H', W') of x's
    kind, dtype and device.  Neighbours outside the image read ``fill``, so a position
    half a pixel outside blends the border pixel with ``fill``.
    Raises ValueError if the maps' shapes disagree with each other or with the batch.
    """
    batch, single = _as_batch(x)
    xp, work = _xp(batch), _work_dtype(batch)
    map_y, map_x = _like(map_y, batch, work), _like(map_x, batch, work)
    N, C, H, W = batch.shape
    if tuple(map_y.shape) != tuple(map_x.shape) or map_y.ndim not in (2, 3):
        raise ValueError(
            f"map_y and map_x must both be (H', W') or (N, H', W'); "
            f"got {tuple(map_y.shape)} and {tuple(map_x.shape)}"
        )
    if map_y.ndim == 2:
        map_y, map_x = map_y[None], map_x[None]
    if map_y.shape[0] not in (1, N):
        raise ValueError(f"maps hold {map_y.shape[0]} images but the batch holds {N}")

    # Pixels as rows of a (N * H * W, C) table: pixel (n, y, x) is row (n * H + y) * W + x.
    pixels = _channels_last(_cast(batch, work)).reshape(N * H * W, C)
    n = _arange(N, batch).reshape(-1, 1, 1)  # which image each output pixel reads from
    y0, x0 = xp.floor(map_y), xp.floor(map_x)  # top-left neighbour
    a, b = map_y - y0, map_x - x0  # how far past it, in [0, 1)
    out = 0.0
    for dy, dx, weight in (
        (0, 0, (1 - a) * (1 - b)),
        (0, 1, (1 - a) * b),
        (1, 0, a * (1 - b)),
        (1, 1, a * b),
    ):
        yi, xi = y0 + dy, x0 + dx
        inside = (yi >= 0) & (yi <= H - 1) & (xi >= 0) & (xi <= W - 1)
        yi, xi = _index(xp.clip(yi, 0, H - 1)), _index(xp.clip(xi, 0, W - 1))  # masked below
        value = xp.where(inside[..., None], pixels[(n * H + yi) * W + xi], fill)  # (N,H',W',C)
        out = out + weight[..., None] * value
    out = _cast_back(_channels_first(out), batch)
    return out[0] if single else out


def warp(x, coords_fn: Callable, output_size=None, fill: float = 0.0):
    """Geometric transform by inverse mapping: output pixel (i, j) reads the input at
    ``coords_fn(i, j)``.

    ``coords_fn(ys, xs)`` receives the output rows and columns as (H', W') float arrays of
    x's kind (NumPy or torch, on x's device) and returns ``(src_y, src_x)``, each
    broadcastable to (H', W') or (N, H', W').  It must use operations both libraries share
    (arithmetic, ``xp.where``, ...) if it is to work for both.

    Shapes: x (C, H, W) or (N, C, H, W) -> (..., C, H', W'); ``output_size`` (H', W')
    defaults to x's (H, W).  Positions outside the input read ``fill``.
    """
    batch, single = _as_batch(x)
    h, w = _pair(output_size) if output_size is not None else tuple(batch.shape[-2:])
    work = _work_dtype(batch)
    rows = _arange(h, batch, work)[:, None] + 0 * _arange(w, batch, work)[None, :]
    cols = 0 * _arange(h, batch, work)[:, None] + _arange(w, batch, work)[None, :]
    src_y, src_x = coords_fn(rows, cols)
    src_y, src_x = src_y + 0 * src_x, src_x + 0 * src_y  # broadcast both to one shape
    out = remap(batch, src_y, src_x, fill)
    return out[0] if single else out


def affine_matrix(
    angle: float = 0.0,
    translate: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    shear: float = 0.0,
    stretch: float = 1.0,
    center: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """The 3x3 forward affine map ``(x, y, 1) -> (x', y', 1)`` built from simple moves.

    About ``center`` = (cx, cy), in this order: stretch x by sqrt(stretch) and y by
    1/sqrt(stretch) (area kept), zoom by ``scale``, shear x by tan(shear) * y (shear in
    degrees), rotate by ``angle`` degrees counter-clockwise on screen; then shift by
    ``translate`` = (tx, ty) pixels (tx > 0 moves the picture right, ty > 0 down).

    Returns a (3, 3) float64 array M = T(center + translate) R Sh Z T(-center).
    Raises ValueError for scale <= 0 or stretch <= 0.
    """
    if scale <= 0 or stretch <= 0:
        raise ValueError(f"scale ({scale}) and stretch ({stretch}) must be > 0")
    cx, cy = center
    tx, ty = translate
    t, s = math.radians(angle), math.radians(shear)
    cos, sin = math.cos(t), math.sin(t)
    rotate = np.array([[cos, sin, 0.0], [-sin, cos, 0.0], [0.0, 0.0, 1.0]])  # y points down
    shear_x = np.array([[1.0, math.tan(s), 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    root = math.sqrt(stretch)
    zoom = np.diag([scale * root, scale / root, 1.0])
    to_origin = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, cx + tx], [0.0, 1.0, cy + ty], [0.0, 0.0, 1.0]])
    return back @ rotate @ shear_x @ zoom @ to_origin


def warp_affine(x, matrix, output_size=None, fill: float = 0.0):
    """Move the picture by the affine map ``matrix``, sampling bilinearly.

    ``matrix`` is the forward map in pixel coordinates, input (x, y, 1) -> output
    (x', y', 1), with x the column and y the row: shape (2, 3) or (3, 3) for every image, or
    (N, 2, 3) / (N, 3, 3) one per image (``affine_matrix`` builds them).

    Why the inverse: pushing each input pixel to its new place would leave holes (and pile
    several pixels onto one) whenever the map stretches or turns the grid.  So we pull
    instead: for every output pixel we apply the *inverse* matrix to find where in the
    input it comes from, and read the input there with bilinear weights (``remap``).

    Shapes: x (C, H, W) or (N, C, H, W) -> (..., C, H', W'), (H', W') = ``output_size`` or
    x's size.  Output pixels whose source lies outside the input get ``fill``.
    Raises ValueError for a badly shaped or non-invertible matrix.
    """
    batch, single = _as_batch(x)
    m = np.asarray(_to_numpy(matrix), dtype=np.float64)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[1:] not in ((2, 3), (3, 3)):
        raise ValueError(f"matrix must be (2, 3), (3, 3), (N, 2, 3) or (N, 3, 3); got {m.shape}")
    if m.shape[0] not in (1, batch.shape[0]):
        raise ValueError(f"{m.shape[0]} matrices for a batch of {batch.shape[0]} images")
    if m.shape[1] == 2:  # complete to 3x3 so it can be inverted
        m = np.concatenate([m, np.broadcast_to([[[0.0, 0.0, 1.0]]], (len(m), 1, 3))], axis=1)
    if np.any(np.abs(np.linalg.det(m)) < 1e-12):
        raise ValueError("matrix is not invertible (it squashes the plane onto a line)")
    inv = _like(np.linalg.inv(m)[:, :2, :, None, None], batch, _work_dtype(batch))  # (k,2,3,1,1)

    def source(ys, xs):  # (x, y) = inv @ (x', y', 1) for every output pixel (x', y')
        src_x = inv[:, 0, 0] * xs + inv[:, 0, 1] * ys + inv[:, 0, 2]
        src_y = inv[:, 1, 0] * xs + inv[:, 1, 1] * ys + inv[:, 1, 2]
        return src_y, src_x

    out = warp(batch, source, output_size, fill)
    return out[0] if single else out


def _sample_grid(batch, size, rows, cols):
    """Shared by the resizing transforms: sample a regular size[0] x size[1] grid per image.

    ``rows = (start, step, lowest, highest)``: output row i reads input row
    ``start + i * step``, clamped to [lowest, highest]; ``cols`` likewise.  Each entry is a
    number (every image) or a length-N NumPy array (one per image).
    """
    work = _work_dtype(batch)

    def per_image(values):  # (N,) -> (N, 1, 1) on x's device
        return _like(np.asarray(values, dtype=np.float64).reshape(-1, 1, 1), batch, work)

    y0, dy, ylo, yhi = (per_image(v) for v in rows)
    x0, dx, xlo, xhi = (per_image(v) for v in cols)

    def source(ys, xs):
        xp = _xp(ys)
        src_y = xp.minimum(xp.maximum(y0 + ys * dy, ylo), yhi)
        src_x = xp.minimum(xp.maximum(x0 + xs * dx, xlo), xhi)
        return src_y, src_x

    return warp(batch, source, size)


def _resized_shape(h: int, w: int, size) -> tuple[int, int]:
    """An int size matches the shorter side (keeping the aspect ratio); a pair is exact."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        short = min(h, w)
        return max(1, round(h * size / short)), max(1, round(w * size / short))
    return _pair(size)


def resize(x, size):
    """Bilinear resize (no anti-aliasing, like ``torch.nn.functional.interpolate(...,
    mode='bilinear', align_corners=False)``).

    ``size``: an int makes the shorter side that long (aspect ratio kept, as torchvision's
    Resize does); (height, width) is exact.  Output pixel i reads input row
    ``(i + 0.5) * H / H' - 0.5`` (pixel centres line up), clamped to the image.
    Shrinking by more than 2x skips pixels and can alias; blur first if that matters.

    Shapes: x (C, H, W) or (N, C, H, W) -> (..., C, H', W').
    """
    batch, single = _as_batch(x)
    H, W = batch.shape[-2:]
    h, w = _resized_shape(H, W, size)
    sy, sx = H / h, W / w
    rows = (0.5 * sy - 0.5, sy, 0.0, H - 1.0)
    cols = (0.5 * sx - 0.5, sx, 0.0, W - 1.0)
    out = _sample_grid(batch, (h, w), rows, cols)
    return out[0] if single else out


def lens_distort(x, k, fill: float = 0.0):
    """Radial lens distortion ``r' = r (1 + k r^2)``: barrel for k < 0, pincushion for k > 0.

    r is a point's distance from the image centre in the undistorted input and r' its
    distance in the distorted output, both divided by the half-diagonal (so r = 1 at the
    corners).  For k < 0 points move inwards, more the further out they are (straight lines
    bow outwards: barrel); for k > 0 they move outwards (pincushion).

    Inverse mapping again: for an output pixel at radius r' we need the input radius r
    with ``r + k r^3 = r'``, a cubic we solve with a few Newton steps on the factor
    ``f = r / r'`` (``f + k r'^2 f^3 = 1``, starting from f = 1).  Where no input point maps
    there (strong barrel, near the corners) the output gets ``fill``.

    Shapes: x (C, H, W) or (N, C, H, W) -> same shape.  ``k``: a number, or one per image.
    """
    batch, single = _as_batch(x)
    H, W = batch.shape[-2:]
    k = np.asarray(k, dtype=np.float64).reshape(-1, 1, 1)
    if len(k) not in (1, batch.shape[0]):
        raise ValueError(f"k holds {len(k)} values for a batch of {batch.shape[0]} images")
    k = _like(k, batch, _work_dtype(batch))
    cy, cx = (H - 1) / 2, (W - 1) / 2
    half_diagonal = max(math.hypot(cy, cx), 1.0)

    def source(ys, xs):
        xp = _xp(ys)
        dy, dx = (ys - cy) / half_diagonal, (xs - cx) / half_diagonal
        c = k * (dx * dx + dy * dy)  # k r'^2
        # f + c f^3 = 1 has a root f <= 1.5 exactly when c >= -4/27; beyond, nothing maps here.
        has_source = c >= -4.0 / 27.0
        c = xp.where(has_source, c, 0.0)
        f = 1.0 + 0.0 * c
        for _ in range(12):  # Newton: f <- f - g(f) / g'(f); converges monotonically from 1
            f = f - (f + c * f**3 - 1.0) / (1.0 + 3.0 * c * f**2)
        src_y, src_x = cy + f * (ys - cy), cx + f * (xs - cx)
        return xp.where(has_source, src_y, -2.0), src_x  # row -2: outside, reads fill

    out = warp(batch, source, fill=fill)
    return out[0] if single else out


# --------------------------------------------------------------------------------------
# Transforms: small classes called as t(x, rng)
# --------------------------------------------------------------------------------------


class Transform:
    """Base class.  ``t(x, rng=None)`` accepts (C, H, W) or (N, C, H, W), NumPy or torch;
    subclasses implement ``apply(batch, rng)`` on an (N, C, H, W) batch with a Generator."""

    def __call__(self, x, rng=None):
        batch, single = _as_batch(x)
        out = self.apply(batch, as_generator(rng))
        return out[0] if single else out

    def apply(self, batch, rng: np.random.Generator):
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply transforms in order, passing the same Generator along the pipeline."""

    def __init__(self, transforms: Sequence[Callable]):
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose takes callables t(x, rng); got {t!r}")
        self.transforms = transforms

    def apply(self, batch, rng):
        for t in self.transforms:
            batch = t(batch, rng)
        return batch


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability p (drawn per image)."""

    def __init__(self, p: float = 0.5):
        self.p = _probability(p)

    def apply(self, batch, rng):
        flip = rng.random(batch.shape[0]) < self.p
        return _xp(batch).where(_like(flip[:, None, None, None], batch), hflip(batch), batch)


class RandomCrop(Transform):
    """Pad by ``padding`` on every side, then cut a ``size`` window at a random place.

    CIFAR-style training uses ``RandomCrop(32, padding=4)``: shifts of up to 4 pixels.
    ``pad_mode``: 'constant' (filled with ``fill``), 'reflect' or 'edge'.
    Shapes: (N, C, H, W) -> (N, C, h, w).  Raises ValueError if the window does not fit.
    """

    def __init__(self, size, padding: int = 0, pad_mode: str = "constant", fill: float = 0.0):
        self.size = _pair(size)
        if padding < 0:
            raise ValueError(f"padding must be >= 0; got {padding}")
        if pad_mode not in ("constant", "reflect", "edge"):
            raise ValueError(f"pad_mode must be 'constant', 'reflect' or 'edge'; got {pad_mode!r}")
        self.padding, self.pad_mode, self.fill = int(padding), pad_mode, fill

    def apply(self, batch, rng):
        ### BEGIN SOLUTION 04_data_augmentation
        if self.padding:
            batch = pad_image(batch, self.padding, self.pad_mode, self.fill)
        (h, w), (H, W) = self.size, batch.shape[-2:]
        if h > H or w > W:
            raise ValueError(
                f"crop {h}x{w} does not fit in the {H}x{W} image (after padding {self.padding})"
            )
        tops = rng.integers(0, H - h + 1, size=batch.shape[0])
        lefts = rng.integers(0, W - w + 1, size=batch.shape[0])
        boxes = zip(tops.tolist(), lefts.tolist(), strict=True)
        crops = [img[:, t : t + h, l : l + w] for img, (t, l) in zip(batch, boxes, strict=True)]
        return _xp(batch).stack(crops)
        ### END SOLUTION


class CenterCrop(Transform):
    """The central ``size`` window (deterministic; rng unused).  (N, C, H, W) -> (N, C, h, w)."""

    def __init__(self, size):
        self.size = _pair(size)

    def apply(self, batch, rng):
        return center_crop(batch, self.size)


class Resize(Transform):
    """Bilinear resize (deterministic): an int sets the shorter side, (h, w) is exact."""

    def __init__(self, size):
        self.size = _pair(size)[0] if isinstance(size, (int, np.integer)) else _pair(size)

    def apply(self, batch, rng):
        return resize(batch, self.size)


class RandomResizedCrop(Transform):
    """Inception / torchvision style: a random box of random area and aspect ratio, resized.

    The box covers a fraction ``scale`` = (low, high) of the image's *area* (drawn
    uniformly) with width/height ratio drawn log-uniformly from ``ratio``; a box wider or
    taller than the image is shrunk to fit.  It is then resized to ``size`` bilinearly.
    torchvision's default scale is (0.08, 1.0) for ImageNet; (0.5, 1.0) suits small images.
    Shapes: (N, C, H, W) -> (N, C, size_h, size_w).
    """

    def __init__(self, size, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)):
        self.size = _pair(size)
        self.scale, self.ratio = _range(scale, "scale"), _range(ratio, "ratio")
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ValueError(f"scale={scale} must be area fractions in (0, 1]")
        if self.ratio[0] <= 0:
            raise ValueError(f"ratio={ratio} must be positive width/height ratios")

    def apply(self, batch, rng):
        N, _, H, W = batch.shape
        area = rng.uniform(*self.scale, size=N) * H * W
        aspect = np.exp(rng.uniform(*np.log(self.ratio), size=N))
        u_top, u_left = rng.random(N), rng.random(N)
        h = np.clip(np.round(np.sqrt(area / aspect)), 1, H)
        w = np.clip(np.round(np.sqrt(area * aspect)), 1, W)
        top, left = np.floor(u_top * (H - h + 1)), np.floor(u_left * (W - w + 1))
        (oh, ow) = self.size
        # Crop then resize: output row i reads box row (i + 0.5) * h / oh - 0.5, kept in the box.
        rows = (top + 0.5 * h / oh - 0.5, h / oh, top, top + h - 1)
        cols = (left + 0.5 * w / ow - 0.5, w / ow, left, left + w - 1)
        return _sample_grid(batch, self.size, rows, cols)


class RandomScaleCrop(Transform):
    """Rescale so the shorter side is S, then cut a ``size`` window at a random place.

    This is how AlexNet and VGG train.  AlexNet: S = 256, crop 224.  VGG "scale
    jittering": S drawn uniformly from [256, 512] per image, crop 224.

    Parameters map as follows.  ``shorter_side=(S_min, S_max)`` gives S directly.
    Otherwise ``scale=(a, b)`` is the crop's side as a fraction of the shorter side,
    ``size / S``, so S is drawn uniformly from [size / b, size / a]:
    AlexNet = ``scale=(224/256, 224/256)`` or ``shorter_side=(256, 256)``;
    VGG = ``scale=(0.4375, 0.875)`` or ``shorter_side=(256, 512)``.

    Resize-then-crop is done in one pass: the window's pixels are sampled straight from
    the original with the resize's coordinates, which gives the same numbers.
    Shapes: (N, C, H, W) -> (N, C, h, w).
    """

    def __init__(self, size, scale=(0.5, 1.0), shorter_side=None):
        self.size = _pair(size)
        self.scale = _range(scale, "scale")
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ValueError(f"scale={scale} must be fractions size/S in (0, 1]")
        self.shorter_side = None if shorter_side is None else _range(shorter_side, "shorter_side")
        if self.shorter_side is not None and self.shorter_side[0] < max(self.size):
            raise ValueError(
                f"shorter_side={shorter_side} must be at least the crop size {max(self.size)}"
            )

    def apply(self, batch, rng):
        N, _, H, W = batch.shape
        h, w = self.size
        low, high = self.shorter_side or (max(h, w) / self.scale[1], max(h, w) / self.scale[0])
        side = rng.uniform(low, high, size=N)
        u_top, u_left = rng.random(N), rng.random(N)
        short = min(H, W)
        rh = np.maximum(np.round(H * side / short), h)  # resized image size, per image
        rw = np.maximum(np.round(W * side / short), w)
        top, left = np.floor(u_top * (rh - h + 1)), np.floor(u_left * (rw - w + 1))
        sy, sx = H / rh, W / rw  # one resized pixel = (sy, sx) original pixels
        rows = ((top + 0.5) * sy - 0.5, sy, 0.0, H - 1.0)
        cols = ((left + 0.5) * sx - 0.5, sx, 0.0, W - 1.0)
        return _sample_grid(batch, self.size, rows, cols)


class RandomAffine(Transform):
    """Random translation, rotation, zoom, stretch and shear about the image centre.

    Per image: angle ~ U(degrees) (a number d means (-d, d)); shift ~ U(-tx W, tx W) and
    U(-ty H, ty H) for ``translate=(tx, ty)`` (fractions of the size); zoom ~ U(scale);
    shear angle ~ U(shear) degrees; ``stretch`` ~ U(stretch): x grows by sqrt(stretch) and
    y shrinks by it.  See ``affine_matrix`` for the order; ``warp_affine`` does the work.
    Uncovered pixels get ``fill``.  The defaults leave the image unchanged.
    """

    def __init__(
        self,
        degrees=0.0,
        translate=(0.0, 0.0),
        scale=(1.0, 1.0),
        shear=0.0,
        stretch=(1.0, 1.0),
        fill: float = 0.0,
    ):
        self.degrees = _range(degrees, "degrees", symmetric=True)
        if len(translate) != 2 or min(translate) < 0:
            raise ValueError(f"translate={translate} must be two fractions (tx, ty) >= 0")
        self.translate = (float(translate[0]), float(translate[1]))
        self.scale = _range(scale, "scale")
        self.shear = _range(shear, "shear", symmetric=True)
        self.stretch = _range(stretch, "stretch")
        if self.scale[0] <= 0 or self.stretch[0] <= 0:
            raise ValueError(f"scale={scale} and stretch={stretch} must be > 0")
        self.fill = fill

    def apply(self, batch, rng):
        N, _, H, W = batch.shape
        angle = rng.uniform(*self.degrees, size=N)
        tx = rng.uniform(-1, 1, size=N) * self.translate[0] * W
        ty = rng.uniform(-1, 1, size=N) * self.translate[1] * H
        zoom = rng.uniform(*self.scale, size=N)
        shear = rng.uniform(*self.shear, size=N)
        stretch = rng.uniform(*self.stretch, size=N)
        center = ((W - 1) / 2, (H - 1) / 2)
        matrices = np.stack(
            [
                affine_matrix(a, (u, v), z, s, r, center)
                for a, u, v, z, s, r in zip(angle, tx, ty, zoom, shear, stretch, strict=True)
            ]
        )
        return warp_affine(batch, matrices, fill=self.fill)


class LensDistortion(Transform):
    """Radial distortion r' = r (1 + k r^2), k < 0 barrel, k > 0 pincushion (``lens_distort``).

    ``k``: a number (fixed) or a range (low, high) drawn uniformly per image.
    """

    def __init__(self, k=(-0.2, 0.2), fill: float = 0.0):
        self.k = _range(k, "k")
        self.fill = fill

    def apply(self, batch, rng):
        return lens_distort(batch, rng.uniform(*self.k, size=batch.shape[0]), self.fill)


# --------------------------------------------------------------------------------------
# Colour
# --------------------------------------------------------------------------------------

#: ITU-R 601 luma weights, the grey level torchvision and PIL use.
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def _gray(batch):
    """(N, C, H, W) -> (N, 1, H, W): luma for RGB, the channel mean otherwise."""
    if batch.shape[1] == 3:
        r, g, b = batch[:, 0:1], batch[:, 1:2], batch[:, 2:3]
        return GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b
    return _mean(batch, 1)


def _require_float(batch, who: str):
    if not _is_floating(batch):
        raise TypeError(
            f"{who} works on float images in [0, 1]; got dtype {batch.dtype} "
            "(convert first, e.g. x.astype(np.float32) / 255)"
        )


class ColorJitter(Transform):
    """Random brightness, contrast and saturation, one factor of each per image.

    Each factor is drawn from U(max(0, 1 - s), 1 + s) for strength s and blended in, in
    this order:  brightness ``x * f``;  contrast ``f x + (1 - f) mean(gray(x))``;
    saturation ``f x + (1 - f) gray(x)`` (RGB only).  A strength of 0 leaves that step out.

    Assumes float images in [0, 1] and clips the result to [0, 1] (``clip=False`` to
    keep it).  For mean-subtracted data apply ColorJitter *before* ``Normalize``; on
    already-normalised data use ``clip=False`` and only brightness/contrast, which then
    scale the spread about 0 and about the image mean.
    """

    def __init__(
        self,
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        clip: bool = True,
    ):
        for name, value in (
            ("brightness", brightness),
            ("contrast", contrast),
            ("saturation", saturation),
        ):
            if value < 0:
                raise ValueError(f"{name}={value} must be >= 0")
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        self.clip = clip

    def apply(self, batch, rng):
        _require_float(batch, "ColorJitter")
        N, C = batch.shape[:2]
        if self.saturation and C != 3:
            raise ValueError(f"saturation needs RGB images (3 channels); got {C}")

        def factors(strength):  # drawn for every step so the random stream never shifts
            f = rng.uniform(max(0.0, 1.0 - strength), 1.0 + strength, size=N)
            return _like(f.reshape(-1, 1, 1, 1), batch, batch.dtype)

        fb, fc, fs = factors(self.brightness), factors(self.contrast), factors(self.saturation)
        out = batch
        if self.brightness:
            out = out * fb
        if self.contrast:
            out = fc * out + (1 - fc) * _mean(_gray(out), (1, 2, 3))
        if self.saturation:
            out = fs * out + (1 - fs) * _gray(out)
        if self.clip:
            out = _xp(out).clip(out, 0.0, 1.0)
        return out


class FancyPCA(Transform):
    """AlexNet's colour augmentation ("fancy PCA", Krizhevsky et al. 2012).

    ``fit(images)`` runs PCA on all RGB pixels of the training set: the 3x3 covariance of
    the pixel values has eigenvalues lambda_1 >= lambda_2 >= lambda_3 and unit eigenvectors
    p_1, p_2, p_3 (``eigvals``, and ``eigvecs`` with the p_i as columns).  Each call then
    adds to every pixel of an image the same colour offset

        [p_1 p_2 p_3] [alpha_1 lambda_1, alpha_2 lambda_2, alpha_3 lambda_3]^T,

    with alpha_i ~ N(0, std) drawn once per image (the paper: std = 0.1).  The offset moves
    colours along the directions in which natural colours vary most.

    Units: lambda is a variance, so the offset scales with the *square* of the pixel
    units.  Fit on the same [0, 1] float images you augment; fitted on 0..255 values the
    same formula would give offsets 255 times too large.
    Shapes: (N, 3, H, W) -> same.  Raises RuntimeError when not fitted, ValueError if C != 3.
    """

    def __init__(self, std: float = 0.1, eigvals=None, eigvecs=None):
        if std < 0:
            raise ValueError(f"std={std} must be >= 0")
        self.std = float(std)
        self.eigvals = None if eigvals is None else np.asarray(eigvals, dtype=np.float64)
        self.eigvecs = None if eigvecs is None else np.asarray(eigvecs, dtype=np.float64)
        if (self.eigvals is None) != (self.eigvecs is None):
            raise ValueError("give both eigvals (3,) and eigvecs (3, 3), or neither (then fit)")

    def fit(self, images, chunk: int = 1024) -> FancyPCA:
        """PCA of the RGB pixels of ``images`` (N, 3, H, W) (NumPy or torch); returns self."""
        batch, _ = _as_batch(images, "images")
        if batch.shape[1] != 3:
            raise ValueError(f"FancyPCA needs RGB images (N, 3, H, W); got {tuple(batch.shape)}")
        total, sums, outer = 0, np.zeros(3), np.zeros((3, 3))
        for start in range(0, batch.shape[0], chunk):  # accumulate: the set may be large
            part = _to_numpy(batch[start : start + chunk]).astype(np.float64)
            pixels = part.transpose(1, 0, 2, 3).reshape(3, -1)  # (3, pixels)
            total += pixels.shape[1]
            sums += pixels.sum(1)
            outer += pixels @ pixels.T
        mean = sums / total
        covariance = outer / total - np.outer(mean, mean)
        eigvals, eigvecs = np.linalg.eigh(covariance)  # ascending order
        order = np.argsort(eigvals)[::-1]
        self.eigvals = np.clip(eigvals[order], 0.0, None)
        self.eigvecs = eigvecs[:, order]
        return self

    def offsets(self, n: int, rng=None) -> np.ndarray:
        """(n, 3) colour offsets P (alpha * lambda), alpha ~ N(0, std) per row — what
        ``__call__`` adds to a batch of n images given the same rng."""
        ### BEGIN SOLUTION 04_data_augmentation
        if self.eigvals is None:
            raise RuntimeError("FancyPCA is not fitted: call .fit(training_images) first")
        alpha = as_generator(rng).normal(0.0, self.std, size=(n, 3))
        return (alpha * self.eigvals) @ self.eigvecs.T
        ### END SOLUTION

    def apply(self, batch, rng):
        _require_float(batch, "FancyPCA")
        if batch.shape[1] != 3:
            raise ValueError(f"FancyPCA needs RGB images (N, 3, H, W); got {tuple(batch.shape)}")
        offset = self.offsets(batch.shape[0], rng)
        return batch + _like(offset[:, :, None, None], batch, batch.dtype)


class Normalize(Transform):
    """Per-channel standardisation ``(x - mean) / std`` (deterministic).

    ``mean`` and ``std`` hold one value per channel.  Shapes: (N, C, H, W) -> same.
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if self.mean.shape != self.std.shape or np.any(self.std <= 0):
            raise ValueError("mean and std must have one value per channel, and std > 0")

    def apply(self, batch, rng):
        _require_float(batch, "Normalize")
        if batch.shape[1] != len(self.mean):
            raise ValueError(f"{len(self.mean)} means for {batch.shape[1]} channels")
        mean = _like(self.mean.reshape(1, -1, 1, 1), batch, batch.dtype)
        std = _like(self.std.reshape(1, -1, 1, 1), batch, batch.dtype)
        return (batch - mean) / std


# --------------------------------------------------------------------------------------
# Erasing
# --------------------------------------------------------------------------------------


class Cutout(Transform):
    """Cutout (DeVries & Taylor 2017): blank a size x size square with probability p.

    The square's centre is uniform over the image, so it may hang over the border
    (then less is blanked).  Shapes: (N, C, H, W) -> same.
    """

    def __init__(self, size: int, p: float = 1.0, fill: float = 0.0):
        self.size, self.p, self.fill = _pair(size), _probability(p), fill

    def apply(self, batch, rng):
        N, _, H, W = batch.shape
        use = rng.random(N) < self.p
        cy, cx = rng.integers(0, H, size=N), rng.integers(0, W, size=N)
        h, w = self.size
        out = _copy(batch)
        for i in np.flatnonzero(use).tolist():
            top, left = int(cy[i]) - h // 2, int(cx[i]) - w // 2  # may lie outside: clip
            out[i, :, max(0, top) : max(0, top + h), max(0, left) : max(0, left + w)] = self.fill
        return out


class RandomErasing(Transform):
    """Random erasing (Zhong et al. 2017): with probability p replace a random rectangle.

    The rectangle covers a fraction ``scale`` of the area, with height/width ``ratio``
    drawn log-uniformly, and lies inside the image.  ``value``: a number, or 'random' for
    uniform [0, 1) noise.  Shapes: (N, C, H, W) -> same.
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0):
        self.p = _probability(p)
        self.scale, self.ratio = _range(scale, "scale"), _range(ratio, "ratio")
        if not 0 < self.scale[0] <= self.scale[1] <= 1 or self.ratio[0] <= 0:
            raise ValueError(f"scale={scale} must be in (0, 1] and ratio={ratio} positive")
        if value != "random" and not isinstance(value, (int, float)):
            raise TypeError(f"value must be a number or 'random'; got {value!r}")
        self.value = value

    def apply(self, batch, rng):
        N, C, H, W = batch.shape
        use = rng.random(N) < self.p
        area = rng.uniform(*self.scale, size=N) * H * W
        aspect = np.exp(rng.uniform(*np.log(self.ratio), size=N))
        h = np.clip(np.round(np.sqrt(area * aspect)), 1, H).astype(int).tolist()
        w = np.clip(np.round(np.sqrt(area / aspect)), 1, W).astype(int).tolist()
        top = (rng.random(N) * (H - np.array(h) + 1)).astype(int).tolist()
        left = (rng.random(N) * (W - np.array(w) + 1)).astype(int).tolist()
        out = _copy(batch)
        for i in np.flatnonzero(use).tolist():
            value = self.value
            if value == "random":
                value = _like(rng.random((C, h[i], w[i])), batch, batch.dtype)
            out[i, :, top[i] : top[i] + h[i], left[i] : left[i] + w[i]] = value
        return out


# --------------------------------------------------------------------------------------
# Fractional max pooling (Graham 2014)
# --------------------------------------------------------------------------------------


def fractional_pool_regions(
    in_size: int, out_size: int, rng=None, overlapping: bool = False, method: str = "pseudorandom"
):
    """Draw the pooling regions of one axis for fractional max pooling.

    Ordinary 2x2 pooling halves a side; fractional pooling shrinks it by any ratio
    ``alpha = in_size / out_size`` (Graham used about sqrt(2)) by using regions of sizes
    floor(alpha) and ceil(alpha) - for 1 < alpha < 2 a mix of 1s and 2s - that change on
    every forward pass.  The boundaries 0 = a_0 < a_1 < ... < a_out = in_size are

    * 'pseudorandom': ``a_i = ceil(alpha (i + u)) - ceil(alpha u)`` for one u ~ U(0, 1),
    * 'random': a random shuffle of the right number of small and large steps.

    Region i is rows a_{i-1} .. a_i - 1 (disjoint), or a_{i-1} .. a_i with
    ``overlapping=True`` (each region shares its last row with the next; the last is
    clamped to the input).

    Returns ``(starts, stops)``, two int arrays of length out_size: region i is
    ``starts[i]:stops[i]``.  Raises ValueError unless 1 <= out_size <= in_size.
    """
    if not 1 <= out_size <= in_size:
        raise ValueError(f"out_size must be between 1 and in_size={in_size}; got {out_size}")
    rng = as_generator(rng)
    alpha = in_size / out_size
    i = np.arange(out_size + 1)
    if method == "pseudorandom":
        u = rng.uniform(0.0, 1.0)
        bounds = np.ceil(alpha * (i + u)) - np.ceil(alpha * u)
        bounds[-1] = in_size
    elif method == "random":
        small = in_size // out_size
        n_large = in_size - small * out_size  # that many steps of small + 1
        steps = np.full(out_size, small)
        steps[rng.permutation(out_size)[:n_large]] += 1
        bounds = np.concatenate([[0], np.cumsum(steps)])
    else:
        raise ValueError(f"method must be 'pseudorandom' or 'random'; got {method!r}")
    bounds = bounds.astype(np.int64)
    starts, stops = bounds[:-1], bounds[1:]
    if overlapping:
        stops = np.minimum(stops + 1, in_size)
    return starts, stops


def fractional_max_pool(
    x: np.ndarray,
    out_size,
    rng=None,
    overlapping: bool = False,
    method: str = "pseudorandom",
    return_regions: bool = False,
):
    """Fractional max pooling of a NumPy batch, one random draw of regions per call.

    Shapes: x (N, C, H, W) -> (N, C, h, w) with (h, w) = ``out_size`` (an int or a pair).
    Rows and columns get independent region sequences from ``fractional_pool_regions``
    (rows drawn first), shared by all images and channels of the batch.
    With ``return_regions=True`` returns ``(out, (row_starts, row_stops),
    (col_starts, col_stops))``.  Raises ValueError for a non-4-D x or too large out_size.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a NumPy batch (N, C, H, W); got shape {x.shape}")
    h, w = _pair(out_size, "out_size")
    rng = as_generator(rng)
    rows = fractional_pool_regions(x.shape[2], h, rng, overlapping, method)
    cols = fractional_pool_regions(x.shape[3], w, rng, overlapping, method)
    out = np.empty(x.shape[:2] + (h, w), dtype=x.dtype)
    for i, (r0, r1) in enumerate(zip(*rows, strict=True)):
        for j, (c0, c1) in enumerate(zip(*cols, strict=True)):
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].max(axis=(2, 3))
    return (out, rows, cols) if return_regions else out


# --------------------------------------------------------------------------------------
# Test-time augmentation: average the network's answers over several views
# --------------------------------------------------------------------------------------

TTA_MODES = ("ten_crop", "flip", "center", "random_crops")


def tta_views(
    x,
    mode="ten_crop",
    crop_size=None,
    n: int = 10,
    rng=None,
    pad: int = 0,
    pad_mode: str = "constant",
) -> list:
    """The views test-time augmentation averages over.

    ``mode``:
      * 'ten_crop' (AlexNet): the four corner crops and the centre crop of ``crop_size``,
        then the same five mirrored - 10 views.
      * 'flip': the centre crop and its mirror image - 2 views.
      * 'center': the centre crop alone - 1 view (plain prediction).
      * 'random_crops': ``n`` views, each a random ``crop_size`` crop per image.
      * a transform ``t(x, rng)`` (e.g. your training pipeline): ``n`` views drawn with it.

    ``crop_size`` (int or (h, w)) defaults to the original image size.  ``pad``: pad every
    side first (with ``pad_mode``), as ``RandomCrop(size, padding=pad)`` did in training -
    e.g. 32x32 CIFAR images trained with ``RandomCrop(32, padding=4)``: ``pad=4`` makes the
    ten crops the four extreme 4-pixel shifts, the centre, and their mirrors, all 32x32.

    Shapes: x (N, C, H, W) (or one (C, H, W) image) -> a list of views, each (N, C, h, w),
    of x's kind.  Raises ValueError for an unknown mode or a crop that does not fit, and
    for 'ten_crop' whose crop is the whole image (ten copies of two views: pass a smaller
    crop_size or pad > 0).
    """
    batch, single = _as_batch(x)
    H, W = batch.shape[-2:]
    h, w = _pair(crop_size, "crop_size") if crop_size is not None else (H, W)
    if pad:
        batch = pad_image(batch, pad, pad_mode)
        H, W = batch.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"crop_size {h}x{w} does not fit in the {H}x{W} (padded) image")
    rng = as_generator(rng)
    if mode == "ten_crop":
        if (h, w) == (H, W):
            raise ValueError(
                f"ten_crop with a {h}x{w} crop of a {H}x{W} image gives ten copies of two views; "
                "pass a smaller crop_size, or pad > 0 to crop shifted windows"
            )
        corners = [(0, 0), (0, W - w), (H - h, 0), (H - h, W - w), ((H - h) // 2, (W - w) // 2)]
        crops = [crop(batch, top, left, h, w) for top, left in corners]
        views = crops + [hflip(c) for c in crops]
    elif mode == "flip":
        views = [center_crop(batch, (h, w)), hflip(center_crop(batch, (h, w)))]
    elif mode == "center":
        views = [center_crop(batch, (h, w))]
    elif mode == "random_crops":
        views = [RandomCrop((h, w))(batch, rng) for _ in range(n)]
    elif callable(mode):
        views = [mode(batch, rng) for _ in range(n)]
    else:
        raise ValueError(f"mode must be one of {TTA_MODES} or a transform; got {mode!r}")
    return [v[0] for v in views] if single else views


def tta_predict(
    predict_fn: Callable,
    x,
    mode="ten_crop",
    crop_size=None,
    n: int = 10,
    rng=0,
    batch_size: int | None = None,
    pad: int = 0,
    pad_mode: str = "constant",
):
    """Test-time augmentation: average ``predict_fn`` over the views of ``tta_views``.

    ``predict_fn`` maps a batch (N, C, h, w) of x's kind to class probabilities or scores
    (N, K).  Averaging softmax probabilities (as AlexNet did) is the usual choice; averaging
    raw scores works too but lets one confident view dominate.  The other arguments are
    those of ``tta_views``; ``batch_size`` bounds how many images are viewed at once
    (random views then depend on it, since they come from one stream).  For torch input
    it runs under ``torch.no_grad()``.

    Shapes: x (N, C, H, W) -> (N, K) of predict_fn's kind (one image (C, H, W) -> (K,)).
    Raises ValueError if predict_fn returns anything but one row per image.
    """
    if not callable(predict_fn):
        raise TypeError(f"predict_fn must be a function batch -> scores, got {predict_fn!r}")
    batch, single = _as_batch(x)
    rng = as_generator(rng)
    N = batch.shape[0]
    step = N if batch_size is None else argcheck.integer(batch_size, "batch_size", minimum=1)
    no_grad = sys.modules["torch"].no_grad() if _is_torch(batch) else contextlib.nullcontext()
    results = []
    with no_grad:
        for start in range(0, N, step):
            part = batch[start : start + step]
            views = tta_views(part, mode, crop_size, n, rng, pad, pad_mode)
            total = 0.0
            for view in views:
                scores = predict_fn(view)
                if scores.ndim != 2 or scores.shape[0] != part.shape[0]:
                    raise ValueError(
                        f"predict_fn must map a batch (N, C, h, w) to scores (N, K); "
                        f"got shape {tuple(scores.shape)} for N = {part.shape[0]}"
                    )
                total = total + scores
            results.append(total / len(views))
    if _is_torch(results[0]):
        out = sys.modules["torch"].cat(results)
    else:
        out = np.concatenate(results)
    return out[0] if single else out
