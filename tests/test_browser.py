"""The course as students see it: JupyterLab in a real headless browser.

The ``e2e`` tests start JupyterLab from this Python environment, open copies of a solution
and a student notebook in headless Chromium, press Run -> Run All Cells in the menu bar, and
check what the page shows: the solution runs clean and draws its figures, the student
notebook stops at its first exercise with ``NotImplementedError``, and ipywidgets controls
are drawn as controls, not as their text fallback. Screenshots go to pytest's tmp_path (their
paths are printed). Without Chromium they skip and say how to install it.

The other tests need no browser: ``make lab`` serves ``notebooks/`` with the course's kernel
as default, and every notebook names a kernel that the set-up installed.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from cs231n_lib import course
from tests import browser_helpers as bh
from tests.notebook_utils import solution_notebooks, student_notebooks

#: The assignment the browser tests open (the first one: the course's front door).
E2E_ASSIGNMENT = course.assignments()[0]
WIDGET_NOTEBOOK = "widget_check/widget_check.ipynb"


# --------------------------------------------------------------------------- no browser


def test_make_lab_serves_the_notebooks_with_the_course_kernel(tmp_path):
    """`make lab`'s command opens notebooks/ with convnet-course as the default kernel."""
    args = bh.makefile_lab_args()
    with bh.lab_server(args, cwd=course.REPO, state=tmp_path) as server:
        specs = server.api("/api/kernelspecs")
        root = server.api("/api/contents")
        first = course.assignments(course.NOTEBOOKS)[0]
        nb_model = server.api(f"/api/contents/{first}/{first}.ipynb?content=0")
    assert specs["default"] == course.KERNEL_NAME, (
        f"`make lab` ({' '.join(args)}) selects kernel {specs['default']!r} by default, "
        f"not {course.KERNEL_NAME!r}"
    )
    assert course.KERNEL_NAME in specs["kernelspecs"], (
        f"the server does not know kernel {course.KERNEL_NAME!r}; it knows "
        f"{sorted(specs['kernelspecs'])}: run `make install`"
    )
    spec = specs["kernelspecs"][course.KERNEL_NAME]["spec"]
    assert spec["display_name"] == "Python (convnet-course)"
    assert Path(spec["argv"][0]).exists(), f"the kernel's Python {spec['argv'][0]} is missing"
    folders = {item["name"] for item in root["content"] if item["type"] == "directory"}
    missing = set(course.assignments(course.NOTEBOOKS)) - folders
    assert not missing, f"`make lab` does not show {sorted(missing)} at its root: {sorted(folders)}"
    assert "solutions" not in folders, "`make lab` must open notebooks/, not the repo root"
    assert nb_model["type"] == "notebook"


@pytest.mark.parametrize(
    "path", solution_notebooks() + student_notebooks(),
    ids=lambda p: f"{p.parent.parent.name}/{p.stem}",
)
def test_notebook_kernelspec_is_installed(path):
    """Every notebook names a kernel that exists after `make install`."""
    kernelspec = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
    name = kernelspec.get("name")
    assert name == course.KERNEL_NAME, f"{path} asks for kernel {name!r}"
    found = KernelSpecManager().find_kernel_specs()
    assert name in found, (
        f"{path} asks for kernel {name!r}, but only {sorted(found)} are installed: "
        f"run `make install` (it runs `python -m ipykernel install --sys-prefix --name {name}`)"
    )


# --------------------------------------------------------------------------- browser


def _write_widget_notebook(path: Path) -> None:
    """A two-cell notebook: show an IntSlider at 7, then set it to 9 from the kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": course.KERNEL_NAME, "language": "python",
                                 "display_name": "Python (convnet-course)"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import ipywidgets as widgets\n"
            "slider = widgets.IntSlider(value=7, min=0, max=10, description='tiny')\n"
            "slider"
        ),
        nbformat.v4.new_code_cell("slider.value = 9\nprint('value', slider.value)"),
    ]
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on copies of one assignment (solution and student), plus headless Chromium.

    The server and its kernels are stopped, and the browser closed, whatever the tests do.
    """
    reason = bh.browser_missing_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("e2e")
    root = base / "course"
    for kind in ("solutions", "notebooks"):
        shutil.copytree(
            course.REPO / kind / E2E_ASSIGNMENT, root / kind / E2E_ASSIGNMENT,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    _write_widget_notebook(root / WIDGET_NOTEBOOK)
    args = [f"--ServerApp.root_dir={root}",
            f"--MappingKernelManager.default_kernel_name={course.KERNEL_NAME}"]
    with bh.lab_server(args, cwd=root, state=base / "state") as server:
        with bh.chromium_context(base / "chromium-profile") as context:
            yield SimpleNamespace(server=server, context=context, root=root)


@pytest.fixture
def page(lab):
    """A fresh browser tab; its kernels are shut down after the test."""
    tab = lab.context.new_page()
    try:
        yield tab
    finally:
        tab.close()
        with contextlib.suppress(Exception):  # the server may be gone after a failure
            for session in lab.server.api("/api/sessions"):
                lab.server.api(f"/api/sessions/{session['id']}", method="DELETE")


def _open_and_run_all(lab, page, path: str, shots: Path) -> list[dict]:
    kernel = bh.open_notebook(page, lab.server, path)
    assert kernel == "Python (convnet-course)", f"{path} opened with kernel {kernel!r}"
    before = bh.read_cells(page)
    bh.run_all_cells(page)
    try:
        return bh.wait_until_done(page, before)
    finally:
        bh.screenshot(page, shots, "after-run-all")


def _stored_outputs(path: Path) -> list[list[dict]]:
    """The outputs the notebook file stores, per cell (markdown cells: [])."""
    nb = nbformat.read(path, as_version=4)
    return [list(c.get("outputs", [])) for c in nb.cells]


def _check_widgets(page, path: Path, cells: list[dict], shots: Path) -> int:
    """Every stored widget output of ``path`` is drawn as a widget; return how many cells."""
    stored = _stored_outputs(path)
    assert len(cells) == len(stored), (
        f"the page shows {len(cells)} cells, {path.name} has {len(stored)}"
    )
    widget_cells = [i for i, outs in enumerate(stored)
                    if any(bh.WIDGET_MIME in o.get("data", {}) for o in outs)]
    if not widget_cells:
        return 0
    cells = bh.wait_for(page, lambda cs: all(cs[i]["widgets"] for i in widget_cells))
    for i in widget_cells:
        bh.screenshot(page, shots, f"widget-cell-{i}", cell=i)
        fallbacks = [o["data"]["text/plain"][:40] for o in stored[i]
                     if bh.WIDGET_MIME in o.get("data", {}) and "text/plain" in o["data"]]
        shown = " ".join(o["text"] for o in cells[i]["outputs"])
        assert cells[i]["widgets"] > 0, (
            f"cell {i} of {path.name} stores an ipywidgets output but the page drew no widget; "
            f"it shows: {shown[:500]!r}"
        )
        assert "Error displaying widget" not in shown, f"cell {i}: {shown[:500]!r}"
        for fallback in fallbacks:
            assert not any(o["mime"] == "text/plain" and o["text"].startswith(fallback)
                           for o in cells[i]["outputs"]), (
                f"cell {i} of {path.name} shows the widget's text fallback {fallback!r}"
            )
    return len(widget_cells)


@pytest.mark.e2e
def test_solution_notebook_runs_clean_in_jupyterlab(lab, page, tmp_path):
    """Run All on the solution: every cell runs, no error, figures are real images."""
    rel = f"solutions/{E2E_ASSIGNMENT}/{E2E_ASSIGNMENT}.ipynb"
    cells = _open_and_run_all(lab, page, rel, tmp_path)
    report = bh.describe(cells)

    errors = {i: bh.error_outputs(c) for i, c in enumerate(cells) if bh.error_outputs(c)}
    assert not errors, f"the solution notebook shows errors:\n{report}"
    not_run = [i for i, c in enumerate(cells) if c["code"] and not bh.executed(c)]
    assert not not_run, f"Run All Cells left code cells {not_run} unexecuted:\n{report}"

    # Every figure the stored notebook has, the page draws as a decoded image.
    stored = _stored_outputs(lab.root / rel)
    wanted = {i: sum("image/png" in o.get("data", {}) for o in outs)
              for i, outs in enumerate(stored)}
    wanted = {i: n for i, n in wanted.items() if n}
    assert wanted, f"{rel} stores no figure: the image check would test nothing"

    def drawn(cs):
        return all(
            sum(im["width"] > 0 for im in cs[i]["images"]) >= n for i, n in wanted.items()
        )

    cells = bh.wait_for(page, drawn)
    first_figure = min(wanted)
    bh.screenshot(page, tmp_path, f"figure-cell-{first_figure}", cell=first_figure)
    for i, n in wanted.items():
        sizes = [(im["width"], im["height"]) for im in cells[i]["images"]]
        assert sum(w > 0 for w, _ in sizes) >= n, (
            f"cell {i} should show {n} figure(s); the page has images of natural size {sizes}:\n"
            f"{bh.describe(cells)}"
        )
    broken = [(i, im) for i, c in enumerate(cells) for im in c["images"] if im["width"] == 0]
    assert not broken, f"images that did not decode: {broken}"

    _check_widgets(page, lab.root / rel, cells, tmp_path)


def _grade(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.e2e
def test_student_notebook_stops_at_first_exercise_in_jupyterlab(lab, page, tmp_path):
    """Run All on the student notebook stops at exercise 1 and shows NotImplementedError."""
    rel = f"notebooks/{E2E_ASSIGNMENT}/{E2E_ASSIGNMENT}.ipynb"
    cells = _open_and_run_all(lab, page, rel, tmp_path)
    report = bh.describe(cells)

    nb = nbformat.read(lab.root / rel, as_version=4)
    assert len(cells) == len(nb.cells), f"the page shows {len(cells)} of {len(nb.cells)} cells"
    errors = {i: bh.error_outputs(c) for i, c in enumerate(cells) if bh.error_outputs(c)}
    assert len(errors) == 1, f"expected one error, at the first exercise; the page shows:\n{report}"
    (failing, texts), = errors.items()
    bh.screenshot(page, tmp_path, f"error-cell-{failing}", cell=failing)
    assert re.search(r"^\s*NotImplementedError\b", texts[0], flags=re.M), (
        f"cell {failing} fails with something other than NotImplementedError: {texts[0][:800]!r}"
    )
    exercises = [i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and _grade(c).get("solution")]
    assert exercises, f"{rel} has no exercise cell"
    upper = exercises[1] if len(exercises) > 1 else len(nb.cells)
    assert exercises[0] <= failing < upper, (
        f"the student notebook stopped in cell {failing}; it should stop at its first exercise "
        f"(cell {exercises[0]}) or a check of it, before cell {upper}:\n{report}"
    )
    # Run All stops at the error: every code cell before it ran, none after it did.
    before = [i for i in range(failing) if cells[i]["code"] and not bh.executed(cells[i])]
    after = [i for i in range(failing + 1, len(cells)) if bh.executed(cells[i])]
    assert not before, f"cells {before} before the exercise did not run:\n{report}"
    assert not after, f"cells {after} ran after the error:\n{report}"


@pytest.mark.e2e
def test_ipywidgets_render_as_widgets_in_jupyterlab(lab, page, tmp_path):
    """An IntSlider is drawn as a slider, and a value set from the kernel reaches it."""
    cells = _open_and_run_all(lab, page, WIDGET_NOTEBOOK, tmp_path)
    assert not any(bh.error_outputs(c) for c in cells), bh.describe(cells)
    cells = bh.wait_for(page, lambda cs: cs[0]["widgets"] > 0)
    bh.screenshot(page, tmp_path, "widget-cell-0", cell=0)
    slider = page.locator(f"{bh.CELLS} .widget-slider").first
    readout = page.locator(f"{bh.CELLS} .widget-slider .widget-readout").first
    assert slider.count() and slider.is_visible(), (
        f"no slider was drawn; the page shows:\n{bh.describe(cells)}"
    )
    assert "IntSlider(" not in " ".join(o["text"] for o in cells[0]["outputs"]), (
        "the slider shows as its text fallback: is jupyterlab_widgets installed?"
    )
    assert "tiny" in slider.inner_text()
    # The second cell set the value to 9 in the kernel; the slider in the page follows.
    page.wait_for_function(
        "(el) => el.textContent.trim() === '9'", arg=readout.element_handle(), timeout=20_000
    )
    assert readout.inner_text().strip() == "9"
