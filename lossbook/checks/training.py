"""Checks of a training setup: it trains, its loss call is sound, it copes with class imbalance.

- :func:`check_trains`: a seeded run of :func:`lossbook.course.training.fit` reaches an accuracy;
- :func:`check_diagnosis`: :func:`lossbook.course.diagnose.diagnose` finds nothing wrong
  in a model's loss call;
- :func:`check_classification_loss`: a loss suits ``(N, C)`` logits and ``(N,)`` class indices;
- :func:`check_class_weights`: a loss weighs the rarer classes more;
- :func:`check_balanced_accuracy`: training with a loss reaches a balanced accuracy.

Every run is the course's one training loop, :func:`~lossbook.course.training.fit`: the
same optimizer, the same predicted class (argmax over dim 1, or ``output > 0`` for one
logit per sample) and the same treatment of a loss that stops being finite as the
curves a chapter shows. The learner's model, loss and factory run with the learner's
bindings (:func:`~lossbook.checks._guard.as_student`); the loop, the optimizer and the
scoring run with the originals captured when :mod:`lossbook.checks` was imported.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lossbook.checks._guard import as_student, guarded
from lossbook.checks.cases import format_number
from lossbook.checks.errors import GradingError
from lossbook.checks.mistakes import (
    BCE_FOR_MULTICLASS,
    IGNORING_CLASS_IMBALANCE,
    MISTAKES,
    MSE_ON_CLASS_INDICES,
    WEIGHTS_BY_FREQUENCY,
    Mistake,
)
from lossbook.checks.feedback import describe_error, explain_mistakes, first_warning, shape_text
from lossbook.course._threads import one_torch_thread
from lossbook.course.diagnose import diagnose
from lossbook.course.training import (
    History,
    accuracies,
    class_influence,
    class_labels,
    fit,
    predicted_labels,
)
from lossbook.losses.registry import UnknownLossError
from lossbook.losses.registry import spec as loss_spec

SATURATED_LOGITS = (30.0, 60.0)
"""Logits of a confident right answer, used twice: a softmax saturates at both, a loss on logits does not."""

EQUAL_PULL = 1.01
"""Relative pulls within this factor of each other count as equal weights."""


class _AsStudent(nn.Module):
    """The learner's model, run with the learner's bindings while the loop around it runs guarded."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> Any:
        return as_student(self.model, inputs)


def _student_factory(
    model: nn.Module | Callable[[], nn.Module],
) -> nn.Module | Callable[[], nn.Module]:
    """``model`` for :func:`fit`, so that building and calling it run as the learner's code."""
    if isinstance(model, nn.Module):
        return _AsStudent(model)

    def build() -> nn.Module:
        net = as_student(model)
        if not isinstance(net, nn.Module):
            raise TypeError(
                f"the model factory returned a {type(net).__name__}, not a torch.nn.Module"
            )
        return _AsStudent(net)

    return build


def _student_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return as_student(loss_fn, output, target)

    return loss


def _train(
    check: str,
    model: nn.Module | Callable[[], nn.Module],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    training: str,
    **options: Any,
) -> tuple[History, torch.Tensor, torch.Tensor, torch.Tensor, str | None]:
    """Run :func:`fit` on a private copy of ``data``, the learner's code as the learner's.

    Returns the history, the inputs and target trained on, the trained model's
    output on those inputs, and the first warning raised during training.
    ``training`` says what is trained, for messages (``"Training the model"``).

    Raises:
        GradingError: naming what the model, the loss or the factory raised.
    """
    inputs, target = (t.detach().clone() for t in data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            history = fit(
                _student_factory(model), _student_loss(loss_fn), (inputs, target), **options
            )
        except Exception as error:  # the learner's model or loss may raise anything
            raise GradingError(
                f"{training} failed: {describe_error(error)}",
                check=check,
                got=describe_error(error),
            ) from None
        warning = first_warning(caught)
    with torch.no_grad(), one_torch_thread():
        try:
            output = history.model(inputs)
        except Exception as error:  # it trained, but the learner's forward may still raise
            raise GradingError(
                f"{training} failed after the last step: {describe_error(error)}",
                check=check,
                got=describe_error(error),
            ) from None
    return history, inputs, target, output, warning


@guarded
def check_trains(
    model: nn.Module | Callable[[], nn.Module],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    min_accuracy: float,
    lr: float = 0.1,
    optimizer: str = "sgd",
    seed: int = 0,
    predict: Callable[[torch.Tensor], torch.Tensor] | None = None,
    what: str = "the model",
) -> float:
    """Train ``model`` with ``loss_fn`` on ``data`` as :func:`~lossbook.course.training.fit` does; return the accuracy.

    The run is ``fit(model, loss_fn, data, steps=..., lr=..., optimizer=...,
    seed=...)``: seeded and deterministic (every learner gets the same run, and
    the global random state is left as it was), full batch, the model
    deep-copied (or built by the factory after seeding). The verdict is the
    accuracy of the trained model (after the last update) on ``data``: the
    share of labelled samples whose predicted class equals the label, the
    predicted class being :func:`~lossbook.course.training.predicted_labels`
    (argmax over dim 1 of ``(N, C)`` outputs with ``C > 1``, ``output > 0``
    otherwise) or ``predict(output)`` when given.

    Raises:
        GradingError: if the accuracy is below ``min_accuracy``, with the loss at
            the start and end of training, the step where it stopped being
            finite if it did, the shapes of output and target, and any warning
            the loss raised (e.g. a ``(N, 1)`` vs ``(N,)`` broadcast); or what
            the model or the loss raised.
        ValueError: for a target that holds no class labels (a bug in the test cell).

    Example:
        >>> from lossbook.course.data import classification_data
        >>> accuracy = check_trains(lambda: torch.nn.Linear(2, 3), torch.nn.CrossEntropyLoss(),
        ...                         classification_data(), steps=100, min_accuracy=0.9)
        >>> accuracy > 0.9
        True
    """
    __tracebackhide__ = True
    history, inputs, target, output, warning = _train(
        "check_trains",
        model,
        loss_fn,
        data,
        f"Training {what}",
        steps=steps,
        lr=lr,
        optimizer=optimizer,
        seed=seed,
    )
    labels = class_labels(output, target)
    if labels is None:
        raise ValueError(
            "check_trains needs class labels: class indices, 0/1 floats or class probabilities; "
            f"got a float target of shape {tuple(target.shape)} with other values."
        )
    try:
        with torch.no_grad():
            predicted = as_student(predict, output) if predict else predicted_labels(output)
        predicted = predicted.reshape(-1).long()
    except Exception as error:  # the learner's predict may raise anything
        raise GradingError(
            f"Turning {what}'s outputs into labels failed: {describe_error(error)}",
            check="check_trains",
            got=describe_error(error),
        ) from None
    if predicted.numel() != labels.numel():
        raise GradingError(
            f"{what} gives {predicted.numel()} predictions for {labels.numel()} targets.",
            check="check_trains",
            expected=f"{labels.numel()} predictions",
            got=f"{predicted.numel()} predictions",
        ) from None
    accuracy = accuracies(predicted, labels)[0]
    if accuracy >= min_accuracy:
        return accuracy
    losses = history.loss
    lines = [
        f"After {len(losses)} steps of {'SGD' if optimizer == 'sgd' else 'Adam'} "
        f"(lr={lr:g}), {what} reaches {accuracy:.1%} accuracy; this exercise expects at least "
        f"{min_accuracy:.0%}."
    ]
    if history.diverged_at is not None:
        step = history.diverged_at
        ended = f", and ended at {format_number(losses[-1])}" if len(losses) > step else ""
        lines.append(
            f"The loss became {format_number(losses[step - 1])} at step {step}{ended}: something "
            "overflows (log(0), exp of a large number) or the learning rate is too large."
        )
    else:
        trend = (
            "it barely moved"
            if abs(losses[-1] - losses[0]) < 0.05 * abs(losses[0]) + 1e-8
            else ("it went down" if losses[-1] < losses[0] else "it went up")
        )
        lines.append(
            f"The loss went from {format_number(losses[0])} to {format_number(losses[-1])} "
            f"({trend})."
        )
    lines.append(
        f"Shapes: model output {shape_text(tuple(output.shape))} "
        f"{str(output.dtype).removeprefix('torch.')}, target {shape_text(tuple(target.shape))} "
        f"{str(target.dtype).removeprefix('torch.')}."
    )
    if warning:
        lines.append(f"A warning was raised during training: {warning}")
    raise GradingError(
        "\n".join(lines),
        check="check_trains",
        expected=f"accuracy >= {min_accuracy:.0%}",
        got=f"accuracy {accuracy:.1%}",
    ) from None


@guarded
def check_diagnosis(
    model: nn.Module | Callable[[], nn.Module],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    what: str = "the loss call",
) -> None:
    """:func:`lossbook.course.diagnose` finds no error and no warning in ``loss_fn(model(inputs), target)``.

    The same arguments as ``check_trains`` (a module or a zero-argument factory
    for ``model``). The model runs once on ``data``
    (with gradients, so diagnose also checks that every parameter's gradient is
    finite); notes, which describe correct calls, do not fail the check.

    Raises:
        GradingError: listing each error and warning diagnose found, by title
            and id, with its explanation and fix; or saying what the model or
            the diagnosis raised.

    Example:
        >>> from lossbook.course.data import classification_data
        >>> check_diagnosis(nn.Linear(2, 3), nn.CrossEntropyLoss(), classification_data())
        >>> check_diagnosis(nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)),
        ...                 nn.CrossEntropyLoss(), classification_data())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: diagnose() finds 1 problem in the loss call ...
        - warning: Softmax (or sigmoid) applied before cross-entropy (double-softmax)
        ...
    """
    __tracebackhide__ = True
    try:
        inputs, target = data
        net = model if isinstance(model, nn.Module) else as_student(model)
        output = as_student(net, inputs)
        report = diagnose(loss_fn, output, target, model=net)
    except Exception as error:  # the learner's model or loss object may raise anything
        raise GradingError(
            f"Diagnosing {what} failed: {describe_error(error)}",
            check="check_diagnosis",
            got=describe_error(error),
        ) from None
    problems = [f for f in report.findings if f.severity in ("error", "warning")]
    if not problems:
        return
    lines = [
        f"diagnose() finds {len(problems)} problem{'s' if len(problems) != 1 else ''} in "
        f"{what} ({report.loss_name}; {report.call_summary}):"
    ]
    for finding in problems:
        lines += [
            f"- {finding.severity}: {finding.title} ({finding.id})",
            f"  {finding.message}",
            f"  Fix: {finding.fix}",
        ]
    raise GradingError(
        "\n".join(lines),
        check="check_diagnosis",
        expected="no error or warning",
        got=_findings_text(problems),
    ) from None


def _findings_text(problems: list[Any]) -> str:
    """The ids of diagnose's findings, in short form: ``"warning double-softmax"``."""
    return ", ".join(f"{finding.severity} {finding.id}" for finding in problems)


def _family_mistake(loss_name: str, finding_ids: list[str]) -> list[Mistake]:
    """The mistake a loss of the wrong family is, for a multi-class task (by the registry's families)."""
    try:
        family = loss_spec(loss_name).family
    except UnknownLossError:  # a lambda or a loss of the learner's own
        family = None
    if "regression-on-class-indices" in finding_ids or family == "regression":
        return [MSE_ON_CLASS_INDICES]
    if family == "binary":
        return [BCE_FOR_MULTICLASS]
    return []


@guarded
def check_classification_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    num_classes: int,
    *,
    what: str = "the loss",
) -> None:
    """``loss_fn(logits, target)`` suits ``(N, C)`` logits and ``(N,)`` class indices.

    Three probes, every class equally frequent (so class imbalance is not at
    stake here):

    1. :func:`lossbook.course.diagnose` on random logits: no error and no warning
       (this catches a regression loss on class indices and binary
       cross-entropy given class indices, among others);
    2. the loss is one number;
    3. confident right answers, logits of 30 and then of 60 on each sample's
       class (0 elsewhere): a loss that applies softmax (or sigmoid) before
       cross-entropy sees the same saturated probabilities both times and
       returns the same positive number, its floor; a loss on logits does not
       (plain cross-entropy falls to 0, label smoothing grows with the logits).

    Raises:
        GradingError: naming the mistake (MSE on class indices, binary
            cross-entropy for a multi-class task, softmax applied twice) with
            diagnose's findings, or what the loss raised.

    Example:
        >>> check_classification_loss(nn.CrossEntropyLoss(label_smoothing=0.1), 3)
        >>> check_classification_loss(lambda z, y: nn.functional.cross_entropy(z.softmax(dim=1), y),
        ...                           3)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: the loss stops learning from confident answers...
        This matches a known mistake: softmax applied twice.
        ...
    """
    __tracebackhide__ = True
    target = torch.arange(num_classes).repeat(8)
    generator = torch.Generator().manual_seed(0)
    logits = 2.0 * torch.randn(len(target), num_classes, generator=generator)
    try:
        report = diagnose(loss_fn, logits.requires_grad_(True), target)
    except Exception as error:  # a learner's loss object may break diagnose itself
        raise GradingError(
            f"Diagnosing {what} failed: {describe_error(error)}",
            check="check_classification_loss",
            got=describe_error(error),
        ) from None
    problems = [f for f in report.findings if f.severity in ("error", "warning")]
    if problems:
        lines = [
            f"{what} does not fit (N, C) logits with (N,) class indices: diagnose() finds "
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} "
            f"({report.loss_name}; {report.call_summary}):"
        ]
        for finding in problems:
            lines += [
                f"- {finding.severity}: {finding.title} ({finding.id})",
                f"  {finding.message}",
                f"  Fix: {finding.fix}",
            ]
        family = _family_mistake(report.loss_name, [f.id for f in problems])
        lines += explain_mistakes(family)
        raise GradingError(
            "\n".join(lines),
            check="check_classification_loss",
            mistake=family[0] if family else None,
            expected="no error or warning",
            got=_findings_text(problems),
        ) from None
    value = report.loss_value
    if value is None or value.numel() != 1:
        shape = "nothing" if value is None else f"shape {tuple(value.shape)}"
        raise GradingError(
            f"{what} returns {shape}, not one number: training calls backward() on it. "
            "Keep the default reduction='mean'.",
            check="check_classification_loss",
            mistake=MISTAKES["no_reduction"] if value is not None else None,
            expected="one number",
            got=shape,
        ) from None
    one_hot = nn.functional.one_hot(target, num_classes).float()
    try:
        confident = [
            float(as_student(loss_fn, scale * one_hot, target)) for scale in SATURATED_LOGITS
        ]
    except Exception as error:  # the learner's loss may raise anything
        raise GradingError(
            f"{what} raised {describe_error(error)} on logits that are confidently right.",
            check="check_classification_loss",
            case="confident right answers",
            got=describe_error(error),
        ) from None
    first, second = confident
    if math.isfinite(first) and first > 1e-3 and abs(first - second) <= 1e-4 * first:
        lines = [
            f"{what} stops learning from confident answers: with logits of "
            f"{SATURATED_LOGITS[0]:g} and then {SATURATED_LOGITS[1]:g} on the right class it returns "
            f"{first:.4g} both times, a floor above 0 that no model can get under.",
            *explain_mistakes([MISTAKES["softmax_twice"]]),
        ]
        raise GradingError(
            "\n".join(lines),
            check="check_classification_loss",
            mistake=MISTAKES["softmax_twice"],
            case="confident right answers",
            expected="a loss that falls as the logits grow",
            got=f"{first:.4g} at both logits",
        ) from None


@guarded
def check_class_weights(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    class_counts: list[int] | tuple[int, ...] | torch.Tensor,
    *,
    what: str = "the loss",
) -> None:
    """``loss_fn`` weighs a sample of a rarer class more: class weights follow inverse frequency.

    Measured with :func:`class_influence`, so any way of weighting counts
    (``weight=`` of cross-entropy, a custom loss): for every two classes with
    different counts, the rarer one must pull at least 1% harder. Classes with
    equal counts are not compared.

    Raises:
        GradingError: with the counts and the relative weights measured, naming
            "ignoring class imbalance" (all equal) or weights proportional to
            frequency (upside down); or what the loss raised.

    Example:
        >>> counts = [90, 6, 4]
        >>> weight = sum(counts) / (len(counts) * torch.tensor(counts, dtype=torch.float32))
        >>> check_class_weights(nn.CrossEntropyLoss(weight=weight), counts)
        >>> check_class_weights(nn.CrossEntropyLoss(), counts)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: the loss weighs every class the same...
        This matches a known mistake: ignoring class imbalance.
        ...
    """
    __tracebackhide__ = True
    counts = [int(n) for n in torch.as_tensor(class_counts).reshape(-1).tolist()]
    try:
        pull = class_influence(_student_loss(loss_fn), len(counts)).tolist()
    except Exception as error:  # the learner's loss may raise anything
        raise GradingError(
            f"{what} raised {describe_error(error)}\n"
            f"on zero logits of shape ({2 * len(counts)}, {len(counts)}) with class indices of "
            f"shape ({2 * len(counts)},).",
            check="check_class_weights",
            got=describe_error(error),
        ) from None
    shown = (
        f"  class counts:     {counts}\n"
        f"  relative weights: {[round(p, 3) for p in pull]} "
        f"(how hard the loss pulls on one sample of each class; mean 1)"
    )
    if not all(math.isfinite(p) for p in pull) or max(pull) == 0:
        raise GradingError(
            f"{what} does not depend on the logits (its gradient is 0 or not finite):\n{shown}",
            check="check_class_weights",
            got=f"relative weights {[round(p, 3) for p in pull]}",
        ) from None
    pairs = [
        (a, b) for a in range(len(counts)) for b in range(len(counts)) if counts[a] < counts[b]
    ]
    wrong = [(a, b) for a, b in pairs if pull[a] < EQUAL_PULL * pull[b]]
    if not wrong:
        return
    mistake = None
    if max(pull) <= EQUAL_PULL * min(pull):
        mistake = IGNORING_CLASS_IMBALANCE
        lines = [f"{what} weighs every class the same, whatever its count:", shown]
        lines += explain_mistakes([mistake])
    elif all(pull[b] >= EQUAL_PULL * pull[a] for a, b in pairs):
        mistake = WEIGHTS_BY_FREQUENCY
        lines = [f"{what} weighs the common classes more than the rare ones:", shown]
        lines += explain_mistakes([mistake])
    else:
        rare, common = wrong[0]
        lines = [
            f"{what} does not weigh the rarer class more: class {rare} ({counts[rare]} samples) "
            f"pulls no harder than class {common} ({counts[common]} samples).",
            shown,
            "  Fix: weight = N / (C · count) gives each class the same total weight.",
        ]
    raise GradingError(
        "\n".join(lines),
        check="check_class_weights",
        mistake=mistake,
        case=f"class counts {counts}",
        expected="rarer classes weigh more",
        got=f"relative weights {[round(p, 3) for p in pull]}",
    ) from None


@guarded
def check_balanced_accuracy(
    model: nn.Module | Callable[[], nn.Module],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    min_balanced_accuracy: float,
    lr: float = 0.1,
    optimizer: str = "sgd",
    seed: int = 0,
    what: str = "the loss",
) -> float:
    """Training with ``loss_fn`` as :func:`fit` does reaches ``min_balanced_accuracy``; return it.

    Seeded and deterministic, the same run as ``fit(model, loss_fn, data,
    steps=..., lr=..., optimizer=..., seed=...)``; the verdict is the balanced
    accuracy (mean recall over the classes) of the trained model, after the
    last step's update, on ``data``: ``accuracies(predicted, target)[1]``,
    computed after training with the original torch functions.

    Raises:
        GradingError: with the balanced accuracy and accuracy reached, each
            class's count and recall, and the loss's relative weight per class;
            named "ignoring class imbalance" when the loss weighs every class
            the same.

    Example:
        >>> from lossbook.course.data import gaussian_blobs
        >>> data = gaussian_blobs([200, 10, 10], spread=1.3)
        >>> counts = torch.bincount(data[1])
        >>> weighted = nn.CrossEntropyLoss(weight=len(data[1]) / (3 * counts.float()))
        >>> round(check_balanced_accuracy(lambda: nn.Linear(2, 3), weighted, data, steps=100,
        ...                               min_balanced_accuracy=0.8, optimizer="adam"), 2)
        0.9
        >>> check_balanced_accuracy(lambda: nn.Linear(2, 3), nn.CrossEntropyLoss(), data, steps=100,
        ...                         min_balanced_accuracy=0.8, optimizer="adam")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: After 100 steps of Adam (lr=0.1), ...
        This matches a known mistake: ignoring class imbalance.
        ...
    """
    __tracebackhide__ = True
    history, inputs, target, output, _ = _train(
        "check_balanced_accuracy",
        model,
        loss_fn,
        data,
        f"Training with {what}",
        steps=steps,
        lr=lr,
        optimizer=optimizer,
        seed=seed,
    )
    predicted = predicted_labels(output)
    accuracy, balanced = accuracies(predicted, target)
    if balanced >= min_balanced_accuracy:
        return balanced
    counts = torch.bincount(target, minlength=int(target.max()) + 1)
    hits = torch.bincount(target, weights=(predicted == target).double(), minlength=len(counts))
    recalls = ", ".join(
        f"class {c}: {int(n)} samples, recall {float(hits[c] / n):.0%}"
        for c, n in enumerate(counts.tolist())
        if n > 0
    )
    name = "SGD" if optimizer == "sgd" else "Adam"
    lines = [
        f"After {steps} steps of {name} (lr={lr:g}), the model trained with {what} reaches "
        f"balanced accuracy {balanced:.1%} (accuracy {accuracy:.1%}); this exercise expects at "
        f"least {min_balanced_accuracy:.0%}.",
        f"  {recalls}",
        f"  The loss went from {history.loss[0]:.4g} to {history.loss[-1]:.4g}.",
    ]
    if history.diverged_at is not None:
        lines.append(f"  The loss stopped being finite at step {history.diverged_at}.")
    try:
        pull = class_influence(_student_loss(loss_fn), len(counts)).tolist()
    except Exception:  # it trained, so this is unlikely; the numbers above still stand
        pull = []
    if pull:
        lines.append(
            f"  Relative weight per class (how hard the loss pulls on one sample of each class): "
            f"{[round(p, 3) for p in pull]}"
        )
    mistake = None
    if pull and max(pull) <= EQUAL_PULL * min(pull):
        mistake = IGNORING_CLASS_IMBALANCE
        lines += explain_mistakes([mistake])
    raise GradingError(
        "\n".join(lines),
        check="check_balanced_accuracy",
        mistake=mistake,
        expected=f"balanced accuracy >= {min_balanced_accuracy:.0%}",
        got=f"balanced accuracy {balanced:.1%}",
    ) from None


__all__ = [
    "EQUAL_PULL",
    "SATURATED_LOGITS",
    "check_balanced_accuracy",
    "check_class_weights",
    "check_classification_loss",
    "check_diagnosis",
    "check_trains",
]
