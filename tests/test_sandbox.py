"""The grading sandbox: real code run in a bubblewrap-sandboxed kernel through nbclient.

Each attack a dishonest submission could try runs as a notebook cell inside the sandbox; the
test reads what the cell printed (or the error it raised) and checks the host afterwards.
CI runs these as root with bubblewrap installed; they are skipped only where ``bwrap`` is
missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbclient.exceptions import DeadKernelError

from cs231n_lib import course, sandbox

REPO = Path(__file__).resolve().parent.parent

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed "
                                        "(apt-get install bubblewrap); CI installs it")


def make_nb(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def execute(km, *sources: str, timeout: int = 120, **kwargs):
    nb = make_nb(*sources)
    nbclient.NotebookClient(nb, km=km, timeout=timeout, allow_errors=True,
                            **kwargs).execute()
    return nb.cells


def printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def result(cell) -> dict:
    """The JSON dict the cell printed on its last line (fails with the cell's error if any)."""
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"cell failed: {errors[0]['ename']}: {errors[0]['evalue']}"
    return json.loads(printed(cell).strip().splitlines()[-1])


def error(cell) -> tuple[str, str]:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors, f"the cell should have failed; it printed {printed(cell)!r}"
    return errors[0]["ename"], errors[0]["evalue"]


def sandbox_uids() -> set[int]:
    """Real uids of the host's processes that belong to sandboxes (root grader)."""
    uids = set()
    for pid in os.listdir("/proc"):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) >= sandbox.UID_BASE:
                uids.add(int(line.split()[1]))
    return uids


def count_processes(uid: int) -> int:
    n = 0
    for pid in os.listdir("/proc"):
        try:
            if Path(f"/proc/{pid}").stat().st_uid == uid:
                n += 1
        except OSError:
            pass
    return n


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """A grader-like layout: a submission's workdir, a stubbed library copy beside it (the
    only readable extra), a secret file beside the workdir, and the kernel's environment."""
    root = tmp_path_factory.mktemp("grading")
    work = root / "work"
    work.mkdir()
    (work / "data.txt").write_text("the submission's own file\n")
    lib = root / "lib"
    shutil.copytree(REPO / "cs231n_lib", lib / "cs231n_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "secret.txt").write_text("hidden tests\n")
    env = dict(os.environ, PYTHONPATH=str(lib), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               GRADER_SECRET="do not leak", CS231N_FAST="1")
    return {"root": root, "work": work, "lib": lib, "env": env}


# --------------------------------------------------------------------------------------------
# No sandbox needed
# --------------------------------------------------------------------------------------------

def test_check_says_how_to_install_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setattr(sandbox.os, "access", lambda *a, **k: False)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    sandbox._check_cached.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
            sandbox.check()
    finally:
        sandbox._check_cached.cache_clear()
    assert issubclass(sandbox.SandboxUnavailable, course.CourseError)


def test_limits_refuse_nonsense():
    with pytest.raises(ValueError, match="memory"):
        sandbox.Limits(memory=-1)
    with pytest.raises(ValueError, match="tmp_size"):
        sandbox.Limits(tmp_size=None)
    assert "--nproc=12" in sandbox.Limits(processes=12).prlimit_args()


def test_describe_error_names_the_limit():
    limits = sandbox.Limits(processes=64, file_size=2**20)
    memory = sandbox.describe_error("_ArrayMemoryError",
                                    "Unable to allocate 10.0 GiB for an array", limits)
    assert "4 GiB memory limit" in memory
    assert "memory limit" in sandbox.describe_error(
        "RuntimeError", "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
        "can't allocate memory: you tried to allocate 10737418240 bytes.")
    assert "64 processes" in sandbox.describe_error(
        "BlockingIOError", "[Errno 11] Resource temporarily unavailable", limits)
    assert "file-size limit of 1 MiB" in sandbox.describe_error(
        "OSError", "[Errno 27] File too large", limits)
    assert "network" in sandbox.describe_error("OSError", "[Errno 101] Network is unreachable")
    assert sandbox.describe_error("ValueError", "operands could not be broadcast") is None
    assert sandbox.describe_error("NameError", "name 'x' is not defined") is None


def test_sandbox_env_drops_the_instructors_variables():
    env = sandbox.sandbox_env({"PATH": "/usr/bin", "PYTHONPATH": "/lib", "CS231N_FAST": "1",
                               "NBGRADER_EXECUTION": "autograde", "OMP_NUM_THREADS": "1",
                               "AWS_SECRET_ACCESS_KEY": "x", "HOME": "/root",
                               "GRADER_OUT": "/srv/grades"})
    assert env["HOME"] == sandbox.HOME and env["MPLCONFIGDIR"].startswith(sandbox.HOME)
    assert env["PYTHONPATH"] == "/lib" and env["CS231N_FAST"] == "1"
    assert env["NBGRADER_EXECUTION"] == "autograde" and env["OMP_NUM_THREADS"] == "1"
    assert "AWS_SECRET_ACCESS_KEY" not in env and "GRADER_OUT" not in env


# --------------------------------------------------------------------------------------------
# One sandboxed kernel, many probes
# --------------------------------------------------------------------------------------------

PROBES = {
    "system": """
import json, os, sys
import numpy as np
import torch
import cs231n_lib
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
losses = []
for _ in range(30):
    loss = torch.nn.functional.cross_entropy(net(x), y)
    opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
print(json.dumps({"os_release": open("/etc/os-release").read().splitlines()[0],
                  "library": cs231n_lib.__file__, "uid": os.getuid(), "cwd": os.getcwd(),
                  "first_loss": losses[0], "last_loss": losses[-1],
                  "data": open("data.txt").read(), "env": dict(os.environ)}))
""",
    "network": """
import json, socket
outcome = {}
for name, address in {"grader": ("127.0.0.1", PORT), "internet": ("1.1.1.1", 53)}.items():
    try:
        socket.create_connection(address, timeout=3).close()
        outcome[name] = "connected"
    except OSError as exc:
        outcome[name] = repr(exc)
try:
    socket.getaddrinfo("pypi.org", 443)
    outcome["dns"] = "resolved"
except OSError as exc:
    outcome["dns"] = repr(exc)
print(json.dumps(outcome))
""",
    "visible": """
import json, os
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return repr(exc)
print(json.dumps({
    "repo": listing(REPO), "solutions": os.path.exists(REPO + "/solutions"),
    "secret": os.path.exists(ROOT + "/secret.txt"), "root_dir": listing(ROOT),
    "home_root": listing("/root"), "parent": listing(os.path.dirname(ROOT)),
    "top": listing("/")}))
""",
    "private": """
import json, os
for folder in ("/tmp", os.environ["HOME"], "."):
    with open(os.path.join(folder, "sandbox-probe-NONCE.txt"), "w") as f:
        f.write("written inside")
print(json.dumps({"home": os.environ["HOME"]}))
""",
    "outside": """
import json, os
outcome = {}
for target in ("/etc/sandbox-probe", "/usr/sandbox-probe", REPO + "/sandbox-probe",
               LIB + "/sandbox-probe", ROOT + "/sandbox-probe", "/sandbox-probe",
               os.path.dirname(os.__file__) + "/sandbox-probe"):
    try:
        open(target, "w").write("x")
        outcome[target] = "written"
    except OSError as exc:
        outcome[target] = type(exc).__name__
print(json.dumps(outcome))
""",
    "proc": """
import json, os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
cmdlines = []
for pid in pids:
    try:
        cmdlines.append(open(f"/proc/{pid}/cmdline").read().replace("\\0", " "))
    except OSError:
        pass
print(json.dumps({"pids": pids, "cmdlines": cmdlines, "ppid": os.getppid()}))
""",
    "memory": "import numpy as np\nbig = np.ones(10 * 2**30 // 8)\nprint('allocated')",
    "file_size": "with open('big.bin', 'wb') as f:\n    f.write(b'x' * (2 * 2**20))\n",
    "tmp_full": "for i in range(32):\n    with open(f'/tmp/fill{i}', 'wb') as f:\n"
                "        f.write(b'x' * 2**19)\n",
    "after": "print('still alive')",
}


@pytest.fixture(scope="module")
def probes(layout):
    """Run every probe in one sandboxed kernel; a TCP server on the grader's loopback listens
    meanwhile. Returns {probe: cell} and the kernel manager's facts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    nonce = f"{os.getpid()}-{time.time_ns()}"
    values = {"PORT": str(port), "REPO": repr(str(REPO)), "ROOT": repr(str(layout["root"])),
              "LIB": repr(str(layout["lib"])), "NONCE": nonce}
    sources = []
    for source in PROBES.values():
        for key, value in values.items():
            source = source.replace(key, value)
        sources.append(source)
    limits = sandbox.Limits(file_size=2**20, tmp_size=8 * 2**20)
    start = time.perf_counter()
    with sandbox.kernel_manager(layout["work"], limits=limits, readable=[layout["lib"]],
                                env=layout["env"]) as km:
        cells = execute(km, *sources)
        facts = {"uid": km.uid, "seconds": time.perf_counter() - start, "limits": limits,
                 "nonce": nonce, "rundir": km.rundir}
    server.close()
    facts["rundir_after"] = facts["rundir"].exists()
    return dict(zip(PROBES, cells, strict=True)), facts


@needs_bwrap
def test_check_reports_the_version():
    assert sandbox.check().startswith("bubblewrap ")


@needs_bwrap
def test_system_numpy_torch_and_the_readable_library_work(probes, layout):
    cells, facts = probes
    out = result(cells["system"])
    assert out["os_release"].startswith("PRETTY_NAME=")
    assert out["library"] == str(layout["lib"] / "cs231n_lib" / "__init__.py")
    assert out["last_loss"] < out["first_loss"]          # torch trains under the 4 GiB limit
    assert out["data"] == "the submission's own file\n"
    assert out["cwd"] == str(layout["work"])
    assert out["uid"] != 0
    if os.geteuid() == 0:
        assert out["uid"] == facts["uid"] >= sandbox.UID_BASE
    env = out["env"]
    assert "GRADER_SECRET" not in env and env["CS231N_FAST"] == "1"
    assert env["HOME"] == sandbox.HOME and env["PYTHONPATH"] == str(layout["lib"])


@needs_bwrap
def test_no_network_not_even_the_graders_loopback(probes):
    out = result(probes[0]["network"])
    assert out["grader"] != "connected", out
    assert out["internet"] != "connected", out
    assert out["dns"] != "resolved", out


@needs_bwrap
def test_repository_solutions_and_neighbours_are_invisible(probes, layout):
    out = result(probes[0]["visible"])
    assert out["solutions"] is False and out["secret"] is False
    # The repository shows at most the mount point of the venv inside it, never its files.
    assert isinstance(out["repo"], str) or set(out["repo"]) <= {".venv"}, out["repo"]
    assert out["root_dir"] == ["lib", "work"]
    assert isinstance(out["home_root"], str) or set(out["home_root"]) <= {".pyenv"}
    # The grader's temporary folders: only the path down to the workdir exists.
    assert out["parent"] == [layout["root"].name], out["parent"]


@needs_bwrap
def test_tmp_and_home_are_private(probes, layout):
    nonce = probes[1]["nonce"]
    result(probes[0]["private"])
    name = f"sandbox-probe-{nonce}.txt"
    assert (layout["work"] / name).read_text() == "written inside"    # the workdir is shared
    assert not (Path("/tmp") / name).exists()
    assert not (Path.home() / name).exists()
    assert not list(Path("/tmp").glob(f"*/{name}"))


@needs_bwrap
def test_nothing_outside_the_workdir_is_writable(probes):
    out = result(probes[0]["outside"])
    assert out and all(v != "written" for v in out.values()), out


@needs_bwrap
def test_proc_shows_only_the_sandbox(probes):
    out = result(probes[0]["proc"])
    assert len(out["pids"]) <= 3, out           # bwrap's init and the kernel
    assert not any("pytest" in c for c in out["cmdlines"]), out["cmdlines"]
    assert out["ppid"] == 1


@needs_bwrap
def test_a_10_gb_allocation_fails_with_memory_error(probes):
    cells, facts = probes
    ename, evalue = error(cells["memory"])
    assert "MemoryError" in ename
    assert "memory limit" in sandbox.describe_error(ename, evalue, facts["limits"])
    assert printed(cells["after"]).strip() == "still alive"


@needs_bwrap
def test_a_file_over_the_size_limit_fails(probes, layout):
    cells, facts = probes
    ename, evalue = error(cells["file_size"])
    assert "File too large" in evalue
    assert "file-size limit" in sandbox.describe_error(ename, evalue, facts["limits"])
    assert (layout["work"] / "big.bin").stat().st_size <= 2**20


@needs_bwrap
def test_the_private_tmp_is_size_limited(probes):
    if sandbox._bwrap_version() < (0, 8):
        pytest.skip("bubblewrap before 0.8 cannot size a tmpfs")
    cells, facts = probes
    ename, evalue = error(cells["tmp_full"])
    assert "No space left on device" in evalue
    assert "filled the private /tmp" in sandbox.describe_error(ename, evalue, facts["limits"])


@needs_bwrap
def test_run_folder_and_uid_are_released(probes):
    facts = probes[1]
    assert not facts["rundir_after"]
    if facts["uid"] is not None:
        assert count_processes(facts["uid"]) == 0


# --------------------------------------------------------------------------------------------
# Fork bomb, infinite loop, a kernel that exits
# --------------------------------------------------------------------------------------------

FORK_BOMB = "import os\nwhile True:\n    os.fork()\n"
WORKS = """
import json, subprocess, threading
threads = [threading.Thread(target=sum, args=([1, 2],)) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"child": subprocess.run(["/bin/echo", "ok"], capture_output=True,
                                          text=True).stdout.strip()}))
"""


@needs_bwrap
def test_a_fork_bomb_is_contained(tmp_path, layout):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    limits = sandbox.Limits(processes=64)
    with sandbox.kernel_manager(tmp_path / "a", limits=limits, env=layout["env"]) as bomb, \
            sandbox.kernel_manager(tmp_path / "b", limits=limits, env=layout["env"]) as other:
        done = {}
        thread = threading.Thread(target=lambda: done.update(b=execute(other, WORKS)))
        thread.start()                                    # the second sandbox, meanwhile
        cells = execute(bomb, FORK_BOMB, "print('after the bomb')", timeout=60)
        thread.join()
        ename, evalue = error(cells[0])
        assert "64 processes" in sandbox.describe_error(ename, evalue, limits)
        assert result(done["b"][0]) == {"child": "ok"}
        assert result(execute(other, WORKS)[0]) == {"child": "ok"}   # the bomb still runs
        if bomb.uid is not None:
            assert bomb.uid != other.uid
            assert 0 < count_processes(bomb.uid) <= limits.processes
        uid = bomb.uid
    assert os.system("true") == 0                         # the host can still start processes
    if uid is not None:
        deadline = time.monotonic() + 10
        while count_processes(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count_processes(uid) == 0, "the bomb's processes outlived the sandbox"


@needs_bwrap
def test_a_cell_timeout_interrupts_the_kernel_and_the_next_cell_runs(tmp_path, layout):
    with sandbox.kernel_manager(tmp_path, env=layout["env"]) as km:
        start = time.perf_counter()
        cells = execute(km, "while True:\n    pass\n", "print('next cell')",
                        timeout=3, interrupt_on_timeout=True)
        assert time.perf_counter() - start < 60
    assert error(cells[0])[0] == "KeyboardInterrupt"
    assert printed(cells[1]).strip() == "next cell"


@needs_bwrap
def test_a_kernel_that_exits_is_explained(tmp_path, layout):
    with sandbox.kernel_manager(tmp_path, env=layout["env"]) as km:
        with pytest.raises(DeadKernelError):
            # ipykernel forwards fd 2 from a thread: give it a moment before the exit.
            execute(km, "import os, time\nos.write(2, b'fatal: the last words\\n')\n"
                        "time.sleep(1)\nos._exit(1)", "print('never')", timeout=30)
        words = sandbox.describe_death(km)
    assert "status 1" in words and "os._exit" in words, words
    assert words.endswith("its last output: fatal: the last words"), words


@needs_bwrap
def test_a_kernel_killed_by_a_signal_is_explained(tmp_path, layout):
    with sandbox.kernel_manager(tmp_path, env=layout["env"]) as km:
        with pytest.raises(DeadKernelError):
            execute(km, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", timeout=30)
        words = sandbox.describe_death(km)
    assert "SIGKILL" in words and "memory" in words, words


@needs_bwrap
def test_cwd_outside_the_sandbox_is_refused(tmp_path, layout):
    (tmp_path / "work").mkdir()
    with sandbox.kernel_manager(tmp_path / "work", env=layout["env"]) as km:
        with pytest.raises(ValueError, match="not visible in the sandbox"):
            execute(km, "1", resources={"metadata": {"path": str(REPO)}})


@needs_bwrap
def test_nbclient_can_build_the_manager_from_config(tmp_path, layout):
    """The way nbgrader's Execute would use it: kernel_manager_class + config, the notebook's
    folder (nbclient's cwd) as the workdir; nbclient shuts it down itself."""
    from traitlets.config import Config

    config = Config()
    config.SandboxKernelManager.sandbox_env = layout["env"]
    config.SandboxKernelManager.readable = [str(layout["lib"])]
    config.SandboxKernelManager.limits = sandbox.Limits(file_size=1000)
    nb = make_nb("import json, os, cs231n_lib\nopen('out.txt', 'w').write('x')\n"
                 "print(json.dumps({'uid': os.getuid(), 'lib': cs231n_lib.__file__}))",
                 "with open('big.txt', 'w') as f:\n    f.write('x' * 5000)")
    client = nbclient.NotebookClient(nb, config=config, allow_errors=True, timeout=120,
                                     kernel_manager_class=sandbox.SandboxKernelManager,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    out = result(nb.cells[0])
    assert out["uid"] != 0 and out["lib"].startswith(str(layout["lib"]))
    assert (tmp_path / "out.txt").read_text() == "x"
    assert "File too large" in error(nb.cells[1])[1]


@needs_bwrap
def test_nbgraders_execute_runs_sandboxed(tmp_path, layout):
    from traitlets.config import Config

    config = Config()
    config.SandboxKernelManager.sandbox_env = layout["env"]
    execute_class = sandbox.nbgrader_execute()
    assert execute_class.__name__ == "SandboxedExecute"
    preprocessor = execute_class(config=config, timeout=60)
    assert preprocessor.kernel_manager_class is sandbox.SandboxKernelManager
    solutions = str(REPO / "solutions")
    nb = make_nb(f"import os\nprint(os.getuid() != 0, os.path.exists({solutions!r}))")
    nb, _ = preprocessor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert printed(nb.cells[0]).strip() == "True False"


@needs_bwrap
def test_an_installed_copy_of_the_library_is_hidden(tmp_path, layout, monkeypatch):
    """A non-editable install puts the full library (with answers) into the venv, which the
    sandbox shows read-only: that folder must look empty inside."""
    venv = tmp_path / "venv"
    (venv / "cs231n_lib").mkdir(parents=True)
    (venv / "cs231n_lib" / "layers.py").write_text("ANSWER = 42\n")
    (venv / "other.txt").write_text("visible\n")
    (tmp_path / "work").mkdir()
    paths = sandbox._interpreter_paths() + [venv]
    monkeypatch.setattr(sandbox, "_interpreter_paths", lambda: paths)
    monkeypatch.setattr(sandbox, "_OWN_PACKAGE", venv / "cs231n_lib")
    with sandbox.kernel_manager(tmp_path / "work", env=layout["env"]) as km:
        cells = execute(km, f"import json, os\nprint(json.dumps({{"
                            f"'lib': os.listdir({str(venv / 'cs231n_lib')!r}), "
                            f"'venv': sorted(os.listdir({str(venv)!r}))}}))")
    assert result(cells[0]) == {"lib": [], "venv": ["cs231n_lib", "other.txt"]}


ORPHAN = """
import asyncio, sys, tempfile, time
from pathlib import Path
from cs231n_lib import sandbox
km = sandbox.kernel_manager(Path(sys.argv[1]))
asyncio.run(km.start_kernel())
print(km.uid, flush=True)
time.sleep(300)
"""


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="finds the sandbox's processes by its own uid")
def test_the_sandbox_dies_with_the_grader(tmp_path):
    script = tmp_path / "grader.py"
    script.write_text(ORPHAN)
    (tmp_path / "work").mkdir()
    grader = subprocess.Popen([sys.executable, str(script), str(tmp_path / "work")],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        uid = int(grader.stdout.readline())
        deadline = time.monotonic() + 60
        while not count_processes(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count_processes(uid) > 0
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 10
    while count_processes(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert count_processes(uid) == 0, "the kernel outlived the grading process"
