"""Figures for the course: images, training curves, filters, activations, and conv arithmetic.

Every function here *returns* a :class:`matplotlib.figure.Figure` (or an animation / widget)
and never calls ``plt.show()``. In Jupyter, make the call the last line of a cell (or pass the
figure to ``display``); in a script, ``fig.savefig('out.png')``. Figures are built without
pyplot, so they never pile up in pyplot's list of open figures.

Four groups:

* images and results: :func:`show_images`, :func:`plot_predictions`, :func:`plot_history`,
  :func:`plot_confusion_matrix`;
* what a trained network learned (Zeiler & Fergus 2014 style): :func:`filter_grid` for the
  first-layer filters, :func:`get_activations` / :func:`activation_maps`, :func:`top_patches`
  (the image patches that excite one channel most, cropped to its receptive field),
  :func:`occlusion_map` and :func:`saliency_map`;
* receptive fields: :func:`layer_receptive_field` for a model, :func:`receptive_field_figure`
  for a stack of (kernel, stride) layers;
* convolution arithmetic (Dumoulin & Visin 2016 style): :func:`conv_arithmetic_figure`,
  :func:`conv_arithmetic_animation`, :func:`conv_arithmetic_widget`.

Images may be NumPy arrays or torch tensors, ``(N, C, H, W)`` or ``(N, H, W, C)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib import patches as mpatches
from matplotlib.figure import Figure
from torch import nn

from cs231n_lib import argcheck

__all__ = [
    "activation_maps",
    "confusion_matrix",
    "conv_arithmetic_animation",
    "conv_arithmetic_figure",
    "conv_arithmetic_widget",
    "conv_output_size",
    "filter_grid",
    "get_activations",
    "layer_receptive_field",
    "occlusion_map",
    "plot_confusion_matrix",
    "plot_history",
    "plot_occlusion_map",
    "plot_predictions",
    "plot_saliency_map",
    "receptive_field_figure",
    "saliency_map",
    "show_images",
    "tile_filters",
    "top_patches",
]


# ----------------------------------------------------------------------------------------
# Small helpers: arrays, layouts, display ranges, figure grids
# ----------------------------------------------------------------------------------------


def _numpy(x) -> np.ndarray:
    """A NumPy copy of an array or (possibly GPU, possibly grad-tracking) tensor."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _to_nhwc(images, name: str = "images") -> np.ndarray:
    """(N, C, H, W), (N, H, W, C) or grey (N, H, W) -> float (N, H, W, C).

    The layout is read from where the channel axis (size 1 or 3) is; when both ends could
    be channels, PyTorch's (N, C, H, W) wins.
    """
    x = _numpy(images).astype(np.float64)
    if x.ndim == 3:
        return x[..., None]
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be a batch (N, C, H, W), (N, H, W, C) or (N, H, W); "
            f"got shape {x.shape}. For one image add a batch axis: x[None]."
        )
    if x.shape[1] in (1, 3):
        return x.transpose(0, 2, 3, 1)
    if x.shape[3] in (1, 3):
        return x
    raise ValueError(
        f"cannot tell where the colour channels are in {name} of shape {x.shape}: "
        "expected 1 or 3 channels in axis 1 (N, C, H, W) or axis 3 (N, H, W, C)."
    )


def _display_range(x: np.ndarray) -> np.ndarray:
    """Map a batch (N, H, W, C) into [0, 1] for imshow.

    Already in [0, 1]: unchanged. In [0, 255]: divided by 255. Anything else (for example
    zero-centred data): each image min-max scaled on its own.
    """
    lo, hi = x.min(), x.max()
    if lo >= 0 and hi <= 1:
        return x
    if lo >= 0 and hi <= 255:
        return x / 255.0
    lo = x.min(axis=(1, 2, 3), keepdims=True)
    span = x.max(axis=(1, 2, 3), keepdims=True) - lo
    return (x - lo) / np.where(span > 0, span, 1.0)


def _prepare_images(images, mean_image=None, name: str = "images") -> np.ndarray:
    """Images ready for imshow: (N, H, W, 3) or (N, H, W) grey, values in [0, 1]."""
    x = _to_nhwc(images, name)
    if mean_image is not None:
        mean = _to_nhwc(_numpy(mean_image)[None], "mean_image")
        if mean.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"mean_image has shape {mean.shape[1:]} (as H, W, C) but the images are "
                f"{x.shape[1:]}."
            )
        x = x + mean
    x = _display_range(x)
    return x[..., 0] if x.shape[-1] == 1 else x


def _grid_axes(fig: Figure, n: int, ncols: int):
    """n image axes in rows of ncols, without ticks; unused cells are removed."""
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    for ax in axes[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return list(axes[:n]), nrows, ncols


def _image_grid(images: np.ndarray, titles=None, ncols: int = 8, colors=None,
                cell: float = 1.4, cmap: str = "gray", scale_each: bool = False) -> Figure:
    """Figure with one axes per prepared image (N, H, W[, 3])."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(cell * ncols, (cell + 0.25) * nrows), layout="constrained")
    axes, _, _ = _grid_axes(fig, n, ncols)
    for i, ax in enumerate(axes):
        img = images[i]
        if img.ndim == 2 and not scale_each:
            ax.imshow(img, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(img, cmap=cmap, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=8, color="black" if colors is None else colors[i])
    return fig


def _class_name(label: int, class_names) -> str:
    return str(label) if class_names is None else str(class_names[int(label)])


# ----------------------------------------------------------------------------------------
# Images, predictions, training curves, confusion matrices
# ----------------------------------------------------------------------------------------


def show_images(images, labels=None, ncols: int = 8, mean_image=None,
                class_names=None) -> Figure:
    """A grid of images, one axes each, titled with their labels.

    Shapes: images ``(N, C, H, W)``, ``(N, H, W, C)`` or grey ``(N, H, W)``;
    labels ``(N,)`` (class indices, named through ``class_names``) or strings;
    mean_image ``(C, H, W)`` or ``(H, W, C)``, added back before display.
    Values in [0, 1] or [0, 255] are shown as they are; other ranges are min-max scaled per
    image. Returns a Figure with N axes. Raises ValueError for other shapes.
    """
    x = _prepare_images(images, mean_image)
    titles = None
    if labels is not None:
        labels = list(_numpy(labels)) if not isinstance(labels, list | tuple) else labels
        if len(labels) != len(x):
            raise ValueError(f"{len(x)} images but {len(labels)} labels.")
        titles = [lab if isinstance(lab, str) else _class_name(lab, class_names)
                  for lab in labels]
    return _image_grid(x, titles, ncols)


def plot_predictions(X, y_true, y_pred, class_names=None, n: int = 16, mean_image=None,
                     ncols: int = 8) -> Figure:
    """The first ``n`` images with their predicted class; wrong ones in red with the truth.

    Shapes: X ``(N, C, H, W)`` or ``(N, H, W, C)``; y_true, y_pred ``(N,)``.
    Titles read ``"cat"`` (right, green) or ``"x dog (cat)"`` (predicted dog, truly cat; red).
    Returns a Figure with ``min(n, N)`` axes. Raises ValueError for mismatched lengths.
    """
    y_true, y_pred = _numpy(y_true).ravel(), _numpy(y_pred).ravel()
    if not (len(_numpy(X)) == len(y_true) == len(y_pred)):
        raise ValueError(
            f"X, y_true and y_pred must have the same length; got {len(_numpy(X))}, "
            f"{len(y_true)} and {len(y_pred)}."
        )
    n = min(n, len(y_true))
    x = _prepare_images(_numpy(X)[:n], mean_image, "X")
    titles, colors = [], []
    for t, p in zip(y_true[:n], y_pred[:n], strict=True):
        if t == p:
            titles.append(_class_name(p, class_names))
            colors.append("green")
        else:
            titles.append(f"x {_class_name(p, class_names)} ({_class_name(t, class_names)})")
            colors.append("red")
    fig = _image_grid(x, titles, ncols, colors)
    wrong = int((y_true[:n] != y_pred[:n]).sum())
    fig.suptitle(f"predictions: {wrong} of {n} wrong (red: predicted (true))")
    return fig


def plot_history(history) -> Figure:
    """Loss and accuracy per epoch, train vs validation, on two axes.

    ``history`` is a ``train.History`` or a dict with per-epoch lists ``train_loss``,
    ``train_acc`` and optionally ``val_loss``, ``val_acc`` (``None`` entries are skipped)
    and ``iter_loss`` (every mini-batch's loss, drawn faintly behind the epoch averages).
    Returns a Figure with two axes titled 'loss' and 'accuracy'.
    Raises ValueError if the history has no epochs.
    """
    train_loss = list(history.get("train_loss", []))
    if not train_loss:
        raise ValueError("the history has no epochs to plot (train_loss is empty).")
    epochs = list(history.get("epoch") or range(1, len(train_loss) + 1))
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)

    iter_loss = list(history.get("iter_loss", []))
    if iter_loss:
        # Iteration i of E*B iterations ends at epoch (i + 1) / B.
        per_epoch = len(iter_loss) / len(train_loss)
        xs = (np.arange(len(iter_loss)) + 1) / per_epoch
        ax_loss.plot(xs, iter_loss, color="tab:blue", alpha=0.25, lw=0.8, label="batch loss")
    ax_loss.plot(epochs, train_loss, "o-", color="tab:blue", label="train")
    ax_acc.plot(epochs, history.get("train_acc", []), "o-", color="tab:blue", label="train")
    for key, ax in (("val_loss", ax_loss), ("val_acc", ax_acc)):
        pts = [(e, v) for e, v in zip(epochs, history.get(key) or [], strict=False)
               if v is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), "s-", color="tab:orange", label="validation")
    for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def confusion_matrix(y_true, y_pred, num_classes: int | None = None,
                     normalize: bool = False) -> np.ndarray:
    """Counts ``C[i, j]`` = number of images of true class i predicted as class j.

    Shapes: y_true, y_pred ``(N,)`` integer labels; returns ``(K, K)`` with
    ``K = num_classes`` or ``max label + 1``. ``normalize=True`` divides each row by its total
    (each row then sums to 1: the diagonal is the per-class recall; empty rows stay 0).
    Raises ValueError for mismatched lengths, negative / too-large labels, and labels that
    are not whole numbers (2.7 is refused, never truncated to 2).
    """
    y_true = argcheck.labels(_numpy(y_true), "y_true")
    y_pred = argcheck.labels(_numpy(y_pred), "y_pred")
    if num_classes is not None:
        num_classes = argcheck.integer(num_classes, "num_classes", minimum=1)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}.")
    k = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    if num_classes is not None:
        if k > num_classes:
            raise ValueError(f"labels go up to {k - 1} but num_classes is {num_classes}.")
        k = num_classes
    if min(y_true.min(initial=0), y_pred.min(initial=0)) < 0:
        raise ValueError("labels must be class indices 0..K-1; found a negative label.")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    if not normalize:
        return counts
    totals = counts.sum(axis=1, keepdims=True)
    return counts / np.where(totals > 0, totals, 1)


def plot_confusion_matrix(y_true, y_pred, class_names=None, normalize: bool = False) -> Figure:
    """Heat map of :func:`confusion_matrix` (rows: true class, columns: predicted class).

    With ``class_names`` (length K) the axes are labelled by name; cells are annotated when
    K <= 20. Returns a Figure whose first axes holds the (K, K) image (plus a colour bar).
    """
    k = None if class_names is None else len(class_names)
    cm = confusion_matrix(y_true, y_pred, k, normalize)
    k = len(cm)
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    size = min(3 + 0.45 * k, 12)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(confusion_matrix(y_true, y_pred, k)) / max(len(_numpy(y_true)), 1)
    ax.set_title(f"confusion matrix{' (rows sum to 1)' if normalize else ''}; "
                 f"accuracy {accuracy:.3f}")
    if k <= 20:
        threshold = cm.max() / 2 if cm.max() > 0 else 1
        for i in range(k):
            for j in range(k):
                text = f"{cm[i, j]:.2f}" if normalize else str(cm[i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > threshold else "black")
    return fig


# ----------------------------------------------------------------------------------------
# First-layer filters
# ----------------------------------------------------------------------------------------


def tile_filters(weights, ncols: int | None = None, pad: int = 1, channels: str = "auto",
                 pad_value: float = 1.0) -> np.ndarray:
    """Tile conv filters ``(F, C, k, k)`` into one image, each filter scaled to [0, 1].

    Each filter is min-max normalised on its own, over all its channels together (as in the
    AlexNet and ZFNet figures), so colours within a filter keep their balance.

    channels: ``'auto'`` shows C=3 as RGB and anything else by its first channel in grey;
    ``'rgb'``, ``'first'`` force those; ``'separate'`` gives one grey tile per channel
    (a row per filter, a column per channel, ``ncols`` ignored).

    Returns ``(rows * (kh + pad) + pad, cols * (kw + pad) + pad)`` plus a trailing 3 for RGB,
    with ``cols = ncols or ceil(sqrt(F))`` and ``rows = ceil(F / cols)``.
    Raises ValueError if weights are not 4-D or 'rgb' is asked of C != 3.
    """
    w = _numpy(weights).astype(np.float64)
    if w.ndim != 4:
        raise ValueError(f"weights must be (F, C, kh, kw); got shape {w.shape}.")
    f, c, kh, kw = w.shape
    if channels == "auto":
        channels = "rgb" if c == 3 else "first"
    if channels not in ("rgb", "first", "separate"):
        raise ValueError(f"channels must be 'auto', 'rgb', 'first' or 'separate'; got {channels!r}")
    if channels == "rgb" and c != 3:
        raise ValueError(f"channels='rgb' needs 3 input channels; these filters have {c}.")

    lo = w.min(axis=(1, 2, 3), keepdims=True)
    span = w.max(axis=(1, 2, 3), keepdims=True) - lo
    w = np.where(span > 0, (w - lo) / np.where(span > 0, span, 1), 0.5)  # flat filter -> grey

    if channels == "rgb":
        tiles = w.transpose(0, 2, 3, 1)  # (F, kh, kw, 3)
        rows, cols = _rows_cols(f, ncols)
    elif channels == "first":
        tiles = w[:, 0]
        rows, cols = _rows_cols(f, ncols)
    else:
        tiles = w.reshape(f * c, kh, kw)  # filter-major: row f holds its C channels
        rows, cols = f, c

    shape = (rows * (kh + pad) + pad, cols * (kw + pad) + pad) + tiles.shape[3:]
    grid = np.full(shape, pad_value, dtype=np.float64)
    for i, tile in enumerate(tiles):
        r, q = divmod(i, cols)
        top, left = pad + r * (kh + pad), pad + q * (kw + pad)
        grid[top:top + kh, left:left + kw] = tile
    return grid


def _rows_cols(n: int, ncols: int | None) -> tuple[int, int]:
    cols = ncols or math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def filter_grid(weights, ncols: int | None = None, pad: int = 1, channels: str = "auto",
                title: str | None = None) -> Figure:
    """Figure of all filters of a conv layer, tiled by :func:`tile_filters`.

    weights: ``(F, C, k, k)`` NumPy or torch (``model.conv1.weight``). Returns a Figure with
    one axes whose image is the tiled grid (RGB for C=3, grey otherwise).
    """
    grid = tile_filters(weights, ncols, pad, channels)
    f, c, kh, kw = _numpy(weights).shape
    fig = Figure(figsize=(min(1 + grid.shape[1] / 8, 12), min(1 + grid.shape[0] / 8, 12)),
                 layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{f} filters of size {c}x{kh}x{kw} (each scaled to [0, 1])")
    return fig


# ----------------------------------------------------------------------------------------
# Activations, receptive fields and top patches
# ----------------------------------------------------------------------------------------


def _find_layer(model: nn.Module, layer) -> tuple[str, nn.Module]:
    """A layer given by name ('features.3'), index (for nn.Sequential) or module object."""
    named = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, module in named.items():
            if module is layer:
                return name or type(layer).__name__, layer
        raise ValueError(f"the layer {layer} is not part of this model.")
    key = str(layer)
    if key in named and key != "":
        return key, named[key]
    choices = ", ".join(repr(n) for n in named if n) or "(none)"
    raise ValueError(f"the model has no layer named {layer!r}; its layers are: {choices}.")


def _batch(model: nn.Module, x) -> torch.Tensor:
    """x as a float batch (N, C, H, W) on the model's device; one (C, H, W) image allowed."""
    x = torch.as_tensor(_numpy(x) if not isinstance(x, torch.Tensor) else x)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(
            f"expected an image (C, H, W) or a batch (N, C, H, W); got shape {tuple(x.shape)}."
        )
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    return x.to(device=device, dtype=dtype)


def get_activations(model: nn.Module, layer, x, batch_size: int = 256) -> torch.Tensor:
    """The output of one layer of ``model`` for the input ``x``, via a forward hook.

    Shapes: x ``(N, C, H, W)`` or one image ``(C, H, W)`` (treated as N=1); returns the
    layer's output for the batch, e.g. ``(N, F, H', W')`` for a conv layer, as a detached CPU
    tensor. The model runs in eval mode without gradients (its mode is restored after).
    layer: a name from ``model.named_modules()`` ('features.0'), an index of an
    nn.Sequential, or the module itself. Raises ValueError for an unknown layer.
    """
    from .train import eval_mode

    name, module = _find_layer(model, layer)
    x = _batch(model, x)
    outputs = []
    # clone: an in-place ReLU after this layer would otherwise overwrite what we stored
    handle = module.register_forward_hook(
        lambda mod, inp, out: outputs.append(out.detach().clone()))
    try:
        with eval_mode(model):
            for i in range(0, len(x), batch_size):
                before = len(outputs)
                model(x[i:i + batch_size])
                if len(outputs) == before:
                    raise RuntimeError(f"the layer {name!r} was not used in the forward pass.")
                # A module used twice in one pass: keep its last output.
                outputs[before:] = [outputs[-1]]
    finally:
        handle.remove()
    return torch.cat(outputs).cpu()


def activation_maps(model: nn.Module, layer, image, max_maps: int = 16,
                    ncols: int = 8) -> Figure:
    """The feature maps one conv layer computes for one image, one axes per channel.

    Shapes: image ``(C, H, W)`` (or ``(1, C, H, W)``); the layer must output
    ``(1, F, H', W')``. Shows the first ``min(F, max_maps)`` maps, each ``(H', W')``, each
    with its own colour scale (bright = strong response). Raises ValueError for a batch of
    several images or a layer that does not output feature maps.
    """
    x = _batch(model, image)
    if len(x) != 1:
        raise ValueError(f"activation_maps shows one image; got a batch of {len(x)}.")
    name, _ = _find_layer(model, layer)
    acts = get_activations(model, layer, x)
    if acts.ndim != 4:
        raise ValueError(
            f"layer {name!r} outputs shape {tuple(acts.shape)}, not feature maps (1, F, H', W'); "
            "choose a conv, activation or pooling layer."
        )
    maps = acts[0, :max_maps].numpy()
    titles = [f"ch {i}" for i in range(len(maps))]
    fig = _image_grid(maps, titles, ncols, cmap="viridis", scale_each=True)
    f, h, w = acts.shape[1:]
    shown = "" if f <= max_maps else f" (first {max_maps})"
    fig.suptitle(f"layer {name!r}: {f} activation maps of {h}x{w}{shown}")
    return fig


def _square(value, what: str, layer) -> int:
    """An int from an int or a square (a, a) tuple."""
    if isinstance(value, tuple | list):
        if len(set(value)) != 1:
            raise ValueError(f"{layer} has a non-square {what} {tuple(value)}; only square "
                             "kernels, strides and paddings are supported here.")
        value = value[0]
    return int(value)


def layer_receptive_field(model: nn.Module, layer) -> tuple[int, int, int]:
    """Receptive field of one unit of ``layer``'s output, as ``(size, jump, start)``.

    Unit ``(i, j)`` of that output sees the input rows ``start + i*jump`` to
    ``start + i*jump + size - 1`` (columns the same); ``start`` is negative when padding
    puts part of the window outside the image. Composed layer by layer (k: kernel, s: stride,
    p: padding, d: dilation)::

        size  += (d*(k - 1)) * jump
        start -= p * jump
        jump  *= s

    Example: three 3x3 convs with stride 1 give size 7 (the lecture's 3 -> 5 -> 7).
    Walks the model's modules in the order they were registered, which is the forward order
    for nn.Sequential stacks of Conv2d / MaxPool2d / AvgPool2d (activations, batch norm and
    dropout do not change it). Raises ValueError if a Linear, Flatten or adaptive pooling
    comes before the layer, or for non-square kernels.
    """
    name, target = _find_layer(model, layer)
    leaves = [m for m in model.modules() if not list(m.children())]
    target_ids = {id(m) for m in target.modules()}
    last = max((i for i, m in enumerate(leaves) if id(m) in target_ids), default=None)
    if last is None:
        raise ValueError(f"layer {name!r} has no modules to compute a receptive field for.")
    steps = []
    for m in leaves[:last + 1]:
        if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k = _square(m.kernel_size, "kernel", m)
            s = _square(m.stride, "stride", m)
            d = _square(getattr(m, "dilation", 1), "dilation", m)
            if isinstance(m.padding, str):  # Conv2d(padding='same' | 'valid')
                p = 0 if m.padding == "valid" else d * (k - 1) // 2
            else:
                p = _square(m.padding, "padding", m)
            steps.append((k, s, d, p))
        elif isinstance(m, nn.Linear | nn.Flatten | nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            raise ValueError(
                f"a {type(m).__name__} comes before layer {name!r}: its units see the whole "
                "image, so there is no local receptive field to compute."
            )
    if not steps:
        return 1, 1, 0
    from cs231n_lib import arithmetic

    field = arithmetic.receptive_field(steps)
    # arithmetic gives the centre of unit 0's window; the patches need its first row.
    return field.size, field.jump, int(round(field.start - (field.size - 1) / 2))


def top_patches(model: nn.Module, layer, channel: int, images, k: int = 9,
                receptive_field: tuple[int, int, int] | None = None,
                batch_size: int = 256, ncols: int = 9):
    """The ``k`` image patches that excite one channel of ``layer`` the most (Zeiler & Fergus).

    For every image, take the position of the channel's strongest response; rank the images
    by that response; crop each of the best ``k`` to the receptive field of that position
    (zeros outside the image, where the network saw padding).

    Shapes: images ``(N, C, H, W)``; returns ``(patches, fig)`` with patches a NumPy array
    ``(min(k, N), C, size, size)``, size the receptive field of ``layer`` (from
    :func:`layer_receptive_field`, or ``receptive_field=(size, jump, start)`` from you), and a
    Figure with k axes titled with the image index and the activation.
    Raises ValueError if channel is not in ``0..F-1`` or k < 1.
    """
    x = _numpy(images)
    if x.ndim != 4:
        raise ValueError(f"images must be a batch (N, C, H, W); got shape {x.shape}.")
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}.")
    k = min(k, len(x))  # one patch per image at most
    acts = get_activations(model, layer, x, batch_size)
    if acts.ndim != 4:
        raise ValueError(f"layer {layer!r} outputs {tuple(acts.shape)}, not feature maps.")
    if not 0 <= channel < acts.shape[1]:
        raise ValueError(f"channel must be in 0..{acts.shape[1] - 1}; got {channel}.")
    size, jump, start = receptive_field or layer_receptive_field(model, layer)

    maps = acts[:, channel].numpy()  # (N, H', W')
    flat = maps.reshape(len(maps), -1)
    best_pos = flat.argmax(axis=1)
    best_val = flat[np.arange(len(flat)), best_pos]
    order = np.argsort(-best_val, kind="stable")[:k]

    margin = size + abs(start)
    padded = np.pad(x, ((0, 0), (0, 0), (margin, margin), (margin, margin)))
    patches, titles = [], []
    for n in order:
        i, j = divmod(int(best_pos[n]), maps.shape[2])
        top, left = start + i * jump + margin, start + j * jump + margin
        patches.append(padded[n, :, top:top + size, left:left + size])
        titles.append(f"img {n}: {best_val[n]:.2f}")
    patches = np.stack(patches)
    fig = _image_grid(_prepare_images(patches, name="patches"), titles, ncols)
    fig.suptitle(f"top {k} patches for channel {channel} of {layer!r} "
                 f"(receptive field {size}x{size})")
    return patches, fig


# ----------------------------------------------------------------------------------------
# Which pixels matter: occlusion and saliency
# ----------------------------------------------------------------------------------------


def _single_image(model: nn.Module, image) -> torch.Tensor:
    x = _batch(model, image)
    if len(x) != 1:
        raise ValueError(f"expected one image (C, H, W); got a batch of {len(x)}.")
    return x


def _check_target(scores: torch.Tensor, target: int) -> None:
    if not 0 <= target < scores.shape[1]:
        raise ValueError(f"target must be a class in 0..{scores.shape[1] - 1}; got {target}.")


def occlusion_map(model: nn.Module, image, target: int, patch: int = 8, stride: int = 4,
                  fill: float = 0.0, batch_size: int = 64) -> np.ndarray:
    """How much the probability of ``target`` drops when a square of the image is hidden.

    Slides a ``patch x patch`` square of value ``fill`` over the image with ``stride``
    (Zeiler & Fergus 2014); each position gives ``p(target | image) - p(target | occluded)``,
    so large positive values mark the regions the prediction depends on.

    Shapes: image ``(C, H, W)``; returns ``(H', W')`` with ``H' = (H - patch) // stride + 1``
    (a last strip narrower than the stride is not covered). Use ``fill=0`` for mean-subtracted
    data (0 is the mean colour). Raises ValueError if the patch is larger than the image or
    target is not a class of the model.
    """
    from .train import eval_mode

    x = _single_image(model, image)
    _, _, h, w = x.shape
    if not (1 <= patch <= min(h, w)) or stride < 1:
        raise ValueError(f"need 1 <= patch <= {min(h, w)} and stride >= 1; "
                         f"got patch={patch}, stride={stride}.")
    rows = range(0, h - patch + 1, stride)
    cols = range(0, w - patch + 1, stride)
    corners = [(r, c) for r in rows for c in cols]
    with eval_mode(model):
        scores = model(x)
        _check_target(scores, target)
        base = torch.softmax(scores.float(), dim=1)[0, target].item()
        drops = []
        for i in range(0, len(corners), batch_size):
            chunk = corners[i:i + batch_size]
            occluded = x.repeat(len(chunk), 1, 1, 1)
            for b, (r, c) in enumerate(chunk):
                occluded[b, :, r:r + patch, c:c + patch] = fill
            probs = torch.softmax(model(occluded).float(), dim=1)[:, target]
            drops.append(base - probs.cpu().numpy())
    return np.concatenate(drops).reshape(len(rows), len(cols))


def saliency_map(model: nn.Module, image, target: int) -> np.ndarray:
    """Gradient saliency (Simonyan et al. 2014): ``max_c |d score_target / d x[c, i, j]|``.

    Uses the raw class score (before softmax) in eval mode. Shapes: image ``(C, H, W)``;
    returns ``(H, W)``, large where a small change of the pixel moves the score most.
    Raises ValueError if target is not a class of the model.
    """
    from .train import eval_mode

    x = _single_image(model, image).clone().requires_grad_(True)
    with eval_mode(model, no_grad=False):
        scores = model(x)
        _check_target(scores, target)
        (grad,) = torch.autograd.grad(scores[0, target], x)  # model weights get no .grad
    return grad.abs().amax(dim=1)[0].cpu().numpy()


def _image_and_heatmap(image, heat: np.ndarray, heat_title: str, mean_image=None,
                       cmap: str = "hot", symmetric: bool = False) -> Figure:
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax_img, ax_heat = fig.subplots(1, 2)
    img = _numpy(image)
    img = img[0] if img.ndim == 4 else img
    ax_img.imshow(_prepare_images(img[None], mean_image)[0], cmap="gray",
                  interpolation="nearest")
    ax_img.set_title("image")
    if symmetric:
        m = float(np.abs(heat).max()) or 1.0
        im = ax_heat.imshow(heat, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
    else:
        im = ax_heat.imshow(heat, cmap=cmap, interpolation="nearest")
    ax_heat.set_title(heat_title)
    fig.colorbar(im, ax=ax_heat, shrink=0.85)
    for ax in (ax_img, ax_heat):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_occlusion_map(image, heatmap, patch: int | None = None, stride: int | None = None,
                       mean_image=None) -> Figure:
    """The image beside its :func:`occlusion_map` (red: hiding it lowers the probability).

    Shapes: image ``(C, H, W)`` or ``(H, W, C)``; heatmap ``(H', W')``. Returns a Figure with
    axes [image, heat map, colour bar].
    """
    where = "" if patch is None else f" ({patch}x{patch} patch, stride {stride})"
    return _image_and_heatmap(image, _numpy(heatmap), f"drop in probability{where}",
                              mean_image, cmap="RdBu_r", symmetric=True)


def plot_saliency_map(image, saliency, mean_image=None) -> Figure:
    """The image beside its :func:`saliency_map`. Returns a Figure: [image, map, colour bar]."""
    return _image_and_heatmap(image, _numpy(saliency), "saliency |d score / d pixel|",
                              mean_image)


# ----------------------------------------------------------------------------------------
# Convolution arithmetic pictures
# ----------------------------------------------------------------------------------------

# Cell colours (RGB) for the arithmetic pictures.
_PAD = (0.86, 0.86, 0.86)  # padding: grey
_INPUT = (0.74, 0.86, 0.97)  # input pixels: light blue
_WINDOW_INPUT = (0.16, 0.44, 0.80)  # window over input pixels: strong blue
_WINDOW_PAD = (0.55, 0.62, 0.72)  # window over padding: grey-blue
_OUT_TODO = (1.0, 1.0, 1.0)
_OUT_DONE = (0.72, 0.90, 0.72)
_OUT_NOW = (0.13, 0.55, 0.13)


def conv_output_size(in_size: int, kernel: int, stride: int = 1, pad: int = 0,
                     strict: bool = True) -> int:
    """Output width ``(N - F + 2P) / S + 1`` of a convolution or pooling layer.

    The figures below use the one rule of :func:`cs231n_lib.arithmetic.conv_output_size`:
    ``strict=True`` demands that the stride tiles the padded input exactly, as in the
    lectures (ValueError naming the fraction otherwise); ``strict=False`` rounds down like
    PyTorch.
    """
    from cs231n_lib import arithmetic

    return arithmetic.conv_output_size(in_size, kernel, stride, pad,
                                       rounding="exact" if strict else "floor")


def _grid_lines(ax, n_rows: int, n_cols: int) -> None:
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(which="minor", color="black", linewidth=0.6)
    ax.tick_params(which="both", length=0)


def _draw_conv_step(ax_in, ax_out, in_size: int, kernel: int, stride: int, pad: int,
                    step: int) -> None:
    """Draw one step of the sliding window onto two (cleared) axes."""
    out = conv_output_size(in_size, kernel, stride, pad)
    r, c = divmod(step, out)
    n = in_size + 2 * pad

    grid = np.empty((n, n, 3))
    grid[:] = _PAD
    grid[pad:pad + in_size, pad:pad + in_size] = _INPUT
    window = (slice(r * stride, r * stride + kernel), slice(c * stride, c * stride + kernel))
    is_pad = np.ones((n, n), dtype=bool)
    is_pad[pad:pad + in_size, pad:pad + in_size] = False
    win = np.zeros((n, n), dtype=bool)
    win[window] = True
    grid[win & is_pad] = _WINDOW_PAD
    grid[win & ~is_pad] = _WINDOW_INPUT

    out_grid = np.empty((out, out, 3))
    out_grid[:] = _OUT_TODO
    out_grid.reshape(-1, 3)[:step] = _OUT_DONE
    out_grid[r, c] = _OUT_NOW

    for ax in (ax_in, ax_out):
        ax.clear()
    ax_in.imshow(grid, interpolation="nearest")
    ax_out.imshow(out_grid, interpolation="nearest")
    _grid_lines(ax_in, n, n)
    _grid_lines(ax_out, out, out)
    # The window outline and, dashed, the border of the real (unpadded) input.
    ax_in.add_patch(mpatches.Rectangle((c * stride - 0.5, r * stride - 0.5), kernel, kernel,
                                       fill=False, edgecolor="navy", linewidth=2.5))
    if pad:
        ax_in.add_patch(mpatches.Rectangle((pad - 0.5, pad - 0.5), in_size, in_size,
                                           fill=False, edgecolor="black", linewidth=1.5,
                                           linestyle="--"))
    padded = f" + padding {pad} (grey) = {n}x{n}" if pad else ""
    ax_in.set_title(f"input {in_size}x{in_size}{padded}\n{kernel}x{kernel} kernel, "
                    f"stride {stride}", fontsize=10)
    ax_out.set_title(f"output {out}x{out}\ncell ({r}, {c}) = step {step + 1} of {out * out}",
                     fontsize=10)


def _conv_figure(in_size: int, kernel: int, stride: int, pad: int):
    out = conv_output_size(in_size, kernel, stride, pad)
    n = in_size + 2 * pad
    fig = Figure(figsize=(2.5 + 0.35 * (n + out), 0.6 + 0.4 * n), layout="constrained")
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[n, max(out, 1)])
    fig.suptitle(f"(N - F + 2P)/S + 1 = ({in_size} - {kernel} + 2*{pad})/{stride} + 1 = {out}")
    return fig, ax_in, ax_out, out


def conv_arithmetic_figure(in_size: int, kernel: int, stride: int = 1, pad: int = 0,
                           step: int = 0) -> Figure:
    """One step of a ``kernel x kernel`` window sliding over a padded ``in_size`` input.

    Left: the padded input (padding cells grey, real input light blue, dashed border) with
    the current window in strong blue. Right: the output grid, cells already computed in
    light green and the current one (step ``step``, row-major) in dark green.
    Returns a Figure with two axes; their images are ``(N + 2P, N + 2P, 3)`` and
    ``(out, out, 3)``. Raises ValueError when the stride does not fit (naming
    ``(N - F + 2P)/S + 1``) or step is not in ``0..out*out - 1``.
    """
    fig, ax_in, ax_out, out = _conv_figure(in_size, kernel, stride, pad)
    if not 0 <= step < out * out:
        raise ValueError(f"step must be in 0..{out * out - 1} (the {out}x{out} output cells); "
                         f"got {step}.")
    _draw_conv_step(ax_in, ax_out, in_size, kernel, stride, pad, step)
    return fig


def conv_arithmetic_animation(in_size: int, kernel: int, stride: int = 1, pad: int = 0,
                              interval: int = 600):
    """A ``FuncAnimation`` of every step of :func:`conv_arithmetic_figure` (not shown).

    In Jupyter: ``from IPython.display import HTML; HTML(anim.to_jshtml())``.
    Has ``out * out`` frames, ``interval`` milliseconds apart. Raises like the figure.
    """
    from matplotlib.animation import FuncAnimation

    fig, ax_in, ax_out, out = _conv_figure(in_size, kernel, stride, pad)

    def draw(step):
        _draw_conv_step(ax_in, ax_out, in_size, kernel, stride, pad, step)
        return []

    draw(0)
    return FuncAnimation(fig, draw, frames=out * out, interval=interval, repeat=True)


def conv_arithmetic_widget(in_size: int, kernel: int, stride: int = 1, pad: int = 0):
    """An ipywidgets slider that steps the window of :func:`conv_arithmetic_figure`.

    Returns a ``VBox([IntSlider, Output])``; the slider runs over ``0..out*out - 1`` and each
    change redraws the figure in the Output. Raises like the figure.
    """
    import ipywidgets as widgets
    from IPython.display import display

    out = conv_output_size(in_size, kernel, stride, pad)
    slider = widgets.IntSlider(value=0, min=0, max=out * out - 1, description="step",
                               continuous_update=True)
    view = widgets.Output()

    def redraw(change=None):
        fig = conv_arithmetic_figure(in_size, kernel, stride, pad, slider.value)
        with view:
            view.clear_output(wait=True)
            display(fig)

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, view])


def receptive_field_figure(layers, in_size: int, unit: tuple[int, int] | None = None) -> Figure:
    """Which cells of each layer, and of the input, one output unit depends on.

    layers: tuples ``(kernel, stride)``, ``(kernel, stride, dilation)`` or
    ``(kernel, stride, dilation, pad)``, first layer first -- the same tuples as
    :func:`cs231n_lib.arithmetic.receptive_field`, so one list can go to both.
    in_size: input width (square). unit: ``(row, col)`` in the last layer (default: centre).
    Layer sizes round down like PyTorch. Going back through a layer, rows ``lo..hi`` come from
    rows ``lo*s - p .. hi*s - p + d*(k - 1)`` of the layer before (a dilated kernel spans
    ``d*(k - 1) + 1`` rows and uses every d-th one; the figure colours the whole span).

    Returns a Figure with ``len(layers) + 1`` axes (input first), each image
    ``(size, size, 3)`` with the contributing cells coloured; on the input, outlines show the
    receptive field of one unit of each layer growing (e.g. 3 -> 5 -> 7 for three 3x3 convs).
    Raises ValueError if a tuple is malformed, a layer does not fit or unit is outside the
    last layer.
    """
    specs = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, tuple) or not 2 <= len(spec) <= 4:
            raise ValueError(f"layer {i + 1}: expected (kernel, stride[, dilation[, pad]]) "
                             f"as for arithmetic.receptive_field; got {spec!r}.")
        k, s, d, p = (*map(int, spec), *(1, 0)[len(spec) - 2:])
        specs.append((k, s, d, p))
    if not specs:
        raise ValueError("layers is empty; give at least one (kernel, stride).")
    sizes = [int(in_size)]
    for k, s, d, p in specs:
        sizes.append(conv_output_size(sizes[-1], d * (k - 1) + 1, s, p, strict=False))
    last = sizes[-1]
    unit = (last // 2, last // 2) if unit is None else tuple(unit)
    if not all(0 <= u < last for u in unit):
        raise ValueError(f"unit must lie in the last layer's {last}x{last} grid; got {unit}.")

    def back(lo: int, hi: int, upto: int) -> list[tuple[int, int]]:
        """Row ranges, one per level 0..upto, that feed rows lo..hi of level ``upto``."""
        ranges = [(lo, hi)]
        for k, s, d, p in reversed(specs[:upto]):
            lo, hi = lo * s - p, hi * s - p + d * (k - 1)
            ranges.append((lo, hi))
        return ranges[::-1]

    rows, cols = back(unit[0], unit[0], len(specs)), back(unit[1], unit[1], len(specs))
    rf = rows[0][1] - rows[0][0] + 1

    n_axes = len(sizes)
    fig = Figure(figsize=(3.2 * n_axes, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n_axes, width_ratios=sizes))
    for level, (ax, size) in enumerate(zip(axes, sizes, strict=True)):
        img = np.ones((size, size, 3))
        (r0, r1), (c0, c1) = rows[level], cols[level]
        colour = _OUT_NOW if level == len(specs) else _INPUT
        img[max(r0, 0):r1 + 1, max(c0, 0):c1 + 1] = colour
        ax.imshow(img, interpolation="nearest")
        _grid_lines(ax, size, size)
        if level == 0:
            ax.set_title(f"input {size}x{size}", fontsize=10)
        else:
            k, s, d, p = specs[level - 1]
            dilation = f", dilation {d}" if d > 1 else ""
            ax.set_title(f"layer {level}: {size}x{size}\n({k}x{k}, stride {s}{dilation}, "
                         f"pad {p})", fontsize=10)

    # On the input: the receptive field of one unit of every layer, on the path to `unit`.
    for level in range(1, len(specs) + 1):
        centre_r = (rows[level][0] + rows[level][1]) // 2
        centre_c = (cols[level][0] + cols[level][1]) // 2
        (r0, r1), (c0, c1) = back(centre_r, centre_r, level)[0], back(centre_c, centre_c, level)[0]
        axes[0].add_patch(mpatches.Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1,
                                             fill=False, linewidth=2, edgecolor=f"C{level}",
                                             label=f"layer {level}: {r1 - r0 + 1}x{c1 - c0 + 1}"))
    axes[0].legend(loc="upper left", bbox_to_anchor=(0, -0.02), fontsize=8, frameon=False)
    inside = (min(rows[0][1], in_size - 1) - max(rows[0][0], 0) + 1) * (
        min(cols[0][1], in_size - 1) - max(cols[0][0], 0) + 1)
    note = "" if inside == rf * rf else f" ({inside} of its {rf * rf} cells inside the image)"
    fig.suptitle(f"unit {unit} of layer {len(specs)} sees a {rf}x{rf} region of the input{note}")
    return fig
