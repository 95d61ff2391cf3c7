"""Data sets for the course: small real ones that ship offline, and CIFAR-10 loaders.

Nothing here downloads anything unless you call :func:`download_cifar10` yourself.

Bundled, offline (one entry point)::

    from cs231n_lib.data import load_dataset
    ds = load_dataset("shapes", num_train=2000, subtract_mean=True)
    ds.X_train.shape        # (2000, 3, 32, 32) float32, NCHW like every layer in the course
    ds["y_val"][:5]         # the result also reads like CS231n's dict

    digits    scikit-learn's handwritten digits, 8x8 grey (resize=32 for LeNet-5)
    textures  32x32 grey patches cut from the real photos that ship with scikit-image
    shapes    a generated 32x32 colour, ten-class set stored exactly like CIFAR-10
    faces     scikit-image's LFW subset: 25x25 grey faces versus non-faces

CIFAR-10, fetched once (``python -m cs231n_lib download cifar10``, into :func:`data_home`:
``$CS231N_DATA`` or a per-user cache folder), then loaded like the bundled sets::

    ds = load_dataset("cifar10", num_train=5000, subtract_mean=True)   # (5000, 3, 32, 32)

Data you bring (CIFAR-10's own Python format, as CS231n reads it)::

    Xtr, Ytr, Xte, Yte = load_CIFAR10("datasets/cifar-10-batches-py")
    data = get_CIFAR10_data()                # the CS231n defaults: 49000 / 1000 / 1000

Values: :func:`load_dataset` returns floats in [0, 1] (before mean subtraction); the CIFAR-10
loaders return floats in [0, 255], exactly as CS231n's assignments do.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import pickle
import shutil
import struct
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cs231n_lib import argcheck

# ---------------------------------------------------------------------------------------------
# Where data lives
# ---------------------------------------------------------------------------------------------

#: The course's ``datasets/`` folder (override with the environment variable CS231N_DATA_DIR).
DATA_DIR = Path(
    os.environ.get("CS231N_DATA_DIR", Path(__file__).resolve().parent.parent / "datasets")
)

#: Where :func:`get_CIFAR10_data` looked before the course had a download command; still
#: used when it holds CIFAR-10 (see :func:`cifar10_folder`).
CIFAR10_DIR = DATA_DIR / "cifar-10-batches-py"

#: Environment variable naming the folder that downloaded data sets live in.
DATA_ENV = "CS231N_DATA"

#: The command that fetches CIFAR-10 (named in every "missing data" message).
DOWNLOAD_COMMAND = "python -m cs231n_lib download cifar10"


def data_home() -> Path:
    """The folder that downloaded data sets live in (CIFAR-10 in ``cifar-10-batches-py/``).

    ``$CS231N_DATA`` when it is set; otherwise a per-user cache folder: platformdirs'
    ``user_cache_dir('cs231n')`` when platformdirs is installed (``~/.cache/cs231n`` on
    Linux, ``~/Library/Caches/cs231n`` on macOS), else ``~/.cache/cs231n``. Not created here.
    """
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs
    except ImportError:
        return Path.home() / ".cache" / "cs231n"
    return Path(platformdirs.user_cache_dir("cs231n", appauthor=False))


def cifar10_folder(root=None) -> Path:
    """The ``cifar-10-batches-py`` folder to read: in ``root`` if given, else in
    :func:`data_home`, else the course's ``datasets/`` folder if CIFAR-10 was unpacked there.

    ``root`` may also be the ``cifar-10-batches-py`` folder itself. The folder may not exist
    (callers say how to download it).
    """
    if root is not None:
        root = Path(root).expanduser()
        return root if (root / "data_batch_1").is_file() else root / "cifar-10-batches-py"
    home = data_home() / "cifar-10-batches-py"
    if not home.is_dir() and (CIFAR10_DIR / "data_batch_1").is_file():
        return CIFAR10_DIR
    return home

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
#: SHA-256 of cifar-10-python.tar.gz (170,498,071 bytes), as Keras pins it.
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
#: MD5 of the same archive, as published on https://www.cs.toronto.edu/~kriz/cifar.html.
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_META_FILE = "batches.meta"

_OFFLINE_HINT = (
    "The course does not need the internet: load_dataset('shapes') is a CIFAR-10-shaped "
    "ten-class set generated on your machine, and 'digits', 'textures' and 'faces' ship with "
    "scikit-learn / scikit-image."
)


# ---------------------------------------------------------------------------------------------
# The result object
# ---------------------------------------------------------------------------------------------

_SPLIT_KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


@dataclass(eq=False, repr=False)
class Dataset(Mapping):
    """Train / validation / test splits of one data set.

    Shapes:
        X_train: (N_train, C, H, W) float;  y_train: (N_train,) int64 in 0..num_classes-1
        X_val, y_val and X_test, y_test alike
        mean_image: (C, H, W), the training mean that was subtracted, or None

    Read it as attributes (``ds.X_train``) or like CS231n's dict (``ds['X_train']``). As a
    mapping it holds only the arrays (the six splits, plus ``mean_image`` when it was
    subtracted), so ``for k, v in ds.items(): print(k, v.shape)`` works; ``class_names``,
    ``name`` and ``info`` are attributes (``ds['class_names']`` reads them too).

    ``info`` holds the source and licence, and for the bundled sets ``info['index'][split]``
    says where each image came from: its row in the source data (digits, faces, shapes) or
    the (photo, top row, left column) of a texture patch.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    mean_image: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def keys(self):
        return [*_SPLIT_KEYS, *(["mean_image"] if self.mean_image is not None else [])]

    def __getitem__(self, key: str):
        if key in self.keys() or key in ("class_names", "name", "info"):
            return getattr(self, key)
        raise KeyError(f"{key!r}: a Dataset holds {', '.join(self.keys())} (and class_names)")

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key) -> bool:
        return key in self.keys()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k).shape}" for k in ("X_train", "X_val", "X_test")]
        mean = ", mean subtracted" if self.mean_image is not None else ""
        return f"Dataset({self.name!r}: {', '.join(parts)}, {self.num_classes} classes{mean})"


# ---------------------------------------------------------------------------------------------
# Bundled data sets
# ---------------------------------------------------------------------------------------------


def _as_rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _round_robin(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``y`` shuffled, then interleaved class by class (0, 1, ..., 9, 0, 1, ...).

    Any prefix of the result is as class-balanced as the data allows, so taking the first n
    is a stratified sample of size n.
    """
    perm = rng.permutation(len(y))
    rank = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        members = perm[y[perm] == c]
        rank[members] = np.arange(len(members))
    return perm[np.argsort(rank[perm], kind="stable")]


def _stratified_split(y: np.ndarray, num_val: int, num_test: int, rng) -> tuple:
    """Split indices of ``y`` into (train, val, test), each class-balanced; train is the rest."""
    order = _round_robin(y, rng)
    test, val, train = np.split(order, [num_test, num_test + num_val])
    return rng.permutation(train), rng.permutation(val), rng.permutation(test)


def _digits(rng) -> dict:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8), 0..16 -> [0, 1]
    y = d.target.astype(np.int64)
    tr, va, te = _stratified_split(y, 300, 300, rng)
    return dict(
        X_train=X[tr], y_train=y[tr], X_val=X[va], y_val=y[va], X_test=X[te], y_test=y[te],
        index={"train": tr, "val": va, "test": te},
        class_names=tuple(str(i) for i in range(10)),
        info={"source": "sklearn.datasets.load_digits (UCI optdigits test set)",
              "licence": "CC BY 4.0 (UCI ML repository)"},
    )  # fmt: skip


def _faces(rng) -> dict:
    from skimage.data import lfw_subset

    X = lfw_subset()
    X = (X / 255.0 if X.dtype == np.uint8 else X).astype(np.float32)[:, None]  # (200, 1, 25, 25)
    y = np.r_[np.ones(100), np.zeros(100)].astype(np.int64)  # first 100 are faces
    tr, va, te = _stratified_split(y, 40, 40, rng)
    return dict(
        X_train=X[tr], y_train=y[tr], X_val=X[va], y_val=y[va], X_test=X[te], y_test=y[te],
        index={"train": tr, "val": va, "test": te},
        class_names=("non-face", "face"),
        info={"source": "skimage.data.lfw_subset (Labeled Faces in the Wild, UMass)",
              "licence": "LFW: research use; shipped with scikit-image (BSD-3)"},
    )  # fmt: skip


# --- textures ---------------------------------------------------------------------------------

#: (class name, skimage.data function) for every texture class; all ship inside scikit-image.
TEXTURE_PHOTOS = (
    ("brick", "brick"),
    ("grass", "grass"),
    ("gravel", "gravel"),
    ("moon", "moon"),
    ("tissue", "immunohistochemistry"),
    ("galaxies", "hubble_deep_field"),
    ("coins", "coins"),
    ("cat", "chelsea"),
)
TEXTURE_PATCH = 32
#: Patches per class in each split (the photos give at least this many, see _texture_windows).
TEXTURE_PER_CLASS = {"train": 480, "val": 120, "test": 120}
#: Column fractions: train takes [0, 0.6) of every photo's width, val [0.6, 0.8), test [0.8, 1].
TEXTURE_BOUNDS = (0.0, 0.6, 0.8, 1.0)
_TEXTURE_SEED = 182  # which patches are kept is fixed: every student sees the same data set


def texture_photo(function_name: str) -> np.ndarray:
    """One scikit-image photo as the textures set sees it: grey, histogram-equalised.

    Returns (H, W) float32 in [0, 1]. Colour photos become luminance (skimage.color.rgb2gray);
    equalisation gives every photo the same flat histogram, so brightness alone cannot tell
    the classes apart and a classifier has to look at texture.
    """
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.exposure import equalize_hist

    img = getattr(skimage.data, function_name)()
    img = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
    if img.ndim == 3:
        img = rgb2gray(img[..., :3])
    return equalize_hist(img).astype(np.float32)


def _texture_windows(H: int, W: int, split: str, stride: int) -> np.ndarray:
    """Top-left corners (row, col) of every patch that lies wholly inside one split's columns."""
    lo, hi = (int(f * W) for f in TEXTURE_BOUNDS[("train", "val", "test").index(split):][:2])
    rows = np.arange(0, H - TEXTURE_PATCH + 1, stride)
    cols = np.arange(lo, hi - TEXTURE_PATCH + 1, stride)  # a window never crosses `hi`
    return np.array([(r, c) for r in rows for c in cols], dtype=np.int64).reshape(-1, 2)


@functools.lru_cache(maxsize=1)
def _texture_base() -> dict:
    rng = np.random.default_rng(_TEXTURE_SEED)
    out = {s: ([], [], []) for s in TEXTURE_PER_CLASS}  # split -> (patches, labels, origins)
    strides = {}
    for label, (_, fn) in enumerate(TEXTURE_PHOTOS):
        photo = texture_photo(fn)
        H, W = photo.shape
        # The largest stride that still yields enough windows in every split: big photos are
        # cut with little overlap, small ones (coins, cat) with more.
        stride = next(
            s for s in (16, 8, 4)
            if all(len(_texture_windows(H, W, sp, s)) >= n for sp, n in TEXTURE_PER_CLASS.items())
        )  # fmt: skip
        strides[fn] = stride
        for split, n in TEXTURE_PER_CLASS.items():
            win = _texture_windows(H, W, split, stride)
            win = win[np.sort(rng.choice(len(win), n, replace=False))]
            patches, labels, origins = out[split]
            patches += [photo[r : r + TEXTURE_PATCH, c : c + TEXTURE_PATCH] for r, c in win]
            labels += [label] * n
            origins += [(label, r, c) for r, c in win]
    base = {"strides": strides}
    for split, (patches, labels, origins) in out.items():
        base[split] = (
            np.stack(patches)[:, None],
            np.asarray(labels, dtype=np.int64),
            np.asarray(origins, dtype=np.int64),
        )
    return base


def _textures(rng) -> dict:
    base = _texture_base()
    d = {"class_names": tuple(name for name, _ in TEXTURE_PHOTOS), "index": {}}
    for split in ("train", "val", "test"):
        X, y, o = base[split]
        p = rng.permutation(len(y))
        # index: (photo = class index, top row, left column) of every patch
        d[f"X_{split}"], d[f"y_{split}"], d["index"][split] = X[p], y[p], o[p]
    d["info"] = {
        "source": "patches of scikit-image's bundled photos: "
        + ", ".join(f"{n}=skimage.data.{fn}()" for n, fn in TEXTURE_PHOTOS),
        "licence": "CC0 / public domain (see each skimage.data docstring)",
        "strides": dict(base["strides"]),
    }
    return d


# --- shapes -----------------------------------------------------------------------------------

SHAPES_CLASSES = (
    "circle", "square", "triangle", "cross", "ring",
    "star", "h-stripes", "v-stripes", "checker", "diagonal",
)  # fmt: skip
#: Split sizes of load_dataset('shapes') and the seed each split is generated from.
SHAPES_SPLITS = {"train": (10_000, 2310), "val": (1_000, 2311), "test": (2_000, 2312)}

_S = 32
_Y, _X = (a.astype(np.float32)[None] + 0.5 for a in np.mgrid[0:_S, 0:_S])  # pixel centres


def _rand(rng, lo, hi, k: int) -> np.ndarray:
    """k random numbers, uniform in [lo, hi), shaped (k, 1, 1) to broadcast over pixels."""
    return rng.uniform(lo, hi, (k, 1, 1)).astype(np.float32)


def _frame(k: int, rng, rmin: float, rmax: float, max_angle: float):
    """Random centre, size and rotation for k shapes; returns rotated coordinates (u, v) and r.

    u, v: (k, 32, 32) float32, each pixel's position in the shape's own frame (origin at the
    centre, u along the shape's rotated x axis). ``max_angle`` in degrees (180 = any angle).
    """
    r = _rand(rng, rmin, rmax, k)
    cx, cy = (0.8 * r + _rand(rng, 0, 1, k) * (_S - 1.6 * r) for _ in range(2))
    t = np.deg2rad(_rand(rng, -max_angle, max_angle, k)).astype(np.float32)
    dx, dy = _X - cx, _Y - cy
    return dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t), r


def _box(u, v, a, b):
    """Signed distance to an axis-aligned box of half-sizes (a, b): < 0 inside, > 0 outside."""
    qx, qy = np.abs(u) - a, np.abs(v) - b
    return np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)


def _coverage(d):
    """Anti-aliased coverage of a pixel from the signed distance d to the shape's edge."""
    return np.clip(0.5 - d, 0.0, 1.0)


def _window(u, v, r, rng):
    """Coverage of a disc or a square window (chosen at random) for the pattern classes."""
    disc = _rand(rng, 0, 1, len(r)) < 0.5
    return _coverage(np.where(disc, np.hypot(u, v) - r, _box(u, v, 0.85 * r, 0.85 * r)))


def _stripes(w, rng, k):
    period = _rand(rng, 4.0, 7.0, k)
    phase = _rand(rng, 0, 2 * np.pi, k)
    return np.clip(0.5 + 1.5 * np.sin(2 * np.pi * w / period + phase), 0, 1)


def _shape_alpha(c: int, k: int, rng) -> np.ndarray:
    """Coverage (k, 32, 32) in [0, 1] of k random instances of class c."""
    name = SHAPES_CLASSES[c]
    if name == "circle":
        u, v, r = _frame(k, rng, 5, 11, 180)
        return _coverage(np.hypot(u, v) - r)
    if name == "square":
        u, v, r = _frame(k, rng, 5, 11, 180)
        return _coverage(_box(u, v, 0.8 * r, 0.8 * r))
    if name == "triangle":  # equilateral, side 2a (Inigo Quilez's signed distance)
        u, v, r = _frame(k, rng, 6, 12, 180)
        a, s3 = 0.95 * r, np.float32(np.sqrt(3))
        px, py = np.abs(u) - a, v + a / s3
        fold = px + s3 * py > 0
        px, py = np.where(fold, (px - s3 * py) / 2, px), np.where(fold, (-s3 * px - py) / 2, py)
        px = px - np.clip(px, -2 * a, 0)
        return _coverage(-np.hypot(px, py) * np.sign(py))
    if name == "cross":
        u, v, r = _frame(k, rng, 6, 12, 180)
        w = r * _rand(rng, 0.2, 0.32, k)
        return _coverage(np.minimum(_box(u, v, r, w), _box(u, v, w, r)))
    if name == "ring":
        u, v, r = _frame(k, rng, 6, 11, 180)
        w = _rand(rng, 1.0, 2.2, k)
        return _coverage(np.abs(np.hypot(u, v) - r) - w)
    if name == "star":  # five points (Inigo Quilez's sdStar with n=5)
        u, v, r = _frame(k, rng, 7, 12, 180)
        an = np.pi / 5
        en = np.pi / _rand(rng, 2.6, 3.4, k)
        bn = np.mod(np.arctan2(u, v), 2 * an) - an
        rad = np.hypot(u, v)
        px, py = rad * np.cos(bn) - r * np.cos(an), rad * np.abs(np.sin(bn)) - r * np.sin(an)
        ex, ey = np.cos(en), np.sin(en)
        t = np.clip(-(px * ex + py * ey), 0, r * np.sin(an) / ey)
        px, py = px + ex * t, py + ey * t
        return _coverage(np.hypot(px, py) * np.sign(px))
    if name in ("h-stripes", "v-stripes"):
        u, v, r = _frame(k, rng, 7, 12, 12)
        return _window(u, v, r, rng) * _stripes(v if name == "h-stripes" else u, rng, k)
    if name == "checker":
        u, v, r = _frame(k, rng, 7, 12, 12)
        period = _rand(rng, 5.0, 9.0, k)
        s = np.sin(2 * np.pi * u / period) * np.sin(2 * np.pi * v / period)
        return _window(u, v, r, rng) * np.clip(0.5 + 3.0 * s, 0, 1)
    if name == "diagonal":  # a thick line at 30..60 degrees either way (so flips keep the class)
        k_sign = np.where(_rand(rng, 0, 1, k) < 0.5, np.float32(-1), np.float32(1))
        u, v, r = _frame(k, rng, 7, 12, 0)
        t = np.deg2rad(k_sign * _rand(rng, 30, 60, k)).astype(np.float32)
        u, v = u * np.cos(t) + v * np.sin(t), -u * np.sin(t) + v * np.cos(t)
        half = r * _rand(rng, 1.0, 1.3, k)
        thick = _rand(rng, 1.0, 2.0, k)
        return _coverage(np.hypot(np.maximum(np.abs(u) - half, 0), v) - thick)
    raise AssertionError(name)


def _paint(img, alpha, colour):
    """Alpha-blend a colour (k, 3) into images (k, 32, 32, 3) with coverage (k, 32, 32)."""
    a = alpha[..., None].astype(np.float32)
    return img * (1 - a) + colour[:, None, None, :] * a


def _clutter(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """One slot of clutter for n images: a small dot or short dash, present half the time."""
    u, v, r = _frame(n, rng, 1.0, 2.5, 180)
    dash = _rand(rng, 0, 1, n) < 0.5
    d = np.where(dash, np.hypot(np.maximum(np.abs(u) - 2 * r, 0), v) - 0.6, np.hypot(u, v) - r)
    present = _rand(rng, 0, 1, n) < 0.5
    return _coverage(d) * present, rng.uniform(0, 1, (n, 3)).astype(np.float32)


#: make_shapes draws images in chunks of this many, each from its own seed, so that the first
#: images of make_shapes(n, seed) do not depend on n and memory stays small.
SHAPES_CHUNK = 500


def make_shapes(num: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``num`` images of the ten-class shapes set, in CIFAR-10's raw layout.

    Every image: a random two-colour gradient background, Gaussian noise, up to four small
    distractor dots or dashes (one may cover the shape), and one shape of class
    ``SHAPES_CLASSES[label]`` at a random position, size, colour (contrasting with the
    background) and, for the outline shapes, rotation. Stripes and checkers sit in a random
    disc- or square-shaped window. Every class keeps its label under a horizontal flip; a
    90-degree rotation swaps h- and v-stripes.

    Returns (data, labels): data (num, 3072) uint8, each row the 1024 red values, then the
    green, then the blue, row-major (CIFAR-10's ``b'data'``); labels (num,) int64, exactly
    balanced in every whole chunk of 500. Deterministic: the same (num, seed) gives the same
    bytes, and make_shapes(n, seed) is a prefix of make_shapes(m, seed) for n < m.
    Speed: about 1 ms per image on one busy CPU core, so :func:`load_dataset` caches the
    default splits under ``datasets/cache/``.
    """
    if not isinstance(num, int | np.integer) or num < 0:
        raise ValueError(f"num must be a non-negative int, got {num!r}")
    if not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seeds = np.random.SeedSequence(int(seed)).spawn(-(-num // SHAPES_CHUNK))
    parts = [_shapes_chunk(SHAPES_CHUNK, np.random.default_rng(ss)) for ss in seeds]
    if not parts:
        return np.zeros((0, 3072), np.uint8), np.zeros(0, np.int64)
    # The last chunk is drawn whole and cut, so the first n images never depend on num.
    data = np.concatenate([p[0] for p in parts])[:num]
    return data, np.concatenate([p[1] for p in parts])[:num]


def _shapes_chunk(num: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """make_shapes for one chunk: (num, 3072) uint8 rows and (num,) int64 labels."""
    labels = rng.permutation(np.arange(num) % len(SHAPES_CLASSES)).astype(np.int64)

    # Background: a gradient between two nearby colours along a random direction.
    c0 = rng.uniform(0, 1, (num, 3)).astype(np.float32)
    c1 = np.clip(c0 + rng.normal(0, 0.2, (num, 3)), 0, 1).astype(np.float32)
    g = np.deg2rad(_rand(rng, 0, 360, num))
    t = np.clip(((_X - 16) * np.cos(g) + (_Y - 16) * np.sin(g)) / 32 + 0.5, 0, 1)
    t = t.astype(np.float32)[..., None]
    img = c0[:, None, None, :] * (1 - t) + c1[:, None, None, :] * t

    for _ in range(3):  # clutter behind the shape
        img = _paint(img, *_clutter(num, rng))

    # Foreground colour: redraw until it stands out from the background's mean colour.
    fg = rng.uniform(0, 1, (num, 3)).astype(np.float32)
    for _ in range(50):
        weak = np.linalg.norm(fg - (c0 + c1) / 2, axis=1) < 0.45
        if not weak.any():
            break
        fg[weak] = rng.uniform(0, 1, (int(weak.sum()), 3))

    alpha = np.zeros((num, _S, _S), dtype=np.float32)
    for c in range(len(SHAPES_CLASSES)):
        idx = np.flatnonzero(labels == c)
        if idx.size:
            alpha[idx] = _shape_alpha(c, idx.size, rng)
    img = _paint(img, alpha, fg)
    img = _paint(img, *_clutter(num, rng))  # one slot in front: shapes are sometimes occluded

    sigma = rng.uniform(0.0, 0.06, (num, 1, 1, 1)).astype(np.float32)
    img += sigma * rng.standard_normal(img.shape, dtype=np.float32)
    img = np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)  # (num, 32, 32, 3)
    return img.transpose(0, 3, 1, 2).reshape(num, 3 * _S * _S), labels


#: Bump when make_shapes changes, so that caches of the old images are not reused.
SHAPES_VERSION = 1
#: Generated data is cached here (git ignores it); delete the folder at any time.
CACHE_DIR = DATA_DIR / "cache"


def _cached_shapes(num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """make_shapes(num, seed), read from CACHE_DIR when a valid copy is there, else saved."""
    import io
    import zipfile

    path = Path(CACHE_DIR) / f"shapes-v{SHAPES_VERSION}-{num}-{seed}.npz"
    try:
        with np.load(path) as z:
            data, labels = z["data"], z["labels"]
        if data.shape == (num, 3072) and data.dtype == np.uint8 and labels.shape == (num,):
            return data, labels
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # missing or damaged: generate again
    data, labels = make_shapes(num, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, data=data, labels=labels)
        _atomic_write(path, buf.getvalue())
    except OSError:
        pass  # a read-only install: we simply generate again next time
    return data, labels


@functools.lru_cache(maxsize=2)
def _shapes_base(splits: tuple) -> dict:
    """{split: (data, labels)} for splits = tuple(SHAPES_SPLITS.items()), kept in memory."""
    return {split: _cached_shapes(n, seed) for split, (n, seed) in splits}


def _shapes(rng) -> dict:
    d = {"class_names": SHAPES_CLASSES, "index": {}}
    for split, (data, labels) in _shapes_base(tuple(SHAPES_SPLITS.items())).items():
        d[f"X_{split}"] = data.reshape(-1, 3, _S, _S)  # uint8: load_dataset scales after subsetting
        d[f"y_{split}"] = labels.copy()
        d["index"][split] = np.arange(len(labels))
    d["info"] = {"source": "cs231n_lib.data.make_shapes", "licence": "MIT (this course)"}
    return d


_LOADERS = {"digits": _digits, "textures": _textures, "shapes": _shapes, "faces": _faces}
DATASETS = tuple(_LOADERS)

#: Data sets you download once (``python -m cs231n_lib download NAME``); load_dataset reads them.
DOWNLOADABLE = ("cifar10",)


def _missing_cifar10(folder: Path, why: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"CIFAR-10 is not in '{folder}' ({why}). Download it once (about 170 MB) with\n"
        f"    {DOWNLOAD_COMMAND}\n"
        f"which puts it in {data_home()} (set ${DATA_ENV} to choose another folder, or pass "
        f"root=). {_OFFLINE_HINT}"
    )


@functools.lru_cache(maxsize=1)
def _cifar10_base(folder: str, stamp: tuple) -> dict:
    """{split: (uint8 (N, 3, 32, 32), int64 labels)} of the files in ``folder``, kept in memory
    (``stamp`` = the files' sizes and times, so a new download is read again)."""
    root = Path(folder)
    train = [load_CIFAR_batch(root / n, np.uint8) for n in CIFAR10_TRAIN_FILES]
    X = np.concatenate([x for x, _ in train]).transpose(0, 3, 1, 2)
    y = np.concatenate([t for _, t in train])
    Xte, yte = load_CIFAR_batch(root / CIFAR10_TEST_FILE, np.uint8)
    n_val = min(1000, len(y) // 10)  # CS231n's 49,000 / 1,000 split of the 50,000
    out = {
        "train": (X[:len(y) - n_val], y[:len(y) - n_val]),
        "val": (X[len(y) - n_val:], y[len(y) - n_val:]),
        "test": (Xte.transpose(0, 3, 1, 2), yte),
    }
    for Xs, _ in out.values():
        Xs.flags.writeable = False
    return out


def status() -> str:
    """One line for ``python -m cs231n_lib doctor``: which data sets this machine has.

    The bundled sets always are; CIFAR-10 is 'present' (with its folder) once its files are
    all there, else 'not downloaded' with the command that fetches it.
    """
    folder = cifar10_folder()
    if folder.is_dir() and not _complete(folder):
        cifar = f"cifar10: present in {folder}"
    elif folder.is_dir():
        cifar = f"cifar10: incomplete in {folder} (delete it and run `{DOWNLOAD_COMMAND}`)"
    else:
        cifar = f"cifar10: not downloaded (`{DOWNLOAD_COMMAND}` puts it in {folder.parent})"
    return f"data sets: {', '.join(DATASETS)} (bundled); {cifar}"


def _cifar10(rng, root=None) -> dict:
    """CIFAR-10 from its Python files, in the bundled loaders' layout (uint8 NCHW images)."""
    folder = cifar10_folder(root)
    if not folder.is_dir():
        raise _missing_cifar10(folder, "the folder does not exist")
    missing = _complete(folder)
    if missing:
        raise _missing_cifar10(folder, f"it lacks {', '.join(missing)}")
    names = (*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE)
    stamp = tuple((st.st_size, st.st_mtime_ns) for st in ((folder / n).stat() for n in names))
    base = _cifar10_base(str(folder.resolve()), stamp)
    d = {"class_names": cifar10_class_names(folder), "index": {}}
    offset = {"train": 0, "val": len(base["train"][1]), "test": 0}
    for split, (X, y) in base.items():
        d[f"X_{split}"], d[f"y_{split}"] = X, y.copy()
        d["index"][split] = offset[split] + np.arange(len(y))  # row in the training / test files
    d["info"] = {
        "source": str(folder),
        "licence": "CIFAR-10 (Krizhevsky, 2009), https://www.cs.toronto.edu/~kriz/cifar.html",
    }
    return d


def _resize(X: np.ndarray, size) -> np.ndarray:
    """Bilinear resize of every image in X (N, C, H, W) to (N, C, *size)."""
    from skimage.transform import resize as sk_resize

    h, w = (size, size) if isinstance(size, int | np.integer) else tuple(size)
    if X.size == 0 or (h, w) == X.shape[2:]:
        return X
    shrink = h < X.shape[2] or w < X.shape[3]
    out = sk_resize(X, (*X.shape[:2], h, w), order=1, anti_aliasing=shrink, preserve_range=True)
    return out.astype(np.float32)


def _check_count(arg: str, n, available: int, name: str, split: str) -> int:
    if n is None:
        return available
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"{arg} must be a non-negative int or None, got {n!r}")
    if n > available:
        raise ValueError(
            f"{arg}={n} is more than the {available} {split} images of '{name}'; "
            f"ask for at most {available} (or None for all of them)."
        )
    return int(n)


def load_dataset(
    name: str,
    *,
    seed=0,
    subtract_mean: bool = False,
    resize=None,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    channels: int | None = None,
    dtype=np.float32,
    root=None,
) -> Dataset:
    """Load a data set, split into train / val / test: a bundled one, or CIFAR-10.

    Args:
        name: one of ``DATASETS``: 'digits', 'textures', 'shapes', 'faces' (bundled, offline),
            or 'cifar10' (download it once with ``python -m cs231n_lib download cifar10``).
        seed: int or numpy Generator. Picks the stratified split of 'digits' and 'faces', the
            order of every split, and which images ``num_*`` keep. The 'shapes' images and the
            'textures' patches themselves are fixed, so everyone sees the same data set.
        subtract_mean: subtract the training mean image from every split (CS231n style) and
            return it as ``mean_image`` (C, H, W).
        resize: None, an int S (S x S) or (H, W): bilinear resize (scikit-image), anti-aliased
            when shrinking. ``resize=32`` turns 8x8 digits into LeNet-5's 32x32 input.
        num_train, num_val, num_test: keep only this many of a split, class-balanced
            (``num_train=500`` on 'shapes' keeps 50 of each class). None keeps all.
        channels: None keeps the native channels; 1 turns colour into luminance; 3 repeats a
            grey channel three times (to feed a CIFAR-shaped network).
        dtype: float dtype of the images (float32 by default).
        root: 'cifar10' only: the folder holding ``cifar-10-batches-py`` (or that folder
            itself); default :func:`data_home` (``$CS231N_DATA`` or a per-user cache folder).

    Returns a :class:`Dataset`: X_* (N, C, H, W) with values in [0, 1] before mean
    subtraction, y_* (N,) int64, class_names, mean_image (or None) and info (source, licence).

    Native sizes (train / val / test, C x H x W):
        digits    1197 / 300 / 300, 1 x 8 x 8,   10 classes
        textures  3840 / 960 / 960, 1 x 32 x 32,  8 classes
        shapes   10000 / 1000 / 2000, 3 x 32 x 32, 10 classes
        faces      120 / 40 / 40,  1 x 25 x 25,   2 classes
        cifar10  49000 / 1000 / 10000, 3 x 32 x 32, 10 classes (val: the last 1000 training
                 images, as in CS231n; a tenth of the training files for a smaller copy)

    Raises ValueError for an unknown name (the message lists the known ones), split sizes
    larger than the set, or a bad ``resize`` / ``channels``; FileNotFoundError naming the
    folder and the download command when CIFAR-10 is not there.
    """
    if name not in _LOADERS and name not in DOWNLOADABLE:
        raise ValueError(f"unknown data set {name!r}; the bundled ones are {', '.join(DATASETS)}, "
                         f"and {', '.join(DOWNLOADABLE)} after `{DOWNLOAD_COMMAND}`")
    if root is not None and name not in DOWNLOADABLE:
        raise ValueError(f"root= is for downloaded data sets ({', '.join(DOWNLOADABLE)}); "
                         f"'{name}' ships with the course")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be None, 1 or 3, got {channels!r}")
    if dtype is None or not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(
            f"dtype must be a float type such as np.float32 (pixels are fractions in [0, 1]); "
            f"got {dtype!r}"
        )
    if resize is not None:

        def whole(s) -> bool:
            return isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0

        ok = whole(resize) or (
            isinstance(resize, tuple | list) and len(resize) == 2 and all(map(whole, resize))
        )  # fmt: skip
        if not ok:
            raise ValueError(f"resize must be None, a positive int or (H, W), got {resize!r}")
    if not isinstance(seed, np.random.Generator):
        argcheck.seed(seed, "seed")
    if not isinstance(subtract_mean, bool | np.bool_):
        raise TypeError(f"subtract_mean must be True or False, got {subtract_mean!r}")
    rng = _as_rng(seed)
    d = _cifar10(rng, root) if name == "cifar10" else _LOADERS[name](rng)

    for split, n in (("train", num_train), ("val", num_val), ("test", num_test)):
        y = d[f"y_{split}"]
        n = _check_count(f"num_{split}", n, len(y), name, split)
        if n < len(y):
            keep = np.sort(_round_robin(y, rng)[:n])
            d[f"X_{split}"], d[f"y_{split}"] = d[f"X_{split}"][keep], y[keep]
            d["index"][split] = d["index"][split][keep]

    for split in ("train", "val", "test"):
        X = d[f"X_{split}"]
        if X.dtype == np.uint8:  # 0..255 pixels (shapes) -> [0, 1]
            X = X.astype(np.float32) * np.float32(1 / 255)
        if resize is not None:
            X = _resize(X, resize)
        if channels == 1 and X.shape[1] == 3:
            # ITU-R BT.709 luminance, the weights skimage.color.rgb2gray uses
            X = np.tensordot(X, np.float32([0.2125, 0.7154, 0.0721]), axes=([1], [0]))[:, None]
        elif channels == 3 and X.shape[1] == 1:
            X = np.repeat(X, 3, axis=1)
        d[f"X_{split}"] = np.ascontiguousarray(X, dtype=dtype)

    mean_image = None
    if subtract_mean:
        if len(d["X_train"]) == 0:
            raise ValueError("subtract_mean needs at least one training image (num_train=0)")
        mean_image = d["X_train"].mean(axis=0, dtype=np.float64).astype(dtype)
        for split in ("train", "val", "test"):
            d[f"X_{split}"] -= mean_image
    info = {**d["info"], "index": d["index"], "seed": seed if isinstance(seed, int) else None}
    return Dataset(
        name=name, class_names=tuple(d["class_names"]), mean_image=mean_image, info=info,
        **{k: d[k] for k in _SPLIT_KEYS},
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Sample photos for filter and augmentation demos
# ---------------------------------------------------------------------------------------------

#: name -> where it comes from; every one ships inside scikit-image or scikit-learn.
SAMPLE_PHOTOS_RGB = {
    "astronaut": "skimage.data.astronaut",
    "chelsea": "skimage.data.chelsea",
    "coffee": "skimage.data.coffee",
    "rocket": "skimage.data.rocket",
    "china": "sklearn.datasets.load_sample_image('china.jpg')",
    "flower": "sklearn.datasets.load_sample_image('flower.jpg')",
}
SAMPLE_PHOTOS_GREY = {
    n: f"skimage.data.{n}" for n in ("camera", "brick", "grass", "gravel", "moon", "coins", "text")
}


@functools.cache
def _photo(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        img = load_sample_image(f"{name}.jpg")
    else:
        import skimage.data

        img = getattr(skimage.data, name)()
    img = img.astype(np.float32) / 255.0
    img.flags.writeable = False
    return img


def _pick(table: dict, names) -> list[str]:
    names = list(table) if names is None else [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown sample photo(s) {unknown}; choose from {', '.join(table)}")
    return names


def sample_images(names=None) -> dict[str, np.ndarray]:
    """The colour photos used in filter and augmentation demos.

    Returns {name: (H, W, 3) float32 in [0, 1]} for ``SAMPLE_PHOTOS_RGB`` (or just ``names``):
    astronaut 512x512, chelsea 300x451, coffee 400x600, rocket 427x640 (scikit-image),
    china and flower 427x640 (scikit-learn). Each call returns fresh copies.
    Raises ValueError for an unknown name.
    """
    return {n: _photo(n).copy() for n in _pick(SAMPLE_PHOTOS_RGB, names)}


def sample_images_grey(names=None) -> dict[str, np.ndarray]:
    """The grey photos (camera, brick, grass, gravel, moon, coins, text), and any colour one.

    Returns {name: (H, W) float32 in [0, 1]}. A colour name from ``SAMPLE_PHOTOS_RGB`` is
    converted to luminance with :func:`to_grey`. Without ``names``: the grey photos only.
    """
    table = {**SAMPLE_PHOTOS_GREY, **SAMPLE_PHOTOS_RGB}
    chosen = _pick(table, list(SAMPLE_PHOTOS_GREY) if names is None else names)
    return {n: to_grey(_photo(n)) if n in SAMPLE_PHOTOS_RGB else _photo(n).copy() for n in chosen}


def to_grey(img: np.ndarray) -> np.ndarray:
    """Luminance of an RGB image: (H, W, 3) -> (H, W) float32, 0.2125 R + 0.7154 G + 0.0721 B."""
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"to_grey needs an (H, W, 3) RGB image, got shape {img.shape}")
    return (img.astype(np.float32) @ np.float32([0.2125, 0.7154, 0.0721])).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# CIFAR-10 in its own format
# ---------------------------------------------------------------------------------------------
#
# The real files are dicts pickled by Python 2: keys and strings are Python 2 `str`, which
# Python 3 reads as bytes with pickle.load(f, encoding='bytes') (b'data', b'labels') or as str
# with encoding='latin1' (CS231n's loader). b'data' is a uint8 array (10000, 3072): each row
# holds the 1024 red values of a 32x32 image, then the green, then the blue.


class _Py2Pickler(pickle._Pickler):
    """Pickle like Python 2 did when CIFAR-10 was made, so our files read like the real ones.

    Byte strings are written as Python 2 ``str`` (opcodes SHORT_BINSTRING / BINSTRING) and
    arrays name ``numpy.core.multiarray._reconstruct``, exactly what the real batches hold.
    """

    dispatch = pickle._Pickler.dispatch.copy()
    _reconstruct = np.empty(0).__reduce__()[0]

    def _save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str

    def save_global(self, obj, name=None):
        if obj is self._reconstruct:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


class _CifarUnpickler(pickle.Unpickler):
    """Unpickle a CIFAR-10 batch, refusing anything but arrays, lists, numbers and strings.

    Plain pickle.load would run whatever code a malicious file names; a CIFAR-10 batch only
    ever needs numpy's array reconstruction, so nothing else is allowed.
    """

    _ALLOWED = {
        (m, n)
        for core in ("numpy.core", "numpy._core")
        for m, n in ((f"{core}.multiarray", "_reconstruct"), (f"{core}.multiarray", "scalar"),
                     (f"{core}.numeric", "_frombuffer"))
    } | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
         ("builtins", "bytearray")}  # fmt: skip

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"it names {module}.{name}; a CIFAR-10 batch holds only arrays, lists and strings"
        )


def _usual_permissions(path) -> None:
    """mkstemp makes files private (0600); give them the permissions a plain open() would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _atomic_write(path: Path, payload: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        _usual_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _py2_pickle(obj) -> bytes:
    import io

    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def write_cifar10_batch(path, X, labels, batch_label: str = "training batch 1 of 1",
                        filenames=None) -> Path:
    """Write images as one batch file in CIFAR-10's Python format (readable by load_CIFAR10).

    Args:
        path: file to write (its folder must exist); written atomically.
        X: (N, 32, 32, 3) uint8 images, HWC like load_CIFAR10 returns them.
        labels: (N,) ints in 0..9 (any non-negative ints for other label sets).
        batch_label: the b'batch_label' string, e.g. 'training batch 1 of 5'.
        filenames: N names for b'filenames' (default 'image_00000.png', ...).

    Returns the path. Raises TypeError if X is not uint8, ValueError on wrong shapes.
    """
    X, labels = np.asarray(X), np.asarray(labels)
    if X.dtype != np.uint8:
        raise TypeError(
            f"CIFAR-10 stores uint8 pixels; got {X.dtype}. Convert with "
            "np.clip(X, 0, 255).astype(np.uint8) (or (X * 255) first if X is in [0, 1])."
        )
    if X.ndim != 4 or X.shape[1:] != (32, 32, 3):
        raise ValueError(f"X must be (N, 32, 32, 3) uint8 images, got shape {X.shape}")
    if labels.shape != (len(X),) or (labels.size and labels.min() < 0):
        raise ValueError(f"labels must be {len(X)} non-negative ints, got shape {labels.shape}")
    names = filenames if filenames is not None else [f"image_{i:05d}.png" for i in range(len(X))]
    if len(names) != len(X):
        raise ValueError(f"{len(names)} filenames for {len(X)} images")
    batch = {
        b"batch_label": batch_label.encode("latin1"),
        b"labels": [int(v) for v in labels],
        b"data": np.ascontiguousarray(X.transpose(0, 3, 1, 2).reshape(len(X), 3072)),
        b"filenames": [str(n).encode("latin1") for n in names],
    }
    _atomic_write(Path(path), _py2_pickle(batch))
    return Path(path)


def write_cifar10_meta(path, label_names=CIFAR10_CLASSES, num_cases_per_batch: int = 10000):
    """Write a ``batches.meta`` file (b'label_names', b'num_cases_per_batch', b'num_vis')."""
    meta = {
        b"num_cases_per_batch": int(num_cases_per_batch),
        b"label_names": [str(n).encode("latin1") for n in label_names],
        b"num_vis": 3072,
    }
    _atomic_write(Path(path), _py2_pickle(meta))
    return Path(path)


def write_cifar10(root, X_train, y_train, X_test, y_test, label_names=CIFAR10_CLASSES) -> Path:
    """Write a whole data set in CIFAR-10's folder layout: data_batch_1..5, test_batch, meta.

    X_train: (N, 32, 32, 3) uint8, split into five batches as evenly as possible;
    X_test: (M, 32, 32, 3) uint8. ``root`` is created if needed. Returns root.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for i, idx in enumerate(np.array_split(np.arange(len(X_train)), 5), start=1):
        write_cifar10_batch(root / f"data_batch_{i}", np.asarray(X_train)[idx],
                            np.asarray(y_train)[idx], f"training batch {i} of 5")  # fmt: skip
    write_cifar10_batch(root / CIFAR10_TEST_FILE, X_test, y_test, "testing batch 1 of 1")
    write_cifar10_meta(root / CIFAR10_META_FILE, label_names,
                       int(np.ceil(len(X_train) / 5)))  # fmt: skip
    return root


def write_shapes_cifar10(root) -> Path:
    """Write the 'shapes' set as a CIFAR-10 folder, to practise the CS231n pipeline offline.

    The 10,000 training and 1,000 validation images go into data_batch_1..5 (in that order),
    the 2,000 test images into test_batch, so
    ``get_CIFAR10_data(10000, 1000, 2000, cifar10_dir=root)`` gives the same splits as
    ``load_dataset('shapes')`` (times 255, in float64).
    """
    base = _shapes_base(tuple(SHAPES_SPLITS.items()))
    hwc = {s: d.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) for s, (d, _) in base.items()}
    return write_cifar10(
        root,
        np.concatenate([hwc["train"], hwc["val"]]),
        np.concatenate([base["train"][1], base["val"][1]]),
        hwc["test"], base["test"][1], SHAPES_CLASSES,
    )  # fmt: skip


def _fix_hint(path: Path) -> str:
    return (
        f"Delete '{path.parent}' and fetch CIFAR-10 again with "
        f"download_cifar10('{path.parent.parent}') (needs internet). {_OFFLINE_HINT}"
    )


def _read_pickle(path: Path) -> dict:
    """Unpickle one CIFAR-10 file into a dict with str keys; clear errors for every failure."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file '{path}' is missing. {_fix_hint(path)}")
    try:
        with open(path, "rb") as f:
            obj = _CifarUnpickler(f, encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - a broken pickle can raise almost anything
        raise ValueError(
            f"'{path}' is not a readable CIFAR-10 file: it is truncated or corrupt "
            f"({type(exc).__name__}: {exc}). {_fix_hint(path)}"
        ) from exc
    if not isinstance(obj, dict):
        raise ValueError(f"'{path}' holds a {type(obj).__name__}, not a CIFAR-10 dict. "
                         f"{_fix_hint(path)}")  # fmt: skip
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def load_CIFAR_batch(filename, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Load one CIFAR-10 batch file.

    Returns (X, Y): X (N, 32, 32, 3) float (``dtype``, values 0..255, HWC as CS231n returns
    it), Y (N,) int64. Raises FileNotFoundError if the file is missing and ValueError, naming
    the file and the fix, if it is truncated, corrupt or holds the wrong shapes.
    """
    path = Path(filename)
    d = _read_pickle(path)
    missing = [k for k in ("data", "labels") if k not in d]
    if missing:
        raise ValueError(f"'{path}' has no {missing} entry (it holds {sorted(d)}); a CIFAR-10 "
                         f"batch has b'data' and b'labels'. {_fix_hint(path)}")  # fmt: skip
    data, labels = d["data"], np.asarray(d["labels"])
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", type(data).__name__)
        raise ValueError(
            f"'{path}': data has shape {shape}; a CIFAR-10 batch holds one row of "
            f"3072 = 3 x 32 x 32 uint8 values per image (red, green, blue planes). "
            f"{_fix_hint(path)}"
        )
    if data.dtype != np.uint8:
        raise ValueError(f"'{path}': data is {data.dtype}, CIFAR-10 pixels are uint8. "
                         f"{_fix_hint(path)}")  # fmt: skip
    if labels.ndim != 1:
        raise ValueError(f"'{path}': labels have shape {labels.shape}; a CIFAR-10 batch holds "
                         f"one class index per image, shape ({len(data)},). "
                         f"{_fix_hint(path)}")  # fmt: skip
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"'{path}': labels are {labels.dtype} (e.g. {labels[:1].tolist()}), "
                         f"not integer class indices 0..9. {_fix_hint(path)}")  # fmt: skip
    if labels.shape != (len(data),):
        raise ValueError(f"'{path}': {labels.size} labels for {len(data)} images. "
                         f"{_fix_hint(path)}")  # fmt: skip
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"'{path}': labels run from {labels.min()} to {labels.max()}; "
                         f"CIFAR-10 labels are 0..9. {_fix_hint(path)}")  # fmt: skip
    X = data.reshape(len(data), 3, 32, 32).transpose(0, 2, 3, 1).astype(dtype)
    return X, labels.astype(np.int64)


def load_CIFAR10(ROOT, dtype=np.float64):
    """Load all of CIFAR-10 from the folder ``cifar-10-batches-py``.

    Returns (Xtr, Ytr, Xte, Yte): Xtr (50000, 32, 32, 3) and Xte (10000, 32, 32, 3), floats
    0..255 in ``dtype`` (float64 by default, as CS231n; the training set then takes 1.2 GB,
    pass dtype=np.float32 to halve it), Ytr and Yte int64.
    Raises FileNotFoundError for a missing folder or batch file and ValueError for a broken
    one; each message names the file and says how to fix it.
    """
    root = Path(ROOT)
    if not root.is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 folder '{root}' does not exist. Download it with `{DOWNLOAD_COMMAND}` or "
            f"download_cifar10('{root.parent}') (needs internet, about 170 MB), or unpack "
            f"cifar-10-python.tar.gz there yourself. {_OFFLINE_HINT}"
        )
    parts = [load_CIFAR_batch(root / name, dtype) for name in CIFAR10_TRAIN_FILES]
    Xtr = np.concatenate([p[0] for p in parts])
    Ytr = np.concatenate([p[1] for p in parts])
    Xte, Yte = load_CIFAR_batch(root / CIFAR10_TEST_FILE, dtype)
    return Xtr, Ytr, Xte, Yte


def cifar10_class_names(root) -> tuple[str, ...]:
    """Class names from ``batches.meta`` in ``root``; CIFAR-10's own names if there is none."""
    meta = Path(root) / CIFAR10_META_FILE
    if not meta.is_file():
        return CIFAR10_CLASSES
    names = _read_pickle(meta).get("label_names", CIFAR10_CLASSES)
    return tuple(n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names)


def get_CIFAR10_data(num_training: int = 49000, num_validation: int = 1000,
                     num_test: int = 1000, subtract_mean: bool = True, cifar10_dir=None,
                     dtype=np.float64) -> Dataset:  # fmt: skip
    """CS231n's get_CIFAR10_data: load CIFAR-10, split, subtract the mean, go to NCHW.

    Validation takes training images num_training .. num_training + num_validation - 1 (in file
    order, as CS231n does); test takes the first num_test test images.

    Returns a :class:`Dataset` (reads like CS231n's dict): X_train (num_training, 3, 32, 32),
    X_val (num_validation, 3, 32, 32), X_test (num_test, 3, 32, 32), floats in ``dtype``
    (0..255 minus the mean), y_* int64, mean_image (3, 32, 32) when subtract_mean.
    ``cifar10_dir`` defaults to :func:`cifar10_folder` (where ``python -m cs231n_lib download
    cifar10`` puts it, or datasets/cifar-10-batches-py if it is there).
    Raises ValueError if the split sizes ask for more images than the files hold.
    """
    root = Path(cifar10_dir) if cifar10_dir is not None else cifar10_folder()
    Xtr, Ytr, Xte, Yte = load_CIFAR10(root, dtype)
    for arg, n in (("num_training", num_training), ("num_validation", num_validation),
                   ("num_test", num_test)):  # fmt: skip
        if not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"{arg} must be a non-negative int, got {n!r}")
    if num_training + num_validation > len(Xtr):
        raise ValueError(
            f"num_training + num_validation = {num_training} + {num_validation} = "
            f"{num_training + num_validation}, but '{root}' holds only {len(Xtr)} training "
            f"images; ask for at most {len(Xtr)} in total."
        )
    if num_test > len(Xte):
        raise ValueError(f"num_test={num_test}, but '{root}' holds only {len(Xte)} test images.")
    X_val = Xtr[num_training : num_training + num_validation]
    y_val = Ytr[num_training : num_training + num_validation]
    X_train, y_train = Xtr[:num_training], Ytr[:num_training]
    X_test, y_test = Xte[:num_test], Yte[:num_test]
    del Xtr, Xte
    X_train, X_val, X_test = (np.ascontiguousarray(x.transpose(0, 3, 1, 2))
                              for x in (X_train, X_val, X_test))  # fmt: skip
    mean_image = None
    if subtract_mean:
        mean_image = X_train.mean(axis=0)
        X_train -= mean_image
        X_val -= mean_image
        X_test -= mean_image
    return Dataset(
        name="cifar10", X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
        X_test=X_test, y_test=y_test, class_names=cifar10_class_names(root),
        mean_image=mean_image, info={"source": str(root)},
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Downloading CIFAR-10 (only when you ask)
# ---------------------------------------------------------------------------------------------


class DownloadError(OSError):
    """A download failed (offline, server error, truncated or wrong file); nothing was kept."""


def _complete(folder: Path) -> list[str]:
    """The CIFAR-10 files missing from ``folder``."""
    need = (*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE, CIFAR10_META_FILE)
    return [n for n in need if not (folder / n).is_file()]


def _hash_problem(path: Path, sha256, md5) -> str | None:
    """None if the file at ``path`` matches the expected hashes, else why not."""
    h256, h5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h256.update(chunk)
            h5.update(chunk)
    return _compare(h256, h5, sha256, md5)


def _compare(h256, h5, sha256, md5) -> str | None:
    if sha256 is not None and h256.hexdigest() != sha256.lower():
        return f"its SHA-256 is {h256.hexdigest()}, expected {sha256.lower()}"
    if md5 is not None and h5.hexdigest() != md5.lower():
        return f"its MD5 is {h5.hexdigest()}, expected {md5.lower()}"
    return None


def _part_file(archive: Path) -> Path:
    """Where an unfinished download of ``archive`` lives (kept so that a rerun resumes)."""
    return archive.with_name(archive.name + ".part")


def _hash_file(path: Path, *hashes) -> None:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            for h in hashes:
                h.update(chunk)


def _fetch(url: str, archive: Path, sha256, md5, timeout: float, progress: bool) -> None:
    """Download ``url`` into ``archive.part``, resuming a earlier partial download with an
    HTTP Range request; verify the whole file's hashes; only then rename it to ``archive``.

    A broken or truncated transfer keeps the ``.part`` file and says to run again (the next
    run asks for the missing bytes only; a server that ignores Range sends the whole file
    again and the download restarts cleanly). A file with the wrong hash is deleted.
    """
    part = _part_file(archive)
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "convnet-course"}
    if have:
        headers["Range"] = f"bytes={have}-"
    resp = None
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)  # fmt: skip
    except urllib.error.HTTPError as exc:
        if not (exc.code == 416 and have):  # 416: nothing after byte `have`: we have it all
            raise DownloadError(f"{url} answered HTTP {exc.code} ({exc.reason}). "
                                f"Check the url. {_OFFLINE_HINT}") from exc  # fmt: skip
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        kept = f" The {have:,} bytes fetched so far are kept for the next try." if have else ""
        raise DownloadError(
            f"Could not reach {url} ({reason}): this machine seems to be offline, or the "
            f"server is unreachable.{kept} {_OFFLINE_HINT} With the archive on a USB stick, "
            f"copy cifar-10-python.tar.gz into '{archive.parent}' and run the download again."
        ) from exc

    h256, h5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    if resp is not None:
        with resp:
            resumed = have > 0 and getattr(resp, "status", None) == 206
            if resumed:
                _hash_file(part, h256, h5)  # the bytes already here, then the new ones
            else:
                have = 0  # a fresh download (or a server that ignores Range): start over
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            got = have
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, initial=have, unit="B", unit_scale=True,
                           desc=archive.name)  # fmt: skip
            try:
                with open(part, "ab" if resumed else "wb") as out:
                    while chunk := resp.read(1 << 20):
                        out.write(chunk)
                        h256.update(chunk)
                        h5.update(chunk)
                        got += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as exc:  # reset, timeout, disk full
                raise DownloadError(
                    f"the download from {url} broke off after {got:,} bytes "
                    f"({type(exc).__name__}: {exc}). They are kept in '{part}': run the same "
                    "command again to resume."
                ) from exc
            finally:
                if bar is not None:
                    bar.close()
        if total is not None and got < total:
            raise DownloadError(
                f"the download from {url} is truncated: got {got:,} of {total:,} bytes (the "
                f"connection closed early). They are kept in '{part}': run the same command "
                "again to resume."
            )
    else:
        _hash_file(part, h256, h5)
    problem = _compare(h256, h5, sha256, md5)
    if problem:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"the file downloaded from {url} is not the expected archive: {problem}. It was "
            "deleted. If you pass your own url, pass its sha256 (and md5=None) too."
        )
    _usual_permissions(part)
    os.replace(part, archive)


def _check_url(url) -> None:
    """ValueError unless ``url`` is an http(s) or file URL (not a urllib error later)."""
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        raise TypeError(f"url must be a str such as {CIFAR10_URL!r}, got {type(url).__name__}")
    parts = urlsplit(url)
    web = parts.scheme in ("https", "http") and parts.netloc
    if not (web or parts.scheme == "file"):
        raise ValueError(f"url {url!r} is not a web address; it should look like {CIFAR10_URL!r} "
                         "(https://host/path, or file:///path for a local copy)")


def _check_folder(folder: Path, name: str) -> None:
    """ValueError if ``folder`` (or a parent) exists as a file: it cannot hold the data."""
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(f"{name} '{folder}' cannot be a folder: '{p}' is a file; "
                                 "pass a folder (it is created if missing)")
            return


def _extract(archive: Path, dest: Path) -> Path:
    """Unpack cifar-10-batches-py/ from ``archive`` into ``dest`` via a temporary folder."""
    target = dest / "cifar-10-batches-py"
    tmpdir = Path(tempfile.mkdtemp(dir=dest, prefix=".cifar-10-extract."))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for m in tar.getmembers():
                    parts = m.name.split("/")
                    if parts[0] != target.name or ".." in parts or not (m.isfile() or m.isdir()):
                        raise DownloadError(f"'{archive}' holds an unexpected entry {m.name!r}; "
                                            "it is not CIFAR-10's python archive.")  # fmt: skip
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmpdir, filter="data")
                else:  # Python 3.11.0-3.11.3; the names were checked above
                    tar.extractall(tmpdir)
        except (tarfile.TarError, EOFError, OSError) as exc:
            if isinstance(exc, DownloadError):
                raise
            raise DownloadError(f"'{archive}' could not be unpacked ({type(exc).__name__}: "
                                f"{exc}); delete it and download again.") from exc  # fmt: skip
        missing = _complete(tmpdir / target.name)
        if missing:
            raise DownloadError(f"'{archive}' lacks {', '.join(missing)}; it is not the full "
                                "CIFAR-10 python archive.")  # fmt: skip
        os.replace(tmpdir / target.name, target)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return target


def download_cifar10(dest=None, *, url: str = CIFAR10_URL, sha256: str | None = CIFAR10_SHA256,
                     md5: str | None = CIFAR10_MD5, timeout: float = 60.0,
                     keep_archive: bool = False, progress: bool = True) -> Path:  # fmt: skip
    """Download and unpack CIFAR-10 (python version, ~170 MB) into ``dest``. Needs internet.

    The command line ``python -m cs231n_lib download cifar10`` calls this.

    Steps: stream ``url`` into ``dest/cifar-10-python.tar.gz.part`` with a progress bar;
    check its length against the server's Content-Length and its SHA-256 and MD5 against the
    published ones; rename it to cifar-10-python.tar.gz; unpack into a temporary folder and
    rename that to ``dest/cifar-10-batches-py`` (so a half-unpacked set never has that name).
    An interrupted or truncated download keeps its ``.part`` file and the next call resumes
    it (an HTTP Range request; a server without Range support restarts it cleanly); a file
    with the wrong checksum is deleted. An archive already in ``dest`` (say, copied from a USB
    stick) is verified and used.

    Args:
        dest: folder to hold cifar-10-batches-py (default: :func:`data_home`, that is
            ``$CS231N_DATA`` or a per-user cache folder, where load_dataset('cifar10') looks).
        url: where to fetch from (https by default; file:// works too).
        sha256, md5: expected hashes of the archive; None skips that check.
        timeout: seconds to wait for the server at each step.
        keep_archive: keep the .tar.gz after unpacking.
        progress: show a tqdm progress bar.

    Returns the path of ``cifar-10-batches-py``. Raises DownloadError with a plain-words
    message (offline, HTTP error, truncated, wrong checksum, bad archive).
    """
    dest = Path(dest).expanduser() if dest is not None else data_home()
    _check_url(url)
    _check_folder(dest, "dest")
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "cifar-10-batches-py"
    if target.exists():
        missing = _complete(target)
        if not missing:
            return target
        raise DownloadError(f"'{target}' exists but lacks {', '.join(missing)}; delete that "
                            "folder and call download_cifar10 again.")  # fmt: skip
    archive = dest / "cifar-10-python.tar.gz"
    if archive.exists():
        problem = _hash_problem(archive, sha256, md5)
        if problem:
            raise DownloadError(f"'{archive}' is already there but {problem}; delete it and "
                                "call download_cifar10 again.")  # fmt: skip
        downloaded = False
    else:
        _fetch(url, archive, sha256, md5, timeout, progress)
        downloaded = True
    try:
        target = _extract(archive, dest)
    except DownloadError:
        if downloaded:  # a file we fetched that will not unpack is of no use to anyone
            archive.unlink(missing_ok=True)
        raise
    if not keep_archive:
        archive.unlink()
    return target

