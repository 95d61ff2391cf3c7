"""Proof for every assignment, on every run of the suite: through ``grade_all`` (the code
path of ``make grade-all``: restore, guard, the stubbed library, the sandbox where this
machine has one, scoring, gradebook), each solution notebook earns every point and each
untouched student notebook earns none. All ten assignments, graded as one batch of twenty
submissions, two at a time, in fast mode.
"""

import shutil

import nbformat
import pytest

from cs231n_lib import course, grading
from tests.notebook_utils import have_sandbox

pytestmark = [pytest.mark.notebooks]

NAMES = course.assignments()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("all-submissions")
    out = tmp_path_factory.mktemp("all-grades")
    for student, root in (("solution", course.SOLUTIONS), ("untouched", course.NOTEBOOKS)):
        (subs / student).mkdir()
        for name in NAMES:
            shutil.copy(course.notebook_path(name, root), subs / student)
    results, skipped = grading.grade_all(subs, out, jobs=2, sandbox=have_sandbox())
    assert skipped == []
    return {(r.student, r.assignment): r for r in results}, out


def _points(name):
    return dict(grading.graded_cells(nbformat.read(course.notebook_path(name), 4)))


@pytest.mark.parametrize("name", NAMES)
def test_solution_earns_every_point(graded, name):
    res = graded[0][("solution", name)]
    assert res.status == "graded", res.notes
    assert res.scores == _points(name), (res.scores, res.notes, res.log)
    assert res.total == res.max_total > 0
    # No noise: nothing to say about the instructor's own notebook (no edits, no tampering).
    assert [n for n in res.notes if "without the sandbox" not in n] == [], res.notes


@pytest.mark.parametrize("name", NAMES)
def test_untouched_release_earns_nothing(graded, name):
    res = graded[0][("untouched", name)]
    assert res.status == "graded", res.notes
    assert res.scores == dict.fromkeys(_points(name), 0.0), (res.scores, res.log)
    # An untouched notebook changed nothing the grader restores or guards: no notes at all.
    assert [n for n in res.notes if "without the sandbox" not in n] == [], res.notes


def test_every_assignment_has_a_gradebook_row_and_feedback(graded):
    _, out = graded
    for name in NAMES:
        rows = {r["student"]: r for r in grading.read_gradebook(out / name / "gradebook.csv")}
        assert sorted(rows) == ["solution", "untouched"]
        assert rows["solution"]["total"] == rows["solution"]["max_total"]
        assert (out / name / "feedback" / "untouched.html").stat().st_size > 1000
