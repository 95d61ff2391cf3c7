"""Typical wrong answers to every graded exercise of notebooks 04-06 fail WITH their hint.

For each notebook one kernel runs the solution notebook's cells up to its last graded check
(in fast mode, skipping the training demos the checks do not need). Then, for each typical
wrong answer, the answer cell is run with its solution region replaced by the wrong code,
followed by the notebook's own check cell (hidden tests included, as the grader runs it);
the check must fail and its message must contain the hint written for that mistake. The
right answer is put back afterwards, and the untouched check must pass.
"""

from __future__ import annotations

import pytest

from tests.exercise_kernels import (
    assert_every_check_covered,
    assert_fails_with_hint,
    assert_passes_quietly,
    grade_id,
    kernel_pool,
)

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

# notebook -> [(answer grade_id, check grade_id, case name, wrong code, hint substring)]
CASES = {
    "04_data_augmentation": [
        ("flip_batch", "test_flip_batch", "vertical flip",
         "return x[:, :, ::-1].copy()", "that is a vertical flip"),
        ("flip_batch", "test_flip_batch", "a view, not a copy",
         "return x[..., ::-1]", "shares memory with x"),
        ("flip_batch", "test_flip_batch", "np.fliplr flips the channels",
         "return np.fliplr(x).copy()", "flip only the last axis"),
        ("n_views", "test_n_views", "one position short (the paper's count)",
         "n_views_cifar = 8 ** 2 * 2\nn_views_alexnet = 32 ** 2 * 2", "one position short"),
        ("n_views", "test_n_views", "no flips",
         "n_views_cifar = 81\nn_views_alexnet = 33 ** 2", "flipped or not"),
        ("n_views", "test_n_views", "a float",
         "n_views_cifar = 162.0\nn_views_alexnet = 2178.0", "not an int"),
        ("random_crop", "test_random_crop", "upper end excluded",
         "padded = np.pad(image, ((0, 0), (padding, padding), (padding, padding)))\n"
         "H, W = padded.shape[1:]\n"
         "top = rng.integers(0, H - size)\nleft = rng.integers(0, W - size)\n"
         "return padded[:, top:top + size, left:left + size]",
         "draw the corner from 0..(padded size - crop size), both ends included"),
        ("random_crop", "test_random_crop", "channels padded too",
         "padded = np.pad(image, padding)\nH, W = padded.shape[1:]\n"
         "top = rng.integers(0, H - size + 1)\nleft = rng.integers(0, W - size + 1)\n"
         "return padded[:, top:top + size, left:left + size]",
         "pad the rows and columns only (not the channels)"),
        ("bilinear_at", "test_bilinear_at", "row and column fractions swapped",
         "H, W = image.shape\ny0, x0 = int(np.floor(y)), int(np.floor(x))\n"
         "b, a = y - y0, x - x0\ny1, x1 = min(y0 + 1, H - 1), min(x0 + 1, W - 1)\n"
         "return ((1 - a) * (1 - b) * image[y0, x0] + (1 - a) * b * image[y0, x1]\n"
         "        + a * (1 - b) * image[y1, x0] + a * b * image[y1, x1])",
         "the ROW fraction"),
        ("bilinear_at", "test_bilinear_at", "no clipping at the border",
         "y0, x0 = int(np.floor(y)), int(np.floor(x))\na, b = y - y0, x - x0\n"
         "return ((1 - a) * (1 - b) * image[y0, x0] + (1 - a) * b * image[y0, x0 + 1]\n"
         "        + a * (1 - b) * image[y0 + 1, x0] + a * b * image[y0 + 1, x0 + 1])",
         "clip its index to H - 1"),
        ("pca_offset", "test_pca_offset", "only works for one image",
         "return np.asarray(eigvecs) @ (np.asarray(alphas) * eigvals)", "one row per image"),
        ("pca_offset", "test_pca_offset", "eigenvectors taken as rows",
         "return (np.asarray(alphas) * eigvals) @ np.asarray(eigvecs)",
         "the eigenvectors are the COLUMNS"),
        ("flip_tta", "test_flip_tta", "no flip",
         "return (prob_fn(X) + prob_fn(X)) / 2", "must be equally likely"),
        ("flip_tta", "test_flip_tta", "vertical flip",
         "return (prob_fn(X) + prob_fn(X[:, :, ::-1])) / 2", "flipping the columns"),
        ("flip_tta", "test_flip_tta", "uniform probabilities",
         "p = prob_fn(X)\nreturn np.ones_like(p) / p.shape[1]", "not the averages"),
    ],
    "05_pytorch_convnets": [
        ("conv_like_numpy", "test_conv_like_numpy", "in and out channels swapped",
         "F, C, HH, WW = w.shape\n"
         "conv = nn.Conv2d(F, C, kernel_size=(HH, WW), stride=conv_param['stride'],\n"
         "                 padding=conv_param['pad'])\n"
         "with torch.no_grad():\n"
         "    conv.weight.copy_(torch.from_numpy(w))\n"
         "    conv.bias.copy_(torch.from_numpy(b))\n"
         "return conv",
         "takes the INPUT channels first"),
        ("conv_like_numpy", "test_conv_like_numpy", "weights share memory with w",
         "F, C, HH, WW = w.shape\n"
         "conv = nn.Conv2d(C, F, kernel_size=(HH, WW), stride=conv_param['stride'],\n"
         "                 padding=conv_param['pad'])\n"
         "conv.weight = nn.Parameter(torch.from_numpy(w))\n"
         "conv.bias = nn.Parameter(torch.from_numpy(b))\n"
         "return conv",
         "it shares memory with w"),
        ("lenet_param_counts", "test_lenet_param_counts", "c5 and output without biases",
         "return {'c1': 156, 'c3': 2416, 'c5': 120 * 5 * 5 * 16, 'f6': 10164,\n"
         "        'output': 10 * 84}",
         "['c5'] counts the weights only"),
        ("lenet_param_counts", "test_lenet_param_counts", "c3 as if it saw one channel",
         "return {'c1': 156, 'c3': 16 * (5 * 5 + 1), 'c5': 48120, 'f6': 10164,\n"
         "        'output': 850}",
         "span all 6 channels of S2"),
        ("accuracy", "test_accuracy", "argmax over the rows",
         "return (scores.argmax(0) == y).float().mean().item()", "argmax over dim=1"),
        ("accuracy", "test_accuracy", "a tensor, not a float",
         "return (scores.argmax(1) == y).float().mean()", "use .item()"),
        ("train_step", "test_train_step", "no zero_grad",
         "model.train()\nloss = nn.functional.cross_entropy(model(xb), yb)\n"
         "loss.backward()\noptimizer.step()\nreturn loss.item()",
         "optimizer.zero_grad() in every step"),
        ("train_step", "test_train_step", "no model.train()",
         "loss = nn.functional.cross_entropy(model(xb), yb)\noptimizer.zero_grad()\n"
         "loss.backward()\noptimizer.step()\nreturn loss.item()",
         "model.train()"),
        ("train_step", "test_train_step", "softmax before the loss",
         "model.train()\n"
         "loss = nn.functional.cross_entropy(torch.softmax(model(xb), 1), yb)\n"
         "optimizer.zero_grad()\nloss.backward()\noptimizer.step()\nreturn loss.item()",
         "pass the scores themselves to the loss"),
        ("train_step", "test_train_step", "no optimizer.step()",
         "model.train()\nloss = nn.functional.cross_entropy(model(xb), yb)\n"
         "optimizer.zero_grad()\nloss.backward()\nreturn loss.item()",
         "call optimizer.step()"),
    ],
    "06_case_studies_classic": [
        ("conv_layer_numbers", "test_conv_layer_numbers", "padding forgotten",
         "span = in_size - kernel\nif span % stride:\n"
         "    raise ValueError(f'{span / stride + 1:.2f} is not a whole number')\n"
         "return span // stride + 1, kernel * kernel * in_channels * filters, filters",
         "Did you add 2 * pad"),
        ("conv_layer_numbers", "test_conv_layer_numbers", "never raises",
         "span = in_size - kernel + 2 * pad\n"
         "return span // stride + 1, kernel * kernel * in_channels * filters, filters",
         "this layer does not fit, raise ValueError"),
        ("conv_layer_numbers", "test_conv_layer_numbers", "message without the fraction",
         "span = in_size - kernel + 2 * pad\nif span % stride:\n"
         "    raise ValueError('does not fit')\n"
         "return span // stride + 1, kernel * kernel * in_channels * filters, filters",
         "show the fraction"),
        ("zfnet_quiz", "test_zfnet_quiz", "the +1 forgotten",
         "zf_conv1_size = (227 - 7) // 2\nzf_fc6_weights = 6 * 6 * 512 * 4096",
         "use (N - F + 2P) / S + 1"),
        ("zfnet_quiz", "test_zfnet_quiz", "biases counted",
         "zf_conv1_size = 111\nzf_fc6_weights = 6 * 6 * 512 * 4096 + 4096",
         "counts the 4096 biases too"),
        ("zfnet_quiz", "test_zfnet_quiz", "AlexNet's 256 channels",
         "zf_conv1_size = 111\nzf_fc6_weights = 6 * 6 * 256 * 4096",
         "one weight per pair"),
        ("count_activations", "test_count_activations", "entries added, not multiplied",
         "return sum(sum(s) for s in shapes)", "multiply the entries of a shape"),
        ("fc6_fraction", "test_fc6_fraction", "weights only",
         "fc6_params = 7 * 7 * 512 * 4096\nfc6_fraction = fc6_params / vgg16.total_params",
         "counts the weights only"),
        ("fc6_fraction", "test_fc6_fraction", "a percentage",
         "fc6_params = 7 * 7 * 512 * 4096 + 4096\n"
         "fc6_fraction = 100 * fc6_params / vgg16.total_params",
         "a fraction is between 0 and 1"),
        ("fc6_fraction", "test_fc6_fraction", "divided by the weights only",
         "fc6_params = 7 * 7 * 512 * 4096 + 4096\n"
         "fc6_fraction = fc6_params / vgg16.total_weights",
         "ALL of VGG-16's parameters"),
    ],
}
# Code cells of 04 from the DATASET knob up to the flip_tta answer train networks that the
# checks do not need.
SKIP_FROM = 'DATASET = "shapes"'


def _select(name: str, nb) -> list[int]:
    """Code cells up to the last graded check, minus 04's training demos."""
    last = max(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    chosen, skipping = [], False
    for index, cell in enumerate(nb.cells[:last + 1]):
        if cell.cell_type != "code":
            continue
        if SKIP_FROM in cell.source:
            skipping = True
        if skipping and grade_id(cell) == "flip_tta":
            skipping = False
        if not skipping:
            chosen.append(index)
    return chosen


@pytest.fixture(scope="module")
def kernels():
    with kernel_pool(_select) as get:
        yield get


ALL = [(nb, *case) for nb, cases in CASES.items() for case in cases]


@pytest.mark.parametrize("notebook,answer,check,case,code,hint", ALL,
                         ids=[f"{nb[:2]}-{a}-{c}" for nb, a, _, c, _, _ in ALL])
def test_wrong_answer_fails_with_its_hint(kernels, notebook, answer, check, case, code, hint):
    assert_fails_with_hint(kernels(notebook), answer, check, case, code, hint)


@pytest.mark.parametrize("notebook,check", sorted({(nb, c[1]) for nb, cases in CASES.items()
                                                    for c in cases}))
def test_right_answer_passes_quietly(kernels, notebook, check):
    assert_passes_quietly(kernels(notebook), check)


def test_every_graded_check_has_a_wrong_answer():
    assert_every_check_covered(CASES)
