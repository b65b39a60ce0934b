"""Seeded inputs for the checks, smallest first: every learner sees the same cases.

A :class:`Case` is one call's arguments. The builders return tuples of cases
sorted by size (total number of elements), so the first failing case is the
smallest, which is the one a learner can check by hand:

- :func:`regression_cases`: ``(pred, target)``, float, same shape.
- :func:`binary_cases`: ``(logits, target)`` with float 0/1 (or soft) targets;
  ``probs=True`` gives ``(probs, target)`` with exact 0s and 1s in the extreme case.
- :func:`multiclass_cases`: ``(logits, target)`` with ``logits`` of shape
  ``(N, C)`` and class indices of shape ``(N,)`` (or one-hot / probability
  targets); ``log_probs=True`` gives ``(log_probs, target)`` for ``nll_loss``.
- :func:`inputs_only`: the same cases without the target, for ``softmax``-like
  functions of one argument.

Extreme cases (logits of ±1e4, large residuals) are flagged ``extreme=True``;
:func:`~lossbook.checks.values.check_finite` uses them by default.

The data sets that :func:`~lossbook.checks.training.check_trains` trains on are the
course's own, in :mod:`lossbook.course.data`; :mod:`lossbook.checks` re-exports them
for the test cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

_FLOAT = torch.float32


class Case:
    """The arguments of one call, under a short name.

    Every access to :attr:`args` and :attr:`kwargs` returns fresh copies of the
    tensors, so a function that modifies its input in place cannot change the
    case for the next call (or for the reference).

    Args:
        name: what the case is, for messages (``"small: N=4"``).
        args: positional arguments (tensors, numbers, ...).
        kwargs: keyword arguments passed with them.
        arg_names: how messages call the arguments (``("pred", "target")``).
        extreme: inputs chosen to overflow a naive implementation.

    Example:
        >>> case = Case("tiny", (torch.tensor([1.0, 2.0]), torch.tensor([0.0, 2.0])))
        >>> case.size
        4
        >>> print(case.describe())
        tiny
          input = [1.0, 2.0]
          target = [0.0, 2.0]
    """

    __slots__ = ("name", "_args", "_kwargs", "arg_names", "extreme")

    def __init__(
        self,
        name: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any] | None = None,
        *,
        arg_names: Sequence[str] | None = None,
        extreme: bool = False,
    ) -> None:
        self.name = name
        self._args = tuple(_frozen(a) for a in args)
        self._kwargs = {k: _frozen(v) for k, v in (kwargs or {}).items()}
        default_names = ("input", "target")[: len(self._args)]
        if len(self._args) > 2:
            default_names = tuple(f"arg{i}" for i in range(len(self._args)))
        self.arg_names = tuple(arg_names) if arg_names is not None else default_names
        if len(self.arg_names) != len(self._args):
            raise ValueError(f"{len(self.arg_names)} arg_names for {len(self._args)} arguments.")
        self.extreme = extreme

    @property
    def args(self) -> tuple[Any, ...]:
        """Fresh copies of the positional arguments."""
        return tuple(_fresh(a) for a in self._args)

    @property
    def kwargs(self) -> dict[str, Any]:
        """Fresh copies of the keyword arguments."""
        return {k: _fresh(v) for k, v in self._kwargs.items()}

    @property
    def size(self) -> int:
        """Total number of tensor elements: the sort key (smallest case first)."""
        values = (*self._args, *self._kwargs.values())
        return sum(v.numel() for v in values if isinstance(v, torch.Tensor))

    def with_kwargs(self, **kwargs: Any) -> Case:
        """The same case with extra keyword arguments (e.g. ``label_smoothing=0.1``)."""
        return Case(
            self.name,
            self._args,
            {**self._kwargs, **kwargs},
            arg_names=self.arg_names,
            extreme=self.extreme,
        )

    def describe(self, max_items: int = 12) -> str:
        """The case in small form: its name, then each argument's values (or shape and range)."""
        lines = [self.name]
        named = list(zip(self.arg_names, self._args, strict=True))
        named += [(k, v) for k, v in self._kwargs.items()]
        for arg_name, value in named:
            lines.append(f"  {arg_name} = {format_value(value, max_items)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Case({self.name!r})"


def _frozen(value: Any) -> Any:
    """A private copy the caller cannot reach (detached, so it carries no graph)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return value


def _fresh(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    return value


def format_number(x: float) -> str:
    """Six significant digits, ``2.0`` rather than ``2``, so floats read as floats."""
    text = f"{x:.6g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def format_value(value: Any, max_items: int = 12) -> str:
    """Values of a small tensor as a nested list; shape, dtype and range of a large one."""
    if not isinstance(value, torch.Tensor):
        return repr(value)
    tensor = value.detach()
    if tensor.numel() <= max_items:
        return _nested(tensor.tolist(), tensor.is_floating_point())
    dims = ", ".join(str(d) for d in tensor.shape)
    summary = f"tensor of shape ({dims}), {str(tensor.dtype).removeprefix('torch.')}"
    if tensor.is_floating_point() or tensor.dtype in (torch.int64, torch.int32):
        flat = tensor.flatten().tolist()
        first = _nested(flat[:4], tensor.is_floating_point())[:-1]
        summary += f", starting {first}, ...]"
        floats = [float(v) for v in flat]
        summary += f", values from {format_number(min(floats))} to {format_number(max(floats))}"
    return summary


def _nested(values: Any, floating: bool) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v, floating) for v in values) + "]"
    if floating:
        return format_number(values)
    return str(values)


def _sorted(cases: list[Case]) -> tuple[Case, ...]:
    # sorted() is stable: cases of equal size keep the order they are listed in.
    return tuple(sorted(cases, key=lambda case: case.size))


def regression_cases(seed: int = 0, *, dtype: torch.dtype = _FLOAT) -> tuple[Case, ...]:
    """``(pred, target)`` pairs for regression losses, smallest first.

    Includes the course's worked example (pred ``[2.5, 0.5, 2.0, 8.0]``, target
    ``[3.0, -0.5, 2.0, 7.0]``), a 2-D batch, residuals beyond a Huber ``delta``
    of 1, mostly-negative residuals (so a signed mean differs from MAE), and
    values around 1e3 (``extreme``).

    Example:
        >>> [case.size for case in regression_cases()]
        [2, 8, 12, 16, 20, 24, 64]
    """
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=dtype)

    def tensor(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype)

    names = ("pred", "target")
    target_8 = randn(8)
    target_10 = randn(10)
    residuals_10 = tensor([-4.0, 0.3, -2.5, 0.8, -0.1, 6.0, -1.5, -0.6, 3.0, -9.0])
    target_2d = randn(4, 3)
    target_32 = randn(32)
    target_large = tensor([1200.0, -800.0, 3000.0, -50.0, 0.0, 2500.0])
    cases = [
        Case("one element: N=1", (tensor([1.5]), tensor([0.5])), arg_names=names),
        Case(
            "small: N=4",
            (tensor([2.5, 0.5, 2.0, 8.0]), tensor([3.0, -0.5, 2.0, 7.0])),
            arg_names=names,
        ),
        Case("random: N=8", (target_8 + 2.0 * randn(8) - 0.5, target_8), arg_names=names),
        Case(
            "outliers: N=10, residuals up to 9",
            (target_10 + residuals_10, target_10),
            arg_names=names,
        ),
        Case("batch of shape (4, 3)", (target_2d + randn(4, 3), target_2d), arg_names=names),
        Case("random: N=32", (target_32 + 1.5 * randn(32) + 0.3, target_32), arg_names=names),
        Case(
            "large values: N=6, residuals up to 1e3",
            (target_large + tensor([900.0, -1000.0, 10.0, 400.0, -250.0, 0.5]), target_large),
            arg_names=names,
            extreme=True,
        ),
    ]
    return _sorted(cases)


def binary_cases(
    seed: int = 0, *, probs: bool = False, dtype: torch.dtype = _FLOAT
) -> tuple[Case, ...]:
    """``(logits, target)`` pairs for binary losses, float targets, smallest first.

    Includes soft targets, a multi-label batch of shape ``(4, 3)`` and two
    extreme cases with logits up to ±1e4 (``extreme``). With ``probs=True``
    the first argument is ``probs = sigmoid(logits)``, and the extreme cases hold
    probabilities of exactly 0 and 1 (where ``log`` needs care).

    Example:
        >>> [case.size for case in binary_cases()]
        [2, 8, 8, 12, 12, 16, 24, 64]
    """
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=dtype)

    def coin(*shape: int) -> torch.Tensor:
        return torch.randint(0, 2, shape, generator=generator).to(dtype)

    def tensor(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype)

    specs = [
        ("one sample: N=1", tensor([0.5]), tensor([1.0]), False),
        ("small: N=4", tensor([2.0, -1.0, 0.0, 3.0]), tensor([1.0, 0.0, 1.0, 0.0]), False),
        (
            "extreme logits ±1e4: N=4",
            tensor([1e4, -1e4, 1e4, -1e4]),
            tensor([1.0, 0.0, 0.0, 1.0]),
            True,
        ),
        (
            "soft targets: N=6",
            2.0 * randn(6),
            torch.rand(6, generator=generator, dtype=dtype),
            False,
        ),
        (
            "large logits from ±30 to ±1e4: N=6",
            tensor([30.0, -30.0, 100.0, -100.0, 1e4, -1e4]),
            tensor([0.0, 1.0, 1.0, 0.0, 0.0, 1.0]),
            True,
        ),
        ("random: N=8", 2.0 * randn(8), coin(8), False),
        ("multi-label batch of shape (4, 3)", 1.5 * randn(4, 3), coin(4, 3), False),
        ("random: N=32", 3.0 * randn(32), coin(32), False),
    ]
    first = "probs" if probs else "logits"
    cases = []
    for name, logits, target, extreme in specs:
        if probs:
            # sigmoid(±30) and beyond rounds to exactly 0 or 1: what log(0) trips on.
            inputs = torch.sigmoid(logits)
            if extreme:
                name = name.replace("extreme logits ±1e4", "probabilities exactly 0 and 1")
                name = name.replace(
                    "large logits from ±30 to ±1e4", "probabilities at and near 0 and 1"
                )
        else:
            inputs = logits
        cases.append(Case(name, (inputs, target), arg_names=(first, "target"), extreme=extreme))
    return _sorted(cases)


def multiclass_cases(
    seed: int = 0,
    *,
    log_probs: bool = False,
    target: str = "indices",
    dtype: torch.dtype = _FLOAT,
) -> tuple[Case, ...]:
    """``(logits, target)`` pairs for multi-class losses, smallest first.

    ``logits`` has shape ``(N, C)``. ``target`` is ``"indices"`` (class indices,
    ``torch.long``, shape ``(N,)``), ``"one_hot"`` (float ``(N, C)``) or
    ``"probs"`` (soft class probabilities, float ``(N, C)``). Most cases have
    ``N != C`` so that confusing the two target forms raises a shape error;
    one has ``N == C``. The extreme cases have logits of ±100 and ±1e4.
    ``log_probs=True`` replaces the logits by ``log_softmax(logits)`` (for
    ``nll_loss``).

    Example:
        >>> [case.size for case in multiclass_cases()]
        [4, 8, 12, 15, 16, 16, 48, 176]
    """
    if target not in ("indices", "one_hot", "probs"):
        raise ValueError(f"target={target!r}: use 'indices', 'one_hot' or 'probs'.")
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=dtype)

    def labels(n: int, c: int) -> torch.Tensor:
        return torch.randint(0, c, (n,), generator=generator)

    def tensor(values: list[list[float]]) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype)

    specs = [
        ("one sample: N=1, C=3", tensor([[1.0, 2.0, 0.5]]), torch.tensor([1]), False),
        (
            "small: N=2, C=3",
            tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]),
            torch.tensor([0, 2]),
            False,
        ),
        ("square: N=3, C=3", 2.0 * randn(3, 3), torch.tensor([2, 0, 1]), False),
        (
            "extreme logits ±1e4: N=3, C=4",
            tensor([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4], [1e4, 0.0, -1e4, 5e3]]),
            torch.tensor([0, 2, 1]),
            True,
        ),
        (
            "large logits ±100: N=4, C=3",
            tensor(
                [
                    [100.0, -100.0, 0.0],
                    [-100.0, 100.0, 50.0],
                    [0.0, 0.0, 100.0],
                    [-100.0, -100.0, -99.0],
                ]
            ),
            torch.tensor([1, 1, 2, 0]),
            True,
        ),
        ("random: N=4, C=3", 2.0 * randn(4, 3), labels(4, 3), False),
        ("random: N=8, C=5", 2.0 * randn(8, 5), labels(8, 5), False),
        ("random: N=16, C=10", 3.0 * randn(16, 10), labels(16, 10), False),
    ]
    cases = []
    for name, logits, indices, extreme in specs:
        num_classes = logits.shape[1]
        if target == "indices":
            target_value = indices
        elif target == "one_hot":
            target_value = torch.nn.functional.one_hot(indices, num_classes).to(dtype)
        else:
            target_value = torch.softmax(randn(*logits.shape), dim=1)
        first = logits
        if log_probs:
            first = torch.log_softmax(logits, dim=1)
        cases.append(
            Case(
                name,
                (first, target_value),
                arg_names=("log_probs" if log_probs else "logits", "target"),
                extreme=extreme,
            )
        )
    return _sorted(cases)


def inputs_only(cases: Sequence[Case]) -> tuple[Case, ...]:
    """The same cases with only their first argument: inputs for ``softmax``, ``sigmoid``, ...

    Example:
        >>> [len(case.args) for case in inputs_only(multiclass_cases())][:2]
        [1, 1]
    """
    trimmed = [
        Case(case.name, case.args[:1], arg_names=case.arg_names[:1], extreme=case.extreme)
        for case in cases
    ]
    return _sorted(trimmed)


REGRESSION_CASES = regression_cases()
"""``regression_cases(0)``: inputs for mse/l1/huber/smooth-L1."""
BINARY_CASES = binary_cases()
"""``binary_cases(0)``: inputs for binary_cross_entropy_with_logits."""
PROBABILITY_CASES = binary_cases(probs=True)
"""``binary_cases(0, probs=True)``: inputs for binary_cross_entropy."""
MULTICLASS_CASES = multiclass_cases()
"""``multiclass_cases(0)``: inputs for cross_entropy with class indices."""
LOG_PROB_CASES = multiclass_cases(log_probs=True)
"""``multiclass_cases(0, log_probs=True)``: inputs for nll_loss."""
LOGIT_CASES = inputs_only(MULTICLASS_CASES)
"""Logits alone: inputs for softmax, log_softmax, logsumexp."""
BINARY_LOGIT_CASES = inputs_only(BINARY_CASES)
"""Binary logits alone: inputs for sigmoid, log_sigmoid."""
