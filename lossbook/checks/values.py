"""Checks of values and gradients: a learner's function against a reference, or a number by hand.

``check_close`` (against a reference), ``check_fixed`` / ``release_values``
(against values fixed at release), ``check_value`` (a number computed by hand),
``check_grad`` (autograd gradients), ``check_finite`` (stable at extreme inputs)
and ``check_no_torch_loss`` (no ready-made loss used). Each either returns
quietly (the cell passes) or raises
:class:`~lossbook.checks.errors.GradingError` with a message for the learner:

- what was checked, on the smallest failing case, printed in small form;
- expected vs got;
- when the wrong answer equals a known wrong variant on every case where that
  variant differs from the reference, the misconception's name, what the wrong
  answer computes, and the fix (see :mod:`lossbook.checks.mistakes`);
- when the learner's function raises, the exception's type and first line, and
  the confusion it usually comes from (class indices vs one-hot, ...).

References are named by string (``"mse_loss"``, ``"cross_entropy"``,
``"softmax"``, aliases ``"mse"``, ``"mae"``, ``"ce"``, ...; see
``lossbook.checks.mistakes.REFERENCES``) or passed as a function of
``torch.nn.functional`` / ``lossbook.functional``; either way the check uses
the original captured when :mod:`lossbook.checks` was imported. Hidden tests
should name references by string.

Author errors (an unknown reference name, no cases) raise ``ValueError`` or
``TypeError``, not :class:`GradingError`: they are bugs in the test cell.
"""

from __future__ import annotations

import builtins
import copy
import math
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from lossbook.checks._guard import as_student, guarded
from lossbook.checks.cases import Case, format_number
from lossbook.checks.errors import GradingError
from lossbook.checks.feedback import describe_error, explain_mistakes, first_warning, shape_text
from lossbook.checks.mistakes import (
    MISTAKES,
    Mistake,
    Reference,
    as_mistakes,
    resolve_reference,
)
from lossbook.losses.registry import LOSSES as _REGISTERED_LOSSES

CaseLike = Case | tuple
Number = float | int | torch.Tensor

# Comparison primitives, captured at import. torch._C.TensorBase cannot be
# patched at all; the builtins are looked up once, here.
_tolist = torch._C.TensorBase.tolist
_isfinite = math.isfinite
_abs = builtins.abs
_float = builtins.float
_isinstance = builtins.isinstance
_len = builtins.len
_tuple = builtins.tuple
_list = builtins.list
_grad = torch.autograd.grad
_manual_seed = torch.manual_seed
_fork_rng = torch.random.fork_rng
_setprofile = sys.setprofile
_getprofile = sys.getprofile
_deepcopy = copy.deepcopy

_MAX_SHOWN = 12


# ---------------------------------------------------------------------------
# What a call returned, as plain Python floats.


@dataclass
class _Outcome:
    """A call's result flattened to floats (one part per tensor), or why there is none."""

    parts: list[tuple[str, tuple[int, ...], list[float]]] = field(default_factory=list)
    error: BaseException | None = None
    problem: str | None = None
    warning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.problem is None

    @property
    def values(self) -> list[float]:
        return [v for _, _, values in self.parts for v in values]

    def finite(self) -> bool:
        return all(_isfinite(v) for v in self.values)


def _flatten(value: torch.Tensor) -> tuple[tuple[int, ...], list[float]]:
    tensor = value.detach()
    if tensor.is_complex():
        tensor = tensor.real
    return _tuple(tensor.shape), [_float(v) for v in _tolist(tensor.reshape(-1).double())]


def _outcome_of(value: Any, name: str = "") -> _Outcome:
    """Turn what a function returned into an :class:`_Outcome` (or say what is wrong with it)."""
    if value is None:
        return _Outcome(problem="None: the function returns nothing (is a `return` missing?)")
    if _isinstance(value, bool | int | float):
        return _Outcome(parts=[(name, (), [_float(value)])])
    if not _isinstance(value, torch.Tensor):
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            return _Outcome(problem=f"a {type(value).__name__}, not a tensor or a number")
    shape, values = _flatten(value)
    return _Outcome(parts=[(name, shape, values)])


def _call_student(
    fn: Callable[..., Any], args: tuple, kwargs: dict
) -> tuple[Any, _Outcome | None, str | None]:
    """``fn(*args, **kwargs)`` with the learner's bindings; the result, or an outcome holding the error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = as_student(fn, *args, **kwargs)
        except Exception as error:  # the learner's code may raise anything
            return None, _Outcome(error=error), first_warning(caught)
    return result, None, first_warning(caught)


def _student_value(fn: Callable[..., Any], args: tuple, kwargs: dict) -> _Outcome:
    result, failed, warning = _call_student(fn, args, kwargs)
    if failed is not None:
        outcome = failed
    else:
        try:
            outcome = _outcome_of(result)
        except Exception:  # a tensor subclass, say, whose methods raise
            outcome = _Outcome(problem=f"a {type(result).__name__} whose values cannot be read")
    outcome.warning = warning
    return outcome


def _trusted_value(fn: Callable[..., Any], args: tuple, kwargs: dict) -> _Outcome | None:
    """A reference or variant's output; ``None`` if it does not apply or cannot be computed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kwargs)
    except Exception:  # a variant that cannot be formed for this case simply does not apply
        return None
    if result is None:
        return None
    return _outcome_of(result)


# ---------------------------------------------------------------------------
# Agreement.


def _close(got: float, expected: float, rtol: float, atol: float, *, loose: bool) -> bool:
    if _isfinite(got) and _isfinite(expected):
        return _abs(got - expected) <= atol + rtol * _abs(expected)
    if loose:
        # Two overflowing computations agree that they overflow, whether inf or NaN.
        return not _isfinite(got) and not _isfinite(expected)
    if got != got and expected != expected:
        return True
    return got == expected


def _agree(
    got: _Outcome, expected: _Outcome, rtol: float, atol: float, *, loose: bool = False
) -> bool:
    if not (got.ok and expected.ok) or _len(got.parts) != _len(expected.parts):
        return False
    for (_, got_shape, got_values), (_, shape, values) in zip(
        got.parts, expected.parts, strict=True
    ):
        if got_shape != shape:
            return False
        pairs = zip(got_values, values, strict=True)
        if not all(_close(g, e, rtol, atol, loose=loose) for g, e in pairs):
            return False
    return True


# ---------------------------------------------------------------------------
# Cases and references.


@dataclass
class _Row:
    """One case: what the learner's function gave and what was expected."""

    case: Case
    got: _Outcome
    expected: _Outcome
    kwargs: dict
    atol: float


def _as_cases(
    cases: Sequence[CaseLike] | Case | None, reference: Reference | None
) -> list[tuple[int, Case]]:
    """Cases with their position as given, sorted smallest first."""
    if cases is None:
        if reference is None or not reference.cases:
            raise ValueError(
                "give `cases` (e.g. REGRESSION_CASES): this reference has no default cases."
            )
        cases = reference.cases
    if _isinstance(cases, Case):
        cases = [cases]
    elif _isinstance(cases, tuple) and cases and all(_isinstance(c, torch.Tensor) for c in cases):
        cases = [cases]  # one case given as its arguments
    listed = []
    for index, case in enumerate(cases):
        if not _isinstance(case, Case):
            if not _isinstance(case, tuple | list):
                raise TypeError(
                    f"a case must be a Case or a tuple of arguments, not {type(case).__name__}."
                )
            case = Case(f"case {index + 1}", _tuple(case))
        listed.append((index, case))
    if not listed:
        raise ValueError("no cases to check.")
    return sorted(listed, key=lambda pair: pair[1].size)


def _reference(reference: Any) -> Reference | None:
    return None if reference is None else resolve_reference(reference)


def _candidates(
    reference: Reference | None, mistakes: Sequence[str | Mistake] | None
) -> tuple[Mistake, ...]:
    if mistakes is not None:
        return as_mistakes(mistakes)
    if reference is None:
        return ()
    return _tuple(MISTAKES[key] for key in reference.mistakes)


def _label(fn: Any, what: str | None, case: Case) -> str:
    if what:
        return what
    name = getattr(fn, "__name__", "your function")
    if name == "<lambda>":
        name = "your function"
    return f"{name}({', '.join(case.arg_names)})"


def _merged(case: Case, kwargs: Mapping[str, Any] | None) -> dict:
    options = case.kwargs
    for key, value in (kwargs or {}).items():
        options[key] = value.clone() if _isinstance(value, torch.Tensor) else value
    return options


def _case_atol(case: Case, atol: float) -> float:
    """``atol`` plus a few units in the last place of the case's largest input.

    At logits of ±1e4 float32 resolves steps of 1e-3: two correct computations
    (``logsumexp(z) − z_y`` and torch's ``log_softmax``) differ by that much.
    """
    scale, eps = 0.0, 0.0
    for value in (*case.args, *case.kwargs.values()):
        if _isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel():
            finite = value[torch.isfinite(value)]
            if finite.numel():
                scale = builtins.max(scale, _float(finite.abs().max()))
                eps = builtins.max(eps, torch.finfo(value.dtype).eps)
    return atol + 8 * eps * scale


def _shown_with(case: Case, kwargs: Mapping[str, Any] | None) -> Case:
    """The case with the check's keyword arguments, so that messages show them too."""
    return case.with_kwargs(**kwargs) if kwargs else case


def _fresh(options: dict) -> dict:
    return {k: (v.clone() if _isinstance(v, torch.Tensor) else v) for k, v in options.items()}


def _fixed_outcome(value: Any) -> _Outcome:
    if _isinstance(value, torch.Tensor):
        return _outcome_of(value)
    return _outcome_of(torch.tensor(value, dtype=torch.float64))


# ---------------------------------------------------------------------------
# Matching a wrong answer to a mistake.


@dataclass
class _Match:
    mistakes: list[Mistake]
    also_unstable: bool = False


def _match(
    rows: list[_Row],
    candidates: Sequence[Mistake],
    variant_outcome: Callable[[Mistake, _Row], _Outcome | None],
    rtol: float,
) -> _Match:
    """Mistakes whose variant equals the learner's output on every case it applies to.

    A mistake must also differ from the expected value on at least one of
    those cases: agreeing only where it equals the right answer proves nothing.
    Failing that, a mistake that agrees everywhere except where the learner's
    output overflows is reported with the overflow.
    """
    # Exact first (NaN only matches NaN, inf only inf of the same sign), then any
    # overflow matching any overflow: two unstable variants differ only in which one.
    for loose in (False, True):
        full, partial = [], []
        for mistake in candidates:
            if mistake.variant is None:
                continue
            verdict = _verdict(rows, mistake, variant_outcome, rtol, loose=loose)
            if verdict == "full":
                full.append(mistake)
            elif verdict == "partial":
                partial.append(mistake)
        if full:
            return _Match(full)
        if partial:
            return _Match(partial[:1], also_unstable=True)
    return _Match([])


def _verdict(
    rows: list[_Row],
    mistake: Mistake,
    variant_outcome: Callable[[Mistake, _Row], _Outcome | None],
    rtol: float,
    *,
    loose: bool,
) -> str | None:
    """``"full"``: the variant explains every case; ``"partial"``: all but the learner's overflows."""
    distinguishing, contradicted, contradicted_finite = 0, False, False
    for row in rows:
        if not row.got.ok:
            continue
        variant = variant_outcome(mistake, row)
        if variant is None or not variant.ok:
            continue
        if _agree(row.got, variant, rtol, row.atol, loose=loose):
            if not _agree(variant, row.expected, rtol, row.atol, loose=True):
                distinguishing += 1
        else:
            contradicted = True
            if row.got.finite() or not row.expected.finite():
                contradicted_finite = True
    if distinguishing and not contradicted:
        return "full"
    if distinguishing and not contradicted_finite:
        return "partial"
    return None


def _error_mistakes(row: _Row, candidates: Sequence[Mistake]) -> list[Mistake]:
    error = row.got.error
    if error is None:
        return []
    args, kwargs = row.case.args, row.kwargs
    return [
        m
        for m in candidates
        if m.recognises_error is not None and m.recognises_error(error, args, kwargs)
    ]


def _stability_note(reference: Reference | None, candidates: Sequence[Mistake]) -> list[str]:
    unstable = [m for m in candidates if m.stability]
    lines = [
        "On the extreme cases your function also returns inf or NaN where the answer is finite."
    ]
    if unstable:
        lines.append(f"  Likely cause: {unstable[0].name}. Fix: {unstable[0].fix}")
    return lines


# ---------------------------------------------------------------------------
# Showing values.


def _nest(values: list[float], shape: tuple[int, ...]) -> str:
    if not shape:
        return format_number(values[0])
    if _len(shape) == 1:
        return "[" + ", ".join(format_number(v) for v in values) + "]"
    step = _len(values) // shape[0] if shape[0] else 0
    return (
        "["
        + ", ".join(_nest(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0]))
        + "]"
    )


def _show(outcome: _Outcome) -> str:
    if outcome.error is not None:
        return f"an error: {describe_error(outcome.error)}"
    if outcome.problem is not None:
        return outcome.problem
    shown = []
    for name, shape, values in outcome.parts:
        prefix = f"{name}: " if name else ""
        if _len(values) <= _MAX_SHOWN:
            shown.append(prefix + _nest(values, shape))
        else:
            shown.append(prefix + f"a tensor of shape {shape_text(shape)}")
    return "; ".join(shown)


def _first_difference(got: _Outcome, expected: _Outcome, rtol: float, atol: float) -> str | None:
    """For large tensors of equal shape: where they first differ."""
    if not (got.ok and expected.ok) or _len(got.parts) != _len(expected.parts):
        return None
    for (name, shape, got_values), (_, expected_shape, values) in zip(
        got.parts, expected.parts, strict=True
    ):
        if _len(values) <= _MAX_SHOWN or shape != expected_shape:
            continue
        for flat, (g, e) in enumerate(zip(got_values, values, strict=True)):
            if not _close(g, e, rtol, atol, loose=False):
                index, rest = [], flat
                for size in reversed(shape):
                    index.append(rest % size)
                    rest //= size
                where = ", ".join(str(i) for i in reversed(index))
                owner = f"in {name} " if name else ""
                return (
                    f"first difference {owner}at index [{where}]: expected "
                    f"{format_number(e)}, got {format_number(g)}"
                )
    return None


def _shape_mismatch(got: _Outcome, expected: _Outcome) -> str | None:
    if not (got.ok and expected.ok):
        return None
    if _len(got.parts) != _len(expected.parts):
        return None
    for (name, got_shape, _), (_, shape, _) in zip(got.parts, expected.parts, strict=True):
        if got_shape != shape:
            owner = f" for {name}" if name else ""
            return f"expected shape {shape_text(shape)}{owner}, got shape {shape_text(got_shape)}"
    return None


def _failure_message(
    label: str,
    row: _Row,
    match: _Match,
    error_mistakes: list[Mistake],
    reference: Reference | None,
    candidates: Sequence[Mistake],
    rtol: float,
    *,
    quantity: str = "",
    rows: Sequence[_Row] = (),
) -> str:
    where = "On the smallest case where it differs:"
    if row.got.error is not None:
        lines = [
            f"{label} raised {describe_error(row.got.error)}",
            "On the smallest case where it fails:",
            _indent(row.case.describe()),
        ]
        lines += explain_mistakes(error_mistakes, looks_like=True)
        if not error_mistakes:
            lines += explain_mistakes(match.mistakes)
        return "\n".join(lines)
    thing = f"the {quantity} of {label}" if quantity else label
    lines = [f"{thing} is not right.", where, _indent(row.case.describe())]
    lines.append(f"  expected: {_show(row.expected)}")
    lines.append(f"  got:      {_show(row.got)}")
    mismatch = _shape_mismatch(row.got, row.expected)
    if mismatch:
        lines.append(f"  ({mismatch})")
    difference = _first_difference(row.got, row.expected, rtol, row.atol)
    if difference:
        lines.append(f"  ({difference})")
    if row.got.warning:
        lines.append(f"Your function warned: {row.got.warning}")
    lines += explain_mistakes(match.mistakes)
    if match.also_unstable:
        lines += _stability_note(reference, candidates)
    elif not match.mistakes and any(
        r.got.ok and not r.got.finite() and r.expected.finite() for r in rows
    ):
        lines += _stability_note(reference, candidates)
    tolerance = (
        f"(Values are compared to a relative tolerance of {rtol:g} and an absolute one of "
        f"{row.atol:.2g}.)"
    )
    lines.append(tolerance)
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _row_failure(
    check: str,
    message: str,
    row: _Row,
    mistakes: Sequence[Mistake] = (),
    *,
    reveal: bool = True,
) -> GradingError:
    """The error for a failure on ``row``: the message, and the case, values and mistake as fields."""
    return GradingError(
        message,
        check=check,
        mistake=mistakes[0] if mistakes else None,
        case=row.case.name,
        expected=_show(row.expected) if reveal else None,
        got=_show(row.got),
    )


def _matched(match: _Match, error_mistakes: Sequence[Mistake]) -> list[Mistake]:
    """The mistakes a failure message names, most specific first (as :func:`_failure_message`)."""
    return _list(error_mistakes) or match.mistakes


# ---------------------------------------------------------------------------
# The checks.


def _compare_values(
    fn: Callable[..., Any],
    reference: Reference | None,
    cases: Sequence[CaseLike] | None,
    kwargs: Mapping[str, Any] | None,
    reference_kwargs: Mapping[str, Any] | None,
    fixed: Sequence[Any] | None,
    mistakes: Sequence[str | Mistake] | None,
    what: str | None,
    rtol: float,
    atol: float,
    *,
    check: str,
) -> GradingError | None:
    """The failure of ``check_close`` / ``check_fixed`` (named ``check``), or ``None`` if every case passes."""
    if (
        fixed is not None
        and cases is None
        and all(
            _isinstance(item, tuple) and _len(item) == 2 and _isinstance(item[0], Case)
            for item in fixed
        )
    ):
        cases = [case for case, _ in fixed]
        fixed = [value for _, value in fixed]
    indexed = _as_cases(cases, reference)
    if fixed is not None and _len(fixed) != _len(indexed):
        raise ValueError(f"`fixed` has {_len(fixed)} values for {_len(indexed)} cases.")
    if reference is None and fixed is None:
        raise ValueError("give a `reference` or `fixed` values.")
    candidates = _candidates(reference, mistakes)
    extra = dict(reference_kwargs or {})
    rows = []
    for index, given in indexed:
        case = _shown_with(given, kwargs)
        options = case.kwargs
        got = _student_value(fn, case.args, _fresh(options))
        if fixed is not None:
            expected = _fixed_outcome(fixed[index])
        else:
            expected = _trusted_value(reference.fn, case.args, {**options, **extra})
            if expected is None:
                raise ValueError(f"the reference {reference.name} fails on case {case.name!r}.")
        rows.append(_Row(case, got, expected, {**options, **extra}, _case_atol(case, atol)))
    failing = [row for row in rows if not _agree(row.got, row.expected, rtol, row.atol)]
    if not failing:
        return None
    first = failing[0]

    def variant_outcome(mistake: Mistake, row: _Row) -> _Outcome | None:
        if reference is None:
            return None
        return _trusted_value(
            mistake.variant, (reference.fn, row.case.args, _fresh(row.kwargs)), {}
        )

    match = _match(rows, candidates, variant_outcome, rtol)
    label = _label(fn, what, first.case)
    error_mistakes = _error_mistakes(first, candidates)
    message = _failure_message(
        label, first, match, error_mistakes, reference, candidates, rtol, rows=rows
    )
    return _row_failure(check, message, first, _matched(match, error_mistakes))


@guarded
def check_close(
    fn: Callable[..., Any],
    reference: str | Callable[..., torch.Tensor] | None = None,
    cases: Sequence[CaseLike] | None = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    reference_kwargs: Mapping[str, Any] | None = None,
    fixed: Sequence[Any] | None = None,
    mistakes: Sequence[str | Mistake] | None = None,
    what: str | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> None:
    """``fn(*case)`` equals ``reference(*case)`` on every case, to ``rtol``/``atol``.

    Args:
        fn: the learner's function.
        reference: a name (``"mse_loss"``) or a torch/lossbook function; ``None``
            only when ``fixed`` gives every expected value.
        cases: inputs, sorted by size so the smallest failing case is reported;
            a :class:`Case` or a plain tuple of arguments. Default: the
            reference's cases (``REGRESSION_CASES`` for ``mse_loss``, ...).
        kwargs: keyword arguments passed to both ``fn`` and ``reference``
            (e.g. ``{"label_smoothing": 0.1}``).
        reference_kwargs: keyword arguments for the reference only
            (e.g. ``{"reduction": "sum"}`` when ``fn`` computes a sum).
        fixed: expected values fixed at release time, one per case in the order
            given (see :func:`release_values`), or ``(case, value)`` pairs;
            used instead of recomputing them.
        mistakes: misconceptions to try (registry keys or :class:`Mistake`);
            default: the reference's own list.
        what: how messages call ``fn``; default ``name(arg, ...)``.
        rtol, atol: tolerance, ``|got − expected| ≤ atol + rtol·|expected|``.

    Raises:
        GradingError: on the smallest failing case, with expected, got, and
            the matching mistake if any.

    Example:
        >>> check_close(lambda pred, target: ((pred - target) ** 2).mean(), "mse_loss")
        >>> check_close(lambda pred, target: ((pred - target) ** 2).sum(), "mse_loss")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: your function(pred, target) is not right.
        ...
        This matches a known mistake: sum instead of mean (missing 1/N).
        ...
    """
    __tracebackhide__ = True
    failure = _compare_values(
        fn,
        _reference(reference),
        cases,
        kwargs,
        reference_kwargs,
        fixed,
        mistakes,
        what,
        rtol,
        atol,
        check="check_close",
    )
    if failure is not None:
        raise failure from None


@guarded
def check_fixed(
    fn: Callable[..., Any],
    cases: Sequence[CaseLike],
    expected: Sequence[Any],
    *,
    reference: str | Callable[..., torch.Tensor] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    what: str | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> None:
    """``fn(*case)`` equals a value fixed at release time, for each case.

    For hidden tests: ``expected`` comes from :func:`release_values`, pasted
    into the hidden cell when the chapter is released, so the verdict does not
    depend on anything computed in the learner's kernel. Give ``reference`` to
    let the feedback name a matching mistake.

    Example:
        >>> from lossbook.checks.cases import REGRESSION_CASES
        >>> values = release_values("mse_loss", REGRESSION_CASES)
        >>> values[1]
        0.5625
        >>> check_fixed(lambda pred, target: ((pred - target) ** 2).mean(), REGRESSION_CASES, values)
    """
    __tracebackhide__ = True
    failure = _compare_values(
        fn,
        _reference(reference),
        cases,
        kwargs,
        None,
        expected,
        None,
        what,
        rtol,
        atol,
        check="check_fixed",
    )
    if failure is not None:
        raise failure from None


@guarded
def release_values(
    reference: str | Callable[..., torch.Tensor],
    cases: Sequence[CaseLike],
    *,
    kwargs: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The reference's value on each case (in the order given) as plain Python floats.

    A 0-d result becomes a float, a tensor a nested list. ``repr()`` of the
    list is a literal to paste into a hidden test cell:
    ``check_fixed(mse, REGRESSION_CASES, <that literal>)``.
    """
    resolved = resolve_reference(reference)
    ordered = sorted(_as_cases(cases, resolved), key=lambda pair: pair[0])
    values = []
    for _, case in ordered:
        result = resolved.fn(*case.args, **_merged(case, kwargs)).detach()
        values.append(_tolist(result.double()))
    return values


def _answer_outcome(answer: Any) -> tuple[float | None, str | None]:
    """The learner's typed answer as a float, or what is wrong with it."""
    if answer is None or answer is Ellipsis:
        return None, "no answer yet: replace the `...` (or None) with your number."
    if _isinstance(answer, str):
        return None, f"the string {answer!r}: write the number without quotes."
    if _isinstance(answer, bool):
        return None, f"{answer}, a bool: write a number."
    if _isinstance(answer, int | float):
        return _float(answer), None
    try:
        tensor = torch.as_tensor(answer)
    except (TypeError, ValueError, RuntimeError):
        return None, f"a {type(answer).__name__}: write a number."
    if tensor.numel() != 1:
        return (
            None,
            f"{tensor.numel()} numbers (shape {shape_text(_tuple(tensor.shape))}): write one number.",
        )
    return _float(_tolist(tensor.reshape(-1).double())[0]), None


def _as_float64(value: Any) -> Any:
    """Hand calculations run in float64: a float weight tensor (or list) must match the inputs."""
    if _isinstance(value, list | tuple):
        value = torch.tensor(value)
    if _isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(torch.float64)
    return value


def _inputs_as_tensors(inputs: Sequence[Any], reference: Reference) -> tuple:
    tensors = []
    for position, value in enumerate(inputs):
        tensor = value.detach().clone() if _isinstance(value, torch.Tensor) else torch.tensor(value)
        wants_float = position == 0 or reference.target == "float"
        if wants_float or tensor.is_floating_point():
            tensor = tensor.to(torch.float64)
        tensors.append(tensor)
    return _tuple(tensors)


@guarded
def check_value(
    answer: Any,
    expected: Number | None = None,
    *,
    what: str,
    reference: str | Callable[..., torch.Tensor] | None = None,
    inputs: Sequence[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    mistakes: Mapping[str | Mistake, Number] | Sequence[str | Mistake] | None = None,
    reveal: bool = False,
    rtol: float = 1e-3,
    atol: float = 1e-4,
) -> None:
    """A number the learner computed by hand equals ``expected``, to 3 significant digits.

    Either give ``expected`` (and, optionally, ``mistakes`` as a mapping from a
    mistake's key, a :class:`Mistake`, or a free-text label to the wrong value
    it produces), or give ``reference`` and ``inputs`` (lists or tensors): the
    expected value and the reference's known mistakes are then computed from
    those inputs, in float64. A mistake is named only if its value differs
    from the expected one. The message shows the expected value only with
    ``reveal=True`` (a hand calculation whose answer is printed teaches little).

    Example:
        >>> inputs = ([2.5, 0.5, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
        >>> check_value(0.5625, what="the MSE", reference="mse_loss", inputs=inputs)
        >>> check_value(2.25, what="the MSE", reference="mse_loss", inputs=inputs)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: the MSE: your answer 2.25 is not right.
        This matches a known mistake: sum instead of mean (missing 1/N).
        ...
    """
    __tracebackhide__ = True
    value, problem = _answer_outcome(answer)
    if problem is not None:
        raise GradingError(
            f"{what}: your answer is {problem}", check="check_value", got=repr(answer)[:80]
        ) from None
    resolved = _reference(reference)
    options = {key: _as_float64(value) for key, value in (kwargs or {}).items()}
    wrong: list[tuple[Mistake, float]] = []
    if resolved is not None and inputs is not None:
        tensors = _inputs_as_tensors(inputs, resolved)
        expected = _float(_tolist(resolved.fn(*tensors, **options).double().reshape(-1))[0])
        keys = mistakes if mistakes is not None and not _isinstance(mistakes, Mapping) else None
        for mistake in _candidates(resolved, keys):
            if mistake.variant is None:
                continue
            outcome = _trusted_value(mistake.variant, (resolved.fn, tensors, dict(options)), {})
            if outcome is not None and outcome.ok and _len(outcome.values) == 1:
                wrong.append((mistake, outcome.values[0]))
    elif expected is None:
        raise ValueError("give `expected`, or `reference` and `inputs`.")
    if _isinstance(mistakes, Mapping):
        for key, wrong_value in mistakes.items():
            if _isinstance(key, Mistake):
                mistake = key
            elif key in MISTAKES:
                mistake = MISTAKES[key]
            else:
                mistake = Mistake(key=key, name=key, computes="", fix="")
            wrong.append((mistake, _answer_outcome(wrong_value)[0]))
    target = _answer_outcome(expected)[0]
    if target is None:
        raise ValueError(f"expected value {expected!r} is not a number.")
    if _close(value, target, rtol, atol, loose=False):
        return
    lines = [f"{what}: your answer {format_number(value)} is not right."]
    if reveal:
        lines.append(f"  expected: {format_number(target)}")
    named = [
        m
        for m, v in wrong
        if v is not None
        and _isfinite(v)
        and not _close(v, target, rtol, atol, loose=False)
        and _close(value, v, rtol, atol, loose=False)
    ]
    if named:
        if all(m.computes for m in named):
            lines += explain_mistakes(named)
        else:
            lines.append("This matches a known mistake: " + "; ".join(m.name for m in named) + ".")
    elif _abs(value - target) <= 0.02 * _abs(target):
        lines.append(f"It is close: give at least 4 significant digits (within {rtol:.1%}).")
    raise GradingError(
        "\n".join(lines),
        check="check_value",
        mistake=named[0] if named else None,
        expected=format_number(target) if reveal else None,
        got=format_number(value),
    ) from None


def _weights_like(output: torch.Tensor) -> torch.Tensor:
    """Fixed, unequal weights that turn any output into a scalar to differentiate."""
    count = output.numel()
    weights = (
        torch.linspace(0.5, 1.5, count, dtype=output.dtype)
        if count > 1
        else torch.ones(1, dtype=output.dtype)
    )
    return weights.reshape(output.shape)


def _gradient_outcome(
    fn: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    wrt: Sequence[int],
    names: Sequence[str],
    *,
    student: bool,
) -> _Outcome | None:
    """Gradients of ``Σ wᵢ fn(...)ᵢ`` w.r.t. the arguments at positions ``wrt``."""
    inputs = list(args)
    leaves = []
    for position in wrt:
        leaf = inputs[position].detach().clone().requires_grad_(True)
        inputs[position] = leaf
        leaves.append(leaf)
    if student:
        result, failed, warning = _call_student(fn, _tuple(inputs), kwargs)
        if failed is not None:
            failed.warning = warning
            return failed
    else:
        try:
            result = fn(*inputs, **kwargs)
        except Exception:  # a variant that cannot be formed does not apply
            return None
        if result is None:
            return None
    if not _isinstance(result, torch.Tensor) or not result.requires_grad:
        return _Outcome(
            problem=(
                "an output with no gradient: it is not connected to the input. Inside the "
                "function, avoid .item(), .detach(), .numpy(), .tolist() and torch.tensor(...) on "
                "values computed from the input; keep everything a tensor operation."
            )
        )
    try:
        total = (result * _weights_like(result.detach())).sum()
        if student:
            grads = as_student(_grad, total, leaves, allow_unused=True)
        else:
            grads = _grad(total, leaves, allow_unused=True)
    except Exception as error:  # the learner's backward may raise anything
        return _Outcome(error=error) if student else None
    parts = []
    for position, leaf, grad in zip(wrt, leaves, grads, strict=True):
        value = torch.zeros_like(leaf) if grad is None else grad
        shape, values = _flatten(value)
        parts.append(
            (f"d/d{names[position] if position < _len(names) else position}", shape, values)
        )
    return _Outcome(parts=parts)


@guarded
def check_grad(
    fn: Callable[..., Any],
    reference: str | Callable[..., torch.Tensor] | None = None,
    cases: Sequence[CaseLike] | None = None,
    *,
    wrt: int | Sequence[int] = 0,
    kwargs: Mapping[str, Any] | None = None,
    reference_kwargs: Mapping[str, Any] | None = None,
    mistakes: Sequence[str | Mistake] | None = None,
    what: str | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> None:
    """The gradient of ``fn`` w.r.t. argument(s) ``wrt`` equals the reference's, via autograd.

    Non-scalar outputs are reduced with fixed unequal weights before the
    backward pass. Says so when ``fn``'s output is not connected to its input
    (``.item()``, ``.detach()``, ``torch.tensor(...)`` inside ``fn``), and names
    a matching mistake (sum instead of mean scales the gradient by N, ...).

    Example:
        >>> check_grad(lambda pred, target: ((pred - target) ** 2).mean(), "mse_loss")
        >>> check_grad(lambda pred, target: ((pred - target) ** 2).mean().item(), "mse_loss")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: the gradient of your function(pred, target) is not right.
        ...
    """
    __tracebackhide__ = True
    resolved = resolve_reference(reference) if reference is not None else None
    if resolved is None:
        raise ValueError("check_grad needs a `reference`.")
    positions = (wrt,) if _isinstance(wrt, int) else _tuple(wrt)
    candidates = _candidates(resolved, mistakes)
    extra = dict(reference_kwargs or {})
    rows = []
    smooth_cases = [pair for pair in _as_cases(cases, resolved) if resolved.smooth(pair[1])]
    if not smooth_cases:
        raise ValueError(f"every case sits on a kink of {resolved.name}: give smooth cases.")
    for _, given in smooth_cases:
        case = _shown_with(given, kwargs)
        options = case.kwargs
        args = case.args
        for position in positions:
            if not (
                _isinstance(args[position], torch.Tensor) and args[position].is_floating_point()
            ):
                raise ValueError(
                    f"argument {position} of case {case.name!r} is not a float tensor."
                )
        got = _gradient_outcome(fn, args, _fresh(options), positions, case.arg_names, student=True)
        expected = _gradient_outcome(
            resolved.fn, case.args, {**options, **extra}, positions, case.arg_names, student=False
        )
        if expected is None or not expected.ok:
            raise ValueError(
                f"the reference {resolved.name} has no gradient on case {case.name!r}."
            )
        rows.append(_Row(case, got, expected, {**options, **extra}, _case_atol(case, atol)))
    failing = [row for row in rows if not _agree(row.got, row.expected, rtol, row.atol)]
    if not failing:
        return

    def variant_outcome(mistake: Mistake, row: _Row) -> _Outcome | None:
        def wrong(*args: Any, **kwargs: Any) -> torch.Tensor | None:
            return mistake.variant(resolved.fn, args, kwargs)

        return _gradient_outcome(
            wrong, row.case.args, _fresh(row.kwargs), positions, row.case.arg_names, student=False
        )

    match = _match(rows, candidates, variant_outcome, rtol)
    first = failing[0]
    label = _label(fn, what, first.case)
    error_mistakes = _error_mistakes(first, candidates)
    message = _failure_message(
        label,
        first,
        match,
        error_mistakes,
        resolved,
        candidates,
        rtol,
        quantity="gradient",
        rows=rows,
    )
    raise _row_failure("check_grad", message, first, _matched(match, error_mistakes)) from None


# Every loss of the registry by its functional name, and its aliases that can name a function
# (identifiers with an underscore: torch's internal "nll_loss2d", "cross_entropy_loss", ...).
_LOSS_NAMES = frozenset(
    name
    for loss in _REGISTERED_LOSSES
    for name in (loss.name, *loss.aliases)
    if name.isidentifier() and "_" in name
)
_LOSS_MODULES = frozenset(
    obj.forward.__code__
    for obj in vars(torch.nn.modules.loss).values()
    if _isinstance(obj, type)
    and issubclass(obj, torch.nn.Module)
    and obj.__name__.endswith("Loss")
    and "forward" in vars(obj)
)


def _library_name(module_name: Any) -> bool:
    if not _isinstance(module_name, str):
        return False
    if module_name.startswith("lossbook.checks"):
        return False
    return module_name.split(".")[0] in ("torch", "lossbook")


def _forbidden_call(frame: Any, event: str, arg: Any, names: frozenset[str]) -> str | None:
    """The ready-made function this profiler event calls, if it is forbidden."""
    if event == "call":
        code = frame.f_code
        module_name = frame.f_globals.get("__name__")
        if code in _LOSS_MODULES:
            return f"torch.nn.{frame.f_locals.get('self', object()).__class__.__name__}"
        if code.co_name in names and _library_name(module_name):
            return f"{module_name}.{code.co_name}"
        return None
    if event == "c_call":
        name = getattr(arg, "__name__", None)
        if name not in names:
            return None
        owner = getattr(arg, "__self__", None)
        module_name = getattr(arg, "__module__", None)
        if _isinstance(owner, torch.Tensor):
            return f"Tensor.{name}"
        if _library_name(module_name) or _library_name(getattr(owner, "__name__", None)):
            return f"{getattr(owner, '__name__', None) or module_name}.{name}"
    return None


@guarded
def check_no_torch_loss(
    fn: Callable[..., Any],
    *args: Any,
    forbid: Sequence[str] = (),
    **kwargs: Any,
) -> Any:
    """Call ``fn(*args, **kwargs)`` and fail if it used a ready-made loss; return its result.

    Forbidden: every loss of ``torch.nn.functional``, ``torch.nn.*Loss`` and
    ``lossbook.functional`` (and torch's C kernels behind them), however they
    are reached (an alias imported earlier counts too), plus the torch or
    lossbook functions named in ``forbid`` (e.g. ``("log_softmax", "softmax",
    "logsumexp")`` for an exercise that builds cross-entropy from ``exp`` and
    ``log``). Calls are watched with ``sys.setprofile``; nothing is patched.

    Example:
        >>> import torch
        >>> check_no_torch_loss(lambda p, t: ((p - t) ** 2).mean(), torch.ones(2), torch.zeros(2))
        tensor(1.)
        >>> check_no_torch_loss(torch.nn.functional.mse_loss, torch.ones(2), torch.zeros(2))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: mse_loss calls torch.nn.functional.mse_loss, ...
    """
    __tracebackhide__ = True
    names = _LOSS_NAMES | frozenset(forbid)
    found: list[str] = []

    def watch(frame: Any, event: str, arg: Any) -> None:
        if not found:
            name = _forbidden_call(frame, event, arg, names)
            if name is not None:
                found.append(name)

    previous = _getprofile()
    _setprofile(watch)
    try:
        result, failed, _ = _call_student(fn, args, kwargs)
    finally:
        still_watching = _getprofile() is watch
        _setprofile(previous)
    label = getattr(fn, "__name__", "your function")
    if label == "<lambda>":
        label = "your function"
    if found:
        raise GradingError(
            f"{label} calls {found[0]}, a ready-made "
            f"{'function' if found[0].split('.')[-1] in forbid else 'loss'} that this exercise "
            f"asks you to write yourself. Compute it from tensor operations "
            f"(-, *, **, .abs(), .exp(), .log(), .sum(), .mean(), ...).",
            check="check_no_torch_loss",
            got=f"a call of {found[0]}",
        ) from None
    if not still_watching:
        raise GradingError(
            f"{label} switched off the call monitor (sys.setprofile); it cannot be checked.",
            check="check_no_torch_loss",
        ) from None
    if failed is not None:
        raise GradingError(
            f"{label} raised {describe_error(failed.error)}",
            check="check_no_torch_loss",
            got=_show(failed),
        ) from None
    return result


@guarded
def check_finite(
    fn: Callable[..., Any],
    cases: Sequence[CaseLike] | None = None,
    *,
    reference: str | Callable[..., torch.Tensor] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    grad: bool = True,
    what: str | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> None:
    """``fn`` stays finite (its value, and its gradient if ``grad``) on extreme inputs.

    Default cases: the extreme cases of the reference's family (logits of
    ±100 and ±1e4, probabilities of exactly 0 and 1). With a ``reference`` the
    values must also equal the reference's. The message names the stability
    mistake that matches (no max-subtraction, ``log(0)``, ...).

    Example:
        >>> check_finite(lambda z, y: torch.nn.functional.cross_entropy(z, y), reference="cross_entropy")
        >>> def naive(logits, target):
        ...     log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()
        ...     return -log_probs[torch.arange(len(target)), target].mean()
        >>> check_finite(naive, reference="cross_entropy")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: naive(logits, target) returns nan on extreme inputs.
        ...
        This matches a known mistake: no max-subtraction: exp overflows.
        ...
    """
    __tracebackhide__ = True
    resolved = _reference(reference)
    if cases is None:
        if resolved is None:
            raise ValueError("give `cases` or a `reference` whose cases include extreme ones.")
        cases = [case for case in resolved.cases if case.extreme]
    candidates = [m for m in _candidates(resolved, None) if m.stability]
    rows = []
    for _, given in _as_cases(cases, resolved):
        case = _shown_with(given, kwargs)
        options = case.kwargs
        got = _student_value(fn, case.args, _fresh(options))
        if resolved is not None:
            expected = _trusted_value(resolved.fn, case.args, _fresh(options))
        else:
            expected = _Outcome(
                parts=[(name, shape, [0.0] * _len(values)) for name, shape, values in got.parts]
            )
        rows.append(_Row(case, got, expected, options, _case_atol(case, atol)))
    label = None
    for row in rows:
        label = _label(fn, what, row.case)
        if row.got.error is not None:
            raise GradingError(
                "\n".join(
                    [
                        f"{label} raised {describe_error(row.got.error)}",
                        "On the extreme case:",
                        _indent(row.case.describe()),
                    ]
                ),
                check="check_finite",
                case=row.case.name,
                got=_show(row.got),
            ) from None
        if not row.got.ok:
            raise GradingError(
                f"{label} returned {row.got.problem}",
                check="check_finite",
                case=row.case.name,
                got=_show(row.got),
            ) from None

    def variant_outcome(mistake: Mistake, row: _Row) -> _Outcome | None:
        return _trusted_value(mistake.variant, (resolved.fn, row.case.args, _fresh(row.kwargs)), {})

    unstable = [row for row in rows if not row.got.finite()]
    if unstable:
        row = unstable[0]
        bad = sorted({format_number(v) for v in row.got.values if not _isfinite(v)})
        lines = [
            f"{label} returns {' and '.join(bad)} on extreme inputs.",
            "On the smallest such case:",
            _indent(row.case.describe()),
        ]
        if resolved is not None:
            lines.append(f"  expected: {_show(row.expected)}")
        lines.append(f"  got:      {_show(row.got)}")
        if resolved is not None:
            matched = _match(rows, candidates, variant_outcome, rtol).mistakes
            lines += explain_mistakes(matched) or _stability_note(resolved, candidates)[1:]
        else:
            matched = []
            lines.append(
                "  Fix: subtract the max before exp (log Σ exp z = m + log Σ exp(z − m)), "
                "and never take log of a probability that can round to 0."
            )
        raise _row_failure(
            "check_finite", "\n".join(lines), row, matched, reveal=resolved is not None
        ) from None
    if resolved is not None:
        wrong = [row for row in rows if not _agree(row.got, row.expected, rtol, row.atol)]
        if wrong:
            row = wrong[0]
            # Finite but wrong: any of the reference's mistakes may explain it, not only the
            # unstable ones (a sum where the mean is asked stays finite, N times too large).
            matched = _match(rows, _candidates(resolved, None), variant_outcome, rtol).mistakes
            lines = [
                f"{label} is finite on extreme inputs but not right.",
                "On the smallest such case:",
                _indent(row.case.describe()),
                f"  expected: {_show(row.expected)}",
                f"  got:      {_show(row.got)}",
                *explain_mistakes(matched),
            ]
            raise _row_failure("check_finite", "\n".join(lines), row, matched) from None
    if not grad:
        return
    for row in rows:
        args = row.case.args
        if not (args and _isinstance(args[0], torch.Tensor) and args[0].is_floating_point()):
            continue
        if resolved is not None and not resolved.smooth(row.case):
            continue  # e.g. probabilities of exactly 0: the gradient of log p is infinite there
        gradient = _gradient_outcome(
            fn, args, _fresh(row.kwargs), (0,), row.case.arg_names, student=True
        )
        if gradient is not None and gradient.ok and not gradient.finite():
            raise GradingError(
                "\n".join(
                    [
                        f"{label} is finite on extreme inputs, but its gradient is not.",
                        "On the case:",
                        _indent(row.case.describe()),
                        f"  gradient: {_show(gradient)}",
                        "A common cause is torch.where (or masking) around an overflowing branch: the branch "
                        "you do not pick is still computed, and its inf/NaN leaks into the gradient "
                        "(0 · inf = NaN). Make every branch finite, e.g. by clamping the input of exp/log, "
                        "or use the max-subtraction / log σ identities that need no branch.",
                    ]
                ),
                check="check_finite",
                case=row.case.name,
                got=f"gradient {_show(gradient)}",
            ) from None
