"""A student bundle speaks to students (#15): its own README, exercises listed as notebook
cells, no instructor commands, and every command a bundled notebook tells students to run
exists in the bundle."""

import json
import re
import subprocess
import sys

import nbformat
import pytest

from cs231n_lib import course, grading

pytestmark = [pytest.mark.notebooks]

NAMES = course.assignments()
#: What a notebook or README tells students to run: `make X`, `python -m cs231n_lib X`.
MAKE_RE = re.compile(r"(?:`|!|^\s*)make\s+([a-z][\w-]*)", re.M)
CLI_RE = re.compile(r"python -m cs231n_lib\s+([a-z][\w-]*)")
INSTRUCTOR = ("make test", "make grade", "make release", "make validate", "make execute",
              "make bundle", "solutions/", "gradebook", "grade-all", "nbgrader")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """One bundle of every assignment: every notebook the course hands out."""
    return grading.bundle(tmp_path_factory.mktemp("b") / "all", NAMES)


def _text(path):
    if path.suffix == ".ipynb":
        return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    return path.read_text(encoding="utf-8")


def commands(text: str) -> tuple[set[str], set[str]]:
    """The make targets and ``cs231n_lib`` subcommands that ``text`` tells someone to run.

    A command named as the instructors' (the word "instructor" just before it, as in "run by
    the instructors' `make bench`") is not one a student is told to run.
    """
    def told(regex):
        return {m.group(1) for m in regex.finditer(text)
                if "instructor" not in text[max(0, m.start() - 40):m.start()].lower()}

    return told(MAKE_RE), told(CLI_RE)


def test_command_scan_finds_commands():
    assert commands("run `make bench` then\n!make lab\npython -m cs231n_lib download x") == (
        {"bench", "lab"}, {"download"})
    assert commands("to make the plot, make this smaller") == (set(), set())
    assert commands("(`bench_layers.py`, run by the instructors' `make bench`)") == (set(),
                                                                                     set())


def _bundle_targets(dest) -> set[str]:
    text = (dest / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*)\s*:(?!=)", text, flags=re.M))


def _bundle_subcommands(dest) -> set[str]:
    probe = ("import json, cs231n_lib.__main__ as m\n"
             "p = m.build_parser()\n"
             "sub = next(a for a in p._actions if a.dest == 'command')\n"
             "print(json.dumps(sorted(sub.choices)))")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=dest, capture_output=True,
                          text=True, env={"PYTHONPATH": str(dest), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def test_every_command_a_bundled_notebook_names_exists_in_the_bundle(bundle):
    targets, subcommands = _bundle_targets(bundle), _bundle_subcommands(bundle)
    assert {"lab", "install", "clean"} <= targets
    missing = []
    for path in sorted(bundle.rglob("*")):
        if path.suffix not in (".ipynb", ".md") or "cs231n_lib" in path.parts \
                or "datasets" in path.parts:
            continue
        make, cli = commands(_text(path))
        rel = path.relative_to(bundle)
        missing += [f"{rel}: `make {t}`" for t in sorted(make - targets)]
        missing += [f"{rel}: `python -m cs231n_lib {c}`" for c in sorted(cli - subcommands)]
    assert not missing, "commands the bundle does not have:\n  " + "\n  ".join(missing)


def test_bundle_readme_speaks_to_students(bundle):
    readme = (bundle / "README.md").read_text()
    for must in ("make lab", "YOUR CODE HERE", "check cell", "hand in", "BUNDLE.md"):
        assert must in readme, must
    said = [w for w in INSTRUCTOR if w in readme]
    assert not said, f"the student README talks to instructors: {said}"
    # Every file or folder it names is in the bundle.
    for path in re.findall(r"`((?:notebooks|cs231n_lib|datasets)[\w./-]*|[\w-]+\.(?:md|toml|"
                           r"lock|yml|ipynb)|Makefile)`", readme):
        assert (bundle / path).exists(), f"README names {path}, which the bundle lacks"
    for name in NAMES:
        assert f"notebooks/{name}/{name}.ipynb" in readme


def test_manifest_lists_exercises_as_notebook_cells(bundle):
    manifest = (bundle / grading.BUNDLE_MANIFEST).read_text()
    assert "layers.py" not in manifest.split("## Library functions")[0]
    for name in NAMES:
        nb = nbformat.read(course.notebook_path(name, bundle / "notebooks"), as_version=4)
        for number, cell in enumerate(nb.cells, start=1):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                assert f"| `{meta['grade_id']}` | {number} |" in manifest, (name, number)
