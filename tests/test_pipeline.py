"""One source of truth: notebooks/ is exactly what nbgrader generates from solutions/ now.

Also checks the solution notebooks follow the course's conventions (nbgrader metadata,
kernel, graded exercises) and that no answer survives in a student notebook.
"""

import re

import nbformat
import pytest

from cs231n_lib import course

NAMES = course.assignments()


def _strip_ids(nb):
    """Cell ids are random per generation in some nbformat versions; compare everything else."""
    for cell in nb.cells:
        cell.pop("id", None)
    return nb


def test_there_are_assignments_and_both_sides_match():
    assert NAMES, "solutions/ holds no assignment folders"
    assert course.assignments(course.NOTEBOOKS) == NAMES, (
        "notebooks/ and solutions/ hold different assignments: run `make release`"
    )


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    course.generate(NAMES, course.SOLUTIONS, out)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_is_exactly_generated(name, regenerated):
    committed = _strip_ids(nbformat.read(course.notebook_path(name, course.NOTEBOOKS), 4))
    fresh = _strip_ids(nbformat.read(course.notebook_path(name, regenerated), 4))
    assert committed == fresh, (
        f"notebooks/{name} is not what `make release` generates from solutions/{name}: "
        "never edit student notebooks by hand; edit the solution and run `make release`"
    )


def _significant_lines(text):
    """Lines of an answer worth searching for (skip blanks, comments and trivial lines)."""
    for line in text.splitlines():
        s = line.strip()
        if len(s) >= 12 and not s.startswith("#"):
            yield s


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_or_hidden_test_survives(name):
    sol = nbformat.read(course.notebook_path(name), 4)
    stu = nbformat.read(course.notebook_path(name, course.NOTEBOOKS), 4)
    student_text = "\n".join(c.source for c in stu.cells)
    for marker in (course.SOLUTION_BEGIN, course.SOLUTION_END, course.HIDDEN_BEGIN,
                   course.HIDDEN_END):
        assert marker not in student_text, f"{marker!r} left in notebooks/{name}"
    # Lines that appear only inside answers or hidden tests must not be in the student copy.
    public = "\n".join(
        re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END (SOLUTION|HIDDEN TESTS)", "",
               c.source, flags=re.S)
        for c in sol.cells
    )
    for cell in sol.cells:
        for region in course.solution_regions(cell.source) + course.hidden_regions(cell.source):
            for line in _significant_lines(region):
                if line in public:
                    continue  # the same line is also shown outside any answer
                assert line not in student_text, (
                    f"answer text {line!r} from solutions/{name} survives in the student notebook"
                )
    for cell in stu.cells:
        assert not cell.get("outputs"), f"notebooks/{name} keeps outputs; release clears them"
    assert "widgets" not in stu.metadata, f"notebooks/{name} keeps the solution's widget state"


@pytest.mark.parametrize("name", NAMES)
def test_solution_notebook_conventions(name):
    nb = nbformat.read(course.notebook_path(name), 4)
    assert nb.metadata["kernelspec"]["name"] == course.KERNEL_NAME
    meta = [c.metadata.get("nbgrader") for c in nb.cells if c.metadata.get("nbgrader")]
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids)), f"duplicate nbgrader grade_id in {name}"
    graded = [m for m in meta if m.get("grade")]
    assert len(graded) >= 2, f"{name} needs at least two graded exercises"
    for m in graded:
        assert m.get("points", 0) > 0 and m.get("locked"), f"{m['grade_id']}: no points or unlocked"
    for cell in nb.cells:
        has_region = bool(course.solution_regions(cell.source))
        is_solution = bool(cell.metadata.get("nbgrader", {}).get("solution"))
        if has_region:
            assert is_solution, f"{name}: a SOLUTION region outside an nbgrader solution cell"
    # The first code cell checks the environment, so a broken set-up gets plain words.
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "check_environment()" in first_code.source
    assert "seed_everything(" in first_code.source, f"{name} must be seeded in its first cell"
    # The stored outputs are a clean run: no errors.
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{name} has a stored error output"


def test_release_rejects_unknown_assignment():
    with pytest.raises(course.CourseError, match="unknown assignment"):
        course.generate(["99_nope"])
