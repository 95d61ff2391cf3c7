"""Helpers the notebook tests share: finding notebooks and running them with nbclient."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cs231n_lib import course, grading


def student_notebooks() -> list[Path]:
    return [course.notebook_path(n, course.NOTEBOOKS) for n in course.assignments(course.NOTEBOOKS)]


def solution_notebooks() -> list[Path]:
    return [course.notebook_path(n) for n in course.assignments()]


def run_until_error(path: Path, timeout: int = 300):
    """Run a notebook top to bottom in a fresh kernel; return (nb, index of failing cell, error).

    The index and error are None when every cell ran.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=course.KERNEL_NAME,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        failing = next(
            i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.outputs)
        )
        return nb, failing, exc
    return nb, None, None


def sandbox_problem() -> str | None:
    """Why grading cannot use its bubblewrap sandbox here, or None when it can."""
    try:
        grading.check_sandbox()
    except course.CourseError as exc:
        return str(exc)
    return None


def have_sandbox() -> bool:
    """True where grading can sandbox submissions (CI installs bubblewrap)."""
    return sandbox_problem() is None
