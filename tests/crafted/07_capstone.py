"""Crafted wrong submissions for 07_capstone: one misconception each, named in the feedback.

Every submission answers every answer cell: the solution's answer everywhere except the one
cell that holds the misconception, so only the checks that this mistake breaks may fail.
"""

from tests.course import ROOT, Crafted, read

SOLUTION = ROOT / "solutions" / "07_capstone" / "capstone.ipynb"


def _solution_answers() -> dict[str, str]:
    answers = {}
    for cell in read(SOLUTION).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = cell.source
    return answers


CORRECT = _solution_answers()
WEIGHT = (
    "    counts = torch.as_tensor(class_counts, dtype=torch.float32)\n"
    "    weight = counts.sum() / (len(counts) * counts)\n"
)


def _make_loss(body: str) -> dict[str, str]:
    """The solution with ``make_loss`` replaced by one whose body is ``body``."""
    return {**CORRECT, "make_loss_answer": "def make_loss(class_counts):\n" + body}


def _balanced_accuracy(body: str) -> dict[str, str]:
    return {
        **CORRECT,
        "balanced_accuracy_answer": "def balanced_accuracy(predicted, labels):\n" + body,
    }


CRAFTED = [
    Crafted(
        student="unweighted_cross_entropy",
        answers=_make_loss("    return nn.CrossEntropyLoss()\n"),
        failing={"make_loss_weights", "make_loss_target"},
        feedback=["This matches a known mistake: ignoring class imbalance"],
    ),
    Crafted(
        student="mse_on_class_indices",
        answers=_make_loss(WEIGHT + "    return nn.MSELoss()\n"),
        failing={"make_loss_task", "make_loss_weights", "make_loss_target"},
        feedback=[
            "This matches a known mistake: MSE on class indices",
            "Regression loss on class labels",
        ],
    ),
    Crafted(
        student="softmax_twice",
        answers=_make_loss(
            WEIGHT
            + "    cross_entropy = nn.CrossEntropyLoss(weight=weight)\n"
            + "    return lambda logits, target: cross_entropy(logits.softmax(dim=1), target)\n"
        ),
        # The weighted loss still reaches the target here: only the task check catches it.
        failing={"make_loss_task"},
        feedback=["This matches a known mistake: softmax applied twice"],
    ),
    Crafted(
        student="bce_for_multiclass",
        answers=_make_loss(WEIGHT + "    return nn.BCEWithLogitsLoss(weight=weight)\n"),
        failing={"make_loss_task", "make_loss_weights", "make_loss_target"},
        feedback=["This matches a known mistake: binary cross-entropy for a multi-class task"],
    ),
    Crafted(
        student="weights_by_frequency",
        answers=_make_loss(
            "    counts = torch.as_tensor(class_counts, dtype=torch.float32)\n"
            "    return nn.CrossEntropyLoss(weight=counts / counts.sum())\n"
        ),
        failing={"make_loss_weights", "make_loss_target"},
        feedback=["This matches a known mistake: weights proportional to frequency"],
    ),
    Crafted(
        student="hard_coded_weights",
        answers=_make_loss(
            "    weight = torch.tensor([550 / (4 * 500), 550 / (4 * 25), 550 / (4 * 15), 550 / (4 * 10)])\n"
            "    return nn.CrossEntropyLoss(weight=weight)\n"
        ),
        # Four typed weights cannot serve the hidden three-class task either.
        failing={"make_loss_task", "make_loss_weights", "make_loss_target"},
        feedback=["does not weigh the rarer class more"],
    ),
    Crafted(
        student="plain_accuracy",
        answers=_balanced_accuracy("    return (predicted == labels).float().mean()\n"),
        failing={"balanced_accuracy_values", "balanced_accuracy_absent"},
        feedback=["This matches a known mistake: plain accuracy instead of balanced accuracy"],
    ),
    Crafted(
        student="absent_classes_counted",
        answers=_balanced_accuracy(
            "    classes = torch.cat([predicted, labels]).unique()\n"
            "    recalls = [(predicted[labels == c] == c).float().mean() if (labels == c).any()\n"
            "               else torch.tensor(0.0) for c in classes]\n"
            "    return torch.stack(recalls).mean()\n"
        ),
        failing={"balanced_accuracy_absent"},
        feedback=["This matches a known mistake: absent classes counted as recall 0"],
    ),
]
