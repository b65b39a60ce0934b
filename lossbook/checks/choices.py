"""Checking a choice of loss for a task, with the reason a wrong choice does not fit.

The answer key lives here, not in the test cell, so a visible test can stay
one line (``check_loss_choice(choose_loss, "multi-class")``) without printing
the answer in the notebook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from lossbook.checks._guard import as_student, guarded
from lossbook.checks.errors import GradingError
from lossbook.checks.mistakes import (
    BCE_FOR_MULTICLASS,
    MISTAKES,
    MSE_ON_CLASS_INDICES,
    Mistake,
)

# Captured at import, before any student cell: rebinding ``nn.CrossEntropyLoss``
# later cannot change which classes are accepted.
ACCEPTED: dict[str, tuple[type, ...]] = {
    "regression": (nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.SmoothL1Loss),
    "binary": (nn.BCEWithLogitsLoss,),
    "multi-class": (nn.CrossEntropyLoss,),
    "multi-label": (nn.BCEWithLogitsLoss, nn.MultiLabelSoftMarginLoss),
    "ranking": (nn.MarginRankingLoss,),
}

# (task, chosen class name) -> why it does not fit; "*" is the fallback for the task.
WHY_NOT: dict[tuple[str, str], str] = {
    ("regression", "*"): (
        "Task/loss mismatch: a price is a number, so use a loss that measures the distance "
        "between two numbers. Classification losses expect logits with class labels or 0/1 "
        "flags, not prices."
    ),
    ("binary", "BCELoss"): (
        "BCELoss on logits: nn.BCELoss expects probabilities in [0, 1], but the model outputs "
        "logits, so it raises an error or computes garbage. The with-logits version applies the "
        "sigmoid itself, stably."
    ),
    ("binary", "CrossEntropyLoss"): (
        "nn.CrossEntropyLoss expects (N, C) logits with class indices, not one logit per sample "
        "with float 0/1 targets."
    ),
    ("binary", "*"): (
        "A yes/no target needs −log of the probability of the right answer, from one logit per "
        "sample; a regression loss treats the label as a number to regress (task/loss mismatch)."
    ),
    ("multi-class", "MSELoss"): (
        "MSE on class indices is a task/loss mismatch: it treats the classes as ordered numbers "
        "(digit 9 'further' from 0 than digit 1), and (N, C) logits do not even match an (N,) "
        "target."
    ),
    ("multi-class", "L1Loss"): (
        "A regression loss on class indices is a task/loss mismatch: it treats the classes as "
        "ordered numbers."
    ),
    ("multi-class", "BCEWithLogitsLoss"): (
        "BCE treats each class as an independent yes/no: that is multi-label, not one class out "
        "of C, and it needs (N, C) float targets."
    ),
    ("multi-class", "NLLLoss"): (
        "nn.NLLLoss expects log-probabilities, not logits: on raw logits it picks the logit "
        "without normalising."
    ),
    ("multi-class", "*"): (
        "One class out of C needs a softmax over the C logits and −log p of the target class."
    ),
    ("multi-label", "CrossEntropyLoss"): (
        "nn.CrossEntropyLoss makes the C labels compete for one unit of probability (a "
        "softmax), so two tags that both apply cannot both get a probability near 1."
    ),
    ("multi-label", "BCELoss"): "nn.BCELoss expects probabilities, not logits.",
    ("multi-label", "*"): "Every label is its own yes/no: one sigmoid and BCE per label.",
    ("ranking", "*"): (
        "Only the order of the two scores matters; a regression loss would fit the scores to "
        "+1 and −1 instead (task/loss mismatch)."
    ),
}


# (task, chosen class name) -> the catalogued mistake the choice is, where there is one.
_CHOICE_MISTAKES: dict[tuple[str, str], Mistake] = {
    ("binary", "BCELoss"): MISTAKES["bce_on_logits"],
    ("multi-label", "BCELoss"): MISTAKES["bce_on_logits"],
    ("multi-class", "MSELoss"): MSE_ON_CLASS_INDICES,
    ("multi-class", "L1Loss"): MSE_ON_CLASS_INDICES,
    ("multi-class", "BCEWithLogitsLoss"): BCE_FOR_MULTICLASS,
}


@guarded
def check_loss_choice(choose: Callable[[str], Any], task: str) -> None:
    """``choose(task)`` returns an instance of a ``torch.nn`` loss that fits ``task``.

    Tasks: ``"regression"``, ``"binary"``, ``"multi-class"``, ``"multi-label"``,
    ``"ranking"``. A wrong choice is named, with why it does not fit.

    Example:
        >>> check_loss_choice(lambda task: nn.CrossEntropyLoss(), "multi-class")
        >>> check_loss_choice(lambda task: nn.MSELoss(), "multi-class")
        Traceback (most recent call last):
        ...
        lossbook.checks.errors.GradingError: multi-class: you chose MSELoss(). MSE on class indices is a task/loss mismatch: ...
    """
    __tracebackhide__ = True
    if task not in ACCEPTED:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(ACCEPTED)}.")
    try:
        chosen = as_student(choose, task)
    except Exception as error:  # the learner's function may raise anything
        raise GradingError(
            f"{task}: choose_loss({task!r}) raised {type(error).__name__}: {error}",
            check="check_loss_choice",
            case=task,
            got=f"{type(error).__name__}: {error}"[:200],
        ) from None
    if isinstance(chosen, type) and issubclass(chosen, nn.Module):
        raise GradingError(
            f"{task}: you returned the class {chosen.__name__}; return an instance of it, "
            f"{chosen.__name__}().",
            check="check_loss_choice",
            case=task,
            got=f"the class {chosen.__name__}",
        ) from None
    if isinstance(chosen, ACCEPTED[task]):
        return
    reason = WHY_NOT.get((task, type(chosen).__name__)) or WHY_NOT[(task, "*")]
    raise GradingError(
        f"{task}: you chose {chosen!r}. {reason}",
        check="check_loss_choice",
        mistake=_CHOICE_MISTAKES.get((task, type(chosen).__name__)),
        case=task,
        got=repr(chosen)[:200],
    ) from None
