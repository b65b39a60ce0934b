"""The instructor's commands: ``python -m lossbook grade ...`` and ``python -m lossbook report ...``.

Exit status: 0 when done and nothing needs a human, 1 when some submission needs one, 2 on a usage
error (no such assignment, no sandbox, no records...).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lossbook.grader import batch, report

COMMANDS = {
    "grade": "autograde every submission of an assignment, in parallel and sandboxed",
    "report": "write the class report: what the class got wrong, how many, where it is taught",
}


def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lossbook grade",
        description="Autograde every submission of an assignment in parallel, in a sandbox, "
        "then write the class report.",
    )
    parser.add_argument("assignment", help="assignment id, e.g. 02_regression")
    parser.add_argument("--course", default=".", help="course root (default: current folder)")
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        help="submissions graded at once (default: one per CPU core)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=None,
        help="wall-clock seconds per notebook (default: nbgrader_config.py's "
        "SandboxedExecute.notebook_timeout)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=None,
        help="seconds per cell (default: nbgrader_config.py's Execute.timeout)",
    )
    parser.add_argument(
        "--student", action="append", dest="students", help="grade only this student (repeatable)"
    )
    parser.add_argument("--no-feedback", action="store_true", help="do not write feedback")
    parser.add_argument("--no-report", action="store_true", help="do not write the class report")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code WITHOUT the sandbox (unsafe; for machines without bubblewrap)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lossbook report",
        description="Write reports/<assignment>.html and .csv from the graded submissions; with "
        "--all, every graded assignment plus reports/all.html and all.csv (student × "
        "misconception matrix, misconceptions that persist across chapters).",
    )
    parser.add_argument("assignments", nargs="*", help="assignment ids, e.g. 02_regression")
    parser.add_argument("--all", action="store_true", help="every assignment with grades")
    parser.add_argument("--course", default=".", help="course root (default: current folder)")
    return parser


def grade(argv: list[str]) -> int:
    args = grade_parser().parse_args(argv)
    settings = batch.Settings(
        course=Path(args.course),
        assignment=args.assignment,
        jobs=args.jobs,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        sandbox=not args.no_sandbox,
        feedback=not args.no_feedback,
        students=args.students,
        progress=not args.no_progress,
        report=not args.no_report,
    )
    started = time.monotonic()
    try:
        outcomes = batch.grade_assignment(settings)
    except batch.UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(batch.summary(settings, outcomes, time.monotonic() - started))
    return 1 if any(outcome.needs_human for outcome in outcomes) else 0


def write_reports(argv: list[str]) -> int:
    parser = report_parser()
    args = parser.parse_args(argv)
    course = Path(args.course).resolve()
    if not args.all and not args.assignments:
        parser.error("name an assignment, or pass --all")
    try:
        if args.all:
            written = report.write_all(course)
        else:
            written = [report.write_report(course, name) for name in args.assignments]
    except report.ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path} and {path.with_suffix('.csv')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        usage = "\n".join(f"  {name:8} {what}" for name, what in COMMANDS.items())
        print(f"usage: python -m lossbook COMMAND ...\n\ncommands:\n{usage}", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    return grade(rest) if command == "grade" else write_reports(rest)
