"""Grade a whole class in parallel: ``python -m lossbook grade ASSIGNMENT [--jobs N] [--timeout S]``.

Each submission (``submitted/<student>/<assignment>/``) is graded by one of ``--jobs`` worker
processes, each running nbgrader's own ``Autograde`` and ``GenerateFeedback`` converters, with the
course's ``nbgrader_config.py`` (so with the sandbox, seals and caps of
:mod:`lossbook.grader.preprocessors`), into a private copy of the course: its own gradebook
(a snapshot of the real one), its own ``autograded/`` and ``feedback/`` folders. When a student is
done, the worker swaps the new ``autograded/<student>/<assignment>`` and ``feedback/...`` folders
into the course, and the parent process alone writes the real ``gradebook.db``: it runs nbgrader's
``SaveAutoGrades`` and ``AssignLatePenalties`` on the graded notebooks, which is what serial
``nbgrader autograde`` does, so the grades are the same.

No submission can stall or sink the run:

- a worker that exceeds the time limit (``--timeout`` per notebook, plus start-up) is killed,
  with its sandboxed kernel, and replaced; the student is listed for a human;
- a notebook that is not valid JSON, not a notebook, or too large gets 0 with the reason;
- within a notebook, loops, crashes and floods of output are handled cell by cell
  (:class:`~lossbook.grader.preprocessors.SandboxedExecute`): the exercises done right before
  (and after) a crash keep their points.

Re-running is safe: every submission is graded again, the new results replace the old ones only
once complete, manual grades stay (nbgrader keeps ``manual_score`` and flags the cell for review),
and a run that fails for the grader's own reasons leaves the recorded grades in place.

Settings are resolved once (:func:`resolve_limits`): a command-line value, else
``nbgrader_config.py``'s, else the preprocessor's own default; the workers get them in the config.
What happened to a notebook travels in the graded notebook's metadata (:mod:`lossbook.grader.notes`).

Outputs: ``grades/<assignment>.csv`` (score, status and reasons per student),
``grades/<assignment>.log`` (nbgrader's warnings), ``grades/<assignment>.jsonl`` (one record per
submission, :mod:`lossbook.grader.records`), the class report ``reports/<assignment>.html`` and
``.csv`` (:mod:`lossbook.grader.report`), feedback, and a summary listing every submission that
needs a human. The command line is :mod:`lossbook.grader.cli`.
"""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from enum import Enum
from multiprocessing.connection import wait
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from lossbook.grader import records, report
from lossbook.grader.course_dir import course_config
from lossbook.grader.notes import notes_of
from lossbook.grader.preprocessors.sandboxed_execute import SandboxedExecute
from lossbook.grader.sandbox import SandboxUnavailable, check_sandbox

MAX_NOTEBOOK_BYTES = 50 * 1024**2
START_SLACK_SECONDS = 180


class UsageError(Exception):
    """The command cannot run as asked (no such assignment, no sandbox, ...)."""


class Status(str, Enum):
    """Whether nbgrader graded a submission."""

    GRADED = "graded"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class Fault(str, Enum):
    """Whose fault a failed submission is: it decides whether recorded grades stay."""

    NONE = ""
    SUBMISSION = "submission"  # unreadable, or refused by nbgrader: scored 0
    GRADER = "grader"  # the grader's own failure: the grades already recorded stay

    def __str__(self) -> str:
        return self.value


@dataclass
class Settings:
    """What to grade and how, as asked on the command line (None: not asked, see
    :func:`resolve_limits`)."""

    course: Path
    assignment: str
    jobs: int = 0
    timeout: int | None = None
    cell_timeout: int | None = None
    sandbox: bool = True
    feedback: bool = True
    students: list[str] | None = None
    progress: bool = True
    report: bool = True

    def __post_init__(self) -> None:
        self.course = Path(self.course).resolve()
        if self.jobs <= 0:
            self.jobs = (
                len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else (os.cpu_count() or 1)
            )

    @property
    def report_dir(self) -> Path:
        return self.course / "grades"


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: Status = Status.GRADED
    reason: str = ""
    fault: Fault = Fault.NONE
    notes: list[dict] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)
    seconds: float = 0.0
    score: float | None = None
    max_score: float | None = None
    needs_human: bool = False
    reasons: list[str] = field(default_factory=list)


# -- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """The time limits a run grades with, each resolved once."""

    notebook_seconds: int
    cell_seconds: int


def resolve_limits(settings: Settings, base: Config) -> Limits:
    """The command line's limits, else ``nbgrader_config.py``'s, else the preprocessor's defaults.

    The defaults live on :class:`~lossbook.grader.preprocessors.SandboxedExecute`'s traits, and
    nowhere else.
    """
    config = Config(base)
    if settings.timeout is not None:
        config.SandboxedExecute.notebook_timeout = settings.timeout
    if settings.cell_timeout is not None:
        config.Execute.timeout = settings.cell_timeout
    execute = SandboxedExecute(config=config)
    return Limits(int(execute.notebook_timeout), int(execute.timeout))


def load_config(settings: Settings, limits: Limits, root: Path, db_url: str) -> Config:
    """The course's nbgrader_config.py, pointed at ``root``/``db_url``, with the run's limits."""
    config = course_config(settings.course)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = db_url
    config.SandboxedExecute.notebook_timeout = limits.notebook_seconds
    config.Execute.timeout = limits.cell_seconds
    config.SandboxedKernelManager.sandbox = settings.sandbox
    config.Autograde.force = True
    config.GenerateFeedback.force = True
    return config


def _uses_sandbox(config: Config) -> bool:
    steps = config.Autograde.get("autograde_preprocessors", [])
    return any(
        "SandboxedExecute" in (step if isinstance(step, str) else step.__name__) for step in steps
    )


def _course_dirs(config: Config) -> tuple[str, str]:
    coursedir = CourseDirectory(config=config)
    return coursedir.source_directory, coursedir.submitted_directory


# -- the worker -----------------------------------------------------------------------------


class _ErrorLog(logging.Handler):
    """Collects the last error nbgrader logged, to give a failed submission a readable reason."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def reason(self) -> str:
        for message in reversed(self.messages):
            lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
            if len(lines) > 1 and lines[0].startswith("Traceback"):
                return lines[-1][:500]
        return self.messages[0][:500] if self.messages else "nbgrader failed (see the log)"


def check_submission(folder: Path, notebooks: list[str]) -> str | None:
    """Why the submitted notebooks cannot be graded at all, or None if they can be tried."""
    # nbgrader copies a submission by following its links: a link to a grader's file would
    # hand that file to the student's code.
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            return (
                f"{path.relative_to(folder)} is a symbolic link (to {os.readlink(path)}): "
                "links are not graded, resubmit the file itself"
            )
    present = [name for name in notebooks if (folder / f"{name}.ipynb").exists()]
    if not present:
        return "no notebook of this assignment was submitted"
    for name in present:
        path = folder / f"{name}.ipynb"
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            limit = MAX_NOTEBOOK_BYTES // 1024**2
            return f"{name}.ipynb is {size / 1024**2:.0f} MB, over the {limit} MB limit"
        try:
            data = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as error:
            return f"{name}.ipynb is not valid JSON ({error})"
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            return f"{name}.ipynb is JSON but not a notebook (no list of cells)"
        try:
            nbformat.reads(json.dumps(data), as_version=4)
        except Exception as error:  # nbformat raises many types for a malformed notebook
            return f"{name}.ipynb is not a readable notebook ({type(error).__name__}: {error})"
    return None


def _swap_in(source: Path, destination: Path) -> None:
    """Replace ``destination`` by a copy of ``source``, never leaving it half-written."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.new-{os.getpid()}")
    old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    if destination.exists():
        os.rename(destination, old)
    os.rename(staging, destination)
    shutil.rmtree(old, ignore_errors=True)


class _Worker:
    """One grading process's state: a private course folder and gradebook."""

    def __init__(self, settings: Settings, limits: Limits, snapshot: Path, private: Path) -> None:
        self.settings = settings
        self.private = private
        private.mkdir(parents=True)
        shutil.copy(snapshot, private / "gradebook.db")
        self.db_url = f"sqlite:///{private / 'gradebook.db'}"
        self.config = load_config(settings, limits, private, self.db_url)
        source, submitted = _course_dirs(self.config)
        self.submitted = settings.course / submitted
        for name in (source, submitted):
            (private / name).symlink_to(settings.course / name)
        with Gradebook(self.db_url) as gradebook:
            assignment = gradebook.find_assignment(settings.assignment)
            self.notebooks = [notebook.name for notebook in assignment.notebooks]

    def grade(self, student: str) -> Outcome:
        started = time.monotonic()
        outcome = Outcome(student)
        try:
            self._grade(student, outcome)
        except Exception as error:  # the grader's own failure: report it, keep the worker alive
            outcome.status, outcome.fault = Status.FAILED, Fault.GRADER
            outcome.reason = f"grading crashed: {type(error).__name__}: {error}"
            logging.getLogger("lossbook.grade").error("%s\n%s", student, traceback.format_exc())
        outcome.seconds = time.monotonic() - started
        return outcome

    def _grade(self, student: str, outcome: Outcome) -> None:
        assignment = self.settings.assignment
        folder = self.submitted / student / assignment
        problem = check_submission(folder, self.notebooks)
        if problem:
            outcome.status, outcome.reason, outcome.fault = Status.FAILED, problem, Fault.SUBMISSION
            return
        errors = _ErrorLog()
        loggers = [logging.getLogger(), logging.getLogger("traitlets")]
        for logger in loggers:
            logger.addHandler(errors)
        try:
            autograde = Autograde(coursedir=self._coursedir(student), config=self.config)
            try:
                autograde.start()
            except NbGraderException:
                # A kernel that cannot start is the grader's fault: the grades already recorded
                # stay; anything else nbgrader refuses is the submission's.
                ours = any("GradingEnvironmentError" in message for message in errors.messages)
                outcome.status = Status.FAILED
                outcome.fault = Fault.GRADER if ours else Fault.SUBMISSION
                outcome.reason = f"nbgrader could not grade it: {errors.reason()}"
                return
            outcome.notebooks = sorted(
                path.stem
                for path in (self.private / "autograded" / student / assignment).glob("*.ipynb")
            )
            if self.settings.feedback:
                errors.messages.clear()
                try:
                    GenerateFeedback(coursedir=self._coursedir(student), config=self.config).start()
                except NbGraderException:
                    outcome.reasons.append(f"feedback not written: {errors.reason()}")
        finally:
            for logger in loggers:
                logger.removeHandler(errors)
        for step in ("autograded", "feedback"):
            made = self.private / step / student / assignment
            if made.exists():
                _swap_in(made, self.settings.course / step / student / assignment)
            shutil.rmtree(self.private / step / student, ignore_errors=True)

    def _coursedir(self, student: str) -> CourseDirectory:
        coursedir = CourseDirectory(config=self.config)
        coursedir.assignment_id = self.settings.assignment
        coursedir.student_id = student
        return coursedir


def _worker_main(
    connection, settings: Settings, limits: Limits, snapshot: Path, private: Path, log_file: Path
) -> None:
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s [worker {os.getpid()}] %(levelname)s %(message)s")
    )
    handler.setLevel(logging.WARNING)
    for logger in (logging.getLogger(), logging.getLogger("traitlets")):
        logger.handlers = [handler]
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    worker = _Worker(settings, limits, snapshot, private)
    # Kernels keep their runtime folders here, so that the run's clean-up removes them even
    # when this worker is killed mid-notebook.
    tempfile.tempdir = str(private)
    connection.send("ready")
    while True:
        student = connection.recv()
        if student is None:
            return
        connection.send(asdict(worker.grade(student)))


# -- the parent -----------------------------------------------------------------------------


def _snapshot(database: Path, copy: Path) -> None:
    source = sqlite3.connect(database)
    target = sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()


class _Pool:
    """Worker processes with a hard time limit per submission; a worker past it is killed."""

    def __init__(
        self, settings: Settings, limits: Limits, snapshot: Path, run_dir: Path, limit: float
    ) -> None:
        self.settings, self.limits, self.snapshot = settings, limits, snapshot
        self.run_dir, self.limit = run_dir, limit
        self.context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        self.log_file = settings.report_dir / f"{settings.assignment}.log"
        self.count = 0
        self.idle: list = []
        self.busy: dict = {}

    def _start(self):
        self.count += 1
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=_worker_main,
            daemon=True,
            args=(
                child,
                self.settings,
                self.limits,
                self.snapshot,
                self.run_dir / f"worker-{self.count}",
                self.log_file,
            ),
        )
        process.start()
        child.close()
        return parent, process

    def run(self, students: list[str], on_done) -> None:
        queue = list(students)
        starting = dict(self._start() for _ in range(min(self.settings.jobs, len(queue))))
        finished: list[Outcome] = []
        while queue or self.busy or finished:
            # Hand out work first: the gradebook writes below must not keep a worker waiting.
            while queue and self.idle:
                process, connection = self.idle.pop()
                student = queue.pop(0)
                connection.send(student)
                self.busy[connection] = (process, student, time.monotonic())
            for outcome in finished:
                on_done(outcome)
            finished = []
            if not queue and not self.busy:
                break
            if not starting and not self.busy and not self.idle:
                raise UsageError(f"no grading worker could start: see {self.log_file}")
            for connection in wait(list(starting) + list(self.busy), timeout=1.0):
                try:
                    message = connection.recv()
                except (EOFError, OSError):
                    message = None
                if connection in starting:
                    process = starting.pop(connection)
                    if message == "ready":
                        self.idle.append((process, connection))
                    else:
                        process.join(5)
                    continue
                process, student, _ = self.busy.pop(connection)
                if message is None:
                    process.join(5)
                    finished.append(
                        Outcome(student, Status.FAILED, "the grading process died", Fault.GRADER)
                    )
                    starting.update([self._start()])
                else:
                    finished.append(Outcome(**message))
                    self.idle.append((process, connection))
            now = time.monotonic()
            for connection, (process, student, started) in list(self.busy.items()):
                if now - started > self.limit:
                    process.kill()
                    process.join(5)
                    del self.busy[connection]
                    finished.append(
                        Outcome(
                            student,
                            Status.FAILED,
                            f"grading took longer than {self.limit:.0f} s and was stopped",
                            Fault.GRADER,
                        )
                    )
                    starting.update([self._start()])
        for process, connection in self.idle:
            connection.send(None)
            process.join(10)
        for process in starting.values():
            process.kill()


def _record(
    settings: Settings, config: Config, outcome: Outcome
) -> dict[str, nbformat.NotebookNode]:
    """Write one outcome into the real gradebook, the way nbgrader autograde would.

    Returns the graded notebooks, whose metadata carries the grader's notes and findings.
    """
    assignment, student = settings.assignment, outcome.student
    db_url = config.CourseDirectory.db_url
    folder = settings.course / _course_dirs(config)[1] / student / assignment
    coursedir = CourseDirectory(config=config)
    timestamp = coursedir.get_existing_timestamp(str(folder))
    graded = outcome.status == Status.GRADED
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_student(student)
        if timestamp:
            gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(assignment, student)
        names = [notebook.name for notebook in gradebook.find_assignment(assignment).notebooks]
        for name in names:
            if name in outcome.notebooks or (graded and (folder / f"{name}.ipynb").exists()):
                continue
            # Not graded this time: a missing notebook scores 0 (as in nbgrader); a failed one
            # scores 0 if it is the submission's fault, and keeps its grades if it is ours.
            submission = gradebook.find_submission_notebook(name, assignment, student)
            for grade in submission.grades:
                if graded or outcome.fault == Fault.SUBMISSION:
                    grade.auto_score = 0
                    grade.needs_manual_grade = not graded
                else:
                    grade.needs_manual_grade = True
                    if grade.auto_score is None:
                        grade.auto_score = 0
            gradebook.db.commit()
    notebooks = records.graded_notebooks(settings.course, assignment, student)
    notebooks = {name: nb for name, nb in notebooks.items() if name in outcome.notebooks}
    for name, notebook in notebooks.items():
        resources = {
            "nbgrader": {
                "student": student,
                "assignment": assignment,
                "notebook": name,
                "db_url": db_url,
            }
        }
        for step in (SaveAutoGrades, AssignLatePenalties):
            step(config=config).preprocess(notebook, resources)
    return notebooks


def _summarise(
    settings: Settings,
    config: Config,
    outcome: Outcome,
    notebooks: dict[str, nbformat.NotebookNode],
) -> dict:
    """Fill in the score, the notes and the reasons a human should look; return the record."""
    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        scores, outcome.score, outcome.max_score, flagged = records.gradebook_scores(
            gradebook, settings.assignment, outcome.student
        )
    outcome.notes = [asdict(note) for nb in notebooks.values() for note in notes_of(nb)]
    graded = outcome.status == Status.GRADED
    if not graded:
        outcome.reasons.insert(0, outcome.reason)
    outcome.reasons += [_note_text(note) for note in outcome.notes if note["human"]]
    if flagged and graded:
        outcome.reasons.append(f"nbgrader asks for a manual grade of {', '.join(flagged)}")
    outcome.needs_human = not graded or bool(outcome.reasons)
    return records.graded_record(
        outcome.student,
        settings.assignment,
        notebooks,
        scores,
        status=outcome.status,
        needs_human=outcome.needs_human,
        reasons=outcome.reasons,
        score=outcome.score,
        max_score=outcome.max_score,
    )


def _note_text(note: dict) -> str:
    return (
        f"{note['notebook']}, {note['cell']}: {note['message']}"
        if note["cell"]
        else (f"{note['notebook']}: {note['message']}")
    )


def _write_csv(settings: Settings, outcomes: list[Outcome]) -> Path:
    path = settings.report_dir / f"{settings.assignment}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student_id",
                "assignment",
                "score",
                "max_score",
                "status",
                "seconds",
                "notes",
                "needs_human_because",
            ]
        )
        for outcome in sorted(outcomes, key=lambda o: o.student):
            writer.writerow(
                [
                    outcome.student,
                    settings.assignment,
                    "" if outcome.score is None else f"{outcome.score:g}",
                    "" if outcome.max_score is None else f"{outcome.max_score:g}",
                    "needs a human" if outcome.needs_human else "ok",
                    f"{outcome.seconds:.1f}",
                    "; ".join(_note_text(note) for note in outcome.notes if not note["human"]),
                    "; ".join(outcome.reasons),
                ]
            )
    return path


def grade_assignment(settings: Settings) -> list[Outcome]:
    """Grade every submission of ``settings.assignment``; return one outcome per student.

    Also writes the grades CSV, the submissions' records and (``settings.report``) the class report.
    """
    # nbgrader's gradebook API trips SQLAlchemy's autoflush warnings; they are noise here.
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    course = settings.course
    database = course / "gradebook.db"
    limits = resolve_limits(settings, course_config(course))
    config = load_config(settings, limits, course, f"sqlite:///{database}")
    if not database.exists():
        raise UsageError(
            f"no gradebook at {database}: run `nbgrader generate_assignment "
            f"{settings.assignment}` first"
        )
    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        try:
            gradebook.find_assignment(settings.assignment)
        except MissingEntry:
            raise UsageError(
                f"assignment '{settings.assignment}' is not in the gradebook: run "
                f"`nbgrader generate_assignment {settings.assignment}` first"
            ) from None
    if settings.sandbox:
        if not _uses_sandbox(config):
            raise UsageError(
                "nbgrader_config.py does not run student code in the sandbox: add "
                "lossbook.grader.preprocessors.sandboxed_execute.SandboxedExecute to "
                "c.Autograde.autograde_preprocessors, or pass --no-sandbox (unsafe)"
            )
        try:
            check_sandbox()
        except SandboxUnavailable as error:
            raise UsageError(str(error)) from None
    source, submitted_dir = _course_dirs(config)
    submitted = course / submitted_dir
    students = sorted(
        path.parent.name for path in submitted.glob(f"*/{settings.assignment}") if path.is_dir()
    )
    if settings.students is not None:
        students = [student for student in students if student in settings.students]
    if not students:
        raise UsageError(f"no submissions in {submitted}/*/{settings.assignment}")
    settings.report_dir.mkdir(exist_ok=True)
    notebooks = max(1, len(list((course / source / settings.assignment).glob("*.ipynb"))))
    limit = limits.notebook_seconds * notebooks + START_SLACK_SECONDS

    from tqdm import tqdm

    outcomes: list[Outcome] = []
    graded_records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="lossbook-grade-") as run:
        run_dir = Path(run)
        snapshot = run_dir / "gradebook.db"
        _snapshot(database, snapshot)
        tqdm.monitor_interval = 0
        bar = tqdm(
            total=len(students),
            unit="submission",
            desc=f"grading {settings.assignment}",
            disable=not settings.progress,
            file=sys.stderr,
        )
        human = 0

        def on_done(outcome: Outcome) -> None:
            nonlocal human
            graded = _record(settings, config, outcome)
            graded_records.append(_summarise(settings, config, outcome, graded))
            outcomes.append(outcome)
            human += outcome.needs_human
            bar.set_postfix(needs_human=human)
            bar.update()

        try:
            _Pool(settings, limits, snapshot, run_dir, limit).run(students, on_done)
        finally:
            bar.close()
    _write_csv(settings, outcomes)
    records.write_records(course, settings.assignment, graded_records)
    if settings.report:
        report.write_report(course, settings.assignment)
    return sorted(outcomes, key=lambda o: o.student)


def summary(settings: Settings, outcomes: list[Outcome], seconds: float) -> str:
    """The end-of-run summary: totals, then every submission that needs a human and why."""
    human = [outcome for outcome in outcomes if outcome.needs_human]
    lines = [
        f"Graded {len(outcomes)} submissions of {settings.assignment} in {seconds:.1f} s "
        f"({settings.jobs} jobs); {len(human)} need a human.",
        f"Grades: {settings.report_dir / (settings.assignment + '.csv')}",
    ]
    if settings.report:
        lines.append(f"Class report: {report.report_path(settings.course, settings.assignment)}")
    for outcome in human:
        score = "no score" if outcome.score is None else f"{outcome.score:g}/{outcome.max_score:g}"
        lines.append(f"  {outcome.student} ({score}):")
        lines += [f"    - {reason}" for reason in outcome.reasons]
    return "\n".join(lines)
