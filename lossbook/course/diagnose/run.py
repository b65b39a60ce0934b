"""Building a loss call from what the caller passed, and running every rule on it: :func:`diagnose`."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from lossbook.course.diagnose.report import SEVERITIES, Diagnosis, Finding, first_line
from lossbook.course.diagnose.rules import RULES, LossCall, Rule, _describe
from lossbook.losses.registry import LOSSES, UnknownLossError, spec


# ---------------------------------------------------------------------------
# Building the call and running the rules

_MODULE_NAMES = {loss.nn_class: loss.name for loss in LOSSES if loss.nn_class}
"""The functional name of each ``torch.nn`` loss class: ``{"CrossEntropyLoss": "cross_entropy"}``."""
_FUNCTIONAL_NAMES = frozenset(loss.name for loss in LOSSES)
# diagnose() calls loss_fn(output, target); these losses need a third tensor.
_THREE_TENSOR_LOSSES = frozenset(loss.name for loss in LOSSES if len(loss.tensors) > 2)
_OPTION_NAMES = (
    "weight",
    "pos_weight",
    "ignore_index",
    "reduction",
    "label_smoothing",
    "log_target",
)
"""The options of a loss the rules look at."""


def _resolve_name(text: str) -> str:
    """The functional name of the loss ``text`` names: a name, an nn class name or an alias."""
    try:
        return spec(text).name
    except UnknownLossError:
        known = ", ".join(sorted(_FUNCTIONAL_NAMES - _THREE_TENSOR_LOSSES))
        raise ValueError(
            f"diagnose() does not know a loss called {text!r}; use one of {known} "
            f"(or their nn.*Loss class names), or pass the loss function itself."
        ) from None


def _function_options(function: Callable[..., Any], loss_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The options a functional will use: its defaults, overridden by the caller's keywords."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        parameters = ()
    options = {
        p.name: p.default
        for p in parameters
        if p.name in _OPTION_NAMES and p.default is not inspect.Parameter.empty
    }
    options.update({k: v for k, v in loss_kwargs.items() if k in _OPTION_NAMES})
    return options


def _check_two_tensors(name: str | None) -> None:
    if name in _THREE_TENSOR_LOSSES:
        raise TypeError(
            f"diagnose() checks losses called as loss_fn(output, target); {name} "
            f"takes three tensors."
        )


def _build_call(
    criterion: Any, output: Any, target: Any, model: nn.Module | None, loss_kwargs: dict[str, Any]
) -> LossCall:
    was_class = isinstance(criterion, type) and issubclass(criterion, nn.Module)
    if was_class:
        criterion = criterion(**loss_kwargs)
        loss_kwargs = {}
    if isinstance(criterion, nn.Module):
        if loss_kwargs:
            raise TypeError(
                f"options {sorted(loss_kwargs)} go to the loss object's constructor, e.g. "
                f"nn.{type(criterion).__name__}({', '.join(f'{k}=...' for k in loss_kwargs)}); "
                f"diagnose() only takes keyword options for a loss function or a name."
            )
        class_name = type(criterion).__name__
        name = _MODULE_NAMES.get(class_name)
        _check_two_tensors(name)
        options = {o: getattr(criterion, o) for o in _OPTION_NAMES if hasattr(criterion, o)}
        return LossCall(
            name, f"nn.{class_name}", criterion, output, target, options, model, was_class
        )
    if isinstance(criterion, str):
        name = _resolve_name(criterion)
        function = getattr(nn.functional, name, None)
        if function is None:
            raise ValueError(f"torch.nn.functional has no {name}; pass the loss function itself.")
    elif callable(criterion):
        function = criterion
        while isinstance(function, functools.partial):
            loss_kwargs = {**function.keywords, **loss_kwargs}
            function = function.func
        candidate = getattr(function, "__name__", "")
        name = candidate if candidate in _FUNCTIONAL_NAMES else None
    else:
        raise TypeError(
            f"criterion must be a loss object (nn.*Loss), a loss function or a loss "
            f"name, not {type(criterion).__name__}."
        )
    _check_two_tensors(name)
    label = f"F.{name}" if name else getattr(function, "__name__", repr(function))
    loss_fn = functools.partial(function, **loss_kwargs) if loss_kwargs else function
    return LossCall(
        name,
        label,
        loss_fn,
        output,
        target,
        _function_options(function, loss_kwargs),
        model,
        was_class,
    )


def _applicable(call: LossCall, after_call: bool) -> Iterator[Rule]:
    for candidate in RULES.values():
        if candidate.after_call != after_call or candidate.id == "not-a-tensor":
            continue
        if candidate.losses is None or call.name in candidate.losses:
            yield candidate


def _apply(candidate: Rule, call: LossCall, skipped: list[str]) -> None:
    try:
        issue = candidate.check(call)
    except Exception as error:  # a rule that cannot read this input must not hide the others
        skipped.append(f"{candidate.id}: {type(error).__name__}: {first_line(str(error))}")
        return
    if issue is not None:
        call.findings.append(
            Finding(
                candidate.id,
                issue.severity or candidate.severity,
                candidate.title,
                issue.message,
                issue.fix,
            )
        )


def _run(call: LossCall) -> None:
    """Try the loss on the detached output, catching what torch raises or warns."""
    if call.found("device-mismatch"):
        return
    on_gpu = call.output.device.type != "cpu" or call.target.device.type != "cpu"
    if on_gpu and call.found("class-index-out-of-range"):
        return  # a device-side assert would leave the GPU unusable for the rest of the session
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            result = call.loss_fn(call.out, call.tgt)
    except Exception as error:
        call.exception = error
        return
    if isinstance(result, torch.Tensor):
        call.result = result.detach()
    else:
        call.exception = TypeError(f"the loss returned a {type(result).__name__}, not a tensor")


_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def diagnose(
    criterion: Any,
    output: Any,
    target: Any,
    model: nn.Module | None = None,
    **loss_kwargs: Any,
) -> Diagnosis:
    """Check a loss call for the usual mistakes; report each in plain words with the fix.

    Runs every rule of :data:`RULES` that applies to the loss, then the loss
    itself (inside ``try``: bad input is diagnosed, never raised), then the
    rules that look at its result. When ``model`` is given, or ``output``
    requires grad, it also checks that the gradients are finite, with
    ``torch.autograd.grad`` (no ``.grad`` is written and the graph is kept).

    Args:
        criterion: a loss object (``nn.CrossEntropyLoss(weight=w)``), a loss function
            (``F.cross_entropy``, ``lossbook.functional.cross_entropy``, a
            ``functools.partial`` of one, or any callable ``loss_fn(output, target)``),
            or a name (``"cross_entropy"``, ``"CrossEntropyLoss"``, ``"bce"``). A callable
            that is not a known loss (say, a lambda around one) gets only the general
            checks: tensors, devices, NaN, gradients and torch's errors.
        output: what the model returned, shape as the loss expects, e.g. ``(N, C)`` logits.
        target: the labels, e.g. ``(N,)`` class indices.
        model: the model that produced ``output``; enables the parameter-gradient check.
        **loss_kwargs: options for a loss function or name, as you would pass them
            (``weight=``, ``reduction=``, ``label_smoothing=``, ``pos_weight=``...).
            A loss object carries its own options.

    Returns:
        A :class:`Diagnosis`: ``findings`` (errors first), ``ok``, ``loss_value``;
        printing it (or displaying it in a notebook) gives the report.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> logits = torch.tensor([[1.5, -0.3, 0.1], [0.2, 0.9, -2.0], [-1.0, 2.0, 0.4]])
        >>> report = diagnose(nn.CrossEntropyLoss(), logits, torch.tensor([1, 2, 3]))
        >>> report.ids
        ('class-index-out-of-range',)
        >>> print(report.findings[0].fix)
        subtract 1 from the labels: target - 1 (better: fix the dataset's label mapping).
    """
    call = _build_call(criterion, output, target, model, loss_kwargs)
    skipped: list[str] = []
    _apply(RULES["not-a-tensor"], call, skipped)
    if call.findings:
        return Diagnosis(
            call.label, call.findings, call_summary=_summary(call), skipped_rules=skipped
        )
    for candidate in _applicable(call, after_call=False):
        _apply(candidate, call, skipped)
    _run(call)
    for candidate in _applicable(call, after_call=True):
        _apply(candidate, call, skipped)
    findings = sorted(call.findings, key=lambda f: _SEVERITY_ORDER[f.severity])
    return Diagnosis(
        loss_name=call.label,
        findings=findings,
        loss_value=call.result,
        torch_error=None
        if call.exception is None
        else f"{type(call.exception).__name__}: {call.exception}",
        skipped_rules=skipped,
        call_summary=_summary(call),
    )


def _summary(call: LossCall) -> str:
    parts = []
    for role in ("output", "target"):
        value = getattr(call, role)
        parts.append(
            f"{role} {_describe(value)}"
            if isinstance(value, torch.Tensor)
            else f"{role} {type(value).__name__}"
        )
    return ", ".join(parts)
