"""Batch grading vs serial ``nbgrader autograde``: same grades, how much faster.

Builds a class of synthetic submissions (``tests/adversarial/synthetic.py``: every assignment
there, plus the real course's assignments when ``solutions/`` has any), then grades identical
copies of the course three ways and compares the gradebooks cell by cell:

- ``serial``: ``nbgrader autograde ASSIGNMENT`` with the course's ``nbgrader_config.py``
  (sandboxed kernels, seals, ...), one submission after another;
- ``batch``: ``python -m lossbook grade ASSIGNMENT --jobs N --no-feedback --no-report`` (feedback
  and the class report, timed by ``bench/bench_report.py``, are off so that both do the same work);
- ``vanilla`` (with ``--vanilla``): ``nbgrader autograde`` with nbgrader 0.9.6's defaults, the
  issue's baseline.

Run from the repo root::

    .venv/bin/python bench/bench_grading.py [--students 30] [--real-students 2] [--jobs 2] [--vanilla]

Modes take turns assignment by assignment, so that changes in the machine's load fall on all of
them alike.

Results go to ``artifacts/bench_grading.json``. Wall-clock numbers depend on what else the
machine is doing: run it on an idle machine for figures to quote.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
synthetic = importlib.import_module("tests.adversarial.synthetic")

VARIANTS = {
    "correct": {},
    "sum_mistake": {
        "mse": "return ((input - target) ** 2).sum()",
        "huber": "return (input - target).abs().sum()",
    },
    "missing_square": {
        "mse": "return (input - target).mean()",
        "smooth_l1": "return (input - target).mean()",
    },
}


def build_class(course: Path, students: int, real_students: int) -> dict[str, list[str]]:
    """The course: ``students`` submissions per synthetic assignment, ``real_students`` per
    chapter of the real course; returns who submitted what."""
    synthetic.make_course(course, synthetic.ASSIGNMENTS)
    roster: dict[str, list[str]] = {}
    for assignment, exercises in synthetic.ASSIGNMENTS.items():
        roster[assignment] = []
        for number in range(students):
            student = f"student{number:02d}"
            kind = list(VARIANTS) + ["blank"]
            kind = kind[number % len(kind)]
            if kind == "blank":
                notebook = synthetic.release_notebook(course, assignment)
            else:
                bodies = {
                    exercise.name: synthetic.answer(exercise, VARIANTS[kind][exercise.name])
                    for exercise in exercises
                    if exercise.name in VARIANTS[kind]
                }
                notebook = synthetic.solved(course, assignment, **bodies)
            synthetic.submit(course, student, notebook, assignment)
            roster[assignment].append(student)
    roster.update(_real_assignments(course, real_students))
    return roster


def _real_assignments(course: Path, students: int) -> dict[str, list[str]]:
    """The course's own chapters: its solutions submitted as-is, and blank release notebooks."""
    import nbformat
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    roster = {}
    for folder in sorted((REPO / "solutions").glob("*")):
        if students == 0 or not folder.is_dir() or not list(folder.glob("*.ipynb")):
            continue
        assignment = folder.name
        shutil.copytree(folder, course / "solutions" / assignment)
        config = synthetic.course_config(course)
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        GenerateAssignment(coursedir=coursedir, config=config, force=True).start()
        roster[assignment] = []
        for number in range(students):
            student = f"student{number:02d}"
            target = course / "submitted" / student / assignment
            target.mkdir(parents=True, exist_ok=True)
            source = folder if number % 4 else course / "notebooks" / assignment
            for path in source.glob("*.ipynb"):
                nbformat.write(nbformat.read(path, as_version=4), target / path.name)
            (target / "timestamp.txt").write_text("2026-01-05 12:00:00.000000 UTC")
            roster[assignment].append(student)
    return roster


def _copy(course: Path, destination: Path) -> Path:
    shutil.copytree(
        course, destination, symlinks=True, ignore=shutil.ignore_patterns("gradebook.db")
    )
    with (
        sqlite3.connect(course / "gradebook.db") as source,
        sqlite3.connect(destination / "gradebook.db") as target,
    ):
        source.backup(target)
    return destination


def _run(command: list[str], course: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (the command and everything it started) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=course,
        env=synthetic.grading_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


_SPIN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"


def cpu_capacity(jobs: int) -> float:
    """How many CPU-bound processes' worth of work the machine does now when ``jobs`` run at
    once (``jobs`` on an idle machine with that many free cores, less when others share them)."""

    def spin(count: int) -> float:
        started = time.monotonic()
        processes = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(count)]
        for process in processes:
            process.wait()
        return time.monotonic() - started

    return round(jobs * spin(1) / spin(jobs), 2)


def _scores(course: Path, roster: dict[str, list[str]]) -> dict[str, float | None]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment, students in roster.items():
            for student in students:
                submission = gradebook.find_submission(assignment, student)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        key = f"{assignment}/{student}/{notebook.name}/{grade.name}"
                        scores[key] = grade.auto_score
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--students", type=int, default=30, help="submissions per synthetic assignment"
    )
    parser.add_argument(
        "--real-students",
        type=int,
        default=2,
        help="submissions per chapter of the real course (solutions/)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--vanilla",
        action="store_true",
        help="also time nbgrader autograde with nbgrader's defaults",
    )
    parser.add_argument("--keep", action="store_true", help="keep the course folders")
    args = parser.parse_args()

    load_at_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    print(f"building the class in {work} ...", flush=True)
    roster = build_class(work / "course", args.students, args.real_students)
    total = sum(len(students) for students in roster.values())
    print(f"{total} submissions across {len(roster)} assignments: {', '.join(roster)}", flush=True)

    modes = {
        "serial": [sys.executable, "-m", "nbgrader", "autograde"],
        "batch": [
            sys.executable,
            "-m",
            "lossbook",
            "grade",
            "--jobs",
            str(args.jobs),
            "--no-feedback",
            "--no-report",
            "--no-progress",
        ],
    }
    if args.vanilla:
        modes["vanilla"] = [sys.executable, "-m", "nbgrader", "autograde"]
    courses = {mode: _copy(work / "course", work / mode) for mode in modes}
    if args.vanilla:
        (courses["vanilla"] / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            "c.CourseDirectory.course_id = 'lossbook'\n"
            "c.CourseDirectory.source_directory = 'solutions'\n"
            "c.CourseDirectory.release_directory = 'notebooks'\n"
            "c.Execute.timeout = 60\n"
        )
    # Modes take turns, assignment by assignment, so that a change in the machine's load
    # (other jobs) falls on all of them alike.
    wall = dict.fromkeys(modes, 0.0)
    cpu = dict.fromkeys(modes, 0.0)
    per_assignment = {}
    capacity = []
    for turn, assignment in enumerate(roster):
        order = list(modes) if turn % 2 == 0 else list(reversed(modes))
        capacity.append(cpu_capacity(args.jobs))
        for mode in order:
            seconds, cpu_seconds = _run(modes[mode] + [assignment], courses[mode])
            wall[mode] += seconds
            cpu[mode] += cpu_seconds
            per_assignment.setdefault(assignment, {"submissions": len(roster[assignment])})[
                f"{mode}_s"
            ] = round(seconds, 1)
        print(
            f"{assignment:18} " + "  ".join(f"{mode} {wall[mode]:6.1f} s" for mode in modes),
            flush=True,
        )
    results = {}
    for mode in modes:
        results[mode] = {
            "seconds": round(wall[mode], 1),
            "wall_per_submission_s": round(wall[mode] / total, 2),
            "cpu_per_submission_s": round(cpu[mode] / total, 2),
            "submissions_per_minute": round(60 * total / wall[mode], 1),
            "scores": _scores(courses[mode], roster),
        }
    # Time one worker spent on each submission, from the batch command's CSV.
    worker = [
        float(row["seconds"])
        for assignment in roster
        for row in csv.DictReader((courses["batch"] / "grades" / f"{assignment}.csv").open())
    ]
    results["batch"]["worker_seconds_per_submission"] = round(sum(worker) / len(worker), 2)

    same = results["serial"]["scores"] == results["batch"]["scores"]
    ratio = results["serial"]["seconds"] / results["batch"]["seconds"]
    summary = {
        "submissions": total,
        "assignments": list(roster),
        "jobs": args.jobs,
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "same_grades_serial_vs_batch": same,
        "throughput_ratio_batch_over_serial": round(ratio, 2),
        "cpu_capacity_with_jobs": {
            "mean": round(sum(capacity) / len(capacity), 2),
            "per_assignment": capacity,
        },
    }
    if "vanilla" in results:
        vanilla = results["vanilla"]["scores"]
        summary["same_grades_vanilla_vs_batch"] = vanilla == results["batch"]["scores"]
        summary["throughput_ratio_batch_over_vanilla"] = round(
            results["vanilla"]["seconds"] / results["batch"]["seconds"], 2
        )
    for mode, result in results.items():
        summary[mode] = {key: value for key, value in result.items() if key != "scores"}
    summary["per_assignment"] = per_assignment
    summary["note"] = (
        "cpu_capacity_with_jobs: throughput of `jobs` CPU-bound processes run at once over one "
        "run alone, probed before each assignment; it bounds the ratio the machine allowed. "
        "cpu_per_submission_s counts only processes that were waited for: sandboxed kernels "
        "(killed with their bwrap) are missing from serial and batch"
    )
    out = REPO / "artifacts" / "bench_grading.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if not same:
        sys.exit("serial and batch grades differ")


if __name__ == "__main__":
    main()
