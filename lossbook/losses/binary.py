"""Losses for yes/no questions: one independent probability per element.

Binary cross-entropy comes in two forms that compute the same loss:
``binary_cross_entropy`` takes probabilities (after a sigmoid) and
``binary_cross_entropy_with_logits`` takes logits and applies the sigmoid
itself, stably. The others are the same loss seen differently:

- ``soft_margin_loss``: BCE-with-logits with targets in {−1, 1} instead of {0, 1}.
- ``multilabel_soft_margin_loss``: BCE-with-logits averaged over the C labels of
  each sample, then over the batch.
- ``sigmoid_focal_loss`` (torchvision's): BCE-with-logits scaled down on easy
  examples by ``(1 − p_t)^γ``; with ``γ = 0`` and ``α < 0`` it is BCE-with-logits.
"""

from __future__ import annotations

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import (
    LossInputError,
    check_binary_target,
    check_broadcasts_to_input,
    check_floating,
    check_probabilities,
    check_probability_target,
    check_reduction,
    check_same_dtype,
    check_same_shape,
    shape_of,
)
from lossbook.losses.activations import log_sigmoid, sigmoid

# torch clamps each log at −100 so that a probability of exactly 0 or 1 costs at
# most 100 rather than inf, and bounds the gradient's denominator p(1 − p) below
# by 1e-12 (ATen's binary_cross_entropy kernels in aten/src/ATen/native/Loss.cpp).
# ATen stores that 1e-12 as a float32 constant, so it is 1e-12 rounded to float32
# in every dtype; using the same number keeps float64 gradients equal to torch's.
_LOG_FLOOR = -100.0
_GRAD_EPSILON = torch.tensor(1e-12, dtype=torch.float32).item()


class _ClampedBinaryCrossEntropy(torch.autograd.Function):
    """Element-wise BCE on probabilities, with torch's clamp and torch's gradient.

    A custom backward is needed because torch's gradient is not the derivative
    of the clamped formula: where a log is clamped (p below about 4e-44, or p
    exactly 0 or 1) autograd would give 0 or NaN, while torch gives
    ``(p − y) / max(p(1 − p), 1e-12)``, a finite push in the right direction.
    """

    @staticmethod
    def forward(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_probs = torch.log(probs).clamp(min=_LOG_FLOOR)
        log_one_minus_probs = torch.log1p(-probs).clamp(min=_LOG_FLOOR)
        return (target - 1) * log_one_minus_probs - target * log_probs

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor):
        probs, target = ctx.saved_tensors
        grad_probs = grad_target = None
        if ctx.needs_input_grad[0]:
            curvature = ((1 - probs) * probs).clamp(min=_GRAD_EPSILON)
            grad_probs = grad_loss * (probs - target) / curvature
        if ctx.needs_input_grad[1]:
            # ∂ℓ/∂y = log(1 − p) − log p = −logit(p), unclamped as in torch: ±inf at p ∈ {0, 1}.
            grad_target = -grad_loss * torch.logit(probs)
        return grad_probs, grad_target


def binary_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Binary cross-entropy of predicted probabilities against targets in [0, 1].

    Use it when the model already ends in a sigmoid. When it outputs logits, use
    :func:`binary_cross_entropy_with_logits` instead: same loss, computed stably,
    and no sigmoid layer needed.

    Per element, with probability ``p``, target ``y`` and weight ``w``::

        ℓ = −w · [ y · max(log p, −100) + (1 − y) · max(log(1 − p), −100) ]

    The clamp at −100 is torch's: a probability of exactly 0 or 1 on the wrong
    side costs 100·w, not inf. ``reduction="mean"`` is ``Σ ℓ / N`` over all N
    elements, also with ``weight`` (the weights scale the terms; they are not
    normalised); ``"sum"`` is ``Σ ℓ``.

    The gradient is torch's, ``∂ℓ/∂p = w · (p − y) / max(p(1 − p), 1e-12)``:
    finite (though up to 1e12) even at ``p = 0`` or ``1``. With respect to the
    target it is ``−w · logit(p)``, unclamped, so ±inf there. Unlike torch, the
    loss is also differentiable with respect to ``weight``.

    Args:
        input: probabilities ``p`` in [0, 1], any shape, e.g. ``(N,)`` or ``(N, C)``.
        target: same shape and dtype as ``input``, values in [0, 1] (0/1 labels
            or soft labels).
        weight: optional rescaling of each element's loss; any shape that
            broadcasts to ``input``'s, e.g. ``(C,)`` for one weight per class.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
        A scalar, or a tensor of ``input``'s shape for ``reduction="none"``.

    Raises:
        LossInputError: ``input`` outside [0, 1] (logits: use
            :func:`binary_cross_entropy_with_logits`), a target that is not a float
            tensor of the same shape and dtype with values in [0, 1], or a
            ``weight`` that does not broadcast to ``input``.

    Example:
        >>> probs = torch.tensor([0.9, 0.2, 0.6])
        >>> target = torch.tensor([1.0, 0.0, 1.0])
        >>> binary_cross_entropy(probs, target, reduction="none")
        tensor([0.1054, 0.2231, 0.5108])
        >>> binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0]))  # log 0 → −100
        tensor(100.)

    Reference: ``torch.nn.functional.binary_cross_entropy`` (``nn.BCELoss``).

    Siblings: ``binary_cross_entropy(sigmoid(x), y)`` equals
    ``binary_cross_entropy_with_logits(x, y)`` while ``sigmoid(x)`` is not
    saturated; it rounds to 1 from x ≈ 17 in float32 (37 in float64), and from
    there on only the with-logits form stays exact.
    """
    loss_name = "binary_cross_entropy"
    check_reduction(reduction)
    check_floating(input, "input", loss_name)
    check_binary_target(input, target, loss_name)
    check_same_shape(input, target, loss_name, strict=True)
    check_same_dtype(input, target, loss_name)
    check_broadcasts_to_input(input, weight, "weight", loss_name)
    check_probabilities(input.detach(), loss_name)
    check_probability_target(target, loss_name)
    loss = _ClampedBinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return apply_reduction(loss, reduction)


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    reduction: str = "mean",
    pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Binary cross-entropy computed from logits: the stable way to train a yes/no output.

    Per element, with logit ``x``, target ``y`` in [0, 1], weight ``w`` and
    positive-class weight ``p_w``::

        ℓ = −w · [ p_w · y · log σ(x) + (1 − y) · log(1 − σ(x)) ]

    computed as ``w · [ (1 − y) · x − (1 + (p_w − 1) · y) · log σ(x) ]``, which
    never exponentiates a large number, so logits of ±1e4 give finite, exact
    losses (a sigmoid followed by :func:`binary_cross_entropy` saturates instead).
    ``reduction="mean"`` is ``Σ ℓ / N`` over all N elements; ``"sum"`` is ``Σ ℓ``.

    ``pos_weight`` scales only the positive term. For an imbalanced label,
    ``p_w = #negatives / #positives`` makes positives and negatives count
    equally; it is broadcast against the input, so a ``(C,)`` tensor gives one
    ``p_w`` per class of an ``(N, C)`` input.

    Args:
        input: logits ``x``, any shape, e.g. ``(N,)`` or ``(N, C)``.
        target: float tensor of ``input``'s shape, usually 0/1 labels or soft
            labels in [0, 1].
        weight: optional rescaling of each element's loss; any shape that
            broadcasts to ``input``'s.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        pos_weight: optional weight of the positive term; any shape that
            broadcasts to ``input``'s, typically ``(C,)``.

    Returns:
        A scalar, or a tensor of ``input``'s shape for ``reduction="none"``.

    Raises:
        LossInputError: an integer target (convert it with ``target.float()``), a
            target of another shape (an ``(N, 1)`` output against ``(N,)``
            labels: squeeze it), or a weight that does not broadcast to ``input``.

    Example:
        >>> logits = torch.tensor([2.0, -1.0, 0.0])
        >>> target = torch.tensor([1.0, 0.0, 1.0])
        >>> binary_cross_entropy_with_logits(logits, target, reduction="none")
        tensor([0.1269, 0.3133, 0.6931])
        >>> binary_cross_entropy_with_logits(torch.tensor([1e4]), torch.tensor([0.0]))
        tensor(10000.)

    Reference: ``torch.nn.functional.binary_cross_entropy_with_logits``
    (``nn.BCEWithLogitsLoss``); optax ``sigmoid_binary_cross_entropy``.

    Siblings: equals ``binary_cross_entropy(sigmoid(x), y)`` where the sigmoid is
    not saturated; ``soft_margin_loss(x, 2y − 1)`` for 0/1 targets;
    ``sigmoid_focal_loss(x, y, alpha=-1, gamma=0)``; and, averaged per sample,
    ``multilabel_soft_margin_loss``.
    """
    loss_name = "binary_cross_entropy_with_logits"
    check_reduction(reduction)
    check_floating(input, "input", loss_name)
    check_binary_target(input, target, loss_name)
    check_same_shape(input, target, loss_name, strict=True)
    check_broadcasts_to_input(input, weight, "weight", loss_name)
    check_broadcasts_to_input(input, pos_weight, "pos_weight", loss_name)
    log_probs = log_sigmoid(input)
    # log(1 − σ(x)) = log σ(x) − x, so −[p_w·y·log σ(x) + (1 − y)·log(1 − σ(x))]
    # = (1 − y)·x − (1 + (p_w − 1)·y)·log σ(x): one log-sigmoid, no overflow.
    if pos_weight is None:
        loss = (1 - target) * input - log_probs
    else:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input - log_weight * log_probs
    if weight is not None:
        loss = loss * weight
    return apply_reduction(loss, reduction)


def soft_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Logistic loss for ±1 labels: ``log(1 + exp(−y·x))`` per element.

    Per element, with score ``x`` and label ``y`` in {−1, 1}::

        ℓ = log(1 + exp(−y · x)) = −log σ(y · x)

    ``reduction="mean"`` is ``Σ ℓ / N`` over all N elements; ``"sum"`` is ``Σ ℓ``.
    A label of 0 (a 0/1 label passed by mistake) gives ``log 2`` and no gradient.

    Computed as ``−log σ(y·x)``: the same value as torch's literal
    ``log1p(exp(−y·x))`` wherever that is finite, and finite where it is not
    (torch overflows to inf, with a NaN gradient, once ``−y·x`` exceeds about 88
    in float32 or 709 in float64). Unlike torch, it is also differentiable with
    respect to ``target``.

    Args:
        input: scores ``x``, any shape.
        target: labels in {−1, 1}, float or integer; ``input``'s shape or one
            that broadcasts to it.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
        A scalar, or a tensor of ``input``'s shape for ``reduction="none"``.

    Example:
        >>> scores = torch.tensor([2.0, -1.0, 0.5])
        >>> labels = torch.tensor([1, 1, -1])
        >>> soft_margin_loss(scores, labels, reduction="none")
        tensor([0.1269, 1.3133, 0.9741])

    Reference: ``torch.nn.functional.soft_margin_loss`` (``nn.SoftMarginLoss``).

    Siblings: ``soft_margin_loss(x, y)`` equals
    ``binary_cross_entropy_with_logits(x, (y + 1) / 2)``: the same logistic loss
    with labels {−1, 1} mapped to {0, 1}.
    """
    loss_name = "soft_margin_loss"
    check_reduction(reduction)
    check_floating(input, "input", loss_name)
    check_broadcasts_to_input(input, target, "target", loss_name)
    margin = target * input
    loss = -log_sigmoid(margin)
    return apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Multi-label classification: BCE-with-logits per label, averaged over the C labels.

    For sample n with logits ``x_n`` (C of them), multi-hot target ``y_n`` and
    per-class weights ``w``::

        ℓ_n = −(1/C) · Σ_c w_c · [ y_nc · log σ(x_nc) + (1 − y_nc) · log σ(−x_nc) ]

    (``log(1 − σ(x)) = log σ(−x)``, so nothing overflows). ``reduction="mean"``
    is ``Σ_n ℓ_n / N``: a mean over classes, then over the batch. ``"sum"`` is
    ``Σ_n ℓ_n``, still divided by C.

    Args:
        input: logits, ``(N, C)`` or ``(C,)``; more leading dimensions are allowed,
            the classes are always the last one.
        target: ``input``'s shape, 1 where a label applies and 0 where it does not
            (float or integer).
        weight: optional per-class weight, e.g. ``(C,)``; broadcast as in torch.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
        A scalar, or ``input.shape[:-1]`` (``(N,)``) for ``reduction="none"``.

    Warns:
        UserWarning: when ``target``'s shape differs from ``input``'s; they are
            broadcast as in torch, which is almost always a bug.

    Example:
        >>> logits = torch.tensor([[2.0, -1.0, 0.0], [0.5, 0.5, -3.0]])
        >>> target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
        >>> multilabel_soft_margin_loss(logits, target, reduction="none")
        tensor([0.3778, 0.4989])

    Reference: ``torch.nn.functional.multilabel_soft_margin_loss``
    (``nn.MultiLabelSoftMarginLoss``).

    Siblings: without ``weight`` and with ``reduction="mean"`` it equals
    ``binary_cross_entropy_with_logits(x, y)``, since every sample has the same
    C labels; ``reduction="none"`` gives that loss's per-element values
    averaged along the last dimension.
    """
    loss_name = "multilabel_soft_margin_loss"
    check_reduction(reduction)
    check_floating(input, "input", loss_name)
    if input.dim() == 0:
        raise LossInputError(
            f"{loss_name}: input has shape {shape_of(input)}, but it needs a class dimension: "
            f"shape (C,) for one sample or (N, C) for a batch. Use input.reshape(1, -1)."
        )
    check_same_shape(input, target, loss_name, strict=False)
    per_label = -(target * log_sigmoid(input) + (1 - target) * log_sigmoid(-input))
    if weight is not None:
        per_label = per_label * weight
    num_classes = input.shape[-1]
    loss = per_label.sum(dim=-1) / num_classes
    return apply_reduction(loss, reduction)


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.25,
    gamma: float = 2,
    reduction: str = "none",
) -> torch.Tensor:
    """Focal loss: BCE-with-logits that down-weights easy, well-classified examples.

    Made for dense object detection, where a few hard positives hide among very
    many easy negatives (RetinaNet). Per element, with logit ``x`` and target
    ``y`` in [0, 1]::

        p   = σ(x)
        p_t = p · y + (1 − p) · (1 − y)          (the probability of the true label)
        ℓ   = α_t · (1 − p_t)^γ · BCE-with-logits(x, y)
        α_t = α · y + (1 − α) · (1 − y)           (α_t = 1 when α < 0)

    ``(1 − p_t)^γ`` is near 0 for confident correct predictions, so they barely
    count; ``γ = 2`` is the paper's choice. The default ``α = 0.25`` weights the
    positive class by 0.25 and the negative class by 0.75. With ``γ = 0`` and
    ``α < 0`` (e.g. ``alpha=-1``) this is exactly
    :func:`binary_cross_entropy_with_logits` with ``reduction="none"``.
    The default reduction is ``"none"``, as in torchvision; ``"mean"`` is
    ``Σ ℓ / N`` over all N elements, ``"sum"`` is ``Σ ℓ``.

    Args:
        inputs: logits ``x``, any shape, e.g. ``(N,)`` or ``(N, C)``.
        targets: float tensor of ``inputs``' shape, 0/1 labels (or soft labels in [0, 1]).
        alpha: weight of the positive class in [0, 1]; negative to turn weighting off.
        gamma: focusing exponent γ ≥ 0.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
        A tensor of ``inputs``' shape for ``reduction="none"``, else a scalar.

    Example:
        >>> logits = torch.tensor([2.0, -1.0, 0.0])
        >>> target = torch.tensor([1.0, 0.0, 1.0])
        >>> sigmoid_focal_loss(logits, target)
        tensor([0.0005, 0.0170, 0.0433])
        >>> sigmoid_focal_loss(logits, target, alpha=-1, gamma=0)  # BCE-with-logits
        tensor([0.1269, 0.3133, 0.6931])

    Reference: ``torchvision.ops.sigmoid_focal_loss``; Lin et al., "Focal Loss
    for Dense Object Detection", ICCV 2017 (arXiv:1708.02002).

    Siblings: ``γ = 0, α < 0`` gives BCE-with-logits; for ``γ > 0`` and ``α < 0``
    it is never above BCE-with-logits, since ``0 ≤ 1 − p_t ≤ 1``.
    """
    loss_name = "sigmoid_focal_loss"
    check_reduction(reduction)
    check_floating(inputs, "inputs", loss_name)
    check_binary_target(inputs, targets, loss_name)
    check_same_shape(inputs, targets, loss_name, strict=True)
    probs = sigmoid(inputs)
    ce_loss = binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = probs * targets + (1 - probs) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return apply_reduction(loss, reduction)


__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "sigmoid_focal_loss",
]
