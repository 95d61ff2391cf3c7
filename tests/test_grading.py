"""Grading: validate, autograde (one and in batch), gradebook merging, student bundles.

Most cases run on a tiny synthetic assignment built in a temp dir (three questions, kernel
``convnet-course``, a 4 s cell limit) with a fake mini library, in the sandbox where this
machine has one; the bundle checks use the real assignments (every assignment's full marks
and zero are in ``test_grading_all.py``).
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cs231n_lib import course, grading
from cs231n_lib.__main__ import main
from tests.notebook_utils import have_sandbox

pytestmark = [pytest.mark.notebooks]

TOY, OTHER = "90_toy", "91_other"
REAL = "00_why_convolution"
TIMEOUT = 4


#: Grade in the sandbox where there is one (CI installs bubblewrap); the scores must not differ.
SANDBOX = have_sandbox()
NO_SANDBOX = [] if SANDBOX else ["--no-sandbox"]


def _solution(grade_id, source):
    return new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
        "solution": True}})


def _test(grade_id, source, points):
    return new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points,
        "schema_version": 3, "solution": False}})


def _toy_notebook():
    nb = new_notebook(metadata={"kernelspec": {
        "name": course.KERNEL_NAME, "display_name": "Python (convnet-course)",
        "language": "python"}})
    nb.cells = [
        new_markdown_cell("# Toy assignment"),
        new_code_cell("import os\n\nfrom cs231n_lib import runtime"),
        _solution("add", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n"
                         "    ### END SOLUTION"),
        _test("test_add", "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\n"
                          "assert add(10, 5) == 15  # hidden check\n### END HIDDEN TESTS", 1),
        _solution("square", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n"
                            "    ### END SOLUTION"),
        # Ends on a number (0): nbgrader read that as partial credit; it must not count.
        _test("test_square", "assert square(3) == 9\nsquare(3) - 9", 2),
        _solution("triple", "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n"
                            "    ### END SOLUTION"),
        # Also proves nbgrader sets NBGRADER_EXECUTION, which turns fast mode on.
        _test("test_triple", "assert triple(2) == 6\n"
                             "assert os.environ.get('NBGRADER_EXECUTION') in ('autograde', "
                             "'validate')\nassert runtime.fast_mode()", 1),
    ]
    return nb


def _other_notebook():
    """A second assignment whose 'solution' is wrong: validate must say so."""
    nb = _toy_notebook()
    nb.cells = [
        new_code_cell("x = 1"),
        _solution("halve", "def halve(x):\n    ### BEGIN SOLUTION\n    return x / 3\n"
                           "    ### END SOLUTION"),
        _test("test_halve", "assert halve(4) == 2, 'half of 4 is 2'", 1),
    ]
    return nb


FAKE_TOY_MODULE = '''\
"""A fake library module for the tests."""


def reference_add(a, b):
    """The reference answer of 90_toy's exercise."""
    ### BEGIN SOLUTION 90_toy
    total = a + b
    return total
    ### END SOLUTION


class Helper:
    def square(self, x):
        """Belongs to another assignment: stays in a 90_toy bundle."""
        ### BEGIN SOLUTION 91_other
        return pow(x, 2)
        ### END SOLUTION
'''


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A course with two assignments, their releases, and a fake library."""
    root = tmp_path_factory.mktemp("toycourse")
    for name, nb in ((TOY, _toy_notebook()), (OTHER, _other_notebook())):
        (root / "solutions" / name).mkdir(parents=True)
        nbformat.write(nb, course.notebook_path(name, root / "solutions"))
    course.generate(None, root / "solutions", root / "notebooks")
    lib = root / "repo" / "cs231n_lib"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text('"""fake"""\n')
    shutil.copy(course.REPO / "cs231n_lib" / "runtime.py", lib / "runtime.py")
    (lib / "toy.py").write_text(FAKE_TOY_MODULE)
    return root


def _answered(toy, answers, name=TOY):
    """The released notebook with ``answers`` (grade_id -> source) filled in."""
    nb = nbformat.read(course.notebook_path(name, toy / "notebooks"), 4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


CORRECT = {"add": "def add(a, b):\n    return a + b",
           "square": "def square(x):\n    return x ** 2",
           "triple": "def triple(x):\n    return x + x + x"}


# --------------------------------------------------------------------------------------------
# Library stubs
# --------------------------------------------------------------------------------------------

def test_stub_source_replaces_own_regions_and_keeps_others():
    new, stubbed = grading.stub_source(FAKE_TOY_MODULE, [TOY], known=[TOY, OTHER])
    assert stubbed == ["90_toy: reference_add"]
    assert "total = a + b" not in new and "### BEGIN SOLUTION" not in new
    assert ('    raise NotImplementedError("reference_add() is left out of the 90_toy bundle: '
            "it holds the answer to an exercise you write in that notebook's own cells\")\n") in new
    assert '"""The reference answer of 90_toy\'s exercise."""' in new  # docstring stays
    assert "        return pow(x, 2)\n" in new                               # other region intact
    ns = {}
    exec(compile(new, "toy.py", "exec"), ns)
    with pytest.raises(NotImplementedError, match="left out of the 90_toy bundle"):
        ns["reference_add"](1, 2)
    assert ns["Helper"]().square(3) == 9
    # Bundling the other assignment stubs the method with the method's indentation.
    new2, stubbed2 = grading.stub_source(FAKE_TOY_MODULE, [OTHER])
    assert stubbed2 == ["91_other: square"]
    assert '        raise NotImplementedError("square() is left out of the 91_other' in new2
    assert "    return total\n" in new2


@pytest.mark.parametrize("text, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "untagged"),
    ("def f():\n    ### BEGIN SOLUTION 90_toy\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "without a BEGIN"),
    ("def f():\n    ### BEGIN SOLUTION 90_toy\n    ### BEGIN SOLUTION 90_toy\n", "inside"),
    ("def f():\n    ### BEGIN SOLUTION 99_nope\n    return 1\n    ### END SOLUTION\n",
     "not an assignment"),
])
def test_stub_source_rejects_bad_markers(text, message):
    with pytest.raises(grading.GradingError, match=message):
        grading.stub_source(text, [TOY], filename="m.py", known=[TOY, OTHER])


def test_stub_library_output_imports_and_passes_ruff(tmp_path, toy):
    dest = tmp_path / "lib" / "cs231n_lib"
    stubbed = grading.stub_library(toy / "repo" / "cs231n_lib", dest, [TOY], [TOY, OTHER])
    assert stubbed == ["90_toy: reference_add"]
    grading.check_library(dest)  # ruff F + E9 (undefined names, syntax)
    probe = ("import cs231n_lib.toy as t\nprint(t.__file__)\nprint(t.Helper().square(4))\n"
             "try:\n    t.reference_add(1, 2)\nexcept NotImplementedError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(dest.parent)}, cwd=tmp_path,
                         check=True).stdout
    assert out.splitlines() == [str(dest / "toy.py"), "16",
                                "reference_add() is left out of the 90_toy bundle: it holds "
                                "the answer to an exercise you write in that notebook's own "
                                "cells"]


def test_check_library_catches_a_region_that_leaves_names_undefined(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text("def f(x):\n    ### BEGIN SOLUTION 90_toy\n    y = 2 * x\n"
                              "    ### END SOLUTION\n    return y\n")
    dest = tmp_path / "out" / "pkg"
    grading.stub_library(pkg, dest, [TOY])
    with pytest.raises(grading.GradingError, match="F821"):
        grading.check_library(dest)


# --------------------------------------------------------------------------------------------
# Gradebook CSV
# --------------------------------------------------------------------------------------------

def _res(student, status, scores=None, notes=()):
    scores = scores or {}
    return grading.Result(student, TOY, status, dict(scores), {q: 2.0 for q in scores},
                          list(notes))


def test_merge_gradebook_replaces_rows_and_keeps_old_scores_on_failure(tmp_path):
    path = tmp_path / "gradebook.csv"
    grading.merge_gradebook(path, [_res("ann", "graded", {"q1": 2, "q2": 0}),
                                   _res("ben", "graded", {"q1": 1, "q2": 1})], ["q1", "q2"])
    grading.merge_gradebook(path, [_res("ann", "graded", {"q1": 2, "q2": 2}),
                                   _res("ben", "error", notes=["not valid JSON"]),
                                   _res("cat", "error", notes=["not valid JSON"])],
                            ["q1", "q2"])
    rows = {r["student"]: r for r in grading.read_gradebook(path)}
    assert list(rows) == ["ann", "ben", "cat"]                      # no duplicate rows
    assert (rows["ann"]["status"], rows["ann"]["total"], rows["ann"]["q2"]) == ("graded", "4", "2")
    assert (rows["ben"]["status"], rows["ben"]["total"], rows["ben"]["q1"]) == ("error", "2", "1")
    assert "regrade failed" in rows["ben"]["notes"] and "not valid JSON" in rows["ben"]["notes"]
    assert (rows["cat"]["status"], rows["cat"]["total"]) == ("error", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv"]  # no temp files


# --------------------------------------------------------------------------------------------
# Finding and identifying submissions
# --------------------------------------------------------------------------------------------

def test_find_submissions_and_infer_assignment(tmp_path, toy):
    sols = toy / "solutions"
    (tmp_path / "ann").mkdir()
    nbformat.write(_answered(toy, CORRECT), tmp_path / "ann" / f"{TOY}.ipynb")
    (tmp_path / "ann" / "scratch.ipynb").write_text("{}")
    nbformat.write(_answered(toy, {}), tmp_path / "ben.ipynb")
    nbformat.write(_answered(toy, {}, OTHER), tmp_path / "cat.ipynb")
    subs, skipped = grading.find_submissions(tmp_path, sols)
    assert [(s.student, s.assignment) for s in subs] == [("ann", TOY), ("ben", None),
                                                         ("cat", None)]
    assert skipped == ["ann/scratch.ipynb: not named after an assignment"]
    ben = grading.read_submission(tmp_path / "ben.ipynb")
    assert grading.infer_assignment(ben, tmp_path / "ben.ipynb", sols) == TOY
    cat = grading.read_submission(tmp_path / "cat.ipynb")
    assert grading.infer_assignment(cat, tmp_path / "cat.ipynb", sols) == OTHER
    with pytest.raises(grading.GradingError, match="not a submission of 90_toy.*91_other"):
        grading.infer_assignment(cat, tmp_path / "cat.ipynb", sols, TOY)
    (tmp_path / "bad.ipynb").write_text('{"cells": [')
    with pytest.raises(grading.GradingError, match="bad.ipynb is not a valid notebook"):
        grading.read_submission(tmp_path / "bad.ipynb")


# --------------------------------------------------------------------------------------------
# Validate
# --------------------------------------------------------------------------------------------

def test_validate_cli_reports_each_notebook_and_fails_on_a_wrong_solution(toy, monkeypatch,
                                                                           capsys):
    monkeypatch.setattr(course, "SOLUTIONS", toy / "solutions")
    monkeypatch.setattr(course, "NOTEBOOKS", toy / "notebooks")
    monkeypatch.setattr(grading, "LIBRARY", toy / "repo" / "cs231n_lib")
    assert main(["validate", "--jobs", "2", "--timeout", "30"]) == 1
    out = capsys.readouterr().out
    assert "ok    solution  90_toy: passes all its tests" in out
    assert "ok    release   90_toy: passes none of its tests" in out
    assert "FAIL  solution  91_other: 1 test cell(s) fail" in out and "half of 4 is 2" in out
    assert "ok    release   91_other: passes none of its tests" in out
    assert "3 of 4 notebooks validated" in out


# --------------------------------------------------------------------------------------------
# Autograde a batch of toy submissions, then regrade
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch(toy, tmp_path_factory):
    subs = tmp_path_factory.mktemp("subs")
    out = tmp_path_factory.mktemp("grades")

    def put(student, nb, flat=False):
        path = subs / f"{student}.ipynb" if flat else subs / student / f"{TOY}.ipynb"
        path.parent.mkdir(exist_ok=True)
        if isinstance(nb, str):
            path.write_text(nb)
        else:
            nbformat.write(nb, path)

    put("alice", _answered(toy, CORRECT))                      # full marks
    put("bob", _answered(toy, {}))                              # untouched release
    put("carl", _answered(toy, {**CORRECT, "square": "def square(x):\n    while True:\n"
                                                     "        pass"}))  # infinite loop
    dana = _answered(toy, {**CORRECT, "add": "def add(a, b):\n    return a - b",
                           "test_add": "pass  # my tests now"})
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in dana.cells}
    by_id["test_square"].cell_type = "markdown"                 # cell type changed
    by_id["test_square"].pop("outputs")
    by_id["test_square"].pop("execution_count")
    dana.cells.remove(by_id["test_triple"])                     # test cell deleted
    copy = nbformat.from_dict(json.loads(json.dumps(by_id["square"])))
    copy["id"] = "copy-of-square"
    dana.cells.insert(3, copy)
    dana.cells.append(new_code_cell("for i in range(40_000):\n    print('x' * 60, i)"))
    dana.cells.append(new_code_cell("raise ValueError('student code crashed')"))
    put("dana", dana)
    put("erin", '{"cells": [', flat=True)                       # not JSON
    put("fay", _answered(toy, {}, OTHER))                       # another assignment
    put("gus", _answered(toy, {                                 # tries the reference library
        "add": "from cs231n_lib.toy import reference_add as add",
        "square": "def square(x):\n    from cs231n_lib.toy import Helper\n"
                  "    return Helper().square(x)"}), flat=True)
    hana = _answered(toy, {                                     # correct, but noisy
        **CORRECT,
        "add": "import sys\nimport warnings\n\ndef add(a, b):\n"
               "    warnings.warn('adding may overflow', RuntimeWarning)\n"
               "    print('debug: in add', file=sys.stderr)\n    return a + b"})
    hana.cells.append(new_markdown_cell("<script>alert('from markdown')</script>"))
    hana.cells.append(new_code_cell("from IPython.display import HTML, display\n"
                                    "display(HTML('<script>alert(' + '\"from output\")'"
                                    " + '</script>'))"))
    put("hana", hana)
    put("ivan", _answered(toy, {**CORRECT, "triple": "import os\nos._exit(0)"}))  # kernel dies
    results, skipped = grading.grade_all(subs, out, jobs=2, timeout=TIMEOUT,
                                         solutions=toy / "solutions",
                                         library=toy / "repo" / "cs231n_lib", sandbox=SANDBOX)
    return {r.student: r for r in results}, out, subs


def test_batch_scores_every_question(batch):
    results, out, _ = batch
    scores = {s: (r.status, r.scores) for s, r in results.items()}
    full = {"test_add": 1.0, "test_square": 2.0, "test_triple": 1.0}
    notes = {s: r.notes for s, r in results.items()}
    assert scores["alice"] == ("graded", full), notes
    assert scores["bob"] == ("graded", {"test_add": 0.0, "test_square": 0.0, "test_triple": 0.0})
    assert scores["carl"] == ("graded", {**full, "test_square": 0.0})
    assert scores["dana"] == ("graded", {**full, "test_add": 0.0})
    # The stubbed library raises NotImplementedError; other assignments' code still works.
    assert scores["gus"] == ("graded", {"test_add": 0.0, "test_square": 2.0, "test_triple": 0.0})
    assert results["alice"].total == results["alice"].max_total == 4.0
    # Warnings and stderr are shown, never scored; a number as last output is not a score.
    assert scores["hana"] == ("graded", full), notes["hana"]
    # The kernel died in the answer cell of 'triple': the tests before it keep their points.
    assert scores["ivan"] == ("graded", {**full, "test_triple": 0.0}), notes["ivan"]


def test_batch_notes_say_what_happened(batch):
    results, _, _ = batch
    assert "test_square: stopped after the 4 s time limit" in results["carl"].notes
    notes = results["dana"].notes
    for expected in ("test_add: locked cell was edited (restored from the source)",
                     "test_square: cell type changed to markdown (changed back)",
                     "test_triple: test cell was deleted (restored from the source)",
                     "square: cell duplicated 2 times (copies ignored)"):
        assert expected in notes
    assert any("output truncated" in n for n in notes)
    quiet = [] if SANDBOX else [n for n in results["alice"].notes if "without the sandbox" in n]
    assert results["alice"].notes == quiet and results["bob"].notes == quiet
    assert results["hana"].notes == quiet     # no checksum or alt-text noise either
    died = [n for n in results["ivan"].notes if n.startswith("the kernel died in cell")]
    assert len(died) == 1 and "(triple)" in died[0] and "exit" in died[0], results["ivan"].notes
    assert results["erin"].status == "error" and "not a valid notebook" in results["erin"].notes[0]
    assert results["fay"].status == "error"
    assert "not a submission of 90_toy" in results["fay"].notes[0]


def test_batch_writes_gradebook_and_feedback(batch):
    _, out, _ = batch
    rows = {r["student"]: r for r in grading.read_gradebook(out / TOY / "gradebook.csv")}
    assert sorted(rows) == ["alice", "bob", "carl", "dana", "erin", "fay", "gus", "hana",
                            "ivan"]
    assert list(rows["alice"])[:7] == ["student", "status", "total", "max_total", "test_add",
                                       "test_square", "test_triple"]
    assert (rows["carl"]["total"], rows["carl"]["test_square"]) == ("2", "0")
    assert (rows["erin"]["status"], rows["erin"]["total"]) == ("error", "")
    dana = (out / TOY / "feedback" / "dana.html").read_text()
    assert "Output truncated" in dana and "student code crashed" in dana
    assert (out / TOY / "feedback" / "alice.html").stat().st_size > 1000
    assert not (out / TOY / "feedback" / "fay.html").exists()
    assert "test_add: 0/1 (AssertionError" in (out / TOY / "logs" / "dana.log").read_text()
    hana = (out / TOY / "feedback" / "hana.html").read_text()
    assert "adding may overflow" in hana and "debug: in add" in hana   # shown, not scored
    assert "Score: 4 / 4" in hana
    assert "hidden check" not in hana and "hidden tests ran here" in hana   # not given away
    # The feedback is safe to open: a student's markdown and HTML outputs carry no script.
    assert "alert('from markdown')" in html.unescape(hana) and "<script>alert" not in hana
    assert 'alert("from output")' not in hana


def test_graded_at_is_when_each_student_was_graded(batch):
    results, out, _ = batch
    rows = {r["student"]: r for r in grading.read_gradebook(out / TOY / "gradebook.csv")}
    for student, res in results.items():
        assert rows[student]["graded_at"] == res.graded_at
    assert len({r.graded_at for r in results.values()}) > 1   # not one time for the whole batch


def test_regrade_replaces_rows_and_a_failed_regrade_keeps_the_old_grade(batch, toy, tmp_path,
                                                                        monkeypatch, capsys):
    _, out, _ = batch
    monkeypatch.setattr(course, "SOLUTIONS", toy / "solutions")
    monkeypatch.setattr(grading, "LIBRARY", toy / "repo" / "cs231n_lib")
    before = (out / TOY / "feedback" / "alice.html").read_text()
    (tmp_path / "again" / "alice").mkdir(parents=True)
    (tmp_path / "again" / "alice" / f"{TOY}.ipynb").write_text("not a notebook")
    assert main(["grade-all", str(tmp_path / "again"), "--out", str(out), "--jobs", "2",
                 *NO_SANDBOX]) == 1
    printed = capsys.readouterr().out
    assert "90_toy / alice: error in" in printed and "0 of 1 submissions graded" in printed
    # `grade` one notebook: bob now answers the first question only.
    sub = tmp_path / "bob.ipynb"
    nbformat.write(_answered(toy, {"add": CORRECT["add"]}), sub)
    assert main(["grade", str(sub), "--timeout", "10", "--out", str(out), *NO_SANDBOX]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("90_toy / bob: graded")
    assert ("  question     score    max\n"
            "  test_add         1      1\n"
            "  test_square      0      2\n"
            "  test_triple      0      1\n"
            "  total            1      4\n") in printed
    rows = grading.read_gradebook(out / TOY / "gradebook.csv")
    assert len(rows) == 9  # regrading replaces rows, never adds
    rows = {r["student"]: r for r in rows}
    assert (rows["bob"]["status"], rows["bob"]["total"], rows["bob"]["test_add"]) == (
        "graded", "1", "1")
    assert (rows["alice"]["status"], rows["alice"]["total"]) == ("error", "4")
    assert "regrade failed" in rows["alice"]["notes"]
    assert (out / TOY / "feedback" / "alice.html").read_text() == before


# --------------------------------------------------------------------------------------------
# The real assignment: full marks, zero, and a student bundle
# --------------------------------------------------------------------------------------------

def test_a_missing_file_is_an_error_and_no_gradebook_row(tmp_path, capsys):
    missing = tmp_path / "ghost.ipynb"
    res = grading.grade(missing, out=tmp_path / "out", sandbox=False)
    assert res.status == "error" and not res.row and "no such file" in res.notes[0]
    assert main(["grade", str(missing), "--out", str(tmp_path / "out"), "--no-sandbox"]) == 1
    assert "no such file" in capsys.readouterr().out
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))


def test_a_missing_kernel_refuses_the_batch_and_says_how_to_fix_it(toy, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(course, "KERNEL_NAME", "no-such-kernel-for-tests")
    nbformat.write(_answered(toy, CORRECT), tmp_path / "ann.ipynb")
    with pytest.raises(course.CourseError, match="no-such-kernel-for-tests.*ipykernel install"):
        grading.grade_all(tmp_path, tmp_path / "out", solutions=toy / "solutions",
                          library=toy / "repo" / "cs231n_lib", sandbox=False)
    assert not (tmp_path / "out").exists()


def _answer_lines_of(name):
    """Significant lines of the solution notebook's answers and hidden tests (test_pipeline)."""
    import re

    nb = nbformat.read(course.notebook_path(name), 4)
    public = "\n".join(re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END (SOLUTION|HIDDEN "
                              r"TESTS)", "", c.source, flags=re.S) for c in nb.cells)
    lines = set()
    for cell in nb.cells:
        for region in course.solution_regions(cell.source) + course.hidden_regions(cell.source):
            for line in region.splitlines():
                s = line.strip()
                if len(s) >= 12 and not s.startswith("#") and s not in public:
                    lines.add(s)
    return lines


def test_real_bundle_runs_to_first_exercise_and_holds_no_answers(tmp_path, monkeypatch):
    from tests.notebook_utils import run_until_error

    dest = grading.bundle(tmp_path / "bundle", [REAL])
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    for needed in ("pyproject.toml", "requirements.lock", "environment.yml", "README.md",
                   "Makefile", "cs231n_lib/__init__.py", "cs231n_lib/runtime.py",
                   f"notebooks/{REAL}/{REAL}.ipynb", grading.BUNDLE_MANIFEST):
        assert needed in files
    assert not any(f.startswith("solutions/") or f.endswith("gradebook.db") for f in files)
    assert [f for f in files if f.endswith(".ipynb")] == [f"notebooks/{REAL}/{REAL}.ipynb"]
    # Its Makefile keeps only what a bundle can run: `make lab` works, `make test` is gone.
    makefile = (dest / "Makefile").read_text()
    assert "-m pytest" not in makefile and "solutions" not in makefile
    if shutil.which("make"):
        dry = subprocess.run(["make", "-n", "lab"], cwd=dest, capture_output=True, text=True)
        assert dry.returncode == 0 and "jupyter lab --notebook-dir=notebooks" in dry.stdout
        assert subprocess.run(["make", "-n", "test"], cwd=dest, capture_output=True).returncode
    # Half 1: no answer text anywhere (notebook answers, hidden tests, tagged library code).
    secrets = _answer_lines_of(REAL) | grading.answer_lines([REAL])
    assert "return height * width * channels * hidden" in secrets   # the scan can fail
    for f in files:
        text = (dest / f).read_text(encoding="utf-8", errors="ignore")
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{f} gives answers away: {leaked[:3]}"
    # Half 2: it runs, with the bundle's own library, until the first exercise.
    nb_path = dest / "notebooks" / REAL / f"{REAL}.ipynb"
    nb = nbformat.read(nb_path, 4)
    nb.cells.insert(0, new_code_cell("import cs231n_lib\nprint(cs231n_lib.__file__)"))
    nbformat.write(nb, nb_path)
    monkeypatch.setenv("PYTHONPATH", str(dest))
    nb, failing, _ = run_until_error(nb_path, timeout=120)
    assert nb.cells[0].outputs[0]["text"].strip() == str(dest / "cs231n_lib" / "__init__.py")
    error = next(o for o in nb.cells[failing].outputs if o["output_type"] == "error")
    # The exercise raises NotImplementedError; a check that calls it through checks.call
    # reports that as "... is not written yet".
    assert error["ename"] == "NotImplementedError" or "not written yet" in error["evalue"], error
    first_exercise = next(i for i, c in enumerate(nb.cells)
                          if c.metadata.get("nbgrader", {}).get("solution"))
    assert failing in (first_exercise, first_exercise + 1)  # the exercise or its check


def test_student_makefile_keeps_install_and_lab_and_says_when_one_is_missing():
    course_makefile = (course.REPO / "Makefile").read_text()
    student = grading.student_makefile(course_makefile)
    targets = re.findall(r"^([^\s#:=?]+)\s*:(?!=)", student, flags=re.M)
    assert targets == [".PHONY", "install", "$(STAMP)", "lab", "clean"]
    with pytest.raises(grading.GradingError, match="no rule for lab"):
        grading.student_makefile(course_makefile.replace("\nlab:", "\nlaboratory:"))


def test_bundle_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(grading.GradingError, match="not a bundle"):
        grading.bundle(tmp_path, [REAL])
    with pytest.raises(grading.GradingError, match="name the assignment"):
        grading.bundle(tmp_path / "b", [])
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_bundle_of_a_fake_repo_stubs_its_assignment(tmp_path, toy):
    repo = toy / "repo"
    dest = grading.bundle(tmp_path / "b", [TOY], solutions=toy / "solutions", repo=repo)
    text = (dest / "cs231n_lib" / "toy.py").read_text()
    assert "total = a + b" not in text and "return pow(x, 2)" in text
    manifest = (dest / grading.BUNDLE_MANIFEST).read_text()
    assert "- reference_add (assignment 90_toy)" in manifest
    assert "| `add` | 3 | `test_add` | 1 |" in manifest          # exercises are notebook cells
    released = (dest / "notebooks" / TOY / f"{TOY}.ipynb").read_text()
    assert "hidden check" not in released and "return a + b" not in released
    assert grading.scan_bundle(dest, [TOY], toy / "solutions", repo) == []
    # The scanner notices a leak.
    (dest / "notes.txt").write_text("    assert add(10, 5) == 15  # hidden check\n")
    assert grading.scan_bundle(dest, [TOY], toy / "solutions", repo) == [
        "notes.txt: answer line 'assert add(10, 5) == 15  # hidden check'"]


def test_conv_layer_bundle_stubs_the_naive_layers_and_keeps_the_fast_ones(tmp_path):
    """Assignment 01 asks for conv_forward_naive/backward_naive: its bundle must not hold them."""
    import subprocess
    import sys

    name = "01_conv_layer"
    if name not in course.assignments():
        pytest.skip(f"{name} is not in solutions/")
    dest = grading.bundle(tmp_path / "bundle", [name])
    text = (dest / "cs231n_lib" / "layers.py").read_text()
    assert "### BEGIN SOLUTION" not in text
    assert grading.scan_bundle(dest, [name]) == []
    probe = (
        "import numpy as np\n"
        "from cs231n_lib import layers as L\n"
        "x = np.ones((1, 1, 4, 4)); w = np.ones((1, 1, 3, 3)); b = np.zeros(1)\n"
        "p = {'stride': 1, 'pad': 0}\n"
        "print(L.conv_forward_fast(x, w, b, p)[0].sum())\n"
        "try:\n"
        "    L.conv_forward_naive(x, w, b, p)\n"
        "except NotImplementedError as e:\n"
        "    print('stubbed:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=dest, capture_output=True, text=True,
                         env={"PYTHONPATH": str(dest), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "36.0"
    assert "stubbed:" in out.stdout and name in out.stdout


def test_without_a_sandbox_grading_refuses_unless_told_and_the_row_says_so(toy, tmp_path,
                                                                          monkeypatch, capsys):
    from cs231n_lib import sandbox

    def broken():
        raise sandbox.SandboxUnavailable("bubblewrap is not installed: sudo apt-get install "
                                         "bubblewrap")

    monkeypatch.setattr(sandbox, "check", broken)
    monkeypatch.setattr(course, "SOLUTIONS", toy / "solutions")
    monkeypatch.setattr(grading, "LIBRARY", toy / "repo" / "cs231n_lib")
    sub = tmp_path / "subs" / "ann.ipynb"
    sub.parent.mkdir()
    nbformat.write(_answered(toy, CORRECT), sub)
    out = tmp_path / "out"
    assert main(["grade-all", str(sub.parent), "--out", str(out)]) == 2
    assert "apt-get install bubblewrap" in capsys.readouterr().err
    assert not out.exists()                                  # nothing graded, nothing written
    assert main(["grade", str(sub), "--out", str(out), "--no-sandbox", "--memory", "2"]) == 0
    row = grading.read_gradebook(out / TOY / "gradebook.csv")[0]
    assert (row["student"], row["total"]) == ("ann", "4")
    assert "graded without the sandbox" in row["notes"]


def test_restore_puts_back_points_and_ids_and_reports_only_real_edits(toy, tmp_path):
    from cs231n_lib import autograde

    tpl = autograde.build_template(TOY, toy / "solutions", toy / "repo" / "cs231n_lib",
                                   tmp_path / "tpl")
    nb = _answered(toy, CORRECT)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    by_id["test_square"].metadata["nbgrader"]["points"] = 100      # a bigger question
    by_id["square"].metadata["nbgrader"]["grade"] = True           # an answer made "graded"
    by_id["square"].metadata["nbgrader"]["points"] = 50
    nb.cells.remove(by_id["test_add"])
    restored, notes = autograde.restore(nb, tpl)
    assert autograde.graded_cells(restored) == [("test_add", 1.0), ("test_square", 2.0),
                                                ("test_triple", 1.0)]
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells]
    assert ids.index("test_add") == ids.index("add") + 1           # back where it was
    assert "hidden check" in restored.cells[ids.index("test_add")].source
    assert notes == ["test_add: test cell was deleted (restored from the source)"]
    assert all(c.get("outputs", []) == [] for c in restored.cells)
    # The instructor's own notebook is not "edited" although its test cells differ from
    # the release (hidden tests).
    source = nbformat.read(course.notebook_path(TOY, toy / "solutions"), 4)
    assert autograde.restore(source, tpl)[1] == []
