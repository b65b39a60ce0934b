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

:func:`checkup` trains and runs :func:`lossbook.course.diagnose.diagnose` on the
loss call, for looking at a setup before and after a fix; :func:`class_influence`
measures how hard a loss pulls on each class. The checks that grade a training
run (:mod:`lossbook.checks.training`) train with this same loop.
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
from lossbook.course.diagnose.report import first_line

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
}
"""The optimizers :func:`fit` can use, by name."""


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
        errors, unchanged); ``ValueError`` when the loss is not one number;
        ``TypeError`` when the factory does not return a module.

    Example:
        >>> from lossbook.course.data import classification_data
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
        if not isinstance(net, nn.Module):
            raise TypeError(
                f"the model factory returned a {type(net).__name__}, not a torch.nn.Module: "
                "pass the module, or a function that returns one."
            )
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
        >>> from lossbook.course.data import classification_data
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
        error = f"{type(raised).__name__}: {first_line(str(raised))}"
    with torch.random.fork_rng(devices=[]), one_torch_thread():
        torch.manual_seed(fit_options.get("seed", 0))
        net = model if isinstance(model, nn.Module) else model()
        inputs, target = data
        report = diagnose(loss_fn, net(inputs), target, model=net)
    return Checkup(history, error, report)


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


__all__ = [
    "OPTIMIZERS",
    "Checkup",
    "History",
    "accuracies",
    "checkup",
    "class_influence",
    "class_labels",
    "fit",
    "predicted_labels",
]
