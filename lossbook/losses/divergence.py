"""Divergences: how far a predicted distribution lies from a target distribution."""

from __future__ import annotations

import warnings

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import check_broadcastable, check_floating, check_reduction

KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")


def kl_div(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    reduction: str = "mean",
    log_target: bool = False,
) -> torch.Tensor:
    """Kullback–Leibler divergence ``KL(p ‖ q)`` of the model's ``q`` from the target ``p``.

    Used for distillation and for matching a distribution. Note the argument
    order: ``input`` is the model's **log**-probabilities ``log q``, ``target``
    is ``p`` (or ``log p`` with ``log_target=True``). Unreduced::

        l_i = p_i·(log p_i − log q_i)

    with ``0·log 0 = 0``, so classes the target gives probability 0 add nothing.

    - ``"batchmean"``: ``Σ l_i / N`` with ``N = input.shape[0]``: the KL divergence
      per sample, ``Σ_c p_c log(p_c/q_c)`` averaged over the batch. Use this one.
    - ``"mean"``: ``Σ l_i`` over **all** ``N·C`` elements divided by ``N·C``: the KL
      divergence divided by C as well. It is the default, as in torch, and warns,
      as torch does.
    - ``"sum"``: ``Σ l_i``; ``"none"``: the element-wise ``l``.

    Args:
        input: log-probabilities ``log q``, e.g. ``(N, C)`` from ``log_softmax(logits, dim=1)``.
        target: ``p`` (or ``log p``), broadcastable with ``input`` (no shape warning, as in torch).
        reduction: ``"none"`` | ``"batchmean"`` | ``"sum"`` | ``"mean"``.
        log_target: whether ``target`` holds ``log p``; more accurate when ``p`` has tiny
            entries (``log_softmax`` of the teacher's logits rather than ``softmax``).
            A zero probability (``log p = −inf``) then gives NaN, as in torch:
            ``exp(−inf)·(−inf − log q) = 0·(−inf)``.

    Returns:
        A scalar, or with ``reduction="none"`` the broadcast shape of input and target.

    Example:
        >>> p = torch.tensor([[0.5, 0.5]])
        >>> q = torch.tensor([[0.25, 0.75]])
        >>> kl_div(q.log(), p, reduction="batchmean")
        tensor(0.1438)

    Reference: Kullback & Leibler, "On Information and Sufficiency" (1951);
    ``torch.nn.functional.kl_div``; ``nn.KLDivLoss``.

    Note: ``KL(p ‖ q) = H(p, q) − H(p)``: cross-entropy with class-probability
    targets minus the target's entropy, which does not depend on the model; so
    ``kl_div(log_softmax(logits), p, reduction="batchmean")`` and
    ``cross_entropy(logits, p)`` have the same gradient in ``logits``.
    """
    check_reduction(reduction, allowed=KL_REDUCTIONS)
    check_floating(input, "input", "kl_div")
    check_floating(target, "target", "kl_div")
    check_broadcastable(input, target, "kl_div")
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the summed loss by the number of elements "
            "(batch size × number of classes), so it is the KL divergence divided by the "
            "number of classes too. Use reduction='batchmean' for the KL divergence per "
            "sample (torch warns the same way: its 'mean' will change to 'batchmean').",
            UserWarning,
            stacklevel=2,
        )
    if log_target:
        # exp(log p)·(log p − log q): no log of a probability that underflowed to 0.
        loss = torch.exp(target) * (target - input)
    else:
        # xlogy(p, p) = p·log p, defined as 0 where p = 0.
        loss = torch.xlogy(target, target) - target * input
    # batchmean divides by input's batch size (a 0-d input is one sample), as torch does,
    # even where a larger target broadcasts the loss to more rows.
    batch_size = input.shape[0] if input.dim() > 0 else 1
    return apply_reduction(
        loss, reduction, divisor=batch_size if reduction == "batchmean" else None
    )


__all__ = ["kl_div"]
