"""What does the grading sandbox cost at start-up?

    .venv/bin/python benchmarks/bench_sandbox.py [--n 6] [--cell "print(1)"]

Times, N times each and interleaved, the seconds from ``start_kernel`` to the first executed
cell for a kernel in the bubblewrap sandbox (``cs231n_lib.sandbox``) and for a plain kernel,
and the bare cost of entering a sandbox (bwrap + setpriv + prlimit running ``/bin/true``).
Prints medians; the first run of each kind warms the disk cache and is left out of them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat
from jupyter_client.manager import AsyncKernelManager

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cs231n_lib import sandbox  # noqa: E402


def first_cell_seconds(kind: str, cell: str) -> float:
    """Seconds from creating the kernel manager to the first cell's reply."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        start = time.perf_counter()
        if kind == "sandbox":
            km = sandbox.kernel_manager(Path(work), env=env)
        else:
            km = AsyncKernelManager(kernel_name="python3")
        client = nbclient.NotebookClient(nb, km=km, timeout=120,
                                         resources={"metadata": {"path": work}})
        client.execute()
        seconds = time.perf_counter() - start
        if kind == "sandbox":
            km.close()
        else:
            asyncio.run(km.shutdown_kernel(now=True))
    return seconds


def bare_seconds(n: int = 20) -> float:
    """Median seconds to start and leave an empty sandbox."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        for _ in range(n):
            start = time.perf_counter()
            slot = sandbox._UidSlot.acquire() if os.geteuid() == 0 else None
            cmd, fd = sandbox._bwrap_command(Path(tmp), Path(tmp), sandbox.DEFAULT_LIMITS, (),
                                             sandbox.sandbox_env(None),
                                             slot.uid if slot else None, ["/bin/true"])
            subprocess.run(cmd, pass_fds=(fd,), check=True)
            os.close(fd)
            if slot:
                slot.release()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="runs of each kind (default 6)")
    parser.add_argument("--cell", default="print(1)", help="the first cell's code")
    args = parser.parse_args()
    print(sandbox.check())
    print(f"empty sandbox (bwrap + setpriv + prlimit + /bin/true): "
          f"{bare_seconds() * 1000:.0f} ms median")
    runs = {"sandbox": [], "plain": []}
    for _ in range(args.n):
        for kind, times in runs.items():
            times.append(first_cell_seconds(kind, args.cell))
    for kind, times in runs.items():
        kept = times[1:] or times
        print(f"{kind:8s} start_kernel -> first cell {args.cell!r}: "
              f"median {statistics.median(kept):.2f} s  (min {min(times):.2f} s, n={len(kept)})")
    print("load average:", " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
