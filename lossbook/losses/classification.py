"""Losses that score one right class out of C: NLL, cross-entropy and the multi-class hinges.

``cross_entropy`` is ``log_softmax`` followed by ``nll_loss``; both take either
class indices or (cross-entropy only) class probabilities as the target.
``multi_margin_loss`` is the multi-class SVM hinge, and
``multilabel_margin_loss`` its version for samples with several right classes.

Shapes use the course's vocabulary: ``N`` samples, ``C`` classes, and for
dense predictions (a class per pixel, per token) extra dimensions
``d1, …, dK`` after the class dimension, as in torch.
"""

from __future__ import annotations

import math

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import (
    LossInputError,
    check_class_dim,
    check_class_index_target,
    check_floating,
    check_label_smoothing,
    check_margin_scores,
    check_multilabel_target,
    check_reduction,
    check_weight,
)
from lossbook.losses.activations import log_softmax


def _class_dim(input: torch.Tensor) -> int:
    """Classes lie along dim 0 of an unbatched ``(C,)`` input, else along dim 1."""
    return 0 if input.dim() == 1 else 1


def _along_class_dim(weight: torch.Tensor, input: torch.Tensor, class_dim: int) -> torch.Tensor:
    """View a ``(C,)`` weight so it broadcasts along ``class_dim`` of ``input``: ``(C, 1, …, 1)``."""
    return weight.reshape(weight.shape + (1,) * (input.dim() - class_dim - 1))


def _one_sample_target(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A ``(C,)`` input is one sample; torch takes its class index as ``()`` or ``(1,)``: read both as ``()``."""
    if input.dim() == 1 and target.shape == (1,) and not target.is_floating_point():
        return target.reshape(())
    return target


def _smoothing_share(label_smoothing: float, num_classes: int) -> float:
    """``ε / C``, each class's share of the smoothed mass; ``ε / 0`` is NaN, as in torch."""
    return label_smoothing / num_classes if num_classes else math.nan


def nll_terms(
    log_probs: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    ignore_index: int = -100,
    class_dim: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The unreduced NLL ``l_i = −w_{y_i} log p[i, y_i]`` and the weights ``w_{y_i}``.

    The per-sample terms of :func:`nll_loss` and :func:`cross_entropy`, before
    :func:`~lossbook.losses._reduction.apply_reduction`; the weights' sum is the
    denominator of their ``"mean"``. Both are 0 where ``y_i == ignore_index``.
    No input checks: the losses check at their boundary, then call this.

    Args:
        log_probs: log-probabilities with C classes along ``class_dim``:
            ``(N, C)``, ``(C,)`` (``class_dim=0``) or ``(N, C, d1, …, dK)``.
        target: class indices, ``log_probs``' shape without ``class_dim``,
            values in ``[0, C)`` or equal to ``ignore_index``.
        weight: ``(C,)`` weight per class; ones if None.
        ignore_index: the target value that contributes nothing.
        class_dim: the dimension of ``log_probs`` that holds the classes.

    Returns:
        ``(loss, target_weight)``, each of ``target``'s shape.

    Example:
        >>> log_probs = torch.tensor([[-0.5, -1.0], [-2.0, -0.25], [-0.1, -3.0]])
        >>> loss, w = nll_terms(log_probs, torch.tensor([0, 1, -100]), torch.tensor([3.0, 1.0]))
        >>> loss, w
        (tensor([1.5000, 0.2500, 0.0000]), tensor([3., 1., 0.]))
        >>> apply_reduction(loss, "mean", divisor=w.sum())  # (1.5 + 0.25) / (3 + 1)
        tensor(0.4375)

    Reference: PyTorch ``LossNLL.cpp`` (``nll_loss_out_frame``).
    """
    target = target.long()
    ignored = target == ignore_index
    # gather needs a valid index even where its result is thrown away.
    safe_target = target.masked_fill(ignored, 0)
    # gather rather than Σ_c one_hot · log_probs: it reads 1 entry per sample, not C.
    if log_probs.shape[class_dim] == 0:
        # No classes, so every target is ignored: nothing to gather. The empty sum is 0,
        # of target's shape, and keeps the graph.
        picked_log_prob = log_probs.sum(class_dim)
    else:
        picked_log_prob = log_probs.gather(class_dim, safe_target.unsqueeze(class_dim))
        picked_log_prob = picked_log_prob.squeeze(class_dim)
    if weight is None:
        target_weight = (~ignored).to(log_probs.dtype)
    else:
        target_weight = weight[safe_target].masked_fill(ignored, 0.0)
    # masked_fill rather than the zero weight alone: 0 · (−inf) is NaN, and log 0 = −inf.
    loss = (-target_weight * picked_log_prob).masked_fill(ignored, 0.0)
    return loss, target_weight


def nll_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Negative log-likelihood of the target class, given log-probabilities.

    Use it after a model that already ends in ``log_softmax``; on raw logits
    use :func:`cross_entropy`, which applies ``log_softmax`` itself.

    Per sample, with ``x = input`` (log-probabilities) and ``y_i = target[i]``::

        l_i = −w_{y_i} · x[i, y_i]        (l_i = 0 where y_i == ignore_index)

    ``w = weight`` (all ones if not given). ``"mean"`` is the *weighted* mean
    ``Σ_i l_i / Σ_i w_{y_i}`` over the non-ignored samples (plain mean when no
    weight is given; NaN when every target is ignored); ``"sum"`` is ``Σ_i l_i``.

    Args:
        input: log-probabilities, ``(N, C)``, ``(C,)`` for one sample, or
            ``(N, C, d1, …, dK)`` for a class per position.
        target: class indices (integer dtype) in ``[0, C)`` or equal to
            ``ignore_index``: ``(N,)``, ``()`` or ``(N, d1, …, dK)``; for a ``(C,)``
            input, ``()`` or (as torch allows) ``(1,)``.
        weight: ``(C,)`` rescaling weight per class.
        ignore_index: a target value that contributes neither to the loss nor
            to the mean's denominator (e.g. padding tokens).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        A scalar, or with ``reduction="none"`` the shape of ``target``.

    Example:
        >>> log_probs = torch.tensor([[-0.5, -1.0], [-2.0, -0.25]])
        >>> nll_loss(log_probs, torch.tensor([0, 1]), reduction="none")
        tensor([0.5000, 0.2500])
        >>> nll_loss(log_probs, torch.tensor([0, 1]))  # (0.5 + 0.25) / 2
        tensor(0.3750)
        >>> nll_loss(log_probs, torch.tensor([0, 1]), weight=torch.tensor([3.0, 1.0]))
        tensor(0.4375)
        >>> nll_loss(log_probs, torch.tensor([0, -100]))  # the ignored sample leaves the mean
        tensor(0.5000)

    Reference: ``torch.nn.functional.nll_loss`` (PyTorch ``LossNLL.cpp``).

    See also: ``cross_entropy(logits, target) == nll_loss(log_softmax(logits, dim=1), target)``.
    """
    check_reduction(reduction)
    check_class_dim(input, "nll_loss")
    check_floating(input, "input", "nll_loss")
    class_dim = _class_dim(input)
    target = _one_sample_target(input, target)
    check_class_index_target(
        input,
        target,
        "nll_loss",
        ignore_index=ignore_index,
        class_dim=class_dim,
        accepts_probabilities=False,
    )
    check_weight(weight, input.shape[class_dim], "nll_loss")
    loss, target_weight = nll_terms(
        input, target, weight, ignore_index=ignore_index, class_dim=class_dim
    )
    return apply_reduction(loss, reduction, divisor=target_weight.sum())


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy between softmax(logits) and the target: the loss for picking one of C classes.

    ``log_softmax`` over the class dimension, then the negative log-likelihood
    of the target. With ``log p = log_softmax(input)``, ``w = weight`` (ones
    if not given) and ``ε = label_smoothing``, per sample:

    - **class indices** ``y_i``::

        l_i = (1 − ε) · (−w_{y_i} log p[i, y_i]) + (ε / C) · Σ_c (−w_c log p[i, c])

      (``l_i = 0`` where ``y_i == ignore_index``). ``"mean"`` is
      ``Σ_i l_i / Σ_i w_{y_i}`` over the non-ignored samples, as in :func:`nll_loss`;
      NaN when every target is ignored.

    - **class probabilities** ``q_i`` (a float target shaped like ``input``)::

        l_i = −Σ_c w_c · ((1 − ε) q[i, c] + ε / C) · log p[i, c]

      ``"mean"`` divides by the number of samples ``N·d1·…·dK``, not by the weights.

    Label smoothing spreads ε over **all** C classes (ε/C each, the true class
    included), not over the C − 1 others.

    Args:
        input: logits, ``(N, C)``, ``(C,)`` for one sample, or ``(N, C, d1, …, dK)``.
        target: class indices (integer dtype, shape of ``input`` without the
            class dimension; for a ``(C,)`` input ``()`` or, as torch allows, ``(1,)``)
            or class probabilities (float, shape of ``input``).
        weight: ``(C,)`` rescaling weight per class.
        ignore_index: a class index to skip (class-index targets only).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        label_smoothing: ε in ``[0, 1]``.

    Returns:
        A scalar, or with ``reduction="none"`` the shape of ``input`` without
        the class dimension.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> cross_entropy(logits, torch.tensor([0, 2]), reduction="none")
        tensor([0.2395, 1.0986])
        >>> cross_entropy(logits, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
        ...               reduction="none")
        tensor([0.2395, 1.0986])
        >>> cross_entropy(logits, torch.tensor([0, 2]), label_smoothing=0.3, reduction="none")
        tensor([0.6395, 1.0986])

    Reference: ``torch.nn.functional.cross_entropy`` (PyTorch ``LossNLL.cpp``:
    ``cross_entropy_loss_label_smoothing``, ``cross_entropy_loss_prob_target``);
    label smoothing: Szegedy et al., "Rethinking the Inception Architecture", 2016.

    See also: ``cross_entropy == nll_loss ∘ log_softmax``; with C = 2 and
    logits ``(0, z)`` it equals ``binary_cross_entropy_with_logits(z, y)``.
    """
    check_reduction(reduction)
    check_class_dim(input, "cross_entropy")
    check_floating(input, "input", "cross_entropy")
    check_label_smoothing(label_smoothing, "cross_entropy")
    class_dim = _class_dim(input)
    num_classes = input.shape[class_dim]
    target = _one_sample_target(input, target)
    check_class_index_target(
        input,
        target,
        "cross_entropy",
        ignore_index=ignore_index,
        class_dim=class_dim,
        accepts_probabilities=True,
    )
    check_weight(weight, num_classes, "cross_entropy")
    if target.is_floating_point() and ignore_index >= 0:
        raise LossInputError(
            f"cross_entropy: ignore_index={ignore_index} applies to class-index targets "
            f"only, but target holds class probabilities. To leave samples out, drop "
            f"them from the batch, and leave ignore_index at its default."
        )

    log_probs = log_softmax(input, dim=class_dim)

    if target.is_floating_point():
        return _cross_entropy_with_probabilities(
            log_probs, target, weight, reduction, label_smoothing, class_dim
        )
    if label_smoothing == 0.0:
        return nll_loss(log_probs, target, weight, ignore_index=ignore_index, reduction=reduction)

    # Label smoothing: nll_loss's unreduced terms plus a uniform-target term, reduced together
    # so that both share the weighted mean's denominator Σ w_{y_i}, as in torch.
    nll, target_weight = nll_terms(
        log_probs, target, weight, ignore_index=ignore_index, class_dim=class_dim
    )
    weighted_log_probs = (
        log_probs
        if weight is None
        else (log_probs * _along_class_dim(weight, log_probs, class_dim))
    )
    # The uniform part of the smoothed target: −Σ_c w_c log p_c, weighted by ε/C below.
    uniform = -weighted_log_probs.sum(class_dim).masked_fill(target == ignore_index, 0.0)
    loss = (1.0 - label_smoothing) * nll + _smoothing_share(label_smoothing, num_classes) * uniform
    return apply_reduction(loss, reduction, divisor=target_weight.sum())


def _cross_entropy_with_probabilities(
    log_probs: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    reduction: str,
    label_smoothing: float,
    class_dim: int,
) -> torch.Tensor:
    """``−Σ_c w_c q_c log p_c`` per sample; the mean is over samples, not weights (torch's rule)."""
    num_classes = log_probs.shape[class_dim]
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + _smoothing_share(label_smoothing, num_classes)
    weighted = log_probs * target
    if weight is not None:
        weighted = weighted * _along_class_dim(weight, log_probs, class_dim)
    loss = -weighted.sum(class_dim)
    # torch's mean divides by numel(input) / C samples, which is NaN when there are no classes.
    return apply_reduction(loss, reduction, divisor=loss.numel() if num_classes else float("nan"))


def multi_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: torch.Tensor | None = None,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Multi-class hinge loss (the multi-class SVM loss): the target's score should beat every other by ``margin``.

    Per sample, with ``x = input[i]``, ``y = target[i]``, ``w`` the class
    weights (ones if not given)::

        l_i = (1 / C) · Σ_{j ≠ y} w_y · max(0, margin − x[y] + x[j])^p

    ``"mean"`` is the plain mean over the N samples (the weights do not enter
    the denominator, unlike :func:`nll_loss`).

    Args:
        input: scores, ``(N, C)`` or ``(C,)``, ``C ≥ 1``; a 0-d input is one sample
            with one class (C = 1), as in torch.
        target: one class index per sample, in ``[0, C)``: ``(N,)``, or ``()`` or
            ``(1,)`` for one sample (torch's rule: at most 1 dim, N entries).
        p: 1 (hinge) or 2 (squared hinge).
        margin: how far the target's score should lead.
        weight: ``(C,)`` weight of each sample's *target* class.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        A scalar, or with ``reduction="none"`` one loss per sample, in the target's shape.

    Example:
        >>> scores = torch.tensor([[3.0, 2.5, 0.0], [0.0, 1.0, 0.0]])
        >>> multi_margin_loss(scores, torch.tensor([0, 0]), reduction="none")
        tensor([0.1667, 1.0000])
        >>> multi_margin_loss(scores, torch.tensor([0, 0]), p=2, reduction="none")
        tensor([0.0833, 1.6667])

    Reference: ``torch.nn.functional.multi_margin_loss``; Weston & Watkins,
    "Multi-class Support Vector Machines", 1998.

    See also: :func:`multilabel_margin_loss` (several target classes per
    sample); ``hinge_embedding_loss`` and ``soft_margin_loss`` for two classes.
    """
    check_reduction(reduction)
    if p not in (1, 2):
        raise LossInputError(
            f"multi_margin_loss: p={p!r}, but only p=1 (hinge) and p=2 (squared hinge) exist."
        )
    check_margin_scores(input, "multi_margin_loss")
    check_floating(input, "input", "multi_margin_loss")
    # As torch reads them: a 0-d input is one sample with one class, and the target holds
    # one class index per sample in at most one dimension: () or (1,) for a single sample.
    scores = input.reshape(1, -1) if input.dim() < 2 else input
    num_samples, num_classes = scores.shape
    one_per_sample = target.dim() <= 1 and target.numel() == num_samples
    check_class_index_target(
        scores if one_per_sample or input.dim() == 0 else input,
        target.reshape(num_samples) if one_per_sample else target,
        "multi_margin_loss",
        ignore_index=None,
        class_dim=1 if one_per_sample or input.dim() == 0 else input.dim() - 1,
        accepts_probabilities=False,
    )
    check_weight(weight, num_classes, "multi_margin_loss")

    target_index = target.long().reshape(num_samples, 1)
    target_score = scores.gather(1, target_index)
    # relu, not clamp: its gradient at a hinge of exactly 0 is 0, as in torch.
    hinge = torch.relu(margin - target_score + scores)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[target_index]
    # The sum skips j = y, whose hinge max(0, margin) is not a mistake.
    hinge = hinge.scatter(1, target_index, 0.0)
    loss = hinge.sum(1) / num_classes
    # One loss per target entry: "none" returns the target's shape, as torch does.
    return apply_reduction(loss.reshape(target.shape), reduction)


def multilabel_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Multi-label hinge loss: every target class's score should beat every non-target's by 1.

    ``target`` lists each sample's classes as indices, padded with -1: for
    C = 4, ``[3, 0, -1, -1]`` means classes 3 and 0; entries after the first
    negative one are not read. With ``J`` those listed classes and ``x = input[i]``::

        l_i = (1 / C) · Σ_{j ∈ J} Σ_{k ∉ J} max(0, 1 − (x[j] − x[k]))

    A class listed twice counts twice. ``"mean"`` averages over the N samples.

    Args:
        input: scores, ``(N, C)`` or ``(C,)``, ``C ≥ 1``; a 0-d input is one sample
            with one class (C = 1), as in torch.
        target: class indices padded with -1, same shape as ``input`` (``()`` or
            ``(1,)`` for a 0-d input), integer dtype.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        A scalar, or ``(N,)`` / ``()`` with ``reduction="none"``.

    Example:
        >>> scores = torch.tensor([0.1, 0.2, 0.4, 0.8])
        >>> multilabel_margin_loss(scores, torch.tensor([3, 0, -1, 1]))
        tensor(0.8500)

    Reference: ``torch.nn.functional.multilabel_margin_loss``.

    See also: :func:`multi_margin_loss` (exactly one target class, any margin
    and power); ``multilabel_soft_margin_loss`` takes multi-hot 0/1 targets instead.
    """
    check_reduction(reduction)
    check_margin_scores(input, "multilabel_margin_loss")
    check_floating(input, "input", "multilabel_margin_loss")
    if input.dim() == 0 and target.dim() <= 1 and target.numel() == 1:
        # As torch reads it: one score is one sample with one class, C = 1.
        input, target = input.reshape(1), target.reshape(1)
    check_multilabel_target(input, target, "multilabel_margin_loss")
    num_classes = input.shape[-1]

    target = target.long()
    # A label counts only if no negative entry comes before it in its row.
    is_listed = (target >= 0).cumprod(dim=-1).bool()
    # Unlisted slots point at an extra column C, cut off again below.
    labels = target.masked_fill(~is_listed, num_classes)
    is_target = torch.zeros(
        input.shape[:-1] + (num_classes + 1,), dtype=torch.bool, device=input.device
    ).scatter(-1, labels, True)[..., :num_classes]
    label_score = input.gather(-1, labels.masked_fill(~is_listed, 0))
    # Pairs (listed label j, non-target class k): shape (..., C, C).
    hinge = torch.relu(1.0 - label_score.unsqueeze(-1) + input.unsqueeze(-2))
    counted = is_listed.unsqueeze(-1) & ~is_target.unsqueeze(-2)
    loss = hinge.masked_fill(~counted, 0.0).sum(dim=(-2, -1)) / num_classes
    return apply_reduction(loss, reduction)


__all__ = [
    "nll_terms",
    "nll_loss",
    "cross_entropy",
    "multi_margin_loss",
    "multilabel_margin_loss",
]
