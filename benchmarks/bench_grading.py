"""How fast does grading go? Grade N submissions of 01_conv_layer with grade-all.

    .venv/bin/python benchmarks/bench_grading.py [--n 20] [--jobs 2] [--no-sandbox]

The batch is N copies of the solution notebook, every fifth one replaced by a wrong answer
(the untouched student notebook, or a solution whose conv_forward_naive returns zeros), graded
exactly as ``python -m cs231n_lib grade-all DIR --jobs 2`` does, in the sandbox. It prints
submissions per minute (the goal of issue #16: at least 10 per minute on 2 cores) and, per
submission, the seconds spent running the notebook, starting the sandboxed kernel, and in the
grader's own work (reading, restoring, guard cells, stopping the kernel, scoring, feedback
HTML, gradebook), that last one also broken down by step.
The per-assignment template (nbgrader's release, the stubbed library) is built once before
the clock starts and timed on its own.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cs231n_lib import course, grading  # noqa: E402

NAME = "01_conv_layer"


def make_batch(folder: Path, n: int) -> dict[str, str]:
    """Write ``n`` submissions into ``folder``; return student -> what it is."""
    solution = nbformat.read(course.notebook_path(NAME), as_version=4)
    release = nbformat.read(course.notebook_path(NAME, course.NOTEBOOKS), as_version=4)
    wrong = nbformat.from_dict(nbformat.reads(nbformat.writes(solution), as_version=4))
    for cell in wrong.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "conv_forward":
            cell.source += ("\n\n_right = conv_forward_naive\n\n"
                            "def conv_forward_naive(x, w, b, conv_param):\n"
                            "    out, cache = _right(x, w, b, conv_param)\n"
                            "    return out * 0, cache\n")
    kinds = {}
    for i in range(n):
        student = f"s{i:03d}"
        if i % 10 == 4:
            nb, kinds[student] = release, "untouched"
        elif i % 10 == 9:
            nb, kinds[student] = wrong, "wrong conv_forward_naive"
        else:
            nb, kinds[student] = solution, "solution"
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / f"{NAME}.ipynb")
    return kinds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20, help="submissions (default 20)")
    p.add_argument("--jobs", type=int, default=2, help="parallel graders (default 2)")
    p.add_argument("--no-sandbox", action="store_true", help="grade without the sandbox")
    args = p.parse_args(argv)
    sandbox = not args.no_sandbox
    if sandbox:
        print(f"sandbox: {grading.check_sandbox()}")
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        kinds = make_batch(work / "subs", args.n)
        t0 = time.perf_counter()
        grading._Templates(course.SOLUTIONS, grading.LIBRARY).get(NAME)
        print(f"template for {NAME}: {time.perf_counter() - t0:.1f} s (once per assignment)")
        start = time.perf_counter()
        results, _ = grading.grade_all(
            work / "subs", work / "out", jobs=args.jobs, sandbox=sandbox,
            progress=lambda r: print("  " + grading.progress_line(r), flush=True))
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bad = [r for r in results if r.status != "graded"]
    # A forward pass of zeros fails test_conv_forward and the backward check that builds on
    # it (its numerical gradients): 10 - 3 - 3 = 4.
    expect = {"solution": 10.0, "untouched": 0.0, "wrong conv_forward_naive": 4.0}
    wrong_score = [r.student for r in results if r.status == "graded"
                   and r.total != expect[kinds[r.student]]]
    print(f"\n{len(results)} submissions of {NAME} in {wall:.1f} s with --jobs {args.jobs}"
          f"{'' if sandbox else ' (no sandbox)'}: {60 * len(results) / wall:.1f} per minute")
    rows = [("running the notebook", "running"), ("sandbox/kernel start-up", "startup")]
    print(f"{'per submission (s)':26s} {'mean':>6s} {'median':>6s} {'max':>6s}")
    for label, key in rows:
        xs = [r.timing.get(key, 0.0) for r in results]
        print(f"{label:26s} {statistics.mean(xs):6.2f} {statistics.median(xs):6.2f} "
              f"{max(xs):6.2f}")
    own = [r.timing["total"] - r.timing.get("running", 0) - r.timing.get("startup", 0)
           for r in results]
    print(f"{'grader own work':26s} {statistics.mean(own):6.2f} {statistics.median(own):6.2f} "
          f"{max(own):6.2f}")
    phases = ("before", "restore+guard", "kernel env", "kernel stop", "collect+score",
              "feedback")
    print("  of which: " + ", ".join(
        f"{k} {statistics.mean(r.timing.get(k, 0.0) for r in results):.2f}" for k in phases))
    slow = [r for r in results if r.seconds > 2 * statistics.median(x.seconds for x in results)]
    for r in slow:
        print(f"slow: {r.student} took {r.seconds:.1f} s; notes: {r.notes}")
    if bad or wrong_score:
        print(f"UNEXPECTED: errors {[r.student for r in bad]}, wrong totals {wrong_score}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
