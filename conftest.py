"""Settings for the whole test suite, loaded before any test or notebook runs.

Notebooks run in *fast mode* under the tests (small data, few epochs), and each kernel gets
one BLAS/torch thread, because pytest-xdist already runs two notebooks side by side on the
two cores CI has. Every kernel that nbval or nbclient starts inherits these variables.
"""

import os
import tempfile

os.environ["CS231N_FAST"] = "1"
if os.environ.get("PYTEST_XDIST_WORKER"):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
# Keep Jupyter and matplotlib state out of the user's home and out of the repo.
_state = tempfile.mkdtemp(prefix="cs231n-test-state-")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_state, "mpl"))
os.environ.setdefault("IPYTHONDIR", os.path.join(_state, "ipython"))


def _slice_kernel_waits() -> None:
    """Make every nbclient run in the tests wait on kernel replies in 1 s slices.

    A worker process that has graded submissions in threads can later miss a ZeroMQ wake-up
    in an ordinary nbclient run and then sit out the whole cell time limit (seen once: a
    900 s stall with the reply already there). The grader already waits this way
    (``cs231n_lib.autograde.sliced_get_msg``); the tests' own notebook runs do the same.
    """
    from nbclient import NotebookClient

    from cs231n_lib.autograde import sliced_get_msg

    start = NotebookClient.async_start_new_kernel_client

    async def start_sliced(self):
        kc = await start(self)
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = sliced_get_msg(channel.get_msg)
        return kc

    NotebookClient.async_start_new_kernel_client = start_sliced


_slice_kernel_waits()
