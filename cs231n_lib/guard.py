"""Guard cells: graded checks run against what the course shipped, not what a submission left.

A notebook's test cells run in the same kernel as the student's answers, after them. An
answer cell can replace ``np.allclose``, ``check_close``, ``builtins.isinstance``, entries
of ``sys.modules``, a torch function, install IPython input transformers or event callbacks
(which could even rewrite a test cell), or call the library's own reference implementation
of the exercise. The grader therefore runs a *prepared* copy of the notebook::

    nb = guard.prepare(nb, "01_conv_layer", source_nb=solution_nb)   # in the grader
    ... execute nb (nbclient / nbgrader), allow_errors=True ...
    nb, notes = guard.collect(nb)                                      # in the grader

``prepare`` inserts guard cells (metadata ``{"cs231n_guard": true}``):

* a **setup** cell first, before any student code: it snapshots the modules the checks use
  (``BASE_MODULES``: numpy, numpy.linalg, numpy.random, torch, torch.nn, torch.nn.functional,
  torch.nn.init, math, random, ``cs231n_lib.*``; every course module and every name the source
  notebook's import lines bind), the methods of ``torch.Tensor``, ``nn.Module`` and of every
  class those modules define (``nn.Conv2d.forward``, ``augment.RandomCrop.apply``), the
  builtins, ``sys.modules``, ``sys.stdout``/``stderr``/hooks, IPython's input transformers,
  AST transformers, event callbacks and the shell/kernel objects that send outputs; it routes
  warnings to stdout (shown, never scored as stderr) and prints a secret chosen in the kernel;
* before each graded test cell: restore all of the above, rebind every name the test uses
  that the *source* notebook's non-answer cells import (by re-running those import lines),
  arm the tripwires of ``exercises.FORBIDDEN`` for that test, and report what had changed;
* after it: disarm the tripwires, check nothing was changed *while* the test ran.

Each guard cell prints one line ``CS231N-GUARD {...}`` carrying a token derived from the
setup cell's secret, which only the real guard (kept in a closure) can compute. ``collect``
verifies the tokens, removes the guard cells and turns their reports into notes such as
"test_conv_backward: the submission replaced numpy.allclose (restored before the check)".
A graded test cell gets an extra error output, so it scores 0 like any failed test, when its
guard cell did not run or did not answer with the right token ("guard cell did not run
(tampering?)"), when a tripwire fired during it (even if the answer caught the error), or
when something the checks use was changed while it ran.

Tripwires. While a graded test runs, each function in ``exercises.FORBIDDEN`` for it is
replaced (on its module or class, in every module that imported it, in the notebook's
namespace, and in the defaults and closures of the student's functions) by a wrapper that
looks at the call stack: skipping library frames, if the nearest notebook frame is an answer
cell (any code whose source is not one of the source notebook's non-answer cells) it raises
``ForbiddenCall`` (an AssertionError) "this exercise asks you to write the loops yourself: do
not call cs231n_lib.layers.conv_forward_fast"; otherwise (the check's own reference, a demo
cell) it calls through. Cells are told apart by ``co_filename``: ipykernel compiles each cell
under a name hashed from its source.

What an in-process guard cannot prevent (the sandbox and the instructor's review remain):

* code that reads the guard's closure or private globals through ``gc`` or frame
  introspection can find the secret and forge tokens, or compile code under a trusted cell's
  file name;
* a background thread, a C extension, or a trace function that removes itself can change
  things between the restore and the check and undo it before the after-cell looks;
* references to forbidden functions hidden in containers, instances or C-level aliases
  (``torch._C._VariableFunctions``) escape the tripwires, and mutable *data* (arrays a test
  reads from the student's namespace) is not restored;
* a library's own ``functools.wraps`` wrapper around a watched function is accepted as the
  new original (torch wraps ``Optimizer.step`` the first time an optimizer is built), so a
  submission could wrap a check's function in such a library decorator unnoticed;
* a submission can always make its own tests fail or crash the kernel.

Two rules for the course's own cells follow from the stack test: a test cell that calls a
forbidden function as its reference must not run it under a cell magic that compiles code
under its own name (``%%time``, ``%%capture`` bodies are "<timed exec>"-style code, which counts
as the student's); and a demo cell edited by the student is the student's code.

The guard cells never raise and never write to stderr; ``collect`` copes with a run that
stopped early (cells that never ran are not reported as tampering).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
from pathlib import Path

import nbformat

from cs231n_lib import exercises

__all__ = ["prepare", "collect", "MARKER", "GuardError"]

MARKER = "cs231n_guard"            # cell metadata key: {"cs231n_guard": true}
INFO = "cs231n_guard_info"         # {"role": "setup"|"before"|"after", "test": id, "label": s}
PREFIX = "CS231N-GUARD "
_RUNTIME = Path(__file__).with_name("_guard_runtime.py")

#: Modules snapshotted in every notebook (plus those the source notebook imports).
BASE_MODULES = ("math", "operator", "copy", "functools", "random", "numpy", "numpy.linalg",
                "numpy.random", "numpy.testing", "torch", "torch.nn", "torch.nn.functional",
                "torch.nn.init", "torch.autograd", "torch.testing", "torch.optim",
                "cs231n_lib", "cs231n_lib.checks", "cs231n_lib.gradient_check",
                "cs231n_lib.layers")
#: Classes whose attributes are snapshotted (monkeypatching a method is as easy as a function),
#: besides every class that a snapshotted module defines (``nn.Conv2d``, ``augment.RandomCrop``).
BASE_CLASSES = ("torch.Tensor", "torch.nn.Module", "torch.nn.Parameter")


class GuardError(AssertionError):
    """What ``collect`` reports (as an error output) on a test that was tampered with."""


# ----------------------------------------------------------------------------------------
# Reading the source notebook
# ----------------------------------------------------------------------------------------
def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_answer(cell) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def _is_test(cell) -> bool:
    md = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(md.get("grade")) and not md.get("solution")


def _is_guard(cell) -> bool:
    return bool(cell.get("metadata", {}).get(MARKER))


def _python(source: str) -> str:
    """Cell source with IPython syntax (magics, !shell) turned into Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # pragma: no cover - IPython is installed with the course
        return source


def _imports(cells) -> list[tuple[str, list[str]]]:
    """Top-level import statements of the given cells: [(statement, names it binds)]."""
    found = []
    for cell in cells:
        try:
            tree = ast.parse(_python(_HIDDEN.sub("", cell.source)))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [a.asname or a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [a.asname or a.name for a in node.names if a.name != "*"]
            else:
                continue
            found.append((ast.unparse(node), names))
    return found


def _imported(imports) -> tuple[list[str], list[list[str]]]:
    """What an import list reaches: (course modules to snapshot whole, [module, name] pairs).

    Every ``cs231n_lib`` module is snapshotted whole (``from cs231n_lib import layers`` guesses
    that ``layers`` is a submodule); for other packages only the names the lines bind, since
    their modules change themselves as they run (``%matplotlib inline`` rewires pyplot).
    """
    modules, attributes = [], []
    for stmt, _ in imports:
        node = ast.parse(stmt).body[0]
        if isinstance(node, ast.Import):
            modules += [a.name for a in node.names if a.name.split(".")[0] == "cs231n_lib"]
        else:
            if node.module.split(".")[0] == "cs231n_lib":
                modules.append(node.module)
                modules += [f"{node.module}.{a.name}" for a in node.names]
            else:
                attributes += [[node.module, a.name] for a in node.names if a.name != "*"]
    return modules, attributes


def _names_used(source: str) -> set[str]:
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_]\w*", source))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _murmur(source: str) -> int | None:
    """ipykernel's hash of a cell's source: the kernel names the cell's code after it."""
    try:
        from ipykernel.compiler import get_tmp_hash_seed, murmur2_x86
    except ImportError:  # pragma: no cover - the grader has ipykernel (nbclient needs it)
        return None
    return murmur2_x86(source, get_tmp_hash_seed())


def _text_hash(text: str) -> str:
    """sha256 of code as IPython's linecache keeps it (lines, newline-normalised)."""
    return hashlib.sha256("\n".join(text.splitlines()).encode("utf-8")).hexdigest()


_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.MULTILINE | re.DOTALL)


def _code_cells(nb):
    return [c for c in nb.cells if c.get("cell_type") == "code" and not _is_guard(c)]


# ----------------------------------------------------------------------------------------
# prepare
# ----------------------------------------------------------------------------------------
def _guard_cell(role: str, test_id: str | None, label: str, source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata[MARKER] = True
    cell.metadata[INFO] = {"role": role, "test": test_id, "label": label}
    cell.metadata["tags"] = ["cs231n-guard"]
    cell.pop("id", None)
    return cell


def _call_source(role: str, test_id: str, label: str) -> str:
    return (f"# cs231n guard ({role} {test_id}): restores what the checks rely on\n"
            "try:\n"
            f"    __import__('sys').__dict__['__cs231n_guard__']({role!r}, {test_id!r}, "
            f"{label!r})\n"
            "except BaseException:\n"
            "    pass\n")


def _setup_source(config: dict) -> str:
    runtime = _RUNTIME.read_text(encoding="utf-8")
    return ("# cs231n guard (setup): snapshots what the checks rely on before any answer runs\n"
            "def __cs231n_guard_boot(source, config):\n"
            "    import builtins\n"
            "    import json\n"
            "    scope = {'__builtins__': dict(builtins.__dict__), "
            "'__name__': 'cs231n_guard_runtime'}\n"
            "    exec(compile(source, '<cs231n-guard>', 'exec'), scope)\n"
            "    scope['install'](json.loads(config))\n"
            "\n\n"
            "try:\n"
            f"    __cs231n_guard_boot({runtime!r},\n"
            f"                        {json.dumps(config)!r})\n"
            "except BaseException as __cs231n_error:\n"
            "    print('CS231N-GUARD-ERROR', type(__cs231n_error).__name__, __cs231n_error)\n"
            "    del __cs231n_error\n"
            "del __cs231n_guard_boot\n")


def prepare(nb, assignment: str, source_nb=None):
    """A copy of ``nb`` with guard cells around every graded test cell.

    Shapes: ``nb`` and ``source_nb`` are nbformat v4 notebooks. ``nb`` is the submission as
    the grader will execute it (its test cells already restored from the source);
    ``source_nb`` is the instructor's notebook (``solutions/NAME/NAME.ipynb``, hidden tests
    included). Without it, the submission's own non-answer cells stand in for the source
    (weaker: an edited demo cell is then trusted).
    ``assignment`` names the folder (``"01_conv_layer"``) and selects the tripwires in
    ``exercises.FORBIDDEN``. Returns the new notebook; ``nb`` is not changed.
    """
    out = copy.deepcopy(nb)
    source = source_nb if source_nb is not None else nb
    if any(_is_guard(c) for c in out.cells):
        raise ValueError("this notebook already has guard cells: prepare it only once")
    plain = [c for c in _code_cells(source) if not _is_answer(c)]
    imports = _imports(plain)
    import_names = {n for _, names in imports for n in names}
    trusted = {c.source for c in plain}
    trusted.update(c.source for c in _code_cells(out) if _is_test(c))
    tests: dict[str, dict] = {}
    cells = []
    salt = hashlib.sha256(json.dumps(sorted(trusted)).encode()).hexdigest()[:6]
    for i, cell in enumerate(out.cells):
        if _is_test(cell):
            test_id = str(_nbgrader(cell).get("grade_id") or f"cell{i}")
            tests[test_id] = {
                "rebind": sorted(_names_used(cell.source) & import_names),
                "forbidden": exercises.forbidden(assignment, test_id),
                "reason": exercises.reason(assignment, test_id),
            }
            before = _guard_cell("before", test_id, f"before:{test_id}:{salt}{i}",
                                 _call_source("before", test_id, f"before:{test_id}:{salt}{i}"))
            after = _guard_cell("after", test_id, f"after:{test_id}:{salt}{i}",
                                _call_source("after", test_id, f"after:{test_id}:{salt}{i}"))
            cells += [before, cell, after]
        else:
            cells.append(cell)
    guard_sources = [c.source for c in cells if _is_guard(c)]
    course_modules, attributes = _imported(imports)
    config = {
        "assignment": assignment,
        "attributes": attributes,
        "modules": list(dict.fromkeys([*BASE_MODULES, *course_modules,
                                       *(n.rsplit(".", 1)[0] for t in tests.values()
                                         for n in t["forbidden"] if n.startswith("cs231n_lib"))])),
        "classes": list(BASE_CLASSES),
        "imports": imports,
        "trusted_murmur": sorted({_murmur(t) for t in trusted | set(guard_sources)} - {None}),
        "trusted_sha256": sorted({_text_hash(_python(t)) for t in trusted | set(guard_sources)}),
        "tests": tests,
    }
    setup = _guard_cell("setup", None, "setup", _setup_source(config))
    out.cells = [setup, *cells]
    return out


# ----------------------------------------------------------------------------------------
# collect
# ----------------------------------------------------------------------------------------
def _reports(cell) -> list[dict]:
    found = []
    for output in cell.get("outputs", []):
        if output.get("output_type") != "stream" or output.get("name") != "stdout":
            continue
        for line in str(output.get("text", "")).splitlines():
            if line.startswith(PREFIX):
                try:
                    found.append(json.loads(line[len(PREFIX):]))
                except ValueError:
                    continue
    return found


def _ran(cell) -> bool:
    return cell.get("execution_count") is not None or bool(cell.get("outputs"))


def _fail_cell(cell, message: str) -> None:
    cell.setdefault("outputs", []).append(nbformat.v4.new_output(
        "error", ename="GuardError", evalue=message, traceback=[f"GuardError: {message}"]))


def collect(nb):
    """Remove the guard cells of an executed notebook; return ``(notebook, notes)``.

    Shapes: ``nb`` is the executed output of ``prepare`` (nbformat v4); returns a new
    notebook without guard cells and a list of plain-words notes, one per finding, each
    starting with the test's grade_id ("test_conv_forward: conv_forward_naive called
    cs231n_lib.layers.conv_forward_fast, which this exercise forbids").
    A test cell whose guard did not run or report correctly, during which a tripwire fired,
    or during which the checks' modules were changed gets an error output (so it scores 0).
    Cells that never ran (the kernel died, a run stopped early) are not reported.
    """
    out = copy.deepcopy(nb)
    notes: list[str] = []
    secret = None
    for cell in out.cells:
        if _is_guard(cell) and cell.metadata.get(INFO, {}).get("role") == "setup":
            for report in _reports(cell):
                if report.get("label") == "setup" and isinstance(report.get("secret"), str):
                    try:
                        key = bytes.fromhex(report["secret"])
                    except ValueError:
                        continue
                    if _token(key, "setup") == report.get("token"):
                        secret = key

    def verified(cell):
        if secret is None:
            return None
        label = cell.metadata.get(INFO, {}).get("label", "")
        for report in _reports(cell):
            if report.get("label") == label and report.get("token") == _token(secret, label):
                return report
        return None

    any_ran = any(_ran(c) for c in out.cells if not _is_guard(c))
    if secret is None and any_ran:
        why = [line.split(" ", 1)[-1] for c in out.cells
               if c.metadata.get(INFO, {}).get("role") == "setup"
               for o in c.get("outputs", []) if o.get("output_type") == "stream"
               for line in str(o.get("text", "")).splitlines()
               if line.startswith("CS231N-GUARD-ERROR")]
        notes.append("guard: the setup cell did not report, so the checks ran unguarded"
                     + (f" ({why[0]})" if why else ""))
    cells = out.cells
    kept = []
    for i, cell in enumerate(cells):
        if _is_guard(cell):
            continue
        kept.append(cell)
        if secret is None or not _is_test(cell):
            continue
        test_id = str(_nbgrader(cell).get("grade_id") or f"cell{i}")
        before = cells[i - 1] if i > 0 and _is_guard(cells[i - 1]) else None
        after = cells[i + 1] if i + 1 < len(cells) and _is_guard(cells[i + 1]) else None
        if not _ran(cell):
            continue
        problems = []
        b = verified(before) if before is not None else None
        if b is None:
            problems.append("the guard cell before this test did not run (tampering?)")
        else:
            notes += [f"{test_id}: {n}" for n in b.get("notes", [])]
            if b.get("error"):
                notes.append(f"{test_id}: guard error before the check: {b['error']}")
        a = verified(after) if after is not None else None
        if a is None:
            if after is not None and _ran(after):
                if b is None:
                    problems[-1] = "the guard cells around this test did not run (tampering?)"
                else:
                    problems.append("the guard cell after this test did not run (tampering?)")
        else:
            for caller, name in a.get("fired", []):
                message = f"{caller} called {name}, which this exercise forbids"
                if message not in problems:
                    problems.append(message)
            for change in a.get("during", []):
                problems.append(f"while the check ran, {change}")
            if a.get("error"):
                notes.append(f"{test_id}: guard error after the check: {a['error']}")
        for problem in problems:
            notes.append(f"{test_id}: {problem}")
        if problems:
            _fail_cell(cell, "; ".join(problems))
    out.cells = kept
    return out, list(dict.fromkeys(notes))


def _token(secret: bytes, label: str) -> str:
    return hashlib.sha256(secret + label.encode("utf-8")).hexdigest()[:32]
