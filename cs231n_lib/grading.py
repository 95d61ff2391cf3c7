"""Grading: validate the course, autograde submissions, bundle assignments.

Instructor commands (``python -m cs231n_lib COMMAND``)::

    validate [NAME ...]                    solutions earn every point, releases none
    grade SUBMISSION.ipynb [--student S]   autograde one notebook: table, CSV row, feedback HTML
    grade-all DIR [--jobs N]               autograde a folder of submissions in parallel
    release --bundle DIR NAME ...          a student bundle: notebooks + library, no answers

How a batch is graded. One process grades the whole batch. Per assignment it builds a
*template* once (:class:`_Templates`: the source notebook, nbgrader's release of it, and the
library with this assignment's answers stubbed). Each submission is then graded by
:func:`autograde.grade_notebook` in one of ``--jobs`` worker threads: restore the
instructor's cells by grade_id, insert the guard cells, run the notebook with nbclient in a
fresh kernel inside the bubblewrap sandbox (``cs231n_lib.sandbox``), score, write the
feedback HTML. The kernel is a separate, sandboxed process, so a submission that crashes,
loops or exhausts its memory costs its own row only; every step that can fail for one
submission is caught and becomes that student's error note. ``NBGRADER_EXECUTION=autograde``
is set in the kernel, so ``runtime.fast_mode()`` is True during grading (and validation).

The kernel imports the *student's* library: the bundle's copy of ``cs231n_lib``, with the
functions this assignment asks for stubbed out. So a submission cannot earn points by calling
the reference solution, and it runs exactly as it did on the student's machine.

Results go to ``OUT/NAME/gradebook.csv`` (one row per student, one column per graded cell,
merged by student: regrading replaces a row, a failed run keeps the old scores and says so),
``OUT/NAME/feedback/STUDENT.html`` and ``OUT/NAME/logs/STUDENT.log``. A file that is missing
or unreadable is reported and gets no row.

Library solutions. A library function that an assignment asks students to write carries a
region opened by a line ``### BEGIN SOLUTION NAME`` (NAME the assignment's folder) and closed by
a line ``### END SOLUTION``. A bundle replaces the regions of its own assignments by
``raise NotImplementedError(...)`` and keeps the others (without their marker lines).
"""

from __future__ import annotations

import atexit
import csv
import datetime as _dt
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cs231n_lib import autograde, course

LIBRARY = course.REPO / "cs231n_lib"
DATASETS = course.REPO / "datasets"
#: Files from the repository root that a bundle needs to install and run. (The Makefile
#: is not copied as is: ``student_makefile`` keeps only the rules a bundle can run.)
BUNDLE_FILES = ("pyproject.toml", "requirements.lock", "environment.yml", "LICENSE",
                ".gitignore")
#: The student README of a bundle (the course README speaks to instructors and developers).
BUNDLE_README = course.REPO / "templates" / "bundle_README.md"
#: The Makefile rules a student bundle keeps; the rest need tests/ or solutions/.
STUDENT_TARGETS = ("install", "$(STAMP)", "lab", "clean")
#: Written into every bundle; ``release --bundle`` only ever replaces a folder holding it.
BUNDLE_MANIFEST = "BUNDLE.md"
DEFAULT_TIMEOUT = 120      # seconds per cell while grading
VALIDATE_TIMEOUT = 600     # seconds per cell while validating (solutions run in fast mode)
STUDENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
_BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?P<tag>.*)$")
_END_RE = re.compile(r"^[ \t]*### END SOLUTION\b.*$")
_DEF_RE = re.compile(r"^(?P<indent>[ \t]*)(?:async\s+)?def\s+(?P<name>\w+)")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "gradebook.db",
                                 ".pytest_cache", ".ruff_cache")


class GradingError(course.CourseError):
    """A submission, assignment or bundle cannot be processed; the message says why."""


class SubmissionUnreadable(GradingError):
    """The submission's file is missing or cannot be read: no gradebook row is written."""


# --------------------------------------------------------------------------------------------
# Library stubs for student bundles
# --------------------------------------------------------------------------------------------

def stub_source(text: str, assignments: Iterable[str], filename: str = "<string>",
                known: Iterable[str] | None = None) -> tuple[str, list[str]]:
    """Replace the library solution regions tagged with one of ``assignments`` by a stub.

    ``text`` is Python source. A region starts at a line ``### BEGIN SOLUTION NAME`` and
    ends at the next line ``### END SOLUTION``. Regions of ``assignments`` become one line,
    ``raise NotImplementedError("...")``, at the BEGIN line's indentation; other regions keep
    their code and lose their two marker lines. Returns ``(new_text, stubbed)`` where
    ``stubbed`` lists ``"NAME: function"`` for each region replaced.

    Raises ``GradingError`` for an untagged, unclosed, nested or stray marker, or (when
    ``known`` is given) a tag that names no known assignment.
    """
    wanted = set(assignments)
    known = set(known) if known is not None else None
    out: list[str] = []
    stubbed: list[str] = []
    lines = text.splitlines(keepends=True)
    region = None  # (tag, start line number, indent, function name) while inside a region
    for number, line in enumerate(lines, start=1):
        begin = _BEGIN_RE.match(line.rstrip("\r\n"))
        if begin:
            tag = begin.group("tag").strip()
            if region is not None:
                raise GradingError(f"{filename}:{number}: a SOLUTION region opens inside the "
                                   f"one opened at line {region[1]}; close it first")
            if not course.ASSIGNMENT_RE.match(tag):
                raise GradingError(
                    f"{filename}:{number}: untagged or malformed '### BEGIN SOLUTION{begin['tag']}'"
                    "; library regions must name their assignment, e.g. "
                    "'### BEGIN SOLUTION 01_conv_layer'")
            if known is not None and tag not in known:
                raise GradingError(f"{filename}:{number}: '{tag}' is not an assignment in "
                                   f"solutions/ (known: {', '.join(sorted(known))})")
            region = (tag, number, begin.group("indent"), _enclosing_function(lines, number - 1))
            continue
        if _END_RE.match(line):
            if region is None:
                raise GradingError(f"{filename}:{number}: '### END SOLUTION' without a BEGIN")
            tag, _, indent, func = region
            if tag in wanted:
                where = f"{func}() " if func else ""
                out.append(f'{indent}raise NotImplementedError("{where}is left out of the '
                           f'{tag} bundle: it holds the answer to an exercise you write in '
                           f'that notebook\'s own cells")\n')
                stubbed.append(f"{tag}: {func or filename}")
            region = None
            continue
        if region is not None and region[0] in wanted:
            continue  # the reference answer: left out of the bundle
        out.append(line)
    if region is not None:
        raise GradingError(f"{filename}:{region[1]}: SOLUTION region never closed "
                           "(no '### END SOLUTION')")
    return "".join(out), stubbed


def _enclosing_function(lines: list[str], index: int) -> str | None:
    """Name of the innermost ``def`` that encloses line ``index`` (by indentation)."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        m = _DEF_RE.match(line)
        if m and len(m.group("indent")) < indent:
            return m.group("name")
    return None


def stub_library(src: Path, dest: Path, assignments: Iterable[str],
                 known: Iterable[str] | None = None) -> list[str]:
    """Copy the package folder ``src`` to ``dest`` with ``assignments``' regions stubbed.

    Every ``.py`` file is rewritten by :func:`stub_source` and must still compile. Returns
    the stubbed regions (``"NAME: function"``). Raises ``GradingError`` on a bad marker or a
    stubbed file that no longer compiles.
    """
    src, dest = Path(src), Path(dest)
    assignments = list(assignments)
    shutil.copytree(src, dest, ignore=_IGNORE)
    stubbed = []
    for path in sorted(dest.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(dest.parent)
        new, done = stub_source(text, assignments, filename=str(rel), known=known)
        if new != text:
            try:
                compile(new, str(rel), "exec")
            except SyntaxError as exc:
                raise GradingError(f"{rel} does not compile after stubbing: {exc}") from exc
            path.write_text(new, encoding="utf-8")
        stubbed += done
    return stubbed


def bundle(dest: Path, names: list[str], solutions: Path | None = None,
           repo: Path | None = None, check_lint: bool = True) -> Path:
    """Build a student bundle for ``names`` in ``dest`` and return ``dest``.

    The bundle holds ``notebooks/NAME/NAME.ipynb`` (generated by nbgrader), ``cs231n_lib/``
    with the bundled assignments' library regions stubbed, ``datasets/``, the install files
    (``BUNDLE_FILES`` that exist) and a ``BUNDLE.md`` manifest: no ``solutions/``, no hidden
    tests, no gradebook. ``dest`` must not exist, be empty, or be an earlier bundle (it is
    then replaced). Raises ``GradingError`` if ``names`` is empty, a marker is wrong, or a
    final scan finds answer text.
    """
    solutions = Path(solutions or course.SOLUTIONS)
    repo = Path(repo or course.REPO)
    dest = Path(dest).resolve()
    if not names:
        raise GradingError("name the assignment(s) to bundle: release --bundle DIR NAME ...")
    names = course._check_names(list(names), solutions)
    known = course.assignments(solutions)
    if dest.exists() and any(dest.iterdir()) and not (dest / BUNDLE_MANIFEST).exists():
        raise GradingError(f"{dest} exists and is not a bundle (no {BUNDLE_MANIFEST}); "
                           "choose a new or empty folder")
    if repo.resolve() in (dest, *dest.parents):
        raise GradingError(f"{dest} is inside the course repository; bundle to a folder outside it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=dest.parent))
    try:
        course.generate(names, solutions, tmp / "notebooks")
        stubbed = stub_library(repo / "cs231n_lib", tmp / "cs231n_lib", names, known)
        if (repo / "datasets").is_dir():
            shutil.copytree(repo / "datasets", tmp / "datasets", ignore=_IGNORE)
        for name in BUNDLE_FILES:
            if (repo / name).is_file():
                shutil.copy2(repo / name, tmp / name)
        if (repo / "Makefile").is_file():
            makefile = student_makefile((repo / "Makefile").read_text(encoding="utf-8"))
            (tmp / "Makefile").write_text(makefile, encoding="utf-8")
        (tmp / "README.md").write_text(bundle_readme(names), encoding="utf-8")
        (tmp / BUNDLE_MANIFEST).write_text(bundle_manifest(tmp / "notebooks", names, stubbed),
                                           encoding="utf-8")
        if check_lint:
            check_library(tmp / "cs231n_lib")
        problems = scan_bundle(tmp, names, solutions, repo)
        if problems:
            raise GradingError("the bundle would give answers away:\n  " + "\n  ".join(problems))
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def bundle_readme(names: list[str]) -> str:
    """The README of a student bundle for ``names``: what is in it, ``make lab``, that the
    exercises are notebook cells, how to check an answer, what to hand in."""
    notebooks = [f"notebooks/{n}/{n}.ipynb" for n in names]
    count = "one notebook" if len(names) == 1 else f"{len(names)} notebooks"
    return BUNDLE_README.read_text(encoding="utf-8").format(
        title=f"ConvNet course: {', '.join(names)}", count=count,
        notebook_list="\n".join(f"- `notebooks/{n}/{n}.ipynb`: assignment {n}" for n in names),
        handin_list="\n".join(f"- `{p}`" for p in notebooks) + "\n")


def bundle_manifest(notebooks: Path, names: list[str], stubbed: list[str]) -> str:
    """``BUNDLE.md``: every exercise of the bundle as the notebook cell it is, with its check.

    ``notebooks`` holds the bundle's released notebooks; ``stubbed`` the library regions
    left out (``"NAME: function"``), listed so that a student knows why calling one fails.
    """
    lines = [f"# Student bundle: {', '.join(names)}", "",
             "Every exercise is a code cell in a notebook: replace its `# YOUR CODE HERE` and",
             "`raise NotImplementedError()` with your answer, then run the check cell after it.",
             "Nothing outside the notebooks needs editing. Start with `make lab` (see README.md).",
             ""]
    for name in names:
        nb = nbformat.read(course.notebook_path(name, notebooks), as_version=4)
        points = dict(graded_cells(nb))
        lines += [f"## notebooks/{name}/{name}.ipynb", "",
                  "| exercise cell | cell number | checked by | points |", "|---|---|---|---|"]
        pending = []
        for number, cell in enumerate(nb.cells, start=1):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                pending.append((meta["grade_id"], number))
            elif meta.get("grade") and pending:
                for gid, n in pending:
                    lines.append(f"| `{gid}` | {n} | `{meta['grade_id']}` | "
                                 f"{points[meta['grade_id']]:g} |")
                pending = []
        lines += [f"| `{gid}` | {n} | (no check) | 0 |" for gid, n in pending]
        lines.append("")
    lines += ["## Library functions left out of this bundle", "",
              "The course library's own versions of what you write here raise",
              "NotImplementedError in this bundle, so the library cannot answer for you:", ""]
    lines += [f"- {s.split(': ', 1)[1]} (assignment {s.split(': ', 1)[0]})" for s in stubbed] \
        or ["- (none)"]
    return "\n".join(lines) + "\n"


def student_makefile(text: str) -> str:
    """The course Makefile cut down for a student bundle: variables and STUDENT_TARGETS.

    ``text`` is the repository's Makefile. Its paragraphs (blank-line separated) are kept
    when they set variables or define one of ``STUDENT_TARGETS``; rules that need the
    test suite or ``solutions/`` (test, release, grade, ...) are dropped, so every target
    left works in a bundle. Raises ``GradingError`` if a kept target is missing.
    """
    header = ("# Student bundle: `make lab` installs everything into .venv and opens the\n"
              "# notebooks in JupyterLab; `make clean` removes the environment again.")
    kept = [header, ".PHONY: " + " ".join(t for t in STUDENT_TARGETS if t != "$(STAMP)")]
    found = set()
    for para in text.strip().split("\n\n"):
        code = [line for line in para.splitlines() if line.strip() and not line.startswith("#")]
        if not code or code[0].startswith(".PHONY"):
            continue
        target = re.match(r"^([^\s:=?]+)\s*:(?!=)", code[0])
        if target is None:  # variable assignments (and their comments)
            kept.append(para)
        elif target.group(1) in STUDENT_TARGETS:
            found.add(target.group(1))
            kept.append(para)
    missing = [t for t in STUDENT_TARGETS if t not in found]
    if missing:
        raise GradingError(f"the course Makefile has no rule for {', '.join(missing)}; "
                           "a student bundle needs them")
    return "\n\n".join(kept) + "\n"


def check_library(package: Path) -> None:
    """Run ruff's error checks (undefined names, syntax) on a stubbed package.

    Raises ``GradingError`` with ruff's report if it finds any; does nothing where ruff is
    not installed (it is a test dependency).
    """
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        return
    proc = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--select", "F,E9",
                           str(package)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise GradingError("the stubbed library fails `ruff check --select F,E9` (a SOLUTION "
                           "region should hold the whole body after the docstring):\n"
                           + proc.stdout[-3000:])


def _significant_lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        s = line.strip()
        if len(s) >= 12 and not s.startswith("#"):
            yield s


def answer_lines(names: Iterable[str], solutions: Path | None = None) -> set[str]:
    """Significant lines (12+ characters, not comments) of the notebook answers for ``names``.

    From each solution notebook: its SOLUTION and HIDDEN TESTS regions, minus lines that are
    also shown outside any region in one of the ``names`` notebooks (a bundle of several
    assignments shows those lines anyway).
    """
    solutions = Path(solutions or course.SOLUTIONS)
    notebooks = [nbformat.read(course.notebook_path(n, solutions), as_version=4) for n in names]
    public = "\n".join(re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END "
                              r"(SOLUTION|HIDDEN TESTS)", "", c.source, flags=re.S)
                       for nb in notebooks for c in nb.cells)
    found = set()
    for nb in notebooks:
        for cell in nb.cells:
            for region in course.solution_regions(cell.source) + course.hidden_regions(cell.source):
                found |= {s for s in _significant_lines(region) if s not in public}
    return found


#: A library answer counts as given away when this many of its lines stand together.
LEAK_WINDOW = 5


def library_answer_blocks(names: Iterable[str], library: Path | None = None) -> list[list[str]]:
    """The significant lines of each library region tagged with one of ``names``, per region.

    Single lines of a reference implementation (``N = x.shape[0]``) also occur in honest code
    elsewhere; what must not ship is the implementation itself, so the scan looks for runs
    of :data:`LEAK_WINDOW` consecutive lines of a region (or the whole of a shorter one).
    """
    names = set(names)
    blocks = []
    for path in sorted(Path(library or LIBRARY).rglob("*.py")):
        current = None
        for line in path.read_text(encoding="utf-8").splitlines():
            begin = _BEGIN_RE.match(line)
            if begin:
                current = [] if begin.group("tag").strip() in names else None
            elif _END_RE.match(line):
                if current:
                    blocks.append(current)
                current = None
            elif current is not None:
                current.extend(_significant_lines(line))
    return blocks


def _contains_run(haystack: list[str], block: list[str]) -> bool:
    """True if ``LEAK_WINDOW`` consecutive lines of ``block`` stand together in ``haystack``."""
    k = min(LEAK_WINDOW, len(block))
    runs = {tuple(block[i:i + k]) for i in range(len(block) - k + 1)}
    return any(tuple(haystack[i:i + k]) in runs for i in range(len(haystack) - k + 1))


def scan_bundle(root: Path, names: Iterable[str], solutions: Path | None = None,
                repo: Path | None = None) -> list[str]:
    """Everything in the bundle at ``root`` that gives an answer away (empty list: clean).

    Looks for: a ``solutions/`` folder, a gradebook, solution or hidden-test markers, any line
    of :func:`answer_lines` outside the library code, and any run of a tagged library answer
    (:func:`library_answer_blocks`) in any text file.
    """
    solutions = Path(solutions or course.SOLUTIONS)
    repo = Path(repo or course.REPO)
    root = Path(root)
    problems = []
    if (root / "solutions").exists():
        problems.append("solutions/ is in the bundle")
    secrets = answer_lines(names, solutions)
    blocks = library_answer_blocks(names, repo / "cs231n_lib")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if path.name == "gradebook.db":
            problems.append(f"{rel}: an nbgrader gradebook")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary data (images, arrays) holds no code
        if path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
            text = "\n".join(c.source for c in nb.cells)
            markers = [m for m in (course.SOLUTION_BEGIN, course.HIDDEN_BEGIN) if m in text]
        else:
            markers = [m for m in (course.SOLUTION_BEGIN, course.HIDDEN_BEGIN)
                       if any(line.strip().startswith(m) for line in text.splitlines())]
        problems += [f"{rel}: marker {m!r}" for m in markers]
        if not (rel.parts[0] == "cs231n_lib" and path.suffix == ".py"):
            # The library is the repo's own code with its tagged answers stubbed: ordinary
            # lines there (``N = x.shape[0]``) may match a notebook answer by accident, so
            # it is checked for runs of library answers below instead.
            problems += [f"{rel}: answer line {s!r}" for s in sorted(secrets) if s in text]
        lines = [s for line in text.splitlines() for s in _significant_lines(line)]
        problems += [f"{rel}: library answer starting {b[0]!r}" for b in blocks
                     if _contains_run(lines, b)]
    return problems


# --------------------------------------------------------------------------------------------
# Assignments, submissions, templates
# --------------------------------------------------------------------------------------------

#: ``(grade_id, points)`` of each autograded cell of a notebook, in notebook order.
graded_cells = autograde.graded_cells


def _grade_ids(nb) -> set[str]:
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if "grade_id" in c.get("metadata", {}).get("nbgrader", {})}


def _solution_ids(path: Path) -> frozenset[str]:
    """The nbgrader cell ids of a solution notebook (empty if it does not exist yet)."""
    try:
        return _solution_ids_cached(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return frozenset()


@functools.lru_cache(maxsize=64)
def _solution_ids_cached(path: str, mtime_ns: int) -> frozenset[str]:
    return frozenset(_grade_ids(nbformat.read(path, as_version=4)))


def read_submission(path: Path):
    """Read a submitted notebook.

    Raises ``SubmissionUnreadable`` if the file is missing or cannot be read (no gradebook
    row is written for it) and ``GradingError`` if it is not a valid notebook (the student's
    row says so).
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError as exc:
        raise SubmissionUnreadable(f"{path}: no such file") from exc
    except OSError as exc:
        raise SubmissionUnreadable(f"{path} cannot be read ({exc.strerror or exc})") from exc
    try:
        return nbformat.reads(text.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - JSON, schema and encoding errors alike
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GradingError(f"{path.name} is not a valid notebook ({first[:200]})") from exc


def infer_assignment(nb, path: Path, solutions: Path | None = None,
                     assignment: str | None = None) -> str:
    """The assignment a submission belongs to, checked against its nbgrader cell ids.

    Uses ``assignment`` if given, else the file name (``NAME.ipynb``), else the assignment
    whose grade ids the notebook shares most. Raises ``GradingError`` when the notebook holds
    none of the chosen assignment's nbgrader cells (a notebook from another assignment).
    """
    solutions = Path(solutions or course.SOLUTIONS)
    known = course.assignments(solutions)
    ids = _grade_ids(nb)
    overlap = {n: len(ids & _solution_ids(course.notebook_path(n, solutions))) for n in known}
    name = assignment or (Path(path).stem if Path(path).stem in known else None)
    if name is None:
        best = max(overlap, key=overlap.get, default=None)
        if best is None or overlap[best] == 0:
            raise GradingError(f"{Path(path).name}: no nbgrader cells of any assignment "
                               f"({', '.join(known)}); pass --assignment NAME")
        name = best
    if name not in known:
        raise GradingError(f"unknown assignment {name!r}; known: {', '.join(known)}")
    if overlap[name] == 0:
        other = max(overlap, key=overlap.get)
        hint = f" (it looks like {other})" if overlap[other] else ""
        raise GradingError(f"{Path(path).name} is not a submission of {name}: it has none of "
                           f"its graded or answer cells{hint}")
    return name


@dataclass
class Submission:
    """One notebook to grade: ``path``, the ``student`` id and the ``assignment`` (or None)."""

    path: Path
    student: str
    assignment: str | None = None


def find_submissions(folder: Path, solutions: Path | None = None,
                     assignment: str | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder`` and the files skipped (with reasons).

    Accepted layouts (both may be mixed):

    * ``folder/STUDENT/NAME.ipynb`` — NAME an assignment folder name (several per student ok);
    * ``folder/STUDENT.ipynb`` — the assignment is ``assignment`` or inferred from its cells.
    """
    solutions = Path(solutions or course.SOLUTIONS)
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"{folder} is not a folder of submissions")
    known = set(course.assignments(solutions))
    subs, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            subs.append(Submission(entry, entry.stem, assignment))
        elif entry.is_dir():
            for nb in sorted(entry.glob("*.ipynb")):
                if nb.stem in known and (assignment is None or nb.stem == assignment):
                    subs.append(Submission(nb, entry.name, nb.stem))
                else:
                    skipped.append(f"{nb.relative_to(folder)}: not named after an assignment"
                                   + (f" ({assignment})" if assignment else ""))
    return subs, skipped


class _Templates:
    """Per-assignment grading templates (:class:`autograde.Template`), built once.

    Reused while the assignment's folder and the library are unchanged (keyed by a hash of
    their files); their folders are removed when the process exits.
    """

    _lock = threading.Lock()
    _cache: dict[tuple, autograde.Template] = {}
    _root: Path | None = None

    def __init__(self, solutions: Path, library: Path):
        self.solutions, self.library = Path(solutions), Path(library)

    def get(self, name: str) -> autograde.Template:
        key = (str(self.solutions.resolve() / name), str(self.library.resolve()),
               _tree_hash(self.solutions / name), _tree_hash(self.library))
        with self._lock:
            if key not in self._cache:
                if _Templates._root is None:
                    _Templates._root = Path(tempfile.mkdtemp(prefix="cs231n-templates-"))
                    os.chmod(_Templates._root, 0o755)   # the sandbox's user reads the library
                    atexit.register(shutil.rmtree, _Templates._root, ignore_errors=True)
                folder = _Templates._root / f"{len(self._cache)}"
                self._cache[key] = autograde.build_template(name, self.solutions,
                                                            self.library, folder)
            return self._cache[key]


def _tree_hash(folder: Path) -> str:
    """A hash of the names and contents of the files under ``folder`` (caches ignored)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" \
                and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------

@dataclass
class Result:
    """The outcome of grading one submission.

    ``row`` is False when the submission never reached the gradebook (its file is missing or
    unreadable, or its assignment is unknown): an error for the instructor, not a grade.
    ``timing`` holds seconds spent starting the kernel (``startup``), running the cells
    (``running``) and in all (``total``).
    """

    student: str
    assignment: str | None
    status: str                              # "graded" or "error"
    scores: dict[str, float] = field(default_factory=dict)   # grade_id -> points earned
    max_scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    feedback: Path | None = None
    seconds: float = 0.0
    source: Path | None = None
    log: str = ""
    graded_at: str = ""
    row: bool = True
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def max_total(self) -> float:
        return sum(self.max_scores.values())


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _grade_one(sub: Submission, templates: _Templates, timeout: int, jobs: int,
               solutions: Path, out: Path, sandbox: bool, limits) -> Result:
    """Grade one submission with :func:`autograde.grade_notebook` (never raises).

    On success the feedback goes to ``out/NAME/feedback/STUDENT.html``; a failed run writes
    nothing there, so an earlier feedback file stays.
    """
    start = time.perf_counter()
    name = sub.assignment
    res = Result(sub.student, name, "error", source=sub.path)
    try:
        if not STUDENT_RE.match(sub.student):
            raise GradingError(f"student id {sub.student!r} may only use letters, digits, "
                               "'_', '.', '@' and '-'")
        nb = read_submission(sub.path)
        name = res.assignment = infer_assignment(nb, sub.path, solutions, sub.assignment)
        tpl = templates.get(name)
        before = time.perf_counter()
        # The sandbox hands ``work`` to its unprivileged user itself (chown), so the folder is
        # never world-writable on the host.
        with tempfile.TemporaryDirectory(prefix="cs231n-run-") as work:
            outcome = autograde.grade_notebook(nb, tpl, Path(work), timeout=timeout,
                                               sandbox=sandbox, limits=limits, jobs=jobs)
        graded = time.perf_counter()
        res = Result(sub.student, name, "graded", outcome.scores, outcome.max_scores,
                     outcome.notes, source=sub.path,
                     timing={"startup": outcome.startup, "running": outcome.running,
                             "before": before - start, **outcome.phases})
        res.log = "\n".join(f"{q}: {s:g}/{outcome.max_scores[q]:g}"
                            + (f" ({outcome.reasons[q]})" if q in outcome.reasons else "")
                            for q, s in outcome.scores.items())
        html = autograde.feedback_html(outcome.nb, sub.student, name, outcome.scores,
                                       outcome.max_scores, outcome.reasons, outcome.notes,
                                       trusted=tpl.trusted, released=tpl.released_tests)
        folder = Path(out) / name / "feedback"
        folder.mkdir(parents=True, exist_ok=True)
        res.feedback = folder / f"{sub.student}.html"
        _atomic_write(res.feedback, html)
        res.timing["feedback"] = time.perf_counter() - graded
    except SubmissionUnreadable as exc:
        res = Result(sub.student, name, "error", notes=[str(exc)], source=sub.path, row=False)
    except course.CourseError as exc:
        res = Result(sub.student, name, "error", notes=[str(exc)], source=sub.path)
    except Exception as exc:  # noqa: BLE001 - one broken submission must not stop the batch
        res = Result(sub.student, name, "error", source=sub.path,
                     notes=[f"internal error while grading: {type(exc).__name__}: {exc}"])
    res.seconds = time.perf_counter() - start
    res.timing["total"] = res.seconds
    res.graded_at = _now()
    return res


def _sandbox_module():
    try:
        from cs231n_lib import sandbox
    except ImportError as exc:
        raise GradingError("this checkout has no cs231n_lib/sandbox.py, so submissions cannot "
                           "be sandboxed; pass --no-sandbox to grade with your own rights"
                           ) from exc
    return sandbox


def check_sandbox() -> str:
    """The working sandbox's description ("bubblewrap 0.8.0"); raises ``CourseError`` (with
    how to install bubblewrap) when there is none."""
    return _sandbox_module().check()


def limits_for(memory: int | None):
    """``sandbox.Limits`` with ``memory`` bytes (None: the defaults), or None without one."""
    try:
        from cs231n_lib import sandbox
    except ImportError:
        return None
    return sandbox.Limits(memory=memory) if memory else sandbox.Limits()


def grade_submissions(subs: list[Submission], out: Path, jobs: int | None = None,
                      timeout: int = DEFAULT_TIMEOUT, solutions: Path | None = None,
                      library: Path | None = None, progress=None, sandbox: bool = True,
                      memory: int | None = None) -> list[Result]:
    """Grade ``subs`` with ``jobs`` parallel workers; merge results into ``out``.

    Writes ``out/NAME/gradebook.csv`` (see :func:`merge_gradebook`), the feedback as
    ``out/NAME/feedback/STUDENT.html`` and a log as ``out/NAME/logs/STUDENT.log``.
    ``sandbox=True`` (the default) runs every kernel in the sandbox and refuses to start
    without a working one; ``memory`` is its memory limit in bytes (default 4 GiB).
    ``progress`` (optional) is called with each ``Result`` as it finishes. Returns the
    results in the order of ``subs``.
    """
    solutions = Path(solutions or course.SOLUTIONS)
    library = Path(library or LIBRARY)
    out = Path(out)
    jobs = max(1, jobs or os.cpu_count() or 1)
    if timeout <= 0:
        raise GradingError(f"--timeout must be a positive number of seconds, not {timeout}")
    if sandbox:
        check_sandbox()
        limits = limits_for(memory)
    else:
        autograde.check_kernel()
        limits = None
    results: list[Result | None] = [None] * len(subs)
    templates = _Templates(solutions, library)
    autograde.warm_up()   # the environment check every kernel then skips, once per batch

    def work(i: int) -> None:
        res = _grade_one(subs[i], templates, timeout, jobs, solutions, out, sandbox, limits)
        results[i] = res
        if progress is not None:
            progress(res)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(work, range(len(subs))))
    names = {r.assignment for r in results if r.assignment and r.row}
    for res in results:  # a notebook too broken to tell its assignment: the batch's, if one
        if res.assignment is None and len(names) == 1:
            res.assignment = next(iter(names))
    by_name: dict[str, list[Result]] = {}
    for res in results:
        if res.assignment and res.row:
            by_name.setdefault(res.assignment, []).append(res)
    for name, group in by_name.items():
        order = [g for g, _ in graded_cells(nbformat.read(course.notebook_path(name, solutions),
                                                          4))]
        folder = out / name
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        for res in group:
            log = (f"{res.source}\nstatus: {res.status}\ngraded_at: {res.graded_at}\n"
                   + "".join(f"note: {n}\n" for n in res.notes)
                   + "".join(f"{k}: {v:.2f} s\n" for k, v in res.timing.items()))
            _atomic_write(folder / "logs" / f"{res.student}.log", log + res.log + "\n")
        merge_gradebook(folder / "gradebook.csv", group, order)
    return results


def merge_gradebook(path: Path, results: list[Result], questions: list[str]) -> None:
    """Merge ``results`` into the CSV gradebook at ``path`` (created if missing).

    One row per student; columns ``student, status, total, max_total``, one per graded cell
    (``questions``, in notebook order), ``notes`` and ``graded_at`` (when that student's
    grading finished). A graded result replaces the student's row. A failed one keeps the
    student's previous scores (status ``error``, the notes say why and since when) or adds a
    row with empty scores. Results with ``row=False`` are left out. Written to a temporary
    file and renamed, so a crash never leaves half a gradebook.
    """
    path = Path(path)
    rows: dict[str, dict[str, str]] = {}
    columns = list(questions)
    if path.exists():
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fixed = {"student", "status", "total", "max_total", "notes", "graded_at"}
            columns += [c for c in reader.fieldnames or [] if c not in fixed and c not in columns]
            for row in reader:
                rows[row["student"]] = row
    for res in results:
        if not res.row:
            continue
        when = res.graded_at or _now()
        if res.status == "graded":
            row = {"student": res.student, "status": "graded", "total": _num(res.total),
                   "max_total": _num(res.max_total), "notes": "; ".join(res.notes),
                   "graded_at": when}
            row.update({q: _num(s) for q, s in res.scores.items()})
            columns += [q for q in res.scores if q not in columns]
        else:
            old = rows.get(res.student)
            why = "; ".join(res.notes)
            if old and old.get("total"):
                row = dict(old)
                row["status"] = "error"
                row["notes"] = (f"regrade failed at {when}: {why}; scores kept from "
                                f"{old.get('graded_at', 'an earlier run')}")
            else:
                row = {"student": res.student, "status": "error", "total": "",
                       "max_total": "", "notes": why, "graded_at": when}
        rows[res.student] = row
    header = ["student", "status", "total", "max_total", *columns, "notes", "graded_at"]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gradebook-", suffix=".csv")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for student in sorted(rows):
            writer.writerow(rows[student])
    _publish(tmp, path)


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """The rows of a gradebook CSV written by :func:`merge_gradebook`."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _num(x: float) -> str:
    return f"{x:g}"


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    _publish(tmp, path)


def _publish(tmp: str, path: Path) -> None:
    """Give a ``mkstemp`` file ordinary permissions (it starts at 0600) and rename it."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def grade(path: Path, student: str | None = None, assignment: str | None = None,
          timeout: int = DEFAULT_TIMEOUT, out: Path = Path("grades"),
          solutions: Path | None = None, library: Path | None = None,
          sandbox: bool = True, memory: int | None = None) -> Result:
    """Autograde one submitted notebook; see :func:`grade_submissions` for what is written.

    ``student`` defaults to the file name (or, for ``STUDENT/NAME.ipynb``, the folder name).
    """
    solutions = Path(solutions or course.SOLUTIONS)
    path = Path(path)
    known = course.assignments(solutions)
    if student is None:
        student = path.parent.name if path.stem in known else path.stem
    sub = Submission(path, student, assignment)
    return grade_submissions([sub], out, jobs=1, timeout=timeout, solutions=solutions,
                             library=library, sandbox=sandbox, memory=memory)[0]


def grade_all(folder: Path, out: Path = Path("grades"), jobs: int | None = None,
              timeout: int = DEFAULT_TIMEOUT, assignment: str | None = None,
              solutions: Path | None = None, library: Path | None = None,
              progress=None, sandbox: bool = True,
              memory: int | None = None) -> tuple[list[Result], list[str]]:
    """Grade every submission in ``folder`` (layouts: :func:`find_submissions`).

    Returns ``(results, skipped)``.
    """
    solutions = Path(solutions or course.SOLUTIONS)
    subs, skipped = find_submissions(folder, solutions, assignment)
    if not subs:
        raise GradingError(f"no submissions in {folder}: expected STUDENT/NAME.ipynb or "
                           "STUDENT.ipynb")
    return grade_submissions(subs, out, jobs, timeout, solutions, library, progress,
                             sandbox=sandbox, memory=memory), skipped


def progress_line(res: Result) -> str:
    """One line per finished submission: ``01_conv_layer / ada: 10/10 in 8.2 s``."""
    who = f"{res.assignment or 'unknown assignment'} / {res.student}"
    if res.status == "graded":
        return f"{who}: {res.total:g}/{res.max_total:g} in {res.seconds:.1f} s"
    first = f" ({res.notes[0]})" if res.notes else ""
    return f"{who}: error in {res.seconds:.1f} s{first}"


def format_result(res: Result) -> str:
    """A readable table of one result: one line per question, the total, notes, feedback."""
    head = (f"{res.assignment or 'unknown assignment'} / {res.student}: {res.status} "
            f"({res.seconds:.1f} s)")
    lines = [head]
    if res.status == "graded":
        width = max([len(q) for q in res.scores] + [8])
        lines.append(f"  {'question':<{width}}  score    max")
        for q, s in res.scores.items():
            lines.append(f"  {q:<{width}}  {s:5g}  {res.max_scores[q]:5g}")
        lines.append(f"  {'total':<{width}}  {res.total:5g}  {res.max_total:5g}")
    lines += [f"  note: {n}" for n in res.notes]
    if res.feedback:
        lines.append(f"  feedback: {res.feedback}")
    if not res.row:
        lines.append("  (no gradebook row written)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Validation: the same engine and scoring as grading
# --------------------------------------------------------------------------------------------

@dataclass
class Validation:
    """Whether one notebook validated: ``ok`` and a readable ``message``."""

    path: Path
    invert: bool
    ok: bool
    message: str


def validate(names: list[str] | None = None, solutions: Path | None = None,
             notebooks: Path | None = None, jobs: int | None = None,
             timeout: int = VALIDATE_TIMEOUT, library: Path | None = None) -> list[Validation]:
    """Grade each solution (it must earn every point) and each release (it must earn none).

    Uses the grading engine itself (restore, run with the student's stubbed library, score),
    so a notebook validates exactly when grading would give it full marks or zero; the
    instructor's own notebooks run without the sandbox. ``jobs`` notebooks run at a time.
    Nothing is written. Returns one ``Validation`` per notebook.
    """
    solutions = Path(solutions or course.SOLUTIONS)
    notebooks = Path(notebooks or course.NOTEBOOKS)
    names = course._check_names(names, solutions)
    todo = [(n, course.notebook_path(n, solutions), False) for n in names]
    todo += [(n, course.notebook_path(n, notebooks), True) for n in names]
    jobs = max(1, jobs or os.cpu_count() or 1)
    autograde.check_kernel()
    templates = _Templates(solutions, Path(library or LIBRARY))
    autograde.warm_up()

    def run(item: tuple[str, Path, bool]) -> Validation:
        name, path, invert = item
        if not path.exists():
            return Validation(path, invert, False, "missing: run `make release`")
        try:
            nb = read_submission(path)
            with tempfile.TemporaryDirectory(prefix="cs231n-validate-") as work:
                o = autograde.grade_notebook(nb, templates.get(name), Path(work),
                                             timeout=timeout, sandbox=False, jobs=jobs)
        except course.CourseError as exc:
            return Validation(path, invert, False, str(exc))
        if invert:
            passed = [q for q, s in o.scores.items() if s > 0]
            return Validation(path, invert, not passed, "passes none of its tests" if not passed
                              else f"{len(passed)} test cell(s) pass without an answer: "
                              + ", ".join(passed))
        failed = [q for q, s in o.scores.items() if s < o.max_scores[q]]
        return Validation(path, invert, not failed, "passes all its tests" if not failed
                          else f"{len(failed)} test cell(s) fail: "
                          + " | ".join(f"{q} -> {o.reasons.get(q, '')}" for q in failed))

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run, todo))
