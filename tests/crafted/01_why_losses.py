"""Crafted wrong submissions for chapter 01 (why losses): a wrong loss for one task each.

Every submission answers all five tasks; only the task named in its student id
gets a wrong loss, so exactly that task's check loses its point.
"""

from tests.course import Crafted

RIGHT = {
    "regression": "nn.MSELoss",
    "binary": "nn.BCEWithLogitsLoss",
    "multi-class": "nn.CrossEntropyLoss",
    "multi-label": "nn.BCEWithLogitsLoss",
    "ranking": "nn.MarginRankingLoss",
}


def choose_loss(**wrong: str) -> dict[str, str]:
    """A ``choose_loss`` answer cell mapping each task to its loss, with ``wrong`` overriding some."""
    losses = {**RIGHT, **{task.replace("_", "-"): loss for task, loss in wrong.items()}}
    entries = "".join(f"        {task!r}: {loss},\n" for task, loss in losses.items())
    source = f"def choose_loss(task):\n    return {{\n{entries}    }}[task]()\n"
    return {
        "choose_loss_answer": source,
        # The ungraded faded example, filled in as a learner would.
        "empirical_risk_answer": (
            'per_sample_losses = LF.mse_loss(pred, target, reduction="none")\n'
            "risk_vectorised = per_sample_losses.mean()\n"
        ),
    }


CRAFTED = [
    Crafted(
        student="mse_on_class_indices",
        answers=choose_loss(multi_class="nn.MSELoss"),
        failing={"choose_loss_multiclass"},
        feedback=["you chose MSELoss()", "MSE on class indices", "task/loss mismatch"],
    ),
    Crafted(
        student="bce_for_multiclass",
        answers=choose_loss(multi_class="nn.BCEWithLogitsLoss"),
        failing={"choose_loss_multiclass"},
        feedback=["you chose BCEWithLogitsLoss()", "that is multi-label"],
    ),
    Crafted(
        student="nll_on_logits",
        answers=choose_loss(multi_class="nn.NLLLoss"),
        failing={"choose_loss_multiclass"},
        feedback=["you chose NLLLoss()", "expects log-probabilities, not logits"],
    ),
    Crafted(
        student="bce_loss_on_logits",
        answers=choose_loss(binary="nn.BCELoss"),
        failing={"choose_loss_binary"},
        feedback=["you chose BCELoss()", "BCELoss on logits"],
    ),
    Crafted(
        student="cross_entropy_for_multilabel",
        answers=choose_loss(multi_label="nn.CrossEntropyLoss"),
        failing={"choose_loss_multilabel"},
        feedback=["you chose CrossEntropyLoss()", "compete for one unit of probability"],
    ),
    Crafted(
        student="cross_entropy_for_regression",
        answers=choose_loss(regression="nn.CrossEntropyLoss"),
        failing={"choose_loss_regression"},
        feedback=["you chose CrossEntropyLoss()", "task/loss mismatch"],
    ),
    Crafted(
        student="mse_for_ranking",
        answers=choose_loss(ranking="nn.MSELoss"),
        failing={"choose_loss_ranking"},
        feedback=["you chose MSELoss()", "only the order of the two scores matters"],
    ),
]
