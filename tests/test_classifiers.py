"""Tests for ThreeLayerConvNet, the update rules and the Solver."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from cs231n_lib import optim
from cs231n_lib.classifiers import Solver, ThreeLayerConvNet
from cs231n_lib.gradient_check import check_close, eval_numerical_gradient


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits as (N, 1, 8, 8) in [0, 1], mean-subtracted; a fixed split."""
    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]
    X -= X.mean(axis=0)
    perm = np.random.default_rng(0).permutation(len(X))
    train, val = perm[:1400], perm[1400:]
    return {"X_train": X[train], "y_train": d.target[train],
            "X_val": X[val], "y_val": d.target[val]}


# ---------------------------------------------------------------------------------------
# ThreeLayerConvNet
# ---------------------------------------------------------------------------------------


def test_initial_loss_is_log_num_classes_and_shapes():
    model = ThreeLayerConvNet(input_dim=(3, 16, 16), num_filters=4, filter_size=5,
                              hidden_dim=20, num_classes=10, seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (4, 3, 5, 5), "b1": (4,), "W2": (4 * 8 * 8, 20), "b2": (20,),
                      "W3": (20, 10), "b3": (10,)}
    X = np.random.default_rng(0).standard_normal((8, 3, 16, 16))
    y = np.arange(8)
    loss, grads = model.loss(X, y)
    assert loss == pytest.approx(np.log(10), abs=1e-3)  # tiny weights: uniform scores
    assert set(grads) == set(model.params)
    assert model.loss(X).shape == (8, 10)
    model.reg = 0.5
    reg_loss, _ = model.loss(X, y)
    penalty = 0.5 * 0.5 * sum(np.sum(model.params[k] ** 2) for k in ("W1", "W2", "W3"))
    assert reg_loss == pytest.approx(loss + penalty, rel=1e-5)


def test_three_layer_convnet_gradients_numerically():
    model = ThreeLayerConvNet(input_dim=(2, 6, 6), num_filters=3, filter_size=3, hidden_dim=7,
                              num_classes=4, weight_scale=0.1, reg=0.3, dtype=np.float64, seed=1)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((3, 2, 6, 6)), np.array([0, 1, 3])
    _, grads = model.loss(X, y)
    for name, param in model.params.items():

        def f(_, name=name):
            return model.loss(X, y)[0]

        numeric = eval_numerical_gradient(f, param, h=1e-6)
        check_close(grads[name], numeric, tol=1e-6, name=f"d{name}")


def test_float32_model_stays_float32():
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3,
                              hidden_dim=5, seed=0)
    X = np.random.default_rng(0).standard_normal((4, 1, 8, 8))  # float64 in
    loss, grads = model.loss(X, np.array([0, 1, 2, 3]))
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.loss(X).dtype == np.float32


def test_three_layer_convnet_bad_configuration():
    with pytest.raises(ValueError, match="filter_size must be odd"):
        ThreeLayerConvNet(filter_size=4)
    with pytest.raises(ValueError, match=r"even height and width, got 7x7"):
        ThreeLayerConvNet(input_dim=(1, 7, 7), filter_size=3)


def test_same_seed_same_model():
    a = ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3, seed=3)
    b = ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3, seed=3)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


# ---------------------------------------------------------------------------------------
# Update rules (checked against torch.optim on the same gradients)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "adam"])
def test_update_rules_match_torch_optim(rule):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(5)]
    tw = torch.tensor(w, requires_grad=True)
    if rule == "sgd":
        config, opt = {"learning_rate": 0.1}, torch.optim.SGD([tw], lr=0.1)
    elif rule == "sgd_momentum":
        # torch keeps v = mu v + g and steps lr * v; ours keeps v = mu v - lr g: the same path
        config = {"learning_rate": 0.1, "momentum": 0.9}
        opt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    else:
        config, opt = {"learning_rate": 0.01}, torch.optim.Adam([tw], lr=0.01, eps=1e-8)
    for g in grads:
        w, config = optim.UPDATE_RULES[rule](w, g, config)
        tw.grad = torch.from_numpy(g)
        opt.step()
    check_close(w, tw.detach().numpy(), tol=1e-12, name=rule)


# ---------------------------------------------------------------------------------------
# Solver
# ---------------------------------------------------------------------------------------


def test_overfits_100_samples(digits):
    small = {k: v[:100] for k, v in digits.items()}
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=16, filter_size=3,
                              hidden_dim=64, weight_scale=0.1, seed=0)
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    batch_size=25, num_epochs=20, verbose=False, progress=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_digits_reaches_95_percent_validation_accuracy(digits):
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=16, filter_size=3,
                              hidden_dim=64, weight_scale=0.1, seed=0)
    solver = Solver(model, digits, update_rule="adam", optim_config={"learning_rate": 5e-3},
                    lr_decay=0.8, batch_size=50, num_epochs=8, verbose=False, progress=False,
                    seed=0)
    solver.train()
    val_acc = solver.check_accuracy(digits["X_val"], digits["y_val"])
    assert val_acc >= 0.95
    # the model ends with the best parameters seen, and the histories line up
    assert val_acc == pytest.approx(solver.best_val_acc)
    assert val_acc == pytest.approx(max(solver.val_acc_history))
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 8 + 1
    assert len(solver.loss_history) == 8 * (1400 // 50)
    assert solver.optim_configs["W1"]["learning_rate"] == pytest.approx(5e-3 * 0.8**8)


def test_solver_prints_and_shows_progress(digits, capsys):
    tiny = {k: v[:40] for k, v in digits.items()}
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3,
                              hidden_dim=5, seed=0)
    Solver(model, tiny, update_rule="sgd_momentum", batch_size=20, num_epochs=2,
           print_every=1, verbose=True, progress=True, seed=0).train()
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "(Iteration 1 / 4) loss:" in text
    assert "(Epoch 2 / 2) train acc:" in text
    assert "training" in captured.err  # the tqdm bar


def test_solver_bad_settings(digits):
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3, seed=0)
    with pytest.raises(ValueError, match=r"unknown update_rule 'rmsprop'.*'adam'"):
        Solver(model, digits, update_rule="rmsprop")
    with pytest.raises(ValueError, match=r"missing \['X_val', 'y_val'\]"):
        Solver(model, {"X_train": digits["X_train"], "y_train": digits["y_train"]})
