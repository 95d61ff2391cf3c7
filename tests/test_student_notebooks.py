"""Every student notebook runs until its first exercise and stops there, saying it is not written.

The stop is the stub's NotImplementedError, or the check cell's AssertionError from
``checks.call`` ("... is not written yet (it raises NotImplementedError)").

A student opening a fresh notebook must see teaching cells run fine and then the exercise ask
for their code, never a crash in the course's own cells.
"""

import pytest

from tests.notebook_utils import run_until_error, student_notebooks

pytestmark = [pytest.mark.notebooks]


def _grade_info(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("path", student_notebooks(), ids=lambda p: p.stem)
def test_student_notebook_stops_at_first_exercise(path):
    nb, failing, exc = run_until_error(path)
    assert failing is not None, f"{path.name} ran to the end: its exercises ask for nothing"
    error = next(o for o in nb.cells[failing].outputs if o.get("output_type") == "error")
    unwritten = error["ename"] == "NotImplementedError" or (
        error["ename"] == "AssertionError" and "is not written yet" in error["evalue"])
    assert unwritten, (
        f"{path.name} failed in cell {failing} with {error['ename']}: {error['evalue']}; "
        "a student notebook may only stop at an exercise"
    )
    first_exercise = next(
        i for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and _grade_info(c).get("solution")
    )
    # It stops at the first exercise cell itself, or at the first cell after it that uses it.
    assert failing >= first_exercise, f"{path.name} stopped before its first exercise"
    later_exercises = [
        i for i, c in enumerate(nb.cells)
        if i > first_exercise and c.cell_type == "code" and _grade_info(c).get("solution")
    ]
    if later_exercises:
        assert failing < later_exercises[0], (
            f"{path.name} ran past its first exercise (cell {first_exercise}) without stopping"
        )
