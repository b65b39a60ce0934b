"""Checks for derivation exercises: a gradient the learner derived by hand, and the
finite-difference helper they verify it with.

A derivation exercise asks a question ("what is the gradient of the mean binary
cross-entropy with respect to the logits?"); the learner writes the closed form
as a function of the inputs. :func:`check_derivative` compares it with two
independent references computed here in float64: autograd through the captured
loss, and a central finite difference of the same loss. Both must agree with
each other (else the test cell is wrong, a ``ValueError``) and with the learner.
When the learner's gradient equals a known wrong derivation on every case (the
sign flipped, the ``1/N`` of the mean dropped, the derivative with respect to
``p`` instead of ``z``...), the message names it and says how to fix it.

:func:`check_finite_difference` grades the learner's own helper
``finite_difference(f, x, h=...)``: a central-difference estimate of the
gradient of a scalar function, one element at a time.

:func:`central_difference` is the course's own helper, for chapters after the
one where the learner writes theirs.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

import lossbook.functional as _functional
from lossbook.checks._guard import as_student, guarded
from lossbook.checks.cases import Case, format_value
from lossbook.checks.errors import GradingError

# Captured at import, like every reference of lossbook.checks: a learner's cell that
# rebinds them cannot change a verdict.
_bce_with_logits = _functional.binary_cross_entropy_with_logits
_cross_entropy = _functional.cross_entropy
_huber_loss = _functional.huber_loss
_grad = torch.autograd.grad
_no_grad = torch.no_grad
_tolist = torch._C.TensorBase.tolist
_sigmoid = torch.sigmoid
_softmax = torch.softmax
_one_hot = torch.nn.functional.one_hot
_isinstance = builtins.isinstance
_abs = builtins.abs
_len = builtins.len
_isfinite = math.isfinite

# Float64 everywhere: with h = 1e-6 a central difference is accurate to about 1e-9.
STEP = 1e-6
RTOL = 1e-6
ATOL = 1e-8


def central_difference(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, h: float = STEP
) -> torch.Tensor:
    """Central finite-difference estimate of the gradient of a scalar function ``f`` at ``x``.

    For each element, ``(f(x + h·e_i) − f(x − h·e_i)) / (2h)``: its error shrinks like
    ``h²`` (a one-sided difference's only like ``h``). Use float64 ``x``: in float32 the
    rounding of ``f`` swamps any step small enough to be accurate.

    Args:
        f: a function of one tensor returning a 0-d tensor (or a number).
        x: float tensor, any shape; not modified.
        h: the step.

    Returns:
        A tensor of ``x``'s shape and dtype.

    Example:
        >>> x = torch.tensor([1.0, -2.0], dtype=torch.float64)
        >>> central_difference(lambda t: (t**2).sum(), x).round(decimals=6)
        tensor([ 2., -4.], dtype=torch.float64)
    """
    flat = x.detach().clone().reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + h
        above = float(f(flat.reshape(x.shape)))
        flat[i] = original - h
        below = float(f(flat.reshape(x.shape)))
        flat[i] = original
        grad[i] = (above - below) / (2 * h)
    return grad.reshape(x.shape)


# ---------------------------------------------------------------------------
# What can be derived: the function, its cases, and the wrong derivations learners write.


@dataclass(frozen=True)
class WrongDerivation:
    """A plausible wrong derivation: its name, the fix, and the gradient it gives."""

    name: str
    fix: str
    gradient: Callable[[tuple, dict, torch.Tensor], torch.Tensor | None] = field(repr=False)


@dataclass(frozen=True)
class Derivation:
    """A function whose gradient with respect to its first argument a learner derives.

    Attributes:
        name: what a test cell calls it (``"bce_with_logits"``).
        function: the trusted scalar function of the case's arguments.
        what: the quantity, for messages.
        cases: the visible cases, smallest first (float64).
        random_cases: ``random_cases(seed)`` makes more cases like them, for hidden tests.
        mistakes: the wrong derivations recognised.
    """

    name: str
    function: Callable[..., torch.Tensor] = field(repr=False)
    what: str
    cases: Callable[[], list[Case]] = field(repr=False)
    random_cases: Callable[[int], list[Case]] = field(repr=False)
    mistakes: tuple[WrongDerivation, ...] = ()


def _scaled(
    factor: Callable[[tuple], float],
) -> Callable[[tuple, dict, torch.Tensor], torch.Tensor]:
    return lambda args, kwargs, exact: exact * factor(args)


def _common_mistakes(count: Callable[[tuple], int], mean_over: str) -> tuple[WrongDerivation, ...]:
    return (
        WrongDerivation(
            "sign flipped",
            "the gradient points uphill: d/dz of −log p is minus the derivative of log p.",
            _scaled(lambda args: -1.0),
        ),
        WrongDerivation(
            "missing 1/N (the gradient of the sum, not of the mean)",
            f"the loss is the mean over {mean_over}: divide each entry by their number.",
            _scaled(lambda args: float(count(args))),
        ),
        WrongDerivation(
            "divided by N twice",
            f"the mean over {mean_over} divides by their number once.",
            _scaled(lambda args: 1.0 / count(args)),
        ),
    )


def _float64(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(t.to(torch.float64) if t.is_floating_point() else t for t in tensors)


# Binary cross-entropy on logits, mean over every element.


def _bce_cases() -> list[Case]:
    names = ("logits", "target")
    return [
        Case(
            "N=4, one logit exactly 0",
            _float64(torch.tensor([2.0, -1.0, 0.0, 3.0]), torch.tensor([1.0, 0.0, 1.0, 0.0])),
            arg_names=names,
        ),
        Case(
            "multi-label: N=2, L=3",
            _float64(
                torch.tensor([[2.0, -1.0, 0.5], [0.3, 3.0, -2.0]]),
                torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]),
            ),
            arg_names=names,
        ),
        Case(
            "soft targets: N=3",
            _float64(torch.tensor([0.5, -2.0, 1.5]), torch.tensor([0.7, 0.2, 0.5])),
            arg_names=names,
        ),
    ]


def _bce_random(seed: int) -> list[Case]:
    generator = torch.Generator().manual_seed(seed)
    return [
        Case(
            f"random: shape {shape}",
            (
                3 * torch.randn(*shape, generator=generator, dtype=torch.float64),
                torch.randint(0, 2, shape, generator=generator).to(torch.float64),
            ),
            arg_names=("logits", "target"),
        )
        for shape in ((5,), (4, 3), (40,))
    ]


def _bce_wrt_probability(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    logits, target = args
    p = _sigmoid(logits)
    return (-target / p + (1 - target) / (1 - p)) / logits.numel()


def _bce_sigmoid_twice(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    logits, target = args
    p = _sigmoid(logits)
    return (p - target) * p * (1 - p) / logits.numel()


# Cross-entropy with class indices, mean over the N samples.


def _ce_cases() -> list[Case]:
    names = ("logits", "target")
    return [
        Case(
            "N=2, C=3",
            (
                torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], dtype=torch.float64),
                torch.tensor([0, 2]),
            ),
            arg_names=names,
        ),
        Case(
            "N=3, C=4, a tie",
            (
                torch.tensor(
                    [[1.0, 1.0, -1.0, 0.0], [0.0, 3.0, 0.5, -2.0], [-1.0, 0.0, 0.0, 2.0]],
                    dtype=torch.float64,
                ),
                torch.tensor([1, 0, 3]),
            ),
            arg_names=names,
        ),
    ]


def _ce_random(seed: int) -> list[Case]:
    generator = torch.Generator().manual_seed(seed)
    return [
        Case(
            f"random: N={n}, C={c}",
            (
                3 * torch.randn(n, c, generator=generator, dtype=torch.float64),
                torch.randint(0, c, (n,), generator=generator),
            ),
            arg_names=("logits", "target"),
        )
        for n, c in ((1, 5), (6, 3), (16, 10))
    ]


def _ce_one_hot(args: tuple) -> torch.Tensor:
    logits, target = args
    return _one_hot(target, logits.shape[-1]).to(logits.dtype)


def _ce_without_one_hot(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    logits = args[0]
    return _softmax(logits, dim=-1) / logits.shape[0]


def _ce_wrt_probability(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    logits = args[0]
    return -_ce_one_hot(args) / _softmax(logits, dim=-1) / logits.shape[0]


def _ce_over_every_element(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    return exact / args[0].shape[-1]


# Huber's penalty, summed: its gradient is the derivative of the penalty, element by element.


def _huber_penalty(residual: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    return _huber_loss(residual, torch.zeros_like(residual), delta=delta, reduction="sum")


def _huber_cases() -> list[Case]:
    residual = torch.tensor([-4.0, -1.5, -0.5, 0.0, 0.25, 0.9, 2.0, 100.0], dtype=torch.float64)
    return [Case("8 residuals from −4 to 100", (residual,), arg_names=("residual",))]


def _huber_random(seed: int) -> list[Case]:
    generator = torch.Generator().manual_seed(seed)
    return [
        Case(
            f"random residuals: shape {shape}",
            (scale * torch.randn(*shape, generator=generator, dtype=torch.float64),),
            arg_names=("residual",),
        )
        for shape, scale in (((6,), 1.0), ((3, 4), 5.0), ((50,), 100.0))
    ]


def _delta(kwargs: dict) -> float:
    return float(kwargs.get("delta", 1.0))


def _huber_mse_everywhere(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    return args[0].clone()


def _huber_without_sign(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    residual = args[0]
    return torch.where(
        residual.abs() <= _delta(kwargs), residual, torch.full_like(residual, _delta(kwargs))
    )


def _huber_smooth_l1(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    return exact / _delta(kwargs)


def _huber_linear_everywhere(args: tuple, kwargs: dict, exact: torch.Tensor) -> torch.Tensor:
    return _delta(kwargs) * torch.sign(args[0])


DERIVATIONS: dict[str, Derivation] = {
    "bce_with_logits": Derivation(
        name="bce_with_logits",
        function=lambda logits, target: _bce_with_logits(logits, target),
        what="the gradient of the mean BCE-with-logits with respect to the logits",
        cases=_bce_cases,
        random_cases=_bce_random,
        mistakes=(
            *_common_mistakes(lambda args: args[0].numel(), "every element"),
            WrongDerivation(
                "the derivative with respect to p = σ(z), not z",
                "chain rule: multiply ∂ℓ/∂p by dp/dz = σ(z)(1 − σ(z)), and simplify.",
                _bce_wrt_probability,
            ),
            WrongDerivation(
                "σ'(z) applied twice",
                "∂ℓ/∂p · dp/dz already simplifies to σ(z) − y: do not multiply by σ(z)(1 − σ(z)) again.",
                _bce_sigmoid_twice,
            ),
        ),
    ),
    "cross_entropy": Derivation(
        name="cross_entropy",
        function=lambda logits, target: _cross_entropy(logits, target),
        what="the gradient of the mean cross-entropy with respect to the logits",
        cases=_ce_cases,
        random_cases=_ce_random,
        mistakes=(
            *_common_mistakes(lambda args: args[0].shape[0], "the N samples"),
            WrongDerivation(
                "the one-hot term left out",
                "−z_y also depends on the logits: ∂(−z_y)/∂z_c is −1 for the target class, 0 elsewhere.",
                _ce_without_one_hot,
            ),
            WrongDerivation(
                "the derivative with respect to p, not the logits",
                "every p_c depends on every logit through the softmax: differentiate "
                "−z_y + log Σ_j exp(z_j) with respect to z_c directly.",
                _ce_wrt_probability,
            ),
            WrongDerivation(
                "divided by N·C instead of N",
                "cross-entropy's mean is over the N samples, not over every entry of the logits.",
                _ce_over_every_element,
            ),
        ),
    ),
    "huber_penalty": Derivation(
        name="huber_penalty",
        function=_huber_penalty,
        what="the derivative of Huber's penalty with respect to the residual",
        cases=_huber_cases,
        random_cases=_huber_random,
        mistakes=(
            WrongDerivation(
                "the quadratic piece everywhere (MSE's pull)",
                "beyond |r| = δ the penalty is linear, δ(|r| − δ/2): its slope is ±δ.",
                _huber_mse_everywhere,
            ),
            WrongDerivation(
                "the sign of the linear piece lost",
                "d|r|/dr is sign(r): a large negative residual pulls with −δ.",
                _huber_without_sign,
            ),
            WrongDerivation(
                "Smooth L1's derivative instead of Huber's",
                "Huber's quadratic piece is r²/2 (slope r) and its linear slope is δ, not 1.",
                _huber_smooth_l1,
            ),
            WrongDerivation(
                "the linear piece everywhere (MAE's pull)",
                "inside |r| ≤ δ the penalty is r²/2: its slope is r.",
                _huber_linear_everywhere,
            ),
        ),
    ),
}


def derivation_cases(name: str, seed: int) -> list[Case]:
    """Seeded random cases for the derivation ``name`` (hidden tests use these).

    Example:
        >>> [case.name for case in derivation_cases("cross_entropy", seed=1)]
        ['random: N=1, C=5', 'random: N=6, C=3', 'random: N=16, C=10']
    """
    return _derivation(name).random_cases(seed)


def _derivation(name: str) -> Derivation:
    if name not in DERIVATIONS:
        raise ValueError(f"unknown derivation {name!r}; known: {', '.join(sorted(DERIVATIONS))}.")
    return DERIVATIONS[name]


def _autograd_gradient(derivation: Derivation, args: tuple, kwargs: dict) -> torch.Tensor:
    leaf = args[0].detach().clone().requires_grad_(True)
    (grad,) = _grad(derivation.function(leaf, *args[1:], **kwargs), leaf)
    return grad


def _finite_difference_gradient(derivation: Derivation, args: tuple, kwargs: dict) -> torch.Tensor:
    return central_difference(lambda x: derivation.function(x, *args[1:], **kwargs), args[0])


def _same(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> bool:
    if _tuple_shape(got) != _tuple_shape(expected):
        return False
    pairs = zip(
        _tolist(got.reshape(-1).double()), _tolist(expected.reshape(-1).double()), strict=True
    )
    return all(_isfinite(g) and _abs(g - e) <= atol + rtol * _abs(e) for g, e in pairs)


def _tuple_shape(tensor: torch.Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def _learner_gradient(fn: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[Any, str | None]:
    """What the learner's closed form returns, or what is wrong with the call."""
    try:
        with _no_grad():
            result = as_student(fn, *args, **kwargs)
    except Exception as error:  # the learner's code may raise anything
        first_line = (str(error).splitlines() or [""])[0]
        hint = ""
        if "does not require grad" in first_line or "grad_fn" in first_line:
            hint = " Write the formula with tensor operations: no autograd (backward, torch.autograd.grad)."
        return None, f"raised {type(error).__name__}: {first_line}.{hint}"
    if result is None:
        return None, "returned None: return the gradient tensor."
    if not _isinstance(result, torch.Tensor):
        return None, f"returned a {type(result).__name__}, not a tensor."
    return result.detach(), None


@guarded
def check_derivative(
    fn: Callable[..., Any],
    derivation: str,
    cases: Sequence[Case] | None = None,
    *,
    kwargs: dict[str, Any] | None = None,
    what: str | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> None:
    """The learner's closed-form gradient ``fn(*args)`` equals autograd's and a finite difference's.

    ``derivation`` names what is differentiated (a key of :data:`DERIVATIONS`:
    ``"bce_with_logits"``, ``"cross_entropy"``, ``"huber_penalty"``), always with
    respect to its first argument, in float64. ``fn`` is called with autograd
    off, so a learner who calls ``backward()`` is told to write the formula.

    Example:
        >>> check_derivative(lambda z, y: (torch.sigmoid(z) - y) / z.numel(), "bce_with_logits")
        >>> check_derivative(lambda z, y: torch.sigmoid(z) - y, "bce_with_logits")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: the gradient of the mean BCE-with-logits ... is not right.
        ...
        This matches a known mistake: missing 1/N (the gradient of the sum, not of the mean).
        ...
    """
    __tracebackhide__ = True
    spec = _derivation(derivation)
    options = dict(kwargs or {})
    label = what or spec.what
    rows = []
    for case in cases if cases is not None else spec.cases():
        args = case.args
        exact = _autograd_gradient(spec, args, options)
        numeric = _finite_difference_gradient(spec, args, options)
        if not _same(numeric, exact, 1e-5, 1e-7):
            raise ValueError(f"autograd and finite differences disagree on {case.name!r}.")
        got, problem = _learner_gradient(fn, case.args, dict(options))
        rows.append((case, args, exact, numeric, got, problem))
    failing = [row for row in rows if row[5] is not None or not _same(row[4], row[2], rtol, atol)]
    if not failing:
        return
    case, args, exact, numeric, got, problem = failing[0]
    shown = "\n".join("  " + line for line in case.describe().splitlines())
    if options:
        shown += "\n  " + ", ".join(f"{key} = {value!r}" for key, value in options.items())
    lines = [f"{label} is not right.", f"On the case {shown.lstrip()}"]
    if problem is not None:
        lines.append(f"Your function {problem}")
        raise GradingError("\n".join(lines), check="check_derivative", case=case.name) from None
    if _tuple_shape(got) != _tuple_shape(exact):
        lines.append(
            f"  shape: expected {_tuple_shape(exact)} (the shape of {case.arg_names[0]}), got {_tuple_shape(got)}"
        )
        raise GradingError("\n".join(lines), check="check_derivative", case=case.name) from None
    lines += [
        f"  autograd:           {format_value(exact)}",
        f"  finite differences: {format_value(numeric.round(decimals=6))}",
        f"  yours:              {format_value(got)}",
    ]
    named = [
        mistake for mistake in spec.mistakes if _matches(mistake, rows, dict(options), rtol, atol)
    ]
    if named:
        lines.append("This matches a known mistake: " + "; ".join(m.name for m in named) + ".")
        lines += [f"  Fix: {m.fix}" for m in named]
    else:
        lines.append(
            "Check your derivation step by step against your finite-difference helper, one "
            "element at a time."
        )
    raise GradingError("\n".join(lines), check="check_derivative", case=case.name) from None


def _matches(mistake: WrongDerivation, rows: list, options: dict, rtol: float, atol: float) -> bool:
    """True if the learner's gradient equals the wrong one on every case, and differs from the right one somewhere."""
    differs_somewhere = False
    for _, args, exact, _, got, problem in rows:
        if problem is not None:
            return False
        wrong = mistake.gradient(args, options, exact)
        if wrong is None or not _same(got, wrong, rtol, atol):
            return False
        differs_somewhere = differs_somewhere or not _same(wrong, exact, rtol, atol)
    return differs_somewhere


# ---------------------------------------------------------------------------
# The learner's finite-difference helper.


def _fd_functions() -> list[tuple[str, Callable[[torch.Tensor], torch.Tensor], torch.Tensor]]:
    return [
        (
            "f(x) = Σ x³ at x = [0.5, -1.0, 2.0]",
            lambda x: (x**3).sum(),
            torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64),
        ),
        (
            "f(x) = Σ x·sin(x) at a (2, 3) x",
            lambda x: (x * torch.sin(x)).sum(),
            torch.tensor([[0.3, -1.2, 2.0], [1.0, 0.0, -0.7]], dtype=torch.float64),
        ),
        (
            "f(x) = log Σ exp(x) at x = [1.0, 2.0, -1.0, 0.5]",
            lambda x: torch.logsumexp(x, dim=0),
            torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=torch.float64),
        ),
    ]


@guarded
def check_finite_difference(
    helper: Callable[..., Any], *, rtol: float = RTOL, atol: float = ATOL
) -> None:
    """The learner's ``helper(f, x)`` estimates the gradient of a scalar ``f`` at ``x`` by central differences.

    Called with its default step on three smooth functions of float64 tensors
    ((3,), (2, 3) and (4,)); compared with autograd to ``rtol``/``atol``, which a
    central difference meets and a one-sided one does not. The helper must
    return a tensor of ``x``'s shape and leave ``x`` as it found it.

    Example:
        >>> check_finite_difference(central_difference)
        >>> check_finite_difference(lambda f, x: 2 * central_difference(f, x))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: your finite-difference helper is not right on f(x) = Σ x³ ...
        ...
        This looks like: divided by h instead of 2h. ...
    """
    __tracebackhide__ = True
    for name, f, x in _fd_functions():
        leaf = x.clone().requires_grad_(True)
        (exact,) = _grad(f(leaf), leaf)
        given = x.clone()
        try:
            with _no_grad():
                result = as_student(helper, f, given)
        except Exception as error:  # the learner's code may raise anything
            first_line = (str(error).splitlines() or [""])[0]
            raise GradingError(
                f"your finite-difference helper raised {type(error).__name__} on {name}: {first_line}",
                check="check_finite_difference",
            ) from None
        head = f"your finite-difference helper is not right on {name}."
        if not _isinstance(result, torch.Tensor):
            raise GradingError(
                f"{head}\n  It returned a {type(result).__name__}: return a tensor of x's shape.",
                check="check_finite_difference",
            ) from None
        if not torch.equal(given, x):
            raise GradingError(
                f"{head}\n  It changed x: after the call, x = {format_value(given)}. Put each element "
                "back after moving it (or work on a copy, x.clone()).",
                check="check_finite_difference",
            ) from None
        got = result.detach()
        if _tuple_shape(got) != _tuple_shape(x):
            raise GradingError(
                f"{head}\n  shape: expected {_tuple_shape(x)} (x's shape, one partial derivative per element), "
                f"got {_tuple_shape(got)}.",
                check="check_finite_difference",
            ) from None
        if _same(got, exact, rtol, atol):
            continue
        lines = [
            head,
            f"  the gradient (autograd): {format_value(exact)}",
            f"  yours:                   {format_value(got)}",
        ]
        lines.append(_finite_difference_hint(got, exact, f, x))
        raise GradingError("\n".join(lines), check="check_finite_difference") from None


def _finite_difference_hint(
    got: torch.Tensor, exact: torch.Tensor, f: Callable, x: torch.Tensor
) -> str:
    got64, exact64 = got.double(), exact.double()
    if _same(got64, 2 * exact64, 1e-4, 1e-6):
        return "This looks like: divided by h instead of 2h. The two points x ± h are 2h apart."
    if _same(got64, exact64 / 2, 1e-4, 1e-6):
        return "This looks like: divided by 4h. The two points x ± h are 2h apart: divide by 2h."
    if _same(got64, -exact64, 1e-4, 1e-6):
        return "This looks like: the sign flipped. Compute f(x + h) − f(x − h), in that order."
    everything_at_once = torch.full_like(exact64, float(exact64.sum()))
    if got.numel() > 1 and _same(got64, everything_at_once, 1e-4, 1e-6):
        return (
            "This looks like: every element moved at once, which estimates the sum of the partial "
            "derivatives. Move one element at a time (x + h·e_i)."
        )
    if _same(got64, exact64, 1e-2, 1e-3):
        return (
            "Close, but not accurate enough: a one-sided difference (f(x + h) − f(x)) / h, a step "
            "too large, or float32 arithmetic. Use the central difference (f(x + h) − f(x − h)) / (2h) "
            "in x's dtype, with a small step such as 1e-6."
        )
    return "Move one element at a time by ±h, and divide the change in f by 2h."


__all__ = [
    "DERIVATIONS",
    "Derivation",
    "WrongDerivation",
    "central_difference",
    "check_derivative",
    "check_finite_difference",
    "derivation_cases",
]
