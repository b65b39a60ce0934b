"""House rules every chapter follows (COURSE.md): checked on the master notebooks in solutions/."""

import ast
import re

import pytest

from tests.course import ASSIGNMENTS, ROOT, notebook_names, read

NOTEBOOKS = [(a, n) for a in ASSIGNMENTS for n in notebook_names(a)]
# A result typed into prose: 0.375, 1.2345, 3.1e-05 … (three or more decimals).
TYPED_RESULT = re.compile(r"(?<![\w.])[-−]?\d+\.\d{3,}")
# The chapter's total time, in the format tests/test_time_estimates.py measures.
CHAPTER_TIME = re.compile(r"^\*\*Time:\*\* ≈ \d+ min", re.M)
# The first code cell of every chapter: what a learner without lossbook (Colab, their own
# Jupyter) runs first. Exactly this text, no nbgrader metadata.
INSTALL_CELL = """\
# Not in the course's environment (Colab, your own Jupyter)? This installs lossbook first.
import importlib.util

if importlib.util.find_spec("lossbook") is None:
    %pip install --quiet "lossbook[course]"\
"""


def cells(assignment, name):
    return read(ROOT / "solutions" / assignment / name).cells


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_prose_never_types_a_computed_number(assignment, name):
    typed = [
        (i, m.group())
        for i, cell in enumerate(cells(assignment, name))
        if cell.cell_type == "markdown"
        for m in TYPED_RESULT.finditer(cell.source)
    ]
    assert not typed, f"markdown states results instead of computing them (cell, text): {typed}"


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_chapter_opens_with_goals_and_time_and_closes_with_recap(assignment, name):
    nb = cells(assignment, name)
    opening = " ".join(c.source for c in nb[:3] if c.cell_type == "markdown")
    assert "goal" in opening.lower() and CHAPTER_TIME.search(opening), (
        "first cells must state learning goals and a time estimate (`**Time:** ≈ N min`)"
    )
    closing = " ".join(c.source for c in nb[-4:] if c.cell_type == "markdown").lower()
    assert "recap" in closing and "faq" in closing, "last cells must hold a recap and an FAQ"


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_setup_cell_is_locked_and_imports_grading_before_student_code(assignment, name):
    nb = cells(assignment, name)
    # The install cell (issue 10) may come first: ungraded, no nbgrader metadata.
    first_code = next(c for c in nb if c.cell_type == "code" and c.source != INSTALL_CELL)
    meta = nbgrader_meta(first_code)
    assert meta.get("locked") and not meta.get("solution"), (
        "the first code cell after the install cell must be a locked setup cell"
    )
    assert "lossbook.checks" in first_code.source
    first_answer = next(i for i, c in enumerate(nb) if nbgrader_meta(c).get("solution"))
    assert nb.index(first_code) < first_answer


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_first_code_cell_installs_lossbook_outside_the_course_environment(assignment, name):
    nb = cells(assignment, name)
    first_code = next(c for c in nb if c.cell_type == "code")
    assert first_code.source == INSTALL_CELL, "the first code cell must be the install cell"
    assert not nbgrader_meta(first_code), "the install cell is not an nbgrader cell"
    setup = nb[nb.index(first_code) + 1 :]
    assert "lossbook" in next(c for c in setup if c.cell_type == "code").source


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_every_graded_cell_says_what_it_checks_and_is_worth_points(assignment, name):
    for cell in cells(assignment, name):
        meta = nbgrader_meta(cell)
        if not meta.get("grade") or meta.get("solution"):
            continue
        assert meta.get("points", 0) > 0, f"{meta['grade_id']} is worth no points"
        body = ast.parse(cell.source).body
        assert body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), (
            f"{meta['grade_id']} must start with a one-line docstring saying what it checks"
        )
        assert "### BEGIN HIDDEN TESTS" in cell.source or "hidden" not in meta.get("grade_id", "")


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_each_chapter_has_hidden_tests(assignment, name):
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in cells(assignment, name))


def test_typed_result_pattern():
    assert TYPED_RESULT.search("the loss is 0.375 here")
    assert not TYPED_RESULT.search("version 2.13.0 and a learning rate of 0.1")
