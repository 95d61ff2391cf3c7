"""The course's command line: ``python -m cs231n_lib COMMAND`` (or ``convnet-course COMMAND``).

Commands:
    doctor                   check that this environment can run the course
    execute [NAME ...]       re-run solution notebooks in place (instructors)
    release [NAME ...]       regenerate student notebooks from solutions/ (instructors)
"""

from __future__ import annotations

import argparse
import sys


def _doctor(args: argparse.Namespace) -> int:
    from cs231n_lib import runtime

    try:
        runtime.check_environment(verbose=True)
    except runtime.EnvironmentProblem as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _execute(args: argparse.Namespace) -> int:
    from cs231n_lib import course

    course.execute(args.names or None, fast=args.fast)
    return 0


def _release(args: argparse.Namespace) -> int:
    from cs231n_lib import course

    for path in course.release(args.names or None):
        print(f"released {path.relative_to(course.REPO)}")
    return 0


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
    p.set_defaults(func=_release)
    return parser


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
