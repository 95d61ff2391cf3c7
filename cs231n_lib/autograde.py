"""The grading engine: one submitted notebook in, scores, notes and feedback HTML out.

``grading.py`` finds submissions, runs this engine for each (in parallel threads) and keeps
the gradebook; this module does the work for one notebook, in the grader's own process:

1. **Template** (once per assignment, :func:`build_template`): the source notebook (answers
   and hidden tests), the released notebook (nbgrader's ``generate_assignment``), and the
   library as the student has it (this assignment's answers stubbed).
2. **Restore** (:func:`restore`): every locked or graded cell is put back from the source by
   its ``grade_id`` (its source, cell type and nbgrader metadata; a deleted test cell is added
   back after the cell it followed), like nbgrader's ``OverwriteCells``. What the student
   changed is said in plain words, comparing with the *released* cell, so an unedited test
   cell is never reported. Outputs are cleared.
3. **Execute** (:func:`execute`): nbclient runs the notebook in a fresh kernel, inside the
   sandbox (``cs231n_lib.sandbox``) unless told otherwise. A cell that runs longer than the
   time limit is interrupted and the rest of the notebook still runs. Warnings are shown,
   never scored. If the kernel dies, the cells that ran keep their outputs and the run stops.
   The notebook that holds the hidden tests never touches the disk: the kernel receives one
   cell at a time, and its working folder is empty.
4. **Score** (:func:`score`): a graded cell earns its points when it ran and has no error
   output (a failed assertion or an exception), else 0. Nothing else counts: not stderr,
   not a number as its last output.
5. **Feedback** (:func:`feedback_html`): the graded notebook with a score table on top and
   each test's result under it, as HTML (nbconvert, sanitised).

When ``cs231n_lib.guard`` is present, its ``prepare``/``collect`` run around step 3: they
insert the cells that keep the checks' references pristine and report tampering.
"""

from __future__ import annotations

import asyncio
import atexit
import compileall
import copy
import html
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell

from cs231n_lib import course

#: Stream output kept per cell; the rest is dropped (and the notes say so).
MAX_OUTPUT_CHARS = 20_000
TRUNCATED = "\n... Output truncated ...\n"
#: Outputs kept per cell (figures, displays, stream chunks); the rest are dropped.
MAX_OUTPUTS = 200


# --------------------------------------------------------------------------------------------
# Template: once per assignment
# --------------------------------------------------------------------------------------------

@dataclass
class Template:
    """What grading one assignment needs, built once: see :func:`build_template`.

    ``questions`` lists ``(grade_id, points)`` of the graded cells in notebook order;
    ``lib`` is a folder holding the student's ``cs231n_lib`` (put first on the kernel's path);
    ``readable`` the folders the sandboxed kernel may read besides the system and the venv.
    """

    name: str
    source: nbformat.NotebookNode
    release: nbformat.NotebookNode
    lib: Path
    readable: tuple[Path, ...] = ()
    questions: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self):
        self.questions = graded_cells(self.source)
        self.trusted = {c.source for nb in (self.source, self.release) for c in nb.cells
                        if c.cell_type == "markdown"}
        self._source_by_id = _by_grade_id(self.source)
        self._release_by_id = _by_grade_id(self.release)
        self.released_tests = {gid: self._release_by_id[gid].source
                               for gid, _ in self.questions if gid in self._release_by_id}


def graded_cells(nb) -> list[tuple[str, float]]:
    """``(grade_id, points)`` of each autograded cell of notebook ``nb``, in notebook order."""
    cells = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and "grade_id" in meta:
            cells.append((meta["grade_id"], float(meta.get("points") or 0)))
    return cells


def _by_grade_id(nb) -> dict[str, nbformat.NotebookNode]:
    found = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid is not None and gid not in found:
            found[gid] = cell
    return found


def build_template(name: str, solutions: Path, library: Path, folder: Path) -> Template:
    """Build the template of assignment ``name`` in the (new) folder ``folder``.

    ``solutions/name/name.ipynb`` is the source; the release is generated from it with
    nbgrader; ``folder/lib/cs231n_lib`` is ``library`` with ``name``'s answers stubbed, and
    ``folder/lib/datasets`` points at the data sets beside ``library``.
    """
    from cs231n_lib import grading

    solutions, library, folder = Path(solutions), Path(library), Path(folder)
    course.generate([name], solutions, folder / "release")
    lib = folder / "lib"
    grading.stub_library(library, lib / library.name, [name], course.assignments(solutions))
    # Compile once here: inside the sandbox the library is read-only, so a kernel could not
    # write __pycache__ and would recompile every module for every submission.
    compileall.compile_dir(str(lib / library.name), quiet=1)
    readable = [lib]
    datasets = library.parent / "datasets"
    if datasets.is_dir():
        (lib / "datasets").symlink_to(datasets.resolve(), target_is_directory=True)
        readable.append(datasets.resolve())
    source = nbformat.read(course.notebook_path(name, solutions), as_version=4)
    release = nbformat.read(course.notebook_path(name, folder / "release"), as_version=4)
    shutil.rmtree(folder / "release", ignore_errors=True)
    return Template(name, source, release, lib, tuple(readable))


# --------------------------------------------------------------------------------------------
# Restore: the submission with the instructor's cells put back
# --------------------------------------------------------------------------------------------

def _protected(meta: dict) -> bool:
    """A cell the student may not change: a test cell or a locked instruction cell."""
    return bool(meta.get("grade") or meta.get("locked")) and not meta.get("solution")


def _set_type(cell, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def restore(submitted, template: Template) -> tuple[nbformat.NotebookNode, list[str]]:
    """A copy of ``submitted`` ready to run, and notes on what the student changed.

    Every cell whose ``grade_id`` is a protected cell of the source (graded or locked) gets
    the source's text (hidden tests included), type and nbgrader metadata back; an answer
    cell keeps its text but gets the source's type and metadata (so points cannot be edited).
    A protected cell missing from the submission is added back after the cell it followed
    in the source. A second cell with the same id, or an id the source does not know, loses
    its nbgrader metadata (it runs, ungraded). All outputs are cleared.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(submitted)))
    notes: list[str] = []
    source, release = template._source_by_id, template._release_by_id
    seen: dict[str, int] = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        gid = meta.get("nbgrader", {}).get("grade_id")
        if "nbgrader" not in meta:
            continue
        seen[gid] = seen.get(gid, 0) + 1
        if gid not in source or seen[gid] > 1:
            del meta["nbgrader"]
            continue
        src = source[gid]
        if cell.cell_type != src.cell_type:
            notes.append(f"{gid}: cell type changed to {cell.cell_type} (changed back)")
            _set_type(cell, src.cell_type)
        src_meta = src.metadata["nbgrader"]
        if _protected(src_meta):
            ref = release.get(gid, src)
            if cell.source not in (ref.source, src.source) and cell.cell_type == ref.cell_type:
                notes.append(f"{gid}: locked cell was edited (restored from the source)")
            cell.source = src.source
        meta["nbgrader"] = copy.deepcopy(src_meta)
    for gid, n in seen.items():
        if n > 1 and gid in source:
            notes.append(f"{gid}: cell duplicated {n} times (copies ignored)")
    # Put back protected cells the student deleted, after the cell they followed.
    order = [c.metadata["nbgrader"]["grade_id"] for c in template.source.cells
             if "grade_id" in c.get("metadata", {}).get("nbgrader", {})]
    for k, gid in enumerate(order):
        if gid in seen:
            continue
        src_meta = source[gid].metadata["nbgrader"]
        if not _protected(src_meta):
            notes.append(f"{gid}: answer cell was deleted")
            continue
        if src_meta.get("grade"):
            notes.append(f"{gid}: test cell was deleted (restored from the source)")
        cell = nbformat.from_dict(copy.deepcopy(dict(source[gid])))
        cell.pop("id", None)
        cell["id"] = f"restored-{gid}"[:64]
        position = 0
        ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]
        for prev in reversed(order[:k]):
            if prev in ids:
                position = ids.index(prev) + 1
                break
        nb.cells.insert(position, cell)
        seen[gid] = 1
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if not cell.get("id"):
            cell["id"] = f"cell-{i}"
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"name": course.KERNEL_NAME, "language": "python",
                                 "display_name": "Python (convnet-course)"}
    return nb, notes


# --------------------------------------------------------------------------------------------
# Execute
# --------------------------------------------------------------------------------------------

class KernelMissing(course.CourseError):
    """The grader's Jupyter kernel is not installed."""


def kernel_missing_message(name: str | None = None) -> str:
    """What to say when the grading kernel ``name`` (default: the course's) is missing."""
    name = name or course.KERNEL_NAME
    return (f"the Jupyter kernel '{name}' that grading runs notebooks in is not installed: "
            f"run `make install`, or `{Path(sys.executable).name} -m ipykernel install "
            f"--sys-prefix --name {name}` in the course's environment")


def check_kernel(name: str | None = None) -> None:
    """Raise :class:`KernelMissing` (with how to install it) unless kernel ``name`` (default:
    the course's, ``convnet-course``) is installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    name = name or course.KERNEL_NAME
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel as exc:
        raise KernelMissing(kernel_missing_message(name)) from exc


@dataclass
class Run:
    """What happened while a notebook ran.

    ``executed``: ids of the cells that ran to the end; ``died``: id of the cell the kernel
    died in (None if it did not); ``cause``: why it died, in plain words; ``timed_out``: ids
    of cells stopped at the time limit; ``failed``: ids of cells whose execute reply said
    "error"; ``truncated``: ids of cells whose output was cut; ``startup``/``running``/
    ``stopping``: seconds to start the kernel / run the cells / stop it.
    """

    nb: nbformat.NotebookNode
    executed: set = field(default_factory=set)
    dead: bool = False
    died: str | None = None
    cause: str = ""
    timed_out: set = field(default_factory=set)
    failed: set = field(default_factory=set)
    truncated: set = field(default_factory=set)
    startup: float = 0.0
    running: float = 0.0
    stopping: float = 0.0


def _client_class():
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    class StuckKernel(DeadKernelError):
        """The kernel did not stop when interrupted at the time limit."""

    class Client(NotebookClient):
        """nbclient's runner, told which cell runs, which timed out, and with bounded output."""

        def __init__(self, *args, run: Run, **kwargs):
            super().__init__(*args, **kwargs)
            self.run = run
            self.current = None
            self.interrupts = 0
            self.chars: dict[int, int] = {}

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            for channel in (kc.shell_channel, kc.iopub_channel):
                channel.get_msg = sliced_get_msg(channel.get_msg)
            return kc

        async def _async_handle_timeout(self, timeout, cell=None):
            self.run.timed_out.add(self.current)
            self.interrupts += 1
            if self.interrupts > 1:   # interrupted once already and still running
                raise StuckKernel(f"the cell did not stop when interrupted after the {timeout} s"
                                  " time limit")
            return await super()._async_handle_timeout(timeout, cell)

        def output(self, outs, msg, display_id, cell_index):
            if len(outs) >= MAX_OUTPUTS and msg["msg_type"] in ("display_data", "stream",
                                                                "execute_result"):
                self.run.truncated.add(self.current)   # e.g. a figure drawn in a loop
                return None
            if msg["msg_type"] == "stream":
                used = self.chars.get(cell_index, 0)
                text = msg["content"].get("text", "")
                if used >= MAX_OUTPUT_CHARS:
                    return None
                self.chars[cell_index] = used + len(text)
                if used + len(text) > MAX_OUTPUT_CHARS:
                    self.run.truncated.add(self.current)
                    msg = copy.deepcopy(msg)
                    msg["content"]["text"] = text[:MAX_OUTPUT_CHARS - used] + TRUNCATED
            return super().output(outs, msg, display_id, cell_index)

    return Client, StuckKernel


#: Longest single wait on a kernel channel; longer waits are made of such slices.
POLL_SLICE = 1.0


def sliced_get_msg(get_msg):
    """``channel.get_msg`` that waits in slices of :data:`POLL_SLICE` seconds.

    A message that arrives while several asyncio loops (one per grading thread) poll their
    ZeroMQ sockets can miss its wake-up (ZeroMQ signals readiness on an edge-triggered file
    descriptor); one long wait then sits out the whole cell time limit although the reply is
    there. Each new slice looks at the socket again, so such a message waits one slice at
    most. Raises ``queue.Empty`` at the caller's timeout, like the original. The test suite
    wraps every nbclient run this way too (``tests/conftest.py``): a pytest worker that has
    graded in threads can miss a reply in the same way.
    """
    from queue import Empty

    async def wrapped(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = POLL_SLICE if deadline is None else min(
                POLL_SLICE, max(0.0, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=step)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return wrapped


def kernel_env(template: Template, jobs: int = 1, extra: dict | None = None) -> dict[str, str]:
    """Environment of a grading kernel: the student's library first on the path, fast mode,
    a non-interactive Matplotlib, one share of the cores for BLAS."""
    from cs231n_lib import runtime

    env = dict(os.environ)
    env["PYTHONPATH"] = str(template.lib) + (os.pathsep + env["PYTHONPATH"]
                                             if env.get("PYTHONPATH") else "")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env[runtime.GRADING_ENV] = "autograde"
    env["MPLBACKEND"] = "Agg"
    env.pop("JPY_PARENT_PID", None)
    threads = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, threads)
    stamp = _environment_fingerprint()
    if stamp:
        env["CS231N_ENV_CHECKED"] = stamp
    env.update(extra or {})
    return env


_FINGERPRINT: list = []


def warm_up() -> None:
    """Do once, before a batch, what every submission's kernel would otherwise wait for: the
    full environment check whose fingerprint the kernels are given (see ``kernel_env``)."""
    _environment_fingerprint()


def _environment_fingerprint() -> str | None:
    """This environment's fingerprint after a full ``runtime.check_environment`` (once per
    process; None if the check fails, so every kernel then runs the full check itself)."""
    from cs231n_lib import runtime

    if not _FINGERPRINT:
        try:
            _FINGERPRINT.append(runtime.check_environment(verbose=False, fingerprint=True))
        except runtime.EnvironmentProblem:
            _FINGERPRINT.append(None)
    return _FINGERPRINT[0]


def _exit_cause(km) -> str:
    """Plain words for how a (non-sandboxed) kernel process ended."""
    import signal as _signal

    proc = getattr(getattr(km, "provisioner", None), "process", None)
    code = None
    if proc is not None:
        try:
            proc.wait(timeout=2)
            code = proc.returncode
        except Exception:  # noqa: BLE001 - still running or already reaped
            code = getattr(proc, "returncode", None)
    if code is None:
        return "the kernel stopped responding"
    if code < 0:
        try:
            sig = _signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        why = {"SIGKILL": " (killed: often the memory running out)",
               "SIGSEGV": " (a segmentation fault)", "SIGABRT": " (aborted)"}.get(sig, "")
        return f"the kernel process was killed by {sig}{why}"
    return f"the kernel process exited with status {code} (os._exit, sys.exit or a crash)"


def execute(nb, template: Template, workdir: Path, *, timeout: int, sandbox: bool = True,
            limits=None, jobs: int = 1, env: dict | None = None) -> Run:
    """Run ``nb`` (restored, guard cells in place) in a fresh kernel; see :class:`Run`.

    The kernel's working folder is ``workdir`` (empty, the only place it may write when
    sandboxed). ``timeout`` is the limit per cell in seconds. With ``sandbox=True`` the
    kernel comes from ``cs231n_lib.sandbox.kernel_manager`` with ``limits``; otherwise it is
    the ``convnet-course`` kernel with the grader's rights. Raises :class:`KernelMissing`
    if that kernel is not installed.
    """
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import DeadKernelError

    Client, StuckKernel = _client_class()
    for i, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = f"grader-{i}"
    run = Run(nb)
    env = kernel_env(template, jobs, env)
    if sandbox:
        from cs231n_lib import sandbox as sb

        kwargs = {"limits": limits} if limits is not None else {}
        km = sb.kernel_manager(Path(workdir), readable=template.readable, env=env, **kwargs)
    else:
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=course.KERNEL_NAME)
    client = Client(nb, km=km, run=run, timeout=timeout, allow_errors=True,
                    interrupt_on_timeout=True, record_timing=False, startup_timeout=120,
                    resources={"metadata": {"path": str(workdir)}})
    t0 = time.perf_counter()
    marks = {"ready": None}

    def on_start(**_):
        marks["ready"] = time.perf_counter()

    def on_cell_start(cell, cell_index, **_):
        client.current = cell.get("id")
        client.interrupts = 0

    def on_cell_executed(cell, cell_index, execute_reply=None, **_):
        run.executed.add(cell.get("id"))
        if (execute_reply or {}).get("content", {}).get("status") == "error":
            run.failed.add(cell.get("id"))   # even if its error output went missing

    client.on_notebook_start = on_start
    client.on_cell_start = on_cell_start
    client.on_cell_executed = on_cell_executed

    if not sandbox:   # the kernel's own start-up chatter stays out of the grader's terminal
        env_kwargs = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    else:
        env_kwargs = {}

    async def go():
        try:
            await client.async_execute(env=env, cwd=str(workdir), **env_kwargs)
        finally:
            marks["done"] = time.perf_counter()
            atexit.unregister(client._cleanup_kernel)   # nbclient's, holding the notebook
            if client.kc is not None:
                client.kc.stop_channels()
            try:
                if km.has_kernel:
                    await _maybe_await(km.shutdown_kernel(now=True))
            except Exception:  # noqa: BLE001 - the kernel may be gone already
                pass
            if hasattr(km, "__aexit__"):   # the sandbox's manager: release its run folder
                await km.__aexit__(None, None, None)
            marks["stopped"] = time.perf_counter()

    try:
        asyncio.run(go())
    except NoSuchKernel as exc:
        raise KernelMissing(kernel_missing_message(getattr(exc, "name", None))) from exc
    except StuckKernel as exc:
        run.dead, run.died, run.cause = True, client.current, str(exc)
    except DeadKernelError:
        run.dead, run.died = True, client.current
        run.cause = _death_cause(km, sandbox)
    except RuntimeError as exc:
        if marks["ready"] is None and "Kernel died before replying" in str(exc):
            run.died, run.cause = None, "the kernel died while starting"
            raise course.CourseError(f"the grading kernel died while starting: {exc}") from exc
        raise
    end = marks.get("done") or time.perf_counter()
    ready = marks["ready"] or end
    run.startup, run.running = ready - t0, end - ready
    run.stopping = marks.get("stopped", end) - end
    return run


async def _maybe_await(value):
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


def _death_cause(km, sandbox: bool) -> str:
    if sandbox:
        try:
            from cs231n_lib import sandbox as sb

            return sb.describe_death(km)
        except Exception:  # noqa: BLE001 - fall back to the exit status
            pass
    return _exit_cause(km)


# --------------------------------------------------------------------------------------------
# Score and notes
# --------------------------------------------------------------------------------------------

def _error_outputs(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _label(cell, position: int) -> str:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {position} ({gid})" if gid else f"cell {position}"


def score(run: Run, template: Template, nb=None) -> tuple[dict, dict, dict]:
    """``(scores, max_scores, reasons)`` by grade_id for the graded cells of ``run``'s notebook.

    Full points when the cell ran and shows no error output, else 0; ``reasons`` says why a
    cell scored 0 (the error's last line, "did not run: ...").
    """
    nb = nb if nb is not None else run.nb
    points = dict(template.questions)
    scores, reasons = dict.fromkeys(points, 0.0), {}
    ran_any = {gid: False for gid in points}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid not in points or cell.cell_type != "code" or ran_any[gid]:
            continue
        ran_any[gid] = True
        errors = _error_outputs(cell)
        if cell.get("id") not in run.executed:
            reasons[gid] = ("did not run: the kernel died before it" if run.dead else
                            "did not run")
            if run.dead and cell.get("id") == run.died:
                reasons[gid] = f"the kernel died while it ran ({run.cause})"
        elif errors:
            e = errors[0]
            reasons[gid] = f"{e.get('ename', 'Error')}: {str(e.get('evalue', ''))[:300]}"
        elif cell.get("id") in run.failed:
            reasons[gid] = "the kernel reported an error"
        else:
            scores[gid] = points[gid]
    for gid in points:
        if not ran_any[gid]:
            reasons.setdefault(gid, "the test cell is missing")
    return scores, dict(points), reasons


def run_notes(run: Run, nb, timeout: int, describe_error=None) -> list[str]:
    """Plain-words notes on a run: time limits, cut output, sandbox limits, a kernel death."""
    notes = []
    for position, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        cid = cell.get("id")
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        name = gid or f"cell {position}"
        if cid in run.timed_out:
            notes.append(f"{name}: stopped after the {timeout} s time limit")
        if cid in run.truncated:
            notes.append(f"{name}: output truncated (too long)")
        if describe_error is not None:
            for e in _error_outputs(cell):
                said = describe_error(e.get("ename", ""), str(e.get("evalue", "")))
                if said:
                    notes.append(f"{name}: {said}")
        if run.dead and cid == run.died:
            notes.append(f"the kernel died in {_label(cell, position)}: {run.cause}; "
                         "the tests after it score 0")
    if run.dead and not any(c.get("id") == run.died for c in nb.cells):
        notes.append(f"the kernel died in a grader cell: {run.cause}; the tests after it score 0")
    return notes


# --------------------------------------------------------------------------------------------
# Feedback
# --------------------------------------------------------------------------------------------

_EXPORTERS = threading.local()


#: Output types the feedback shows as they are; others (HTML, JavaScript, SVG, widgets) can
#: carry script, so the feedback shows their plain-text form instead.
SAFE_OUTPUTS = ("text/plain", "image/png", "image/jpeg", "image/gif")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _defuse(nb, trusted: set[str]) -> None:
    """Make a submitted notebook safe to open as HTML in the instructor's browser.

    Markdown cells that are not the course's own (``trusted`` sources) are shown as escaped
    text, and rich outputs keep only :data:`SAFE_OUTPUTS`. Doing this here, rather than with
    nbconvert's ``sanitize_html`` (bleach over every highlighted code cell), keeps a feedback
    page cheap: about ten times less work for notebook 01.
    """
    nb.metadata = nbformat.from_dict({k: nb.metadata[k] for k in ("kernelspec", "language_info")
                                      if k in nb.metadata})
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source not in trusted:
            cell.source = "<pre>" + html.escape(cell.source) + "</pre>"
            cell.pop("attachments", None)
        elif cell.cell_type == "raw":
            cell.cell_type = "markdown"
            cell.source = "<pre>" + html.escape(cell.source) + "</pre>"
            cell.metadata.pop("format", None)
            cell.metadata.pop("raw_mimetype", None)
            cell.pop("attachments", None)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                data = output.get("data")
                if data is None:
                    continue
                kept = {k: v for k, v in data.items() if k in SAFE_OUTPUTS
                        and (k == "text/plain" or _BASE64.fullmatch(_text(v)))}
                if not kept:
                    kept = {"text/plain": f"[{', '.join(sorted(data))} output not shown]"}
                output["data"] = kept
                output.get("metadata", {}).clear()


def feedback_html(nb, student: str, assignment: str, scores: dict, max_scores: dict,
                  reasons: dict, notes: list[str], trusted: set[str] | None = None,
                  released: dict[str, str] | None = None) -> str:
    """The graded notebook as safe HTML: a score table first, each test's result after it.

    ``trusted``: sources of markdown cells that are the course's own (rendered as Markdown);
    every other markdown cell and every rich output is defused (see :func:`_defuse`).
    ``released``: grade_id -> the test cell's text as released; a test cell is shown with
    that text, so the feedback does not give the hidden tests away.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    _defuse(nb, trusted or set())
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if released and gid in scores and gid in released and cell.source != released[gid]:
            cell.source = released[gid].rstrip() + "\n# (hidden tests ran here too)"
    total, most = sum(scores.values()), sum(max_scores.values())
    rows = "\n".join(f"| {q} | {scores[q]:g} | {max_scores[q]:g} | "
                     f"{_md(reasons.get(q, 'passed'))} |" for q in scores)
    head = [f"# Feedback: {_md(assignment)} / {_md(student)}",
            f"**Score: {total:g} / {most:g}**", "",
            "| test | score | max | result |", "|---|---|---|---|", rows]
    if notes:
        head += ["", "**Notes**", ""] + [f"- {_md(n)}" for n in notes]
    cells = [new_markdown_cell("\n".join(head))]
    for cell in nb.cells:
        cells.append(cell)
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in scores and cell.cell_type == "code":
            verdict = "passed" if gid not in reasons else _md(reasons[gid])
            cells.append(new_markdown_cell(f"**{gid}: {scores[gid]:g} / {max_scores[gid]:g}**"
                                           f" ({verdict})"))
    nb.cells = cells
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        exporter = _EXPORTERS.html = _feedback_exporter()
    body, _ = exporter.from_notebook_node(nb)
    return body


def _feedback_exporter():
    """nbconvert's HTML exporter (classic template) without its two costly passes.

    The template's ``clean_html`` runs bleach over every highlighted code cell, and
    ``HTMLExporter`` then re-parses the whole page with BeautifulSoup to add alt texts and
    tab stops: together about 80 % of the export of notebook 01. :func:`_defuse` has made
    the notebook safe already, so ``clean_html`` is the identity here, and the exporter
    renders the template directly, the way ``HTMLExporter.from_notebook_node`` does before
    its BeautifulSoup pass.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class FeedbackExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", Highlight2HTML(pygments_lexer="ipython3",
                                                                  parent=self))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    quiet = logging.getLogger("cs231n_lib.feedback")
    quiet.setLevel(logging.ERROR)
    exporter = FeedbackExporter(template_name="classic", log=quiet)
    exporter.register_filter("clean_html", lambda text: text)
    return exporter


def _md(text: str) -> str:
    return html.escape(str(text)).replace("|", "&#124;").replace("\n", " ")


# --------------------------------------------------------------------------------------------
# One notebook, start to end
# --------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """Everything grading one notebook found (see :func:`grade_notebook`)."""

    nb: nbformat.NotebookNode          # the graded notebook, outputs included, guard cells gone
    scores: dict[str, float]
    max_scores: dict[str, float]
    reasons: dict[str, str]            # grade_id -> why it scored 0
    notes: list[str]
    startup: float = 0.0               # seconds starting the (sandboxed) kernel
    running: float = 0.0               # seconds running the cells
    phases: dict = field(default_factory=dict)   # seconds of the grader's own steps


def _guard():
    """``cs231n_lib.guard`` if this checkout has it, else None (the engine runs without)."""
    try:
        from cs231n_lib import guard
    except ImportError:
        return None
    return guard


def grade_notebook(submitted, template: Template, workdir: Path, *, timeout: int,
                   sandbox: bool = True, limits=None, jobs: int = 1) -> Outcome:
    """Restore, (guard,) execute, (collect,) and score one submitted notebook.

    ``workdir`` is an empty folder: the kernel's working directory. See the module's
    docstring for each step; raises :class:`KernelMissing` or ``CourseError`` when the
    grader itself cannot run a kernel.
    """
    clock = {"start": time.perf_counter()}
    nb, notes = restore(submitted, template)
    guard = _guard()
    to_run = guard.prepare(nb, template.name, source_nb=template.source) if guard else nb
    clock["prepared"] = time.perf_counter()
    run = execute(to_run, template, workdir, timeout=timeout, sandbox=sandbox, limits=limits,
                  jobs=jobs)
    clock["executed"] = time.perf_counter()
    graded = run.nb
    if guard:
        graded, guard_notes = guard.collect(run.nb)
        notes += list(guard_notes)
    describe = None
    if sandbox:
        from cs231n_lib import sandbox as sb

        def describe(ename, evalue):
            return sb.describe_error(ename, evalue, limits) if limits is not None else \
                sb.describe_error(ename, evalue)
    notes += run_notes(run, graded, timeout, describe)
    scores, max_scores, reasons = score(run, template, graded)
    if not sandbox:
        notes.append("graded without the sandbox (--no-sandbox): the notebook ran with the "
                      "grader's rights")
    end = time.perf_counter()
    phases = {"restore+guard": clock["prepared"] - clock["start"],
              "kernel stop": run.stopping,
              "kernel env": (clock["executed"] - clock["prepared"] - run.startup - run.running
                             - run.stopping),
              "collect+score": end - clock["executed"]}
    return Outcome(graded, scores, max_scores, reasons, notes, run.startup, run.running, phases)
