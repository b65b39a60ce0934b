"""Chapter 5's mystery runs: broken code the learner can run, a diagnosis that is checked, a fix.

Built from the solutions notebook itself (the read-only run cells, the answer cells and the
hidden tests), so the tests and the chapter cannot drift apart.
"""

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbook.checks import (
    DIAGNOSIS_CHOICES,
    MISTAKES,
    GradingError,
    binary_data,
    check_mystery_diagnosis,
    check_trains,
    classification_data,
    mystery_run,
)
from lossbook.checks.diagnosis_quiz import TELLTALE, describe_choices
from tests.course import ROOT, read

SOLUTIONS = read(ROOT / "solutions" / "05_pitfalls" / "pitfalls.ipynb")
RELEASE = ROOT / "notebooks" / "05_pitfalls" / "pitfalls.ipynb"
HIDDEN_ANSWER = re.compile(r'check_mystery_diagnosis\(diagnosis_(\w), "(\w+)"')
SOLUTION_BLOCK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION\n", re.M)


def cell(cell_id):
    return next(c.source for c in SOLUTIONS.cells if c.get("id") == cell_id)


ANSWERS = dict(m.groups() for c in SOLUTIONS.cells for m in HIDDEN_ANSWER.finditer(c.source))
LETTERS = sorted(ANSWERS)


def namespace(source):
    """Run a cell's code with the names the chapter's setup cell provides; return its names."""
    names = {
        "torch": torch,
        "nn": nn,
        "F": F,
        "classification_data": classification_data,
        "binary_data": binary_data,
    }
    exec(SOLUTION_BLOCK.sub("", source), names)
    return names


def test_three_mysteries_with_different_bugs_from_the_choices():
    assert LETTERS == ["a", "b", "c"]
    assert len(set(ANSWERS.values())) == len(ANSWERS)
    assert set(ANSWERS.values()) <= set(DIAGNOSIS_CHOICES)


def test_every_choice_is_a_catalogued_mistake_with_a_telltale_that_does_not_name_it():
    assert set(TELLTALE) == set(DIAGNOSIS_CHOICES)
    for key in DIAGNOSIS_CHOICES:
        sign = TELLTALE[key].lower()
        assert key not in sign and MISTAKES[key].name.lower() not in sign, key
    listing = describe_choices()
    assert all(f'"{key}"' in listing for key in DIAGNOSIS_CHOICES)


@pytest.mark.parametrize("letter", LETTERS)
def test_right_diagnosis_passes_in_every_accepted_spelling(letter):
    answer = ANSWERS[letter]
    for spelling in (answer, answer.upper(), answer.replace("_", " "), MISTAKES[answer].name):
        check_mystery_diagnosis(spelling, answer, run=f"run {letter.upper()}")
    check_mystery_diagnosis(MISTAKES[answer], answer)


@pytest.mark.parametrize("letter", LETTERS)
def test_wrong_diagnosis_gets_the_sign_of_the_real_bug_never_its_name(letter):
    answer = ANSWERS[letter]
    for guess in DIAGNOSIS_CHOICES:
        if guess == answer:
            continue
        with pytest.raises(GradingError) as failure:
            check_mystery_diagnosis(guess, answer, run="run X")
        message = str(failure.value)
        assert TELLTALE[answer] in message and TELLTALE[guess] in message
        assert answer not in message and MISTAKES[answer].name not in message


@pytest.mark.parametrize("given", [None, ..., "", "softmax", 3, ["missing_minus"]])
def test_missing_or_unknown_diagnosis_lists_the_choices(given):
    with pytest.raises(GradingError) as failure:
        check_mystery_diagnosis(given, "missing_minus")
    assert all(f'"{key}"' in str(failure.value) for key in DIAGNOSIS_CHOICES)


def test_visible_check_accepts_any_choice_and_an_instructor_typo_is_an_error():
    for key in DIAGNOSIS_CHOICES:
        check_mystery_diagnosis(key)
    with pytest.raises(ValueError, match="not in DIAGNOSIS_CHOICES"):
        check_mystery_diagnosis("missing_minus", "missing_minnus")


@pytest.mark.parametrize("letter", LETTERS)
def test_broken_run_fails_training_and_the_solution_fix_passes(letter):
    broken = namespace(cell(f"ch05-mystery-{letter}-code"))[f"run_{letter}"]
    fixed = namespace(cell(f"ch05-mystery-{letter}-fix-answer"))[f"fix_run_{letter}"]
    with pytest.raises(GradingError):
        check_trains(*broken(), steps=60, min_accuracy=0.9)
    assert check_trains(*fixed(), steps=60, min_accuracy=0.9) >= 0.9


def test_mystery_run_shows_shapes_and_curves_but_no_diagnosis(capsys):
    run_c = namespace(cell("ch05-mystery-c-code"))["run_c"]
    figure = mystery_run(*run_c(), steps=30, name="run C")
    printed = capsys.readouterr().out
    assert "output (200,) torch.float32" in printed and "samples per class: [100, 100]" in printed
    assert "sigmoid" not in printed.lower() and "sigmoid" not in figure.alt.lower()
    assert figure.values["run C loss"] > 0


def test_mystery_run_reports_a_loud_failure_instead_of_raising(capsys):
    X, y = classification_data()
    assert mystery_run(nn.Linear(2, 3), nn.CrossEntropyLoss(), (X, y + 1), steps=5) is None
    assert "training raised IndexError" in capsys.readouterr().out


def test_headings_do_not_give_the_answers_away():
    headings = [
        line
        for c in SOLUTIONS.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("#")
    ]
    mystery = [h for h in headings if "Run " in h or "Setup " in h]
    assert len(mystery) == 9
    for heading in mystery:
        heading = re.sub(r"`[^`]*`", "", heading)  # the clinic's function names stay stable
        for key in DIAGNOSIS_CHOICES:
            assert key not in heading and MISTAKES[key].name.lower() not in heading.lower()


@pytest.mark.slow
def test_release_holds_the_broken_code_but_not_the_answers():
    release = read(RELEASE)
    sources = "\n".join(c.source for c in release.cells)
    for letter, answer in ANSWERS.items():
        assert f"def run_{letter}():" in sources
        assert answer not in sources.replace(describe_choices(), "")
