"""The instructor's round trip on every chapter: release, submit, autograde, feedback.

For each assignment, in a throw-away course: the solutions submitted as a
student score full marks; the blank release scores 0 without a grader error;
each crafted wrong submission (tests/crafted/<assignment>.py) loses exactly the
points of the checks it breaks and its feedback names the misconception; no
feedback shows hidden test source.
"""

import re

import pytest

from tests.course import (
    ASSIGNMENTS,
    ROOT,
    crafted_submissions,
    feedback_text,
    grades,
    make_course,
    nbgrader,
    notebook_names,
    read,
    submit,
    with_answers,
)

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)


def hidden_test_lines(assignment: str) -> list[str]:
    """Distinctive lines of the hidden tests, which feedback must never show.

    A line that also occurs outside the hidden blocks (``check_trains(`` opening a visible
    call too, a shared ``what=...`` argument) is no secret, and is left out.
    """
    lines = []
    for name in notebook_names(assignment):
        cells = read(ROOT / "solutions" / assignment / name).cells
        visible = "\n".join(HIDDEN.sub("", cell.source) for cell in cells)
        for cell in cells:
            for block in HIDDEN.findall(cell.source):
                lines += [
                    line.strip()
                    for line in block.splitlines()
                    if len(line.strip()) > 12 and line.strip() not in visible
                ]
    return lines


def round_trip(tmp_path, assignment):
    course = make_course(tmp_path, [assignment])
    nbgrader(course, "generate_assignment", assignment, "--force")
    names = notebook_names(assignment)
    release = {name: read(course / "notebooks" / assignment / name) for name in names}
    crafted = crafted_submissions(assignment)

    submit(
        course,
        "solutions",
        assignment,
        {n: read(ROOT / "solutions" / assignment / n) for n in names},
    )
    submit(course, "blank", assignment, release)
    for case in crafted:
        assert len(names) == 1, "crafted submissions assume one notebook per assignment"
        submit(
            course,
            case.student,
            assignment,
            {names[0]: with_answers(release[names[0]], case.answers)},
        )

    log = nbgrader(course, "autograde", assignment, "--force")
    nbgrader(course, "generate_feedback", assignment, "--force")
    problems = []

    solution = grades(course, assignment, "solutions")
    if solution.total != solution.max_total or solution.needs_manual_grade:
        problems.append(
            f"solutions scored {solution.total}/{solution.max_total}: {solution.by_cell}"
        )
    blank = grades(course, assignment, "blank")
    if blank.total != 0:
        problems.append(f"blank release scored {blank.total}: {blank.by_cell}")
    for marker in ("Traceback (most recent call last)", "[AutogradeApp | ERROR]"):
        if marker in log.stdout + log.stderr:
            problems.append(f"autograde log shows a grader error ({marker!r})")

    max_by_cell = {}
    for name in names:
        for cell in read(ROOT / "solutions" / assignment / name).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                max_by_cell[meta["grade_id"]] = meta["points"]
    for case in crafted:
        got = grades(course, assignment, case.student)
        expected = {
            cell: (0 if cell in case.failing else points) for cell, points in max_by_cell.items()
        }
        if got.by_cell != expected:
            problems.append(f"{case.student}: scores {got.by_cell}, expected {expected}")
        text = feedback_text(course, assignment, case.student, names[0])
        for phrase in case.feedback:
            if phrase.lower() not in text.lower():
                problems.append(f"{case.student}: feedback does not say {phrase!r}")

    secrets = hidden_test_lines(assignment)
    for student in ["solutions", "blank", *(c.student for c in crafted)]:
        for name in names:
            text = feedback_text(course, assignment, student, name)
            shown = [line for line in secrets if line in text]
            if shown or "BEGIN HIDDEN TESTS" in text:
                problems.append(f"{student}: feedback shows hidden test source: {shown[:2]}")

    assert not problems, f"{assignment}:\n  " + "\n  ".join(problems)


class RoundTrip:
    """One chapter's round trip; a class per chapter so pytest-xdist's ``--dist loadscope``
    can hand different chapters to different workers (a parametrized function is one scope)."""

    assignment = ""

    @pytest.mark.slow
    def test_round_trip(self, tmp_path):
        round_trip(tmp_path, self.assignment)


for _assignment in ASSIGNMENTS:
    globals()[f"TestRoundTrip_{_assignment}"] = type(
        f"TestRoundTrip_{_assignment}", (RoundTrip,), {"assignment": _assignment}
    )
