"""Run a submission's Jupyter kernel inside a bubblewrap sandbox.

Autograding executes students' code. Run with the grader's rights, that code can read the
solutions, rewrite the gradebook or look at the grader's command line. Here every kernel runs
inside `bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap``), which builds a
private view of the file system out of Linux namespaces in a few milliseconds::

    /usr, /etc, /lib*, /bin         the system, read-only
    sys.prefix, sys.base_prefix     the course's virtual environment and its interpreter, read-only
    readable paths                  e.g. the stubbed library copy and the data sets, read-only,
                                    at the same paths as outside
    workdir                         the submission's working copy: the ONLY writable host folder
    /tmp, $HOME                     fresh private tmpfs, size-limited, gone afterwards
    /proc                           only the sandbox's own processes (own pid namespace)
    network                         none (own network namespace: not even the grader's 127.0.0.1)

When the grader runs as root, the kernel runs as an unused unprivileged uid of its own (one per
running sandbox), so that the process limit applies and one sandbox's fork bomb cannot exhaust
another's budget. Resource limits (:class:`Limits`) are set with ``prlimit`` inside.

The kernel talks to the grader over jupyter_client's IPC transport (Unix sockets in a private run
folder bound into the sandbox), because TCP on 127.0.0.1 does not cross the network namespace.
Interrupts are sent as messages (``interrupt_request`` on the control channel): a signal sent to
``bwrap`` would not reach the kernel inside its pid namespace.

Use (the grading engine)::

    from cs231n_lib import sandbox
    sandbox.check()                               # SandboxUnavailable says how to install bwrap
    with sandbox.kernel_manager(workdir, readable=[lib, data], env=env) as km:
        client = nbclient.NotebookClient(nb, km=km, timeout=60, interrupt_on_timeout=True,
                                         allow_errors=True,
                                         resources={"metadata": {"path": str(workdir)}})
        try:
            client.execute()
        except nbclient.exceptions.DeadKernelError:
            notes.append(sandbox.describe_death(km))

``NotebookClient`` does not shut down a kernel manager it was given: leaving the ``with`` block
(or calling ``km.close()``) does, and removes the run folder. Inside nbgrader's Autograde use
:func:`nbgrader_execute` instead; the kernel then runs in (and may write only) the student's
``submitted`` folder.

What the caller decides:

- ``workdir`` holds the submission's files and nothing else: never the notebook with the restored
  hidden tests (nbclient keeps it in the grader's memory and sends one cell at a time), never the
  gradebook. After the run its contents are the student's: do not follow symlinks in it.
- ``readable`` names what the kernel may read: the stubbed library copy on its PYTHONPATH and the
  data sets (a symlink directly inside a readable folder, like the grading template's
  ``lib/datasets``, is followed). Compile the library copy once (``python -m compileall``): the
  kernel cannot write ``__pycache__`` there.
- ``env``: PYTHONPATH pointing at that copy, CS231N_*/NBGRADER_* and the thread counts; anything
  else (HOME, secrets) is dropped.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets import Dict, Instance, List, Unicode

from . import course

INSTALL_HINT = ("Install bubblewrap: Debian/Ubuntu `sudo apt-get install bubblewrap`, "
                "Fedora `sudo dnf install bubblewrap`; user namespaces must be enabled "
                "(sysctl kernel.unprivileged_userns_clone=1 where the kernel has that switch; "
                "on Ubuntu 24.04 and later AppArmor also restricts them: "
                "kernel.apparmor_restrict_unprivileged_userns=0) unless the grader runs as root.")

HOME = "/home/student"           # the sandbox's private home folder (a tmpfs)
UID_BASE = 1_900_000_000         # sandbox uids when the grader is root: UID_BASE + slot
UID_SLOTS = 4096

# Variables the sandbox keeps from ``env`` (exact names and prefixes); everything else goes.
KEEP_VARS = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "PYTHONHASHSEED", "MPLBACKEND",
             "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "TORCH_NUM_THREADS")
KEEP_PREFIXES = ("LC_", "CS231N_", "NBGRADER_")
_OWN_PACKAGE = Path(__file__).resolve().parent     # cs231n_lib as the grader imports it
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


class SandboxUnavailable(course.CourseError):
    """No working sandbox can be started here; the message says how to get one."""


def _size(n: int) -> str:
    """``4294967296 -> '4 GiB'``: a byte count in the largest unit that keeps it readable."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            value = n / scale
            return f"{value:.3g} {unit}" if value != int(value) else f"{int(value)} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (``None`` = no limit).

    memory:     bytes of address space per process (RLIMIT_AS); a bigger allocation raises
                MemoryError instead of taking the grader's machine down. torch imports and
                trains small networks well under the default 4 GiB.
    processes:  processes + threads of the sandbox's user (RLIMIT_NPROC): a fork bomb stops here.
                The kernel itself uses about 10 threads, plus BLAS/OpenMP threads.
    file_size:  bytes per file written (RLIMIT_FSIZE); a bigger write fails with EFBIG.
    tmp_size:   bytes of each private tmpfs (/tmp, the home folder, /dev/shm); memory-backed.
    """

    memory: int | None = 4 * 2**30
    processes: int | None = 256
    file_size: int | None = 1 * 2**30
    tmp_size: int = 256 * 2**20

    def __post_init__(self):
        for name in ("memory", "processes", "file_size", "tmp_size"):
            value = getattr(self, name)
            if value is None and name != "tmp_size":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive int (bytes or a count)"
                                 f"{'' if name == 'tmp_size' else ' or None'}, got {value!r}")

    def prlimit_args(self) -> list[str]:
        """``prlimit`` options for these limits (soft = hard: the kernel cannot raise them)."""
        args = []
        if self.memory is not None:
            args.append(f"--as={self.memory}")
        if self.processes is not None:
            args.append(f"--nproc={self.processes}")
        if self.file_size is not None:
            args.append(f"--fsize={self.file_size}")
        args.append("--core=0")
        return args


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------------------------
# Is a sandbox available?
# --------------------------------------------------------------------------------------------

def _tool(name: str) -> str:
    for folder in ("/usr/bin", "/bin", "/usr/local/bin"):
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    path = shutil.which(name)
    if path is None:
        raise SandboxUnavailable(f"`{name}` was not found (it is part of "
                                 f"{'bubblewrap' if name == 'bwrap' else 'util-linux'}). "
                                 + INSTALL_HINT)
    return path


@functools.cache
def _bwrap_version() -> tuple[int, ...]:
    """bwrap's version as a tuple, e.g. (0, 8, 0); (0,) if it cannot be read."""
    out = subprocess.run([_tool("bwrap"), "--version"], capture_output=True, text=True,
                         check=False).stdout.split()
    try:
        return tuple(int(part) for part in out[-1].split("."))
    except (IndexError, ValueError):
        return (0,)


@functools.cache
def _check_cached() -> str:
    bwrap = _tool("bwrap")
    _tool("prlimit")
    if os.geteuid() == 0:
        _tool("setpriv")
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, check=False)
    if version.returncode != 0:
        raise SandboxUnavailable(f"`{bwrap} --version` failed: {version.stderr.strip()}. "
                                 + INSTALL_HINT)
    # Start a real (empty) sandbox with the same options as a kernel's.
    with tempfile.TemporaryDirectory(prefix="cs231n-sandbox-check-") as tmp:
        slot = _UidSlot.acquire() if os.geteuid() == 0 else None
        try:
            os.chmod(tmp, 0o777)
            cmd, fd = _bwrap_command(Path(tmp), Path(tmp), DEFAULT_LIMITS, (), {},
                                     slot.uid if slot else None, ["/bin/true"])
            try:
                probe = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                       timeout=60, pass_fds=(fd,))
            finally:
                os.close(fd)
        finally:
            if slot:
                slot.release()
    if probe.returncode != 0:
        raise SandboxUnavailable("bubblewrap is installed but could not start a sandbox: "
                                 f"{probe.stderr.strip() or f'exit {probe.returncode}'}. "
                                 + INSTALL_HINT)
    return version.stdout.strip()


def check() -> str:
    """``"bubblewrap 0.8.0"`` when a working sandbox can be started here.

    Starts an empty sandbox with the options a kernel gets (about 20 ms; the answer is cached
    for the process). Raises SandboxUnavailable saying how to install bubblewrap otherwise.
    """
    return _check_cached()


# --------------------------------------------------------------------------------------------
# The bwrap command line
# --------------------------------------------------------------------------------------------

def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _interpreter_paths() -> list[Path]:
    """The course's venv and the interpreter it links to (both as written and resolved)."""
    paths = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        for q in (Path(p), Path(p).resolve()):
            if q not in paths and not any(q == s or Path(s) in q.parents for s in SYSTEM_DIRS):
                paths.append(q)
    return paths


def _readable_paths(readable) -> list[Path]:
    """``readable`` as absolute paths, plus the targets of symlinks directly inside them
    (the grading template links ``lib/datasets`` to the real data folder)."""
    out = []
    for entry in readable:
        p = Path(entry).absolute()
        if not p.exists():
            raise ValueError(f"readable path {p} does not exist")
        if p == Path("/"):
            raise ValueError("readable=['/'] would expose the whole machine; name the folders "
                             "the kernel needs (the library copy, the data sets)")
        out.append(p)
        if p.is_dir():
            for child in p.iterdir():
                if child.is_symlink() and child.exists():
                    out.append(child.resolve())
    return out


def sandbox_env(env: dict | None, python: str | None = None) -> dict[str, str]:
    """The environment inside the sandbox: the allowed variables of ``env`` (default
    ``os.environ``), a private HOME, MPLCONFIGDIR in it, a neutral user name."""
    env = dict(os.environ if env is None else env)
    out = {k: v for k, v in env.items()
           if k in KEEP_VARS or k.startswith(KEEP_PREFIXES)}
    bindir = str(Path(python or sys.executable).parent)
    path = out.get("PATH") or "/usr/local/bin:/usr/bin:/bin"
    if bindir not in path.split(os.pathsep):
        path = bindir + os.pathsep + path
    # JPY_PARENT_PID=1: ipykernel neither polls its parent (pid 1 is bwrap's init inside the
    # pid namespace; --die-with-parent does that job) nor prints its console banner.
    out.update(PATH=path, HOME=HOME, USER="student", LOGNAME="student",
               MPLCONFIGDIR=f"{HOME}/.config/matplotlib", TMPDIR="/tmp",
               PYTHONNOUSERSITE="1", JPY_PARENT_PID="1")
    out.setdefault("LANG", "C.UTF-8")
    out.setdefault("MPLBACKEND", "Agg")
    return out


def _bwrap_command(workdir: Path, rundir: Path, limits: Limits, readable, env: dict,
                   uid: int | None, command: list[str], cwd: Path | None = None
                   ) -> tuple[list[str], int]:
    """The command line ``bwrap --args FD -- [setpriv to uid] prlimit ... command`` and FD.

    bwrap reads its options (mounts, environment) from FD, an in-memory file, so that they do
    not show in the sandbox's ``/proc/1/cmdline``. The caller passes FD to the child
    (``pass_fds``) and closes it after the launch.
    """
    cmd = ["--die-with-parent", "--new-session",
           "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--hostname", "sandbox"]
    if uid is None:
        cmd += ["--unshare-user"]        # not root: an unprivileged user namespace
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            cmd += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            cmd += ["--ro-bind", d, d]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    # --size needs bubblewrap 0.8 (older ones leave each tmpfs at the kernel's default size).
    size = ["--size", str(limits.tmp_size)] if _bwrap_version() >= (0, 8) else []
    for folder, mode in (("/tmp", "1777"), ("/dev/shm", "1777"), (HOME, "0777")):
        cmd += [*size, "--tmpfs", folder, "--chmod", mode, folder]
    # Parents before children, so that a folder bound inside another one stays visible.
    mounts = [(p, "--ro-bind") for p in _interpreter_paths() + list(readable)]
    mounts += [(workdir, "--bind"), (rundir, "--bind")]
    mounts.sort(key=lambda m: len(m[0].parts))
    for path, how in mounts:
        cmd += [how, str(path), str(path)]
    # An installed (non-editable) copy of this library in the venv holds the answers: hide it.
    # The kernel imports the library copy on its PYTHONPATH (a readable path) instead.
    own = _OWN_PACKAGE
    exposed = [p for p, how in mounts if how == "--ro-bind"] + [Path(d) for d in SYSTEM_DIRS]
    if any(_inside(own, p) for p in exposed) and not any(_inside(own, r) for r in readable):
        cmd += ["--tmpfs", str(own), "--remount-ro", str(own)]
    # bwrap creates the missing parents of a mount point with mode 700 (e.g. /root above a
    # pyenv interpreter): open them up, except those that are host folders.
    tmpfs = {Path(p) for p in ("/", "/tmp", "/dev/shm", HOME, "/proc", "/dev")}
    hosts = [p for p, _ in mounts]
    parents = sorted({a for p in hosts for a in p.parents} - tmpfs, key=lambda a: len(a.parts))
    for a in parents:
        if not any(_inside(a, h) for h in hosts):
            cmd += ["--chmod", "0755", str(a)]
    cmd += ["--chdir", str(cwd or workdir), "--clearenv"]
    for key, value in sorted(env.items()):
        cmd += ["--setenv", key, value]
    fd = os.memfd_create("bwrap-args")        # close-on-exec until passed with pass_fds
    os.write(fd, b"".join(os.fsencode(a) + b"\0" for a in cmd))
    os.lseek(fd, 0, os.SEEK_SET)
    head = [_tool("bwrap"), "--args", str(fd), "--"]
    if uid is not None:
        head += [_tool("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return head + [_tool("prlimit"), *limits.prlimit_args(), "--", *command], fd


# --------------------------------------------------------------------------------------------
# One uid per running sandbox (grader running as root)
# --------------------------------------------------------------------------------------------

class _UidSlot:
    """An unused uid, held (flock) while a sandbox runs, so that concurrent sandboxes, even in
    different grading processes, never share one (RLIMIT_NPROC counts per uid)."""

    def __init__(self, uid: int, fd: int):
        self.uid, self._fd = uid, fd

    @staticmethod
    def _lock_dir() -> Path:
        folder = Path("/run/cs231n-sandbox") if os.access("/run", os.W_OK) \
            else Path(tempfile.gettempdir()) / "cs231n-sandbox-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(folder)
        if not os.path.isdir(folder) or os.path.islink(folder) or st.st_uid != os.geteuid() \
                or st.st_mode & 0o077:
            raise SandboxUnavailable(f"{folder} must be a folder of the grader's own, mode 700; "
                                     "remove it and try again")
        return folder

    @classmethod
    def acquire(cls) -> _UidSlot:
        folder = cls._lock_dir()
        start = os.getpid() % UID_SLOTS
        for i in range(UID_SLOTS):
            slot = (start + i) % UID_SLOTS
            fd = os.open(folder / f"{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(UID_BASE + slot, fd)
        raise SandboxUnavailable(f"all {UID_SLOTS} sandbox uids are in use")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@functools.cache
def _launcher() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="cs231n-sandbox-launcher")


class _Tail:
    """A pipe for a kernel's stdout/stderr, drained by a thread that keeps the last 8 KiB."""

    KEEP = 8192

    def __init__(self):
        self._read_fd, self.write_fd = os.pipe()
        self._data = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True,
                                        name="cs231n-sandbox-output")
        self._thread.start()

    def started(self) -> None:
        """The child has its copy of the write end: close ours, so EOF comes when it ends."""
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def _drain(self) -> None:
        with open(self._read_fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                self._data += chunk
                del self._data[:-self.KEEP]

    def text(self, wait: float = 3.0) -> str:
        self._thread.join(wait)
        return bytes(self._data).decode("utf-8", "replace")


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _end_processes(uid: int, wait: float = 5.0) -> None:
    """Wait until no process of the sandbox uid ``uid`` is left (the pid namespace dies
    asynchronously after bwrap), SIGKILL any survivors, so that the uid is free to reuse."""
    deadline = time.monotonic() + wait
    while (pids := _processes_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _chown_tree(folder: Path, uid: int) -> None:
    """Give ``folder`` and everything in it to ``uid`` (symlinks are not followed)."""
    os.lchown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


# --------------------------------------------------------------------------------------------
# The kernel manager
# --------------------------------------------------------------------------------------------

class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel (``python -m ipykernel_launcher -f conn.json``) runs
    inside bwrap. Build it with :func:`kernel_manager`, or let nbclient/nbgrader build it::

        c.Execute.kernel_manager_class = "cs231n_lib.sandbox.SandboxKernelManager"
        c.SandboxKernelManager.readable = [str(lib), str(datasets)]
        c.SandboxKernelManager.limits = sandbox.Limits(memory=2 * 2**30)

    Without a ``workdir`` the folder nbclient starts the kernel in (``cwd``, the notebook's
    folder) becomes the workdir.
    """

    workdir = Unicode(None, allow_none=True,
                      help="The only writable host folder (the submission's working copy); "
                           "default: the folder the kernel is started in").tag(config=True)
    readable = List(Unicode(), help="Host paths shown read-only at the same paths "
                                    "(library copy, data sets)").tag(config=True)
    limits = Instance(Limits, args=(), help="Resource limits (sandbox.Limits)").tag(config=True)
    sandbox_env = Dict(None, allow_none=True,
                       help="Environment to filter for the kernel (default os.environ)"
                       ).tag(config=True)

    def __init__(self, workdir: Path | None = None, limits: Limits | None = None,
                 readable=None, env: dict | None = None, **kwargs):
        super().__init__(transport="ipc", **kwargs)
        check()
        if workdir is not None:
            self.workdir = str(workdir)
        if limits is not None:
            if not isinstance(limits, Limits):
                raise TypeError(f"limits must be a sandbox.Limits, got {type(limits).__name__}")
            self.limits = limits
        if readable is not None:
            self.readable = [str(p) for p in readable]
        if env is not None:
            self.sandbox_env = dict(env)
        if self.workdir is not None:
            self._check_workdir(Path(self.workdir))
        self._readable = _readable_paths(self.readable)
        self.python = sys.executable
        self.env = sandbox_env(self.sandbox_env, self.python)
        self.rundir: Path | None = None
        self.slot: _UidSlot | None = None
        self.cwd: Path | None = None
        self.exit_status: int | None = None     # the sandbox's exit status, once it ended
        self.died: bool = False                  # it ended before anyone asked it to
        self._output: _Tail | None = None
        self._sandbox_spec = KernelSpec(
            argv=[self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (sandboxed)", language="python",
            interrupt_mode="message", env={}, metadata={})

    @property
    def output_tail(self) -> str:
        """The last lines the kernel process wrote to its stdout/stderr (outside of cells)."""
        return self._output.text() if self._output else ""

    @property
    def kernel_spec(self) -> KernelSpec:
        """Always the sandbox's own spec (whatever kernel name the notebook asks for):
        interrupts go as messages, since a signal to bwrap would not reach the kernel."""
        return self._sandbox_spec

    @staticmethod
    def _check_workdir(workdir: Path) -> Path:
        workdir = workdir.absolute()
        if not workdir.is_dir():
            raise ValueError(f"workdir {workdir} is not a folder: create it and put the "
                             "submission's working copy in it")
        if workdir == Path("/"):
            raise ValueError("workdir '/' would make the whole machine writable")
        return workdir

    @property
    def uid(self) -> int | None:
        """The uid the kernel runs as when the grader is root (None: the grader's own uid)."""
        return self.slot.uid if self.slot else None

    def _prepare(self) -> None:
        if self.workdir is None:
            self.workdir = str(self._check_workdir(self.cwd or Path.cwd()))
        if self.rundir is None:
            self.rundir = Path(tempfile.mkdtemp(prefix="cs231n-sbx-"))
            self.connection_file = str(self.rundir / "kernel.json")
            self.ip = str(self.rundir / "ipc")
        if os.geteuid() == 0 and self.slot is None:
            self.slot = _UidSlot.acquire()
        if self.slot:
            _chown_tree(Path(self.workdir), self.slot.uid)

    async def _async_pre_start_kernel(self, **kw):
        cwd = kw.pop("cwd", None)
        if cwd is not None:
            cwd = Path(cwd).absolute()
            if self.workdir is not None and not (_inside(cwd, Path(self.workdir).absolute())
                                                 or any(_inside(cwd, p) for p in self._readable)):
                raise ValueError(f"the kernel's folder {cwd} is not visible in the sandbox: "
                                 f"use the workdir {self.workdir} (or a folder inside it)")
            self.cwd = cwd
        self._prepare()
        self.exit_status, self.died = None, False
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self.slot:
            os.chown(self.rundir, self.slot.uid, self.slot.uid)
            os.chown(self.connection_file, self.slot.uid, self.slot.uid)
        workdir = Path(self.workdir).absolute()
        cmd, self._args_fd = _bwrap_command(workdir, self.rundir, self.limits, self._readable,
                                            self.env, self.uid, kernel_cmd, self.cwd or workdir)
        kw["pass_fds"] = (self._args_fd,)
        # The kernel's own stdout/stderr (C libraries, fatal errors, a fork bomb's children)
        # go to a pipe whose last lines are kept for describe_death, not to the grader's log.
        self._output = _Tail()
        kw["stdout"] = kw["stderr"] = self._output.write_fd
        kw["cwd"] = str(self.rundir)
        kw["env"] = {"PATH": "/usr/bin:/bin", "LANG": self.env["LANG"]}
        return cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw) -> None:
        # bwrap --die-with-parent kills the sandbox when the THREAD that started bwrap ends
        # (PR_SET_PDEATHSIG follows threads), so start every sandbox from one long-lived thread:
        # a kernel started from a worker thread then outlives that thread, and still dies with
        # the grading process.
        try:
            launch = self.provisioner.launch_kernel(kernel_cmd, **kw)
            future = _launcher().submit(asyncio.run, launch)
            connection_info = await asyncio.wrap_future(future)
        finally:
            os.close(self._args_fd)
            self._output.started()
        self._reconcile_connection_info(connection_info)

    def _record_exit(self) -> None:
        process = getattr(self.provisioner, "process", None)
        if process is not None and self.exit_status is None:
            status = process.poll()
            if status is not None:
                self.exit_status = status
                self.died = not self.shutting_down

    async def _async_is_alive(self) -> bool:
        alive = await super()._async_is_alive()
        if not alive:
            self._record_exit()
        return alive

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self._record_exit()
        await super()._async_shutdown_kernel(now=now, restart=restart)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        self._record_exit()
        if self.exit_status is None and getattr(self.provisioner, "process", None) is not None:
            self.exit_status = self.provisioner.process.poll()
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._release()

    def _release(self) -> None:
        if self.rundir is not None:
            shutil.rmtree(self.rundir, ignore_errors=True)
            self.rundir = None
        if self.slot is not None:
            _end_processes(self.slot.uid)
            self.slot.release()
            self.slot = None

    async def _async_close(self) -> None:
        try:
            if self.has_kernel and not self.shutting_down:
                await self._async_shutdown_kernel(now=True)
        finally:
            process = getattr(self.provisioner, "process", None)
            if process is not None and process.poll() is None:
                process.kill()       # bwrap; the whole pid namespace dies with it
                process.wait()
            self._record_exit()
            self._release()

    close = run_sync(_async_close)

    def __enter__(self) -> SandboxKernelManager:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> SandboxKernelManager:
        return self

    async def __aexit__(self, *exc) -> None:
        await self._async_close()


def kernel_manager(workdir: Path, *, limits: Limits = DEFAULT_LIMITS, readable=(),
                   env: dict | None = None) -> SandboxKernelManager:
    """A kernel manager whose kernel runs sandboxed, for ``NotebookClient(nb, km=km)``.

    workdir:  the submission's working copy, the only writable host folder; the kernel starts
              there (or in the ``cwd`` nbclient passes, which must be inside it). When the
              grader is root it is chowned to the sandbox's uid.
    limits:   a :class:`Limits`.
    readable: host paths visible read-only at the same paths: the (stubbed) library copy that
              PYTHONPATH points to, the data sets. Symlinks directly inside them are followed.
    env:      the environment to filter (default os.environ): PATH, LANG/LC_*, TZ, PYTHONPATH,
              CS231N_*, NBGRADER_*, MPLBACKEND and the BLAS/OpenMP thread counts are kept;
              HOME, MPLCONFIGDIR, USER, TMPDIR are set to the private ones.

    Raises SandboxUnavailable if bwrap cannot start here. Use it as a context manager (or call
    ``close()``): NotebookClient leaves a kernel manager it was given running.
    """
    return SandboxKernelManager(workdir, limits=limits, readable=readable, env=env)


@functools.cache
def nbgrader_execute():
    """nbgrader's ``Execute`` preprocessor with its kernels sandboxed.

    ``Execute`` passes ``kernel_manager_class=AsyncKernelManager`` to its base class itself,
    which beats ``c.Execute.kernel_manager_class`` in a config, so replace the class instead::

        from nbgrader.converters import Autograde
        c.Autograde.autograde_preprocessors = [
            sandbox.nbgrader_execute() if p.__name__ == "Execute" else p
            for p in Autograde.autograde_preprocessors.default_value]
        c.SandboxKernelManager.readable = [str(lib), str(datasets)]
        c.SandboxKernelManager.sandbox_env = env       # default os.environ, filtered

    The kernel's workdir is then the folder nbgrader runs the notebook in (the student's
    ``submitted/STUDENT/NAME`` folder); ``Execute``'s own settings (timeout,
    interrupt_on_timeout, error_on_timeout) apply unchanged.
    """
    from nbgrader.preprocessors import Execute

    class SandboxedExecute(Execute):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
            super().__init__(*args, **kwargs)

    return SandboxedExecute


# --------------------------------------------------------------------------------------------
# Plain words for what a limit did
# --------------------------------------------------------------------------------------------

def describe_error(ename: str, evalue: str, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Plain words for an error (a notebook output's ``ename``/``evalue``) that a limit of the
    sandbox caused, e.g. ``"hit the 4 GiB memory limit"``; None for any other error."""
    ename, evalue = str(ename or ""), str(evalue or "")
    low = evalue.lower()
    if "MemoryError" in ename or "can't allocate memory" in low or "bad_alloc" in low \
            or "cannot allocate memory" in low:
        what = f"the {_size(limits.memory)} memory limit" if limits.memory else "the memory limit"
        return f"hit {what} (an allocation failed)"
    if f"[errno {errno.EFBIG}]" in low or "file too large" in low:
        what = f" of {_size(limits.file_size)}" if limits.file_size else ""
        return f"wrote more than the file-size limit{what}"
    if f"[errno {errno.EAGAIN}]" in low and ename in ("BlockingIOError", "OSError") \
            or "can't start new thread" in low:
        what = f"the limit of {limits.processes} processes" if limits.processes \
            else "the process limit"
        return f"hit {what} and threads (a new process or thread could not start)"
    if f"[errno {errno.ENOSPC}]" in low or "no space left on device" in low:
        return (f"filled the private /tmp or home folder (each holds {_size(limits.tmp_size)}); "
                "write big files into the notebook's own folder")
    if f"[errno {errno.EROFS}]" in low or "read-only file system" in low:
        return ("tried to write outside the notebook's folder (only it, /tmp and the home "
                "folder are writable while grading)")
    if ename == "gaierror" or f"[errno {errno.ENETUNREACH}]" in low \
            or "network is unreachable" in low or "name resolution" in low:
        return "tried to use the network, which grading does not allow"
    return None


def describe_death(km) -> str:
    """Why the sandboxed kernel of ``km`` stopped, in plain words for the grading notes
    (with the last line the kernel process printed outside of cells, if any)."""
    words = _death_words(km)
    tail = [line.strip() for line in getattr(km, "output_tail", "").splitlines()
            if line.strip() and "attempted to send message from fork" not in line]
    if tail:
        last = tail[-1] if len(tail[-1]) <= 200 else tail[-1][:197] + "..."
        words += f"; its last output: {last}"
    return words


def _death_words(km) -> str:
    status = getattr(km, "exit_status", None)
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if status is None and process is not None:
        try:   # the kernel is gone; bwrap may need a moment to follow it
            status = process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            status = None
    limits = getattr(km, "limits", DEFAULT_LIMITS)
    if status is None:
        return "the kernel stopped responding (its process state is unknown)"
    # bwrap reports a child killed by signal S as exit status 128 + S.
    sig = -status if status < 0 else status - 128 if status > 128 else None
    if sig:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGKILL:
            return (f"the kernel was killed ({name}); most often the machine ran out of memory "
                    f"(each process may use up to {_size(limits.memory or 0)}) or a time limit "
                    "stopped it")
        if sig == signal.SIGSEGV:
            return f"the kernel crashed ({name}, a segmentation fault in compiled code)"
        if sig == signal.SIGABRT:
            return (f"the kernel aborted ({name}); a C++ library failing to allocate memory "
                    "under the memory limit does this")
        if sig == signal.SIGXFSZ:
            return (f"the kernel was stopped ({name}) for writing more than the file-size "
                    f"limit of {_size(limits.file_size or 0)}")
        return f"the kernel was stopped by {name}"
    if status == 0:
        return "the kernel exited on its own with status 0 (sys.exit() or exit() in a cell?)"
    return (f"the kernel exited with status {status}: the notebook ended it (os._exit or "
            "sys.exit in a cell) or the interpreter failed to start")
