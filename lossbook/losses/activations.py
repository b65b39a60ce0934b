"""The squashing functions the losses are built on, written so they never overflow.

``softmax`` and ``log_softmax`` turn a row of logits into (log-)probabilities;
``sigmoid`` and ``log_sigmoid`` do the same for a single logit. Each one uses an
identity that keeps every ``exp()`` at or below 1; the comment on each line
names it.
"""

from __future__ import annotations

import torch


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Log-probabilities from logits along ``dim``: ``z_i − log Σ_j exp(z_j)``.

    Subtracting ``m = max_j z_j`` first changes nothing mathematically,
    ``z_i − log Σ_j exp(z_j) = (z_i − m) − log Σ_j exp(z_j − m)``,
    but keeps every exponent ≤ 0, so ``exp`` cannot overflow even for logits
    of ±1e4 (the log-sum-exp trick).

    Args:
        logits: any shape; classes along ``dim``.
        dim: the class dimension.

    Returns:
        Same shape as ``logits``; ``exp()`` of each slice along ``dim`` sums to 1.

    Example:
        >>> log_softmax(torch.tensor([1.0, 2.0, 3.0])).exp().sum().item()
        1.0
        >>> log_softmax(torch.tensor([1e4, 0.0]))
        tensor([     0., -10000.])

    Reference: ``torch.nn.functional.log_softmax``.
    """
    if logits.dim() > 0 and logits.shape[dim] == 0:
        return logits.clone()  # no classes: nothing to normalise (and no max to subtract)
    # The max is a constant shift: its gradient contributes nothing, so detach it.
    max_logit = logits.amax(dim=dim, keepdim=True).detach()
    shifted = logits - max_logit
    log_sum_exp = shifted.exp().sum(dim=dim, keepdim=True).log()
    # shifted − log_sum_exp, written as an addition of the negated (N, 1) column:
    # autograd then negates one column instead of the whole (N, C) gradient.
    return shifted + (-log_sum_exp)


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities from logits along ``dim``: ``exp(z_i) / Σ_j exp(z_j)``.

    Computed as ``exp(z_i − m) / Σ_j exp(z_j − m)`` with ``m = max_j z_j``
    (same value, no overflow).

    Example:
        >>> softmax(torch.tensor([0.0, 0.0, 0.0, 0.0]))
        tensor([0.2500, 0.2500, 0.2500, 0.2500])

    Reference: ``torch.nn.functional.softmax``.
    """
    max_logit = logits.amax(dim=dim, keepdim=True).detach()
    exps = (logits - max_logit).exp()
    return exps / exps.sum(dim=dim, keepdim=True)


def log_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """``log σ(z) = −log(1 + e^{−z})``, finite for every finite ``z``.

    Uses ``log σ(z) = min(z, 0) − log(1 + e^{−|z|})``: the exponent is never
    positive, so nothing overflows, and ``log1p`` keeps precision when
    ``e^{−|z|}`` is tiny. ``log(1 − σ(z)) = log σ(−z)`` gives the other half of
    binary cross-entropy.

    torch's ``logsigmoid`` kernel evaluates this identity in one fused pass
    (to within rounding) and differentiates it by hand. Written out as four
    tensor operations it makes BCE-with-logits two to three times slower, and
    autograd through ``min(z, 0)`` and ``|z|`` gives the derivative 1 instead of
    ``σ(−0) = 0.5`` at ``z = 0``.

    Example:
        >>> log_sigmoid(torch.tensor([0.0, -20.0, 3.0]))
        tensor([ -0.6931, -20.0000,  -0.0486])
        >>> log_sigmoid(torch.tensor([-1e4, 1e4])).tolist()
        [-10000.0, 0.0]

    Reference: ``torch.nn.functional.logsigmoid``.
    """
    return torch.nn.functional.logsigmoid(logits)


def sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """``σ(z) = 1 / (1 + e^{−z})``, the probability of the positive class.

    Example:
        >>> sigmoid(torch.tensor([0.0]))
        tensor([0.5000])

    Reference: ``torch.sigmoid``.
    """
    return torch.sigmoid(logits)


__all__ = ["log_softmax", "softmax", "log_sigmoid", "sigmoid"]
