"""Build small nbgrader courses in a temporary directory, and the submissions that attack them.

A course here is what ``nbgrader generate_assignment`` needs (``solutions/<assignment>/<nb>.ipynb``
and ``nbgrader_config.py``, the repository's own, so every grading setting is the real one) plus
``submitted/<student>/<assignment>/`` folders written the way ``nbgrader collect`` leaves them.

Each exercise is one function the learner writes (``mse``, ``mae``, ...): an autograded answer
cell, a visible test cell (``check_close`` against the reference loss, 1 point) and a test cell
with hidden tests (``check_fixed`` against values fixed when the course is built, as a chapter's
hidden tests are fixed at release time).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Exercise:
    """One graded function: its name, the reference loss it must match, and a correct body."""

    name: str
    reference: str
    solution: str
    hidden_points: int = 2


LOSSES = (
    Exercise("mse", "mse_loss", "return ((input - target) ** 2).mean()"),
    Exercise("mae", "l1_loss", "return (input - target).abs().mean()", hidden_points=1),
)
EXTRA = (
    Exercise(
        "huber",
        "huber_loss",
        (
            "residual = (input - target).abs()\n"
            "    quadratic = 0.5 * residual ** 2\n"
            "    linear = residual - 0.5\n"
            "    return torch.where(residual < 1.0, quadratic, linear).mean()"
        ),
    ),
    Exercise(
        "smooth_l1",
        "smooth_l1_loss",
        (
            "residual = (input - target).abs()\n"
            "    return torch.where(residual < 1.0, 0.5 * residual ** 2, residual - 0.5).mean()"
        ),
        hidden_points=1,
    ),
)
ASSIGNMENTS = {"ps1": LOSSES, "ps2": EXTRA}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: int = 0) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _release_values(reference: str) -> list:
    """The reference loss on the regression cases, as the hidden test's literal."""
    from lossbook.checks import REGRESSION_CASES, release_values

    return release_values(reference, REGRESSION_CASES)


def source_notebook(exercises: tuple[Exercise, ...]) -> nbformat.NotebookNode:
    """The instructor's notebook: solutions, visible tests and hidden tests."""
    cells = [
        nbformat.v4.new_markdown_cell(
            "# Regression losses\n\nWrite each loss with tensor operations."
        ),
        nbformat.v4.new_code_cell(
            "import torch\nfrom lossbook.checks import REGRESSION_CASES, check_close, check_fixed",
            metadata=_meta("imports", grade=False, solution=False, locked=True),
        ),
    ]
    for exercise in exercises:
        expected = _release_values(exercise.reference)
        cells += [
            nbformat.v4.new_markdown_cell(
                f"## `{exercise.name}`\n\nThe mean, like torch's default."
            ),
            nbformat.v4.new_code_cell(
                f"def {exercise.name}(input, target):\n"
                f'    """{exercise.reference} with reduction="mean"."""\n'
                "    ### BEGIN SOLUTION\n"
                f"    {exercise.solution}\n"
                "    ### END SOLUTION",
                metadata=_meta(exercise.name, grade=False, solution=True, locked=False),
            ),
            nbformat.v4.new_code_cell(
                f'"""{exercise.name} matches torch on small cases."""\n'
                f'check_close({exercise.name}, "{exercise.reference}", REGRESSION_CASES)',
                metadata=_meta(
                    f"test_{exercise.name}", grade=True, solution=False, locked=True, points=1
                ),
            ),
            nbformat.v4.new_code_cell(
                f'"""{exercise.name} matches values fixed at release."""\n'
                "### BEGIN HIDDEN TESTS\n"
                f"check_fixed({exercise.name}, REGRESSION_CASES, {expected!r},"
                f' reference="{exercise.reference}")\n'
                "### END HIDDEN TESTS",
                metadata=_meta(
                    f"test_{exercise.name}_hidden",
                    grade=True,
                    solution=False,
                    locked=True,
                    points=exercise.hidden_points,
                ),
            ),
        ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def grading_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses: the venv first on PATH (nbgrader runs alembic)."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def course_config(course: Path):
    """The course's nbgrader_config.py, loaded as nbgrader loads it, rooted at ``course``."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    return config


def make_course(course: Path, assignments: dict[str, tuple[Exercise, ...]] | None = None) -> Path:
    """Write ``solutions/`` and ``nbgrader_config.py``, then release every assignment.

    Releasing runs nbgrader's ``GenerateAssignment`` in this process (what ``nbgrader
    generate_assignment`` runs), which saves the start-up of one nbgrader process per assignment.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    os.environ["PATH"] = grading_env()["PATH"]  # nbgrader runs alembic to create gradebook.db
    assignments = assignments or {"ps1": LOSSES}
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment, exercises in assignments.items():
        folder = course / "solutions" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(exercises), folder / "losses.ipynb")
        config = course_config(course)
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        GenerateAssignment(coursedir=coursedir, config=config, force=True).start()
    return course


def release_notebook(course: Path, assignment: str = "ps1") -> nbformat.NotebookNode:
    """The notebook a learner downloads (no solutions, no hidden tests)."""
    return nbformat.read(course / "notebooks" / assignment / "losses.ipynb", as_version=4)


def find_cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def answer(exercise: Exercise, body: str | None = None) -> str:
    """An answer cell's source: the correct body, or ``body`` instead."""
    return (
        f"def {exercise.name}(input, target):\n"
        f'    """{exercise.reference} with reduction="mean"."""\n'
        f"    {body if body is not None else exercise.solution}"
    )


def solved(course: Path, assignment: str = "ps1", **bodies: str) -> nbformat.NotebookNode:
    """The release notebook with every answer written; ``bodies`` replaces some answers' source."""
    notebook = release_notebook(course, assignment)
    for exercise in ASSIGNMENTS.get(assignment, LOSSES):
        cell = find_cell(notebook, exercise.name)
        cell.source = bodies.get(exercise.name, answer(exercise))
    return notebook


def insert_after(notebook: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    """Add a free code cell (as a learner would) right after the cell ``grade_id``."""
    index = notebook.cells.index(find_cell(notebook, grade_id))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))


def submit(
    course: Path,
    student: str,
    notebook: nbformat.NotebookNode | str,
    assignment: str = "ps1",
    when: datetime.datetime | None = None,
) -> Path:
    """Place a submission where ``nbgrader collect`` would; a ``str`` is written as raw file text."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "losses.ipynb"
    if isinstance(notebook, str):
        path.write_text(notebook)
    else:
        path.write_text(json.dumps(notebook, indent=1))
    stamp = when or datetime.datetime(2026, 1, 5, 12, 0, tzinfo=datetime.timezone.utc)
    (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    return path
