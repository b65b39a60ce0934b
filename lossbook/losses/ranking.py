"""Ranking and metric-learning losses: they score pairs and triplets, not single predictions.

Each loss compares two (or three) things with a margin ``m`` and is zero once
the comparison is right by at least ``m``:

- ``margin_ranking_loss``: two scores, ``x1`` should rank above ``x2`` when ``y = 1``.
- ``hinge_embedding_loss``: one distance, small for similar pairs, ``≥ m`` for dissimilar ones.
- ``cosine_embedding_loss``: two embeddings, cosine 1 for similar pairs, ``≤ m`` for dissimilar.
- ``triplet_margin_loss`` / ``triplet_margin_with_distance_loss``: an anchor
  should be closer to its positive than to its negative by ``m``.

Pair targets are ``1`` (similar, or "first ranks higher") and ``-1``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import (
    LossInputError,
    check_floating,
    check_positive,
    check_reduction,
    check_same_ndim,
    check_shapes_broadcast,
    check_sign_target,
    shape_of,
)

# ATen keeps this constant as a C float: float32(1e-12) = 9.99999996e-13, not 1e-12.
# Using the float32 value is what makes the results equal to torch's to the last bit.
_COSINE_EPS = float(torch.tensor(1e-12, dtype=torch.float32))


def pairwise_distance(
    x1: torch.Tensor,
    x2: torch.Tensor,
    p: float = 2.0,
    eps: float = 1e-6,
    keepdim: bool = False,
) -> torch.Tensor:
    """The p-norm distance between matching rows: ``‖x1 − x2 + ε‖_p`` over the last dim.

    ``ε`` is added to every component of the difference (not to the norm), so
    identical rows are ``ε · D^{1/p}`` apart rather than 0: this keeps the
    gradient of the Euclidean norm finite at ``x1 = x2``.

    ``‖d‖_p = (Σ_i |d_i|^p)^{1/p}``; ``p = ∞`` gives ``max_i |d_i|`` and
    ``p = 0`` counts the non-zero components (its gradient is 0).

    Args:
        x1, x2: ``(N, D)`` or ``(D,)``, broadcastable; the last dim is compared.
        p: the norm's order, ``≥ 0`` or ``float("inf")``.
        eps: added to each component of ``x1 − x2``.
        keepdim: keep the compared dim with size 1.

    Returns:
        ``(N,)`` (``()`` for 1-D inputs).

    Example:
        >>> pairwise_distance(torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 4.0]]), eps=0.0)
        tensor([5.])

    Reference: ``torch.nn.functional.pairwise_distance`` (ATen ``pairwise_distance``).
    """
    if not p >= 0:
        raise LossInputError(
            f"pairwise_distance: p={p!r}, but a p-norm distance needs p >= 0 (1: Manhattan, "
            f"2: Euclidean, float('inf'): largest component)."
        )
    dim = max(x1.dim(), x2.dim()) - 1
    abs_diff = (x1 - x2 + eps).abs()
    if p == 0:
        # sign(|d|) is 1 for a non-zero component and 0 for a zero one; its gradient is 0.
        return abs_diff.sign().sum(dim=dim, keepdim=keepdim)
    if p == float("inf"):
        return abs_diff.amax(dim=dim, keepdim=keepdim)
    # |0|^p and 0^(1/p) have infinite slopes (for p < 1 and p > 1): routing zeros through 1
    # and masking them afterwards gives them gradient 0, as torch's norm does, instead of NaN.
    nonzero = abs_diff > 0
    powered = torch.where(nonzero, torch.where(nonzero, abs_diff, 1.0).pow(p), 0.0)
    power_sum = powered.sum(dim=dim, keepdim=keepdim)
    positive = power_sum > 0
    return torch.where(positive, torch.where(positive, power_sum, 1.0).pow(1.0 / p), 0.0)


def margin_ranking_loss(
    input1: torch.Tensor,
    input2: torch.Tensor,
    target: torch.Tensor,
    margin: float = 0,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Ranking hinge: ``x1`` should beat ``x2`` by ``margin`` when ``y = 1``, lose when ``y = -1``.

    Use it to learn scores whose order matters (search results, preferences)
    rather than their values.

    ``l_i = max(0, −y_i (x1_i − x2_i) + margin)``, then reduced: ``"mean"``
    averages over all elements, ``"sum"`` adds them.

    Args:
        input1, input2: scores, ``(N,)`` or ``()``; all three tensors need the
            same number of dims and broadcast against each other.
        target: ``y``, 1 or -1, same shape.
        margin: how far apart the scores must be before the loss is 0.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The broadcast shape for ``"none"``, else a scalar.

    Example:
        >>> x1, x2 = torch.tensor([3.0, 1.0]), torch.tensor([1.0, 2.0])
        >>> margin_ranking_loss(x1, x2, torch.tensor([1.0, 1.0]), margin=1.0, reduction="none")
        tensor([0., 2.])

    Reference: ``torch.nn.MarginRankingLoss``. Sibling: with ``margin = 0`` and
    ``x2 = 0`` it is the perceptron loss ``max(0, −y x)``; ``soft_margin_loss``
    is its smooth version ``log(1 + e^{−y x})``.
    """
    name = "margin_ranking_loss"
    check_reduction(reduction)
    check_floating(input1, "input1", name)
    check_floating(input2, "input2", name)
    check_same_ndim(name, input1=input1, input2=input2, target=target)
    check_shapes_broadcast(name, input1=input1, input2=input2, target=target)
    check_sign_target(
        target,
        name,
        other_values="a 0 target gives the constant loss max(0, margin) and no gradient",
    )
    loss = (-target * (input1 - input2) + margin).clamp_min(0)
    return apply_reduction(loss, reduction)


def hinge_embedding_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    margin: float = 1.0,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Hinge on a distance: similar pairs (``y = 1``) to 0, dissimilar ones past ``margin``.

    ``input`` is usually a distance between two embeddings (e.g. ``‖a − b‖₁``).

    ``l_i = x_i`` if ``y_i = 1``; ``max(0, margin − x_i)`` if ``y_i = −1``; then
    reduced (``"mean"`` over all elements).

    Args:
        input: ``x``, any shape.
        target: ``y``, 1 or -1, broadcastable with ``input``.
        margin: the distance beyond which dissimilar pairs cost nothing.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The broadcast shape for ``"none"``, else a scalar.

    Example:
        >>> distance = torch.tensor([0.5, 0.25, 2.0])
        >>> hinge_embedding_loss(distance, torch.tensor([1, -1, -1]), reduction="none")
        tensor([0.5000, 0.7500, 0.0000])

    Reference: ``torch.nn.HingeEmbeddingLoss``. Sibling: ``cosine_embedding_loss``
    applies the same idea to a cosine similarity instead of a distance.
    """
    name = "hinge_embedding_loss"
    check_reduction(reduction)
    check_floating(input, "input", name)
    check_shapes_broadcast(name, input=input, target=target)
    check_sign_target(
        target,
        name,
        other_values="a 0 target adds both terms, x + max(0, margin - x)",
    )
    # Like torch, any target other than 1 gets the margin term and any other than -1
    # the distance term, so the two cases are written as two masks, not an if/else.
    margin_term = torch.where(target != 1, (margin - input).clamp_min(0), 0.0)
    distance_term = torch.where(target != -1, input, 0.0)
    return apply_reduction(margin_term + distance_term, reduction)


def cosine_embedding_loss(
    input1: torch.Tensor,
    input2: torch.Tensor,
    target: torch.Tensor,
    margin: float = 0,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cosine loss for pairs: similar pairs (``y = 1``) toward cos 1, dissimilar below ``margin``.

    ``cos_i = ⟨x1_i, x2_i⟩ / √((‖x1_i‖² + ε)(‖x2_i‖² + ε))`` with ``ε = 1e-12``
    (stored as float32, as in ATen; it keeps zero vectors at ``cos = 0``);

    ``l_i = 1 − cos_i`` if ``y_i = 1``; ``max(0, cos_i − margin)`` if ``y_i = −1``;
    ``0`` for any other target. Then reduced (``"mean"`` over the N pairs).

    Args:
        input1, input2: embeddings ``(N, D)`` (with a ``(N,)`` target) or ``(D,)``
            (with a ``()`` target); they may broadcast, e.g. ``(N, D)`` with ``(1, D)``.
        target: ``y``, 1 or -1.
        margin: cosine below which a dissimilar pair costs nothing, in [-1, 1];
            0 to 0.5 is typical.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``(N,)`` for ``"none"`` (``()`` unbatched), else a scalar.

    Example:
        >>> x1 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> x2 = torch.tensor([[0.0, 2.0], [3.0, 0.0]])
        >>> cosine_embedding_loss(x1, x2, torch.tensor([1, -1]), reduction="none")
        tensor([1., 1.])

    Reference: ``torch.nn.CosineEmbeddingLoss`` (ATen ``cosine_embedding_loss``).
    Sibling: ``hinge_embedding_loss`` with the distance ``1 − cos``.
    """
    name = "cosine_embedding_loss"
    check_reduction(reduction)
    check_floating(input1, "input1", name)
    check_floating(input2, "input2", name)
    if target.dim() > 1:
        raise LossInputError(
            f"{name}: target has shape {shape_of(target)}, but it must be 1-D (N,), one "
            f"label per pair, or 0-D for a single pair."
        )
    expected_dim = target.dim() + 1
    if input1.dim() != expected_dim or input2.dim() != expected_dim:
        expected = (
            "(N, D) inputs for a (N,) target" if target.dim() else "(D,) inputs for a 0-D target"
        )
        raise LossInputError(
            f"{name}: input1 has shape {shape_of(input1)} and input2 {shape_of(input2)}, "
            f"but the target has {target.dim()} dim(s), which needs {expected}."
        )
    # one label per pair: the target lines up with the inputs' leading (pair) dim
    pair_target = {"target[:, None]": target.unsqueeze(-1)}
    check_shapes_broadcast(name, input1=input1, input2=input2, **pair_target)
    check_sign_target(target, name, other_values="pairs with any other target add 0 to the loss")
    dot = (input1 * input2).sum(dim=-1)
    squared_norm1 = (input1 * input1).sum(dim=-1) + _COSINE_EPS
    squared_norm2 = (input2 * input2).sum(dim=-1) + _COSINE_EPS
    cos = dot / (squared_norm1 * squared_norm2).sqrt()
    similar = torch.where(target == 1, 1 - cos, 0.0)
    dissimilar = torch.where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return apply_reduction(similar + dissimilar, reduction)


def triplet_margin_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Triplet loss: the anchor should be closer to the positive than to the negative by ``margin``.

    The workhorse of metric learning (face recognition, retrieval embeddings).

    ``l_i = max(0, margin + d(a_i, p_i) − d(a_i, n_i))`` with
    ``d(x, y) = ‖x − y + eps‖_p`` (see :func:`pairwise_distance`). With
    ``swap=True`` the negative distance is ``min(d(a, n), d(p, n))``: the
    harder of the two negatives (Balntas et al.). Then reduced (``"mean"``
    over the N triplets).

    Args:
        anchor, positive, negative: ``(N, D)`` or ``(D,)``, same number of dims,
            broadcastable.
        margin: required gap between the distances, ``> 0``.
        p: the norm's order, ``≥ 0`` or ``float("inf")``.
        eps: added to each component of the differences.
        swap: use the distance swap.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``(N,)`` for ``"none"`` (``()`` unbatched), else a scalar.

    Example:
        >>> anchor = torch.tensor([[0.0, 0.0]])
        >>> positive, negative = torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 5.5]])
        >>> triplet_margin_loss(anchor, positive, negative, eps=0.0)
        tensor(0.5000)

    Reference: ``torch.nn.TripletMarginLoss``; Schroff et al., *FaceNet* (2015);
    Balntas et al., *Learning local feature descriptors with triplets* (2016).
    Sibling: :func:`triplet_margin_with_distance_loss` takes any distance.
    """
    name = "triplet_margin_loss"
    check_reduction(reduction)
    check_positive(margin, "margin", name)
    for tensor_name, tensor in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        check_floating(tensor, tensor_name, name)
    check_same_ndim(name, anchor=anchor, positive=positive, negative=negative)
    check_shapes_broadcast(name, anchor=anchor, positive=positive, negative=negative)

    def distance(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return pairwise_distance(x1, x2, p=p, eps=eps)

    return _triplet_loss(anchor, positive, negative, distance, margin, swap, reduction)


def triplet_margin_with_distance_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    *,
    distance_function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> torch.Tensor:
    """Triplet loss with any distance, e.g. ``1 − cosine similarity`` or a learned metric.

    ``l_i = max(0, margin + d(a_i, p_i) − d(a_i, n_i))``, with
    ``d(a, n)`` replaced by ``min(d(a, n), d(p, n))`` when ``swap=True``.

    Args:
        anchor, positive, negative: same number of dims; whatever
            ``distance_function`` takes.
        distance_function: ``d(x, y)``, a non-negative tensor; default
            :func:`pairwise_distance` (Euclidean, ``eps=1e-6``).
        margin: required gap between the distances, ``> 0``.
        swap: use the distance swap.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        The distance's shape for ``"none"``, else a scalar.

    Example:
        >>> anchor = torch.tensor([[0.0, 0.0]])
        >>> positive, negative = torch.tensor([[1.0, 1.0]]), torch.tensor([[2.0, 0.0]])
        >>> def l1(x, y):
        ...     return (x - y).abs().sum(dim=-1)
        >>> triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=l1)
        tensor(1.)

    Reference: ``torch.nn.TripletMarginWithDistanceLoss``. Sibling: with the
    default distance it equals ``triplet_margin_loss(p=2, eps=1e-6)``.
    """
    name = "triplet_margin_with_distance_loss"
    check_reduction(reduction)
    check_positive(margin, "margin", name)
    check_same_ndim(name, anchor=anchor, positive=positive, negative=negative)
    if distance_function is None:
        # pairwise_distance subtracts the tensors: they must broadcast (a custom distance may
        # compare tensors of different shapes).
        check_shapes_broadcast(name, anchor=anchor, positive=positive, negative=negative)
    distance = pairwise_distance if distance_function is None else distance_function
    return _triplet_loss(anchor, positive, negative, distance, margin, swap, reduction)


def _triplet_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    margin: float,
    swap: bool,
    reduction: str,
) -> torch.Tensor:
    distance_positive = distance(anchor, positive)
    distance_negative = distance(anchor, negative)
    if swap:
        distance_negative = torch.minimum(distance_negative, distance(positive, negative))
    loss = (margin + distance_positive - distance_negative).clamp_min(0)
    return apply_reduction(loss, reduction)


__all__ = [
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "pairwise_distance",
]
