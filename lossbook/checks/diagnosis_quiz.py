"""Diagnosis before the fix: mystery runs, and the check of a learner's diagnosis.

Chapter 5 shows broken training runs without saying what is wrong with them
(:func:`mystery_run`: the shapes, the loss and the accuracy curves, no diagnosis),
and asks the learner to name the bug first, as one of :data:`DIAGNOSIS_CHOICES`,
stable keys of the catalogue of mistakes (:data:`lossbook.checks.mistakes.MISTAKES`).
:func:`check_mystery_diagnosis` grades that choice. When it is wrong, the feedback says
what the named bug would have looked like and which sign to look for in this run's curves
(:data:`TELLTALE`), never the answer's name.

The right answer lives in the hidden part of the test cell; the visible part calls the
check without it, which only checks that the answer is one of the choices, so the
released notebook never shows the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from lossbook.checks._guard import guarded
from lossbook.checks.errors import GradingError
from lossbook.checks.mistakes import MISTAKES, Mistake
from lossbook.course import plots
from lossbook.course.training import History, class_labels, fit

# The bugs a mystery run may have, as keys of MISTAKES; the notebook lists them with their names.
DIAGNOSIS_CHOICES: tuple[str, ...] = (
    "softmax_twice",
    "sigmoid_before_with_logits",
    "bce_on_logits",
    "one_hot_vs_index",
    "mse_on_class_indices",
    "pairwise_broadcast",
    "sum_instead_of_mean",
    "missing_minus",
    "ignoring_class_imbalance",
)

# What each bug does to a training run: the sign to look for in its curves and printouts.
# A sentence never names the bug it describes, so it can be shown when the learner is wrong.
TELLTALE: dict[str, str] = {
    "softmax_twice": (
        "the loss levels off at a floor well above 0 while the accuracy keeps improving, and "
        "every row of the model's output is non-negative and sums to 1"
    ),
    "sigmoid_before_with_logits": (
        "every output lies between 0 and 1 and no sample's loss can fall below log(1 + e⁻¹), "
        "about 0.31; read as logits (class 1 where output > 0), every sample is predicted "
        "class 1, so the accuracy sits at the share of positives"
    ),
    "bce_on_logits": (
        "training stops at the first step with torch's 'all elements of input should be "
        "between 0 and 1'"
    ),
    "one_hot_vs_index": (
        "training stops with an error about the target's dtype or shape, or the target "
        "printed above has a shape the loss does not expect for its dtype"
    ),
    "mse_on_class_indices": (
        "the model returns one number per sample, the loss falls smoothly, and the accuracy "
        "stalls well below what the data allows"
    ),
    "pairwise_broadcast": (
        "the output has shape (N, 1) against a target of shape (N,), torch warns about a "
        "target size different to the input size, and the loss plateaus at the target's "
        "variance"
    ),
    "sum_instead_of_mean": (
        "the first loss is about N times log C instead of about log C, and the steps are N "
        "times too large: the loss jumps up and explodes instead of falling"
    ),
    "missing_minus": (
        "the loss is negative from the start and falls without bound while the accuracy "
        "drops below chance: every step makes the model worse"
    ),
    "ignoring_class_imbalance": (
        "the accuracy is high but the balanced accuracy stays far below it: the samples per "
        "class printed above are very uneven, and the rare classes are hardly ever predicted"
    ),
}

_MISSING = (None, Ellipsis)


def describe_choices(choices: Sequence[str] = DIAGNOSIS_CHOICES) -> str:
    """The choices a diagnosis may name, one per line: the key to write, then the mistake's name.

    Example:
        >>> print(describe_choices(["softmax_twice", "missing_minus"]))
        "softmax_twice"     softmax applied twice
        "missing_minus"     missing minus sign
    """
    width = max(len(key) for key in choices) + 4
    return "\n".join(f"{chr(34) + key + chr(34):<{width}}{MISTAKES[key].name}" for key in choices)


def _choice_key(diagnosis: Any) -> str | None:
    """The key of MISTAKES a learner's diagnosis stands for, or None if it is not a choice.

    A key (any case, spaces or hyphens for underscores), a mistake's name, or a Mistake.
    """
    if isinstance(diagnosis, Mistake):
        return diagnosis.key if diagnosis.key in DIAGNOSIS_CHOICES else None
    if not isinstance(diagnosis, str):
        return None
    text = diagnosis.strip().strip("'\"").casefold()
    key = text.replace(" ", "_").replace("-", "_")
    if key in DIAGNOSIS_CHOICES:
        return key
    by_name = {MISTAKES[k].name.casefold(): k for k in DIAGNOSIS_CHOICES}
    return by_name.get(text)


@guarded
def check_mystery_diagnosis(
    diagnosis: Any, answer: str | Sequence[str] | None = None, *, run: str = "this run"
) -> None:
    """``diagnosis`` names the bug of a mystery run: one of :data:`DIAGNOSIS_CHOICES`.

    Without ``answer`` it only checks that the diagnosis is one of the choices (what a
    visible test may check without showing the answer); with it, that the diagnosis is
    ``answer`` (or one of several equally right answers). A wrong diagnosis gets what the
    named bug would look like and the sign to look for in ``run``, never the answer's name.

    Example:
        >>> check_mystery_diagnosis("softmax_twice", "softmax_twice", run="run A")
        >>> check_mystery_diagnosis("Softmax applied twice")  # a mistake's name works too
        >>> check_mystery_diagnosis("missing_minus", "softmax_twice", run="run A")
        Traceback (most recent call last):
        ...
        lossbook.checks.errors.GradingError: run A: you named "missing_minus" (missing minus sign). That bug would show this: the loss is negative from the start ...
    """
    __tracebackhide__ = True
    answers = (answer,) if isinstance(answer, str) else tuple(answer or ())
    unknown = [a for a in answers if a not in DIAGNOSIS_CHOICES]
    if unknown:
        raise ValueError(f"answer {unknown} is not in DIAGNOSIS_CHOICES: {DIAGNOSIS_CHOICES}")
    menu = "\n" + describe_choices()
    if any(diagnosis is missing for missing in _MISSING):
        raise GradingError(
            f"{run}: no diagnosis yet. Set it to the key of one of these mistakes:{menu}",
            check="check_mystery_diagnosis",
            got=repr(diagnosis),
        )
    key = _choice_key(diagnosis)
    if key is None:
        raise GradingError(
            f"{run}: {diagnosis!r} is not one of the choices. Write one of these keys, as a "
            f"string:{menu}",
            check="check_mystery_diagnosis",
            got=repr(diagnosis)[:80],
        )
    if not answers or key in answers:
        return
    raise GradingError(
        f'{run}: you named "{key}" ({MISTAKES[key].name}). That bug would show this: '
        f"{TELLTALE[key]}. That is not what {run} shows. Look again at its code, its printed "
        f"shapes and its curves for this sign: {TELLTALE[answers[0]]}.",
        check="check_mystery_diagnosis",
        got=key,
    )


def mystery_run(
    model: nn.Module | Callable[[], nn.Module],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    name: str = "this run",
    **fit_options: Any,
) -> plots.StaticFigure | None:
    """Train a setup with :func:`~lossbook.course.training.fit` and show what a log would, no diagnosis.

    Prints the shapes and dtypes of the inputs, the untrained model's output and the
    target, the range of that output, the samples per class (for class labels, float 0/1
    labels included), the loss at ten evenly spaced steps
    and the last accuracy; returns the loss and accuracy curves (a figure whose title
    names only the run). When training raises, prints torch's error instead and returns
    ``None``.

    Example:
        >>> from lossbook.course.data import classification_data
        >>> figure = mystery_run(nn.Linear(2, 3), nn.CrossEntropyLoss(), classification_data(),
        ...                      steps=20, name="run Z")  # doctest: +ELLIPSIS
        run Z
          inputs (300, 2) torch.float32 | output (300, 3) torch.float32 | target (300,) torch.int64
          output values from ...
          samples per class: [100, 100, 100]
          loss at step 1: ...
        >>> sorted(figure.values)
        ['run Z accuracy', 'run Z balanced_accuracy', 'run Z loss']
    """
    inputs, target = data
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(fit_options.get("seed", 0))
        net = model if isinstance(model, nn.Module) else model()
        with torch.no_grad():
            output = net(inputs)
    print(name)
    print(
        f"  inputs {tuple(inputs.shape)} {inputs.dtype} | output {tuple(output.shape)} "
        f"{output.dtype} | target {tuple(target.shape)} {target.dtype}"
    )
    print(f"  output values from {output.min().item():.3g} to {output.max().item():.3g}")
    labels = class_labels(output, target)
    if labels is not None and bool((labels >= 0).all()):
        print(f"  samples per class: {torch.bincount(labels).tolist()}")
    try:
        history = fit(net, loss_fn, data, steps=steps, **fit_options)
    except Exception as error:  # a loud bug: torch's error is the evidence
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"  training raised {type(error).__name__}: {first_line}")
        return None
    print(_loss_log(history))
    if history.accuracy:
        print(
            f"  after the last step: accuracy {history.accuracy[-1]:.1%}, balanced accuracy "
            f"{history.balanced_accuracy[-1]:.1%}"
        )
    curves = {f"{name} loss": history.loss}
    if history.accuracy:
        curves[f"{name} accuracy"] = history.accuracy
        curves[f"{name} balanced_accuracy"] = history.balanced_accuracy
    return plots.loss_curves(
        curves,
        title=f"{name}: loss and accuracy at each step",
        xlabel="step",
        metrics=("accuracy", "balanced_accuracy"),
    )


def _loss_log(history: History) -> str:
    """The loss at (about) ten evenly spaced steps, the first and last included."""
    count = len(history.loss)
    shown = sorted({round(i * (count - 1) / 9) for i in range(10)}) if count > 1 else [0]
    return "  loss at step " + ", ".join(f"{i + 1}: {history.loss[i]:.4g}" for i in shown)
