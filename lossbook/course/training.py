"""A tiny, seeded training loop that records what a loss curve shows: loss and accuracy per step.

The course trains small models to *show* how a loss behaves: a curve that
falls, one that stalls at a floor, one that explodes into NaN. :func:`fit` is
that loop, written once: full batch, a fixed seed, the model deep-copied so
the caller's object is left untouched, and one record per step of the loss and
of the accuracy and balanced accuracy, ready for
:func:`lossbook.course.plots.loss_curves`.

It trains exactly as torch code in the wild does (``zero_grad``, forward,
``loss_fn(output, target)``, ``backward``, ``step``), so a broken loss call
fails here the way it fails in a learner's script: torch's exception
propagates unchanged, and a loss that turns NaN stops the run at that step.

:func:`check_diagnosis` is the grading check that pairs with it: it runs
:func:`lossbook.course.diagnose` on a model's loss call and fails, naming each
mistake, unless diagnose finds nothing wrong.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lossbook.course._threads import one_torch_thread
from lossbook.course.diagnose import Diagnosis, diagnose
from lossbook.checks import MISTAKES, GradingError, Mistake
from lossbook.checks._guard import as_student, guarded

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
}
"""The optimizers :func:`fit` can use, by name (the same two as ``check_trains``)."""


@dataclass
class History:
    """What one run of :func:`fit` recorded, one value per step, as a training log prints it.

    Step ``t`` (1, 2, ...) computes the loss, records it, then updates the
    weights: ``loss[t - 1]`` is the loss of the model after ``t - 1`` updates,
    so ``loss[0]`` is the untrained model's.

    Attributes:
        loss: the loss of each step (``steps`` values, fewer when the loss became
            NaN: that is the last value, and it ends the run).
        accuracy: the share of samples whose predicted class equals the label,
            at the same steps; empty when the target holds no class labels
            (a regression target).
        balanced_accuracy: the mean over the classes present of each class's
            recall; equals ``accuracy`` on balanced data, and falls to ``1/C``
            for a model that always predicts the majority class.
        diverged_at: the first step whose loss was infinite or NaN, or ``None``
            if it stayed finite.
        model: the trained copy of the model (after every step's update).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    balanced_accuracy: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    model: nn.Module | None = field(default=None, repr=False)

    def series(
        self, label: str, loss: str, metrics: tuple[str, ...] = ("accuracy",)
    ) -> dict[str, list[float]]:
        """The curves for :func:`lossbook.course.plots.loss_curves`, named ``"{label} {loss}"`` etc.

        ``loss`` is the loss's colour key (``"ce"``, ``"mse"``, ``"bce"``...), so
        the curve gets the course colour; ``metrics`` (``"accuracy"``,
        ``"balanced_accuracy"``) go to the metrics panel when they were recorded.

        Example:
            >>> History(loss=[1.0, 0.5], accuracy=[0.5, 1.0]).series("fixed", "ce")
            {'fixed ce': [1.0, 0.5], 'fixed accuracy': [0.5, 1.0]}
        """
        curves = {f"{label} {loss}": self.loss}
        for metric in metrics:
            values = getattr(self, metric)
            if values:
                curves[f"{label} {metric}"] = values
        return curves

    def summary(self) -> str:
        """One line: the loss at the first and last step, and the last accuracy.

        Example:
            >>> History(loss=[1.1, 0.25], accuracy=[0.3, 0.9], balanced_accuracy=[0.3, 0.8]).summary()
            'loss 1.1 -> 0.25 over 2 steps; accuracy 90.0%, balanced accuracy 80.0%'
        """
        steps = len(self.loss)
        text = (
            f"loss {self.loss[0]:.3g} -> {self.loss[-1]:.3g} over {steps} "
            f"step{'s' if steps != 1 else ''}"
        )
        if self.diverged_at is not None:
            text += f" (not finite from step {self.diverged_at} on)"
        if self.accuracy:
            text += (
                f"; accuracy {self.accuracy[-1]:.1%}, "
                f"balanced accuracy {self.balanced_accuracy[-1]:.1%}"
            )
        return text


def class_labels(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """The class of each sample as ``(N,)`` integers, or ``None`` for a regression target.

    Class indices are taken as they are; class probabilities (a float target of
    the output's shape, classes along dim 1) by their argmax; 0/1 float labels
    are rounded. Any other float target is a regression target.
    """
    if not target.is_floating_point():
        return target.reshape(-1).long()
    if target.dim() >= 2 and target.shape == output.shape and target.shape[1] > 1:
        return target.argmax(dim=1).reshape(-1)
    if target.numel() > 0 and bool(((target == 0) | (target == 1)).all()):
        return target.reshape(-1).long()
    return None


def predicted_labels(output: torch.Tensor) -> torch.Tensor:
    """The predicted class of each sample: argmax over dim 1 of ``(N, C)`` scores with
    ``C > 1``, otherwise ``output > 0`` (one logit per sample, as BCE-with-logits takes)."""
    if output.dim() >= 2 and output.shape[1] > 1:
        return output.argmax(dim=1).reshape(-1)
    return (output.reshape(-1) > 0).long()


def accuracies(predicted: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Accuracy and balanced accuracy (mean recall over the classes present in ``labels``).

    Negative labels (``ignore_index``, -100 by default) mark unlabelled samples and are skipped.

    Example:
        >>> accuracies(torch.tensor([0, 0, 0, 0]), torch.tensor([0, 0, 0, 1]))
        (0.75, 0.5)
    """
    labelled = labels >= 0
    predicted, labels = predicted[labelled], labels[labelled]
    if labels.numel() == 0:
        return math.nan, math.nan
    correct = (predicted == labels).double()
    per_class = torch.bincount(labels)
    hits = torch.bincount(labels, weights=correct)
    present = per_class > 0
    return correct.mean().item(), (hits[present] / per_class[present]).mean().item()


def fit(
    model: nn.Module | Callable[[], nn.Module],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    lr: float = 0.1,
    optimizer: str = "sgd",
    seed: int = 0,
    predict: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> History:
    """Train on the whole of ``data`` for ``steps`` steps; record loss and accuracy per step.

    Each step: ``zero_grad``, ``output = model(inputs)``, ``loss = loss_fn(output,
    target)``, record, ``backward``, ``step`` (so ``loss[0]`` is the untrained
    model's loss). Like a loop in the wild, it trains on through an infinite
    loss (``diverged_at`` is its first step); a NaN loss ends the run, since
    every later loss would be NaN too.

    Seeded and repeatable: the global random state is saved and restored.
    ``model`` is a module (deep-copied, so the caller's is not trained) or a
    zero-argument factory (called after seeding, so its initial weights depend
    only on ``seed``).

    Args:
        model: the model, or a function that builds it.
        loss_fn: ``loss_fn(output, target)``, returning one number.
        data: ``(inputs, target)``, e.g. ``(N, d)`` features and ``(N,)`` class indices.
        steps: number of steps (one update each).
        lr: learning rate.
        optimizer: ``"sgd"`` or ``"adam"``.
        seed: seed for the model factory and anything random in the model.
        predict: turns outputs into ``(N,)`` class labels for the accuracy;
            default :func:`predicted_labels`.

    Returns:
        A :class:`History`.

    Raises:
        Whatever the model or the loss raises on the first bad call (torch's own
        errors, unchanged), and ``ValueError`` when the loss is not one number.

    Example:
        >>> from lossbook.checks import classification_data
        >>> history = fit(lambda: nn.Linear(2, 3), nn.CrossEntropyLoss(),
        ...               classification_data(), steps=50)
        >>> len(history.loss), history.loss[-1] < history.loss[0], history.accuracy[-1] > 0.9
        (50, True, True)
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r}: give a positive number of steps.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}: use one of {sorted(OPTIMIZERS)}.")
    inputs, target = data
    history = History()
    with torch.random.fork_rng(devices=[]), one_torch_thread():
        torch.manual_seed(seed)
        net = copy.deepcopy(model) if isinstance(model, nn.Module) else model()
        opt = OPTIMIZERS[optimizer](net.parameters(), lr=lr)
        for step in range(1, steps + 1):
            opt.zero_grad()
            output = net(inputs)
            loss = loss_fn(output, target)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise ValueError(
                    "the loss must be one number (a 0-d tensor) to call backward() on; got "
                    + (
                        f"shape {tuple(loss.shape)}: reduce it with .mean()"
                        if isinstance(loss, torch.Tensor)
                        else f"a {type(loss).__name__}"
                    )
                )
            _record(history, output.detach(), target, loss.item(), predict)
            if history.diverged_at is None and not math.isfinite(history.loss[-1]):
                history.diverged_at = step
            if math.isnan(history.loss[-1]):
                break  # every later loss, gradient and weight would be NaN too
            loss.backward()
            opt.step()
    history.model = net
    return history


def _record(
    history: History,
    output: torch.Tensor,
    target: torch.Tensor,
    loss: float,
    predict: Callable[[torch.Tensor], torch.Tensor] | None,
) -> None:
    history.loss.append(loss)
    labels = class_labels(output, target)
    if labels is None:
        return
    predicted = (predict or predicted_labels)(output).reshape(-1)
    if predicted.numel() != labels.numel():
        return  # e.g. an (N, N) broadcast: no per-sample prediction to score
    accuracy, balanced = accuracies(predicted.long(), labels)
    history.accuracy.append(accuracy)
    history.balanced_accuracy.append(balanced)


@dataclass(repr=False)
class Checkup:
    """A training run and a diagnosis of its loss call, as :func:`checkup` returns them.

    Attributes:
        history: the run, or ``None`` when training raised.
        error: ``"Type: first line"`` of what training raised, or ``None``.
        diagnosis: :func:`lossbook.course.diagnose` on the untrained model's loss call.
    """

    history: History | None
    error: str | None
    diagnosis: Diagnosis

    def __repr__(self) -> str:
        training = (
            f"Training raised {self.error}"
            if self.error is not None
            else f"Training: {self.history.summary()}"
        )
        return f"{training}\n\n{self.diagnosis}"


def checkup(
    model: nn.Module | Callable[[], nn.Module],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    **fit_options: Any,
) -> Checkup:
    """Train as :func:`fit` does, catching what it raises, and diagnose the loss call.

    For looking at a training setup before and after a fix: it never raises on a
    broken setup, and its display says how training went (or the error torch
    raised) and what :func:`lossbook.course.diagnose` finds in ``loss_fn(model(inputs),
    target)`` for the untrained model.

    Example:
        >>> from lossbook.checks import classification_data
        >>> X, y = classification_data()
        >>> report = checkup(nn.Linear(2, 3), nn.CrossEntropyLoss(), (X, y + 1), steps=10)
        >>> report.error
        'IndexError: Target 3 is out of bounds.'
        >>> report.diagnosis.ids
        ('class-index-out-of-range',)
    """
    history, error = None, None
    try:
        history = fit(model, loss_fn, data, **fit_options)
    except Exception as raised:  # showing torch's error is the point
        error = f"{type(raised).__name__}: {_first_line(str(raised))}"
    with torch.random.fork_rng(devices=[]), one_torch_thread():
        torch.manual_seed(fit_options.get("seed", 0))
        net = model if isinstance(model, nn.Module) else model()
        inputs, target = data
        report = diagnose(loss_fn, net(inputs), target, model=net)
    return Checkup(history, error, report)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


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
        >>> from lossbook.checks import classification_data
        >>> check_diagnosis(nn.Linear(2, 3), nn.CrossEntropyLoss(), classification_data())
        >>> check_diagnosis(nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)),
        ...                 nn.CrossEntropyLoss(), classification_data())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.checks.GradingError: diagnose() finds 1 problem in the loss call ...
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
            f"Diagnosing {what} failed: {type(error).__name__}: {_first_line(str(error))}"
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
    raise GradingError("\n".join(lines)) from None


__all__ = [
    "OPTIMIZERS",
    "Checkup",
    "History",
    "accuracies",
    "check_diagnosis",
    "checkup",
    "class_labels",
    "fit",
    "one_torch_thread",
    "predicted_labels",
]


# ---------------------------------------------------------------------------
# Imbalanced classes (chapter 7): a data set, how much a loss weighs each class,
# and the checks that grade a loss configured for them.

SATURATED_LOGITS = (30.0, 60.0)
"""Logits of a confident right answer, used twice: a softmax saturates at both, a loss on logits does not."""

EQUAL_PULL = 1.01
"""Relative pulls within this factor of each other count as equal weights."""

IGNORING_CLASS_IMBALANCE = Mistake(
    "ignoring_class_imbalance",
    "ignoring class imbalance",
    "every sample counts the same, so the majority class wins: accuracy looks good while the "
    "rare classes are hardly ever predicted (balanced accuracy falls towards 1/C).",
    "weight each class by inverse frequency, weight = N / (C · count), computed from the "
    "class counts, and pass it to the loss: nn.CrossEntropyLoss(weight=weight).",
)
WEIGHTS_BY_FREQUENCY = Mistake(
    "weights_by_frequency",
    "weights proportional to frequency (upside down)",
    "weight = count / N: the most common class gets the largest weight, which makes the "
    "imbalance worse.",
    "invert it: weight = N / (C · count), so the rarest class weighs most.",
)
MSE_ON_CLASS_INDICES = Mistake(
    "mse_on_class_indices",
    "MSE on class indices (task-loss mismatch)",
    "a regression loss between the model's outputs and the class numbers: it treats the "
    "classes as ordered, equally spaced numbers (class 2 'between' 1 and 3).",
    "this is classification: nn.CrossEntropyLoss on the (N, C) logits with (N,) class indices.",
)
BCE_FOR_MULTICLASS = Mistake(
    "bce_for_multiclass",
    "binary cross-entropy for a multi-class task",
    "C independent yes/no questions instead of one choice among C classes; with (N,) class "
    "indices torch raises, since BCE wants a float target shaped like the logits.",
    "nn.CrossEntropyLoss on the (N, C) logits with (N,) class indices: one softmax over the "
    "classes.",
)
PLAIN_ACCURACY = Mistake(
    "plain_accuracy",
    "plain accuracy instead of balanced accuracy",
    "the share of all samples predicted right, which the majority class dominates.",
    "compute each class's recall (right predictions of class c / samples of class c) for the "
    "classes present in labels, then average the recalls with equal weight.",
    lambda reference, args, kwargs: (args[0] == args[1]).double().mean(),
)
PRECISION_INSTEAD_OF_RECALL = Mistake(
    "precision_instead_of_recall",
    "per-class precision instead of recall",
    "for each predicted class, the share of its predictions that are right: divided by how "
    "often the class was predicted, not by how often it occurs.",
    "divide the right predictions of class c by the number of samples whose label is c.",
    lambda reference, args, kwargs: _mean_precision(args[0], args[1]),
)

ABSENT_CLASS_COUNTED = Mistake(
    "absent_class_counted",
    "absent classes counted as recall 0",
    "an average over every class that is predicted or occurs, giving a recall of 0 to classes "
    "that never occur in labels: balanced accuracy is the mean over the classes present.",
    "average only over labels.unique(): a class with no samples has no recall.",
    lambda reference, args, kwargs: _recall_with_absent_classes(args[0], args[1]),
)


def _recall_with_absent_classes(predicted: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    classes = torch.cat([predicted, labels]).unique()
    recalls = [
        (predicted[labels == c] == c).double().mean()
        if bool((labels == c).any())
        else torch.tensor(0.0, dtype=torch.float64)
        for c in classes
    ]
    return torch.stack(recalls).mean()


def _mean_precision(predicted: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    correct = (predicted == labels).double()
    size = int(max(int(predicted.max()), int(labels.max()))) + 1
    guessed = torch.bincount(predicted, minlength=size).double()
    hits = torch.bincount(predicted, weights=correct, minlength=size)
    return (hits[guessed > 0] / guessed[guessed > 0]).mean()


def gaussian_blobs(
    counts: list[int] | tuple[int, ...], *, spread: float = 1.0, radius: float = 2.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)``: ``counts[c]`` points of class ``c`` around ``C = len(counts)`` centres.

    Class ``c``'s centre sits at angle ``2πc / C`` on a circle of ``radius``; each
    point adds Gaussian noise of standard deviation ``spread`` to both
    coordinates, so neighbouring classes overlap more as ``spread`` grows.
    Unequal ``counts`` make an imbalanced data set. Rows are shuffled.

    Args:
        counts: points per class, ``C ≥ 2`` positive integers.
        spread: standard deviation of the noise.
        radius: radius of the circle of centres.
        seed: seed of the noise and the shuffle.

    Returns:
        ``X``, float32 ``(N, 2)``, and ``y``, class indices int64 ``(N,)``, ``N = Σ counts``.

    Example:
        >>> X, y = gaussian_blobs([30, 3, 2])
        >>> X.shape, X.dtype, y.shape, y.dtype
        (torch.Size([35, 2]), torch.float32, torch.Size([35]), torch.int64)
        >>> torch.bincount(y).tolist()
        [30, 3, 2]
    """
    sizes = [int(n) for n in counts]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"counts={sizes}: give at least two classes, each with at least one point."
        )
    generator = torch.Generator().manual_seed(seed)
    y = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    angles = 2 * math.pi * y.double() / len(sizes)
    centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    noise = torch.randn(len(y), 2, generator=generator, dtype=torch.float64)
    X = (centres + spread * noise).float()
    order = torch.randperm(len(y), generator=generator)
    return X[order], y[order]


def class_influence(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], num_classes: int
) -> torch.Tensor:
    """How hard ``loss_fn`` pulls on one sample of each class, relative to the mean: ``(C,)``.

    The probe is a batch of all-zero logits, shape ``(2C, C)``, holding every
    class twice (class indices ``(2C,)``): every sample is equally wrong, so the
    size of ``∂loss/∂logits`` for a sample depends only on how much the loss
    weighs its class. For cross-entropy with ``weight=w`` the gradient of sample
    ``i`` is ``w_{y_i} (softmax(z_i) − one_hot(y_i)) / Σ_j w_{y_j}``, and at
    ``z = 0`` the bracket has the same norm for every class, so the result is
    ``w / mean(w)``. Any other loss gets its pull measured the same way.
    ``N = 2C`` rather than ``C`` so that a loss which broadcasts ``(N, C)``
    against ``(N,)`` fails here as it does in training.

    Example:
        >>> pull = class_influence(nn.CrossEntropyLoss(weight=torch.tensor([1.0, 3.0])), 2)
        >>> [round(p, 6) for p in pull.tolist()]
        [0.5, 1.5]
        >>> class_influence(nn.CrossEntropyLoss(), 3).tolist()
        [1.0, 1.0, 1.0]
    """
    target = torch.arange(num_classes).repeat(2)
    logits = torch.zeros(2 * num_classes, num_classes, requires_grad=True)
    loss = loss_fn(logits, target)
    if not loss.requires_grad:
        return torch.zeros(num_classes)
    (grad,) = torch.autograd.grad(loss.sum(), logits, allow_unused=True)
    if grad is None:
        return torch.zeros(num_classes)
    pull = grad.detach().norm(dim=1).reshape(2, num_classes).mean(dim=0)
    mean_pull = pull.mean()
    return pull / mean_pull if mean_pull > 0 else pull


def _named(mistakes: list[Mistake]) -> list[str]:
    """The lines that name a known mistake, worded as :mod:`lossbook.checks`'s checks word them."""
    lines = []
    for mistake in mistakes:
        lines += [
            f"This matches a known mistake: {mistake.name}.",
            f"  What your answer computes: {mistake.computes}",
            f"  Fix: {mistake.fix}",
        ]
    return lines


def _family_mistake(loss_name: str, finding_ids: list[str]) -> list[Mistake]:
    if "regression-on-class-indices" in finding_ids or any(
        key in loss_name for key in ("MSE", "mse", "L1", "l1_", "Huber", "huber")
    ):
        return [MSE_ON_CLASS_INDICES]
    if "BCE" in loss_name or "binary_cross_entropy" in loss_name:
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
        lossbook.checks.checks.GradingError: the loss stops learning from confident answers...
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
            f"Diagnosing {what} failed: {type(error).__name__}: {_first_line(str(error))}"
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
        lines += _named(_family_mistake(report.loss_name, [f.id for f in problems]))
        raise GradingError("\n".join(lines)) from None
    value = report.loss_value
    if value is None or value.numel() != 1:
        shape = "nothing" if value is None else f"shape {tuple(value.shape)}"
        raise GradingError(
            f"{what} returns {shape}, not one number: training calls backward() on it. "
            "Keep the default reduction='mean'."
        ) from None
    one_hot = nn.functional.one_hot(target, num_classes).float()
    try:
        confident = [
            float(as_student(loss_fn, scale * one_hot, target)) for scale in SATURATED_LOGITS
        ]
    except Exception as error:  # the learner's loss may raise anything
        raise GradingError(
            f"{what} raised {type(error).__name__}: {_first_line(str(error))} "
            "on logits that are confidently right."
        ) from None
    first, second = confident
    if math.isfinite(first) and first > 1e-3 and abs(first - second) <= 1e-4 * first:
        lines = [
            f"{what} stops learning from confident answers: with logits of "
            f"{SATURATED_LOGITS[0]:g} and then {SATURATED_LOGITS[1]:g} on the right class it returns "
            f"{first:.4g} both times, a floor above 0 that no model can get under.",
            *_named([MISTAKES["softmax_twice"]]),
        ]
        raise GradingError("\n".join(lines)) from None


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
        lossbook.checks.checks.GradingError: the loss weighs every class the same...
        This matches a known mistake: ignoring class imbalance.
        ...
    """
    __tracebackhide__ = True
    counts = [int(n) for n in torch.as_tensor(class_counts).reshape(-1).tolist()]
    try:
        pull = as_student(class_influence, loss_fn, len(counts)).tolist()
    except Exception as error:  # the learner's loss may raise anything
        raise GradingError(
            f"{what} raised {type(error).__name__}: {_first_line(str(error))}\n"
            f"on zero logits of shape ({2 * len(counts)}, {len(counts)}) with class indices of "
            f"shape ({2 * len(counts)},)."
        ) from None
    shown = (
        f"  class counts:     {counts}\n"
        f"  relative weights: {[round(p, 3) for p in pull]} "
        f"(how hard the loss pulls on one sample of each class; mean 1)"
    )
    if not all(math.isfinite(p) for p in pull) or max(pull) == 0:
        raise GradingError(
            f"{what} does not depend on the logits (its gradient is 0 or not finite):\n{shown}"
        ) from None
    pairs = [
        (a, b) for a in range(len(counts)) for b in range(len(counts)) if counts[a] < counts[b]
    ]
    wrong = [(a, b) for a, b in pairs if pull[a] < EQUAL_PULL * pull[b]]
    if not wrong:
        return
    if max(pull) <= EQUAL_PULL * min(pull):
        lines = [f"{what} weighs every class the same, whatever its count:", shown]
        lines += _named([IGNORING_CLASS_IMBALANCE])
    elif all(pull[b] >= EQUAL_PULL * pull[a] for a, b in pairs):
        lines = [f"{what} weighs the common classes more than the rare ones:", shown]
        lines += _named([WEIGHTS_BY_FREQUENCY])
    else:
        rare, common = wrong[0]
        lines = [
            f"{what} does not weigh the rarer class more: class {rare} ({counts[rare]} samples) "
            f"pulls no harder than class {common} ({counts[common]} samples).",
            shown,
            "  Fix: weight = N / (C · count) gives each class the same total weight.",
        ]
    raise GradingError("\n".join(lines)) from None


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
        lossbook.checks.checks.GradingError: After 100 steps of Adam (lr=0.1), ...
        This matches a known mistake: ignoring class imbalance.
        ...
    """
    __tracebackhide__ = True
    inputs, target = (t.detach().clone() for t in data)
    try:
        history = as_student(
            fit,
            model,
            loss_fn,
            (inputs, target),
            steps=steps,
            lr=lr,
            optimizer=optimizer,
            seed=seed,
        )
    except Exception as error:  # the learner's loss may raise anything
        raise GradingError(
            f"Training with {what} failed: {type(error).__name__}: {_first_line(str(error))}"
        ) from None
    with torch.no_grad(), one_torch_thread():
        predicted = predicted_labels(history.model(inputs))
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
        pull = as_student(class_influence, loss_fn, len(counts)).tolist()
    except Exception:  # it trained, so this is unlikely; the numbers above still stand
        pull = []
    if pull:
        lines.append(
            f"  Relative weight per class (how hard the loss pulls on one sample of each class): "
            f"{[round(p, 3) for p in pull]}"
        )
    if pull and max(pull) <= EQUAL_PULL * min(pull):
        lines += _named([IGNORING_CLASS_IMBALANCE])
    raise GradingError("\n".join(lines)) from None


__all__ += [
    "ABSENT_CLASS_COUNTED",
    "BCE_FOR_MULTICLASS",
    "IGNORING_CLASS_IMBALANCE",
    "MSE_ON_CLASS_INDICES",
    "PLAIN_ACCURACY",
    "PRECISION_INSTEAD_OF_RECALL",
    "WEIGHTS_BY_FREQUENCY",
    "check_balanced_accuracy",
    "check_class_weights",
    "check_classification_loss",
    "class_influence",
    "gaussian_blobs",
]
