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
