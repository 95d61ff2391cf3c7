"""cs231n_lib.guard and exercises: tampering earns nothing and is noted; honest work is untouched.

Notebooks are run as the grader runs them: ``prepare`` -> nbclient (plain kernel) -> ``collect``,
and scored as the grading engine scores them: a graded cell with an error output (or stderr)
scores 0, else full points.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from cs231n_lib import course, exercises, guard

KERNEL = "convnet-course"


# ---------------------------------------------------------------------------------- helpers
def _code(source: str, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def _answer(grade_id: str, source: str):
    return _code(source, solution=True, grade=False, locked=False, grade_id=grade_id)


def _test(grade_id: str, source: str, points: float = 1.0):
    return _code(source, solution=False, grade=True, locked=True, grade_id=grade_id,
                 points=points)


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python (convnet-course)",
                                 "language": "python"}
    nb.cells = cells
    return nb


def _execute(nb, path=None, timeout=300):
    os.environ.setdefault("CS231N_FAST", "1")
    resources = {"metadata": {"path": str(path)}} if path else {}
    NotebookClient(nb, kernel_name=KERNEL, allow_errors=True, timeout=timeout,
                   resources=resources).execute()
    return nb


def _scores(nb) -> dict[str, bool]:
    """{grade_id: full marks?} as the grading engine scores a cell (error/stderr -> 0)."""
    out = {}
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and md.get("grade") and not md.get("solution"):
            bad = [o for o in cell.outputs if o.output_type == "error"
                   or (o.output_type == "stream" and o.name == "stderr")]
            out[md["grade_id"]] = not bad
    return out


def _errors(nb, grade_id: str) -> str:
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return "\n".join(f"{o.ename}: {o.evalue}" for o in cell.outputs
                             if o.output_type == "error")
    raise KeyError(grade_id)


def _run_guarded(nb, assignment, source_nb=None, path=None, timeout=300):
    prepared = guard.prepare(nb, assignment, source_nb=source_nb)
    _execute(prepared, path, timeout)
    return guard.collect(prepared)


def _notes_for(notes, grade_id):
    return "\n".join(n for n in notes if n.startswith(grade_id + ":"))


# ---------------------------------------------------------------------- prepare / collect
def _small():
    return _notebook([
        _code("import numpy as np"),
        _answer("answer", "def answer():\n    return 1"),
        _test("test_answer", "assert answer() == 1"),
        _code("print('demo')"),
    ])


def test_prepare_inserts_marked_guard_cells_and_leaves_the_input_alone():
    nb = _small()
    before = json.dumps(nb, sort_keys=True)
    out = guard.prepare(nb, "demo")
    assert json.dumps(nb, sort_keys=True) == before
    roles = [c.metadata.get(guard.INFO, {}).get("role") for c in out.cells]
    assert roles == ["setup", None, None, "before", None, "after", None]
    assert all(c.metadata[guard.MARKER] is True for c in out.cells if c.metadata.get(guard.INFO))
    for cell in out.cells:
        if cell.metadata.get(guard.MARKER):
            ast.parse(cell.source)                     # valid Python
            last = ast.parse(cell.source).body[-1]
            assert not isinstance(last, ast.Expr)      # never a number as the last output
    with pytest.raises(ValueError, match="already has guard cells"):
        guard.prepare(out, "demo")


def test_the_setup_cell_does_not_carry_the_hidden_tests():
    nb = _solution("01_conv_layer")
    hidden = [line.strip() for c in nb.cells for region in course.hidden_regions(c.source)
              for line in region.splitlines() if len(line.strip()) > 20]
    assert hidden
    setup = guard.prepare(nb, "01_conv_layer", source_nb=nb).cells[0].source
    assert not [line for line in hidden if line in setup]


def test_collect_of_a_run_that_never_started_removes_guards_and_blames_nobody():
    nb = _small()
    out, notes = guard.collect(guard.prepare(nb, "demo"))
    assert notes == []
    assert [c.source for c in out.cells] == [c.source for c in nb.cells]
    assert all(not c.get("outputs") for c in out.cells)


def _fake_report(payload, secret, label):
    payload = dict(payload, label=label, token=guard._token(secret, label))
    return nbformat.v4.new_output("stream", name="stdout",
                                  text=guard.PREFIX + json.dumps(payload) + "\n")


def test_collect_fails_a_test_whose_guard_did_not_answer_with_the_token():
    prepared = guard.prepare(_small(), "demo")
    setup, _, _, before, test, after, _ = prepared.cells
    secret = bytes(range(16))
    setup.outputs = [_fake_report({"secret": secret.hex()}, secret, "setup")]
    label = before.metadata[guard.INFO]["label"]
    before.outputs = [_fake_report({"notes": []}, b"wrong secret", label)]   # forged
    test.execution_count = 3
    after.outputs = [_fake_report({"notes": [], "fired": [], "during": []}, secret,
                                  after.metadata[guard.INFO]["label"])]
    out, notes = guard.collect(prepared)
    assert notes == ["test_answer: the guard cell before this test did not run (tampering?)"]
    assert _scores(out) == {"test_answer": False}
    assert "GuardError" in _errors(out, "test_answer")
    # the same run with an honest report scores full marks
    before.outputs = [_fake_report({"notes": ["x (restored before the check)"]}, secret, label)]
    out, notes = guard.collect(prepared)
    assert notes == ["test_answer: x (restored before the check)"]
    assert _scores(out) == {"test_answer": True}


def test_collect_says_when_the_setup_failed_and_blames_no_test():
    prepared = guard.prepare(_small(), "demo")
    prepared.cells[0].outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text="CS231N-GUARD-ERROR ImportError boom\n")]
    prepared.cells[4].execution_count = 2
    out, notes = guard.collect(prepared)
    assert notes == ["guard: the setup cell did not report, so the checks ran unguarded "
                     "(ImportError boom)"]
    assert _scores(out) == {"test_answer": True}


def test_collect_copes_with_a_kernel_that_died_during_a_test():
    prepared = guard.prepare(_small(), "demo")
    setup, _, _, before, test, after, _ = prepared.cells
    secret = b"k" * 16
    setup.outputs = [_fake_report({"secret": secret.hex()}, secret, "setup")]
    before.outputs = [_fake_report({"notes": []}, secret, before.metadata[guard.INFO]["label"])]
    test.execution_count = 3                        # ran (and died): the after-cell never did
    out, notes = guard.collect(prepared)
    assert notes == []
    assert _scores(out) == {"test_answer": True}    # the engine scores the death, not the guard


def test_collect_fails_a_test_during_which_a_tripwire_fired():
    prepared = guard.prepare(_small(), "demo")
    setup, _, _, before, test, after, _ = prepared.cells
    secret = b"s" * 16
    setup.outputs = [_fake_report({"secret": secret.hex()}, secret, "setup")]
    before.outputs = [_fake_report({"notes": []}, secret, before.metadata[guard.INFO]["label"])]
    test.execution_count = 3
    after.outputs = [_fake_report({"fired": [["answer", "cs231n_lib.layers.conv_forward_fast"]],
                                   "during": []}, secret, after.metadata[guard.INFO]["label"])]
    out, notes = guard.collect(prepared)
    assert notes == ["test_answer: answer called cs231n_lib.layers.conv_forward_fast, "
                     "which this exercise forbids"]
    assert _scores(out) == {"test_answer": False}


# ---------------------------------------------------------------------------- exercises
def _solution(name):
    return nbformat.read(course.notebook_path(name), as_version=4)


def test_forbidden_names_every_library_answer_and_real_tests():
    marker = re.compile(r"^\s*### BEGIN SOLUTION (\S+)")
    for path in sorted((course.REPO / "cs231n_lib").glob("*.py")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            found = marker.match(line)
            if not found:
                continue
            name = found.group(1)
            owner = next(re.match(r"^(\s*)def (\w+)", lines[j]) for j in range(i, -1, -1)
                         if re.match(r"^\s*def \w+", lines[j]))
            cls = ""
            if owner.group(1):   # a method: find its class
                cls = next(re.match(r"^class (\w+)", lines[j]).group(1)
                           for j in range(i, -1, -1) if lines[j].startswith("class "))
                cls += "."
            dotted = f"cs231n_lib.{path.stem}.{cls}{owner.group(2)}"
            listed = {n for names in exercises.FORBIDDEN.get(name, {}).values() for n in names}
            assert dotted in listed, f"{dotted} is a {name} answer but not in FORBIDDEN[{name!r}]"
    for name, tests in exercises.FORBIDDEN.items():
        ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in _solution(name).cells}
        assert set(tests) <= ids, f"{name}: no such tests {set(tests) - ids}"


def test_forbidden_names_resolve():
    for names in (n for tests in exercises.FORBIDDEN.values() for n in tests.values()):
        for dotted in names:
            parts = dotted.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)      # AttributeError = a typo in FORBIDDEN
                assert callable(obj), dotted
                break
            else:
                assert parts[0] in {"scipy", "skimage"}, f"cannot import {dotted}"


# ------------------------------------------------- a synthetic notebook full of tricks (c)
TRICKS = _notebook([
    _code("import builtins\nimport sys\n\nimport numpy as np\nimport torch\n\n"
          "from cs231n_lib import layers"),
    _answer("honest", "def honest():\n    return 1"),
    _test("test_honest", "assert honest() == 1"),
    _test("test_warning", "import warnings\n\nwarnings.warn('careful')\nassert honest() == 1"),
    _answer("events", "import numpy\n\n\ndef _repatch(*args):\n"
            "    numpy.allclose = lambda *a, **k: True\n\n\n"
            "get_ipython().events.register('pre_run_cell', _repatch)\n\n\n"
            "def answer_events():\n    return 0.0"),
    _test("test_events", "assert np.allclose(answer_events(), 1.0), 'wrong'"),
    _answer("modules", "import types\n\n_fake = types.ModuleType('numpy')\n"
            "_fake.allclose = lambda *a, **k: True\nsys.modules['numpy'] = _fake\nnp = _fake\n\n\n"
            "def answer_modules():\n    return 0.0"),
    _test("test_modules",
          "import numpy as np\n\nassert np.allclose(answer_modules(), 1.0), 'wrong'"),
    _answer("torch", "torch.allclose = lambda *a, **k: True\n\n\n"
            "def answer_torch():\n    return torch.zeros(2)"),
    _test("test_torch", "assert torch.allclose(answer_torch(), torch.ones(2)), 'wrong'"),
    _answer("builtins", "_real = builtins.isinstance\n"
            "builtins.isinstance = lambda obj, kind: kind is int or _real(obj, kind)\n\n\n"
            "def answer_type():\n    return 'x'"),
    _test("test_builtins", "assert isinstance(answer_type(), int), 'wrong'"),
    _answer("traceback", "get_ipython()._showtraceback = lambda *a, **k: None\n\n\n"
            "def answer_tb():\n    return 0"),
    _test("test_traceback", "assert answer_tb() == 1, 'wrong'"),
    # references taken before the test (an alias, a default, a closure) are tripwires too;
    # catching the error and falling back does not save the test
    _answer("captured", "from cs231n_lib.layers import conv_forward_fast as _fast\n\n\n"
            "def _make():\n    g = layers.conv_forward_fast\n\n"
            "    def inner(*args):\n        return g(*args)\n    return inner\n\n\n"
            "_closure = _make()\n\n\n"
            "def answer_fast(x, w, b, cp, f=layers.conv_forward_fast):\n"
            "    global HITS\n    HITS = 0\n"
            "    for fn in (_fast, f, _closure):\n"
            "        try:\n            fn(x, w, b, cp)\n"
            "        except AssertionError:\n            HITS += 1\n"
            "    return layers.conv_forward_naive(x, w, b, cp)\n"),
    _test("test_captured", "_x, _w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))\n"
          "_ref = layers.conv_forward_fast(_x, _w, np.zeros(1), {'stride': 1, 'pad': 0})[0]\n"
          "assert (answer_fast(_x, _w, np.zeros(1), {'stride': 1, 'pad': 0})[0] == _ref).all()"),
    _code("print('hits', HITS)"),
    _code("_demo = layers.conv_forward_fast(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)),\n"
          "                                 np.zeros(1), {'stride': 1, 'pad': 0})[0]\n"
          "print('demo', _demo.sum())"),
    _answer("transformer", "def _blank(lines):\n"
            "    text = ''.join(lines)\n"
            "    return [] if 'assert' in text or 'cs231n' in text else lines\n\n\n"
            "get_ipython().input_transformers_cleanup.append(_blank)\n\n\n"
            "def answer_last():\n    return 0"),
    _test("test_transformer", "assert answer_last() == 1, 'wrong'"),
])


@pytest.fixture(scope="module")
def tricks(monkeypatch_module):
    monkeypatch_module.setitem(exercises.FORBIDDEN, "tricks", {
        "test_captured": ["cs231n_lib.layers.conv_forward_fast"]})
    return _run_guarded(TRICKS, "tricks", timeout=60)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.notebooks
@pytest.mark.slow
def test_each_trick_earns_nothing_and_is_noted(tricks):
    nb, notes = tricks
    scores = _scores(nb)
    assert scores == {"test_honest": True, "test_warning": True, "test_events": False,
                      "test_modules": False, "test_torch": False, "test_builtins": False,
                      "test_traceback": False, "test_captured": False,
                      "test_transformer": False}, notes
    assert _notes_for(notes, "test_honest") == ""
    warned = "".join(o.get("text", "") for c in nb.cells if "warnings.warn" in c.source
                     for o in c.outputs)
    assert "UserWarning: careful" in warned           # shown on stdout, not scored
    assert "IPython event callback (pre_run_cell)" in _notes_for(notes, "test_events")
    assert "sys.modules['numpy']" in _notes_for(notes, "test_modules")
    assert "torch.allclose" in _notes_for(notes, "test_torch")
    assert "builtins.isinstance" in _notes_for(notes, "test_builtins")
    assert "_showtraceback" in _notes_for(notes, "test_traceback")
    captured = _notes_for(notes, "test_captured")
    assert "answer_fast called cs231n_lib.layers.conv_forward_fast, which this exercise" in captured
    assert "inner called cs231n_lib.layers.conv_forward_fast" in captured
    hits = next(c for c in nb.cells if c.source.startswith("print('hits'"))
    assert "".join(o.text for o in hits.outputs) == "hits 3\n"
    assert _notes_for(notes, "test_transformer") == (
        "test_transformer: the guard cells around this test did not run (tampering?)")
    assert "GuardError" in _errors(nb, "test_transformer")
    # the demo cell calls the same fast layer outside a test: it works
    demo = next(c for c in nb.cells if c.source.startswith("_demo"))
    assert "".join(o.text for o in demo.outputs) == "demo 16.0\n"
    assert not any(c.metadata.get(guard.MARKER) for c in nb.cells)


# --------------------------------------------------------- the real assignment 01 (a, b, d)
A01 = "01_conv_layer"


def _tampered(replacements: dict[str, str]):
    nb = _solution(A01)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
    return nb


def _run_01(nb):
    return _run_guarded(nb, A01, source_nb=_solution(A01),
                        path=course.notebook_path(A01).parent)


@pytest.mark.notebooks
@pytest.mark.slow
def test_the_untouched_solution_keeps_full_marks_with_guard_cells():
    nb, notes = _run_01(_solution(A01))
    scores = _scores(nb)
    assert scores and all(scores.values()), (scores, notes)
    assert notes == []
    errors = [c.source[:60] for c in nb.cells if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)]
    assert errors == []          # demo cells (the fast layers included) still run


@pytest.mark.notebooks
@pytest.mark.slow
def test_patched_checks_and_a_library_answer_earn_nothing():
    nb, notes = _run_01(_tampered({
        # (d) the forward pass is the library's
        "conv_forward": "def conv_forward_naive(x, w, b, conv_param):\n"
                        "    return layers.conv_forward_fast(x, w, b, conv_param)\n",
        # (a) patch what the checks call, then return zero gradients
        "conv_backward": "import cs231n_lib.checks as _checks\n"
                         "import cs231n_lib.gradient_check as _gc\n\n"
                         "np.allclose = lambda *a, **k: True\n"
                         "check_close = lambda *a, **k: None\n"
                         "_checks.close = lambda *a, **k: None\n"
                         "_gc.check_close = lambda *a, **k: 0.0\n\n\n"
                         "class _Numpy:\n"
                         "    def __getattr__(self, name):\n"
                         "        return getattr(_gc.np, name)\n\n"
                         "    def allclose(self, *a, **k):\n"
                         "        return True\n\n\n"
                         "np = _Numpy()\n\n\n"
                         "def conv_backward_naive(dout, cache):\n"
                         "    x, w, b, _ = cache\n"
                         "    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)\n",
    }))
    scores = _scores(nb)
    assert scores["test_conv_forward"] is False and scores["test_conv_backward"] is False
    assert scores["test_output_size"] and scores["test_conv_params"]
    assert ("this exercise asks you to write the loops yourself: do not call "
            "cs231n_lib.layers.conv_forward_fast") in _errors(nb, "test_conv_forward")
    assert ("conv_forward_naive called cs231n_lib.layers.conv_forward_fast, which this "
            "exercise forbids") in _notes_for(notes, "test_conv_forward")
    backward = _notes_for(notes, "test_conv_backward")
    for patched in ("numpy.allclose", "cs231n_lib.checks.close",
                    "cs231n_lib.gradient_check.check_close"):
        assert patched in backward, notes
    assert "rebound np" in backward


_EQ = '''class _Eq:
    """Equal to everything; its attributes, items and calls are more of the same."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __getattr__(self, name):
        return _Eq()

    def __getitem__(self, key):
        return _Eq()

    def __call__(self, *args, **kwargs):
        return _Eq()

    def __iter__(self):
        return iter([_Eq(), _Eq(), _Eq()])

    def __len__(self):
        return 3


'''


def _always_equal(source: str) -> str:
    """An answer cell rewritten to define the same names, each returning/holding an _Eq."""
    tree = ast.parse(source)
    lines = [_EQ]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            lines.append(f"def {node.name}(*args, **kwargs):\n    return _Eq()\n\n")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                lines.append(f"{ast.unparse(target)} = _Eq()\n")
    return "\n".join(lines)


@pytest.mark.notebooks
@pytest.mark.slow
def test_always_equal_answers_score_nothing():
    answers = {c.metadata["nbgrader"]["grade_id"]: _always_equal(c.source)
               for c in _solution(A01).cells if c.metadata.get("nbgrader", {}).get("solution")}
    nb, notes = _run_01(_tampered(answers))
    scores = _scores(nb)
    assert scores and not any(scores.values()), scores
    assert "returned a _Eq, not an int" in _errors(nb, "test_conv_params")
