"""Honest time estimates: every chapter states them per section, and they agree with a measurement.

The format (one per chapter, in solutions/):

- the title cell has a line ``**Time:** ≈ 55 min`` (anything may follow on the line);
- every level-2 heading (``## …``) is followed, on the next non-blank line of its cell, by
  ``*≈ 12 min*``.

A section runs from the cell with its ``##`` heading to the cell before the next one; the cells
before the first ``##`` are the introduction. Each is measured as

    reading   = words / READING_WPM   (markdown and code cells, as the learner sees them:
                                       solutions and hidden tests left out)
    + EXERCISE_MINUTES per code answer cell, MARKDOWN_ANSWER_MINUTES per markdown answer cell
    + WIDGET_MINUTES per cell that builds a widget (``widgets.<builder>(`` in its source)
    + PREDICTION_MINUTES per prediction cell (``# Your prediction`` in its source)

Running time is not counted: every chapter's cells run in seconds. Run this file directly to
print the measurement of every chapter, from the repository root:
``.venv/bin/python -m tests.test_time_estimates``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.course import ASSIGNMENTS, ROOT, notebook_names, read, shows_a_widget

# Technical text with formulas and code is read slowly: about 200 words per minute.
READING_WPM = 200
# An exercise: read its question, write a few lines, run the checks, fix once.
EXERCISE_MINUTES = 6
MARKDOWN_ANSWER_MINUTES = 3
# A widget: move the sliders, read the numbers under the figure.
WIDGET_MINUTES = 2
# A prediction: think, write a guess into a variable.
PREDICTION_MINUTES = 1
# A chapter longer than this must be split.
MAX_CHAPTER_MINUTES = 120
# Agreement: a section within max(2 min, 30 %), the chapter total within max(3 min, 15 %).
SECTION_TOLERANCE = (2.0, 0.30)
TOTAL_TOLERANCE = (3.0, 0.15)

CHAPTER_TIME = re.compile(r"^\*\*Time:\*\* ≈ (\d+) min", re.M)
SECTION_TIME = re.compile(r"^\*≈ (\d+) min\*\s*$")
HEADING = re.compile(r"^## (.+)$", re.M)
HIDDEN_BLOCKS = re.compile(
    r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", re.S
)  # what the learner never reads

NOTEBOOKS = [(a, n) for a in ASSIGNMENTS for n in notebook_names(a)]


@dataclass
class Section:
    heading: str
    stated: int | None
    measured: float


def cell_minutes(cell) -> float:
    """The measured minutes one cell takes: reading, plus its exercise, widget or prediction."""
    source = HIDDEN_BLOCKS.sub("", cell.source)
    minutes = len(source.split()) / READING_WPM
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("solution"):
        minutes += EXERCISE_MINUTES if cell.cell_type == "code" else MARKDOWN_ANSWER_MINUTES
    if shows_a_widget(cell):
        minutes += WIDGET_MINUTES
    if cell.cell_type == "code" and "# Your prediction" in source:
        minutes += PREDICTION_MINUTES
    return minutes


def stated_after_heading(source: str, heading_start: int) -> int | None:
    """The ``*≈ N min*`` on the first non-blank line after the heading at ``heading_start``."""
    rest = source[heading_start:].splitlines()[1:]
    for line in rest:
        if line.strip():
            match = SECTION_TIME.match(line.strip())
            return int(match.group(1)) if match else None
    return None


def measure(cells) -> tuple[float, list[Section]]:
    """The introduction's minutes and every ``##`` section's, stated and measured."""
    intro = 0.0
    sections: list[Section] = []
    for cell in cells:
        headings = list(HEADING.finditer(cell.source)) if cell.cell_type == "markdown" else []
        for heading in headings:
            sections.append(
                Section(heading.group(1), stated_after_heading(cell.source, heading.start()), 0.0)
            )
        minutes = cell_minutes(cell)
        if sections:
            sections[-1].measured += minutes
        else:
            intro += minutes
    return intro, sections


def chapter_stated(cells) -> int | None:
    title = next((c for c in cells if c.cell_type == "markdown"), None)
    match = CHAPTER_TIME.search(title.source) if title is not None else None
    return int(match.group(1)) if match else None


def within(stated: float, measured: float, tolerance: tuple[float, float]) -> bool:
    minimum, fraction = tolerance
    return abs(stated - measured) <= max(minimum, fraction * measured)


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_every_section_states_a_measured_time(assignment, name):
    _, sections = measure(read(ROOT / "solutions" / assignment / name).cells)
    assert sections, "the chapter has no `## ` sections"
    problems = []
    for section in sections:
        if section.stated is None:
            problems.append(f"{section.heading!r}: no `*≈ N min*` line right after the heading")
        elif not within(section.stated, section.measured, SECTION_TOLERANCE):
            problems.append(
                f"{section.heading!r}: states {section.stated} min, measures {section.measured:.1f}"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_chapter_total_is_measured_and_under_two_hours(assignment, name):
    cells = read(ROOT / "solutions" / assignment / name).cells
    intro, sections = measure(cells)
    measured = intro + sum(s.measured for s in sections)
    stated = chapter_stated(cells)
    assert stated is not None, "the title cell needs a line `**Time:** ≈ N min`"
    assert within(stated, measured, TOTAL_TOLERANCE), (
        f"states {stated} min in all, measures {measured:.1f}"
    )
    assert measured <= MAX_CHAPTER_MINUTES, (
        f"measures {measured:.0f} min: split the chapter (at most {MAX_CHAPTER_MINUTES})"
    )


def test_measure_counts_words_exercises_widgets_and_predictions():
    import nbformat

    cells = [
        nbformat.v4.new_markdown_cell("# Title\n\n**Time:** ≈ 9 min"),
        nbformat.v4.new_markdown_cell("## 1 · A\n*≈ 8 min*\n\n" + "word " * 400),
        nbformat.v4.new_code_cell("widgets.thing()"),
        nbformat.v4.new_code_cell("# Your prediction\nguess = None"),
        nbformat.v4.new_code_cell(
            "def f():\n    ### BEGIN SOLUTION\n" + "x " * 1000 + "\n    ### END SOLUTION"
        ),
    ]
    cells[-1].metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "f"}
    intro, sections = measure(cells)
    assert sections[0].stated == 8
    # "## 1 · A *≈ 8 min*" is 7 words; the widget cell 1, the prediction cell 6; the answer
    # cell's solution is not read, 2 words are left.
    words = 7 + 400 + 1 + 6 + 2
    expected = words / READING_WPM + WIDGET_MINUTES + PREDICTION_MINUTES + EXERCISE_MINUTES
    assert sections[0].measured == pytest.approx(expected, abs=0.05)
    assert chapter_stated(cells) == 9
    assert not within(20, 10, SECTION_TOLERANCE) and within(12, 10, SECTION_TOLERANCE)


if __name__ == "__main__":
    for assignment, name in NOTEBOOKS:
        cells = read(ROOT / "solutions" / assignment / name).cells
        intro, sections = measure(cells)
        total = intro + sum(s.measured for s in sections)
        print(f"{assignment}: stated {chapter_stated(cells)} min, measured {total:.1f} min")
        print(f"  {'(introduction)':<60} {'':>7} {intro:6.1f}")
        for s in sections:
            print(f"  {s.heading[:60]:<60} {str(s.stated):>7} {s.measured:6.1f}")
