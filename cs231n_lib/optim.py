"""First-order update rules, with CS231n's signature.

Every rule is ``next_w, config = rule(w, dw, config)``: it takes the weights, their
gradient and a dict of hyperparameters plus state (velocity, moments, step count),
and returns the new weights and the updated dict. The Solver keeps one config per
parameter. Defaults are filled in on the first call. Updates keep the weights' dtype.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd", "sgd_momentum", "adam", "UPDATE_RULES"]


def sgd(w: np.ndarray, dw: np.ndarray, config: dict | None = None):
    """Vanilla stochastic gradient descent: ``w -= learning_rate * dw``.

    config: 'learning_rate' (default 1e-2).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w: np.ndarray, dw: np.ndarray, config: dict | None = None):
    """SGD with momentum: ``v = momentum * v - learning_rate * dw;  w += v``.

    config: 'learning_rate' (1e-2), 'momentum' (0.9), 'velocity' (state, zeros like w).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def adam(w: np.ndarray, dw: np.ndarray, config: dict | None = None):
    """Adam: momentum on the gradient (m) and on its square (v), both bias-corrected.

    config: 'learning_rate' (1e-3), 'beta1' (0.9), 'beta2' (0.999), 'epsilon' (1e-8),
    and the state 'm', 'v' (zeros like w) and 't' (step count, starts at 0).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    if config.get("m") is None:
        config["m"] = np.zeros_like(w)
    if config.get("v") is None:
        config["v"] = np.zeros_like(w)
    config.setdefault("t", 0)

    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = beta1 * config["m"] + (1 - beta1) * dw
    config["v"] = beta2 * config["v"] + (1 - beta2) * (dw * dw)
    m_hat = config["m"] / (1 - beta1 ** config["t"])
    v_hat = config["v"] / (1 - beta2 ** config["t"])
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    return next_w, config


#: The rules a Solver accepts by name.
UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "adam": adam}
