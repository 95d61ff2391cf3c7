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

import nbformat
import pytest

from cs231n_lib import course, grading

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
