"""The class report: what the class got wrong, how many students, on which exercise, where it is taught.

``python -m lossbook report ASSIGNMENT`` (and the end of every ``python -m lossbook grade``) writes
``reports/<assignment>.html``, one self-contained page (figures embedded, no request leaves it), and
``reports/<assignment>.csv``; ``--all`` adds ``reports/all.html`` and ``all.csv``, the view across
chapters. It reads the submissions' records (:mod:`lossbook.grader.records`), the course's sections
(:mod:`lossbook.grader.sections`) and the exercises of the instructor's notebooks, and never runs
student code.

Per exercise (an answer cell and the test cells that follow it): the score distribution, the share
of full / partial / zero scores, the median time its tests took; the named misconceptions the
checks found (students counted once per exercise), ranked, each with the section that teaches it and
up to two anonymised answers; the failures no mistake explains, clustered by how the answer relates
to the expected value on the smallest failing case (:func:`signature`); and the submissions that
need a human, with the reason.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lossbook.checks.seal import UNRECOGNISED
from lossbook.grader import records as _records
from lossbook.grader import report_page
from lossbook.grader.cells import exercise_of, grade_id, is_test_cell
from lossbook.grader.course_dir import folders
from lossbook.grader.sections import CourseMap, Section, course_map, every_mistake

MAX_EXAMPLES = 2
REPORTS = "reports"
ALL = "all"


class ReportError(Exception):
    """The report cannot be written as asked (no such assignment, nothing graded)."""


@dataclass(frozen=True)
class Exercise:
    """An answer cell of the instructor's notebook and the test cells that check it."""

    notebook: str
    key: str
    tests: tuple[str, ...]
    points: float
    section: Section | None


@dataclass
class Group:
    """Students who share one finding on one exercise: a named mistake or a failure signature."""

    key: str
    label: str
    students: list[str] = field(default_factory=list)
    section: Section | None = None
    examples: list[str] = field(default_factory=list)


@dataclass
class ExerciseReport:
    """Everything the report says about one exercise."""

    exercise: Exercise
    scores: list[float]
    seconds: list[float]
    mistakes: list[Group]
    unrecognised: list[Group]

    @property
    def full(self) -> int:
        return sum(score >= self.exercise.points for score in self.scores)

    @property
    def zero(self) -> int:
        return sum(score <= 0 for score in self.scores)

    @property
    def partial(self) -> int:
        return len(self.scores) - self.full - self.zero

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


@dataclass
class AssignmentReport:
    """One assignment's report."""

    assignment: str
    students: list[str]
    exercises: list[ExerciseReport]
    humans: list[tuple[str, list[str]]]
    link_template: str


# -- the exercises -----------------------------------------------------------------------------


def exercises_of(source: Path, assignment: str, sections: CourseMap) -> list[Exercise]:
    """The exercises of an assignment's instructor notebooks, in order."""
    found: list[Exercise] = []
    for path in sorted((Path(source) / assignment).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        tests: dict[str, list[str]] = {}
        points: dict[str, float] = defaultdict(float)
        for index, cell in enumerate(notebook.cells):
            if is_test_cell(cell):
                key = exercise_of(notebook.cells, index)
                tests.setdefault(key, []).append(grade_id(cell))
                points[key] += float(cell.metadata["nbgrader"].get("points", 0))
        found += [
            Exercise(
                path.stem, key, tuple(cells), points[key], sections.for_exercise(assignment, key)
            )
            for key, cells in tests.items()
        ]
    return found


# -- clustering what no mistake explains -------------------------------------------------------


_NUMBER = re.compile(r"-?(?:inf|nan|\d+(?:\.\d*)?(?:e[+-]?\d+)?)")


def _numbers(value) -> list[float] | None:
    """The numbers of a value as the checks show it (``2.25``, ``[[1.0, nan], ...]``, ``loss: 2.0;
    grad: [1.0]``), or None when it is not made of numbers (``"an error: ..."``, a shape)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, list):
        parsed = [_numbers(item) for item in value]
        return None if any(p is None for p in parsed) else [x for p in parsed for x in p]
    # "d/dpred: [2.0]; d/dtarget: [-2.0]": the values after each part's label.
    text = " ".join(part.rsplit(": ", 1)[-1] for part in str(value).split(";"))
    if re.sub(r"[\s\[\](),;]", "", _NUMBER.sub("", text)) or not _NUMBER.search(text):
        return None
    return [float(token) for token in _NUMBER.findall(text)]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


def signature(expected, got, case: str | None = None) -> str:
    """How a wrong answer relates to the expected one, on the smallest failing case.

    Answers off by one factor everywhere (named "N" when it is the case's ``N=…``, the usual
    sum-instead-of-mean), of the wrong sign, shifted by one constant, NaN or infinite, of the
    wrong size, raising an error, or none of these.

    Example:
        >>> signature("[1.0, 2.0]", "[4.0, 8.0]"), signature("2.0", "-2.0"), signature("1.0", "nan")
        ('off by a factor 4', 'wrong sign', 'NaN')
        >>> signature("2.0", "an error: RuntimeError: shape mismatch")
        'raised RuntimeError'
        >>> signature("2.0", "inf"), signature("2.0", "None: the function returns nothing")
        ('infinite', 'no value to compare')
        >>> signature("d/dpred: [2.0]", "d/dpred: [14.0]"), signature("1.0", "1.25")
        ('off by a factor 7', 'off by a constant +0.25')
        >>> signature("5000.0", "20000.0", case="extreme logits: N=4")
        'off by a factor N (4)'

        >>> signature([1.0, 2.0], [0.5, 1.0]), signature([1.0, 2.0], [1.5, 2.5])
        ('off by a factor 1/2', 'off by a constant +0.5')
        >>> signature(1.0, [1.0, 2.0]), signature(None, None), signature([1.0, 2.0], [3.0, 1.0])
        ('wrong number of values (1 expected, 2 got)', 'no value to compare', 'other wrong values')
    """
    if isinstance(got, str) and got.startswith("an error"):
        return "raised " + got.removeprefix("an error:").strip().split(":")[0][:60]
    want, have = _numbers(expected), _numbers(got)
    if have is not None and any(math.isnan(v) for v in have):
        return "NaN"
    if have is not None and any(math.isinf(v) for v in have):
        return "infinite"
    if want is None or have is None:
        return "no value to compare"
    if len(want) != len(have):
        return f"wrong number of values ({len(want)} expected, {len(have)} got)"
    pairs = list(zip(want, have, strict=True))
    if any(not math.isfinite(w) for w in want):
        return "other wrong values"
    if any(w != 0 for w in want) and all(_close(h, -w) for w, h in pairs):
        return "wrong sign"
    ratios = [h / w for w, h in pairs if w != 0]
    factor = (
        ratios
        and all(_close(r, ratios[0]) for r in ratios)
        and all(_close(h, 0) for w, h in pairs if w == 0)
        and not _close(ratios[0], 1)
        and ratios[0] != 0
    )
    # One value fits a factor and a shift alike: a whole (or 1/whole) factor is the likelier.
    if factor and (len(pairs) > 1 or _whole(ratios[0])):
        size = re.search(r"\bN=(\d+)", case or "")
        if size and int(size.group(1)) > 1 and _close(ratios[0], int(size.group(1))):
            return f"off by a factor N ({size.group(1)})"
        return f"off by a factor {_ratio_name(ratios[0])}"
    shifts = [h - w for w, h in pairs]
    if all(_close(d, shifts[0]) for d in shifts) and not _close(shifts[0], 0):
        return f"off by a constant {shifts[0]:+.3g}"
    return "other wrong values"


def _whole(ratio: float) -> bool:
    """True for ±2, ±3, ... and ±1/2, ±1/3, ...: the factors of a known kind of slip."""
    if abs(ratio) >= 1:
        return _close(ratio, round(ratio))
    return _close(1 / ratio, round(1 / ratio))


def _ratio_name(ratio: float) -> str:
    """``4.0`` -> ``"4"``, ``0.25`` -> ``"1/4"``, ``-2`` -> ``"-2"``, ``1.37`` -> ``"1.37"``."""
    if abs(ratio) >= 1 and _close(ratio, round(ratio)):
        return f"{round(ratio)}"
    if abs(ratio) < 1 and _close(1 / ratio, round(1 / ratio)):
        inverse = round(1 / ratio)
        return f"-1/{-inverse}" if inverse < 0 else f"1/{inverse}"
    return f"{ratio:.3g}"


# -- analysis -----------------------------------------------------------------------------------


def _examples(answers: list[str]) -> list[str]:
    """The shortest distinct answers, at most :data:`MAX_EXAMPLES`."""
    distinct = sorted({answer for answer in answers if answer}, key=lambda a: (len(a), a))
    return distinct[:MAX_EXAMPLES]


def _count(group: Group, record: dict, exercise: str) -> None:
    """Count a student once in a group, keeping their answer as a candidate example."""
    if record["student"] not in group.students:
        group.students.append(record["student"])
        group.examples.append(record["answers"].get(exercise, ""))


def analyse(
    assignment: str,
    graded: list[dict],
    exercises: list[Exercise],
    sections: CourseMap,
    link_template: str,
) -> AssignmentReport:
    """Count, per exercise, the scores, misconceptions and unexplained failures of ``graded``."""
    names = {key: mistake.name for key, mistake in every_mistake().items()}
    of_cell = {test: exercise.key for exercise in exercises for test in exercise.tests}
    # One pass over the records: each student's cells, findings and failures, by exercise.
    by_exercise: dict[str, list[tuple[dict, list, list, list]]] = {e.key: [] for e in exercises}
    for record in graded:
        buckets = {key: ([], [], []) for key in by_exercise}
        for kind, entries in enumerate((record["cells"], record["findings"], record["failures"])):
            for entry in entries:
                key = of_cell.get(entry["cell"])
                if key is not None:
                    buckets[key][kind].append(entry)
        for key, (cells, findings, failures) in buckets.items():
            by_exercise[key].append((record, cells, findings, failures))
    reports = []
    for exercise in exercises:
        scores, seconds = [], []
        mistakes: dict[str, Group] = {}
        clusters: dict[str, Group] = {}

        for record, cells, findings, failures in by_exercise[exercise.key]:
            scores.append(sum(cell["score"] for cell in cells))
            timed = [cell["seconds"] for cell in cells if cell["seconds"] is not None]
            if timed:
                seconds.append(sum(timed))
            for finding in findings:
                key = finding["mistake"]
                if key == UNRECOGNISED:
                    label = signature(
                        finding.get("expected"), finding.get("got"), finding.get("case")
                    )
                    _count(clusters.setdefault(label, Group(label, label)), record, exercise.key)
                    continue
                if key not in mistakes:
                    label = finding.get("mistake_name") or names.get(key, key)
                    section = sections.teaching(assignment, exercise.key, key)
                    mistakes[key] = Group(key, label, section=section)
                _count(mistakes[key], record, exercise.key)
            for failure in failures:
                label = f"failed without a check's record: {failure['error']}"
                _count(clusters.setdefault(label, Group(label, label)), record, exercise.key)
        for group in [*mistakes.values(), *clusters.values()]:
            group.examples = _examples(group.examples)
        rank = lambda group: (-len(group.students), group.key)  # noqa: E731
        reports.append(
            ExerciseReport(
                exercise,
                scores,
                seconds,
                sorted(mistakes.values(), key=rank),
                sorted(clusters.values(), key=rank),
            )
        )
    humans = [
        (record["student"], record["reasons"] or ["flagged"])
        for record in graded
        if record["needs_human"]
    ]
    return AssignmentReport(
        assignment,
        [record["student"] for record in graded],
        reports,
        sorted(humans),
        link_template,
    )


# -- across chapters ----------------------------------------------------------------------------


@dataclass
class ClassView:
    """Every assignment's misconceptions, by student: the matrix and what persists."""

    assignments: list[str]
    students: list[str]
    mistakes: list[tuple[str, str]]
    """(key, name) of every named mistake found, most students first."""
    matrix: dict[tuple[str, str], list[str]]
    """(student, mistake key) -> the assignments in which the student showed it."""

    def persisting(self) -> list[tuple[str, str, list[str], list[str]]]:
        """(key, name, assignments where found, students who showed it in two or more)."""
        rows = []
        for key, name in self.mistakes:
            where = sorted(
                {a for (_, k), found in self.matrix.items() if k == key for a in found},
                key=self.assignments.index,
            )
            again = sorted(
                student
                for (student, k), found in self.matrix.items()
                if k == key and len(found) >= 2
            )
            rows.append((key, name, where, again))
        return sorted(rows, key=lambda row: (-len(row[3]), -len(row[2]), row[0]))


def class_view(graded: dict[str, list[dict]]) -> ClassView:
    """The student × misconception view of several assignments' records."""
    names = {key: mistake.name for key, mistake in every_mistake().items()}
    matrix: dict[tuple[str, str], list[str]] = defaultdict(list)
    counts: Counter[str] = Counter()
    students: set[str] = set()
    for assignment, rows in graded.items():
        for record in rows:
            students.add(record["student"])
            for finding in record["findings"]:
                key = finding["mistake"]
                if key == UNRECOGNISED:
                    continue
                names.setdefault(key, finding.get("mistake_name") or key)
                cell = (record["student"], key)
                if assignment not in matrix[cell]:
                    matrix[cell].append(assignment)
    counts.update(key for _, key in matrix)
    mistakes = [
        (key, names[key]) for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return ClassView(list(graded), sorted(students), mistakes, dict(matrix))


# -- files --------------------------------------------------------------------------------------


def report_path(course: Path, assignment: str) -> Path:
    """Where an assignment's report is written."""
    return Path(course) / REPORTS / f"{assignment}.html"


def write_csv(report: AssignmentReport, path: Path) -> Path:
    """One row per finding group, per exercise's score shares, and per submission for a human."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "assignment",
                "exercise",
                "kind",
                "key",
                "label",
                "students",
                "share",
                "section",
                "link",
            ]
        )
        total = max(len(report.students), 1)
        for item in report.exercises:
            key = item.exercise.key
            for kind, count in (
                ("full", item.full),
                ("partial", item.partial),
                ("zero", item.zero),
            ):
                writer.writerow(
                    [
                        report.assignment,
                        key,
                        "score",
                        kind,
                        f"{kind} score",
                        count,
                        f"{count / total:.4f}",
                        "",
                        "",
                    ]
                )
            seconds = item.median_seconds
            writer.writerow(
                [
                    report.assignment,
                    key,
                    "median_seconds",
                    "",
                    "median time its tests took",
                    "",
                    "" if seconds is None else f"{seconds:.3f}",
                    "",
                    "",
                ]
            )
            for kind, groups in (("mistake", item.mistakes), ("unrecognised", item.unrecognised)):
                for group in groups:
                    section = group.section
                    writer.writerow(
                        [
                            report.assignment,
                            key,
                            kind,
                            group.key,
                            group.label,
                            len(group.students),
                            f"{len(group.students) / total:.4f}",
                            section.describe() if section else "",
                            section.link(report.link_template) if section else "",
                        ]
                    )
        for student, reasons in report.humans:
            writer.writerow(
                [report.assignment, "", "needs_human", student, "; ".join(reasons), "", "", "", ""]
            )
    return path


def write_class_csv(view: ClassView, path: Path) -> Path:
    """The student × misconception matrix: each cell lists the assignments where it was seen."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *(key for key, _ in view.mistakes)])
        for student in view.students:
            writer.writerow(
                [
                    student,
                    *(" ".join(view.matrix.get((student, key), [])) for key, _ in view.mistakes),
                ]
            )
    return path


def _context(course: Path) -> tuple[Path, CourseMap, str]:
    dirs = folders(course)
    source = Path(course) / dirs.source_directory
    if not source.is_dir():
        raise ReportError(f"no instructor notebooks in {source}")
    link = f"../{dirs.release_directory}/{{chapter}}/{{notebook}}#{{anchor}}"
    return source, course_map(source), link


def build(course: Path, assignment: str, context=None) -> AssignmentReport:
    """The report of one assignment, from its records."""
    source, sections, link = context or _context(course)
    if not (source / assignment).is_dir():
        raise ReportError(f"no assignment '{assignment}' in {source}")
    graded = _records.load_records(course, assignment)
    if not graded:
        raise ReportError(
            f"nothing of '{assignment}' is graded yet: run `python -m lossbook grade {assignment}`"
        )
    return analyse(assignment, graded, exercises_of(source, assignment, sections), sections, link)


def write_report(course: Path, assignment: str, context=None) -> Path:
    """Write ``reports/<assignment>.html`` and ``.csv``; return the HTML's path."""
    report = build(course, assignment, context)
    path = report_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(report, path.with_suffix(".csv"))
    path.write_text(report_page.assignment_page(report))
    return path


def graded_assignments(course: Path) -> list[str]:
    """Assignments with records, or with graded submissions, in course order."""
    source, _, _ = _context(course)
    names = sorted(path.name for path in source.iterdir() if path.is_dir())
    autograded = Path(course) / "autograded"
    return [
        name
        for name in names
        if _records.records_path(course, name).exists() or any(autograded.glob(f"*/{name}"))
    ]


def write_all(course: Path) -> list[Path]:
    """Every graded assignment's report, then ``reports/all.html`` and ``all.csv``."""
    context = _context(course)
    assignments = graded_assignments(course)
    if not assignments:
        raise ReportError("no assignment is graded yet")
    written = [write_report(course, name, context) for name in assignments]
    view = class_view({name: _records.load_records(course, name) for name in assignments})
    path = report_path(course, ALL)
    write_class_csv(view, path.with_suffix(".csv"))
    path.write_text(report_page.class_page(view))
    return [*written, path]
