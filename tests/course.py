"""Drive nbgrader on a throw-away copy of the course, the way an instructor would.

Every test that grades something builds its own course directory under pytest's
``tmp_path`` (so the repo's gradebook.db is never touched) and runs the real
``nbgrader`` command line from the venv, with the venv first on PATH (nbgrader
runs ``alembic`` from PATH when it creates a gradebook).
"""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").glob("*") if p.is_dir())


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    return env


def nbgrader(course: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``nbgrader *args`` in ``course``; fail the test with nbgrader's output if it fails."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        check=False,
        cwd=course,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"nbgrader {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def make_course(tmp: Path, assignments: list[str] | None = None) -> Path:
    """A fresh course directory holding the config and the solutions, nothing else."""
    course = tmp / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment in assignments or ASSIGNMENTS:
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    return course


# A cell that builds one of the course's widgets: `widgets.<builder>(...)`, not a constant such
# as `widgets.FOCAL_PROBES`.
WIDGET_CALL = re.compile(r"\bwidgets\.[a-z_]+\s*\(")


def shows_a_widget(cell) -> bool:
    """True for a code cell that builds a course widget."""
    return cell.cell_type == "code" and WIDGET_CALL.search(cell.source) is not None


def notebook_names(assignment: str) -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions" / assignment).glob("*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def submit(
    course: Path, student: str, assignment: str, notebooks: dict[str, nbformat.NotebookNode]
) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)


def with_answers(
    release_nb: nbformat.NotebookNode, answers: dict[str, str]
) -> nbformat.NotebookNode:
    """The release notebook with the given answer cells (by grade_id) filled in."""
    nb = copy.deepcopy(release_nb)
    unknown = set(answers)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            unknown.discard(grade_id)
    assert not unknown, f"no answer cell with grade_id {sorted(unknown)}"
    return nb


@dataclass
class Grades:
    total: float
    max_total: float
    by_cell: dict[str, float] = field(default_factory=dict)
    needs_manual_grade: bool = False


def grades(course: Path, assignment: str, student: str) -> Grades:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(assignment, student)
        by_cell = {grade.name: grade.score for nb in submission.notebooks for grade in nb.grades}
        return Grades(
            submission.score, submission.max_score, by_cell, submission.needs_manual_grade
        )


def feedback_text(course: Path, assignment: str, student: str, notebook: str) -> str:
    """The feedback page as the student reads it: tags stripped, entities decoded."""
    page = (
        course / "feedback" / student / assignment / notebook.replace(".ipynb", ".html")
    ).read_text()
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@dataclass
class Crafted:
    """A submission with deliberate mistakes, and what grading must say about it.

    ``answers`` maps answer-cell grade_ids to the source the "student" wrote;
    ``failing`` lists the test-cell grade_ids that must score 0 (every other
    test cell must score full marks); ``feedback`` lists phrases the student's
    feedback must contain (the misconception's name, the fix).
    """

    student: str
    answers: dict[str, str]
    failing: set[str]
    feedback: list[str]


def crafted_submissions(assignment: str) -> list[Crafted]:
    """``CRAFTED`` from tests/crafted/<assignment>.py (empty when the chapter has none)."""
    import importlib

    try:
        module = importlib.import_module(f"tests.crafted.{assignment}")
    except ModuleNotFoundError:
        return []
    return list(module.CRAFTED)
