"""Typical wrong answers to every graded exercise of notebooks 07-09 fail WITH their hint.

One kernel per notebook runs only what the checks need: the notebook's setup cells (named by
a piece of their source in SETUP), then its exercises in order, answer cell and check cell
(fast mode). Then, for each typical wrong answer, the answer cell is run with its solution
region(s) replaced by the wrong code, followed by the notebook's own check cell (hidden tests
included, as the grader runs it); the check must fail with an AssertionError whose message
contains the hint written for that mistake. The right answer is put back afterwards, and the
untouched check must pass without writing to stderr.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from cs231n_lib import course
from tests.exercise_kernels import (
    assert_every_check_covered,
    assert_fails_with_hint,
    assert_passes_quietly,
    grade_id,
    kernel_pool,
)

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

# Code cells (besides the graded ones) that the checks need, by a piece of their source.
SETUP = {
    "07_case_studies_modern": ["runtime.check_environment()", "import math"],
    "08_understanding_convnets": ["runtime.check_environment()", "from collections import"],
    "09_transfer_learning": ["runtime.check_environment()", "import copy",
                             'DATASET = "shapes"', "def make_net(num_classes, seed)"],
}

# notebook -> [(answer grade_id, check grade_id, case, wrong code, hint substring)].
# The wrong code replaces the answer cell's solution region; a tuple gives one piece per
# region (None keeps the solution there).
CASES = {
    "07_case_studies_modern": [
        ("inception_naive_depth", "test_inception_naive_depth", "pooling branch forgotten",
         "return n1x1 + n3x3 + n5x5", "AND the channels the pooling branch passes on"),
        ("inception_naive_depth", "test_inception_naive_depth", "a float",
         "return float(n1x1 + n3x3 + n5x5 + in_depth)", "not an int"),
        ("residual_block", "test_residual_block", "no shortcut",
         "out = F.relu(self.bn1(self.conv1(x)))\nout = self.bn2(self.conv2(out))\n"
         "return F.relu(out)", "did you forget to add the input x"),
        ("residual_block", "test_residual_block", "ReLU before the addition",
         "out = F.relu(self.bn1(self.conv1(x)))\nout = self.bn2(self.conv2(out))\n"
         "return F.relu(out) + x", "applied AFTER adding x"),
        ("residual_block", "test_residual_block", "a crash inside forward",
         "out = F.relu(self.bn1(self.conv1(x)))\nout = self.bn2(self.conv2(out))\n"
         "return F.relu(out + x.mean(1))", "conv1 -> bn1 -> ReLU -> conv2 -> bn2, add x, ReLU"),
        ("block_weights", "test_block_weights", "one conv instead of two",
         ("return 3 * 3 * channels * channels", None), "Two 3x3 filters on one channel"),
        ("block_weights", "test_block_weights", "the 3x3 conv counted as 1x1",
         (None, "return c_in * c_mid + c_mid * c_mid + c_mid * c_out"),
         "1x1 (1 weight) + 3x3 (9) + 1x1 (1) = 11"),
        ("jacobian_quiz", "test_jacobian_quiz", "layers as a float",
         "gradient_after_56 = 0.9**56\n"
         "layers_to_one_percent = math.log(0.01) / math.log(0.9)", "not an int"),
        ("jacobian_quiz", "test_jacobian_quiz", "rounded down",
         "gradient_after_56 = 0.9**56\n"
         "layers_to_one_percent = int(math.log(0.01) / math.log(0.9))", "not yet below 1%"),
        ("jacobian_quiz", "test_jacobian_quiz", "0.9 times 56",
         "gradient_after_56 = 0.9 * 56\nlayers_to_one_percent = 44", "0.9 to the power 56"),
        ("alphago_field", "test_alphago_field", "an area",
         "policy_receptive_field = 19 * 19\nsees_whole_board = True", "not an area"),
        ("alphago_field", "test_alphago_field", "the 1x1 layer adds one",
         "policy_receptive_field = 5 + 11 * 2 + 1\nsees_whole_board = False",
         "a 1x1 layer adds nothing"),
        ("alphago_field", "test_alphago_field", "field taken from the centre",
         "policy_receptive_field = 5 + 11 * 2\nsees_whole_board = True",
         "Put the field's centre on a CORNER point"),
        ("alphago_field", "test_alphago_field", "a string",
         "policy_receptive_field = 27\nsees_whole_board = 'no'", "should be True or False"),
    ],
    "08_understanding_convnets": [
        ("normalise_filter", "test_normalise_filter", "min and max per channel",
         "w = np.asarray(w, dtype=np.float64)\n"
         "lo, hi = w.min(axis=(1, 2), keepdims=True), w.max(axis=(1, 2), keepdims=True)\n"
         "return (w - lo) / np.where(hi > lo, hi - lo, 1.0)",
         "take min and max over ALL channels together"),
        ("normalise_filter", "test_normalise_filter", "constant filter divides by zero",
         "w = np.asarray(w, dtype=np.float64)\nreturn (w - w.min()) / (w.max() - w.min())",
         "not NaN"),
        ("normalise_filter", "test_normalise_filter", "a tensor",
         "w = torch.as_tensor(w)\nreturn (w - w.min()) / (w.max() - w.min())",
         ".detach().cpu().numpy()"),
        ("receptive_field", "test_receptive_field", "jump ignored",
         "size, jump, out = 1, 1, []\nfor kernel, stride, _pad in layers:\n"
         "    size += kernel - 1\n    jump *= stride\n    out.append((size, jump))\nreturn out",
         "(3 - 1) * 2 = 4 pixels, not 2"),
        ("receptive_field", "test_receptive_field", "jump updated first",
         "size, jump, out = 1, 1, []\nfor kernel, stride, _pad in layers:\n"
         "    jump *= stride\n    size += (kernel - 1) * jump\n    out.append((size, jump))\n"
         "return out", "after a stride-2 pool"),
        ("top_k_indices", "test_top_k_indices", "smallest first",
         "return np.argsort(values)[:k]", "the largest value, 0.9, first appears at index 1"),
        ("top_k_indices", "test_top_k_indices", "ties in reverse order",
         "return np.argsort(values, kind='stable')[::-1][:k]",
         "the largest value, 0.9, first appears at index 1"),
        ("occlusion", "test_occlusion", "changes the image in place",
         "image = np.asarray(image)\n_, height, width = image.shape\nbase = model_fn(image)\n"
         "rows = range(0, height - patch + 1, stride)\n"
         "cols = range(0, width - patch + 1, stride)\n"
         "drops = np.zeros((len(rows), len(cols)))\nfor a, r in enumerate(rows):\n"
         "    for b, c in enumerate(cols):\n        hidden = image\n"
         "        hidden[:, r:r + patch, c:c + patch] = fill\n"
         "        drops[a, b] = base - model_fn(hidden)\nreturn drops",
         "occlusion must not change the input image"),
        ("occlusion", "test_occlusion", "last position missed",
         "image = np.asarray(image)\n_, height, width = image.shape\nbase = model_fn(image)\n"
         "rows = range(0, height - patch, stride)\ncols = range(0, width - patch, stride)\n"
         "drops = np.zeros((len(rows), len(cols)))\nfor a, r in enumerate(rows):\n"
         "    for b, c in enumerate(cols):\n        hidden = image.copy()\n"
         "        hidden[:, r:r + patch, c:c + patch] = fill\n"
         "        drops[a, b] = base - model_fn(hidden)\nreturn drops",
         "fits 3x3 times in a 4x4 image"),
        ("occlusion", "test_occlusion", "indexing past the image",
         "image = np.asarray(image)\n_, height, width = image.shape\n"
         "drops = np.zeros((height, width))\nfor r in range(0, height + 1, stride):\n"
         "    drops[r, 0] = model_fn(image)\nreturn drops",
         "use range(0, H - patch + 1, stride)"),
        ("occlusion_shape", "test_occlusion_shape", "one position short",
         "shape_stride2 = (12, 12)\nshape_stride4 = (7, 7)", "one more position would still fit"),
        ("occlusion_shape", "test_occlusion_shape", "stride 4 one too many",
         "shape_stride2 = (13, 13)\nshape_stride4 = (8, 8)",
         "shape_stride4: with that many rows the last patch would stick out"),
        ("occlusion_shape", "test_occlusion_shape", "not a pair",
         "shape_stride2 = 13\nshape_stride4 = 7", "shape_stride2"),
        ("channels_for_fraction", "test_channels_for_fraction", "not sorted",
         "running = np.cumsum(np.asarray(values, dtype=np.float64))\n"
         "return int(np.searchsorted(running, fraction * running[-1]) + 1)",
         "sort the values from large to small"),
        ("channels_for_fraction", "test_channels_for_fraction", "> instead of >=",
         "running = np.cumsum(np.sort(np.asarray(values, dtype=np.float64))[::-1])\n"
         "return int(np.sum(running <= fraction * running[-1]) + 1)", ">=, not >"),
        ("channels_for_fraction", "test_channels_for_fraction", "a float",
         "running = np.cumsum(np.sort(np.asarray(values, dtype=np.float64))[::-1])\n"
         "return float(np.searchsorted(running, fraction * running[-1]) + 1)", "not an int"),
    ],
    "09_transfer_learning": [
        ("few_shot_subset", "test_few_shot_subset", "the global random generator",
         "y = np.asarray(y)\nchosen = []\nfor c in np.unique(y):\n"
         "    members = np.flatnonzero(y == c)\n"
         "    if len(members) < per_class:\n        raise ValueError(f'class {c}')\n"
         "    chosen.append(np.random.choice(members, size=per_class, replace=False))\n"
         "return np.concatenate(chosen)", "draw with the rng you are given"),
        ("few_shot_subset", "test_few_shot_subset", "with replacement",
         "y = np.asarray(y)\nchosen = []\nfor c in np.unique(y):\n"
         "    members = np.flatnonzero(y == c)\n"
         "    if len(members) < per_class:\n        raise ValueError(f'class {c}')\n"
         "    chosen.append(np.repeat(rng.choice(members), per_class))\n"
         "return np.concatenate(chosen)", "draw without replacement"),
        ("few_shot_subset", "test_few_shot_subset", "a too-small class not caught",
         "y = np.asarray(y)\nchosen = []\nfor c in np.unique(y):\n"
         "    members = np.flatnonzero(y == c)\n"
         "    chosen.append(rng.permutation(members)[:per_class])\n"
         "return np.concatenate(chosen)", "must raise ValueError"),
        ("replace_head", "test_replace_head", "out_features taken as inputs",
         "name, last = list(model.named_children())[-1]\n"
         "setattr(model, name, nn.Linear(last.out_features, num_classes))\nreturn model",
         "nn.Linear(last.in_features, num_classes)"),
        ("replace_head", "test_replace_head", "model not returned",
         "name, last = list(model.named_children())[-1]\n"
         "setattr(model, name, nn.Linear(last.in_features, num_classes))",
         "return the model"),
        ("replace_head", "test_replace_head", "no type check",
         "name, last = list(model.named_children())[-1]\n"
         "setattr(model, name, nn.Linear(getattr(last, 'in_features', 3), num_classes))\n"
         "return model", "must raise TypeError"),
        ("freeze", "test_freeze", "never unfreezes",
         "names = [name for name, _ in model.named_children()]\n"
         "if up_to not in names:\n    raise ValueError(up_to)\n"
         "for name, child in model.named_children():\n    if name == up_to:\n        break\n"
         "    for p in child.parameters():\n        p.requires_grad = False\nreturn model",
         "Did you set requires_grad = True again"),
        ("freeze", "test_freeze", "up_to frozen too",
         "names = [name for name, _ in model.named_children()]\n"
         "if up_to not in names:\n    raise ValueError(up_to)\nfrozen = True\n"
         "for name, child in model.named_children():\n"
         "    for p in child.parameters():\n        p.requires_grad = not frozen\n"
         "    frozen = frozen and name != up_to\nreturn model",
         "must leave only the 50 parameters of fc trainable"),
        ("count_quiz", "test_count_quiz", "head without biases",
         "frozen_trainable = 32 * 8\nall_trainable = 18_738 - 330 + 264",
         "plus one bias per output"),
        ("count_quiz", "test_count_quiz", "the source network unchanged",
         "frozen_trainable = 32 * 8 + 8\nall_trainable = 18_738", "minus its 10-class head"),
        ("param_groups", "test_param_groups", "groups in the wrong order",
         "children = list(model.children())\n"
         "body = [p for child in children[:-1] for p in child.parameters()]\n"
         "head = list(children[-1].parameters())\n"
         "return [{'params': head, 'lr': lr_head}, {'params': body, 'lr': lr_features}]",
         "first the features at lr_features"),
        ("param_groups", "test_param_groups", "the head counted twice",
         "children = list(model.children())\n"
         "return [{'params': list(model.parameters()), 'lr': lr_features},\n"
         "        {'params': list(children[-1].parameters()), 'lr': lr_head}]",
         "the body (conv 112 + bn 8 = 120)"),
        ("param_groups", "test_param_groups", "a tuple of dicts",
         "children = list(model.children())\n"
         "body = [p for child in children[:-1] for p in child.parameters()]\n"
         "return ({'params': body, 'lr': lr_features},\n"
         "        {'params': list(children[-1].parameters()), 'lr': lr_head})",
         "return a list of two dicts"),
    ],
}


def _select(name: str, nb) -> list[int]:
    """The setup cells named in SETUP, and every exercise (answer and check cells)."""
    return [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and (grade_id(cell) or any(s in cell.source for s in SETUP[name]))]


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


def test_visible_checks_do_not_state_the_quiz_answers():
    """The quiz answers live in hidden tests only; visible asserts compare digests."""
    nb = nbformat.read(course.notebook_path("07_case_studies_modern"), as_version=4)
    check = next(c for c in nb.cells if grade_id(c) == "test_alphago_field").source
    visible = check.split("### BEGIN HIDDEN TESTS")[0]
    for answer in (r"\b27\b", r"\b37\b", r"\bFalse\b"):
        assert not re.search(answer, visible.replace("True or False", "")), answer
