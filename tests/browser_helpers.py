"""Helpers for the browser tests: a JupyterLab server in a sandbox, and headless Chromium.

The server runs from the course's own Python (``sys.executable -m jupyter lab``) on
127.0.0.1 with a random free port and a random token. Every piece of Jupyter, IPython and
matplotlib state it could write goes to a temporary folder, so a test run leaves nothing in
the user's home or in the repo. :func:`lab_server` stops the server (and the kernels it
started) whatever happens in the test.

The browser is Debian's ``chromium`` driven by Playwright's sync API; nothing is ever
downloaded (never run ``playwright install``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: Debian's real Chromium binary; /usr/bin/chromium is a shell wrapper around it.
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HOW_TO_INSTALL_CHROMIUM = (
    "install Debian's chromium with `apt-get install -y chromium` "
    "(as root, `make test` does it for you); never `playwright install`"
)

# What JupyterLab's DOM calls things (JupyterLab 4).
VISIBLE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELLS = f"{VISIBLE_NOTEBOOK} .jp-Notebook .jp-Cell"
STDERR_MIME = "application/vnd.jupyter.stderr"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Anything that only exists when ipywidgets' front end drew a real control.
WIDGET_SELECTOR = ".jupyter-widgets, .widget-slider, .widget-interact, .lm-Widget.widget-box"


# --------------------------------------------------------------------------- browser


def find_chromium() -> str | None:
    """Path of a Chromium binary to drive, or None when none is installed.

    Prefers Debian's real binary ``/usr/lib/chromium/chromium``; falls back to whatever
    ``chromium`` is on ``PATH``.
    """
    if CHROMIUM_BINARY.is_file() and os.access(CHROMIUM_BINARY, os.X_OK):
        return str(CHROMIUM_BINARY)
    return shutil.which("chromium")


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here (a sentence for ``pytest.skip``), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return (
            f"the Python package playwright cannot be imported ({exc}); "
            "install the test extras: pip install -c requirements.lock -e '.[test]'"
        )
    if find_chromium() is None:
        return f"no Chromium found at {CHROMIUM_BINARY} or on PATH: {HOW_TO_INSTALL_CHROMIUM}"
    return None


@contextlib.contextmanager
def chromium_context(profile_dir: Path) -> Iterator:
    """A Playwright browser context on headless Chromium with a fresh profile in ``profile_dir``.

    Yields a ``playwright.sync_api.BrowserContext``; closes the browser on exit.
    """
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError(f"no Chromium: {HOW_TO_INSTALL_CHROMIUM}")
    profile_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------- server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_env(state: Path) -> dict[str, str]:
    """Environment for a sandboxed Jupyter server whose state lives under ``state``.

    Only the *user* Jupyter paths move: the course's kernelspec ``convnet-course`` lives in
    ``sys.prefix/share/jupyter/kernels`` and is still found. The repo root goes first on
    ``PYTHONPATH`` so kernels import this checkout's ``cs231n_lib`` even without an
    editable install. ``MPLBACKEND`` is dropped (the test suite sets it to Agg), so kernels
    use the inline backend and draw figures the way a student sees them.
    """
    env = dict(os.environ)
    dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
        "MPLCONFIGDIR": "matplotlib",
    }
    for var, name in dirs.items():
        path = state / name
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env.pop("MPLBACKEND", None)
    env.pop("JUPYTER_PATH", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # No "would you like to get Jupyter news?" toast, and no request to the internet.
    notification = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab/apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    (Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json").write_text(
        json.dumps({"LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        }})
    )
    return env


class LabServer:
    """A running JupyterLab server: ``url``, ``token``, ``api(path)`` and ``stop()``."""

    def __init__(self, proc: subprocess.Popen, port: int, token: str, log: Path):
        self.proc = proc
        self.port = port
        self.token = token
        self.log = log
        self.url = f"http://127.0.0.1:{port}"

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def api(self, path: str, method: str = "GET", timeout: float = 10.0):
        """JSON from the server's REST API at ``path`` (e.g. ``/api/kernelspecs``)."""
        req = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def lab_url(self, path: str = "") -> str:
        """The JupyterLab page that opens ``path`` (relative to the server's root)."""
        tree = f"/tree/{path}" if path else ""
        return f"{self.url}/lab{tree}?token={self.token}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until ``/api/status`` answers; raise with the server's log if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.proc.returncode} before it was ready; "
                    f"its log:\n{self.log_tail()}"
                )
            try:
                self.api("/api/status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.25)
        raise RuntimeError(
            f"JupyterLab did not answer on {self.url} within {timeout:.0f} s; "
            f"its log:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Shut down kernels, then the server; kill its process group if it lingers."""
        if self.proc.poll() is None:
            # Kernels run in sessions of their own: ask the server to end them first.
            with contextlib.suppress(Exception):
                for kernel in self.api("/api/kernels", timeout=5):
                    self.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


def server_flags(port: int, token: str) -> list[str]:
    """Flags that make ``jupyter lab`` safe to run under a test: local, token, no browser."""
    flags = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--allow-root")  # JupyterLab refuses to run as root without it
    return flags


@contextlib.contextmanager
def lab_server(args: list[str], cwd: Path, state: Path, timeout: float = 90.0) -> Iterator[
    LabServer
]:
    """Run ``sys.executable -m jupyter lab ARGS`` in ``cwd`` with its state under ``state``.

    ``args`` are the lab arguments (e.g. ``["--notebook-dir=notebooks"]``); port, token,
    ``--no-browser`` and (as root) ``--allow-root`` are added. Yields a ready
    :class:`LabServer`, and stops the server and its kernels on exit, whatever happened.
    """
    port = free_port()
    token = uuid.uuid4().hex
    env = jupyter_env(state)
    log = state / "jupyter-lab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", *args, *server_flags(port, token)]
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = LabServer(proc, port, token, log)
    try:
        server.wait_ready(timeout)
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- Makefile


def makefile_lab_args(makefile: Path = REPO / "Makefile") -> list[str]:
    """The arguments the Makefile's ``lab`` target passes to ``jupyter lab``.

    Reads the recipe of ``lab:``, joins its continuation lines, expands ``$(VAR)`` from the
    Makefile's own ``VAR := value`` lines, and returns what follows ``jupyter lab``.
    Raises ``ValueError`` if there is no ``lab`` target or it does not run ``jupyter lab``.
    """
    text = makefile.read_text()
    variables = dict(re.findall(r"^([A-Z_]+)\s*:?=\s*(.*?)\s*$", text, flags=re.M))

    def expand(s: str) -> str:
        for _ in range(10):  # variables may refer to variables
            s = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), s)
        return s

    match = re.search(r"^lab:[^\n]*\n((?:\t[^\n]*\n?)+)", text, flags=re.M)
    if not match:
        raise ValueError(f"{makefile} has no `lab:` target with a recipe")
    recipe = match.group(1).replace("\\\n", " ")
    for line in recipe.splitlines():
        words = shlex.split(expand(line.strip().lstrip("@")))
        for i, word in enumerate(words[:-1]):
            if Path(word).name == "jupyter" and words[i + 1] == "lab":
                return words[i + 2:]
    raise ValueError(f"the `lab` target of {makefile} does not run `jupyter lab`:\n{recipe}")


# --------------------------------------------------------------------------- JupyterLab page

# One JavaScript call reads what the visible notebook shows, cell by cell. textContent (not
# innerText) because JupyterLab skips rendering cells outside the viewport.
_READ_CELLS_JS = """([cellSel, widgetSel]) =>
  Array.from(document.querySelectorAll(cellSel)).map((cell) => {
    const prompt = cell.querySelector('.jp-InputArea .jp-InputPrompt');
    return {
      code: cell.classList.contains('jp-CodeCell'),
      prompt: prompt ? prompt.textContent.trim() : '',
      outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map((o) => ({
        mime: o.getAttribute('data-mime-type') || '',
        text: o.textContent.slice(0, 3000),
      })),
      widgets: cell.querySelectorAll(widgetSel).length,
      images: Array.from(cell.querySelectorAll('.jp-RenderedImage img')).map(
        (img) => ({width: img.naturalWidth, height: img.naturalHeight})),
    };
  })"""

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b", re.M)


def read_cells(page) -> list[dict]:
    """What the visible notebook shows: per cell its prompt, outputs, widgets and images.

    Each item: ``{"code": bool, "prompt": "[3]:", "outputs": [{"mime", "text"}],
    "widgets": int, "images": [{"width", "height"}]}``, in notebook order.
    """
    return page.evaluate(_READ_CELLS_JS, [CELLS, WIDGET_SELECTOR])


def executed(cell: dict) -> bool:
    """True when a cell's prompt shows an execution count, like ``[3]:``."""
    return re.fullmatch(r"\[\d+\]:?", cell["prompt"]) is not None


def error_outputs(cell: dict) -> list[str]:
    """Texts of the error (traceback) outputs a cell shows."""
    return [o["text"] for o in cell["outputs"]
            if o["mime"] == STDERR_MIME and TRACEBACK.search(o["text"])]


def describe(cells: list[dict], chars: int = 300) -> str:
    """A short, readable account of what the page showed, for failure messages."""
    lines = []
    for i, cell in enumerate(cells):
        if not cell["code"]:
            continue
        outs = "; ".join(f"{o['mime'] or 'panel'}: {o['text'][:chars]!r}" for o in cell["outputs"])
        extra = f" widgets={cell['widgets']}" if cell["widgets"] else ""
        extra += f" images={[(im['width'], im['height']) for im in cell['images']]}" \
            if cell["images"] else ""
        lines.append(f"  cell {i} {cell['prompt'] or '[ ]'}{extra} {outs}")
    return "\n".join(lines) or "  (no cells on the page)"


def kernel_status(page) -> str:
    """The visible notebook's kernel status from its toolbar ('idle', 'busy', ...)."""
    indicator = page.locator(f"{VISIBLE_NOTEBOOK} .jp-Notebook-ExecutionIndicator").first
    return indicator.get_attribute("data-status", timeout=5_000) or ""


def open_notebook(page, server: LabServer, path: str, timeout: float = 120.0) -> str:
    """Open ``path`` in JupyterLab and wait until its kernel is idle; return the kernel's name.

    Ready means: the page shows the notebook's cells and a kernel name other than
    "No Kernel", its toolbar says idle, and the server has a session for ``path`` whose
    kernel is idle. Raises AssertionError (with what the page showed) if a dialog blocks the
    notebook or the kernel never becomes ready.
    """
    # `reset` starts from an empty workspace: no tabs (and kernels) of earlier tests reopen.
    page.goto(server.lab_url(path) + "&reset", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    name = ""
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            raise AssertionError(
                f"opening {path} showed a dialog instead of the notebook: "
                f"{dialog.first.inner_text()!r}"
            )
        kernel_name = page.locator(f"{VISIBLE_NOTEBOOK} .jp-KernelName")
        name = kernel_name.first.inner_text().strip() if kernel_name.count() else ""
        if (page.locator(CELLS).count() and name and name != "No Kernel"
                and kernel_status(page) == "idle" and _session_idle(server, path)):
            return name
        time.sleep(0.25)
    raise AssertionError(
        f"{path} did not open with an idle kernel within {timeout:.0f} s (kernel {name!r}, "
        f"status {kernel_status(page)!r}); server log:\n{server.log_tail()}"
    )


def _session_idle(server: LabServer, path: str) -> bool:
    """True when the server has a session for notebook ``path`` with an idle kernel."""
    for session in server.api("/api/sessions"):
        if session.get("path") == path and session.get("kernel"):
            return session["kernel"].get("execution_state") == "idle"
    return False


def run_all_cells(page) -> None:
    """Run every cell the way a student does: menu bar Run, then Run All Cells."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
    item = page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel",
                        has_text=re.compile(r"^Run All Cells$"))
    item.first.click()


def wait_until_done(page, before: list[dict], timeout: float = 180.0,
                    settle: float = 1.0) -> list[dict]:
    """Wait until Run All has finished: kernel idle, no ``[*]`` prompt, something executed.

    ``before`` is :func:`read_cells` from just before :func:`run_all_cells`. The run must be
    seen to start (a busy kernel, a ``[*]`` prompt, or prompts that changed) within 30 s,
    because a notebook with stored outputs shows execution counts before it runs; then the
    finished state must hold for ``settle`` seconds (the kernel is briefly idle between
    cells). Returns :func:`read_cells`; raises AssertionError with what the page showed.
    """
    start = time.monotonic()
    deadline = start + timeout
    old_prompts = [c["prompt"] for c in before]
    started = False
    done_since = None
    cells: list[dict] = []
    while time.monotonic() < deadline:
        cells = read_cells(page)
        status = kernel_status(page)
        queued = any("*" in c["prompt"] for c in cells)
        started = (started or status == "busy" or queued
                   or [c["prompt"] for c in cells] != old_prompts)
        if not started and time.monotonic() - start > 30:
            raise AssertionError(
                "Run All Cells did not start within 30 s (no busy kernel, no [*] prompt); "
                f"the page showed:\n{describe(cells)}"
            )
        done = started and status == "idle" and not queued and any(executed(c) for c in cells)
        if not done:
            done_since = None
        elif done_since is None:
            done_since = time.monotonic()
        elif time.monotonic() - done_since >= settle:
            return cells
        time.sleep(0.2)
    raise AssertionError(
        f"Run All Cells did not finish within {timeout:.0f} s "
        f"(kernel status {kernel_status(page)!r}); the page showed:\n{describe(cells)}"
    )


def wait_for(page, check, timeout: float = 20.0) -> list[dict]:
    """Re-read the cells until ``check(cells)`` is true or ``timeout`` passes; return them.

    For things the browser draws a moment after the kernel is idle (widgets, images).
    """
    deadline = time.monotonic() + timeout
    cells = read_cells(page)
    while not check(cells) and time.monotonic() < deadline:
        time.sleep(0.25)
        cells = read_cells(page)
    return cells


def screenshot(page, folder: Path, name: str, cell: int | None = None) -> Path:
    """Save a PNG of the page (or of notebook cell ``cell``) to ``folder/name.png``; print it."""
    path = folder / f"{name}.png"
    if cell is None:
        page.screenshot(path=str(path))
    else:
        # Cells outside the viewport are not laid out (CSS content-visibility): scroll the
        # cell in and give the browser a moment to draw it before measuring it.
        target = page.locator(CELLS).nth(cell)
        target.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path
