"""Shared machinery of the "typical wrong answer" tests (tests/test_exercises_*.py).

One kernel per notebook runs the cells the checks need (fast mode). Then, per wrong answer,
the answer cell runs with its solution region(s) replaced by the wrong code, followed by the
notebook's own check cell (hidden tests included, as the grader runs it): the check must fail
with an AssertionError that carries the hint written for that mistake. The right answer is
put back afterwards, and the untouched check must pass without writing to stderr.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cs231n_lib import course

SOLUTION_RE = re.compile(r"### BEGIN SOLUTION\n.*?### END SOLUTION\n?", re.S)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def wrong(answer_source: str, code) -> str:
    """The answer cell with its solution region(s) replaced by ``code`` (same indent).

    ``code`` is a string, or a tuple with one piece per region (None keeps the solution there).
    """
    pieces = code if isinstance(code, tuple) else (code,)
    matches = list(SOLUTION_RE.finditer(answer_source))
    assert len(matches) == len(pieces), (
        f"the answer cell has {len(matches)} solution regions, the case gives {len(pieces)}")
    out, last = [], 0
    for match, piece in zip(matches, pieces, strict=True):
        out.append(answer_source[last:match.start()])
        if piece is None:
            out.append(match.group(0))
        else:
            start = answer_source.rfind("\n", 0, match.start()) + 1
            indent = answer_source[start:match.start()]
            out.append("\n".join((indent + line) if i else line
                                 for i, line in enumerate(piece.splitlines())) + "\n")
        last = match.end()
    out.append(answer_source[last:])
    return "".join(out)


class NotebookKernel:
    """One kernel that has run the cells ``select(nb)`` (indices) of a solution notebook."""

    def __init__(self, name: str, select: Callable[[nbformat.NotebookNode], list[int]]):
        path = course.notebook_path(name)
        self.nb = nbformat.read(path, as_version=4)
        self.cells = {grade_id(c): c for c in self.nb.cells if grade_id(c)}
        self.client = NotebookClient(self.nb, timeout=600, kernel_name=course.KERNEL_NAME,
                                     resources={"metadata": {"path": str(path.parent)}})
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        for index in select(self.nb):
            self.client.execute_cell(self.nb.cells[index], index)
        self.nb.cells.append(nbformat.v4.new_code_cell(""))   # the slot run() executes in

    def run(self, source: str) -> tuple[str | None, str]:
        """Run ``source`` as a new cell: (error message or None, stderr text)."""
        cell = nbformat.v4.new_code_cell(source)
        try:
            self.client.execute_cell(cell, len(self.nb.cells) - 1)
        except CellExecutionError as exc:
            return f"{exc.ename}: {exc.evalue}", ""
        stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
        return None, stderr

    def close(self):
        self._context.__exit__(None, None, None)


@contextmanager
def kernel_pool(select: Callable[[str, nbformat.NotebookNode], list[int]]) -> Iterator:
    """``get(name)`` -> that notebook's kernel, started once, in fast mode; all closed at exit."""
    old = os.environ.get("CS231N_FAST")
    os.environ["CS231N_FAST"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started: dict[str, NotebookKernel] = {}

    def get(name: str) -> NotebookKernel:
        if name not in started:
            started[name] = NotebookKernel(name, lambda nb: select(name, nb))
        return started[name]

    try:
        yield get
    finally:
        for kernel in started.values():
            kernel.close()
        if old is None:
            os.environ.pop("CS231N_FAST", None)
        else:
            os.environ["CS231N_FAST"] = old


def assert_fails_with_hint(kernel: NotebookKernel, answer: str, check: str, case: str, code,
                           hint: str) -> None:
    """Run the wrong answer ``code`` and the check: it must fail with ``hint`` in its message."""
    answer_cell, check_cell = kernel.cells[answer], kernel.cells[check]
    try:
        error, _ = kernel.run(wrong(answer_cell.source, code))
        assert error is None, f"the wrong answer itself crashed: {error}"
        error, _ = kernel.run(check_cell.source)
        assert error is not None, f"{check} passed the wrong answer '{case}'"
        assert error.startswith("AssertionError"), f"{check} failed without a message: {error}"
        assert hint in error, f"{check} failed on '{case}' without its hint {hint!r}:\n{error}"
    finally:
        restored, _ = kernel.run(answer_cell.source)
        assert restored is None, restored


def assert_passes_quietly(kernel: NotebookKernel, check: str) -> None:
    """The untouched check passes and writes nothing to stderr (nbgrader would score 0)."""
    error, stderr = kernel.run(kernel.cells[check].source)
    assert error is None, error
    assert stderr == "", f"{check} wrote to stderr (nbgrader scores that 0): {stderr}"


def assert_every_check_covered(cases: dict[str, list[tuple]]) -> None:
    """Every graded check of each notebook in ``cases`` has at least one wrong answer."""
    for name in cases:
        nb = nbformat.read(course.notebook_path(name), as_version=4)
        graded = {grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
        covered = {case[1] for case in cases[name]}
        assert graded == covered, f"{name}: checks without a wrong answer: {graded - covered}"
