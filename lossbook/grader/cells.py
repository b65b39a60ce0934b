"""What the grader needs to know about a notebook's cells: grade ids, test cells, labels, parsing."""

from __future__ import annotations

import ast
import re

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader grade id, or None (an ordinary cell, or unreadable metadata)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: a graded code cell that is not the learner's answer."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def is_answer_cell(cell: NotebookNode) -> bool:
    """A cell the learner writes in (nbgrader ``solution``)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return isinstance(meta, dict) and bool(meta.get("solution"))


def exercise_of(cells: list, index: int) -> str | None:
    """The grade id of the answer cell a test cell checks: the nearest answer cell above it."""
    for before in range(index - 1, -1, -1):
        if is_answer_cell(cells[before]):
            return grade_id(cells[before])
    return grade_id(cells[index])


def cell_label(cells: list, index: int) -> str:
    """A cell's name for people: its grade id, or where it sits relative to one."""
    own = grade_id(cells[index])
    if own:
        return f"cell '{own}'"
    for before in range(index - 1, -1, -1):
        if grade_id(cells[before]):
            return f"the cell after '{grade_id(cells[before])}'"
    return "a cell before the first exercise"


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output, as a failed cell shows it (nbgrader scores a test cell 0 for one)."""
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def grader_meta(cell: NotebookNode) -> dict:
    """The grader's own cell metadata (``lossbook``): set by the grader, never trusted from a learner."""
    meta = cell.metadata.get("lossbook")
    return meta if isinstance(meta, dict) else {}


def parse_source(source: str) -> ast.AST | None:
    """A code cell's syntax tree, IPython magics and shell escapes blanked; None if not Python."""
    cleaned = re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.MULTILINE)
    try:
        return ast.parse(cleaned)
    except SyntaxError:
        return None
