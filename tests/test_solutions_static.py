"""Static checks of every graded test cell in ``solutions/`` (no kernel needed).

nbgrader, which many courses grade with, reads a number as a test cell's last output as
*partial credit*: a check that ends on ``check_close(...)`` (which returns 0.0) scored 0.
The course's own grader no longer does, but the notebooks must stay safe under both: every
graded test cell (its hidden tests included) is plain Python that parses, holds statements
only, and ends on a statement that displays nothing: not an expression, except a call of one
of the assertion-style helpers of ``cs231n_lib.checks`` that return None by contract
(``checks.close``/``equal``/``matches``), which display nothing.
"""

import ast
import re

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from cs231n_lib import course, exercises, grading

NAMES = course.assignments()
#: ``checks.X(...)`` calls that return None by contract (contract A): safe as a last line.
RETURNS_NONE = {"close", "equal", "matches"}


def _returns_none(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
            and node.func.attr in RETURNS_NONE)


def _test_cells(name):
    nb = nbformat.read(course.notebook_path(name), as_version=4)
    return [(cell.metadata["nbgrader"]["grade_id"], cell) for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade")]


def test_every_assignment_has_graded_cells():
    empty = [n for n in NAMES if not _test_cells(n)]
    assert not empty, f"assignments without a graded test cell: {empty}"


def problems_of(source: str) -> list[str]:
    """What is wrong with one graded cell's code (empty: nothing)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"is not plain Python (line {exc.lineno}: {exc.msg}); no magics or shell "
                "escapes in a graded cell"]
    if not tree.body:
        return ["holds no code"]
    last = tree.body[-1]
    docstring = isinstance(last, ast.Expr) and isinstance(last.value, ast.Constant) \
        and isinstance(last.value.value, str)
    if isinstance(last, ast.Expr) and not docstring and not _returns_none(last.value):
        code = ast.unparse(last)[:60]
        return [f"ends on the expression `{code}`: its value is the cell's output, which "
                "nbgrader reads as partial credit; end on a statement (e.g. `_ = ...` or an "
                "assert)"]
    return []


@pytest.mark.parametrize("name", NAMES)
def test_graded_cells_are_statement_lists_ending_on_a_statement(name):
    bad = [f"{gid}: {p}" for gid, cell in _test_cells(name) for p in problems_of(cell.source)]
    assert not bad, f"{name}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("source, fine", [
    ("assert f(1) == 2", True),
    ("x = check_close(a, b)\nassert x < 1e-7", True),
    ("check_close(a, b)", False),                  # returns 0.0: partial credit in nbgrader
    ("checks.close(a, b)", True),                  # returns None by contract
    ("checks.number(a, 'a')", False),              # returns its value
    ("assert ok\nresult", False),
    ("%timeit f()", False),                         # a magic: not plain Python
    ("for i in range(3):\n    check(i)", True),
    ("", False),
])
def test_the_static_check_can_fail(source, fine):
    assert (problems_of(source) == []) is fine


def test_points_are_positive_numbers():
    for name in NAMES:
        nb = nbformat.read(course.notebook_path(name), as_version=4)
        for gid, points in grading.graded_cells(nb):
            assert points > 0, f"{name}: {gid} is worth {points} points"


# --------------------------------------------------------------------------------------------
# Hidden tests keep the promises the text makes ("You may assume the windows fit")
# --------------------------------------------------------------------------------------------

_ASSUME_RE = re.compile(r"(?:you )?(?:may|can) (?:safely )?assume", re.I)


def _wrapper_source(a: exercises.Assumption) -> str:
    """Code that replaces the student's ``a.function`` by one that checks the promise first."""
    return (f"_promised_{a.function} = {a.function}\n"
            f"def {a.function}({a.args}, *_rest, **_kw):\n"
            f"    assert {a.holds}, (\n"
            f"        'a graded test called {a.function} with inputs the text tells students '\n"
            f"        'they may assume away ({a.phrase})')\n"
            f"    return _promised_{a.function}({a.args}, *_rest, **_kw)\n")


@pytest.mark.parametrize("name", NAMES)
def test_every_promise_in_the_text_is_listed(name):
    nb = nbformat.read(course.notebook_path(name), as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    listed = exercises.ASSUMPTIONS.get(name, [])
    for a in listed:
        assert a.phrase in " ".join(text.split()), (
            f"exercises.ASSUMPTIONS lists {a.phrase!r} for {name}, but its text no longer says it")
    promises = len(_ASSUME_RE.findall(text))
    assert promises <= len(listed), (
        f"{name}'s text lets students assume something {promises} time(s) but "
        f"exercises.ASSUMPTIONS lists {len(listed)}: add an Assumption so the hidden tests are "
        "checked against it")


def test_the_promise_wrapper_rejects_a_broken_promise():
    a = exercises.ASSUMPTIONS["02_activations_pooling_fc"][0]
    space = {"max_pool_forward_naive": lambda x, pool_param: "ran"}
    exec(_wrapper_source(a), space)
    fits = {"pool_height": 2, "pool_width": 3, "stride": 3}
    assert space["max_pool_forward_naive"](np.zeros((1, 1, 8, 9)), fits) == "ran"
    with pytest.raises(AssertionError, match="assume away"):
        space["max_pool_forward_naive"](np.zeros((1, 1, 6, 9)), fits)   # (6-2)/3 is not whole


@pytest.mark.notebooks
@pytest.mark.parametrize("name", sorted(exercises.ASSUMPTIONS))
def test_hidden_tests_keep_the_promises(name):
    """Run the solution (fast mode) with each promised function wrapped by its check."""
    nb = nbformat.read(course.notebook_path(name), as_version=4)
    cells = list(nb.cells)
    for a in exercises.ASSUMPTIONS[name]:
        at = next(i for i, c in enumerate(cells) if c.cell_type == "code"
                  and re.search(rf"^def {a.function}\(", c.source, re.M))
        cells.insert(at + 1, nbformat.v4.new_code_cell(_wrapper_source(a)))
    last = max(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade"))
    nb.cells = cells[:last + 1]
    NotebookClient(nb, timeout=600, kernel_name=course.KERNEL_NAME, allow_errors=True,
                   resources={"metadata": {"path": str(course.notebook_path(name).parent)}}
                   ).execute()
    broken = [f"{c.metadata['nbgrader']['grade_id']}: {o.get('evalue', '')[:300]}"
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not broken, "graded tests break a promise of the text (or fail):\n" + "\n".join(broken)
