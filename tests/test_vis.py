"""Tests for cs231n_lib.vis: figure contents (axes, image shapes, titles), not pixels."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from cs231n_lib import arithmetic, vis

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def image_shapes(fig):
    return [ax.images[0].get_array().shape for ax in fig.axes if ax.images]


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(6 * 4 * 4, 5),
    )


class TopLeft(nn.Module):
    """Class 1 scores 0.1 * (sum of the top-left 4x4 pixels); class 0 scores 0."""

    def forward(self, x):
        s = 0.1 * x[:, :, :4, :4].sum(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(s), s], dim=1)


# --- images, predictions, confusion matrices --------------------------------------------


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_show_images_reads_both_layouts(layout):
    x = np.random.default_rng(0).random((5, 3, 6, 7))
    if layout == "nhwc":
        x = x.transpose(0, 2, 3, 1)
    fig = vis.show_images(x, labels=[0, 1, 2, 1, 0], class_names=["cat", "dog", "car"], ncols=3)
    assert isinstance(fig, Figure)
    assert image_shapes(fig) == [(6, 7, 3)] * 5
    assert [ax.get_title() for ax in fig.axes] == ["cat", "dog", "car", "dog", "cat"]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), x[1] if layout == "nhwc"
                               else x[1].transpose(1, 2, 0))


def test_show_images_grey_and_mean_image():
    x = np.zeros((4, 1, 6, 6))
    mean = np.full((1, 6, 6), 0.25)
    fig = vis.show_images(x, mean_image=mean)
    assert image_shapes(fig) == [(6, 6)] * 4
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), 0.25)
    # zero-centred data without a mean image is scaled per image into [0, 1]
    fig = vis.show_images(np.array([[[[-2.0, 0.0], [1.0, 2.0]]]]))
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), [[0, 0.5], [0.75, 1]])
    with pytest.raises(ValueError, match="colour channels"):
        vis.show_images(np.zeros((2, 5, 6, 7)))


def test_plot_predictions_marks_the_wrong_ones():
    x = np.random.default_rng(0).random((20, 3, 4, 4))
    y_true = np.arange(20) % 3
    y_pred = y_true.copy()
    y_pred[[1, 4, 9]] = (y_pred[[1, 4, 9]] + 1) % 3
    fig = vis.plot_predictions(x, y_true, y_pred, ["a", "b", "c"], n=10)
    assert len(fig.axes) == 10
    red = [ax.get_title() for ax in fig.axes if ax.title.get_color() == "red"]
    assert red == ["x c (b)", "x c (b)", "x b (a)"]
    assert "3 of 10 wrong" in fig.get_suptitle()


def test_confusion_matrix_counts_and_normalises():
    y_true, y_pred = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(vis.confusion_matrix(y_true, y_pred), expected)
    fig = vis.plot_confusion_matrix(y_true, y_pred, class_names=["a", "b", "c"])
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), expected)
    assert len(fig.axes[0].texts) == 9 and "accuracy 0.667" in fig.axes[0].get_title()
    norm = vis.plot_confusion_matrix(y_true, y_pred, normalize=True).axes[0].images[0]
    np.testing.assert_allclose(norm.get_array().sum(axis=1), 1)
    with pytest.raises(ValueError, match="num_classes"):
        vis.confusion_matrix([0, 3], [0, 1], num_classes=2)


def test_plot_history_from_a_plain_dict():
    fig = vis.plot_history({"train_loss": [1.0, 0.5], "train_acc": [0.5, 0.8]})
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[1].lines) == 1  # no validation line
    with pytest.raises(ValueError, match="no epochs"):
        vis.plot_history({"train_loss": []})


# --- filters -----------------------------------------------------------------------------


def test_filter_grid_rgb_shape_and_per_filter_scaling():
    w = torch.randn(16, 3, 5, 5)
    fig = vis.filter_grid(w)
    assert len(fig.axes) == 1
    assert image_shapes(fig) == [(4 * 6 + 1, 4 * 6 + 1, 3)]  # 4x4 tiles of 5 + 1 gap
    grid = vis.tile_filters(w, pad=1)
    for f in range(16):
        r, c = divmod(f, 4)
        tile = grid[1 + 6 * r:6 + 6 * r, 1 + 6 * c:6 + 6 * c]
        assert tile.min() == 0 and tile.max() == 1
        np.testing.assert_allclose(tile, (w[f].permute(1, 2, 0) - w[f].min())
                                   / (w[f].max() - w[f].min()), rtol=1e-5, atol=1e-6)


def test_filter_grid_grey_and_other_channel_counts():
    assert image_shapes(vis.filter_grid(np.random.rand(10, 1, 3, 3), ncols=5)) == [(9, 21)]
    assert vis.tile_filters(np.zeros((2, 1, 3, 3)))[1:4, 1:4].tolist() == [[0.5] * 3] * 3
    w = np.random.rand(6, 4, 3, 3)
    assert vis.tile_filters(w).shape == (9, 13)  # first channel, 2 rows x 3 cols
    assert vis.tile_filters(w, channels="separate").shape == (6 * 4 + 1, 4 * 4 + 1)
    with pytest.raises(ValueError, match="3 input channels"):
        vis.tile_filters(w, channels="rgb")
    with pytest.raises(ValueError, match=r"\(F, C, kh, kw\)"):
        vis.filter_grid(np.zeros((3, 3, 3)))


# --- activations, receptive fields, top patches ------------------------------------------


def test_get_activations_matches_the_layer():
    model = small_net()
    x = torch.randn(3, 3, 8, 8)
    acts = vis.get_activations(model, "0", x)
    assert acts.shape == (3, 4, 8, 8)
    torch.testing.assert_close(acts, model[0](x).detach())
    assert vis.get_activations(model, model[2], x[0]).shape == (1, 4, 4, 4)
    with pytest.raises(ValueError, match="no layer named 'conv9'.*'3'"):
        vis.get_activations(model, "conv9", x)


def test_activation_maps_figure():
    model = small_net()
    fig = vis.activation_maps(model, "3", torch.randn(3, 8, 8), max_maps=4)
    assert image_shapes(fig) == [(4, 4)] * 4
    assert fig.axes[2].get_title() == "ch 2" and "6 activation maps" in fig.get_suptitle()
    with pytest.raises(ValueError, match="not feature maps"):
        vis.activation_maps(model, "6", torch.randn(3, 8, 8))


@pytest.mark.parametrize(
    "make_layers, expected",
    [
        (lambda: [nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)], (7, 1, -3)),  # 3 -> 5 -> 7
        (lambda: [nn.Conv2d(1, 1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)], (4, 2, -1)),
        (lambda: [nn.Conv2d(3, 96, 11, stride=4), nn.MaxPool2d(3, 2)], (19, 8, 0)),  # AlexNet
        (lambda: [nn.Conv2d(1, 1, 3, dilation=2)], (5, 1, 0)),
    ],
)
def test_layer_receptive_field(make_layers, expected):
    layers = make_layers()
    # The first layer sits in a nested block: the walk must go through containers.
    model = nn.Sequential(nn.Sequential(layers[0]), *layers[1:])
    assert vis.layer_receptive_field(model, str(len(layers) - 1)) == expected


def test_receptive_field_needs_a_local_layer():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 4), nn.Conv2d(1, 1, 3))
    with pytest.raises(ValueError, match="Flatten comes before"):
        vis.layer_receptive_field(model, "2")


def ones_filter_net(padding=0):
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=padding, bias=False), nn.MaxPool2d(2))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    return model


def test_top_patches_find_the_brightest_blocks():
    images = np.zeros((5, 1, 10, 10), dtype=np.float32)
    images[2, 0, 4:7, 5:8] = 10.0  # strongest 3x3 block
    images[0, 0, 1:4, 1:4] = 5.0
    images[4, 0, 0:2, 0:2] = 1.0
    model = ones_filter_net()
    patches, fig = vis.top_patches(model, "0", 0, images, k=3)
    assert patches.shape == (3, 1, 3, 3)  # the conv's receptive field is 3x3
    np.testing.assert_array_equal(patches[0], 10.0)
    np.testing.assert_array_equal(patches[1], 5.0)
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "img 2: 90.00"
    assert image_shapes(fig) == [(3, 3)] * 3


def test_top_patches_after_pooling_and_padding():
    images = np.zeros((3, 1, 8, 8), dtype=np.float32)
    images[1, 0, 0, 0] = 7.0  # a corner: the window hangs over the padding
    model = ones_filter_net(padding=1)
    assert vis.layer_receptive_field(model, "1") == (4, 2, -1)
    patches, _ = vis.top_patches(model, "1", 0, images, k=2)
    assert patches.shape == (2, 1, 4, 4)
    assert patches[0, 0, 0].tolist() == [0, 0, 0, 0]  # the padding row above the image
    assert patches[0, 0, 1, 1] == 7.0
    with pytest.raises(ValueError, match="channel must be in 0..0"):
        vis.top_patches(model, "1", 1, images)
    assert len(vis.top_patches(model, "1", 0, images, k=9)[0]) == 3  # one per image at most
    with pytest.raises(ValueError, match="at least 1"):
        vis.top_patches(model, "1", 0, images, k=0)
    custom, _ = vis.top_patches(model, "1", 0, images, k=1, receptive_field=(2, 2, 0))
    assert custom.shape == (1, 1, 2, 2)


# --- occlusion and saliency -----------------------------------------------------------------


@pytest.mark.parametrize("size, patch, stride", [(16, 8, 4), (17, 8, 4), (12, 3, 3)])
def test_occlusion_map_shape(size, patch, stride):
    heat = vis.occlusion_map(small_net(), torch.randn(3, size, size), 1, patch, stride)
    n = (size - patch) // stride + 1
    assert heat.shape == (n, n)


def test_occlusion_map_finds_the_region_that_matters():
    image = np.ones((1, 16, 16), dtype=np.float32)
    heat = vis.occlusion_map(TopLeft(), image, target=1, patch=8, stride=4)
    # Only the patch at (0, 0) covers the top-left 4x4 pixels the class-1 score reads.
    assert np.count_nonzero(heat) == 1
    assert heat[0, 0] == pytest.approx(1 / (1 + np.exp(-1.6)) - 0.5, rel=1e-5)
    fig = vis.plot_occlusion_map(image, heat, 8, 4)
    assert len(fig.axes) == 3 and image_shapes(fig)[:2] == [(16, 16), (3, 3)]
    with pytest.raises(ValueError, match="target must be a class in 0..1"):
        vis.occlusion_map(TopLeft(), image, target=2)
    with pytest.raises(ValueError, match="patch"):
        vis.occlusion_map(TopLeft(), image, target=1, patch=20)


def test_saliency_map_is_the_input_gradient():
    image = torch.rand(3, 8, 8)
    sal = vis.saliency_map(TopLeft(), image, target=1)
    expected = np.zeros((8, 8), dtype=np.float32)
    expected[:4, :4] = 0.1
    np.testing.assert_allclose(sal, expected, rtol=1e-6)
    model = small_net()
    assert vis.saliency_map(model, image, 3).shape == (8, 8)
    assert all(p.grad is None for p in model.parameters())
    assert image_shapes(vis.plot_saliency_map(image, sal)) == [(8, 8, 3), (8, 8)]


# --- conv arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, out",
    [((7, 3, 1, 0), 5), ((7, 3, 2, 0), 3), ((32, 5, 1, 2), 32), ((227, 11, 4, 0), 55)],
)
def test_conv_output_size(args, out):
    assert vis.conv_output_size(*args) == out


def test_conv_output_size_explains_a_stride_that_does_not_fit():
    with pytest.raises(ValueError, match=r"\(7 - 3 \+ 0\) / 3 \+ 1 = 2.33"):
        vis.conv_output_size(7, 3, 3)
    assert vis.conv_output_size(7, 3, 3, strict=False) == 2
    with pytest.raises(ValueError, match="5.*3"):
        vis.conv_output_size(3, 5)


def test_conv_arithmetic_figure():
    fig = vis.conv_arithmetic_figure(5, 3, stride=2, pad=1, step=4)
    assert image_shapes(fig) == [(7, 7, 3), (3, 3, 3)]
    padded, out = (ax.images[0].get_array() for ax in fig.axes)
    grey = np.all(padded == vis._PAD, axis=-1)
    assert grey.sum() == 7 * 7 - 5 * 5  # the padding ring; the window (rows/cols 2-4) misses it
    window = np.all(padded == vis._WINDOW_INPUT, axis=-1)
    assert window.sum() == 9 and window[2:5, 2:5].all()
    assert np.all(out[1, 1] == vis._OUT_NOW) and np.all(out == vis._OUT_DONE, -1).sum() == 4
    assert "= 3" in fig.get_suptitle() and "cell (1, 1)" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="2.33"):
        vis.conv_arithmetic_figure(7, 3, stride=3)
    with pytest.raises(ValueError, match="step must be in 0..8"):
        vis.conv_arithmetic_figure(5, 3, 2, 1, step=9)


def test_conv_arithmetic_animation_has_one_frame_per_output_cell():
    anim = vis.conv_arithmetic_animation(4, 3)
    html = anim.to_jshtml()
    assert html.count("data:image/png") == 4  # a 2x2 output
    with pytest.raises(ValueError, match="2.33"):
        vis.conv_arithmetic_animation(7, 3, stride=3)


def test_conv_arithmetic_widget_steps_the_figure(monkeypatch):
    steps = []
    draw = vis.conv_arithmetic_figure

    def counting(*args):
        steps.append(args[-1])
        return draw(*args)

    monkeypatch.setattr(vis, "conv_arithmetic_figure", counting)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    widget = vis.conv_arithmetic_widget(5, 3, stride=2, pad=1)
    slider = widget.children[0]
    assert (slider.min, slider.max) == (0, 8)
    slider.value = 5
    assert steps == [0, 5]


def test_receptive_field_figure_three_3x3_layers():
    fig = vis.receptive_field_figure([(3, 1)] * 3, 9)
    assert image_shapes(fig) == [(9, 9, 3), (7, 7, 3), (5, 5, 3), (3, 3, 3)]
    inp = fig.axes[0].images[0].get_array()
    assert np.any(inp != 1, axis=-1).sum() == 49  # 7x7 of the input
    outlines = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert sorted(p.get_width() for p in outlines) == [3, 5, 7]
    assert "sees a 7x7 region" in fig.get_suptitle()


def test_receptive_field_figure_with_stride_and_padding():
    fig = vis.receptive_field_figure([(3, 2), (3, 2)], 15)
    assert image_shapes(fig) == [(15, 15, 3), (7, 7, 3), (3, 3, 3)]
    assert "7x7 region" in fig.get_suptitle()
    corner = vis.receptive_field_figure([(3, 1, 1, 1), (3, 1, 1, 1)], 5, unit=(0, 0))
    assert "9 of its 25 cells inside the image" in corner.get_suptitle()
    with pytest.raises(ValueError, match="unit must lie"):
        vis.receptive_field_figure([(3, 1)], 5, unit=(3, 0))
    with pytest.raises(ValueError, match=r"expected \(kernel, stride\[, dilation\[, pad\]\]\)"):
        vis.receptive_field_figure([(3, 1, 1, 1, 1)], 5)


@pytest.mark.parametrize("layers", [
    [(3, 1)] * 3,
    [(3, 2), (3, 2)],
    [(3, 1, 2), (3, 1, 4)],          # dilated: fields 5, then 13
    [(3, 1, 1, 1), (2, 2, 1, 0), (3, 1, 2, 2)],
])
def test_receptive_field_figure_agrees_with_arithmetic(layers):
    """One list of tuples means the same to the figure and to arithmetic.receptive_field."""
    size = arithmetic.receptive_field(layers).size
    fig = vis.receptive_field_figure(layers, 31)
    assert f"sees a {size}x{size} region" in fig.get_suptitle()
