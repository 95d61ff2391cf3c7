"""The course's command line: ``python -m cs231n_lib COMMAND`` (or ``convnet-course COMMAND``).

Commands:
    doctor                   check that this environment can run the course
    download cifar10 [--dest DIR]
                             fetch CIFAR-10 once, verified (needs internet; also `make data`)
    execute [NAME ...]       re-run solution notebooks in place (instructors)
    release [NAME ...]       regenerate student notebooks from solutions/ (instructors)
    release --bundle DIR NAME ...
                             a student bundle: notebooks, library (NAME's answers stubbed),
                             data and install files; no solutions, hidden tests or gradebook
    validate [NAME ...]      solutions pass all their tests; released notebooks pass none
    grade SUBMISSION.ipynb [--student S] [--assignment NAME] [--timeout SECONDS] [--out DIR]
                             autograde one notebook: table, gradebook row, feedback HTML
    grade-all DIR [--out DIR] [--jobs N] [--timeout SECONDS] [--assignment NAME]
                             autograde DIR/STUDENT/NAME.ipynb or DIR/STUDENT.ipynb in parallel
                             (grade and grade-all run every kernel in a bubblewrap sandbox;
                             --memory GIB sets its memory limit, --no-sandbox turns it off)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _doctor(args: argparse.Namespace) -> int:
    from cs231n_lib import runtime

    try:
        runtime.check_environment(verbose=True)
    except runtime.EnvironmentProblem as exc:
        print(exc, file=sys.stderr)
        return 1
    from cs231n_lib import data

    print(data.status())  # which data sets this machine has
    try:
        from cs231n_lib import grading

        print(f"Grading sandbox OK: {grading.check_sandbox()}.")
    except Exception as exc:  # noqa: BLE001 - only instructors grading need the sandbox
        print(f"Note for instructors: `grade` and `grade-all` need a sandbox: {exc}")
    return 0


def _execute(args: argparse.Namespace) -> int:
    from cs231n_lib import course

    course.execute(args.names or None, fast=args.fast)
    return 0


def _release(args: argparse.Namespace) -> int:
    from cs231n_lib import course

    if args.bundle:
        from cs231n_lib import grading

        dest = grading.bundle(args.bundle, args.names)
        print(f"student bundle for {', '.join(args.names)} written to {dest}")
        print((dest / grading.BUNDLE_MANIFEST).read_text())
        return 0
    for path in course.release(args.names or None):
        print(f"released {path.relative_to(course.REPO)}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from cs231n_lib import grading

    results = grading.validate(args.names or None, jobs=args.jobs, timeout=args.timeout)
    for r in results:
        kind = "release " if r.invert else "solution"
        print(f"{'ok  ' if r.ok else 'FAIL'}  {kind}  {r.path.parent.name}: {r.message}")
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} of {len(results)} notebooks validated")
    return 1 if failed else 0


def _grade(args: argparse.Namespace) -> int:
    from cs231n_lib import grading

    res = grading.grade(args.submission, student=args.student, assignment=args.assignment,
                        timeout=args.timeout, out=args.out, sandbox=not args.no_sandbox,
                        memory=_memory(args))
    print(grading.format_result(res))
    if res.assignment and res.row:
        print(f"gradebook: {args.out / res.assignment / 'gradebook.csv'}")
    return 0 if res.status == "graded" else 1


def _memory(args: argparse.Namespace) -> int:
    from cs231n_lib.course import CourseError

    if not args.memory > 0:
        raise CourseError(f"--memory must be a positive number of GiB, not {args.memory:g}")
    return int(args.memory * 2**30)


def _grade_all(args: argparse.Namespace) -> int:
    from cs231n_lib import grading

    def progress(res):
        print(grading.progress_line(res), flush=True)

    results, skipped = grading.grade_all(args.folder, out=args.out, jobs=args.jobs,
                                         timeout=args.timeout, assignment=args.assignment,
                                         progress=progress, sandbox=not args.no_sandbox,
                                         memory=_memory(args))
    for s in skipped:
        print(f"skipped {s}")
    failed = [r for r in results if r.status != "graded"]
    for name in sorted({r.assignment for r in results if r.assignment and r.row}):
        print(f"gradebook: {args.out / name / 'gradebook.csv'}")
    print(f"{len(results) - len(failed)} of {len(results)} submissions graded"
          + (f"; failed: {', '.join(r.student for r in failed)}" if failed else ""))
    return 1 if failed else 0


def _sandbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memory", type=float, default=4.0, metavar="GIB",
                   help="memory limit of each sandboxed kernel in GiB (default 4)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run submissions WITHOUT the sandbox, with your own rights (only for "
                        "code you trust; each gradebook row then says so)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cs231n_lib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("doctor", help="check the environment")
    p.set_defaults(func=_doctor)
    p = sub.add_parser("execute", help="re-run solution notebooks in place")
    p.add_argument("names", nargs="*", help="assignments (default: all)")
    p.add_argument("--fast", action="store_true", help="run in fast mode (CS231N_FAST=1)")
    p.set_defaults(func=_execute)
    p = sub.add_parser("release", help="regenerate student notebooks from solutions/")
    p.add_argument("names", nargs="*", help="assignments (default: all)")
    p.add_argument("--bundle", type=Path, metavar="DIR",
                   help="instead, write a student bundle for NAME ... to DIR")
    p.set_defaults(func=_release)
    p = sub.add_parser("validate", help="solutions pass all tests, releases pass none")
    p.add_argument("names", nargs="*", help="assignments (default: all)")
    p.add_argument("--jobs", type=int, default=None, help="notebooks at a time (default: cores)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    p.set_defaults(func=_validate)
    p = sub.add_parser("grade", help="autograde one submitted notebook")
    p.add_argument("submission", type=Path, help="the submitted .ipynb")
    p.add_argument("--student", help="student id (default: from the file or folder name)")
    p.add_argument("--assignment", help="assignment (default: inferred from the notebook)")
    p.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    p.add_argument("--out", type=Path, default=Path("grades"),
                   help="output folder (default ./grades)")
    _sandbox_options(p)
    p.set_defaults(func=_grade)
    p = sub.add_parser("grade-all", help="autograde a folder of submissions in parallel")
    p.add_argument("folder", type=Path, help="DIR/STUDENT/NAME.ipynb or DIR/STUDENT.ipynb")
    p.add_argument("--out", type=Path, default=Path("grades"),
                   help="output folder (default ./grades)")
    p.add_argument("--jobs", type=int, default=None, help="parallel graders (default: cores)")
    p.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    p.add_argument("--assignment", help="assignment of DIR/STUDENT.ipynb files (default: "
                   "inferred from each notebook)")
    _sandbox_options(p)
    p.set_defaults(func=_grade_all)
    p = sub.add_parser("download", help="fetch a data set once (cifar10; needs internet)")
    p.add_argument("name", choices=["cifar10"], help="the data set")
    p.add_argument("--dest", type=Path, default=None,
                   help="folder to put it in (default: $CS231N_DATA or a per-user cache folder)")
    p.add_argument("--url", default=None, help="a mirror of the official archive")
    p.add_argument("--sha256", default=None, help="the mirror's SHA-256 (with --url)")
    p.set_defaults(func=_download)
    return parser


def _download(args: argparse.Namespace) -> int:
    from cs231n_lib import data

    extra = {} if args.url is None else {"url": args.url, "sha256": args.sha256, "md5": None}
    try:
        folder = data.download_cifar10(args.dest, **extra)
    except (data.DownloadError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"CIFAR-10 is in {folder}; load it with data.load_dataset('cifar10').")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - the CLI reports errors in plain words
        from cs231n_lib.course import CourseError

        if isinstance(exc, CourseError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
