"""Tests for cs231n_lib.train: fit / evaluate / predict on a tiny, separable problem."""

import sys
import types

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import cs231n_lib
from cs231n_lib import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_data(n, seed):
    """1x8x8 images; class 1 has a brighter left half, class 0 a brighter right half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    shift = ((2 * y - 1) * 0.7).astype(np.float32)[:, None, None]
    X[:, 0, :, :4] += shift
    X[:, 0, :, 4:] -= shift
    return X, y


def make_net(seed=0, n_out=2):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, n_out),
    )


TRAIN, VAL = make_data(256, 1), make_data(128, 2)
QUIET = dict(progress=False, device="cpu", batch_size=32)


def without_time(history):
    return {k: v for k, v in history.items() if k != "time"}


def test_fit_learns_a_separable_problem():
    model = make_net()
    before = train.evaluate(model, VAL)["accuracy"]
    history = train.fit(model, TRAIN, VAL, epochs=3, lr=1e-2, **QUIET)
    assert before < 0.8
    assert history["val_acc"][-1] >= 0.95
    assert history["train_loss"][-1] < history["train_loss"][0] < 0.7
    assert history["epoch"] == [1, 2, 3]
    assert history["lr"] == [1e-2] * 3
    assert len(history["iter_loss"]) == 3 * 8  # 256 images / 32 per batch, 3 epochs
    assert all(t > 0 for t in history["time"])
    # History is a dict whose keys also read as attributes.
    assert history.val_acc is history["val_acc"]
    assert history.best_epoch in (1, 2, 3)
    assert "best val acc" in repr(history)


def test_fit_with_progress_bar_and_torch_data(capsys):
    X, y = (torch.as_tensor(a) for a in TRAIN)
    history = train.fit(make_net(), (X, y), epochs=1, lr=1e-2, progress=True, device="cpu",
                        verbose=True)
    assert history["val_acc"] == [None] and history.best_epoch is None
    assert "epoch 1/1: loss" in capsys.readouterr().out


def test_same_seed_gives_identical_history():
    runs = [train.fit(make_net(), TRAIN, VAL, epochs=2, lr=1e-2, seed=3, **QUIET)
            for _ in range(2)]
    assert without_time(runs[0]) == without_time(runs[1])
    other = train.fit(make_net(), TRAIN, VAL, epochs=2, lr=1e-2, seed=4, **QUIET)
    assert other["iter_loss"] != runs[0]["iter_loss"]  # the seed sets the batch order


def test_augment_hook_is_called_on_every_training_batch():
    calls = []

    def counting_identity(x, rng):
        assert isinstance(rng, np.random.Generator)
        assert x.shape[1:] == (1, 8, 8)
        calls.append(len(x))
        rng.random()  # consume randomness: must not disturb the batch order
        return x

    with_aug = train.fit(make_net(), TRAIN, VAL, epochs=2, lr=1e-2, augment=counting_identity,
                         **QUIET)
    assert calls == [32] * 16  # training batches only, never validation
    plain = train.fit(make_net(), TRAIN, VAL, epochs=2, lr=1e-2, **QUIET)
    assert without_time(with_aug) == without_time(plain)


def test_augment_output_is_what_the_model_trains_on():
    # Replacing every image by zeros leaves nothing to learn: training stays near chance.
    history = train.fit(make_net(), TRAIN, VAL, epochs=2, lr=1e-2, **QUIET,
                        augment=lambda x, rng: np.zeros_like(x))
    assert history["train_acc"][-1] < 0.7


def test_augment_must_keep_the_batch():
    with pytest.raises(ValueError, match="same N"):
        train.fit(make_net(), TRAIN, epochs=1, augment=lambda x, rng: x[:3], **QUIET)


def blow_up_after_two_epochs(optimizer):
    # Epochs 3 and 4 use a negative learning rate: gradient *ascent* ruins the model.
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 if epoch < 2 else -5.0)


def test_best_checkpoint_is_restored(tmp_path):
    model = make_net()
    path = tmp_path / "best.pt"
    history = train.fit(model, TRAIN, VAL, epochs=4, optimizer="sgd", lr=5e-2,
                        scheduler=blow_up_after_two_epochs, checkpoint=path, **QUIET)
    assert history["lr"] == [5e-2, 5e-2, -0.25, -0.25]
    assert history["val_acc"][-1] < 0.7 < 0.95 <= history.best_val_acc
    assert history.best_epoch in (1, 2)
    best = history.best_epoch - 1
    after = train.evaluate(model, VAL)
    assert after["accuracy"] == history["val_acc"][best]
    assert after["loss"] == pytest.approx(history["val_loss"][best], rel=1e-6)
    # The file holds the same weights.
    fresh = make_net(seed=1)
    info = train.load_checkpoint(fresh, path)
    assert info == {"epoch": history.best_epoch, "val_acc": history.best_val_acc}
    for a, b in zip(fresh.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_restore_best_false_keeps_the_last_weights():
    model = make_net()
    history = train.fit(model, TRAIN, VAL, epochs=4, optimizer="sgd", lr=5e-2,
                        scheduler=blow_up_after_two_epochs, restore_best=False, **QUIET)
    assert train.evaluate(model, VAL)["accuracy"] == history["val_acc"][-1]
    assert history.best_state is not None


def test_stopping_by_hand_returns_the_history_and_the_best_weights(capsys):
    calls = []

    def stop_in_epoch_two(x, rng):
        calls.append(1)
        if len(calls) == 10:  # batch 2 of epoch 2
            raise KeyboardInterrupt
        return x

    model = make_net()
    history = train.fit(model, TRAIN, VAL, epochs=5, lr=1e-2, augment=stop_in_epoch_two, **QUIET)
    assert history.interrupted and history["epoch"] == [1] and len(history["iter_loss"]) == 9
    assert train.evaluate(model, VAL)["accuracy"] == history["val_acc"][0]
    assert "stopped by hand after 1 complete epoch" in capsys.readouterr().out


def test_nan_loss_names_the_learning_rate():
    model = make_net()
    with pytest.raises(train.TrainingDiverged, match="learning rate") as info:
        train.fit(model, TRAIN, VAL, epochs=3, optimizer="sgd", lr=1e4, **QUIET)
    message = str(info.value)
    assert "epoch" in message and "iteration" in message
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value.history, train.History)


def test_labels_out_of_range_are_named():
    X, y = TRAIN
    y = y.copy()
    y[7] = 5
    with pytest.raises(ValueError, match=r"0 to 5.*2 outputs"):
        train.fit(make_net(), (X, y), epochs=1, **QUIET)


@pytest.mark.parametrize(
    "data, error, match",
    [
        ((TRAIN[0], TRAIN[1][:-1]), ValueError, "256 images but 255 labels"),
        ((TRAIN[0][:, 0], TRAIN[1]), ValueError, "4-D"),
        ((TRAIN[0].transpose(0, 2, 3, 1), TRAIN[1]), ValueError, r"\(N, H, W, C\)"),
        (((TRAIN[0] * 100).astype(np.uint8), TRAIN[1]), TypeError, "255"),
        ((TRAIN[0], TRAIN[1].astype(np.float32)), TypeError, "integers"),
        ((np.full_like(TRAIN[0], np.nan), TRAIN[1]), ValueError, "NaN"),
        (torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 1, 8, 8))),
         TypeError, "DataLoader"),
    ],
)
def test_bad_data_gets_a_clear_error(data, error, match):
    with pytest.raises(error, match=match):
        train.fit(make_net(), data, epochs=1, **QUIET)


def test_model_must_output_class_scores():
    with pytest.raises(ValueError, match="Flatten"):
        train.fit(nn.Conv2d(1, 2, 3), TRAIN, epochs=1, **QUIET)


def test_a_dataset_works_like_arrays():
    X, y = (torch.as_tensor(a) for a in TRAIN)
    from_arrays = train.fit(make_net(), TRAIN, epochs=1, **QUIET)
    from_dataset = train.fit(make_net(), torch.utils.data.TensorDataset(X, y), epochs=1, **QUIET)
    assert without_time(from_arrays) == without_time(from_dataset)


def test_evaluate_and_predict_agree_with_a_hand_computation():
    model = make_net()
    model.train()
    X, y = VAL
    scores = model(torch.as_tensor(X)).detach()
    expected_loss = nn.functional.cross_entropy(scores, torch.as_tensor(y)).item()
    labels = train.predict(model, X, batch_size=50)  # uneven batches on purpose
    assert labels.dtype == np.int64 and labels.shape == (128,)
    np.testing.assert_array_equal(labels, scores.argmax(1).numpy())
    metrics = train.evaluate(model, VAL, batch_size=50)
    assert metrics["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert metrics["accuracy"] == pytest.approx(float((labels == y).mean()))
    probs = train.predict(model, X, return_probs=True)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    assert model.training  # evaluate / predict restore the training mode


def test_predict_with_tta_uses_augment_tta_predict(monkeypatch):
    seen = {}

    def fake_tta_predict(predict_fn, x, mode="flip", crop_size=None, n=10, rng=0,
                         batch_size=None):
        seen.update(mode=mode, crop_size=crop_size, batch_size=batch_size)
        return (predict_fn(x) + predict_fn(x[..., ::-1].copy())) / 2

    fake = types.ModuleType("cs231n_lib.augment")
    fake.tta_predict = fake_tta_predict
    monkeypatch.setitem(sys.modules, "cs231n_lib.augment", fake)
    monkeypatch.setattr(cs231n_lib, "augment", fake, raising=False)

    model = make_net()
    X = VAL[0][:20]
    probs = train.predict(model, X, tta="flip", tta_kwargs={"crop_size": 6}, return_probs=True)
    expected = (train.predict(model, X, return_probs=True)
                + train.predict(model, X[..., ::-1].copy(), return_probs=True)) / 2
    np.testing.assert_allclose(probs, expected, rtol=1e-5)
    assert seen == {"mode": "flip", "crop_size": 6, "batch_size": 256}
    assert np.array_equal(train.predict(model, X, tta="flip"), expected.argmax(1))
    with pytest.raises(ValueError, match="ten_crop"):
        train.predict(model, X, tta="rotate")


def test_history_plot():
    history = train.fit(make_net(), TRAIN, VAL, epochs=2, lr=1e-2, **QUIET)
    fig = history.plot()
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes
    assert (ax_loss.get_title(), ax_acc.get_title()) == ("loss", "accuracy")
    # loss axes: batch losses, train, validation; accuracy axes: train, validation
    assert len(ax_loss.lines) == 3 and len(ax_acc.lines) == 2
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), history["val_acc"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cpu_data_trains_a_gpu_model_and_back():
    model = make_net()
    history = train.fit(model, TRAIN, VAL, epochs=2, lr=1e-2, progress=False, device="cuda")
    assert next(model.parameters()).is_cuda and history["val_acc"][-1] > 0.9
    X, y = (torch.as_tensor(a).cuda() for a in VAL)
    accuracy = train.evaluate(model.cpu(), (X, y))["accuracy"]
    assert accuracy == pytest.approx(history["val_acc"][-1], abs=0.02)


def test_fit_accepts_pooled_features_but_still_catches_nhwc_images():
    import numpy as np
    import torch
    from torch import nn

    from cs231n_lib import train

    rng = np.random.default_rng(0)
    feats = rng.normal(size=(40, 16, 1, 1)).astype(np.float32)
    labels = (feats[:, 0, 0, 0] > 0).astype(np.int64)
    head = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    history = train.fit(head, (feats, labels), epochs=1, progress=False,
                        device=torch.device("cpu"))
    assert len(history["train_loss"]) == 1
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        train.fit(nn.Flatten(), (rng.normal(size=(4, 8, 8, 3)).astype(np.float32),
                                 np.zeros(4, dtype=np.int64)), progress=False)


def test_fit_keeps_frozen_batch_norm_statistics_fixed():
    """requires_grad=False freezes a batch-norm layer's weight and bias, not its running
    statistics; fit keeps such layers in eval mode so those stay fixed too."""
    def net():
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
            nn.BatchNorm2d(4, affine=False), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4 * 4 * 4, 2),
        )

    frozen = net()
    for p in [*frozen[0].parameters(), *frozen[1].parameters()]:
        p.requires_grad_(False)
    assert train.frozen_batchnorm_layers(frozen) == ["1"]  # "3" has nothing to freeze
    before = [t.clone() for t in (frozen[1].running_mean, frozen[3].running_mean)]
    train.fit(frozen, TRAIN, epochs=1, lr=1e-2, **QUIET)
    assert torch.equal(frozen[1].running_mean, before[0])       # frozen: fixed
    assert not torch.equal(frozen[3].running_mean, before[1])   # no parameters: still learns
    assert not frozen[1].weight.requires_grad

    plain = net()
    for p in [*plain[0].parameters(), *plain[1].parameters()]:
        p.requires_grad_(False)
    train.fit(plain, TRAIN, epochs=1, lr=1e-2, freeze_bn_stats=False, **QUIET)
    assert not torch.equal(plain[1].running_mean, before[0])    # the trap, when asked for
