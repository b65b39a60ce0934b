"""Cross-entropy one step at a time: every intermediate from logits to loss and gradient, by name.

:func:`lossbook.functional.cross_entropy` is the loss; this module is the same
computation laid open for a notebook to print and plot, step by step::

    max_logit    = max_c z_c                          (N, 1)
    shifted      = z − max_logit                      (N, C)   every entry ≤ 0
    exps         = exp(shifted)                       (N, C)   every entry in (0, 1]
    sum_exps     = Σ_c exps                           (N, 1)   in [1, C]
    log_sum_exp  = max_logit + log(sum_exps)          (N, 1)   = log Σ_c exp z_c
    probs        = exps / sum_exps                    (N, C)   softmax
    log_probs    = shifted − log(sum_exps)            (N, C)   log_softmax
    target_dist  = q: one-hot of the target, smoothed (N, C)
    per_sample   = −Σ_c q_c log_probs_c               (N,)
    loss         = per_sample reduced                 ()
    grad         = ∂loss/∂z = probs − q  (÷ N for "mean")

Shapes are for a batch ``(N, C)``; an unbatched ``(C,)`` sample drops the N.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import (
    check_class_dim,
    check_class_index_target,
    check_floating,
    check_label_smoothing,
    check_reduction,
)


@dataclass(frozen=True)
class CrossEntropySteps:
    """Every intermediate of ``cross_entropy(logits, target)``; see :func:`cross_entropy_steps`.

    All tensors are detached: they are values to look at, not part of a graph.
    ``picked_neg_log_prob`` is ``None`` for class-probability targets, which
    pick no single class.
    """

    logits: torch.Tensor
    target: torch.Tensor
    max_logit: torch.Tensor
    shifted: torch.Tensor
    exps: torch.Tensor
    sum_exps: torch.Tensor
    log_sum_exp: torch.Tensor
    probs: torch.Tensor
    log_probs: torch.Tensor
    picked_neg_log_prob: torch.Tensor | None
    target_dist: torch.Tensor
    per_sample: torch.Tensor
    loss: torch.Tensor
    grad: torch.Tensor
    reduction: str
    label_smoothing: float

    def table(self) -> str:
        """One line per sample: target, max logit, log-sum-exp, p(target) and the sample's loss.

        For class-probability targets the target and p(target) columns show ``-``.
        """
        batched = self.logits.reshape(-1, self.logits.shape[-1])
        rows = [
            f"{'sample':>6} {'target':>6} {'max_logit':>11} {'log_sum_exp':>11} "
            f"{'p(target)':>11} {'loss_i':>11}"
        ]
        for i in range(batched.shape[0]):
            max_logit = self.max_logit.reshape(-1)[i].item()
            log_sum_exp = self.log_sum_exp.reshape(-1)[i].item()
            loss_i = self.per_sample.reshape(-1)[i].item()
            if self.target.is_floating_point():
                target, p_target = "-", "-"
            else:
                label = int(self.target.reshape(-1)[i])
                target, p_target = str(label), f"{self.probs.reshape(batched.shape)[i, label]:.6g}"
            rows.append(
                f"{i:>6} {target:>6} {max_logit:>11.6g} {log_sum_exp:>11.6g} "
                f"{p_target:>11} {loss_i:>11.6g}"
            )
        if self.reduction == "none":
            rows.append("loss (reduction='none') = the loss_i column")
        else:
            rows.append(f"loss (reduction={self.reduction!r}) = {self.loss.item():.6g}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()


def cross_entropy_steps(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> CrossEntropySteps:
    """Cross-entropy computed step by step, returning every intermediate by name.

    Same value as ``cross_entropy(logits, target, reduction=reduction,
    label_smoothing=label_smoothing)``, and ``grad`` is what autograd gives for
    ``logits``. The softmax uses the max-subtraction trick (``shifted ≤ 0``, so
    ``exp`` never overflows) and the gradient is the closed form

        ∂l_i/∂z_ic = p_ic · Σ_k q_ik − q_ic = p_ic − q_ic   (when q_i sums to 1),

    divided by N for ``"mean"``. For ``"none"``, row i of ``grad`` is the
    gradient of ``l_i`` alone.

    Args:
        logits: ``(N, C)`` or one sample ``(C,)``.
        target: class indices ``(N,)`` / ``()`` (integer dtype, in ``[0, C)``) or
            class probabilities shaped like ``logits`` (float).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        label_smoothing: ε in ``[0, 1]``; ``q = (1 − ε)·target + ε/C``.

    Returns:
        A :class:`CrossEntropySteps`; ``print(steps)`` shows :meth:`~CrossEntropySteps.table`.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> steps = cross_entropy_steps(logits, torch.tensor([0, 2]))
        >>> steps.sum_exps
        tensor([[1.2707],
                [3.0000]])
        >>> steps.probs
        tensor([[0.7870, 0.1065, 0.1065],
                [0.3333, 0.3333, 0.3333]])
        >>> steps.grad  # (probs − one_hot) / N
        tensor([[-0.1065,  0.0533,  0.0533],
                [ 0.1667,  0.1667, -0.3333]])
        >>> print(steps)
        sample target   max_logit log_sum_exp   p(target)      loss_i
             0      0           2     2.23954    0.786986    0.239545
             1      2           0     1.09861    0.333333     1.09861
        loss (reduction='mean') = 0.669079

    Reference: ``torch.nn.functional.cross_entropy``; Goodfellow, Bengio &
    Courville, *Deep Learning*, §6.2.2.3 (softmax units).

    See also: :func:`lossbook.functional.cross_entropy`, the same loss without
    the intermediates; ``log_probs`` is :func:`lossbook.losses.activations.log_softmax`.
    """
    check_reduction(reduction)
    check_class_dim(logits, "cross_entropy_steps", max_dim=2)
    check_floating(logits, "logits", "cross_entropy_steps")
    check_label_smoothing(label_smoothing, "cross_entropy_steps")
    check_class_index_target(
        logits,
        target,
        "cross_entropy_steps",
        ignore_index=None,
        class_dim=logits.dim() - 1,
        accepts_probabilities=True,
    )
    logits, target = logits.detach(), target.detach()
    num_classes = logits.shape[-1]

    max_logit = logits.amax(dim=-1, keepdim=True)
    shifted = logits - max_logit
    exps = shifted.exp()
    sum_exps = exps.sum(dim=-1, keepdim=True)
    log_sum_exp = max_logit + sum_exps.log()
    probs = exps / sum_exps
    log_probs = shifted - sum_exps.log()

    if target.is_floating_point():
        picked_neg_log_prob = None
        target_dist = target
    else:
        target_index = target.long().unsqueeze(-1)
        picked_neg_log_prob = -log_probs.gather(-1, target_index).squeeze(-1)
        target_dist = torch.zeros_like(logits).scatter(-1, target_index, 1.0)
    if label_smoothing > 0.0:
        target_dist = target_dist * (1.0 - label_smoothing) + label_smoothing / num_classes

    per_sample = -(target_dist * log_probs).sum(dim=-1)
    loss = apply_reduction(per_sample, reduction)
    grad = probs * target_dist.sum(dim=-1, keepdim=True) - target_dist
    if reduction == "mean":
        grad = grad / per_sample.numel()

    return CrossEntropySteps(
        logits=logits,
        target=target,
        max_logit=max_logit,
        shifted=shifted,
        exps=exps,
        sum_exps=sum_exps,
        log_sum_exp=log_sum_exp,
        probs=probs,
        log_probs=log_probs,
        picked_neg_log_prob=picked_neg_log_prob,
        target_dist=target_dist,
        per_sample=per_sample,
        loss=loss,
        grad=grad,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


__all__ = ["CrossEntropySteps", "cross_entropy_steps"]
