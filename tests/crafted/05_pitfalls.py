"""Crafted wrong submissions for chapter 05 (the pitfalls clinic).

Each exercise hands the learner a broken training setup; a submission that
leaves one bug in (or fixes it the wrong way) must lose exactly the points of
that exercise's checks, with feedback that names the mistake as ``diagnose``
or torch words it. Every other answer cell holds the right fix.

``BROKEN`` is the version each exercise shows; the notebook's prompts are
built from it, so the prompts and these submissions cannot drift apart.
"""

from tests.course import ROOT, Crafted, read

_SOLUTIONS = read(ROOT / "solutions" / "05_pitfalls" / "pitfalls.ipynb")


def _cell(cell_id: str) -> str:
    """A cell's source in the solutions notebook, by its id."""
    return next(cell.source for cell in _SOLUTIONS.cells if cell.get("id") == cell_id)


# The mystery runs: their broken code is the read-only cell the learner runs, renamed fix_run_x.
MYSTERIES = "abc"
DIAGNOSES = {"a": "missing_minus", "b": "sum_instead_of_mean", "c": "sigmoid_before_with_logits"}

BROKEN = {
    "fix_double_softmax_answer": """\
def fix_double_softmax():
    torch.manual_seed(0)
    X, y = classification_data()  # (300, 2) float32, (300,) int64 class indices
    model = nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1))
    loss_fn = nn.CrossEntropyLoss()
    return model, loss_fn, (X, y)
""",
    "fix_label_dtype_answer": """\
def fix_label_dtype():
    torch.manual_seed(0)
    X, labels = classification_data()
    y = labels.float()  # the labels as a CSV reader returns them: 0.0, 1.0, 2.0
    model = nn.Linear(2, 3)
    loss_fn = nn.CrossEntropyLoss()
    return model, loss_fn, (X, y)
""",
    "fix_task_loss_answer": """\
def fix_task_loss():
    torch.manual_seed(0)
    X, y = classification_data(num_classes=4)  # (300, 2) float32, (300,) int64 classes 0 to 3
    model = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))  # one number per sample
    loss_fn = nn.MSELoss()
    return model, loss_fn, (X, y)
""",
    "fix_bce_on_logits_answer": """\
def fix_bce_on_logits():
    torch.manual_seed(0)
    X, y = binary_data()  # (200, 2) float32, (200,) float32 labels 0. and 1.
    model = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))  # one logit per sample
    loss_fn = nn.BCELoss()
    return model, loss_fn, (X, y)
""",
    "fix_label_range_answer": """\
def fix_label_range():
    torch.manual_seed(0)
    X, labels = classification_data()
    y = labels + 1  # this data set numbers its classes 1, 2, 3
    model = nn.Linear(2, 3)
    loss_fn = nn.CrossEntropyLoss()
    return model, loss_fn, (X, y)
""",
    "fix_target_shape_answer": """\
def fix_target_shape():
    torch.manual_seed(0)
    X, y = binary_data()  # (200, 2) float32, (200,) float32 labels 0. and 1.
    model = nn.Linear(2, 1)  # one logit per sample
    loss_fn = nn.BCEWithLogitsLoss()
    return model, loss_fn, (X, y)
""",
}

# The smallest change that fixes each setup (the solutions' bodies say the same).
FIXES = {
    "fix_double_softmax_answer": (
        "model = nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1))",
        "model = nn.Linear(2, 3)  # logits: cross-entropy applies log_softmax itself",
    ),
    "fix_label_dtype_answer": (
        "    model = nn.Linear(2, 3)\n",
        "    y = y.long()  # class indices must be integers\n    model = nn.Linear(2, 3)\n",
    ),
    "fix_task_loss_answer": (
        "model = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))  # one number per sample\n"
        "    loss_fn = nn.MSELoss()",
        "model = nn.Linear(2, 4)  # one logit per class\n"
        "    loss_fn = nn.CrossEntropyLoss()  # a classification loss for class indices",
    ),
    "fix_bce_on_logits_answer": (
        "loss_fn = nn.BCELoss()",
        "loss_fn = nn.BCEWithLogitsLoss()  # applies the sigmoid itself, stably",
    ),
    "fix_label_range_answer": (
        "    model = nn.Linear(2, 3)\n",
        "    y = y - 1  # torch counts classes from 0\n    model = nn.Linear(2, 3)\n",
    ),
    "fix_target_shape_answer": (
        "model = nn.Linear(2, 1)  # one logit per sample",
        "model = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))  # (N, 1) -> (N,), like the target",
    ),
}


def fixed(grade_id: str) -> str:
    """The broken version of an exercise with its one fix applied."""
    old, new = FIXES[grade_id]
    assert BROKEN[grade_id].count(old) == 1, grade_id
    return BROKEN[grade_id].replace(old, new)


BROKEN.update(
    {
        f"fix_run_{x}_answer": _cell(f"ch05-mystery-{x}-code").replace(
            f"def run_{x}():", f"def fix_run_{x}():"
        )
        + "\n"
        for x in MYSTERIES
    }
)
FIXES.update(
    {
        "fix_run_a_answer": ("        return log_probs.gather", "        return -log_probs.gather"),
        "fix_run_b_answer": ('nn.CrossEntropyLoss(reduction="sum")', "nn.CrossEntropyLoss()"),
        "fix_run_c_answer": (", nn.Sigmoid())", ")"),
    }
)

RIGHT = {grade_id: fixed(grade_id) for grade_id in BROKEN}
RIGHT.update(
    {f"mystery_{x}_diagnosis_answer": f'diagnosis_{x} = "{DIAGNOSES[x]}"\n' for x in MYSTERIES}
)


def submission(**wrong: str) -> dict[str, str]:
    """The right answers, with the given answer cells replaced."""
    return {**RIGHT, **wrong}


def left_in(name: str) -> dict[str, str]:
    """Every exercise fixed except ``name``, whose bug is left as given."""
    grade_id = f"fix_{name}_answer"
    return submission(**{grade_id: BROKEN[grade_id]})


CRAFTED = [
    Crafted(
        # Accuracy is fine on this data: only the diagnosis gives the bug away.
        student="double_softmax_left_in",
        answers=left_in("double_softmax"),
        failing={"double_softmax_diagnosis"},
        feedback=["Softmax (or sigmoid) applied before cross-entropy", "double-softmax"],
    ),
    Crafted(
        student="label_dtype_left_in",
        answers=left_in("label_dtype"),
        failing={"label_dtype_trains", "label_dtype_diagnosis"},
        feedback=["Target has the wrong dtype", "expected target dtype to be Long or Byte"],
    ),
    Crafted(
        student="task_loss_left_in",
        answers=left_in("task_loss"),
        failing={"task_loss_trains", "task_loss_diagnosis"},
        feedback=["Regression loss on class labels", "regression-on-class-indices"],
    ),
    Crafted(
        student="bce_on_logits_left_in",
        answers=left_in("bce_on_logits"),
        failing={"bce_on_logits_trains", "bce_on_logits_diagnosis"},
        feedback=["BCELoss given logits", "all elements of input should be between 0 and 1"],
    ),
    Crafted(
        student="label_range_left_in",
        answers=left_in("label_range"),
        failing={"label_range_trains", "label_range_diagnosis"},
        feedback=["Class index out of range", "Target 3 is out of bounds"],
    ),
    Crafted(
        student="target_shape_left_in",
        answers=left_in("target_shape"),
        failing={"target_shape_trains", "target_shape_diagnosis"},
        feedback=["Extra dimension of size 1, as in (N, 1) against (N,)", "column-vs-vector"],
    ),
    Crafted(
        # Runs and trains, but renames class 3 to class 0: only the hidden label check sees it.
        student="label_range_modulo",
        answers=submission(
            fix_label_range_answer=BROKEN["fix_label_range_answer"].replace(
                "    model = nn.Linear(2, 3)\n", "    y = y % 3\n    model = nn.Linear(2, 3)\n"
            )
        ),
        failing={"label_range_trains"},
        feedback=["the labels fix_label_range() returns is not right"],
    ),
    Crafted(
        # A sigmoid in the model on top of the with-logits loss: the sigmoid is applied twice.
        student="bce_sigmoid_twice",
        answers=submission(
            fix_bce_on_logits_answer=fixed("fix_bce_on_logits_answer").replace(
                "nn.Flatten(0))", "nn.Flatten(0), nn.Sigmoid())"
            )
        ),
        failing={"bce_on_logits_trains", "bce_on_logits_diagnosis"},
        feedback=["Sigmoid applied before a with-logits loss"],
    ),
    # Mystery runs: a wrong diagnosis loses its point and is told the sign of the real bug.
    Crafted(
        student="mystery_a_misdiagnosed",
        answers=submission(mystery_a_diagnosis_answer='diagnosis_a = "softmax_twice"\n'),
        failing={"mystery_a_diagnosis"},
        feedback=['you named "softmax_twice"', "the loss is negative from the start"],
    ),
    Crafted(
        student="mystery_b_misdiagnosed",
        answers=submission(mystery_b_diagnosis_answer='diagnosis_b = "pairwise_broadcast"\n'),
        failing={"mystery_b_diagnosis"},
        feedback=["the first loss is about N times log C"],
    ),
    Crafted(
        student="mystery_c_misdiagnosed",
        answers=submission(mystery_c_diagnosis_answer='diagnosis_c = "bce_on_logits"\n'),
        failing={"mystery_c_diagnosis"},
        feedback=["every output lies between 0 and 1"],
    ),
    Crafted(
        # Not one of the choices: told the list, loses the point.
        student="mystery_c_not_a_choice",
        answers=submission(mystery_c_diagnosis_answer='diagnosis_c = "the sigmoid"\n'),
        failing={"mystery_c_diagnosis"},
        feedback=["is not one of the choices", "sigmoid_before_with_logits"],
    ),
    # Mystery runs: the bug left in, or a wrong fix, loses the training point.
    Crafted(
        student="mystery_a_left_in",
        answers=left_in("run_a"),
        failing={"mystery_a_trains"},
        feedback=["reaches 0.0% accuracy"],
    ),
    Crafted(
        # softmax for log_softmax, still no minus: it minimises the right class's probability.
        student="mystery_a_wrong_fix",
        answers=submission(
            fix_run_a_answer=BROKEN["fix_run_a_answer"].replace("F.log_softmax", "F.softmax")
        ),
        failing={"mystery_a_trains"},
        feedback=["reaches 0.0% accuracy"],
    ),
    Crafted(
        student="mystery_b_wrong_fix",
        answers=submission(
            fix_run_b_answer=BROKEN["fix_run_b_answer"].replace(
                'reduction="sum"', 'reduction="none"'
            )
        ),
        failing={"mystery_b_trains"},
        feedback=["the loss must be one number"],
    ),
    Crafted(
        # The sigmoid removed together with the Flatten: (N, 1) logits against (N,) targets.
        student="mystery_c_wrong_fix",
        answers=submission(
            fix_run_c_answer=BROKEN["fix_run_c_answer"].replace(
                ", nn.Flatten(0), nn.Sigmoid())", ")"
            )
        ),
        failing={"mystery_c_trains"},
        feedback=["must be the same as input size"],
    ),
]
