"""The catalogue of misconceptions the checks recognise, and the references they belong to.

A :class:`Mistake` knows how to compute the wrong answer it stands for: given
the reference function and one case's arguments, its ``variant`` returns what
a learner with that misconception would return (or ``None`` where the
mistake does not apply, e.g. class weights when no weights are given). A
check names a mistake only when the learner's output equals the variant's on
every case, and on at least one case where the variant differs from the
reference, so a coincidence on one case is never enough.

Each reference (``"mse_loss"``, ``"cross_entropy"``, ``"softmax"``, ...) is a
:class:`Reference`: the original function, captured when
:mod:`lossbook.checks` is imported, its default cases, and the keys of its
plausible mistakes (``REFERENCES[name].mistakes``). The texts follow the
catalogue in the course notes (COURSE.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

import lossbook.functional as _functional
import lossbook.losses.activations as _activations
from lossbook.losses._reduction import apply_reduction
from lossbook.losses.classification import _cross_entropy_with_probabilities, nll_terms
from lossbook.losses.registry import LOSSES as _REGISTERED_LOSSES
from lossbook.losses.registry import UnknownLossError
from lossbook.losses.registry import spec as loss_spec
from lossbook.checks import cases as _cases
from lossbook.checks._guard import learner_value

Variant = Callable[[Callable[..., torch.Tensor], tuple, dict], "torch.Tensor | None"]
ErrorTest = Callable[[BaseException, tuple, dict], bool]


@dataclass(frozen=True)
class Mistake:
    """One misconception: its name, what the wrong answer computes, and the fix.

    Attributes:
        key: registry key, e.g. ``"sum_instead_of_mean"``.
        name: what the learner reads, e.g. ``"sum instead of mean"``.
        computes: what the wrong answer computes.
        fix: how to fix it.
        variant: ``variant(reference, args, kwargs)``, the wrong output for one
            case, or ``None`` where the mistake does not apply.
        recognises_error: ``recognises_error(exception, args, kwargs)``, true if an
            exception the learner's function raised on that case is typical of
            this mistake.
        stability: the variant equals the reference except where it overflows
            (inf/NaN at extreme inputs).
    """

    key: str
    name: str
    computes: str
    fix: str
    variant: Variant | None = field(default=None, repr=False)
    recognises_error: ErrorTest | None = field(default=None, repr=False)
    stability: bool = False


@dataclass(frozen=True)
class Reference:
    """A function the checks compare against, captured at import.

    Attributes:
        name: torch's name, e.g. ``"mse_loss"``.
        fn: the original function (``lossbook.functional`` or ``lossbook.losses.activations``).
        cases: default cases for checks that are given none.
        mistakes: keys of the plausible mistakes, most specific first.
        target: ``"float"`` or ``"index"``: how :func:`check_value` converts a
            target typed as a list.
        kink: ``kink(*args)`` is true where the usual ways of writing the
            function disagree on the gradient (``|r|`` at ``r = 0``, the stable BCE
            formula at ``z = 0``, ``log p`` at ``p = 0``): gradients are not compared
            on such cases.
    """

    name: str
    fn: Callable[..., torch.Tensor] = field(repr=False)
    cases: tuple[_cases.Case, ...] = field(default=(), repr=False)
    mistakes: tuple[str, ...] = ()
    target: str = "float"
    kink: Callable[..., bool] | None = field(default=None, repr=False)

    def smooth(self, case: _cases.Case) -> bool:
        """True if gradients can be compared on ``case`` (it has no kink)."""
        return self.kink is None or not self.kink(*case.args)


# ---------------------------------------------------------------------------
# Captured originals: every variant computes through these, never through a
# name a learner's cell could have rebound.
_mse_loss = _functional.mse_loss
_l1_loss = _functional.l1_loss
_huber_loss = _functional.huber_loss
_smooth_l1_loss = _functional.smooth_l1_loss
_bce = _functional.binary_cross_entropy
_bce_with_logits = _functional.binary_cross_entropy_with_logits
_cross_entropy = _functional.cross_entropy
_nll_loss = _functional.nll_loss
_softmax = _activations.softmax
_log_softmax = _activations.log_softmax
_sigmoid = _activations.sigmoid
_log_sigmoid = _activations.log_sigmoid
_logsumexp = torch.logsumexp


def _logsumexp_last(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log Σ_j exp z_j`` along ``dim`` (torch's, which subtracts the max)."""
    return _logsumexp(logits, dim=dim)


# ---------------------------------------------------------------------------
# Small helpers for the variants.


def _reduction(kwargs: Mapping[str, Any]) -> str:
    return kwargs.get("reduction", "mean")


def _two_tensors(args: tuple) -> bool:
    return len(args) >= 2 and all(isinstance(a, torch.Tensor) for a in args[:2])


def _naive_log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``z − log Σ exp z`` without subtracting the max: ``exp`` overflows for large logits."""
    return logits - logits.exp().sum(dim=dim, keepdim=True).log()


def _naive_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    exps = logits.exp()
    return exps / exps.sum(dim=dim, keepdim=True)


def _ce_options(kwargs: Mapping[str, Any]) -> tuple[torch.Tensor | None, int, str, float]:
    """``weight``, ``ignore_index``, ``reduction``, ``label_smoothing`` of a cross-entropy call."""
    return (
        kwargs.get("weight"),
        int(kwargs.get("ignore_index", -100)),
        _reduction(kwargs),
        float(kwargs.get("label_smoothing", 0.0)),
    )


def _smoothed_nll_terms(
    log_probs: torch.Tensor, target: torch.Tensor, kwargs: Mapping[str, Any], *, spread: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample label-smoothed NLL of ``(N, C)`` log-probabilities and the weights ``w_{y_i}``.

    ``l_i = (1 − ε)·n_i + (ε / spread)·u_i``, with ``n_i = −w_{y_i} log p[i, y_i]`` from
    lossbook's :func:`~lossbook.losses.classification.nll_terms` and ``u_i`` the smoothed mass's
    share: ``−Σ_c w_c log p[i, c]`` over every class when ``spread = C`` (torch's rule), or
    over the ``C − 1`` wrong classes when ``spread = C − 1`` (the mistake).
    """
    weight, ignore_index, _, eps = _ce_options(kwargs)
    nll, target_weight = nll_terms(log_probs, target, weight, ignore_index=ignore_index)
    class_weight = torch.ones_like(log_probs[0]) if weight is None else weight
    every_class = -(log_probs * class_weight).sum(dim=1).masked_fill(target == ignore_index, 0.0)
    smoothed_mass = every_class if spread == log_probs.shape[1] else every_class - nll
    return (1 - eps) * nll + eps / spread * smoothed_mass, target_weight


def _cross_entropy_on(
    log_probs: torch.Tensor, target: torch.Tensor, kwargs: Mapping[str, Any]
) -> torch.Tensor | None:
    """lossbook's cross-entropy with ``log_probs`` where it would use ``log_softmax(logits)``.

    ``cross_entropy(z, y) == _cross_entropy_on(log_softmax(z), y)``; a variant feeds it
    something else (the logits themselves, their log, an overflowing log-softmax). Class
    indices go through lossbook's ``nll_loss`` (or its terms, smoothed), class probabilities
    through its class-probability branch. ``None`` for anything but ``(N, C)``.
    """
    weight, ignore_index, reduction, eps = _ce_options(kwargs)
    if log_probs.dim() != 2:
        return None
    if target.is_floating_point():
        if target.shape != log_probs.shape:
            return None
        return _cross_entropy_with_probabilities(log_probs, target, weight, reduction, eps, 1)
    if target.shape != log_probs.shape[:1]:
        return None
    if eps == 0.0:
        return _nll_loss(log_probs, target, weight, ignore_index=ignore_index, reduction=reduction)
    loss, target_weight = _smoothed_nll_terms(log_probs, target, kwargs, spread=log_probs.shape[1])
    return apply_reduction(loss, reduction, divisor=target_weight.sum())


def _ce_variant(transform: Callable[[torch.Tensor], torch.Tensor]) -> Variant:
    """Cross-entropy computed from ``transform(logits)`` in place of ``log_softmax(logits)``."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not _two_tensors(args):
            return None
        return _cross_entropy_on(transform(args[0]), args[1], kwargs)

    return variant


# ---------------------------------------------------------------------------
# Variants shared by every loss: the reduction, and the sign.


def _sum_instead_of_mean(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if _reduction(kwargs) != "mean":
        return None
    return reference(*args, **{**kwargs, "reduction": "sum"})


def _mean_instead_of_sum(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if _reduction(kwargs) != "sum":
        return None
    return reference(*args, **{**kwargs, "reduction": "mean"})


def _no_reduction(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if _reduction(kwargs) == "none":
        return None
    return reference(*args, **{**kwargs, "reduction": "none"})


def _negated(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    return -reference(*args, **kwargs)


# ---------------------------------------------------------------------------
# Regression.


def _residual_variant(
    elementwise: Callable[[torch.Tensor, dict], torch.Tensor],
) -> Variant:
    """A regression loss computed as ``reduce(elementwise(pred − target))``."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not _two_tensors(args) or args[0].shape != args[1].shape:
            return None
        return apply_reduction(elementwise(args[0] - args[1], kwargs), _reduction(kwargs))

    return variant


def _pairwise_broadcast(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """``pred`` as an ``(N, 1)`` column against a ``(N,)`` target: every pair ``(i, j)``."""
    if not _two_tensors(args) or args[0].dim() != 1 or args[0].shape != args[1].shape:
        return None
    pred, target = args[0], args[1]
    if pred.numel() < 2:
        return None
    loss = reference(
        pred.unsqueeze(1).expand(-1, pred.numel()),
        target.unsqueeze(0).expand(pred.numel(), -1),
        **{**kwargs, "reduction": "none"},
    )
    return apply_reduction(loss, _reduction(kwargs))


def _root_of_mean(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if _reduction(kwargs) != "mean":
        return None
    return reference(*args, **kwargs).sqrt()


def _halved(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    return 0.5 * reference(*args, **kwargs)


def _delta(kwargs: Mapping[str, Any], name: str) -> float:
    return float(kwargs.get(name, 1.0))


def _huber_terms(
    residual: torch.Tensor, delta: float, *, half: float = 0.5, linear_offset: bool = True
) -> torch.Tensor:
    absolute = residual.abs()
    quadratic = half * residual**2
    linear = delta * (absolute - 0.5 * delta) if linear_offset else delta * absolute
    return torch.where(absolute <= delta, quadratic, linear)


def _smooth_l1_as_huber(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Huber asked, smooth L1 given: ``smooth_l1(β = δ) = huber(δ) / δ``."""
    delta = _delta(kwargs, "delta")
    if not _two_tensors(args) or delta == 1.0:
        return None
    options = {k: v for k, v in kwargs.items() if k != "delta"}
    return _smooth_l1_loss(args[0], args[1], beta=delta, **options)


def _huber_as_smooth_l1(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    beta = _delta(kwargs, "beta")
    if not _two_tensors(args) or beta in (0.0, 1.0):
        return None
    options = {k: v for k, v in kwargs.items() if k != "beta"}
    return _huber_loss(args[0], args[1], delta=beta, **options)


def _smooth_l1_without_beta(residual: torch.Tensor, kwargs: dict) -> torch.Tensor:
    beta = _delta(kwargs, "beta")
    absolute = residual.abs()
    return torch.where(absolute < beta, 0.5 * residual**2, absolute - 0.5 * beta)


def _swapped_branches(residual: torch.Tensor, kwargs: dict) -> torch.Tensor:
    delta = _delta(kwargs, "delta")
    absolute = residual.abs()
    return torch.where(absolute > delta, 0.5 * residual**2, delta * (absolute - 0.5 * delta))


# ---------------------------------------------------------------------------
# Binary.


def _on_transformed_input(transform: Callable[[torch.Tensor], torch.Tensor]) -> Variant:
    """The reference itself, applied to ``transform(args[0])``."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not args or not isinstance(args[0], torch.Tensor):
            return None
        return reference(transform(args[0]), *args[1:], **kwargs)

    return variant


def _flipped_labels(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if not _two_tensors(args) or not args[1].is_floating_point():
        return None
    return reference(args[0], 1 - args[1], **kwargs)


def _bce_formula(probs_of: Callable[[torch.Tensor], torch.Tensor]) -> Variant:
    """``−[y log p + (1 − y) log(1 − p)]`` with ``p = probs_of(args[0])``, no clamp, no identity."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not _two_tensors(args) or args[0].shape != args[1].shape:
            return None
        if any(k in kwargs for k in ("weight", "pos_weight")):
            return None
        probs, target = probs_of(args[0]), args[1]
        loss = -(target * probs.log() + (1 - target) * (1 - probs).log())
        return apply_reduction(loss, _reduction(kwargs))

    return variant


def _sigmoid_applied_twice_probs(
    reference: Callable, args: tuple, kwargs: dict
) -> torch.Tensor | None:
    if not _two_tensors(args):
        return None
    return reference(_sigmoid(args[0]), args[1], **kwargs)


# ---------------------------------------------------------------------------
# Multi-class.


def _label_smoothing_over_c_minus_1(
    reference: Callable, args: tuple, kwargs: dict
) -> torch.Tensor | None:
    eps = float(kwargs.get("label_smoothing", 0.0))
    if eps == 0.0 or not _two_tensors(args) or args[1].is_floating_point():
        return None
    if args[0].dim() != 2 or args[0].shape[1] < 2 or args[1].shape != args[0].shape[:1]:
        return None
    log_probs = _log_softmax(args[0], dim=1)
    loss, target_weight = _smoothed_nll_terms(
        log_probs, args[1], kwargs, spread=log_probs.shape[1] - 1
    )
    return apply_reduction(loss, _reduction(kwargs), divisor=target_weight.sum())


def _without(option: str, *, when: Callable[[Any], bool]) -> Variant:
    """The reference called without keyword ``option`` (forgotten), if ``when(value)``."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if option not in kwargs or not when(kwargs[option]):
            return None
        return reference(*args, **{k: v for k, v in kwargs.items() if k != option})

    return variant


def _weights_in_plain_mean(first: Callable[[torch.Tensor], torch.Tensor]) -> Variant:
    """The class-weighted per-sample losses divided by the number of samples, not by Σ w_{y_i}."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if kwargs.get("weight") is None or _reduction(kwargs) != "mean" or not _two_tensors(args):
            return None
        log_probs, target = first(args[0]), args[1]
        if target.is_floating_point() or log_probs.dim() != 2:
            return None
        options = {**kwargs, "reduction": "none"}
        if reference is _nll_loss:
            options.pop("label_smoothing", None)
        loss = _cross_entropy_on(log_probs, target, options)
        if loss is None:
            return None
        labelled = (target != int(kwargs.get("ignore_index", -100))).sum()
        return apply_reduction(loss, "mean", divisor=labelled.to(loss.dtype))

    return variant


def _indices_broadcast_as_one_hot(first: Callable[[torch.Tensor], torch.Tensor]) -> Variant:
    """Code written for one-hot targets, given indices: ``(N,)`` broadcasts along the classes."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not _two_tensors(args) or args[1].is_floating_point() or args[0].dim() != 2:
            return None
        log_probs, target = first(args[0]), args[1]
        if target.shape[0] not in (1, log_probs.shape[1]):
            return None
        loss = -(target.to(log_probs.dtype) * log_probs).sum(dim=1)
        return apply_reduction(loss, _reduction(kwargs))

    return variant


_SHAPE_WORDS = (
    "size of tensor",
    "must match",
    "shape",
    "dimension",
    "broadcast",
    "expected scalar type",
    "dtype",
    "index",
    "indices",
    "same number",
    "mat1",
    "result type",
)


def _confuses_target_forms(error: BaseException, args: tuple, kwargs: dict) -> bool:
    """A shape/dtype/index error while the target is in the other form (indices vs one-hot)."""
    if not _two_tensors(args) or not isinstance(
        error, (RuntimeError, IndexError, ValueError, TypeError)
    ):
        return False
    text = str(error).lower()
    return any(word in text for word in _SHAPE_WORDS)


def _softmax_dim(kwargs: Mapping[str, Any]) -> int:
    return int(kwargs.get("dim", -1))


def _wrong_dim(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> Variant:
    """``fn`` along dim 0 (the batch) of a 2-D input instead of the class dimension."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not args or not isinstance(args[0], torch.Tensor) or args[0].dim() != 2:
            return None
        if args[0].shape[0] < 2 or _softmax_dim(kwargs) % 2 != 1:
            return None
        return fn(args[0], 0)

    return variant


def _whole_tensor_softmax(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if (
        not args
        or not isinstance(args[0], torch.Tensor)
        or args[0].dim() != 2
        or args[0].shape[0] < 2
    ):
        return None
    logits = args[0]
    max_logit = logits.max()
    exps = (logits - max_logit).exp()
    return exps / exps.sum()


def _unary(fn: Callable[[torch.Tensor, dict], torch.Tensor]) -> Variant:
    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not args or not isinstance(args[0], torch.Tensor):
            return None
        return fn(args[0], kwargs)

    return variant


# ---------------------------------------------------------------------------
# Focal and triplet losses (chapter 6).

_focal_loss = _functional.sigmoid_focal_loss
_triplet_margin_loss = _functional.triplet_margin_loss


def _focal_variant(
    modulated: Callable[
        [torch.Tensor, torch.Tensor, torch.Tensor, float, float], torch.Tensor | None
    ],
    *,
    per_element_bce: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> Variant:
    """A focal loss built as ``modulated(probs, targets, bce, alpha, gamma)`` per element, then reduced.

    ``modulated`` returns ``None`` where its mistake changes nothing (e.g. α
    on the wrong class when α = 0.5). ``per_element_bce`` replaces the stable
    BCE-with-logits, for the overflow mistake.
    """

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not _two_tensors(args) or args[0].shape != args[1].shape:
            return None
        logits, targets = args[0], args[1]
        alpha, gamma = float(kwargs.get("alpha", 0.25)), float(kwargs.get("gamma", 2.0))
        bce = (
            _bce_with_logits(logits, targets, reduction="none")
            if per_element_bce is None
            else per_element_bce(logits, targets)
        )
        loss = modulated(_sigmoid(logits), targets, bce, alpha, gamma)
        if loss is None:
            return None
        return apply_reduction(loss, kwargs.get("reduction", "none"))

    return variant


def _p_t(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return probs * targets + (1 - probs) * (1 - targets)


def _alpha_t(targets: torch.Tensor, alpha: float) -> torch.Tensor | float:
    return alpha * targets + (1 - alpha) * (1 - targets) if alpha >= 0 else 1.0


def _focal_alpha_on_negatives(
    probs: torch.Tensor, targets: torch.Tensor, bce: torch.Tensor, alpha: float, gamma: float
) -> torch.Tensor | None:
    if alpha < 0 or alpha == 0.5:
        return None
    alpha_swapped = alpha * (1 - targets) + (1 - alpha) * targets
    return alpha_swapped * (1 - _p_t(probs, targets)) ** gamma * bce


def _focal_modulated(
    probs: torch.Tensor, targets: torch.Tensor, bce: torch.Tensor, alpha: float, gamma: float
) -> torch.Tensor:
    return _alpha_t(targets, alpha) * (1 - _p_t(probs, targets)) ** gamma * bce


def _bce_of_sigmoid(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``−[y log σ(z) + (1 − y) log(1 − σ(z))]`` with σ(z) formed first: log(0) at large |z|."""
    probs = torch.sigmoid(logits)
    return -(targets * probs.log() + (1 - targets) * (1 - probs).log())


def _reduced_instead_of_none(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if kwargs.get("reduction", "none") != "none":
        return None
    return reference(*args, **{**kwargs, "reduction": "mean"})


def _triplet_args(args: tuple, kwargs: dict) -> tuple | None:
    """anchor, positive, negative, margin and eps of a plain Euclidean triplet call, or ``None``."""
    if len(args) < 3 or not all(isinstance(a, torch.Tensor) for a in args[:3]):
        return None
    if kwargs.get("swap", False) or float(kwargs.get("p", 2)) != 2:
        return None
    return (*args[:3], float(kwargs.get("margin", 1.0)), float(kwargs.get("eps", 1e-6)))


def _triplet_variant(
    distance: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor | None],
    *,
    hinge: bool = True,
) -> Variant:
    """``reduce(max(0, margin + d(a, p) − d(a, n)))`` with a wrong ``d`` (or no ``max``)."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        parsed = _triplet_args(args, kwargs)
        if parsed is None:
            return None
        anchor, positive, negative, margin, eps = parsed
        distance_positive = distance(anchor, positive, eps)
        distance_negative = distance(anchor, negative, eps)
        if distance_positive is None or distance_negative is None:
            return None
        gap = margin + distance_positive - distance_negative
        return apply_reduction(gap.clamp_min(0) if hinge else gap, _reduction(kwargs))

    return variant


def _euclidean(x1: torch.Tensor, x2: torch.Tensor, eps: float) -> torch.Tensor:
    return ((x1 - x2 + eps) ** 2).sum(dim=-1).sqrt()


def _euclidean_over_batch(x1: torch.Tensor, x2: torch.Tensor, eps: float) -> torch.Tensor | None:
    if x1.dim() != 2 or x1.shape[0] < 2:
        return None
    return ((x1 - x2 + eps) ** 2).sum(dim=0).sqrt()


def _triplet_with(**changed: Any) -> Variant:
    """The reference with some options changed (``eps=0``, ``p=1``), if the call used the default."""

    def variant(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
        if _triplet_args(args, kwargs) is None:
            return None
        return reference(*args, **{**kwargs, **changed})

    return variant


def _triplet_swapped(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    if _triplet_args(args, kwargs) is None:
        return None
    return reference(args[0], args[2], args[1], *args[3:], **kwargs)


def _triplet_cases(seed: int = 0) -> tuple[_cases.Case, ...]:
    """``(anchor, positive, negative)`` embeddings of shape ``(N, D)``, smallest first.

    A triplet whose anchor equals its positive checks the gradient where
    ``‖a − p‖`` has none (torch's ``eps`` keeps it finite); the others mix
    triplets inside the margin (loss > 0) and beyond it (loss 0), and none sits
    exactly on the hinge.
    """
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=dtype)

    def triplet(name: str, n: int, d: int, spread: float = 1.0, **options: Any) -> _cases.Case:
        anchor = spread * randn(n, d, **options)
        positive = anchor + 0.5 * spread * randn(n, d, **options)
        negative = anchor + spread * randn(n, d, **options)
        return _cases.Case(name, (anchor, positive, negative), arg_names=names)

    names = ("anchor", "positive", "negative")
    anchor = torch.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, 0.0]])
    coincident = _cases.Case(
        "anchor equals positive in row 0: N=2, D=3",
        (
            anchor,
            anchor.clone() + torch.tensor([[0.0], [0.4]]),
            anchor + torch.tensor([[0.3], [2.0]]),
        ),
        arg_names=names,
    )
    cases = [
        _cases.Case(
            "one triplet: N=1, D=2",
            (torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[1.5, -0.5]])),
            arg_names=names,
        ),
        coincident,
        triplet("random: N=4, D=2", 4, 2),
        triplet("random: N=8, D=5", 8, 5),
        triplet("random in float64: N=6, D=3", 6, 3, dtype=torch.float64),
        triplet("random: N=16, D=16", 16, 16),
        triplet("large embeddings (scale 100): N=5, D=8", 5, 8, spread=100.0),
    ]
    return tuple(sorted(cases, key=lambda case: case.size))


def _bce_softplus_overflow(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """``(1 − y)·z + log(1 + exp(−z))``: exact until ``exp(−z)`` overflows."""
    if not _two_tensors(args) or args[0].shape != args[1].shape:
        return None
    if any(k in kwargs for k in ("weight", "pos_weight")):
        return None
    logits, target = args[0], args[1]
    loss = (1 - target) * logits + torch.log(1 + torch.exp(-logits))
    return apply_reduction(loss, _reduction(kwargs))


def _soft_targets_as_hard(reference: Callable, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Branching on ``target == 1``: every soft target counts as 0."""
    if not _two_tensors(args) or not args[1].is_floating_point():
        return None
    hard = (args[1] == 1).to(args[1].dtype)
    if torch.equal(hard, args[1]):
        return None
    return reference(args[0], hard, **kwargs)


# ---------------------------------------------------------------------------
# Mistakes of a training setup (chapter 7): class imbalance, a loss that does not
# fit the task, and balanced accuracy computed the wrong way. The checks of
# lossbook.checks.training name the first four; the last three have variants
# for check_close on a learner's balanced_accuracy(predicted, labels).

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


_TRAINING_MISTAKES = (
    IGNORING_CLASS_IMBALANCE,
    WEIGHTS_BY_FREQUENCY,
    MSE_ON_CLASS_INDICES,
    BCE_FOR_MULTICLASS,
    PLAIN_ACCURACY,
    PRECISION_INSTEAD_OF_RECALL,
    ABSENT_CLASS_COUNTED,
)


# ---------------------------------------------------------------------------
# The registry.


def _m(
    key: str,
    name: str,
    computes: str,
    fix: str,
    variant: Variant | None = None,
    recognises_error: ErrorTest | None = None,
    stability: bool = False,
) -> Mistake:
    return Mistake(key, name, computes, fix, variant, recognises_error, stability)


_LOG_SUM_EXP_FIX = (
    "Subtract each row's max before exp: log Σ exp z = m + log Σ exp(z − m) with m = max z "
    "(the log-sum-exp trick), or use torch.logsumexp / torch.log_softmax."
)

_SHARED_MISTAKES = (
    _m(
        "sum_instead_of_mean",
        "sum instead of mean (missing 1/N)",
        "Σ lᵢ: the per-element losses added up, N times the mean.",
        "Divide by the number of elements: use .mean() rather than .sum() "
        "(or divide the sum by target.numel()).",
        _sum_instead_of_mean,
    ),
    _m(
        "mean_instead_of_sum",
        "mean instead of sum",
        "the mean of the per-element losses, the sum divided by N.",
        "This exercise asks for the sum: use .sum() rather than .mean().",
        _mean_instead_of_sum,
    ),
    _m(
        "no_reduction",
        "not reduced to one number",
        "the per-element losses, one value per element, instead of a single number.",
        "Reduce them: return their mean, e.g. loss.mean() (a 0-d tensor).",
        _no_reduction,
    ),
    _m(
        "missing_minus",
        "missing minus sign",
        "the negative of the expected value: Σ log p rather than −Σ log p.",
        "A log-probability is ≤ 0, so the loss is minus it: put a minus sign in front "
        "(−log p), and check it with a loss that must come out positive.",
        _negated,
    ),
)
"""The reduction and the sign: every loss can get them wrong."""

_REGRESSION_MISTAKES = (
    _m(
        "missing_square",
        "missing square",
        "mean(ŷ − y), the mean signed difference: positive and negative errors cancel.",
        "Square each difference before averaging: ((pred − target) ** 2).mean().",
        _residual_variant(lambda r, kw: r),
    ),
    _m(
        "mae_instead_of_mse",
        "absolute value instead of square (this is the MAE)",
        "mean |ŷ − y|, the mean absolute error (L1 loss), not the mean squared error.",
        "Square each difference: ((pred − target) ** 2).mean().",
        _residual_variant(lambda r, kw: r.abs()),
    ),
    _m(
        "rmse_instead_of_mse",
        "root of the mean (this is the RMSE)",
        "√mean((ŷ − y)²), the root-mean-square error.",
        "Drop the square root: the MSE is the mean of the squared differences.",
        _root_of_mean,
    ),
    _m(
        "half_mse",
        "a factor ½ too many",
        "½·mean((ŷ − y)²): the ½ some textbooks put in front to simplify the gradient.",
        "torch's mse_loss has no ½: return ((pred − target) ** 2).mean().",
        _halved,
    ),
    _m(
        "pairwise_broadcast",
        "(N, 1) vs (N,) broadcast",
        "the loss over all N×N pairs (predᵢ, targetⱼ): a column (N, 1) minus a vector (N,) "
        "broadcasts to (N, N).",
        "Make the shapes equal before subtracting: pred.squeeze(-1) (or target.unsqueeze(-1)); "
        "print pred.shape and target.shape to see them.",
        _pairwise_broadcast,
    ),
    _m(
        "missing_abs",
        "missing absolute value",
        "mean(ŷ − y), the mean signed difference: positive and negative errors cancel.",
        "Take the absolute value of each difference: (pred − target).abs().mean().",
        _residual_variant(lambda r, kw: r),
    ),
    _m(
        "mse_instead_of_mae",
        "square instead of absolute value (this is the MSE)",
        "mean((ŷ − y)²), the mean squared error, not the mean absolute error.",
        "Use the absolute value, not the square: (pred − target).abs().mean().",
        _residual_variant(lambda r, kw: r**2),
    ),
    _m(
        "huber_missing_half",
        "missing ½ in Huber's quadratic part",
        "(ŷ − y)² where |ŷ − y| ≤ δ, instead of ½(ŷ − y)²: the two pieces no longer meet at |r| = δ.",
        "Use ½·r² for |r| ≤ δ and δ·(|r| − ½δ) beyond.",
        _residual_variant(lambda r, kw: _huber_terms(r, _delta(kw, "delta"), half=1.0)),
    ),
    _m(
        "huber_missing_offset",
        "missing −½δ in Huber's linear part",
        "δ·|ŷ − y| where |ŷ − y| > δ, instead of δ·(|ŷ − y| − ½δ): the loss jumps at |r| = δ.",
        "Use δ·(|r| − ½δ) for |r| > δ, so both pieces equal ½δ² at |r| = δ.",
        _residual_variant(lambda r, kw: _huber_terms(r, _delta(kw, "delta"), linear_offset=False)),
    ),
    _m(
        "huber_swapped_branches",
        "Huber's two pieces swapped",
        "the linear piece for small residuals and the quadratic piece for large ones.",
        "Quadratic where |r| ≤ δ (small errors), linear where |r| > δ (outliers).",
        _residual_variant(_swapped_branches),
    ),
    _m(
        "smooth_l1_instead_of_huber",
        "smooth L1 instead of Huber",
        "smooth_l1 with β = δ, which is Huber divided by δ.",
        "Huber = δ · smooth_l1(β = δ): quadratic part ½r², linear part δ(|r| − ½δ).",
        _smooth_l1_as_huber,
    ),
    _m(
        "huber_instead_of_smooth_l1",
        "Huber instead of smooth L1",
        "huber with δ = β, which is β times smooth L1.",
        "smooth L1 divides the quadratic part by β: ½r²/β for |r| < β, |r| − ½β beyond.",
        _huber_as_smooth_l1,
    ),
    _m(
        "smooth_l1_missing_beta",
        "missing /β in smooth L1's quadratic part",
        "½r² for |r| < β instead of ½r²/β: the pieces no longer meet at |r| = β.",
        "Divide the quadratic part by β: 0.5 * r**2 / beta.",
        _residual_variant(_smooth_l1_without_beta),
    ),
)
"""MSE, MAE, Huber and Smooth L1."""

_BINARY_MISTAKES = (
    _m(
        "sigmoid_before_with_logits",
        "sigmoid applied before a with-logits loss",
        "BCEWithLogits(sigmoid(z)): the sigmoid is applied twice, so each sample's loss is "
        "confined to [log(1+e⁻¹), log(1+e)] ≈ [0.31, 1.31], it can never reach 0, and the "
        "gradients shrink.",
        "Pass the raw logits: binary_cross_entropy_with_logits applies the sigmoid itself.",
        _on_transformed_input(_sigmoid),
    ),
    _m(
        "flipped_labels",
        "labels flipped",
        "the loss for target 1 − y: log(1 − p) where the target is 1 and log p where it is 0.",
        "Pair the target with log p: −[y·log p + (1 − y)·log(1 − p)].",
        _flipped_labels,
    ),
    _m(
        "bce_on_logits",
        "logits used as probabilities",
        "−[y log z + (1 − y) log(1 − z)] on raw logits z: log of a negative number is NaN.",
        "Turn logits into probabilities first (p = sigmoid(z)), or better, use the stable "
        "with-logits form: log p = log σ(z), log(1 − p) = log σ(−z).",
        _bce_formula(lambda logits: logits),
    ),
    _m(
        "unstable_log_sigmoid",
        "log(0) for large logits: log(sigmoid(z))",
        "log(sigmoid(z)) and log(1 − sigmoid(z)): sigmoid(±1e4) rounds to exactly 1 or 0, "
        "and log(0) = −inf.",
        "Never form sigmoid(z) before the log: use log σ(z) = −softplus(−z) and "
        "log(1 − σ(z)) = log σ(−z) (torch.nn.functional.logsigmoid), i.e. "
        "max(z, 0) − z·y + log(1 + exp(−|z|)).",
        _bce_formula(torch.sigmoid),
        stability=True,
    ),
    _m(
        "bce_exp_overflow",
        "exp overflows: log(1 + exp(−z))",
        "(1 − y)·z + log(1 + exp(−z)): exp(−z) overflows to inf for very negative logits "
        "(z ≲ −88 in float32), so the loss is inf.",
        "Pull the large part out of the log: log(1 + exp(−z)) = max(−z, 0) + log(1 + exp(−|z|)), "
        "i.e. max(z, 0) − z·y + log(1 + exp(−|z|)).",
        _bce_softplus_overflow,
        stability=True,
    ),
    _m(
        "soft_targets_as_hard",
        "soft targets treated as 0",
        "the loss with every target that is not exactly 1 replaced by 0 (a branch on "
        "target == 1): a soft target such as 0.7 counts as a negative.",
        "Use the formula, which is linear in y: −[y·log σ(z) + (1 − y)·log σ(−z)], instead of "
        "branching on the label.",
        _soft_targets_as_hard,
    ),
    _m(
        "unclamped_log",
        "log(0) = −inf: no clamp",
        "−[y log p + (1 − y) log(1 − p)] with p exactly 0 or 1: log(0) = −inf, and 0·(−inf) is NaN.",
        "Clamp the logs as torch does: log(p).clamp(min=−100) and log(1 − p).clamp(min=−100); "
        "better, work with logits and binary_cross_entropy_with_logits.",
        _bce_formula(lambda probs: probs),
        stability=True,
    ),
    _m(
        "sigmoid_on_probabilities",
        "sigmoid applied to probabilities",
        "BCE(sigmoid(p)): the input is already a probability; squashing it again pulls every "
        "prediction towards 0.5–0.73.",
        "Pass the probabilities as they are.",
        _sigmoid_applied_twice_probs,
    ),
    _m(
        "naive_log_sigmoid",
        "log(0) for large negative logits",
        "log(sigmoid(z)), which is log(0) = −inf once sigmoid(z) rounds to 0 (z ≲ −104 in float32).",
        "Use log σ(z) = min(z, 0) − log(1 + exp(−|z|)): the exponent never exceeds 0.",
        _unary(lambda z, kw: torch.sigmoid(z).log()),
        stability=True,
    ),
    _m(
        "sigmoid_sign",
        "sign flipped in the exponent",
        "1 / (1 + exp(z)) = σ(−z), the probability of the other class.",
        "σ(z) = 1 / (1 + exp(−z)).",
        _unary(lambda z, kw: 1 / (1 + z.exp())),
    ),
)
"""Sigmoid, binary cross-entropy and its with-logits form."""

_MULTICLASS_MISTAKES = (
    _m(
        "softmax_twice",
        "softmax applied twice",
        "cross-entropy of softmax(z): the logits were already turned into probabilities before a "
        "loss that applies softmax itself; losses stay near log C and gradients shrink.",
        "Pass the raw logits (the model's last Linear output) to cross_entropy; no softmax before it.",
        _on_transformed_input(lambda z: _softmax(z, dim=1) if z.dim() == 2 else _softmax(z, dim=0)),
    ),
    _m(
        "picks_logit",
        "picking the logit without normalising",
        "−z_y, minus the target's raw logit (log-probabilities replaced by logits): it forgets "
        "log Σ exp z, so it can be negative.",
        "Turn the logits into log-probabilities first: log p = z − logsumexp(z) "
        "(torch.log_softmax(z, dim=1)), then pick −log p_y.",
        _ce_variant(lambda z: z),
    ),
    _m(
        "log_of_logits",
        "log of the logits",
        "−log z_y: the log of a raw logit, NaN wherever the logit is negative.",
        "Logits are not probabilities: use log_softmax(z) to get log-probabilities.",
        _ce_variant(lambda z: z.log()),
    ),
    _m(
        "no_max_subtraction",
        "no max-subtraction: exp overflows",
        "log Σ exp z without subtracting the max: exp(z) overflows to inf for large logits "
        "(z ≳ 89 in float32), giving inf or NaN.",
        _LOG_SUM_EXP_FIX,
        _ce_variant(_naive_log_softmax),
        stability=True,
    ),
    _m(
        "log_of_softmax",
        "log(softmax(z)): log(0) for confident logits",
        "log(softmax(z)): a probability that rounds to 0 gives log(0) = −inf.",
        "Compute log-probabilities directly: z − logsumexp(z) (torch.log_softmax), "
        "never log of a softmax.",
        _ce_variant(lambda z: _softmax(z, dim=-1).log()),
        stability=True,
    ),
    _m(
        "label_smoothing_c_minus_1",
        "label smoothing spread over C − 1 classes",
        "ε/(C − 1) on each wrong class and 1 − ε on the target; torch spreads ε over all C "
        "classes (ε/C each, the target included, so the target gets 1 − ε + ε/C).",
        "Mix with the uniform distribution over all C classes: q = (1 − ε)·one_hot + ε/C.",
        _label_smoothing_over_c_minus_1,
    ),
    _m(
        "label_smoothing_ignored",
        "label smoothing left out",
        "plain cross-entropy, as if label_smoothing were 0.",
        "Mix the target with the uniform distribution: q = (1 − ε)·one_hot + ε/C, "
        "then loss = −Σ q log p.",
        _without("label_smoothing", when=lambda eps: float(eps) > 0),
    ),
    _m(
        "weights_in_plain_mean",
        "class weights in a plain mean",
        "Σ w_{yᵢ} lᵢ / N: the weighted losses divided by N.",
        "With class weights the mean is Σ w_{yᵢ} lᵢ / Σ w_{yᵢ}: divide by the sum of the "
        "weights of the targets, not by N.",
        _weights_in_plain_mean(lambda z: _log_softmax(z, dim=1)),
    ),
    _m(
        "weights_ignored",
        "class weights left out",
        "the unweighted loss.",
        "Multiply each sample's loss by w_{yᵢ} (weight[target]) and divide by Σ w_{yᵢ}.",
        _without("weight", when=lambda w: w is not None),
    ),
    _m(
        "one_hot_vs_index",
        "class indices vs one-hot confusion",
        "code for one target form run on the other: class indices (an integer tensor of shape "
        "(N,)) treated like one-hot rows, or one-hot / probability rows (a float tensor of "
        "shape (N, C)) used as indices.",
        "Class indices: pick each row's log-probability, log_probs[torch.arange(N), target] "
        "(or log_probs.gather(1, target.unsqueeze(1))). One-hot or probabilities: "
        "−(target * log_probs).sum(dim=1). Print target.shape and target.dtype.",
        _indices_broadcast_as_one_hot(lambda z: _log_softmax(z, dim=1)),
        recognises_error=_confuses_target_forms,
    ),
    _m(
        "nll_weights_in_plain_mean",
        "class weights in a plain mean",
        "Σ w_{yᵢ} lᵢ / N: the weighted losses divided by N.",
        "With class weights the mean is Σ w_{yᵢ} lᵢ / Σ w_{yᵢ}: divide by the sum of the "
        "weights of the targets, not by N.",
        _weights_in_plain_mean(lambda lp: lp),
    ),
    _m(
        "nll_one_hot_vs_index",
        "class indices vs one-hot confusion",
        "code for one-hot targets run on class indices (an integer tensor of shape (N,)).",
        "Pick each row's log-probability: −log_probs[torch.arange(N), target].mean() "
        "(or log_probs.gather(1, target.unsqueeze(1))). Print target.shape and target.dtype.",
        _indices_broadcast_as_one_hot(lambda lp: lp),
        recognises_error=_confuses_target_forms,
    ),
    _m(
        "softmax_wrong_dim",
        "softmax over the wrong dimension",
        "softmax along dim 0, across the batch: each column sums to 1 instead of each row.",
        "Normalise over the classes: dim=1 (or dim=-1) for logits of shape (N, C).",
        _wrong_dim(lambda z, dim: _softmax(z, dim=dim)),
    ),
    _m(
        "softmax_whole_tensor",
        "normalised over the whole tensor",
        "exp(z) / Σ over every entry of the batch: all N·C probabilities sum to 1 together.",
        "Sum over the class dimension only, keeping it for broadcasting: "
        "exps / exps.sum(dim=1, keepdim=True).",
        _whole_tensor_softmax,
    ),
    _m(
        "softmax_no_exp",
        "normalised without exp",
        "z / Σ z: the logits divided by their sum, which can be negative or infinite.",
        "Exponentiate first: exp(z − max z) / Σ exp(z − max z).",
        _unary(lambda z, kw: z / z.sum(dim=_softmax_dim(kw), keepdim=True)),
    ),
    _m(
        "softmax_overflow",
        "no max-subtraction: exp overflows",
        "exp(z) / Σ exp(z) without subtracting the max: exp overflows to inf for large logits "
        "(z ≳ 89 in float32) and inf/inf is NaN.",
        "Subtract each row's max first: exp(z − m) / Σ exp(z − m) with m = z.max(dim, keepdim=True) "
        "(same value, no overflow).",
        _unary(lambda z, kw: _naive_softmax(z, _softmax_dim(kw))),
        stability=True,
    ),
    _m(
        "log_softmax_wrong_dim",
        "log-softmax over the wrong dimension",
        "log_softmax along dim 0, across the batch, instead of over the classes.",
        "Use dim=1 (or dim=-1) for logits of shape (N, C).",
        _wrong_dim(lambda z, dim: _log_softmax(z, dim=dim)),
    ),
    _m(
        "log_softmax_overflow",
        "no max-subtraction: exp overflows",
        "z − log Σ exp z without subtracting the max: inf or NaN for large logits.",
        _LOG_SUM_EXP_FIX,
        _unary(lambda z, kw: _naive_log_softmax(z, _softmax_dim(kw))),
        stability=True,
    ),
    _m(
        "log_softmax_log_of_softmax",
        "log(softmax(z)): log(0) for confident logits",
        "log(softmax(z)): a probability that rounds to 0 gives log(0) = −inf.",
        "Compute z − logsumexp(z) directly (keepdim=True so it broadcasts); never log a softmax.",
        _unary(lambda z, kw: _softmax(z, dim=_softmax_dim(kw)).log()),
        stability=True,
    ),
    _m(
        "log_softmax_negated",
        "sign flipped",
        "−log_softmax(z) = logsumexp(z) − z, the per-class NLL rather than the log-probabilities.",
        "log_softmax(z) = z − logsumexp(z), which is ≤ 0.",
        _unary(lambda z, kw: -_log_softmax(z, dim=_softmax_dim(kw))),
    ),
    _m(
        "logsumexp_overflow",
        "no max-subtraction: exp overflows",
        "log Σ exp z computed directly: inf for large logits.",
        _LOG_SUM_EXP_FIX,
        _unary(lambda z, kw: z.exp().sum(dim=_softmax_dim(kw)).log()),
        stability=True,
    ),
    _m(
        "logsumexp_max_only",
        "the max only",
        "max z, which is only a lower bound of log Σ exp z.",
        "Add back the rest: m + log Σ exp(z − m).",
        _unary(lambda z, kw: z.amax(dim=_softmax_dim(kw))),
    ),
    _m(
        "logsumexp_missing_max",
        "max subtracted but not added back",
        "log Σ exp(z − m), which is log Σ exp z minus m.",
        "Add m back after the log: m + log Σ exp(z − m).",
        _unary(
            lambda z, kw: _logsumexp(
                z - z.amax(dim=_softmax_dim(kw), keepdim=True), dim=_softmax_dim(kw)
            )
        ),
    ),
)
"""Softmax, log-softmax, logsumexp, cross-entropy and NLL."""

_FOCAL_MISTAKES = (
    _m(
        "focal_alpha_wrong_class",
        "alpha applied to the wrong class",
        "α on the negatives and 1 − α on the positives: α_t = α·(1 − y) + (1 − α)·y.",
        "α weights the positive class: α_t = α·y + (1 − α)·(1 − y), so α = 0.25 gives "
        "positives 0.25 and negatives 0.75.",
        _focal_variant(_focal_alpha_on_negatives),
    ),
    _m(
        "focal_missing_modulation",
        "missing (1 − p_t)^γ factor",
        "α_t · BCE-with-logits: the α-weighted cross-entropy, with no down-weighting of easy "
        "examples.",
        "Multiply each element's BCE by (1 − p_t) ** gamma, with p_t = p·y + (1 − p)·(1 − y) "
        "and p = sigmoid(logits).",
        _focal_variant(lambda p, y, bce, a, g: None if g == 0 else _alpha_t(y, a) * bce),
    ),
    _m(
        "focal_p_instead_of_p_t",
        "(1 − p)^γ instead of (1 − p_t)^γ",
        "(1 − p)^γ with p = sigmoid(logits) for every example: right for positives, but a "
        "negative is down-weighted when the model wrongly calls it positive.",
        "Use the probability of the true label: p_t = p·y + (1 − p)·(1 − y).",
        _focal_variant(
            lambda p, y, bce, a, g: None if g == 0 else _alpha_t(y, a) * (1 - p) ** g * bce
        ),
    ),
    _m(
        "focal_p_t_to_the_gamma",
        "p_t^γ instead of (1 − p_t)^γ",
        "p_t^γ · BCE: easy examples (p_t near 1) keep their full weight and hard ones are "
        "turned down, the opposite of focal loss.",
        "The factor is (1 − p_t) ** gamma: near 0 when the model is already right.",
        _focal_variant(
            lambda p, y, bce, a, g: None if g == 0 else _alpha_t(y, a) * _p_t(p, y) ** g * bce
        ),
    ),
    _m(
        "focal_alpha_ignored",
        "alpha left out",
        "(1 − p_t)^γ · BCE without the class weight α_t.",
        "Multiply by α_t = α·y + (1 − α)·(1 − y) when alpha >= 0 (alpha < 0 turns it off).",
        _focal_variant(lambda p, y, bce, a, g: None if a < 0 else (1 - _p_t(p, y)) ** g * bce),
    ),
    _m(
        "focal_unstable_log",
        "log(0) for large logits: log(sigmoid(z))",
        "the cross-entropy part as −[y log σ(z) + (1 − y) log(1 − σ(z))]: sigmoid(±1e4) rounds "
        "to exactly 1 or 0, and log(0) = −inf.",
        "Compute the cross-entropy from the logits: log σ(z) = logsigmoid(z) and "
        "log(1 − σ(z)) = logsigmoid(−z) (torch.nn.functional.logsigmoid).",
        _focal_variant(_focal_modulated, per_element_bce=_bce_of_sigmoid),
        stability=True,
    ),
    _m(
        "reduced_instead_of_none",
        "reduced to one number",
        "the mean of the per-element losses, where one loss per element was asked for "
        "(reduction='none', torchvision's default for focal loss).",
        "Return the per-element losses, the same shape as the logits: no .mean() or .sum().",
        _reduced_instead_of_none,
    ),
)
"""Focal loss (torchvision's sigmoid_focal_loss)."""

_TRIPLET_MISTAKES = (
    _m(
        "triplet_squared_distance",
        "squared distance instead of distance",
        "‖a − p‖² and ‖a − n‖²: squared Euclidean distances, so margin and loss are on "
        "another scale.",
        "Take the square root of the summed squares: ((a - p + eps) ** 2).sum(dim=-1).sqrt().",
        _triplet_variant(lambda x1, x2, eps: ((x1 - x2 + eps) ** 2).sum(dim=-1)),
    ),
    _m(
        "triplet_no_hinge",
        "hinge without max(0, ·)",
        "margin + d(a, p) − d(a, n) without clamping at 0: triplets already beyond the margin "
        "give negative losses and keep pushing.",
        "Clamp at zero: (margin + d_ap - d_an).clamp(min=0) (or torch.relu).",
        _triplet_variant(_euclidean, hinge=False),
    ),
    _m(
        "triplet_swapped",
        "positive and negative swapped",
        "max(0, margin + d(a, n) − d(a, p)): it pulls the negative in and pushes the positive "
        "away.",
        "The positive's distance is added, the negative's subtracted: margin + d(a, p) − d(a, n).",
        _triplet_swapped,
    ),
    _m(
        "triplet_distance_over_batch",
        "distance over the batch dimension",
        "norms along dim 0 (across the N triplets) instead of along the embedding dimension.",
        "Sum over the last dimension, one distance per row: .sum(dim=-1).",
        _triplet_variant(_euclidean_over_batch),
    ),
    _m(
        "triplet_l1_distance",
        "L1 distance instead of Euclidean",
        "Σ |a − p|, the Manhattan distance (p = 1), instead of the Euclidean one.",
        "Square, sum over the last dimension, then take the square root.",
        _triplet_with(p=1),
    ),
    _m(
        "triplet_no_eps_norm",
        "distance without torch's eps",
        "‖a − p‖ instead of ‖a − p + eps‖: where the anchor equals the positive, norm() "
        "gives the gradient 0 and the anchor stops moving.",
        "Add eps (1e-6) to every component of the difference, as torch does: "
        "((a - p + eps) ** 2).sum(dim=-1).sqrt().",
        _triplet_with(eps=0.0),
    ),
    _m(
        "triplet_no_eps_sqrt",
        "distance without torch's eps",
        "sqrt(Σ (a − p)²) instead of ‖a − p + eps‖: where the anchor equals the positive the "
        "square root's slope is infinite, and the gradient is NaN.",
        "Add eps (1e-6) to every component of the difference, as torch does: "
        "((a - p + eps) ** 2).sum(dim=-1).sqrt().",
        _triplet_variant(lambda x1, x2, eps: ((x1 - x2) ** 2).sum(dim=-1).sqrt()),
    ),
)
"""Triplet margin loss."""


def _catalogue(*families: tuple[Mistake, ...]) -> dict[str, Mistake]:
    """One dict of every mistake, by key; a key used twice is a bug in the catalogue."""
    catalogue: dict[str, Mistake] = {}
    for mistake in (m for family in families for m in family):
        if mistake.key in catalogue:
            raise ValueError(f"two mistakes share the key {mistake.key!r}")
        catalogue[mistake.key] = mistake
    return catalogue


MISTAKES: dict[str, Mistake] = _catalogue(
    _SHARED_MISTAKES,
    _REGRESSION_MISTAKES,
    _BINARY_MISTAKES,
    _MULTICLASS_MISTAKES,
    _FOCAL_MISTAKES,
    _TRIPLET_MISTAKES,
    _TRAINING_MISTAKES,
)
"""Every known mistake, by key: one catalogue, one family of mistakes after another."""

_LOSS_SHARED = ("sum_instead_of_mean", "mean_instead_of_sum", "no_reduction")


def _zero_residual(pred: Any, target: Any, *rest: Any) -> bool:
    return bool((pred == target).any())


def _zero_logit(logits: Any, *rest: Any) -> bool:
    return bool((logits == 0).any())


def _certain_probability(probs: Any, *rest: Any) -> bool:
    return bool(((probs == 0) | (probs == 1)).any())


REFERENCES: dict[str, Reference] = {
    r.name: r
    for r in (
        Reference(
            "mse_loss",
            _mse_loss,
            _cases.REGRESSION_CASES,
            (
                *_LOSS_SHARED,
                "missing_square",
                "mae_instead_of_mse",
                "rmse_instead_of_mse",
                "half_mse",
                "pairwise_broadcast",
            ),
        ),
        Reference(
            "l1_loss",
            _l1_loss,
            _cases.REGRESSION_CASES,
            (*_LOSS_SHARED, "missing_abs", "mse_instead_of_mae", "pairwise_broadcast"),
            kink=_zero_residual,
        ),
        Reference(
            "huber_loss",
            _huber_loss,
            _cases.REGRESSION_CASES,
            (
                *_LOSS_SHARED,
                "huber_missing_half",
                "huber_missing_offset",
                "huber_swapped_branches",
                "smooth_l1_instead_of_huber",
                "pairwise_broadcast",
            ),
        ),
        Reference(
            "smooth_l1_loss",
            _smooth_l1_loss,
            _cases.REGRESSION_CASES,
            (
                *_LOSS_SHARED,
                "smooth_l1_missing_beta",
                "huber_instead_of_smooth_l1",
                "pairwise_broadcast",
            ),
        ),
        Reference(
            "binary_cross_entropy_with_logits",
            _bce_with_logits,
            _cases.BINARY_CASES,
            (
                *_LOSS_SHARED,
                "missing_minus",
                "sigmoid_before_with_logits",
                "flipped_labels",
                "bce_on_logits",
                "unstable_log_sigmoid",
                "bce_exp_overflow",
                "soft_targets_as_hard",
            ),
            kink=_zero_logit,
        ),
        Reference(
            "binary_cross_entropy",
            _bce,
            _cases.PROBABILITY_CASES,
            (
                *_LOSS_SHARED,
                "missing_minus",
                "flipped_labels",
                "sigmoid_on_probabilities",
                "unclamped_log",
                "soft_targets_as_hard",
            ),
            kink=_certain_probability,
        ),
        Reference(
            "cross_entropy",
            _cross_entropy,
            _cases.MULTICLASS_CASES,
            (
                *_LOSS_SHARED,
                "missing_minus",
                "softmax_twice",
                "picks_logit",
                "log_of_logits",
                "label_smoothing_c_minus_1",
                "label_smoothing_ignored",
                "weights_in_plain_mean",
                "weights_ignored",
                "one_hot_vs_index",
                "no_max_subtraction",
                "log_of_softmax",
            ),
            target="index",
        ),
        Reference(
            "nll_loss",
            _nll_loss,
            _cases.LOG_PROB_CASES,
            (
                *_LOSS_SHARED,
                "missing_minus",
                "nll_weights_in_plain_mean",
                "weights_ignored",
                "nll_one_hot_vs_index",
            ),
            target="index",
        ),
        Reference(
            "softmax",
            _softmax,
            _cases.LOGIT_CASES,
            ("softmax_wrong_dim", "softmax_whole_tensor", "softmax_no_exp", "softmax_overflow"),
        ),
        Reference(
            "log_softmax",
            _log_softmax,
            _cases.LOGIT_CASES,
            (
                "log_softmax_wrong_dim",
                "log_softmax_negated",
                "log_softmax_overflow",
                "log_softmax_log_of_softmax",
            ),
        ),
        Reference(
            "logsumexp",
            _logsumexp_last,
            _cases.LOGIT_CASES,
            ("logsumexp_max_only", "logsumexp_missing_max", "logsumexp_overflow"),
        ),
        Reference("sigmoid", _sigmoid, _cases.BINARY_LOGIT_CASES, ("sigmoid_sign",)),
        Reference("log_sigmoid", _log_sigmoid, _cases.BINARY_LOGIT_CASES, ("naive_log_sigmoid",)),
        Reference(
            "sigmoid_focal_loss",
            _focal_loss,
            _cases.BINARY_CASES,
            (
                "reduced_instead_of_none",
                "missing_minus",
                "focal_alpha_wrong_class",
                "focal_missing_modulation",
                "focal_p_instead_of_p_t",
                "focal_p_t_to_the_gamma",
                "focal_alpha_ignored",
                "focal_unstable_log",
            ),
            kink=_zero_logit,
        ),
        Reference(
            "triplet_margin_loss",
            _triplet_margin_loss,
            _triplet_cases(),
            (
                *_LOSS_SHARED,
                "triplet_squared_distance",
                "triplet_no_hinge",
                "triplet_swapped",
                "triplet_distance_over_batch",
                "triplet_l1_distance",
                "triplet_no_eps_norm",
                "triplet_no_eps_sqrt",
            ),
        ),
    )
}
"""Every reference the checks know by name."""

_ACTIVATION_ALIASES = {"logsigmoid": "log_sigmoid"}
"""torch's spelling of an activation the checks know by lossbook's name."""

ALIASES = {
    alias: loss.name
    for loss in _REGISTERED_LOSSES
    if loss.name in REFERENCES
    for alias in loss.aliases
} | _ACTIVATION_ALIASES
"""Short names accepted for references: the registry's aliases of each loss (``"mse"``,
``"mae"``, ``"ce"``, ``"CrossEntropyLoss"``...), and torch's ``"logsigmoid"``. Any spelling
:func:`lossbook.losses.registry.spec` understands is accepted too."""


def _reference_name(text: str) -> str | None:
    """The name of the reference ``text`` stands for, or ``None``."""
    if text in REFERENCES:
        return text
    if text in ALIASES:
        return ALIASES[text]
    try:
        name = loss_spec(text).name
    except UnknownLossError:
        return None
    return name if name in REFERENCES else None


_ORIGINAL_FUNCTIONS = {id(r.fn): r.name for r in REFERENCES.values()}
_TORCH_FUNCTIONS = {
    id(fn): name
    for name in REFERENCES
    for fn in (getattr(torch.nn.functional, name, None), getattr(torch, name, None))
    if fn is not None
}
_TORCH_FUNCTIONS[id(torch.nn.functional.logsigmoid)] = "log_sigmoid"
_TORCH_FUNCTIONS[id(torch.sigmoid)] = "sigmoid"


def resolve_reference(reference: str | Callable[..., torch.Tensor]) -> Reference:
    """The captured :class:`Reference` for a name, alias, or torch/lossbook function.

    A function is matched by identity with the originals captured at import,
    and also with whatever ``torch.nn.functional`` / ``lossbook.functional``
    hold under a known name right now (so a learner who rebinds
    ``F.mse_loss`` before the test cell passes ``F.mse_loss`` still gets the
    original). Any other callable is used as it is, with no known mistakes.

    Raises:
        ValueError: for an unknown name (a bug in the test cell, not the learner's).
    """
    if isinstance(reference, str):
        name = _reference_name(reference)
        if name is None:
            known = ", ".join(sorted(REFERENCES))
            raise ValueError(f"unknown reference {reference!r}; known: {known}.")
        return REFERENCES[name]
    name = _ORIGINAL_FUNCTIONS.get(id(reference)) or _TORCH_FUNCTIONS.get(id(reference))
    if name is None:
        # A learner may have rebound F.mse_loss before the test cell passes it.
        for module in (torch.nn.functional, _functional, _activations):
            for candidate in REFERENCES:
                if learner_value(module, candidate) is reference:
                    name = candidate
    if name is None and callable(reference):
        return Reference(getattr(reference, "__name__", "reference"), reference)
    if name is None:
        raise ValueError(f"reference must be a name or a function, not {type(reference).__name__}.")
    return REFERENCES[name]


def mistakes_for(reference: str | Callable[..., torch.Tensor]) -> tuple[Mistake, ...]:
    """The mistakes a check tries for ``reference``, most specific first.

    Example:
        >>> [m.key for m in mistakes_for("mse")][:3]
        ['sum_instead_of_mean', 'mean_instead_of_sum', 'no_reduction']
    """
    return tuple(MISTAKES[key] for key in resolve_reference(reference).mistakes)


def as_mistakes(items: Sequence[str | Mistake]) -> tuple[Mistake, ...]:
    """Registry keys or :class:`Mistake` objects, as mistakes.

    Raises:
        ValueError: for a key that is not in :data:`MISTAKES`.
    """
    unknown = [item for item in items if not isinstance(item, Mistake) and item not in MISTAKES]
    if unknown:
        raise ValueError(f"unknown mistake {unknown[0]!r}; known: {', '.join(sorted(MISTAKES))}.")
    return tuple(item if isinstance(item, Mistake) else MISTAKES[item] for item in items)
