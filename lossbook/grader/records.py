"""One record per graded submission: what the class report reads (``grades/<assignment>.jsonl``).

A record holds, for one student and one assignment: the score of every test cell, the time it took
to run, the verified findings and failures the grader kept in the graded notebook's metadata
(:class:`~lossbook.grader.preprocessors.RecordFindings`), the grader's notes, whether a human must
look and why, and, for each exercise the student did not get fully right, their answer cell (its
comments removed, capped in length) for the report's anonymised examples. The batch command writes
them after grading; ``python -m lossbook report`` rebuilds them from ``gradebook.db`` and
``autograded/`` when they are missing (a class graded with plain ``nbgrader autograde``).
"""

from __future__ import annotations

import io
import json
import tokenize
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, MissingEntry

from lossbook.grader.cells import exercise_of, grade_id, is_answer_cell, is_test_cell
from lossbook.grader.notes import GRADER_KEY, notes_of

MAX_ANSWER_CHARS = 600
MAX_ANSWER_LINES = 16


def records_path(course: Path, assignment: str) -> Path:
    """Where an assignment's records live."""
    return Path(course) / "grades" / f"{assignment}.jsonl"


def cell_seconds(cell: NotebookNode) -> float | None:
    """How long a cell ran, from the timestamps nbclient records in its metadata (None if absent).

    Example:
        >>> cell = nbformat.v4.new_code_cell("1")
        >>> cell.metadata["execution"] = {
        ...     "iopub.execute_input": "2026-01-05T12:00:00.250000Z",
        ...     "shell.execute_reply": "2026-01-05T12:00:01.750000Z",
        ... }
        >>> cell_seconds(cell)
        1.5
    """
    execution = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(execution["iopub.execute_input"])
        end = datetime.fromisoformat(execution["shell.execute_reply"])
    except (KeyError, TypeError, ValueError):
        return None
    return max((end - start).total_seconds(), 0.0)


def anonymised(source: str) -> str:
    """An answer cell as the report quotes it: comments and blank lines removed, capped.

    Example:
        >>> anonymised("# Ada Lovelace\\ndef mse(a, b):  # mine\\n\\n    return (a - b).sum()")
        'def mse(a, b):\\n    return (a - b).sum()'
    """
    try:
        tokens = [
            token
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type != tokenize.COMMENT
        ]
        text = tokenize.untokenize(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        text = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    capped = "\n".join(lines[:MAX_ANSWER_LINES])
    if len(lines) > MAX_ANSWER_LINES or len(capped) > MAX_ANSWER_CHARS:
        capped = capped[:MAX_ANSWER_CHARS].rstrip() + "\n…"
    return capped


def graded_record(
    student: str,
    assignment: str,
    notebooks: dict[str, NotebookNode],
    scores: dict[tuple[str, str], tuple[float, float]],
    *,
    status: str = "graded",
    needs_human: bool = False,
    reasons: Iterable[str] = (),
    score: float | None = None,
    max_score: float | None = None,
) -> dict:
    """The record of one submission, from its graded notebooks and its cells' scores.

    ``scores`` maps (notebook, grade id) to (score, max score), from the gradebook; a test cell
    the gradebook scores but no graded notebook holds (a submission that could not be graded)
    is recorded with its score and no time.
    """
    cells, findings, failures, notes, answers = [], [], [], [], {}
    seen: set[tuple[str, str]] = set()
    for name, nb in sorted(notebooks.items()):
        meta = nb.metadata.get(GRADER_KEY, {})
        findings += [dict(entry) for entry in meta.get("findings", [])]
        failures += [dict(entry) for entry in meta.get("failures", [])]
        notes += [str(note) for note in notes_of(nb)]
        sources = {grade_id(cell): cell.source for cell in nb.cells if is_answer_cell(cell)}
        for index, cell in enumerate(nb.cells):
            own = grade_id(cell)
            if not is_test_cell(cell) or (name, own) not in scores:
                continue
            got, most = scores[(name, own)]
            exercise = exercise_of(nb.cells, index)
            cells.append(
                {
                    "notebook": name,
                    "cell": own,
                    "exercise": exercise,
                    "score": got,
                    "max": most,
                    "seconds": cell_seconds(cell),
                }
            )
            seen.add((name, own))
            if got < most and exercise in sources and exercise not in answers:
                answers[exercise] = anonymised(sources[exercise])
    for (name, own), (got, most) in sorted(scores.items()):
        if (name, own) not in seen:
            cells.append(
                {
                    "notebook": name,
                    "cell": own,
                    "exercise": None,
                    "score": got,
                    "max": most,
                    "seconds": None,
                }
            )
    return {
        "assignment": assignment,
        "student": student,
        "status": str(status),
        "needs_human": bool(needs_human),
        "reasons": list(reasons),
        "score": score,
        "max_score": max_score,
        "cells": cells,
        "findings": findings,
        "failures": failures,
        "notes": notes,
        "answers": answers,
    }


def gradebook_scores(
    gradebook: Gradebook, assignment: str, student: str
) -> tuple[dict[tuple[str, str], tuple[float, float]], float | None, float | None, list[str]]:
    """Test-cell scores of one submission, its total (late penalty off), and cells flagged for review."""
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return {}, None, None, []
    scores, flagged = {}, []
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.cell_type == "code":
                scores[(notebook.name, grade.name)] = (float(grade.score), float(grade.max_score))
            if grade.needs_manual_grade:
                flagged.append(grade.name)
    penalty = submission.late_submission_penalty or 0
    return scores, submission.score - penalty, submission.max_score, flagged


def graded_notebooks(course: Path, assignment: str, student: str) -> dict[str, NotebookNode]:
    """The graded notebooks of one submission (``autograded/<student>/<assignment>/*.ipynb``)."""
    folder = Path(course) / "autograded" / student / assignment
    return {path.stem: nbformat.read(path, as_version=4) for path in sorted(folder.glob("*.ipynb"))}


def collect(course: Path, assignment: str, students: Iterable[str] | None = None) -> list[dict]:
    """Records rebuilt from ``gradebook.db`` and ``autograded/`` (a human is needed when nbgrader
    flags a cell for manual grading or a grader note asks for one)."""
    records = []
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gradebook:
        if students is None:
            students = sorted(
                submission.student.id
                for submission in gradebook.find_assignment(assignment).submissions
            )
        for student in students:
            scores, score, max_score, flagged = gradebook_scores(gradebook, assignment, student)
            notebooks = graded_notebooks(course, assignment, student)
            reasons = [
                str(note) for nb in notebooks.values() for note in notes_of(nb) if note.human
            ]
            if flagged:
                reasons.append(f"nbgrader asks for a manual grade of {', '.join(flagged)}")
            records.append(
                graded_record(
                    student,
                    assignment,
                    notebooks,
                    scores,
                    needs_human=bool(reasons),
                    reasons=reasons,
                    score=score,
                    max_score=max_score,
                )
            )
    return records


def write_records(course: Path, assignment: str, records: Iterable[dict]) -> Path:
    """Store records, replacing those of the same students and keeping the others."""
    path = records_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {record["student"]: record for record in read_records(path)}
    merged.update({record["student"]: record for record in records})
    staging = path.with_suffix(".jsonl.new")
    with staging.open("w") as handle:
        for student in sorted(merged):
            handle.write(json.dumps(merged[student], allow_nan=False) + "\n")
    staging.replace(path)
    return path


def read_records(path: Path) -> list[dict]:
    """The records stored at ``path`` (none if it does not exist)."""
    if not Path(path).exists():
        return []
    with Path(path).open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_records(course: Path, assignment: str) -> list[dict]:
    """An assignment's records: stored by the batch command, or rebuilt (and stored) if missing."""
    path = records_path(course, assignment)
    if path.exists():
        return read_records(path)
    records = collect(course, assignment)
    write_records(course, assignment, records)
    return records
