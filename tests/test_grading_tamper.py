"""The tamper attack of issue #22, graded end to end through ``grade_all``: an answer cell
that patches what the checks call (``check_close``, ``np.allclose``, ``checks.close``) and
then returns zero gradients from ``conv_backward_naive`` used to score 10/10. With the
guard cells the checks run against pristine references: the gradient test earns nothing,
the rest of the (correct) notebook keeps its points, and the notes say what was patched.
"""

import nbformat
import pytest

from cs231n_lib import course, grading
from tests.notebook_utils import have_sandbox

pytest.importorskip("cs231n_lib.guard", reason="the guard (issue #22) is not in this checkout")

pytestmark = [pytest.mark.notebooks]

NAME = "01_conv_layer"
ATTACK = '''

import numpy as np
from cs231n_lib import checks, gradient_check

check_close = lambda *a, **k: None
gradient_check.check_close = lambda *a, **k: None
np.allclose = lambda *a, **k: True
checks.close = lambda *a, **k: None
_honest_backward = conv_backward_naive


def conv_backward_naive(dout, cache):
    dx, dw, db = _honest_backward(dout, cache)
    return np.zeros_like(dx), np.zeros_like(dw), np.zeros_like(db)
'''


def test_patching_the_checks_then_returning_zero_gradients_earns_nothing(tmp_path):
    nb = nbformat.read(course.notebook_path(NAME), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "conv_backward":
            cell.source += ATTACK
    (tmp_path / "subs" / "mallory").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "subs" / "mallory" / f"{NAME}.ipynb")
    results, _ = grading.grade_all(tmp_path / "subs", tmp_path / "out", jobs=1,
                                   sandbox=have_sandbox())
    res = results[0]
    assert res.status == "graded", res.notes
    points = dict(grading.graded_cells(nb))
    assert res.scores == {**points, "test_conv_backward": 0.0}, (res.scores, res.log)
    assert res.total == res.max_total - points["test_conv_backward"]
    said = " ".join(res.notes)
    assert "test_conv_backward" in said and "allclose" in said, res.notes
