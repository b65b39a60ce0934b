"""Batch autograding against hostile submissions: each gets its exact score and reason, the rest of
the class is graded, and nothing a submission does reaches the grader.

One synthetic course (``tests/adversarial/synthetic.py``): an ``mse`` exercise (visible test 1
point, hidden test 2 points) and an ``mae`` exercise (1 + 1), 5 points in all. Every submission
below is graded in one run of the batch command with 2 jobs and short time limits; the tests then
read its outcomes, the gradebook, the graded notebooks and the feedback.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from lossbook.grader import batch, cli
from lossbook.grader.output_cap import TRUNCATION_NOTE, cap_cell_outputs
from lossbook.grader.preprocessors import sealed_spans
from lossbook.grader.suspicious import suspicious_code
from lossbook.grader.sandbox import SandboxedKernelManager
from tests.adversarial import synthetic
from tests.adversarial.synthetic import LOSSES, answer, insert_after, solved

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 4
NOTEBOOK_TIMEOUT = 150
MSE, MAE = LOSSES


@dataclass(frozen=True)
class Submission:
    """A student's notebook, the score it must get, and what the grader must say about it."""

    student: str
    build: Callable[[Path, dict], object]
    score: float
    says: tuple[str, ...] = ()
    human: bool = False
    extra_files: Callable[[Path, dict], None] | None = None


def _with_mse(body: str, before: str = "") -> Callable[[Path, dict], object]:
    return lambda course, _: solved(course, mse=before + answer(MSE, body))


def _with_free_cell(source: str) -> Callable[[Path, dict], object]:
    def build(course: Path, context: dict) -> nbformat.NotebookNode:
        notebook = solved(course)
        insert_after(notebook, "mse", source.format(**context))
        return notebook

    return build


def _deleted(course: Path, _: dict) -> nbformat.NotebookNode:
    notebook = solved(course)
    notebook.cells.remove(synthetic.find_cell(notebook, "test_mse_hidden"))
    return notebook


def _renamed(course: Path, _: dict) -> nbformat.NotebookNode:
    notebook = solved(course)
    synthetic.find_cell(notebook, "test_mae").metadata.nbgrader["grade_id"] = "test_mae_mine"
    return notebook


def _corrupt(course: Path, _: dict) -> nbformat.NotebookNode:
    notebook = solved(course)
    test = synthetic.find_cell(notebook, "test_mse").metadata.nbgrader
    test.update(points=100, schema_version=99)
    synthetic.find_cell(notebook, "mse").metadata["nbgrader"] = "garbage"
    return notebook


def _invalid_json(course: Path, _: dict) -> str:
    return json.dumps(solved(course), indent=1)[:-40]


MONKEYPATCH = (
    "import builtins\n"
    "import torch\n"
    "import torch.nn.functional as F\n"
    "import lossbook.checks.values\n"
    "F.mse_loss = lambda input, target, **kwargs: torch.tensor(0.0)\n"
    "torch.allclose = lambda *args, **kwargs: True\n"
    "torch.isclose = lambda a, b, **kwargs: torch.ones_like(a, dtype=torch.bool)\n"
    "builtins.abs = lambda value: 0\n"
    "lossbook.checks.values.check_close = lambda *args, **kwargs: None\n"
    "lossbook.checks.check_fixed = lambda *args, **kwargs: None\n"
    "\n"
)
REBIND = "check_close = lambda *args, **kwargs: None\ncheck_fixed = check_close\n\n"
HIJACK = (
    "import ast\n"
    "class SkipChecks(ast.NodeTransformer):\n"
    "    def visit_Expr(self, node):\n"
    "        name = getattr(getattr(node.value, 'func', None), 'id', '')\n"
    "        return None if name.startswith('check_') else node\n"
    "get_ipython().ast_transformers.append(SkipChecks())\n"
    "\n"
)

SUBMISSIONS = [
    Submission("correct", lambda course, _: solved(course), 5),
    Submission("blank", lambda course, _: synthetic.release_notebook(course), 0),
    Submission("sum_mistake", _with_mse("return ((input - target) ** 2).sum()"), 2),
    Submission(
        "loop_in_answer",
        _with_mse(MSE.solution, "while True:\n    pass\n\n"),
        2,
        ("cell 'mse': ran longer than 4 s: interrupted",),
    ),
    Submission(
        "loop_in_function",
        _with_mse("while True:\n        pass"),
        2,
        (
            "cell 'test_mse': ran longer than 4 s: interrupted",
            "cell 'test_mse_hidden': ran longer than 4 s: interrupted",
        ),
    ),
    Submission(
        "ignores_sigint",
        _with_mse(
            MSE.solution,
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n\n",
        ),
        2,
        (
            "cell 'mse': the cell ran longer than 4 s and ignored the interrupt",
            "suspicious code, line 1: imports signal",
        ),
        human=True,
    ),
    Submission(
        "os_exit",
        lambda course, _: solved(course, mae="import os\nos._exit(3)"),
        3,
        (
            "cell 'mae': the kernel died while running this cell (exit status 3)",
            "suspicious code, line 2: uses os._exit",
        ),
        human=True,
    ),
    Submission(
        "deleted_test",
        _deleted,
        3,
        ("cell 'test_mse_hidden': test cell missing from the submission: restored, scored 0",),
    ),
    Submission(
        "renamed_test",
        _renamed,
        4,
        (
            "cell 'test_mae': test cell missing from the submission: restored, scored 0",
            "nbgrader metadata with 'test_mae_mine' id, unknown to the gradebook",
        ),
    ),
    Submission("invalid_json", _invalid_json, 0, ("losses.ipynb is not valid JSON",), human=True),
    Submission(
        "corrupt_metadata",
        _corrupt,
        5,
        (
            "cell 'test_mse': nbgrader metadata edited (points): the instructor's restored",
            "the cell after 'imports': nbgrader metadata with unreadable id, unknown to the "
            "gradebook: graded as an ordinary cell",
        ),
    ),
    Submission(
        "monkeypatch",
        _with_mse("return torch.tensor(0.0)", MONKEYPATCH),
        2,
        (
            "suspicious code, line 5: assigns to torch.nn.functional.mse_loss",
            "suspicious code, line 6: assigns to torch.allclose",
            "suspicious code, line 8: assigns to builtins.abs",
            "suspicious code, line 9: assigns to lossbook.checks.values.check_close",
        ),
        human=True,
    ),
    Submission(
        "rebinds_checks",
        _with_mse("return torch.tensor(0.0)", REBIND),
        0,
        (
            "cell 'test_mse': passed without the checks' seal",
            "cell 'test_mae_hidden': passed without the checks' seal",
            "suspicious code, line 1: rebinds the check check_close",
        ),
        human=True,
    ),
    Submission(
        "hijacks_ipython",
        _with_mse("return torch.tensor(0.0)", HIJACK),
        0,
        (
            "cell 'test_mse': passed without the checks' seal",
            "suspicious code, line 6: uses get_ipython",
        ),
        human=True,
    ),
    Submission(
        "prints_50mb",
        _with_mse(MSE.solution, "print('x' * 50_000_000)\n\n"),
        5,
        ("cell 'mse': printed 50000001 bytes: cut to 100000",),
    ),
    Submission(
        "writes_gradebook",
        _with_free_cell(
            "import sqlite3\n"
            "database = sqlite3.connect('{course}/gradebook.db')\n"
            "database.execute('CREATE TABLE pwned (who TEXT)')\n"
            "database.commit()"
        ),
        5,
        ("suspicious code, line 1: imports sqlite3",),
        human=True,
    ),
    Submission(
        "appends_gradebook",
        _with_free_cell(
            "with open('{course}/gradebook.db', 'ab') as database:\n    database.write(b'pwned')"
        ),
        5,
        ("names a grader file",),
        human=True,
    ),
    Submission(
        "opens_socket",
        _with_free_cell(
            "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
        ),
        5,
        ("suspicious code, line 1: imports socket",),
        human=True,
    ),
    Submission(
        "fork_bomb",
        _with_free_cell("import os\nwhile True:\n    os.fork()"),
        5,
        ("suspicious code, line 3: uses os.fork",),
        human=True,
    ),
    Submission(
        "links_gradebook",
        lambda course, _: solved(course),
        0,
        ("data.csv is a symbolic link (to ", "links are not graded"),
        human=True,
        extra_files=lambda folder, context: (folder / "data.csv").symlink_to(
            context["course"] / "gradebook.db"
        ),
    ),
    Submission(
        "memory_hog",
        _with_free_cell(
            "def hog():\n    blocks = []\n    while True:\n        blocks.append(bytes(10**9))\n"
            "hog()"
        ),
        5,
    ),
]


class _Listener:
    """A TCP server on the grader's loopback that counts connections."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = synthetic.make_course(tmp_path_factory.mktemp("batch") / "course")
    listener = _Listener()
    context = {"course": course, "port": listener.port}
    for submission in SUBMISSIONS:
        path = synthetic.submit(course, submission.student, submission.build(course, context))
        if submission.extra_files is not None:
            submission.extra_files(path.parent, context)
    settings = batch.Settings(
        course, "ps1", jobs=2, timeout=NOTEBOOK_TIMEOUT, cell_timeout=CELL_TIMEOUT, progress=False
    )
    outcomes = {outcome.student: outcome for outcome in batch.grade_assignment(settings)}
    listener.close()
    return course, outcomes, listener


def _said(outcome: batch.Outcome) -> str:
    return "\n".join([batch._note_text(note) for note in outcome.notes] + outcome.reasons)


@pytest.mark.parametrize("submission", SUBMISSIONS, ids=lambda submission: submission.student)
def test_each_submission_gets_its_exact_score_and_reason(graded, submission):
    _, outcomes, _ = graded
    outcome = outcomes[submission.student]
    said = _said(outcome)
    assert outcome.score == submission.score, said
    assert outcome.max_score == 5
    for words in submission.says:
        assert words in said
    assert outcome.needs_human == submission.human, said


def test_every_student_is_graded_and_exported(graded):
    course, outcomes, _ = graded
    assert sorted(outcomes) == sorted(submission.student for submission in SUBMISSIONS)
    rows = (course / "grades" / "ps1.csv").read_text().splitlines()
    assert rows[0].startswith("student_id,assignment,score,max_score,status")
    assert len(rows) == 1 + len(SUBMISSIONS)
    assert "correct,ps1,5,5,ok," in "\n".join(rows)
    assert (course / "feedback" / "correct" / "ps1" / "losses.html").exists()


def test_gradebook_is_untouched_by_student_code(graded):
    course, _, _ = graded
    database = course / "gradebook.db"
    assert not database.read_bytes().endswith(b"pwned")
    connection = sqlite3.connect(database)
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    assert "pwned" not in tables
    outputs = _outputs(course, "writes_gradebook")
    assert '"ename": "OperationalError", "evalue": "unable to open database file"' in outputs


def test_no_network_connection_reaches_the_grader(graded):
    course, _, listener = graded
    assert listener.connections == 0
    assert "ConnectionRefusedError" in _outputs(course, "opens_socket")


def test_big_output_is_capped_in_graded_notebook_and_feedback(graded):
    course, _, _ = graded
    notebook = course / "autograded" / "prints_50mb" / "ps1" / "losses.ipynb"
    feedback = course / "feedback" / "prints_50mb" / "ps1" / "losses.html"
    assert notebook.stat().st_size < 1_000_000
    assert feedback.stat().st_size < 2_000_000
    assert "output truncated to 100000 of 50000001 bytes" in _outputs(course, "prints_50mb")


def test_feedback_shows_expected_and_got_but_no_hidden_tests(graded):
    course, _, _ = graded
    html = (course / "feedback" / "sum_mistake" / "ps1" / "losses.html").read_text()
    assert "HIDDEN TESTS" not in html
    assert "check_fixed(mse" not in html
    assert "sum instead of mean" in html
    source = nbformat.read(course / "solutions" / "ps1" / "losses.ipynb", as_version=4)
    hidden = synthetic.find_cell(source, "test_mse_hidden").source
    literal = hidden[hidden.index("[") + 1 : hidden.index("]")]
    assert literal.split(",")[2].strip() not in html


def test_fork_bomb_and_memory_hog_do_not_spoil_later_cells(graded):
    course, _, _ = graded
    assert "BlockingIOError" in _outputs(course, "fork_bomb")
    assert "MemoryError" in _outputs(course, "memory_hog")


def test_rerun_keeps_manual_grades_and_exits_nonzero_listing_humans(graded, capsys):
    course, _, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("test_mse_hidden", "losses", "ps1", "correct")
        grade.manual_score = 0.5
        gradebook.db.commit()
    status = cli.main(
        [
            "grade",
            "ps1",
            "--course",
            str(course),
            "--jobs",
            "2",
            "--no-progress",
            "--cell-timeout",
            str(CELL_TIMEOUT),
            "--timeout",
            str(NOTEBOOK_TIMEOUT),
            "--student",
            "correct",
            "--student",
            "invalid_json",
        ]
    )
    summary = capsys.readouterr().out
    assert status == 1
    assert "2 need a human" in summary
    assert "invalid_json (0/5):" in summary
    assert "losses.ipynb is not valid JSON" in summary
    assert "correct (3.5/5):" in summary
    assert "nbgrader asks for a manual grade of test_mse_hidden" in summary
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("test_mse_hidden", "losses", "ps1", "correct")
        assert (grade.manual_score, grade.auto_score) == (0.5, 2.0)
        assert gradebook.find_submission("ps1", "blank").score == 0


def test_a_stuck_grading_process_is_stopped_and_the_rest_graded(graded, monkeypatch):
    course, _, _ = graded

    def grade(worker, student):
        if student == "blank":
            time.sleep(600)
        return batch.Outcome(student, notebooks=["losses"])

    monkeypatch.setattr(batch._Worker, "grade", grade)
    monkeypatch.setattr(batch, "START_SLACK_SECONDS", 0)
    settings = batch.Settings(
        course,
        "ps1",
        jobs=2,
        timeout=3,
        students=["blank", "correct"],
        progress=False,
        feedback=False,
    )
    outcomes = {outcome.student: outcome for outcome in batch.grade_assignment(settings)}
    assert outcomes["blank"].reasons == ["grading took longer than 3 s and was stopped"]
    assert outcomes["blank"].score == 0
    assert outcomes["correct"].status == "graded"


def test_a_kernel_that_cannot_start_keeps_the_recorded_grades(graded, monkeypatch):
    course, _, _ = graded
    monkeypatch.setattr(
        SandboxedKernelManager,
        "format_kernel_cmd",
        lambda self, extra_arguments=None: ["/bin/false"],
    )
    before = _cell_scores(course, ["sum_mistake"])
    settings = batch.Settings(
        course, "ps1", jobs=1, students=["sum_mistake"], progress=False, feedback=False
    )
    [outcome] = batch.grade_assignment(settings)
    assert (outcome.status, outcome.fault) == (batch.Status.FAILED, batch.Fault.GRADER)
    assert "the grading kernel could not start" in outcome.reason
    assert outcome.needs_human
    assert _cell_scores(course, ["sum_mistake"]) == before
    assert outcome.score == 2


def test_grades_equal_serial_nbgrader_autograde(graded, tmp_path, monkeypatch):
    """Plain nbgrader 0.9.6 (its default pipeline, no lossbook settings) agrees cell by cell."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    course, _, _ = graded
    monkeypatch.setenv("PYTHONPATH", str(synthetic.REPO))
    well_behaved = ["correct", "blank", "sum_mistake"]
    copy = tmp_path / "serial"
    (copy / "submitted").mkdir(parents=True)
    (copy / "solutions").symlink_to(course / "solutions")
    for student in well_behaved:
        (copy / "submitted" / student).symlink_to(course / "submitted" / student)
    with (
        sqlite3.connect(course / "gradebook.db") as source,
        sqlite3.connect(copy / "gradebook.db") as target,
    ):
        source.backup(target)
    config = Config()
    config.CourseDirectory.root = str(copy)
    config.CourseDirectory.source_directory = "solutions"
    config.Execute.timeout = 60
    for student in well_behaved:
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id, coursedir.student_id = "ps1", student
        Autograde(coursedir=coursedir, config=config, force=True).start()
    assert _cell_scores(copy, well_behaved) == _cell_scores(course, well_behaved)


def _cell_scores(course: Path, students: list[str]) -> dict:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            (student, grade.name): grade.auto_score
            for student in students
            for grade in gradebook.find_submission_notebook("losses", "ps1", student).grades
        }


def _outputs(course: Path, student: str) -> str:
    notebook = nbformat.read(course / "autograded" / student / "ps1" / "losses.ipynb", as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in notebook.cells])


# -- the pieces, without a kernel -----------------------------------------------------------


def test_suspicious_code_sees_patches_through_aliases():
    source = "import torch.nn.functional as F\nF.mse_loss = None\nsetattr(F, 'l1_loss', None)"
    assert suspicious_code(source, {"F": "torch.nn.functional", "torch": "torch"}) == [
        (2, "assigns to torch.nn.functional.mse_loss"),
        (3, "calls setattr on torch.nn.functional"),
    ]


def test_suspicious_code_leaves_ordinary_answers_alone():
    answer_source = (
        "def cross_entropy(logits, target):\n"
        "    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)\n"
        "    return -log_probs[torch.arange(len(target)), target].mean()\n"
        "%timeit cross_entropy(x, y)"
    )
    assert suspicious_code(answer_source) == []


def test_sealed_spans_cover_top_level_checks_only():
    source = (
        '"""doc"""\ncheck_close(mse, "mse_loss",\n            CASES)\n'
        "for case in CASES:\n    check_fixed(mse, [case], [1.0])\nx = 1"
    )
    assert sealed_spans(source, {"check_close", "check_fixed"}) == ([(2, 3)], True)
    assert sealed_spans("assert mse(a, b) == 0", {"check_close"}) == ([], False)
    optional = "if torch.cuda.is_available():\n    check_close(mse, 'mse_loss')"
    assert sealed_spans(optional, {"check_close"}) == ([], False)
    looped = "for case in CASES:\n    check_close(mse, 'mse_loss', [case])"
    assert sealed_spans(looped, {"check_close"}) == ([], True)


def test_output_cap_keeps_errors_and_figures_and_says_how_much_was_cut():
    figure = nbformat.v4.new_output(
        "display_data", data={"image/png": "i" * 5000, "text/plain": "<Figure>"}
    )
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="x" * 1000),
        nbformat.v4.new_output(
            "error", ename="GradingError", evalue="expected 1, got 2", traceback=["line"] * 10
        ),
        figure,
    ]
    budget = cap_cell_outputs(cell, 300, 10_000)
    assert (budget.text_total, budget.text_kept) == (1000 + 17 + 40 + 8, 300 + 57)
    kinds = [output.output_type for output in cell.outputs]
    assert kinds == ["stream", "error", "display_data", "stream"]
    assert cell.outputs[0].text == "x" * 300
    assert cell.outputs[1].ename == "GradingError"
    assert cell.outputs[2].data == {"image/png": "i" * 5000}
    assert cell.outputs[3].text == TRUNCATION_NOTE.format(kept=357, total=1065)
    again = cap_cell_outputs(cell, 300, 10_000)
    assert again.note() is None
    assert len(cell.outputs) == 4
