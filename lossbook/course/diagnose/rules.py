"""The rule registry, what a rule sees of a loss call, and the helpers the rules share.

A rule is a small function registered with :func:`rule` under an id, a title and a severity;
:data:`RULES` holds them all, in the order they run. The losses each rule applies to are named
by the sets below (their names are the registry's, :mod:`lossbook.losses.registry`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from lossbook.course.diagnose.report import SEVERITIES, Finding
from lossbook.losses._validation import shape_of
from lossbook.losses.registry import names as loss_names


IMBALANCE_SHARE = 0.8
"""A batch is called imbalanced when one class holds at least this share of the labels."""

IMBALANCE_MIN_LABELS = 20
"""Fewer labels than this say too little about the class balance to warn."""

SQUASHED_LOGITS_MIN_COUNT = 8
"""Logits all inside [0, 1] are suspicious only with at least this many of them."""


def _losses(*chosen: str) -> frozenset[str]:
    """Functional names of the registry's losses; a name it does not hold fails at import.

    Example:
        >>> sorted(_losses("nll_loss", "cross_entropy"))
        ['cross_entropy', 'nll_loss']
    """
    unknown = sorted(set(chosen) - set(loss_names()))
    if unknown:
        raise ValueError(f"{unknown} are not losses of lossbook.losses.registry")
    return frozenset(chosen)


# The losses each family of rules applies to (what a loss expects, not what it is called).
CLASS_LOSSES = _losses("cross_entropy", "nll_loss")
"""Losses of class scores against class indices (or class probabilities)."""
BINARY_LOSSES = _losses(
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal_loss"
)
"""Losses of one score per label against 0/1 (or soft) labels in [0, 1]."""
REGRESSION_LOSSES = _losses("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss")
"""Losses of a prediction against a number of the same shape."""
ELEMENTWISE_LOSSES = (
    REGRESSION_LOSSES
    | BINARY_LOSSES
    | _losses("kl_div", "poisson_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss")
)
"""Losses computed element by element, output against target of the same shape."""
# Losses that reject a target whose shape differs from the input's (the others broadcast).
STRICT_SHAPE_LOSSES = BINARY_LOSSES | _losses("multilabel_soft_margin_loss")


# ---------------------------------------------------------------------------
# The rule registry


class Issue(NamedTuple):
    """What a rule returns when it fires; ``severity`` overrides the rule's default."""

    message: str
    fix: str
    severity: str | None = None


@dataclass(frozen=True)
class Rule:
    """A check with an id, a title, a default severity and the losses it applies to.

    ``losses=None`` means every loss, including unrecognised callables.
    ``after_call`` rules run once the loss itself has been tried and can look
    at its result (or torch's exception).
    """

    id: str
    title: str
    severity: str
    check: Callable[[LossCall], Issue | None]
    losses: frozenset[str] | None = None
    after_call: bool = False


RULES: dict[str, Rule] = {}
"""Every rule, by id, in the order they run."""


def rule(
    rule_id: str,
    title: str,
    severity: str,
    *,
    losses: frozenset[str] | None = None,
    after_call: bool = False,
) -> Callable[[Callable[[LossCall], Issue | None]], Callable[[LossCall], Issue | None]]:
    """Register ``check`` as the rule ``rule_id``."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")

    def register(check: Callable[[LossCall], Issue | None]) -> Callable[[LossCall], Issue | None]:
        RULES[rule_id] = Rule(rule_id, title, severity, check, losses, after_call)
        return check

    return register


@dataclass
class LossCall:
    """One loss call as the rules see it.

    ``output`` and ``target`` are what the caller passed (``output`` may carry
    the model's graph); ``out`` and ``tgt`` are detached views of them, for
    looking at values. ``name`` is the functional's name (``"cross_entropy"``)
    or ``None`` for a callable diagnose does not know.
    """

    name: str | None
    label: str
    loss_fn: Callable[..., Any]
    output: Any
    target: Any
    options: dict[str, Any]
    model: nn.Module | None = None
    criterion_was_class: bool = False
    findings: list[Finding] = field(default_factory=list)
    result: torch.Tensor | None = None
    exception: Exception | None = None

    @property
    def out(self) -> torch.Tensor:
        return self.output.detach()

    @property
    def tgt(self) -> torch.Tensor:
        return self.target.detach()

    @property
    def class_dim(self) -> int:
        """Classes lie along dim 1, or dim 0 for an unbatched ``(C,)`` input (torch's rule)."""
        return 1 if self.output.dim() >= 2 else 0

    @property
    def num_classes(self) -> int:
        return self.output.shape[self.class_dim]

    @property
    def index_shape(self) -> torch.Size:
        """The shape class indices must have: the output's, without the class dim."""
        dims = self.output.shape
        return dims[: self.class_dim] + dims[self.class_dim + 1 :]

    @property
    def index_target(self) -> bool:
        """Class indices of the right shape, in a dtype torch accepts (long or uint8)."""
        return (
            self.output.dim() >= 1
            and self.target.dtype in (torch.long, torch.uint8)
            and self.target.shape == self.index_shape
        )

    @property
    def probability_target(self) -> bool:
        return self.target.is_floating_point() and self.target.shape == self.output.shape

    @property
    def reduction(self) -> str | None:
        return self.options.get("reduction")

    def found(self, rule_id: str) -> bool:
        return any(f.id == rule_id for f in self.findings)

    def ran_cleanly(self) -> bool:
        return self.result is not None and self.exception is None


# ---------------------------------------------------------------------------
# Small helpers the rules share


def _dims(size: torch.Size | tuple[int, ...]) -> str:
    dims = tuple(size)
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _tolerance(tensor: torch.Tensor) -> float:
    """How far a sum of probabilities may drift from 1 through rounding alone."""
    return 1e-3 if tensor.dtype in (torch.float32, torch.float64) else 2e-2


def _as_float(tensor: torch.Tensor) -> torch.Tensor:
    """Half precision is too coarse to sum many probabilities; look at values in float32."""
    if tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor.float()
    return tensor


def _all_finite(tensor: torch.Tensor) -> bool:
    return bool(torch.isfinite(tensor).all())


def _in_unit_interval(tensor: torch.Tensor, tol: float = 0.0) -> bool:
    return tensor.numel() > 0 and float(tensor.min()) >= -tol and float(tensor.max()) <= 1 + tol


def _is_distribution(tensor: torch.Tensor, dim: int) -> bool:
    """Non-negative and summing to 1 along ``dim``: what softmax returns."""
    if not tensor.is_floating_point() or tensor.numel() == 0 or not _all_finite(tensor):
        return False
    tol = _tolerance(tensor)
    values = _as_float(tensor)
    if not _in_unit_interval(values, tol):
        return False
    return float((values.sum(dim=dim) - 1).abs().max()) <= tol


def _is_binary(tensor: torch.Tensor) -> bool:
    return tensor.numel() > 0 and bool(((tensor == 0) | (tensor == 1)).all())


def _is_integer_valued(tensor: torch.Tensor) -> bool:
    if tensor.dtype == torch.bool or tensor.is_complex():
        return False
    if not tensor.is_floating_point():
        return True
    return tensor.numel() > 0 and _all_finite(tensor) and bool((tensor == tensor.round()).all())


def _made_by(tensor: torch.Tensor, operation: str) -> bool:
    """Whether autograd recorded ``tensor`` as the output of ``operation`` (e.g. ``Softmax``)."""
    grad_fn = getattr(tensor, "grad_fn", None)
    return grad_fn is not None and type(grad_fn).__name__.startswith(operation + "Backward")


def _describe(tensor: torch.Tensor) -> str:
    return f"{shape_of(tensor)} {str(tensor.dtype).removeprefix('torch.')}"


def _quiet_loss(call: LossCall, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """The loss on other tensors (a corrected call), or ``None`` if that raises too."""
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            value = call.loss_fn(output, target)
    except Exception:
        return None
    return value if isinstance(value, torch.Tensor) else None


def _scalar_text(value: torch.Tensor | None) -> str | None:
    if value is None or value.numel() != 1:
        return None
    return f"{value.item():.4g}"
