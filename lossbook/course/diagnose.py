"""The pitfalls clinic: find the usual mistakes in a loss call and say how to fix each one.

``diagnose(loss_fn, output, target)`` looks at a loss call the way a teaching
assistant would. It knows what each loss expects (logits or probabilities,
class indices or class probabilities, which shapes and dtypes), compares that
with what it was given, and reports every likely mistake in plain words, with
the fix. It never raises on bad tensors: it runs the loss inside ``try`` and,
when torch raises, explains torch's message.

Each check is a small function in :data:`RULES`, registered with an id, a title
and a severity:

- ``"error"``: the call raises, or its value is not the loss you meant;
- ``"warning"``: very likely a mistake, but legitimate uses exist;
- ``"note"``: the call is correct, with a consequence worth knowing.

Example:
    >>> import torch
    >>> from torch import nn
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 1.5, 0.3]])
    >>> target = torch.tensor([0, 1])
    >>> diagnose(nn.CrossEntropyLoss(), logits, target).ok
    True
    >>> report = diagnose(nn.CrossEntropyLoss(), logits.softmax(dim=1), target)
    >>> report.ids
    ('double-softmax',)
    >>> round(report.loss_value.item(), 4)  # the loss can no longer approach 0
    0.7566

Reference: the catalogue of mistakes in the course notes (``COURSE.md``), and
the input contracts in the documentation of each ``torch.nn`` loss.
"""

from __future__ import annotations

import functools
import html
import inspect
import math
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from lossbook.losses._validation import LossInputError, shape_of

SEVERITIES = ("error", "warning", "note")

IMBALANCE_SHARE = 0.8
"""A batch is called imbalanced when one class holds at least this share of the labels."""

IMBALANCE_MIN_LABELS = 20
"""Fewer labels than this say too little about the class balance to warn."""

SQUASHED_LOGITS_MIN_COUNT = 8
"""Logits all inside [0, 1] are suspicious only with at least this many of them."""

CLASS_LOSSES = frozenset({"cross_entropy", "nll_loss"})
BINARY_LOSSES = frozenset(
    {"binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal_loss"}
)
REGRESSION_LOSSES = frozenset({"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"})
ELEMENTWISE_LOSSES = (
    REGRESSION_LOSSES
    | BINARY_LOSSES
    | frozenset({"kl_div", "poisson_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss"})
)
# Losses that reject a target whose shape differs from the input's (the others broadcast).
STRICT_SHAPE_LOSSES = BINARY_LOSSES | frozenset({"multilabel_soft_margin_loss"})

_MODULE_NAMES = {
    "L1Loss": "l1_loss",
    "MSELoss": "mse_loss",
    "CrossEntropyLoss": "cross_entropy",
    "NLLLoss": "nll_loss",
    "PoissonNLLLoss": "poisson_nll_loss",
    "GaussianNLLLoss": "gaussian_nll_loss",
    "KLDivLoss": "kl_div",
    "BCELoss": "binary_cross_entropy",
    "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
    "HuberLoss": "huber_loss",
    "SmoothL1Loss": "smooth_l1_loss",
    "SoftMarginLoss": "soft_margin_loss",
    "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss",
    "MultiLabelMarginLoss": "multilabel_margin_loss",
    "MultiMarginLoss": "multi_margin_loss",
    "HingeEmbeddingLoss": "hinge_embedding_loss",
    "MarginRankingLoss": "margin_ranking_loss",
    "CosineEmbeddingLoss": "cosine_embedding_loss",
    "TripletMarginLoss": "triplet_margin_loss",
    "TripletMarginWithDistanceLoss": "triplet_margin_with_distance_loss",
    "CTCLoss": "ctc_loss",
}
_FUNCTIONAL_NAMES = frozenset(_MODULE_NAMES.values()) | {"sigmoid_focal_loss"}
# diagnose() calls loss_fn(output, target); these losses need a third tensor.
_THREE_TENSOR_LOSSES = frozenset(
    {
        "gaussian_nll_loss",
        "margin_ranking_loss",
        "cosine_embedding_loss",
        "triplet_margin_loss",
        "triplet_margin_with_distance_loss",
        "ctc_loss",
    }
)
_SHORT_NAMES = {
    "ce": "cross_entropy",
    "crossentropy": "cross_entropy",
    "nll": "nll_loss",
    "bce": "binary_cross_entropy",
    "binarycrossentropy": "binary_cross_entropy",
    "bcewithlogits": "binary_cross_entropy_with_logits",
    "binarycrossentropywithlogits": "binary_cross_entropy_with_logits",
    "mse": "mse_loss",
    "l1": "l1_loss",
    "mae": "l1_loss",
    "smoothl1": "smooth_l1_loss",
    "huber": "huber_loss",
    "kl": "kl_div",
    "kldiv": "kl_div",
    "poissonnll": "poisson_nll_loss",
    "softmargin": "soft_margin_loss",
    "multilabelsoftmargin": "multilabel_soft_margin_loss",
    "multimargin": "multi_margin_loss",
    "multilabelmargin": "multilabel_margin_loss",
    "hingeembedding": "hinge_embedding_loss",
}
_OPTION_NAMES = (
    "weight",
    "pos_weight",
    "ignore_index",
    "reduction",
    "label_smoothing",
    "log_target",
)


# ---------------------------------------------------------------------------
# What a diagnosis returns


@dataclass(frozen=True)
class Finding:
    """One likely mistake: which rule found it, how bad it is, what it means and the fix."""

    id: str
    severity: str
    title: str
    message: str
    fix: str


@dataclass
class Diagnosis:
    """Everything :func:`diagnose` found in one loss call.

    ``loss_name`` says which loss was checked (``"nn.CrossEntropyLoss"``,
    ``"F.cross_entropy"``), ``call_summary`` the shapes and dtypes it got.
    ``findings`` lists the mistakes, errors first. ``ok`` is true when none of
    them is an error or a warning (notes only describe correct calls).
    ``loss_value`` is what the loss returned (detached), or ``None`` when it
    raised, in which case ``torch_error`` holds torch's message.
    ``skipped_rules`` names the rules that could not look at this input and why
    (a tensor on the ``meta`` device has no values to look at).
    """

    loss_name: str
    findings: list[Finding]
    loss_value: torch.Tensor | None = None
    torch_error: str | None = None
    skipped_rules: list[str] = field(default_factory=list)
    call_summary: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.severity in ("error", "warning") for f in self.findings)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.findings)

    def _headline(self) -> str:
        problems = [f for f in self.findings if f.severity != "note"]
        notes = len(self.findings) - len(problems)
        if not problems:
            headline = "No problems found"
        else:
            headline = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found"
        if notes:
            headline += f" ({notes} note{'s' if notes != 1 else ''})"
        return f"{self.loss_name}: {headline}."

    def _loss_line(self) -> str:
        if self.torch_error is not None:
            return f"the call raised: {_first_line(self.torch_error)}"
        if self.loss_value is None:
            return "the loss was not run"
        if self.loss_value.numel() == 1:
            return f"loss = {self.loss_value.item():.6g}"
        return f"loss: a tensor of shape {shape_of(self.loss_value)}"

    def __str__(self) -> str:
        lines = [self._headline(), f"  {self.call_summary}; {self._loss_line()}"]
        for finding in self.findings:
            lines.append("")
            lines.append(f"[{finding.severity}] {finding.title} ({finding.id})")
            lines.append(f"  {finding.message}")
            lines.append(f"  Fix: {finding.fix}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = [f"**{self._headline()}**", "", f"{self.call_summary}; {self._loss_line()}"]
        for finding in self.findings:
            lines += [
                "",
                f"- **{finding.severity}: {finding.title}** (`{finding.id}`)  ",
                f"  {finding.message}  ",
                f"  *Fix:* {finding.fix}",
            ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        escape = html.escape
        items = "".join(
            f"<li><b>{escape(f.severity)}: {escape(f.title)}</b> (<code>{escape(f.id)}</code>)"
            f"<br>{escape(f.message)}<br><i>Fix:</i> {escape(f.fix)}</li>"
            for f in self.findings
        )
        body = f"<ul>{items}</ul>" if items else ""
        return (
            f"<div><p><b>{escape(self._headline())}</b><br>"
            f"{escape(self.call_summary)}; {escape(self._loss_line())}</p>{body}</div>"
        )


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


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


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


# ---------------------------------------------------------------------------
# Rules that look at the call itself


@rule("not-a-tensor", "Output or target is not a tensor", "error")
def _not_a_tensor(call: LossCall) -> Issue | None:
    for role in ("output", "target"):
        value = getattr(call, role)
        if isinstance(value, torch.Tensor):
            continue
        kind = type(value).__name__
        if type(value).__module__.startswith("numpy"):
            fix = (
                f"convert it with torch.from_numpy({role}) (and .float() or .long() as the "
                f"loss needs)."
            )
        else:
            fix = f"convert it with torch.tensor({role}) or torch.as_tensor({role})."
        return Issue(f"{role} is a {kind}, not a torch.Tensor; losses only take tensors.", fix)
    return None


@rule("criterion-not-instantiated", "Loss class passed instead of a loss object", "error")
def _criterion_not_instantiated(call: LossCall) -> Issue | None:
    if not call.criterion_was_class:
        return None
    return Issue(
        f"{call.label} is a class, not a loss: `loss_fn = {call.label}` without parentheses makes "
        f"`loss_fn(output, target)` build a new loss object (with output and target taken as its "
        f"options) instead of computing a loss. diagnose() created one with default options to "
        f"check the rest.",
        f"instantiate it first: loss_fn = {call.label}() (options go in the parentheses), then "
        f"loss = loss_fn(output, target).",
    )


@rule("device-mismatch", "Tensors on different devices", "error")
def _device_mismatch(call: LossCall) -> Issue | None:
    placed = {"output": call.output.device, "target": call.target.device}
    for option in ("weight", "pos_weight"):
        value = call.options.get(option)
        if isinstance(value, torch.Tensor):
            placed[option] = value.device
    if len(set(placed.values())) <= 1:
        return None
    where = ", ".join(f"{role} on {device}" for role, device in placed.items())
    return Issue(
        f"The loss gets {where}. torch computes on one device at a time and raises 'Expected all "
        f"tensors to be on the same device'.",
        f"move everything to the output's device: target = target.to(output.device); for a loss "
        f"object with weights, loss_fn.to(output.device) (or create the weight tensor with "
        f"device={str(call.output.device)!r}).",
    )


@rule("output-not-float", "Output has an integer dtype", "error")
def _output_not_float(call: LossCall) -> Issue | None:
    if call.output.is_floating_point() or call.output.is_complex():
        return None
    if call.name in CLASS_LOSSES:
        cause = "class predictions such as logits.argmax(dim=1)"
        fix = "pass the raw logits (the model's float output, before argmax) to the loss."
    else:
        cause = "predictions that were rounded, thresholded or cast with .long()"
        fix = "pass the model's float output itself; round only when you report a metric."
    return Issue(
        f"output has dtype {call.output.dtype}. Losses compute in floating point and need the "
        f"model's raw float output; an integer tensor ({cause}) has no gradient, so nothing could "
        f"learn from it even where torch accepts it.",
        fix,
    )


@rule("output-detached", "Output is cut off from the model's graph", "error")
def _output_detached(call: LossCall) -> Issue | None:
    if call.model is None or call.output.requires_grad:
        return None
    if not any(p.requires_grad for p in call.model.parameters()):
        return None
    return Issue(
        "output does not require grad although the model has trainable parameters, so the loss "
        "does not depend on them: loss.backward() raises 'element 0 of tensors does not require "
        "grad and does not have a grad_fn' and the model never changes.",
        "compute output = model(x) outside torch.no_grad() / torch.inference_mode(), and do not "
        "call .detach(), .item(), .numpy() or torch.tensor(...) on it before the loss.",
    )


@rule("non-finite-input", "NaN or infinity in the output or target", "error")
def _non_finite_input(call: LossCall) -> Issue | None:
    # -inf is a legitimate log-probability (a masked class), so log-prob inputs may hold it.
    allows_minus_inf = call.name in CLASS_LOSSES or call.name == "kl_div"
    problems = []
    tensors = [("output", call.out), ("target", call.tgt)]
    tensors += [
        (o, call.options[o])
        for o in ("weight", "pos_weight")
        if isinstance(call.options.get(o), torch.Tensor)
    ]
    for role, tensor in tensors:
        if not (tensor.is_floating_point() or tensor.is_complex()) or tensor.device.type == "meta":
            continue  # a meta tensor has a shape but no values
        nans = int(tensor.isnan().sum())
        plus_inf = int((tensor == math.inf).sum())
        minus_inf = int((tensor == -math.inf).sum())
        if role == "output" and allows_minus_inf:
            minus_inf = 0
        if nans + plus_inf + minus_inf:
            parts = [
                f"{count} {what}"
                for count, what in ((nans, "NaN"), (plus_inf, "+inf"), (minus_inf, "-inf"))
                if count
            ]
            problems.append(f"{role} holds {' and '.join(parts)} (of {tensor.numel()} values)")
    if not problems:
        return None
    fixes = []
    if any(p.startswith("target") for p in problems):
        fixes.append(
            "If NaN marks a missing label, leave those elements out: mask = "
            "~target.isnan(); loss_fn(output[mask], target[mask]); otherwise fix the "
            "data loading."
        )
    if any(not p.startswith("target") for p in problems):
        fixes.append(
            "Find where the first NaN appears: run the forward pass under "
            "torch.autograd.set_detect_anomaly(True), lower the learning rate, and "
            "replace hand-written log(probs) or x / y with their stable forms "
            "(logits-based losses, log_softmax, a clamp on the denominator)."
        )
    fix = " ".join(fixes)
    return Issue(
        "; ".join(problems) + ". A single NaN makes the loss and every gradient NaN, and the "
        "optimizer then writes NaN into the weights.",
        fix,
    )


# ---------------------------------------------------------------------------
# Shapes and dtypes


@rule(
    "input-shape", "Output does not have the layout the loss expects", "error", losses=CLASS_LOSSES
)
def _input_shape(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    loss = call.label
    if out.dim() == 0:
        return Issue(
            f"{loss} got a single number as output. It needs one score per class: shape (C,) "
            f"for one sample, (N, C) for a batch.",
            "pass the model's output before any .sum(), .mean() or indexing reduces it.",
        )
    if out.dim() == 1 and tgt.dim() >= 1 and tgt.shape != out.shape:
        return Issue(
            f"output has shape {shape_of(out)}, which {call.label} reads as ONE sample with "
            f"{out.shape[0]} classes, so the target must be one class index (shape ()) or "
            f"{out.shape[0]} class probabilities; target has shape {shape_of(tgt)}. torch raises "
            f"('For 1D input, 1D target must have size 1' or similar).",
            "for a batch, give the output shape (N, C) and the target shape (N,); for one "
            "sample, pass a 0-d target such as torch.tensor(2).",
        )
    if out.dim() == 1 and tgt.dim() == 1 and tgt.shape == out.shape and out.numel() > 1:
        if tgt.is_floating_point() and _is_distribution(tgt, 0):
            return None  # an unbatched (C,) input with class probabilities: legitimate
        count = out.shape[0]
        return Issue(
            f"output has shape {shape_of(out)}: one number per sample. {loss} reads a 1-D "
            f"output as ONE sample with {count} classes ('Expected 2D input' style errors), so "
            f"it either raises or, with a float target, silently computes a single loss for the "
            f"whole batch. It needs one score per class for each sample: shape ({count}, C).",
            "for two classes, either give the model 2 outputs (shape (N, 2)) and keep "
            f"{loss} with class indices, or keep 1 output and use nn.BCEWithLogitsLoss "
            "(F.binary_cross_entropy_with_logits) with float 0/1 targets of shape (N,).",
        )
    if out.dim() >= 3:
        classes_last = out.shape[:-1]
        index_like = not tgt.is_floating_point()
        if index_like and tgt.shape == classes_last and tgt.shape != call.index_shape:
            return _classes_last(call, "class-index target", f"target has shape {shape_of(tgt)}")
        if call.probability_target and not _is_distribution(tgt, 1) and _is_distribution(tgt, -1):
            return _classes_last(
                call, "class-probability target", "target sums to 1 along the last dim, not dim 1"
            )
    return None


def _classes_last(call: LossCall, form: str, evidence: str) -> Issue:
    out = call.out
    return Issue(
        f"output has shape {shape_of(out)} and {evidence}, so the classes are in the LAST "
        f"dimension ({out.shape[-1]} of them). {call.label} takes the class dimension at dim 1: "
        f"it reads this output as {out.shape[1]} classes over positions "
        f"{_dims(out.shape[2:])}, and raises or computes the wrong loss with a {form}.",
        "move the classes to dim 1 with output.movedim(-1, 1) (for (N, L, C): output.permute(0, "
        "2, 1)), or flatten both: loss_fn(output.reshape(-1, C), target.reshape(-1"
        + (", C)" if form == "class-probability target" else ")")
        + ").",
    )


@rule(
    "single-class-output",
    "Cross-entropy over a single class is always 0",
    "error",
    losses=frozenset({"cross_entropy"}),
)
def _single_class_output(call: LossCall) -> Issue | None:
    if call.output.dim() == 0 or call.num_classes != 1:
        return None
    return Issue(
        f"output has shape {shape_of(call.out)}: one class. Softmax over one class is always 1, "
        f"so the cross-entropy is exactly 0 for every input and its gradient is 0: the model "
        f"learns nothing.",
        "for a yes/no task keep the single output and use nn.BCEWithLogitsLoss "
        "(F.binary_cross_entropy_with_logits) with float 0/1 targets (output.squeeze(1)); or "
        "give the last layer 2 outputs and keep cross-entropy with class indices.",
    )


@rule("column-vs-vector", "Extra dimension of size 1, as in (N, 1) against (N,)", "error")
def _column_vs_vector(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if call.name in CLASS_LOSSES:
        return _class_target_column(call)
    if call.name not in ELEMENTWISE_LOSSES:
        return None
    extra = _extra_unit_dim(out, tgt)
    if extra == "output":
        fix = "drop the output's extra dimension: loss_fn(output.squeeze(-1), target)."
        fixed_output, fixed_target = out.squeeze(-1), tgt
    elif extra == "target":
        fix = "drop the target's extra dimension: loss_fn(output, target.squeeze(-1))."
        fixed_output, fixed_target = out, tgt.squeeze(-1)
    else:
        return None
    strict = call.name in STRICT_SHAPE_LOSSES
    if not strict and fixed_target.numel() <= 1:
        return None  # (1, 1) against (1,) broadcasts to the same single comparison
    head = (
        f"output has shape {shape_of(out)} and target {shape_of(tgt)}: the {extra} has an "
        f"extra dimension of size 1"
    )
    if strict:
        return Issue(
            f"{head}. {call.label} needs identical shapes and raises 'Target size ... must be the "
            f"same as input size'.",
            fix,
        )
    try:
        broadcast = _dims(torch.broadcast_shapes(out.shape, tgt.shape))
    except RuntimeError:
        return Issue(f"{head}. The two shapes cannot broadcast, so {call.label} raises.", fix)
    wrong = _scalar_text(_quiet_loss(call, out, tgt))
    right = _scalar_text(_quiet_loss(call, fixed_output, fixed_target))
    values = ""
    if wrong and right and wrong != right:
        values = f" Here that gives {wrong} instead of {right}."
    return Issue(
        f"{head}. They broadcast to {broadcast}, so every prediction is compared with every "
        f"target, not output[i] with target[i]; torch only warns.{values}",
        fix,
    )


def _extra_unit_dim(out: torch.Tensor, tgt: torch.Tensor) -> str | None:
    """Which of the two, if any, is the other with a trailing dimension of size 1 added."""
    if tgt.dim() >= 1 and out.dim() == tgt.dim() + 1 and out.shape == (*tgt.shape, 1):
        return "output"
    if out.dim() >= 1 and tgt.dim() == out.dim() + 1 and tgt.shape == (*out.shape, 1):
        return "target"
    return None


def _class_target_column(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if call.output.dim() < 2 or tgt.is_floating_point() or tgt.dim() != call.output.dim():
        return None
    if tgt.shape[1] != 1 or call.num_classes == 1:
        return None
    if tgt.shape[:1] + tgt.shape[2:] != call.index_shape:
        return None
    return Issue(
        f"target has shape {shape_of(tgt)}: class indices with an extra dimension of size 1 "
        f"(common when labels or masks are loaded as a column or a channel). {call.label} "
        f"needs class indices of shape {_dims(call.index_shape)} and raises '0D or 1D target "
        f"tensor expected, multi-target not supported' (or 'only batches of spatial targets "
        f"supported').",
        "drop the extra dimension: target.squeeze(1) (or target.view(-1) for a column of labels).",
    )


@rule("shape-mismatch", "Output and target shapes do not line up", "error")
def _shape_mismatch(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if call.name in CLASS_LOSSES:
        return _class_batch_mismatch(call)
    if call.name not in ELEMENTWISE_LOSSES or out.shape == tgt.shape:
        return None
    if _extra_unit_dim(out, tgt) is not None:
        return None  # column-vs-vector's case (harmless for a single sample)
    head = f"output has shape {shape_of(out)} but target has shape {shape_of(tgt)}"
    fix = "reshape one of them so that output[i] lines up with target[i] (same shape)."
    try:
        broadcast = torch.broadcast_shapes(out.shape, tgt.shape)
    except RuntimeError:
        return Issue(f"{head}; they cannot even broadcast, so {call.label} raises.", fix)
    if call.name in STRICT_SHAPE_LOSSES:
        return Issue(f"{head}; {call.label} needs identical shapes and raises.", fix)
    return Issue(
        f"{head}; they broadcast to {_dims(broadcast)}, so values are compared with the wrong "
        f"partners and the loss is not what you meant (torch only warns).",
        fix,
    )


def _class_batch_mismatch(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if out.dim() < 2 or tgt.is_floating_point() or tgt.dim() != out.dim() - 1:
        return None
    if tgt.shape == call.index_shape or tgt.shape == out.shape[:-1]:
        return None  # correct, or the classes-last layout that input-shape explains
    if tgt.shape[0] != out.shape[0]:
        return Issue(
            f"output has {out.shape[0]} samples (shape {shape_of(out)}) but target has "
            f"{tgt.shape[0]} labels (shape {shape_of(tgt)}). torch raises 'Expected input "
            f"batch_size ({out.shape[0]}) to match target batch_size ({tgt.shape[0]})'.",
            "make sure output and target come from the same batch: slice both or neither, and "
            "check the last, shorter batch of the DataLoader.",
        )
    return Issue(
        f"output has shape {shape_of(out)} ({call.num_classes} classes along dim 1), so class "
        f"indices must have shape {_dims(call.index_shape)}, but target has shape "
        f"{shape_of(tgt)}.",
        "resize the target (or the output) so that each position has one class index; for "
        "segmentation, make the output's spatial size match the mask's.",
    )


@rule(
    "target-dtype",
    "Target has the wrong dtype",
    "error",
    losses=CLASS_LOSSES | BINARY_LOSSES | REGRESSION_LOSSES | frozenset({"kl_div"}),
)
def _target_dtype(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if call.name in CLASS_LOSSES:
        if call.output.dim() == 0 or tgt.shape != call.index_shape:
            return None
        if tgt.dtype in (torch.long, torch.uint8):
            return None
        said = (
            "torch raises 'expected target dtype to be Long or Byte' (older versions: "
            "'expected scalar type Long')"
        )
        if tgt.is_floating_point() and not _is_integer_valued(tgt):
            return Issue(
                f"target has dtype {tgt.dtype} and shape {shape_of(tgt)}, the shape of class "
                f"indices, but its values are not whole numbers. {call.label} takes either class "
                f"indices (integers, shape {_dims(call.index_shape)}) or class probabilities "
                f"(floats, shape {shape_of(call.out)}); {said}.",
                "for class labels use target.long(); for soft labels, give one probability per "
                "class: a float target with the output's shape.",
            )
        return Issue(
            f"target holds class indices with dtype {tgt.dtype}, but {call.label} needs them as "
            f"torch.long (int64); {said}.",
            "convert the labels with target.long() (best where the dataset builds them: "
            "torch.tensor(labels, dtype=torch.long)).",
        )
    if tgt.is_floating_point():
        return None
    if call.name in REGRESSION_LOSSES:
        if tgt.dtype != torch.bool:
            return None  # integer targets are promoted; regression-on-class-indices looks at them
        return Issue(
            f"target is a bool tensor (a mask?). {call.label} subtracts the target from the "
            f"output; torch rejects '-' on bool tensors for some losses and silently casts for "
            f"others.",
            "convert it with target.float(); if the bools are binary labels, use "
            "nn.BCEWithLogitsLoss on the logits instead.",
        )
    if call.name == "kl_div":
        return Issue(
            f"target has dtype {tgt.dtype}, but {call.label} compares two distributions: the "
            f"target must be float probabilities (or log-probabilities with log_target=True); "
            f"torch raises 'Integral inputs not supported'.",
            "for class labels, build the target distribution first (e.g. "
            "F.one_hot(labels, C).float()), or use nn.CrossEntropyLoss with the labels.",
        )
    return Issue(
        f"target has dtype {tgt.dtype}, but {call.label} takes float targets (0.0 / 1.0, or soft "
        f"labels in [0, 1]) and raises 'Found dtype Long but expected Float' (or 'result type "
        f"Float can't be cast to the desired output type Long').",
        "convert the labels with target.float() (target.to(output.dtype) for other precisions).",
    )


@rule(
    "one-hot-target", "One-hot target where class indices are expected", "note", losses=CLASS_LOSSES
)
def _one_hot_target(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if out.dim() < 2 or tgt.shape != out.shape or tgt.dtype == torch.bool:
        return None
    if not _is_binary(tgt) or not bool((tgt.sum(dim=1) == 1).all()):
        return None
    fix = f"convert to class indices with target.argmax(dim=1) (shape {_dims(call.index_shape)})."
    if not tgt.is_floating_point():
        return Issue(
            f"target is one-hot labels (shape {shape_of(tgt)}) with integer dtype {tgt.dtype}. "
            f"{call.label} takes class indices (one integer per sample), and raises on an "
            f"integer tensor of the output's shape.",
            fix,
            "error",
        )
    if call.name == "nll_loss":
        return Issue(
            f"target is one-hot labels (float, shape {shape_of(tgt)}). NLLLoss takes only class "
            f"indices and raises '0D or 1D target tensor expected, multi-target not supported' "
            f"(CrossEntropyLoss accepts class probabilities, NLLLoss does not).",
            fix,
            "error",
        )
    weight = call.options.get("weight")
    if isinstance(weight, torch.Tensor):
        with_indices = _scalar_text(_quiet_loss(call, out, tgt.argmax(dim=1)))
        as_probs = _scalar_text(_quiet_loss(call, out, tgt))
        differs = (
            f" Here: {as_probs} with one-hot, {with_indices} with indices."
            if with_indices and as_probs and call.reduction == "mean"
            else ""
        )
        return Issue(
            f"target is one-hot labels (float, shape {shape_of(tgt)}), which {call.label} reads "
            f"as class probabilities. With class weights the two forms give different means: "
            f"class indices divide by the sum of the weights of the targets, class probabilities "
            f"by N.{differs}",
            fix,
            "warning",
        )
    return Issue(
        f"target is one-hot labels (float, shape {shape_of(tgt)}). {call.label} accepts them as "
        f"class probabilities and computes the same loss, but class indices are the idiomatic "
        f"form: C times less memory, and they work with ignore_index, NLLLoss and accuracy code.",
        fix,
    )


@rule(
    "target-not-distribution",
    "Class-probability target rows do not sum to 1",
    "error",
    losses=frozenset({"cross_entropy"}),
)
def _target_not_distribution(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if out.dim() < 2 or not call.probability_target or not _all_finite(tgt):
        return None
    if _is_distribution(tgt, 1) or _is_distribution(tgt, -1):
        return None  # correct, or the classes-last layout that input-shape explains
    sums = _as_float(tgt).sum(dim=1)
    if _is_binary(tgt) and float(sums.max()) >= 2:
        return Issue(
            f"target is multi-hot: some samples have {int(sums.max())} classes set to 1. "
            f"Cross-entropy's class probabilities must sum to 1 per sample (one class, or a soft "
            f"mix); several true labels per sample is a multi-label task.",
            "use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on the logits with "
            "this float target: one independent yes/no per class.",
        )
    low, high = float(tgt.min()), float(tgt.max())
    return Issue(
        f"target (shape {shape_of(tgt)}) is used as class probabilities, but its values lie in "
        f"[{low:.3g}, {high:.3g}] and its rows sum to between {float(sums.min()):.3g} and "
        f"{float(sums.max()):.3g}, not 1. The loss is then not a cross-entropy and can go below 0 "
        f"or reward the wrong class.",
        "normalise each row to a probability distribution (e.g. target / target.sum(dim=1, "
        "keepdim=True) for non-negative scores, or target.softmax(dim=1) for scores), or pass "
        "class indices.",
    )


@rule("class-index-out-of-range", "Class index out of range", "error", losses=CLASS_LOSSES)
def _class_index_out_of_range(call: LossCall) -> Issue | None:
    if not call.index_target:
        return None
    tgt = call.tgt
    ignore_index = call.options.get("ignore_index", -100)
    used = tgt[tgt != ignore_index]
    if used.numel() == 0:
        return None
    num_classes = call.num_classes
    bad = used[(used < 0) | (used >= num_classes)]
    if bad.numel() == 0:
        return None
    bad_values = sorted(int(v) for v in bad.unique()[:5])
    low, high = int(used.min()), int(used.max())
    if low >= 1 and high == num_classes:
        hint = " The labels run from 1 to C: they start at 1, torch counts from 0."
        fix = "subtract 1 from the labels: target - 1 (better: fix the dataset's label mapping)."
    elif -1 in bad_values and ignore_index != -1:
        hint = " -1 usually marks padding or unlabelled samples."
        fix = (
            "tell the loss to skip them: ignore_index=-1 "
            "(nn.CrossEntropyLoss(ignore_index=-1)), "
            "or drop those samples."
        )
    elif high >= num_classes:
        hint = (
            f" The labels go up to {high}, so the data has at least {high + 1} classes but the "
            f"model outputs {num_classes} scores."
        )
        fix = (
            f"give the model's last layer one output per class (out_features={high + 1}), or "
            f"remap the labels to 0 … {num_classes - 1}."
        )
    else:
        hint = " Negative labels are not classes."
        fix = "remap the labels to 0 … C-1, or set ignore_index to the value that marks 'no label'."
    shown = ", ".join(str(v) for v in bad_values)
    return Issue(
        f"target contains class index {shown}, but output has C={num_classes} classes, so indices "
        f"must lie in [0, {num_classes - 1}] (or equal ignore_index={ignore_index}).{hint} On the "
        f"CPU torch raises 'IndexError: Target {bad_values[-1]} is out of bounds'; on a GPU it "
        f"fails with 'device-side assert triggered' and the GPU stays unusable until you restart "
        f"the process.",
        fix,
    )


# ---------------------------------------------------------------------------
# Logits, probabilities, log-probabilities


def _floor_text(num_classes: int) -> str:
    floor = math.log(math.e + num_classes - 1) - 1
    return (
        f"even a perfect prediction (probability 1 on the right class) scores "
        f"log(e + C - 1) - 1 = {floor:.4f} with C={num_classes}, never 0"
    )


@rule(
    "double-softmax",
    "Softmax (or sigmoid) applied before cross-entropy",
    "warning",
    losses=frozenset({"cross_entropy"}),
)
def _double_softmax(call: LossCall) -> Issue | None:
    out = call.out
    if out.dim() == 0 or not out.is_floating_point() or call.num_classes < 2:
        return None
    if not (call.index_target or call.probability_target):
        return None
    fix = (
        "pass the raw logits (remove the softmax / nn.Softmax at the end of the model); "
        "cross_entropy applies log_softmax itself. Use softmax only to report probabilities."
    )
    if _made_by(call.output, "Sigmoid"):
        return Issue(
            f"output comes straight from a sigmoid, so it holds probabilities in (0, 1), not "
            f"logits. {call.label} applies log_softmax to it anyway: the scores are squashed "
            f"into a narrow range, so {_floor_text(call.num_classes)}, and the gradients shrink.",
            fix.replace("softmax / nn.Softmax", "sigmoid / nn.Sigmoid"),
        )
    over_class_dim = _is_distribution(out, call.class_dim)
    other_dims = [d for d in range(out.dim()) if d != call.class_dim and _is_distribution(out, d)]
    if not over_class_dim and not other_dims and not _made_by(call.output, "Softmax"):
        return None
    if over_class_dim:
        where = "sum to 1 along the class dimension"
    elif other_dims:
        where = (
            f"sum to 1 along dim {other_dims[0]}, which is not the class dim "
            f"({call.class_dim}): a softmax over the wrong dimension"
        )
    else:
        where = "come straight from a softmax"
    return Issue(
        f"output values are non-negative and {where}: softmax has already been applied. "
        f"{call.label} expects logits and applies log_softmax itself, so this computes "
        f"cross-entropy of softmax(softmax(logits)): {_floor_text(call.num_classes)}, and the "
        f"gradients shrink, so training stalls.",
        fix,
    )


@rule(
    "sigmoid-before-with-logits",
    "Sigmoid applied before a with-logits loss",
    "warning",
    losses=frozenset({"binary_cross_entropy_with_logits"}),
)
def _sigmoid_before_with_logits(call: LossCall) -> Issue | None:
    out = call.out
    if not out.is_floating_point() or out.numel() == 0 or not _all_finite(out):
        return None
    squashed = _made_by(call.output, "Sigmoid") or _made_by(call.output, "Softmax")
    if not squashed:
        inside = bool(((out > 0) & (out < 1)).any())
        if out.numel() < SQUASHED_LOGITS_MIN_COUNT or not inside or not _in_unit_interval(out):
            return None
    low, high = math.log1p(math.exp(-1)), math.log1p(math.e)
    return Issue(
        f"every output value lies in [0, 1] ({float(out.min()):.3g} to {float(out.max()):.3g}): "
        f"these are probabilities, not logits. {call.label} applies the sigmoid itself, so each "
        f"sample's loss is confined to [log(1 + e^-1), log(1 + e)] = [{low:.4f}, {high:.4f}]: it "
        f"can never reach 0, and the gradients shrink.",
        "remove the sigmoid (nn.Sigmoid) before the loss and pass the raw logits; apply "
        "torch.sigmoid only to report probabilities. (To keep the sigmoid, use nn.BCELoss, which "
        "is less stable.)",
    )


def _log_normaliser(call: LossCall, dim: int) -> torch.Tensor:
    return torch.logsumexp(_as_float(call.out), dim=dim)


def _is_log_distribution(call: LossCall, dim: int) -> bool:
    log_sum = _log_normaliser(call, dim)
    finite = log_sum[torch.isfinite(log_sum)]
    return finite.numel() == log_sum.numel() and float(finite.abs().max()) <= _tolerance(call.out)


def _nll_input_checkable(call: LossCall) -> bool:
    out = call.out
    return (
        out.dim() >= 1
        and out.is_floating_point()
        and out.numel() > 0
        and not bool(out.isnan().any())
        and not bool((out == math.inf).any())
        and (call.index_target or call.probability_target)
    )


@rule(
    "nll-given-probabilities",
    "NLLLoss given probabilities",
    "error",
    losses=frozenset({"nll_loss"}),
)
def _nll_given_probabilities(call: LossCall) -> Issue | None:
    if not _nll_input_checkable(call) or _is_log_distribution(call, call.class_dim):
        return None
    if not _is_distribution(call.out, call.class_dim):
        return None
    return Issue(
        "output values are in [0, 1] and sum to 1 along the class dimension: probabilities. "
        "NLLLoss does not take a log; it returns -output[i, target[i]], here -p, which lies in "
        "[-1, 0]: the loss is negative and its gradient does not grow when the model is "
        "confidently wrong.",
        "feed log-probabilities: model ends in nn.LogSoftmax(dim=1) instead of nn.Softmax, or "
        "drop the softmax and use nn.CrossEntropyLoss on the logits (= log_softmax + NLLLoss). "
        "torch.log(probs) works but underflows to -inf for tiny probabilities.",
    )


@rule("nll-given-logits", "NLLLoss given raw logits", "error", losses=frozenset({"nll_loss"}))
def _nll_given_logits(call: LossCall) -> Issue | None:
    if not _nll_input_checkable(call) or _is_log_distribution(call, call.class_dim):
        return None
    if _is_distribution(call.out, call.class_dim):
        return None  # probabilities: nll-given-probabilities explains them
    out = call.out
    other_dims = [
        d for d in range(out.dim()) if d != call.class_dim and _is_log_distribution(call, d)
    ]
    if other_dims:
        return Issue(
            f"output is log-probabilities over dim {other_dims[0]}, but the classes are dim "
            f"{call.class_dim}: log_softmax was applied along the wrong dimension.",
            f"use log_softmax(dim={call.class_dim}) (nn.LogSoftmax(dim={call.class_dim})).",
        )
    largest = float(out.max())
    evidence = (
        f"it has positive values (up to {largest:.3g}), and log-probabilities are never above 0"
        if largest > _tolerance(out)
        else "exp(output) does not sum to 1 along the class dimension"
    )
    return Issue(
        f"output is not log-probabilities: {evidence}. NLLLoss only picks -output[i, target[i]]; "
        f"on raw logits that is -logit, unbounded below, so the loss goes negative and training "
        f"just inflates the target logit without ever comparing it to the other classes.",
        "apply log_softmax first (nn.LogSoftmax(dim=1) as the model's last layer), or pass the "
        "logits to nn.CrossEntropyLoss, which is log_softmax followed by NLLLoss.",
    )


@rule(
    "bce-given-logits", "BCELoss given logits", "error", losses=frozenset({"binary_cross_entropy"})
)
def _bce_given_logits(call: LossCall) -> Issue | None:
    out = call.out
    if not out.is_floating_point() or out.numel() == 0:
        return None
    finite = out[torch.isfinite(out)]
    if finite.numel() == 0 or _in_unit_interval(finite):
        return None
    return Issue(
        f"output values range over [{float(finite.min()):.4g}, {float(finite.max()):.4g}], but "
        f"{call.label} takes probabilities in [0, 1]: these look like logits (raw scores). torch "
        f"raises 'all elements of input should be between 0 and 1'.",
        "use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on the logits: it applies "
        "the sigmoid itself and is numerically stable. Adding torch.sigmoid before BCELoss also "
        "works but is less stable.",
    )


@rule("binary-target-range", "Binary target outside [0, 1]", "error", losses=BINARY_LOSSES)
def _binary_target_range(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if not tgt.is_floating_point() or tgt.numel() == 0 or not _all_finite(tgt):
        return None
    if _in_unit_interval(tgt):
        return None
    values = tgt.unique()
    low, high = float(tgt.min()), float(tgt.max())
    if values.numel() == 2 and low == -1 and high == 1:
        fix = "map -1/+1 labels to 0/1: target = (target + 1) / 2."
    elif high == 255 and _is_integer_valued(tgt):
        fix = "the mask is stored as 0 … 255: use target / 255 (or target > 127 as float)."
    else:
        fix = "targets must be 0/1 labels or probabilities in [0, 1]: fix the labels' encoding."
    return Issue(
        f"target values range over [{low:.4g}, {high:.4g}], but binary cross-entropy takes 0/1 "
        f"labels (or probabilities) in [0, 1]. torch does not check: the loss silently becomes "
        f"meaningless and can go below 0.",
        fix,
    )


@rule(
    "regression-on-class-indices",
    "Regression loss on class labels",
    "warning",
    losses=REGRESSION_LOSSES,
)
def _regression_on_class_indices(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if not out.is_floating_point() or not _is_integer_valued(tgt) or tgt.numel() == 0:
        return None
    if (
        out.dim() == tgt.dim() + 1
        and out.dim() >= 2
        and out.shape[1] > 1
        and (out.shape[:1] + out.shape[2:] == tgt.shape)
    ):
        return Issue(
            f"output has {out.shape[1]} columns per sample (shape {shape_of(out)}) and target "
            f"holds one integer per sample (shape {shape_of(tgt)}): class scores and class "
            f"labels. {call.label} is a regression loss: it treats the labels as numbers on a "
            f"line (class 2 'between' 1 and 3) and compares them with every column.",
            "this is classification: use nn.CrossEntropyLoss on the logits with target.long().",
        )
    if out.shape != tgt.shape:
        return None
    levels = tgt.unique()
    if not 2 <= levels.numel() <= 10 or float(levels.min()) < 0:
        return None
    if tgt.numel() < SQUASHED_LOGITS_MIN_COUNT or tgt.numel() < 2 * levels.numel():
        return None
    severity = "note" if tgt.is_floating_point() else "warning"
    shown = ", ".join(f"{v:g}" for v in levels.tolist())
    if levels.numel() == 2 and _is_binary(tgt):
        return Issue(
            f"target holds only the labels 0 and 1: a binary classification. {call.label} on 0/1 "
            f"labels gives weak gradients when the model is confidently wrong.",
            "use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on the logits with "
            "float 0/1 targets.",
            severity,
        )
    return Issue(
        f"target holds {levels.numel()} distinct whole numbers ({shown}). If they are categories, "
        f"{call.label} wrongly treats them as ordered, equally spaced numbers. If they are real "
        f"quantities (ratings, counts), regression is right: ignore this.",
        "for categories, use nn.CrossEntropyLoss with C outputs and target.long(); for "
        "quantities, make it explicit with target.float().",
        severity,
    )


@rule(
    "kl-input-not-log-probs",
    "KLDivLoss input is not log-probabilities",
    "error",
    losses=frozenset({"kl_div"}),
)
def _kl_input_not_log_probs(call: LossCall) -> Issue | None:
    out = call.out
    if not out.is_floating_point() or out.numel() == 0:
        return None
    finite = out[torch.isfinite(out)]
    if finite.numel() == 0 or float(finite.max()) <= _tolerance(out):
        return None
    looks_like = (
        "probabilities (non-negative, summing to 1)"
        if out.dim() >= 1 and _is_distribution(out, -1)
        else "raw scores"
    )
    return Issue(
        f"input has positive values (up to {float(finite.max()):.3g}): these are {looks_like}, "
        f"not log-probabilities. {call.label} expects its input (the model's distribution) as "
        f"log-probabilities, which are all <= 0; with probabilities the value is not the KL "
        f"divergence and can be negative.",
        "pass log_softmax(logits, dim=-1) as input (or probs.log(), less stable); the target "
        "stays probabilities unless log_target=True.",
    )


@rule(
    "kl-target-form",
    "KLDivLoss target does not match log_target",
    "error",
    losses=frozenset({"kl_div"}),
)
def _kl_target_form(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if not tgt.is_floating_point() or tgt.numel() == 0:
        return None
    finite = tgt[torch.isfinite(tgt)]
    if finite.numel() == 0:
        return None
    tol = _tolerance(tgt)
    if call.options.get("log_target", False):
        if float(finite.max()) <= tol:
            return None
        return Issue(
            f"log_target=True, but target has positive values (up to {float(finite.max()):.3g}); "
            f"log-probabilities are never above 0, so these look like probabilities.",
            "set log_target=False to pass probabilities, or pass target.log().",
        )
    if float(finite.min()) >= -tol:
        return None
    return Issue(
        f"target has negative values (down to {float(finite.min()):.3g}), but with "
        f"log_target=False (the default) the target must be probabilities; these look like "
        f"log-probabilities. The loss comes out NaN or wrong.",
        "pass log_target=True (nn.KLDivLoss(reduction='batchmean', log_target=True)), or "
        "target.exp().",
    )


# ---------------------------------------------------------------------------
# Reductions and class balance


@rule("kl-batchmean", "KLDivLoss with reduction='mean'", "warning", losses=frozenset({"kl_div"}))
def _kl_batchmean(call: LossCall) -> Issue | None:
    out = call.out
    if call.reduction != "mean" or out.dim() == 0:
        return None
    batch = out.shape[0]
    factor = out.numel() / batch if batch else 1.0
    return Issue(
        f"reduction='mean' averages over all {out.numel()} elements, not over the {batch} "
        f"samples, so the value is the KL divergence divided by a further {factor:g} (the size "
        f"of each distribution). It is not the KL divergence, and its scale changes with C.",
        "use reduction='batchmean' (nn.KLDivLoss(reduction='batchmean')), which matches the math.",
    )


@rule("reduction-sum", "reduction='sum' makes the loss grow with the batch", "note")
def _reduction_sum(call: LossCall) -> Issue | None:
    if call.reduction != "sum":
        return None
    count = call.out.shape[0] if call.out.dim() else 1
    return Issue(
        f"reduction='sum' adds the {count} per-sample losses instead of averaging them, so the "
        f"loss and its gradients scale with the batch size: doubling the batch doubles the step, "
        f"and a learning rate tuned for 'mean' is {count} times too large.",
        "use the default reduction='mean' unless you divide by the batch size yourself (or tune "
        "the learning rate for the sum).",
    )


@rule("reduction-none", "reduction='none' returns one loss per element", "note", after_call=True)
def _reduction_none(call: LossCall) -> Issue | None:
    if call.reduction != "none":
        return None
    shape = shape_of(call.result) if call.ran_cleanly() else "the per-element shape"
    weighted = ""
    fix = "reduce before backward: loss.mean() (or a masked or weighted average of your own)."
    if isinstance(call.options.get("weight"), torch.Tensor) and call.name in CLASS_LOSSES:
        weighted = (
            " With class weights, reduction='mean' divides by the sum of the weights "
            "of the targets, so loss.mean() gives a different value."
        )
        fix = (
            "reduce before backward: loss.sum() / weight[target].sum() matches "
            "reduction='mean'; loss.mean() does not."
        )
    return Issue(
        f"the loss is a tensor of shape {shape}, not a number. loss.backward() on it raises "
        f"'grad can be implicitly created only for scalar outputs'.{weighted}",
        fix,
    )


def _tensor_text(values: list[float]) -> str:
    return "torch.tensor([" + ", ".join(f"{v:.3g}" for v in values) + "])"


@rule(
    "class-imbalance",
    "Heavy class imbalance without weights",
    "warning",
    losses=CLASS_LOSSES | BINARY_LOSSES,
)
def _class_imbalance(call: LossCall) -> Issue | None:
    if call.name in CLASS_LOSSES:
        return _class_imbalance_indices(call)
    return _class_imbalance_binary(call)


def _class_imbalance_indices(call: LossCall) -> Issue | None:
    if call.options.get("weight") is not None or not call.index_target:
        return None
    tgt = call.tgt
    labels = tgt[tgt != call.options.get("ignore_index", -100)].long()
    num_classes = call.num_classes
    if labels.numel() < IMBALANCE_MIN_LABELS or num_classes < 2:
        return None
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        return None  # class-index-out-of-range explains these labels first
    counts = torch.bincount(labels.flatten().cpu(), minlength=num_classes)
    majority = int(counts.argmax())
    share = float(counts[majority]) / labels.numel()
    if share < IMBALANCE_SHARE:
        return None
    weights = (labels.numel() / (num_classes * counts.clamp(min=1).double())).tolist()
    absent = [c for c in range(num_classes) if counts[c] == 0]
    absent_text = (
        f" Classes {absent} do not occur in this batch, so their weight here is only a placeholder."
        if absent
        else ""
    )
    return Issue(
        f"class {majority} makes up {share:.0%} of the {labels.numel()} labels and no class "
        f"weights are set. A model that always predicts class {majority} already scores well on "
        f"this loss, so it may never learn the rare classes (balanced accuracy stays near "
        f"1/C = {1 / num_classes:.2g}).{absent_text}",
        f"weight the classes by inverse frequency, N / (C · count): here "
        f"weight={_tensor_text(weights)}; pass it as nn.CrossEntropyLoss(weight=weight). "
        f"Compute it from the whole training set's counts (torch.bincount(labels, minlength=C)), "
        f"not one batch; or resample with a WeightedRandomSampler.",
    )


def _class_imbalance_binary(call: LossCall) -> Issue | None:
    if call.options.get("pos_weight") is not None or call.options.get("weight") is not None:
        return None
    tgt = call.tgt
    if tgt.numel() < IMBALANCE_MIN_LABELS or not _is_binary(tgt):
        return None
    positives = tgt.double()
    share = float(positives.mean())
    if max(share, 1 - share) < IMBALANCE_SHARE:
        return None
    columns = tgt.shape[-1] if tgt.dim() >= 2 else 1
    per_column = positives.reshape(-1, columns)
    n_pos = per_column.sum(dim=0)
    n_neg = per_column.shape[0] - n_pos
    pos_weight = (n_neg / n_pos.clamp(min=1)).tolist()
    pos_weight_text = _tensor_text(pos_weight)
    missing = (
        " (a column with no positives in this batch gets a placeholder)"
        if bool((n_pos == 0).any())
        else ""
    )
    where = (
        "nn.BCEWithLogitsLoss(pos_weight=pos_weight)"
        if call.name != "binary_cross_entropy"
        else "nn.BCEWithLogitsLoss(pos_weight=pos_weight) on the logits (BCELoss has no pos_weight)"
    )
    return Issue(
        f"only {share:.0%} of the {tgt.numel()} targets are positive (1) and no pos_weight is "
        f"set. Predicting 'always {int(share >= 0.5)}' already scores well, so the model may "
        f"never learn the rare {'positives' if share < 0.5 else 'negatives'}.",
        f"weight the positives by negatives / positives: here pos_weight={pos_weight_text}"
        f"{missing}; use {where}. Compute it from the whole training set, not one batch.",
    )


# ---------------------------------------------------------------------------
# Rules that look at what the loss returned


@rule("non-finite-loss", "The loss is NaN or infinite", "error", after_call=True)
def _non_finite_loss(call: LossCall) -> Issue | None:
    if not call.ran_cleanly() or _all_finite(call.result.detach()):
        return None
    if any(f.severity == "error" for f in call.findings):
        return None  # an error found earlier (NaN input, a log-prob target...) explains it
    value = "NaN" if bool(call.result.isnan().any()) else "infinite"
    if call.name in CLASS_LOSSES and call.index_target and call.reduction == "mean":
        tgt = call.tgt
        ignore_index = call.options.get("ignore_index", -100)
        if bool((tgt == ignore_index).all()):
            return Issue(
                f"the loss is NaN because every target equals ignore_index={ignore_index}: the "
                f"mean over zero labelled samples is 0/0.",
                "skip batches with no labelled samples (if (target != ignore_index).any(): ...), "
                "or use reduction='sum' divided by max(count, 1).",
            )
        weight = call.options.get("weight")
        if isinstance(weight, torch.Tensor):
            used = tgt[tgt != ignore_index]
            if float(weight.detach()[used.long()].sum()) == 0:
                return Issue(
                    "the loss is NaN because every class in this batch has weight 0: the "
                    "weighted mean divides by the sum of the targets' weights, here 0.",
                    "give every class that can occur a positive weight.",
                )
    return Issue(
        f"the loss is {value} although output and target are finite: something inside the loss "
        f"overflows or takes log(0) (a -inf log-probability at the target class, probabilities of "
        f"exactly 0 or 1 in a hand-written log, a division by zero).",
        "compute from logits with the built-in losses (cross_entropy, "
        "binary_cross_entropy_with_logits), which use stable identities; clamp probabilities "
        "before a log; find the operation with torch.autograd.set_detect_anomaly(True).",
    )


def _gradients(call: LossCall) -> tuple[list[str], list[torch.Tensor | None]]:
    """Gradients of the loss, without touching any ``.grad``: ``torch.autograd.grad`` returns them.

    With a model whose graph produced ``output``, the gradients are those of its
    parameters (the graph is kept for the caller's own backward). Otherwise they
    are the gradients with respect to a leaf copy of ``output``.
    """
    named = []
    if call.model is not None and call.output.requires_grad:
        named = [(n, p) for n, p in call.model.named_parameters() if p.requires_grad]
    if named:
        try:
            with torch.enable_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loss = call.loss_fn(call.output, call.target)
                total = loss.sum() if loss.dim() else loss
                grads = torch.autograd.grad(
                    total, [p for _, p in named], retain_graph=True, allow_unused=True
                )
            return [n for n, _ in named], list(grads)
        except RuntimeError:
            pass  # the graph was already freed by a backward(); fall back to the output's gradient
    leaf = call.out.clone().requires_grad_(True)
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = call.loss_fn(leaf, call.target)
        total = loss.sum() if loss.dim() else loss
        if not total.requires_grad:
            return [], []
        (grad,) = torch.autograd.grad(total, [leaf], allow_unused=True)
    return ["output"], [grad]


@rule("non-finite-gradient", "The gradient is NaN or infinite", "error", after_call=True)
def _non_finite_gradient(call: LossCall) -> Issue | None:
    if call.model is None and not call.output.requires_grad:
        return None
    if not call.ran_cleanly() or not call.output.is_floating_point():
        return None
    if not _all_finite(call.result.detach()) or call.found("non-finite-input"):
        return None
    names, grads = _gradients(call)
    bad = [n for n, g in zip(names, grads, strict=True) if g is not None and not _all_finite(g)]
    if not bad:
        return None
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return Issue(
        f"the loss is finite ({_scalar_text(call.result.detach().sum()) or 'a tensor'}), but the "
        f"gradient of {shown} holds NaN or infinity. One optimizer step would write NaN into the "
        f"weights. Typical causes: sqrt, norm or pow with a fractional exponent at exactly 0 "
        f"(infinite slope), log of a value that reaches 0, or torch.where with a NaN in the "
        f"branch it did not pick.",
        "guard the operation (sqrt(x + eps), norm of x + eps, clamp before log, compute both "
        "torch.where branches on safe inputs); locate it with "
        "torch.autograd.set_detect_anomaly(True); torch.nn.utils.clip_grad_norm_ does not fix NaN.",
    )


_TORCH_MESSAGES: tuple[tuple[str, str, str], ...] = (
    (
        r"expected scalar type Long|expected target dtype to be Long|target.*Long or Byte",
        "the loss needs class indices as torch.long integers, and the target has another dtype "
        "(usually float labels).",
        "convert the labels with target.long().",
    ),
    (
        r"Found dtype Long but expected Float|can't be cast to the desired output type Long"
        r"|Found dtype .* but expected",
        "the target's dtype does not match the output's: regression and binary losses need float "
        "targets of the output's dtype.",
        "convert with target.to(output.dtype) (target.float()).",
    ),
    (
        r"Expected floating point type for target with class probabilities",
        "torch took the target for class probabilities (its shape matches the output's) but it is "
        "an integer tensor. Usually the output has lost its class dimension, or the target is "
        "one-hot stored as integers.",
        "give the output shape (N, C) and the target shape (N,) of class indices, or convert "
        "one-hot labels with target.argmax(dim=1).",
    ),
    (
        r"out of bounds|device-side assert|t >= 0 && t < n_classes|n_classes|target out of range",
        "a class index in the target is negative or >= C, the number of classes the output has. On "
        "a GPU this shows up as 'device-side assert triggered', and the GPU stays unusable until "
        "you restart the process.",
        "check target.min() and target.max() against output.shape[1]: labels must run from 0 to "
        "C - 1 (subtract 1 if they start at 1, and set ignore_index for padding values).",
    ),
    (
        r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)",
        "the output and the target have a different number of samples.",
        "make sure both come from the same batch (slice both or neither).",
    ),
    (
        r"0D or 1D target tensor expected|multi-target not supported|only batches of spatial targets",
        "the target has one dimension too many for class indices: an (N, 1) column, a one-hot (N, "
        "C) matrix, or a mask with a channel dimension.",
        "use target.squeeze(1) for a column or channel, or target.argmax(dim=1) for one-hot labels.",
    ),
    (
        r"Expected 2D|Expected 1D or 2D|Expected 3D|Expected target size|For 1D input, 1D target"
        r"|Expected non-empty vector or matrix|tensor has no dimensions",
        "the output does not have the layout the loss expects: (N, C) for a batch, with classes in "
        "dim 1 ((N, C, d1, ...) for sequences and images).",
        "reshape the output to (N, C), or move the classes to dim 1 with output.movedim(-1, 1).",
    ),
    (
        r"all elements of input should be between 0 and 1",
        "BCELoss takes probabilities, and the output holds values outside [0, 1]: logits.",
        "use nn.BCEWithLogitsLoss on the logits.",
    ),
    (
        r"must match the size of tensor|must be the same as input size|Using a target size"
        r"|target size .* different",
        "the output and target shapes do not match, and cannot be lined up element by element.",
        "reshape so that output.shape == target.shape (often output.squeeze(-1)).",
    ),
    (
        r"same device|is not on the expected device",
        "the tensors of the call are on different devices (CPU and GPU).",
        "move them together: target.to(output.device), loss_fn.to(output.device).",
    ),
    (
        r"does not require grad",
        "the loss does not depend on anything that requires grad: the output was detached or "
        "computed under torch.no_grad().",
        "compute the output outside torch.no_grad() and do not detach it.",
    ),
    (
        r"only for scalar outputs",
        "backward() was called on a tensor of losses (reduction='none').",
        "reduce first: loss.mean().backward().",
    ),
    (
        r"with a bool tensor is not supported",
        "the loss does arithmetic on a bool tensor (a mask used as a target or output).",
        "convert it with .float().",
    ),
    (
        r"doesn't match the broadcast shape",
        "a tensor option of the loss (weight or pos_weight) has more elements than the output, so "
        "the result cannot keep the output's shape.",
        "give weight the output's shape (or one that broadcasts to it) and pos_weight one entry "
        "per class, i.e. per column of the output.",
    ),
    (
        r"not implemented for '(Half|BFloat16)'",
        "this loss has no half-precision kernel on this device.",
        "compute the loss in float32: loss_fn(output.float(), target) (autocast does this for you).",
    ),
    (
        r"Integral inputs not supported",
        "the loss computes with floats, and one of the inputs is an integer tensor.",
        "convert it with .float().",
    ),
    (
        r"not implemented for '(Long|Int|Bool|Byte)'",
        "the output has an integer dtype (argmax or rounded predictions); losses need floats.",
        "pass the raw float output (logits) of the model.",
    ),
    (
        r"weight tensor should be defined either for all",
        "the class-weight vector has a different length from the number of classes.",
        "give weight exactly C entries, one per class (output.shape[1]).",
    ),
)


def explain_torch_error(message: str) -> tuple[str, str] | None:
    """Plain words and a fix for a message torch raises from a loss, or ``None`` if unknown.

    Example:
        >>> explain_torch_error("Target 7 is out of bounds.")[1].split(":")[0]
        'check target.min() and target.max() against output.shape[1]'
    """
    for pattern, meaning, fix in _TORCH_MESSAGES:
        if re.search(pattern, message, flags=re.IGNORECASE):
            return meaning, fix
    return None


@rule("torch-error", "The loss call raised", "error", after_call=True)
def _torch_error(call: LossCall) -> Issue | None:
    if call.exception is None:
        return None
    if any(f.severity == "error" for f in call.findings):
        return None  # a specific rule has already explained why torch raised
    said = f"{type(call.exception).__name__}: {_first_line(str(call.exception))}"
    if isinstance(call.exception, LossInputError):
        # lossbook's own checks already say, in plain words, what was wrong and what to do.
        return Issue(f"{call.label} raised {said}", "follow the advice at the end of the message.")
    explained = explain_torch_error(str(call.exception))
    if explained is None:
        return Issue(
            f"{call.label} raised {said}",
            "read the last line of the message: it names the argument torch rejected; compare "
            "output.shape, output.dtype, target.shape and target.dtype with the loss's "
            "documentation.",
        )
    meaning, fix = explained
    return Issue(f"{call.label} raised {said}. In plain words: {meaning}", fix)


# ---------------------------------------------------------------------------
# Building the call and running the rules


def _resolve_name(text: str) -> str:
    key = text.strip().split(".")[-1]
    if key in _MODULE_NAMES:
        return _MODULE_NAMES[key]
    if key in _FUNCTIONAL_NAMES:
        return key
    compact = key.lower().replace("_", "")
    compact = compact.removesuffix("loss") or compact
    for candidate in (compact, compact + "loss"):
        if candidate in _SHORT_NAMES:
            return _SHORT_NAMES[candidate]
        for name in _FUNCTIONAL_NAMES:
            if name.replace("_", "") == candidate:
                return name
    known = ", ".join(sorted(_FUNCTIONAL_NAMES - _THREE_TENSOR_LOSSES))
    raise ValueError(
        f"diagnose() does not know a loss called {text!r}; use one of {known} "
        f"(or their nn.*Loss class names), or pass the loss function itself."
    )


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
        skipped.append(f"{candidate.id}: {type(error).__name__}: {_first_line(str(error))}")
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


__all__ = [
    "RULES",
    "Diagnosis",
    "Finding",
    "Issue",
    "Rule",
    "diagnose",
    "explain_torch_error",
    "rule",
]
