"""ThreeLayerConvNet and the Solver that trains it (the CS231n workflow, in NumPy).

::

    model = ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3, seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=5, batch_size=50, seed=0)
    solver.train()                 # the best parameters (by validation accuracy) end up in model
    solver.check_accuracy(data["X_val"], data["y_val"])
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

import numpy as np

from cs231n_lib import argcheck, layers
from cs231n_lib.optim import UPDATE_RULES

__all__ = ["ThreeLayerConvNet", "Solver"]


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    Shapes:
        input X: (N, C, H, W) with (C, H, W) = input_dim
        W1: (num_filters, C, filter_size, filter_size), b1: (num_filters,)
            (stride 1, padding (filter_size - 1) // 2, so the conv keeps H x W)
        W2: (num_filters * H/2 * W/2, hidden_dim), b2: (hidden_dim,)
        W3: (hidden_dim, num_classes), b3: (num_classes,)

    Weights start as ``weight_scale * N(0, 1)`` drawn from ``seed``; biases start at 0.
    ``reg`` is the L2 strength: the loss adds ``0.5 * reg * sum(W**2)`` for W1, W2, W3.
    All parameters use ``dtype`` (float32 trains faster; use float64 for gradient checks).

    Raises ValueError if filter_size is even (the padding could not keep the size)
    or H, W are odd (the 2x2 pool would not tile them), and TypeError/ValueError naming the
    argument for a size that is not a positive int or a negative ``reg``.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        if not isinstance(input_dim, tuple | list) or len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = (argcheck.integer(n, f"input_dim[{i}]", minimum=1)
                   for i, n in enumerate(input_dim))
        num_filters = argcheck.integer(num_filters, "num_filters", minimum=1)
        filter_size = argcheck.integer(filter_size, "filter_size", minimum=1)
        hidden_dim = argcheck.integer(hidden_dim, "hidden_dim", minimum=1)
        num_classes = argcheck.integer(num_classes, "num_classes", minimum=2)
        weight_scale = argcheck.number(weight_scale, "weight_scale", low=0, low_open=True)
        reg = argcheck.number(reg, "reg", low=0)
        seed = argcheck.seed(seed, "seed")
        if filter_size % 2 == 0:
            raise ValueError(
                f"filter_size must be odd so that padding {filter_size // 2} keeps the "
                f"{H}x{W} size; got {filter_size} (try {filter_size - 1} or {filter_size + 1})"
            )
        if H % 2 or W % 2:
            raise ValueError(
                f"the 2x2 max pool needs an even height and width, got {H}x{W}; "
                "crop or pad the images by one pixel"
            )
        self.reg = reg
        self.dtype = dtype
        rng = np.random.default_rng(seed)
        hidden_in = num_filters * (H // 2) * (W // 2)
        shapes = {
            "W1": (num_filters, C, filter_size, filter_size),
            "W2": (hidden_in, hidden_dim),
            "W3": (hidden_dim, num_classes),
        }
        self.params = {}
        for i, (name, shape) in enumerate(shapes.items(), start=1):
            self.params[name] = (weight_scale * rng.standard_normal(shape)).astype(dtype)
            self.params[f"b{i}"] = np.zeros(shape[0] if i == 1 else shape[1], dtype=dtype)

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Shapes: X (N, C, H, W); y (N,) integer labels or None.
        Returns scores (N, num_classes) if y is None, else (loss, grads) where grads
        has one array per parameter, of the parameter's shape.
        """
        p = self.params
        filter_size = p["W1"].shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        X = X.astype(self.dtype, copy=False)

        h1, cache1 = layers.conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
        h2, cache2 = layers.affine_relu_forward(h1, p["W2"], p["b2"])
        scores, cache3 = layers.affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores

        loss, dscores = layers.softmax_loss(scores, y)
        grads = {}
        dh2, grads["W3"], grads["b3"] = layers.affine_backward(dscores, cache3)
        dh1, grads["W2"], grads["b2"] = layers.affine_relu_backward(dh2, cache2)
        _, grads["W1"], grads["b1"] = layers.conv_relu_pool_backward(dh1, cache1)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * float(np.sum(p[name] * p[name]))
            grads[name] += self.reg * p[name]
        return loss, grads


class Solver:
    """Train a model with minibatch gradient descent (CS231n's Solver).

    ``model`` needs ``params`` (a dict of arrays) and ``loss(X, y=None)`` returning
    scores, or (loss, grads) when y is given. ``data`` holds 'X_train', 'y_train',
    'X_val', 'y_val'.

    Settings: ``update_rule`` ('sgd', 'sgd_momentum', 'adam' or a function with the
    optim signature), ``optim_config`` (e.g. {'learning_rate': 1e-3}), ``lr_decay``
    (learning rate multiplied by this after every epoch), ``batch_size``,
    ``num_epochs``, ``num_train_samples`` (training examples used to measure train
    accuracy each epoch; None for all), ``num_val_samples`` (None for all),
    ``print_every`` (iterations between loss prints when ``verbose``), ``progress``
    (a tqdm progress bar), ``seed`` (minibatch sampling).

    After ``train()``: ``loss_history``, ``train_acc_history``, ``val_acc_history``,
    ``best_val_acc``, and ``model.params`` set to ``best_params`` (the parameters with
    the best validation accuracy seen at the end of any epoch).
    """

    def __init__(self, model, data: Mapping, update_rule: str | Callable = "sgd",
                 optim_config: dict | None = None, lr_decay: float = 1.0, batch_size: int = 100,
                 num_epochs: int = 10, num_train_samples: int | None = 1000,
                 num_val_samples: int | None = None, print_every: int = 10,
                 verbose: bool = True, progress: bool = True, seed: int | None = None):
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(
                f"data is missing {missing}; it needs X_train, y_train, X_val and y_val"
            )
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            if len(X) != len(y):
                raise ValueError(
                    f"X_{split} has {len(X)} examples but y_{split} has {len(y)} labels; "
                    "they must match one to one"
                )
            if len(X) == 0:
                raise ValueError(f"X_{split} is empty; the Solver needs at least one example")
        if callable(update_rule):
            self.update_rule = update_rule
        elif update_rule in UPDATE_RULES:
            self.update_rule = UPDATE_RULES[update_rule]
        else:
            raise ValueError(
                f"unknown update_rule {update_rule!r}; choose one of {sorted(UPDATE_RULES)} "
                "or pass a function next_w, config = rule(w, dw, config)"
            )
        batch_size = argcheck.integer(batch_size, "batch_size", minimum=1)
        num_epochs = argcheck.integer(num_epochs, "num_epochs", minimum=1)
        lr_decay = argcheck.number(lr_decay, "lr_decay", low=0, low_open=True)
        print_every = argcheck.integer(print_every, "print_every", minimum=1)
        for name, n in (("num_train_samples", num_train_samples),
                        ("num_val_samples", num_val_samples)):
            if n is not None:
                argcheck.integer(n, name, minimum=1)
        if optim_config is not None and not isinstance(optim_config, Mapping):
            raise TypeError(f"optim_config must be a dict such as {{'learning_rate': 1e-3}}, "
                            f"got {optim_config!r}")
        if optim_config and "learning_rate" in optim_config:
            argcheck.number(optim_config["learning_rate"], "optim_config['learning_rate']",
                            low=0, low_open=True)
        seed = argcheck.seed(seed, "seed")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.optim_config = dict(optim_config or {})
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.print_every = print_every
        self.verbose = verbose
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self._reset()

    def _reset(self):
        """Clear the histories and give every parameter its own optimiser state."""
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {p: copy.deepcopy(self.optim_config) for p in self.model.params}

    def _step(self):
        """One gradient update on a random minibatch."""
        num_train = self.X_train.shape[0]
        idx = self.rng.choice(num_train, self.batch_size)
        loss, grads = self.model.loss(self.X_train[idx], self.y_train[idx])
        self.loss_history.append(float(loss))
        for name, w in self.model.params.items():
            next_w, config = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w
            self.optim_configs[name] = config

    def check_accuracy(self, X, y, num_samples=None, batch_size=100) -> float:
        """Fraction of ``X`` (N, ...) classified as ``y`` (N,), predicting in batches.

        ``num_samples`` evaluates a random subset of that size instead of all of X.
        """
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            idx = self.rng.choice(N, num_samples)
            X, y, N = X[idx], y[idx], num_samples
        preds = [
            np.argmax(self.model.loss(X[start:start + batch_size]), axis=1)
            for start in range(0, N, batch_size)
        ]
        return float(np.mean(np.concatenate(preds) == y))

    def train(self):
        """Run the optimisation; finish with the best parameters in the model."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch

        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=num_iterations, desc="training", unit="it")
        say = bar.write if bar is not None else print

        for t in range(num_iterations):
            self._step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{self.loss_history[-1]:.3f}", epoch=self.epoch)
            if self.verbose and t % self.print_every == 0:
                say(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")

            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    if "learning_rate" in config:
                        config["learning_rate"] *= self.lr_decay

            # Check accuracy after the first iteration, the last, and every epoch.
            if t == 0 or t == num_iterations - 1 or epoch_end:
                train_acc = self.check_accuracy(
                    self.X_train, self.y_train, num_samples=self.num_train_samples
                )
                val_acc = self.check_accuracy(
                    self.X_val, self.y_val, num_samples=self.num_val_samples
                )
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)
                if self.verbose:
                    say(f"(Epoch {self.epoch} / {self.num_epochs}) "
                        f"train acc: {train_acc:f}; val_acc: {val_acc:f}")
                if val_acc > self.best_val_acc or not self.best_params:
                    self.best_val_acc = val_acc
                    self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        if bar is not None:
            bar.close()
        self.model.params = self.best_params
        return self
