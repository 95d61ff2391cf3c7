"""Every graded exercise of notebooks 00-03 rejects a typical wrong answer with the hint for it.

For each notebook one kernel runs the solution notebook (fast mode) up to its last graded
check, so every check is first seen to pass with the right answer. Then, per wrong answer,
the exercise's answer cell is replaced by the wrong answer and the check cell runs again *as
the student sees it* (hidden tests removed): it must fail with an AssertionError whose
message contains the hint written for that mistake. The right answer is restored before the
next case, so later checks (which may call earlier answers) see a working notebook.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cs231n_lib import course

pytestmark = [pytest.mark.notebooks]


@dataclass(frozen=True)
class Case:
    """A wrong answer for the answer cell `answer_id`, and the hint its check must give."""

    answer_id: str
    label: str
    wrong: str
    hint: str


_EQ_OBJECT = '''
class _Eq:
    """Equal to everything: the classic way to fool `==`."""
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
'''

CASES: dict[str, list[Case]] = {
    "00_why_convolution": [
        Case("fc_weights", "forgets the channels",
             "def fc_weights(height, width, channels, hidden):\n"
             "    return height * width * hidden\n",
             "Each of the 3 channels is an input of its own."),
        Case("fc_weights", "true division gives a float",
             "def fc_weights(height, width, channels, hidden):\n"
             "    return height * width * channels * hidden / 1\n",
             "not an int"),
        Case("conv_weights", "one bias for the whole layer",
             "def conv_weights(kernel, in_channels, out_channels, bias=False):\n"
             "    return kernel * kernel * in_channels * out_channels + (1 if bias else 0)\n",
             "one bias PER FILTER"),
        Case("conv_weights", "forgets the input channels",
             "def conv_weights(kernel, in_channels, out_channels, bias=False):\n"
             "    return (kernel * kernel + (1 if bias else 0)) * out_channels\n",
             "A filter spans every input channel"),
        Case("correlate2d", "flips the kernel (a true convolution)",
             "def correlate2d_valid(image, kernel):\n"
             "    return signal.convolve2d(image, kernel, mode='valid')\n",
             "do not flip the kernel"),
        Case("correlate2d", "assumes a square kernel",
             "def correlate2d_valid(image, kernel):\n"
             "    H, W = image.shape\n"
             "    k = kernel.shape[0]\n"
             "    out = np.zeros((H - k + 1, W - k + 1))\n"
             "    for i in range(H - k + 1):\n"
             "        for j in range(W - k + 1):\n"
             "            out[i, j] = np.sum(image[i:i + k, j:j + k] * kernel)\n"
             "    return out\n",
             "the kernel need not be square"),
        Case("receptive_quiz", "multiplies instead of adding",
             "seen_after_two = 6\nseen_after_three = 9\n",
             "Each 3x3 layer adds one pixel on every side."),
        Case("receptive_quiz", "an object equal to everything",
             _EQ_OBJECT + "seen_after_two = _Eq()\nseen_after_three = _Eq()\n",
             "seen_after_two returned a _Eq, not an int"),
    ],
    "01_conv_layer": [
        Case("output_size", "rounds down instead of returning None",
             "def output_size(n, f, stride=1, pad=0):\n"
             "    return (n - f + 2 * pad) // stride + 1\n",
             "return None, do not round"),
        Case("output_size", "pads one side only",
             "def output_size(n, f, stride=1, pad=0):\n"
             "    span = n + pad - f\n"
             "    if span < 0 or span % stride:\n"
             "        return None\n"
             "    return span // stride + 1\n",
             "Padding 1 adds a pixel on EACH side"),
        Case("conv_forward", "HH and WW swapped",
             "def conv_forward_naive(x, w, b, conv_param):\n"
             "    stride, pad = conv_param['stride'], conv_param['pad']\n"
             "    N, C, H, W = x.shape\n"
             "    K, _, HH, WW = w.shape\n"
             "    if (H + 2 * pad - HH) % stride or (W + 2 * pad - WW) % stride:\n"
             "        raise ValueError('stride does not fit')\n"
             "    H_out = (H + 2 * pad - HH) // stride + 1\n"
             "    W_out = (W + 2 * pad - WW) // stride + 1\n"
             "    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
             "    out = np.zeros((N, K, H_out, W_out))\n"
             "    for n in range(N):\n"
             "        for k in range(K):\n"
             "            for i in range(H_out):\n"
             "                for j in range(W_out):\n"
             "                    rows = slice(i * stride, i * stride + WW)   # swapped\n"
             "                    cols = slice(j * stride, j * stride + HH)\n"
             "                    patch = xp[n, :, rows, cols]\n"
             "                    out[n, k, i, j] = np.sum(patch * w[k]) + b[k]\n"
             "    return out, (x, w, b, conv_param)\n",
             "rows use HH and its columns WW"),
        Case("conv_forward", "forgets the bias",
             "def conv_forward_naive(x, w, b, conv_param):\n"
             "    out, cache = layers.conv_forward_fast(x, w, np.zeros_like(b), conv_param)\n"
             "    return out, cache\n",
             "top-left 2x2 patch sum + bias"),
        Case("conv_forward", "never raises for a stride that doesn't fit",
             "def conv_forward_naive(x, w, b, conv_param):\n"
             "    s, p = conv_param['stride'], conv_param['pad']\n"
             "    out = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),\n"
             "                   stride=s, padding=p).numpy()\n"
             "    return out, (x, w, b, conv_param)\n",
             "raise ValueError"),
        Case("conv_params", "one bias for all the filters",
             "def conv_params(F, C, K, bias=True):\n"
             "    return K * F * F * C + (1 if bias else 0)\n",
             "Ten 5x5x3 filters should have ten times the parameters of one"),
        Case("conv_params", "swaps the filter size and the number of filters",
             "def conv_params(F, C, K, bias=True):\n"
             "    return F * (K * K * C + (1 if bias else 0))\n",
             "One 5x5x3 filter: 5*5*3 = 75 weights plus 1 bias."),
        Case("one_by_one", "the shape as (H, W, C)",
             "out_chw = (56, 56, 32)\nparams_1x1 = 32 * 65\n",
             "write the shape as (C, H, W), channels first"),
        Case("one_by_one", "forgets the biases",
             "out_chw = (32, 56, 56)\nparams_1x1 = 32 * 64\n",
             "64 weights + 1 bias, times 32 filters"),
        Case("one_by_one", "an object equal to everything",
             _EQ_OBJECT + "out_chw = _Eq()\nparams_1x1 = _Eq()\n",
             "out_chw returned a _Eq, not a tuple"),
        Case("conv_backward", "keeps the padding in dx",
             "def conv_backward_naive(dout, cache):\n"
             "    x, w, b, conv_param = cache\n"
             "    s, p = conv_param['stride'], conv_param['pad']\n"
             "    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n"
             "    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros_like(b)\n"
             "    HH, WW = w.shape[2:]\n"
             "    for n, k, i, j in np.ndindex(*dout.shape):\n"
             "        g = dout[n, k, i, j]\n"
             "        db[k] += g\n"
             "        dw[k] += g * xp[n, :, i * s:i * s + HH, j * s:j * s + WW]\n"
             "        dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += g * w[k]\n"
             "    return dxp, dw, db\n",
             "then cut the padding off"),
        Case("conv_backward", "takes the patch from the unpadded input",
             "def conv_backward_naive(dout, cache):\n"
             "    x, w, b, conv_param = cache\n"
             "    s, p = conv_param['stride'], conv_param['pad']\n"
             "    H, W = x.shape[2:]\n"
             "    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n"
             "    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros_like(b)\n"
             "    HH, WW = w.shape[2:]\n"
             "    for n, k, i, j in np.ndindex(*dout.shape):\n"
             "        g = dout[n, k, i, j]\n"
             "        db[k] += g\n"
             "        dw[k] += g * x[n, :, i * s:i * s + HH, j * s:j * s + WW]\n"
             "        dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += g * w[k]\n"
             "    return dxp[:, :, p:p + H, p:p + W], dw, db\n",
             "take the patch from the PADDED input"),
        Case("conv_backward", "= instead of += for overlapping patches",
             "def conv_backward_naive(dout, cache):\n"
             "    x, w, b, conv_param = cache\n"
             "    s, p = conv_param['stride'], conv_param['pad']\n"
             "    H, W = x.shape[2:]\n"
             "    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n"
             "    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros_like(b)\n"
             "    HH, WW = w.shape[2:]\n"
             "    for n, k, i, j in np.ndindex(*dout.shape):\n"
             "        g = dout[n, k, i, j]\n"
             "        db[k] += g\n"
             "        dw[k] += g * xp[n, :, i * s:i * s + HH, j * s:j * s + WW]\n"
             "        dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] = g * w[k]\n"
             "    return dxp[:, :, p:p + H, p:p + W], dw, db\n",
             "(+=: patches overlap)"),
    ],
    "02_activations_pooling_fc": [
        Case("activation_backward", "sigmoid's derivative applied to the cached output",
             "def relu_backward(dout, cache):\n"
             "    return dout * (cache > 0)\n\n\n"
             "def sigmoid_backward(dout, cache):\n"
             "    s = 1 / (1 + np.exp(-cache))\n"
             "    return dout * s * (1 - s)\n\n\n"
             "def tanh_backward(dout, cache):\n"
             "    return dout * (1 - cache**2)\n",
             "written with the cache (the output for sigmoid/tanh"),
        Case("activation_backward", "ReLU's derivative 1 at x = 0",
             "def relu_backward(dout, cache):\n"
             "    return dout * (cache >= 0)\n\n\n"
             "def sigmoid_backward(dout, cache):\n"
             "    return dout * cache * (1 - cache)\n\n\n"
             "def tanh_backward(dout, cache):\n"
             "    return dout * (1 - cache**2)\n",
             "At x = 0 use derivative 0"),
        Case("max_pool_forward", "moves the window by its size, not the stride",
             "def max_pool_forward_naive(x, pool_param):\n"
             "    ph, pw = pool_param['pool_height'], pool_param['pool_width']\n"
             "    s = pool_param['stride']\n"
             "    N, C, H, W = x.shape\n"
             "    out = np.zeros((N, C, (H - ph) // s + 1, (W - pw) // s + 1))\n"
             "    for n, c, i, j in np.ndindex(*out.shape):\n"
             "        out[n, c, i, j] = x[n, c, i * ph:i * ph + ph, j * pw:j * pw + pw].max()\n"
             "    return out, (x, pool_param)\n",
             "the window moves by the stride, not by its size"),
        Case("max_pool_forward", "uses the pool height for both axes",
             "def max_pool_forward_naive(x, pool_param):\n"
             "    ph, s = pool_param['pool_height'], pool_param['stride']\n"
             "    N, C, H, W = x.shape\n"
             "    out = np.zeros((N, C, (H - ph) // s + 1, (W - ph) // s + 1))\n"
             "    for n, c, i, j in np.ndindex(*out.shape):\n"
             "        out[n, c, i, j] = x[n, c, i * s:i * s + ph, j * s:j * s + ph].max()\n"
             "    return out, (x, pool_param)\n",
             "rows use pool_height and columns pool_width"),
        Case("max_pool_backward", "= instead of += where windows overlap",
             "def max_pool_backward_naive(dout, cache):\n"
             "    x, pp = cache\n"
             "    ph, pw, s = pp['pool_height'], pp['pool_width'], pp['stride']\n"
             "    dx = np.zeros_like(x)\n"
             "    for n, c, i, j in np.ndindex(*dout.shape):\n"
             "        win = x[n, c, i * s:i * s + ph, j * s:j * s + pw]\n"
             "        r, q = np.unravel_index(np.argmax(win), win.shape)\n"
             "        dx[n, c, i * s + r, j * s + q] = dout[n, c, i, j]\n"
             "    return dx\n",
             "use +=, not ="),
        Case("max_pool_backward", "every tied maximum gets the gradient",
             "def max_pool_backward_naive(dout, cache):\n"
             "    x, pp = cache\n"
             "    ph, pw, s = pp['pool_height'], pp['pool_width'], pp['stride']\n"
             "    dx = np.zeros_like(x)\n"
             "    for n, c, i, j in np.ndindex(*dout.shape):\n"
             "        win = x[n, c, i * s:i * s + ph, j * s:j * s + pw]\n"
             "        ties = win == win.max()\n"
             "        dx[n, c, i * s:i * s + ph, j * s:j * s + pw] += ties * dout[n, c, i, j]\n"
             "    return dx\n",
             "FIRST maximum"),
        Case("shape_quiz", "the shape as (H, W, C)",
             "quiz_pool2_shape = (7, 7, 16)\nquiz_fc_inputs = 784\n"
             "quiz_total_params = (5 * 5 * 3 * 8 + 8) + (3 * 3 * 8 * 16 + 16) + (784 * 10 + 10)\n",
             "give the shape as (C, H, W), channels first"),
        Case("shape_quiz", "forgets the biases",
             "quiz_pool2_shape = (16, 7, 7)\nquiz_fc_inputs = 784\n"
             "quiz_total_params = 5 * 5 * 3 * 8 + 3 * 3 * 8 * 16 + 784 * 10\n",
             "Did you count every bias?"),
        Case("shape_quiz", "the second conv keeps the size (as if padded)",
             "quiz_pool2_shape = (16, 8, 8)\nquiz_fc_inputs = 1024\nquiz_total_params = 0\n",
             "the unpadded 3x3 conv loses 2"),
    ],
    "03_receptive_fields": [
        Case("rf_quiz", "ignores the stride",
             "quiz_field = 7\nquiz_jump = 2\n",
             "the jump only grows *after* the stride-2 layer"),
        Case("rf_quiz", "a float instead of an int",
             "quiz_field = 9.0\nquiz_jump = 2\n",
             "quiz_field returned the float 9.0, not an int"),
        Case("rf_size", "multiplies the jump before adding",
             "def receptive_field_size(layers):\n"
             "    size, jump = 1, 1\n"
             "    for kernel, stride in layers:\n"
             "        jump *= stride\n"
             "        size += (kernel - 1) * jump\n"
             "    return size, jump\n",
             "only then multiply the jump by this layer's stride"),
        Case("stack_weights", "counts C only once",
             "def stack_weights(n, F, C):\n    return n * F * F * C\n",
             "Each layer has C filters, each of size F x F x C."),
        Case("bottleneck", "multiply-adds without the pixels",
             "def bottleneck_cost(C, H, W):\n"
             "    half = C // 2\n"
             "    weights = C * half + 9 * half * half + half * C\n"
             "    return weights, weights\n",
             "Every output value of a layer is one dot product"),
        Case("bottleneck", "C / 2 gives floats",
             "def bottleneck_cost(C, H, W):\n"
             "    half = C / 2\n"
             "    weights = C * half + 9 * half * half + half * C\n"
             "    return weights, H * W * weights\n",
             "not an int"),
        Case("fmp_quiz", "counts the 1-wide regions",
             "n_wide = 14\nn_fmp_layers = 6\n",
             "The 23 widths, each 1 or 2, must add up to 32."),
        Case("fmp_quiz", "sqrt(2) ** 4 is not 8",
             "n_wide = 9\nn_fmp_layers = 4\n",
             "three 2x2 pooling layers by 2**3 = 8"),
    ],
}

# Teaching cells that define names a check cell uses (everything else is skipped, for speed).
NEEDED = {
    "02_activations_pooling_fc": ("def relu_forward(x):", "slice4 = np.array("),
}

_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _run_cases(name: str) -> dict[Case, str | None]:
    """Run notebook `name` once, then every wrong answer of CASES[name]; return the failures.

    The value for each case is "ename: evalue" of the error its check raised, or None if the
    check passed.
    """
    path = course.notebook_path(name)
    nb = nbformat.read(path, as_version=4)
    index = {_grade_id(c): i for i, c in enumerate(nb.cells) if _grade_id(c)}
    graded = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")]
    client = NotebookClient(nb, timeout=600, kernel_name=course.KERNEL_NAME,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    outcome: dict[Case, str | None] = {}
    with client.setup_kernel():
        # Only what the checks need: the set-up and import cells, the cells that define
        # names a check uses (NEEDED), and every answer and check cell. The solution passes
        # every check on the way (a CellExecutionError here means a right answer failed).
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        for i in code:
            cell = nb.cells[i]
            if i > max(graded):
                break
            if (i in code[:2] or cell.metadata.get("nbgrader")
                    or any(needle in cell.source for needle in NEEDED.get(name, ()))):
                client.execute_cell(cell, i)
        for case in CASES[name]:
            answer_i, check_i = index[case.answer_id], index[f"test_{case.answer_id}"]
            client.execute_cell(nbformat.v4.new_code_cell(case.wrong), answer_i)
            student_check = copy.deepcopy(nb.cells[check_i])
            student_check.source = _HIDDEN.sub("", student_check.source)
            try:
                client.execute_cell(student_check, check_i)
                outcome[case] = None
            except CellExecutionError as exc:
                outcome[case] = f"{exc.ename}: {exc.evalue}"
            client.execute_cell(copy.deepcopy(nb.cells[answer_i]), answer_i)   # right again
    return outcome


@pytest.fixture(scope="module")
def outcomes():
    """Per notebook, computed once on first use: {Case: error text or None}."""
    cache: dict[str, dict[Case, str | None]] = {}

    def get(name):
        if name not in cache:
            cache[name] = _run_cases(name)
        return cache[name]

    return get


def _every_graded_exercise_has_a_case():
    missing = []
    for name, cases in CASES.items():
        nb = nbformat.read(course.notebook_path(name), as_version=4)
        answers = {_grade_id(c) for c in nb.cells
                   if c.metadata.get("nbgrader", {}).get("solution")}
        missing += [f"{name}:{a}" for a in sorted(answers - {c.answer_id for c in cases})]
    return missing


def test_every_graded_exercise_has_a_wrong_answer():
    assert not _every_graded_exercise_has_a_case(), "exercises without a typical wrong answer"


_PARAMS = [pytest.param(name, case, id=f"{name[:2]}-{case.answer_id}-{case.label}")
           for name, cases in CASES.items() for case in cases]


@pytest.mark.parametrize(("name", "case"), _PARAMS)
def test_wrong_answer_fails_with_its_hint(outcomes, name, case):
    error = outcomes(name)[case]
    assert error is not None, f"{name}: the check of {case.answer_id} passed '{case.label}'"
    assert error.startswith("AssertionError"), (
        f"{name}: '{case.label}' made the check crash instead of failing with a hint: {error}"
    )
    assert case.hint in error, (
        f"{name}: '{case.label}' failed without its hint {case.hint!r}; the message was: {error}"
    )
