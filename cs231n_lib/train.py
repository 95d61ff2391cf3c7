"""Train, evaluate and predict with a PyTorch model: the loop every notebook shares.

``fit`` is the classic mini-batch loop made visible: shuffle, (augment), forward, loss,
backward, step; then evaluate on the validation set once per epoch. Around that loop it adds
what a student needs to trust the numbers:

* a progress bar (``tqdm.auto``: a widget in Jupyter, text in a terminal) with the running
  loss and accuracy;
* a :class:`History` of every epoch (and every iteration's loss) with a ``.plot()``;
* the best validation-accuracy weights kept in memory (and optionally in a file) and put
  back at the end, so a late blow-up does not cost the good model;
* clear errors for the usual mistakes: labels out of range, ``(N, H, W, C)`` images, a loss
  that turns into NaN because the learning rate is too high.

Data are ``(X, y)`` pairs: ``X: (N, C, H, W)`` floats and ``y: (N,)`` integer labels, as
NumPy arrays or torch tensors (a ``torch.utils.data.Dataset`` of ``(x, y)`` items works too).
Wherever the data live, each batch is moved to the model's device, so data on the CPU and a
model on the GPU (or the reverse) just work.

Typical use::

    history = train.fit(model, (X_train, y_train), (X_val, y_val), epochs=5, lr=1e-3)
    history.plot()
    train.evaluate(model, (X_test, y_test))     # {'loss': 0.81, 'accuracy': 0.72}
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import argcheck, runtime
from .vis import plot_confusion_matrix, plot_history, plot_predictions

__all__ = [
    "History",
    "TrainingDiverged",
    "eval_mode",
    "evaluate",
    "fit",
    "frozen_batchnorm_layers",
    "load_checkpoint",
    "plot_confusion_matrix",
    "plot_history",
    "plot_predictions",
    "predict",
]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; ``.history`` holds the epochs so far."""

    def __init__(self, message: str, history: History | None = None):
        super().__init__(message)
        self.history = history


class History(dict):
    """What happened during :func:`fit`: a dict of per-epoch lists, plus the best epoch.

    Keys (one entry per epoch unless noted):
        ``epoch`` (1, 2, ...), ``train_loss``, ``train_acc`` (running averages over the
        epoch's mini-batches, in training mode), ``val_loss``, ``val_acc`` (``None`` without
        validation data), ``lr`` (the learning rate used in that epoch), ``time`` (seconds),
        and ``iter_loss``: the loss of every mini-batch, in order.

    Attributes: ``best_epoch`` and ``best_val_acc`` (``None`` without validation data),
    ``best_state`` (a CPU copy of the best weights), ``checkpoint_path``, and
    ``interrupted`` (True if you stopped training by hand: a KeyboardInterrupt ends fit
    early but still restores the best weights and returns the history).
    Keys also read as attributes: ``history.val_acc`` is ``history['val_acc']``.
    """

    EPOCH_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time")

    def __init__(self):
        super().__init__({key: [] for key in self.EPOCH_KEYS})
        self["iter_loss"] = []
        self.best_epoch: int | None = None
        self.best_val_acc: float | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.checkpoint_path: Path | None = None
        self.interrupted = False

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def plot(self):
        """Loss and accuracy curves, train vs validation: a matplotlib Figure."""
        return plot_history(self)

    def __repr__(self) -> str:
        n = len(self["epoch"])
        if n == 0:
            return "History(no epochs)"
        last = (
            f"train loss {self['train_loss'][-1]:.4f}, acc {self['train_acc'][-1]:.3f}"
        )
        if self["val_acc"][-1] is not None:
            last += f"; val loss {self['val_loss'][-1]:.4f}, acc {self['val_acc'][-1]:.3f}"
        best = "" if self.best_epoch is None else (
            f"; best val acc {self.best_val_acc:.3f} at epoch {self.best_epoch}"
        )
        return f"History({n} epochs; last: {last}{best})"


# ----------------------------------------------------------------------------------------
# Checking and converting the inputs
# ----------------------------------------------------------------------------------------


def _model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _check_images(X, name: str) -> torch.Tensor:
    """X as a float tensor of shape (N, C, H, W); clear errors otherwise."""
    X = torch.as_tensor(X)
    if X.ndim != 4:
        hint = " For one image, add a batch axis: x[None]." if X.ndim == 3 else ""
        raise ValueError(
            f"{name} must be a 4-D batch (N, C, H, W); got shape {tuple(X.shape)}.{hint}"
        )
    # (N, H, W, C) images: a last axis of 1 or 3 behind two image axes. Pooled features
    # (N, D, 1, 1) are not images and pass.
    if X.shape[-1] in (1, 3) and X.shape[1] not in (1, 3) and X.shape[2] > 3:
        raise ValueError(
            f"{name} has shape {tuple(X.shape)}, which looks like (N, H, W, C); PyTorch wants "
            "(N, C, H, W): use X.transpose(0, 3, 1, 2) (NumPy) or X.permute(0, 3, 1, 2) (torch)."
        )
    if not X.is_floating_point():
        raise TypeError(
            f"{name} has dtype {X.dtype}; the model needs floats. For 0..255 images use "
            "X.astype(np.float32) / 255 (and subtract the mean image)."
        )
    if not bool(torch.isfinite(X).all()):
        raise ValueError(f"{name} contains NaN or infinite values; clean the data first.")
    return X


def _as_xy(data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn ``(X, y)`` or a torch Dataset into checked tensors (left on their device)."""
    if isinstance(data, torch.utils.data.DataLoader):
        raise TypeError(
            f"{name} is a DataLoader; pass its data instead: fit(model, loader.dataset, ...) "
            "or an (X, y) pair. fit makes its own batches (batch_size=...) and augments "
            "with augment=...."
        )
    if isinstance(data, torch.utils.data.TensorDataset):
        data = data.tensors[:2]
    elif isinstance(data, torch.utils.data.Dataset):
        # A map-style dataset of (x, y) items: stack it once (course data sets are small).
        items = [data[i] for i in range(len(data))]
        data = (torch.stack([torch.as_tensor(x) for x, _ in items]),
                torch.as_tensor([int(y) for _, y in items]))
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(
            f"{name} must be an (X, y) pair of arrays or tensors; got {type(data).__name__}."
        )
    X = _check_images(data[0], f"{name} X")
    y = torch.as_tensor(data[1])
    if y.ndim != 1:
        raise ValueError(
            f"{name} labels y must be 1-D (N,) class indices; got shape {tuple(y.shape)}. "
            "(One-hot labels? use y.argmax(1).)"
        )
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} labels y must be integers 0..K-1; got dtype {y.dtype}.")
    if len(X) != len(y):
        raise ValueError(
            f"{name} has {len(X)} images but {len(y)} labels; they must match one to one."
        )
    if len(X) == 0:
        raise ValueError(f"{name} is empty.")
    return X, y.long()


def _check_outputs(scores: torch.Tensor, y: torch.Tensor, name: str) -> None:
    """The model must give (N, K) scores and every label must lie in 0..K-1."""
    if scores.ndim != 2:
        raise ValueError(
            f"the model's output has shape {tuple(scores.shape)}; a classifier must return "
            "(N, K) class scores (did you forget nn.Flatten() before the last Linear layer?)."
        )
    n_out = scores.shape[1]
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= n_out:
        raise ValueError(
            f"{name} labels run from {lo} to {hi}, but the model has {n_out} outputs, so "
            f"labels must lie in 0..{n_out - 1}. Give the last layer {hi + 1} outputs "
            "(or relabel the classes 0..K-1)."
        )


def _make_optimizer(optimizer, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """None -> Adam(lr); 'adam' / 'sgd' (momentum 0.9); an optimizer; or params -> optimizer."""
    if optimizer is None or optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    if optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(model.parameters())
    raise TypeError(
        f"optimizer must be None, 'adam', 'sgd', a torch optimizer or a function "
        f"params -> optimizer; got {optimizer!r}."
    )


def _make_scheduler(scheduler, optimizer):
    """None; a scheduler object (has .step); or a function optimizer -> scheduler."""
    if scheduler is None or hasattr(scheduler, "step"):
        return scheduler
    if callable(scheduler):
        return scheduler(optimizer)
    raise TypeError(
        f"scheduler must be None, a torch LR scheduler or a function optimizer -> scheduler; "
        f"got {scheduler!r}."
    )


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's weights (safe to keep while training goes on)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------------------
# The training loop
# ----------------------------------------------------------------------------------------


def fit(
    model: nn.Module,
    train_data,
    val_data=None,
    epochs: int = 1,
    optimizer=None,
    *,
    lr: float = 1e-3,
    batch_size: int = 64,
    loss_fn: Callable | None = None,
    augment: Callable | None = None,
    scheduler=None,
    device=None,
    seed: int = 0,
    progress: bool = True,
    checkpoint: str | Path | None = None,
    restore_best: bool = True,
    max_batches: int | None = None,
    verbose: bool = False,
    freeze_bn_stats: bool = True,
) -> History:
    """Train ``model`` with mini-batch gradient descent; return a :class:`History`.

    Shapes:
        train_data, val_data: ``(X, y)`` with ``X: (N, C, H, W)`` floats and ``y: (N,)``
        integer labels in ``0..K-1`` (NumPy or torch; or a torch Dataset of ``(x, y)``).
        The model maps ``(B, C, H, W)`` to class scores ``(B, K)``.

    Args:
        epochs: passes over the training set.
        optimizer: ``None`` (Adam with ``lr``), ``'adam'``, ``'sgd'`` (momentum 0.9), a torch
            optimizer over ``model.parameters()``, or a function ``params -> optimizer``.
        lr: learning rate for the optimizers fit builds itself.
        loss_fn: ``(scores, y) -> scalar loss``; default ``nn.CrossEntropyLoss()``
            (softmax + negative log-likelihood, averaged over the batch).
        augment: a transform ``t(x, rng) -> x'`` (see ``cs231n_lib.augment``) applied to each
            training batch before it is moved to the device; ``rng`` is a NumPy Generator
            derived from ``seed``. Never applied to validation data.
        scheduler: a torch LR scheduler, or a function ``optimizer -> scheduler`` (handy when
            fit builds the optimizer). Stepped once per epoch (``ReduceLROnPlateau`` gets the
            validation loss).
        device: where to train; ``None`` picks ``runtime.get_device()`` (CUDA when present).
            The model is moved there and so is every batch, wherever the data live.
        seed: seeds shuffling, augmentation and torch (dropout); the same seed gives the same
            history on the CPU.
        progress: show a ``tqdm`` progress bar per epoch with the running loss and accuracy.
        checkpoint: ``None`` or ``'best'`` keeps the best validation-accuracy weights in
            memory; a file path also saves them there (``torch.save``; read back with
            :func:`load_checkpoint`) every time they improve.
        restore_best: load the best weights back into the model at the end (needs val_data).
            Also done when you interrupt training (Ctrl-C, Jupyter's stop button).
        max_batches: stop each epoch after this many mini-batches (fast mode / smoke tests).
        verbose: print one summary line per epoch (useful with ``progress=False``).
        freeze_bn_stats: keep every batch-norm layer whose weight and bias are frozen
            (``requires_grad=False``) in evaluation mode while training, so that its running
            mean and variance stay fixed as well (see :func:`frozen_batchnorm_layers`).
            ``False`` puts the whole model in training mode, as ``model.train()`` does.

    Returns:
        A :class:`History`; ``history.best_epoch`` is the epoch whose weights the model holds
        at the end when ``restore_best`` and ``val_data`` are given.

    Raises:
        ValueError / TypeError: data of the wrong shape or type, mismatched lengths, labels
            outside ``0..K-1`` for a model with K outputs (checked on the first batch).
        TrainingDiverged (a RuntimeError): the loss became NaN or infinite; the message names
            the epoch and iteration and the usual cause (a learning rate that is too high).
    """
    epochs = argcheck.integer(epochs, "epochs", minimum=1)
    batch_size = argcheck.integer(batch_size, "batch_size", minimum=1)
    if max_batches is not None:
        max_batches = argcheck.integer(max_batches, "max_batches", minimum=1)
    lr = argcheck.number(lr, "lr", low=0, low_open=True)
    seed = argcheck.integer(seed, "seed", minimum=0)
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a transform t(x, rng) or None; got {augment!r}.")
    X_train, y_train = _as_xy(train_data, "train_data")
    val = None if val_data is None else _as_xy(val_data, "val_data")

    # Seeding: torch (dropout, any randomness in the model) and two independent NumPy
    # streams, one for shuffling and one for augmentation, so adding augmentation does
    # not change the order in which the batches come.
    runtime.seed_everything(seed)
    shuffle_rng, augment_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )

    device = runtime.get_device() if device is None else torch.device(device)
    model.to(device)
    dtype = _model_dtype(model)
    optimizer = _make_optimizer(optimizer, model, lr)
    scheduler = _make_scheduler(scheduler, optimizer)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn

    history = History()
    save_path = None if checkpoint in (None, "best") else Path(checkpoint)
    history.checkpoint_path = save_path
    n = len(X_train)
    n_batches = -(-n // batch_size)
    if max_batches is not None:
        n_batches = min(n_batches, max_batches)

    from tqdm.auto import tqdm

    iteration, bar = 0, None
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            if freeze_bn_stats:
                for name in frozen_batchnorm_layers(model):
                    model.get_submodule(name).eval()
            start = time.perf_counter()
            epoch_lr = optimizer.param_groups[0]["lr"]
            order = torch.from_numpy(shuffle_rng.permutation(n))
            loss_sum, correct, seen = 0.0, 0, 0
            bar = tqdm(
                range(n_batches), desc=f"epoch {epoch}/{epochs}", disable=not progress,
                leave=True, unit="batch",
            )
            for b in bar:
                idx = order[b * batch_size:(b + 1) * batch_size]
                xb, yb = X_train[idx.to(X_train.device)], y_train[idx.to(y_train.device)]
                if augment is not None:
                    xb = _augment_batch(augment, xb, augment_rng)
                xb = xb.to(device=device, dtype=dtype)
                yb = yb.to(device)

                scores = model(xb)
                if iteration == 0:
                    _check_outputs(scores, y_train, "train_data")
                    if val is not None:
                        _check_outputs(scores, val[1], "val_data")
                loss = loss_fn(scores, yb)
                if not bool(torch.isfinite(loss)):
                    _diverged(model, history, loss, epoch, b, iteration, epoch_lr, restore_best)

                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

                # Bookkeeping: running (per-image) averages over the epoch so far.
                iteration += 1
                batch_loss = loss.item()
                history["iter_loss"].append(batch_loss)
                loss_sum += batch_loss * len(yb)
                correct += int((scores.argmax(1) == yb).sum())
                seen += len(yb)
                if progress:
                    bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")

            row = {"train_loss": loss_sum / seen, "train_acc": correct / seen,
                   "val_loss": None, "val_acc": None}
            if val is not None:
                metrics = evaluate(model, val, batch_size=max(batch_size, 256), loss_fn=loss_fn)
                row["val_loss"], row["val_acc"] = metrics["loss"], metrics["accuracy"]
                if history.best_val_acc is None or row["val_acc"] > history.best_val_acc:
                    _new_best(model, history, epoch, row["val_acc"], save_path)
            if scheduler is not None:
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(row["val_loss"] if val is not None else row["train_loss"])
                else:
                    scheduler.step()

            row.update(epoch=epoch, lr=epoch_lr, time=time.perf_counter() - start)
            for key in History.EPOCH_KEYS:
                history[key].append(row[key])
            summary = _epoch_summary(row)
            if progress:
                bar.set_postfix_str(summary, refresh=True)
            bar.close()
            if verbose:
                print(f"epoch {epoch}/{epochs}: {summary} ({row['time']:.1f} s)")
    except KeyboardInterrupt:
        # Stopping a long run by hand (the stop button in Jupyter) keeps what was learned.
        if bar is not None:
            bar.close()
        history.interrupted = True
        done = len(history["epoch"])
        print(f"training stopped by hand after {done} complete epoch(s); returning the history.")

    if val is None and save_path is not None:
        # Nothing to compare epochs by: save the final weights.
        torch.save({"state_dict": _cpu_state(model), "epoch": len(history["epoch"]),
                    "val_acc": None}, save_path)
    if restore_best and history.best_state is not None:
        model.load_state_dict(history.best_state)
    return history


def frozen_batchnorm_layers(model: nn.Module) -> list[str]:
    """Names of the batch-norm layers in ``model`` whose weight and bias are all frozen.

    ``requires_grad=False`` stops a layer's gradient, but batch norm also keeps *buffers*
    (running mean and variance) that every forward pass in training mode updates. These
    are the layers that :func:`fit` keeps in evaluation mode. Layers without learnable
    parameters (``affine=False``) are not counted: nothing says they are meant to be frozen.
    """
    names = []
    for name, module in model.named_modules():
        params = list(module.parameters(recurse=False))
        if (isinstance(module, nn.modules.batchnorm._BatchNorm) and params
                and not any(p.requires_grad for p in params)):
            names.append(name)
    return names


def _augment_batch(augment: Callable, xb: torch.Tensor, rng) -> torch.Tensor:
    """Apply a transform t(x, rng) to one batch; it must keep the batch size and be 4-D."""
    out = augment(xb, rng)
    out = torch.as_tensor(out)
    if out.ndim != 4 or out.shape[0] != xb.shape[0]:
        raise ValueError(
            f"the augment transform turned a batch of shape {tuple(xb.shape)} into "
            f"{tuple(out.shape)}; it must return (N, C, H', W') with the same N."
        )
    return out


def _new_best(model, history: History, epoch: int, val_acc: float, path) -> None:
    history.best_epoch, history.best_val_acc = epoch, val_acc
    history.best_state = _cpu_state(model)
    if path is not None:
        torch.save({"state_dict": history.best_state, "epoch": epoch, "val_acc": val_acc}, path)


def _epoch_summary(row: dict) -> str:
    text = f"loss {row['train_loss']:.4f}, acc {row['train_acc']:.3f}"
    if row["val_acc"] is not None:
        text += f" | val loss {row['val_loss']:.4f}, val acc {row['val_acc']:.3f}"
    return text


def _diverged(model, history, loss, epoch, batch, iteration, lr, restore_best):
    """Raise TrainingDiverged with the where and the likely why."""
    message = (
        f"the training loss became {loss.item()} at epoch {epoch}, iteration {batch + 1} of "
        f"the epoch ({iteration + 1} overall), with learning rate {lr:g}. Training diverged: "
        "the learning rate is most likely too high - try one 3 to 10 times smaller. "
        "(Other causes: inputs that are not normalised, or a custom loss that takes the log "
        "of 0.)"
    )
    if restore_best and history.best_state is not None:
        model.load_state_dict(history.best_state)
        message += f" The model now holds the best weights so far (epoch {history.best_epoch})."
    raise TrainingDiverged(message, history)


def load_checkpoint(model: nn.Module, path) -> dict:
    """Load weights saved by ``fit(..., checkpoint=path)`` into ``model``.

    Returns the checkpoint's ``{'epoch': ..., 'val_acc': ...}``.
    Raises FileNotFoundError if there is no such file.
    """
    saved = torch.load(Path(path), map_location=_model_device(model), weights_only=True)
    model.load_state_dict(saved["state_dict"])
    return {"epoch": saved["epoch"], "val_acc": saved["val_acc"]}


# ----------------------------------------------------------------------------------------
# Evaluation and prediction
# ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def eval_mode(model: nn.Module, no_grad: bool = True):
    """Context manager: ``model.eval()`` (dropout off, batch-norm running statistics) and,
    unless ``no_grad=False``, no gradient tracking; the model's old mode comes back after."""
    was_training = model.training
    model.eval()
    try:
        with torch.set_grad_enabled(not no_grad):
            yield model
    finally:
        model.train(was_training)


def _scores(model: nn.Module, X: torch.Tensor, batch_size: int, device) -> torch.Tensor:
    """Class scores (N, K) for X (N, C, H, W), computed in batches; returned on the CPU."""
    dtype = _model_dtype(model)
    out = []
    for i in range(0, len(X), batch_size):
        out.append(model(X[i:i + batch_size].to(device=device, dtype=dtype)).float().cpu())
    return torch.cat(out)


def _place(model: nn.Module, device) -> torch.device:
    """device=None: wherever the model is; otherwise move the model there."""
    if device is None:
        return _model_device(model)
    device = torch.device(device)
    model.to(device)
    return device


def evaluate(model: nn.Module, data, batch_size: int = 256, device=None,
             loss_fn: Callable | None = None) -> dict[str, float]:
    """Average loss and accuracy of ``model`` on ``data``, in eval mode and without gradients.

    Shapes: data is ``(X, y)`` with ``X: (N, C, H, W)`` and ``y: (N,)``.
    ``device=None`` evaluates where the model is (it is not moved); batches follow it.
    Returns ``{'loss': mean loss per image, 'accuracy': fraction correct}``.
    Raises ValueError for malformed data or labels outside ``0..K-1``.
    """
    batch_size = argcheck.integer(batch_size, "batch_size", minimum=1)
    X, y = _as_xy(data, "data")
    device = _place(model, device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    with eval_mode(model):
        scores = _scores(model, X, batch_size, device)
    _check_outputs(scores, y, "data")
    y = y.cpu()
    # Cross-entropy averages over the batch; one call on all scores is the per-image mean.
    loss = float(loss_fn(scores, y))
    accuracy = float((scores.argmax(1) == y).double().mean())
    return {"loss": loss, "accuracy": accuracy}


def predict(model: nn.Module, X, batch_size: int = 256, device=None, tta: str | None = None,
            tta_kwargs: dict | None = None, return_probs: bool = False) -> np.ndarray:
    """Predicted labels ``(N,)`` (or softmax probabilities ``(N, K)``) for ``X: (N, C, H, W)``.

    ``tta`` ('flip', 'ten_crop' or 'random_crops') averages the probabilities over several
    views of each image with ``augment.tta_predict`` (extra options in ``tta_kwargs``, e.g.
    ``{'crop_size': 28}``). ``device=None`` predicts where the model is.
    Returns a NumPy array: int64 labels, or float32 probabilities if ``return_probs``.
    Raises ValueError if X is not a 4-D batch or tta is not one of the modes.
    """
    batch_size = argcheck.integer(batch_size, "batch_size", minimum=1)
    X = _check_images(X, "X")
    device = _place(model, device)

    def probabilities(batch) -> np.ndarray:
        batch = _check_images(batch, "batch")
        with eval_mode(model):
            return torch.softmax(_scores(model, batch, batch_size, device), dim=1).numpy()

    if tta is None:
        probs = probabilities(X)
    elif tta in ("flip", "ten_crop", "random_crops"):
        from . import augment

        kwargs = {"batch_size": batch_size, **(tta_kwargs or {})}
        probs = augment.tta_predict(probabilities, X.cpu().numpy(), mode=tta, **kwargs)
        probs = np.asarray(probs.cpu() if isinstance(probs, torch.Tensor) else probs)
    else:
        raise ValueError(
            f"tta must be None, 'flip', 'ten_crop' or 'random_crops'; got {tta!r}."
        )
    probs = probs.astype(np.float32)
    return probs if return_probs else probs.argmax(axis=1).astype(np.int64)

