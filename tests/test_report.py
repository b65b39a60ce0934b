"""The class report and the records it counts (issue 13).

Fast tests: every mistake the checks can name is taught under a heading that exists; a failed
check's sealed finding is kept by the grader and a forged, altered or replayed one is not; only the
outermost check call reports; failures no mistake explains cluster by signature.

Slow tests (one grading run, shared): a synthetic class of 42 submissions of three real chapters,
built from the crafted-mistake submissions of ``tests/crafted/``, is graded by the batch command;
the report's counts equal the known proportions exactly, unrecognised answers land in their
clusters, a student who forges or erases a record changes nothing, every student's feedback says
what to review, and the page renders in headless Chromium with no request leaving 127.0.0.1 (its
screenshot is the README's, ``tests/screenshots/class_report.png``).
"""

from __future__ import annotations

import csv
import hmac
import http.server
import os
import threading
from collections import Counter
from functools import partial
from pathlib import Path

import nbformat
import pytest

from lossbook.checks import seal
from lossbook.checks.errors import GradingError
from lossbook.checks.mistakes import MISTAKES
from lossbook.grader import batch, cli, records, report
from lossbook.grader.notes import notes_of
from lossbook.grader.preprocessors import RecordFindings
from lossbook.grader.preprocessors.sandboxed_execute import SEAL_KEY
from lossbook.grader.sections import TAUGHT_IN, course_map, every_mistake
from tests.course import ROOT, crafted_submissions, read, with_answers

SOLUTIONS = ROOT / "solutions"
SCREENSHOT = ROOT / "tests" / "screenshots" / "class_report.png"


# -- where each mistake is taught ---------------------------------------------------------------


def test_every_mistake_the_checks_name_is_taught_under_an_existing_heading():
    sections = course_map(SOLUTIONS)
    untaught = [key for key in every_mistake() if sections.for_mistake(key) is None]
    assert not untaught, f"no heading teaches {untaught}: add them to sections.TAUGHT_IN"


def test_each_taught_in_entry_names_exactly_one_heading_of_a_known_mistake():
    sections = course_map(SOLUTIONS)
    known = every_mistake()
    for (chapter, words), keys in TAUGHT_IN.items():
        found = sections.find(chapter, words)
        assert len(found) == 1, f"{chapter} {words!r} matches {[s.title for s in found]}"
        assert set(keys) <= set(known), set(keys) - set(known)
    listed = [key for keys in TAUGHT_IN.values() for key in keys]
    assert len(listed) == len(set(listed)), "a mistake is taught in two places"


def test_a_link_points_at_the_heading_anchor_of_the_release_notebook():
    section = course_map(SOLUTIONS).for_mistake("softmax_twice")
    link = section.link("../notebooks/{chapter}/{notebook}#{anchor}")
    assert link.startswith("../notebooks/04_cross_entropy/cross_entropy.ipynb#")
    assert "double-softmax" in link


# -- sealed findings ----------------------------------------------------------------------------

KEY = bytes(range(32))


def _finding(body: dict, number: int, line: int = 2, key: bytes = KEY) -> nbformat.NotebookNode:
    mac = hmac.new(key, seal.finding_payload("run", number, line, body), "sha256").hexdigest()
    record = {"session": "run", "n": number, "line": line, "body": body, "mac": mac}
    return nbformat.v4.new_output(
        "display_data", data={seal.FINDING_MIME: record, "text/plain": "lossbook check failed"}
    )


def _test_cell(name: str, outputs: list, failed: bool = True) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("check_close(mse, 'mse_loss')")
    meta = {"grade": True, "grade_id": name, "solution": False, "locked": True, "points": 1}
    cell.metadata["nbgrader"] = meta
    error = nbformat.v4.new_output("error", ename="GradingError", evalue="no", traceback=[])
    cell.outputs = [*outputs, *([error] if failed else [])]
    return cell


BODY = {
    "check": "check_close",
    "mistake": "sum_instead_of_mean",
    "mistake_name": "sum instead of mean (missing 1/N)",
    "case": "two elements",
    "expected": "0.5",
    "got": "1.0",
}


def _recorded(cells: list) -> tuple[dict, list[str]]:
    answer = nbformat.v4.new_code_cell("def mse(a, b): ...")
    answer.metadata["nbgrader"] = {"grade": False, "grade_id": "mse", "solution": True}
    nb = nbformat.v4.new_notebook(cells=[answer, *cells])
    resources = {"nbgrader": {"notebook": "losses"}, "lossbook": {SEAL_KEY: KEY.hex()}}
    nb, _ = RecordFindings().preprocess(nb, resources)
    assert not any(
        seal.FINDING_MIME in output.get("data", {}) for cell in nb.cells for output in cell.outputs
    )
    return dict(nb.metadata["lossbook"]), [str(note) for note in notes_of(nb)]


def test_a_valid_finding_is_kept_with_the_exercise_the_grader_knows():
    meta, notes = _recorded([_test_cell("test_mse", [_finding(BODY, 1)])])
    assert meta["findings"] == [
        {"notebook": "losses", "cell": "test_mse", "exercise": "mse", "line": 2, **BODY}
    ]
    assert meta["failures"] == [] and notes == []


@pytest.mark.parametrize(
    "forgery",
    [
        {**BODY, "mistake": "softmax_twice"},  # altered after sealing
        {**BODY, "got": "0.5"},
    ],
)
def test_an_altered_finding_is_ignored_and_flagged(forgery):
    output = _finding(BODY, 1)
    output.data[seal.FINDING_MIME]["body"] = forgery
    meta, notes = _recorded([_test_cell("test_mse", [output])])
    assert meta["findings"] == []
    assert meta["failures"] == [{"notebook": "losses", "cell": "test_mse", "exercise": "mse",
                                 "error": "GradingError"}]  # fmt: skip
    assert notes == [
        "losses, cell 'test_mse': a forged, altered or replayed grader record was ignored"
    ]


def test_a_finding_made_with_another_key_or_replayed_is_ignored():
    stranger = _finding(BODY, 1, key=bytes(32))
    meta, notes = _recorded([_test_cell("test_mse", [stranger])])
    assert meta["findings"] == [] and len(notes) == 1
    genuine = _finding(BODY, 4)
    meta, notes = _recorded(
        [_test_cell("test_a", [genuine]), _test_cell("test_b", [nbformat.from_dict(genuine)])]
    )
    assert [finding["cell"] for finding in meta["findings"]] == ["test_a"]
    assert [failure["cell"] for failure in meta["failures"]] == ["test_b"]
    assert len(notes) == 1


def test_a_finding_in_a_passing_or_ungraded_cell_counts_for_nothing():
    free = nbformat.v4.new_code_cell("check_close(mine, 'mse_loss')")
    free.outputs = [_finding(BODY, 2)]
    meta, notes = _recorded([_test_cell("test_mse", [_finding(BODY, 1)], failed=False), free])
    assert meta == {"findings": [], "failures": []} and notes == []


def test_only_the_outermost_check_reports():
    seals, findings = [], []
    reporter = seal._Reporter(
        seals.append,
        lambda line, name, error: findings.append(seal.finding_body(name, error)),
        GradingError,
        lambda depth: type("Frame", (), {"f_lineno": 7})(),
    )

    def inner():
        raise GradingError("inner", check="check_fixed", mistake=MISTAKES["softmax_twice"])

    sealed_inner = reporter.seal("check_fixed", inner)

    def outer(answer):
        try:
            sealed_inner()  # a learner's function calling a check: reports nothing
        except GradingError:
            pass
        if answer != 1:
            raise GradingError(
                "outer",
                check="check_close",
                mistake=MISTAKES["sum_instead_of_mean"],
                expected="1.0",
                got=str(answer),
            )

    sealed_outer = reporter.seal("check_close", outer)
    sealed_outer(1)
    with pytest.raises(GradingError):
        sealed_outer(4.0)
    assert seals == [7]
    assert findings == [
        {
            "check": "check_close",
            "mistake": "sum_instead_of_mean",
            "mistake_name": MISTAKES["sum_instead_of_mean"].name,
            "case": None,
            "expected": "1.0",
            "got": "4.0",
        }
    ]
    assert reporter.depth == 0


# -- the analysis, on records -------------------------------------------------------------------


def _record(student: str, findings: list[dict], scores: dict[str, float]) -> dict:
    cells = [
        {"notebook": "nb", "cell": cell, "exercise": "mse", "score": score, "max": 1.0,
         "seconds": 0.5}
        for cell, score in scores.items()
    ]  # fmt: skip
    return {
        "student": student,
        "needs_human": False,
        "reasons": [],
        "cells": cells,
        "findings": findings,
        "failures": [],
        "answers": {"mse": f"return {student}"},
    }


def test_students_are_counted_once_per_exercise_and_unrecognised_answers_cluster():
    exercise = report.Exercise("nb", "mse", ("mse_values", "mse_grad"), 2.0, None)
    sum_mistake = {"cell": "mse_values", "mistake": "sum_instead_of_mean", "mistake_name": "sum"}
    graded = [
        _record("a", [sum_mistake, {**sum_mistake, "cell": "mse_grad"}], {"mse_values": 0, "mse_grad": 0}),
        _record("b", [sum_mistake], {"mse_values": 0, "mse_grad": 1}),
        _record("c", [{"cell": "mse_values", "mistake": "unrecognised", "expected": "[1.0, 2.0]",
                       "got": "[3.0, 6.0]"}], {"mse_values": 0, "mse_grad": 1}),
        _record("d", [], {"mse_values": 1, "mse_grad": 1}),
    ]  # fmt: skip
    result = report.analyse("ch", graded, [exercise], course_map(SOLUTIONS), "{anchor}")
    [item] = result.exercises
    assert [(g.key, g.students) for g in item.mistakes] == [("sum_instead_of_mean", ["a", "b"])]
    assert [(g.key, g.students) for g in item.unrecognised] == [("off by a factor 3", ["c"])]
    assert (item.full, item.partial, item.zero) == (1, 2, 1)
    assert item.median_seconds == 1.0
    assert item.mistakes[0].examples == ["return a", "return b"]


# -- a synthetic class, graded by the batch command ---------------------------------------------

FINDING = seal.FINDING_MIME
FORGE = (
    "from IPython.display import publish_display_data\n"
    "FAKE = {'session': 'x', 'n': 0, 'line': 2, 'mac': '0' * 64, 'body': {'check': 'check_close',"
    " 'mistake': 'softmax_twice', 'mistake_name': 'softmax applied twice', 'case': None,"
    " 'expected': '1.0', 'got': '2.0'}}\n"
    f"def mse(pred, target):\n    publish_display_data({{{FINDING!r}: FAKE}})\n"
    "    return ((pred - target) ** 2).sum()\n"
)
ERASE = (
    "_publish = get_ipython().display_pub.publish\n"
    "def _quiet(data, *args, **kwargs):\n"
    f"    return None if {FINDING!r} in data else _publish(data, *args, **kwargs)\n"
    "get_ipython().display_pub.publish = _quiet\n"
    "def mse(pred, target):\n    return ((pred - target) ** 2).sum()\n"
)

# Each chapter's class: (students, crafted case or a special answer, the mistake it must count).
CLASS = {
    "01_why_losses": [
        ("s01 s02 s03 s04", "mse_on_class_indices", "mse_on_class_indices"),
        ("s05 s06 s07", "bce_for_multiclass", "bce_for_multiclass"),
        ("s08 s09", "bce_loss_on_logits", "bce_on_logits"),
        ("s10 s11 s12", "correct", None),
    ],
    "02_regression": [
        ("s01 s02 s03 s04", "mse_missing_one_over_n", "sum_instead_of_mean"),
        ("s05 s06 s07", "mse_missing_square", "missing_square"),
        ("s08 s09", "mae_missing_abs", "missing_abs"),
        ("s10 s11", "huber_swapped_branches", "huber_swapped_branches"),
        ("s12 s13", "correct", None),
        ("s14", "mse: 7 * ((pred - target) ** 2).mean()", "off by a factor 7"),
        ("s15", "mse: ((pred - target) ** 2).mean() * float('nan')", "NaN"),
        ("s16", "mse: ((pred - target) ** 2).mean() + 0.25", "off by a constant +0.25"),
        ("s17", "forges a record", "sum_instead_of_mean"),
        ("s18", "erases its record", "failed without a check's record: GradingError"),
    ],
    "03_binary": [
        ("s01 s02 s03", "bce_sum_instead_of_mean", "sum_instead_of_mean"),
        ("s05 s06 s07", "bce_missing_minus", "missing_minus"),
        ("s08 s09", "bce_sigmoid_before_with_logits", "sigmoid_before_with_logits"),
        ("s10 s11", "hand_flipped_labels", "flipped_labels"),
        ("s12 s13", "correct", None),
    ],
}
UNRECOGNISED_CLUSTERS = {"off by a factor 7", "NaN", "off by a constant +0.25"}


def _crafted_module(assignment: str):
    import importlib

    return importlib.import_module(f"tests.crafted.{assignment}")


def _answers(assignment: str, case: str) -> tuple[dict[str, str], set[str]]:
    """The answer cells of one submission of the class, and the test cells it must fail."""
    module = _crafted_module(assignment)
    right = getattr(module, "submission", None) or module.choose_loss
    crafted = {c.student: c for c in crafted_submissions(assignment)}
    if case in crafted:
        return crafted[case].answers, set(crafted[case].failing)
    if case == "correct":
        return right(), set()
    mse = crafted["mse_missing_one_over_n"]
    if case.startswith("mse: "):
        body = case.removeprefix("mse: ")
        # A shift leaves the gradient right: only the values fail.
        failing = {"mse_values"} | ({"mse_grad"} if "+ 0.25" not in body else set())
        return right(mse_answer=module.MSE.format(body=body)), failing
    source = FORGE if case == "forges a record" else ERASE
    return right(mse_answer=source), set(mse.failing)


def _release(course: Path, assignment: str) -> None:
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    from tests.adversarial.synthetic import course_config, grading_env

    os.environ["PATH"] = grading_env()["PATH"]
    config = course_config(course)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    GenerateAssignment(coursedir=coursedir, config=config, force=True).start()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The class, graded by the batch command (jobs=2), chapter by chapter; then ``--all``."""
    from tests.course import make_course, submit

    # Every chapter's instructor notebook (the sections that teach each mistake); three released.
    course = make_course(tmp_path_factory.mktemp("class"))
    failing: dict[tuple[str, str], set[str]] = {}
    for assignment, groups in CLASS.items():
        _release(course, assignment)
        [name] = sorted(p.name for p in (course / "notebooks" / assignment).glob("*.ipynb"))
        release = read(course / "notebooks" / assignment / name)
        for students, case, _ in groups:
            answers, fails = _answers(assignment, case)
            for student in students.split():
                submit(course, student, assignment, {name: with_answers(release, answers)})
                failing[(assignment, student)] = fails
    outcomes = {}
    for assignment in CLASS:
        settings = batch.Settings(course, assignment, jobs=2, progress=False)
        for outcome in batch.grade_assignment(settings):
            outcomes[(assignment, outcome.student)] = outcome
    assert cli.main(["report", "--all", "--course", str(course)]) == 0
    return course, outcomes, failing


def _csv(course: Path, name: str) -> list[dict]:
    with (course / "reports" / f"{name}.csv").open() as handle:
        return list(csv.DictReader(handle))


def _exercise_of_cells(assignment: str) -> dict[str, str]:
    exercises = report.exercises_of(SOLUTIONS, assignment, course_map(SOLUTIONS))
    return {test: exercise.key for exercise in exercises for test in exercise.tests}


def _expected_groups(kind: str) -> Counter:
    """(assignment, exercise, key) -> students, from the class's table and the crafted failures."""
    expected: Counter = Counter()
    for assignment, groups in CLASS.items():
        of_cell = _exercise_of_cells(assignment)
        for students, case, key in groups:
            unrecognised = key in UNRECOGNISED_CLUSTERS or (key or "").startswith("failed")
            if key is None or (kind == "unrecognised") != unrecognised:
                continue
            _, fails = _answers(assignment, case)
            for exercise in {of_cell[cell] for cell in fails}:
                expected[(assignment, exercise, key)] += len(students.split())
    return expected


@pytest.mark.slow
def test_the_report_counts_each_misconception_exactly(graded_class):
    course, _, _ = graded_class
    found = Counter()
    for assignment in CLASS:
        for row in _csv(course, assignment):
            if row["kind"] == "mistake":
                found[(assignment, row["exercise"], row["key"])] += int(row["students"])
                assert row["section"] and row["link"].startswith("../notebooks/")
    assert found == _expected_groups("mistake")


@pytest.mark.slow
def test_unrecognised_answers_land_in_their_clusters(graded_class):
    """Chapter 2's wrong answers no mistake explains: each student in its signature's cluster only.

    (Other chapters' crafted answers may also leave a check unable to name the mistake; those
    clusters depend on the checks, not on this class, and are not counted here.)
    """
    course, _, _ = graded_class
    found = Counter(
        ("02_regression", row["exercise"], row["key"])
        for row in _csv(course, "02_regression")
        if row["kind"] == "unrecognised"
        for _ in range(int(row["students"]))
    )
    expected = _expected_groups("unrecognised")
    assert found == Counter({k: n for k, n in expected.items() if k[0] == "02_regression"})
    built = report.build(course, "02_regression")
    clusters = {
        student: group.key
        for item in built.exercises
        for group in item.unrecognised
        for student in group.students
    }
    for students, _, key in CLASS["02_regression"]:
        if key in UNRECOGNISED_CLUSTERS or (key or "").startswith("failed"):
            assert all(clusters[student] == key for student in students.split())


@pytest.mark.slow
def test_scores_equal_the_known_failures(graded_class):
    course, outcomes, failing = graded_class
    for assignment in CLASS:
        exercises = report.exercises_of(SOLUTIONS, assignment, course_map(SOLUTIONS))
        for exercise in exercises:
            students = [s for (a, s) in failing if a == assignment]
            zero = sum(set(exercise.tests) <= failing[(assignment, s)] for s in students)
            full = sum(not set(exercise.tests) & failing[(assignment, s)] for s in students)
            row = {r["key"]: int(r["students"]) for r in _csv(course, assignment)
                   if r["kind"] == "score" and r["exercise"] == exercise.key}  # fmt: skip
            assert (row["full"], row["zero"]) == (full, zero), (assignment, exercise.key)
            assert row["full"] + row["partial"] + row["zero"] == len(students)


@pytest.mark.slow
def test_a_forged_or_erased_record_changes_nothing(graded_class):
    course, outcomes, _ = graded_class
    honest, forger, eraser = (outcomes[("02_regression", s)] for s in ("s01", "s17", "s18"))
    assert forger.score == eraser.score == honest.score
    assert "a forged, altered or replayed grader record was ignored" in "\n".join(forger.reasons)
    rows = _csv(course, "02_regression")
    assert not any(row["key"] == "softmax_twice" for row in rows)
    record = {
        r["student"]: r for r in records.read_records(course / "grades" / "02_regression.jsonl")
    }
    assert {f["mistake"] for f in record["s17"]["findings"]} == {"sum_instead_of_mean"}
    assert record["s18"]["findings"] == []
    assert {f["error"] for f in record["s18"]["failures"]} == {"GradingError"}


@pytest.mark.slow
def test_submissions_that_need_a_human_are_listed_with_the_reason(graded_class):
    course, outcomes, _ = graded_class
    listed = {row["key"]: row["label"] for row in _csv(course, "02_regression")
              if row["kind"] == "needs_human"}  # fmt: skip
    expected = {s for (a, s), o in outcomes.items() if a == "02_regression" and o.needs_human}
    assert set(listed) == expected and {"s17", "s18"} <= expected
    assert "suspicious code" in listed["s18"]


@pytest.mark.slow
def test_misconceptions_persisting_across_chapters(graded_class):
    course, _, _ = graded_class
    rows = _csv(course, "all")
    matrix = {row["student"]: row for row in rows}
    assert matrix["s01"]["sum_instead_of_mean"] == "02_regression 03_binary"
    assert matrix["s04"]["sum_instead_of_mean"] == "02_regression"
    repeated = {
        (student, key)
        for student, row in matrix.items()
        for key, where in row.items()
        if key != "student" and len(where.split()) >= 2
    }
    assert repeated == {(s, "sum_instead_of_mean") for s in ("s01", "s02", "s03")}
    page = (course / "reports" / "all.html").read_text()
    assert "Misconceptions that persist" in page and "<img" in page


@pytest.mark.slow
def test_every_students_feedback_says_what_to_review(graded_class):
    from tests.course import feedback_text

    course, _, failing = graded_class
    for (assignment, student), fails in failing.items():
        [name] = [p.name for p in (SOLUTIONS / assignment).glob("*.ipynb")]
        text = feedback_text(course, assignment, student, name)
        assert "What to review" in text
        assert ("Nothing: every check passed." in text) == (not fails), (assignment, student)
    page = (course / "feedback" / "s01" / "02_regression" / "regression.html").read_text()
    section = course_map(SOLUTIONS).for_mistake("sum_instead_of_mean")
    assert section.link("../../../notebooks/{chapter}/{notebook}#{anchor}") in page
    assert "Review:" in feedback_text(course, "02_regression", "s01", "regression.ipynb")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.mark.slow
def test_the_report_renders_offline_in_chromium(graded_class, tmp_path):
    from tests.browser import chromium

    course, _, _ = graded_class
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(course / "reports"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    requests: list[str] = []
    try:
        with chromium(tmp_path / "profile", viewport={"width": 1280, "height": 900}) as context:
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            for name in ("02_regression", "all"):
                page.goto(origin + f"{name}.html", wait_until="load")
                images = page.eval_on_selector_all(
                    "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.alt])"
                )
                assert len(images) >= 2 if name != "all" else len(images) >= 1
                assert all(done and width > 0 and alt for done, width, alt in images), images
            page.goto(origin + "02_regression.html", wait_until="load")
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
    finally:
        server.shutdown()
        server.server_close()
    leaving = [url for url in requests if not (url.startswith(origin) or url.startswith("data:"))]
    assert not leaving, leaving
    assert SCREENSHOT.stat().st_size > 10_000
