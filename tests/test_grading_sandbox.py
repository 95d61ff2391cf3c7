"""The attacks of issue #16, as submissions graded by ``grade_all`` in the real sandbox: a
submission that looks for the solutions and hidden tests, writes outside its working folder
and goes after the gradebook earns nothing from it and changes nothing, and the rest of the
batch is graded as if it were not there. (``tests/test_sandbox.py`` tests the sandbox
itself; this file tests that grading uses it.)
"""

import nbformat
import pytest

from cs231n_lib import course, grading
from tests.notebook_utils import sandbox_problem
from tests.test_grading import CORRECT, TOY, _answered, toy  # noqa: F401 - toy is a fixture

pytestmark = [pytest.mark.notebooks]


ATTACK = '''
import glob, os, pathlib
import cs231n_lib

found = []
for pattern in ["../../../source/*/*.ipynb", "{solutions}/*/*.ipynb",
                str(pathlib.Path(cs231n_lib.__file__).parents[1] / "solutions" / "*" / "*.ipynb"),
                "/tmp/**/*90_toy*.ipynb", "/tmp/cs231n-templates-*/**/*.ipynb"]:
    found += glob.glob(pattern, recursive=True)
leaked = [f for f in found if "hidden check" in open(f).read()]
for target in ["{gradebook}", "{repo}/PWNED", os.path.expanduser("~") + "/PWNED",
               "{outside}/PWNED"]:
    try:
        with open(target, "a") as f:
            f.write("victim,graded,0\\nmallory,graded,4\\n")
    except OSError:
        pass
cmdlines = []
for p in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        cmdlines.append(open(p, "rb").read().decode(errors="replace"))
    except OSError:
        pass
grader_seen = [c for c in cmdlines if "{out}" in c or "pytest" in c]


def add(a, b):
    return a + b if leaked or grader_seen else 0
'''


def test_attacks_earn_nothing_and_change_nothing(toy, tmp_path):  # noqa: F811 - fixture
    reason = sandbox_problem()
    if reason:
        pytest.skip(f"no sandbox on this machine: {reason}")
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    gradebook = out / TOY / "gradebook.csv"
    subs = tmp_path / "subs"
    (subs / "victim").mkdir(parents=True)
    nbformat.write(_answered(toy, CORRECT), subs / "victim" / f"{TOY}.ipynb")
    grading.grade_all(subs, out, solutions=toy / "solutions",
                      library=toy / "repo" / "cs231n_lib", sandbox=True)
    before = gradebook.read_text()
    (subs / "victim" / f"{TOY}.ipynb").unlink()
    (subs / "victim").rmdir()
    attack = ATTACK.format(solutions=toy / "solutions", gradebook=gradebook, repo=course.REPO,
                           outside=outside, out=out)
    (subs / "mallory").mkdir()
    nbformat.write(_answered(toy, {**CORRECT, "add": attack}), subs / "mallory" / f"{TOY}.ipynb")
    (subs / "alice").mkdir()
    nbformat.write(_answered(toy, CORRECT), subs / "alice" / f"{TOY}.ipynb")
    results, _ = grading.grade_all(subs, out, jobs=2, solutions=toy / "solutions",
                                   library=toy / "repo" / "cs231n_lib", sandbox=True)
    by = {r.student: r for r in results}
    assert by["mallory"].status == "graded", by["mallory"].notes
    assert by["mallory"].scores["test_add"] == 0.0          # it found nothing to use
    assert by["mallory"].scores["test_square"] == 2.0       # the rest of its work counts
    assert by["alice"].total == by["alice"].max_total == 4.0
    rows = {r["student"]: r for r in grading.read_gradebook(gradebook)}
    assert sorted(rows) == ["alice", "mallory", "victim"]
    assert rows["victim"]["total"] == "4" and before.splitlines()[1] in gradebook.read_text()
    assert not (course.REPO / "PWNED").exists() and not (outside / "PWNED").exists()
